/*
 * gnttab.c - grant references of a PV guest (pv/gnttab.h): a free list of
 * entries threaded through a side array, entries written in Xen's order
 * (frame and domid first, then flags behind a write barrier, so the
 * hypervisor never sees GTF_permit_access with a stale frame).
 */
#include <pv/gnttab.h>
#include <pv/irq.h>

static grant_entry_v1_t *table;
static unsigned int nr_entries;
static uint32_t *next_free;         /* [nr_entries]; ~0u: in use */
static uint32_t free_head = ~0u;
static unsigned int in_use;

#define REF_IN_USE 0xfffffffeu

int gnttab_setup(unsigned int nr_frames, xen_pfn_t *mfns)
{
    struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = nr_frames };
    int rc;

    set_xen_guest_handle(op.frame_list, mfns);
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &op, 1);
    if (rc)
        return rc;
    return op.status == GNTST_okay ? 0 : -XEN_EINVAL;
}

/* The free-list links live in a static array sized for the largest table
 * this library takes (8 frames, 4096 references). */
#define GNTTAB_MAX_FRAMES 8
static uint32_t links[GNTTAB_MAX_FRAMES * 512];

int gnttab_init(grant_entry_v1_t *shared, unsigned int nr_frames)
{
    if (!shared || nr_frames == 0 || nr_frames > GNTTAB_MAX_FRAMES || table)
        return -XEN_EINVAL;
    table = shared;
    nr_entries = nr_frames * 512;
    next_free = links;
    for (uint32_t r = nr_entries; r-- > GNTTAB_NR_RESERVED;) {
        next_free[r] = free_head;
        free_head = r;
    }
    return 0;
}

int gnttab_grant_access(domid_t domid, unsigned long mfn, bool readonly)
{
    bool flags = pv_irq_save();
    uint32_t r = free_head;

    if (r == ~0u) {
        pv_irq_restore(flags);
        return -XEN_ENOSPC;
    }
    free_head = next_free[r];
    next_free[r] = REF_IN_USE;
    in_use++;
    pv_irq_restore(flags);
    table[r].frame = (uint32_t)mfn;
    table[r].domid = domid;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&table[r].flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
                     __ATOMIC_RELEASE);
    return (int)r;
}

int gnttab_end_access(grant_ref_t ref)
{
    uint16_t f;
    bool flags;

    if (!table || ref < GNTTAB_NR_RESERVED || ref >= nr_entries || next_free[ref] != REF_IN_USE)
        return -XEN_EINVAL;
    f = __atomic_load_n(&table[ref].flags, __ATOMIC_ACQUIRE);
    do {
        if (f & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
    } while (!__atomic_compare_exchange_n(&table[ref].flags, &f, 0, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    flags = pv_irq_save();
    next_free[ref] = free_head;
    free_head = ref;
    in_use--;
    pv_irq_restore(flags);
    return 0;
}

grant_entry_v1_t *gnttab_suspend(void)
{
    grant_entry_v1_t *t = table;

    table = NULL;
    return t;
}

int gnttab_resume(grant_entry_v1_t *shared, bool fresh)
{
    if (!shared)
        return -XEN_EINVAL;
    table = shared;
    if (fresh) {
        /* A new domain's table: every reference is free again. */
        free_head = ~0u;
        in_use = 0;
        for (uint32_t r = nr_entries; r-- > GNTTAB_NR_RESERVED;) {
            next_free[r] = free_head;
            free_head = r;
        }
    }
    return 0;
}

unsigned int gnttab_in_use(void)
{
    return in_use;
}
