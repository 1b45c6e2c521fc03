/*
 * blkback.h - the block back-end: dom0's end of a domU's virtual block
 * devices (Xen public/io/blkif.h over io/ring.h), served from a real
 * virtio-blk disk that dom0 drives itself (virtio_blk.h).
 *
 * A vbd is (domid, devid) with xenstore directories
 * backend/vbd/<domid>/<devid> (ours) and
 * /local/domain/<domid>/device/vbd/<devid> (the front-end's), the keys a
 * Linux blkfront reads and writes (docs/block.md).  Data moves without a
 * copy: each segment's grant is mapped with GNTMAP_device_map and its bus
 * address goes to the disk; indirect segment pages are fetched once with
 * GNTTABOP_copy into dom0's memory, so a front-end that rewrites them (or
 * the request) after posting changes nothing.  Every request a front-end
 * posts is validated first; a bad one gets BLKIF_RSP_ERROR (or
 * BLKIF_RSP_EOPNOTSUPP), a broken ring (producer index more than a ring
 * ahead) disconnects the vbd.
 *
 * Threads: blkback_add/remove/control run in the agent's thread (xenstore
 * work); blkback_start() starts the data-path thread, which polls the
 * rings and the disks.  Includes xenctrl.h first.
 */
#ifndef LAMINA_BLKBACK_H
#define LAMINA_BLKBACK_H

#include "xenctrl.h"

#include <stdbool.h>
#include <stdint.h>

/* What the back-end offers (written to xenstore). */
#define BLKBACK_MAX_INDIRECT_SEGS 256   /* feature-max-indirect-segments */
#define BLKBACK_MAX_VBDS          64
#define BLKBACK_MAX_PGNT          1056  /* persistent grants per vbd (Linux's default) */

/* One vbd's counters (lamina block-list). */
struct blkback_stats {
    uint32_t domid, devid;
    int state;                  /* our XenbusState */
    bool readonly;
    uint64_t sectors;
    uint64_t reqs, errors, bytes;
    unsigned int inflight;
};

/* How data moves for requests taken from now on: false (the default)
 * maps each segment's grant for the disk's DMA (GNTMAP_device_map, no
 * copy); true copies through dom0 pages with GNTTABOP_copy (Linux's
 * blkback's feature-persistent=0 path, kept for measurement: docs/block.md
 * gives both). */
void blkback_set_copy_mode(bool copy);
bool blkback_copy_mode(void);
/* Whether vbds connecting from now on use persistent grants when the
 * front-end offers them (default true; false for measurement: then every
 * segment is mapped and unmapped per request). */
void blkback_set_persistent(bool allow);
bool blkback_persistent(void);

/* Starts the data-path thread (once).  0 or -ENOMEM. */
int blkback_start(xc_interface *xch);
/*
 * Creates vbd (domid, devid) on the virtio-blk disk in PCI slot `slot`:
 * opens the disk, writes both xenstore directories (front-end's owned by
 * domid, back-end's readable by it) and goes to InitWait.  `params` is
 * shown as the back-end's params key (the image path on the host).
 * 0, or -EEXIST, -ENOSPC (BLKBACK_MAX_VBDS), the disk's error
 * (-ENODEV: no virtio-blk disk in that slot), -EROFS (rw wanted, the disk
 * is read-only), or the store's errno.
 */
int blkback_add(uint32_t domid, uint32_t devid, unsigned int slot, bool readonly,
                const char *params);
/* Tears vbd (domid, devid) down: no new request is taken; requests in
 * flight on the disk complete first (their grants stay mapped until
 * then, so the frames are not reused under the device); then the ring
 * and event channel go, the disk is reset, the xenstore directories are
 * removed.  The PCI slot is free once blkback_slot_free() says so.
 * 0 or -ENOENT. */
int blkback_remove(uint32_t domid, uint32_t devid);
/* blkback_remove() of every vbd of domid (the domain died). */
void blkback_remove_domain(uint32_t domid);
/* Agent loop: runs xenstore watch callbacks and finishes teardowns. */
void blkback_control(void);
/* True when no vbd (live or being torn down) uses PCI slot `slot`. */
bool blkback_slot_free(unsigned int slot);
/* Fills up to max entries for domid (DOMID_INVALID: all); returns count. */
unsigned int blkback_list(uint32_t domid, struct blkback_stats *out, unsigned int max);

#endif
