/*
 * cpu.h - every privileged x86-64 instruction the hypervisor uses, as a
 * static inline (xv6's x86.h), and nowhere else: no other file of the
 * hypervisor writes inline asm for them.  Runs in ring 0.  The facts they
 * use (bits, vectors, MSR numbers) are in x86-defns.h.  Under LAMINA_HOST_TEST the
 * TLB and CR3 operations become no-ops so that mm.c and friends compile into
 * host unit tests.
 */
#ifndef LAMINA_CPU_H
#define LAMINA_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/x86-defns.h"

#ifndef LAMINA_HOST_TEST
static inline void flush_tlb_local(void)
{
    unsigned long cr3;
    __asm__ __volatile__("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) :: "memory");
}
static inline void invlpg(unsigned long va)
{
    __asm__ __volatile__("invlpg (%0)" :: "r"(va) : "memory");
}
static inline unsigned long read_cr2(void)
{
    unsigned long v; __asm__ __volatile__("mov %%cr2, %0" : "=r"(v)); return v;
}
static inline unsigned long read_cr3(void)
{
    unsigned long v; __asm__ __volatile__("mov %%cr3, %0" : "=r"(v)); return v;
}
static inline void write_cr3(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%cr3" :: "r"(v) : "memory");
}
static inline unsigned long read_cr0(void)
{
    unsigned long v; __asm__ __volatile__("mov %%cr0, %0" : "=r"(v)); return v;
}
static inline void write_cr0(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%cr0" :: "r"(v) : "memory");
}
static inline unsigned long read_cr4(void)
{
    unsigned long v; __asm__ __volatile__("mov %%cr4, %0" : "=r"(v)); return v;
}
static inline void write_cr4(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory");
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ __volatile__("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v;
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %0, %1" :: "a"(v), "Nd"(port));
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v; __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port)); return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %0, %1" :: "a"(v), "Nd"(port));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
                         uint32_t *c, uint32_t *d)
{
    __asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                         : "a"(leaf), "c"(sub));
}
static inline void cli(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void sti(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void halt(void) { __asm__ __volatile__("hlt" ::: "memory"); }
static inline void wrfsbase_msr(uint64_t v) { wrmsr(0xc0000100, v); }
/* Loads LDTR; selector 0 makes the LDT unusable (every TI=1 selector #GPs). */
static inline void lldt(uint16_t sel)
{
    __asm__ __volatile__("lldt %w0" :: "r"(sel) : "memory");
}
/* Debug registers DR0-DR3, DR6, DR7 (Intel SDM vol. 3, 17.2). */
static inline unsigned long read_dr6(void)
{
    unsigned long v; __asm__ __volatile__("mov %%db6, %0" : "=r"(v)); return v;
}
static inline void write_dr6(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%db6" :: "r"(v));
}
static inline void write_dr7(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%db7" :: "r"(v));
}
/* CR0.TS := 0 (the FPU may be used without #NM). */
static inline void clts(void) { __asm__ __volatile__("clts" ::: "memory"); }
/* Saves / restores the x87+SSE state (512 bytes, 16-byte aligned area);
 * clears CR0.TS first so neither raises #NM. */
static inline void fpu_save(void *area)
{
    __asm__ __volatile__("clts; fxsave64 (%0)" :: "r"(area) : "memory");
}
static inline void fpu_restore(const void *area)
{
    __asm__ __volatile__("clts; fxrstor64 (%0)" :: "r"(area) : "memory");
}
/* Enables interrupts, waits for one, disables them again (the idle loop:
 * sti's one-instruction shadow covers hlt, so no wake-up is lost). */
static inline void safe_halt(void)
{
    __asm__ __volatile__("sti; hlt; cli" ::: "memory");
}
/* Lets pending interrupts in for one instruction (idle work between
 * batches). */
static inline void irq_window(void)
{
    __asm__ __volatile__("sti; nop; cli" ::: "memory");
}
/* Stops this CPU for good: interrupts off, halted (NMIs end in the IST
 * handler, which halts again). */
static inline void __attribute__((noreturn)) cpu_stop(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt" ::: "memory");
}
/* Descriptor-table registers: base (linear address) and limit (bytes - 1). */
struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));
static inline void lgdt(const struct desc_ptr *p)
{
    __asm__ __volatile__("lgdt %0" :: "m"(*p) : "memory");
}
static inline void lidt(const struct desc_ptr *p)
{
    __asm__ __volatile__("lidt %0" :: "m"(*p) : "memory");
}
/* Loads the task register with the TSS selector sel. */
static inline void ltr(uint16_t sel)
{
    __asm__ __volatile__("ltr %w0" :: "r"(sel) : "memory");
}
/* Reloads CS with code selector cs (a far return) and DS/ES/SS with ds;
 * FS and GS become null.  After lgdt at boot. */
static inline void load_hv_segments(uint16_t cs, uint16_t ds)
{
    __asm__ __volatile__(
        "pushq %q[cs]; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:\n"
        "movl %k[ds], %%eax; movl %%eax, %%ds; movl %%eax, %%es; movl %%eax, %%ss\n"
        "xorl %%eax, %%eax; movl %%eax, %%fs; movl %%eax, %%gs\n"
        :: [cs] "r"((uint64_t)cs), [ds] "r"((uint32_t)ds) : "rax", "memory");
}
/* Loads DS and ES with sel (a data selector). */
static inline void load_data_segments(uint16_t sel)
{
    __asm__ __volatile__("movl %k0, %%ds; movl %k0, %%es" :: "r"((uint32_t)sel));
}
/* Loads DR0-DR3 from dr[0..3]. */
static inline void write_dr0_3(const unsigned long *dr)
{
    __asm__ __volatile__("mov %0, %%db0" :: "r"(dr[0]));
    __asm__ __volatile__("mov %0, %%db1" :: "r"(dr[1]));
    __asm__ __volatile__("mov %0, %%db2" :: "r"(dr[2]));
    __asm__ __volatile__("mov %0, %%db3" :: "r"(dr[3]));
}
#else /* LAMINA_HOST_TEST */
/*
 * Host unit tests and fuzzers: the same functions over a model CPU that
 * records what the instructions would have done (host_cpu, one per test
 * program), so hypervisor .c files compile unchanged on the host and tests
 * assert on the recorded state.  Ports read as all ones, CPUID as zeros.
 */
struct host_cpu {
    unsigned long cr0, cr2, cr3, cr4;
    unsigned long dr[8];                /* DR0-DR3, DR6, DR7 used */
    uint64_t fs_base, gs_base, shadow_gs_base;
    uint64_t tsc;                       /* advances by 1 per rdtsc */
    unsigned int msr_writes;            /* wrmsr executed */
    uint16_t ldtr, tr, ds;
    bool if_flag;
};
static struct host_cpu host_cpu __attribute__((unused)) = {
    .cr0 = X86_CR0_PG | X86_CR0_WP | X86_CR0_NE | X86_CR0_ET | X86_CR0_MP | X86_CR0_PE,
    .dr = { [6] = DR6_DEFAULT },
};
static inline unsigned long read_cr0(void) { return host_cpu.cr0; }
static inline void write_cr0(unsigned long v) { host_cpu.cr0 = v; }
static inline unsigned long read_cr2(void) { return host_cpu.cr2; }
static inline unsigned long read_cr3(void) { return host_cpu.cr3; }
static inline unsigned long read_cr4(void) { return host_cpu.cr4; }
static inline void write_cr4(unsigned long v) { host_cpu.cr4 = v; }
static inline void clts(void) { host_cpu.cr0 &= ~X86_CR0_TS; }
static inline uint64_t rdmsr(uint32_t msr)
{
    return msr == MSR_FS_BASE ? host_cpu.fs_base :
           msr == MSR_GS_BASE ? host_cpu.gs_base :
           msr == MSR_SHADOW_GS_BASE ? host_cpu.shadow_gs_base : 0;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    host_cpu.msr_writes++;
    if (msr == MSR_FS_BASE)
        host_cpu.fs_base = v;
    else if (msr == MSR_GS_BASE)
        host_cpu.gs_base = v;
    else if (msr == MSR_SHADOW_GS_BASE)
        host_cpu.shadow_gs_base = v;
}
static inline uint64_t rdtsc(void) { return ++host_cpu.tsc; }
static inline void outb(uint16_t port, uint8_t v) { (void)port; (void)v; }
static inline uint8_t inb(uint16_t port) { (void)port; return 0xff; }
static inline void outw(uint16_t port, uint16_t v) { (void)port; (void)v; }
static inline uint16_t inw(uint16_t port) { (void)port; return 0xffff; }
static inline uint32_t inl(uint16_t port) { (void)port; return ~0U; }
static inline void outl(uint16_t port, uint32_t v) { (void)port; (void)v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
                         uint32_t *c, uint32_t *d)
{
    (void)leaf; (void)sub;
    *a = *b = *c = *d = 0;
}
static inline void cli(void) { host_cpu.if_flag = false; }
static inline void sti(void) { host_cpu.if_flag = true; }
static inline void halt(void) { }
static inline void safe_halt(void) { }
static inline void irq_window(void) { }
static inline void __attribute__((noreturn)) cpu_stop(void) { __builtin_trap(); }
static inline void wrfsbase_msr(uint64_t v) { wrmsr(MSR_FS_BASE, v); }
static inline void fpu_save(void *area) { (void)area; }
static inline void fpu_restore(const void *area) { (void)area; }
struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));
static inline void lgdt(const struct desc_ptr *p) { (void)p; }
static inline void lidt(const struct desc_ptr *p) { (void)p; }
static inline void ltr(uint16_t sel) { host_cpu.tr = sel; }
static inline void lldt(uint16_t sel) { host_cpu.ldtr = sel; }
static inline void load_hv_segments(uint16_t cs, uint16_t ds) { (void)cs; host_cpu.ds = ds; }
static inline void load_data_segments(uint16_t sel) { host_cpu.ds = sel; }
static inline unsigned long read_dr6(void) { return host_cpu.dr[6]; }
static inline void write_dr6(unsigned long v) { host_cpu.dr[6] = v; }
static inline void write_dr7(unsigned long v) { host_cpu.dr[7] = v; }
static inline void write_dr0_3(const unsigned long *dr)
{
    for (int i = 0; i < 4; i++)
        host_cpu.dr[i] = dr[i];
}
#ifdef LAMINA_HOST_CPU_HOOKS
/* A host unit test that defines LAMINA_HOST_CPU_HOOKS supplies these itself
 * (e.g. to count TLB flushes and CR3 loads); otherwise they do nothing. */
void flush_tlb_local(void);
void invlpg(unsigned long va);
void write_cr3(unsigned long v);
#else
static inline void flush_tlb_local(void) { }
static inline void invlpg(unsigned long va) { (void)va; }
static inline void write_cr3(unsigned long v) { host_cpu.cr3 = v; }
#endif
#endif

#endif
