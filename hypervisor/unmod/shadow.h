/*
 * shadow.h - shadow page tables for unmodified guests (unmod.h).
 *
 * The CPU never walks an unmodified guest's own tables: it walks shadow
 * tables whose leaves map guest-virtual pages straight to machine frames
 * (P2M[gpfn]).  Shadows are built lazily on #PF, one shadow page per
 * (guest table gpfn, level, view), so shadows of tables shared between
 * guest address spaces are shared too; a guest 2 MiB page becomes a
 * "splinter" shadow L1 of 4 KiB entries.  Every guest frame that is used
 * as a page table is write-protected in every shadow leaf; a write to it
 * faults, is emulated (emulate.c) and clears the shadow entries it changes,
 * so cached shadows stay coherent and a CR3 reload reuses them.
 *
 * Two views per guest CR3: SH_VIEW_KERNEL (virtual ring 0: every guest
 * mapping is user-accessible, because the guest kernel runs in real ring 3)
 * and SH_VIEW_USER (virtual ring 3: the guest's U/S bits as they are).
 * L4 slots 257-271 of every shadow are the hypervisor's own (supervisor
 * only); slot 256 (the M2P PV guests see) and guest entries there are
 * never mapped.
 *
 * Accessed/dirty bits are kept in the guest's entries: A on every fill,
 * D on a write (a leaf whose guest D is clear is mapped read-only until the
 * first write).  Not modelled: 1 GiB guest pages, PAT/PCD/PWT (all
 * write-back), global pages, NX (not enforced), CR0.WP=0.
 *
 * Runs in ring 0 with interrupts off.
 */
#ifndef LAMINA_SHADOW_H
#define LAMINA_SHADOW_H

#include "lib/lib.h"
#include "unmod/unmod.h"

#define SH_VIEW_KERNEL 0
#define SH_VIEW_USER   1

#define SH_POOL_PAGES   512             /* shadow frames per domain (2 MiB) */
#define UNMOD_MAX_PAGES (1UL << 20)     /* 4 GiB of guest RAM at most (the
                                         * multiboot loader works below 4 GiB) */

/* One shadow frame. */
struct sh_page {
    unsigned long mfn;          /* the frame (hypervisor heap) */
    uint64_t gpfn;              /* source guest table (or, for a splinter, the guest L2) */
    uint16_t idx;               /* splinter: index in that guest L2 */
    uint8_t level;              /* 1..4 */
    uint8_t view;               /* SH_VIEW_* */
    uint8_t kind;               /* SH_FREE, SH_NORMAL, SH_SPLINTER, SH_IDENT */
};

#define SH_FREE     0
#define SH_NORMAL   1
#define SH_SPLINTER 2
#define SH_IDENT    3           /* paging off: identity map of guest RAM */

/* Shadow state of one unmodified domain. */
struct shadow_domain {
    unsigned long nr_pages;             /* guest RAM, frames */
    unsigned long p2m_cap;              /* entries p2m and pt_bits hold */
    uint32_t *p2m;                      /* gpfn -> MFN (0: none), heap */
    uint64_t *pt_bits;                  /* gpfn is a guest page table, heap */
    struct sh_page pool[SH_POOL_PAGES];
    bool reset_pending;                 /* pool was reset: reload CR3 */
    /* Statistics (printed at domain destroy). */
    unsigned long fills, pt_writes, resets, injected_pf;
};

/* shadow_fault() results. */
#define SH_FIXED     0      /* shadow filled: retry the access */
#define SH_INJECT    1      /* the guest's own tables deny it: deliver *f */
#define SH_EMULATE   2      /* a write to a guest page table: emulate it */
#define SH_BAD       3      /* the guest mapped memory it does not have: *why */

/* Sets up an empty shadow state: the pool frames, and a P2M with room for
 * nr_pages (at least 1024) entries, all 0.  -ENOMEM when the hypervisor
 * heap is short (nothing kept). */
int shadow_init(struct shadow_domain *sd, unsigned long nr_pages);
/* Makes room in the P2M for gpfn (< UNMOD_MAX_PAGES), growing it (entries
 * kept) as the domain is populated.  0 or -ENOMEM (the P2M unchanged). */
int shadow_p2m_reserve(struct shadow_domain *sd, unsigned long gpfn);
/* Frees the pool frames and the P2M. */
void shadow_destroy(struct shadow_domain *sd);
/* Drops every shadow (paging mode change, pool exhaustion). */
void shadow_reset(struct shadow_domain *sd);

/* Machine address of the shadow L4 for vu's CR3 (or the paging-off
 * identity map) in `view`; 0 when the pool cannot supply one even after a
 * reset (the domain must be crashed). */
unsigned long shadow_cr3(struct shadow_domain *sd, const struct vcpu_unmod *vu, unsigned int view);

/*
 * A #PF the CPU raised on the shadow tables at va with hardware error code
 * hw_ec (bits P, W, U, I), in `view`.  Walks the guest tables with the
 * virtual CPL's rights; returns SH_FIXED, SH_INJECT (with the guest's #PF in
 * *f), SH_EMULATE (a permitted write to a guest page table) or SH_BAD.
 */
int shadow_fault(struct shadow_domain *sd, struct vcpu_unmod *vu, unsigned int view,
                 uint64_t va, uint32_t hw_ec, struct emu_fault *f, const char **why);

/*
 * Translates guest-virtual va for an access of kind acc (EMU_ACC_*) at
 * virtual CPL cpl through the guest's own tables (setting A/D as the CPU
 * would): 0 and *gpa, -1 with the guest's #PF in *f, or -2 when a table or
 * the page lies outside the guest's RAM.
 */
int shadow_translate(struct shadow_domain *sd, struct vcpu_unmod *vu, uint64_t va,
                     unsigned int acc, unsigned int cpl, uint64_t *gpa, struct emu_fault *f);

/* Hypervisor pointer to guest-physical address gpa (gpa < nr_pages * 4K). */
void *shadow_gpa_to_virt(struct shadow_domain *sd, uint64_t gpa);

/* A write of len bytes at gpa is about to happen or has happened: if the
 * frame is a guest page table, drops the shadow entries it covers. */
void shadow_guest_write(struct shadow_domain *sd, uint64_t gpa, unsigned int len);

#endif
