/*
 * mm_fixture.h - the machine, stubs and helpers shared by the unit tests of
 * hypervisor/mm (test_mm.c, test_paging.c): NR_FRAMES frames of malloc'd
 * "machine memory", two domains of 256 pages (dom[0] privileged-capable,
 * dom[1]), frame allocation and page-table building helpers.  Guest
 * virtual addresses given to copy_{from,to}_guest are host pointers, except
 * [BAD_VA, BAD_VA + BAD_LEN), which faults (-EFAULT).  Included once, after
 * the hypervisor sources.
 */
#ifndef MM_FIXTURE_H
#define MM_FIXTURE_H
#define NR_FRAMES   2048UL                      /* 8 MiB */
#define RES_START   (0x200000UL)                /* "hypervisor image" */
#define RES_END     (0x280000UL)
#define BAD_VA      0x00000dead0000000UL
#define BAD_LEN     0x10000UL

static uint8_t *machine;
uint64_t idle_pg_table[512] __attribute__((aligned(4096)));
struct vcpu *current;
#define TEST_DOMAINS 16      /* ids the stub domain table holds */
static struct domain *test_domains[TEST_DOMAINS];

/* ---- stubs ---------------------------------------------------------------- */

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
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fail_msg("panic");
    abort();
}

static bool bad_range(uint64_t va, size_t len)
{
    return !guest_range_ok(va, len) || (va < BAD_VA + BAD_LEN && va + len > BAD_VA);
}

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (bad_range(src, len))
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}

/* entry.S's raw_copy (mmu_update's inline quadword copy): an access to
 * the bad range "faults", nothing copied. */
size_t raw_copy(void *dst, const void *src, size_t n)
{
    if (bad_range((uintptr_t)src, n) || bad_range((uintptr_t)dst, n))
        return n;
    memcpy(dst, src, n);
    return 0;
}

int copy_to_guest(uint64_t dst, const void *src, size_t len)
{
    if (bad_range(dst, len))
        return -XEN_EFAULT;
    memcpy((void *)(uintptr_t)dst, src, len);
    return 0;
}

#define BAD_DESC 0xbadbadbadUL
#include "hv_stubs.h"

bool check_descriptor(const struct domain *d, uint64_t desc)
{
    return desc != BAD_DESC;
}

struct domain *domain_lookup(domid_t id)
{
    return id < TEST_DOMAINS ? test_domains[id] : NULL;
}

/* unmod.c's P2M setter: records the calls; gpfn >= 65536 fails as unmod.c's
 * does beyond UNMOD_MAX_PAGES. */
static unsigned int p2m_calls;
static unsigned long p2m_last_gpfn, p2m_last_mfn;
static struct domain *p2m_last_d;

int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn)
{
    if (!d->unmod || gpfn >= 65536)
        return -XEN_EINVAL;
    p2m_calls++;
    p2m_last_d = d;
    p2m_last_gpfn = gpfn;
    p2m_last_mfn = mfn;
    return 0;
}

/* unmod.c's P2M lookup: the unit tests' unmodified domains map nothing by
 * guest frame number. */
unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn)
{
    (void)d;
    (void)gfn;
    return INVALID_MFN;
}

/* ---- fixtures -------------------------------------------------------------- */

static struct domain *dom[2];
static unsigned long free_at_start;

static struct domain *new_domain(domid_t id, unsigned long max_pages)
{
    struct domain *d = calloc(1, sizeof(*d));
    struct vcpu *v = calloc(1, sizeof(*v));

    assert_non_null(d);
    assert_non_null(v);
    d->domain_id = id;
    d->max_pages = max_pages;
    d->page_list_head = INVALID_MFN;
    d->shared_info_mfn = INVALID_MFN;
    d->vcpu[0] = v;
    d->max_vcpus = 1;
    v->domain = d;
    v->kernel_mode = true;
    test_domains[id] = d;
    return d;
}

static int setup(void **state)
{
    struct mem_range r = { 0, NR_FRAMES * PAGE_SIZE };
    unsigned int i;

    machine = aligned_alloc(PAGE_SIZE, NR_FRAMES * PAGE_SIZE);
    assert_non_null(machine);
    memset(machine, 0xcc, NR_FRAMES * PAGE_SIZE);
    memset(idle_pg_table, 0, sizeof(idle_pg_table));
    for (i = HV_FIRST_L4_SLOT + 1; i <= HV_LAST_L4_SLOT; i++)
        idle_pg_table[i] = (0x100UL + i) << PAGE_SHIFT | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
    mm_init(&r, 1, RES_START, RES_END);
    free_at_start = mm_free_frames();
    dom[0] = new_domain(0, 256);
    dom[1] = new_domain(1, 256);
    current = dom[0]->vcpu[0];
    mm_host_cr3 = 0;
    p2m_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    unsigned int i;

    for (i = 0; i < 2; i++) {
        test_domains[i] = NULL;
        free(dom[i]->vcpu[0]);
        free(dom[i]);
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

static uint64_t *tab(unsigned long mfn)
{
    return mfn_to_virt(mfn);
}

static inline unsigned long count_of(unsigned long mfn)
{
    return frame_table[mfn].count_info & PGC_count_mask;
}

static inline unsigned long tcount_of(unsigned long mfn)
{
    return frame_table[mfn].type_info & PGT_count_mask;
}

static inline unsigned long type_of(unsigned long mfn)
{
    return frame_table[mfn].type_info & PGT_type_mask;
}

static uint64_t pte(unsigned long mfn, uint64_t flags)
{
    return (mfn << PAGE_SHIFT) | flags;
}

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW

/* A 4-level hierarchy of d: L4[0] -> L3[0] -> L2[0] -> L1, L1[0] maps
 * data writable.  Tables are only written, not validated. */
struct tree { unsigned long l4, l3, l2, l1, data; };

static struct tree build_tree(struct domain *d)
{
    struct tree t = { alloc(d), alloc(d), alloc(d), alloc(d), alloc(d) };

    tab(t.l4)[0] = pte(t.l3, P | RW);
    tab(t.l3)[0] = pte(t.l2, P | RW);
    tab(t.l2)[0] = pte(t.l1, P | RW);
    tab(t.l1)[0] = pte(t.data, P | RW);
    tab(t.l1)[1] = pte(t.l1, P);            /* the L1 itself, read-only */
    return t;
}

#endif
