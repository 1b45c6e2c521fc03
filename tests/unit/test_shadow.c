/*
 * test_shadow.c - host unit tests (cmocka) of hypervisor/shadow.c: shadow
 * page tables for unmodified guests (contract in shadow.h).
 *
 * Runs on the host.  "Machine memory" is a malloc'd, page-aligned array of
 * NR_FRAMES frames: frames [ALLOC_FIRST, ALLOC_END) are the hypervisor heap
 * (alloc_xen_frame, counted), frames from GUEST_MFN0 on hold the guest's RAM
 * under a scrambled P2M (never the identity, so a missed translation shows).
 * The guest's own 4-level tables are written into its RAM; every check of a
 * shadow is a software walk of the shadow tables from shadow_cr3(), or a
 * scan of every pool page.  TLB flushes, invlpg and CR3 loads are recorded
 * (cpu.h's LAMINA_HOST_CPU_HOOKS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#define LAMINA_HOST_CPU_HOOKS 1
#include "../../hypervisor/unmod/shadow.c"
#include "heap_stub.h"

#define NR_FRAMES   4096UL                      /* 16 MiB of machine memory */
#define ALLOC_FIRST 16UL                        /* hypervisor heap */
#define ALLOC_END   1024UL
#define GUEST_MFN0  1200UL                      /* guest RAM machine frames */
#define GUEST_PAGES 1800UL                      /* not a multiple of 512 */

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u

static uint8_t *machine;
uint64_t idle_pg_table[512] __attribute__((aligned(4096)));

/* ---- stubs ---------------------------------------------------------------- */

static bool allocated[NR_FRAMES];
static unsigned long nr_allocated;
static unsigned long alloc_limit = ~0UL;       /* frames alloc_xen_frame may hand out */
static unsigned long tlb_flushes, invlpgs, cr3_loads, last_cr3, last_invlpg;

void *mfn_to_virt(unsigned long mfn)
{
    assert_true(mfn < NR_FRAMES);
    return machine + mfn * PAGE_SIZE;
}

unsigned long virt_to_mfn(const void *va)
{
    return (unsigned long)((const uint8_t *)va - machine) / PAGE_SIZE;
}

unsigned long alloc_xen_frame(void)
{
    if (nr_allocated >= alloc_limit)
        return INVALID_MFN;
    for (unsigned long m = ALLOC_FIRST; m < ALLOC_END; m++)
        if (!allocated[m]) {
            allocated[m] = true;
            nr_allocated++;
            /* stale contents: the code must clear what it uses */
            memset(mfn_to_virt(m), 0xa5, PAGE_SIZE);
            return m;
        }
    return INVALID_MFN;
}

void free_xen_frame(unsigned long mfn)
{
    assert_true(mfn >= ALLOC_FIRST && mfn < ALLOC_END);
    assert_true(allocated[mfn]);                /* no double free */
    allocated[mfn] = false;
    nr_allocated--;
}

void flush_tlb_local(void) { tlb_flushes++; }
void invlpg(unsigned long va) { invlpgs++; last_invlpg = va; }
void write_cr3(unsigned long v) { cr3_loads++; last_cr3 = v; }

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fail_msg("panic");
    abort();
}

/* ---- fixture: one guest ----------------------------------------------------- */

static struct shadow_domain *sd;
static struct vcpu_unmod vu;
static uint64_t next_table;                     /* guest table gpfns: 1..99 */
static uint64_t gl4;                            /* the guest's L4 (gpfn) */
static long rev[NR_FRAMES];                     /* MFN -> gpfn, -1 if not guest RAM */
static unsigned long allocated_at_start;

#define UPPER (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)

static uint64_t *gmem(uint64_t gpfn)
{
    assert_true(gpfn < GUEST_PAGES);
    return mfn_to_virt(sd->p2m[gpfn]);
}

static uint64_t new_table(void)
{
    assert_true(next_table < 100);
    memset(gmem(next_table), 0, PAGE_SIZE);
    return next_table++;
}

static unsigned int idx(uint64_t va, unsigned int level)
{
    return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* The guest entry for va at `level` under guest L4 l4, creating missing
 * tables on the way (P|RW|U). */
static uint64_t *gentry(uint64_t l4, uint64_t va, unsigned int level)
{
    uint64_t t = l4;
    for (unsigned int l = 4; l > level; l--) {
        uint64_t *e = &gmem(t)[idx(va, l)];
        if (!(*e & _PAGE_PRESENT))
            *e = (new_table() << PAGE_SHIFT) | UPPER;
        t = (*e & PTE_ADDR_MASK) >> PAGE_SHIFT;
    }
    return &gmem(t)[idx(va, level)];
}

static void gmap(uint64_t l4, uint64_t va, uint64_t gpfn, uint64_t flags)
{
    *gentry(l4, va, 1) = (gpfn << PAGE_SHIFT) | flags;
}

static void gmap2m(uint64_t l4, uint64_t va, uint64_t base_gpfn, uint64_t flags)
{
    *gentry(l4, va, 2) = (base_gpfn << PAGE_SHIFT) | flags | _PAGE_PSE;
}

/* Guest-physical address of the guest entry for va at level. */
static uint64_t gentry_gpa(uint64_t l4, uint64_t va, unsigned int level)
{
    uint64_t *e = gentry(l4, va, level);
    uint64_t mfn = virt_to_mfn(e);
    assert_true(rev[mfn] >= 0);
    return ((uint64_t)rev[mfn] << PAGE_SHIFT) | ((uintptr_t)e & (PAGE_SIZE - 1));
}

static bool in_pool(unsigned long mfn)
{
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        if (sd->pool[i].kind != SH_FREE && sd->pool[i].mfn == mfn)
            return true;
    return false;
}

/* Software walk of the shadow tables at cr3 (what the CPU would do):
 * the leaf entry, 0 when not present; *rw and *us the effective rights. */
static uint64_t swalk(unsigned long cr3, uint64_t va, bool *rw, bool *us)
{
    unsigned long mfn = cr3 >> PAGE_SHIFT;
    bool w = true, u = true;
    assert_true(cr3 != 0);
    for (unsigned int l = 4; l >= 1; l--) {
        assert_true(in_pool(mfn));
        uint64_t e = ((uint64_t *)mfn_to_virt(mfn))[idx(va, l)];
        if (!(e & _PAGE_PRESENT))
            return 0;
        assert_false(l > 1 && (e & _PAGE_PSE));         /* shadows use 4 KiB leaves */
        w = w && (e & _PAGE_RW);
        u = u && (e & _PAGE_USER);
        mfn = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
        if (l == 1) {
            if (rw)
                *rw = w;
            if (us)
                *us = u;
            return e;
        }
    }
    return 0;
}

static unsigned long leaf_mfn(uint64_t e)
{
    return (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
}

static struct emu_fault flt;
static const char *why;

static int fault(unsigned int view, uint64_t va, uint32_t ec)
{
    memset(&flt, 0, sizeof(flt));
    why = NULL;
    int rc = shadow_fault(sd, &vu, view, va, ec, &flt, &why);
    if (rc == SH_BAD)
        assert_non_null(why);
    return rc;
}

static unsigned int free_pool_pages(void)
{
    unsigned int n = 0;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        n += sd->pool[i].kind == SH_FREE;
    return n;
}

/* Every in-use pool page: L4s carry the hypervisor slots and nothing at
 * 256; upper entries point at pool pages; every leaf maps a frame of the
 * guest's RAM, and read-only when that frame is a guest table that has a
 * shadow.  Returns the number of present leaves. */
static unsigned int scan_pool(void)
{
    unsigned int leaves = 0;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        const struct sh_page *p = &sd->pool[i];
        if (p->kind == SH_FREE)
            continue;
        const uint64_t *t = mfn_to_virt(p->mfn);
        for (unsigned int k = 0; k < 512; k++) {
            if (p->level == 4 && k >= 256 && k <= 271) {
                assert_int_equal(t[k], k == 256 ? 0 : idle_pg_table[k]);
                continue;
            }
            if (!(t[k] & _PAGE_PRESENT))
                continue;
            unsigned long m = leaf_mfn(t[k]);
            if (p->level > 1) {
                assert_false(t[k] & _PAGE_PSE);
                assert_true(in_pool(m));
                continue;
            }
            leaves++;
            assert_true(m < NR_FRAMES);
            assert_true(rev[m] >= 0);                   /* the domain owns it */
            for (unsigned int j = 0; j < SH_POOL_PAGES; j++)
                if (sd->pool[j].kind == SH_NORMAL && sd->pool[j].gpfn == (uint64_t)rev[m])
                    assert_false(t[k] & _PAGE_RW);
        }
    }
    return leaves;
}

static int setup(void **state)
{
    (void)state;
    if (!machine) {
        machine = aligned_alloc(PAGE_SIZE, NR_FRAMES * PAGE_SIZE);
        assert_non_null(machine);
        for (unsigned int s = 0; s < 512; s++)
            idle_pg_table[s] = s >= 256 && s <= 271 ? 0x1000000UL * s + 0x63 : 0;
    }
    memset(machine, 0x5a, NR_FRAMES * PAGE_SIZE);
    sd = calloc(1, sizeof(*sd));
    assert_non_null(sd);
    alloc_limit = ~0UL;
    allocated_at_start = nr_allocated;
    assert_int_equal(shadow_init(sd, GUEST_PAGES), 0);
    assert_int_equal(nr_allocated, allocated_at_start + SH_POOL_PAGES);
    for (unsigned long m = 0; m < NR_FRAMES; m++)
        rev[m] = -1;
    for (uint64_t g = 0; g < GUEST_PAGES; g++) {
        sd->p2m[g] = GUEST_MFN0 + (g * 7 + 3) % GUEST_PAGES;   /* a permutation */
        rev[sd->p2m[g]] = (long)g;
    }
    next_table = 1;
    gl4 = new_table();
    memset(&vu, 0, sizeof(vu));
    vu.cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP;
    vu.cr4 = X86_CR4_PAE;
    vu.efer = X86_EFER_LME | X86_EFER_LMA;
    vu.cr3 = gl4 << PAGE_SHIFT;
    tlb_flushes = invlpgs = cr3_loads = 0;
    return 0;
}

static void destroy(void)
{
    shadow_destroy(sd);
    assert_int_equal(nr_allocated, allocated_at_start);    /* every pool frame back */
    free(sd);
    sd = NULL;
}

static int teardown(void **state)
{
    (void)state;
    if (sd)
        destroy();
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_fill_4k(void **state)
{
    (void)state;
    uint64_t va = 0x400000 + 3 * PAGE_SIZE;
    gmap(gl4, va, 100, _PAGE_PRESENT | _PAGE_RW);
    gmap(gl4, va + PAGE_SIZE, 101, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);

    unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    assert_int_equal(swalk(cr3, va, NULL, NULL), 0);

    /* A read: mapped, read-only until the guest's D is set. */
    unsigned long inv = invlpgs;
    assert_int_equal(fault(SH_VIEW_KERNEL, va + 0x123, PF_U), SH_FIXED);
    assert_true(invlpgs > inv);
    assert_int_equal(last_invlpg, va + 0x123);
    assert_int_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), cr3);
    bool rw, us;
    uint64_t e = swalk(cr3, va, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[100]);
    assert_true(us);                    /* kernel view: a supervisor page is user-accessible */
    assert_false(rw);
    for (unsigned int l = 4; l >= 1; l--)
        assert_true(*gentry(gl4, va, l) & _PAGE_ACCESSED);
    assert_false(*gentry(gl4, va, 1) & _PAGE_DIRTY);

    /* The write that follows: D set in the guest, now writable. */
    assert_int_equal(fault(SH_VIEW_KERNEL, va + 8, PF_P | PF_W | PF_U), SH_FIXED);
    assert_true(*gentry(gl4, va, 1) & _PAGE_DIRTY);
    e = swalk(cr3, va, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[100]);
    assert_true(rw && us);

    /* A write fault first on a fresh page: D and RW at once. */
    assert_int_equal(fault(SH_VIEW_KERNEL, va + PAGE_SIZE, PF_W | PF_U), SH_FIXED);
    assert_true(*gentry(gl4, va + PAGE_SIZE, 1) & _PAGE_DIRTY);
    e = swalk(cr3, va + PAGE_SIZE, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[101]);
    assert_true(rw && us);

    /* shadow_translate agrees with the guest tables. */
    uint64_t gpa = 0;
    assert_int_equal(shadow_translate(sd, &vu, va + 0x77, 0, 0, &gpa, &flt), 0);
    assert_int_equal(gpa, 100 * PAGE_SIZE + 0x77);
    assert_int_equal(sd->fills, 3);
    scan_pool();
}

static void test_fill_2m(void **state)
{
    (void)state;
    uint64_t va = 0x40000000UL;                 /* L3 slot 1, L2 slot 0 */
    gmap2m(gl4, va, 512, _PAGE_PRESENT | _PAGE_RW);
    unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);

    assert_int_equal(fault(SH_VIEW_KERNEL, va + 5 * PAGE_SIZE + 123, PF_U), SH_FIXED);
    bool rw, us;
    uint64_t e = swalk(cr3, va + 5 * PAGE_SIZE, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[517]);
    assert_true(us);
    assert_false(rw);
    assert_true(*gentry(gl4, va, 2) & _PAGE_ACCESSED);
    assert_false(*gentry(gl4, va, 2) & _PAGE_DIRTY);
    /* only the faulting 4 KiB is filled */
    assert_int_equal(swalk(cr3, va + 6 * PAGE_SIZE, NULL, NULL), 0);

    assert_int_equal(fault(SH_VIEW_KERNEL, va + 511 * PAGE_SIZE, PF_W | PF_U), SH_FIXED);
    assert_true(*gentry(gl4, va, 2) & _PAGE_DIRTY);
    e = swalk(cr3, va + 511 * PAGE_SIZE, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[1023]);
    assert_true(rw);

    uint64_t gpa;
    assert_int_equal(shadow_translate(sd, &vu, va + 7 * PAGE_SIZE + 9, EMU_ACC_W, 0, &gpa, &flt), 0);
    assert_int_equal(gpa, 519 * PAGE_SIZE + 9);

    /* A 2 MiB page running past the end of RAM: each 4 KiB is checked. */
    uint64_t va2 = 0x40000000UL + 0x200000UL;
    gmap2m(gl4, va2, 1536, _PAGE_PRESENT | _PAGE_RW);
    assert_int_equal(fault(SH_VIEW_KERNEL, va2 + 10 * PAGE_SIZE, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, va2 + 10 * PAGE_SIZE, NULL, NULL)), sd->p2m[1546]);
    assert_int_equal(fault(SH_VIEW_KERNEL, va2 + 300 * PAGE_SIZE, PF_U), SH_BAD);
    assert_int_equal(shadow_translate(sd, &vu, va2 + 300 * PAGE_SIZE, 0, 0, &gpa, &flt), -2);
    assert_int_equal(swalk(cr3, va2 + 300 * PAGE_SIZE, NULL, NULL), 0);
    scan_pool();
}

static void test_views(void **state)
{
    (void)state;
    uint64_t sup = 0x600000, usr = 0x601000, ro = 0x602000, none = 0x603000;
    gmap(gl4, sup, 110, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    gmap(gl4, usr, 111, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_DIRTY);
    gmap(gl4, ro, 112, _PAGE_PRESENT | _PAGE_USER);
    unsigned long kcr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    unsigned long ucr3 = shadow_cr3(sd, &vu, SH_VIEW_USER);
    assert_int_not_equal(kcr3, ucr3);

    /* Kernel view: the supervisor page is reachable from real ring 3. */
    bool rw, us;
    assert_int_equal(fault(SH_VIEW_KERNEL, sup, PF_W | PF_U), SH_FIXED);
    uint64_t e = swalk(kcr3, sup, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[110]);
    assert_true(rw && us);

    /* User view: the same page is the guest's #PF, P|U and P|W|U. */
    unsigned long inj = sd->injected_pf;
    assert_int_equal(fault(SH_VIEW_USER, sup + 8, PF_U), SH_INJECT);
    assert_int_equal(flt.vector, 14);
    assert_true(flt.has_ec);
    assert_int_equal(flt.ec, PF_P | PF_U);
    assert_int_equal(flt.cr2, sup + 8);
    assert_int_equal(fault(SH_VIEW_USER, sup + 16, PF_W | PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_P | PF_W | PF_U);
    assert_int_equal(flt.cr2, sup + 16);
    assert_int_equal(sd->injected_pf, inj + 2);
    assert_int_equal(swalk(ucr3, sup, NULL, NULL), 0);

    /* User view, a user page: mapped with U. */
    assert_int_equal(fault(SH_VIEW_USER, usr, PF_W | PF_U), SH_FIXED);
    e = swalk(ucr3, usr, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[111]);
    assert_true(rw && us);

    /* Read-only page: a user write is P|W|U; a kernel write too (CR0.WP). */
    assert_int_equal(fault(SH_VIEW_USER, ro, PF_W | PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_P | PF_W | PF_U);
    assert_int_equal(fault(SH_VIEW_KERNEL, ro, PF_W | PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_P | PF_W);
    assert_int_equal(fault(SH_VIEW_USER, ro, PF_U), SH_FIXED);
    e = swalk(ucr3, ro, &rw, &us);
    assert_int_equal(leaf_mfn(e), sd->p2m[112]);
    assert_false(rw);
    assert_true(us);

    /* Not present in the guest: P=0. */
    assert_int_equal(fault(SH_VIEW_USER, none + 4, PF_U), SH_INJECT);
    assert_int_equal(flt.vector, 14);
    assert_int_equal(flt.ec, PF_U);
    assert_int_equal(flt.cr2, none + 4);
    assert_int_equal(fault(SH_VIEW_KERNEL, none, PF_W | PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_W);
    assert_int_equal(fault(SH_VIEW_USER, 0x7000000000UL, PF_U), SH_INJECT);   /* no L3 */
    assert_int_equal(flt.ec, PF_U);
    assert_int_equal(flt.cr2, 0x7000000000UL);

    /* A supervisor-only upper level hides the user leaf in the user view. */
    uint64_t va = 0x8000000000UL;               /* L4 slot 1 */
    gmap(gl4, va, 113, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_DIRTY);
    *gentry(gl4, va, 3) &= ~_PAGE_USER;
    assert_int_equal(fault(SH_VIEW_USER, va, PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_P | PF_U);
    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_FIXED);

    /* One guest L1 under two L2 entries, the second read-only: the shadow
     * L1 is shared, so the read-only path must stay read-only above it. */
    uint64_t va_a = 0x10000000UL, va_b = 0x10200000UL;
    gmap(gl4, va_a, 114, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    *gentry(gl4, va_b, 2) = (*gentry(gl4, va_a, 2) & PTE_ADDR_MASK) | _PAGE_PRESENT | _PAGE_USER;
    assert_int_equal(fault(SH_VIEW_KERNEL, va_b, PF_U), SH_FIXED);
    assert_int_equal(fault(SH_VIEW_KERNEL, va_a, PF_W | PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(kcr3, va_a, &rw, NULL)), sd->p2m[114]);
    assert_true(rw);
    assert_int_equal(leaf_mfn(swalk(kcr3, va_b, &rw, NULL)), sd->p2m[114]);
    assert_false(rw);
    assert_int_equal(fault(SH_VIEW_KERNEL, va_b, PF_P | PF_W | PF_U), SH_INJECT);
    assert_int_equal(flt.ec, PF_P | PF_W);

    uint64_t gpa;
    assert_int_equal(shadow_translate(sd, &vu, sup, 0, 3, &gpa, &flt), -1);
    assert_int_equal(flt.ec, PF_P | PF_U);
    assert_int_equal(shadow_translate(sd, &vu, sup, EMU_ACC_SYS, 3, &gpa, &flt), 0);
    assert_int_equal(gpa, 110 * PAGE_SIZE);
    scan_pool();
}

static void test_write_protect(void **state)
{
    (void)state;
    uint64_t va = 0x800000, win = 0x900000, win2 = 0x901000;
    gmap(gl4, va, 120, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    uint64_t l1 = (*gentry(gl4, va, 2) & PTE_ADDR_MASK) >> PAGE_SHIFT;
    uint64_t l2 = (*gentry(gl4, va, 3) & PTE_ADDR_MASK) >> PAGE_SHIFT;
    /* The guest maps its own L1 (at win) and L2 (at win2), writable and dirty. */
    gmap(gl4, win, l1, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    gmap(gl4, win2, l2, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);

    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_FIXED);
    assert_int_equal(fault(SH_VIEW_KERNEL, win, PF_U), SH_FIXED);
    bool rw;
    uint64_t e = swalk(cr3, win, &rw, NULL);
    assert_int_equal(leaf_mfn(e), sd->p2m[l1]);
    assert_false(rw);                            /* a guest table: read-only */
    assert_int_equal(fault(SH_VIEW_KERNEL, win + 8, PF_P | PF_W | PF_U), SH_EMULATE);
    assert_int_equal(fault(SH_VIEW_KERNEL, win2 + 8, PF_W | PF_U), SH_EMULATE);

    /* A page mapped writable before it becomes a table loses RW then. */
    uint64_t win3 = 0x902000;
    gmap(gl4, win3, 125, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    assert_int_equal(fault(SH_VIEW_KERNEL, win3, PF_W | PF_U), SH_FIXED);
    swalk(cr3, win3, &rw, NULL);
    assert_true(rw);
    unsigned long fl = tlb_flushes;
    uint64_t va3 = 0xc0000000UL;                 /* new L2 slot: guest L1 is frame 125 */
    *gentry(gl4, va3, 2) = (125UL << PAGE_SHIFT) | UPPER;
    memset(gmem(125), 0, PAGE_SIZE);
    gmap(gl4, va3, 126, _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY);
    assert_int_equal(fault(SH_VIEW_KERNEL, va3, PF_U), SH_FIXED);
    swalk(cr3, win3, &rw, NULL);
    assert_false(rw);
    assert_true(tlb_flushes > fl);
    assert_int_equal(fault(SH_VIEW_KERNEL, win3, PF_P | PF_W | PF_U), SH_EMULATE);

    /* Same in the user view. */
    gmap(gl4, win, l1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_DIRTY);
    assert_int_equal(fault(SH_VIEW_USER, win, PF_W | PF_U), SH_EMULATE);
    assert_int_equal(fault(SH_VIEW_USER, win, PF_U), SH_FIXED);
    swalk(shadow_cr3(sd, &vu, SH_VIEW_USER), win, &rw, NULL);
    assert_false(rw);
    scan_pool();

    /* The guest changes its PTE for va (emulated write): the shadow entry
     * goes, the TLB is flushed, the next fault maps the new frame. */
    uint64_t gpa = gentry_gpa(gl4, va, 1);
    assert_int_equal(gpa >> PAGE_SHIFT, l1);
    *gentry(gl4, va, 1) = (130UL << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY;
    fl = tlb_flushes;
    unsigned long pw = sd->pt_writes;
    shadow_guest_write(sd, gpa, 8);
    assert_true(tlb_flushes > fl);
    assert_int_equal(sd->pt_writes, pw + 1);
    assert_int_equal(swalk(cr3, va, NULL, NULL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, va, NULL, NULL)), sd->p2m[130]);

    /* A write to an entry no shadow holds: nothing dropped, no flush. */
    fl = tlb_flushes;
    shadow_guest_write(sd, (l1 << PAGE_SHIFT) + 300 * 8, 8);
    assert_int_equal(tlb_flushes, fl);
    assert_int_equal(leaf_mfn(swalk(cr3, va, NULL, NULL)), sd->p2m[130]);

    /* A write to a frame that is not a table changes nothing. */
    fl = tlb_flushes;
    shadow_guest_write(sd, 126 * PAGE_SIZE, 8);
    assert_int_equal(tlb_flushes, fl);
    assert_int_equal(leaf_mfn(swalk(cr3, va, NULL, NULL)), sd->p2m[130]);

    /* An L2 entry repointed at another L1 (a 4-byte write inside it). */
    uint64_t nl1 = new_table();
    ((uint64_t *)gmem(nl1))[idx(va, 1)] = (131UL << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    gpa = gentry_gpa(gl4, va, 2);
    *gentry(gl4, va, 2) = (nl1 << PAGE_SHIFT) | UPPER;
    shadow_guest_write(sd, gpa + 4, 4);
    assert_int_equal(swalk(cr3, va, NULL, NULL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, va, NULL, NULL)), sd->p2m[131]);

    /* A 2 MiB page moved: its splinter is freed and rebuilt. */
    uint64_t big = 0x80000000UL;
    gmap2m(gl4, big, 512, _PAGE_PRESENT | _PAGE_RW);
    assert_int_equal(fault(SH_VIEW_KERNEL, big + PAGE_SIZE, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, big + PAGE_SIZE, NULL, NULL)), sd->p2m[513]);
    unsigned int nfree = free_pool_pages();
    gpa = gentry_gpa(gl4, big, 2);
    gmap2m(gl4, big, 1024, _PAGE_PRESENT | _PAGE_RW);
    shadow_guest_write(sd, gpa, 8);
    assert_int_equal(free_pool_pages(), nfree + 1);
    assert_int_equal(swalk(cr3, big + PAGE_SIZE, NULL, NULL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, big + PAGE_SIZE, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, big + PAGE_SIZE, NULL, NULL)), sd->p2m[1025]);
    /* A write of a whole run of entries (stos) covering many: all dropped. */
    gpa = gentry_gpa(gl4, va, 1) & PAGE_MASK;
    shadow_guest_write(sd, gpa, PAGE_SIZE);
    assert_int_equal(swalk(cr3, va, NULL, NULL), 0);
    scan_pool();
}

static void test_hv_slots(void **state)
{
    (void)state;
    /* The guest puts entries of its own in the hypervisor's slots. */
    uint64_t l3 = new_table();
    for (unsigned int s = 256; s <= 271; s++)
        gmem(gl4)[s] = (l3 << PAGE_SHIFT) | UPPER;
    gmap(gl4, 0xffff800000000000UL, 140, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    gmap(gl4, 0xffff830000001000UL, 141, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    gmap(gl4, 0xffff87fffffff000UL, 142, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    gmap(gl4, 0xffff880000000000UL, 143, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    gmap(gl4, 0xffffffff80000000UL, 144, _PAGE_PRESENT | _PAGE_RW);

    for (unsigned int view = 0; view < 2; view++) {
        assert_int_equal(fault(view, 0xffff800000000000UL, PF_U), SH_BAD);
        assert_int_equal(fault(view, 0xffff830000001008UL, PF_W | PF_U), SH_BAD);
        assert_int_equal(fault(view, 0xffff87ffffffffffUL, PF_U), SH_BAD);
        assert_int_equal(fault(view, 0xffff880000000000UL, PF_U), SH_FIXED);
    }
    assert_int_equal(fault(SH_VIEW_KERNEL, 0xffffffff80000000UL, PF_U), SH_FIXED);
    unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    assert_int_equal(leaf_mfn(swalk(cr3, 0xffff880000000000UL, NULL, NULL)), sd->p2m[143]);
    assert_int_equal(leaf_mfn(swalk(cr3, 0xffffffff80000000UL, NULL, NULL)), sd->p2m[144]);

    /* The guest rewrites its L4's hypervisor slots: nothing changes. */
    shadow_guest_write(sd, (gl4 << PAGE_SHIFT) + 256 * 8, 16 * 8);
    shadow_guest_write(sd, gl4 << PAGE_SHIFT, PAGE_SIZE);

    /* A second guest L4 and the paging-off map carry the same slots. */
    uint64_t other = new_table();
    gmem(other)[300] = (l3 << PAGE_SHIFT) | UPPER;
    vu.cr3 = other << PAGE_SHIFT;
    assert_int_not_equal(shadow_cr3(sd, &vu, SH_VIEW_USER), 0);
    vu.cr0 = X86_CR0_PE;
    assert_int_not_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), 0);
    unsigned int l4s = 0;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        if (sd->pool[i].kind != SH_FREE && sd->pool[i].level == 4) {
            const uint64_t *t = mfn_to_virt(sd->pool[i].mfn);
            assert_int_equal(t[256], 0);
            for (unsigned int s = 257; s <= 271; s++)
                assert_int_equal(t[s], idle_pg_table[s]);
            l4s++;
        }
    assert_int_equal(l4s, 4);
    scan_pool();
}

static void test_bad_frames(void **state)
{
    (void)state;
    uint64_t gpa;
    /* A PTE past the end of RAM. */
    uint64_t va = 0xa00000;
    gmap(gl4, va, GUEST_PAGES + 5, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_BAD);
    assert_int_equal(fault(SH_VIEW_USER, va, PF_W | PF_U), SH_BAD);
    assert_int_equal(shadow_translate(sd, &vu, va, 0, 0, &gpa, &flt), -2);
    /* The largest address a PTE can hold (the hypervisor's frames, say). */
    gmap(gl4, va + PAGE_SIZE, 0xffffffffffUL, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    assert_int_equal(fault(SH_VIEW_KERNEL, va + PAGE_SIZE, PF_U), SH_BAD);
    gmap(gl4, va + 2 * PAGE_SIZE, GUEST_PAGES, _PAGE_PRESENT);      /* one past the end */
    assert_int_equal(fault(SH_VIEW_KERNEL, va + 2 * PAGE_SIZE, PF_U), SH_BAD);
    /* An upper-level entry pointing at a "table" outside RAM. */
    uint64_t va2 = 0x20000000000UL;             /* L4 slot 4 */
    *gentry(gl4, va2, 3) = ((GUEST_PAGES + 1) << PAGE_SHIFT) | UPPER;
    assert_int_equal(fault(SH_VIEW_KERNEL, va2, PF_U), SH_BAD);
    assert_int_equal(shadow_translate(sd, &vu, va2, 0, 0, &gpa, &flt), -2);
    /* A 1 GiB guest page (not modelled): refused, nothing mapped. */
    uint64_t va3 = 0x30000000000UL;             /* L4 slot 6 */
    *gentry(gl4, va3, 3) = (512UL << PAGE_SHIFT) | UPPER | _PAGE_PSE;
    assert_int_equal(fault(SH_VIEW_KERNEL, va3 + PAGE_SIZE, PF_U), SH_BAD);
    assert_int_equal(swalk(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), va3 + PAGE_SIZE, NULL, NULL), 0);
    /* A CR3 outside RAM: no shadow, no fill. */
    vu.cr3 = (GUEST_PAGES + 2) << PAGE_SHIFT;
    assert_int_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, 0x1000, PF_U), SH_BAD);
    vu.cr3 = gl4 << PAGE_SHIFT;

    /* A mix of good and bad faults: every leaf maps the domain's RAM. */
    for (unsigned int i = 0; i < 64; i++) {
        uint64_t v = 0x1000000UL + i * 0x201000UL;
        gmap(gl4, v, i % 3 ? 150 + i : GUEST_PAGES + i,
             _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_DIRTY);
        int rc = fault(i & 1, v, PF_W | PF_U);
        assert_int_equal(rc, i % 3 ? SH_FIXED : SH_BAD);
    }
    assert_int_equal(fault(SH_VIEW_KERNEL, va, PF_U), SH_BAD);
    assert_true(scan_pool() >= 40);
}

static void test_cr3_cache(void **state)
{
    (void)state;
    uint64_t a = gl4, b = new_table();
    uint64_t kva = 0xffffffff80200000UL, ua = 0x400000, ub = 0x400000;
    gmap(a, kva, 160, _PAGE_PRESENT | _PAGE_RW);
    gmem(b)[511] = gmem(a)[511];                 /* shared kernel half */
    gmap(a, ua, 161, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    gmap(b, ub, 162, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);

    vu.cr3 = a << PAGE_SHIFT;
    unsigned long ca = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    assert_int_equal(fault(SH_VIEW_KERNEL, kva, PF_U), SH_FIXED);
    assert_int_equal(fault(SH_VIEW_KERNEL, ua, PF_U), SH_FIXED);
    unsigned long fills = sd->fills;

    vu.cr3 = b << PAGE_SHIFT;
    unsigned long cb = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    assert_int_not_equal(ca, cb);
    assert_int_equal(swalk(cb, ub, NULL, NULL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, ub, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cb, ub, NULL, NULL)), sd->p2m[162]);
    /* The kernel half is already there through the shared shadow L3. */
    assert_int_equal(fault(SH_VIEW_KERNEL, kva, PF_U), SH_FIXED);
    const uint64_t *ta = mfn_to_virt(ca >> PAGE_SHIFT), *tb = mfn_to_virt(cb >> PAGE_SHIFT);
    assert_true(ta[511] & _PAGE_PRESENT);
    assert_int_equal(ta[511] & PTE_ADDR_MASK, tb[511] & PTE_ADDR_MASK);
    assert_int_equal(leaf_mfn(swalk(cb, kva, NULL, NULL)), sd->p2m[160]);

    /* Back to a: the same shadow, its translations still in place. */
    vu.cr3 = a << PAGE_SHIFT;
    assert_int_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), ca);
    assert_int_equal(leaf_mfn(swalk(ca, ua, NULL, NULL)), sd->p2m[161]);
    assert_int_equal(leaf_mfn(swalk(ca, kva, NULL, NULL)), sd->p2m[160]);
    vu.cr3 = b << PAGE_SHIFT;
    assert_int_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), cb);
    assert_int_equal(sd->fills, fills + 2);
    assert_int_equal(sd->resets, 0);

    /* A change in the shared kernel half is seen from both. */
    uint64_t gpa = gentry_gpa(a, kva, 1);
    *gentry(a, kva, 1) = (163UL << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    shadow_guest_write(sd, gpa, 8);
    assert_int_equal(swalk(ca, kva, NULL, NULL), 0);
    assert_int_equal(swalk(cb, kva, NULL, NULL), 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, kva, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(ca, kva, NULL, NULL)), sd->p2m[163]);
    scan_pool();
}

static void test_pool_exhaustion(void **state)
{
    (void)state;
    /* 600 guest 2 MiB pages, each a splinter: more than SH_POOL_PAGES. */
    uint64_t base = 1UL << 39;                  /* L4 slot 1 */
    unsigned int n = SH_POOL_PAGES + 88;
    for (unsigned int i = 0; i < n; i++)
        gmap2m(gl4, base + i * 0x200000UL, 512, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
    unsigned long loads = cr3_loads;
    for (unsigned int i = 0; i < n; i++) {
        uint64_t v = base + i * 0x200000UL + (i % 512) * PAGE_SIZE;
        assert_int_equal(fault(SH_VIEW_USER, v, PF_U), SH_FIXED);
        unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_USER);
        assert_false(sd->reset_pending);
        assert_int_equal(leaf_mfn(swalk(cr3, v, NULL, NULL)), sd->p2m[512 + i % 512]);
    }
    assert_true(sd->resets > 0);
    assert_true(cr3_loads > loads);             /* left the pool before dropping it */
    assert_int_equal(last_cr3, idle_cr3());
    /* Still works afterwards, for an old address and a new one. */
    assert_int_equal(fault(SH_VIEW_USER, base, PF_U), SH_FIXED);
    assert_int_equal(fault(SH_VIEW_KERNEL, base + 3 * 0x200000UL + PAGE_SIZE, PF_W | PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(shadow_cr3(sd, &vu, SH_VIEW_KERNEL),
                                    base + 3 * 0x200000UL + PAGE_SIZE, NULL, NULL)), sd->p2m[513]);
    scan_pool();

    /* An explicit reset drops everything and flags a CR3 reload. */
    shadow_reset(sd);
    assert_true(sd->reset_pending);
    assert_int_equal(free_pool_pages(), SH_POOL_PAGES);
    assert_int_not_equal(shadow_cr3(sd, &vu, SH_VIEW_USER), 0);
    assert_false(sd->reset_pending);
    assert_int_equal(fault(SH_VIEW_USER, base, PF_U), SH_FIXED);
}

static void test_paging_off(void **state)
{
    (void)state;
    vu.cr0 = X86_CR0_PE;
    vu.cr3 = 0x12345000;                          /* ignored */
    unsigned long cr3 = shadow_cr3(sd, &vu, SH_VIEW_KERNEL);
    assert_int_not_equal(cr3, 0);
    assert_int_equal(fault(SH_VIEW_KERNEL, 0x5123, PF_W | PF_U), SH_FIXED);
    bool rw, us;
    assert_int_equal(leaf_mfn(swalk(cr3, 0x5000, &rw, &us)), sd->p2m[5]);
    assert_true(rw && us);
    uint64_t last = (GUEST_PAGES - 1) * PAGE_SIZE;
    assert_int_equal(fault(SH_VIEW_KERNEL, last + 0xfff, PF_U), SH_FIXED);
    assert_int_equal(leaf_mfn(swalk(cr3, last, NULL, NULL)), sd->p2m[GUEST_PAGES - 1]);
    assert_int_equal(fault(SH_VIEW_KERNEL, GUEST_PAGES * PAGE_SIZE, PF_U), SH_BAD);
    assert_int_equal(fault(SH_VIEW_KERNEL, (1UL << 32) + 0x5000, PF_U), SH_BAD);
    assert_int_equal(swalk(cr3, GUEST_PAGES * PAGE_SIZE, NULL, NULL), 0);
    assert_int_equal(shadow_cr3(sd, &vu, SH_VIEW_KERNEL), cr3);

    uint64_t gpa;
    assert_int_equal(shadow_translate(sd, &vu, 0x7654, EMU_ACC_W, 0, &gpa, &flt), 0);
    assert_int_equal(gpa, 0x7654);
    assert_int_equal(shadow_translate(sd, &vu, GUEST_PAGES * PAGE_SIZE, 0, 0, &gpa, &flt), -2);
    assert_int_equal(*(uint8_t *)shadow_gpa_to_virt(sd, 0x7654),
                     ((uint8_t *)mfn_to_virt(sd->p2m[7]))[0x654]);
    scan_pool();
}

static void test_init_destroy(void **state)
{
    (void)state;
    /* (the fixture checks that shadow_destroy gives every frame back) */
    struct shadow_domain *s2 = calloc(1, sizeof(*s2));
    assert_non_null(s2);
    unsigned long before = nr_allocated;
    alloc_limit = nr_allocated + 100;           /* heap too short for a pool */
    assert_int_equal(shadow_init(s2, 64), -XEN_ENOMEM);
    assert_int_equal(nr_allocated, before);
    alloc_limit = ~0UL;
    free(s2);
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        assert_true(allocated[sd->pool[i].mfn]);

    /* A used pool (with a reset behind it) goes back whole. */
    for (unsigned int i = 0; i < 40; i++)
        gmap2m(gl4, (1UL << 39) + i * 0x200000UL, 512, _PAGE_PRESENT | _PAGE_RW);
    for (unsigned int i = 0; i < 40; i++)
        assert_int_equal(fault(SH_VIEW_KERNEL, (1UL << 39) + i * 0x200000UL, PF_U), SH_FIXED);
    shadow_reset(sd);
    assert_int_equal(fault(SH_VIEW_KERNEL, 1UL << 39, PF_U), SH_FIXED);
    assert_true(free_pool_pages() < SH_POOL_PAGES);
    destroy();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fill_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill_2m, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_protect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hv_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cr3_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_destroy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
