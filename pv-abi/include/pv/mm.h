/*
 * pv/mm.h - page tables of an x86-64 PV guest: P2M/M2P, batched updates,
 * pinning, base pointers.
 *
 * Runs in a PV guest kernel.  Guest page tables hold machine frame numbers
 * (MFNs); the guest's own frame numbering is pseudo-physical (PFNs), with
 * the P2M array given in start_info->mfn_list and the read-only M2P table
 * Xen maps at HYPERVISOR_VIRT_START.  Page-table frames must be mapped
 * read-only everywhere before they are pinned or hooked into a live table;
 * every write to a live table goes through mmu_update (writable page tables
 * are not used).
 */
#ifndef PV_MM_H
#define PV_MM_H

#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>

#define PV_PAGE_SHIFT 12
#define PV_PAGE_SIZE  4096UL

/* x86 PTE bits (the subset guests use). */
#define PV_PTE_P   0x001UL
#define PV_PTE_RW  0x002UL
#define PV_PTE_US  0x004UL
#define PV_PTE_A   0x020UL
#define PV_PTE_D   0x040UL
#define PV_PTE_NX  (1UL << 63)
/* Bit 62 of an L1 entry: writable, but write-protected by the hypervisor
 * while a migration sends the domain (log-dirty mode, hypervisor/mm/paging.c);
 * it stands for PV_PTE_RW, and the first write makes it PV_PTE_RW again. */
#define PV_PTE_LOGDIRTY (1UL << 62)
#define PV_PTE_ADDR_MASK 0x000ffffffffff000UL

/* P2M: pv_p2m[pfn] = mfn, nr_pfns entries (start_info->mfn_list). */
extern unsigned long *pv_p2m;
extern unsigned long pv_p2m_nr;

/* M2P: read-only table Xen maps for every PV guest. */
#define PV_M2P ((const unsigned long *)HYPERVISOR_VIRT_START)

static inline unsigned long pv_pfn_to_mfn(unsigned long pfn)
{
    return pv_p2m[pfn];
}
static inline unsigned long pv_mfn_to_pfn(unsigned long mfn)
{
    return PV_M2P[mfn];
}

/* A batch of mmu_update requests, sent when full or on pv_mmu_flush(). */
#define PV_MMU_BATCH 32
struct pv_mmu_batch {
    struct mmu_update req[PV_MMU_BATCH];
    unsigned int n;
    int err;            /* first error seen, sticky; 0 if none */
};

/* Queues "write val to the PTE at machine address pte_ma" (a live or
 * pinned table; Xen validates).  Flushes when the batch is full.  Errors
 * accumulate in b->err. */
void pv_mmu_queue_pte(struct pv_mmu_batch *b, uint64_t pte_ma, uint64_t val);
/* Queues an M2P update: machine frame mfn now backs pseudo-physical pfn. */
void pv_mmu_queue_m2p(struct pv_mmu_batch *b, unsigned long mfn, unsigned long pfn);
/* Sends the queued requests (one mmu_update).  Returns b->err (0 = all
 * applied so far) and resets the batch count. */
int pv_mmu_flush(struct pv_mmu_batch *b);

/* MMUEXT_PIN_L{1,2,3,4}_TABLE on mfn (level 1-4): validates and holds the
 * type.  -EINVAL on a bad table (e.g. writable mapping of a table frame). */
int pv_pin_table(unsigned int level, unsigned long mfn);
/* MMUEXT_UNPIN_TABLE. */
int pv_unpin_table(unsigned long mfn);
/* MMUEXT_NEW_BASEPTR: loads kernel-mode CR3 (a pinned/valid L4 mfn). */
int pv_new_baseptr(unsigned long mfn);
/* MMUEXT_NEW_USER_BASEPTR: the L4 used in guest user mode (0 = none). */
int pv_new_user_baseptr(unsigned long mfn);
/* MMUEXT_TLB_FLUSH_LOCAL / MMUEXT_INVLPG_LOCAL. */
int pv_tlb_flush_local(void);
int pv_invlpg_local(unsigned long va);

/* update_va_mapping: sets the PTE mapping va in the current tables.
 * flags: UVMF_INVLPG or UVMF_TLB_FLUSH (| UVMF_LOCAL). */
int pv_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags);

/* A batch of update_va_mapping calls issued as one multicall. */
#define PV_MC_BATCH 16
struct pv_mc_batch {
    struct multicall_entry mc[PV_MC_BATCH];
    unsigned int n;
    int err;            /* first failing entry's result, sticky */
};
/* Queues update_va_mapping(va, pte, flags); flushes when full. */
void pv_mc_queue_va_mapping(struct pv_mc_batch *b, unsigned long va, uint64_t pte,
                            unsigned long flags);
/* Issues the queued calls as one multicall.  Returns b->err. */
int pv_mc_flush(struct pv_mc_batch *b);

#endif /* PV_MM_H */
