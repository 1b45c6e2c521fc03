/*
 * test_emulate.c - host unit tests (cmocka) of hypervisor/emulate.c, the
 * trap-and-emulate instruction emulator for unmodified guests (unmod.h).
 *
 * Runs on the host.  A fake guest: 16 pages of guest-virtual memory at
 * GBASE with per-page present/writable/user flags; emu_ops.read/write fail
 * with #PF (error code P/W/U/I, cr2 = the first byte that cannot be
 * accessed) as the real ops do: user accesses at virtual CPL 3 unless
 * EMU_ACC_SYS, supervisor writes honour CR0.WP (always on here), a write is
 * checked whole before any byte is stored.  Port I/O is logged.
 *
 * One table: each row places instruction bytes at a RIP, applies an
 * initial state on top of a default machine, calls emulate_insn (or
 * emu_deliver / emu_syscall), and checks the result (EMU_OK / EMU_FAULT
 * with vector, error code, cr2 / EMU_UNHANDLED), the events, and the whole
 * state after: every register, every vcpu_unmod field, every page and the
 * port log must equal the state before with exactly the row's expected
 * changes applied (RIP advanced by .adv on EMU_OK).
 *
 * Rows whose name starts with "SDM:" assert the architectural behaviour
 * where emulate.c differs from the Intel SDM; they are expected to fail
 * until emulate.c is fixed (see the comment at each).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../hypervisor/unmod/x86_decode.c"
#include "../../hypervisor/unmod/emulate.c"

/* ---- the fake guest ------------------------------------------------------ */

#define NPAGES 16
#define GBASE 0x100000UL
#define PG(i) (GBASE + (uint64_t)(i) * 4096)

/* Page roles. */
#define P_CODE  0       /* code, user */
#define P_CODE2 1       /* code continued (made absent for fetch tests) */
#define P_DATA  2       /* data, user */
#define P_PT    3       /* a guest page table, supervisor */
#define P_STK   4       /* kernel stack, supervisor */
#define P_GDT   5       /* supervisor */
#define P_IDT   6       /* supervisor */
#define P_TSS   7       /* supervisor */
#define P_KSTK  8       /* TSS.rsp0 stack, supervisor */
#define P_IST   9       /* IST1 stack, supervisor */
#define P_RO    10      /* read-only, supervisor */
#define P_SUP   11      /* supervisor-only, writable */
#define P_ABS   12      /* absent */
#define P_USTK  13      /* user stack */

#define CODE  (PG(P_CODE) + 0x100)
#define DATA  PG(P_DATA)
#define PT    PG(P_PT)
#define STK   (PG(P_STK) + 0x800)
#define GDT   PG(P_GDT)
#define IDT   PG(P_IDT)
#define TSS   PG(P_TSS)
#define RSP0  (PG(P_KSTK + 1) - 8)      /* not 16-byte aligned on purpose */
#define IST1  (PG(P_IST + 1) - 0x18)
#define HANDLER(v) (0xffffffff81000000UL + (v) * 0x10)

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u
#define PF_I 0x10u

struct iolog { bool in; unsigned int port, size; uint32_t val; };

struct fpage { bool p, w, u; uint8_t data[4096]; };

struct guest {
    struct fpage pg[NPAGES];
    struct cpu_regs regs;
    struct vcpu_unmod vu;
    struct iolog io[4];
    unsigned int nio;
};

static struct guest G, E;       /* the guest; the expected state */

static struct fpage *page_of(uint64_t va)
{
    if (va < GBASE || va >= PG(NPAGES))
        return NULL;
    return &G.pg[(va - GBASE) >> 12];
}

/* Checks one access like the hardware walk would: first failing byte. */
static int check(uint64_t va, unsigned int n, unsigned int acc, struct emu_fault *f)
{
    bool user = G.vu.cpl == 3 && !(acc & EMU_ACC_SYS);
    for (unsigned int k = 0; k < n; k++) {
        struct fpage *p = page_of(va + k);
        uint32_t ec = 0;
        if (!p || !p->p)
            ec = 0;
        else if ((user && !p->u) || ((acc & EMU_ACC_W) && !p->w))
            ec = PF_P;
        else
            continue;
        ec |= (acc & EMU_ACC_W) ? PF_W : 0;
        ec |= user ? PF_U : 0;
        ec |= (acc & EMU_ACC_X) ? PF_I : 0;
        *f = (struct emu_fault){ .vector = 14, .has_ec = true, .ec = ec, .cr2 = va + k };
        return -1;
    }
    return 0;
}

static int f_read(void *ctx, uint64_t va, void *buf, unsigned int n, unsigned int acc,
                  struct emu_fault *f)
{
    assert_ptr_equal(ctx, &G);
    assert_false(acc & EMU_ACC_W);
    if (check(va, n, acc, f))
        return -1;
    for (unsigned int k = 0; k < n; k++)
        ((uint8_t *)buf)[k] = page_of(va + k)->data[(va + k) & 4095];
    return 0;
}

static int f_write(void *ctx, uint64_t va, const void *buf, unsigned int n, unsigned int acc,
                   struct emu_fault *f)
{
    assert_ptr_equal(ctx, &G);
    assert_true(acc & EMU_ACC_W);
    assert_false(acc & EMU_ACC_X);
    if (check(va, n, acc, f))
        return -1;
    for (unsigned int k = 0; k < n; k++)
        page_of(va + k)->data[(va + k) & 4095] = ((const uint8_t *)buf)[k];
    return 0;
}

#define IN_VAL 0x89abcdefu

static uint32_t f_in(void *ctx, unsigned int port, unsigned int size)
{
    assert_ptr_equal(ctx, &G);
    assert_true(size == 1 || size == 2 || size == 4);
    uint32_t v = size == 4 ? IN_VAL : IN_VAL & ((1u << (size * 8)) - 1);
    assert_true(G.nio < 4);
    G.io[G.nio++] = (struct iolog){ true, port, size, v };
    return v;
}

static void f_out(void *ctx, unsigned int port, unsigned int size, uint32_t val)
{
    assert_ptr_equal(ctx, &G);
    assert_true(size == 1 || size == 2 || size == 4);
    assert_true(G.nio < 4);
    G.io[G.nio++] = (struct iolog){ false, port, size, val };
}

static const struct emu_ops ops = { f_read, f_write, f_in, f_out };

static void put(uint64_t va, uint64_t v, unsigned int n)
{
    for (unsigned int k = 0; k < n; k++)
        page_of(va + k)->data[(va + k) & 4095] = (uint8_t)(v >> (8 * k));
}

static uint64_t seg_desc(uint32_t base, unsigned int access, unsigned int flags)
{
    return 0xffffUL | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
           (0xfUL << 48) | ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void put_tss_desc(unsigned int sel, uint64_t base, unsigned int type)
{
    uint64_t lo = 0x67 | ((base & 0xffffff) << 16) | ((uint64_t)(0x80 | type) << 40) |
                  (((base >> 24) & 0xff) << 56);
    put(GDT + sel, lo, 8);
    put(GDT + sel + 8, base >> 32, 8);
}

static void put_gate(unsigned int vec, uint64_t off, unsigned int type, unsigned int dpl,
                     unsigned int ist, bool present)
{
    uint64_t lo = (off & 0xffff) | (0x08UL << 16) | ((uint64_t)ist << 32) |
                  ((uint64_t)type << 40) | ((uint64_t)dpl << 45) |
                  ((uint64_t)present << 47) | (((off >> 16) & 0xffff) << 48);
    put(IDT + vec * 16, lo, 8);
    put(IDT + vec * 16 + 8, off >> 32, 8);
}

/* The default machine: a 64-bit kernel at virtual CPL 0. */
static void reset(void)
{
    memset(&G, 0, sizeof(G));
    for (unsigned int i = 0; i < NPAGES; i++)
        G.pg[i] = (struct fpage){ .p = true, .w = true, .u = false };
    G.pg[P_CODE].u = G.pg[P_CODE2].u = G.pg[P_DATA].u = G.pg[P_USTK].u = true;
    G.pg[P_RO].w = false;
    G.pg[P_ABS].p = false;

    uint64_t *r = &G.regs.r15;
    (void)r;
    for (unsigned int n = 0; n < 16; n++)
        *gpr(&G.regs, n) = (uint64_t)(n + 1) * 0x1111111111111111UL;
    G.regs.rax = 0x1122334455667788UL;
    G.regs.rsp = STK;
    G.regs.rip = CODE;
    G.regs.rflags = 0x202;
    G.regs.cs = 0x33;
    G.regs.ss = 0x2b;

    struct vcpu_unmod *u = &G.vu;
    u->cpl = 0;
    u->cs64 = true;
    u->vif = true;
    u->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_WP | X86_CR0_PG;
    u->cr3 = 0x5000;
    u->cr4 = X86_CR4_PAE;
    u->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    u->star = (0x1bUL << 48) | (0x08UL << 32);
    u->lstar = 0xffffffff81800000UL;
    u->sfmask = 0x47700;
    u->gdtr_base = GDT;
    u->gdtr_limit = 0x77;
    u->idtr_base = IDT;
    u->idtr_limit = 0xfff;
    u->tr = 0x30;
    u->tr_base = TSS;
    u->sel[VSEG_CS] = 0x08;
    u->sel[VSEG_SS] = 0x10;

    /* GDT: 08 kernel code64, 10 kernel data, 20 user data, 28 user code64,
     * 18 code64 not present, 30 TSS (16 bytes), 40 busy TSS, 48 code32,
     * 50 TSS with a 64-bit base, 68 TSS (crosses a limit of 0x6f). */
    put(GDT + 0x08, seg_desc(0, 0x9a, 0xa), 8);
    put(GDT + 0x10, seg_desc(0, 0x92, 0xc), 8);
    put(GDT + 0x20, seg_desc(0, 0xf2, 0xc), 8);
    put(GDT + 0x28, seg_desc(0, 0xfa, 0xa), 8);
    put_tss_desc(0x30, TSS, 9);
    put(GDT + 0x18, seg_desc(0, 0x1a, 0xa), 8);
    put_tss_desc(0x40, TSS, 0xb);
    put(GDT + 0x48, seg_desc(0, 0x9a, 0xc), 8);
    put_tss_desc(0x50, 0xffff800012345678UL, 9);
    put_tss_desc(0x68, TSS, 9);

    /* IDT: interrupt gates (0xE) unless said. */
    put_gate(2, HANDLER(2), 0xe, 0, 1, true);
    put_gate(13, HANDLER(13), 0xf, 0, 0, true);
    put_gate(14, HANDLER(14), 0xe, 0, 0, true);
    put_gate(0x30, HANDLER(0x30), 0xe, 0, 0, false);
    put_gate(0x31, HANDLER(0x31), 0xc, 0, 0, true);
    put_gate(0x80, HANDLER(0x80), 0xe, 3, 0, true);
    put_gate(0x81, HANDLER(0x81), 0xe, 0, 0, true);
    put_gate(0x82, HANDLER(0x82), 0xf, 3, 0, true);

    /* TSS: rsp0, IST1. */
    put(TSS + 4, RSP0, 8);
    put(TSS + 36, IST1, 8);
}

/* ---- state fields ------------------------------------------------------- */

struct fdesc { const char *name; size_t off; uint8_t size; };
#define FR(n) { #n, offsetof(struct guest, regs.n), 8 }
#define FV(n) { #n, offsetof(struct guest, vu.n), sizeof(((struct vcpu_unmod *)0)->n) }
#define FS(n, i) { #n "[" #i "]", offsetof(struct guest, vu.n[i]), \
                   sizeof(((struct vcpu_unmod *)0)->n[0]) }

enum {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
    RIP, RFLAGS,
    CPL, CS64, VIF, STI_SHADOW, CR0, CR2, CR3, CR4, CR8, EFER,
    STAR, LSTAR, CSTAR, SFMASK, FS_BASE, GS_BASE, KGS_BASE,
    APIC_BASE, TSC_DEADLINE, PAT, MISC_ENABLE,
    GDTR_BASE, IDTR_BASE, GDTR_LIMIT, IDTR_LIMIT, LDTR, TR, TR_BASE,
    SEL_ES, SEL_CS, SEL_SS, SEL_DS, SEL_FS, SEL_GS,
    DR0, DR1, DR2, DR3, DR4, DR5, DR6, DR7, FAULT_DEPTH,
    NFIELDS
};

static const struct fdesc fields[NFIELDS] = {
    FR(rax), FR(rcx), FR(rdx), FR(rbx), FR(rsp), FR(rbp), FR(rsi), FR(rdi),
    FR(r8), FR(r9), FR(r10), FR(r11), FR(r12), FR(r13), FR(r14), FR(r15),
    FR(rip), FR(rflags),
    FV(cpl), FV(cs64), FV(vif), FV(sti_shadow), FV(cr0), FV(cr2), FV(cr3), FV(cr4),
    FV(cr8), FV(efer), FV(star), FV(lstar), FV(cstar), FV(sfmask), FV(fs_base),
    FV(gs_base), FV(kernel_gs_base), FV(apic_base), FV(tsc_deadline), FV(pat),
    FV(misc_enable), FV(gdtr_base), FV(idtr_base), FV(gdtr_limit), FV(idtr_limit),
    FV(ldtr), FV(tr), FV(tr_base),
    FS(sel, 0), FS(sel, 1), FS(sel, 2), FS(sel, 3), FS(sel, 4), FS(sel, 5),
    FS(dr, 0), FS(dr, 1), FS(dr, 2), FS(dr, 3), FS(dr, 4), FS(dr, 5), FS(dr, 6),
    FS(dr, 7), FV(fault_depth),
};

static uint64_t fget(const struct guest *g, unsigned int f)
{
    uint64_t v = 0;
    memcpy(&v, (const uint8_t *)g + fields[f].off, fields[f].size);
    return v;
}

static void fset(struct guest *g, unsigned int f, uint64_t v)
{
    if (fields[f].size == 1)
        v = !!v;        /* the bools */
    memcpy((uint8_t *)g + fields[f].off, &v, fields[f].size);
}

/* ---- rows ---------------------------------------------------------------- */

enum { K_END = 0, K_F, K_M, K_PG };
struct kv {
    uint8_t k;
    uint8_t n;          /* K_M: bytes */
    uint16_t f;         /* K_F: field; K_PG: page */
    uint64_t a;         /* K_M: address */
    uint64_t v;         /* value; K_PG: PGF_* bits */
};
#define F(fld, val) { K_F, 0, fld, 0, (uint64_t)(val) }
#define M8(va, val) { K_M, 1, 0, va, (uint64_t)(val) }
#define M16(va, val) { K_M, 2, 0, va, (uint64_t)(val) }
#define M32(va, val) { K_M, 4, 0, va, (uint64_t)(val) }
#define M64(va, val) { K_M, 8, 0, va, (uint64_t)(val) }
#define PGF(i, bits) { K_PG, 0, i, 0, bits }
#define PGF_P 1
#define PGF_W 2
#define PGF_U 4

enum { FN_EMU = 0, FN_DELIVER, FN_SYSCALL };

struct row {
    const char *name;
    uint8_t bytes[16];
    uint8_t n;
    uint64_t rip;               /* 0: CODE */
    struct kv pre[10];
    int fn;
    unsigned int vec; bool has_ec; uint32_t dec; bool soft;    /* FN_DELIVER */
    int rc;
    uint8_t fvec; bool fhas_ec; uint32_t fec; uint64_t cr2;   /* rc == EMU_FAULT */
    unsigned int adv;           /* rip advance on EMU_OK (unless post sets RIP) */
    unsigned int ev;
    uint64_t invlpg_va;
    struct kv post[14];
    struct iolog io[2];
    unsigned int nio;
    uint64_t anyb;              /* a byte whose value after is not checked (0: none) */
};

#define B(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define OK(a) .rc = EMU_OK, .adv = (a)
#define GP(e) .rc = EMU_FAULT, .fvec = 13, .fhas_ec = true, .fec = (e)
#define NP(e) .rc = EMU_FAULT, .fvec = 11, .fhas_ec = true, .fec = (e)
#define UD .rc = EMU_FAULT, .fvec = 6
#define PF(e, a) .rc = EMU_FAULT, .fvec = 14, .fhas_ec = true, .fec = (e), .cr2 = (a)
#define UNH .rc = EMU_UNHANDLED
#define CPL3 F(CPL, 3)
#define IO(i, p, s, v) { i, p, s, v }
#define LE32(x) (uint8_t)(x), (uint8_t)((x) >> 8), (uint8_t)((x) >> 16), (uint8_t)((x) >> 24)

#define RAXV 0x1122334455667788UL
#define RV(n) ((uint64_t)((n) + 1) * 0x1111111111111111UL)
#define CR0V (X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_WP | X86_CR0_PG)
#define EFERV 0xd01UL
#define MSR(m) F(RCX, m)
/* 32-bit multiboot entry state. */
#define MB32 F(CS64, 0), F(CR0, 0x11), F(EFER, 0), F(CR4, 0)

static const struct row rows[] = {
    /* ---- cli / sti / hlt ---- */
    { "cli", B(0xfa), OK(1), .post = { F(VIF, 0) } },
    { "sti", B(0xfb, 0x90), .pre = { F(VIF, 0) }, OK(1),
      .post = { F(VIF, 1), F(STI_SHADOW, 1) } },
    /* The shadow ends with the hlt it covered: a pending interrupt is then
     * taken (a kept shadow made an idle loop spin with it never delivered). */
    { "sti; hlt as one", B(0xfb, 0xf4), .pre = { F(VIF, 0) }, OK(2), .ev = EMU_EV_HALT,
      .post = { F(VIF, 1), F(STI_SHADOW, 0) } },
    { "hlt", B(0xf4), OK(1), .ev = EMU_EV_HALT },
    { "cli at CPL 3", B(0xfa), .pre = { CPL3 }, GP(0) },
    { "sti at CPL 3", B(0xfb), .pre = { CPL3, F(VIF, 0) }, GP(0) },
    { "hlt at CPL 3", B(0xf4), .pre = { CPL3 }, GP(0) },
    { "sti; hlt at CPL 3", B(0xfb, 0xf4), .pre = { CPL3, F(VIF, 0) }, GP(0) },

    /* ---- mov to/from CRn ---- */
    { "mov %rax,%cr3", B(0x0f, 0x22, 0xd8), .pre = { F(RAX, 0x7000) }, OK(3),
      .ev = EMU_EV_CR3, .post = { F(CR3, 0x7000) } },
    { "mov %r9,%cr3", B(0x41, 0x0f, 0x22, 0xd9), .pre = { F(R9, 0x12345000) }, OK(4),
      .ev = EMU_EV_CR3, .post = { F(CR3, 0x12345000) } },
    { "mov %cr3,%rax", B(0x0f, 0x20, 0xd8), OK(3), .post = { F(RAX, 0x5000) } },
    { "mov %cr3,%r15", B(0x41, 0x0f, 0x20, 0xdf), OK(4), .post = { F(R15, 0x5000) } },
    { "mov %cr8,%rax", B(0x44, 0x0f, 0x20, 0xc0), .pre = { F(CR8, 5) }, OK(4),
      .post = { F(RAX, 5) } },
    { "mov %rax,%cr8", B(0x44, 0x0f, 0x22, 0xc0), .pre = { F(RAX, 9) }, OK(4),
      .post = { F(CR8, 9) } },
    { "mov %r8,%cr8", B(0x45, 0x0f, 0x22, 0xc0), .pre = { F(R8, 2) }, OK(4),
      .post = { F(CR8, 2) } },
    { "mov %cr2,%r10", B(0x41, 0x0f, 0x20, 0xd2), .pre = { F(CR2, 0xdead000) }, OK(4),
      .post = { F(R10, 0xdead000) } },
    { "mov %rbx,%cr2", B(0x0f, 0x22, 0xd3), OK(3), .post = { F(CR2, RV(3)) } },
    { "mov %cr0,%rcx", B(0x0f, 0x20, 0xc1), OK(3), .post = { F(RCX, CR0V) } },
    { "mov %cr4,%rdx", B(0x0f, 0x20, 0xe2), OK(3), .post = { F(RDX, X86_CR4_PAE) } },
    { "mov %rax,%cr4 (PAE|PGE)", B(0x0f, 0x22, 0xe0), .pre = { F(RAX, 0xa0) }, OK(3),
      .ev = EMU_EV_PAGING, .post = { F(CR4, 0xa0) } },
    { "mov %rax,%cr4 clearing PAE in long mode", B(0x0f, 0x22, 0xe0),
      .pre = { F(RAX, 0x80) }, GP(0) },
    { "mov %rax,%cr0 toggling WP", B(0x0f, 0x22, 0xc0),
      .pre = { F(RAX, CR0V & ~X86_CR0_WP) }, OK(3), .ev = EMU_EV_PAGING,
      .post = { F(CR0, CR0V & ~X86_CR0_WP) } },
    { "mov %rax,%cr0 with bit 32", B(0x0f, 0x22, 0xc0),
      .pre = { F(RAX, CR0V | (1UL << 32)) }, GP(0) },
    { "mov %rax,%cr3 at CPL 3", B(0x0f, 0x22, 0xd8), .pre = { CPL3 }, GP(0) },
    { "mov %cr0,%rax at CPL 3", B(0x0f, 0x20, 0xc0), .pre = { CPL3 }, GP(0) },
    { "mov %rax,%cr1 (#UD)", B(0x0f, 0x22, 0xc8), UD },
    { "mov %cr5,%rax (#UD)", B(0x0f, 0x20, 0xe8), UD },
    { "mov %rax,%cr9 (#UD)", B(0x44, 0x0f, 0x22, 0xc8), UD },
    { "mov %cr12,%rax (#UD)", B(0x44, 0x0f, 0x20, 0xe0), UD },
    { "clts", B(0x0f, 0x06), .pre = { F(CR0, CR0V | X86_CR0_TS) }, OK(2),
      .post = { F(CR0, CR0V) } },
    { "clts at CPL 3", B(0x0f, 0x06), .pre = { CPL3, F(CR0, CR0V | X86_CR0_TS) }, GP(0) },
    { "mov %rax,%db7", B(0x0f, 0x23, 0xf8), .pre = { F(RAX, 0x400) }, OK(3),
      .post = { F(DR7, 0x400) } },
    { "mov %db6,%r11", B(0x41, 0x0f, 0x21, 0xf3), .pre = { F(DR6, 0xffff0ff0) }, OK(4),
      .post = { F(R11, 0xffff0ff0) } },
    /* 32-bit entry: enabling paging. */
    { "32: mov %eax,%cr0 PG on with LME+PAE", B(0x0f, 0x22, 0xc0),
      .pre = { MB32, F(EFER, X86_EFER_LME), F(CR4, X86_CR4_PAE), F(RAX, 0x80000011) },
      OK(3), .ev = EMU_EV_PAGING,
      .post = { F(CR0, 0x80000011), F(EFER, X86_EFER_LME | X86_EFER_LMA) } },
    { "32: mov %eax,%cr0 PG on without LME", B(0x0f, 0x22, 0xc0),
      .pre = { MB32, F(CR4, X86_CR4_PAE), F(RAX, 0x80000011) }, UNH },
    /* SDM: MOV CR0 "#GP(0) if an attempt is made to set CR0.PG when
     * IA32_EFER.LME = 1 and CR4.PAE = 0" (vol. 2 MOV-Move to/from Control
     * Registers, vol. 3 9.8.5).  emulate.c write_cr() returns EMU_UNHANDLED
     * (the domain is crashed) instead. */
    { "SDM: 32: mov %eax,%cr0 PG on with LME, PAE clear -> #GP(0)", B(0x0f, 0x22, 0xc0),
      .pre = { MB32, F(EFER, X86_EFER_LME), F(RAX, 0x80000011) }, GP(0) },

    /* ---- descriptor tables ---- */
    { "lgdt (%rax)", B(0x0f, 0x01, 0x10),
      .pre = { F(RAX, DATA), M16(DATA, 0x7f), M64(DATA + 2, 0xffff800000001000UL) }, OK(3),
      .post = { F(GDTR_LIMIT, 0x7f), F(GDTR_BASE, 0xffff800000001000UL) } },
    { "lidt 0x100(%rip)", B(0x0f, 0x01, 0x1d, 0x00, 0x01, 0x00, 0x00),
      .pre = { M16(CODE + 7 + 0x100, 0x1ff), M64(CODE + 9 + 0x100, 0x123000) }, OK(7),
      .post = { F(IDTR_LIMIT, 0x1ff), F(IDTR_BASE, 0x123000) } },
    { "lgdt 0x10(%rbx,%rcx,4)", B(0x0f, 0x01, 0x54, 0x8b, 0x10),
      .pre = { F(RBX, DATA), F(RCX, 4), M16(DATA + 0x20, 0x37), M64(DATA + 0x22, 0x9000) },
      OK(5), .post = { F(GDTR_LIMIT, 0x37), F(GDTR_BASE, 0x9000) } },
    { "lidt 8(%r12,%r13) (REX.XB)", B(0x43, 0x0f, 0x01, 0x5c, 0x2c, 0x08),
      .pre = { F(R12, DATA), F(R13, 0x40), M16(DATA + 0x48, 0xfff),
               M64(DATA + 0x4a, 0xffffffff82000000UL) }, OK(6),
      .post = { F(IDTR_LIMIT, 0xfff), F(IDTR_BASE, 0xffffffff82000000UL) } },
    { "lgdt at CPL 3", B(0x0f, 0x01, 0x10), .pre = { CPL3, F(RAX, DATA) }, GP(0) },
    { "lidt from an absent page", B(0x0f, 0x01, 0x18), .pre = { F(RAX, PG(P_ABS) + 8) },
      PF(0, PG(P_ABS) + 8) },
    { "sgdt (%rdi)", B(0x0f, 0x01, 0x07), .pre = { F(RDI, DATA) }, OK(3),
      .post = { M16(DATA, 0x77), M64(DATA + 2, GDT) } },
    { "sidt 0x10(%rdi)", B(0x0f, 0x01, 0x4f, 0x10), .pre = { F(RDI, DATA) }, OK(4),
      .post = { M16(DATA + 0x10, 0xfff), M64(DATA + 0x12, IDT) } },
    { "sgdt at CPL 3 (UMIP)", B(0x0f, 0x01, 0x07), .pre = { CPL3, F(RDI, DATA) }, GP(0) },
    { "sidt at CPL 3 (UMIP)", B(0x0f, 0x01, 0x0f), .pre = { CPL3, F(RDI, DATA) }, GP(0) },
    { "sgdt to a read-only page", B(0x0f, 0x01, 0x07), .pre = { F(RDI, PG(P_RO)) },
      PF(PF_P | PF_W, PG(P_RO)) },
    { "smsw %eax", B(0x0f, 0x01, 0xe0), OK(3), .post = { F(RAX, CR0V & 0xffff) } },
    { "smsw %ax (merge)", B(0x66, 0x0f, 0x01, 0xe0), OK(4),
      .post = { F(RAX, (RAXV & ~0xffffUL) | (CR0V & 0xffff)) } },
    { "smsw (%rdi)", B(0x0f, 0x01, 0x27), .pre = { F(RDI, DATA), M32(DATA, 0xffffffff) },
      OK(3), .post = { M32(DATA, 0xffff0000 | (CR0V & 0xffff)) } },
    { "smsw at CPL 3", B(0x0f, 0x01, 0xe0), .pre = { CPL3 }, GP(0) },
    { "str %eax", B(0x0f, 0x00, 0xc8), OK(3), .post = { F(RAX, 0x30) } },
    { "str at CPL 3", B(0x0f, 0x00, 0xc8), .pre = { CPL3 }, GP(0) },
    { "sldt (%rdi)", B(0x0f, 0x00, 0x07), .pre = { F(RDI, DATA), M16(DATA, 0xffff) },
      OK(3), .post = { M16(DATA, 0) } },
    { "sldt at CPL 3", B(0x0f, 0x00, 0x07), .pre = { CPL3, F(RDI, DATA) }, GP(0) },
    /* The busy bit (descriptor byte 5) is checked by the SDM row below. */
    { "ltr %ax", B(0x0f, 0x00, 0xd8), .pre = { F(TR, 0), F(TR_BASE, 0), F(RAX, 0x50) },
      OK(3), .post = { F(TR, 0x50), F(TR_BASE, 0xffff800012345678UL) }, .anyb = GDT + 0x55 },
    { "ltr (%rdi)", B(0x0f, 0x00, 0x1f),
      .pre = { F(TR, 0), F(TR_BASE, 0), F(RDI, DATA), M16(DATA, 0x30) },
      OK(3), .post = { F(TR, 0x30), F(TR_BASE, TSS) }, .anyb = GDT + 0x35 },
    { "ltr busy TSS (bad type) -> #GP(sel)", B(0x0f, 0x00, 0xd8), .pre = { F(RAX, 0x40) },
      GP(0x40) },
    { "ltr code segment -> #GP(sel)", B(0x0f, 0x00, 0xd8), .pre = { F(RAX, 0x08) },
      GP(0x08) },
    { "ltr null -> #GP(0)", B(0x0f, 0x00, 0xd8), .pre = { F(RAX, 0) }, GP(0) },
    { "ltr beyond the GDT limit", B(0x0f, 0x00, 0xd8), .pre = { F(RAX, 0x78) }, GP(0x78) },
    { "ltr at CPL 3", B(0x0f, 0x00, 0xd8), .pre = { CPL3, F(RAX, 0x30) }, GP(0) },
    /* SDM: LTR "#GP(selector) if the source selector points to a segment
     * that is not a TSS or ... beyond the GDT limit"; in IA-32e mode the
     * descriptor is 16 bytes (vol. 3 7.2.3), all of it must lie within the
     * limit.  emulate.c do_ltr() checks (sel | 15) > limit, which for a
     * selector with bit 3 set (0x68) covers only 8 bytes of the 16. */
    { "SDM: ltr whose 16-byte descriptor crosses the GDT limit", B(0x0f, 0x00, 0xd8),
      .pre = { F(RAX, 0x68), F(GDTR_LIMIT, 0x6f) }, GP(0x68) },
    /* SDM: LTR "the processor ... marks the TSS descriptor busy" (type 9 ->
     * 0xB in the GDT).  emulate.c do_ltr() does not write it back, so a
     * second ltr of the same selector succeeds where hardware #GPs. */
    { "SDM: ltr marks the TSS descriptor busy", B(0x0f, 0x00, 0xd8),
      .pre = { F(TR, 0), F(RAX, 0x68) }, OK(3),
      .post = { F(TR, 0x68), F(TR_BASE, TSS), M8(GDT + 0x68 + 5, 0x8b) } },
    { "lldt %ax (null)", B(0x0f, 0x00, 0xd0), .pre = { F(RAX, 0), F(LDTR, 0x48) }, OK(3),
      .post = { F(LDTR, 0) } },
    { "lldt non-null (no LDTs)", B(0x0f, 0x00, 0xd0), .pre = { F(RAX, 0x48) }, UNH },
    { "lldt at CPL 3", B(0x0f, 0x00, 0xd0), .pre = { CPL3, F(RAX, 0) }, GP(0) },
    { "mov %eax,%ds", B(0x8e, 0xd8), .pre = { F(RAX, 0x10) }, OK(2),
      .post = { F(SEL_DS, 0x10) } },

    /* ---- port I/O ---- */
    { "in $0x71,%al", B(0xe4, 0x71), OK(2),
      .post = { F(RAX, (RAXV & ~0xffUL) | (IN_VAL & 0xff)) },
      .io = { IO(true, 0x71, 1, IN_VAL & 0xff) }, .nio = 1 },
    { "in $0x60,%ax", B(0x66, 0xe5, 0x60), OK(3),
      .post = { F(RAX, (RAXV & ~0xffffUL) | (IN_VAL & 0xffff)) },
      .io = { IO(true, 0x60, 2, IN_VAL & 0xffff) }, .nio = 1 },
    { "in $0x40,%eax (zero-extends)", B(0xe5, 0x40), OK(2), .post = { F(RAX, IN_VAL) },
      .io = { IO(true, 0x40, 4, IN_VAL) }, .nio = 1 },
    { "in (%dx),%al", B(0xec), .pre = { F(RDX, 0xffffffff000003fdUL) }, OK(1),
      .post = { F(RAX, (RAXV & ~0xffUL) | (IN_VAL & 0xff)) },
      .io = { IO(true, 0x3fd, 1, IN_VAL & 0xff) }, .nio = 1 },
    { "in (%dx),%ax", B(0x66, 0xed), .pre = { F(RDX, 0x1f0) }, OK(2),
      .post = { F(RAX, (RAXV & ~0xffffUL) | (IN_VAL & 0xffff)) },
      .io = { IO(true, 0x1f0, 2, IN_VAL & 0xffff) }, .nio = 1 },
    { "in (%dx),%eax", B(0xed), .pre = { F(RDX, 0xcfc) }, OK(1),
      .post = { F(RAX, IN_VAL) }, .io = { IO(true, 0xcfc, 4, IN_VAL) }, .nio = 1 },
    { "rex.w in (%dx),%eax (REX.W ignored)", B(0x48, 0xed), .pre = { F(RDX, 0xcfc) }, OK(2),
      .post = { F(RAX, IN_VAL) }, .io = { IO(true, 0xcfc, 4, IN_VAL) }, .nio = 1 },
    { "out %al,$0x80", B(0xe6, 0x80), OK(2), .io = { IO(false, 0x80, 1, 0x88) }, .nio = 1 },
    { "out %ax,$0x70", B(0x66, 0xe7, 0x70), OK(3),
      .io = { IO(false, 0x70, 2, 0x7788) }, .nio = 1 },
    { "out %al,(%dx)", B(0xee), .pre = { F(RDX, 0x3f8), F(RAX, 0x41) }, OK(1),
      .io = { IO(false, 0x3f8, 1, 0x41) }, .nio = 1 },
    { "out %ax,(%dx)", B(0x66, 0xef), .pre = { F(RDX, 0x1f0) }, OK(2),
      .io = { IO(false, 0x1f0, 2, 0x7788) }, .nio = 1 },
    { "out %eax,(%dx)", B(0xef), .pre = { F(RDX, 0xcf8) }, OK(1),
      .io = { IO(false, 0xcf8, 4, 0x55667788) }, .nio = 1 },
    { "in at CPL 3", B(0xec), .pre = { CPL3, F(RDX, 0x3f8) }, GP(0) },
    { "out at CPL 3", B(0xe6, 0x80), .pre = { CPL3 }, GP(0) },

    /* ---- rdmsr / wrmsr ---- */
    { "rdmsr EFER", B(0x0f, 0x32), .pre = { MSR(0xc0000080) }, OK(2),
      .post = { F(RAX, EFERV), F(RDX, 0) } },
    { "wrmsr EFER clearing SCE", B(0x0f, 0x30),
      .pre = { MSR(0xc0000080), F(RAX, EFERV & ~1UL), F(RDX, 0) }, OK(2),
      .post = { F(EFER, EFERV & ~1UL) } },
    { "wrmsr EFER: LMA is read-only", B(0x0f, 0x30),
      .pre = { MSR(0xc0000080), F(RAX, EFERV & ~X86_EFER_LMA), F(RDX, 0) }, OK(2) },
    { "wrmsr EFER toggling NXE", B(0x0f, 0x30),
      .pre = { MSR(0xc0000080), F(RAX, EFERV & ~X86_EFER_NXE), F(RDX, 0) }, OK(2),
      .ev = EMU_EV_PAGING, .post = { F(EFER, EFERV & ~X86_EFER_NXE) } },
    { "wrmsr EFER reserved bit", B(0x0f, 0x30),
      .pre = { MSR(0xc0000080), F(RAX, EFERV | 2), F(RDX, 0) }, GP(0) },
    { "wrmsr EFER clearing LME with paging on", B(0x0f, 0x30),
      .pre = { MSR(0xc0000080), F(RAX, EFERV & ~X86_EFER_LME), F(RDX, 0) }, GP(0) },
    { "wrmsr STAR", B(0x0f, 0x30),
      .pre = { MSR(0xc0000081), F(RAX, 0), F(RDX, 0x00230010) }, OK(2),
      .post = { F(STAR, 0x0023001000000000UL) } },
    { "wrmsr LSTAR", B(0x0f, 0x30),
      .pre = { MSR(0xc0000082), F(RAX, 0x81000000), F(RDX, 0xffffffff) }, OK(2),
      .post = { F(LSTAR, 0xffffffff81000000UL) } },
    { "wrmsr LSTAR non-canonical", B(0x0f, 0x30),
      .pre = { MSR(0xc0000082), F(RAX, 0), F(RDX, 0x8000) }, GP(0) },
    { "rdmsr LSTAR", B(0x0f, 0x32), .pre = { MSR(0xc0000082) }, OK(2),
      .post = { F(RAX, 0x81800000), F(RDX, 0xffffffff) } },
    { "wrmsr SFMASK", B(0x0f, 0x30),
      .pre = { MSR(0xc0000084), F(RAX, 0x257fd5), F(RDX, 0) }, OK(2),
      .post = { F(SFMASK, 0x257fd5) } },
    { "rdmsr SFMASK", B(0x0f, 0x32), .pre = { MSR(0xc0000084) }, OK(2),
      .post = { F(RAX, 0x47700), F(RDX, 0) } },
    { "wrmsr FS_BASE", B(0x0f, 0x30),
      .pre = { MSR(0xc0000100), F(RAX, 0x12340000), F(RDX, 0x7fff) }, OK(2),
      .ev = EMU_EV_SEGBASE, .post = { F(FS_BASE, 0x00007fff12340000UL) } },
    { "wrmsr GS_BASE", B(0x0f, 0x30),
      .pre = { MSR(0xc0000101), F(RAX, 0x81000000), F(RDX, 0xffff8880) }, OK(2),
      .ev = EMU_EV_SEGBASE, .post = { F(GS_BASE, 0xffff888081000000UL) } },
    { "wrmsr KERNEL_GS_BASE", B(0x0f, 0x30),
      .pre = { MSR(0xc0000102), F(RAX, 0x1000), F(RDX, 0) }, OK(2),
      .ev = EMU_EV_SEGBASE, .post = { F(KGS_BASE, 0x1000) } },
    { "wrmsr KERNEL_GS_BASE non-canonical", B(0x0f, 0x30),
      .pre = { MSR(0xc0000102), F(RAX, 0), F(RDX, 0x12345678) }, GP(0) },
    { "rdmsr KERNEL_GS_BASE", B(0x0f, 0x32),
      .pre = { MSR(0xc0000102), F(KGS_BASE, 0xffff888012345678UL) }, OK(2),
      .post = { F(RAX, 0x12345678), F(RDX, 0xffff8880) } },
    { "rdmsr unknown MSR", B(0x0f, 0x32), .pre = { MSR(0x12345) }, GP(0) },
    { "wrmsr unknown MSR", B(0x0f, 0x30), .pre = { MSR(0xc0010000) }, GP(0) },
    { "rdmsr at CPL 3", B(0x0f, 0x32), .pre = { CPL3, MSR(0xc0000080) }, GP(0) },
    { "wrmsr at CPL 3", B(0x0f, 0x30),
      .pre = { CPL3, MSR(0xc0000082), F(RAX, 0), F(RDX, 0) }, GP(0) },

    /* ---- invlpg, swapgs, wbinvd ---- */
    { "invlpg (%rax)", B(0x0f, 0x01, 0x38), .pre = { F(RAX, 0x70001234) }, OK(3),
      .ev = EMU_EV_INVLPG, .invlpg_va = 0x70001234 },
    { "invlpg %gs:8(%rbx)", B(0x65, 0x0f, 0x01, 0x7b, 0x08),
      .pre = { F(RBX, 0x1000), F(GS_BASE, 0xffff888000000000UL) }, OK(5),
      .ev = EMU_EV_INVLPG, .invlpg_va = 0xffff888000001008UL },
    { "invlpg 0x10(%r8,%r9,8)", B(0x43, 0x0f, 0x01, 0x7c, 0xc8, 0x10),
      .pre = { F(R8, 0x400000), F(R9, 0x200) }, OK(6),
      .ev = EMU_EV_INVLPG, .invlpg_va = 0x401010 },
    { "invlpg at CPL 3", B(0x0f, 0x01, 0x38), .pre = { CPL3 }, GP(0) },
    { "swapgs", B(0x0f, 0x01, 0xf8), .pre = { F(GS_BASE, 0x1000), F(KGS_BASE, 0x2000) },
      OK(3), .ev = EMU_EV_SEGBASE, .post = { F(GS_BASE, 0x2000), F(KGS_BASE, 0x1000) } },
    { "swapgs at CPL 3", B(0x0f, 0x01, 0xf8), .pre = { CPL3, F(KGS_BASE, 0x2000) }, GP(0) },
    { "wbinvd", B(0x0f, 0x09), OK(2) },
    { "invd", B(0x0f, 0x08), OK(2) },
    { "wbinvd at CPL 3", B(0x0f, 0x09), .pre = { CPL3 }, GP(0) },

    /* ---- iretq / sysretq / lretq / int ---- */
    { "iretq to CPL 0", B(0x48, 0xcf),
      .pre = { F(VIF, 0), M64(STK, CODE + 0x500), M64(STK + 8, 0x08), M64(STK + 16, 0x246),
               M64(STK + 24, STK + 0x100), M64(STK + 32, 0x10) }, OK(0),
      .post = { F(RIP, CODE + 0x500), F(RSP, STK + 0x100), F(RFLAGS, 0x246), F(VIF, 1) } },
    { "iretq to CPL 3 (IF=0, IOPL=3 popped)", B(0x48, 0xcf),
      .pre = { M64(STK, 0x400000), M64(STK + 8, 0x2b), M64(STK + 16, 0x3093),
               M64(STK + 24, 0x7ffff000), M64(STK + 32, 0x23) }, OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, 0x400000), F(RSP, 0x7ffff000), F(RFLAGS, 0x293), F(VIF, 0),
                F(CPL, 3), F(SEL_CS, 0x2b), F(SEL_SS, 0x23) } },
    { "iretq to 32-bit code at CPL 0", B(0x48, 0xcf),
      .pre = { M64(STK, 0x1000), M64(STK + 8, 0x48), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x10) }, OK(0), .ev = EMU_EV_MODE,
      .post = { F(RIP, 0x1000), F(RSP, 0x2000), F(CS64, 0), F(SEL_CS, 0x48) } },
    { "iretq to a data segment -> #GP(sel)", B(0x48, 0xcf),
      .pre = { M64(STK, 0x1000), M64(STK + 8, 0x10), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x10) }, GP(0x10) },
    { "iretq RPL 3 to a DPL 0 code segment -> #GP(sel)", B(0x48, 0xcf),
      .pre = { M64(STK, 0x1000), M64(STK + 8, 0x0b), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x23) }, GP(0x08) },
    { "iretq beyond the GDT limit -> #GP(sel)", B(0x48, 0xcf),
      .pre = { M64(STK, 0x1000), M64(STK + 8, 0x7b), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x23) }, GP(0x78) },
    { "iretq to a non-canonical RIP", B(0x48, 0xcf),
      .pre = { M64(STK, 0x0000800000000000UL), M64(STK + 8, 0x2b), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x23) }, GP(0) },
    /* SDM: IRET "#NP(selector) if the return code segment is not present"
     * (vol. 2 IRET, protected-mode exceptions); emulate.c do_iretq() gives
     * #GP(selector) for a not-present CS. */
    { "SDM: iretq to a not-present CS -> #NP(sel)", B(0x48, 0xcf),
      .pre = { M64(STK, 0x1000), M64(STK + 8, 0x18), M64(STK + 16, 0x202),
               M64(STK + 24, 0x2000), M64(STK + 32, 0x10) }, NP(0x18) },
    { "iretq with the stack page absent", B(0x48, 0xcf),
      .pre = { F(RSP, PG(P_ABS) + 0x10) }, PF(0, PG(P_ABS) + 0x10) },
    { "iretq with the frame running into an absent page", B(0x48, 0xcf),
      .pre = { F(RSP, PG(P_ABS) - 0x10) }, PF(0, PG(P_ABS)) },
    { "iretq at CPL 3", B(0x48, 0xcf), .pre = { CPL3 }, GP(0) },
    { "iretd (no REX.W)", B(0xcf), UNH },
    { "sysretq", B(0x48, 0x0f, 0x07),
      .pre = { F(RCX, 0x400123), F(R11, 0x246), F(VIF, 0) }, OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, 0x400123), F(RFLAGS, 0x246), F(VIF, 1), F(CPL, 3),
                F(SEL_CS, 0x2b), F(SEL_SS, 0x23) } },
    { "sysretq with R11.IF clear", B(0x48, 0x0f, 0x07),
      .pre = { F(RCX, 0x400123), F(R11, 0xc3) }, OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, 0x400123), F(RFLAGS, 0x2c3), F(VIF, 0), F(CPL, 3),
                F(SEL_CS, 0x2b), F(SEL_SS, 0x23) } },
    { "sysretq to a non-canonical RCX", B(0x48, 0x0f, 0x07),
      .pre = { F(RCX, 0x0000800000000000UL), F(R11, 0x202) }, GP(0) },
    { "sysretq at CPL 3", B(0x48, 0x0f, 0x07), .pre = { CPL3, F(RCX, 0x400000) }, GP(0) },
    { "sysretl", B(0x0f, 0x07), .pre = { F(RCX, 0x400000) }, UNH },
    { "lretq to 0x08", B(0x48, 0xcb),
      .pre = { M64(STK, 0xffffffff81001234UL), M64(STK + 8, 0x08) }, OK(0),
      .post = { F(RIP, 0xffffffff81001234UL), F(RSP, STK + 16) } },
    { "lretq to 32-bit code (0x48)", B(0x48, 0xcb),
      .pre = { M64(STK, 0xffffffff00001234UL), M64(STK + 8, 0x48) }, OK(0), .ev = EMU_EV_MODE,
      .post = { F(RIP, 0x1234), F(RSP, STK + 16), F(CS64, 0), F(SEL_CS, 0x48) } },
    { "lretq to a data segment", B(0x48, 0xcb),
      .pre = { M64(STK, 0x1234), M64(STK + 8, 0x10) }, GP(0x10) },
    { "lretq to CPL 3 (outer ring)", B(0x48, 0xcb),
      .pre = { M64(STK, 0x1234), M64(STK + 8, 0x2b) }, UNH },
    { "int $0x80 from CPL 3 (DPL 3 interrupt gate)", B(0xcd, 0x80),
      .pre = { CPL3, F(RSP, 0x7ffff008), F(SEL_CS, 0x2b), F(SEL_SS, 0x23), F(RFLAGS, 0x297) },
      OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, HANDLER(0x80)), F(RSP, RSP0 - 8 - 40), F(CPL, 0), F(VIF, 0),
                F(SEL_CS, 0x08), F(SEL_SS, 0),
                M64(RSP0 - 8 - 40, CODE + 2), M64(RSP0 - 8 - 32, 0x2b),
                M64(RSP0 - 8 - 24, 0x297), M64(RSP0 - 8 - 16, 0x7ffff008),
                M64(RSP0 - 8 - 8, 0x23) } },
    { "int $0x82 from CPL 0 (trap gate, same stack)", B(0xcd, 0x82),
      .pre = { F(RSP, STK + 8) }, OK(0),
      .post = { F(RIP, HANDLER(0x82)), F(RSP, STK - 40),
                M64(STK - 40, CODE + 2), M64(STK - 32, 0x08), M64(STK - 24, 0x202),
                M64(STK - 16, STK + 8), M64(STK - 8, 0x10) } },
    /* SDM: a fault raised while delivering INT n is reported with the RIP of
     * the INT instruction (vol. 3 6.5 "faults ... the return address points
     * to the faulting instruction"); unmod.h: EMU_FAULT means "rip not
     * advanced".  emulate.c emulate64() X86_CLS_INT adds the length to
     * r->rip before emu_deliver() and leaves it advanced on failure. */
    { "SDM: int $0x81 from CPL 3 (DPL 0 gate) -> #GP(0x81*8+2), rip kept", B(0xcd, 0x81),
      .pre = { CPL3 }, GP(0x81 * 8 + 2) },

    /* ---- emu_deliver ---- */
    { "deliver #PF from CPL 3 (interrupt gate, rsp0)", .fn = FN_DELIVER,
      .vec = 14, .has_ec = true, .dec = 6,
      .pre = { CPL3, F(RIP, 0x400100), F(RSP, 0x7ffff008), F(SEL_CS, 0x2b), F(SEL_SS, 0x23),
               F(RFLAGS, 0x10302) }, OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, HANDLER(14)), F(RSP, RSP0 - 8 - 48), F(CPL, 0), F(VIF, 0),
                F(SEL_CS, 0x08), F(SEL_SS, 0), F(RFLAGS, 0x202),
                M64(RSP0 - 8 - 48, 6), M64(RSP0 - 8 - 40, 0x400100), M64(RSP0 - 8 - 32, 0x2b),
                M64(RSP0 - 8 - 24, 0x10302), M64(RSP0 - 8 - 16, 0x7ffff008),
                M64(RSP0 - 8 - 8, 0x23) } },
    { "deliver #GP at CPL 0 (trap gate: vif kept, same stack aligned)", .fn = FN_DELIVER,
      .vec = 13, .has_ec = true, .dec = 0x10,
      .pre = { F(RSP, STK + 8), F(RIP, 0xffffffff81000123UL) }, OK(0),
      .post = { F(RIP, HANDLER(13)), F(RSP, STK - 48),
                M64(STK - 48, 0x10), M64(STK - 40, 0xffffffff81000123UL), M64(STK - 32, 0x08),
                M64(STK - 24, 0x202), M64(STK - 16, STK + 8), M64(STK - 8, 0x10) } },
    { "deliver NMI at CPL 0 on IST1", .fn = FN_DELIVER, .vec = 2,
      .pre = { F(VIF, 0) }, OK(0),
      .post = { F(RIP, HANDLER(2)), F(RSP, IST1 - 8 - 40),
                M64(IST1 - 8 - 40, CODE), M64(IST1 - 8 - 32, 0x08), M64(IST1 - 8 - 24, 0x002),
                M64(IST1 - 8 - 16, STK), M64(IST1 - 8 - 8, 0x10) } },
    { "deliver an interrupt from CPL 3 on IST1", .fn = FN_DELIVER, .vec = 2,
      .pre = { CPL3, F(RIP, 0x400000), F(RSP, 0x7fff0000), F(SEL_CS, 0x2b), F(SEL_SS, 0x23) },
      OK(0), .ev = EMU_EV_CPL,
      .post = { F(RIP, HANDLER(2)), F(RSP, IST1 - 8 - 40), F(CPL, 0), F(VIF, 0),
                F(SEL_CS, 0x08), F(SEL_SS, 0),
                M64(IST1 - 8 - 40, 0x400000), M64(IST1 - 8 - 32, 0x2b),
                M64(IST1 - 8 - 24, 0x202), M64(IST1 - 8 - 16, 0x7fff0000),
                M64(IST1 - 8 - 8, 0x23) } },
    { "deliver beyond the IDT limit -> #GP(vec*8+2)", .fn = FN_DELIVER, .vec = 0x40,
      .soft = true, .pre = { F(IDTR_LIMIT, 0x3ff) }, GP(0x40 * 8 + 2) },
    { "deliver: gate straddling the IDT limit -> #GP", .fn = FN_DELIVER, .vec = 0x40,
      .soft = true, .pre = { F(IDTR_LIMIT, 0x407) }, GP(0x40 * 8 + 2) },
    { "deliver: bad gate type -> #GP(vec*8+2)", .fn = FN_DELIVER, .vec = 0x31,
      GP(0x31 * 8 + 2) },
    /* SDM: INT n / exception delivery: "#NP(vector*8+2+EXT) if the gate is
     * not present" (vol. 2 INT n pseudocode, vol. 3 6.15 interrupt 11).
     * emulate.c emu_deliver() gives #GP for a not-present gate.  (Soft, so
     * EXT = 0.) */
    { "SDM: deliver: not-present gate -> #NP(vec*8+2)", .fn = FN_DELIVER, .vec = 0x30,
      .soft = true, NP(0x30 * 8 + 2) },
    { "deliver: soft int to a DPL 0 gate from CPL 3", .fn = FN_DELIVER, .vec = 0x81,
      .soft = true, .pre = { CPL3 }, GP(0x81 * 8 + 2) },
    { "deliver: hardware event ignores the gate DPL", .fn = FN_DELIVER, .vec = 0x81,
      .pre = { CPL3, F(RSP, 0x7fff0000), F(SEL_CS, 0x2b), F(SEL_SS, 0x23) }, OK(0),
      .ev = EMU_EV_CPL,
      .post = { F(RIP, HANDLER(0x81)), F(RSP, RSP0 - 8 - 40), F(CPL, 0), F(VIF, 0),
                F(SEL_CS, 0x08), F(SEL_SS, 0),
                M64(RSP0 - 8 - 40, CODE), M64(RSP0 - 8 - 32, 0x2b), M64(RSP0 - 8 - 24, 0x202),
                M64(RSP0 - 8 - 16, 0x7fff0000), M64(RSP0 - 8 - 8, 0x23) } },
    { "deliver: unwritable rsp0 stack -> #PF", .fn = FN_DELIVER, .vec = 14, .has_ec = true,
      .pre = { CPL3, M64(TSS + 4, PG(P_RO + 1)) }, PF(PF_P | PF_W, PG(P_RO + 1) - 48) },
    { "deliver: TSS unreadable -> #PF", .fn = FN_DELIVER, .vec = 14, .has_ec = true,
      .pre = { CPL3, F(TR_BASE, PG(P_ABS)) }, PF(0, PG(P_ABS) + 4) },
    { "deliver in 32-bit mode", .fn = FN_DELIVER, .vec = 14, .pre = { MB32 }, UNH },

    /* ---- emu_syscall ---- */
    { "syscall from CPL 3", .fn = FN_SYSCALL,
      .pre = { CPL3, F(RIP, 0x400102), F(RFLAGS, 0x646), F(SEL_CS, 0x2b), F(SEL_SS, 0x23) },
      OK(0), .ev = EMU_EV_CPL,
      .post = { F(RCX, 0x400102), F(R11, 0x646), F(RIP, 0xffffffff81800000UL),
                F(RFLAGS, 0x246), F(VIF, 0), F(CPL, 0), F(SEL_CS, 0x08), F(SEL_SS, 0x10) } },
    { "syscall with SFMASK leaving IF", .fn = FN_SYSCALL,
      .pre = { CPL3, F(RIP, 0x400102), F(SFMASK, 0x100), F(VIF, 1), F(RFLAGS, 0x302),
               F(SEL_CS, 0x2b), F(SEL_SS, 0x23) },
      OK(0), .ev = EMU_EV_CPL,
      .post = { F(RCX, 0x400102), F(R11, 0x302), F(RIP, 0xffffffff81800000UL),
                F(RFLAGS, 0x202), F(VIF, 1), F(CPL, 0), F(SEL_CS, 0x08), F(SEL_SS, 0x10) } },
    { "syscall with EFER.SCE clear -> #UD at the syscall", .fn = FN_SYSCALL,
      .pre = { CPL3, F(RIP, 0x400102), F(EFER, EFERV & ~1UL) }, UD,
      .post = { F(RIP, 0x400100) } },

    /* ---- trapped writes to page tables ---- */
    { "mov %rax,(%rdi)", B(0x48, 0x89, 0x07), .pre = { F(RDI, PT + 8) }, OK(3),
      .post = { M64(PT + 8, RAXV) } },
    { "mov %r10,0x10(%r11)", B(0x4d, 0x89, 0x53, 0x10), .pre = { F(R11, PT) }, OK(4),
      .post = { M64(PT + 0x10, RV(10)) } },
    { "movq $-2,(%rdi) (sign-extended imm32)", B(0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff),
      .pre = { F(RDI, PT) }, OK(7), .post = { M64(PT, 0xfffffffffffffffeUL) } },
    { "movl $0x80000001,(%rdi)", B(0xc7, 0x07, 0x01, 0x00, 0x00, 0x80),
      .pre = { F(RDI, PT), M64(PT, 0xaaaaaaaaaaaaaaaaUL) }, OK(6),
      .post = { M64(PT, 0xaaaaaaaa80000001UL) } },
    { "mov %eax,8(%rdi,%rcx,8)", B(0x89, 0x44, 0xcf, 0x08),
      .pre = { F(RDI, PT), F(RCX, 2), M64(PT + 0x18, ~0UL) }, OK(4),
      .post = { M64(PT + 0x18, 0xffffffff55667788UL) } },
    { "mov %rax,%fs:(%rdi)", B(0x64, 0x48, 0x89, 0x07),
      .pre = { F(RDI, 0x100), F(FS_BASE, PT) }, OK(4), .post = { M64(PT + 0x100, RAXV) } },
    { "xchg %rax,(%rdi)", B(0x48, 0x87, 0x07), .pre = { F(RDI, PT), M64(PT, 0x1003) }, OK(3),
      .post = { M64(PT, RAXV), F(RAX, 0x1003) } },
    { "xchg %ecx,(%rdi) (zero-extends)", B(0x87, 0x0f),
      .pre = { F(RDI, PT), M64(PT, 0xffffffff80000063UL) }, OK(2),
      .post = { M64(PT, 0xffffffff22222222UL), F(RCX, 0x80000063) } },
    { "lock cmpxchg %rcx,(%rdi) equal", B(0xf0, 0x48, 0x0f, 0xb1, 0x0f),
      .pre = { F(RDI, PT), F(RAX, 0x1003), M64(PT, 0x1003), F(RFLAGS, 0x246) }, OK(5),
      .post = { M64(PT, RV(1)) } },
    { "lock cmpxchg %rcx,(%rdi) different", B(0xf0, 0x48, 0x0f, 0xb1, 0x0f),
      .pre = { F(RDI, PT), F(RAX, 5), M64(PT, 3), F(RFLAGS, 0x242) }, OK(5),
      .post = { F(RAX, 3), F(RFLAGS, 0x202) } },
    { "lock cmpxchg sets ZF", B(0xf0, 0x48, 0x0f, 0xb1, 0x0f),
      .pre = { F(RDI, PT), F(RAX, 7), M64(PT, 7), F(RFLAGS, 0x206) }, OK(5),
      .post = { M64(PT, RV(1)), F(RFLAGS, 0x246) } },
    /* SDM: CMPXCHG "the CF, PF, AF, SF and OF flags are set according to the
     * results of the comparison operation" (as CMP rax,dest).  emulate.c
     * emulate_mem_write() only sets/clears ZF.  3 - 5: CF=1 AF=1 SF=1. */
    { "SDM: lock cmpxchg sets the CMP flags", B(0xf0, 0x48, 0x0f, 0xb1, 0x0f),
      .pre = { F(RDI, PT), F(RAX, 3), M64(PT, 5), F(RFLAGS, 0x242) }, OK(5),
      .post = { F(RAX, 5), F(RFLAGS, 0x293) } },
    { "or $0x60,(%rdi) (imm8)", B(0x48, 0x83, 0x0f, 0x60),
      .pre = { F(RDI, PT), M64(PT, 0x8000000000000003UL), F(RFLAGS, 0x243) }, OK(4),
      .post = { M64(PT, 0x8000000000000063UL), F(RFLAGS, 0x286) } },
    { "and $-4096,(%rdi) (imm32)", B(0x48, 0x81, 0x27, 0x00, 0xf0, 0xff, 0xff),
      .pre = { F(RDI, PT), M64(PT, 0x0000000012345fffUL), F(RFLAGS, 0xad7) }, OK(7),
      .post = { M64(PT, 0x12345000), F(RFLAGS, 0x206) } },
    { "and %rcx,(%rdi) -> ZF", B(0x48, 0x21, 0x0f),
      .pre = { F(RDI, PT), F(RCX, 0x100), M64(PT, 0xff) }, OK(3),
      .post = { M64(PT, 0), F(RFLAGS, 0x246) } },
    { "or %eax,(%rdi)", B(0x09, 0x07),
      .pre = { F(RDI, PT), M64(PT, 0xffffffff00000000UL) }, OK(2),
      .post = { M64(PT, 0xffffffff55667788UL), F(RFLAGS, 0x206) } },
    { "orb $1,(%rdi)", B(0x80, 0x0f, 0x01), .pre = { F(RDI, PT), M64(PT, 0x80) }, OK(3),
      .post = { M64(PT, 0x81), F(RFLAGS, 0x286) } },
    { "rep stosq", B(0xf3, 0x48, 0xab), .pre = { F(RDI, PT + 0x20), F(RCX, 3) }, OK(3),
      .post = { M64(PT + 0x20, RAXV), M64(PT + 0x28, RAXV), M64(PT + 0x30, RAXV),
                F(RDI, PT + 0x38), F(RCX, 0) } },
    { "std; rep stosq (backwards)", B(0xf3, 0x48, 0xab),
      .pre = { F(RDI, PT + 0x40), F(RCX, 2), F(RFLAGS, 0x602) }, OK(3),
      .post = { M64(PT + 0x40, RAXV), M64(PT + 0x38, RAXV), F(RDI, PT + 0x30), F(RCX, 0) } },
    { "stosl", B(0xab), .pre = { F(RDI, PT) }, OK(1),
      .post = { M32(PT, 0x55667788), F(RDI, PT + 4) } },
    { "rep stosq with rcx 0", B(0xf3, 0x48, 0xab), .pre = { F(RDI, PT), F(RCX, 0) }, OK(3) },
    { "mov %ah,(%rdi)", B(0x88, 0x27), .pre = { F(RDI, PT) }, OK(2),
      .post = { M8(PT, 0x77) } },
    { "mov %bh,1(%rdi)", B(0x88, 0x7f, 0x01), .pre = { F(RDI, PT), F(RBX, 0xabcd) }, OK(3),
      .post = { M8(PT + 1, 0xab) } },
    { "mov %spl,(%rdi) (REX)", B(0x40, 0x88, 0x27), .pre = { F(RDI, PT) }, OK(3),
      .post = { M8(PT, STK & 0xff) } },
    { "movb $0xe3,(%rdi)", B(0xc6, 0x07, 0xe3), .pre = { F(RDI, PT) }, OK(3),
      .post = { M8(PT, 0xe3) } },
    /* SDM: in a byte form without REX, ModRM.reg 4-7 name AH, CH, DH, BH
     * (vol. 2 3.1.1.1, table 3-1).  emulate.c emulate_mem_write() honours it
     * only for 88; or/and (08, 20), xchg (86) and cmpxchg (0F B0) read
     * *gpr(reg) (SPL..DIL's registers) and xchg writes the old byte there. */
    { "SDM: or %ah,(%rdi)", B(0x08, 0x27),
      .pre = { F(RDI, PT), M64(PT, 0x01), F(RAX, 0x8000) }, OK(2),
      .post = { M64(PT, 0x81), F(RFLAGS, 0x286) } },
    { "SDM: xchg %ch,(%rdi)", B(0x86, 0x2f),
      .pre = { F(RDI, PT), M64(PT, 0x5a), F(RCX, 0x1234) }, OK(2),
      .post = { M64(PT, 0x12), F(RCX, 0x5a34) } },
    { "mov to a read-only page", B(0x48, 0x89, 0x07), .pre = { F(RDI, PG(P_RO) + 8) },
      PF(PF_P | PF_W, PG(P_RO) + 8) },
    { "mov to a supervisor page at CPL 3", B(0x48, 0x89, 0x07),
      .pre = { CPL3, F(RDI, PG(P_SUP) + 8) }, PF(PF_P | PF_W | PF_U, PG(P_SUP) + 8) },
    { "mov crossing into an absent page", B(0x48, 0x89, 0x07),
      .pre = { F(RDI, PG(P_ABS) - 4) }, PF(PF_W, PG(P_ABS)) },
    { "xchg on an absent page", B(0x48, 0x87, 0x07),
      .pre = { F(RDI, PG(P_ABS) + 8) }, PF(0, PG(P_ABS) + 8) },
    { "add to a page table (not emulated)", B(0x48, 0x01, 0x07), .pre = { F(RDI, PT) }, UNH },
    { "register-only instruction (not a write)", B(0x48, 0x89, 0xc7), UNH },

    /* ---- 32-bit multiboot entry ---- */
    { "32: cli", B(0xfa), .pre = { MB32 }, OK(1), .post = { F(VIF, 0) } },
    { "32: mov %eax,%cr3", B(0x0f, 0x22, 0xd8),
      .pre = { MB32, F(RAX, 0xffffffff00102000UL) }, OK(3), .ev = EMU_EV_CR3,
      .post = { F(CR3, 0x102000) } },
    { "32: mov %cr0,%eax", B(0x0f, 0x20, 0xc0), .pre = { MB32 }, OK(3),
      .post = { F(RAX, 0x11) } },
    { "32: rdmsr EFER", B(0x0f, 0x32), .pre = { MB32, MSR(0xc0000080), F(EFER, 0x100) },
      OK(2), .post = { F(RAX, 0x100), F(RDX, 0) } },
    { "32: wrmsr EFER.LME", B(0x0f, 0x30),
      .pre = { MB32, MSR(0xc0000080), F(RAX, 0x100), F(RDX, 0) }, OK(2),
      .post = { F(EFER, 0x100) } },
    { "32: lgdt disp32", B(0x0f, 0x01, 0x15, LE32(DATA + 0x40)),
      .pre = { MB32, M16(DATA + 0x40, 0x27), M32(DATA + 0x42, 0x105000),
               M16(DATA + 0x46, 0xffff) }, OK(7),
      .post = { F(GDTR_LIMIT, 0x27), F(GDTR_BASE, 0x105000) } },
    { "32: ljmp $0x08 to 64-bit code with LMA", B(0xea, LE32(0x100200), 0x08, 0x00),
      .pre = { MB32, F(EFER, X86_EFER_LME | X86_EFER_LMA), F(SEL_CS, 0x48) }, OK(0),
      .ev = EMU_EV_MODE, .post = { F(RIP, 0x100200), F(CS64, 1), F(SEL_CS, 0x08) } },
    { "32: ljmp $0x08 without LMA stays 32-bit", B(0xea, LE32(0x100200), 0x08, 0x00),
      .pre = { MB32, F(SEL_CS, 0x48) }, OK(0),
      .post = { F(RIP, 0x100200), F(SEL_CS, 0x08) } },
    { "32: ljmp to a data segment", B(0xea, LE32(0x100200), 0x10, 0x00),
      .pre = { MB32 }, GP(0x10) },
    { "32: mov %eax,%ds", B(0x8e, 0xd8), .pre = { MB32, F(RAX, 0x10) }, OK(2),
      .post = { F(SEL_DS, 0x10) } },
    { "32: out %al,$0x80", B(0xe6, 0x80), .pre = { MB32 }, OK(2),
      .io = { IO(false, 0x80, 1, 0x88) }, .nio = 1 },

    /* ---- fetch and malformed encodings ---- */
    { "0f 01 at a page end, next page absent -> #PF I-fetch",
      B(0x0f, 0x01, 0xd8), .rip = PG(P_CODE2) - 2, .pre = { PGF(P_CODE2, 0) },
      PF(PF_I, PG(P_CODE2)) },
    { "same at CPL 3", B(0x0f, 0x01, 0xd8), .rip = PG(P_CODE2) - 2,
      .pre = { CPL3, PGF(P_CODE2, 0) }, PF(PF_U | PF_I, PG(P_CODE2)) },
    { "cli at the last byte before an absent page", B(0xfa), .rip = PG(P_CODE2) - 1,
      .pre = { PGF(P_CODE2, 0) }, OK(1), .post = { F(VIF, 0) } },
    { "mov %rax,%cr3 across a page boundary", B(0x0f, 0x22, 0xd8), .rip = PG(P_CODE2) - 1,
      .pre = { F(RAX, 0x7000) }, OK(3), .ev = EMU_EV_CR3, .post = { F(CR3, 0x7000) } },
    { "RIP on an absent page", B(0xfa), .rip = PG(P_ABS) + 0x10, PF(PF_I, PG(P_ABS) + 0x10) },
    { "RIP on a supervisor page at CPL 3", B(0xfa), .rip = PG(P_SUP) + 0x10,
      .pre = { CPL3 }, PF(PF_P | PF_U | PF_I, PG(P_SUP) + 0x10) },
    { "ud2 is not emulated", B(0x0f, 0x0b), UNH },
    { "push %es (06) invalid in 64-bit mode", B(0x06), UD },
    { "lock cli", B(0xf0, 0xfa), UD },
    { "lock mov %rax,(%rdi)", B(0xf0, 0x48, 0x89, 0x07), .pre = { F(RDI, PT) }, UD },
    /* SDM: an instruction longer than 15 bytes raises #GP(0) (vol. 2 2.3.11,
     * vol. 3 6.15 interrupt 13), not #UD; the CPU's #GP is what trapped, and
     * emulate.c emulate64() turns every X86_DECODE_INVALID into #UD. */
    { "SDM: 16 prefixes -> #GP(0)",
      B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0x90) , GP(0) },
    { "14 prefixes + nop = 15 bytes (not a write)",
      B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x90), UNH },
};

/* ---- the runner ------------------------------------------------------------ */

static void apply(struct guest *g, const struct kv *kv, unsigned int n)
{
    for (unsigned int k = 0; k < n && kv[k].k != K_END; k++) {
        if (kv[k].k == K_F) {
            fset(g, kv[k].f, kv[k].v);
        } else if (kv[k].k == K_M) {
            struct guest *save = NULL;
            (void)save;
            for (unsigned int b = 0; b < kv[k].n; b++) {
                uint64_t va = kv[k].a + b;
                assert_true(va >= GBASE && va < PG(NPAGES));
                g->pg[(va - GBASE) >> 12].data[va & 4095] = (uint8_t)(kv[k].v >> (8 * b));
            }
        } else {
            struct fpage *p = &g->pg[kv[k].f];
            p->p = kv[k].v & PGF_P;
            p->w = kv[k].v & PGF_W;
            p->u = kv[k].v & PGF_U;
        }
    }
}

static int compare(const struct row *t)
{
    int bad = 0;
    for (unsigned int f = 0; f < NFIELDS; f++) {
        if (fget(&G, f) != fget(&E, f)) {
            print_error("  %s: %s = %#lx, expected %#lx\n", t->name, fields[f].name,
                        (unsigned long)fget(&G, f), (unsigned long)fget(&E, f));
            bad++;
        }
    }
    for (unsigned int i = 0; i < NPAGES; i++) {
        if (G.pg[i].p != E.pg[i].p || G.pg[i].w != E.pg[i].w || G.pg[i].u != E.pg[i].u) {
            print_error("  %s: page %u flags changed\n", t->name, i);
            bad++;
        }
        for (unsigned int o = 0; o < 4096; o++) {
            if (G.pg[i].data[o] != E.pg[i].data[o]) {
                print_error("  %s: memory %#lx = %#x, expected %#x\n", t->name,
                            (unsigned long)(PG(i) + o), G.pg[i].data[o], E.pg[i].data[o]);
                bad++;
                break;
            }
        }
    }
    if (G.nio != t->nio) {
        print_error("  %s: %u port accesses, expected %u\n", t->name, G.nio, t->nio);
        bad++;
    } else {
        for (unsigned int k = 0; k < t->nio; k++) {
            const struct iolog *a = &G.io[k], *x = &t->io[k];
            if (a->in != x->in || a->port != x->port || a->size != x->size || a->val != x->val) {
                print_error("  %s: port access %u: %s %#x/%u %#x, expected %s %#x/%u %#x\n",
                            t->name, k, a->in ? "in" : "out", a->port, a->size, a->val,
                            x->in ? "in" : "out", x->port, x->size, x->val);
                bad++;
            }
        }
    }
    return bad;
}

static const char *rc_name(int rc)
{
    return rc == EMU_OK ? "EMU_OK" : rc == EMU_FAULT ? "EMU_FAULT" :
           rc == EMU_UNHANDLED ? "EMU_UNHANDLED" : "?";
}

/* Runs one row; returns the number of mismatches. */
static int run_row(const struct row *t)
{
    int bad = 0;

    reset();
    uint64_t rip = t->rip ? t->rip : CODE;
    G.regs.rip = rip;
    for (unsigned int k = 0; k < t->n; k++)
        page_of(rip + k)->data[(rip + k) & 4095] = t->bytes[k];
    apply(&G, t->pre, 10);
    memcpy(&E, &G, sizeof(G));

    struct emu_ctxt c = { .regs = &G.regs, .vu = &G.vu, .ops = &ops, .ctx = &G };
    memset(&c.fault, 0xa5, sizeof(c.fault));
    int rc;
    switch (t->fn) {
    case FN_DELIVER: rc = emu_deliver(&c, t->vec, t->has_ec, t->dec, t->soft); break;
    case FN_SYSCALL: rc = emu_syscall(&c); break;
    default: rc = emulate_insn(&c); break;
    }

    if (rc == EMU_OK)
        E.regs.rip += t->adv;
    apply(&E, t->post, 14);
    if (t->anyb)
        E.pg[(t->anyb - GBASE) >> 12].data[t->anyb & 4095] =
            G.pg[(t->anyb - GBASE) >> 12].data[t->anyb & 4095];

    if (rc != t->rc) {
        print_error("  %s: %s (%s), expected %s\n", t->name, rc_name(rc),
                    rc == EMU_UNHANDLED ? c.why : rc == EMU_FAULT ? "fault" : "",
                    rc_name(t->rc));
        if (rc == EMU_FAULT)
            print_error("  %s:   fault vector %u ec %#x cr2 %#lx\n", t->name, c.fault.vector,
                        c.fault.ec, (unsigned long)c.fault.cr2);
        bad++;
    } else if (rc == EMU_FAULT) {
        if (c.fault.vector != t->fvec || c.fault.has_ec != t->fhas_ec ||
            (t->fhas_ec && c.fault.ec != t->fec) || (t->fvec == 14 && c.fault.cr2 != t->cr2)) {
            print_error("  %s: fault vector %u has_ec %d ec %#x cr2 %#lx, expected "
                        "vector %u has_ec %d ec %#x cr2 %#lx\n", t->name, c.fault.vector,
                        c.fault.has_ec, c.fault.ec, (unsigned long)c.fault.cr2, t->fvec,
                        t->fhas_ec, t->fec, (unsigned long)t->cr2);
            bad++;
        }
    } else if (rc == EMU_UNHANDLED) {
        if (!c.why || !*c.why) {
            print_error("  %s: EMU_UNHANDLED without a reason\n", t->name);
            bad++;
        }
    }
    if (c.events != t->ev) {
        print_error("  %s: events %#x, expected %#x\n", t->name, c.events, t->ev);
        bad++;
    }
    if ((t->ev & EMU_EV_INVLPG) && c.invlpg_va != t->invlpg_va) {
        print_error("  %s: invlpg_va %#lx, expected %#lx\n", t->name,
                    (unsigned long)c.invlpg_va, (unsigned long)t->invlpg_va);
        bad++;
    }
    bad += compare(t);
    return bad;
}

static void test_rows(bool sdm, unsigned int *nrows)
{
    int failed = 0;
    for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
        const struct row *t = &rows[k];
        if ((strncmp(t->name, "SDM:", 4) == 0) != sdm)
            continue;
        (*nrows)++;
        if (run_row(t)) {
            print_error("FAILED: %s\n", t->name);
            failed++;
        }
    }
    print_message("%u rows, %d failed\n", *nrows, failed);
    assert_int_equal(failed, 0);
}

/* Rows that emulate.c passes by its own contract and the SDM. */
static void test_table(void **state)
{
    (void)state;
    unsigned int n = 0;
    test_rows(false, &n);
    assert_true(n > 100);
}

/* Rows asserting the SDM where emulate.c differs (see each row's comment). */
static void test_sdm_table(void **state)
{
    (void)state;
    unsigned int n = 0;
    test_rows(true, &n);
    assert_true(n > 0);
}

/* The fake itself: the error codes it produces must be the hardware's. */
static void test_fake(void **state)
{
    (void)state;
    struct emu_fault f;
    uint8_t b[8];
    reset();
    assert_int_equal(f_read(&G, DATA, b, 8, 0, &f), 0);
    assert_int_equal(f_read(&G, PG(P_ABS) - 2, b, 4, EMU_ACC_X, &f), -1);
    assert_int_equal(f.ec, PF_I);
    assert_int_equal(f.cr2, PG(P_ABS));
    G.vu.cpl = 3;
    assert_int_equal(f_read(&G, PG(P_SUP), b, 1, 0, &f), -1);
    assert_int_equal(f.ec, PF_P | PF_U);
    assert_int_equal(f_read(&G, PG(P_SUP), b, 1, EMU_ACC_SYS, &f), 0);
    assert_int_equal(f_write(&G, PG(P_RO), b, 1, EMU_ACC_W | EMU_ACC_SYS, &f), -1);
    assert_int_equal(f.ec, PF_P | PF_W);
}

/* sti; hlt in the interrupt shadow and emu_guest_rflags. */
static void test_guest_rflags(void **state)
{
    (void)state;
    reset();
    struct emu_ctxt c = { .regs = &G.regs, .vu = &G.vu, .ops = &ops, .ctx = &G };
    G.regs.rflags = 0x3ad7;         /* IOPL 3, IF set in the real flags */
    G.vu.vif = false;
    assert_int_equal(emu_guest_rflags(&c), 0x8d7);
    G.vu.vif = true;
    assert_int_equal(emu_guest_rflags(&c), 0xad7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake),
        cmocka_unit_test(test_guest_rflags),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_sdm_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
