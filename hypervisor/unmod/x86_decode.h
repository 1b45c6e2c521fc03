/*
 * x86_decode.h - length and operand decoder for one x86-64 instruction in
 * 64-bit mode, for the trap-and-emulate path (issue 3): when an unmodified
 * guest kernel takes #GP/#UD on a privileged or sensitive instruction, the
 * hypervisor fetches up to 15 bytes at the guest RIP, decodes them here, and
 * emulates the instruction by its class.
 *
 * Plain C with no hypervisor state: runs in ring 0 (any context, no locks,
 * no allocation) and on the host under tests/unit/test_decode.c.
 *
 * Decoding rules follow the Intel SDM for 64-bit mode.  Where Intel and AMD
 * differ, Intel's behaviour is decoded:
 *  - near branches (E8, E9, Jcc rel32, C2/C3, FF /2 /4, E0-E3, 70-7F, EB)
 *    always have a 64-bit operand size; a 0x66 prefix is ignored, so
 *    66 E8 still carries a rel32 (AMD would read a rel16);
 *  - LOCK MOV CR0 (AMD's alternate encoding of CR8) is invalid.
 */
#ifndef LAMINA_X86_DECODE_H
#define LAMINA_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The architectural limit on an instruction's length, prefixes included. */
#define X86_MAX_INSN_LEN 15

/* x86_decode() results. */
#define X86_DECODE_OK         0
#define X86_DECODE_INVALID   -1  /* undefined in 64-bit mode: the CPU raises #UD */
#define X86_DECODE_TRUNCATED -2  /* needs more bytes than were available */
#define X86_DECODE_TOO_LONG  -3  /* longer than 15 bytes: the CPU raises #GP(0) */

/* Legacy prefixes seen (struct x86_insn.prefixes); any order, any repeats. */
#define X86_PFX_OPSIZE   (1u << 0)  /* 0x66 */
#define X86_PFX_ADDRSIZE (1u << 1)  /* 0x67 */
#define X86_PFX_REP      (1u << 2)  /* 0xF3 rep/repe (or an SSE mandatory prefix) */
#define X86_PFX_REPNE    (1u << 3)  /* 0xF2 repne (or an SSE mandatory prefix) */
#define X86_PFX_LOCK     (1u << 4)  /* 0xF0 */
#define X86_PFX_SEG      (1u << 5)  /* 0x26 0x2E 0x36 0x3E 0x64 0x65; see .seg */

/* Segment registers in the hardware's numbering (ModRM.reg of 8C/8E). */
enum x86_seg {
    X86_SEG_ES = 0, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS,
    X86_SEG_NONE = 7,
};

/* Opcode maps. */
enum x86_map {
    X86_MAP_1B = 0,   /* one-byte opcodes */
    X86_MAP_0F,       /* 0F xx */
    X86_MAP_0F38,     /* 0F 38 xx */
    X86_MAP_0F3A,     /* 0F 3A xx (all take an imm8) */
};

/*
 * The privileged or sensitive instructions the emulator handles; everything
 * else that decodes is X86_CLS_OTHER.  Width variants share a class and are
 * told apart by op_size: IRET is iretd (4) / iretq (REX.W, 8) / iretw (2);
 * SYSRET is sysretl (4, to compat mode) / sysretq (REX.W, 8).
 * INTO (CE) is absent: it is invalid in 64-bit mode (decodes as -1).
 */
enum x86_class {
    X86_CLS_OTHER = 0,
    X86_CLS_CLI, X86_CLS_STI, X86_CLS_HLT,
    X86_CLS_MOV_TO_CR,    /* 0F 22: CR number x86_insn_reg(), GPR x86_insn_rm() */
    X86_CLS_MOV_FROM_CR,  /* 0F 20 */
    X86_CLS_MOV_TO_DR,    /* 0F 23: DR number x86_insn_reg() (0-7) */
    X86_CLS_MOV_FROM_DR,  /* 0F 21 */
    X86_CLS_LGDT, X86_CLS_LIDT, X86_CLS_SGDT, X86_CLS_SIDT,  /* 0F 01 /2 /3 /0 /1, memory */
    X86_CLS_LLDT, X86_CLS_LTR, X86_CLS_SLDT, X86_CLS_STR,    /* 0F 00 /2 /3 /0 /1 */
    X86_CLS_LMSW, X86_CLS_SMSW,                              /* 0F 01 /6 /4 */
    X86_CLS_INVLPG,       /* 0F 01 /7, memory */
    X86_CLS_SWAPGS,       /* 0F 01 F8 */
    X86_CLS_RDTSCP,       /* 0F 01 F9 */
    X86_CLS_IN,           /* E4/E5 (port in imm, imm_size 1), EC/ED (port in DX) */
    X86_CLS_OUT,          /* E6/E7, EE/EF */
    X86_CLS_INS,          /* 6C/6D, maybe with REP */
    X86_CLS_OUTS,         /* 6E/6F, maybe with REP */
    X86_CLS_RDMSR, X86_CLS_WRMSR, X86_CLS_RDTSC, X86_CLS_RDPMC, X86_CLS_CPUID,
    X86_CLS_IRET,         /* CF */
    X86_CLS_SYSRET,       /* 0F 07 */
    X86_CLS_SYSCALL,      /* 0F 05 */
    X86_CLS_WBINVD, X86_CLS_INVD, X86_CLS_CLTS,
    X86_CLS_INT,          /* CD ib: vector in imm */
    X86_CLS_INT3,         /* CC */
    X86_CLS_PUSHF, X86_CLS_POPF,
    X86_CLS_MOV_TO_SEG,   /* 8E: segment x86_insn.reg (never CS) */
    X86_CLS_MOV_FROM_SEG, /* 8C */
    X86_CLS_UD2,          /* 0F 0B */
    X86_CLS_NR
};

/*
 * One decoded instruction.  Register fields are the raw 3-bit ModRM/SIB
 * fields; the x86_insn_*() helpers below add the REX extension bits.
 */
struct x86_insn {
    uint8_t len;          /* bytes, 1..15, prefixes and immediates included */
    uint8_t prefixes;     /* X86_PFX_* */
    uint8_t seg;          /* enum x86_seg: last segment override, or X86_SEG_NONE */
    uint8_t rex;          /* the REX byte that applies (0x40-0x4F), or 0 */
    uint8_t rex_w, rex_r, rex_x, rex_b;  /* its bits, 0 or 1 */
    uint8_t map;          /* enum x86_map */
    uint8_t opcode;       /* the opcode byte within map */

    bool has_modrm;
    uint8_t modrm, mod, reg, rm;
    bool has_sib;
    uint8_t sib, scale, index, base;  /* scale is the raw 2-bit field (x1 << scale) */

    /*
     * Memory operand (has_modrm && mod != 3, or moffs A0-A3): displacement
     * sign-extended to 64 bits; disp_size 0, 1, 4, or 8 (moffs).  For moffs
     * (A0-A3) disp is the absolute offset, zero-extended.  For 0F 20-23
     * (mov cr/dr) mod is ignored by the CPU: the operand is always the GPR
     * x86_insn_rm(), and no displacement is read.
     */
    int64_t disp;
    uint8_t disp_size;
    bool rip_rel;         /* mod=00 rm=101: address = next RIP + disp */
    uint8_t addr_size;    /* 8, or 4 with 0x67 */

    /*
     * Immediate, zero-extended from imm_size bytes (0, 1, 2, 4 or 8); the
     * emulator sign-extends where the instruction does.  Jcc/JMP/CALL
     * relative displacements are immediates here.  ENTER (C8 iw ib) has
     * imm = the iw, imm2 = the ib.  AMD EXTRQ/INSERTQ (66/F2 0F 78) carry
     * their two imm8s as one imm16.
     */
    uint64_t imm;
    uint8_t imm_size;
    uint8_t imm2;

    /*
     * Operand size in bytes: 1 for byte forms (e.g. 88, E4, EC, 6C, 0F 9x),
     * otherwise 8 with REX.W, 2 with 0x66, else 4; default-64 operations
     * (push/pop, pushf/popf, leave, enter, near branches, mov cr/dr,
     * lgdt/lidt/sgdt/sidt) are 8 (2 with 0x66 where the CPU allows it).
     * IN/OUT/INS/OUTS ignore REX.W (2 or 4).  For SSE/x87 forms it is the
     * GPR rule above and carries no meaning.
     */
    uint8_t op_size;

    uint8_t cls;          /* enum x86_class */
};

/*
 * Decodes one instruction in 64-bit mode from buf[0..avail).  The caller
 * fetches up to X86_MAX_INSN_LEN bytes; an instruction running into an
 * unreadable page is modelled by a smaller avail (bytes past 15 are never
 * read).  On success fills *out and returns X86_DECODE_OK.  Returns
 * X86_DECODE_INVALID for encodings that raise #UD/#GP in 64-bit mode (opcodes
 * invalid in long mode, VEX/EVEX/XOP (unsupported), LOCK on a non-lockable
 * instruction or a register destination, mov to/from CR1/CR5-7/CR9-15 or
 * DR8-15, mov to CS, undefined group members), X86_DECODE_TOO_LONG when it
 * would run past 15 bytes, and
 * X86_DECODE_TRUNCATED when the instruction needs more than avail bytes.
 * *out is undefined after an error.
 */
int x86_decode(const uint8_t *buf, size_t avail, struct x86_insn *out)
    __attribute__((warn_unused_result));

/* ModRM.reg with REX.R: GPR 0-15, or the CR/DR number for 0F 20-23. */
static inline unsigned int x86_insn_reg(const struct x86_insn *i)
{
    return i->reg | (i->rex_r << 3);
}

/* ModRM.rm with REX.B: the GPR when mod == 3 (and for 0F 20-23). */
static inline unsigned int x86_insn_rm(const struct x86_insn *i)
{
    return i->rm | (i->rex_b << 3);
}

/* SIB.index with REX.X, or -1 for "no index" (index 100 without REX.X). */
static inline int x86_insn_sib_index(const struct x86_insn *i)
{
    unsigned int idx = i->index | (i->rex_x << 3);
    return idx == 4 ? -1 : (int)idx;
}

/* SIB.base with REX.B, or -1 for "no base" (mod 00, base 101: disp32 only). */
static inline int x86_insn_sib_base(const struct x86_insn *i)
{
    if (i->mod == 0 && i->base == 5)
        return -1;
    return (int)(i->base | (i->rex_b << 3));
}

#endif
