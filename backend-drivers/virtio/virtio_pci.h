/*
 * virtio_pci.h - legacy virtio over PCI for dom0's device drivers
 * (virtio 0.9.5; virtio 1.0 section 4.1.4.8 "legacy interfaces"): the
 * I/O BAR's registers, feature negotiation, and split virtqueues in the
 * legacy layout (descriptors, the available ring, then the used ring at
 * the next 4096-byte boundary), in machine-contiguous dom0 frames.  Used
 * by virtio_blk (block/) and virtio_net (net/).
 *
 * Runs in dom0 (the PV guest kernel, ring 3, virtual IOPL 1: every port
 * access traps to the hypervisor, which performs it).  The device is found
 * by its PCI slot on bus 0; its I/O BAR is placed here (qboot and PCI
 * hot-plug assign none) at VIRTIO_IO_BASE + slot * 0x100, and bus
 * mastering is enabled.  Buffers are machine addresses (QEMU has no
 * IOMMU).  No device interrupt is routed to dom0: completions are polled.
 * Not reentrant: one thread drives a device.
 */
#ifndef LAMINA_VIRTIO_PCI_H
#define LAMINA_VIRTIO_PCI_H

#include "xenctrl.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_IO_BASE          0xc000u
#define PCI_VENDOR_VIRTIO       0x1af4
#define VIRTIO_PCI_CONFIG       0x14    /* device config (no MSI-X) */
#define VIRTQ_MAX               1024u

/* Machine-contiguous memory of dom0's own for DMA (rings, headers,
 * packet buffers, the dom0-direct benchmarks' buffers). */
#define VIRTIO_DMA_MAX_PAGES 16
struct virtio_dma {
    void *va;               /* mapped contiguously, zeroed */
    uint64_t maddr;         /* machine address of va[0] */
    uint64_t pfn;           /* the pseudo-physical run behind it */
    unsigned int pages;
};
/* n pages (1..VIRTIO_DMA_MAX_PAGES) into *m.  0, -EINVAL, -ENOMEM (no
 * machine-contiguous run found among a few tries) or the mapping's errno. */
int virtio_dma_alloc(xc_interface *xch, unsigned int n, struct virtio_dma *m);
/* Unmaps and frees what virtio_dma_alloc() gave (m->va NULL: no-op). */
void virtio_dma_free(xc_interface *xch, struct virtio_dma *m);

/* One device. */
struct virtio_dev {
    xc_interface *xch;
    unsigned int slot;
    uint16_t io;                /* I/O BAR base */
    uint32_t features;          /* negotiated */
};

/* Finds PCI device (vendor 0x1af4, device_id) in slot (1-31), places its
 * BAR, enables I/O and bus mastering, resets it, says ACK|DRIVER and
 * accepts the offered features within `wanted`.  0, -EINVAL (slot),
 * -ENODEV (no such device there), -EIO (the BAR did not take). */
int virtio_pci_open(struct virtio_dev *dev, xc_interface *xch, unsigned int slot,
                    uint16_t device_id, uint32_t wanted);
/* DRIVER_OK once the queues are set up: 0 or -EIO (the device failed). */
int virtio_pci_ready(struct virtio_dev *dev);
/* Marks the device FAILED (set-up went wrong). */
void virtio_pci_fail(struct virtio_dev *dev);
/* Resets the device (it stops all DMA) and turns off I/O and bus mastering. */
void virtio_pci_close(struct virtio_dev *dev);
uint8_t virtio_cfg8(const struct virtio_dev *dev, unsigned int off);    /* device config */
uint16_t virtio_cfg16(const struct virtio_dev *dev, unsigned int off);
uint32_t virtio_cfg32(const struct virtio_dev *dev, unsigned int off);

/* A buffer of a chain: len bytes at machine address maddr; `write` when
 * the device writes it. */
struct virtq_buf {
    uint64_t maddr;
    uint32_t len;
    bool write;
};

struct vring_desc;
struct vring_avail;
struct vring_used;

/* One split virtqueue. */
struct virtq {
    struct virtio_dev *dev;
    uint16_t index;
    uint16_t num;                   /* queue size (the device's) */
    struct vring_desc *desc;
    struct vring_avail *avail;
    volatile struct vring_used *used;
    struct virtio_dma ring;
    void **cookie;                  /* [num], by head descriptor */
    uint16_t *chain_len;            /* [num], 0: free */
    uint16_t free_head, nr_free;
    uint16_t last_used;
    unsigned int inflight;
    bool plugged, kick_pending;
};

/* Sets up queue `index` of dev (its size as the device says, at most
 * VIRTQ_MAX).  0, -EIO (no such queue, or a bad size), -ENOMEM. */
int virtq_setup(struct virtio_dev *dev, struct virtq *vq, uint16_t index);
/* Frees what virtq_setup() made (after virtio_pci_close: no DMA). */
void virtq_free(struct virtq *vq);
/* Queues one chain of n buffers (1..num) and tells the device unless
 * plugged or it asked not to be told.  0 or -EAGAIN (not enough free
 * descriptors now). */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int n, void *cookie);
/* Between virtq_plug() and virtq_unplug(), adds do not tell the device;
 * unplug tells it once (one port write, a trap, for a batch). */
void virtq_plug(struct virtq *vq);
void virtq_unplug(struct virtq *vq);
/* Called by virtq_poll() for each used chain: its cookie and the bytes
 * the device wrote. */
typedef void (*virtq_done_fn)(void *opaque, void *cookie, uint32_t len);
/* Completes what the device finished; returns how many chains. */
unsigned int virtq_poll(struct virtq *vq, virtq_done_fn done, void *opaque);

#endif
