/*
 * test_mm.c - host unit tests (cmocka) of hypervisor/mm.c and mm_hcall.c:
 * the frame allocator, frame-table type/refcount rules, 64-bit PV page-table
 * validation, and the mmu_update / mmuext_op / update_va_mapping /
 * memory_op hypercalls with Xen's errors.
 *
 * Runs on the host.  "Machine memory" is a malloc'd, page-aligned array of
 * NR_FRAMES frames; guest virtual addresses given to copy_{from,to}_guest
 * are host pointers, except the range [BAD_VA, BAD_VA + BAD_LEN), which
 * faults (-EFAULT), like an unmapped guest page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../hypervisor/mm/mm.c"
#include "../../hypervisor/mm/paging.c"
#include "../../hypervisor/mm/mm_hcall.c"

#include "heap_stub.h"
#include "mm_fixture.h"

/* ---- allocator and boot ------------------------------------------------------ */

static void test_init_layout(void **state)
{
    unsigned long ft_frames = (NR_FRAMES * sizeof(struct page_info) + PAGE_SIZE - 1) / PAGE_SIZE;
    unsigned long m2p_frames = NR_FRAMES * 8 / PAGE_SIZE;
    unsigned long low = 256, res = (RES_END - RES_START) / PAGE_SIZE;
    uint64_t *l3, *l2, *l1;
    unsigned long i;

    assert_int_equal(max_mfn, NR_FRAMES);
    /* all frames minus low 1 MiB, image, frame table, M2P, and the M2P's L3+L2+L1 */
    assert_int_equal(mm_free_frames(), NR_FRAMES - low - res - ft_frames - m2p_frames - 3);
    for (i = 0; i < NR_FRAMES; i++)
        assert_int_equal(m2p_table[i], INVALID_MFN);
    /* slot 256 user-readable; the other hypervisor slots are not */
    assert_true(idle_pg_table[256] & _PAGE_USER);
    assert_true(idle_pg_table[256] & _PAGE_PRESENT);
    for (i = 257; i <= 271; i++)
        assert_false(idle_pg_table[i] & _PAGE_USER);
    /* walk RO_MPT_VIRT_START: it maps the M2P's frames read-only */
    l3 = tab(pte_mfn(idle_pg_table[256]));
    assert_true(l3[0] & _PAGE_USER);
    l2 = tab(pte_mfn(l3[0]));
    l1 = tab(pte_mfn(l2[0]));
    for (i = 0; i < m2p_frames; i++) {
        assert_int_equal(pte_mfn(l1[i]), virt_to_mfn(m2p_table) + i);
        assert_true(l1[i] & _PAGE_USER);
        assert_false(l1[i] & _PAGE_RW);
    }
    assert_int_equal(l1[m2p_frames], 0);
    /* nothing in the low 1 MiB or the image is free */
    for (i = 0; i < NR_FRAMES; i++)
        if (i < low || (i >= RES_START / PAGE_SIZE && i < RES_END / PAGE_SIZE))
            assert_false(frame_table[i].count_info & PGC_free);
}

static void test_alloc_accounting(void **state)
{
    struct domain *d = dom[1];
    unsigned long mfn, x, n = 0, i;

    d->max_pages = 3;
    for (i = 0; i < 3; i++) {
        mfn = alloc(d);
        assert_ptr_equal(frame_table[mfn].owner, d);
        assert_int_equal(frame_table[mfn].count_info, PGC_allocated | 1);
        assert_int_equal(((uint64_t *)mfn_to_virt(mfn))[7], 0);     /* zeroed */
    }
    assert_int_equal(alloc_domain_frame(d, &mfn), -XEN_ENOMEM);
    assert_int_equal(d->tot_pages, 3);
    for (x = d->page_list_head; x != INVALID_MFN; x = frame_table[x].next)
        n++;
    assert_int_equal(n, 3);
    assert_int_equal(mm_free_frames(), free_at_start - 3);
    mm_relinquish_domain(d);
    assert_int_equal(d->tot_pages, 0);
    assert_int_equal(d->page_list_head, INVALID_MFN);
    assert_int_equal(mm_free_frames(), free_at_start);

    x = alloc_xen_frame();
    assert_true(frame_table[x].count_info & PGC_xen_heap);
    assert_false(get_page(x, dom[0]));
    free_xen_frame(x);
    assert_int_equal(mm_free_frames(), free_at_start);
}

static void test_out_of_memory(void **state)
{
    struct domain *d = dom[1];
    unsigned long mfn, got = 0;

    d->max_pages = ~0UL;
    while (alloc_domain_frame(d, &mfn) == 0)
        got++;
    assert_int_equal(got, free_at_start);
    assert_int_equal(mm_free_frames(), 0);
    assert_int_equal(alloc_xen_frame(), INVALID_MFN);
    mm_relinquish_domain(d);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* ---- type and reference rules ------------------------------------------------ */

static void test_type_change_only_at_zero(void **state)
{
    unsigned long f = alloc(dom[0]);

    assert_true(get_page(f, dom[0]));
    assert_int_equal(get_page_type(f, PGT_writable_page), 0);
    assert_int_equal(get_page_type(f, PGT_l1_page_table), -XEN_EINVAL);
    assert_int_equal(get_page_type(f, PGT_seg_desc_page), -XEN_EINVAL);
    put_page_type(f);
    assert_int_equal(get_page_type(f, PGT_l1_page_table), 0);   /* count 0: may change */
    assert_true(frame_table[f].type_info & PGT_validated);
    assert_int_equal(get_page_type(f, PGT_writable_page), -XEN_EINVAL);
    assert_int_equal(get_page_type(f, PGT_l2_page_table), -XEN_EINVAL);
    put_page_type(f);
    assert_false(frame_table[f].type_info & PGT_validated);     /* devalidated */
    put_page(f);
    assert_int_equal(count_of(f), 1);
    assert_false(get_page(f, dom[1]));                          /* not the owner */
    assert_false(get_page(INVALID_MFN, dom[0]));
    assert_false(get_page(NR_FRAMES, dom[0]));
}

static void test_l1_validation(void **state)
{
    struct domain *d = dom[0];
    unsigned long l1 = alloc(d), data = alloc(d), other = alloc(dom[1]);
    unsigned long xenf = alloc_xen_frame(), freef;

    /* own frame RW + RO, read-only self map: fine; refs taken; USER forced */
    tab(l1)[0] = pte(data, P | RW);
    tab(l1)[1] = pte(data, P);
    tab(l1)[2] = pte(l1, P);
    assert_true(get_page(l1, d));
    assert_int_equal(get_page_type(l1, PGT_l1_page_table), 0);
    assert_int_equal(count_of(data), 3);
    assert_int_equal(tcount_of(data), 1);
    assert_int_equal(type_of(data), PGT_writable_page);
    assert_true(tab(l1)[0] & _PAGE_USER);
    assert_int_equal(count_of(l1), 3);      /* alloc + ours + self map */
    /* a frame mapped writable can never become a table */
    assert_true(get_page(data, d));
    assert_int_equal(get_page_type(data, PGT_l1_page_table), -XEN_EINVAL);
    put_page(data);
    put_page_type(l1);
    assert_int_equal(count_of(data), 1);
    assert_int_equal(tcount_of(data), 0);
    assert_int_equal(count_of(l1), 2);

    /* each bad entry, alone, makes validation fail and leaves no refs */
    struct { uint64_t e; int rc; } bad[] = {
        { pte(other, P), -XEN_EBUSY },                 /* other domain's */
        { pte(other, P | RW), -XEN_EBUSY },
        { pte(xenf, P), -XEN_EBUSY },                  /* hypervisor frame */
        { pte(l1, P | RW), -XEN_EBUSY },               /* itself, writable */
        { pte(NR_FRAMES + 5, P), -XEN_EPERM },         /* not RAM */
        { pte(data, P | _PAGE_PCD), -XEN_EINVAL },     /* cache attrs, domU-like */
        { pte(l1, P | PTE_LOGDIRTY), -XEN_EBUSY },        /* bit 62 stands for RW */
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(tab(l1), 0, PAGE_SIZE);
        tab(l1)[0] = pte(data, P | RW);
        tab(l1)[5] = bad[i].e;
        assert_int_equal(get_page_type(l1, PGT_l1_page_table), bad[i].rc);
        assert_int_equal(type_of(l1), PGT_none);
        assert_int_equal(count_of(data), 1);
        assert_int_equal(tcount_of(data), 0);
        assert_int_equal(count_of(other), 1);
    }
    /* a free frame */
    freef = free_head;
    memset(tab(l1), 0, PAGE_SIZE);
    tab(l1)[0] = pte(freef, P);
    assert_int_equal(get_page_type(l1, PGT_l1_page_table), -XEN_EBUSY);
    /* dom0 (privileged) may use cache attributes */
    d->is_privileged = true;
    tab(l1)[0] = pte(data, P | _PAGE_PCD | _PAGE_GLOBAL);
    assert_int_equal(get_page_type(l1, PGT_l1_page_table), 0);
    assert_false(tab(l1)[0] & _PAGE_GLOBAL);
    assert_true(tab(l1)[0] & PTE_GUEST_KERNEL);
    put_page_type(l1);
    put_page(l1);
    assert_int_equal(count_of(data), 1);
    assert_int_equal(count_of(l1), 1);
}

static void test_upper_levels(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned long other_l1 = alloc(dom[1]);
    unsigned int i;

    /* guest junk in the hypervisor slots is replaced, takes no refs */
    tab(t.l4)[256] = pte(t.data, P | RW);
    tab(t.l4)[271] = pte(t.l3, P | RW);
    assert_true(get_page(t.l4, d));
    assert_int_equal(get_page_type(t.l4, PGT_l4_page_table), 0);
    for (i = HV_FIRST_L4_SLOT; i <= HV_LAST_L4_SLOT; i++)
        assert_int_equal(tab(t.l4)[i], idle_pg_table[i]);
    assert_int_equal(type_of(t.l3), PGT_l3_page_table);
    assert_int_equal(type_of(t.l2), PGT_l2_page_table);
    assert_int_equal(type_of(t.l1), PGT_l1_page_table);
    assert_int_equal(tcount_of(t.l3), 1);
    assert_true(tab(t.l4)[0] & _PAGE_USER);
    assert_true(tab(t.l3)[0] & _PAGE_USER);
    assert_true(tab(t.l2)[0] & _PAGE_USER);
    assert_int_equal(count_of(t.data), 2);
    put_page_type(t.l4);
    put_page(t.l4);
    /* whole tree devalidated, all counts back */
    assert_int_equal(tcount_of(t.l3), 0);
    assert_int_equal(tcount_of(t.l1), 0);
    assert_int_equal(count_of(t.l1), 1);
    assert_int_equal(count_of(t.data), 1);
    assert_int_equal(count_of(t.l4), 1);

    /* L2 superpage; L2 -> data frame; L2 -> L2 (linear); L2 -> foreign L1;
     * L3 -> L1 (skipping a level); L4 with PCD */
    struct { unsigned long table, type; unsigned int slot; uint64_t e; int rc; } bad[] = {
        { t.l2, PGT_l2_page_table, 3, pte(t.data, P | _PAGE_PSE), -XEN_EINVAL },
        { t.l2, PGT_l2_page_table, 3, pte(t.l2, P), -XEN_EINVAL },
        { t.l2, PGT_l2_page_table, 3, pte(other_l1, P), -XEN_EINVAL },
        { t.l3, PGT_l3_page_table, 3, pte(t.l1, P), -XEN_EINVAL },
        { t.l4, PGT_l4_page_table, 3, pte(t.l3, P | _PAGE_PCD), -XEN_EINVAL },
    };
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        tab(bad[i].table)[bad[i].slot] = bad[i].e;
        assert_true(get_page(bad[i].table, d));
        assert_int_equal(get_page_type(bad[i].table, bad[i].type), bad[i].rc);
        put_page(bad[i].table);
        tab(bad[i].table)[bad[i].slot] = 0;
        assert_int_equal(tcount_of(t.l1), 0);
        assert_int_equal(count_of(t.l1), 1);
        assert_int_equal(count_of(t.data), 1);
        assert_int_equal(count_of(other_l1), 1);
    }
    /* L2 pointing at the data frame, which L2[0]'s L1 maps writable: the
     * data frame cannot become an L1, so the L2 is refused. */
    memset(tab(t.data), 0, PAGE_SIZE);
    tab(t.l2)[3] = pte(t.data, P);
    assert_true(get_page(t.l2, d));
    assert_int_equal(get_page_type(t.l2, PGT_l2_page_table), -XEN_EINVAL);
    assert_int_equal(type_of(t.l2), PGT_none);
    put_page(t.l2);
    assert_int_equal(count_of(t.data), 1);
}

static void test_segdesc(void **state)
{
    struct domain *d = dom[0];
    unsigned long g = alloc(d), l1 = alloc(d);

    tab(g)[3] = BAD_DESC;
    assert_true(get_page(g, d));
    assert_int_equal(get_page_type(g, PGT_seg_desc_page), -XEN_EINVAL);
    tab(g)[3] = 0x00af9a000000ffffUL;
    assert_int_equal(get_page_type(g, PGT_seg_desc_page), 0);
    /* no writable mapping of a descriptor page; read-only is fine */
    tab(l1)[0] = pte(g, P | RW);
    assert_int_equal(mm_pin_table(d, l1, PGT_l1_page_table), -XEN_EBUSY);
    tab(l1)[0] = pte(g, P);
    assert_int_equal(mm_pin_table(d, l1, PGT_l1_page_table), 0);
    /* mmu_update of a descriptor frame (not a table, not writable): -EINVAL */
    struct mmu_update u = { .ptr = pte(g, 0) + 8, .val = 0 };
    assert_int_equal(do_mmu_update((uintptr_t)&u, 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(mm_unpin_table(d, l1), 0);
    put_page_type(g);
    put_page(g);
}

/* ---- mmu_update ---------------------------------------------------------------- */

static void test_mmu_update_batch(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned long a = alloc(d), b = alloc(d), other = alloc(dom[1]);
    unsigned long a_cnt = count_of(a), b_cnt = count_of(b);
    unsigned int done = 99;

    assert_int_equal(mm_pin_table(d, t.l1, PGT_l1_page_table), 0);
    uint64_t l1ma = t.l1 << PAGE_SHIFT;
    struct mmu_update req[3] = {
        { l1ma + 8 * 10, pte(a, P | RW) },
        { l1ma + 8 * 11, pte(other, P) },          /* fails: -EBUSY */
        { l1ma + 8 * 12, pte(b, P | RW) },
    };
    assert_int_equal(do_mmu_update((uintptr_t)req, 3, (uintptr_t)&done, DOMID_SELF), -XEN_EBUSY);
    assert_int_equal(done, 1);
    assert_int_equal(pte_mfn(tab(t.l1)[10]), a);
    assert_true(tab(t.l1)[10] & _PAGE_USER);
    assert_int_equal(tab(t.l1)[11], 0);
    assert_int_equal(tab(t.l1)[12], 0);
    assert_int_equal(count_of(a), a_cnt + 1);
    assert_int_equal(tcount_of(a), 1);
    assert_int_equal(count_of(b), b_cnt);
    assert_int_equal(count_of(other), 1);

    /* the rest of the batch, then unmap a: counts back where they started */
    done = 0;
    assert_int_equal(do_mmu_update((uintptr_t)&req[2], 1, (uintptr_t)&done, DOMID_SELF), 0);
    assert_int_equal(done, 1);
    struct mmu_update unmap[2] = { { l1ma + 8 * 10, 0 }, { l1ma + 8 * 12, 0 } };
    assert_int_equal(do_mmu_update((uintptr_t)unmap, 2, 0, DOMID_SELF), 0);
    assert_int_equal(count_of(a), a_cnt);
    assert_int_equal(tcount_of(a), 0);
    assert_int_equal(count_of(b), b_cnt);

    /* a table frame may not be mapped writable, but read-only is fine */
    struct mmu_update ptrw = { l1ma + 8 * 20, pte(t.l1, P | RW) };
    assert_int_equal(do_mmu_update((uintptr_t)&ptrw, 1, 0, DOMID_SELF), -XEN_EBUSY);
    assert_int_equal(tab(t.l1)[20], 0);
    ptrw.val = pte(t.l1, P);
    assert_int_equal(do_mmu_update((uintptr_t)&ptrw, 1, 0, DOMID_SELF), 0);
    /* replacing an entry by itself keeps counts */
    unsigned long c = count_of(t.l1);
    assert_int_equal(do_mmu_update((uintptr_t)&ptrw, 1, 0, DOMID_SELF), 0);
    assert_int_equal(count_of(t.l1), c);
    ptrw.val = 0;
    assert_int_equal(do_mmu_update((uintptr_t)&ptrw, 1, 0, DOMID_SELF), 0);
    assert_int_equal(count_of(t.l1), c - 1);

    /* page not owned by the caller: -EINVAL */
    struct mmu_update foreign = { other << PAGE_SHIFT, 0 };
    assert_int_equal(do_mmu_update((uintptr_t)&foreign, 1, 0, DOMID_SELF), -XEN_EINVAL);
    /* a plain data frame: a plain write */
    struct mmu_update plain = { (a << PAGE_SHIFT) + 16, 0x1234 };
    assert_int_equal(do_mmu_update((uintptr_t)&plain, 1, 0, DOMID_SELF), 0);
    assert_int_equal(tab(a)[2], 0x1234);
    assert_int_equal(tcount_of(a), 0);
    /* unknown sub-command: ptr[2:0] only 0..3 exist */
    struct mmu_update unk = { (a << PAGE_SHIFT) | 5, 0 };
    assert_int_equal(do_mmu_update((uintptr_t)&unk, 1, 0, DOMID_SELF), -XEN_ENOSYS);
    /* MMU_MACHPHYS_UPDATE */
    struct mmu_update mp = { (a << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 42 };
    assert_int_equal(do_mmu_update((uintptr_t)&mp, 1, 0, DOMID_SELF), 0);
    assert_int_equal(m2p_table[a], 42);
    mp.ptr = (other << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    assert_int_equal(do_mmu_update((uintptr_t)&mp, 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(m2p_table[other], INVALID_MFN);

    /* another domain's page table in use (validated and pinned, the case
     * mmu_update takes without a reference of its own): -EINVAL, and its
     * entry and counts stay as they were */
    struct tree ot = build_tree(dom[1]);
    unsigned long od = alloc(dom[1]);
    assert_int_equal(mm_pin_table(dom[1], ot.l1, PGT_l1_page_table), 0);
    uint64_t before = tab(ot.l1)[7];
    unsigned long oc = count_of(ot.l1), odc = count_of(od);
    struct mmu_update theirs = { (ot.l1 << PAGE_SHIFT) + 8 * 7, pte(a, P) };
    assert_int_equal(do_mmu_update((uintptr_t)&theirs, 1, 0, DOMID_SELF), -XEN_EINVAL);
    theirs.val = pte(od, P | RW);
    assert_int_equal(do_mmu_update((uintptr_t)&theirs, 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(tab(ot.l1)[7], before);
    assert_int_equal(count_of(ot.l1), oc);
    assert_int_equal(count_of(od), odc);
    assert_int_equal(mm_unpin_table(dom[1], ot.l1), 0);
    assert_int_equal(mm_unpin_table(d, t.l1), 0);
}

/* Issue 10 item 2: a long mmu_update stops after a stride when preemption
 * is due and says how to resume (Xen's encoding: remaining requests, count
 * | MMU_UPDATE_PREEMPTED, done so far in *pdone); the resumed call finishes
 * the batch and reports the total. */
static void test_mmu_update_continuation(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned long a = alloc(d);
    enum { N = 3 * HYPERCALL_PREEMPT_STRIDE + 5 };
    static struct mmu_update req[N];
    unsigned int done = 0;

    assert_int_equal(mm_pin_table(d, t.l1, PGT_l1_page_table), 0);
    for (unsigned int i = 0; i < N; i++)
        req[i] = (struct mmu_update){ (t.l1 << PAGE_SHIFT) + 8 * i, pte(a, P) };

    preempt_after = 2;                      /* due at the second check */
    preempt_calls = 0;
    cont_nr = 0;
    assert_int_equal(do_mmu_update((uintptr_t)req, N, (uintptr_t)&done, DOMID_SELF), 0);
    assert_int_equal(cont_nr, __HYPERVISOR_mmu_update);
    assert_int_equal(done, 2 * HYPERCALL_PREEMPT_STRIDE);
    assert_int_equal(cont_args[0], (uintptr_t)&req[2 * HYPERCALL_PREEMPT_STRIDE]);
    assert_int_equal(cont_args[1], (N - 2 * HYPERCALL_PREEMPT_STRIDE) | MMU_UPDATE_PREEMPTED);
    assert_int_equal(cont_args[2], (uintptr_t)&done);
    assert_int_equal(cont_args[3], DOMID_SELF);

    /* Resume as the guest would (re-executing with the new arguments). */
    preempt_after = 0;
    cont_nr = 0;
    assert_int_equal(do_mmu_update(cont_args[0], (unsigned int)cont_args[1],
                                   cont_args[2], (unsigned int)cont_args[3]), 0);
    assert_int_equal(cont_nr, 0);
    assert_int_equal(done, N);
    for (unsigned int i = 0; i < N; i++)
        assert_int_equal(pte_mfn(tab(t.l1)[i]), a);
}

static void test_mmu_update_l4_slots_and_faults(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned int done = 7;

    assert_int_equal(mm_pin_l4(d, t.l4), 0);
    uint64_t l4ma = t.l4 << PAGE_SHIFT;
    struct mmu_update u[3] = {
        { l4ma + 8 * 256, tab(t.l4)[0] },
        { l4ma + 8 * 261, tab(t.l4)[0] },
        { l4ma + 8 * 271, 0 },
    };
    for (unsigned int i = 0; i < 3; i++)
        assert_int_equal(do_mmu_update((uintptr_t)&u[i], 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(tab(t.l4)[271], idle_pg_table[271]);
    /* a guest L4 entry: L4[1] -> the same L3 again */
    struct mmu_update ok = { l4ma + 8, pte(t.l3, P | RW) };
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, (uintptr_t)&done, DOMID_SELF), 0);
    assert_int_equal(done, 1);
    assert_int_equal(tcount_of(t.l3), 2);
    /* L3 -> L3 (same level) refused */
    struct mmu_update lin = { (t.l3 << PAGE_SHIFT) + 8, pte(t.l3, P) };
    assert_int_equal(do_mmu_update((uintptr_t)&lin, 1, 0, DOMID_SELF), -XEN_EINVAL);

    /* bad request pointers */
    assert_int_equal(do_mmu_update(BAD_VA, 1, 0, DOMID_SELF), -XEN_EFAULT);
    assert_int_equal(do_mmu_update(HV_VIRT_START + 0x1000, 1, 0, DOMID_SELF), -XEN_EFAULT);
    assert_int_equal(do_mmuext_op(BAD_VA, 1, 0, DOMID_SELF), -XEN_EFAULT);
    assert_int_equal(do_mmuext_op(XEN_VIRT_START, 1, 0, DOMID_SELF), -XEN_EFAULT);
    /* foreign domains */
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, 0, 1), -XEN_EPERM);
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, 0, 0), -XEN_ESRCH);   /* own id */
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, 0, 9), -XEN_ESRCH);
    assert_int_equal(do_mmuext_op((uintptr_t)&ok, 1, 0, 1), -XEN_EPERM);
    d->is_privileged = true;
    /* page tables of another domain (pt_dom = 1 + 1): not supported */
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, 0, (2u << 16) | DOMID_SELF), -XEN_ENOSYS);
    d->is_privileged = false;
    assert_int_equal(do_mmu_update((uintptr_t)&ok, 1, 0, (2u << 16) | DOMID_SELF), -XEN_EPERM);
    /* count 0: nothing to do, pdone 0 */
    done = 5;
    assert_int_equal(do_mmu_update(BAD_VA, 0, (uintptr_t)&done, DOMID_SELF), 0);
    assert_int_equal(done, 0);
}

/* ---- mmuext_op, base pointers, update_va_mapping --------------------------------- */

static long ext1(unsigned int cmd, unsigned long arg)
{
    struct mmuext_op op = { .cmd = cmd };

    op.arg1.mfn = arg;
    return do_mmuext_op((uintptr_t)&op, 1, 0, DOMID_SELF);
}

static void test_pin_unpin(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned long other = alloc(dom[1]);
    struct vcpu *v = current;

    /* wrong types: data frame mapped writable as L1/L4; L1 as L2 */
    assert_int_equal(mm_pin_table(d, t.l1, PGT_l1_page_table), 0);
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, t.data), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_PIN_L4_TABLE, t.data), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_PIN_L2_TABLE, t.l1), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, t.l1), -XEN_EINVAL);   /* already pinned */
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, other), -XEN_EINVAL);  /* not ours */
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, other), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, t.l1), 0);
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, t.l1), -XEN_EINVAL);    /* not pinned */
    assert_int_equal(type_of(t.l1), PGT_l1_page_table);
    assert_int_equal(tcount_of(t.l1), 0);
    assert_int_equal(tcount_of(t.data), 0);
    /* keep the data frame mapped writable for what follows */
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, t.l1), 0);
    assert_int_equal(tcount_of(t.data), 1);

    /* base pointers: a data frame or an L1 is not an L4 */
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, t.data), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, t.l1), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, other), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, 0), -XEN_EINVAL);
    assert_int_equal(v->guest_table, 0);

    /* pin + install the L4; unpinning it while in use succeeds (Xen) */
    assert_int_equal(ext1(MMUEXT_PIN_L4_TABLE, t.l4), 0);
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, t.l4), 0);
    assert_int_equal(v->guest_table, t.l4);
    assert_int_equal(mm_host_cr3, t.l4 << PAGE_SHIFT);
    assert_int_equal(tcount_of(t.l4), 2);
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, t.l4), 0);
    assert_int_equal(tcount_of(t.l4), 1);
    assert_true(frame_table[t.l4].type_info & PGT_validated);
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, t.l4), -XEN_EINVAL);
    /* the tree cannot be retyped while in use */
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, t.l2), -XEN_EINVAL);

    /* user base pointer; kernel/user CR3 selection */
    struct tree u = build_tree(d);
    assert_int_equal(ext1(MMUEXT_NEW_USER_BASEPTR, u.l4), 0);
    assert_int_equal(v->guest_table_user, u.l4);
    assert_int_equal(mm_vcpu_cr3(v), t.l4 << PAGE_SHIFT);
    v->kernel_mode = false;
    assert_int_equal(mm_vcpu_cr3(v), u.l4 << PAGE_SHIFT);
    v->kernel_mode = true;
    assert_int_equal(ext1(MMUEXT_NEW_USER_BASEPTR, 0), 0);
    assert_int_equal(tcount_of(u.l4), 0);
    assert_int_equal(tcount_of(u.l1), 0);

    /* switching the kernel base pointer drops the old tree */
    assert_int_equal(ext1(MMUEXT_NEW_BASEPTR, u.l4), 0);
    assert_int_equal(tcount_of(t.l4), 0);
    assert_int_equal(tcount_of(t.l3), 0);
    assert_int_equal(tcount_of(t.l1), 1);           /* still pinned */
    assert_int_equal(mm_host_cr3, u.l4 << PAGE_SHIFT);
    assert_int_equal(ext1(MMUEXT_UNPIN_TABLE, t.l1), 0);
    assert_int_equal(count_of(t.data), 1);
    assert_int_equal(tcount_of(t.data), 0);

    /* TLB ops and unknown commands */
    assert_int_equal(ext1(MMUEXT_TLB_FLUSH_LOCAL, 0), 0);
    assert_int_equal(ext1(MMUEXT_INVLPG_LOCAL, 0x1000), 0);
    assert_int_equal(ext1(MMUEXT_TLB_FLUSH_ALL, 0), 0);
    assert_int_equal(ext1(MMUEXT_INVLPG_ALL, 0x1000), 0);
    assert_int_equal(ext1(99, 0), -XEN_ENOSYS);

    /* batch: pin ok, pin wrong type fails, third not run; pdone = 1 */
    struct mmuext_op ops[3] = {
        { .cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = u.l4 },
        { .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = u.l4 },
        { .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = u.l4 },
    };
    unsigned int done = 0;
    assert_int_equal(do_mmuext_op((uintptr_t)ops, 3, (uintptr_t)&done, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(done, 1);
    assert_true(frame_table[u.l4].type_info & PGT_pinned);
    /* clear/copy page */
    tab(t.data)[0] = 77;
    struct mmuext_op cp = { .cmd = MMUEXT_COPY_PAGE, .arg1.mfn = t.l1, .arg2.src_mfn = t.data };
    assert_int_equal(do_mmuext_op((uintptr_t)&cp, 1, 0, DOMID_SELF), 0);   /* t.l1 is unused now */
    assert_int_equal(tab(t.l1)[0], 77);
    cp.arg1.mfn = u.l1;                                                  /* a table in use */
    assert_int_equal(do_mmuext_op((uintptr_t)&cp, 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, t.data), 0);
    assert_int_equal(tab(t.data)[0], 0);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, u.l2), -XEN_EINVAL);

    /* everything is released by relinquish */
    mm_relinquish_domain(d);
    assert_int_equal(v->guest_table, 0);
    assert_int_equal(d->tot_pages, 0);
    assert_int_equal(d->page_list_head, INVALID_MFN);
    mm_relinquish_domain(dom[1]);
    assert_int_equal(mm_free_frames(), free_at_start);
}

static void test_update_va_mapping(void **state)
{
    struct domain *d = dom[0];
    struct tree t = build_tree(d);
    unsigned long a = alloc(d), other = alloc(dom[1]);
    const unsigned long va = 0x3000;        /* L4[0] L3[0] L2[0] L1[3] */

    assert_int_equal(do_update_va_mapping(va, pte(a, P | RW), UVMF_INVLPG), -XEN_EINVAL); /* no L4 */
    assert_int_equal(mm_pin_l4(d, t.l4), 0);
    assert_int_equal(mm_set_baseptr(current, t.l4, false), 0);
    assert_int_equal(do_update_va_mapping(va, pte(a, P | RW), UVMF_INVLPG), 0);
    assert_int_equal(pte_mfn(tab(t.l1)[3]), a);
    assert_int_equal(tcount_of(a), 1);
    assert_int_equal(do_update_va_mapping(va, pte(t.l4, P | RW), UVMF_TLB_FLUSH), -XEN_EBUSY);
    assert_int_equal(do_update_va_mapping(va, pte(other, P), 0), -XEN_EBUSY);
    assert_int_equal(pte_mfn(tab(t.l1)[3]), a);         /* unchanged */
    assert_int_equal(do_update_va_mapping(va, 0, UVMF_INVLPG), 0);
    assert_int_equal(tcount_of(a), 0);
    assert_int_equal(count_of(a), 1);
    /* hypervisor range (incl. the M2P), non-canonical, unmapped parts */
    assert_int_equal(do_update_va_mapping(HV_VIRT_START, pte(a, P), 0), -XEN_EINVAL);
    assert_int_equal(do_update_va_mapping(RO_MPT_VIRT_START + 0x1000, pte(a, P), 0), -XEN_EINVAL);
    assert_int_equal(do_update_va_mapping(XEN_VIRT_START, pte(a, P), 0), -XEN_EINVAL);
    assert_int_equal(do_update_va_mapping(0x0000900000000000UL, pte(a, P), 0), -XEN_EINVAL);
    assert_int_equal(do_update_va_mapping(0x40000000UL, pte(a, P), 0), -XEN_EINVAL);
}

/* ---- memory_op ----------------------------------------------------------------- */

static void test_memory_op(void **state)
{
    struct domain *d = dom[0];
    domid_t self = DOMID_SELF, one = 1, nine = 9;
    xen_pfn_t list[4] = { 100, 101, 102, 103 };
    struct xen_memory_reservation r = { .nr_extents = 4, .extent_order = 0, .domid = DOMID_SELF };
    struct { uint64_t addr, size; uint32_t type; } __attribute__((packed)) e820[2];
    struct xen_memory_map map = { .nr_entries = 2 };
    unsigned long before;

    d->max_pages = 6;
    alloc(d);
    assert_int_equal(do_memory_op(XENMEM_current_reservation, (uintptr_t)&self), 1);
    assert_int_equal(do_memory_op(XENMEM_maximum_reservation, (uintptr_t)&self), 6);
    assert_int_equal(do_memory_op(XENMEM_current_reservation, (uintptr_t)&one), -XEN_EPERM);
    assert_int_equal(do_memory_op(XENMEM_current_reservation, (uintptr_t)&nine), -XEN_ESRCH);
    assert_int_equal(do_memory_op(XENMEM_current_reservation, BAD_VA), -XEN_EFAULT);
    assert_int_equal(do_memory_op(XENMEM_maximum_ram_page, 0), NR_FRAMES);
    assert_int_equal(do_memory_op(XENMEM_maximum_ram_page | (1 << 6), 0), -XEN_EINVAL);
    assert_int_equal(do_memory_op(XENMEM_exchange, 0), -XEN_ENOSYS);

    /* populate 4 extents, but only 5 more pages fit... fine: all 4 fit */
    set_xen_guest_handle(r.extent_start, list);
    before = mm_free_frames();
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 4);
    assert_int_equal(d->tot_pages, 5);
    assert_int_equal(mm_free_frames(), before - 4);
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(frame_table[list[i]].owner, d);
        assert_int_equal(m2p_table[list[i]], 100 + i);
    }
    /* only one more fits */
    xen_pfn_t more[3] = { 7, 8, 9 };
    set_xen_guest_handle(r.extent_start, more);
    r.nr_extents = 3;
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 1);
    assert_int_equal(d->tot_pages, 6);

    /* memory map: one RAM entry of tot_pages */
    set_xen_guest_handle(map.buffer, e820);
    assert_int_equal(do_memory_op(XENMEM_memory_map, (uintptr_t)&map), 0);
    assert_int_equal(map.nr_entries, 1);
    assert_int_equal(e820[0].addr, 0);
    assert_int_equal(e820[0].size, 6 * PAGE_SIZE);
    assert_int_equal(e820[0].type, 1);
    assert_int_equal(do_memory_op(XENMEM_memory_map, BAD_VA), -XEN_EFAULT);
    map.nr_entries = 1;
    set_xen_guest_handle(map.buffer, (void *)BAD_VA);
    assert_int_equal(do_memory_op(XENMEM_memory_map, (uintptr_t)&map), -XEN_EFAULT);

    /* decrease: list[1] is mapped by a pinned L1, so it stops there */
    unsigned long l1 = more[0];
    tab(l1)[0] = pte(list[1], P);
    assert_int_equal(mm_pin_table(d, l1, PGT_l1_page_table), 0);
    set_xen_guest_handle(r.extent_start, list);
    r.nr_extents = 4;
    before = mm_free_frames();
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), 1);
    assert_int_equal(d->tot_pages, 5);
    assert_int_equal(mm_free_frames(), before + 1);
    /* a pinned table itself cannot go either */
    xen_pfn_t pt[1] = { l1 };
    set_xen_guest_handle(r.extent_start, pt);
    r.nr_extents = 1;
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), 0);
    assert_int_equal(mm_unpin_table(d, l1), 0);
    /* continue the first list from extent 1 (cmd carries the start) */
    set_xen_guest_handle(r.extent_start, list);
    r.nr_extents = 4;
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation | (1 << 6), (uintptr_t)&r), 4);
    assert_int_equal(d->tot_pages, 2);
    /* a frame of another domain: 0 done */
    xen_pfn_t theirs[1] = { alloc(dom[1]) };
    set_xen_guest_handle(r.extent_start, theirs);
    r.nr_extents = 1;
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), 0);
    /* foreign domid from an unprivileged caller: -EPERM (Xen's XSM);
     * no such domain, bad list pointer, bad reservation pointer: 0 done */
    r.domid = 1;
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), -XEN_EPERM);
    assert_int_equal(do_memory_op(XENMEM_increase_reservation, (uintptr_t)&r), -XEN_EPERM);
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), -XEN_EPERM);
    r.domid = 9;
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 0);
    r.domid = DOMID_SELF;
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)BAD_VA);
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 0);
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, BAD_VA), 0);
    r.extent_order = 1;
    set_xen_guest_handle(r.extent_start, theirs);
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 0);
    assert_int_equal(d->tot_pages, 2);

    mm_relinquish_domain(d);
    mm_relinquish_domain(dom[1]);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* ---- sharing and teardown ------------------------------------------------------- */

static void test_shared_frame_and_relinquish(void **state)
{
    struct domain *d = dom[0];
    unsigned long si = alloc_xen_frame();
    struct tree t = build_tree(d);

    share_xen_frame_with_guest(si, d);
    d->shared_info_mfn = si;
    assert_int_equal(d->tot_pages, 5);               /* not counted */
    tab(t.l1)[5] = pte(si, P | RW);
    assert_int_equal(mm_pin_l4(d, t.l4), 0);
    assert_int_equal(mm_pin_l4(d, t.l4), -XEN_EINVAL);
    assert_int_equal(count_of(si), 2);
    assert_int_equal(mm_set_baseptr(current, t.l4, false), 0);
    /* the shared frame can never become a table */
    assert_int_equal(ext1(MMUEXT_PIN_L1_TABLE, si), -XEN_EINVAL);

    mm_relinquish_domain(d);
    assert_int_equal(d->tot_pages, 0);
    assert_int_equal(current->guest_table, 0);
    assert_null(frame_table[si].owner);
    assert_int_equal(frame_table[si].count_info, PGC_xen_heap);
    free_xen_frame(si);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* ---- foreign memory (dom0 acting on another domain) ------------------------ */

static long ext1_foreign(unsigned int cmd, unsigned long arg, unsigned int foreigndom)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = arg };

    return do_mmuext_op((uintptr_t)&op, 1, 0, foreigndom);
}

static long upd1(unsigned long table, unsigned int idx, uint64_t val, unsigned int foreigndom)
{
    struct mmu_update u = { (table << PAGE_SHIFT) + 8 * idx, val };

    return do_mmu_update((uintptr_t)&u, 1, 0, foreigndom);
}

static void test_foreign_populate(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    xen_pfn_t list[5] = { 10, 11, 12, 13, 14 };
    struct xen_memory_reservation r = { .nr_extents = 5, .extent_order = 0, .domid = 1 };
    unsigned long before = mm_free_frames();
    unsigned int i;

    d0->is_privileged = true;
    n->max_pages = 3;
    set_xen_guest_handle(r.extent_start, list);
    /* max_pages 3: three done, the count says so */
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 3);
    assert_int_equal(n->tot_pages, 3);
    assert_int_equal(d0->tot_pages, 0);
    assert_int_equal(mm_free_frames(), before - 3);
    for (i = 0; i < 3; i++) {
        assert_ptr_equal(frame_table[list[i]].owner, n);       /* MFN written back */
        assert_int_equal(m2p_table[list[i]], 10 + i);
        assert_int_equal(count_of(list[i]), 1);
    }
    assert_int_equal(list[3], 13);
    assert_int_equal(list[4], 14);
    /* continuing at extent 3: nothing more fits */
    assert_int_equal(do_memory_op(XENMEM_populate_physmap | (3 << 6), (uintptr_t)&r), 3);
    /* order 1 is refused (Lamina: order 0 only): none done */
    n->max_pages = 16;
    r.extent_order = 1;
    assert_int_equal(do_memory_op(XENMEM_populate_physmap | (3 << 6), (uintptr_t)&r), 3);
    r.extent_order = 0;
    /* decrease_reservation on N's frames (MFNs), from dom0 */
    xen_pfn_t back[2] = { list[0], list[1] };
    r.nr_extents = 2;
    set_xen_guest_handle(r.extent_start, back);
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), 2);
    assert_int_equal(n->tot_pages, 1);
    /* dom0's own frame named with domid N: stops there */
    xen_pfn_t mine[1] = { alloc(d0) };
    set_xen_guest_handle(r.extent_start, mine);
    r.nr_extents = 1;
    assert_int_equal(do_memory_op(XENMEM_decrease_reservation, (uintptr_t)&r), 0);
    assert_ptr_equal(frame_table[mine[0]].owner, d0);

    /* unprivileged caller: -EPERM, nothing allocated */
    d0->is_privileged = false;
    before = mm_free_frames();
    set_xen_guest_handle(r.extent_start, list);
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), -XEN_EPERM);
    assert_int_equal(mm_free_frames(), before);
    assert_int_equal(n->tot_pages, 1);

    mm_relinquish_domain(n);
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

static void test_foreign_populate_unmodified(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    static char dummy_unmod;
    xen_pfn_t list[3] = { 0x100, 0x101, 0x10000 };
    struct xen_memory_reservation r = { .nr_extents = 3, .extent_order = 0, .domid = 1 };
    unsigned long before = mm_free_frames();

    d0->is_privileged = true;
    n->unmod = (struct unmod_domain *)&dummy_unmod;
    set_xen_guest_handle(r.extent_start, list);
    /* the third PFN is beyond the P2M: two done, its frame given back */
    assert_int_equal(do_memory_op(XENMEM_populate_physmap, (uintptr_t)&r), 2);
    assert_int_equal(n->tot_pages, 2);
    assert_int_equal(mm_free_frames(), before - 2);
    assert_int_equal(p2m_calls, 2);
    assert_ptr_equal(p2m_last_d, n);
    assert_int_equal(p2m_last_gpfn, 0x101);
    /* a translated domain's list keeps its PFNs; M2P maps the frame back */
    assert_int_equal(list[0], 0x100);
    assert_int_equal(list[1], 0x101);
    assert_ptr_equal(frame_table[p2m_last_mfn].owner, n);
    assert_int_equal(m2p_table[p2m_last_mfn], 0x101);
    /* mmuext_op on an unmodified page owner: -EINVAL as Xen (PV only) */
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, p2m_last_mfn, 1), -XEN_EINVAL);
    n->unmod = NULL;
    mm_relinquish_domain(n);
    assert_int_equal(mm_free_frames(), free_at_start);
}

static void test_foreign_owner_checks(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    struct tree t = build_tree(d0);
    unsigned long f = alloc(n);

    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    /* unprivileged: another domain is -EPERM, unknown/self -ESRCH */
    assert_int_equal(upd1(t.l1, 30, pte(f, P), 1), -XEN_EPERM);
    assert_int_equal(upd1(t.l1, 30, pte(f, P), DOMID_IO), -XEN_EPERM);
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, f, 1), -XEN_EPERM);
    assert_int_equal(upd1(t.l1, 30, pte(f, P), 9), -XEN_ESRCH);
    assert_int_equal(upd1(t.l1, 30, pte(f, P), 0), -XEN_ESRCH);
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, f, 0), -XEN_ESRCH);
    assert_int_equal(count_of(f), 1);
    assert_int_equal(tab(t.l1)[30], 0);

    d0->is_privileged = true;
    assert_int_equal(upd1(t.l1, 30, pte(f, P), 9), -XEN_ESRCH);
    assert_int_equal(upd1(t.l1, 30, pte(f, P), DOMID_XEN), -XEN_ESRCH);
    /* N's frame named without foreigndom: not the caller's, -EBUSY */
    assert_int_equal(upd1(t.l1, 30, pte(f, P | RW), DOMID_SELF), -XEN_EBUSY);
    /* a frame of dom0 named with foreigndom = N: -EBUSY too */
    assert_int_equal(upd1(t.l1, 30, pte(t.data, P), 1), -XEN_EBUSY);
    /* the table being written must still be the caller's */
    assert_int_equal(upd1(f, 0, 0, 1), -XEN_EINVAL);
    /* M2P of N's frame with foreigndom = N */
    struct mmu_update mp = { (f << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 77 };
    assert_int_equal(do_mmu_update((uintptr_t)&mp, 1, 0, DOMID_SELF), -XEN_EINVAL);
    assert_int_equal(do_mmu_update((uintptr_t)&mp, 1, 0, 1), 0);
    assert_int_equal(m2p_table[f], 77);
    /* base pointers, flushes, LDT are the caller's business: -EPERM */
    assert_int_equal(ext1_foreign(MMUEXT_NEW_BASEPTR, f, 1), -XEN_EPERM);
    assert_int_equal(ext1_foreign(MMUEXT_TLB_FLUSH_LOCAL, 0, 1), -XEN_EPERM);
    assert_int_equal(mm_unpin_table(d0, t.l1), 0);
    mm_relinquish_domain(n);
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

static void test_foreign_mapping_refcounts(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    struct tree t = build_tree(d0);
    unsigned long f = alloc(n);

    d0->is_privileged = true;
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    /* dom0 maps N's frame writable: general + writable type ref on f */
    assert_int_equal(upd1(t.l1, 40, pte(f, P | RW), 1), 0);
    assert_int_equal(pte_mfn(tab(t.l1)[40]), f);
    assert_int_equal(count_of(f), 2);
    assert_int_equal(type_of(f), PGT_writable_page);
    assert_int_equal(tcount_of(f), 1);
    /* so N's frame cannot become a table while mapped writable */
    tab(f)[0] = 0;
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, f, 1), -XEN_EINVAL);
    assert_int_equal(count_of(f), 2);
    /* dom0 clears its PTE: the refs go back to N's frame */
    assert_int_equal(upd1(t.l1, 40, 0, DOMID_SELF), 0);
    assert_int_equal(count_of(f), 1);
    assert_int_equal(tcount_of(f), 0);
    /* now it pins, validated against N */
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, f, 1), 0);
    assert_int_equal(type_of(f), PGT_l1_page_table);
    assert_true(frame_table[f].type_info & PGT_pinned);
    /* a pinned table: writable mapping refused, read-only fine */
    assert_int_equal(upd1(t.l1, 41, pte(f, P | RW), 1), -XEN_EBUSY);
    assert_int_equal(upd1(t.l1, 41, pte(f, P), 1), 0);
    assert_int_equal(count_of(f), 3);
    /* overwriting the mapping with a dom0 frame drops f's ref */
    assert_int_equal(upd1(t.l1, 41, pte(t.data, P), DOMID_SELF), 0);
    assert_int_equal(count_of(f), 2);
    assert_int_equal(ext1_foreign(MMUEXT_UNPIN_TABLE, f, 1), 0);
    assert_int_equal(count_of(f), 1);
    assert_int_equal(ext1_foreign(MMUEXT_UNPIN_TABLE, f, 1), -XEN_EINVAL);
    assert_int_equal(mm_unpin_table(d0, t.l1), 0);
    mm_relinquish_domain(n);
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* The toolstack's sequence: dom0 builds N's tables as plain pages it maps
 * writable, unmaps them, pins N's L4 with foreigndom = N. */
static void test_foreign_pin_l4(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    struct tree mine = build_tree(d0);
    struct tree t = build_tree(n);
    unsigned int i;

    d0->is_privileged = true;
    assert_int_equal(mm_pin_table(d0, mine.l1, PGT_l1_page_table), 0);
    assert_int_equal(upd1(mine.l1, 50, pte(t.l4, P | RW), 1), 0);
    /* mapped writable by dom0: cannot become N's L4 */
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L4_TABLE, t.l4, 1), -XEN_EINVAL);
    assert_int_equal(upd1(mine.l1, 50, 0, DOMID_SELF), 0);
    /* the tree's L1 maps itself read-only, as in build_tree() */
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L4_TABLE, t.l4, 1), 0);
    assert_int_equal(type_of(t.l4), PGT_l4_page_table);
    assert_int_equal(type_of(t.l1), PGT_l1_page_table);
    assert_int_equal(type_of(t.data), PGT_writable_page);
    for (i = HV_FIRST_L4_SLOT + 1; i <= HV_LAST_L4_SLOT; i++)
        assert_int_equal(tab(t.l4)[i], idle_pg_table[i]);
    /* dom0 pinning its own table via foreigndom = N: not N's, -EINVAL */
    assert_int_equal(ext1_foreign(MMUEXT_PIN_L1_TABLE, mine.data, 1), -XEN_EINVAL);
    /* an L4 of dom0 is not N's L3 */
    assert_int_equal(ext1_foreign(MMUEXT_UNPIN_TABLE, t.l4, 1), 0);
    assert_int_equal(tcount_of(t.l1), 0);
    assert_int_equal(mm_unpin_table(d0, mine.l1), 0);
    mm_relinquish_domain(n);
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* N destroyed while dom0 still maps its frames (and its shared_info): the
 * frames outlive N without an owner and return to the pool exactly when
 * dom0 unmaps them. */
static void test_foreign_teardown(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    struct tree t = build_tree(d0);
    unsigned long f = alloc(n), g = alloc(n), si = alloc_xen_frame();
    unsigned long before;

    share_xen_frame_with_guest(si, n);
    n->shared_info_mfn = si;
    d0->is_privileged = true;
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    assert_int_equal(upd1(t.l1, 60, pte(f, P | RW), 1), 0);
    assert_int_equal(upd1(t.l1, 61, pte(si, P | RW), 1), 0);
    assert_int_equal(count_of(si), 2);
    before = mm_free_frames();

    mm_relinquish_domain(n);
    free_xen_frame(si);
    assert_int_equal(n->tot_pages, 0);
    assert_int_equal(n->page_list_head, INVALID_MFN);
    assert_null(frame_table[f].owner);
    assert_null(frame_table[si].owner);
    assert_int_equal(mm_free_frames(), before + 1);     /* only g */
    (void)g;
    /* N's struct may be reused at once: nothing refers to it any more */
    struct vcpu *nv = n->vcpu[0];
    memset(n, 0x5a, sizeof(*n));
    n->page_list_head = INVALID_MFN;
    n->tot_pages = 0;
    n->vcpu[0] = nv;
    assert_int_equal(upd1(t.l1, 60, 0, DOMID_SELF), 0);
    assert_int_equal(mm_free_frames(), before + 2);
    assert_int_equal(upd1(t.l1, 61, 0, DOMID_SELF), 0);
    assert_int_equal(mm_free_frames(), before + 3);
    assert_int_equal(n->tot_pages, 0);
    assert_int_equal(mm_unpin_table(d0, t.l1), 0);
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

/* Device memory beyond the frame table (the ivshmem BAR at 0xe0000000). */
#define BAR_MFN 0xe0000UL

static void test_device_memory(void **state)
{
    struct domain *d0 = dom[0], *n = dom[1];
    struct tree t = build_tree(d0);
    const uint64_t UC = _PAGE_PCD | _PAGE_PWT;

    assert_true(BAR_MFN >= max_mfn);
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    /* unprivileged: -EPERM */
    assert_int_equal(upd1(t.l1, 70, pte(BAR_MFN, P | RW), DOMID_SELF), -XEN_EPERM);
    assert_int_equal(tab(t.l1)[70], 0);

    d0->is_privileged = true;
    assert_int_equal(upd1(t.l1, 70, pte(BAR_MFN, P | RW | UC), DOMID_SELF), 0);
    assert_int_equal(upd1(t.l1, 71, pte(BAR_MFN + 1, P | RW), DOMID_IO), 0);
    assert_int_equal(pte_mfn(tab(t.l1)[70]), BAR_MFN);
    assert_true(tab(t.l1)[70] & _PAGE_PCD);
    /* the hypervisor's LAPIC / IOAPIC stay out of reach */
    assert_int_equal(upd1(t.l1, 72, pte(0xfee00, P | RW), DOMID_SELF), -XEN_EPERM);
    assert_int_equal(upd1(t.l1, 72, pte(0xfec00, P), DOMID_SELF), -XEN_EPERM);
    /* pg_owner N (unprivileged) cannot hand out device memory */
    assert_int_equal(upd1(t.l1, 72, pte(BAR_MFN, P), 1), -XEN_EPERM);
    /* overwrite one (no put on a frame-table entry), keep the other */
    assert_int_equal(upd1(t.l1, 70, pte(BAR_MFN + 2, P | RW), DOMID_SELF), 0);
    assert_int_equal(upd1(t.l1, 70, 0, DOMID_SELF), 0);
    /* unpin devalidates the table: the device entry is skipped */
    assert_int_equal(mm_unpin_table(d0, t.l1), 0);
    /* revalidation of an L1 holding a device entry: fine for dom0 only */
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    assert_int_equal(mm_unpin_table(d0, t.l1), 0);
    d0->is_privileged = false;
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), -XEN_EPERM);
    d0->is_privileged = true;
    assert_int_equal(mm_pin_table(d0, t.l1, PGT_l1_page_table), 0);
    /* teardown with the device entry still there */
    (void)n;
    mm_relinquish_domain(d0);
    assert_int_equal(mm_free_frames(), free_at_start);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_change_only_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_l1_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upper_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segdesc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_continuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_update_l4_slots_and_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_unpin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_va_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_frame_and_relinquish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_populate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_populate_unmodified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_owner_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_mapping_refcounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_pin_l4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_teardown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_memory, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
