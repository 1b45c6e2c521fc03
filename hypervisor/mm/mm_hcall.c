/*
 * mm_hcall.c - the memory hypercalls of Xen's 64-bit PV ABI: mmu_update,
 * mmuext_op, update_va_mapping, memory_op, and the vCPU base pointers.
 *
 * Runs in ring 0 with interrupts off, on behalf of `current`.  The handlers
 * copy in, check, then act (mm.c does the reference work) and copy out;
 * errors are Xen 4.17's (xen/arch/x86/mm.c, xen/common/memory.c).  Also
 * compiled into the host unit test tests/unit/test_mm.c.
 */
/* config.h and Xen's arch-x86/xen.h both define FIRST_RESERVED_GDT_ENTRY
 * (same value, different spelling): keep Xen's. */
#include "arch/x86/x86.h"
#undef FIRST_RESERVED_GDT_ENTRY
#include <lamina/xen.h>
#include "mm/mm.h"
#include "common/hv.h"
#include "unmod/unmod.h"
#include "pv/pv.h"

#ifdef LAMINA_HOST_TEST
/* unmod.h keeps these to the hypervisor build; the unit test stubs them. */
int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn);
unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn);
#endif

/* memory_op's cmd: the op in the low bits, the continuation's start extent
 * above (Xen's values; public/memory.h keeps them to __XEN__). */
#ifndef MEMOP_EXTENT_SHIFT
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK     ((1 << MEMOP_EXTENT_SHIFT) - 1)
#endif

#ifdef LAMINA_HOST_TEST
/* The last value "loaded" into CR3, for the unit tests. */
unsigned long mm_host_cr3;
static void load_cr3(unsigned long v) { mm_host_cr3 = v; }
#else
static void load_cr3(unsigned long v) { write_cr3(v); }
#endif

int mm_set_baseptr(struct vcpu *v, unsigned long mfn, bool user)
{
    unsigned long *slot = user ? &v->guest_table_user : &v->guest_table;
    unsigned long old = *slot;
    int rc;

    if (mfn == 0 && !user)
        return -XEN_EINVAL;                 /* a vCPU always has a kernel L4 */
    if (mfn == old) {
        if (v == current)
            load_cr3(mm_vcpu_cr3(v));   /* Xen reloads: flushes the TLB */
        return 0;
    }
    if (mfn != 0) {
        if (!get_page(mfn, v->domain))
            return -XEN_EINVAL;
        rc = get_page_type(mfn, PGT_l4_page_table);
        if (rc) {
            put_page(mfn);
            return rc;
        }
    }
    *slot = mfn;
    /* Switch away from the old table before it can be devalidated. */
    if (v == current)
        load_cr3(mm_vcpu_cr3(v));
    if (old) {
        put_page_type(old);
        put_page(old);
    }
    return 0;
}

/*
 * The domain whose frames a foreigndom argument names (Xen's get_pg_owner()
 * followed by the XSM_TARGET check): DOMID_SELF is the caller; DOMID_IO
 * (device memory) is the caller too, for privileged callers.  NULL with
 * *rc = -ESRCH: the caller's own id, a reserved id or no such domain;
 * -EPERM: another domain and the caller is not privileged.
 */
static struct domain *get_pg_owner(unsigned int foreigndom, int *rc)
{
    struct domain *cd = current->domain;
    struct domain *fd;

    *rc = 0;
    if (foreigndom == DOMID_SELF)
        return cd;
    *rc = -XEN_ESRCH;
    if (foreigndom == cd->domain_id)
        return NULL;
    if (foreigndom == DOMID_IO)
        fd = cd;
    else if (foreigndom >= DOMID_FIRST_RESERVED)
        fd = NULL;
    else
        fd = domain_lookup((domid_t)foreigndom);
    if (!cd->is_privileged && (fd || foreigndom == DOMID_IO)) {
        *rc = -XEN_EPERM;
        return NULL;
    }
    if (fd)
        *rc = 0;
    return fd;
}

static void report_done(uint64_t pdone, unsigned int done)
{
    /* As Xen, a fault writing the count does not change the result. */
    if (pdone && copy_to_guest(pdone, &done, sizeof(done)))
        return;
}

/* One MMU_NORMAL_PT_UPDATE on a table of d; a new L1 entry maps a frame of
 * pg_owner (d itself unless foreigndom named another domain). */
static int mmu_normal_update(struct domain *d, struct domain *pg_owner, uint64_t ptr,
                             uint64_t val)
{
    unsigned long mfn = ptr >> PAGE_SHIFT;
    unsigned int idx = (ptr & (PAGE_SIZE - 1)) >> 3;
    struct page_info *pg;
    unsigned long ti;
    int rc = -XEN_EINVAL;

    /* An unmodified (translated) domain's frames are named by guest frame
     * number, as Xen maps an HVM guest's memory: translate through its P2M. */
    if (pg_owner != d && pg_owner->unmod && (val & _PAGE_PRESENT)) {
        unsigned long gmfn = unmod_gfn_to_mfn(pg_owner, (val & PTE_ADDR_MASK) >> PAGE_SHIFT);
        if (gmfn == INVALID_MFN)
            return -XEN_EINVAL;
        val = (val & ~PTE_ADDR_MASK) | ((uint64_t)gmfn << PAGE_SHIFT);
    }
    if (!mfn_valid(mfn))
        return -XEN_EINVAL;
    pg = mfn_to_page(mfn);
    ti = pg->type_info;
    if (pg->owner == d && (ti & PGT_count_mask) && (ti & PGT_validated) &&
        (ti & PGT_type_mask) >= PGT_l1_page_table &&
        (ti & PGT_type_mask) <= PGT_l4_page_table) {
        /* A table of d's in use: each of its type references comes with a
         * general one (its parent entry's, its pin's or a base pointer's),
         * none of which this update can drop, so it needs none of its own
         * (as Xen's mod_lN_entry relies on the caller's). */
        return mm_mod_entry_foreign(mfn, idx, val, (unsigned int)((ti & PGT_type_mask) >> 60),
                                    pg_owner);
    }
    if (!get_page(mfn, d))
        return -XEN_EINVAL;
    if (get_page_type(mfn, PGT_writable_page) == 0) {
        /* Not a table in use: a plain write, as Xen does. */
        ((uint64_t *)mfn_to_virt(mfn))[idx] = val;
        paging_mark_dirty(d, mfn);
        put_page_type(mfn);
        rc = 0;
    }
    put_page(mfn);
    return rc;
}

/* A preempted batch's count carries MMU_UPDATE_PREEMPTED and the done count
 * so far is in *pdone (Xen): strips the flag and returns that count.  The
 * read is out of line, so a batch that was not preempted keeps its count
 * and done in registers. */
static unsigned int __attribute__((noinline)) preempted_done(uint64_t pdone)
{
    unsigned int done = 0;

    if (pdone && copy_from_guest(&done, pdone, sizeof(done)))
        done = 0;
    return done;
}

static inline unsigned int resume_done(unsigned int *count, uint64_t pdone)
{
    if (!(*count & MMU_UPDATE_PREEMPTED))
        return 0;
    *count &= ~MMU_UPDATE_PREEMPTED;
    return preempted_done(pdone);
}

/* Between entries i - 1 and i of a batch: stop here if the hypervisor
 * should yield (every HYPERCALL_PREEMPT_STRIDE entries). */
static bool batch_preempt(unsigned int i)
{
    return i && i % HYPERCALL_PREEMPT_STRIDE == 0 && hypercall_preempt_check();
}

long do_mmu_update(uint64_t ureqs, unsigned int count, uint64_t pdone, unsigned int foreigndom)
{
    struct domain *d = current->domain, *pg_owner;
    unsigned int i, pt_dom = foreigndom >> 16;
    struct mmu_update req;
    int rc = 0, owner_rc;
    unsigned int done = resume_done(&count, pdone);

    if (!guest_range_ok(ureqs, (size_t)count * sizeof(req)))
        return -XEN_EFAULT;
    if (pt_dom && pt_dom - 1 != d->domain_id) {
        /* Page tables of another domain: not supported (Lamina). */
        if (!domain_lookup((domid_t)(pt_dom - 1)))
            return -XEN_ESRCH;
        return d->is_privileged ? -XEN_ENOSYS : -XEN_EPERM;
    }
    pg_owner = (foreigndom & 0xffff) == DOMID_SELF ? d
                                                   : get_pg_owner(foreigndom & 0xffff, &owner_rc);
    if (!pg_owner)
        return owner_rc;

    for (i = 0; i < count; i++) {
        if (batch_preempt(i)) {
            report_done(pdone, done + i);
            hypercall_create_continuation(__HYPERVISOR_mmu_update,
                                          ureqs + (uint64_t)i * sizeof(req),
                                          (count - i) | MMU_UPDATE_PREEMPTED,
                                          pdone, foreigndom, 0);
            return 0;
        }
        /* The whole array passed guest_range_ok() above. */
        if (!raw_copy_quads(&req, (const void *)(ureqs + (uint64_t)i * sizeof(req)),
                            sizeof(req) / 8)) {
            rc = -XEN_EFAULT;
            break;
        }
        switch (req.ptr & 7) {
        case MMU_NORMAL_PT_UPDATE:
        case MMU_PT_UPDATE_PRESERVE_AD:
        case MMU_PT_UPDATE_NO_TRANSLATE:
            rc = mmu_normal_update(d, pg_owner, req.ptr & ~7ULL, req.val);
            break;
        case MMU_MACHPHYS_UPDATE: {
            unsigned long mfn = req.ptr >> PAGE_SHIFT;

            /* As Xen: the frame is pg_owner's (dom0 sets a guest's M2P). */
            if (!get_page(mfn, pg_owner)) {
                rc = -XEN_EINVAL;
                break;
            }
            m2p_table[mfn] = req.val;
            put_page(mfn);
            rc = 0;
            break;
        }
        default:
            rc = -XEN_ENOSYS;
            break;
        }
        if (rc)
            break;
    }
    report_done(pdone, done + i);
    return rc;
}

/* Copies one page: src readable, dst PGT_writable_page, both d's. */
static int mmuext_copy_page(struct domain *d, unsigned long dst, unsigned long src)
{
    if (!get_page(src, d))
        return -XEN_EINVAL;
    if (!get_page(dst, d)) {
        put_page(src);
        return -XEN_EINVAL;
    }
    if (get_page_type(dst, PGT_writable_page)) {
        put_page(dst);
        put_page(src);
        return -XEN_EINVAL;
    }
    if (src != dst)
        memcpy(mfn_to_virt(dst), mfn_to_virt(src), PAGE_SIZE);
    paging_mark_dirty(d, dst);
    put_page_type(dst);
    put_page(dst);
    put_page(src);
    return 0;
}

/*
 * One mmuext_op on behalf of current.  Pin/unpin, clear and copy act on
 * pg_owner's frames (a page table is validated against its own owner, so
 * dom0 may pin a new domain's L4 as libxc does); every other op with a
 * foreign pg_owner is -EPERM, as in Xen.
 */
static int mmuext_set_ldt(struct vcpu *v, unsigned long linear, unsigned int ents);

static int mmuext_one(const struct mmuext_op *op, struct domain *pg_owner)
{
    struct vcpu *v = current;
    struct domain *d = v->domain;
    bool foreign = pg_owner != d;

    switch (op->cmd) {
    case MMUEXT_PIN_L1_TABLE:
    case MMUEXT_PIN_L2_TABLE:
    case MMUEXT_PIN_L3_TABLE:
    case MMUEXT_PIN_L4_TABLE:
        return mm_pin_table(pg_owner, op->arg1.mfn,
                            PGT_l1_page_table + ((unsigned long)(op->cmd - MMUEXT_PIN_L1_TABLE) << 60));
    case MMUEXT_UNPIN_TABLE:
        return mm_unpin_table(pg_owner, op->arg1.mfn);
    case MMUEXT_CLEAR_PAGE:
        if (!get_page(op->arg1.mfn, pg_owner))
            return -XEN_EINVAL;
        if (get_page_type(op->arg1.mfn, PGT_writable_page)) {
            put_page(op->arg1.mfn);
            return -XEN_EINVAL;
        }
        memset(mfn_to_virt(op->arg1.mfn), 0, PAGE_SIZE);
        paging_mark_dirty(pg_owner, op->arg1.mfn);
        put_page_type(op->arg1.mfn);
        put_page(op->arg1.mfn);
        return 0;
    case MMUEXT_COPY_PAGE:
        return mmuext_copy_page(pg_owner, op->arg1.mfn, op->arg2.src_mfn);
    }
    if (foreign)
        return op->cmd <= MMUEXT_MARK_SUPER ? -XEN_EPERM : -XEN_ENOSYS;
    switch (op->cmd) {
    case MMUEXT_NEW_BASEPTR:
        return mm_set_baseptr(v, op->arg1.mfn, false);
    case MMUEXT_NEW_USER_BASEPTR:
        return mm_set_baseptr(v, op->arg1.mfn, true);
    case MMUEXT_TLB_FLUSH_LOCAL:
    case MMUEXT_TLB_FLUSH_MULTI:
    case MMUEXT_TLB_FLUSH_ALL:
        flush_tlb_local();                  /* one pCPU: local is all */
        return 0;
    case MMUEXT_INVLPG_LOCAL:
    case MMUEXT_INVLPG_MULTI:
    case MMUEXT_INVLPG_ALL:
        invlpg(op->arg1.linear_addr);
        return 0;
    case MMUEXT_FLUSH_CACHE:
    case MMUEXT_FLUSH_CACHE_GLOBAL:
        return d->is_privileged ? 0 : -XEN_EACCES;
    case MMUEXT_SET_LDT:
        return mmuext_set_ldt(v, op->arg1.linear_addr, op->arg2.nr_ents);
    default:
        return -XEN_ENOSYS;
    }
}

long do_mmuext_op(uint64_t uops, unsigned int count, uint64_t pdone, unsigned int foreigndom)
{
    struct domain *pg_owner;
    struct mmuext_op op;
    unsigned int i;
    int rc = 0;
    unsigned int done = resume_done(&count, pdone);

    if (!guest_range_ok(uops, (size_t)count * sizeof(op)))
        return -XEN_EFAULT;
    pg_owner = get_pg_owner(foreigndom, &rc);
    if (!pg_owner)
        return rc;
    if (pg_owner->unmod)
        return -XEN_EINVAL;                 /* as Xen: PV page owners only */
    for (i = 0; i < count; i++) {
        if (batch_preempt(i)) {
            report_done(pdone, done + i);
            hypercall_create_continuation(__HYPERVISOR_mmuext_op,
                                          uops + (uint64_t)i * sizeof(op),
                                          (count - i) | MMU_UPDATE_PREEMPTED,
                                          pdone, foreigndom, 0);
            return 0;
        }
        if (copy_from_guest(&op, uops + (uint64_t)i * sizeof(op), sizeof(op))) {
            rc = -XEN_EFAULT;
            break;
        }
        rc = mmuext_one(&op, pg_owner);
        if (rc)
            break;
    }
    report_done(pdone, done + i);
    return rc;
}

/*
 * The L1 table that maps va in v's kernel page tables, and the index of va
 * in it; INVALID_MFN if va is outside the guest's range or a level on the
 * way is absent or a superpage.
 */
static unsigned long guest_l1_for_va(const struct vcpu *v, unsigned long va, unsigned int *idx)
{
    unsigned long mfn = v->guest_table;
    unsigned int level;

    if (!mfn || !guest_range_ok(va, 1))
        return INVALID_MFN;
    for (level = 4; level > 1; level--) {
        uint64_t e = ((uint64_t *)mfn_to_virt(mfn))[(va >> (12 + 9 * (level - 1))) & 511];

        if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
            return INVALID_MFN;
        mfn = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
        if (!mfn_valid(mfn))
            return INVALID_MFN;
    }
    *idx = (va >> 12) & 511;
    return mfn;
}

/*
 * MMUEXT_SET_LDT: linear_addr (page aligned, in the guest range) and
 * nr_ents <= 8192 descriptors, as Xen checks them; the frames are found
 * through v's kernel page tables now (Xen maps them lazily on first use) and
 * handed to pv_set_ldt().  -EINVAL for bad arguments or a page that is not
 * mapped, not v's or not usable as a descriptor page.
 */
static int mmuext_set_ldt(struct vcpu *v, unsigned long linear, unsigned int ents)
{
    unsigned long frames[ARRAY_SIZE(v->ldt_frames)];
    unsigned int nr = (ents + 511) / 512, idx;

    if (!ents)
        linear = 0;
    if ((linear & ~PAGE_MASK) || ents > LDT_MAX_ENTRIES ||
        (ents && !guest_range_ok(linear, (size_t)ents * 8)))
        return -XEN_EINVAL;
    if (ents == v->ldt_ents && linear == v->ldt_base)
        return 0;
    for (unsigned int i = 0; i < nr; i++) {
        unsigned long l1 = guest_l1_for_va(v, linear + i * PAGE_SIZE, &idx);
        uint64_t e;

        if (l1 == INVALID_MFN)
            return -XEN_EINVAL;
        e = ((uint64_t *)mfn_to_virt(l1))[idx];
        if (!(e & _PAGE_PRESENT))
            return -XEN_EINVAL;
        frames[i] = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
    }
    return (int)pv_set_ldt(v, linear, frames, ents);
}

bool mm_get_l1(struct domain *d, unsigned long l1)
{
    if (l1 == INVALID_MFN || !get_page(l1, d))
        return false;
    if ((mfn_to_page(l1)->type_info & (PGT_type_mask | PGT_validated)) !=
            (PGT_l1_page_table | PGT_validated) ||
        !(mfn_to_page(l1)->type_info & PGT_count_mask)) {
        put_page(l1);
        return false;
    }
    return true;
}

unsigned long mm_get_l1_for_va(struct vcpu *v, unsigned long va, unsigned int *idx)
{
    unsigned long l1 = guest_l1_for_va(v, va, idx);

    return mm_get_l1(v->domain, l1) ? l1 : INVALID_MFN;
}

long do_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags)
{
    struct vcpu *v = current;
    unsigned long l1;
    unsigned int idx = 0;
    int rc;

    l1 = mm_get_l1_for_va(v, va, &idx);
    if (l1 == INVALID_MFN)
        return -XEN_EINVAL;
    rc = mm_mod_entry(l1, idx, val, 1);
    put_page(l1);
    if (rc)
        return rc;
    switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH:
        flush_tlb_local();
        break;
    case UVMF_INVLPG:
        invlpg(va);
        break;
    }
    return 0;
}

/* ---- memory_op ----------------------------------------------------------------- */

/* Xen's struct e820entry (packed, 20 bytes). */
struct mm_e820entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));
#define MM_E820_RAM 1

/* The domain a reservation query names; NULL if none.  *rc gets -ESRCH or
 * -EPERM (another domain, caller not privileged). */
static struct domain *memop_domain(domid_t domid, int *rc)
{
    struct domain *cd = current->domain;
    struct domain *d = domid == DOMID_SELF ? cd : domain_lookup(domid);

    *rc = 0;
    if (!d) {
        *rc = -XEN_ESRCH;
        return NULL;
    }
    if (d != cd && !cd->is_privileged) {
        *rc = -XEN_EPERM;
        return NULL;
    }
    return d;
}

/*
 * XENMEM_{increase,decrease}_reservation / XENMEM_populate_physmap for the
 * caller or, for a privileged caller, another domain (r.domid, as the
 * toolstack's domain builder does), extents of order 0 from `start`.
 * populate_physmap: in = guest PFN; the new frame's M2P entry is set to it,
 * an unmodified domain's P2M too (unmod_set_p2m), and for a PV domain the
 * MFN is written back into the list.  decrease_reservation: in = MFN (PV).
 * Returns the number of extents done (Xen reports partial success, such as
 * reaching max_pages, only through this count), or -EPERM when an
 * unprivileged caller names another domain (Xen's XSM_TARGET refusal).
 */
static long memop_reservation(unsigned int op, uint64_t arg, unsigned long start)
{
    struct domain *cd = current->domain, *d = cd;
    struct xen_memory_reservation r;
    uint64_t list;
    unsigned long i;

    if (copy_from_guest(&r, arg, sizeof(r)))
        return start;
    if (r.nr_extents > (UINT32_MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr_extents)
        return start;
    if (r.domid != DOMID_SELF && r.domid != cd->domain_id) {
        d = domain_lookup(r.domid);
        if (!d)
            return start;                   /* Xen: no such domain */
        if (!cd->is_privileged)
            return -XEN_EPERM;
    }
    if (r.extent_order != 0)
        return start;                       /* Lamina: order 0 only */
    list = (uint64_t)(uintptr_t)r.extent_start.p;
    if (!guest_range_ok(list + start * sizeof(xen_pfn_t),
                        (r.nr_extents - start) * sizeof(xen_pfn_t)))
        return start;

    for (i = start; i < r.nr_extents; i++) {
        uint64_t slot = list + i * sizeof(xen_pfn_t);

        if (i > start && batch_preempt((unsigned int)(i - start))) {
            hypercall_create_continuation(__HYPERVISOR_memory_op,
                                          op | (i << MEMOP_EXTENT_SHIFT), arg, 0, 0, 0);
            return (long)i;
        }
        xen_pfn_t pfn = 0;
        unsigned long mfn;

        if (op != XENMEM_increase_reservation &&
            copy_from_guest(&pfn, slot, sizeof(pfn)))
            break;
        if (op == XENMEM_decrease_reservation) {
            struct page_info *pg;

            mfn = pfn;
            if (!mfn_valid(mfn))
                break;
            pg = mfn_to_page(mfn);
            /* Lamina refuses frames still in use (Xen would defer the free). */
            if (pg->owner != d || !(pg->count_info & PGC_allocated) ||
                (pg->count_info & PGC_xen_heap) ||
                (pg->count_info & PGC_count_mask) != 1 || (pg->type_info & PGT_count_mask))
                break;
            pg->count_info &= ~PGC_allocated;
            put_page(mfn);
            continue;
        }
        if (alloc_domain_frame(d, &mfn))
            break;
        if (op == XENMEM_populate_physmap && d->unmod) {
            /* A translated domain: the list keeps its PFNs, as in Xen. */
            if (unmod_set_p2m(d, pfn, mfn)) {
                mfn_to_page(mfn)->count_info &= ~PGC_allocated;
                put_page(mfn);
                break;
            }
        } else {
            xen_pfn_t out = mfn;

            if (copy_to_guest(slot, &out, sizeof(out))) {
                mfn_to_page(mfn)->count_info &= ~PGC_allocated;
                put_page(mfn);
                break;
            }
        }
        if (op == XENMEM_populate_physmap)
            m2p_table[mfn] = pfn;
    }
    return i;
}

long do_memory_op(unsigned long cmd, uint64_t arg)
{
    unsigned int op = cmd & MEMOP_CMD_MASK;
    unsigned long start = cmd >> MEMOP_EXTENT_SHIFT;
    struct domain *cd = current->domain;
    struct domain *d;
    int rc;

    switch (op) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return memop_reservation(op, arg, start);

    case XENMEM_maximum_ram_page:
        if (start)
            return -XEN_EINVAL;
        return (long)max_mfn;

    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
        struct xen_memory_domain md;

        if (start)
            return -XEN_EINVAL;
        if (copy_from_guest(&md, arg, sizeof(md)))
            return -XEN_EFAULT;
        d = memop_domain(md.domid, &rc);
        if (!d)
            return rc;
        return (long)(op == XENMEM_current_reservation ? d->tot_pages : d->max_pages);
    }

    case XENMEM_memory_map: {
        struct xen_memory_map map;
        struct mm_e820entry e = {
            .addr = 0, .size = (uint64_t)cd->tot_pages << PAGE_SHIFT, .type = MM_E820_RAM,
        };

        if (copy_from_guest(&map, arg, sizeof(map)))
            return -XEN_EFAULT;
        if (map.nr_entries > 1)
            map.nr_entries = 1;
        if ((map.nr_entries &&
             copy_to_guest((uint64_t)(uintptr_t)map.buffer.p, &e, sizeof(e))) ||
            copy_to_guest(arg, &map, sizeof(map)))
            return -XEN_EFAULT;
        return 0;
    }

    default:
        return -XEN_ENOSYS;
    }
}
