/*
 * mm.h - machine memory: the frame allocator, the frame table (owner, type,
 * type count and general reference count of every machine frame, with Xen's
 * rules), the M2P, guest page-table validation and the memory hypercalls.
 *
 * Runs in ring 0 with interrupts off.  mm.c is also compiled on the host by
 * the unit tests (tests/unit/test_mm.c), which supply mfn_to_virt() over a
 * malloc'd array of "machine memory" instead of the direct map.
 *
 * Frame types (page_info.type_info & PGT_type_mask), as in Xen: a frame has
 * at most one type at a time; the type is held by type references (PGT_count)
 * and may change only when the count is zero.  A frame of type L1..L4 has
 * been validated: every present entry it holds refers to a frame the owning
 * domain may map that way (L1: any owned frame, writable only if it can take
 * PGT_writable_page; L2/L3: L1/L2 tables; L4: L3 tables and the hypervisor
 * slots 256-271, which are forced to the hypervisor's own entries).
 * General references (PGC_count) keep the frame owned and allocated.
 */
#ifndef LAMINA_MM_H
#define LAMINA_MM_H

#include "lib/lib.h"
#include "arch/x86/x86.h"

struct domain;
struct vcpu;

/* One per machine frame (MFN). */
struct page_info {
    unsigned long count_info;   /* PGC_* flags | general reference count */
    unsigned long type_info;    /* PGT_* type | flags | type reference count */
    struct domain *owner;       /* NULL: free or the hypervisor's */
    unsigned long next;         /* MFN of next frame on the owner's list, or INVALID_MFN */
    unsigned long prev;         /* MFN of previous frame on that list, or INVALID_MFN */
};

/* page_info.type_info */
#define PGT_none            (0UL << 60)
#define PGT_l1_page_table   (1UL << 60)
#define PGT_l2_page_table   (2UL << 60)
#define PGT_l3_page_table   (3UL << 60)
#define PGT_l4_page_table   (4UL << 60)
#define PGT_seg_desc_page   (5UL << 60)
#define PGT_writable_page   (7UL << 60)
#define PGT_type_mask       (7UL << 60)
#define PGT_pinned          (1UL << 59)
#define PGT_validated       (1UL << 58)
#define PGT_count_mask      ((1UL << 32) - 1)
/* page_info.count_info */
#define PGC_allocated       (1UL << 63)   /* the owner's allocation reference is held */
#define PGC_xen_heap        (1UL << 62)   /* hypervisor-owned (shared_info, M2P, tables) */
#define PGC_free            (1UL << 61)   /* on the free list */
#define PGC_iomem           (1UL << 60)   /* below max_mfn but not RAM (the
                                           * MMIO hole): device memory */
#define PGC_count_mask      ((1UL << 32) - 1)

#define INVALID_MFN         (~0UL)

/* The MFN a page-table entry (any level) names. */
static inline unsigned long pte_mfn(uint64_t pte)
{
    return (pte & PTE_ADDR_MASK) >> PAGE_SHIFT;
}

/* A domain's log-dirty state (paging.c, below).  bitmap NULL: not in
 * log-dirty mode. */
struct log_dirty {
    unsigned long *bitmap;      /* one bit per PFN, nr_pfns bits */
    unsigned long nr_pfns;      /* the domain's pages + 1024, a multiple of 64;
                                 * writes to frames whose M2P PFN is beyond
                                 * are not recorded */
    uint32_t fault_count;       /* write faults since the last CLEAN */
    uint32_t dirty_count;       /* PFNs newly marked since the last CLEAN */
};

extern struct page_info *frame_table;   /* frame_table[mfn], mfn < max_mfn */
extern unsigned long max_mfn;           /* one past the highest usable MFN */
extern unsigned long *m2p_table;        /* writable M2P: m2p_table[mfn] = PFN */
extern uint64_t idle_pg_table[512];     /* the hypervisor's L4 (boot.S) */

/* Directmap conversions.  Host tests provide their own definitions. */
void *mfn_to_virt(unsigned long mfn);
unsigned long virt_to_mfn(const void *va);
static inline struct page_info *mfn_to_page(unsigned long mfn) { return &frame_table[mfn]; }
/* True for RAM frames, which have references and an owner; false for
 * device memory (the MMIO hole below 4 GiB, anything at or above max_mfn). */
static inline bool mfn_valid(unsigned long mfn)
{
    return mfn < max_mfn && !(frame_table[mfn].count_info & PGC_iomem);
}

/* A usable RAM range from the multiboot memory map, in bytes. */
struct mem_range { uint64_t start, end; };

/*
 * Builds the frame table and the M2P over the usable RAM in ranges[0..n),
 * frees every frame not in [reserved_start, reserved_end) bytes (the
 * hypervisor image and the boot modules), and maps the M2P read-only and
 * user-readable at RO_MPT_VIRT_START in idle_pg_table.  Called once at boot.
 */
void mm_init(const struct mem_range *ranges, unsigned int n,
             uint64_t reserved_start, uint64_t reserved_end);

/* Hypervisor frames (zeroed, PGC_xen_heap, owner NULL).  Returns an MFN or
 * INVALID_MFN when memory is exhausted.  free_xen_frame() of a frame shared
 * with a guest that another domain still maps defers the free to the last
 * put_page(). */
unsigned long alloc_xen_frame(void);
void free_xen_frame(unsigned long mfn);
/* Number of free frames. */
unsigned long mm_free_frames(void);
/* Zeroes up to max free frames that need it (boot RAM, freed frames), so
 * that allocating them later costs no zeroing; the idle loop calls it.
 * Returns how many it zeroed (0: none was left). */
unsigned long mm_scrub(unsigned long max);
/* Free frames not yet zeroed. */
unsigned long mm_dirty_frames(void);

/*
 * vmap.c: the hypervisor heap (Xen's xzalloc/vzalloc).  vzalloc(bytes)
 * maps ceil(bytes / PAGE_SIZE) zeroed frames virtually contiguous at
 * VMAP_VIRT_START (4 GiB of addresses); xzalloc_bytes() gives a single
 * directmap frame when bytes <= PAGE_SIZE, else vzalloc().  Both return a
 * page-aligned pointer or NULL when out of frames or addresses (nothing
 * kept).  vfree()/xfree() take what they returned (NULL: no-op).
 * vmap_init() hooks the slot into idle_pg_table; once, at boot, before any
 * guest L4 copies the hypervisor slots.
 */
void vmap_init(void);
void *vzalloc(size_t bytes);
void vfree(void *p);
void *xzalloc_bytes(size_t bytes);
void xfree(void *p);

/*
 * Allocates one zeroed frame to d (PGC_allocated, count 1, type none) and
 * puts it on d's list; fails with -ENOMEM beyond d->max_pages or when the
 * machine is out of memory.  *mfn receives the frame.
 */
int __must_check alloc_domain_frame(struct domain *d, unsigned long *mfn);
/* Drops the allocation reference of every frame d owns (domain destroy);
 * frames whose references all go return to the free pool.  Frames another
 * domain still maps (dom0's foreign mappings) leave d's list ownerless and
 * are freed by the last put_page(); d may then be reused. */
void mm_relinquish_domain(struct domain *d);
/* Gives a hypervisor frame (e.g. shared_info) to d as a writable-mappable
 * shared page: owner d, PGC_allocated, not on d's tot_pages. */
void share_xen_frame_with_guest(unsigned long mfn, struct domain *d);

/* General reference: fails (returns false) if mfn is invalid, free, or not
 * owned by d. */
bool __must_check get_page(unsigned long mfn, struct domain *d);
void put_page(unsigned long mfn);
/* Type reference: takes the frame as `type` (PGT_*), validating it when the
 * type count goes 0 -> 1 (a page-table page is checked entry by entry and
 * gets references on what it maps).  Returns 0, -EINVAL (wrong type in use or
 * validation failed), or -EBUSY.  Caller holds a general reference. */
int __must_check get_page_type(unsigned long mfn, unsigned long type);
void put_page_type(unsigned long mfn);

/*
 * Validates, pins and returns (through *ref) the L4 at mfn for the vCPU's
 * page-table base: used by the dom0 builder and MMUEXT_NEW_BASEPTR.
 * Installs the hypervisor's L4 slots.  Errors: -EINVAL.
 */
int __must_check mm_pin_l4(struct domain *d, unsigned long mfn);
/* MMUEXT_PIN_Lx_TABLE on behalf of d: general + type (PGT_l1..l4) refs held
 * by the pin.  -EINVAL: not d's frame, wrong type in use, already pinned;
 * or the validation error of the table (-EINVAL/-EBUSY/-EPERM). */
int __must_check mm_pin_table(struct domain *d, unsigned long mfn, unsigned long type);
/* MMUEXT_UNPIN_TABLE: drops the pin's refs.  -EINVAL: not d's frame or not
 * pinned.  A table still in use elsewhere (base pointer, parent) stays. */
int __must_check mm_unpin_table(struct domain *d, unsigned long mfn);
/*
 * Replaces entry idx (0..511) of the validated level-`level` (1..4) table at
 * table_mfn with nval, as MMU_NORMAL_PT_UPDATE does once the table is found:
 * refs for the new entry first, then the old entry's are dropped; forced
 * bits (_PAGE_USER) are added.  Nothing changes on error: -EINVAL (L4 slots
 * 256-271, bad flag bits, lower table of the wrong type, superpage),
 * -EBUSY (L1 maps a frame not owned, or writable a frame that cannot be
 * PGT_writable_page), -EPERM (L1 maps a non-RAM MFN and the domain is not
 * privileged; a privileged domain maps it unreferenced).
 */
int __must_check mm_mod_entry(unsigned long table_mfn, unsigned int idx, uint64_t nval,
                              unsigned int level);
/*
 * mm_mod_entry() where a new L1 entry maps a frame of pg_owner (Xen's
 * pg_owner of mmu_update with foreigndom; NULL: the table's owner).  The
 * general and (writable) type references are taken on pg_owner's frame and
 * dropped when the entry is later replaced.  Frames beyond the frame table
 * (mfn >= max_mfn: device memory) map with no reference when both the
 * table's owner and pg_owner are privileged, else -EPERM.
 */
int __must_check mm_mod_entry_foreign(unsigned long table_mfn, unsigned int idx, uint64_t nval,
                                      unsigned int level, struct domain *pg_owner);

/* A general reference on l1, when it is a frame of d validated as an L1
 * table and in use (type count > 0): the table a PTE write may go to.
 * False (nothing held) otherwise.  The caller put_page()s it. */
bool __must_check mm_get_l1(struct domain *d, unsigned long l1);
/* mm_get_l1() of the L1 that maps va in v's kernel page tables (the walk
 * update_va_mapping does); *idx gets va's slot.  INVALID_MFN when va is
 * outside the guest range or not mapped down to such an L1. */
unsigned long mm_get_l1_for_va(struct vcpu *v, unsigned long va, unsigned int *idx);

/* Base pointer switching on behalf of v: takes type+general refs on the new
 * L4, drops those of the old one.  user selects guest_table_user. */
int __must_check mm_set_baseptr(struct vcpu *v, unsigned long mfn, bool user);

/* mm_vcpu_cr3(v): the L4 v runs on now (kernel or user table) as a CR3
 * value; inline in common/sched.h, which defines struct vcpu. */

/* Hypercalls (Xen public/xen.h, public/memory.h).  Guest pointers are guest
 * virtual addresses in the current vCPU's address space; bad pointers give
 * -EFAULT.  `pdone` counts completed operations as Xen does. */
long do_mmu_update(uint64_t ureqs, unsigned int count, uint64_t pdone, unsigned int foreigndom);
long do_mmuext_op(uint64_t uops, unsigned int count, uint64_t pdone, unsigned int foreigndom);
long do_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags);
long do_memory_op(unsigned long cmd, uint64_t arg);

/*
 * paging.c: log-dirty mode for PV domains (Xen's paging_log_dirty_*, the
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
 * paging_mark_dirty(d, mfn), the inline test in front of
 * paging_mark_dirty_slow(), is in common/sched.h (it reads struct domain).
 * CLEAN and PEEK first mark every frame another domain has a writable
 * grant mapping of (the domctl calls gnttab_mark_dirty_mapped()): a
 * back-end's device may write it by DMA at any time.
 */
/* Bit 62 of a guest L1 entry: writable, write-protected by log-dirty mode.
 * Guests cannot set it (mm.c refuses it as a flag of their own). */
#define PTE_LOGDIRTY        (1UL << 62)

void paging_mark_dirty_slow(struct domain *d, unsigned long mfn);

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
