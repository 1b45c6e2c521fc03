/*
 * x86-defns.h - architectural facts of x86-64, written once: RFLAGS, CR0,
 * CR4 and EFER bits, the exception vectors that push an error code,
 * canonical addresses, page-table entry bits, debug-register values and MSR
 * numbers (Intel SDM vol. 3; AMD APM vol. 2).  Constants and pure
 * functions only, no instructions (those are in cpu.h): the hypervisor,
 * its host unit tests and its fuzzers share this one definition.
 */
#ifndef LAMINA_X86_DEFNS_H
#define LAMINA_X86_DEFNS_H

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stdint.h>
#endif

/* RFLAGS (SDM vol. 1, 3.4.3). */
#define X86_EFLAGS_CF       0x00000001UL
#define X86_EFLAGS_FIXED    0x00000002UL    /* bit 1 reads as 1 */
#define X86_EFLAGS_PF       0x00000004UL
#define X86_EFLAGS_AF       0x00000010UL
#define X86_EFLAGS_ZF       0x00000040UL
#define X86_EFLAGS_SF       0x00000080UL
#define X86_EFLAGS_TF       0x00000100UL
#define X86_EFLAGS_IF       0x00000200UL
#define X86_EFLAGS_DF       0x00000400UL
#define X86_EFLAGS_OF       0x00000800UL
#define X86_EFLAGS_IOPL     0x00003000UL
#define X86_EFLAGS_NT       0x00004000UL
#define X86_EFLAGS_RF       0x00010000UL
#define X86_EFLAGS_VM       0x00020000UL
#define X86_EFLAGS_AC       0x00040000UL
#define X86_EFLAGS_VIF      0x00080000UL
#define X86_EFLAGS_VIP      0x00100000UL
#define X86_EFLAGS_ID       0x00200000UL
/* The arithmetic flags an instruction may leave in any state. */
#define X86_EFLAGS_ARITH    (X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
                             X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)
/* Every architecturally defined RFLAGS bit (bits 3, 5, 15 and 22-63 are
 * reserved; bit 1 is X86_EFLAGS_FIXED). */
#define X86_EFLAGS_ALL      0x3f7fd5UL

/* CR0 (SDM vol. 3, 2.5). */
#define X86_CR0_PE          (1UL << 0)
#define X86_CR0_MP          (1UL << 1)
#define X86_CR0_EM          (1UL << 2)
#define X86_CR0_TS          (1UL << 3)
#define X86_CR0_ET          (1UL << 4)
#define X86_CR0_NE          (1UL << 5)
#define X86_CR0_WP          (1UL << 16)
#define X86_CR0_AM          (1UL << 18)
#define X86_CR0_NW          (1UL << 29)
#define X86_CR0_CD          (1UL << 30)
#define X86_CR0_PG          (1UL << 31)

/* CR4 (SDM vol. 3, 2.5). */
#define X86_CR4_VME         (1UL << 0)
#define X86_CR4_PVI         (1UL << 1)
#define X86_CR4_TSD         (1UL << 2)
#define X86_CR4_DE          (1UL << 3)
#define X86_CR4_PSE         (1UL << 4)
#define X86_CR4_PAE         (1UL << 5)
#define X86_CR4_MCE         (1UL << 6)
#define X86_CR4_PGE         (1UL << 7)
#define X86_CR4_PCE         (1UL << 8)
#define X86_CR4_OSFXSR      (1UL << 9)
#define X86_CR4_OSXMMEXCPT  (1UL << 10)
#define X86_CR4_UMIP        (1UL << 11)
#define X86_CR4_FSGSBASE    (1UL << 16)
#define X86_CR4_SMEP        (1UL << 20)
#define X86_CR4_SMAP        (1UL << 21)

/* EFER (SDM vol. 3, 2.2.1). */
#define X86_EFER_SCE        (1UL << 0)
#define X86_EFER_LME        (1UL << 8)
#define X86_EFER_LMA        (1UL << 10)
#define X86_EFER_NXE        (1UL << 11)

/* Exception vectors (SDM vol. 3, 6.3.1). */
#define X86_EXC_DE   0
#define X86_EXC_DB   1
#define X86_EXC_NMI  2
#define X86_EXC_BP   3
#define X86_EXC_OF   4
#define X86_EXC_BR   5
#define X86_EXC_UD   6
#define X86_EXC_NM   7
#define X86_EXC_DF   8
#define X86_EXC_TS   10
#define X86_EXC_NP   11
#define X86_EXC_SS   12
#define X86_EXC_GP   13
#define X86_EXC_PF   14
#define X86_EXC_MF   16
#define X86_EXC_AC   17
#define X86_EXC_MC   18
#define X86_EXC_XM   19
#define X86_EXC_CP   21
#define X86_EXC_VC   29
#define X86_EXC_SX   30
#define X86_NR_EXC   32

/* Bit N set: vector N pushes an error code (#DF, #TS, #NP, #SS, #GP, #PF,
 * #AC, #CP, #VC, #SX).  entry.S's stubs use the same mask. */
#define X86_EXC_HAVE_EC     0x60227d00

#ifndef __ASSEMBLY__
/* True if exception vector vec (0-31) pushes an error code; false for
 * every other vector, interrupts included. */
static inline bool x86_exc_has_error_code(unsigned int vec)
{
    return vec < X86_NR_EXC && ((X86_EXC_HAVE_EC >> vec) & 1);
}
#endif

/* Page-fault error code bits (SDM vol. 3, 4.7). */
#define X86_PFEC_PRESENT    (1U << 0)
#define X86_PFEC_WRITE      (1U << 1)
#define X86_PFEC_USER       (1U << 2)
#define X86_PFEC_RSVD       (1U << 3)
#define X86_PFEC_INSN       (1U << 4)

#ifndef __ASSEMBLY__
/* True if a is canonical for 48-bit linear addresses: bits 63-47 all equal. */
static inline bool canonical_addr(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}
#endif

/* Page-table entry bits (SDM vol. 3, 4.5). */
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

/* DR7: the local/global enable bits of breakpoints 0-3 (SDM 17.2.4). */
#define DR7_ENABLE_MASK   0xffUL
/* DR6: the value it reads with no debug condition recorded (SDM 17.2.3). */
#define DR6_DEFAULT       0xffff0ff0UL

/* Model-specific registers (SDM vol. 4). */
#define MSR_APIC_BASE       0x1b
#define MSR_MISC_ENABLE     0x1a0
#define MSR_PAT             0x277
#define MSR_TSC_DEADLINE    0x6e0
#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_SHADOW_GS_BASE  0xc0000102
#define MSR_TSC_AUX         0xc0000103

#endif
