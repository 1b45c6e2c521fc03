/*
 * cpu.h - every privileged (or machine-specific) instruction the native
 * arch layer uses, one static inline each.  Assembly elsewhere lives only
 * at entry points (boot.S, entry.S).
 *
 * Runs in the guest kernel, ring 0 on bare metal; under Lamina's
 * trap-and-emulate each of these traps and is emulated.
 */
#ifndef NATIVE_CPU_H
#define NATIVE_CPU_H

#include <stdint.h>

#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_SFMASK         0xc0000084
#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

#define EFER_SCE (1u << 0)

#define RFLAGS_TF 0x100u
#define RFLAGS_IF 0x200u
#define RFLAGS_DF 0x400u
#define RFLAGS_AC 0x40000u

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_cli(void)
{
    __asm__ volatile("cli" : : : "memory");
}

static inline void cpu_sti(void)
{
    __asm__ volatile("sti" : : : "memory");
}

/* Enables interrupts and halts in one interrupt shadow: an interrupt that
 * is already pending wakes the hlt instead of being lost. */
static inline void cpu_sti_hlt(void)
{
    __asm__ volatile("sti; hlt" : : : "memory");
}

static inline void cpu_hlt(void)
{
    __asm__ volatile("hlt" : : : "memory");
}

static inline void cpu_pause(void)
{
    __asm__ volatile("pause");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void invlpg(const void *va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

static inline void lgdt(const struct desc_ptr *p)
{
    __asm__ volatile("lgdt %0" : : "m"(*p) : "memory");
}

static inline void lidt(const struct desc_ptr *p)
{
    __asm__ volatile("lidt %0" : : "m"(*p) : "memory");
}

static inline void ltr(uint16_t sel)
{
    __asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

/* Reloads CS with cs (far return) and the data segment registers with ds;
 * fs and gs get the null selector. */
static inline void load_segments(uint16_t cs, uint16_t ds)
{
    __asm__ volatile("pushq %q0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %w1, %%ds\n\t"
                     "mov %w1, %%es\n\t"
                     "mov %w1, %%ss\n\t"
                     "mov %w2, %%fs\n\t"
                     "mov %w2, %%gs"
                     : : "r"((uint64_t)cs), "r"(ds), "r"(0) : "rax", "memory");
}

#endif
