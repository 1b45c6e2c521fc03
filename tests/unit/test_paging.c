/*
 * test_paging.c - host unit tests (cmocka) of hypervisor/mm/paging.c,
 * log-dirty mode: the write protection of a domain's L1 entries, the write
 * fault that lifts it and marks the PFN, CLEAN/PEEK, the page-table updates
 * made while it is on, and the reference counts it must leave as they were.
 *
 * Runs on the host on mm_fixture.h's machine; CR3 is host_cpu.cr3.
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

#define PFEC_W  (X86_PFEC_PRESENT | X86_PFEC_WRITE)

/* paging_log_dirty_op() for a buffer of *pages bits; *pages gets the
 * bitmap's size back, as XEN_DOMCTL_shadow_op's pages does. */
static int ld_op(struct domain *d, bool clean, void *map, uint64_t want, uint64_t *pages,
                 uint32_t *faults, uint32_t *dirty)
{
    *pages = want;
    return paging_log_dirty_op(d, clean, (uintptr_t)map, pages, faults, dirty);
}

/* dom[1]'s tree, pinned, its data frame at PFN 7, its L1 at PFN 3. */
static struct tree pinned_tree(void)
{
    struct tree t = build_tree(dom[1]);

    m2p_table[t.data] = 7;
    m2p_table[t.l1] = 3;
    assert_int_equal(mm_pin_l4(dom[1], t.l4), 0);
    host_cpu.cr3 = t.l4 << PAGE_SHIFT;
    return t;
}

static bool bit(const uint8_t *map, unsigned long pfn)
{
    return map[pfn / 8] & (1u << (pfn % 8));
}

static void test_protect_and_fault(void **state)
{
    struct domain *d = dom[1];
    struct tree t = pinned_tree();
    uint8_t map[32];
    uint64_t pages, bits = 256;
    uint32_t faults, dirty;

    assert_int_equal(paging_log_dirty_enable(d), 0);
    assert_int_equal(paging_log_dirty_enable(d), -XEN_EINVAL);     /* already on */
    /* L1[0] (data, writable) is protected and still counts as writable;
     * L1[1] (the L1 itself, read-only) is left alone. */
    assert_false(tab(t.l1)[0] & RW);
    assert_true(tab(t.l1)[0] & PTE_LOGDIRTY);
    assert_int_equal(tcount_of(t.data), 1);
    assert_false(tab(t.l1)[1] & PTE_LOGDIRTY);

    /* Reads, the read-only entry and the hypervisor's range are not ours. */
    assert_false(paging_fault(d, 0, X86_PFEC_PRESENT));
    assert_false(paging_fault(d, 0x1000, PFEC_W));
    assert_false(paging_fault(d, 0xffff800000000000UL, PFEC_W));
    assert_false(paging_fault(dom[0], 0, PFEC_W));                 /* not in the mode */
    /* The write: writable again, PFN 7 dirty, once. */
    assert_true(paging_fault(d, 0x123, PFEC_W));
    assert_true(tab(t.l1)[0] & RW);
    assert_false(tab(t.l1)[0] & PTE_LOGDIRTY);
    assert_false(paging_fault(d, 0x123, PFEC_W));                  /* a real fault now */

    memset(map, 0, sizeof(map));
    assert_int_equal(ld_op(d, false, map, bits, &pages, &faults, &dirty), 0);
    assert_true(bit(map, 7));
    assert_int_equal(faults, 1);
    assert_int_equal(dirty, 1);
    assert_int_equal(pages, 1280);
    /* CLEAN hands the same bits over, then empties and protects again. */
    memset(map, 0, sizeof(map));
    assert_int_equal(ld_op(d, true, map, bits, &pages, &faults, &dirty), 0);
    assert_true(bit(map, 7));
    assert_true(tab(t.l1)[0] & PTE_LOGDIRTY);
    memset(map, 0xff, sizeof(map));
    assert_int_equal(ld_op(d, false, map, bits, &pages, &faults, &dirty), 0);
    for (unsigned int i = 0; i < 32; i++)
        assert_int_equal(map[i], 0);
    assert_int_equal(dirty, 0);
    assert_int_equal(paging_log_dirty_op(d, false, BAD_VA, &pages, &faults, &dirty),
                     -XEN_EFAULT);

    /* OFF gives every entry its _PAGE_RW back; the references never moved. */
    paging_log_dirty_disable(d);
    assert_true(tab(t.l1)[0] & RW);
    assert_false(tab(t.l1)[0] & PTE_LOGDIRTY);
    assert_int_equal(tcount_of(t.data), 1);
    assert_false(paging_fault(d, 0x123, PFEC_W));
    assert_int_equal(ld_op(d, false, map, bits, &pages, &faults, &dirty),
                     -XEN_EINVAL);
}

static void test_updates_while_on(void **state)
{
    struct domain *d = dom[1];
    struct tree t = pinned_tree();
    unsigned long more = alloc(d);
    uint8_t map[32];
    uint64_t pages, bits = 256;
    uint32_t faults, dirty;

    m2p_table[more] = 9;
    assert_int_equal(paging_log_dirty_enable(d), 0);
    /* A writable entry written now goes in protected; the table that
     * changed (PFN 3) is dirty. */
    assert_int_equal(mm_mod_entry(t.l1, 2, pte(more, P | RW), 1), 0);
    assert_false(tab(t.l1)[2] & RW);
    assert_true(tab(t.l1)[2] & PTE_LOGDIRTY);
    assert_int_equal(tcount_of(more), 1);
    /* The guest writes back what it read (bit 62, no RW): still writable. */
    assert_int_equal(mm_mod_entry(t.l1, 2, tab(t.l1)[2] | _PAGE_ACCESSED, 1), 0);
    assert_int_equal(tcount_of(more), 1);
    assert_true(tab(t.l1)[2] & PTE_LOGDIRTY);
    /* Replacing a protected entry drops its writable reference, and the
     * frame it mapped counts as written (a foreign mapping's last write). */
    assert_int_equal(mm_mod_entry(t.l1, 0, 0, 1), 0);
    assert_int_equal(tcount_of(t.data), 0);
    assert_int_equal(mm_mod_entry(t.l1, 2, pte(more, P), 1), 0);
    assert_int_equal(tcount_of(more), 0);
    assert_false(tab(t.l1)[2] & PTE_LOGDIRTY);
    memset(map, 0, sizeof(map));
    assert_int_equal(ld_op(d, true, map, bits, &pages, &faults, &dirty), 0);
    assert_true(bit(map, 3));
    assert_true(bit(map, 7));
    assert_true(bit(map, 9));
    assert_int_equal(faults, 0);
    paging_log_dirty_disable(d);
}

static void test_refusals_and_unrecorded(void **state)
{
    struct domain *d = dom[1];
    struct tree t = pinned_tree();
    uint8_t map[32];
    uint64_t pages, bits = 64;
    uint32_t faults, dirty;

    dom[0]->is_privileged = true;
    assert_int_equal(paging_log_dirty_enable(dom[0]), -XEN_EINVAL);
    dom[0]->is_privileged = false;

    /* A frame whose M2P names no PFN of the bitmap is not recorded; the
     * bitmap is the domain's 256 pages + 1024. */
    m2p_table[t.data] = INVALID_MFN;
    assert_int_equal(paging_log_dirty_enable(d), 0);
    assert_true(paging_fault(d, 0, PFEC_W));
    memset(map, 0xee, sizeof(map));
    assert_int_equal(ld_op(d, true, map, bits, &pages, &faults, &dirty), 0);
    for (unsigned int i = 0; i < 8; i++)
        assert_int_equal(map[i], 0);
    assert_int_equal(map[8], 0xee);                 /* only the 64 bits asked for */
    assert_int_equal(pages, 1280);
    assert_int_equal(dirty, 0);
    assert_int_equal(faults, 1);
    paging_log_dirty_disable(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protect_and_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_updates_while_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_unrecorded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
