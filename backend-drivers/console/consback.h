/*
 * consback.h - console back-end: dom0's end of a domU's console ring
 * (struct xencons_interface, io/console.h), as xenconsoled does it.
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV),
 * thread context; the event handler it installs only records that the
 * guest notified.  Not reentrant: one caller (the agent's loop) per
 * struct consback.  Ring roles: the guest produces into `out` and
 * consumes `in`; this back-end consumes `out` and produces into `in`;
 * each side notifies the other over one interdomain event channel.
 * Guest-written indices are never trusted: a producer index more than a
 * ring ahead of the consumer is a broken ring, resynchronised by
 * dropping its contents.
 *
 * This header includes xenctrl.h, which must come before <lamina/xen.h>:
 * include it before any pv-abi header.
 */
#ifndef LAMINA_CONSBACK_H
#define LAMINA_CONSBACK_H

#include "xenctrl.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of console output kept per domain for console-attach. */
#define CONSBACK_HISTORY 16384

struct consback;

/* Output sink: called by consback_poll() with each piece of new output
 * (buf valid only during the call; n > 0). */
typedef void (*consback_sink_fn)(void *opaque, uint32_t domid, const char *buf, size_t n);

/*
 * Connects to domain domid's console: maps the ring page ring_mfn (MFN of
 * a PV domain; xc_map_foreign_range, RW), binds an interdomain event
 * channel to the domain's remote_port (EVTCHNOP_bind_interdomain; the
 * port was allocated unbound for dom0 by the domain builder), installs the
 * event handler and unmasks the port.  Output already in the ring is
 * picked up by the first consback_poll().
 * Returns the back-end, or NULL with errno (positive Xen errno): ENOMEM,
 * the mapping's errno, or the event channel's (EINVAL, ESRCH ...).
 */
struct consback *consback_attach(xc_interface *xch, uint32_t domid, uint64_t ring_mfn,
                                 uint32_t remote_port);
/* Closes the event channel, unmaps the ring and frees c (NULL: no-op).
 * c is invalid afterwards. */
void consback_detach(struct consback *c);
/*
 * Moves new bytes of `out` into the history and to the sink.  Bounded
 * work: at most one ring's worth (2048 bytes) per call, so a domU that
 * floods its ring cannot stall dom0; call it for every domain in turn.
 * Notifies the guest when it freed space.  Returns the bytes moved.
 */
size_t consback_poll(struct consback *c);
/* Copies up to n bytes of buf into `in` (what fits now) and notifies the
 * guest if any were copied.  Returns the bytes accepted (0: ring full). */
size_t consback_write_input(struct consback *c, const void *buf, size_t n);
/* Copies the min(n, held) most recent bytes of output into buf, oldest
 * first; returns the count (at most CONSBACK_HISTORY). */
size_t consback_history(struct consback *c, char *buf, size_t n);
/* Sets (sink != NULL) or clears the output sink. */
void consback_set_sink(struct consback *c, consback_sink_fn sink, void *opaque);
/* Total bytes received from the guest since attach. */
uint64_t consback_bytes(const struct consback *c);
/*
 * Output holding for Remus (Cully et al., NSDI 2008): output a checkpoint
 * has not covered yet must not leave the machine, since a failover would
 * resume from before it.  consback_hold(c, true) starts holding what
 * consback_poll() takes from the ring (at most CONSBACK_HOLD_MAX bytes;
 * beyond that the ring stays full and the guest waits); 0 or -XEN_ENOMEM.
 * consback_hold(c, false) lets everything held go and stops holding.
 * consback_mark(c, epoch): what is held now is the output up to
 * checkpoint epoch (increasing; at most CONSBACK_MARKS unacknowledged,
 * beyond that the newest mark moves on).  consback_release(c, epoch):
 * the backup acknowledged checkpoint epoch: the output of every mark up
 * to it goes to the history and the sink; returns the bytes released.
 * All are no-ops on a back-end that is not holding.
 */
#define CONSBACK_HOLD_MAX 65536
#define CONSBACK_MARKS    16
int consback_hold(struct consback *c, bool on);
void consback_mark(struct consback *c, uint64_t epoch);
size_t consback_release(struct consback *c, uint64_t epoch);
/* True when the guest notified since the last consback_poll() (a hint:
 * polling without it is always correct). */
bool consback_pending(const struct consback *c);

#endif /* LAMINA_CONSBACK_H */
