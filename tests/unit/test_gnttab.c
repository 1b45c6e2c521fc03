/*
 * test_gnttab.c - host unit tests (cmocka) of hypervisor/common/grant_table.c
 * over the real frame table (mm.c, mm_hcall.c): setup/query/version, map
 * and unmap (device and host mappings), copy, Xen's per-op status codes,
 * the references a mapping holds, limits, preemption and teardown, and the
 * hostile cases (a grant mapped twice, someone else's handle, copying into
 * a read-only grant, a grant of a frame the granter does not own, a
 * read-only grant mapped writable, a granter that dies while mapped).
 *
 * Runs on the host.  "Machine memory" is a malloc'd array of NR_FRAMES
 * frames; guest addresses given to copy_{from,to}_guest are host pointers.
 * dom[0] is privileged and maps; dom[1] grants.
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
#include "../../hypervisor/common/grant_table.c"

#define NR_FRAMES   2048UL
#define RES_START   (0x200000UL)
#define RES_END     (0x280000UL)

static uint8_t *machine;
uint64_t idle_pg_table[512] __attribute__((aligned(4096)));
struct vcpu *current;
#define TEST_DOMAINS 4
static struct domain *test_domains[TEST_DOMAINS];

void *mfn_to_virt(unsigned long mfn)
{
    assert_true(mfn < NR_FRAMES);
    return machine + mfn * PAGE_SIZE;
}

unsigned long virt_to_mfn(const void *va)
{
    return (unsigned long)((const uint8_t *)va - machine) / PAGE_SIZE;
}

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    fail_msg("panic: %s", fmt);
    abort();
}

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (!src)
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}

int copy_to_guest(uint64_t dst, const void *src, size_t len)
{
    if (!dst)
        return -XEN_EFAULT;
    memcpy((void *)(uintptr_t)dst, src, len);
    return 0;
}

size_t raw_copy(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    return 0;
}

#include "hv_stubs.h"
#include "heap_stub.h"

bool check_descriptor(const struct domain *d, uint64_t desc)
{
    return true;
}

struct domain *domain_lookup(domid_t id)
{
    return id < TEST_DOMAINS ? test_domains[id] : NULL;
}

int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn)
{
    return -XEN_EINVAL;
}

unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn)
{
    return INVALID_MFN;
}

/* ---- fixtures ---------------------------------------------------------------- */

static struct domain *dom[2];
static unsigned long free_at_start;

static struct domain *new_domain(domid_t id, bool priv)
{
    struct domain *d = calloc(1, sizeof(*d));
    struct vcpu *v = calloc(1, sizeof(*v));

    assert_non_null(d);
    assert_non_null(v);
    d->domain_id = id;
    d->is_privileged = priv;
    d->max_pages = 256;
    d->page_list_head = INVALID_MFN;
    d->vcpu[0] = v;
    d->max_vcpus = 1;
    v->domain = d;
    v->kernel_mode = true;
    assert_int_equal(gnttab_init(d, 4, 2), 0);
    test_domains[id] = d;
    return d;
}

static int setup(void **state)
{
    struct mem_range r = { 0, NR_FRAMES * PAGE_SIZE };

    machine = aligned_alloc(PAGE_SIZE, NR_FRAMES * PAGE_SIZE);
    assert_non_null(machine);
    memset(machine, 0, NR_FRAMES * PAGE_SIZE);
    memset(idle_pg_table, 0, sizeof(idle_pg_table));
    mm_init(&r, 1, RES_START, RES_END);
    free_at_start = mm_free_frames();
    memset(&gnttab_counters, 0, sizeof(gnttab_counters));
    dom[0] = new_domain(0, true);
    dom[1] = new_domain(1, false);
    current = dom[0]->vcpu[0];
    preempt_after = preempt_calls = 0;
    cont_nr = 0;
    return 0;
}

static int teardown(void **state)
{
    for (unsigned int i = 0; i < 2; i++) {
        if (dom[i]) {
            gnttab_destroy(dom[i]);
            test_domains[i] = NULL;
            free(dom[i]->vcpu[0]);
            free(dom[i]);
        }
    }
    free(machine);
    return 0;
}

static unsigned long alloc(struct domain *d)
{
    unsigned long mfn = INVALID_MFN;

    assert_int_equal(alloc_domain_frame(d, &mfn), 0);
    return mfn;
}

static unsigned long count_of(unsigned long mfn)
{
    return frame_table[mfn].count_info & PGC_count_mask;
}

static unsigned long tcount_of(unsigned long mfn)
{
    return frame_table[mfn].type_info & PGT_count_mask;
}

/* dom[1]'s grant entry ref. */
static grant_entry_v1_t *gent(grant_ref_t ref)
{
    return shared_entry(dom[1]->grant_table, ref);
}

/* dom[1] grants frame mfn to domid as ref (ro: read-only). */
static void grant(grant_ref_t ref, domid_t to, unsigned long mfn, bool ro)
{
    grant_entry_v1_t *e = gent(ref);

    e->frame = (uint32_t)mfn;
    e->domid = to;
    e->flags = GTF_permit_access | (ro ? GTF_readonly : 0);
}

static long op_as(struct domain *d, unsigned int cmd, void *uop, unsigned int count)
{
    current = d->vcpu[0];
    return do_grant_table_op(cmd, (uint64_t)(uintptr_t)uop, count);
}

static struct gnttab_map_grant_ref dev_map(grant_ref_t ref, uint32_t flags)
{
    struct gnttab_map_grant_ref m = { .flags = GNTMAP_device_map | flags, .ref = ref, .dom = 1 };

    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &m, 1), 0);
    return m;
}

static int16_t unmap(struct domain *d, grant_handle_t h, uint64_t bus, uint64_t host)
{
    struct gnttab_unmap_grant_ref u = { .host_addr = host, .dev_bus_addr = bus, .handle = h };

    assert_int_equal(op_as(d, GNTTABOP_unmap_grant_ref, &u, 1), 0);
    return u.status;
}

/* ---- setup, query, version ---------------------------------------------------- */

static void test_setup_and_query(void **state)
{
    xen_pfn_t frames[4] = { 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 3 };
    struct gnttab_query_size q = { .dom = DOMID_SELF };

    assert_int_equal(op_as(dom[1], GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_okay);
    assert_int_equal(q.nr_frames, 1);
    assert_int_equal(q.max_nr_frames, 4);

    set_xen_guest_handle(st.frame_list, frames);
    assert_int_equal(op_as(dom[1], GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_okay);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(frame_table[frames[i]].owner, dom[1]);
        assert_true(frame_table[frames[i]].count_info & PGC_xen_heap);
        assert_int_equal(frames[i], dom[1]->grant_table->frame_mfn[i]);
    }
    assert_int_equal(gnttab_counters.frames, 1 + 3);    /* dom0's one, dom1's three */
    /* Beyond the domain's limit: an error, nothing grows. */
    st.nr_frames = 5;
    assert_int_equal(op_as(dom[1], GNTTABOP_setup_table, &st, 1), 0);
    assert_int_equal(st.status, GNTST_general_error);
    assert_int_equal(dom[1]->grant_table->nr_frames, 3);
    /* count must be 1. */
    assert_int_equal(op_as(dom[1], GNTTABOP_setup_table, &st, 2), -XEN_EINVAL);
    /* Another domain's table: dom0 may, dom1 may not. */
    q.dom = 0;
    assert_int_equal(op_as(dom[1], GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_permission_denied);
    q.dom = 1;
    assert_int_equal(op_as(dom[0], GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_okay);
    assert_int_equal(q.nr_frames, 3);
    q.dom = 3;
    assert_int_equal(op_as(dom[0], GNTTABOP_query_size, &q, 1), 0);
    assert_int_equal(q.status, GNTST_bad_domain);
    /* A bad pointer. */
    assert_int_equal(op_as(dom[1], GNTTABOP_query_size, NULL, 1), -XEN_EFAULT);
}

static void test_versions(void **state)
{
    struct gnttab_set_version sv = { .version = 2 };
    struct gnttab_get_version gv = { .dom = DOMID_SELF };

    assert_int_equal(op_as(dom[1], GNTTABOP_set_version, &sv, 1), -XEN_ENOSYS);
    assert_int_equal(sv.version, 1);
    sv.version = 3;
    assert_int_equal(op_as(dom[1], GNTTABOP_set_version, &sv, 1), -XEN_EINVAL);
    sv.version = 1;
    assert_int_equal(op_as(dom[1], GNTTABOP_set_version, &sv, 1), 0);
    assert_int_equal(op_as(dom[1], GNTTABOP_get_version, &gv, 1), 0);
    assert_int_equal(gv.version, 1);
    gv.dom = 0;
    assert_int_equal(op_as(dom[1], GNTTABOP_get_version, &gv, 1), -XEN_EPERM);
    gv.dom = 3;
    assert_int_equal(op_as(dom[0], GNTTABOP_get_version, &gv, 1), -XEN_ESRCH);
    assert_int_equal(op_as(dom[1], GNTTABOP_transfer, &gv, 1), -XEN_ENOSYS);
}

/* ---- map and unmap --------------------------------------------------------------- */

static void test_device_map_unmap(void **state)
{
    unsigned long f = alloc(dom[1]);
    unsigned long c = count_of(f);

    grant(5, 0, f, false);
    struct gnttab_map_grant_ref m = dev_map(5, 0);
    assert_int_equal(m.status, GNTST_okay);
    assert_int_equal(m.dev_bus_addr, (uint64_t)f << PAGE_SHIFT);
    assert_int_equal(gent(5)->flags & (GTF_reading | GTF_writing), GTF_reading | GTF_writing);
    assert_int_equal(count_of(f), c + 1);
    assert_int_equal(tcount_of(f), 1);
    assert_int_equal(frame_table[f].type_info & PGT_type_mask, PGT_writable_page);
    assert_int_equal(gnttab_counters.maps, 1);

    /* The wrong bus address is refused and changes nothing. */
    assert_int_equal(unmap(dom[0], m.handle, (uint64_t)(f + 1) << PAGE_SHIFT, 0),
                     GNTST_bad_dev_addr);
    assert_int_equal(count_of(f), c + 1);
    assert_int_equal(unmap(dom[0], m.handle, m.dev_bus_addr, 0), GNTST_okay);
    assert_int_equal(gent(5)->flags & (GTF_reading | GTF_writing), 0);
    assert_int_equal(count_of(f), c);
    assert_int_equal(tcount_of(f), 0);
    assert_int_equal(gnttab_counters.maps, 0);
    /* The same handle again: gone. */
    assert_int_equal(unmap(dom[0], m.handle, m.dev_bus_addr, 0), GNTST_bad_handle);
}

static void test_map_twice_and_readonly(void **state)
{
    unsigned long f = alloc(dom[1]);

    grant(7, 0, f, false);
    struct gnttab_map_grant_ref a = dev_map(7, GNTMAP_readonly);
    struct gnttab_map_grant_ref b = dev_map(7, 0);
    assert_int_equal(a.status, GNTST_okay);
    assert_int_equal(b.status, GNTST_okay);
    assert_int_not_equal(a.handle, b.handle);
    assert_int_equal(gent(7)->flags & (GTF_reading | GTF_writing), GTF_reading | GTF_writing);
    /* The writable one goes: still being read. */
    assert_int_equal(unmap(dom[0], b.handle, b.dev_bus_addr, 0), GNTST_okay);
    assert_int_equal(gent(7)->flags & (GTF_reading | GTF_writing), GTF_reading);
    assert_int_equal(tcount_of(f), 0);
    assert_int_equal(unmap(dom[0], a.handle, a.dev_bus_addr, 0), GNTST_okay);
    assert_int_equal(gent(7)->flags & (GTF_reading | GTF_writing), 0);

    /* A read-only grant cannot be mapped writable; read-only works. */
    grant(8, 0, f, true);
    struct gnttab_map_grant_ref w = dev_map(8, 0);
    assert_int_equal(w.status, GNTST_general_error);
    assert_int_equal(gent(8)->flags & (GTF_reading | GTF_writing), 0);
    struct gnttab_map_grant_ref r = dev_map(8, GNTMAP_readonly);
    assert_int_equal(r.status, GNTST_okay);
    assert_int_equal(tcount_of(f), 0);      /* no writable type for a read-only map */
    assert_int_equal(unmap(dom[0], r.handle, r.dev_bus_addr, 0), GNTST_okay);
}

static void test_map_errors(void **state)
{
    unsigned long f = alloc(dom[1]), mine = alloc(dom[0]), table = alloc(dom[1]);
    struct gnttab_map_grant_ref m;

    grant(1, 0, f, false);
    /* Neither host nor device map. */
    m = (struct gnttab_map_grant_ref){ .flags = GNTMAP_readonly, .ref = 1, .dom = 1 };
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_bad_gntref);
    /* A domain that does not exist. */
    m = (struct gnttab_map_grant_ref){ .flags = GNTMAP_device_map, .ref = 1, .dom = 3 };
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_bad_domain);
    /* A reference past the table. */
    assert_int_equal(dev_map(512, 0).status, GNTST_bad_gntref);
    /* Granted to someone else. */
    grant(2, 3, f, false);
    assert_int_equal(dev_map(2, 0).status, GNTST_general_error);
    assert_int_equal(gent(2)->flags & (GTF_reading | GTF_writing), 0);
    /* Not granted at all. */
    assert_int_equal(dev_map(3, 0).status, GNTST_general_error);
    /* A frame the granter does not own (dom0's, a hypervisor frame, past
     * the end of memory): refused, and no flag is left behind. */
    grant(4, 0, mine, false);
    assert_int_equal(dev_map(4, 0).status, GNTST_general_error);
    assert_int_equal(gent(4)->flags & (GTF_reading | GTF_writing), 0);
    unsigned long xen = alloc_xen_frame();
    grant(4, 0, xen, false);
    assert_int_equal(dev_map(4, 0).status, GNTST_general_error);
    free_xen_frame(xen);
    grant(4, 0, NR_FRAMES + 5, true);
    assert_int_equal(dev_map(4, GNTMAP_readonly).status, GNTST_general_error);
    assert_int_equal(gent(4)->flags & (GTF_reading | GTF_writing), 0);
    /* A page-table frame cannot be mapped writable. */
    assert_int_equal(get_page_type(table, PGT_l1_page_table), 0);
    grant(6, 0, table, false);
    assert_int_equal(dev_map(6, 0).status, GNTST_general_error);
    assert_int_equal(gent(6)->flags & (GTF_reading | GTF_writing), 0);
    put_page_type(table);
    assert_int_equal(gnttab_counters.maps, 0);
    assert_int_equal(count_of(f), 1);
}

static void test_foreign_handle(void **state)
{
    unsigned long f = alloc(dom[1]);

    grant(9, 0, f, false);
    struct gnttab_map_grant_ref m = dev_map(9, 0);
    assert_int_equal(m.status, GNTST_okay);
    /* dom1 names dom0's handle: its own maptrack has no such mapping. */
    assert_int_equal(unmap(dom[1], m.handle, m.dev_bus_addr, 0), GNTST_bad_handle);
    assert_int_equal(unmap(dom[1], 1000, m.dev_bus_addr, 0), GNTST_bad_handle);
    assert_int_equal(gent(9)->flags & GTF_reading, GTF_reading);
    assert_int_equal(unmap(dom[0], m.handle, m.dev_bus_addr, 0), GNTST_okay);
}

/* dom0's page tables: L4[0] -> L3 -> L2 -> L1, validated and in use as
 * its base pointer; VA slot*4096 is L1 slot `slot`. */
static unsigned long dom0_tables(void)
{
    struct domain *d = dom[0];
    unsigned long l4 = alloc(d), l3 = alloc(d), l2 = alloc(d), l1 = alloc(d);

    ((uint64_t *)mfn_to_virt(l4))[0] = (l3 << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    ((uint64_t *)mfn_to_virt(l3))[0] = (l2 << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    ((uint64_t *)mfn_to_virt(l2))[0] = (l1 << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW;
    assert_int_equal(mm_pin_l4(d, l4), 0);
    assert_int_equal(mm_set_baseptr(d->vcpu[0], l4, false), 0);
    return l1;
}

static void test_host_map(void **state)
{
    unsigned long l1 = dom0_tables(), f = alloc(dom[1]);
    uint64_t *pt = mfn_to_virt(l1);
    unsigned long c = count_of(f);

    grant(10, 0, f, false);
    struct gnttab_map_grant_ref m = { .host_addr = 3 * PAGE_SIZE, .flags = GNTMAP_host_map,
                                      .ref = 10, .dom = 1 };
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_okay);
    assert_int_equal(pte_mfn(pt[3]), f);
    assert_true(pt[3] & _PAGE_RW);
    /* The PTE's references and the mapping's own. */
    assert_int_equal(count_of(f), c + 2);
    assert_int_equal(tcount_of(f), 2);
    /* An unaligned or unmapped VA. */
    struct gnttab_map_grant_ref bad = m;
    bad.host_addr = 3 * PAGE_SIZE + 8;
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &bad, 1), 0);
    assert_int_equal(bad.status, GNTST_general_error);
    bad.host_addr = 1UL << 39;              /* L4[1]: not present */
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &bad, 1), 0);
    assert_int_equal(bad.status, GNTST_general_error);
    assert_int_equal(count_of(f), c + 2);
    /* Unmapping at a VA that maps something else fails and keeps it. */
    assert_int_equal(unmap(dom[0], m.handle, 0, 4 * PAGE_SIZE), GNTST_general_error);
    assert_int_equal(pte_mfn(pt[3]), f);
    assert_int_equal(unmap(dom[0], m.handle, 0, 3 * PAGE_SIZE), GNTST_okay);
    assert_int_equal(pt[3], 0);
    assert_int_equal(count_of(f), c);
    assert_int_equal(tcount_of(f), 0);

    /* Read-only, through the PTE's machine address (GNTMAP_contains_pte). */
    m = (struct gnttab_map_grant_ref){ .host_addr = (l1 << PAGE_SHIFT) + 5 * 8,
                                       .flags = GNTMAP_host_map | GNTMAP_readonly |
                                                GNTMAP_contains_pte,
                                       .ref = 10, .dom = 1 };
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, &m, 1), 0);
    assert_int_equal(m.status, GNTST_okay);
    assert_int_equal(pte_mfn(pt[5]), f);
    assert_false(pt[5] & _PAGE_RW);
    assert_int_equal(gent(10)->flags & (GTF_reading | GTF_writing), GTF_reading);
    assert_int_equal(unmap(dom[0], m.handle, 0, (l1 << PAGE_SHIFT) + 5 * 8), GNTST_okay);
    assert_int_equal(pt[5], 0);
    assert_int_equal(gent(10)->flags & GTF_reading, 0);
}

/* ---- copy --------------------------------------------------------------------------- */

static struct gnttab_copy gcopy(bool to_grant, grant_ref_t ref, unsigned long mine,
                                uint16_t goff, uint16_t moff, uint16_t len)
{
    struct gnttab_copy c = { .len = len };
    struct gnttab_copy_ptr *g = to_grant ? &c.dest : &c.source, *l = to_grant ? &c.source : &c.dest;

    g->u.ref = ref;
    g->domid = 1;
    g->offset = goff;
    l->u.gmfn = mine;
    l->domid = DOMID_SELF;
    l->offset = moff;
    c.flags = to_grant ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
    return c;
}

static void test_copy(void **state)
{
    unsigned long f = alloc(dom[1]), g = alloc(dom[1]), mine = alloc(dom[0]);
    uint8_t *fp = mfn_to_virt(f), *mp = mfn_to_virt(mine);
    struct gnttab_copy c[2];

    for (int i = 0; i < 4096; i++)
        fp[i] = (uint8_t)(i * 7);
    grant(11, 0, f, true);
    grant(12, 0, g, false);
    /* From a read-only grant into dom0's frame, and dom0's frame into a
     * writable grant: one batch, two statuses. */
    c[0] = gcopy(false, 11, mine, 100, 200, 1000);
    c[1] = gcopy(true, 12, mine, 0, 200, 1000);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 2), 0);
    assert_int_equal(c[0].status, GNTST_okay);
    assert_int_equal(c[1].status, GNTST_okay);
    assert_memory_equal(mp + 200, fp + 100, 1000);
    assert_memory_equal((uint8_t *)mfn_to_virt(g), fp + 100, 1000);
    /* The transient flags are gone again. */
    assert_int_equal(gent(11)->flags & (GTF_reading | GTF_writing), 0);
    assert_int_equal(gent(12)->flags & (GTF_reading | GTF_writing), 0);

    /* Into a read-only grant: refused, nothing written. */
    memset(mp, 0xab, 64);
    c[0] = gcopy(true, 11, mine, 0, 0, 64);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_general_error);
    assert_int_equal(fp[1], 7);
    /* Past the page. */
    c[0] = gcopy(false, 11, mine, 4000, 0, 200);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_bad_copy_arg);
    c[0] = gcopy(false, 11, mine, 0, 3000, 2000);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_bad_copy_arg);
    /* By MFN for another domain: only DOMID_SELF may. */
    c[0] = gcopy(false, 11, mine, 0, 0, 8);
    c[0].dest.domid = 1;
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_permission_denied);
    /* A frame that is not the caller's. */
    c[0] = gcopy(false, 11, g, 0, 0, 8);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_general_error);
    /* A bad reference and a bad domain. */
    c[0] = gcopy(false, 600, mine, 0, 0, 8);
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_bad_gntref);
    c[0] = gcopy(false, 11, mine, 0, 0, 8);
    c[0].source.domid = 3;
    assert_int_equal(op_as(dom[0], GNTTABOP_copy, c, 1), 0);
    assert_int_equal(c[0].status, GNTST_bad_domain);
    assert_int_equal(count_of(f), 1);
    assert_int_equal(count_of(mine), 1);
}

/* ---- limits, preemption, teardown ------------------------------------------------ */

static void test_maptrack_limit(void **state)
{
    unsigned long f = alloc(dom[1]);
    unsigned int n = 0;

    grant(13, 0, f, true);
    /* dom0's limit is 2 maptrack frames: 256 mappings. */
    for (;;) {
        struct gnttab_map_grant_ref m = dev_map(13, GNTMAP_readonly);
        if (m.status != GNTST_okay) {
            assert_int_equal(m.status, GNTST_no_space);
            break;
        }
        n++;
    }
    assert_int_equal(n, 2 * MAPTRACK_PER_FRAME);
    assert_int_equal(gnttab_counters.maps, n);
    for (unsigned int h = 0; h < n; h++)
        assert_int_equal(unmap(dom[0], (grant_handle_t)h, (uint64_t)f << PAGE_SHIFT, 0),
                         GNTST_okay);
    assert_int_equal(gnttab_counters.maps, 0);
    assert_int_equal(gent(13)->flags & GTF_reading, 0);
    assert_int_equal(gnttab_init(dom[1], 0, 1), -XEN_EINVAL);
    assert_int_equal(gnttab_init(dom[1], GNTTAB_MAX_FRAMES_LIMIT + 1, 1), -XEN_EINVAL);
}

static void test_preemption(void **state)
{
    unsigned long f = alloc(dom[1]);
    struct gnttab_map_grant_ref m[200];

    grant(14, 0, f, true);
    for (int i = 0; i < 200; i++)
        m[i] = (struct gnttab_map_grant_ref){ .flags = GNTMAP_device_map | GNTMAP_readonly,
                                              .ref = 14, .dom = 1, .status = 99 };
    preempt_after = 1;
    assert_int_equal(op_as(dom[0], GNTTABOP_map_grant_ref, m, 200), 0);
    assert_int_equal(cont_nr, __HYPERVISOR_grant_table_op);
    assert_int_equal(cont_args[0], GNTTABOP_map_grant_ref);
    assert_int_equal(cont_args[1], (uint64_t)(uintptr_t)&m[HYPERCALL_PREEMPT_STRIDE]);
    assert_int_equal(cont_args[2], 200 - HYPERCALL_PREEMPT_STRIDE);
    assert_int_equal(m[HYPERCALL_PREEMPT_STRIDE - 1].status, GNTST_okay);
    assert_int_equal(m[HYPERCALL_PREEMPT_STRIDE].status, 99);     /* not yet done */
}

/* The granter dies while dom0 maps its frame: the frame is neither freed
 * nor reused until dom0 unmaps; then it is free. */
static void test_granter_dies(void **state)
{
    unsigned long f = alloc(dom[1]);
    unsigned long free_before;

    grant(15, 0, f, false);
    struct gnttab_map_grant_ref m = dev_map(15, 0);
    assert_int_equal(m.status, GNTST_okay);
    gnttab_destroy(dom[1]);
    mm_relinquish_domain(dom[1]);
    test_domains[1] = NULL;
    free_before = mm_free_frames();
    assert_false(frame_table[f].count_info & PGC_free);
    assert_int_equal(count_of(f), 1);       /* the mapping's reference */
    assert_int_equal(unmap(dom[0], m.handle, m.dev_bus_addr, 0), GNTST_okay);
    assert_true(frame_table[f].count_info & PGC_free);
    assert_int_equal(mm_free_frames(), free_before + 1);
    free(dom[1]->vcpu[0]);
    free(dom[1]);
    dom[1] = NULL;
}

/* The mapper dies: its mappings go, the granter may end access. */
static void test_mapper_dies(void **state)
{
    unsigned long f = alloc(dom[1]);

    grant(16, 0, f, false);
    assert_int_equal(dev_map(16, 0).status, GNTST_okay);
    assert_int_equal(dev_map(16, GNTMAP_readonly).status, GNTST_okay);
    assert_int_equal(count_of(f), 3);
    gnttab_destroy(dom[0]);
    assert_int_equal(gent(16)->flags & (GTF_reading | GTF_writing), 0);
    assert_int_equal(count_of(f), 1);
    assert_int_equal(tcount_of(f), 0);
    assert_int_equal(gnttab_counters.maps, 0);
    assert_int_equal(op_as(dom[0], GNTTABOP_query_size, &(struct gnttab_query_size){ 0 }, 1),
                     -XEN_ENOSYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_setup_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_map_unmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_twice_and_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maptrack_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preemption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_granter_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapper_dies, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
