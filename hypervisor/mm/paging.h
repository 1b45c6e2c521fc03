/*
 * paging.h - log-dirty mode for PV domains (Xen's paging_log_dirty_*, the
 * XEN_DOMCTL_shadow_op ENABLE_LOGDIRTY / CLEAN / PEEK / OFF operations of
 * public/domctl.h), which live migration's pre-copy rounds are built on.
 *
 * Xen runs a PV guest in log-dirty mode on shadow page tables.  Lamina
 * write-protects the guest's own tables in place instead: every present L1
 * entry of the domain that maps one of its own frames writable loses
 * _PAGE_RW and gets PTE_LOGDIRTY (bit 62, which no guest may set itself).
 * The entry still counts as writable (its PGT_writable_page reference is
 * kept), so nothing about page types changes.  The first write through it
 * faults; paging_fault() marks the frame's PFN (the M2P's) dirty, gives the
 * entry _PAGE_RW back and the access is retried.  A guest reading its L1s
 * sees such an entry read-only with bit 62 set; writing it back as it read
 * it keeps it writable (mm.c treats bit 62 as _PAGE_RW).
 *
 * Writes that no guest L1 entry sees mark the frame dirty where the
 * hypervisor makes them: page-table updates (the table's frame), type and
 * pin changes, descriptor updates, MMUEXT clear/copy, the end of a writable
 * mapping (dom0's foreign or grant mappings), and GNTTABOP_copy.
 *
 * Runs in ring 0 with interrupts off; also compiled into the host unit
 * tests (tests/unit/test_paging.c).
 */
#ifndef LAMINA_PAGING_H
#define LAMINA_PAGING_H

#include "common/sched.h"

/* Bit 62 of a guest L1 entry: writable, write-protected by log-dirty mode.
 * Guests cannot set it (mm.c refuses it as a flag of their own). */
#define PTE_LOGDIRTY        (1UL << 62)

void paging_mark_dirty_slow(struct domain *d, unsigned long mfn);

/* Records that frame mfn of d was written, when d is in log-dirty mode
 * (d may be NULL: an ownerless frame).  Costs one test when it is not. */
static inline void paging_mark_dirty(struct domain *d, unsigned long mfn)
{
    if (__builtin_expect(d != NULL && d->log_dirty.bitmap != NULL, 0))
        paging_mark_dirty_slow(d, mfn);
}

/* The L1 entry e as mm.c installs it in a table of d: write-protected
 * (PTE_LOGDIRTY, no _PAGE_RW) when d is in log-dirty mode and e maps one
 * of d's own RAM frames writable; else e unchanged.  e has been validated
 * and carries no PTE_LOGDIRTY of its own. */
uint64_t paging_l1e_install(struct domain *d, uint64_t e);

/*
 * XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY: allocates a bitmap of one bit per
 * PFN below d's maximum (max_pages frames) + 1024 and write-protects every
 * writable L1 entry of d.  -EINVAL: d is privileged, not PV, or already in
 * log-dirty mode; -ENOMEM: no memory for the bitmap.
 */
int paging_log_dirty_enable(struct domain *d);
/* XEN_DOMCTL_SHADOW_OP_OFF: the entries get _PAGE_RW back and the bitmap
 * goes.  No-op for a domain not in log-dirty mode; domain_destroy calls it. */
void paging_log_dirty_disable(struct domain *d);
/*
 * XEN_DOMCTL_SHADOW_OP_PEEK (clean false) and _CLEAN (clean true): copies
 * the dirty bitmap, *pages bits (one per PFN from 0), to the dom0 buffer at
 * guest virtual address buf, and sets *pages to the bits that exist.
 * *faults and *dirty get the write faults taken and the PFNs marked since
 * the last CLEAN.  CLEAN then empties the bitmap and write-protects again
 * every entry a fault made writable.
 * -EINVAL: not in log-dirty mode; -EFAULT: buf is not writable.
 */
int paging_log_dirty_op(struct domain *d, bool clean, uint64_t buf, uint64_t *pages,
                        uint32_t *faults, uint32_t *dirty);

/*
 * A #PF with error code ec at va, taken by a vCPU of d in the guest or by
 * the hypervisor writing to a guest address on its behalf: true when it was
 * a write through an entry log-dirty mode protected, which is now writable
 * again and its frame marked (the access is to be retried); false for
 * every other fault, which takes its usual course.
 */
bool paging_fault(struct domain *d, unsigned long va, unsigned long ec);

#endif
