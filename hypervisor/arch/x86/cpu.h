/*
 * cpu.h - every privileged x86-64 instruction the hypervisor uses, as a
 * static inline (xv6's x86.h).  Runs in ring 0.  Under LAMINA_HOST_TEST the
 * TLB and CR3 operations become no-ops so that mm.c and friends compile into
 * host unit tests.
 */
#ifndef LAMINA_CPU_H
#define LAMINA_CPU_H

#include <stdint.h>

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
/* Loads DR0-DR3 from dr[0..3]. */
static inline void write_dr0_3(const unsigned long *dr)
{
    __asm__ __volatile__("mov %0, %%db0" :: "r"(dr[0]));
    __asm__ __volatile__("mov %0, %%db1" :: "r"(dr[1]));
    __asm__ __volatile__("mov %0, %%db2" :: "r"(dr[2]));
    __asm__ __volatile__("mov %0, %%db3" :: "r"(dr[3]));
}
#else
#ifdef LAMINA_HOST_CPU_HOOKS
/* A host unit test that defines LAMINA_HOST_CPU_HOOKS supplies these itself
 * (e.g. to count TLB flushes and CR3 loads); otherwise they do nothing. */
void flush_tlb_local(void);
void invlpg(unsigned long va);
void write_cr3(unsigned long v);
#else
static inline void flush_tlb_local(void) { }
static inline void invlpg(unsigned long va) { (void)va; }
static inline void write_cr3(unsigned long v) { (void)v; }
#endif
#endif

/* Page-table entry bits (Intel SDM vol. 3, 4.5). */
#define _PAGE_PRESENT   0x001UL
#define _PAGE_RW        0x002UL
#define _PAGE_USER      0x004UL
#define _PAGE_PWT       0x008UL
#define _PAGE_PCD       0x010UL
#define _PAGE_ACCESSED  0x020UL
#define _PAGE_DIRTY     0x040UL
#define _PAGE_PSE       0x080UL
#define _PAGE_PAT       0x080UL
#define _PAGE_GLOBAL    0x100UL
#define _PAGE_NX        (1UL << 63)
#define PTE_ADDR_MASK   0x000ffffffffff000UL

#define X86_EFLAGS_IF_BIT 0x200UL

/* DR7: the local/global enable bits of breakpoints 0-3 (Intel SDM 17.2.4). */
#define DR7_ENABLE_MASK   0xffUL
/* DR6: the value it reads with no debug condition recorded (SDM 17.2.3). */
#define DR6_DEFAULT       0xffff0ff0UL

#define MSR_EFER        0xc0000080
#define MSR_STAR        0xc0000081
#define MSR_LSTAR       0xc0000082
#define MSR_CSTAR       0xc0000083
#define MSR_SFMASK      0xc0000084
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define MSR_SHADOW_GS_BASE 0xc0000102
#define MSR_APIC_BASE   0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_TSC_AUX     0xc0000103
#define MSR_PAT         0x277
#define MSR_MISC_ENABLE 0x1a0

#endif
