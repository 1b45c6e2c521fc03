/*
 * xs_dom0.h - dom0's glue between the xenstored core (xenstored.h) and
 * the domains' xenstore rings (start_info->store_mfn / store_evtchn).
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV),
 * thread context, one caller (the agent's loop).  The event handler it
 * installs per domain only records the notification.  One store; up to
 * XS_DOM0_MAX_DOMAINS domain connections.  Errors are negative Xen errno
 * values.
 *
 * This header includes xenctrl.h, which must come before <lamina/xen.h>:
 * include it before any pv-abi header.
 */
#ifndef LAMINA_XS_DOM0_H
#define LAMINA_XS_DOM0_H

#include "xenctrl.h"
#include "xenstored.h"

#define XS_DOM0_MAX_DOMAINS 1024

/* Sets the store every later call works on (made by xs_store_new).  0, or
 * -XEN_EINVAL for NULL.  May be called again only with no domain added. */
int xs_dom0_init(struct xs_store *s);
/*
 * Connects domain domid's xenstore ring: maps the ring page store_mfn
 * (xc_map_foreign_range, RW), binds an interdomain event channel to the
 * domain's remote_port, opens a connection (xs_conn_new, output queued
 * for the ring) and introduces the domain (xs_introduce_domain:
 * /local/domain/<domid>).  Requests already in the ring are served by the
 * next xs_dom0_poll().  Returns 0; -XEN_EINVAL (no store, domid 0 or
 * reserved), -XEN_EEXIST (already added), -XEN_ENOSPC (table full),
 * -XEN_ENOMEM, or the mapping's / event channel's errno (negative).
 * Nothing stays half-connected on failure.
 */
int xs_dom0_add_domain(xc_interface *xch, uint32_t domid, uint64_t store_mfn,
                       uint32_t remote_port);
/* Releases the domain (xs_release_domain: /local/domain/<domid> removed,
 * @releaseDomain fires), frees its connection, closes the event channel
 * and unmaps the ring.  Unknown domid: no-op. */
void xs_dom0_remove_domain(uint32_t domid);
/* Services every connected ring once (xs_ring_service: bounded work,
 * XS_RING_BATCH requests per domain) and notifies the domains whose
 * indexes moved.  Returns nothing; a broken ring is left alone. */
void xs_dom0_poll(void);
/* The store given to xs_dom0_init (NULL before). */
struct xs_store *xs_dom0_store(void);

#endif /* LAMINA_XS_DOM0_H */
