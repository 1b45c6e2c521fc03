/*
 * virtio_net.c - legacy virtio-net for dom0 (virtio 1.0 section 5.1,
 * legacy interface): the contract is virtio_net.h.
 *
 * Runs in dom0, in netback's thread.
 */
#include "virtio_net.h"
#include "kernel.h"
#include <pv/mm.h>

#define PCI_DEVICE_VNET     0x1000
#define VIRTIO_NET_F_MAC    (1u << 5)
#define VNET_HDR            10u         /* struct virtio_net_hdr, legacy */
#define RXQ                 0
#define TXQ                 1
#define MAX_BUFS            256u        /* per queue */

struct vnet_buf {
    uint8_t *va;
    uint64_t maddr;
};

struct vnet {
    struct virtio_dev dev;
    struct virtq rxq, txq;
    uint8_t mac[6];
    unsigned int nr_rx, nr_tx;
    struct vnet_buf rx[MAX_BUFS], tx[MAX_BUFS];
    uint16_t tx_free[MAX_BUFS];
    unsigned int nr_tx_free;
    uint64_t pages[MAX_BUFS];           /* pfns of the buffer pages */
    unsigned int nr_pages;
    struct vnet_stats st;
};

/* n buffers of VNET_BUF bytes, two to a dom0 page (a page is machine
 * contiguous by itself). */
static int bufs_alloc(struct vnet *vn, struct vnet_buf *b, unsigned int n)
{
    for (unsigned int i = 0; i < n; i += 2) {
        uint64_t pfn = core_alloc_frame();

        if (!pfn || vn->nr_pages == MAX_BUFS)
            return -XEN_ENOMEM;
        vn->pages[vn->nr_pages++] = pfn;
        for (unsigned int k = 0; k < 2 && i + k < n; k++) {
            b[i + k].va = (uint8_t *)arch_pfn_to_virt(pfn) + k * VNET_BUF;
            b[i + k].maddr = (pv_pfn_to_mfn(pfn) << PV_PAGE_SHIFT) + k * VNET_BUF;
        }
    }
    return 0;
}

static int rx_post(struct vnet *vn, unsigned int i)
{
    struct virtq_buf b = { vn->rx[i].maddr, VNET_BUF, true };

    return virtq_add(&vn->rxq, &b, 1, &vn->rx[i]);
}

struct vnet *vnet_open(xc_interface *xch, unsigned int slot, int *err)
{
    struct vnet *vn;
    int rc;

    if (!(vn = kzalloc(sizeof(*vn)))) {
        *err = -XEN_ENOMEM;
        return NULL;
    }
    if ((rc = virtio_pci_open(&vn->dev, xch, slot, PCI_DEVICE_VNET, VIRTIO_NET_F_MAC)))
        goto fail;
    for (unsigned int i = 0; i < 6; i++)
        vn->mac[i] = (vn->dev.features & VIRTIO_NET_F_MAC) ? virtio_cfg8(&vn->dev, i) : 0;
    if ((rc = virtq_setup(&vn->dev, &vn->rxq, RXQ)) || (rc = virtq_setup(&vn->dev, &vn->txq, TXQ)))
        goto fail_status;
    vn->nr_rx = vn->rxq.num < MAX_BUFS ? vn->rxq.num : MAX_BUFS;
    vn->nr_tx = vn->txq.num < MAX_BUFS ? vn->txq.num : MAX_BUFS;
    if ((rc = bufs_alloc(vn, vn->rx, vn->nr_rx)) || (rc = bufs_alloc(vn, vn->tx, vn->nr_tx)))
        goto fail_status;
    for (unsigned int i = 0; i < vn->nr_tx; i++)
        vn->tx_free[vn->nr_tx_free++] = (uint16_t)i;
    virtq_plug(&vn->rxq);
    for (unsigned int i = 0; i < vn->nr_rx; i++)
        (void)rx_post(vn, i);
    if ((rc = virtio_pci_ready(&vn->dev)))
        goto fail_status;
    virtq_unplug(&vn->rxq);
    return vn;

fail_status:
    virtio_pci_fail(&vn->dev);
fail:
    vnet_close(vn);
    *err = rc;
    return NULL;
}

void vnet_close(struct vnet *vn)
{
    if (!vn)
        return;
    virtio_pci_close(&vn->dev);
    virtq_free(&vn->rxq);
    virtq_free(&vn->txq);
    for (unsigned int i = 0; i < vn->nr_pages; i++)
        core_free_frame(vn->pages[i]);
    kfree(vn);
}

const uint8_t *vnet_mac(const struct vnet *vn)
{
    return vn->mac;
}

const struct vnet_stats *vnet_stats(const struct vnet *vn)
{
    return &vn->st;
}

static void tx_done(void *opaque, void *cookie, uint32_t len)
{
    struct vnet *vn = opaque;

    (void)len;
    vn->tx_free[vn->nr_tx_free++] = (uint16_t)((struct vnet_buf *)cookie - vn->tx);
}

int vnet_xmit(struct vnet *vn, const void *frame, unsigned int len)
{
    if (len < 14 || len > VNET_MAX_FRAME) {
        vn->st.tx_dropped++;
        return -XEN_EMSGSIZE;
    }
    if (!vn->nr_tx_free)
        (void)virtq_poll(&vn->txq, tx_done, vn);
    if (!vn->nr_tx_free) {
        vn->st.tx_dropped++;
        return -XEN_EAGAIN;
    }
    struct vnet_buf *b = &vn->tx[vn->tx_free[--vn->nr_tx_free]];
    memset(b->va, 0, VNET_HDR);
    memcpy(b->va + VNET_HDR, frame, len);
    struct virtq_buf d = { b->maddr, VNET_HDR + len, false };
    if (virtq_add(&vn->txq, &d, 1, b)) {
        vn->tx_free[vn->nr_tx_free++] = (uint16_t)(b - vn->tx);
        vn->st.tx_dropped++;
        return -XEN_EAGAIN;
    }
    vn->st.tx_frames++;
    vn->st.tx_bytes += len;
    return 0;
}

void vnet_plug(struct vnet *vn)
{
    virtq_plug(&vn->txq);
}

void vnet_unplug(struct vnet *vn)
{
    virtq_unplug(&vn->txq);
}

struct rx_ctx {
    struct vnet *vn;
    vnet_rx_fn fn;
    void *opaque;
};

static void rx_done(void *opaque, void *cookie, uint32_t len)
{
    struct rx_ctx *c = opaque;
    struct vnet_buf *b = cookie;

    if (len < VNET_HDR + 14 || len > VNET_BUF) {
        c->vn->st.rx_errors++;
    } else {
        c->vn->st.rx_frames++;
        c->vn->st.rx_bytes += len - VNET_HDR;
        c->fn(c->opaque, b->va + VNET_HDR, len - VNET_HDR);
    }
    (void)rx_post(c->vn, (unsigned int)(b - c->vn->rx));
}

unsigned int vnet_poll(struct vnet *vn, unsigned int budget, vnet_rx_fn rx, void *opaque)
{
    struct rx_ctx c = { vn, rx, opaque };
    unsigned int n = 0;

    (void)virtq_poll(&vn->txq, tx_done, vn);
    virtq_plug(&vn->rxq);
    /* virtq_poll takes everything used; the budget bounds the rounds. */
    while (n < budget) {
        unsigned int k = virtq_poll(&vn->rxq, rx_done, &c);

        if (!k)
            break;
        n += k;
    }
    virtq_unplug(&vn->rxq);
    return n;
}
