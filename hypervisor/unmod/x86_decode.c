/*
 * x86_decode.c - decoder for one x86-64 instruction in 64-bit mode (prefixes,
 * REX, opcode maps 1-byte/0F/0F38/0F3A, ModRM/SIB/displacement, immediates,
 * operand size) and classification of the privileged and sensitive
 * instructions the trap-and-emulate path handles.  Contracts are in
 * x86_decode.h.
 *
 * Runs in ring 0 in any context (pure function of its arguments, reads at
 * most 15 bytes of buf and never past avail); also compiled on the host by
 * tests/unit/test_decode.c.
 */
#include "lib/lib.h"
#include "unmod/x86_decode.h"

/* Per-opcode decoding attributes. */
#define F_M      (1u << 0)   /* ModRM follows */
#define F_IB     (1u << 1)   /* imm8 */
#define F_IW     (1u << 2)   /* imm16 */
#define F_IZ     (1u << 3)   /* imm16 with 0x66, else imm32 */
#define F_IV     (1u << 4)   /* imm16/32/64 by operand size (B8+r) */
#define F_BYTE   (1u << 5)   /* 8-bit operand */
#define F_D64    (1u << 6)   /* default 64-bit operand, 0x66 gives 16 */
#define F_F64    (1u << 7)   /* always 64-bit operand (Intel) */
#define F_NOW    (1u << 8)   /* REX.W ignored: 16 or 32 */
#define F_LOCK   (1u << 9)   /* LOCK allowed with a memory destination */
#define F_MOFFS  (1u << 10)  /* A0-A3 absolute offset */
#define F_GRP    (1u << 11)  /* further checks by ModRM in decode_group() */
#define F_INV    (1u << 12)  /* undefined in 64-bit mode */
#define F_PFX    (1u << 13)  /* a legacy prefix or REX: never an opcode */

#define ALU_ROW(b) \
    [(b) + 0] = F_M | F_BYTE | F_LOCK, [(b) + 1] = F_M | F_LOCK, \
    [(b) + 2] = F_M | F_BYTE, [(b) + 3] = F_M, \
    [(b) + 4] = F_IB | F_BYTE, [(b) + 5] = F_IZ

static const uint16_t map_1b[256] = {
    ALU_ROW(0x00), ALU_ROW(0x08), ALU_ROW(0x10), ALU_ROW(0x18),
    ALU_ROW(0x20), ALU_ROW(0x28), ALU_ROW(0x30),
    [0x38] = F_M | F_BYTE, [0x39] = F_M, [0x3a] = F_M | F_BYTE, [0x3b] = F_M,
    [0x3c] = F_IB | F_BYTE, [0x3d] = F_IZ,
    [0x06] = F_INV, [0x07] = F_INV, [0x0e] = F_INV, [0x16] = F_INV,
    [0x17] = F_INV, [0x1e] = F_INV, [0x1f] = F_INV, [0x27] = F_INV,
    [0x2f] = F_INV, [0x37] = F_INV, [0x3f] = F_INV,
    [0x26] = F_PFX, [0x2e] = F_PFX, [0x36] = F_PFX, [0x3e] = F_PFX,
    [0x40 ... 0x4f] = F_PFX,
    [0x50 ... 0x5f] = F_D64,
    [0x60] = F_INV, [0x61] = F_INV, [0x62] = F_INV /* EVEX: unsupported */,
    [0x63] = F_M,
    [0x64 ... 0x67] = F_PFX,
    [0x68] = F_IZ | F_D64, [0x69] = F_M | F_IZ, [0x6a] = F_IB | F_D64,
    [0x6b] = F_M | F_IB,
    [0x6c] = F_BYTE, [0x6d] = F_NOW, [0x6e] = F_BYTE, [0x6f] = F_NOW,
    [0x70 ... 0x7f] = F_IB | F_F64,
    [0x80] = F_M | F_IB | F_BYTE | F_GRP, [0x81] = F_M | F_IZ | F_GRP,
    [0x82] = F_INV, [0x83] = F_M | F_IB | F_GRP,
    [0x84] = F_M | F_BYTE, [0x85] = F_M,
    [0x86] = F_M | F_BYTE | F_LOCK, [0x87] = F_M | F_LOCK,
    [0x88] = F_M | F_BYTE, [0x89] = F_M, [0x8a] = F_M | F_BYTE, [0x8b] = F_M,
    [0x8c] = F_M | F_GRP, [0x8d] = F_M | F_GRP, [0x8e] = F_M | F_GRP,
    [0x8f] = F_M | F_D64 | F_GRP,
    [0x90 ... 0x99] = 0,
    [0x9a] = F_INV, [0x9b] = 0, [0x9c] = F_D64, [0x9d] = F_D64,
    [0x9e] = 0, [0x9f] = 0,
    [0xa0] = F_MOFFS | F_BYTE, [0xa1] = F_MOFFS,
    [0xa2] = F_MOFFS | F_BYTE, [0xa3] = F_MOFFS,
    [0xa4] = F_BYTE, [0xa6] = F_BYTE, [0xa8] = F_IB | F_BYTE, [0xa9] = F_IZ,
    [0xaa] = F_BYTE, [0xac] = F_BYTE, [0xae] = F_BYTE,
    [0xb0 ... 0xb7] = F_IB | F_BYTE, [0xb8 ... 0xbf] = F_IV,
    [0xc0] = F_M | F_IB | F_BYTE, [0xc1] = F_M | F_IB,
    [0xc2] = F_IW | F_F64, [0xc3] = F_F64,
    [0xc4] = F_INV, [0xc5] = F_INV,   /* VEX: unsupported */
    [0xc6] = F_M | F_IB | F_BYTE | F_GRP, [0xc7] = F_M | F_IZ | F_GRP,
    [0xc8] = F_IW | F_D64 /* + ib */, [0xc9] = F_D64, [0xca] = F_IW,
    [0xcd] = F_IB, [0xce] = F_INV,
    [0xd0] = F_M | F_BYTE, [0xd1] = F_M, [0xd2] = F_M | F_BYTE, [0xd3] = F_M,
    [0xd4] = F_INV, [0xd5] = F_INV, [0xd6] = F_INV,
    [0xd8 ... 0xdf] = F_M,
    [0xe0 ... 0xe3] = F_IB | F_F64,
    [0xe4] = F_IB | F_BYTE, [0xe5] = F_IB | F_NOW,
    [0xe6] = F_IB | F_BYTE, [0xe7] = F_IB | F_NOW,
    [0xe8] = F_IZ | F_F64, [0xe9] = F_IZ | F_F64, [0xea] = F_INV,
    [0xeb] = F_IB | F_F64,
    [0xec] = F_BYTE, [0xed] = F_NOW, [0xee] = F_BYTE, [0xef] = F_NOW,
    [0xf0] = F_PFX, [0xf2] = F_PFX, [0xf3] = F_PFX,
    [0xf6] = F_M | F_BYTE | F_GRP, [0xf7] = F_M | F_GRP,
    [0xfe] = F_M | F_BYTE | F_GRP, [0xff] = F_M | F_GRP,
};

static const uint16_t map_0f[256] = {
    [0x00] = F_M | F_GRP, [0x01] = F_M | F_GRP, [0x02] = F_M, [0x03] = F_M,
    [0x04] = F_INV, [0x0a] = F_INV, [0x0c] = F_INV,
    [0x0d] = F_M, [0x0e] = F_INV, [0x0f] = F_INV /* 3DNow!: unsupported */,
    [0x10 ... 0x1f] = F_M,
    [0x20 ... 0x23] = F_M | F_F64 | F_GRP,
    [0x24 ... 0x27] = F_INV,
    [0x28 ... 0x2f] = F_M,
    [0x36] = F_INV, [0x39] = F_INV, [0x3b ... 0x3f] = F_INV,
    [0x40 ... 0x4f] = F_M,
    [0x50 ... 0x6f] = F_M, [0x70 ... 0x73] = F_M | F_IB, [0x74 ... 0x76] = F_M,
    [0x78] = F_M | F_GRP, [0x79 ... 0x7f] = F_M,
    [0x80 ... 0x8f] = F_IZ | F_F64,
    [0x90 ... 0x9f] = F_M | F_BYTE,
    [0xa0] = F_D64, [0xa1] = F_D64, [0xa3] = F_M, [0xa4] = F_M | F_IB,
    [0xa5] = F_M, [0xa6] = F_INV, [0xa7] = F_INV, [0xa8] = F_D64, [0xa9] = F_D64,
    [0xab] = F_M | F_LOCK, [0xac] = F_M | F_IB, [0xad] = F_M, [0xae] = F_M,
    [0xaf] = F_M,
    [0xb0] = F_M | F_BYTE | F_LOCK, [0xb1] = F_M | F_LOCK, [0xb2] = F_M,
    [0xb3] = F_M | F_LOCK, [0xb4 ... 0xb7] = F_M,
    [0xb8] = F_M | F_GRP, [0xb9] = F_M, [0xba] = F_M | F_IB | F_GRP,
    [0xbb] = F_M | F_LOCK, [0xbc ... 0xbf] = F_M,
    [0xc0] = F_M | F_BYTE | F_LOCK, [0xc1] = F_M | F_LOCK,
    [0xc2] = F_M | F_IB, [0xc3] = F_M, [0xc4 ... 0xc6] = F_M | F_IB,
    [0xc7] = F_M | F_GRP,
    [0xd0 ... 0xff] = F_M,
};

/* Byte cursor over the caller's buffer: enforces both avail and 15 bytes. */
struct cursor {
    const uint8_t *buf;
    size_t avail;
    unsigned int pos;
};

static int fetch(struct cursor *c, unsigned int n, uint64_t *val)
{
    uint64_t v = 0;
    unsigned int i;

    if (c->pos + n > X86_MAX_INSN_LEN)
        return X86_DECODE_TOO_LONG;
    if (c->pos + n > c->avail)
        return X86_DECODE_TRUNCATED;
    for (i = 0; i < n; i++)
        v |= (uint64_t)c->buf[c->pos + i] << (8 * i);
    c->pos += n;
    *val = v;
    return X86_DECODE_OK;
}

static int64_t sext(uint64_t v, unsigned int bytes)
{
    unsigned int shift = 64 - 8 * bytes;

    return bytes ? (int64_t)(v << shift) >> shift : 0;
}

/* ModRM memory form: SIB and displacement (identical for 64- and 32-bit
 * addressing in long mode). */
static int decode_mem(struct cursor *c, struct x86_insn *x)
{
    uint64_t v;
    int rc;

    if (x->mod == 3)
        return X86_DECODE_OK;
    if (x->rm == 4) {
        if ((rc = fetch(c, 1, &v)) != 0)
            return rc;
        x->has_sib = true;
        x->sib = v;
        x->scale = v >> 6;
        x->index = (v >> 3) & 7;
        x->base = v & 7;
        if (x->mod == 0 && x->base == 5)
            x->disp_size = 4;
    } else if (x->mod == 0 && x->rm == 5) {
        x->rip_rel = true;
        x->disp_size = 4;
    }
    if (x->mod == 1)
        x->disp_size = 1;
    else if (x->mod == 2)
        x->disp_size = 4;
    if (x->disp_size) {
        if ((rc = fetch(c, x->disp_size, &v)) != 0)
            return rc;
        x->disp = sext(v, x->disp_size);
    }
    return X86_DECODE_OK;
}

/*
 * Checks and classification that depend on ModRM for the entries marked
 * F_GRP; may adjust *flags (immediates, operand size).  Returns 0 or
 * X86_DECODE_INVALID.
 */
static int decode_group(struct x86_insn *x, unsigned int *flags)
{
    bool mem = x->mod != 3;
    unsigned int r = x->reg;

    if (x->map == X86_MAP_1B) {
        switch (x->opcode) {
        case 0x80: case 0x81: case 0x83:
            if (r == 7)                         /* CMP: not lockable */
                *flags &= ~F_LOCK;
            else
                *flags |= F_LOCK;
            return 0;
        case 0x8c:
            if (r > 5)
                return X86_DECODE_INVALID;
            x->cls = X86_CLS_MOV_FROM_SEG;
            if (mem)
                x->op_size = 2;
            return 0;
        case 0x8d:
            return mem ? 0 : X86_DECODE_INVALID;    /* LEA needs memory */
        case 0x8e:
            if (r > 5 || r == X86_SEG_CS)
                return X86_DECODE_INVALID;
            x->cls = X86_CLS_MOV_TO_SEG;
            x->op_size = 2;
            return 0;
        case 0x8f:
            return r == 0 ? 0 : X86_DECODE_INVALID; /* XOP: unsupported */
        case 0xc6: case 0xc7:
            if (r == 0)
                return 0;
            if (r == 7 && x->modrm == 0xf8)         /* XABORT ib / XBEGIN rel16/32 */
                return 0;
            return X86_DECODE_INVALID;
        case 0xf6: case 0xf7:
            if (r <= 1)                         /* TEST has an immediate */
                *flags |= x->opcode == 0xf6 ? F_IB : F_IZ;
            if (r == 2 || r == 3)               /* NOT, NEG */
                *flags |= F_LOCK;
            return 0;
        case 0xfe:
            if (r > 1)
                return X86_DECODE_INVALID;
            *flags |= F_LOCK;
            return 0;
        case 0xff:
            switch (r) {
            case 0: case 1: *flags |= F_LOCK; return 0;
            case 2: case 4: *flags |= F_F64; return 0;
            case 3: case 5: return mem ? 0 : X86_DECODE_INVALID;
            case 6: *flags |= F_D64; return 0;
            default: return X86_DECODE_INVALID;
            }
        }
        return 0;
    }

    /* 0F map */
    switch (x->opcode) {
    case 0x00: {
        static const uint8_t cls[8] = {
            X86_CLS_SLDT, X86_CLS_STR, X86_CLS_LLDT, X86_CLS_LTR,
            X86_CLS_OTHER, X86_CLS_OTHER,           /* VERR, VERW */
        };
        if (r > 5)
            return X86_DECODE_INVALID;
        x->cls = cls[r];
        if (r >= 2 || mem)
            x->op_size = 2;
        return 0;
    }
    case 0x01:
        if (mem) {
            static const uint8_t cls[8] = {
                X86_CLS_SGDT, X86_CLS_SIDT, X86_CLS_LGDT, X86_CLS_LIDT,
                X86_CLS_SMSW, X86_CLS_OTHER, X86_CLS_LMSW, X86_CLS_INVLPG,
            };
            if (r == 5)                         /* RSTORSSP (CET): unsupported */
                return X86_DECODE_INVALID;
            x->cls = cls[r];
            if (r <= 3)
                x->op_size = 8;
            else if (r != 7)
                x->op_size = 2;
            return 0;
        }
        /* Register forms: VMX/SVM/SMAP/XSAVE/MONITOR etc. are "other". */
        if (r == 4) {
            x->cls = X86_CLS_SMSW;
        } else if (r == 6) {
            x->cls = X86_CLS_LMSW;
            x->op_size = 2;
        } else if (x->modrm == 0xf8) {
            x->cls = X86_CLS_SWAPGS;
        } else if (x->modrm == 0xf9) {
            x->cls = X86_CLS_RDTSCP;
        }
        return 0;
    case 0x20: case 0x22: {
        unsigned int cr = x86_insn_reg(x);
        if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
            return X86_DECODE_INVALID;
        x->cls = x->opcode == 0x20 ? X86_CLS_MOV_FROM_CR : X86_CLS_MOV_TO_CR;
        return 0;
    }
    case 0x21: case 0x23:
        if (x->rex_r)
            return X86_DECODE_INVALID;
        x->cls = x->opcode == 0x21 ? X86_CLS_MOV_FROM_DR : X86_CLS_MOV_TO_DR;
        return 0;
    case 0x78:              /* AMD EXTRQ (66) / INSERTQ (F2): imm8, imm8 */
        if (x->prefixes & (X86_PFX_OPSIZE | X86_PFX_REPNE))
            *flags |= F_IW;
        return 0;
    case 0xb8:                                  /* POPCNT needs F3 */
        return x->prefixes & X86_PFX_REP ? 0 : X86_DECODE_INVALID;
    case 0xba:
        if (r < 4)
            return X86_DECODE_INVALID;
        if (r >= 5)                             /* BTS, BTR, BTC */
            *flags |= F_LOCK;
        return 0;
    case 0xc7:
        if (r == 1)                             /* CMPXCHG8B/16B */
            *flags |= F_LOCK;
        return 0;
    }
    return 0;
}

/* Classification of the ModRM-less privileged opcodes. */
static uint8_t classify_simple(unsigned int map, uint8_t op)
{
    if (map == X86_MAP_1B) {
        switch (op) {
        case 0xfa: return X86_CLS_CLI;
        case 0xfb: return X86_CLS_STI;
        case 0xf4: return X86_CLS_HLT;
        case 0xe4: case 0xe5: case 0xec: case 0xed: return X86_CLS_IN;
        case 0xe6: case 0xe7: case 0xee: case 0xef: return X86_CLS_OUT;
        case 0x6c: case 0x6d: return X86_CLS_INS;
        case 0x6e: case 0x6f: return X86_CLS_OUTS;
        case 0xcf: return X86_CLS_IRET;
        case 0xcd: return X86_CLS_INT;
        case 0xcc: return X86_CLS_INT3;
        case 0x9c: return X86_CLS_PUSHF;
        case 0x9d: return X86_CLS_POPF;
        }
    } else if (map == X86_MAP_0F) {
        switch (op) {
        case 0x05: return X86_CLS_SYSCALL;
        case 0x06: return X86_CLS_CLTS;
        case 0x07: return X86_CLS_SYSRET;
        case 0x08: return X86_CLS_INVD;
        case 0x09: return X86_CLS_WBINVD;
        case 0x0b: return X86_CLS_UD2;
        case 0x30: return X86_CLS_WRMSR;
        case 0x31: return X86_CLS_RDTSC;
        case 0x32: return X86_CLS_RDMSR;
        case 0x33: return X86_CLS_RDPMC;
        case 0xa2: return X86_CLS_CPUID;
        }
    }
    return X86_CLS_OTHER;
}

int x86_decode(const uint8_t *buf, size_t avail, struct x86_insn *out)
{
    struct cursor c = { .buf = buf, .avail = avail, .pos = 0 };
    struct x86_insn *x = out;
    unsigned int flags;
    uint64_t v;
    uint8_t b;
    int rc;

    memset(x, 0, sizeof(*x));
    x->seg = X86_SEG_NONE;

    /* Legacy prefixes and REX; a REX counts only right before the opcode. */
    for (;;) {
        if ((rc = fetch(&c, 1, &v)) != 0)
            return rc;
        b = v;
        if (!(map_1b[b] & F_PFX))
            break;
        if (b >= 0x40 && b <= 0x4f) {
            x->rex = b;
            continue;
        }
        x->rex = 0;
        switch (b) {
        case 0x66: x->prefixes |= X86_PFX_OPSIZE; break;
        case 0x67: x->prefixes |= X86_PFX_ADDRSIZE; break;
        case 0xf3: x->prefixes |= X86_PFX_REP; break;
        case 0xf2: x->prefixes |= X86_PFX_REPNE; break;
        case 0xf0: x->prefixes |= X86_PFX_LOCK; break;
        case 0x26: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_ES; break;
        case 0x2e: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_CS; break;
        case 0x36: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_SS; break;
        case 0x3e: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_DS; break;
        case 0x64: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_FS; break;
        case 0x65: x->prefixes |= X86_PFX_SEG; x->seg = X86_SEG_GS; break;
        }
    }
    x->rex_w = (x->rex >> 3) & 1;
    x->rex_r = (x->rex >> 2) & 1;
    x->rex_x = (x->rex >> 1) & 1;
    x->rex_b = x->rex & 1;
    x->addr_size = x->prefixes & X86_PFX_ADDRSIZE ? 4 : 8;

    /* Opcode, through the 0F / 0F 38 / 0F 3A escapes. */
    x->map = X86_MAP_1B;
    if (b == 0x0f) {
        if ((rc = fetch(&c, 1, &v)) != 0)
            return rc;
        b = v;
        x->map = X86_MAP_0F;
        if (b == 0x38 || b == 0x3a) {
            x->map = b == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
            if ((rc = fetch(&c, 1, &v)) != 0)
                return rc;
            b = v;
        }
    }
    x->opcode = b;
    switch (x->map) {
    case X86_MAP_1B: flags = map_1b[b]; break;
    case X86_MAP_0F: flags = map_0f[b]; break;
    case X86_MAP_0F38: flags = F_M; break;
    default: flags = F_M | F_IB; break;
    }
    if (flags & F_INV)
        return X86_DECODE_INVALID;
    x->cls = classify_simple(x->map, b);

    /* Operand size by the general rule; groups may refine it below. */
    if (x->rex_w && !(flags & F_NOW))
        x->op_size = 8;
    else if (x->prefixes & X86_PFX_OPSIZE)
        x->op_size = 2;
    else
        x->op_size = 4;

    if (flags & F_M) {
        if ((rc = fetch(&c, 1, &v)) != 0)
            return rc;
        x->has_modrm = true;
        x->modrm = v;
        x->mod = v >> 6;
        x->reg = (v >> 3) & 7;
        x->rm = v & 7;
        if (flags & F_GRP) {
            if ((rc = decode_group(x, &flags)) != 0)
                return rc;
        }
        /* mov cr/dr: the operand is always a register, whatever mod says. */
        if (!(x->map == X86_MAP_0F && b >= 0x20 && b <= 0x23)) {
            if ((rc = decode_mem(&c, x)) != 0)
                return rc;
        }
    }

    if (x->prefixes & X86_PFX_LOCK) {
        if (!(flags & F_LOCK) || !x->has_modrm || x->mod == 3)
            return X86_DECODE_INVALID;
    }

    if (flags & F_BYTE)
        x->op_size = 1;
    else if (flags & F_F64)
        x->op_size = 8;
    else if ((flags & F_D64) && !(x->prefixes & X86_PFX_OPSIZE))
        x->op_size = 8;

    /* Immediates (and the moffs absolute address). */
    if (flags & F_MOFFS) {
        x->disp_size = x->addr_size;
        if ((rc = fetch(&c, x->disp_size, &v)) != 0)
            return rc;
        x->disp = (int64_t)v;
    }
    if (flags & F_IB)
        x->imm_size = 1;
    else if (flags & F_IW)
        x->imm_size = 2;
    else if (flags & F_IZ)
        x->imm_size = (x->prefixes & X86_PFX_OPSIZE) &&
                      !(flags & F_F64) && !x->rex_w ? 2 : 4;
    else if (flags & F_IV)
        x->imm_size = x->op_size;
    if (x->imm_size) {
        if ((rc = fetch(&c, x->imm_size, &v)) != 0)
            return rc;
        x->imm = v;
    }
    if (x->map == X86_MAP_1B && b == 0xc8) {    /* ENTER iw, ib */
        if ((rc = fetch(&c, 1, &v)) != 0)
            return rc;
        x->imm2 = v;
    }

    x->len = c.pos;
    return X86_DECODE_OK;
}
