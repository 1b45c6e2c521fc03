/*
 * xenstored.h - Lamina's xenstore daemon core (Xen's io/xs_wire.h protocol).
 *
 * Runs in dom0 (compiled freestanding into the PV guest kernel) and on the
 * host in unit tests.  Portable C: no threads, no I/O; the caller feeds
 * requests (xs_conn_input, or a ring page through xs_ring_service) and gets
 * replies and watch events through the connection's output.  Not reentrant:
 * one caller at a time per store.
 *
 * Errors are negative Xen errno values (xen/errno.h); XS_EQUOTA is the one
 * extra value (a per-domain quota is exhausted), sent on the wire as
 * "EQUOTA" as oxenstored does.
 */
#ifndef LAMINA_XENSTORED_H
#define LAMINA_XENSTORED_H

#include <lamina/xen.h>
#include <xen/io/xs_wire.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A quota was exceeded (not a Xen errno; sent as the string "EQUOTA"). */
#define XS_EQUOTA (-1000)

/*
 * Per-domain limits.  dom0 (domid 0, privileged) is exempt from all of them
 * except max_output.  A field of 0 in the struct given to xs_store_new means
 * "the default" (the value in brackets).
 */
struct xs_quota {
    unsigned int max_nodes;        /* nodes owned by one domain [1000] */
    unsigned int max_value;        /* bytes of one node's value [2048] */
    unsigned int max_watches;      /* watches per connection [128] */
    unsigned int max_transactions; /* open transactions per connection [10] */
    unsigned int max_output;       /* queued output bytes per ring connection
                                      before its requests are no longer
                                      consumed and watch events are dropped
                                      [65536] */
};

struct xs_store;
struct xs_conn;

/* Makes an empty store ("/", "/local", "/local/domain", owned by dom0;
 * the last two readable by all).  q == NULL: defaults.  NULL: no memory. */
struct xs_store *xs_store_new(const struct xs_quota *q);
/* Frees the store and every node.  All connections must be freed first. */
void xs_store_free(struct xs_store *s);

/*
 * Opens a connection for domain `domid` (0 = dom0, privileged).
 * send != NULL: every reply and watch event is handed to send(opaque, hdr,
 * body) at once (hdr->len bytes of body; valid only during the call).
 * send == NULL: output is queued in the connection, bounded by
 * max_output, and written to the ring by xs_ring_service (use this for a
 * domain's xenstore ring).  NULL: no memory.
 */
struct xs_conn *xs_conn_new(struct xs_store *s, unsigned int domid,
                            void (*send)(void *opaque, const struct xsd_sockmsg *hdr,
                                         const void *body),
                            void *opaque);
/* Closes c: drops its watches, aborts its transactions, frees queued output. */
void xs_conn_free(struct xs_conn *c);

/*
 * Handles one request: hdr and hdr->len bytes of body.  Every request gets
 * exactly one reply (the operation's, or XS_ERROR with the errno's name,
 * e.g. "ENOENT"); watch events may follow.  Returns 0, or <0 when the
 * connection must be dropped: hdr->len > XENSTORE_PAYLOAD_MAX (answered
 * E2BIG; the body is not read then and may be NULL).
 */
int xs_conn_input(struct xs_conn *c, const struct xsd_sockmsg *hdr, const void *body);

/*
 * Services one domain's xenstore ring page (the guest produces into req,
 * dom0 into rsp; io/ring.h discipline).  Writes queued output, then
 * consumes at most XS_RING_BATCH requests (reassembled across wraps and
 * calls) while the output queue is under max_output, then writes again.
 * Returns 1 when the guest should be notified (indexes moved), else 0.
 * A broken ring (bad indexes, a length over XENSTORE_PAYLOAD_MAX) sets
 * intf->error (XENSTORE_ERROR_*) and is ignored from then on.
 */
#define XS_RING_BATCH 16
int xs_ring_service(struct xs_conn *c, struct xenstore_domain_interface *intf);
/* True once c's ring was found broken (see xs_ring_service). */
bool xs_conn_broken(const struct xs_conn *c);
/* Bytes of output queued in c (send == NULL connections). */
size_t xs_conn_queued(const struct xs_conn *c);

/*
 * Marks domid introduced, creates /local/domain/<domid> (owner domid,
 * others no access) when missing and fires @introduceDomain.  Idempotent.
 * -XEN_EINVAL: domid 0 or >= DOMID_FIRST_RESERVED; -XEN_ENOMEM.
 */
int xs_introduce_domain(struct xs_store *s, unsigned int domid);
/* Removes /local/domain/<domid> (firing watches), marks domid released and
 * fires @releaseDomain.  -XEN_ENOENT: not introduced; -XEN_EINVAL: dom0. */
int xs_release_domain(struct xs_store *s, unsigned int domid);
/* True when domid was introduced and not released (dom0 always). */
bool xs_domain_introduced(struct xs_store *s, unsigned int domid);

/*
 * Optional hook for XS_INTRODUCE / XS_RELEASE sent by dom0 over the wire:
 * called before the store changes, with the ring's MFN and event channel
 * port (0, 0 for release); a negative return fails the request with it.
 */
void xs_store_set_introduce_hook(struct xs_store *s,
                                 int (*hook)(void *opaque, unsigned int domid, bool release,
                                             uint64_t mfn, uint32_t port),
                                 void *opaque);

/* Writes len bytes at the absolute path as dom0 (parents created as
 * needed, watches fire).  -XEN_EINVAL bad path, -XEN_ENOMEM. */
int xs_store_write(struct xs_store *s, const char *path, const void *val, size_t len);
/* Reads a node as dom0: *len is buf's size in, the value's length out;
 * buf gets the value and a NUL.  -XEN_ENOENT, -XEN_EINVAL bad path,
 * -XEN_E2BIG buf too small (*len = the value's length). */
int xs_store_read(struct xs_store *s, const char *path, char *buf, size_t *len);
/* Removes a node and its subtree as dom0 (watches fire).  0 also when the
 * node is missing but its parent exists; -XEN_ENOENT, -XEN_EINVAL. */
int xs_store_rm(struct xs_store *s, const char *path);
/* Sets a node's permissions as dom0 from xenstore's text form, e.g.
 * "n5\0r0\0" (first = owner and default; nul-separated, len bytes).
 * -XEN_ENOENT, -XEN_EINVAL. */
int xs_store_set_perms(struct xs_store *s, const char *path, const char *perms, size_t len);
/* Number of nodes owned by domid (quota accounting). */
unsigned int xs_domain_nodes(struct xs_store *s, unsigned int domid);

/* The wire name of a negative error ("ENOENT"; "EINVAL" for unknown ones). */
const char *xs_errname(int err);

#endif /* LAMINA_XENSTORED_H */
