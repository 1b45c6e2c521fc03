/*
 * pv/xenbus.h - xenbus client of a PV domU: requests to xenstore over the
 * store ring (start_info->store_mfn / store_evtchn; io/xs_wire.h).
 *
 * Runs in a PV guest kernel, in thread context (never in an event
 * handler); threads share it.  One request is outstanding at a time (a
 * second thread's call waits for the first's reply): each call writes a
 * struct xsd_sockmsg plus its body into `req`, notifies, and waits for the
 * reply with the same req_id in `rsp`.  Watch events (XS_WATCH_EVENT) that
 * arrive meanwhile are queued and handed to their callbacks by
 * xenbus_poll(), never from inside another request.  Waiting is the
 * caller's: the wait function given to xenbus_init() runs whenever the
 * ring has made no progress (e.g. a thread sleep of a millisecond); the
 * event handler only records that the ring moved, so a lost event costs
 * one wait period, never a hang.
 *
 * Errors are negative Xen errno values: the xenstore error strings of a
 * XS_ERROR reply ("ENOENT", "EACCES", ...) are mapped to XEN_E*; -XEN_EIO
 * for a malformed reply, -XEN_ETIMEDOUT when no reply came within
 * XENBUS_TIMEOUT_NS, -XEN_ENODEV before xenbus_init(), -XEN_E2BIG for a request or reply larger
 * than XENSTORE_PAYLOAD_MAX.  A broken ring (bad indexes or header, or a
 * request cut short by a timeout, which loses the framing) makes every
 * later call fail with -XEN_EIO.
 */
#ifndef PV_XENBUS_H
#define PV_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include <xen/io/xs_wire.h>

/* How long a request waits for its reply. */
#define XENBUS_TIMEOUT_NS 5000000000ULL     /* 5 s */
/* Watches one client can hold; watch events queued between polls. */
#define XENBUS_MAX_WATCHES 8
#define XENBUS_MAX_EVENTS  8

/* Called while waiting for the ring (thread context, events enabled). */
typedef void (*xenbus_wait_fn)(void *opaque);
/* Called by xenbus_poll() for a watch event: path is the node that
 * changed (NUL-terminated), token the watch's token. */
typedef void (*xenbus_watch_fn)(const char *path, const char *token, void *opaque);

/* Connects to the store ring: intf is the ring page mapped writable,
 * port the guest's end of the store event channel.  wait (NULL: yield the
 * vCPU with SCHEDOP_yield) is called with opaque whenever progress stalls.
 * Installs the event handler and unmasks the port.  0 or -XEN_EINVAL. */
int xenbus_init(struct xenstore_domain_interface *intf, evtchn_port_t port,
                xenbus_wait_fn wait, void *opaque);
/* After a restore into a new domain: the same ring page, the store's new
 * event channel port (start_info.store_evtchn); every watch is registered
 * again with the new xenstored.  0 (also before xenbus_init), -XEN_EINVAL,
 * or the first XS_WATCH's error. */
int xenbus_resume(evtchn_port_t port);

/* True once xenbus_init() succeeded. */
bool xenbus_ready(void);
/* fn(opaque) runs in the event upcall (interrupts off) each time the store
 * event channel fires, after xenbus_events() has counted it: a client that
 * sleeps between polls wakes on it.  NULL: none. */
void xenbus_set_notify(void (*fn)(void *opaque), void *opaque);

/* XS_READ of path: copies the value into buf (at most len-1 bytes, then a
 * NUL) and returns its full length (>= len means it was cut), or a
 * negative errno (-XEN_ENOENT when the node does not exist). */
int xenbus_read(const char *path, char *buf, size_t len);
/* XS_WRITE of the NUL-terminated value to path.  0 or a negative errno. */
int xenbus_write(const char *path, const char *value);
/* XS_DIRECTORY: the children's names, each NUL-terminated, into buf;
 * returns the bytes used (0: none), -XEN_E2BIG if buf is too small, or
 * the errno. */
int xenbus_directory(const char *path, char *buf, size_t len);

/* The xenbus driver library's front-end half (Linux's xenbus_printf,
 * xenbus_scanf, xenbus_switch_state, xenbus_read_driver_state): dir/key
 * as an unsigned decimal; dir/key = value; the XenbusState in dir/state
 * (XenbusStateUnknown when absent or bad); dir/state = state.  0 or a
 * negative errno (-XEN_EINVAL for a value that is not a number). */
int xenbus_read_u64(const char *dir, const char *key, uint64_t *v);
int xenbus_write_u64(const char *dir, const char *key, uint64_t v);
int xenbus_write_str(const char *dir, const char *key, const char *value);
enum xenbus_state xenbus_read_state(const char *dir);
int xenbus_switch_state(const char *dir, enum xenbus_state state);

/* XS_WATCH path with token; cb(path, token, opaque) runs from
 * xenbus_poll() for each event, including the one xenstore sends at once
 * when the watch is set.  0, -XEN_ENOSPC (no free slot), or the errno. */
int xenbus_watch(const char *path, const char *token, xenbus_watch_fn cb, void *opaque);
/* XS_UNWATCH; drops the local slot even if xenstore refused.  0 or errno. */
int xenbus_unwatch(const char *path, const char *token);
/* Reads whatever the ring holds (watch events) without waiting and runs
 * the callbacks of queued events.  Returns the number of callbacks run, or
 * a negative errno (ring broken, not connected). */
int xenbus_poll(void);
/* Number of times the event handler ran (progress indicator for waiters). */
uint64_t xenbus_events(void);

/* ---- raw access, for robustness tests only ---------------------------------
 * These put arbitrary bytes on the store ring (a hostile guest's view of
 * xenstore).  The first call gives up the client's framing: every later
 * xenbus_read/write/watch/poll fails with -XEN_EIO (so nobody reads the
 * rsp ring behind the caller's back).  Thread context; waits are bounded. */

/* ---- helpers for front-end drivers ----------------------------------- */

/* What the guest kernel lends a front-end driver (blkfront, netfront). */
struct xenbus_front_env {
    /* Sleeps until notify(opaque) or about timeout_ns. */
    void (*wait)(void *opaque, uint64_t timeout_ns);
    /* Called from the event handler (events masked). */
    void (*notify)(void *opaque);
    void *opaque;
    /* A zeroed page: its address, and its MFN in *mfn; NULL if none. */
    void *(*alloc_page)(uint64_t *mfn);
    void (*free_page)(void *va);
    /* Zeroed kernel memory of any size; NULL if none. */
    void *(*zalloc)(size_t bytes);
    void (*free)(void *p);
    /* MFN of the page holding va (kernel memory). */
    uint64_t (*virt_to_mfn)(const void *va);
};

/* d = a followed by b (b may be NULL), NUL-terminated, cut to n-1 bytes. */
void xenbus_path_join(char *d, size_t n, const char *a, const char *b);
/* The decimal digits of v into d (at least 21 bytes). */
void xenbus_utoa(char *d, uint64_t v);
/* Nanoseconds of the PV system clock (pv_time_system_ns), for deadlines. */
uint64_t xenbus_now_ns(void);
/* Reads dir/state until it is one of `mask` (bit 1 << XenbusState), calling
 * wait(opaque, 10 ms) between reads: returns that state, or
 * XenbusStateUnknown once deadline_ns (xenbus_now_ns()) has passed. */
enum xenbus_state xenbus_wait_state(const char *dir, unsigned int mask, uint64_t deadline_ns,
                                    void (*wait)(void *opaque, uint64_t ns), void *opaque);

/* Writes n bytes into the req ring as space frees, notifying the server,
 * for at most timeout_ns in total.  Returns the bytes written (< n when the
 * server stopped consuming), or -XEN_ENODEV before xenbus_init(). */
long xenbus_raw_write(const void *data, size_t n, uint64_t timeout_ns);
/* Discards what the server puts on the rsp ring until nothing new came for
 * quiet_ns, or timeout_ns in total.  Returns the bytes discarded, or
 * -XEN_ENODEV / -XEN_EIO (bad rsp indexes). */
long xenbus_raw_drain(uint64_t quiet_ns, uint64_t timeout_ns);
/* The ring's error field as the server last set it (XENSTORE_ERROR_*;
 * 0: none, or not connected). */
uint32_t xenbus_ring_error(void);

#endif /* PV_XENBUS_H */
