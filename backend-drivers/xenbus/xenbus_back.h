/*
 * xenbus_back.h - the back-end half of the xenbus driver library: what
 * every split-driver back-end in dom0 (blkback, later netback) does with
 * xenstore, in Xen's words (xen/io/xenbus.h XenbusState; Linux's
 * xenbus_switch_state/xenbus_printf/xenbus_watch_path).
 *
 * dom0 runs xenstored itself (backend-drivers/xenstore), so these calls go
 * straight to the store as dom0 (xs_store_*), and watches are a dom0
 * connection whose events are queued here and handed out by
 * xenbus_back_poll().  Runs in dom0, in the agent's thread only (the store
 * is not locked): back-ends keep their xenstore work there and their data
 * path in their own threads.  Errors are negative Xen errno values.
 * Includes xenctrl.h: include it before any pv-abi header.
 */
#ifndef LAMINA_XENBUS_BACK_H
#define LAMINA_XENBUS_BACK_H

#include "xenctrl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called from xenbus_back_poll() for an event on a watched path: path is
 * the node that changed. */
typedef void (*xenbus_back_watch_fn)(const char *path, void *opaque);

/* Opens the dom0 connection the watches use (once, after xs_dom0_init).
 * 0 or -ENOMEM. */
int xenbus_back_init(void);
/* Reads path into buf (NUL-terminated, cut to len-1): length or -ENOENT. */
int xenbus_back_read(const char *path, char *buf, size_t len);
/* Reads path as an unsigned decimal (or 0x hex) number: 0, -ENOENT, -EINVAL. */
int xenbus_back_read_u64(const char *path, uint64_t *v);
/* Writes a printf-formatted value at dir/key (key "": dir itself).  0 or
 * the store's errno. */
int xenbus_back_printf(const char *dir, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Removes path and its subtree (missing: 0). */
int xenbus_back_rm(const char *path);
/* Sets path's permissions: owner owns it; reader (DOMID_INVALID: none)
 * may read it; everyone else nothing.  0 or errno. */
int xenbus_back_set_perms(const char *path, domid_t owner, domid_t reader);
/* The XenbusState in dir/state, or XenbusStateUnknown if absent/bad. */
enum xenbus_state xenbus_back_read_state(const char *dir);
/* Writes dir/state (Linux's xenbus_switch_state).  0 or errno. */
int xenbus_back_switch_state(const char *dir, enum xenbus_state state);
/* Watches path (and its subtree): fn(path, opaque) runs from
 * xenbus_back_poll() for each change, and once at once.  0, -ENOSPC
 * (XENBUS_BACK_MAX_WATCHES in use), or the store's errno. */
#define XENBUS_BACK_MAX_WATCHES 64
int xenbus_back_watch(const char *path, xenbus_back_watch_fn fn, void *opaque);
/* Drops every watch with this opaque (0 if none). */
void xenbus_back_unwatch(void *opaque);
/* Runs the callbacks of the events queued since the last call; returns
 * how many ran. */
int xenbus_back_poll(void);
/* The name of a XenbusState ("Connected"), for logs. */
const char *xenbus_state_name(enum xenbus_state s);

#endif
