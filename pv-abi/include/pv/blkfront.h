/*
 * pv/blkfront.h - the block front-end of a PV guest: Xen's
 * public/io/blkif.h over io/ring.h, connected through xenbus the way
 * Linux's xen-blkfront connects (device/vbd/<devid>: ring-ref,
 * event-channel, protocol, then state Initialised; the back-end's
 * sectors, sector-size, info, feature-flush-cache,
 * feature-max-indirect-segments once it is Connected).
 *
 * Requests of up to BLKIF_MAX_SEGMENTS_PER_REQUEST pages go directly in
 * the ring; larger ones (up to the back-end's max-indirect-segments, at
 * most BLKFRONT_MAX_SEGS pages) through one indirect page.  With persistent
 * grants (feature-persistent on both ends, Linux's protocol) a data page is
 * granted writable the first time it is used and stays granted (and mapped
 * by the back-end) until close, up to 1056 pages; beyond that, and without
 * them, each page is granted for the request (read-only when the back-end
 * only reads it) and the grant ended when the response comes.  Notifications are
 * suppressed both ways (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
 * RING_FINAL_CHECK_FOR_RESPONSES).
 *
 * Runs in a PV guest kernel, thread context (the event handler only calls
 * env.notify).  One thread per struct blkfront.  Errors are negative Xen
 * errno values; a request the back-end failed gives -XEN_EIO
 * (-XEN_EOPNOTSUPP for BLKIF_RSP_EOPNOTSUPP).
 */
#ifndef PV_BLKFRONT_H
#define PV_BLKFRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include <pv/xenbus.h>

#define BLKFRONT_MAX_SEGS 256       /* pages per request (1 MiB) */

struct blkfront;

/* Connects to vbd devid (e.g. 51712 for xvda): waits (up to timeout_ns)
 * for the back-end's InitWait, publishes the ring, waits for Connected.
 * NULL with *err: -ENOENT (no such device), -ETIMEDOUT, -ENOMEM, or the
 * errno of a xenstore or event-channel call. */
struct blkfront *blkfront_open(const struct xenbus_front_env *env, uint32_t devid,
                               uint64_t timeout_ns, int *err);
/* Closes: Closing, waits for the back-end to let go, Closed, frees. */
void blkfront_close(struct blkfront *bf);

/* Around a suspend (guest-port/pv/suspend.c), for every open blkfront:
 * suspend_all stops new requests (they get -XEN_EAGAIN and the waiters
 * sleep) and waits up to timeout_ns for those in flight; resume_all lets
 * requests go again, after connecting each disk anew when new_domain (a
 * restore: new grant table, channels and back-end).  resume_all: 0 or the
 * first connection error. */
void blkfront_suspend_all(uint64_t timeout_ns);
int blkfront_resume_all(bool new_domain, uint64_t timeout_ns);
uint64_t blkfront_sectors(const struct blkfront *bf);    /* 512-byte sectors */
bool blkfront_readonly(const struct blkfront *bf);
unsigned int blkfront_max_segs(const struct blkfront *bf);  /* per request */

/* An asynchronous request: bytes (a multiple of 512, at most
 * max_segs pages) at buf (512-byte aligned, kernel memory) to or from
 * sector.  done(cookie, status) runs from blkfront_poll(). */
typedef void (*blkfront_done_fn)(void *cookie, int status);
/* 0, -EAGAIN (ring full: poll first), -EINVAL (bad shape, write to a
 * read-only disk), -ENOSPC (out of grant references). */
int blkfront_submit(struct blkfront *bf, bool write, uint64_t sector, void *buf, uint32_t bytes,
                    blkfront_done_fn done, void *cookie);
/* Between blkfront_plug() and blkfront_unplug(), submitted requests are
 * queued on the ring but not published; unplug publishes them and
 * notifies the back-end once (as Linux's block-layer plugging). */
void blkfront_plug(struct blkfront *bf);
void blkfront_unplug(struct blkfront *bf);
/* Flush the disk's write cache (BLKIF_OP_FLUSH_DISKCACHE); asynchronous. */
int blkfront_flush(struct blkfront *bf, blkfront_done_fn done, void *cookie);
/* Completes the responses that came; returns how many. */
unsigned int blkfront_poll(struct blkfront *bf);
/* Waits until at least one response came or timeout_ns passed, then
 * polls; returns how many completed. */
unsigned int blkfront_wait(struct blkfront *bf, uint64_t timeout_ns);
/* Requests posted and not completed. */
unsigned int blkfront_inflight(const struct blkfront *bf);
/* Synchronous read or write (submit + wait).  0 or the error. */
int blkfront_rw(struct blkfront *bf, bool write, uint64_t sector, void *buf, uint32_t bytes);

#endif
