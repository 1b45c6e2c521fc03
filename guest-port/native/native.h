/*
 * native.h - internals shared by the files of the native arch layer
 * (guest-port/native): memory layout, segment selectors, the trap frame,
 * and the set-up functions boot calls in order.
 * Runs in the guest kernel, ring 0 (or deprivileged under trap-and-emulate).
 */
#ifndef NATIVE_H
#define NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"

/* Virtual layout.  L4 slots 256-271 (0xffff800000000000-0xffff87ffffffffff)
 * are never used: that range belongs to the hypervisor under Lamina. */
#define KERNEL_VMA      0xffffffff80000000UL   /* image: phys + this (slot 511) */
#define DIRECTMAP_BASE  0xffff888000000000UL   /* all RAM (slot 273) */
#define USER_VA_END     0x0000800000000000UL

/* GDT layout (selectors).  STAR wants user data right below user code64. */
#define SEL_KERNEL_CS   0x08
#define SEL_KERNEL_DS   0x10
#define SEL_USER_CS32   0x18
#define SEL_USER_DS     0x23
#define SEL_USER_CS     0x2b
#define SEL_TSS         0x30

/* PIC vectors: IRQ0 (PIT) arrives on vector 32. */
#define VEC_IRQ_BASE    32
#define VEC_TIMER       (VEC_IRQ_BASE + 0)
#define NR_TRAP_STUBS   48

/* Pushed by entry.S; the hardware frame follows vector/error_code. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Software copy of IF: true while interrupts are enabled in kernel code.
 * Kept because pushf cannot be trusted to show IF when deprivileged. */
extern bool native_irq_on;

/* Kernel-virtual address of a physical address below 1 GiB, valid from
 * the first instruction in C (the image window of the boot tables). */
static inline void *native_low_phys(uint64_t pa)
{
    return (void *)(KERNEL_VMA + pa);
}

/* Image symbol address -> physical. */
static inline uint64_t native_image_phys(const void *va)
{
    return (uint64_t)va - KERNEL_VMA;
}

/* console.c */
void native_serial_init(void);
void native_puts(const char *s);

/* mm.c: builds the kernel L4 (image window + direct map of [0, ram_end))
 * with tables taken from *bump_phys upward; switches CR3 to it. */
void native_mm_init(uint64_t *bump_phys, uint64_t ram_end);

/* trap.c: GDT, TSS, IDT, syscall MSRs. */
void native_trap_init(void);
void native_trap(struct trap_frame *f);
uint64_t native_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
void native_thread_start(void (*entry)(void *), void *arg)
    __attribute__((noreturn));

/* time.c: PIC, PIT one-shot timer, TSC calibration. */
void native_time_init(void);
void native_timer_irq(void);

/* entry.S */
extern const char native_trap_stubs[];
void native_syscall_entry(void);
void native_thread_trampoline(void);
void native_enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));

#endif
