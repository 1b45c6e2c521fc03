/*
 * desc.c - guest GDT/LDT descriptors for x86-64 PV guests: the descriptor
 * check, HYPERVISOR_set_gdt, MMUEXT_SET_LDT and HYPERVISOR_update_descriptor (Xen's
 * arch/x86/pv/descriptor-tables.c semantics; contract and policy in desc.h).
 *
 * Runs in ring 0 with interrupts off, on behalf of `current`.  Also compiled
 * on the host by tests/unit/test_desc.c, which supplies the frame table,
 * mfn_to_virt() and the page-reference functions.
 */
#include "common/hv.h"
#include "mm/mm.h"
#include "pv/desc.h"

#define DESCS_PER_FRAME     (PAGE_SIZE / sizeof(uint64_t))

_Static_assert(FIRST_RESERVED_GDT_ENTRY == 14 * 512, "Xen's GDT split");
_Static_assert(FIRST_RESERVED_GDT_ENTRY / DESCS_PER_FRAME <=
               sizeof(((struct vcpu *)0)->gdt_frames) / sizeof(unsigned long),
               "gdt_frames holds a full guest GDT");

bool check_descriptor(const struct domain *d, uint64_t desc)
{
    uint32_t hi = (uint32_t)(desc >> 32);

    if (!(hi & SEG_P))
        return true;            /* always faults when loaded */
    if (hi & SEG_S)
        return true;            /* code/data: ring 3 cannot gain privilege */
    if ((hi & SEG_TYPE_MASK) == 0)
        return true;            /* upper half of a 16-byte descriptor */
    return false;               /* LDT, TSS, call/interrupt/trap gates */
}

uint64_t fixup_descriptor(const struct domain *d, uint64_t desc)
{
    uint64_t dpl3 = (uint64_t)SEG_DPL_MASK << 32;

    /* 64-bit PV kernels run in ring 3: Xen raises DPL 0-2 to 3. */
    if ((desc & ((uint64_t)(SEG_P | SEG_S) << 32)) == ((uint64_t)(SEG_P | SEG_S) << 32))
        desc |= dpl3;
    return desc;
}

/* Rewrites every descriptor of a validated descriptor frame in stored form. */
static void fixup_frame(const struct domain *d, unsigned long mfn)
{
    volatile uint64_t *descs = mfn_to_virt(mfn);

    for (unsigned int i = 0; i < DESCS_PER_FRAME; i++) {
        uint64_t old = descs[i], new = fixup_descriptor(d, old);

        if (new != old)
            descs[i] = new;
    }
}

static unsigned int gdt_nr_frames(unsigned int entries)
{
    return (entries + DESCS_PER_FRAME - 1) / DESCS_PER_FRAME;
}

static void put_desc_frame(unsigned long mfn)
{
    put_page_type(mfn);
    put_page(mfn);
}

/* Takes a general and a PGT_seg_desc_page reference on each of frames[0..nr)
 * (d's, every descriptor passing check_descriptor()) and stores them in
 * fixed-up form; -EINVAL with no reference left taken if any fails. */
static int take_desc_frames(struct domain *d, const unsigned long *frames,
                            unsigned int nr)
{
    unsigned int i;

    for (i = 0; i < nr; i++) {
        if (!mfn_valid(frames[i]) || !get_page(frames[i], d))
            goto fail;
        if (get_page_type(frames[i], PGT_seg_desc_page)) {
            put_page(frames[i]);
            goto fail;
        }
    }
    for (i = 0; i < nr; i++)
        fixup_frame(d, frames[i]);
    return 0;

 fail:
    while (i-- > 0)
        put_desc_frame(frames[i]);
    return -XEN_EINVAL;
}

void pv_destroy_gdt(struct vcpu *v)
{
    unsigned int nr = gdt_nr_frames(v->gdt_ents);

    for (unsigned int i = 0; i < nr; i++)
        put_desc_frame(v->gdt_frames[i]);
    for (unsigned int i = 0; i < ARRAY_SIZE(v->gdt_frames); i++)
        v->gdt_frames[i] = 0;
    v->gdt_ents = 0;
}

int pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries)
{
    unsigned int i, nr = gdt_nr_frames(entries);

    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    /* Take every new reference first: on failure nothing has changed. */
    if (take_desc_frames(v->domain, frames, nr))
        return -XEN_EINVAL;
    pv_destroy_gdt(v);
    for (i = 0; i < nr; i++)
        v->gdt_frames[i] = frames[i];
    v->gdt_ents = entries;
    if (v == current)
        gdt_load_guest(v);
    return 0;
}

long do_set_gdt(uint64_t frame_list, unsigned int entries)
{
    unsigned long frames[ARRAY_SIZE(current->gdt_frames)] = { 0 };
    unsigned int nr = gdt_nr_frames(entries);

    if (entries > FIRST_RESERVED_GDT_ENTRY)
        return -XEN_EINVAL;
    if (nr && copy_from_guest(frames, frame_list, nr * sizeof(frames[0])))
        return -XEN_EFAULT;
    return pv_set_gdt(current, frames, entries);
}

void pv_destroy_ldt(struct vcpu *v)
{
    unsigned int nr = gdt_nr_frames(v->ldt_ents);

    for (unsigned int i = 0; i < nr; i++)
        put_desc_frame(v->ldt_frames[i]);
    for (unsigned int i = 0; i < ARRAY_SIZE(v->ldt_frames); i++)
        v->ldt_frames[i] = 0;
    v->ldt_ents = 0;
    v->ldt_base = 0;
}

long pv_set_ldt(struct vcpu *v, uint64_t base, const unsigned long *frames,
                unsigned int entries)
{
    struct domain *d = v->domain;
    unsigned int i, nr = gdt_nr_frames(entries);

    if (entries > LDT_MAX_ENTRIES)
        return -XEN_EINVAL;
    /* Take every new reference first: on failure the old LDT stays. */
    if (take_desc_frames(d, frames, nr))
        return -XEN_EINVAL;
    pv_destroy_ldt(v);
    for (i = 0; i < nr; i++)
        v->ldt_frames[i] = frames[i];
    v->ldt_ents = entries;
    v->ldt_base = entries ? base : 0;
    ldt_load_guest(v);
    return 0;
}

long do_update_descriptor(uint64_t maddr, uint64_t desc)
{
    struct vcpu *v = current;
    struct domain *d = v->domain;
    unsigned long mfn = (unsigned long)(maddr >> PAGE_SHIFT);
    unsigned long type;
    volatile uint64_t *entry;
    bool in_gdt = false, in_ldt = false;

    /* A misaligned write would corrupt two neighbouring descriptors. */
    if ((maddr & (sizeof(uint64_t) - 1)) || !check_descriptor(d, desc))
        return -XEN_EINVAL;
    if (!mfn_valid(mfn) || !get_page(mfn, d))
        return -XEN_EINVAL;

    /* A descriptor page in use stays one; anything else must be free of
     * page-table use (it is then an ordinary page the guest could write). */
    type = mfn_to_page(mfn)->type_info & PGT_type_mask;
    if (get_page_type(mfn, type == PGT_seg_desc_page ? PGT_seg_desc_page
                                                     : PGT_writable_page)) {
        put_page(mfn);
        return -XEN_EINVAL;
    }

    entry = (volatile uint64_t *)((char *)mfn_to_virt(mfn) + (maddr & ~PAGE_MASK));
    *entry = fixup_descriptor(d, desc);
    paging_mark_dirty(d, mfn);

    for (unsigned int i = 0; i < gdt_nr_frames(v->gdt_ents); i++)
        if (v->gdt_frames[i] == mfn)
            in_gdt = true;
    for (unsigned int i = 0; i < gdt_nr_frames(v->ldt_ents); i++)
        if (v->ldt_frames[i] == mfn)
            in_ldt = true;
    if (in_gdt)
        gdt_load_guest(v);
    if (in_ldt)
        ldt_load_guest(v);

    put_desc_frame(mfn);
    return 0;
}
