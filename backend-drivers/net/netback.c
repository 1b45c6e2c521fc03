/*
 * netback.c - the network back-end (netback.h): xenbus state machine in
 * the agent's thread; rings, NIC, bridge and dom0's stack in the
 * "netback" thread.
 *
 * Hand-off between the threads is by vif->phase, as in blkback: control
 * moves INITWAIT -> CONNECTED (rings mapped, event channel bound) and asks
 * for DRAINING; the data side joins a CONNECTED vif to the bridge, takes
 * it out again and answers DRAINED, or declares BROKEN itself (a fatal
 * front-end error).  The data side runs each round with events masked (no
 * preemption), and control frees a vif only after taking it out of the
 * table with events masked, so no vif is freed under the data side.
 */
#include "netback.h"
#include "bridge.h"
#include "virtio_net.h"
#include "xenbus_back.h"
#include "kernel.h"
#include <pv/evtchn.h>
#include <pv/irq.h>
#include <pv/mm.h>

#define PAGE            XC_PAGE_SIZE
#define NR_TX           __CONST_RING_SIZE(netif_tx, XC_PAGE_SIZE)     /* 256 */
#define NR_RX           __CONST_RING_SIZE(netif_rx, XC_PAGE_SIZE)     /* 256 */
#define STAGE_BYTES     (XEN_NETIF_MAX_TX_SIZE + 1)
#define RX_MAX_SLOTS    ((STAGE_BYTES + PAGE - 1) / PAGE)               /* 16 */
#define COPY_OPS        (2 * NETBACK_MAX_SLOTS + 2)
#define POLL_RECENT_NS  20000000ULL     /* busy-poll this long after traffic */
#define IDLE_SLEEP_NS   1000000ULL

enum phase { PH_INITWAIT, PH_CONNECTED, PH_DRAINING, PH_BROKEN, PH_DRAINED };

struct vif {
    struct netback_vif_cfg cfg;
    char be[80], fe[80];
    volatile int phase;             /* enum phase */
    bool removing;
    enum xenbus_state state;        /* ours */
    const char *why;
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    void *tx_va, *rx_va;
    uint32_t tx_handle, rx_handle;
    evtchn_port_t port;
    int bport;                      /* bridge port, -1: not joined */
    bool sg;                        /* front-end said feature-sg */
    bool tx_pending, rx_pending;    /* responses written, not pushed */
    uint8_t *stage;                 /* STAGE_BYTES: a transmitted frame */
    uint64_t credit, credit_next_ns;
    uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes, rx_dropped, tx_errors;
};

static xc_interface *nb_xch;
static struct vif *vifs[NETBACK_MAX_VIFS];
static struct thread *data_thread;
static struct vnet *nic;
static int nic_port = -1, local_port = -1;
static void (*local_rx)(void *, const void *, unsigned int);
static void (*local_poll)(void *);
static void *local_opaque;

/* ---- copies and faults ---------------------------------------------------------- */

static uint64_t mfn_of(const void *va)
{
    return pv_pfn_to_mfn(arch_virt_to_pfn(va));
}

/* A fatal front-end error: the data side stops serving the vif. */
static void fatal(struct vif *v, const char *why)
{
    if (v->phase != PH_CONNECTED)
        return;
    v->why = why;
    v->phase = PH_BROKEN;
}

/* Queues copies of len bytes between dom0 memory at va and the guest's
 * grant (ref, off): split so that no op crosses a dom0 page.  Returns the
 * ops used, or -1 when *k would pass max. */
static int copy_ops(struct gnttab_copy *ops, unsigned int *k, unsigned int max, struct vif *v,
                    grant_ref_t ref, uint16_t off, uint8_t *va, uint32_t len, bool to_guest)
{
    while (len) {
        uint32_t in_page = PAGE - (uint32_t)((uintptr_t)va & (PAGE - 1));
        uint32_t n = len < in_page ? len : in_page;
        struct gnttab_copy *c = &ops[*k];

        if (*k == max)
            return -1;
        memset(c, 0, sizeof(*c));
        struct gnttab_copy_ptr guest = { .u.ref = ref, .domid = (domid_t)v->cfg.domid,
                                         .offset = off };
        struct gnttab_copy_ptr mine = { .u.gmfn = mfn_of(va), .domid = DOMID_SELF,
                                        .offset = (uint16_t)((uintptr_t)va & (PAGE - 1)) };
        c->source = to_guest ? mine : guest;
        c->dest = to_guest ? guest : mine;
        c->len = (uint16_t)n;
        c->flags = to_guest ? GNTCOPY_dest_gref : GNTCOPY_source_gref;
        (*k)++;
        va += n;
        off = (uint16_t)(off + n);
        len -= n;
    }
    return 0;
}

static bool do_copies(struct gnttab_copy *ops, unsigned int k)
{
    if (HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, k))
        return false;
    for (unsigned int i = 0; i < k; i++)
        if (ops[i].status != GNTST_okay)
            return false;
    return true;
}

/* ---- receive: frames the bridge sends to a guest ---------------------------------- */

static int vif_xmit(void *priv, const void *frame, unsigned int len)
{
    struct vif *v = priv;
    struct gnttab_copy ops[2 * RX_MAX_SLOTS];
    netif_rx_request_t req[RX_MAX_SLOTS];
    unsigned int need = (len + PAGE - 1) / PAGE, k = 0;

    if (v->phase != PH_CONNECTED)
        return -XEN_ENOTCONN;
    if (len > STAGE_BYTES - 1 || (need > 1 && !v->sg)) {
        v->rx_dropped++;
        return -XEN_EMSGSIZE;
    }
    RING_IDX rp = v->rx.sring->req_prod;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (rp - v->rx.req_cons > NR_RX) {
        fatal(v, "rx producer index past the ring");
        return -XEN_EIO;
    }
    if (rp - v->rx.req_cons < need) {
        v->rx_dropped++;                /* no buffer posted: the guest is behind */
        return -XEN_EAGAIN;
    }
    const uint8_t *p = frame;
    for (unsigned int i = 0; i < need; i++) {
        uint32_t n = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;

        RING_COPY_REQUEST(&v->rx, v->rx.req_cons + i, &req[i]);
        (void)copy_ops(ops, &k, ARRAY_SIZE(ops), v, req[i].gref, 0, (uint8_t *)p + i * PAGE, n,
                       true);
    }
    bool ok = do_copies(ops, k);
    for (unsigned int i = 0; i < need; i++) {
        netif_rx_response_t *r = RING_GET_RESPONSE(&v->rx, v->rx.rsp_prod_pvt + i);
        uint32_t n = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;

        r->id = req[i].id;
        r->offset = 0;
        r->flags = (uint16_t)(i + 1 < need ? NETRXF_more_data : 0);
        r->status = ok ? (int16_t)n : NETIF_RSP_ERROR;
    }
    v->rx.req_cons += need;
    v->rx.rsp_prod_pvt += need;
    v->rx_pending = true;
    if (!ok) {
        v->rx_dropped++;
        return -XEN_EFAULT;
    }
    v->rx_frames++;
    v->rx_bytes += len;
    return 0;
}

/* ---- transmit: frames a guest sends ------------------------------------------------- */

static void tx_respond(struct vif *v, uint16_t id, int16_t st)
{
    netif_tx_response_t *r = RING_GET_RESPONSE(&v->tx, v->tx.rsp_prod_pvt);

    r->id = id;
    r->status = st;
    v->tx.rsp_prod_pvt++;
    v->tx_pending = true;
}

/* Credit for `bytes` now (rate limit): false if the frame must wait. */
static bool credit_ok(struct vif *v, uint32_t bytes)
{
    if (!v->cfg.rate_bytes)
        return true;
    uint64_t now = arch_now_ns();
    if (now >= v->credit_next_ns) {
        v->credit = v->cfg.rate_bytes;
        v->credit_next_ns = now + v->cfg.rate_usec * 1000;
    }
    /* A frame bigger than a whole period's credit goes once the period is fresh. */
    if (bytes > v->credit && !(v->credit == v->cfg.rate_bytes && bytes > v->cfg.rate_bytes))
        return false;
    v->credit = bytes > v->credit ? 0 : v->credit - bytes;
    return true;
}

/* Takes up to NETBACK_TX_BUDGET frames from v's tx ring into the bridge.
 * True if anything moved. */
static bool vif_tx(struct vif *v)
{
    struct gnttab_copy ops[COPY_OPS];
    netif_tx_request_t txp[NETBACK_MAX_SLOTS];
    unsigned int frames = 0;
    bool moved = false;

    while (frames < NETBACK_TX_BUDGET && v->phase == PH_CONNECTED) {
        RING_IDX rp = v->tx.sring->req_prod;

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (rp - v->tx.req_cons > NR_TX) {
            fatal(v, "tx producer index past the ring");
            break;
        }
        if (rp == v->tx.req_cons) {
            int more;

            RING_FINAL_CHECK_FOR_REQUESTS(&v->tx, more);
            if (!more)
                break;
            continue;
        }
        /* One frame's slots, each copied out of the ring once. */
        unsigned int n = 0;
        RING_IDX c = v->tx.req_cons;
        bool complete = false;
        while (c != rp) {
            if (n == NETBACK_MAX_SLOTS) {
                fatal(v, "more tx slots in a frame than allowed");
                break;
            }
            RING_COPY_REQUEST(&v->tx, c, &txp[n]);
            c++;
            if (!(txp[n++].flags & NETTXF_more_data)) {
                complete = true;
                break;
            }
        }
        if (v->phase != PH_CONNECTED || !complete)
            break;                      /* broken, or the rest is not posted yet */
        uint32_t total = txp[0].size, rest = 0;
        for (unsigned int i = 0; i < n && v->phase == PH_CONNECTED; i++) {
            if (txp[i].flags & NETTXF_extra_info)
                fatal(v, "tx extra info, but no extra was negotiated");
            if (i)
                rest += txp[i].size;
        }
        if (v->phase != PH_CONNECTED)
            break;
        if (rest > total) {
            fatal(v, "tx frame longer than its first slot says");
            break;
        }
        uint32_t first = total - rest;
        bool bad_off = (uint32_t)txp[0].offset + first > PAGE;
        for (unsigned int i = 1; i < n; i++)
            bad_off |= (uint32_t)txp[i].offset + txp[i].size > PAGE;
        if (bad_off) {
            fatal(v, "tx slot crosses its page");
            break;
        }
        if (!credit_ok(v, total))
            break;                      /* over the rate: the next period */
        v->tx.req_cons = c;
        moved = true;
        frames++;

        unsigned int k = 0;
        uint32_t at = 0;
        bool ok = total >= 14;
        for (unsigned int i = 0; i < n && ok; i++) {
            uint32_t len = i ? txp[i].size : first;

            ok = copy_ops(ops, &k, ARRAY_SIZE(ops), v, txp[i].gref, txp[i].offset,
                          v->stage + at, len, false) == 0;
            at += len;
        }
        ok = ok && do_copies(ops, k);
        for (unsigned int i = 0; i < n; i++)
            tx_respond(v, txp[i].id, ok ? NETIF_RSP_OKAY : NETIF_RSP_ERROR);
        if (!ok) {
            v->tx_errors++;
            continue;
        }
        v->tx_frames++;
        v->tx_bytes += total;
        bridge_input(v->bport, v->stage, total);
    }
    return moved;
}

/* Publishes v's responses and notifies the front-end if it asked. */
static void vif_push(struct vif *v)
{
    int ntx = 0, nrx = 0;

    if (v->tx_pending) {
        v->tx_pending = false;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->tx, ntx);
    }
    if (v->rx_pending) {
        v->rx_pending = false;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->rx, nrx);
    }
    if ((ntx || nrx) && v->port)
        (void)pv_evtchn_send(v->port);
}

/* ---- the NIC and dom0's own port ---------------------------------------------------- */

static void nic_rx(void *opaque, const void *frame, unsigned int len)
{
    (void)opaque;
    bridge_input(nic_port, frame, len);
}

static int nic_xmit(void *priv, const void *frame, unsigned int len)
{
    return vnet_xmit(priv, frame, len);
}

static int local_xmit(void *priv, const void *frame, unsigned int len)
{
    (void)priv;
    local_rx(local_opaque, frame, len);
    return 0;
}

int netback_local_xmit(const void *frame, unsigned int len)
{
    if (local_port < 0)
        return -XEN_ENODEV;
    bridge_input(local_port, frame, len);
    return 0;
}

void netback_set_local(void (*rx)(void *, const void *, unsigned int), void (*poll)(void *),
                       void *opaque)
{
    local_rx = rx;
    local_poll = poll;
    local_opaque = opaque;
}

const uint8_t *netback_nic_mac(void)
{
    return nic ? vnet_mac(nic) : NULL;
}

/* ---- the data thread ------------------------------------------------------------------ */

static void vif_name(const struct vif *v, char *b, size_t n)
{
    ksnprintf(b, n, "vif%u.%u", v->cfg.domid, v->cfg.handle);
}

/* The data side of the phases: join, leave, drain. */
static void vif_phase(struct vif *v)
{
    if (v->phase == PH_CONNECTED && v->bport < 0) {
        char name[24];

        vif_name(v, name, sizeof(name));
        v->bport = bridge_port_add(name, vif_xmit, v);
        if (v->bport < 0)
            fatal(v, "the bridge has no free port");
    }
    if ((v->phase == PH_DRAINING || v->phase == PH_BROKEN) && v->bport >= 0) {
        (void)bridge_port_del(v->bport);
        v->bport = -1;
    }
    if (v->phase == PH_DRAINING)
        v->phase = PH_DRAINED;
}

static void data_main(void *arg)
{
    uint64_t last_work = 0;

    (void)arg;
    for (;;) {
        bool moved = false;
        bool flags = pv_irq_save();

        if (nic) {
            vnet_plug(nic);
            moved |= vnet_poll(nic, 64, nic_rx, NULL) != 0;
        }
        for (unsigned int i = 0; i < NETBACK_MAX_VIFS; i++) {
            struct vif *v = vifs[i];

            if (!v)
                continue;
            vif_phase(v);
            if (v->phase == PH_CONNECTED)
                moved |= vif_tx(v);
            vif_phase(v);           /* broken by what it sent: leave at once */
        }
        if (local_poll)
            local_poll(local_opaque);
        for (unsigned int i = 0; i < NETBACK_MAX_VIFS; i++)
            if (vifs[i])
                vif_push(vifs[i]);
        if (nic)
            vnet_unplug(nic);
        pv_irq_restore(flags);

        uint64_t now = arch_now_ns();
        if (moved) {
            last_work = now;
            thread_yield();
        } else if (now - last_work < POLL_RECENT_NS) {
            (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);     /* guests and QEMU run */
            thread_yield();
        } else {
            thread_sleep_ns(IDLE_SLEEP_NS);     /* a front-end's event wakes us earlier */
        }
    }
}

static void ring_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    if (data_thread)
        thread_wake(data_thread);
}

int netback_start(xc_interface *xch, unsigned int nic_slot)
{
    int rc;

    if (data_thread)
        return 0;
    nb_xch = xch;
    if ((rc = xenbus_back_init()))
        return rc;
    if (nic_slot) {
        if (!(nic = vnet_open(xch, nic_slot, &rc)))
            return rc;
        nic_port = bridge_port_add("eth0", nic_xmit, nic);
    }
    if (local_rx)
        local_port = bridge_port_add("dom0", local_xmit, NULL);
    data_thread = thread_create("netback", data_main, NULL);
    return data_thread ? 0 : -XEN_ENOMEM;
}

/* ---- control: xenbus ------------------------------------------------------------------- */

/* The front-end's key as a number: 0, -ENOENT, -EINVAL. */
static int fe_u64(const struct vif *v, const char *key, uint64_t *val)
{
    char path[128];

    ksnprintf(path, sizeof(path), "%s/%s", v->fe, key);
    return xenbus_back_read_u64(path, val);
}

static int connect(struct vif *v)
{
    uint64_t tx_ref, rx_ref, port, v64;
    int rc;

    if (fe_u64(v, "tx-ring-ref", &tx_ref) ||
        fe_u64(v, "rx-ring-ref", &rx_ref)) {
        v->why = "no tx-ring-ref or rx-ring-ref";
        return -XEN_EINVAL;
    }
    if (fe_u64(v, "event-channel", &port) ||
        port == 0 || port > 0xffffffffu) {
        v->why = "no event-channel (split event channels are not offered)";
        return -XEN_EINVAL;
    }
    if (fe_u64(v, "request-rx-copy", &v64) || v64 != 1) {
        v->why = "request-rx-copy is not 1 (page flipping is not offered)";
        return -XEN_EOPNOTSUPP;
    }
    v->sg = fe_u64(v, "feature-sg", &v64) == 0 && v64 == 1;
    v->tx_va = xc_gnttab_map(nb_xch, v->cfg.domid, (uint32_t)tx_ref, XC_PROT_READ | XC_PROT_WRITE,
                             &v->tx_handle);
    v->rx_va = v->tx_va ? xc_gnttab_map(nb_xch, v->cfg.domid, (uint32_t)rx_ref,
                                        XC_PROT_READ | XC_PROT_WRITE, &v->rx_handle) : NULL;
    if (!v->rx_va) {
        rc = -errno;
        v->why = "a ring reference cannot be mapped";
        goto fail;
    }
    if ((rc = pv_evtchn_bind_interdomain((domid_t)v->cfg.domid, (evtchn_port_t)port, &v->port))) {
        v->port = 0;
        v->why = "event-channel cannot be bound";
        goto fail;
    }
    BACK_RING_INIT(&v->tx, (netif_tx_sring_t *)v->tx_va, PAGE);
    BACK_RING_INIT(&v->rx, (netif_rx_sring_t *)v->rx_va, PAGE);
    v->credit = v->cfg.rate_bytes;
    v->credit_next_ns = 0;
    (void)pv_evtchn_set_handler(v->port, ring_event, v);
    pv_evtchn_unmask(v->port);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    v->phase = PH_CONNECTED;
    if (data_thread)
        thread_wake(data_thread);
    return 0;

fail:
    if (v->tx_va)
        (void)xc_gnttab_unmap(nb_xch, v->tx_va, v->tx_handle);
    v->tx_va = NULL;
    return rc ? rc : -XEN_EINVAL;
}

static void disconnect(struct vif *v)
{
    if (v->port) {
        (void)pv_evtchn_set_handler(v->port, NULL, NULL);
        (void)pv_evtchn_close(v->port);
        v->port = 0;
    }
    if (v->tx_va)
        (void)xc_gnttab_unmap(nb_xch, v->tx_va, v->tx_handle);
    if (v->rx_va)
        (void)xc_gnttab_unmap(nb_xch, v->rx_va, v->rx_handle);
    v->tx_va = v->rx_va = NULL;
}

static void set_state(struct vif *v, enum xenbus_state s)
{
    if (v->state == s)
        return;
    v->state = s;
    (void)xenbus_back_switch_state(v->be, s);
}

static void vif_step(struct vif *v)
{
    enum xenbus_state fe = xenbus_back_read_state(v->fe);

    switch (v->phase) {
    case PH_INITWAIT:
        if (v->removing)
            break;
        if (fe == XenbusStateConnected) {
            int rc = connect(v);

            if (rc) {
                kprintf("netback: vif%u.%u: cannot connect (%d): %s\n", v->cfg.domid,
                        v->cfg.handle, rc, v->why);
                set_state(v, XenbusStateClosing);
            } else {
                kprintf("netback: vif%u.%u connected%s\n", v->cfg.domid, v->cfg.handle,
                        v->sg ? " (scatter-gather)" : "");
                set_state(v, XenbusStateConnected);
            }
        } else if ((fe == XenbusStateInitialising || fe == XenbusStateUnknown) &&
                   v->state != XenbusStateInitWait) {
            set_state(v, XenbusStateInitWait);
        } else if (fe == XenbusStateClosing || fe == XenbusStateClosed) {
            set_state(v, XenbusStateClosed);
        }
        break;
    case PH_CONNECTED:
        if (v->removing || fe != XenbusStateConnected) {
            v->why = v->removing ? "removed" : "front-end closed";
            v->phase = PH_DRAINING;
            if (data_thread)
                thread_wake(data_thread);
        }
        break;
    case PH_BROKEN:
        if (v->state != XenbusStateClosing) {
            kprintf("netback: vif%u.%u: %s: disconnecting\n", v->cfg.domid, v->cfg.handle,
                    v->why);
            set_state(v, XenbusStateClosing);
        }
        {
            bool flags = pv_irq_save();
            bool left = v->bport < 0;   /* the data side has left the bridge */
            if (left)
                v->phase = PH_DRAINED;
            pv_irq_restore(flags);
            if (left)
                vif_step(v);
        }
        break;
    case PH_DRAINED:
        disconnect(v);
        kprintf("netback: vif%u.%u disconnected (%s)\n", v->cfg.domid, v->cfg.handle,
                v->why ? v->why : "");
        v->phase = PH_INITWAIT;
        set_state(v, v->removing ? XenbusStateClosed : XenbusStateClosing);
        if (!v->removing && (fe == XenbusStateClosed || fe == XenbusStateClosing ||
                             fe == XenbusStateUnknown))
            set_state(v, XenbusStateClosed);
        break;
    default:
        break;
    }
}

static void fe_watch(const char *path, void *opaque)
{
    (void)path;
    vif_step(opaque);
}

static int vif_index(uint32_t domid, uint32_t handle)
{
    for (int i = 0; i < NETBACK_MAX_VIFS; i++)
        if (vifs[i] && vifs[i]->cfg.domid == domid && vifs[i]->cfg.handle == handle)
            return i;
    return -1;
}

static void vif_free(struct vif *v)
{
    if (!v)
        return;
    kfree(v->stage);
    kfree(v);
}

static void mac_str(const uint8_t *m, char *b, size_t n)
{
    ksnprintf(b, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int netback_add(const struct netback_vif_cfg *cfg)
{
    struct vif *v;
    int free_i = -1, rc;
    char mac[24];

    if (!data_thread)
        return -XEN_ENODEV;
    if (vif_index(cfg->domid, cfg->handle) >= 0)
        return -XEN_EEXIST;
    for (int i = 0; i < NETBACK_MAX_VIFS; i++) {
        if (vifs[i] && !memcmp(vifs[i]->cfg.mac, cfg->mac, 6))
            return -XEN_EEXIST;
        if (!vifs[i] && free_i < 0)
            free_i = i;
    }
    if (free_i < 0)
        return -XEN_ENOSPC;
    if (!(v = kzalloc(sizeof(*v))) || !(v->stage = kmalloc(STAGE_BYTES))) {
        vif_free(v);
        return -XEN_ENOMEM;
    }
    v->cfg = *cfg;
    v->bport = -1;
    v->phase = PH_INITWAIT;
    ksnprintf(v->be, sizeof(v->be), "/local/domain/0/backend/vif/%u/%u", cfg->domid, cfg->handle);
    ksnprintf(v->fe, sizeof(v->fe), "/local/domain/%u/device/vif/%u", cfg->domid, cfg->handle);
    mac_str(cfg->mac, mac, sizeof(mac));
    /* libxl's device_nic_add keys, then netback's own. */
    rc = xenbus_back_printf(v->be, "", "%s", "");
    rc = rc ?: xenbus_back_set_perms(v->be, 0, (domid_t)cfg->domid);
    rc = rc ?: xenbus_back_printf(v->fe, "", "%s", "");
    rc = rc ?: xenbus_back_set_perms(v->fe, (domid_t)cfg->domid, 0);
    rc = rc ?: xenbus_back_printf(v->be, "frontend", "%s", v->fe);
    rc = rc ?: xenbus_back_printf(v->be, "frontend-id", "%u", cfg->domid);
    rc = rc ?: xenbus_back_printf(v->be, "online", "1");
    rc = rc ?: xenbus_back_printf(v->be, "type", "vif");
    rc = rc ?: xenbus_back_printf(v->be, "script", "vif-bridge");
    rc = rc ?: xenbus_back_printf(v->be, "bridge", BRIDGE_NAME);
    rc = rc ?: xenbus_back_printf(v->be, "mac", "%s", mac);
    rc = rc ?: xenbus_back_printf(v->be, "handle", "%u", cfg->handle);
    if (cfg->ip[0])
        rc = rc ?: xenbus_back_printf(v->be, "ip", "%s", cfg->ip);
    if (cfg->rate_bytes)
        rc = rc ?: xenbus_back_printf(v->be, "rate", "%lu,%lu", (unsigned long)cfg->rate_bytes,
                                      (unsigned long)cfg->rate_usec);
    rc = rc ?: xenbus_back_printf(v->be, "feature-rx-copy", "1");
    rc = rc ?: xenbus_back_printf(v->be, "feature-rx-flip", "0");
    rc = rc ?: xenbus_back_printf(v->be, "feature-sg", "1");
    rc = rc ?: xenbus_back_printf(v->be, "feature-gso-tcpv4", "0");
    rc = rc ?: xenbus_back_printf(v->be, "feature-split-event-channels", "0");
    rc = rc ?: xenbus_back_printf(v->be, "multi-queue-max-queues", "1");
    rc = rc ?: xenbus_back_printf(v->be, "state", "%d", XenbusStateInitialising);
    rc = rc ?: xenbus_back_printf(v->fe, "backend", "%s", v->be);
    rc = rc ?: xenbus_back_printf(v->fe, "backend-id", "0");
    rc = rc ?: xenbus_back_printf(v->fe, "handle", "%u", cfg->handle);
    rc = rc ?: xenbus_back_printf(v->fe, "mac", "%s", mac);
    rc = rc ?: xenbus_back_printf(v->fe, "state", "%d", XenbusStateInitialising);
    if (rc) {
        (void)xenbus_back_rm(v->be);
        (void)xenbus_back_rm(v->fe);
        vif_free(v);
        return rc;
    }
    v->state = XenbusStateInitialising;
    bool flags = pv_irq_save();
    vifs[free_i] = v;
    pv_irq_restore(flags);
    set_state(v, XenbusStateInitWait);
    char st[100];
    ksnprintf(st, sizeof(st), "%s/state", v->fe);
    rc = xenbus_back_watch(st, fe_watch, v);
    if (rc)
        kprintf("netback: vif%u.%u: cannot watch %s (%d)\n", cfg->domid, cfg->handle, st, rc);
    return 0;
}

int netback_remove(uint32_t domid, uint32_t handle)
{
    int i = vif_index(domid, handle);

    if (i < 0)
        return -XEN_ENOENT;
    vifs[i]->removing = true;
    vif_step(vifs[i]);
    netback_control();
    return 0;
}

void netback_remove_domain(uint32_t domid)
{
    for (int i = 0; i < NETBACK_MAX_VIFS; i++)
        if (vifs[i] && vifs[i]->cfg.domid == domid)
            (void)netback_remove(domid, vifs[i]->cfg.handle);
}

void netback_control(void)
{
    (void)xenbus_back_poll();
    for (int i = 0; i < NETBACK_MAX_VIFS; i++) {
        struct vif *v = vifs[i];

        if (!v)
            continue;
        if (v->phase == PH_DRAINED || v->phase == PH_BROKEN)
            vif_step(v);
        if (v->removing && v->phase == PH_INITWAIT) {
            bool flags = pv_irq_save();
            vifs[i] = NULL;
            pv_irq_restore(flags);
            xenbus_back_unwatch(v);
            (void)xenbus_back_rm(v->be);
            (void)xenbus_back_rm(v->fe);
            kprintf("netback: vif%u.%u removed (tx %lu frames, rx %lu frames, %lu dropped)\n",
                    v->cfg.domid, v->cfg.handle, (unsigned long)v->tx_frames,
                    (unsigned long)v->rx_frames, (unsigned long)v->rx_dropped);
            vif_free(v);
        }
    }
}

unsigned int netback_list(uint32_t domid, struct netback_stats *out, unsigned int max)
{
    unsigned int n = 0;

    for (int i = 0; i < NETBACK_MAX_VIFS && n < max; i++) {
        struct vif *v = vifs[i];

        if (!v || (domid != DOMID_INVALID && v->cfg.domid != domid))
            continue;
        out[n] = (struct netback_stats){
            .domid = v->cfg.domid, .handle = v->cfg.handle, .state = v->state,
            .rate_bytes = v->cfg.rate_bytes, .rate_usec = v->cfg.rate_usec,
            .tx_frames = v->tx_frames, .tx_bytes = v->tx_bytes, .rx_frames = v->rx_frames,
            .rx_bytes = v->rx_bytes, .rx_dropped = v->rx_dropped, .tx_errors = v->tx_errors,
            .why = v->why,
        };
        memcpy(out[n].mac, v->cfg.mac, 6);
        memcpy(out[n].ip, v->cfg.ip, sizeof(out[n].ip));
        n++;
    }
    return n;
}
