/*
 * paging.c - log-dirty mode for PV domains (declared in mm/mm.h): the dirty bitmap,
 * the write protection of a domain's L1 entries, and the write fault that
 * lifts it.
 *
 * Runs in ring 0 with interrupts off (one CPU: no locking).  Also compiled
 * into the host unit tests, where mfn_to_virt() is the test's array, the
 * TLB hooks do nothing and read_cr3() is host_cpu.cr3.
 */
#include "arch/x86/x86.h"
#undef FIRST_RESERVED_GDT_ENTRY
#include <lamina/xen.h>
#include "mm/mm.h"
#include "common/hv.h"

#define BITS_PER_WORD   64

void paging_mark_dirty_slow(struct domain *d, unsigned long mfn)
{
    struct log_dirty *ld = &d->log_dirty;
    unsigned long pfn;

    if (!mfn_valid(mfn) || mfn_to_page(mfn)->owner != d)
        return;
    pfn = m2p_table[mfn];
    if (pfn >= ld->nr_pfns)
        return;             /* no PFN a save sends (INVALID_M2P_ENTRY, ...) */
    unsigned long *w = &ld->bitmap[pfn / BITS_PER_WORD], bit = 1UL << (pfn % BITS_PER_WORD);
    if (!(*w & bit)) {
        *w |= bit;
        ld->dirty_count++;
    }
}

/* True when e maps one of d's own RAM frames writable. */
static bool l1e_own_writable(const struct domain *d, uint64_t e)
{
    unsigned long mfn = pte_mfn(e);

    return (e & (_PAGE_PRESENT | _PAGE_RW)) == (_PAGE_PRESENT | _PAGE_RW) &&
           mfn_valid(mfn) && mfn_to_page(mfn)->owner == d;
}

uint64_t paging_l1e_install(struct domain *d, uint64_t e)
{
    if (d && d->log_dirty.bitmap && l1e_own_writable(d, e))
        return (e & ~(uint64_t)_PAGE_RW) | PTE_LOGDIRTY;
    return e;
}

/* True for a frame of d in use as a validated L1 table. */
static bool is_live_l1(const struct page_info *pg)
{
    unsigned long t = pg->type_info;

    return (t & PGT_type_mask) == PGT_l1_page_table && (t & PGT_validated) &&
           (t & PGT_count_mask);
}

/* Write-protects (protect) or restores every writable entry of d's L1s;
 * the TLB is flushed once at the end. */
static void protect_all(struct domain *d, bool protect)
{
    for (unsigned long mfn = d->page_list_head; mfn != INVALID_MFN;
         mfn = mfn_to_page(mfn)->next) {
        if (!is_live_l1(mfn_to_page(mfn)))
            continue;
        uint64_t *t = mfn_to_virt(mfn);
        for (unsigned int i = 0; i < 512; i++) {
            uint64_t e = t[i];
            if (protect && l1e_own_writable(d, e))
                t[i] = (e & ~(uint64_t)_PAGE_RW) | PTE_LOGDIRTY;
            else if (!protect && (e & PTE_LOGDIRTY))
                t[i] = (e | _PAGE_RW) & ~PTE_LOGDIRTY;
        }
    }
    flush_tlb_local();
}

int paging_log_dirty_enable(struct domain *d)
{
    struct log_dirty *ld = &d->log_dirty;
    /* A saver sends the PFNs below shared_info's max_pfn, which it allows
     * to exceed the domain's pages by 1024 (toolstack/libxc/xc_sr_save.c). */
    unsigned long n = (d->max_pages > d->tot_pages ? d->max_pages : d->tot_pages) + 1024;

    if (d->is_privileged || d->unmod || ld->bitmap)
        return -XEN_EINVAL;
    n = (n + BITS_PER_WORD - 1) / BITS_PER_WORD * BITS_PER_WORD;
    if (!n || !(ld->bitmap = vzalloc(n / 8)))
        return -XEN_ENOMEM;
    ld->nr_pfns = n;
    ld->fault_count = ld->dirty_count = 0;
    protect_all(d, true);
    return 0;
}

void paging_log_dirty_disable(struct domain *d)
{
    struct log_dirty *ld = &d->log_dirty;

    if (!ld->bitmap)
        return;
    protect_all(d, false);
    vfree(ld->bitmap);
    memset(ld, 0, sizeof(*ld));
}

int paging_log_dirty_op(struct domain *d, bool clean, uint64_t buf, uint64_t *pages,
                        uint32_t *faults, uint32_t *dirty)
{
    struct log_dirty *ld = &d->log_dirty;
    uint64_t n = *pages;

    if (!ld->bitmap)
        return -XEN_EINVAL;
    if (n > ld->nr_pfns)
        n = ld->nr_pfns;
    /* Whole bytes; a partial last byte keeps the bits beyond n clear. */
    if (n && copy_to_guest(buf, ld->bitmap, (size_t)(n / 8)))
        return -XEN_EFAULT;
    if (n % 8) {
        uint8_t last = ((const uint8_t *)ld->bitmap)[n / 8] & (uint8_t)((1u << (n % 8)) - 1);
        if (copy_to_guest(buf + n / 8, &last, 1))
            return -XEN_EFAULT;
    }
    *pages = ld->nr_pfns;
    *faults = ld->fault_count;
    *dirty = ld->dirty_count;
    if (clean) {
        memset(ld->bitmap, 0, ld->nr_pfns / 8);
        ld->fault_count = ld->dirty_count = 0;
        protect_all(d, true);
    }
    return 0;
}

bool paging_fault(struct domain *d, unsigned long va, unsigned long ec)
{
    unsigned long mfn = (read_cr3() & PTE_ADDR_MASK) >> PAGE_SHIFT;
    uint64_t *t, e;

    if (!d->log_dirty.bitmap ||
        (ec & (X86_PFEC_PRESENT | X86_PFEC_WRITE | X86_PFEC_RSVD)) !=
            (X86_PFEC_PRESENT | X86_PFEC_WRITE))
        return false;
    unsigned int l4 = (va >> 39) & 511;
    if (l4 >= HV_FIRST_L4_SLOT && l4 <= HV_LAST_L4_SLOT)
        return false;                       /* the hypervisor's own range */
    for (unsigned int level = 4; level > 1; level--) {
        if (!mfn_valid(mfn) || mfn_to_page(mfn)->owner != d)
            return false;
        e = ((uint64_t *)mfn_to_virt(mfn))[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
            return false;
        mfn = pte_mfn(e);
    }
    if (!mfn_valid(mfn) || mfn_to_page(mfn)->owner != d || !is_live_l1(mfn_to_page(mfn)))
        return false;
    t = mfn_to_virt(mfn);
    e = t[(va >> 12) & 511];
    if ((e & (_PAGE_PRESENT | _PAGE_RW | PTE_LOGDIRTY)) != (_PAGE_PRESENT | PTE_LOGDIRTY))
        return false;
    t[(va >> 12) & 511] = (e | _PAGE_RW) & ~PTE_LOGDIRTY;
    d->log_dirty.fault_count++;
    paging_mark_dirty(d, pte_mfn(e));
    invlpg(va);
    return true;
}
