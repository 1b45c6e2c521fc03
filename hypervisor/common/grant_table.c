/*
 * grant_table.c - grant tables v1: GNTTABOP_setup_table, query_size,
 * get_version/set_version, map_grant_ref, unmap_grant_ref and copy
 * (Xen public/grant_table.h).  The contract is grant_table.h.
 *
 * State, in Xen's terms: the shared entries (grant_entry_v1_t, written by
 * the granting guest) live in hypervisor frames shared writable with it;
 * beside each entry is an active entry the guest cannot see, counting the
 * mappings of it (pins) and remembering the frame they pinned; every
 * mapping a domain holds is a maptrack entry of that domain, named by the
 * handle the map returned.  The shared entry's flags and domid are one
 * 32-bit word, changed only by compare-and-exchange, so a granter that
 * rewrites its entry concurrently either sees GTF_reading/GTF_writing or
 * has its change seen before the map proceeds.
 *
 * Runs in ring 0 with interrupts off (no lock: the hypervisor is not
 * reentrant).  Also compiled on the host by tests/unit/test_gnttab.c.
 */
#include "common/sched.h"
#include "common/grant_table.h"
#include "common/guest_access.h"
#include "common/continuation.h"
#include "mm/mm.h"

#define ENTRIES_PER_FRAME   (PAGE_SIZE / sizeof(grant_entry_v1_t))     /* 512 */
#define MAPTRACK_NONE       (~0U)
#define OP_CHUNK            16      /* divides HYPERCALL_PREEMPT_STRIDE */

/* Pins of one grant, by kind; a count at its maximum refuses a new map. */
struct active_grant {
    uint16_t host_rw, host_ro, dev_rw, dev_ro;
    unsigned long mfn;          /* the frame pinned while any count != 0 */
};
#define PIN_MAX 0xffffu

/* One mapping held by a domain (handle = index). */
struct grant_mapping {
    uint32_t ref;               /* the granter's grant reference */
    domid_t domid;              /* the granter */
    uint16_t flags;             /* GNTMAP_host_map | device_map | readonly |
                                 * contains_pte; 0: free */
    uint64_t host_addr;         /* host_map: VA, or the PTE's machine address */
    unsigned long mfn;          /* the frame, referenced by this mapping */
    uint32_t serial;            /* the granter's grant_table.serial */
    uint32_t next_free;         /* free list link (MAPTRACK_NONE ends it) */
};
#define MAPTRACK_PER_FRAME  (PAGE_SIZE / sizeof(struct grant_mapping))  /* 128 */

struct grant_table {
    unsigned int nr_frames, max_frames;
    unsigned long *frame_mfn;           /* [max_frames] */
    struct active_grant **active;       /* [max_frames], ENTRIES_PER_FRAME each */
    struct grant_mapping **maptrack;    /* [max_maptrack] frames */
    unsigned int maptrack_frames, max_maptrack;
    uint32_t maptrack_free;
    uint32_t serial;                    /* distinguishes tables of one domid */
};

struct gnttab_counters gnttab_counters;
static uint32_t next_serial = 1;

/* ---- the table -------------------------------------------------------- */

static inline unsigned int nr_entries(const struct grant_table *gt)
{
    return gt->nr_frames * ENTRIES_PER_FRAME;
}

static inline grant_entry_v1_t *shared_entry(const struct grant_table *gt, grant_ref_t ref)
{
    grant_entry_v1_t *f = mfn_to_virt(gt->frame_mfn[ref / ENTRIES_PER_FRAME]);

    return &f[ref % ENTRIES_PER_FRAME];
}

static inline struct active_grant *active_entry(const struct grant_table *gt, grant_ref_t ref)
{
    return &gt->active[ref / ENTRIES_PER_FRAME][ref % ENTRIES_PER_FRAME];
}

/* Grows d's table to nr frames (Xen's gnttab_grow_table).  0 or -ENOMEM;
 * frames added before a failure stay. */
static int grow_table(struct domain *d, unsigned int nr)
{
    struct grant_table *gt = d->grant_table;

    while (gt->nr_frames < nr) {
        unsigned int i = gt->nr_frames;
        unsigned long mfn = alloc_xen_frame();

        if (mfn == INVALID_MFN)
            return -XEN_ENOMEM;
        gt->active[i] = vzalloc(ENTRIES_PER_FRAME * sizeof(struct active_grant));
        if (!gt->active[i]) {
            free_xen_frame(mfn);
            return -XEN_ENOMEM;
        }
        share_xen_frame_with_guest(mfn, d);
        gt->frame_mfn[i] = mfn;
        gt->nr_frames++;
        gnttab_counters.frames++;
    }
    return 0;
}

int gnttab_init(struct domain *d, int max_frames, int max_maptrack_frames)
{
    struct grant_table *gt;

    if (max_frames < 0)
        max_frames = GNTTAB_DEFAULT_MAX_FRAMES;
    if (max_maptrack_frames < 0)
        max_maptrack_frames = GNTTAB_DEFAULT_MAX_MAPTRACK;
    if (max_frames == 0 || max_frames > GNTTAB_MAX_FRAMES_LIMIT ||
        max_maptrack_frames > GNTTAB_MAX_MAPTRACK_LIMIT)
        return -XEN_EINVAL;
    gt = xzalloc_bytes(sizeof(*gt));
    if (!gt)
        return -XEN_ENOMEM;
    gt->max_frames = (unsigned int)max_frames;
    gt->max_maptrack = (unsigned int)max_maptrack_frames;
    gt->maptrack_free = MAPTRACK_NONE;
    gt->serial = next_serial++;
    gt->frame_mfn = xzalloc_bytes(gt->max_frames * sizeof(*gt->frame_mfn));
    gt->active = xzalloc_bytes(gt->max_frames * sizeof(*gt->active));
    gt->maptrack = gt->max_maptrack ? xzalloc_bytes(gt->max_maptrack * sizeof(*gt->maptrack))
                                    : NULL;
    d->grant_table = gt;
    if (!gt->frame_mfn || !gt->active || (gt->max_maptrack && !gt->maptrack) ||
        grow_table(d, 1)) {
        gnttab_destroy(d);
        return -XEN_ENOMEM;
    }
    return 0;
}

/* ---- the shared entry's flags ------------------------------------------ */

/* The {flags, domid} word of an entry, as the guest may change it. */
static inline uint32_t *entry_word(grant_entry_v1_t *e)
{
    return (uint32_t *)(void *)e;
}

/*
 * Checks that e grants access to domain `to` (rw: writably) and sets
 * `set` (GTF_reading and/or GTF_writing) in one compare-and-exchange, as
 * Xen's _set_status_v1 does.  GNTST_okay or GNTST_general_error.
 */
static int16_t entry_acquire(grant_entry_v1_t *e, domid_t to, bool rw, uint16_t set)
{
    uint16_t mask = GTF_type_mask | GTF_sub_page | (rw ? GTF_readonly : 0);
    uint32_t old = __atomic_load_n(entry_word(e), __ATOMIC_ACQUIRE);

    for (;;) {
        uint16_t flags = (uint16_t)old;
        domid_t domid = (domid_t)(old >> 16);

        if ((flags & mask) != GTF_permit_access || domid != to)
            return GNTST_general_error;
        if ((flags & set) == set)
            return GNTST_okay;
        if (__atomic_compare_exchange_n(entry_word(e), &old, old | set, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return GNTST_okay;
    }
}

static void entry_clear(grant_entry_v1_t *e, uint16_t clear)
{
    __atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_RELEASE);
}

/* Brings the shared flags in line with act's pins. */
static void entry_sync(grant_entry_v1_t *e, const struct active_grant *act)
{
    uint16_t clear = 0;

    if (!act->host_rw && !act->dev_rw)
        clear |= GTF_writing;
    if (!act->host_rw && !act->dev_rw && !act->host_ro && !act->dev_ro)
        clear |= GTF_reading;
    if (clear)
        entry_clear(e, clear);
}

static bool pinned(const struct active_grant *act)
{
    return act->host_rw || act->host_ro || act->dev_rw || act->dev_ro;
}

/* ---- maptrack ----------------------------------------------------------- */

static inline struct grant_mapping *maptrack_entry(const struct grant_table *gt, uint32_t h)
{
    return &gt->maptrack[h / MAPTRACK_PER_FRAME][h % MAPTRACK_PER_FRAME];
}

/* A free handle, growing the maptrack by a frame when none is free;
 * MAPTRACK_NONE at the domain's limit or out of memory. */
static uint32_t maptrack_get(struct grant_table *gt)
{
    uint32_t h = gt->maptrack_free;

    if (h == MAPTRACK_NONE) {
        struct grant_mapping *f;
        uint32_t base;

        if (gt->maptrack_frames >= gt->max_maptrack ||
            !(f = xzalloc_bytes(PAGE_SIZE)))
            return MAPTRACK_NONE;
        base = gt->maptrack_frames * MAPTRACK_PER_FRAME;
        gt->maptrack[gt->maptrack_frames++] = f;
        gnttab_counters.maptrack_frames++;
        for (uint32_t i = MAPTRACK_PER_FRAME; i-- > 0;) {
            f[i].next_free = gt->maptrack_free;
            gt->maptrack_free = base + i;
        }
        h = gt->maptrack_free;
    }
    gt->maptrack_free = maptrack_entry(gt, h)->next_free;
    gnttab_counters.maps++;
    return h;
}

static void maptrack_put(struct grant_table *gt, uint32_t h)
{
    struct grant_mapping *m = maptrack_entry(gt, h);

    m->flags = 0;
    m->next_free = gt->maptrack_free;
    gt->maptrack_free = h;
    gnttab_counters.maps--;
}

/* ---- host mappings (PTEs) ------------------------------------------------ */

/* The L1 slot a host mapping uses: a VA in v's kernel tables, or with
 * GNTMAP_contains_pte the PTE's machine address.  The L1 is referenced
 * (put_page() it); INVALID_MFN if there is no usable L1 of v's domain. */
static unsigned long host_slot(struct vcpu *v, uint64_t host_addr, uint16_t flags,
                               unsigned int *idx)
{
    if (flags & GNTMAP_contains_pte) {
        unsigned long l1 = host_addr >> PAGE_SHIFT;

        if ((host_addr & 7) || !mm_get_l1(v->domain, l1))
            return INVALID_MFN;
        *idx = (host_addr & (PAGE_SIZE - 1)) / 8;
        return l1;
    }
    if (host_addr & (PAGE_SIZE - 1))
        return INVALID_MFN;
    return mm_get_l1_for_va(v, host_addr, idx);
}

/* Writes the PTE mapping mfn (of rd) at the host slot. */
static int16_t host_map(struct vcpu *v, struct domain *rd, uint64_t host_addr, uint16_t flags,
                        unsigned long mfn)
{
    unsigned int idx = 0;
    unsigned long l1 = host_slot(v, host_addr, flags, &idx);
    uint64_t pte = ((uint64_t)mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED |
                   _PAGE_USER | _PAGE_NX | ((flags & GNTMAP_readonly) ? 0 : _PAGE_RW | _PAGE_DIRTY);
    int rc;

    if (l1 == INVALID_MFN)
        return GNTST_general_error;
    rc = mm_mod_entry_foreign(l1, idx, pte, 1, rd);
    put_page(l1);
    return rc ? GNTST_general_error : GNTST_okay;
}

/* Clears the host slot if it maps mfn (Xen's replace_grant_host_mapping:
 * a slot that maps anything else is an error and stays). */
static int16_t host_unmap(struct vcpu *v, uint64_t host_addr, uint16_t flags, unsigned long mfn)
{
    unsigned int idx = 0;
    unsigned long l1 = host_slot(v, host_addr, flags, &idx);
    uint64_t pte;
    int16_t st = GNTST_general_error;

    if (l1 == INVALID_MFN)
        return GNTST_general_error;
    pte = ((uint64_t *)mfn_to_virt(l1))[idx];
    if ((pte & _PAGE_PRESENT) && ((pte & PTE_ADDR_MASK) >> PAGE_SHIFT) == mfn &&
        !mm_mod_entry(l1, idx, 0, 1)) {
        if (v == current)
            flush_tlb_local();
        st = GNTST_okay;
    }
    put_page(l1);
    return st;
}

/* ---- map / unmap ---------------------------------------------------------- */

/* The granting domain an op names: d itself for DOMID_SELF or its own id,
 * else a live domain; NULL if none. */
static struct domain *granter(struct domain *d, domid_t id)
{
    struct domain *rd = (id == DOMID_SELF || id == d->domain_id) ? d : domain_lookup(id);

    return rd && !rd->is_dying && rd->grant_table ? rd : NULL;
}

static void map_grant_ref(struct vcpu *v, struct gnttab_map_grant_ref *op)
{
    struct domain *ld = v->domain, *rd;
    struct grant_table *lgt = ld->grant_table, *rgt;
    bool ro = op->flags & GNTMAP_readonly;
    bool host = op->flags & GNTMAP_host_map, dev = op->flags & GNTMAP_device_map;
    struct active_grant *act;
    grant_entry_v1_t *e;
    uint16_t *pin;
    uint32_t h;
    unsigned long mfn;

    op->handle = 0;
    if (!host && !dev) {
        op->status = GNTST_bad_gntref;
        return;
    }
    if (!(rd = granter(ld, op->dom))) {
        op->status = GNTST_bad_domain;
        return;
    }
    rgt = rd->grant_table;
    if (op->ref >= nr_entries(rgt)) {
        op->status = GNTST_bad_gntref;
        return;
    }
    act = active_entry(rgt, op->ref);
    e = shared_entry(rgt, op->ref);
    if ((host && *(ro ? &act->host_ro : &act->host_rw) == PIN_MAX) ||
        (dev && *(ro ? &act->dev_ro : &act->dev_rw) == PIN_MAX)) {
        op->status = GNTST_general_error;       /* Xen: "Risk of counter overflow" */
        return;
    }
    if ((h = maptrack_get(lgt)) == MAPTRACK_NONE) {
        op->status = GNTST_no_space;
        return;
    }
    /* Re-checked for every map, not only the first: a grant made read-only
     * since must not gain a writable mapping. */
    op->status = entry_acquire(e, ld->domain_id, !ro, GTF_reading | (ro ? 0 : GTF_writing));
    if (op->status != GNTST_okay)
        goto fail_handle;
    if (!pinned(act))
        act->mfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
    mfn = act->mfn;
    /* The mapping's own references: the frame must be rd's RAM. */
    if (!get_page(mfn, rd)) {
        op->status = GNTST_general_error;
        goto fail_flags;
    }
    if (!ro && get_page_type(mfn, PGT_writable_page)) {
        put_page(mfn);
        op->status = GNTST_general_error;
        goto fail_flags;
    }
    if (host && (op->status = host_map(v, rd, op->host_addr, op->flags, mfn)) != GNTST_okay) {
        if (!ro)
            put_page_type(mfn);
        put_page(mfn);
        goto fail_flags;
    }
    if (host) {
        pin = ro ? &act->host_ro : &act->host_rw;
        (*pin)++;
    }
    if (dev) {
        pin = ro ? &act->dev_ro : &act->dev_rw;
        (*pin)++;
        op->dev_bus_addr = (uint64_t)mfn << PAGE_SHIFT;
    }
    struct grant_mapping *m = maptrack_entry(lgt, h);
    m->ref = op->ref;
    m->domid = rd->domain_id;
    m->flags = (uint16_t)(op->flags & (GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly |
                                      GNTMAP_contains_pte));
    m->host_addr = op->host_addr;
    m->mfn = mfn;
    m->serial = rgt->serial;
    op->handle = h;
    return;

fail_flags:
    entry_sync(e, act);
fail_handle:
    maptrack_put(lgt, h);
}

/* Drops the pins of m's remaining kinds (host and/or device, `kinds`) in
 * the granter's active entry, if the granter still has the table m was
 * made against. */
static void unpin(const struct grant_mapping *m, uint16_t kinds)
{
    struct domain *rd = domain_lookup(m->domid);
    bool ro = m->flags & GNTMAP_readonly;
    struct active_grant *act;

    if (!rd || !rd->grant_table || rd->grant_table->serial != m->serial ||
        m->ref >= nr_entries(rd->grant_table))
        return;
    act = active_entry(rd->grant_table, m->ref);
    if (kinds & GNTMAP_host_map) {
        uint16_t *pin = ro ? &act->host_ro : &act->host_rw;
        if (*pin)
            (*pin)--;
    }
    if (kinds & GNTMAP_device_map) {
        uint16_t *pin = ro ? &act->dev_ro : &act->dev_rw;
        if (*pin)
            (*pin)--;
    }
    entry_sync(shared_entry(rd->grant_table, m->ref), act);
}

/* The mapping's references go; the handle is free again. */
static void mapping_release(struct grant_table *lgt, uint32_t h)
{
    struct grant_mapping *m = maptrack_entry(lgt, h);

    if (!(m->flags & GNTMAP_readonly)) {
        /* The backend wrote through it: a save in progress sends it. */
        paging_mark_dirty(mfn_to_page(m->mfn)->owner, m->mfn);
        put_page_type(m->mfn);
    }
    put_page(m->mfn);
    maptrack_put(lgt, h);
}

static void unmap_grant_ref(struct vcpu *v, struct gnttab_unmap_grant_ref *op)
{
    struct grant_table *lgt = v->domain->grant_table;
    struct grant_mapping *m;
    uint16_t done = 0;

    if (op->handle >= lgt->maptrack_frames * MAPTRACK_PER_FRAME ||
        !(m = maptrack_entry(lgt, op->handle))->flags) {
        op->status = GNTST_bad_handle;
        return;
    }
    op->status = GNTST_okay;
    if (op->dev_bus_addr && (m->flags & GNTMAP_device_map)) {
        if ((op->dev_bus_addr >> PAGE_SHIFT) != m->mfn) {
            op->status = GNTST_bad_dev_addr;
            return;
        }
        done |= GNTMAP_device_map;
    }
    if (op->host_addr && (m->flags & GNTMAP_host_map)) {
        op->status = host_unmap(v, op->host_addr, m->flags & GNTMAP_contains_pte, m->mfn);
        if (op->status != GNTST_okay)
            return;
        done |= GNTMAP_host_map;
    }
    unpin(m, done);
    m->flags &= (uint16_t)~done;
    if (!(m->flags & (GNTMAP_host_map | GNTMAP_device_map)))
        mapping_release(lgt, op->handle);
}

/* ---- copy ------------------------------------------------------------------ */

/* One side of a copy, resolved: the frame (referenced) and, for a grant,
 * the flags this copy set in the entry and must clear again. */
struct copy_side {
    unsigned long mfn;
    grant_entry_v1_t *entry;
    uint16_t set;
};

static int16_t copy_acquire(struct domain *ld, const struct gnttab_copy_ptr *p, bool is_gref,
                            bool rw, struct copy_side *s)
{
    s->entry = NULL;
    s->set = 0;
    if (!is_gref) {
        /* A frame of the caller's own (Xen: copy-by-MFN only for DOMID_SELF). */
        s->mfn = (unsigned long)p->u.gmfn;
        if (!get_page(s->mfn, ld))
            return GNTST_general_error;
        if (rw && get_page_type(s->mfn, PGT_writable_page)) {
            put_page(s->mfn);
            return GNTST_general_error;
        }
        return GNTST_okay;
    }
    struct domain *rd = granter(ld, p->domid);
    if (!rd)
        return GNTST_bad_domain;
    if (p->u.ref >= nr_entries(rd->grant_table))
        return GNTST_bad_gntref;
    grant_entry_v1_t *e = shared_entry(rd->grant_table, p->u.ref);
    struct active_grant *act = active_entry(rd->grant_table, p->u.ref);
    uint16_t want = GTF_reading | (rw ? GTF_writing : 0);
    uint16_t had = (uint16_t)(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & want);
    int16_t st = entry_acquire(e, ld->domain_id, rw, want);

    if (st != GNTST_okay)
        return st;
    s->entry = e;
    s->set = (uint16_t)(want & ~had);
    s->mfn = pinned(act) ? act->mfn : (unsigned long)__atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
    if (!get_page(s->mfn, rd)) {
        entry_clear(e, s->set);
        return GNTST_general_error;
    }
    if (rw && get_page_type(s->mfn, PGT_writable_page)) {
        put_page(s->mfn);
        entry_clear(e, s->set);
        return GNTST_general_error;
    }
    return GNTST_okay;
}

static void copy_release(struct copy_side *s, bool rw)
{
    if (rw)
        put_page_type(s->mfn);
    put_page(s->mfn);
    if (s->entry && s->set)
        entry_clear(s->entry, s->set);
}

void gnttab_mark_dirty_mapped(struct domain *d)
{
    struct grant_table *gt = d->grant_table;

    if (!gt)
        return;
    for (unsigned int ref = 0; ref < nr_entries(gt); ref++) {
        const struct active_grant *act = active_entry(gt, ref);
        if (act->host_rw || act->dev_rw)
            paging_mark_dirty(d, act->mfn);
    }
}

static void gnttab_copy_one(struct domain *ld, struct gnttab_copy *op)
{
    struct copy_side src, dst;
    bool sg = op->flags & GNTCOPY_source_gref, dg = op->flags & GNTCOPY_dest_gref;

    if ((!sg && op->source.domid != DOMID_SELF) || (!dg && op->dest.domid != DOMID_SELF)) {
        op->status = GNTST_permission_denied;
        return;
    }
    if ((unsigned int)op->source.offset + op->len > PAGE_SIZE ||
        (unsigned int)op->dest.offset + op->len > PAGE_SIZE) {
        op->status = GNTST_bad_copy_arg;
        return;
    }
    if ((op->status = copy_acquire(ld, &op->source, sg, false, &src)) != GNTST_okay)
        return;
    if ((op->status = copy_acquire(ld, &op->dest, dg, true, &dst)) != GNTST_okay) {
        copy_release(&src, false);
        return;
    }
    memmove((char *)mfn_to_virt(dst.mfn) + op->dest.offset,
            (const char *)mfn_to_virt(src.mfn) + op->source.offset, op->len);
    paging_mark_dirty(mfn_to_page(dst.mfn)->owner, dst.mfn);
    copy_release(&dst, true);
    copy_release(&src, false);
}

/* ---- setup, query, version ---------------------------------------------------- */

/* The domain a table op names: the caller, or any domain for dom0. */
static struct domain *table_domain(struct domain *cd, domid_t dom, int16_t *st)
{
    struct domain *d;

    if (dom == DOMID_SELF || dom == cd->domain_id)
        return cd;
    if (!cd->is_privileged) {
        *st = GNTST_permission_denied;
        return NULL;
    }
    d = domain_lookup(dom);
    if (!d || !d->grant_table) {
        *st = GNTST_bad_domain;
        return NULL;
    }
    return d;
}

static long setup_table(struct domain *cd, uint64_t uop)
{
    struct gnttab_setup_table op;
    struct domain *d;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    op.status = GNTST_okay;
    if (!(d = table_domain(cd, op.dom, &op.status)))
        goto out;
    if (op.nr_frames > d->grant_table->max_frames) {
        op.status = GNTST_general_error;
        goto out;
    }
    if (grow_table(d, op.nr_frames)) {
        op.status = GNTST_general_error;
        goto out;
    }
    for (unsigned int i = 0; i < op.nr_frames; i++) {
        xen_pfn_t f = d->grant_table->frame_mfn[i];   /* PV: the MFN */
        if (copy_to_guest((uint64_t)(uintptr_t)op.frame_list.p + i * sizeof(f), &f, sizeof(f)))
            return -XEN_EFAULT;
    }
out:
    return copy_to_guest(uop, &op, sizeof(op)) ? -XEN_EFAULT : 0;
}

static long query_size(struct domain *cd, uint64_t uop)
{
    struct gnttab_query_size op;
    struct domain *d;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    op.status = GNTST_okay;
    if ((d = table_domain(cd, op.dom, &op.status))) {
        op.nr_frames = d->grant_table->nr_frames;
        op.max_nr_frames = d->grant_table->max_frames;
    }
    return copy_to_guest(uop, &op, sizeof(op)) ? -XEN_EFAULT : 0;
}

/* Version 1 only: the domain's creator gave no other (grant_opts), so a
 * request for 2 gets Xen's -ENOSYS and anything else -EINVAL; the current
 * version (1) is written back either way, as Xen does. */
static long set_version(uint64_t uop)
{
    struct gnttab_set_version op;
    long rc = 0;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    if (op.version != 1 && op.version != 2)
        rc = -XEN_EINVAL;
    else if (op.version == 2)
        rc = -XEN_ENOSYS;
    op.version = 1;
    if (copy_to_guest(uop, &op, sizeof(op)))
        return -XEN_EFAULT;
    return rc;
}

static long get_version(struct domain *cd, uint64_t uop)
{
    struct gnttab_get_version op;

    if (copy_from_guest(&op, uop, sizeof(op)))
        return -XEN_EFAULT;
    if (op.dom != DOMID_SELF && op.dom != cd->domain_id) {
        struct domain *d = domain_lookup(op.dom);
        if (!d)
            return -XEN_ESRCH;
        if (!cd->is_privileged)
            return -XEN_EPERM;
    }
    op.version = 1;
    return copy_to_guest(uop, &op, sizeof(op)) ? -XEN_EFAULT : 0;
}

/* ---- the hypercall ------------------------------------------------------------- */

long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count)
{
    struct vcpu *v = current;
    struct domain *d = v->domain;
    size_t size;

    if (!d->grant_table)
        return -XEN_ENOSYS;
    switch (cmd) {
    case GNTTABOP_setup_table:
    case GNTTABOP_query_size:
    case GNTTABOP_set_version:
    case GNTTABOP_get_version:
        if (count != 1)
            return -XEN_EINVAL;
        return cmd == GNTTABOP_setup_table ? setup_table(d, uop) :
               cmd == GNTTABOP_query_size  ? query_size(d, uop) :
               cmd == GNTTABOP_set_version ? set_version(uop) : get_version(d, uop);
    case GNTTABOP_map_grant_ref:
        size = sizeof(struct gnttab_map_grant_ref);
        break;
    case GNTTABOP_unmap_grant_ref:
        size = sizeof(struct gnttab_unmap_grant_ref);
        break;
    case GNTTABOP_copy:
        size = sizeof(struct gnttab_copy);
        break;
    default:
        return -XEN_ENOSYS;
    }
    /* Ops move in and out a chunk at a time: one guest copy each way per
     * OP_CHUNK ops (a copy is most of a cheap op's cost). */
    static union {
        struct gnttab_map_grant_ref map[OP_CHUNK];
        struct gnttab_unmap_grant_ref unmap[OP_CHUNK];
        struct gnttab_copy copy[OP_CHUNK];
    } ops;
    for (unsigned int i = 0; i < count;) {
        unsigned int n = count - i < OP_CHUNK ? count - i : OP_CHUNK;
        uint64_t at = uop + (uint64_t)i * size;

        if (i && i % HYPERCALL_PREEMPT_STRIDE == 0 && hypercall_preempt_check()) {
            hypercall_create_continuation(__HYPERVISOR_grant_table_op, cmd, at, count - i, 0, 0);
            return 0;
        }
        /* A chunk that does not copy is retried op by op, so the ops
         * before a bad one are done, as Xen does them one at a time. */
        if (copy_from_guest(&ops, at, n * size) && (n = 1, copy_from_guest(&ops, at, size)))
            return -XEN_EFAULT;
        for (unsigned int k = 0; k < n; k++) {
            if (cmd == GNTTABOP_map_grant_ref)
                map_grant_ref(v, &ops.map[k]);
            else if (cmd == GNTTABOP_unmap_grant_ref)
                unmap_grant_ref(v, &ops.unmap[k]);
            else
                gnttab_copy_one(d, &ops.copy[k]);
        }
        if (copy_to_guest(at, &ops, n * size))
            return -XEN_EFAULT;
        i += n;
    }
    return 0;
}

/* ---- teardown ------------------------------------------------------------------ */

void gnttab_destroy(struct domain *d)
{
    struct grant_table *gt = d->grant_table;
    struct vcpu *v = d->vcpu[0];

    if (!gt)
        return;
    /* Mappings d holds: PTEs first (while d's tables still stand), then
     * the references the mappings themselves hold. */
    for (uint32_t h = 0; h < gt->maptrack_frames * MAPTRACK_PER_FRAME; h++) {
        struct grant_mapping *m = maptrack_entry(gt, h);

        if (!m->flags)
            continue;
        if ((m->flags & GNTMAP_host_map) && v)
            (void)host_unmap(v, m->host_addr, m->flags & GNTMAP_contains_pte, m->mfn);
        unpin(m, m->flags & (GNTMAP_host_map | GNTMAP_device_map));
        mapping_release(gt, h);
    }
    for (unsigned int i = 0; i < gt->maptrack_frames; i++)
        xfree(gt->maptrack[i]);
    gnttab_counters.maptrack_frames -= gt->maptrack_frames;
    for (unsigned int i = 0; i < gt->nr_frames; i++) {
        free_xen_frame(gt->frame_mfn[i]);
        vfree(gt->active[i]);
        gnttab_counters.frames--;
    }
    xfree(gt->maptrack);
    xfree(gt->active);
    xfree(gt->frame_mfn);
    xfree(gt);
    d->grant_table = NULL;
}
