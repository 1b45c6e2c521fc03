/*
 * virtio_blk.c - legacy virtio-blk over PCI for dom0 (virtio 0.9.5 /
 * virtio 1.0 section 4.1.4.8 "legacy interfaces"): the I/O BAR's
 * registers, one split virtqueue in the legacy layout (descriptors, the
 * available ring, then the used ring at the next 4096-byte boundary), and
 * requests {virtio_blk_outhdr, data..., status byte}.  The contract is
 * virtio_blk.h.
 *
 * Runs in dom0, one thread per device.
 */
#include "virtio_blk.h"
#include "kernel.h"
#include "pio.h"
#include <pv/mm.h>

/* PCI */
#define PCI_VENDOR_VIRTIO   0x1af4
#define PCI_DEVICE_VBLK     0x1001
#define PCI_COMMAND         0x04
#define PCI_CMD_IO          0x0001
#define PCI_CMD_MASTER      0x0004
#define PCI_BAR0            0x10
#define VBLK_IO_BASE        0xc000u     /* + slot * 0x100: BAR0 (64 bytes) */

/* Legacy virtio PCI registers (I/O BAR, no MSI-X). */
#define VIRTIO_PCI_HOST_FEATURES  0x00
#define VIRTIO_PCI_GUEST_FEATURES 0x04
#define VIRTIO_PCI_QUEUE_PFN      0x08
#define VIRTIO_PCI_QUEUE_NUM      0x0c
#define VIRTIO_PCI_QUEUE_SEL      0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY   0x10
#define VIRTIO_PCI_STATUS         0x12
#define VIRTIO_PCI_CONFIG         0x14  /* virtio_blk_config */

#define VIRTIO_STATUS_ACK         1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FAILED      128

#define VIRTIO_BLK_F_SEG_MAX      (1u << 2)
#define VIRTIO_BLK_F_RO           (1u << 5)
#define VIRTIO_BLK_F_BLK_SIZE     (1u << 6)
#define VIRTIO_BLK_F_FLUSH        (1u << 9)

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_S_OK           0

#define VRING_DESC_F_NEXT         1
#define VRING_DESC_F_WRITE        2
#define VRING_ALIGN               4096u
#define VRING_MAX                 1024u

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

struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

/* Per request: its header and status byte live in `hdrs` (machine
 * contiguous), indexed by the head descriptor. */
struct vblk_req_hdr {
    struct virtio_blk_outhdr out;
    uint8_t status;
    uint8_t pad[7];
};

struct vblk {
    xc_interface *xch;
    unsigned int slot;
    uint16_t io;
    uint16_t num;                   /* queue size */
    uint32_t features;
    uint64_t sectors;
    struct vring_desc *desc;
    struct vring_avail *avail;
    volatile struct vring_used *used;
    struct vblk_dma ring;
    struct vblk_dma hdr_mem;
    struct vblk_req_hdr *hdrs;      /* [num], in hdr_mem */
    void **cookie;                  /* [num], by head descriptor */
    uint16_t *chain_len;            /* [num] */
    uint16_t free_head, nr_free;
    uint16_t last_used;
    unsigned int inflight;
    bool plugged, kick_pending;
};

/* ---- DMA memory ----------------------------------------------------------- */

int vblk_dma_alloc(xc_interface *xch, unsigned int n, struct vblk_dma *m)
{
    xen_pfn_t mfns[VBLK_DMA_MAX_PAGES];
    uint64_t tried[8];
    unsigned int nr_tried = 0;
    int rc = -XEN_ENOMEM;

    memset(m, 0, sizeof(*m));
    if (n == 0 || n > VBLK_DMA_MAX_PAGES)
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

void vblk_dma_free(xc_interface *xch, struct vblk_dma *m)
{
    if (!m->va)
        return;
    (void)xc_unmap_foreign(xch, m->va, (size_t)m->pages * PV_PAGE_SIZE);
    core_free_frames(m->pfn, m->pages);
    memset(m, 0, sizeof(*m));
}

/* ---- the device ------------------------------------------------------------- */

static inline uint8_t reg8(const struct vblk *vb, unsigned int off)
{
    return pio_inb((uint16_t)(vb->io + off));
}

static inline uint32_t reg32(const struct vblk *vb, unsigned int off)
{
    return pio_inl((uint16_t)(vb->io + off));
}

static void free_desc_chain(struct vblk *vb, uint16_t head)
{
    uint16_t n = vb->chain_len[head], i = head;

    for (uint16_t k = 1; k < n; k++)
        i = vb->desc[i].next;
    vb->desc[i].next = vb->free_head;
    vb->free_head = head;
    vb->nr_free = (uint16_t)(vb->nr_free + n);
}

struct vblk *vblk_open(xc_interface *xch, unsigned int slot, int *err)
{
    struct vblk *vb;
    uint32_t id, cmd;
    int rc = -XEN_ENODEV;

    if (slot == 0 || slot > 31) {
        *err = -XEN_EINVAL;
        return NULL;
    }
    id = pci_conf_read(slot, 0);
    if ((id & 0xffff) != PCI_VENDOR_VIRTIO || (id >> 16) != PCI_DEVICE_VBLK) {
        *err = -XEN_ENODEV;
        return NULL;
    }
    if (!(vb = kzalloc(sizeof(*vb)))) {
        *err = -XEN_ENOMEM;
        return NULL;
    }
    vb->xch = xch;
    vb->slot = slot;
    vb->io = (uint16_t)(VBLK_IO_BASE + slot * 0x100);
    cmd = pci_conf_read(slot, PCI_COMMAND) & 0xffff;
    pci_conf_write(slot, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MASTER));
    pci_conf_write(slot, PCI_BAR0, vb->io | 1u);
    pci_conf_write(slot, PCI_COMMAND, cmd | PCI_CMD_IO | PCI_CMD_MASTER);
    if ((pci_conf_read(slot, PCI_BAR0) & ~3u) != vb->io)
        goto fail;

    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS), 0);                 /* reset */
    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS), VIRTIO_STATUS_ACK);
    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS), VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
    vb->features = reg32(vb, VIRTIO_PCI_HOST_FEATURES) &
                   (VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE |
                    VIRTIO_BLK_F_FLUSH);
    pio_outl((uint16_t)(vb->io + VIRTIO_PCI_GUEST_FEATURES), vb->features);
    vb->sectors = (uint64_t)reg32(vb, VIRTIO_PCI_CONFIG) |
                  (uint64_t)reg32(vb, VIRTIO_PCI_CONFIG + 4) << 32;
    if ((vb->features & VIRTIO_BLK_F_SEG_MAX) &&
        reg32(vb, VIRTIO_PCI_CONFIG + 12) < VBLK_MAX_SEGS) {
        kprintf("vblk: slot %u: seg_max %u < %u (use queue-size=1024)\n", slot,
                reg32(vb, VIRTIO_PCI_CONFIG + 12), VBLK_MAX_SEGS);
        rc = -XEN_EIO;
        goto fail_status;
    }

    pio_outw((uint16_t)(vb->io + VIRTIO_PCI_QUEUE_SEL), 0);
    vb->num = pio_inw((uint16_t)(vb->io + VIRTIO_PCI_QUEUE_NUM));
    if (vb->num == 0 || vb->num > VRING_MAX || (vb->num & (vb->num - 1))) {
        rc = -XEN_EIO;
        goto fail_status;
    }
    size_t avail_end = vb->num * sizeof(struct vring_desc) + 4 + 2u * vb->num + 2;
    size_t used_off = ALIGN_UP(avail_end, VRING_ALIGN);
    size_t total = used_off + 4 + sizeof(struct vring_used_elem) * vb->num + 2;
    unsigned int ring_pages = (unsigned int)(ALIGN_UP(total, PV_PAGE_SIZE) / PV_PAGE_SIZE);
    unsigned int hdr_pages =
        (unsigned int)(ALIGN_UP(vb->num * sizeof(struct vblk_req_hdr), PV_PAGE_SIZE) / PV_PAGE_SIZE);

    if ((rc = vblk_dma_alloc(xch, ring_pages, &vb->ring)) ||
        (rc = vblk_dma_alloc(xch, hdr_pages, &vb->hdr_mem)))
        goto fail_status;
    vb->hdrs = vb->hdr_mem.va;
    vb->cookie = kzalloc(vb->num * sizeof(*vb->cookie));
    vb->chain_len = kzalloc(vb->num * sizeof(*vb->chain_len));
    if (!vb->cookie || !vb->chain_len) {
        rc = -XEN_ENOMEM;
        goto fail_status;
    }
    vb->desc = vb->ring.va;
    vb->avail = (struct vring_avail *)((char *)vb->ring.va + vb->num * sizeof(struct vring_desc));
    vb->used = (struct vring_used *)((char *)vb->ring.va + used_off);
    for (uint16_t i = 0; i < vb->num; i++)
        vb->desc[i].next = (uint16_t)(i + 1);
    vb->free_head = 0;
    vb->nr_free = vb->num;
    pio_outl((uint16_t)(vb->io + VIRTIO_PCI_QUEUE_PFN), (uint32_t)(vb->ring.maddr >> 12));
    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS),
             VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    if (reg8(vb, VIRTIO_PCI_STATUS) & VIRTIO_STATUS_FAILED) {
        rc = -XEN_EIO;
        goto fail_status;
    }
    return vb;

fail_status:
    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS), VIRTIO_STATUS_FAILED);
fail:
    vblk_close(vb);
    *err = rc;
    return NULL;
}

void vblk_close(struct vblk *vb)
{
    if (!vb)
        return;
    pio_outb((uint16_t)(vb->io + VIRTIO_PCI_STATUS), 0);                 /* reset: no DMA */
    pci_conf_write(vb->slot, PCI_COMMAND,
                   pci_conf_read(vb->slot, PCI_COMMAND) & 0xffff & ~(PCI_CMD_MASTER | PCI_CMD_IO));
    vblk_dma_free(vb->xch, &vb->ring);
    vblk_dma_free(vb->xch, &vb->hdr_mem);
    kfree(vb->cookie);
    kfree(vb->chain_len);
    kfree(vb);
}

uint64_t vblk_sectors(const struct vblk *vb)
{
    return vb->sectors;
}

bool vblk_readonly(const struct vblk *vb)
{
    return vb->features & VIRTIO_BLK_F_RO;
}

bool vblk_has_flush(const struct vblk *vb)
{
    return vb->features & VIRTIO_BLK_F_FLUSH;
}

unsigned int vblk_inflight(const struct vblk *vb)
{
    return vb->inflight;
}

int vblk_submit(struct vblk *vb, enum vblk_op op, uint64_t sector,
                const struct vblk_seg *segs, unsigned int nseg, void *cookie)
{
    uint64_t bytes = 0;

    if (op == VBLK_FLUSH ? nseg != 0 : (nseg == 0 || nseg > VBLK_MAX_SEGS))
        return -XEN_EINVAL;
    for (unsigned int i = 0; i < nseg; i++) {
        if (segs[i].len == 0 || segs[i].len % VBLK_SECTOR_SIZE ||
            (segs[i].maddr & (PV_PAGE_SIZE - 1)) + segs[i].len > PV_PAGE_SIZE)
            return -XEN_EINVAL;
        bytes += segs[i].len;
    }
    if (op != VBLK_FLUSH &&
        (sector >= vb->sectors || bytes / VBLK_SECTOR_SIZE > vb->sectors - sector))
        return -XEN_EINVAL;
    if (op == VBLK_WRITE && vblk_readonly(vb))
        return -XEN_EINVAL;
    if (vb->nr_free < nseg + 2)
        return -XEN_EAGAIN;

    uint16_t head = vb->free_head, d = head;
    struct vblk_req_hdr *h = &vb->hdrs[head];
    uint64_t h_maddr = vb->hdr_mem.maddr + (uint64_t)head * sizeof(*h);

    h->out.type = op == VBLK_READ ? VIRTIO_BLK_T_IN :
                  op == VBLK_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
    h->out.ioprio = 0;
    h->out.sector = op == VBLK_FLUSH ? 0 : sector;
    h->status = 0xff;
    for (unsigned int i = 0; i < nseg + 2; i++) {
        struct vring_desc *x = &vb->desc[d];

        if (i == 0) {
            x->addr = h_maddr;
            x->len = sizeof(h->out);
            x->flags = VRING_DESC_F_NEXT;
        } else if (i <= nseg) {
            x->addr = segs[i - 1].maddr;
            x->len = segs[i - 1].len;
            x->flags = VRING_DESC_F_NEXT | (op == VBLK_READ ? VRING_DESC_F_WRITE : 0);
        } else {
            x->addr = h_maddr + offsetof(struct vblk_req_hdr, status);
            x->len = 1;
            x->flags = VRING_DESC_F_WRITE;
        }
        d = x->next;
    }
    vb->free_head = d;
    vb->nr_free = (uint16_t)(vb->nr_free - (nseg + 2));
    vb->chain_len[head] = (uint16_t)(nseg + 2);
    vb->cookie[head] = cookie;
    vb->avail->ring[vb->avail->idx % vb->num] = head;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vb->avail->idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vb->inflight++;
    if (vb->plugged)
        vb->kick_pending = true;
    else if (!(vb->used->flags & 1))        /* VRING_USED_F_NO_NOTIFY */
        pio_outw((uint16_t)(vb->io + VIRTIO_PCI_QUEUE_NOTIFY), 0);
    return 0;
}

void vblk_plug(struct vblk *vb)
{
    vb->plugged = true;
}

void vblk_unplug(struct vblk *vb)
{
    vb->plugged = false;
    if (vb->kick_pending) {
        vb->kick_pending = false;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!(vb->used->flags & 1))
            pio_outw((uint16_t)(vb->io + VIRTIO_PCI_QUEUE_NOTIFY), 0);
    }
}

unsigned int vblk_poll(struct vblk *vb, vblk_done_fn done)
{
    unsigned int n = 0;

    while (vb->last_used != vb->used->idx) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t id = vb->used->ring[vb->last_used % vb->num].id;

        vb->last_used++;
        if (id >= vb->num || !vb->chain_len[id])
            continue;                       /* a device bug: ignore */
        int status = vb->hdrs[id].status == VIRTIO_BLK_S_OK ? 0 : -XEN_EIO;
        void *cookie = vb->cookie[id];

        free_desc_chain(vb, (uint16_t)id);
        vb->chain_len[id] = 0;
        vb->inflight--;
        n++;
        done(cookie, status);
    }
    return n;
}
