/*
 * mm.c - machine memory: the boot-time frame table and M2P, the frame
 * allocator, general and type reference counting with Xen's rules, and the
 * validation of guest page tables (64-bit PV).
 *
 * Runs in ring 0 with interrupts off (the hypervisor is non-reentrant, so no
 * locking).  Also compiled into the host unit test tests/unit/test_mm.c with
 * -DLAMINA_HOST_TEST, where mfn_to_virt()/virt_to_mfn() come from the test.
 *
 * Page-table frames are reached through the direct map (mfn_to_virt).  The
 * hypercalls built on top of this file are in mm_hcall.c.
 */
/* config.h and Xen's arch-x86/xen.h both define FIRST_RESERVED_GDT_ENTRY
 * (same value, different spelling): keep Xen's. */
#include "arch/x86/x86.h"
#undef FIRST_RESERVED_GDT_ENTRY
#include <lamina/xen.h>
#include "mm/mm.h"
#include "common/hv.h"

#if __has_include("desc.h")
#include "pv/pv.h"
#else
/* desc.c: true if desc is a descriptor a guest may install in its GDT/LDT. */
bool check_descriptor(const struct domain *d, uint64_t desc);
#endif

struct page_info *frame_table;
unsigned long max_mfn;
unsigned long *m2p_table;

/*
 * Free frames, linked through page_info.next: the dirty stack holds frames
 * whose contents are unknown (boot RAM) or a former owner's (freed); the
 * clean queue holds frames mm_scrub() has zeroed, handed out first and in
 * the order scrubbed.  A dirty frame is zeroed when it is handed out, so a
 * domain's memory costs time for the frames nobody scrubbed beforehand,
 * not for its size (Xen's PGC_need_scrub and idle scrubbing).
 */
static unsigned long free_head = INVALID_MFN;       /* dirty stack */
static unsigned long clean_head = INVALID_MFN, clean_tail = INVALID_MFN;
static unsigned long nr_free_frames, nr_clean_frames;

/* Frames below 1 MiB are never handed out (BIOS, VGA, boot data). */
#define LOW_RESERVED_MFNS   (0x100000UL >> PAGE_SHIFT)

/* PTE flag bits a guest may set (Xen's base_disallow_mask complement). */
#define PTE_AVAIL           0xe00UL
#define PTE_AVAIL_HIGH      (0x7ffUL << 52)        /* bits 52..62 */
#define PTE_GUEST_KERNEL    (1UL << 52)            /* Xen's _PAGE_GUEST_KERNEL */
#define PTE_CACHE_ATTRS     (_PAGE_PWT | _PAGE_PCD | _PAGE_PAT)
#define PTE_FLAGS_MASK      (~PTE_ADDR_MASK)
#define PTE_BASE_ALLOWED    (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | \
                             _PAGE_DIRTY | PTE_AVAIL | PTE_AVAIL_HIGH | _PAGE_NX)

#ifdef LAMINA_HOST_TEST
#define clear_page(p) memset((p), 0, PAGE_SIZE)     /* lib.c is not linked */
#else
void *mfn_to_virt(unsigned long mfn)
{
    return (void *)(DIRECTMAP_VIRT_START + (mfn << PAGE_SHIFT));
}

unsigned long virt_to_mfn(const void *va)
{
    return ((unsigned long)va - DIRECTMAP_VIRT_START) >> PAGE_SHIFT;
}
#endif


static inline bool pte_present(uint64_t pte)
{
    return pte & _PAGE_PRESENT;
}

static inline bool type_is_pt(unsigned long type)
{
    return type >= PGT_l1_page_table && type <= PGT_l4_page_table;
}

static inline bool is_hv_l4_slot(unsigned int i)
{
    return i >= HV_FIRST_L4_SLOT && i <= HV_LAST_L4_SLOT;
}

/* ---- frame allocator ------------------------------------------------- */

static void free_list_push(unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);

    pg->count_info = PGC_free;
    pg->type_info = 0;
    pg->owner = NULL;
    pg->prev = INVALID_MFN;
    pg->next = free_head;
    free_head = mfn;
    nr_free_frames++;
}

/* Takes the first dirty frame off its stack (not zeroed); INVALID_MFN when
 * there is none. */
static unsigned long dirty_pop(void)
{
    unsigned long mfn = free_head;

    if (mfn != INVALID_MFN) {
        free_head = mfn_to_page(mfn)->next;
        nr_free_frames--;
    }
    return mfn;
}

/* A free frame, zeroed: a clean one if there is one, else a dirty one
 * zeroed now.  INVALID_MFN when none is left. */
static unsigned long free_list_pop(void)
{
    unsigned long mfn = clean_head;
    struct page_info *pg;

    if (mfn != INVALID_MFN) {
        clean_head = mfn_to_page(mfn)->next;
        if (clean_head == INVALID_MFN)
            clean_tail = INVALID_MFN;
        nr_clean_frames--;
        nr_free_frames--;
    } else if ((mfn = dirty_pop()) != INVALID_MFN) {
        clear_page(mfn_to_virt(mfn));
    } else {
        return INVALID_MFN;
    }
    pg = mfn_to_page(mfn);
    ASSERT(pg->count_info == PGC_free);
    pg->count_info = 0;
    pg->type_info = 0;
    pg->next = pg->prev = INVALID_MFN;
    return mfn;
}

unsigned long mm_free_frames(void)
{
    return nr_free_frames;
}

unsigned long mm_scrub(unsigned long max)
{
    static bool boot_scrub_reported;
    unsigned long done = 0, mfn;

    while (done < max && (mfn = dirty_pop()) != INVALID_MFN) {
        struct page_info *pg = mfn_to_page(mfn);

        clear_page(mfn_to_virt(mfn));
        pg->next = INVALID_MFN;
        if (clean_tail == INVALID_MFN)
            clean_head = mfn;
        else
            mfn_to_page(clean_tail)->next = mfn;
        clean_tail = mfn;
        nr_clean_frames++;
        nr_free_frames++;
        done++;
    }
    if (!done && !boot_scrub_reported) {
        boot_scrub_reported = true;
        printk("mm: every free frame is zeroed (%lu)\n", nr_free_frames);
    }
    return done;
}

unsigned long mm_dirty_frames(void)
{
    return nr_free_frames - nr_clean_frames;
}

unsigned long alloc_xen_frame(void)
{
    unsigned long mfn = free_list_pop();

    if (mfn != INVALID_MFN) {
        mfn_to_page(mfn)->count_info = PGC_xen_heap;
        mfn_to_page(mfn)->owner = NULL;
    }
    return mfn;
}

/* Undoes share_xen_frame_with_guest(): the frame is the hypervisor's again. */
static void unshare_xen_frame(unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);

    pg->owner = NULL;
    pg->count_info = PGC_xen_heap;
    pg->type_info = 0;
}

void free_xen_frame(unsigned long mfn)
{
    struct page_info *pg;
    unsigned long refs;

    if (!mfn_valid(mfn))
        return;
    pg = mfn_to_page(mfn);
    BUG_ON(!(pg->count_info & PGC_xen_heap));
    refs = pg->count_info & PGC_count_mask;
    if (pg->owner && (pg->count_info & PGC_allocated) && refs > 1) {
        /* A shared frame another domain still maps (dom0 mapping a dying
         * domain's shared_info): drop the allocation reference and the
         * permanent writable type reference; the last put_page() of the
         * mapping frees the frame (free_domain_frame with no owner). */
        pg->owner = NULL;
        pg->count_info = refs - 1;
        pg->type_info -= 1;
        return;
    }
    if (pg->owner)
        unshare_xen_frame(mfn);
    free_list_push(mfn);
}

static void page_list_add(struct domain *d, unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);

    pg->prev = INVALID_MFN;
    pg->next = d->page_list_head;
    if (d->page_list_head != INVALID_MFN)
        mfn_to_page(d->page_list_head)->prev = mfn;
    d->page_list_head = mfn;
}

static void page_list_del(struct domain *d, unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);

    if (pg->prev != INVALID_MFN)
        mfn_to_page(pg->prev)->next = pg->next;
    else if (d->page_list_head == mfn)
        d->page_list_head = pg->next;
    if (pg->next != INVALID_MFN)
        mfn_to_page(pg->next)->prev = pg->prev;
    pg->next = pg->prev = INVALID_MFN;
}

int alloc_domain_frame(struct domain *d, unsigned long *mfn)
{
    unsigned long m;
    struct page_info *pg;

    if (d->tot_pages >= d->max_pages)
        return -XEN_ENOMEM;
    m = free_list_pop();
    if (m == INVALID_MFN)
        return -XEN_ENOMEM;
    pg = mfn_to_page(m);
    pg->owner = d;
    pg->count_info = PGC_allocated | 1;
    pg->type_info = 0;
    page_list_add(d, m);
    d->tot_pages++;
    m2p_table[m] = INVALID_MFN;
    *mfn = m;
    return 0;
}

/* The last general reference of a domain frame went: back to the pool. */
static void __attribute__((noinline)) free_domain_frame(unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);
    struct domain *d = pg->owner;

    BUG_ON(pg->type_info & PGT_count_mask);
    if (pg->count_info & PGC_xen_heap) {
        /* A shared hypervisor frame: stays the hypervisor's. */
        unshare_xen_frame(mfn);
        return;
    }
    if (d) {
        page_list_del(d, mfn);
        d->tot_pages--;
    }
    m2p_table[mfn] = INVALID_MFN;
    /* The guest may still hold stale TLB entries for the frame. */
    flush_tlb_local();
    free_list_push(mfn);
}

void share_xen_frame_with_guest(unsigned long mfn, struct domain *d)
{
    struct page_info *pg = mfn_to_page(mfn);

    BUG_ON(!(pg->count_info & PGC_xen_heap));
    pg->owner = d;
    pg->count_info = PGC_xen_heap | PGC_allocated | 1;
    /* As Xen: typed writable for good, so it can never become a table. */
    pg->type_info = PGT_writable_page | PGT_validated | 1;
}

/* ---- general and type references --------------------------------------- */

/*
 * The reference counts' common cases, inline for the MMU hypercalls' hot
 * paths (every PTE write takes and drops a few): each does exactly what its
 * exported form below does, handing anything but the plain increment or
 * decrement to the out-of-line slow path.
 */

/* get_page() for a RAM frame (mfn_valid) and a non-NULL d. */
static inline bool page_get(struct page_info *pg, const struct domain *d)
{
    unsigned long x = pg->count_info, c = x & PGC_count_mask;

    /* c - 1 wraps for c == 0: refused with the counts about to overflow. */
    if (pg->owner != d || c - 1 >= PGC_count_mask - 2 || (x & PGC_free))
        return false;
    pg->count_info = x + 1;
    return true;
}

/* put_page(): the last general reference frees the frame. */
static inline void page_put(unsigned long mfn, struct page_info *pg)
{
    BUG_ON((pg->count_info & PGC_count_mask) == 0);
    pg->count_info--;
    if ((pg->count_info & PGC_count_mask) == 0)
        free_domain_frame(mfn);
}

static int page_type_get_slow(unsigned long mfn, unsigned long type);
static void page_type_put_slow(unsigned long mfn);

/* get_page_type(): another reference of a validated type in use (or kept
 * validated at count 0) is an increment; a type change or a validation is
 * page_type_get_slow()'s. */
static inline int page_type_get(unsigned long mfn, struct page_info *pg, unsigned long type)
{
    unsigned long x = pg->type_info;

    if ((x & (PGT_type_mask | PGT_validated)) == (type | PGT_validated) &&
        (x & PGT_count_mask) != PGT_count_mask) {
        pg->type_info = x + 1;
        return 0;
    }
    return page_type_get_slow(mfn, type);
}

/* put_page_type(): dropping any but the last type reference is a
 * decrement. */
static inline void page_type_put(unsigned long mfn, struct page_info *pg)
{
    unsigned long x = pg->type_info;

    if ((x & PGT_count_mask) > 1) {
        pg->type_info = x - 1;
        return;
    }
    page_type_put_slow(mfn);
}

bool get_page(unsigned long mfn, struct domain *d)
{
    return mfn_valid(mfn) && d != NULL && page_get(mfn_to_page(mfn), d);
}

void put_page(unsigned long mfn)
{
    page_put(mfn, mfn_to_page(mfn));
}

int get_page_type(unsigned long mfn, unsigned long type)
{
    return page_type_get(mfn, mfn_to_page(mfn), type);
}

void put_page_type(unsigned long mfn)
{
    page_type_put(mfn, mfn_to_page(mfn));
}

static int validate_page(unsigned long mfn, unsigned long type);
static void devalidate_page(unsigned long mfn, unsigned long type);

static int __attribute__((noinline)) page_type_get_slow(unsigned long mfn, unsigned long type)
{
    struct page_info *pg = mfn_to_page(mfn);
    unsigned long x = pg->type_info;
    unsigned long cnt = x & PGT_count_mask;
    int rc;

    if (cnt == PGT_count_mask)
        return -XEN_EINVAL;                 /* type count overflow */
    if (cnt != 0) {
        /* In use: only the same, fully validated type. */
        if ((x & PGT_type_mask) != type || !(x & PGT_validated))
            return -XEN_EINVAL;
        pg->type_info = x + 1;
        return 0;
    }
    if ((x & PGT_type_mask) == type && (x & PGT_validated)) {
        pg->type_info = x + 1;
        return 0;
    }
    /* Type change (or revalidation), allowed only at count 0.  A save in
     * progress must send the frame again with its new type. */
    paging_mark_dirty(pg->owner, mfn);
    if ((x & PGT_type_mask) == PGT_writable_page && type != PGT_writable_page)
        flush_tlb_local();                  /* no stale writable TLB entries */
    pg->type_info = type | 1;
    if (type_is_pt(type) || type == PGT_seg_desc_page) {
        rc = validate_page(mfn, type);
        if (rc) {
            pg->type_info = PGT_none;
            return rc;
        }
    }
    pg->type_info |= PGT_validated;
    return 0;
}

static void __attribute__((noinline)) page_type_put_slow(unsigned long mfn)
{
    struct page_info *pg = mfn_to_page(mfn);
    unsigned long x = pg->type_info;
    unsigned long type = x & PGT_type_mask;

    BUG_ON((x & PGT_count_mask) == 0);
    if ((x & PGT_count_mask) == 1 && type_is_pt(type) && (x & PGT_validated)) {
        /* Last type ref of a table: devalidate, dropping what it maps. */
        paging_mark_dirty(pg->owner, mfn);
        pg->type_info = type;
        devalidate_page(mfn, type);
        return;
    }
    pg->type_info = x - 1;
    if ((pg->type_info & PGT_count_mask) == 0)
        pg->type_info &= ~PGT_pinned;
}

/* get_page() then get_page_type(); -EINVAL if the general ref fails. */
static int get_page_and_type(unsigned long mfn, struct domain *d, unsigned long type)
{
    int rc;

    if (!get_page(mfn, d))
        return -XEN_EINVAL;
    rc = get_page_type(mfn, type);
    if (rc)
        put_page(mfn);
    return rc;
}

static void put_page_and_type(unsigned long mfn)
{
    put_page_type(mfn);
    put_page(mfn);
}

/* ---- page-table entries ---------------------------------------------------- */

/* Machine frames the hypervisor drives itself: its local APIC and the
 * I/O APIC (Xen denies dom0 these too). */
#define LAPIC_MFN           0xfee00UL
#define IOAPIC_MFN          0xfec00UL

/*
 * References for one present L1 entry of a table owned by l1e_owner that
 * maps a frame of pg_owner (Xen's get_page_from_l1e; pg_owner is
 * l1e_owner unless mmu_update named a foreign domain).  A frame beyond the
 * frame table (device memory such as a PCI BAR) takes no reference and may
 * be mapped only when both domains are privileged.  -EINVAL: disallowed
 * flag bits; -EPERM: non-RAM frame for an unprivileged domain (or one the
 * hypervisor keeps); -EBUSY: a frame pg_owner does not own, or a frame
 * that cannot be mapped writable (a page table or descriptor page).
 */
static inline int get_page_from_l1e(uint64_t l1e, struct domain *l1e_owner,
                             struct domain *pg_owner)
{
    unsigned long mfn = pte_mfn(l1e);
    uint64_t allowed = (PTE_BASE_ALLOWED | _PAGE_GLOBAL) & ~PTE_LOGDIRTY;
    struct page_info *pg;

    if (l1e_owner->is_privileged)
        allowed |= PTE_CACHE_ATTRS;
    if (l1e & PTE_FLAGS_MASK & ~allowed)
        return -XEN_EINVAL;
    if (!mfn_valid(mfn)) {
        if (!pg_owner->is_privileged || !l1e_owner->is_privileged ||
            mfn == LAPIC_MFN || mfn == IOAPIC_MFN)
            return -XEN_EPERM;
        return 0;                           /* device memory: no references */
    }
    pg = mfn_to_page(mfn);
    if (!page_get(pg, pg_owner))
        return -XEN_EBUSY;
    if ((l1e & _PAGE_RW) && page_type_get(mfn, pg, PGT_writable_page)) {
        page_put(mfn, pg);
        return -XEN_EBUSY;
    }
    return 0;
}

/* Drops what get_page_from_l1e() took: the general reference and, for a
 * writable entry, the PGT_writable_page type reference.  The owner is the
 * frame's own (refs are per frame), so a foreign mapping needs no record of
 * whose frame it was; device memory holds nothing. */
static inline void put_page_from_l1e(uint64_t l1e)
{
    unsigned long mfn = pte_mfn(l1e);
    struct page_info *pg;

    if (!pte_present(l1e) || !mfn_valid(mfn))
        return;
    pg = mfn_to_page(mfn);
    if (l1e & (_PAGE_RW | PTE_LOGDIRTY)) {
        /* Whatever wrote through it (dom0's foreign mapping) is done. */
        paging_mark_dirty(pg->owner, mfn);
        page_type_put(mfn, pg);
    }
    page_put(mfn, pg);
}

/* References for one present L2/L3/L4 entry: it must point to a table of
 * the next level down owned by d.  -EINVAL otherwise (incl. superpages and
 * linear page tables), or the error validating that table. */
static int get_page_from_lNe(uint64_t e, unsigned int level, struct domain *d)
{
    static const unsigned long lower[5] = {
        0, 0, PGT_l1_page_table, PGT_l2_page_table, PGT_l3_page_table,
    };

    if (e & PTE_FLAGS_MASK & ~PTE_BASE_ALLOWED)
        return -XEN_EINVAL;
    return get_page_and_type(pte_mfn(e), d, lower[level]);
}

/* Takes the references one present entry of a level-`level` table owned by
 * d needs; an L1 entry maps a frame of pg_owner. */
static int get_page_from_entry(uint64_t e, unsigned int level, struct domain *d,
                               struct domain *pg_owner)
{
    return level == 1 ? get_page_from_l1e(e, d, pg_owner) : get_page_from_lNe(e, level, d);
}

static void put_page_from_entry(uint64_t e, unsigned int level)
{
    if (!pte_present(e))
        return;
    if (level == 1)
        put_page_from_l1e(e);
    else
        put_page_and_type(pte_mfn(e));
}

/* Xen's adjust_guest_l*e for 64-bit PV: the guest kernel runs in ring 3, so
 * every present entry gets _PAGE_USER.  Kernel-only L1 mappings are marked
 * with Xen's _PAGE_GUEST_KERNEL; _PAGE_GLOBAL is stripped (Lamina's guest
 * kernel and user tables differ and CR3 loads must flush everything). */
static uint64_t adjust_guest_entry(uint64_t e, unsigned int level)
{
    if (!pte_present(e))
        return e;
    if (level == 1) {
        if (!(e & _PAGE_USER))
            e |= PTE_GUEST_KERNEL;
        e &= ~_PAGE_GLOBAL;
    }
    return e | _PAGE_USER;
}

/* A guest's L1 entry with PTE_LOGDIRTY (as it read one back from a table
 * in log-dirty mode) stands for the writable entry it was. */
static inline uint64_t l1e_logical(uint64_t e)
{
    return (e & PTE_LOGDIRTY) ? (e | _PAGE_RW) & ~PTE_LOGDIRTY : e;
}

static unsigned int type_level(unsigned long type)
{
    return (unsigned int)(type >> 60);
}

/* Validates the table at mfn as `type`: every present entry gets its
 * references and its forced bits; L4s get the hypervisor slots.  On failure
 * nothing stays referenced. */
static int validate_page(unsigned long mfn, unsigned long type)
{
    struct domain *d = mfn_to_page(mfn)->owner;
    uint64_t *t = mfn_to_virt(mfn);
    unsigned int level = type_level(type), i;
    int rc = 0;

    if (type == PGT_seg_desc_page) {
        for (i = 0; i < 512; i++)
            if (!check_descriptor(d, t[i]))
                return -XEN_EINVAL;
        return 0;
    }
    for (i = 0; i < 512; i++) {
        if (level == 4 && is_hv_l4_slot(i))
            continue;
        if (!pte_present(t[i]))
            continue;
        if (level == 1)
            t[i] = l1e_logical(t[i]);
        rc = get_page_from_entry(t[i], level, d, d);
        if (rc)
            goto fail;
        t[i] = adjust_guest_entry(t[i], level);
        if (level == 1)
            t[i] = paging_l1e_install(d, t[i]);
    }
    if (level == 4)
        for (i = HV_FIRST_L4_SLOT; i <= HV_LAST_L4_SLOT; i++)
            t[i] = idle_pg_table[i];
    return 0;

fail:
    printk("mm: d%d mfn %lx as L%u: slot %u (%lx) refused, rc %d\n",
           d ? d->domain_id : -1, mfn, level, i, (unsigned long)t[i], rc);
    while (i-- > 0) {
        if (level == 4 && is_hv_l4_slot(i))
            continue;
        put_page_from_entry(t[i], level);
    }
    return rc;
}

static void devalidate_page(unsigned long mfn, unsigned long type)
{
    uint64_t *t = mfn_to_virt(mfn);
    unsigned int level = type_level(type), i;

    for (i = 0; i < 512; i++) {
        if (level == 4 && is_hv_l4_slot(i))
            continue;
        put_page_from_entry(t[i], level);
    }
}

/*
 * Replaces entry idx of the validated level-`level` table at table_mfn with
 * nval (Xen's mod_lN_entry): references for the new entry are taken before
 * those of the old one are dropped; nothing changes on error.  -EINVAL for
 * an L4 hypervisor slot, else get_page_from_entry()'s errors.
 */
int mm_mod_entry_foreign(unsigned long table_mfn, unsigned int idx, uint64_t nval,
                         unsigned int level, struct domain *pg_owner)
{
    struct domain *d = mfn_to_page(table_mfn)->owner;
    uint64_t *t = mfn_to_virt(table_mfn);
    uint64_t old;
    int rc;

    if (idx >= 512 || level < 1 || level > 4 || !d)
        return -XEN_EINVAL;
    if (level == 4 && is_hv_l4_slot(idx))
        return -XEN_EINVAL;
    if (pte_present(nval)) {
        if (level == 1)
            nval = l1e_logical(nval);
        rc = get_page_from_entry(nval, level, d, pg_owner ? pg_owner : d);
        if (rc)
            return rc;
        nval = adjust_guest_entry(nval, level);
        if (level == 1 && __builtin_expect(d->log_dirty.bitmap != NULL, 0))
            nval = paging_l1e_install(d, nval);
    }
    old = t[idx];
    t[idx] = nval;
    put_page_from_entry(old, level);
    paging_mark_dirty(d, table_mfn);
    return 0;
}

int mm_mod_entry(unsigned long table_mfn, unsigned int idx, uint64_t nval,
                 unsigned int level)
{
    return mm_mod_entry_foreign(table_mfn, idx, nval, level, NULL);
}

int mm_pin_l4(struct domain *d, unsigned long mfn)
{
    return mm_pin_table(d, mfn, PGT_l4_page_table);
}

int mm_pin_table(struct domain *d, unsigned long mfn, unsigned long type)
{
    int rc = get_page_and_type(mfn, d, type);

    if (rc)
        return rc;
    if (mfn_to_page(mfn)->type_info & PGT_pinned) {
        put_page_and_type(mfn);
        return -XEN_EINVAL;                 /* already pinned */
    }
    mfn_to_page(mfn)->type_info |= PGT_pinned;
    paging_mark_dirty(d, mfn);              /* its LPINTAB bit changed */
    return 0;
}

int mm_unpin_table(struct domain *d, unsigned long mfn)
{
    struct page_info *pg;

    if (!get_page(mfn, d))
        return -XEN_EINVAL;
    pg = mfn_to_page(mfn);
    if (!(pg->type_info & PGT_pinned)) {
        put_page(mfn);
        return -XEN_EINVAL;
    }
    pg->type_info &= ~PGT_pinned;
    paging_mark_dirty(d, mfn);
    put_page_and_type(mfn);
    put_page(mfn);
    return 0;
}

/* ---- domain teardown ------------------------------------------------------- */

void mm_relinquish_domain(struct domain *d)
{
    unsigned long mfn, next, left = 0;
    unsigned int i;

    for (i = 0; i < MAX_VCPUS_PER_DOM; i++) {
        struct vcpu *v = d->vcpu[i];

        if (!v)
            continue;
        if (v->guest_table_user) {
            put_page_and_type(v->guest_table_user);
            v->guest_table_user = 0;
        }
        if (v->guest_table) {
            put_page_and_type(v->guest_table);
            v->guest_table = 0;
        }
    }
    /* Unpinning cannot free anything: each frame keeps its allocation ref. */
    for (mfn = d->page_list_head; mfn != INVALID_MFN; mfn = mfn_to_page(mfn)->next) {
        struct page_info *pg = mfn_to_page(mfn);

        if (pg->type_info & PGT_pinned) {
            pg->type_info &= ~PGT_pinned;
            put_page_and_type(mfn);
        }
    }
    for (mfn = d->page_list_head; mfn != INVALID_MFN; mfn = next) {
        struct page_info *pg = mfn_to_page(mfn);

        next = pg->next;
        if (pg->count_info & PGC_allocated) {
            pg->count_info &= ~PGC_allocated;
            put_page(mfn);
        }
    }
    /* The shared_info frame: back to the hypervisor unless another domain
     * still maps it (free_xen_frame() then hands it to the last put). */
    if (mfn_valid(d->shared_info_mfn) &&
        mfn_to_page(d->shared_info_mfn)->owner == d &&
        (mfn_to_page(d->shared_info_mfn)->count_info & PGC_xen_heap) &&
        (mfn_to_page(d->shared_info_mfn)->count_info & PGC_count_mask) <= 1)
        unshare_xen_frame(d->shared_info_mfn);
    /* Frames still referenced (mapped by dom0 through foreign mmu_update)
     * outlive d: they leave its list with no owner, so nothing points at
     * the (reusable) struct domain, and the last put_page() frees them. */
    for (mfn = d->page_list_head; mfn != INVALID_MFN; mfn = next) {
        struct page_info *pg = mfn_to_page(mfn);

        next = pg->next;
        page_list_del(d, mfn);
        pg->owner = NULL;
        d->tot_pages--;
        left++;
    }
    if (left)
        printk("mm: d%d: %lu frames still referenced after relinquish\n",
               d->domain_id, left);
}

/* ---- boot ---------------------------------------------------------------------- */

struct boot_excl { uint64_t start, end; };

static bool overlaps(uint64_t s, uint64_t e, const struct boot_excl *x)
{
    return s < x->end && x->start < e;
}

/* First page-aligned block of `size` bytes of RAM (within the direct map)
 * that overlaps none of excl[0..nx).  Returns ~0 if there is none. */
static uint64_t boot_find(const struct mem_range *r, unsigned int n, uint64_t size,
                          const struct boot_excl *excl, unsigned int nx)
{
    unsigned int i, j;

    for (i = 0; i < n; i++) {
        uint64_t s = (r[i].start + PAGE_SIZE - 1) & PAGE_MASK;
        uint64_t e = (r[i].end < DIRECTMAP_SIZE ? r[i].end : DIRECTMAP_SIZE) & PAGE_MASK;
        bool moved = true;

        while (moved && s + size <= e && s < e) {
            moved = false;
            for (j = 0; j < nx; j++) {
                if (overlaps(s, s + size, &excl[j])) {
                    s = (excl[j].end + PAGE_SIZE - 1) & PAGE_MASK;
                    moved = true;
                }
            }
        }
        if (!moved && s + size <= e)
            return s;
    }
    return ~0ULL;
}

/* Maps the M2P read-only and user-readable at RO_MPT_VIRT_START with 4K
 * pages under idle_pg_table[256]. */
static void map_ro_mpt(unsigned long m2p_mfn, unsigned long nr)
{
    const uint64_t upper = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    const uint64_t leaf = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    unsigned long l3 = alloc_xen_frame(), l2 = alloc_xen_frame(), i;
    uint64_t *l3t, *l2t, *l1t = NULL;

    BUG_ON(l3 == INVALID_MFN || l2 == INVALID_MFN);
    BUG_ON(nr > 512 * 512);                 /* one L2: 1 GiB of M2P */
    l3t = mfn_to_virt(l3);
    l2t = mfn_to_virt(l2);
    l3t[0] = (l2 << PAGE_SHIFT) | upper;
    for (i = 0; i < nr; i++) {
        if (i % 512 == 0) {
            unsigned long l1 = alloc_xen_frame();

            BUG_ON(l1 == INVALID_MFN);
            l1t = mfn_to_virt(l1);
            l2t[i / 512] = (l1 << PAGE_SHIFT) | upper;
        }
        l1t[i % 512] = ((m2p_mfn + i) << PAGE_SHIFT) | leaf;
    }
    idle_pg_table[HV_FIRST_L4_SLOT] = (l3 << PAGE_SHIFT) | upper;
    /* The rest of the hypervisor range is ring-0 only. */
    for (i = HV_FIRST_L4_SLOT + 1; i <= HV_LAST_L4_SLOT; i++)
        idle_pg_table[i] &= ~_PAGE_USER;
    flush_tlb_local();
}

void mm_init(const struct mem_range *ranges, unsigned int n,
             uint64_t reserved_start, uint64_t reserved_end)
{
    struct boot_excl excl[4] = {
        { 0, LOW_RESERVED_MFNS << PAGE_SHIFT },
        { reserved_start & PAGE_MASK, (reserved_end + PAGE_SIZE - 1) & PAGE_MASK },
    };
    uint64_t top = 0, ft_bytes, m2p_bytes, ft, m2p;
    unsigned long mfn, i;
    unsigned int r;

    for (r = 0; r < n; r++) {
        uint64_t e = ranges[r].end < DIRECTMAP_SIZE ? ranges[r].end : DIRECTMAP_SIZE;
        if (e > top)
            top = e;
    }
    max_mfn = top >> PAGE_SHIFT;
    BUG_ON(max_mfn == 0);
    free_head = clean_head = clean_tail = INVALID_MFN;
    nr_free_frames = nr_clean_frames = 0;
    ft_bytes = (max_mfn * sizeof(struct page_info) + PAGE_SIZE - 1) & PAGE_MASK;
    m2p_bytes = (max_mfn * sizeof(unsigned long) + PAGE_SIZE - 1) & PAGE_MASK;

    ft = boot_find(ranges, n, ft_bytes, excl, 2);
    if (ft == ~0ULL)
        panic("mm: no room for a %lu-byte frame table", (unsigned long)ft_bytes);
    excl[2] = (struct boot_excl){ ft, ft + ft_bytes };
    m2p = boot_find(ranges, n, m2p_bytes, excl, 3);
    if (m2p == ~0ULL)
        panic("mm: no room for a %lu-byte M2P", (unsigned long)m2p_bytes);
    excl[3] = (struct boot_excl){ m2p, m2p + m2p_bytes };

    frame_table = mfn_to_virt(ft >> PAGE_SHIFT);
    m2p_table = mfn_to_virt(m2p >> PAGE_SHIFT);
    for (mfn = 0; mfn < max_mfn; mfn++) {
        frame_table[mfn] = (struct page_info){
            .count_info = 0, .type_info = 0, .owner = NULL,
            .next = INVALID_MFN, .prev = INVALID_MFN,
        };
        m2p_table[mfn] = INVALID_MFN;
    }
    /* Frames between the RAM ranges (the MMIO hole) are device memory. */
    for (mfn = 0; mfn < max_mfn; mfn++) {
        uint64_t a = (uint64_t)mfn << PAGE_SHIFT;
        bool ram = false;

        for (r = 0; r < n && !ram; r++)
            ram = a >= (ranges[r].start & PAGE_MASK) && a < ranges[r].end;
        if (!ram && a >= LOW_RESERVED_MFNS << PAGE_SHIFT)
            frame_table[mfn].count_info = PGC_iomem;
    }
    for (i = 0; i < ft_bytes >> PAGE_SHIFT; i++)
        frame_table[(ft >> PAGE_SHIFT) + i].count_info = PGC_xen_heap;
    for (i = 0; i < m2p_bytes >> PAGE_SHIFT; i++)
        frame_table[(m2p >> PAGE_SHIFT) + i].count_info = PGC_xen_heap;

    /* Free every whole RAM frame that nothing else uses, highest first so
     * that low frames are handed out first. */
    for (r = n; r-- > 0;) {
        uint64_t s = (ranges[r].start + PAGE_SIZE - 1) >> PAGE_SHIFT;
        uint64_t e = (ranges[r].end < top ? ranges[r].end : top) >> PAGE_SHIFT;

        for (mfn = e; mfn-- > s;) {
            uint64_t a = (uint64_t)mfn << PAGE_SHIFT;
            bool used = false;
            unsigned int j;

            for (j = 0; j < 4; j++)
                used |= overlaps(a, a + PAGE_SIZE, &excl[j]);
            if (!used && frame_table[mfn].count_info == 0)
                free_list_push(mfn);
        }
    }
    map_ro_mpt(m2p >> PAGE_SHIFT, m2p_bytes >> PAGE_SHIFT);
    printk("mm: %lu frames (max_mfn %lx), %lu free; frame table at %lx, M2P at %lx\n",
           max_mfn, max_mfn, nr_free_frames, (unsigned long)ft, (unsigned long)m2p);
}
