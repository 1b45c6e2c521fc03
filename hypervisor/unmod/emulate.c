/*
 * emulate.c - the trap-and-emulate instruction emulator for unmodified
 * guests (unmod.h): decodes the instruction that trapped (x86_decode.c in
 * 64-bit mode, a small decoder here for the 32-bit multiboot entry code) and
 * performs it against the virtual CPU (struct vcpu_unmod), delivers
 * exceptions and interrupts through the guest's IDT, and performs SYSCALL.
 *
 * Plain C over struct emu_ops: runs in ring 0 with interrupts off, and on
 * the host under tests/unit/test_emulate.c.  Semantics follow the Intel SDM
 * vol. 2 for each instruction, restricted to what a 64-bit kernel with flat
 * segments uses; what is not emulated returns EMU_UNHANDLED with a reason.
 */
#include "common/hv.h"
#include "unmod/x86_decode.h"
#include "unmod/unmod.h"
#include "arch/x86/x86.h"

/* RFLAGS bits an iretq/sysretq/popf at CPL 0 may set (IF and IOPL are
 * virtual; VM, VIF, VIP are not supported). */
#define RFLAGS_SETTABLE (X86_EFLAGS_ALL & ~(X86_EFLAGS_IOPL | X86_EFLAGS_VM | \
                                           X86_EFLAGS_VIF | X86_EFLAGS_VIP))

static int gp(struct emu_ctxt *c, uint32_t ec)
{
    c->fault = (struct emu_fault){ .vector = X86_EXC_GP, .has_ec = true, .ec = ec };
    return EMU_FAULT;
}

static int ud(struct emu_ctxt *c)
{
    c->fault = (struct emu_fault){ .vector = X86_EXC_UD };
    return EMU_FAULT;
}

static int np(struct emu_ctxt *c, uint32_t ec)
{
    c->fault = (struct emu_fault){ .vector = 11, .has_ec = true, .ec = ec };
    return EMU_FAULT;
}

static int unhandled(struct emu_ctxt *c, const char *why)
{
    c->why = why;
    return EMU_UNHANDLED;
}

/* GPR n (x86 numbering: 0 rax .. 4 rsp .. 15 r15) in the register frame. */
static uint64_t *gpr(struct cpu_regs *r, unsigned int n)
{
    switch (n & 15) {
    case 0: return &r->rax;
    case 1: return &r->rcx;
    case 2: return &r->rdx;
    case 3: return &r->rbx;
    case 4: return &r->rsp;
    case 5: return &r->rbp;
    case 6: return &r->rsi;
    case 7: return &r->rdi;
    case 8: return &r->r8;
    case 9: return &r->r9;
    case 10: return &r->r10;
    case 11: return &r->r11;
    case 12: return &r->r12;
    case 13: return &r->r13;
    case 14: return &r->r14;
    default: return &r->r15;
    }
}

/* Writes an operand of `size` bytes to a GPR with x86-64 merge rules:
 * 32-bit results zero-extend, 8/16-bit ones merge. */
static void set_gpr(struct cpu_regs *r, unsigned int n, unsigned int size, uint64_t v)
{
    uint64_t *p = gpr(r, n);
    switch (size) {
    case 1: *p = (*p & ~0xffUL) | (v & 0xff); break;
    case 2: *p = (*p & ~0xffffUL) | (v & 0xffff); break;
    case 4: *p = (uint32_t)v; break;
    default: *p = v; break;
    }
}

static uint64_t opsize_trunc(uint64_t v, unsigned int size)
{
    return size >= 8 ? v : v & ((1UL << (size * 8)) - 1);
}

uint64_t emu_guest_rflags(const struct emu_ctxt *c)
{
    return (c->regs->rflags & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
           (c->vu->vif ? X86_EFLAGS_IF : 0) | 2;
}

/* Loads the real RFLAGS and the virtual IF from a value the guest supplied
 * (iretq, sysretq). */
static void load_rflags(struct emu_ctxt *c, uint64_t f)
{
    c->vu->vif = f & X86_EFLAGS_IF;
    c->regs->rflags = (f & RFLAGS_SETTABLE & ~X86_EFLAGS_IF) | X86_EFLAGS_IF | 2;
}

static void set_cpl(struct emu_ctxt *c, unsigned int cpl)
{
    if (c->vu->cpl != cpl) {
        c->vu->cpl = cpl;
        c->events |= EMU_EV_CPL;
    }
}

static void set_cs64(struct emu_ctxt *c, bool cs64)
{
    if (c->vu->cs64 != cs64) {
        c->vu->cs64 = cs64;
        c->events |= EMU_EV_MODE;
    }
}

static int rd(struct emu_ctxt *c, uint64_t va, void *buf, unsigned int n, unsigned int acc)
{
    return c->ops->read(c->ctx, va, buf, n, acc, &c->fault) ? -1 : 0;
}

static int wr(struct emu_ctxt *c, uint64_t va, const void *buf, unsigned int n, unsigned int acc)
{
    return c->ops->write(c->ctx, va, buf, n, acc | EMU_ACC_W, &c->fault) ? -1 : 0;
}

/* Reads the 8-byte descriptor for selector sel from the virtual GDT
 * (LDTs are not supported: TI=1 fails).  0 or -1 (#GP(sel) in c->fault). */
static int read_desc(struct emu_ctxt *c, uint16_t sel, uint64_t *d)
{
    if ((sel & 4) || (sel | 7) > c->vu->gdtr_limit) {
        gp(c, sel & ~3u);
        return -1;
    }
    return rd(c, c->vu->gdtr_base + (sel & ~7u), d, 8, EMU_ACC_SYS);
}

static bool desc_present(uint64_t d) { return d & (1UL << 47); }
static bool desc_code(uint64_t d) { return (d & (3UL << 43)) == (3UL << 43); }
static bool desc_long(uint64_t d) { return d & (1UL << 53); }
static unsigned int desc_dpl(uint64_t d) { return (d >> 45) & 3; }
static uint32_t desc_base32(uint64_t d)
{
    return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

/* ---- 64-bit mode ------------------------------------------------------ */

/* Effective (linear) address of insn's memory operand. */
static uint64_t ea64(struct emu_ctxt *c, const struct x86_insn *i)
{
    struct cpu_regs *r = c->regs;
    uint64_t a;

    if (i->opcode >= 0xa0 && i->opcode <= 0xa3 && i->map == X86_MAP_1B && !i->has_modrm)
        a = (uint64_t)i->disp;
    else if (i->rip_rel)
        a = r->rip + i->len + (uint64_t)i->disp;
    else if (i->has_sib) {
        int b = x86_insn_sib_base(i), x = x86_insn_sib_index(i);
        a = (b >= 0 ? *gpr(r, b) : 0) + (x >= 0 ? *gpr(r, x) << i->scale : 0) +
            (uint64_t)i->disp;
    } else
        a = *gpr(r, x86_insn_rm(i)) + (uint64_t)i->disp;
    if (i->addr_size == 4)
        a = (uint32_t)a;
    if (i->seg == X86_SEG_FS)
        a += c->vu->fs_base;
    else if (i->seg == X86_SEG_GS)
        a += c->vu->gs_base;
    return a;
}

static bool is_mem(const struct x86_insn *i) { return i->has_modrm && i->mod != 3; }

static int do_rdmsr(struct emu_ctxt *c, uint32_t msr, uint64_t *v)
{
    struct vcpu_unmod *u = c->vu;
    switch (msr) {
    case MSR_EFER: *v = u->efer; break;
    case MSR_STAR: *v = u->star; break;
    case MSR_LSTAR: *v = u->lstar; break;
    case MSR_CSTAR: *v = u->cstar; break;
    case MSR_SFMASK: *v = u->sfmask; break;
    case MSR_FS_BASE: *v = u->fs_base; break;
    case MSR_GS_BASE: *v = u->gs_base; break;
    case MSR_SHADOW_GS_BASE: *v = u->kernel_gs_base; break;
    case MSR_APIC_BASE: *v = u->apic_base; break;
    case MSR_TSC_DEADLINE: *v = u->tsc_deadline; break;
    case MSR_PAT: *v = u->pat; break;
    case MSR_MISC_ENABLE: *v = u->misc_enable; break;
    case MSR_TSC_AUX: *v = 0; break;
    default: return -1;
    }
    return 0;
}


static int do_wrmsr(struct emu_ctxt *c, uint32_t msr, uint64_t v)
{
    struct vcpu_unmod *u = c->vu;
    switch (msr) {
    case MSR_EFER:
        if (v & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE))
            return -1;
        /* LMA is read-only; LME may not change while paging is on. */
        if ((u->cr0 & X86_CR0_PG) && ((v ^ u->efer) & X86_EFER_LME))
            return -1;
        v = (v & ~X86_EFER_LMA) | (u->efer & X86_EFER_LMA);
        if ((v ^ u->efer) & X86_EFER_NXE)
            c->events |= EMU_EV_PAGING;
        u->efer = v;
        break;
    case MSR_STAR: u->star = v; break;
    case MSR_LSTAR: case MSR_CSTAR:
        if (!canonical_addr(v))
            return -1;
        *(msr == MSR_LSTAR ? &u->lstar : &u->cstar) = v;
        break;
    case MSR_SFMASK: u->sfmask = (uint32_t)v; break;
    case MSR_FS_BASE: case MSR_GS_BASE: case MSR_SHADOW_GS_BASE:
        if (!canonical_addr(v))
            return -1;
        if (msr == MSR_FS_BASE)
            u->fs_base = v;
        else if (msr == MSR_GS_BASE)
            u->gs_base = v;
        else
            u->kernel_gs_base = v;
        c->events |= EMU_EV_SEGBASE;
        break;
    case MSR_APIC_BASE: break;          /* no local APIC model: the base stays */
    case MSR_TSC_DEADLINE: u->tsc_deadline = v; break;
    case MSR_PAT: u->pat = v; break;
    case MSR_MISC_ENABLE: break;
    default: return -1;
    }
    return 0;
}

/* mov to CRn (n = 0, 2, 3, 4, 8). */
static int write_cr(struct emu_ctxt *c, unsigned int n, uint64_t v)
{
    struct vcpu_unmod *u = c->vu;
    switch (n) {
    case 0: {
        if ((v >> 32) || !(v & X86_CR0_PE))
            return gp(c, 0);
        bool pg_on = (v & X86_CR0_PG) && !(u->cr0 & X86_CR0_PG);
        bool pg_off = !(v & X86_CR0_PG) && (u->cr0 & X86_CR0_PG);
        if (pg_on) {
            if ((u->efer & X86_EFER_LME) && !(u->cr4 & X86_CR4_PAE))
                return gp(c, 0);
            if (!(u->efer & X86_EFER_LME))
                return unhandled(c, "paging without long mode (legacy/PAE paging)");
            u->efer |= X86_EFER_LMA;
        }
        if (pg_off) {
            if (u->cs64)
                return gp(c, 0);
            u->efer &= ~X86_EFER_LMA;
        }
        if (pg_on || pg_off || ((v ^ u->cr0) & X86_CR0_WP))
            c->events |= EMU_EV_PAGING;
        u->cr0 = v | X86_CR0_ET;
        return EMU_OK;
    }
    case 2: u->cr2 = v; return EMU_OK;
    case 3:
        u->cr3 = v & 0x000ffffffffff000UL;
        c->events |= EMU_EV_CR3;
        return EMU_OK;
    case 4:
        if ((u->efer & X86_EFER_LMA) && !(v & X86_CR4_PAE))
            return gp(c, 0);
        if ((v ^ u->cr4) & ~X86_CR4_FSGSBASE)
            c->events |= EMU_EV_PAGING;
        u->cr4 = v;
        return EMU_OK;
    case 8: u->cr8 = v & 15; return EMU_OK;
    default: return ud(c);
    }
}

static uint64_t read_cr(struct emu_ctxt *c, unsigned int n)
{
    struct vcpu_unmod *u = c->vu;
    switch (n) {
    case 0: return u->cr0;
    case 2: return u->cr2;
    case 3: return u->cr3;
    case 4: return u->cr4;
    default: return u->cr8;
    }
}

/* ltr: loads TR from a 16-byte available-TSS descriptor in the GDT. */
static int do_ltr(struct emu_ctxt *c, uint16_t sel)
{
    uint64_t d[2];
    if (!(sel & ~3u) || (sel & 4) || (sel & ~7u) + 15 > c->vu->gdtr_limit)
        return gp(c, sel & ~3u);
    if (rd(c, c->vu->gdtr_base + (sel & ~7u), d, 16, EMU_ACC_SYS))
        return EMU_FAULT;
    if (((d[0] >> 40) & 0x1f) != 9 || !desc_present(d[0]))
        return gp(c, sel & ~3u);
    uint8_t busy = (uint8_t)(d[0] >> 40) | 2;
    if (wr(c, c->vu->gdtr_base + (sel & ~7u) + 5, &busy, 1, EMU_ACC_SYS))
        return EMU_FAULT;
    c->vu->tr = sel;
    c->vu->tr_base = desc_base32(d[0]) | (d[1] << 32);
    return EMU_OK;
}

/* Pops n 8-byte words from the guest stack into w (no RSP change). */
static int pop_words(struct emu_ctxt *c, uint64_t *w, unsigned int n)
{
    return rd(c, c->regs->rsp, w, n * 8, 0) ? EMU_FAULT : EMU_OK;
}

/* iretq at virtual CPL 0 (to CPL 0 or 3). */
static int do_iretq(struct emu_ctxt *c)
{
    uint64_t w[5], d;
    if (pop_words(c, w, 5))
        return EMU_FAULT;
    uint16_t cs = w[1], ss = w[4];
    unsigned int rpl = cs & 3;
    if (rpl != 0 && rpl != 3)
        return unhandled(c, "iretq to ring 1 or 2");
    if (read_desc(c, cs, &d))
        return EMU_FAULT;
    if (!desc_code(d) || desc_dpl(d) != rpl)
        return gp(c, cs & ~3u);
    if (!desc_present(d))
        return np(c, cs & ~3u);
    if (!canonical_addr(w[0]) || !canonical_addr(w[3]))
        return gp(c, 0);
    c->regs->rip = w[0];
    c->regs->rsp = w[3];
    load_rflags(c, w[2]);
    c->vu->sel[VSEG_CS] = cs;
    c->vu->sel[VSEG_SS] = ss;
    set_cs64(c, desc_long(d));
    set_cpl(c, rpl);
    return EMU_OK;
}

/* lret (far return, op_size 4 or 8) to the same or an outer ring. */
static int do_lret(struct emu_ctxt *c, unsigned int size)
{
    uint64_t w[4] = { 0 }, d;
    uint32_t w32[4];
    unsigned int n;

    if (size == 8) {
        if (pop_words(c, w, 2))
            return EMU_FAULT;
    } else {
        if (rd(c, c->regs->rsp, w32, 8, 0))
            return EMU_FAULT;
        w[0] = w32[0];
        w[1] = w32[1];
    }
    uint16_t cs = w[1];
    unsigned int rpl = cs & 3;
    if (rpl < c->vu->cpl)
        return gp(c, cs & ~3u);
    if (rpl != c->vu->cpl)
        return unhandled(c, "far return to an outer ring");
    if (read_desc(c, cs, &d))
        return EMU_FAULT;
    if (!desc_present(d) || !desc_code(d))
        return gp(c, cs & ~3u);
    n = 2;
    c->regs->rip = desc_long(d) ? w[0] : (uint32_t)w[0];
    c->regs->rsp += n * size;
    c->vu->sel[VSEG_CS] = cs;
    set_cs64(c, desc_long(d));
    return EMU_OK;
}

/* Far jump to selector:offset (32-bit ljmp during boot, or 64-bit m16:64). */
static int do_ljmp(struct emu_ctxt *c, uint16_t cs, uint64_t off)
{
    uint64_t d;
    if ((cs & 3) != c->vu->cpl && (cs & 3) > c->vu->cpl)
        return gp(c, cs & ~3u);
    if (read_desc(c, cs, &d))
        return EMU_FAULT;
    if (!desc_present(d) || !desc_code(d))
        return gp(c, cs & ~3u);
    bool l = desc_long(d) && (c->vu->efer & X86_EFER_LMA);
    c->regs->rip = l ? off : (uint32_t)off;
    c->vu->sel[VSEG_CS] = (cs & ~3u) | c->vu->cpl;
    set_cs64(c, l);
    return EMU_OK;
}

/* mov to DS/ES/SS/FS/GS with a selector the real GDT refused. */
static int load_seg(struct emu_ctxt *c, unsigned int seg, uint16_t sel)
{
    uint64_t d = 0;
    if (seg == VSEG_CS || seg > VSEG_GS)
        return ud(c);
    if (sel & ~3u) {
        if (read_desc(c, sel, &d))
            return EMU_FAULT;
        if (!desc_present(d))
            return gp(c, sel & ~3u);
    } else if (seg == VSEG_SS && c->vu->cpl == 3) {
        return gp(c, 0);
    }
    c->vu->sel[seg] = sel;
    if ((seg == VSEG_FS || seg == VSEG_GS) && (sel & ~3u)) {
        *(seg == VSEG_FS ? &c->vu->fs_base : &c->vu->gs_base) = desc_base32(d);
        c->events |= EMU_EV_SEGBASE;
    }
    return EMU_OK;
}

/* Port I/O (in/out, imm8 or DX forms). */
static int do_io(struct emu_ctxt *c, bool in, unsigned int port, unsigned int size)
{
    if (c->vu->cpl > 0)
        return gp(c, 0);
    if (in)
        set_gpr(c->regs, 0, size == 4 ? 4 : size,
                c->ops->io_in(c->ctx, port & 0xffff, size));
    else
        c->ops->io_out(c->ctx, port & 0xffff, size, (uint32_t)opsize_trunc(c->regs->rax, size));
    return EMU_OK;
}

/* Flags after a logical operation (and/or): CF=OF=0, SF ZF PF from r. */
static void logic_flags(struct emu_ctxt *c, uint64_t r, unsigned int size)
{
    uint64_t f = c->regs->rflags & ~0x8d5UL;    /* CF PF AF ZF SF OF */
    r = opsize_trunc(r, size);
    if (!r)
        f |= 0x40;
    if (r >> (size * 8 - 1))
        f |= 0x80;
    if (!(__builtin_popcount((unsigned int)(r & 0xff)) & 1))
        f |= 0x04;
    c->regs->rflags = f;
}

/* ModRM.reg operand of insn i: in a byte form without REX, 4-7 are AH CH DH BH. */
static bool high_byte(const struct x86_insn *i, unsigned int reg, unsigned int sz)
{
    return sz == 1 && !i->rex && reg >= 4 && reg < 8;
}

static uint64_t reg_get(struct cpu_regs *r, const struct x86_insn *i, unsigned int reg,
                        unsigned int sz)
{
    return high_byte(i, reg, sz) ? *gpr(r, reg - 4) >> 8 : *gpr(r, reg);
}

static void reg_set(struct cpu_regs *r, const struct x86_insn *i, unsigned int reg,
                    unsigned int sz, uint64_t v)
{
    if (high_byte(i, reg, sz)) {
        uint64_t *p = gpr(r, reg - 4);
        *p = (*p & ~0xff00UL) | ((v & 0xff) << 8);
    } else {
        set_gpr(r, reg, sz, v);
    }
}

/* Flags of CMP a, b (a - b) at size bytes: CF PF AF ZF SF OF. */
static void sub_flags(struct emu_ctxt *c, uint64_t a, uint64_t b, unsigned int size)
{
    unsigned int top = size * 8 - 1;
    a = opsize_trunc(a, size);
    b = opsize_trunc(b, size);
    uint64_t res = opsize_trunc(a - b, size);
    logic_flags(c, res, size);
    if (a < b)
        c->regs->rflags |= 0x01;
    if ((a ^ b ^ res) & 0x10)
        c->regs->rflags |= 0x10;
    if ((((a ^ b) & (a ^ res)) >> top) & 1)
        c->regs->rflags |= 0x800;
}

/* The memory-writing instructions a kernel uses on its page tables, when
 * their write trapped (a write-protected guest page-table page). */
static int emulate_mem_write(struct emu_ctxt *c, const struct x86_insn *i)
{
    struct cpu_regs *r = c->regs;
    unsigned int sz = i->op_size;
    uint64_t src, old = 0, res;

    if (i->map == X86_MAP_1B && (i->opcode == 0xaa || i->opcode == 0xab)) {
        /* stos: rep count in rcx (or one), df direction. */
        uint64_t n = (i->prefixes & X86_PFX_REP) ? r->rcx : 1;
        int64_t step = (r->rflags & 0x400) ? -(int64_t)sz : (int64_t)sz;
        for (; n; n--) {
            uint64_t dst = r->rdi;
            if (i->addr_size == 4)
                dst = (uint32_t)dst;
            if (wr(c, dst, &r->rax, sz, 0))
                return EMU_FAULT;
            r->rdi += step;
            if (i->prefixes & X86_PFX_REP)
                r->rcx--;
        }
        r->rip += i->len;
        return EMU_OK;
    }
    if (!is_mem(i))
        return unhandled(c, "trapped write by an instruction without a memory operand");
    uint64_t a = ea64(c, i);
    unsigned int reg = x86_insn_reg(i);

    if (i->map == X86_MAP_1B) {
        switch (i->opcode) {
        case 0x88: case 0x89:                       /* mov r/m, r */
            src = reg_get(r, i, reg, sz);
            if (wr(c, a, &src, sz, 0))
                return EMU_FAULT;
            break;
        case 0xc6: case 0xc7:                       /* mov r/m, imm */
            if (i->reg != 0)
                return unhandled(c, "C6/C7 other than mov");
            src = i->imm_size == 4 && sz == 8 ? (uint64_t)(int64_t)(int32_t)i->imm : i->imm;
            if (wr(c, a, &src, sz, 0))
                return EMU_FAULT;
            break;
        case 0x86: case 0x87:                       /* xchg r/m, r */
            if (rd(c, a, &old, sz, 0))
                return EMU_FAULT;
            src = reg_get(r, i, reg, sz);
            if (wr(c, a, &src, sz, 0))
                return EMU_FAULT;
            reg_set(r, i, reg, sz, old);
            break;
        case 0x08: case 0x09: case 0x20: case 0x21: /* or/and r/m, r */
        case 0x80: case 0x81: case 0x83: {          /* group 1 imm: or (/1), and (/4) */
            bool is_and;
            if (i->opcode >= 0x80) {
                if (i->reg != 1 && i->reg != 4)
                    return unhandled(c, "group-1 arithmetic on a page table");
                is_and = i->reg == 4;
                src = i->opcode == 0x80 ? i->imm :
                      i->imm_size == 1 ? (uint64_t)(int64_t)(int8_t)i->imm :
                      (uint64_t)(int64_t)(int32_t)i->imm;
            } else {
                is_and = i->opcode >= 0x20;
                src = reg_get(r, i, reg, sz);
            }
            if (rd(c, a, &old, sz, 0))
                return EMU_FAULT;
            res = is_and ? old & src : old | src;
            if (wr(c, a, &res, sz, 0))
                return EMU_FAULT;
            logic_flags(c, res, sz);
            break;
        }
        default:
            return unhandled(c, "memory write by an unsupported instruction");
        }
    } else if (i->map == X86_MAP_0F && (i->opcode == 0xb0 || i->opcode == 0xb1)) {
        /* cmpxchg r/m, r: compare with rax. */
        if (rd(c, a, &old, sz, 0))
            return EMU_FAULT;
        uint64_t cmp = opsize_trunc(r->rax, sz);
        if (old == cmp) {
            src = reg_get(r, i, reg, sz);
            if (wr(c, a, &src, sz, 0))
                return EMU_FAULT;
        } else {
            set_gpr(r, 0, sz, old);
        }
        sub_flags(c, cmp, old, sz);
    } else {
        return unhandled(c, "memory write by an unsupported instruction");
    }
    r->rip += i->len;
    return EMU_OK;
}

static int emulate64(struct emu_ctxt *c, const uint8_t *b, unsigned int avail)
{
    struct x86_insn in;
    struct cpu_regs *r = c->regs;
    struct vcpu_unmod *u = c->vu;
    uint64_t v, d[2];
    uint8_t buf[10];
    int rc = x86_decode(b, avail, &in);

    if (rc == X86_DECODE_TRUNCATED)
        return unhandled(c, "instruction runs into an unreadable page");
    if (rc == X86_DECODE_TOO_LONG)
        return gp(c, 0);
    if (rc != X86_DECODE_OK)
        return ud(c);
    bool cpl0 = u->cpl == 0;
    unsigned int next = in.len;

    switch (in.cls) {
    case X86_CLS_CLI: case X86_CLS_STI: case X86_CLS_HLT:
    case X86_CLS_MOV_TO_CR: case X86_CLS_MOV_FROM_CR:
    case X86_CLS_MOV_TO_DR: case X86_CLS_MOV_FROM_DR:
    case X86_CLS_LGDT: case X86_CLS_LIDT: case X86_CLS_LLDT: case X86_CLS_LTR:
    case X86_CLS_LMSW: case X86_CLS_INVLPG: case X86_CLS_SWAPGS:
    case X86_CLS_RDMSR: case X86_CLS_WRMSR: case X86_CLS_IRET: case X86_CLS_SYSRET:
    case X86_CLS_WBINVD: case X86_CLS_INVD: case X86_CLS_CLTS:
    case X86_CLS_SGDT: case X86_CLS_SIDT: case X86_CLS_SLDT: case X86_CLS_STR:
    case X86_CLS_SMSW:
        if (!cpl0)
            return gp(c, 0);
        break;
    default:
        break;
    }

    switch (in.cls) {
    case X86_CLS_CLI:
        u->vif = false;
        break;
    case X86_CLS_STI:
        u->vif = true;
        u->sti_shadow = true;
        /* sti; hlt: halt inside the interrupt shadow, so an interrupt
         * already pending wakes the hlt instead of being taken before it. */
        if (avail > next && b[next] == 0xf4) {
            next++;
            c->events |= EMU_EV_HALT;
            /* The shadow covered the hlt, which has now run: an interrupt
             * pending (or arriving) is taken after it, as on hardware.
             * Keeping the shadow would let an idle loop of `cli ... sti;
             * hlt` spin forever with an interrupt never delivered. */
            u->sti_shadow = false;
        }
        break;
    case X86_CLS_HLT:
        c->events |= EMU_EV_HALT;
        break;
    case X86_CLS_MOV_FROM_CR:
        set_gpr(r, x86_insn_rm(&in), 8, read_cr(c, x86_insn_reg(&in)));
        break;
    case X86_CLS_MOV_TO_CR:
        if ((rc = write_cr(c, x86_insn_reg(&in), *gpr(r, x86_insn_rm(&in)))) != EMU_OK)
            return rc;
        break;
    case X86_CLS_MOV_FROM_DR:
        set_gpr(r, x86_insn_rm(&in), 8, u->dr[x86_insn_reg(&in) & 7]);
        break;
    case X86_CLS_MOV_TO_DR:
        u->dr[x86_insn_reg(&in) & 7] = *gpr(r, x86_insn_rm(&in));
        break;
    case X86_CLS_LGDT: case X86_CLS_LIDT:
        if (rd(c, ea64(c, &in), buf, 10, 0))
            return EMU_FAULT;
        memcpy(&v, buf + 2, 8);
        if (in.cls == X86_CLS_LGDT) {
            u->gdtr_limit = buf[0] | buf[1] << 8;
            u->gdtr_base = v;
        } else {
            u->idtr_limit = buf[0] | buf[1] << 8;
            u->idtr_base = v;
        }
        break;
    case X86_CLS_SGDT: case X86_CLS_SIDT: {
        uint16_t lim = in.cls == X86_CLS_SGDT ? u->gdtr_limit : u->idtr_limit;
        v = in.cls == X86_CLS_SGDT ? u->gdtr_base : u->idtr_base;
        buf[0] = lim & 0xff;
        buf[1] = lim >> 8;
        memcpy(buf + 2, &v, 8);
        if (wr(c, ea64(c, &in), buf, 10, 0))
            return EMU_FAULT;
        break;
    }
    case X86_CLS_SLDT: case X86_CLS_STR: case X86_CLS_SMSW: {
        uint16_t val = in.cls == X86_CLS_SLDT ? u->ldtr :
                       in.cls == X86_CLS_STR ? u->tr : (uint16_t)u->cr0;
        if (is_mem(&in)) {
            if (wr(c, ea64(c, &in), &val, 2, 0))
                return EMU_FAULT;
        } else {
            set_gpr(r, x86_insn_rm(&in), in.op_size, val);
        }
        break;
    }
    case X86_CLS_LLDT: case X86_CLS_LTR: case X86_CLS_LMSW: {
        uint16_t sel;
        if (is_mem(&in)) {
            if (rd(c, ea64(c, &in), &sel, 2, 0))
                return EMU_FAULT;
        } else {
            sel = (uint16_t)*gpr(r, x86_insn_rm(&in));
        }
        if (in.cls == X86_CLS_LTR) {
            if ((rc = do_ltr(c, sel)) != EMU_OK)
                return rc;
        } else if (in.cls == X86_CLS_LLDT) {
            if (sel & ~3u)
                return unhandled(c, "lldt with a non-null selector (LDTs unsupported)");
            u->ldtr = 0;
        } else {
            /* lmsw: PE can be set, not cleared; MP/EM/TS written. */
            uint64_t cr0 = (u->cr0 & ~(X86_CR0_MP | X86_CR0_EM | X86_CR0_TS)) | (sel & 0xf) | (u->cr0 & X86_CR0_PE);
            if ((rc = write_cr(c, 0, cr0)) != EMU_OK)
                return rc;
        }
        break;
    }
    case X86_CLS_INVLPG:
        c->invlpg_va = ea64(c, &in);
        c->events |= EMU_EV_INVLPG;
        break;
    case X86_CLS_SWAPGS:
        v = u->gs_base;
        u->gs_base = u->kernel_gs_base;
        u->kernel_gs_base = v;
        c->events |= EMU_EV_SEGBASE;
        break;
    case X86_CLS_IN: case X86_CLS_OUT:
        rc = do_io(c, in.cls == X86_CLS_IN,
                   in.imm_size ? (unsigned int)in.imm : (unsigned int)(r->rdx & 0xffff),
                   in.op_size);
        if (rc != EMU_OK)
            return rc;
        break;
    case X86_CLS_RDMSR:
        if (do_rdmsr(c, (uint32_t)r->rcx, &v))
            return gp(c, 0);
        r->rax = (uint32_t)v;
        r->rdx = v >> 32;
        break;
    case X86_CLS_WRMSR:
        if (do_wrmsr(c, (uint32_t)r->rcx, (r->rdx << 32) | (uint32_t)r->rax))
            return gp(c, 0);
        break;
    case X86_CLS_IRET:
        if (in.op_size != 8)
            return unhandled(c, "iret with a 16/32-bit operand size in 64-bit mode");
        return do_iretq(c);
    case X86_CLS_SYSRET:
        if (in.op_size != 8)
            return unhandled(c, "sysretl (return to 32-bit user code)");
        if (!canonical_addr(r->rcx))
            return gp(c, 0);
        r->rip = r->rcx;
        load_rflags(c, r->r11);
        u->sel[VSEG_CS] = ((u->star >> 48) + 16) | 3;
        u->sel[VSEG_SS] = ((u->star >> 48) + 8) | 3;
        set_cs64(c, true);
        set_cpl(c, 3);
        return EMU_OK;
    case X86_CLS_WBINVD: case X86_CLS_INVD:
        break;
    case X86_CLS_CLTS:
        u->cr0 &= ~X86_CR0_TS;
        break;
    case X86_CLS_INT:
        r->rip += next;
        if ((rc = emu_deliver(c, (unsigned int)in.imm & 0xff, false, 0, true)) != EMU_OK)
            r->rip -= next;
        return rc;
    case X86_CLS_MOV_TO_SEG: {
        uint16_t sel;
        if (is_mem(&in)) {
            if (rd(c, ea64(c, &in), &sel, 2, 0))
                return EMU_FAULT;
        } else {
            sel = (uint16_t)*gpr(r, x86_insn_rm(&in));
        }
        if ((rc = load_seg(c, in.reg, sel)) != EMU_OK)
            return rc;
        break;
    }
    case X86_CLS_OTHER:
        if (in.map == X86_MAP_1B && in.opcode == 0xcb)        /* lret / lretq */
            return do_lret(c, in.op_size == 8 ? 8 : 4);
        if (in.map == X86_MAP_1B && in.opcode == 0xff && in.reg == 5 && is_mem(&in)) {
            /* ljmp m16:64 (REX.W) or m16:32 */
            unsigned int osz = in.op_size == 8 ? 8 : 4;
            uint64_t off = 0;
            uint16_t sel;
            uint64_t a = ea64(c, &in);
            if (rd(c, a, &off, osz, 0) || rd(c, a + osz, &sel, 2, 0))
                return EMU_FAULT;
            return do_ljmp(c, sel, off);
        }
        return emulate_mem_write(c, &in);
    default:
        return unhandled(c, "trapping instruction Lamina does not emulate");
    }
    (void)d;
    r->rip += next;
    return EMU_OK;
}

/* ---- 32-bit protected mode (the multiboot entry, paging off or on) --- */

/* Effective address of a 32-bit ModRM memory operand (no SIB). */
static int ea32(struct emu_ctxt *c, const uint8_t *b, unsigned int avail, unsigned int *len,
                uint64_t *a)
{
    uint8_t m = b[0];
    unsigned int mod = m >> 6, rm = m & 7;
    if (mod == 3 || rm == 4)
        return -1;
    if (mod == 0 && rm == 5) {
        if (avail < 5)
            return -1;
        uint32_t d;
        memcpy(&d, b + 1, 4);
        *a = d;
        *len = 5;
        return 0;
    }
    uint32_t base = (uint32_t)*gpr(c->regs, rm), disp = 0;
    if (mod == 1) {
        if (avail < 2)
            return -1;
        disp = (uint32_t)(int32_t)(int8_t)b[1];
        *len = 2;
    } else if (mod == 2) {
        if (avail < 5)
            return -1;
        memcpy(&disp, b + 1, 4);
        *len = 5;
    } else {
        *len = 1;
    }
    *a = (uint32_t)(base + disp);
    return 0;
}

static int emulate32(struct emu_ctxt *c, const uint8_t *b, unsigned int avail)
{
    struct cpu_regs *r = c->regs;
    struct vcpu_unmod *u = c->vu;
    unsigned int p = 0, osz = 4, len;
    uint64_t a, v;
    int rc;

    if (avail && b[0] == 0x66) {
        osz = 2;
        p = 1;
    }
    if (p >= avail)
        return unhandled(c, "truncated 32-bit instruction");
    uint8_t op = b[p];
    if (u->cpl)
        return unhandled(c, "32-bit user mode");
    switch (op) {
    case 0xfa: u->vif = false; len = 1; break;
    case 0xfb: u->vif = true; u->sti_shadow = true; len = 1; break;
    case 0xf4: c->events |= EMU_EV_HALT; len = 1; break;
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
        if (p + 1 >= avail)
            return unhandled(c, "truncated in/out");
        if ((rc = do_io(c, !(op & 2), b[p + 1], (op & 1) ? osz : 1)) != EMU_OK)
            return rc;
        len = 2;
        break;
    case 0xec: case 0xed: case 0xee: case 0xef:
        if ((rc = do_io(c, !(op & 2), r->rdx & 0xffff, (op & 1) ? osz : 1)) != EMU_OK)
            return rc;
        len = 1;
        break;
    case 0xea: {                                    /* ljmp ptr16:32 */
        if (p + 7 > avail || osz != 4)
            return unhandled(c, "truncated or 16-bit ljmp");
        uint32_t off;
        uint16_t sel;
        memcpy(&off, b + p + 1, 4);
        memcpy(&sel, b + p + 5, 2);
        return do_ljmp(c, sel, off);
    }
    case 0x8e:                                      /* mov Sreg, r/m16 */
        if (p + 1 >= avail || (b[p + 1] >> 6) != 3)
            return unhandled(c, "32-bit segment load from memory");
        if ((rc = load_seg(c, (b[p + 1] >> 3) & 7, (uint16_t)*gpr(r, b[p + 1] & 7))) != EMU_OK)
            return rc;
        len = 2;
        break;
    case 0x0f:
        if (p + 1 >= avail)
            return unhandled(c, "truncated 0F instruction");
        switch (b[p + 1]) {
        case 0x20: case 0x22:                       /* mov r32, CRn / mov CRn, r32 */
            if (p + 2 >= avail)
                return unhandled(c, "truncated mov CRn");
            {
                unsigned int crn = (b[p + 2] >> 3) & 7, gr = b[p + 2] & 7;
                if (b[p + 1] == 0x20) {
                    set_gpr(r, gr, 4, read_cr(c, crn));
                } else if ((rc = write_cr(c, crn, (uint32_t)*gpr(r, gr))) != EMU_OK) {
                    return rc;
                }
            }
            len = 3;
            break;
        case 0x30:
            if (do_wrmsr(c, (uint32_t)r->rcx, (r->rdx << 32) | (uint32_t)r->rax))
                return gp(c, 0);
            len = 2;
            break;
        case 0x32:
            if (do_rdmsr(c, (uint32_t)r->rcx, &v))
                return gp(c, 0);
            r->rax = (uint32_t)v;
            r->rdx = v >> 32;
            len = 2;
            break;
        case 0x01: {                                /* lgdt/lidt m16:32 */
            unsigned int reg = p + 2 < avail ? (b[p + 2] >> 3) & 7 : 0;
            unsigned int ml;
            uint8_t buf[6];
            if (p + 2 >= avail || (reg != 2 && reg != 3) ||
                ea32(c, b + p + 2, avail - p - 2, &ml, &a))
                return unhandled(c, "32-bit 0F 01 form");
            if (rd(c, a, buf, 6, 0))
                return EMU_FAULT;
            uint32_t base;
            memcpy(&base, buf + 2, 4);
            if (reg == 2) {
                u->gdtr_limit = buf[0] | buf[1] << 8;
                u->gdtr_base = base;
            } else {
                u->idtr_limit = buf[0] | buf[1] << 8;
                u->idtr_base = base;
            }
            len = 2 + ml;
            break;
        }
        default:
            return unhandled(c, "32-bit 0F instruction Lamina does not emulate");
        }
        break;
    default:
        return unhandled(c, "32-bit instruction Lamina does not emulate");
    }
    r->rip = (uint32_t)(r->rip + p + len);
    return EMU_OK;
}

int emulate_insn(struct emu_ctxt *c)
{
    uint8_t b[X86_MAX_INSN_LEN];
    unsigned int avail = 0;
    uint64_t rip = c->vu->cs64 ? c->regs->rip : (uint32_t)c->regs->rip;

    /* Fetch what is readable, byte-wise at a page boundary: an instruction
     * that needs bytes beyond it then reports a truncated decode, and the
     * fault is raised for the unreadable page. */
    uint64_t first = 4096 - (rip & 4095);
    if (first > sizeof(b))
        first = sizeof(b);
    if (rd(c, rip, b, (unsigned int)first, EMU_ACC_X))
        return EMU_FAULT;
    avail = (unsigned int)first;
    if (avail < sizeof(b)) {
        struct emu_fault first_fault = c->fault;
        if (!rd(c, rip + avail, b + avail, sizeof(b) - avail, EMU_ACC_X)) {
            avail = sizeof(b);
        } else {
            /* Only a fault if the instruction really needs the next page. */
            struct x86_insn tmp;
            struct emu_fault next_fault = c->fault;
            c->fault = first_fault;
            if (c->vu->cs64 && x86_decode(b, avail, &tmp) == X86_DECODE_TRUNCATED) {
                c->fault = next_fault;
                return EMU_FAULT;
            }
        }
    }
    return c->vu->cs64 ? emulate64(c, b, avail) : emulate32(c, b, avail);
}

int emu_deliver(struct emu_ctxt *c, unsigned int vec, bool has_ec, uint32_t ec, bool soft)
{
    struct cpu_regs *r = c->regs;
    struct vcpu_unmod *u = c->vu;
    uint64_t g[2], rsp;

    if (!u->cs64 || !(u->efer & X86_EFER_LMA))
        return unhandled(c, "exception or interrupt in 32-bit mode (no IDT support there)");
    if (vec * 16 + 15 > u->idtr_limit)
        return gp(c, vec * 8 + 2);
    if (rd(c, u->idtr_base + vec * 16, g, 16, EMU_ACC_SYS))
        return EMU_FAULT;
    unsigned int type = (g[0] >> 40) & 0x1f, dpl = (g[0] >> 45) & 3;
    if (type != 0xe && type != 0xf)
        return gp(c, vec * 8 + 2);
    if (soft && dpl < u->cpl)
        return gp(c, vec * 8 + 2);
    if (!(g[0] & (1UL << 47)))
        return np(c, vec * 8 + 2);
    uint16_t cs = (g[0] >> 16) & 0xffff;
    uint64_t target = (g[0] & 0xffff) | ((g[0] >> 32) & 0xffff0000UL) | (g[1] << 32);
    unsigned int ist = (g[0] >> 32) & 7;
    if ((cs & 3) != 0)
        return unhandled(c, "interrupt gate to a ring other than 0");

    if (ist) {
        if (rd(c, u->tr_base + 36 + 8 * (ist - 1), &rsp, 8, EMU_ACC_SYS))
            return EMU_FAULT;
    } else if (u->cpl != 0) {
        if (rd(c, u->tr_base + 4, &rsp, 8, EMU_ACC_SYS))
            return EMU_FAULT;
    } else {
        rsp = r->rsp;
    }
    rsp &= ~15UL;
    uint64_t frame[6];
    unsigned int n = 0;
    if (has_ec)
        frame[n++] = ec;
    frame[n++] = r->rip;
    frame[n++] = u->sel[VSEG_CS];
    frame[n++] = emu_guest_rflags(c);
    frame[n++] = r->rsp;
    frame[n++] = u->sel[VSEG_SS];
    rsp -= n * 8;
    if (wr(c, rsp, frame, n * 8, EMU_ACC_SYS))
        return EMU_FAULT;

    if (u->cpl != 0)
        u->sel[VSEG_SS] = 0;
    u->sel[VSEG_CS] = cs;
    if (type == 0xe)
        u->vif = false;
    r->rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF);
    r->rip = target;
    r->rsp = rsp;
    set_cs64(c, true);
    set_cpl(c, 0);
    return EMU_OK;
}

int emu_syscall(struct emu_ctxt *c)
{
    struct cpu_regs *r = c->regs;
    struct vcpu_unmod *u = c->vu;

    if (!(u->efer & X86_EFER_SCE) || !u->cs64) {
        r->rip -= 2;
        return ud(c);
    }
    r->rcx = r->rip;
    r->r11 = emu_guest_rflags(c);
    if (u->sfmask & X86_EFLAGS_IF)
        u->vif = false;
    r->rflags = (r->rflags & ~(uint64_t)u->sfmask) | X86_EFLAGS_IF | 2;
    r->rip = u->lstar;
    u->sel[VSEG_CS] = (u->star >> 32) & 0xfffc;
    u->sel[VSEG_SS] = ((u->star >> 32) & 0xfffc) + 8;
    set_cpl(c, 0);
    return EMU_OK;
}
