/*
 * pv/netfront.h - the network front-end of a PV guest: Xen's
 * public/io/netif.h over io/ring.h, connected through xenbus as Linux's
 * xen-netfront connects (device/vif/<handle>: tx-ring-ref, rx-ring-ref,
 * event-channel, request-rx-copy, feature-rx-notify, feature-sg,
 * feature-no-csum-offload, then state Connected; the back-end's mac,
 * feature-rx-copy, feature-sg and, where the toolstack set one, ip).
 *
 * Receive is rx-copy only (the back-end copies each frame into pages this
 * driver granted once, writable, and keeps posted: NETFRONT_RX_BUFS of
 * them).  Transmit grants the caller's memory read-only per slot and ends
 * the grant when the back-end's response comes: no copy.  A frame may span
 * up to NETFRONT_MAX_SLOTS slots (feature-sg: one per fragment and page
 * crossed), at most XEN_NETIF_MAX_TX_SIZE (65535) bytes.  Notifications are
 * suppressed both ways (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
 * RING_FINAL_CHECK_FOR_RESPONSES).
 *
 * Runs in a PV guest kernel, thread context (the event handler only calls
 * env.notify); one thread drives a struct netfront.  Errors are negative
 * Xen errno values.
 */
#ifndef PV_NETFRONT_H
#define PV_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include <pv/xenbus.h>

#define NETFRONT_MAX_SLOTS XEN_NETIF_NR_SLOTS_MIN     /* 18 tx slots per frame */
#define NETFRONT_RX_BUFS   256                        /* pages kept posted */
#define NETFRONT_MAX_FRAGS 17                         /* rx: slots of one frame */

/* A piece of a frame in kernel memory (len bytes at va; may cross pages). */
struct netfront_frag {
    const void *va;
    uint32_t len;
};

/* Counters of one vif (frames and bytes as the guest sees them). */
struct netfront_stats {
    uint64_t rx_frames, rx_bytes, rx_errors;
    uint64_t tx_frames, tx_bytes, tx_errors, tx_busy;
};

struct netfront;

/* Called from netfront_poll() for each frame received: its pieces (each
 * within one posted page; valid until the callback returns) and total
 * length in bytes. */
typedef void (*netfront_rx_fn)(void *opaque, const struct netfront_frag *frags,
                               unsigned int nfrags, unsigned int total);
/* Called from netfront_poll() when the back-end is done with the frame
 * netfront_xmit() took with `cookie` (its memory may be reused). */
typedef void (*netfront_tx_done_fn)(void *opaque, void *cookie);

/* Connects to vif `handle` (0 for the first): waits (up to timeout_ns)
 * for the back-end's InitWait, posts the receive buffers, publishes the
 * rings, waits for Connected.  NULL with *err: -ENOENT (no such vif),
 * -ETIMEDOUT, -ENOMEM, -ENOSPC (grant references), -EINVAL (a bad mac
 * key), or the errno of a xenstore or event-channel call. */
struct netfront *netfront_open(const struct xenbus_front_env *env, uint32_t handle,
                               uint64_t timeout_ns, int *err);
/* Closes: Closing, waits for the back-end to let go, Closed, frees. */
void netfront_close(struct netfront *nf);

/* Around a suspend, for every open netfront: suspend_all makes xmit answer
 * -XEN_EAGAIN, waits up to timeout_ns for the owner's netfront_poll to
 * complete what is in flight, then stops that poll; resume_all connects
 * each vif anew (new_domain: grants, rings and rx buffers granted again;
 * frames in flight are lost, as on a wire) and lets both go again.
 * resume_all: 0 or the first connection error. */
void netfront_suspend_all(uint64_t timeout_ns);
int netfront_resume_all(bool new_domain, uint64_t timeout_ns);
/* The vif's MAC address (6 bytes), from the back-end's mac key. */
const uint8_t *netfront_mac(const struct netfront *nf);
/* The back-end's ip key (the toolstack's ip= for this vif) into buf, or
 * an empty string: its length. */
size_t netfront_ip(const struct netfront *nf, char *buf, size_t n);
/* True while the back-end is Connected, and while the vif is suspended
 * or reconnecting after a restore (false once it closed or was removed,
 * or a reconnect failed: the caller should close). */
bool netfront_connected(const struct netfront *nf);
const struct netfront_stats *netfront_stats(const struct netfront *nf);

/* Queues one frame of nfrag pieces (total 14..65535 bytes) on the tx
 * ring and notifies the back-end if it asked.  The memory must stay as it
 * is until tx_done(cookie).  0, -EAGAIN (ring or ids full now: poll
 * first), -EINVAL (bad length, or more than NETFRONT_MAX_SLOTS slots),
 * -ENOSPC (out of grant references). */
int netfront_xmit(struct netfront *nf, const struct netfront_frag *frags, unsigned int nfrag,
                  void *cookie);
/* Takes the responses that came: tx_done for finished frames, rx for
 * each frame received (buffers are posted again after it).  Returns how
 * many responses it took (0: nothing to do).  Re-arms the events. */
unsigned int netfront_poll(struct netfront *nf, netfront_rx_fn rx, netfront_tx_done_fn tx_done,
                           void *opaque);

#endif
