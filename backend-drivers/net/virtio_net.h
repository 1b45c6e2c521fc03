/*
 * virtio_net.h - dom0's driver for a legacy virtio-net PCI device (vendor
 * 0x1af4, device 0x1000: QEMU's virtio-net-pci with disable-modern=on on
 * QEMU's user-mode network), the real NIC that dom0's bridge joins
 * (docs/network.md).
 *
 * Over the legacy PCI transport (virtio_pci.h): queue 0 receives, queue 1
 * transmits; no offloads are negotiated, so every frame is a plain
 * Ethernet frame of at most VNET_MAX_FRAME bytes after a 10-byte
 * virtio_net_hdr.  Receive buffers (VNET_BUF bytes each, two per dom0
 * page) stay posted; a transmitted frame is copied into a buffer of the
 * driver's, so the caller's memory is free on return.  Polled (no
 * interrupt reaches dom0); one thread drives a struct vnet.
 */
#ifndef LAMINA_VIRTIO_NET_H
#define LAMINA_VIRTIO_NET_H

#include "xenctrl.h"
#include "virtio_pci.h"

#include <stdbool.h>
#include <stdint.h>

#define VNET_BUF        2048u
#define VNET_MAX_FRAME  1514u   /* Ethernet, MTU 1500, no FCS */

/* Counters (lamina network-list's dom0 line). */
struct vnet_stats {
    uint64_t rx_frames, rx_bytes, rx_errors;
    uint64_t tx_frames, tx_bytes, tx_dropped;
};

struct vnet;

/* Brings up the virtio-net device in PCI slot `slot`: features (MAC
 * only), both queues, receive buffers posted, DRIVER_OK.  NULL with *err:
 * -ENODEV (no virtio-net there), -ENOMEM, -EIO (the device refused). */
struct vnet *vnet_open(xc_interface *xch, unsigned int slot, int *err);
/* Resets the device (no more DMA) and frees everything.  NULL: no-op. */
void vnet_close(struct vnet *vn);
/* The NIC's MAC address (6 bytes; QEMU's 52:54:00:12:34:56 by default). */
const uint8_t *vnet_mac(const struct vnet *vn);
const struct vnet_stats *vnet_stats(const struct vnet *vn);

/* Copies one frame (14..VNET_MAX_FRAME bytes) to the device.  0,
 * -EAGAIN (no free transmit buffer now: the frame is counted dropped),
 * -EMSGSIZE (longer than the wire takes: dropped). */
int vnet_xmit(struct vnet *vn, const void *frame, unsigned int len);
/* Between vnet_plug() and vnet_unplug() frames are queued without telling
 * the device; unplug tells it once. */
void vnet_plug(struct vnet *vn);
void vnet_unplug(struct vnet *vn);
/* Called by vnet_poll() for each frame received (valid until it returns). */
typedef void (*vnet_rx_fn)(void *opaque, const void *frame, unsigned int len);
/* Takes received frames (up to budget), posts their buffers again, and
 * reclaims finished transmissions.  Returns the frames received. */
unsigned int vnet_poll(struct vnet *vn, unsigned int budget, vnet_rx_fn rx, void *opaque);

#endif
