/*
 * virtio_pci.c - legacy virtio PCI transport and split virtqueues for
 * dom0's drivers (virtio_pci.h).
 *
 * Runs in dom0, one thread per device.
 */
#include "virtio_pci.h"
#include "kernel.h"
#include "pio.h"
#include <pv/mm.h>

#define PCI_COMMAND         0x04
#define PCI_CMD_IO          0x0001
#define PCI_CMD_MASTER      0x0004
#define PCI_BAR0            0x10

/* Legacy virtio PCI registers (I/O BAR, no MSI-X). */
#define VIRTIO_PCI_HOST_FEATURES  0x00
#define VIRTIO_PCI_GUEST_FEATURES 0x04
#define VIRTIO_PCI_QUEUE_PFN      0x08
#define VIRTIO_PCI_QUEUE_NUM      0x0c
#define VIRTIO_PCI_QUEUE_SEL      0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY   0x10
#define VIRTIO_PCI_STATUS         0x12

#define VIRTIO_STATUS_ACK         1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FAILED      128

#define VRING_DESC_F_NEXT         1
#define VRING_DESC_F_WRITE        2
#define VRING_USED_F_NO_NOTIFY    1
#define VRING_ALIGN               4096u

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[];
};

/* ---- DMA memory ----------------------------------------------------------- */

int virtio_dma_alloc(xc_interface *xch, unsigned int n, struct virtio_dma *m)
{
    xen_pfn_t mfns[VIRTIO_DMA_MAX_PAGES];
    uint64_t tried[8];
    unsigned int nr_tried = 0;
    int rc = -XEN_ENOMEM;

    memset(m, 0, sizeof(*m));
    if (n == 0 || n > VIRTIO_DMA_MAX_PAGES)
        return -XEN_EINVAL;
    /* dom0's frames come from the hypervisor's free list, top down: a
     * pseudo-physical run is usually a machine run in either direction.
     * Try a few runs; map the one found in ascending machine order. */
    while (nr_tried < ARRAY_SIZE(tried)) {
        uint64_t pfn = core_alloc_frames(n);
        bool up = true, down = true;

        if (!pfn)
            break;
        for (unsigned int i = 1; i < n; i++) {
            up &= pv_pfn_to_mfn(pfn + i) == pv_pfn_to_mfn(pfn) + i;
            down &= pv_pfn_to_mfn(pfn + i) == pv_pfn_to_mfn(pfn) - i;
        }
        if (!up && !down) {
            tried[nr_tried++] = pfn;        /* held, so the next try differs */
            continue;
        }
        uint64_t first = up ? pv_pfn_to_mfn(pfn) : pv_pfn_to_mfn(pfn + n - 1);
        for (unsigned int i = 0; i < n; i++)
            mfns[i] = first + i;
        m->va = xc_map_foreign_pages(xch, DOMID_SELF, XC_PROT_READ | XC_PROT_WRITE, mfns, (int)n);
        if (!m->va) {
            rc = -errno;
            core_free_frames(pfn, n);
            break;
        }
        memset(m->va, 0, (size_t)n * PV_PAGE_SIZE);
        m->maddr = first << PV_PAGE_SHIFT;
        m->pfn = pfn;
        m->pages = n;
        rc = 0;
        break;
    }
    for (unsigned int i = 0; i < nr_tried; i++)
        core_free_frames(tried[i], n);
    return rc;
}

void virtio_dma_free(xc_interface *xch, struct virtio_dma *m)
{
    if (!m->va)
        return;
    (void)xc_unmap_foreign(xch, m->va, (size_t)m->pages * PV_PAGE_SIZE);
    core_free_frames(m->pfn, m->pages);
    memset(m, 0, sizeof(*m));
}

/* ---- the device ------------------------------------------------------------- */

static void set_status(struct virtio_dev *dev, uint8_t s)
{
    pio_outb((uint16_t)(dev->io + VIRTIO_PCI_STATUS), s);
}

int virtio_pci_open(struct virtio_dev *dev, xc_interface *xch, unsigned int slot,
                    uint16_t device_id, uint32_t wanted)
{
    uint32_t id, cmd;

    memset(dev, 0, sizeof(*dev));
    if (slot == 0 || slot > 31)
        return -XEN_EINVAL;
    id = pci_conf_read(slot, 0);
    if ((id & 0xffff) != PCI_VENDOR_VIRTIO || (id >> 16) != device_id)
        return -XEN_ENODEV;
    dev->xch = xch;
    dev->slot = slot;
    dev->io = (uint16_t)(VIRTIO_IO_BASE + slot * 0x100);
    cmd = pci_conf_read(slot, PCI_COMMAND) & 0xffff;
    pci_conf_write(slot, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MASTER));
    pci_conf_write(slot, PCI_BAR0, dev->io | 1u);
    pci_conf_write(slot, PCI_COMMAND, cmd | PCI_CMD_IO | PCI_CMD_MASTER);
    if ((pci_conf_read(slot, PCI_BAR0) & ~3u) != dev->io)
        return -XEN_EIO;
    set_status(dev, 0);                                     /* reset */
    set_status(dev, VIRTIO_STATUS_ACK);
    set_status(dev, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    dev->features = pio_inl((uint16_t)(dev->io + VIRTIO_PCI_HOST_FEATURES)) & wanted;
    pio_outl((uint16_t)(dev->io + VIRTIO_PCI_GUEST_FEATURES), dev->features);
    return 0;
}

int virtio_pci_ready(struct virtio_dev *dev)
{
    set_status(dev, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    return pio_inb((uint16_t)(dev->io + VIRTIO_PCI_STATUS)) & VIRTIO_STATUS_FAILED ? -XEN_EIO : 0;
}

void virtio_pci_fail(struct virtio_dev *dev)
{
    set_status(dev, VIRTIO_STATUS_FAILED);
}

void virtio_pci_close(struct virtio_dev *dev)
{
    if (!dev->io)
        return;
    set_status(dev, 0);                                     /* reset: no DMA */
    pci_conf_write(dev->slot, PCI_COMMAND, pci_conf_read(dev->slot, PCI_COMMAND) & 0xffff &
                                               ~(PCI_CMD_MASTER | PCI_CMD_IO));
}

uint8_t virtio_cfg8(const struct virtio_dev *dev, unsigned int off)
{
    return pio_inb((uint16_t)(dev->io + VIRTIO_PCI_CONFIG + off));
}

uint16_t virtio_cfg16(const struct virtio_dev *dev, unsigned int off)
{
    return pio_inw((uint16_t)(dev->io + VIRTIO_PCI_CONFIG + off));
}

uint32_t virtio_cfg32(const struct virtio_dev *dev, unsigned int off)
{
    return pio_inl((uint16_t)(dev->io + VIRTIO_PCI_CONFIG + off));
}

/* ---- virtqueues ----------------------------------------------------------------- */

int virtq_setup(struct virtio_dev *dev, struct virtq *vq, uint16_t index)
{
    int rc;

    memset(vq, 0, sizeof(*vq));
    vq->dev = dev;
    vq->index = index;
    pio_outw((uint16_t)(dev->io + VIRTIO_PCI_QUEUE_SEL), index);
    vq->num = pio_inw((uint16_t)(dev->io + VIRTIO_PCI_QUEUE_NUM));
    if (vq->num == 0 || vq->num > VIRTQ_MAX || (vq->num & (vq->num - 1)))
        return -XEN_EIO;
    size_t avail_end = vq->num * sizeof(struct vring_desc) + 4 + 2u * vq->num + 2;
    size_t used_off = ALIGN_UP(avail_end, VRING_ALIGN);
    size_t total = used_off + 4 + sizeof(struct vring_used_elem) * vq->num + 2;
    unsigned int pages = (unsigned int)(ALIGN_UP(total, PV_PAGE_SIZE) / PV_PAGE_SIZE);

    if ((rc = virtio_dma_alloc(dev->xch, pages, &vq->ring)))
        return rc;
    vq->cookie = kzalloc(vq->num * sizeof(*vq->cookie));
    vq->chain_len = kzalloc(vq->num * sizeof(*vq->chain_len));
    if (!vq->cookie || !vq->chain_len) {
        virtq_free(vq);
        return -XEN_ENOMEM;
    }
    vq->desc = vq->ring.va;
    vq->avail = (struct vring_avail *)((char *)vq->ring.va + vq->num * sizeof(struct vring_desc));
    vq->used = (struct vring_used *)((char *)vq->ring.va + used_off);
    for (uint16_t i = 0; i < vq->num; i++)
        vq->desc[i].next = (uint16_t)(i + 1);
    vq->free_head = 0;
    vq->nr_free = vq->num;
    pio_outl((uint16_t)(dev->io + VIRTIO_PCI_QUEUE_PFN), (uint32_t)(vq->ring.maddr >> 12));
    return 0;
}

void virtq_free(struct virtq *vq)
{
    if (vq->dev)
        virtio_dma_free(vq->dev->xch, &vq->ring);
    kfree(vq->cookie);
    kfree(vq->chain_len);
    vq->cookie = NULL;
    vq->chain_len = NULL;
}

static void kick(struct virtq *vq)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!(vq->used->flags & VRING_USED_F_NO_NOTIFY))
        pio_outw((uint16_t)(vq->dev->io + VIRTIO_PCI_QUEUE_NOTIFY), vq->index);
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int n, void *cookie)
{
    if (n == 0 || n > vq->num)
        return -XEN_EINVAL;
    if (vq->nr_free < n)
        return -XEN_EAGAIN;
    uint16_t head = vq->free_head, d = head;

    for (unsigned int i = 0; i < n; i++) {
        struct vring_desc *x = &vq->desc[d];

        x->addr = bufs[i].maddr;
        x->len = bufs[i].len;
        x->flags = (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
                              (bufs[i].write ? VRING_DESC_F_WRITE : 0));
        d = x->next;
    }
    vq->free_head = d;
    vq->nr_free = (uint16_t)(vq->nr_free - n);
    vq->chain_len[head] = (uint16_t)n;
    vq->cookie[head] = cookie;
    vq->avail->ring[vq->avail->idx % vq->num] = head;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->avail->idx++;
    vq->inflight++;
    if (vq->plugged)
        vq->kick_pending = true;
    else
        kick(vq);
    return 0;
}

void virtq_plug(struct virtq *vq)
{
    vq->plugged = true;
}

void virtq_unplug(struct virtq *vq)
{
    vq->plugged = false;
    if (vq->kick_pending) {
        vq->kick_pending = false;
        kick(vq);
    }
}

unsigned int virtq_poll(struct virtq *vq, virtq_done_fn done, void *opaque)
{
    unsigned int n = 0;

    while (vq->last_used != vq->used->idx) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t id = vq->used->ring[vq->last_used % vq->num].id;
        uint32_t len = vq->used->ring[vq->last_used % vq->num].len;

        vq->last_used++;
        if (id >= vq->num || !vq->chain_len[id])
            continue;                       /* a device bug: ignore */
        uint16_t cl = vq->chain_len[id], i = (uint16_t)id;
        for (uint16_t k = 1; k < cl; k++)
            i = vq->desc[i].next;
        vq->desc[i].next = vq->free_head;
        vq->free_head = (uint16_t)id;
        vq->nr_free = (uint16_t)(vq->nr_free + cl);
        vq->chain_len[id] = 0;
        vq->inflight--;
        n++;
        done(opaque, vq->cookie[id], len);
    }
    return n;
}
