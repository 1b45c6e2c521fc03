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

/* A constant with its C suffix (UL...), which the assembler does not take. */
#ifdef __ASSEMBLY__
#define _AC(x, suffix) x
#else
#define _AC(x, suffix) x##suffix
#endif

/* RFLAGS (SDM vol. 1, 3.4.3). */
#define X86_EFLAGS_CF       _AC(0x00000001, UL)
#define X86_EFLAGS_FIXED    _AC(0x00000002, UL)    /* bit 1 reads as 1 */
#define X86_EFLAGS_PF       _AC(0x00000004, UL)
#define X86_EFLAGS_AF       _AC(0x00000010, UL)
#define X86_EFLAGS_ZF       _AC(0x00000040, UL)
#define X86_EFLAGS_SF       _AC(0x00000080, UL)
#define X86_EFLAGS_TF       _AC(0x00000100, UL)
#define X86_EFLAGS_IF       _AC(0x00000200, UL)
#define X86_EFLAGS_DF       _AC(0x00000400, UL)
#define X86_EFLAGS_OF       _AC(0x00000800, UL)
#define X86_EFLAGS_IOPL     _AC(0x00003000, UL)
#define X86_EFLAGS_NT       _AC(0x00004000, UL)
#define X86_EFLAGS_RF       _AC(0x00010000, UL)
#define X86_EFLAGS_VM       _AC(0x00020000, UL)
#define X86_EFLAGS_AC       _AC(0x00040000, UL)
#define X86_EFLAGS_VIF      _AC(0x00080000, UL)
#define X86_EFLAGS_VIP      _AC(0x00100000, UL)
#define X86_EFLAGS_ID       _AC(0x00200000, UL)
/* The arithmetic flags an instruction may leave in any state. */
#define X86_EFLAGS_ARITH    (X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
                             X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)
/* Every architecturally defined RFLAGS bit (bits 3, 5, 15 and 22-63 are
 * reserved; bit 1 is X86_EFLAGS_FIXED). */
#define X86_EFLAGS_ALL      _AC(0x3f7fd5, UL)

/* CR0 (SDM vol. 3, 2.5). */
#define X86_CR0_PE          (_AC(1, UL) << 0)
#define X86_CR0_MP          (_AC(1, UL) << 1)
#define X86_CR0_EM          (_AC(1, UL) << 2)
#define X86_CR0_TS          (_AC(1, UL) << 3)
#define X86_CR0_ET          (_AC(1, UL) << 4)
#define X86_CR0_NE          (_AC(1, UL) << 5)
#define X86_CR0_WP          (_AC(1, UL) << 16)
#define X86_CR0_AM          (_AC(1, UL) << 18)
#define X86_CR0_NW          (_AC(1, UL) << 29)
#define X86_CR0_CD          (_AC(1, UL) << 30)
#define X86_CR0_PG          (_AC(1, UL) << 31)

/* CR4 (SDM vol. 3, 2.5). */
#define X86_CR4_VME         (_AC(1, UL) << 0)
#define X86_CR4_PVI         (_AC(1, UL) << 1)
#define X86_CR4_TSD         (_AC(1, UL) << 2)
#define X86_CR4_DE          (_AC(1, UL) << 3)
#define X86_CR4_PSE         (_AC(1, UL) << 4)
#define X86_CR4_PAE         (_AC(1, UL) << 5)
#define X86_CR4_MCE         (_AC(1, UL) << 6)
#define X86_CR4_PGE         (_AC(1, UL) << 7)
#define X86_CR4_PCE         (_AC(1, UL) << 8)
#define X86_CR4_OSFXSR      (_AC(1, UL) << 9)
#define X86_CR4_OSXMMEXCPT  (_AC(1, UL) << 10)
#define X86_CR4_UMIP        (_AC(1, UL) << 11)
#define X86_CR4_FSGSBASE    (_AC(1, UL) << 16)
#define X86_CR4_SMEP        (_AC(1, UL) << 20)
#define X86_CR4_SMAP        (_AC(1, UL) << 21)

/* EFER (SDM vol. 3, 2.2.1). */
#define X86_EFER_SCE        (_AC(1, UL) << 0)
#define X86_EFER_LME        (_AC(1, UL) << 8)
#define X86_EFER_LMA        (_AC(1, UL) << 10)
#define X86_EFER_NXE        (_AC(1, UL) << 11)

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
#define X86_PFEC_PRESENT    (_AC(1, U) << 0)
#define X86_PFEC_WRITE      (_AC(1, U) << 1)
#define X86_PFEC_USER       (_AC(1, U) << 2)
#define X86_PFEC_RSVD       (_AC(1, U) << 3)
#define X86_PFEC_INSN       (_AC(1, U) << 4)

#ifndef __ASSEMBLY__
/* True if a is canonical for 48-bit linear addresses: bits 63-47 all equal. */
static inline bool canonical_addr(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}
#endif

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define _PAGE_PRESENT   _AC(0x001, UL)
#define _PAGE_RW        _AC(0x002, UL)
#define _PAGE_USER      _AC(0x004, UL)
#define _PAGE_PWT       _AC(0x008, UL)
#define _PAGE_PCD       _AC(0x010, UL)
#define _PAGE_ACCESSED  _AC(0x020, UL)
#define _PAGE_DIRTY     _AC(0x040, UL)
#define _PAGE_PSE       _AC(0x080, UL)
#define _PAGE_PAT       _AC(0x080, UL)
#define _PAGE_GLOBAL    _AC(0x100, UL)
#define _PAGE_NX        (_AC(1, UL) << 63)
#define PTE_ADDR_MASK   _AC(0x000ffffffffff000, UL)

/* DR7: the local/global enable bits of breakpoints 0-3 (SDM 17.2.4). */
#define DR7_ENABLE_MASK   _AC(0xff, UL)
/* DR6: the value it reads with no debug condition recorded (SDM 17.2.3). */
#define DR6_DEFAULT       _AC(0xffff0ff0, UL)

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
