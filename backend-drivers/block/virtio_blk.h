/*
 * virtio_blk.h - dom0's driver for a legacy virtio-blk PCI device
 * (vendor 0x1af4, device 0x1001: QEMU's virtio-blk-pci with
 * disable-modern=on), the real disk behind blkback and dom0-direct I/O.
 *
 * Runs in dom0 over the legacy virtio PCI transport (virtio_pci.h: the
 * BAR, bus mastering, the virtqueue in machine-contiguous dom0 frames);
 * one virtqueue (queue 0, QEMU's queue-size, up to 1024 entries).  Buffers are machine addresses: dom0's
 * own frames (pfn_to_mfn) or other domains' granted frames
 * (GNTMAP_device_map's dev_bus_addr); QEMU has no IOMMU.  Completion is
 * polled (vblk_poll): no device interrupt is routed to dom0.
 *
 * Not reentrant: one thread drives a struct vblk.
 */
#ifndef LAMINA_VIRTIO_BLK_H
#define LAMINA_VIRTIO_BLK_H

#include "xenctrl.h"
#include "virtio_pci.h"

#include <stdbool.h>
#include <stdint.h>

#define VBLK_SECTOR_SIZE 512u
/* Most data segments in one request (QEMU's seg_max is queue size - 2). */
#define VBLK_MAX_SEGS    256u

enum vblk_op { VBLK_READ, VBLK_WRITE, VBLK_FLUSH };

/* One piece of a request: len bytes at machine address maddr (one page
 * at most; need not be sector aligned inside the page, but len is a
 * multiple of 512). */
struct vblk_seg {
    uint64_t maddr;
    uint32_t len;
};

struct vblk;

/* Called by vblk_poll() for each completed request with the cookie given
 * to vblk_submit() and 0 (done) or -XEN_EIO (the device said
 * VIRTIO_BLK_S_IOERR or UNSUPP). */
typedef void (*vblk_done_fn)(void *cookie, int status);

/*
 * Brings up the virtio-blk device in PCI slot `slot` (1-31): BAR0 at an
 * I/O address of its own, reset, features (SEG_MAX, BLK_SIZE, FLUSH, RO
 * accepted), queue 0, DRIVER_OK.  Returns the device or NULL with *err a
 * negative Xen errno: -ENODEV (no virtio-blk there), -ENOMEM (no
 * machine-contiguous frames for the ring), -EIO (the device refused).
 */
struct vblk *vblk_open(xc_interface *xch, unsigned int slot, int *err);
/* Resets the device (it stops all DMA), frees the ring.  Requests in
 * flight are never completed.  NULL: no-op. */
void vblk_close(struct vblk *vb);
/* Capacity in 512-byte sectors; true if the device is read-only. */
uint64_t vblk_sectors(const struct vblk *vb);
bool vblk_readonly(const struct vblk *vb);
/* True if VIRTIO_BLK_F_FLUSH was offered (VBLK_FLUSH does something). */
bool vblk_has_flush(const struct vblk *vb);

/*
 * Queues one request: op at sector (512-byte units) over segs[0..nseg)
 * (nseg 1..VBLK_MAX_SEGS; 0 for VBLK_FLUSH) and tells the device.
 * 0, -XEN_EAGAIN (not enough free descriptors now: poll, then retry),
 * -XEN_EINVAL (bad shape, past the end of the disk, write to a read-only
 * disk).
 */
int vblk_submit(struct vblk *vb, enum vblk_op op, uint64_t sector,
                const struct vblk_seg *segs, unsigned int nseg, void *cookie);
/* Between vblk_plug() and vblk_unplug(), submits queue without telling
 * the device; unplug tells it once (one port write, a trap, for a batch). */
void vblk_plug(struct vblk *vb);
void vblk_unplug(struct vblk *vb);
/* Completes what the device finished: done(cookie, status) for each.
 * Returns how many completed. */
unsigned int vblk_poll(struct vblk *vb, vblk_done_fn done);
/* Requests queued and not yet completed. */
unsigned int vblk_inflight(const struct vblk *vb);

#endif
