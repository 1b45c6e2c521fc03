/*
 * pv/gnttab.h - the granting side of grant tables v1 (Xen
 * public/grant_table.h), as a PV front-end uses them: a table of
 * grant_entry_v1 that this domain fills to let another domain map or copy
 * one of its frames, and takes back when done.
 *
 * Runs in a PV guest kernel, thread context or event handlers (references
 * are handed out with events masked).  References 0..GNTTAB_NR_RESERVED-1
 * are never handed out (Xen's reserved entries: the console and xenstore
 * toolstack grants).  Errors are negative Xen errno values.
 */
#ifndef PV_GNTTAB_H
#define PV_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>

#define GNTTAB_NR_RESERVED 8

/* GNTTABOP_setup_table for nr_frames frames of our own table: *mfns gets
 * their machine frames, which the caller maps writable and gives to
 * gnttab_init().  0, -EINVAL (Xen's status was not okay) or the errno. */
int gnttab_setup(unsigned int nr_frames, xen_pfn_t *mfns);
/* Starts handing out references of the mapped table `shared`
 * (nr_frames * 512 entries).  0 or -EINVAL. */
int gnttab_init(grant_entry_v1_t *shared, unsigned int nr_frames);
/* Grants domid access to machine frame mfn (read-only if readonly):
 * returns the reference (>= GNTTAB_NR_RESERVED) or -ENOSPC. */
int gnttab_grant_access(domid_t domid, unsigned long mfn, bool readonly);
/* Ends access to ref as Linux's gnttab_end_foreign_access_ref does: the
 * entry is cleared only if the grantee holds no mapping (GTF_reading and
 * GTF_writing both clear), atomically against the hypervisor setting
 * them.  0 (ref is free again) or -EBUSY (still mapped: ref stays
 * granted; try again later).  -EINVAL for a reference not handed out. */
int gnttab_end_access(grant_ref_t ref);
/* Around a suspend: gnttab_suspend() forgets the table's mapping and
 * returns it (for the caller to unmap); gnttab_resume() takes the table
 * mapped again, and with fresh (restored into a new domain, whose table is
 * empty) frees every reference: the callers' old references are void.
 * gnttab_resume: 0 or -XEN_EINVAL. */
grant_entry_v1_t *gnttab_suspend(void);
int gnttab_resume(grant_entry_v1_t *shared, bool fresh);

/* References handed out and not ended. */
unsigned int gnttab_in_use(void);

#endif
