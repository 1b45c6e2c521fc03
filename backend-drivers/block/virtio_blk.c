/*
 * virtio_blk.c - legacy virtio-blk for dom0 (virtio 0.9.5 / virtio 1.0
 * section 5.2): requests {virtio_blk_outhdr, data..., status byte} on
 * queue 0 of the legacy PCI transport (virtio_pci.h).  The contract is
 * virtio_blk.h.
 *
 * Runs in dom0, one thread per device.
 */
#include "virtio_blk.h"
#include "kernel.h"
#include <pv/mm.h>

#define PCI_DEVICE_VBLK     0x1001

#define VIRTIO_BLK_F_SEG_MAX      (1u << 2)
#define VIRTIO_BLK_F_RO           (1u << 5)
#define VIRTIO_BLK_F_BLK_SIZE     (1u << 6)
#define VIRTIO_BLK_F_FLUSH        (1u << 9)

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_S_OK           0

struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

/* Per request: its header and status byte live in `hdrs` (machine
 * contiguous), one per descriptor index (a chain's head names it). */
struct vblk_req_hdr {
    struct virtio_blk_outhdr out;
    uint8_t status;
    uint8_t pad[7];
};

struct vblk {
    struct virtio_dev dev;
    struct virtq vq;
    uint64_t sectors;
    struct virtio_dma hdr_mem;
    struct vblk_req_hdr *hdrs;      /* [vq.num], in hdr_mem */
    void **cookie;                  /* [vq.num], by header index */
};

struct vblk *vblk_open(xc_interface *xch, unsigned int slot, int *err)
{
    struct vblk *vb;
    int rc;

    if (!(vb = kzalloc(sizeof(*vb)))) {
        *err = -XEN_ENOMEM;
        return NULL;
    }
    rc = virtio_pci_open(&vb->dev, xch, slot, PCI_DEVICE_VBLK,
                         VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE |
                         VIRTIO_BLK_F_FLUSH);
    if (rc)
        goto fail;
    vb->sectors = (uint64_t)virtio_cfg32(&vb->dev, 0) | (uint64_t)virtio_cfg32(&vb->dev, 4) << 32;
    if ((vb->dev.features & VIRTIO_BLK_F_SEG_MAX) && virtio_cfg32(&vb->dev, 12) < VBLK_MAX_SEGS) {
        kprintf("vblk: slot %u: seg_max %u < %u (use queue-size=1024)\n", slot,
                virtio_cfg32(&vb->dev, 12), VBLK_MAX_SEGS);
        rc = -XEN_EIO;
        goto fail_status;
    }
    if ((rc = virtq_setup(&vb->dev, &vb->vq, 0)))
        goto fail_status;
    unsigned int hdr_pages = (unsigned int)(ALIGN_UP(vb->vq.num * sizeof(struct vblk_req_hdr),
                                                     PV_PAGE_SIZE) / PV_PAGE_SIZE);
    if ((rc = virtio_dma_alloc(xch, hdr_pages, &vb->hdr_mem)))
        goto fail_status;
    vb->hdrs = vb->hdr_mem.va;
    if (!(vb->cookie = kzalloc(vb->vq.num * sizeof(*vb->cookie)))) {
        rc = -XEN_ENOMEM;
        goto fail_status;
    }
    if ((rc = virtio_pci_ready(&vb->dev)))
        goto fail_status;
    return vb;

fail_status:
    virtio_pci_fail(&vb->dev);
fail:
    vblk_close(vb);
    *err = rc;
    return NULL;
}

void vblk_close(struct vblk *vb)
{
    if (!vb)
        return;
    virtio_pci_close(&vb->dev);
    virtq_free(&vb->vq);
    virtio_dma_free(vb->dev.xch, &vb->hdr_mem);
    kfree(vb->cookie);
    kfree(vb);
}

uint64_t vblk_sectors(const struct vblk *vb)
{
    return vb->sectors;
}

bool vblk_readonly(const struct vblk *vb)
{
    return vb->dev.features & VIRTIO_BLK_F_RO;
}

bool vblk_has_flush(const struct vblk *vb)
{
    return vb->dev.features & VIRTIO_BLK_F_FLUSH;
}

unsigned int vblk_inflight(const struct vblk *vb)
{
    return vb->vq.inflight;
}

int vblk_submit(struct vblk *vb, enum vblk_op op, uint64_t sector,
                const struct vblk_seg *segs, unsigned int nseg, void *cookie)
{
    struct virtq_buf b[VBLK_MAX_SEGS + 2];
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
    if (vb->vq.nr_free < nseg + 2)
        return -XEN_EAGAIN;

    /* The head descriptor virtq_add() will use names the header slot. */
    uint16_t head = vb->vq.free_head;
    struct vblk_req_hdr *h = &vb->hdrs[head];
    uint64_t h_maddr = vb->hdr_mem.maddr + (uint64_t)head * sizeof(*h);

    h->out.type = op == VBLK_READ ? VIRTIO_BLK_T_IN :
                  op == VBLK_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
    h->out.ioprio = 0;
    h->out.sector = op == VBLK_FLUSH ? 0 : sector;
    h->status = 0xff;
    b[0] = (struct virtq_buf){ h_maddr, sizeof(h->out), false };
    for (unsigned int i = 0; i < nseg; i++)
        b[i + 1] = (struct virtq_buf){ segs[i].maddr, segs[i].len, op == VBLK_READ };
    b[nseg + 1] = (struct virtq_buf){ h_maddr + offsetof(struct vblk_req_hdr, status), 1, true };
    vb->cookie[head] = cookie;
    return virtq_add(&vb->vq, b, nseg + 2, h);    /* the queue's cookie: the header */
}

void vblk_plug(struct vblk *vb)
{
    virtq_plug(&vb->vq);
}

void vblk_unplug(struct vblk *vb)
{
    virtq_unplug(&vb->vq);
}

struct poll_ctx {
    struct vblk *vb;
    vblk_done_fn done;
};

static void req_done(void *opaque, void *cookie, uint32_t len)
{
    struct poll_ctx *c = opaque;
    struct vblk_req_hdr *h = cookie;
    int status = h->status == VIRTIO_BLK_S_OK ? 0 : -XEN_EIO;

    (void)len;
    c->done(c->vb->cookie[h - c->vb->hdrs], status);
}

unsigned int vblk_poll(struct vblk *vb, vblk_done_fn done)
{
    struct poll_ctx c = { vb, done };

    return virtq_poll(&vb->vq, req_done, &c);
}
