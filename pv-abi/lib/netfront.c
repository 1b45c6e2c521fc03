/*
 * netfront.c - the network front-end (pv/netfront.h).
 */
#include <pv/netfront.h>
#include <pv/evtchn.h>
#include <stddef.h>

void *memset(void *d, int c, size_t n);     /* io/ring.h's SHARED_RING_INIT */

#include <pv/gnttab.h>
#include <pv/irq.h>

#define PAGE      4096u
#define NR_TX     __CONST_RING_SIZE(netif_tx, 4096)     /* 256 */
#define NR_RX     __CONST_RING_SIZE(netif_rx, 4096)     /* 256 */
#define ID_NONE   0xffffu

_Static_assert(NETFRONT_RX_BUFS <= NR_RX, "more rx buffers than ring slots");

struct nf_rxbuf {
    void *va;
    uint64_t mfn;
    grant_ref_t gref;
};

struct netfront {
    struct xenbus_front_env env;
    uint32_t handle;
    domid_t backend_id;
    char node[48];                  /* device/vif/<handle> */
    char backend[96];
    uint8_t mac[6];
    char ip[20];
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    void *tx_sring, *rx_sring;
    uint64_t tx_mfn, rx_mfn;
    grant_ref_t tx_ref, rx_ref;
    evtchn_port_t port;
    volatile bool state_changed;    /* the back-end's state key was written */
    bool connected;
    volatile bool suspended;        /* netfront_suspend_all: xmit refuses */
    volatile bool quiet;            /* ... and netfront_poll does nothing */
    /* tx: per request id, its grant, the frame's first id, and (on the
     * first id) the count of slots not yet answered and the cookie. */
    grant_ref_t tx_gref[NR_TX];
    uint16_t tx_head[NR_TX];
    uint16_t tx_left[NR_TX];
    void *tx_cookie[NR_TX];
    uint16_t tx_free[NR_TX];        /* stack of free ids */
    unsigned int nr_tx_free;
    struct nf_rxbuf rxb[NETFRONT_RX_BUFS];
    struct netfront_frag rx_frag[NETFRONT_MAX_FRAGS];
    uint16_t rx_id[NETFRONT_MAX_FRAGS];     /* their buffers, posted again at the end */
    unsigned int rx_nfrag, rx_total;
    bool rx_bad;                    /* the frame being gathered is dropped */
    struct netfront_stats st;
};

static void ring_event(evtchn_port_t port, void *data)
{
    struct netfront *nf = data;

    (void)port;
    nf->env.notify(nf->env.opaque);
}

static void watch_cb(const char *path, const char *token, void *opaque)
{
    struct netfront *nf = opaque;

    (void)path;
    (void)token;
    nf->state_changed = true;
    nf->env.notify(nf->env.opaque);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "00:16:3e:01:02:03" into mac; false if it is not six hex pairs. */
static bool parse_mac(const char *s, uint8_t *mac)
{
    for (int i = 0; i < 6; i++) {
        int h = hexval(s[0]), l = h < 0 ? -1 : hexval(s[1]);

        if (h < 0 || l < 0 || (i < 5 ? s[2] != ':' : s[2] != 0))
            return false;
        mac[i] = (uint8_t)(h << 4 | l);
        s += 3;
    }
    return true;
}

static void tokens(const struct netfront *nf, char *tok, size_t n, char *path, size_t pn)
{
    char id[24];

    xenbus_utoa(id, nf->handle);
    xenbus_path_join(tok, n, "netfront-", id);
    xenbus_path_join(path, pn, nf->backend, "/state");
}

/* Ends every grant and frees every page (the back-end let go or never
 * had them).  A grant still in use (a hostile or stuck back-end mapped it)
 * keeps its page, leaked rather than reused. */
static void free_all(struct netfront *nf)
{
    for (unsigned int i = 0; i < NETFRONT_RX_BUFS; i++) {
        struct nf_rxbuf *b = &nf->rxb[i];

        if (b->gref && gnttab_end_access(b->gref))
            continue;
        if (b->va)
            nf->env.free_page(b->va);
    }
    for (unsigned int i = 0; i < NR_TX; i++)
        if (nf->tx_gref[i])
            (void)gnttab_end_access(nf->tx_gref[i]);
    if (nf->tx_sring && (!nf->tx_ref || !gnttab_end_access(nf->tx_ref)))
        nf->env.free_page(nf->tx_sring);
    if (nf->rx_sring && (!nf->rx_ref || !gnttab_end_access(nf->rx_ref)))
        nf->env.free_page(nf->rx_sring);
    nf->env.free(nf);
}

static void rx_post(struct netfront *nf, uint16_t id)
{
    netif_rx_request_t *r = RING_GET_REQUEST(&nf->rx, nf->rx.req_prod_pvt);

    r->id = id;
    r->gref = nf->rxb[id].gref;
    nf->rx.req_prod_pvt++;
}

static void rx_push(struct netfront *nf)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->rx, notify);
    if (notify)
        (void)pv_evtchn_send(nf->port);
}

static int publish(struct netfront *nf)
{
    int rc;

    rc = xenbus_write_u64(nf->node, "tx-ring-ref", nf->tx_ref);
    rc = rc ?: xenbus_write_u64(nf->node, "rx-ring-ref", nf->rx_ref);
    rc = rc ?: xenbus_write_u64(nf->node, "event-channel", nf->port);
    rc = rc ?: xenbus_write_u64(nf->node, "request-rx-copy", 1);
    rc = rc ?: xenbus_write_u64(nf->node, "feature-rx-notify", 1);
    rc = rc ?: xenbus_write_u64(nf->node, "feature-sg", 1);
    rc = rc ?: xenbus_write_u64(nf->node, "feature-gso-tcpv4", 0);
    rc = rc ?: xenbus_write_u64(nf->node, "feature-no-csum-offload", 1);
    return rc;
}

/* Open instances, for netfront_suspend_all/resume_all. */
#define NF_MAX 8
static struct netfront *open_nfs[NF_MAX];

static void track(struct netfront *nf, bool add)
{
    for (unsigned int i = 0; i < NF_MAX; i++)
        if (add ? !open_nfs[i] : open_nfs[i] == nf) {
            open_nfs[i] = add ? nf : NULL;
            return;
        }
}

/* The xenbus handshake on nf's pages (rings, rx buffers allocated): the
 * back-end's mac and ip read, rings and rx buffers granted and posted, the
 * channel bound, both Connected. */
static int nf_connect(struct netfront *nf, uint64_t deadline)
{
    char tok[40], path[112], mac[24];
    uint64_t v;
    int rc;

    xenbus_path_join(path, sizeof(path), nf->node, "/backend");
    rc = xenbus_read(path, nf->backend, sizeof(nf->backend));
    if (rc <= 0 || rc >= (int)sizeof(nf->backend) ||
        xenbus_read_u64(nf->node, "backend-id", &v) || v >= DOMID_FIRST_RESERVED)
        return rc < 0 ? rc : -XEN_ENOENT;
    nf->backend_id = (domid_t)v;
    tokens(nf, tok, sizeof(tok), path, sizeof(path));
    (void)xenbus_watch(path, tok, watch_cb, nf);
    if ((rc = xenbus_switch_state(nf->node, XenbusStateInitialising)))
        return rc;
    if (xenbus_wait_state(nf->backend, 1u << XenbusStateInitWait | 1u << XenbusStateConnected,
                          deadline, nf->env.wait, nf->env.opaque) == XenbusStateUnknown)
        return -XEN_ETIMEDOUT;
    xenbus_path_join(path, sizeof(path), nf->backend, "/mac");
    if (xenbus_read(path, mac, sizeof(mac)) <= 0 || !parse_mac(mac, nf->mac))
        return -XEN_EINVAL;
    xenbus_path_join(path, sizeof(path), nf->backend, "/ip");
    if (xenbus_read(path, nf->ip, sizeof(nf->ip)) < 0)
        nf->ip[0] = 0;
    if (xenbus_read_u64(nf->backend, "feature-rx-copy", &v) || v != 1)
        return -XEN_EINVAL;         /* page flipping is not supported */

    SHARED_RING_INIT((netif_tx_sring_t *)nf->tx_sring);
    SHARED_RING_INIT((netif_rx_sring_t *)nf->rx_sring);
    FRONT_RING_INIT(&nf->tx, (netif_tx_sring_t *)nf->tx_sring, PAGE);
    FRONT_RING_INIT(&nf->rx, (netif_rx_sring_t *)nf->rx_sring, PAGE);
    for (unsigned int i = 0; i < NR_TX; i++)
        nf->tx_free[i] = (uint16_t)(NR_TX - 1 - i);
    nf->nr_tx_free = NR_TX;
    nf->rx_nfrag = nf->rx_total = 0;
    nf->rx_bad = false;
    if ((rc = gnttab_grant_access(nf->backend_id, nf->tx_mfn, false)) < 0)
        return rc;
    nf->tx_ref = (grant_ref_t)rc;
    if ((rc = gnttab_grant_access(nf->backend_id, nf->rx_mfn, false)) < 0)
        return rc;
    nf->rx_ref = (grant_ref_t)rc;
    for (unsigned int i = 0; i < NETFRONT_RX_BUFS; i++) {
        struct nf_rxbuf *b = &nf->rxb[i];

        if ((rc = gnttab_grant_access(nf->backend_id, b->mfn, false)) < 0)
            return rc;
        b->gref = (grant_ref_t)rc;
        rx_post(nf, (uint16_t)i);
    }
    RING_PUSH_REQUESTS(&nf->rx);
    if ((rc = pv_evtchn_alloc_unbound(nf->backend_id, &nf->port)))
        return rc;
    (void)pv_evtchn_set_handler(nf->port, ring_event, nf);
    pv_evtchn_unmask(nf->port);
    if ((rc = publish(nf)) || (rc = xenbus_switch_state(nf->node, XenbusStateConnected)))
        return rc;
    enum xenbus_state st = xenbus_wait_state(nf->backend, 1u << XenbusStateConnected |
                                             1u << XenbusStateClosing | 1u << XenbusStateClosed,
                                             deadline, nf->env.wait, nf->env.opaque);
    if (st != XenbusStateConnected)
        return st == XenbusStateUnknown ? -XEN_ETIMEDOUT : -XEN_ECONNREFUSED;
    nf->connected = true;
    return 0;
}

struct netfront *netfront_open(const struct xenbus_front_env *env, uint32_t handle,
                               uint64_t timeout_ns, int *err)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;
    struct netfront *nf;
    char id[24], tok[40], path[112];
    int rc = 0;

    if (!(nf = env->zalloc(sizeof(*nf)))) {
        *err = -XEN_ENOMEM;
        return NULL;
    }
    nf->env = *env;
    nf->handle = handle;
    xenbus_utoa(id, handle);
    xenbus_path_join(nf->node, sizeof(nf->node), "device/vif/", id);
    if (!(nf->tx_sring = env->alloc_page(&nf->tx_mfn)) ||
        !(nf->rx_sring = env->alloc_page(&nf->rx_mfn)))
        rc = -XEN_ENOMEM;
    for (unsigned int i = 0; i < NETFRONT_RX_BUFS && !rc; i++)
        if (!(nf->rxb[i].va = env->alloc_page(&nf->rxb[i].mfn)))
            rc = -XEN_ENOMEM;
    if (!rc && !(rc = nf_connect(nf, deadline))) {
        track(nf, true);
        return nf;
    }
    *err = rc;
    tokens(nf, tok, sizeof(tok), path, sizeof(path));
    (void)xenbus_unwatch(path, tok);
    (void)xenbus_switch_state(nf->node, XenbusStateClosed);
    if (nf->port) {
        (void)pv_evtchn_set_handler(nf->port, NULL, NULL);
        (void)pv_evtchn_close(nf->port);
    }
    free_all(nf);
    return NULL;
}

void netfront_suspend_all(uint64_t timeout_ns)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;

    for (unsigned int i = 0; i < NF_MAX; i++) {
        struct netfront *nf = open_nfs[i];
        if (!nf)
            continue;
        nf->suspended = true;           /* xmit refuses from now on */
        /* The owner's poll finishes what is in flight. */
        while (nf->nr_tx_free != NR_TX && xenbus_now_ns() < deadline)
            nf->env.wait(nf->env.opaque, 1000000ULL);
        nf->quiet = true;               /* and its poll stops */
    }
}

int netfront_resume_all(bool new_domain, uint64_t timeout_ns)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;
    int rc = 0;

    for (unsigned int i = 0; i < NF_MAX; i++) {
        struct netfront *nf = open_nfs[i];
        if (!nf)
            continue;
        if (new_domain) {
            /* Grants, channel and back-end are new; rx buffers stay ours. */
            for (unsigned int k = 0; k < NR_TX; k++)
                nf->tx_gref[k] = 0;
            for (unsigned int k = 0; k < NETFRONT_RX_BUFS; k++) {
                nf->rxb[k].gref = 0;
                nf->rxb[k].mfn = nf->env.virt_to_mfn(nf->rxb[k].va);  /* new frames */
            }
            nf->tx_mfn = nf->env.virt_to_mfn(nf->tx_sring);
            nf->rx_mfn = nf->env.virt_to_mfn(nf->rx_sring);
            nf->tx_ref = nf->rx_ref = 0;
            nf->port = 0;
            nf->connected = false;
            int r = nf_connect(nf, deadline);
            if (r && !rc)
                rc = r;
        }
        nf->suspended = nf->quiet = false;
        nf->env.notify(nf->env.opaque);
    }
    return rc;
}

void netfront_close(struct netfront *nf)
{
    uint64_t deadline;
    char tok[40], path[112];

    if (!nf)
        return;
    track(nf, false);
    (void)xenbus_switch_state(nf->node, XenbusStateClosing);
    deadline = xenbus_now_ns() + 5000000000ULL;
    (void)xenbus_wait_state(nf->backend, 1u << XenbusStateClosing | 1u << XenbusStateClosed |
                            1u << XenbusStateUnknown, deadline, nf->env.wait, nf->env.opaque);
    (void)xenbus_switch_state(nf->node, XenbusStateClosed);
    (void)xenbus_wait_state(nf->backend, 1u << XenbusStateClosed | 1u << XenbusStateUnknown |
                            1u << XenbusStateInitWait, deadline, nf->env.wait, nf->env.opaque);
    tokens(nf, tok, sizeof(tok), path, sizeof(path));
    (void)xenbus_unwatch(path, tok);
    (void)pv_evtchn_set_handler(nf->port, NULL, NULL);
    (void)pv_evtchn_close(nf->port);
    free_all(nf);
}

const uint8_t *netfront_mac(const struct netfront *nf)
{
    return nf->mac;
}

size_t netfront_ip(const struct netfront *nf, char *buf, size_t n)
{
    xenbus_path_join(buf, n, nf->ip, NULL);
    size_t len = 0;
    while (buf[len])
        len++;
    return len;
}

bool netfront_connected(const struct netfront *nf)
{
    /* Across a suspend the link is paused, not down: its owner must not
     * close it while it reconnects (an open TCP connection would go). */
    return nf->connected || nf->suspended;
}

const struct netfront_stats *netfront_stats(const struct netfront *nf)
{
    return &nf->st;
}

/* ---- transmit ---------------------------------------------------------------- */

int netfront_xmit(struct netfront *nf, const struct netfront_frag *frags, unsigned int nfrag,
                  void *cookie)
{
    unsigned int slots = 0, total = 0;
    uint16_t ids[NETFRONT_MAX_SLOTS];

    if (nf->suspended) {
        nf->st.tx_busy++;
        return -XEN_EAGAIN;
    }
    if (!nf->connected)
        return -XEN_ENOTCONN;
    for (unsigned int i = 0; i < nfrag; i++) {
        uintptr_t a = (uintptr_t)frags[i].va;

        if (!frags[i].len)
            continue;
        total += frags[i].len;
        slots += (unsigned int)(((a + frags[i].len - 1) / PAGE) - a / PAGE + 1);
    }
    if (total < 14 || total > XEN_NETIF_MAX_TX_SIZE || slots > NETFRONT_MAX_SLOTS)
        return -XEN_EINVAL;
    if (slots > nf->nr_tx_free || slots > RING_FREE_REQUESTS(&nf->tx)) {
        nf->st.tx_busy++;
        return -XEN_EAGAIN;
    }
    unsigned int k = 0;
    RING_IDX prod = nf->tx.req_prod_pvt;
    for (unsigned int i = 0; i < nfrag; i++) {
        uintptr_t a = (uintptr_t)frags[i].va;
        uint32_t left = frags[i].len;

        while (left) {
            uint32_t off = (uint32_t)(a & (PAGE - 1)), n = PAGE - off;
            uint16_t id = nf->tx_free[--nf->nr_tx_free];
            int ref;

            if (n > left)
                n = left;
            ref = gnttab_grant_access(nf->backend_id, nf->env.virt_to_mfn((const void *)a), true);
            if (ref < 0) {
                /* Undo this frame's slots: nothing is published yet. */
                nf->tx_free[nf->nr_tx_free++] = id;
                while (k) {
                    uint16_t u = ids[--k];

                    (void)gnttab_end_access(nf->tx_gref[u]);
                    nf->tx_gref[u] = 0;
                    nf->tx_free[nf->nr_tx_free++] = u;
                }
                return -XEN_ENOSPC;
            }
            netif_tx_request_t *r = RING_GET_REQUEST(&nf->tx, prod + k);
            r->gref = (grant_ref_t)ref;
            r->offset = (uint16_t)off;
            r->id = id;
            r->flags = 0;
            r->size = (uint16_t)(k == 0 ? total : n);
            if (k)
                RING_GET_REQUEST(&nf->tx, prod + k - 1)->flags |= NETTXF_more_data;
            nf->tx_gref[id] = (grant_ref_t)ref;
            ids[k++] = id;
            a += n;
            left -= n;
        }
    }
    for (unsigned int i = 0; i < k; i++)
        nf->tx_head[ids[i]] = ids[0];
    nf->tx_left[ids[0]] = (uint16_t)k;
    nf->tx_cookie[ids[0]] = cookie;
    nf->tx.req_prod_pvt = prod + k;
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->tx, notify);
    if (notify)
        (void)pv_evtchn_send(nf->port);
    nf->st.tx_frames++;
    nf->st.tx_bytes += total;
    return 0;
}

static unsigned int tx_complete(struct netfront *nf, netfront_tx_done_fn done, void *opaque)
{
    unsigned int n = 0;
    int more;

    do {
        RING_IDX prod = nf->tx.sring->rsp_prod;

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        for (RING_IDX c = nf->tx.rsp_cons; c != prod; c++, n++) {
            netif_tx_response_t *r = RING_GET_RESPONSE(&nf->tx, c);
            uint16_t id = r->id;

            if (id >= NR_TX || !nf->tx_gref[id])
                continue;           /* a back-end bug: nothing of ours */
            if (r->status != NETIF_RSP_OKAY && r->status != NETIF_RSP_NULL)
                nf->st.tx_errors++;
            (void)gnttab_end_access(nf->tx_gref[id]);
            nf->tx_gref[id] = 0;
            nf->tx_free[nf->nr_tx_free++] = id;
            uint16_t head = nf->tx_head[id];
            if (--nf->tx_left[head] == 0 && done)
                done(opaque, nf->tx_cookie[head]);
        }
        nf->tx.rsp_cons = prod;
        RING_FINAL_CHECK_FOR_RESPONSES(&nf->tx, more);
    } while (more);
    return n;
}

/* ---- receive ------------------------------------------------------------------- */

static unsigned int rx_take(struct netfront *nf, netfront_rx_fn rx, void *opaque)
{
    unsigned int n = 0;
    int more;

    do {
        RING_IDX prod = nf->rx.sring->rsp_prod;

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        for (RING_IDX c = nf->rx.rsp_cons; c != prod; c++, n++) {
            netif_rx_response_t r = *RING_GET_RESPONSE(&nf->rx, c);

            if (r.id >= NETFRONT_RX_BUFS)
                continue;           /* not one of ours: the slot is lost */
            if (r.status < 0 || (unsigned int)r.offset + (unsigned int)r.status > PAGE || (r.flags & NETRXF_extra_info) ||
                nf->rx_nfrag == NETFRONT_MAX_FRAGS)
                nf->rx_bad = true;
            if (nf->rx_nfrag < NETFRONT_MAX_FRAGS) {
                nf->rx_frag[nf->rx_nfrag].va = (char *)nf->rxb[r.id].va + r.offset;
                nf->rx_frag[nf->rx_nfrag].len = r.status > 0 ? (uint32_t)r.status : 0;
                nf->rx_id[nf->rx_nfrag++] = r.id;
                nf->rx_total += r.status > 0 ? (unsigned int)r.status : 0;
            } else {
                rx_post(nf, r.id);  /* the frame is dropped: nothing reads it */
            }
            if (!(r.flags & NETRXF_more_data)) {
                if (nf->rx_bad || nf->rx_total < 14) {
                    nf->st.rx_errors++;
                } else {
                    nf->st.rx_frames++;
                    nf->st.rx_bytes += nf->rx_total;
                    rx(opaque, nf->rx_frag, nf->rx_nfrag, nf->rx_total);
                }
                /* The frame's buffers go back, after it was read. */
                for (unsigned int i = 0; i < nf->rx_nfrag; i++)
                    rx_post(nf, nf->rx_id[i]);
                nf->rx_nfrag = nf->rx_total = 0;
                nf->rx_bad = false;
            }
        }
        nf->rx.rsp_cons = prod;
        RING_FINAL_CHECK_FOR_RESPONSES(&nf->rx, more);
    } while (more);
    if (n)
        rx_push(nf);
    return n;
}

unsigned int netfront_poll(struct netfront *nf, netfront_rx_fn rx, netfront_tx_done_fn tx_done,
                           void *opaque)
{
    if (nf->quiet)
        return 0;
    unsigned int n = tx_complete(nf, tx_done, opaque) + rx_take(nf, rx, opaque);

    if (nf->state_changed) {
        nf->state_changed = false;
        enum xenbus_state s = xenbus_read_state(nf->backend);
        nf->connected = s == XenbusStateConnected;
    }
    return n;
}
