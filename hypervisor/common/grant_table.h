/*
 * grant_table.h - grant tables, version 1 (Xen public/grant_table.h).
 *
 * A domain grants another access to one of its frames by filling a
 * grant_entry_v1 {flags, domid, frame} in its grant table, frames the
 * hypervisor owns and shares writable with it (GNTTABOP_setup_table).  The
 * grantee maps the frame (GNTTABOP_map_grant_ref: a PTE at host_addr, a
 * bus address for DMA, or both), copies to or from it (GNTTABOP_copy) and
 * unmaps it by the handle the map returned.  While any mapping exists the
 * hypervisor keeps GTF_reading (and GTF_writing for writable ones) set in
 * the shared entry, so the granter can see that it may not end access, and
 * holds a general (and PGT_writable_page type) reference on the frame, so
 * it is neither freed nor reused.
 *
 * Runs in ring 0 with interrupts off; grant_table.c is also compiled by
 * the host unit tests (tests/unit/test_gnttab.c).
 */
#ifndef LAMINA_GRANT_TABLE_H
#define LAMINA_GRANT_TABLE_H

#include <lamina/xen.h>
#include "lib/lib.h"

struct domain;

/* Xen 4.17's defaults (opt_max_grant_frames, opt_max_maptrack_frames),
 * used when the domain's creator passes -1. */
#define GNTTAB_DEFAULT_MAX_FRAMES    64
#define GNTTAB_DEFAULT_MAX_MAPTRACK  1024
/* The hard ceilings of a createdomain request. */
#define GNTTAB_MAX_FRAMES_LIMIT      256
#define GNTTAB_MAX_MAPTRACK_LIMIT    4096

/* Hypervisor-wide counters (the toolstack's `lamina info`). */
struct gnttab_counters {
    unsigned long maps;        /* maptrack entries in use, all domains */
    unsigned long frames;      /* grant-table frames allocated, all domains */
    unsigned long maptrack_frames;  /* maptrack frames, all domains (a domain's
                                     * maptrack keeps its high-water mark) */
};
extern struct gnttab_counters gnttab_counters;

/*
 * Gives d a grant table of one frame that may grow to max_frames frames
 * (grant entries: 512 per frame) and a maptrack that may grow to
 * max_maptrack_frames frames of mappings (128 per frame); -1 for either
 * takes Xen's default.  0, -EINVAL (a limit of 0 or over the ceiling) or
 * -ENOMEM.  Called by domain_create() paths before d runs.
 */
int __must_check gnttab_init(struct domain *d, int max_frames, int max_maptrack_frames);
/* Undoes every mapping d holds of other domains' grants (PTEs cleared,
 * references dropped, the granters' GTF_reading/GTF_writing updated);
 * then frees d's own grant frames (a frame another domain still maps
 * outlives d, as shared_info does).  domain_destroy() calls it once. */
void gnttab_destroy(struct domain *d);

/* __HYPERVISOR_grant_table_op: count ops of type cmd at guest address
 * uop.  Per-op results are in each op's status (GNTST_*); the return is
 * 0, -EFAULT (uop unreadable), -EINVAL (count != 1 where Xen wants one),
 * -ENOSYS (an op Lamina does not implement: transfer, v2's status frames,
 * unmap_and_replace, swap_grant_ref, cache_flush, dump_table) or the errno
 * of set_version/get_version.  Long batches are preempted and continued. */
long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count);

/* Log-dirty mode (mm/mm.h): marks every frame of d that another domain
 * maps writable through d's grants now (a back-end's device may write it
 * by DMA whenever it likes; Linux-style persistent grants are never
 * unmapped while the front-end is connected). */
void gnttab_mark_dirty_mapped(struct domain *d);

#endif
