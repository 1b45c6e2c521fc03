/*
 * arch.h - the contract between the guest kernel's portable core
 * (guest-port/core) and its two arch layers: `native` (privileged
 * instructions; bare metal, or unmodified under trap-and-emulate) and `pv`
 * (the port: the same operations through pv-abi/ hypercalls).
 *
 * Everything the core needs from the machine goes through this header; the
 * port is exactly the code that implements it for PV plus its boot glue.
 * Runs in the guest kernel (ring 0 native, ring 3 under PV).
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPAGE_SIZE 4096UL

/* ---- boot and console ------------------------------------------------- */

/* Facts the arch layer hands the core once the machine is set up. */
struct arch_boot_info {
    uint64_t first_free_pfn;    /* frames [first_free_pfn, nr_pfns) are free */
    uint64_t nr_pfns;           /* pseudo-physical frames (PV) / RAM frames */
    const char *cmdline;        /* kernel command line ("" if none) */
    const char *arch_name;      /* "native" or "pv" */
};

/* Entered by the arch boot code on the boot stack with interrupts off. */
void kernel_main(const struct arch_boot_info *bi) __attribute__((noreturn));

/* Writes n bytes to the console (native: COM1; pv: HYPERVISOR_console_io
 * or the console ring). Safe with interrupts on or off. */
void arch_console_write(const char *s, size_t n);
/* Powers the machine/domain off: code 0 = clean (SHUTDOWN_poweroff), else
 * crash. */
void arch_poweroff(int code) __attribute__((noreturn));

/* ---- interrupts (virtual IF under PV: the upcall mask) ----------------- */

void arch_irq_disable(void);
/* Enables and, under PV, delivers any event that arrived while disabled. */
void arch_irq_enable(void);
/* Returns the old state (true = enabled) and disables. */
bool arch_irq_save(void);
void arch_irq_restore(bool enabled);
/* Waits, interrupts enabled, until the next interrupt/event has run. */
void arch_idle(void);

/* ---- time -------------------------------------------------------------- */

/* Nanoseconds since boot (native: TSC calibrated; pv: PV clock). */
uint64_t arch_now_ns(void);
/* Arms a one-shot timer: core_timer_interrupt() runs at (or after) the
 * deadline, in ns of arch_now_ns().  A new call replaces the old deadline. */
void arch_timer_set(uint64_t deadline_ns);

/* ---- memory ------------------------------------------------------------ */

/* Kernel virtual address of pseudo-physical frame pfn (all RAM is mapped). */
void *arch_pfn_to_virt(uint64_t pfn);
uint64_t arch_virt_to_pfn(const void *va);

/* A user address space: user mappings below 0x0000800000000000 plus the
 * kernel's own.  Opaque to the core. */
struct arch_aspace;
/* Returns NULL when out of memory. */
struct arch_aspace *arch_aspace_create(void);
/* Maps user page va (4 KiB aligned) to pfn, writable if `writable`.
 * The core provides zeroed frames through core_alloc_frame(). 0 or -1. */
int arch_aspace_map(struct arch_aspace *as, uint64_t va, uint64_t pfn, bool writable);
/* Frees the tables (not the mapped frames). as must not be current. */
void arch_aspace_destroy(struct arch_aspace *as);
/* Loads as (NULL = the kernel-only address space). */
void arch_aspace_switch(struct arch_aspace *as);

/* ---- threads and user mode -------------------------------------------- */

/* Saved kernel context of a thread: the arch layer's to define, the core's
 * to allocate. */
struct arch_context { uint64_t rsp; };
/* Prepares ctx so that the first arch_context_switch() to it calls
 * entry(arg) on stack_top with interrupts enabled. */
void arch_context_init(struct arch_context *ctx, void *stack_top,
                       void (*entry)(void *), void *arg);
/* Saves the current kernel context in *from and resumes *to. */
void arch_context_switch(struct arch_context *from, struct arch_context *to);
/* Sets the kernel stack used on the next entry from user mode. */
void arch_set_kernel_stack(void *stack_top);
/* Drops to user mode at rip with rsp (the current thread's aspace must be
 * loaded).  Never returns; the thread re-enters the kernel only through
 * core_syscall()/core_user_fault(). */
void arch_enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));

/* ---- upcalls from the arch layer into the core ------------------------- */

/* Timer interrupt/event, with interrupts disabled; may reschedule. */
void core_timer_interrupt(void);
/* System call from user mode: nr in rax, args rdi rsi rdx; returns rax. */
uint64_t core_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
/* Page fault in the kernel or user mode; returns true if resolved (retry),
 * false to make it fatal. */
bool core_page_fault(uint64_t addr, uint64_t error_code, bool user);
/* A fatal exception (vector, error code, rip): prints and powers off. */
void core_fatal_trap(unsigned int vector, uint64_t error_code, uint64_t rip,
                     bool user) __attribute__((noreturn));

#endif
