/*
 * blkfront.c - the block front-end (pv/blkfront.h).
 */
#include <pv/blkfront.h>
#include <stddef.h>

/* io/ring.h's SHARED_RING_INIT uses memset: the guest kernel's, or this
 * one in a PV guest without its own (the hostile test kernel). */
__attribute__((weak)) void *memset(void *d, int c, size_t n)
{
    volatile unsigned char *p = d;

    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

#include <pv/evtchn.h>
#include <pv/gnttab.h>
#include <pv/irq.h>
#include <pv/time.h>
#include <pv/xenbus.h>

#define RING_PAGES      1
#define NR_REQS         __CONST_RING_SIZE(blkif, 4096)      /* 32 */
#define SECTOR          512u
#define PAGE            4096u

/* Persistent grants (feature-persistent): a page granted once, writable,
 * and kept granted while connected; the back-end keeps it mapped. */
#define PGNT_MAX  1056
#define PGNT_HASH 2048u
struct bf_pgnt {
    uint64_t mfn;
    grant_ref_t ref;
};

struct bf_req {
    bool busy;
    uint16_t nseg;
    bool kept[BLKFRONT_MAX_SEGS];   /* gref[i] is a persistent grant */
    bool indirect;
    grant_ref_t gref[BLKFRONT_MAX_SEGS];
    grant_ref_t indirect_gref;
    blkfront_done_fn done;
    void *cookie;
};

struct blkfront {
    struct xenbus_front_env env;
    uint32_t devid;
    domid_t backend_id;
    char node[48];              /* device/vbd/<devid> */
    char backend[96];
    blkif_front_ring_t ring;
    void *sring;
    uint64_t sring_mfn;
    grant_ref_t ring_ref;
    evtchn_port_t port;
    uint64_t sectors;
    bool readonly, flush;
    unsigned int max_segs;
    unsigned int inflight;
    bool plugged;
    bool suspended;                 /* blkfront_suspend_all: submits wait */
    bool persistent;                /* both ends said feature-persistent */
    unsigned int nr_pg;
    struct bf_pgnt pg[PGNT_MAX];
    uint16_t pg_hash[PGNT_HASH];    /* index + 1 into pg, 0 empty */
    struct bf_req req[NR_REQS];
    struct blkif_request_segment *ind[NR_REQS];    /* one indirect page per slot */
    uint64_t ind_mfn[NR_REQS];
};

static void ring_event(evtchn_port_t port, void *data)
{
    struct blkfront *bf = data;

    (void)port;
    bf->env.notify(bf->env.opaque);
}

static void watch_cb(const char *path, const char *token, void *opaque)
{
    struct blkfront *bf = opaque;

    (void)path;
    (void)token;
    bf->env.notify(bf->env.opaque);
}

/* Waits until the back-end's state is one of `mask` (bit per state). */
static enum xenbus_state wait_backend(struct blkfront *bf, unsigned int mask, uint64_t deadline)
{
    return xenbus_wait_state(bf->backend, mask, deadline, bf->env.wait, bf->env.opaque);
}

static void free_all(struct blkfront *bf)
{
    for (unsigned int i = 0; i < NR_REQS; i++)
        if (bf->ind[i])
            bf->env.free_page(bf->ind[i]);
    if (bf->sring)
        bf->env.free_page(bf->sring);
    bf->env.free(bf);
}

static int publish(struct blkfront *bf)
{
    int rc;

    rc = xenbus_write_u64(bf->node, "ring-ref", bf->ring_ref);
    rc = rc ?: xenbus_write_u64(bf->node, "event-channel", bf->port);
    rc = rc ?: xenbus_write_str(bf->node, "protocol", XEN_IO_PROTO_ABI_X86_64);
    rc = rc ?: xenbus_write_u64(bf->node, "feature-persistent", 1);
    rc = rc ?: xenbus_switch_state(bf->node, XenbusStateInitialised);
    return rc;
}

/* Open instances, for blkfront_suspend_all/resume_all. */
#define BF_MAX 8
static struct blkfront *open_bfs[BF_MAX];

static void track(struct blkfront *bf, bool add)
{
    for (unsigned int i = 0; i < BF_MAX; i++)
        if (add ? !open_bfs[i] : open_bfs[i] == bf) {
            open_bfs[i] = add ? bf : NULL;
            return;
        }
}

static void watch_token(const struct blkfront *bf, char *be, size_t bn, char *tok, size_t tn)
{
    char id[24];

    xenbus_utoa(id, bf->devid);
    xenbus_path_join(tok, tn, "blkfront-", id);
    xenbus_path_join(be, bn, bf->backend, "/state");
}

/* The xenbus handshake on bf's pages (ring, indirect pages allocated):
 * back-end found, ring granted, channel bound, both Connected.  On error
 * what it set up is undone (bf's pages stay). */
static int bf_connect(struct blkfront *bf, uint64_t deadline)
{
    char be[112], tok[40];
    uint64_t v;
    int rc;

    xenbus_path_join(be, sizeof(be), bf->node, "/backend");
    rc = xenbus_read(be, bf->backend, sizeof(bf->backend));
    if (rc <= 0 || rc >= (int)sizeof(bf->backend) ||
        xenbus_read_u64(bf->node, "backend-id", &v) || v >= DOMID_FIRST_RESERVED)
        return rc < 0 ? rc : -XEN_ENOENT;
    bf->backend_id = (domid_t)v;
    /* Watch the back-end's state; the callback only wakes us. */
    watch_token(bf, be, sizeof(be), tok, sizeof(tok));
    (void)xenbus_watch(be, tok, watch_cb, bf);
    /* (Re)start: a back-end left Closed by an earlier connection goes back
     * to InitWait when it sees Initialising. */
    if ((rc = xenbus_switch_state(bf->node, XenbusStateInitialising)))
        goto fail;

    if (wait_backend(bf, 1u << XenbusStateInitWait | 1u << XenbusStateConnected, deadline) ==
        XenbusStateUnknown) {
        rc = -XEN_ETIMEDOUT;
        goto fail;
    }
    SHARED_RING_INIT((blkif_sring_t *)bf->sring);
    FRONT_RING_INIT(&bf->ring, (blkif_sring_t *)bf->sring, PAGE);
    rc = gnttab_grant_access(bf->backend_id, bf->sring_mfn, false);
    if (rc < 0)
        goto fail;
    bf->ring_ref = (grant_ref_t)rc;
    if ((rc = pv_evtchn_alloc_unbound(bf->backend_id, &bf->port)))
        goto fail;
    (void)pv_evtchn_set_handler(bf->port, ring_event, bf);
    pv_evtchn_unmask(bf->port);
    if ((rc = publish(bf)))
        goto fail;
    if (wait_backend(bf, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
                             1u << XenbusStateClosed, deadline) != XenbusStateConnected) {
        rc = -XEN_ETIMEDOUT;
        goto fail;
    }
    if (xenbus_read_u64(bf->backend, "sectors", &bf->sectors) ||
        xenbus_read_u64(bf->backend, "sector-size", &v) || v != SECTOR) {
        rc = -XEN_EINVAL;
        goto fail;
    }
    bf->readonly = xenbus_read_u64(bf->backend, "info", &v) == 0 && (v & VDISK_READONLY);
    bf->flush = xenbus_read_u64(bf->backend, "feature-flush-cache", &v) == 0 && v;
    bf->persistent = xenbus_read_u64(bf->backend, "feature-persistent", &v) == 0 && v == 1;
    bf->max_segs = BLKIF_MAX_SEGMENTS_PER_REQUEST;
    if (xenbus_read_u64(bf->backend, "feature-max-indirect-segments", &v) == 0 &&
        v > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        bf->max_segs = v > BLKFRONT_MAX_SEGS ? BLKFRONT_MAX_SEGS : (unsigned int)v;
    if ((rc = xenbus_switch_state(bf->node, XenbusStateConnected)))
        goto fail;
    return 0;

fail:
    (void)xenbus_unwatch(be, tok);
    (void)xenbus_switch_state(bf->node, XenbusStateClosed);
    if (bf->port) {
        (void)pv_evtchn_set_handler(bf->port, NULL, NULL);
        (void)pv_evtchn_close(bf->port);
        bf->port = 0;
    }
    if (bf->ring_ref && !gnttab_end_access(bf->ring_ref))
        bf->ring_ref = 0;
    return rc;
}

struct blkfront *blkfront_open(const struct xenbus_front_env *env, uint32_t devid,
                               uint64_t timeout_ns, int *err)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;
    struct blkfront *bf;
    char id[24];
    int rc;

    if (!(bf = env->zalloc(sizeof(*bf)))) {
        *err = -XEN_ENOMEM;
        return NULL;
    }
    bf->env = *env;
    bf->devid = devid;
    xenbus_utoa(id, devid);
    xenbus_path_join(bf->node, sizeof(bf->node), "device/vbd/", id);
    rc = xenbus_read(bf->node, NULL, 0);
    if (rc < 0) {
        *err = rc == -XEN_ENOENT ? -XEN_ENOENT : rc;
        free_all(bf);
        return NULL;
    }
    if (!(bf->sring = env->alloc_page(&bf->sring_mfn))) {
        rc = -XEN_ENOMEM;
        goto fail;
    }
    for (unsigned int i = 0; i < NR_REQS; i++)
        if (!(bf->ind[i] = env->alloc_page(&bf->ind_mfn[i]))) {
            rc = -XEN_ENOMEM;
            goto fail;
        }
    if ((rc = bf_connect(bf, deadline)))
        goto fail;
    track(bf, true);
    return bf;

fail:
    *err = rc;
    if (bf->ring_ref)
        return NULL;                /* still granted: the pages are not ours to free */
    free_all(bf);
    return NULL;
}

void blkfront_suspend_all(uint64_t timeout_ns)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;

    for (unsigned int i = 0; i < BF_MAX; i++) {
        struct blkfront *bf = open_bfs[i];
        if (!bf)
            continue;
        bf->suspended = true;           /* new requests wait from now on */
        while (bf->inflight && xenbus_now_ns() < deadline)
            (void)blkfront_wait(bf, deadline - xenbus_now_ns());
    }
}

int blkfront_resume_all(bool new_domain, uint64_t timeout_ns)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;
    int rc = 0;

    for (unsigned int i = 0; i < BF_MAX; i++) {
        struct blkfront *bf = open_bfs[i];
        if (!bf)
            continue;
        if (new_domain) {
            /* The grant table, channels and back-end are new: forget the
             * old ones (nothing is in flight) and connect again. */
            bf->ring_ref = 0;
            bf->port = 0;
            /* Same pages, new frames under them. */
            bf->sring_mfn = bf->env.virt_to_mfn(bf->sring);
            for (unsigned int k = 0; k < NR_REQS; k++)
                bf->ind_mfn[k] = bf->env.virt_to_mfn(bf->ind[k]);
            bf->nr_pg = 0;
            memset(bf->pg_hash, 0, sizeof(bf->pg_hash));
            for (unsigned int k = 0; k < NR_REQS; k++)
                bf->req[k].busy = false;
            bf->inflight = 0;
            int r = bf_connect(bf, deadline);
            if (r && !rc)
                rc = r;
        }
        bf->suspended = false;
        bf->env.notify(bf->env.opaque);
    }
    return rc;
}

uint64_t blkfront_sectors(const struct blkfront *bf)
{
    return bf->sectors;
}

bool blkfront_readonly(const struct blkfront *bf)
{
    return bf->readonly;
}

unsigned int blkfront_max_segs(const struct blkfront *bf)
{
    return bf->max_segs;
}

unsigned int blkfront_inflight(const struct blkfront *bf)
{
    return bf->inflight;
}

static int free_slot(struct blkfront *bf)
{
    if (RING_FULL(&bf->ring))
        return -1;
    for (unsigned int i = 0; i < NR_REQS; i++)
        if (!bf->req[i].busy)
            return (int)i;
    return -1;
}

/* Ends the grants of r; a grant the back-end still maps (it must not by
 * now) is left granted and reported. */
static void end_grants(struct bf_req *r)
{
    for (unsigned int i = 0; i < r->nseg; i++)
        if (!r->kept[i])
            (void)gnttab_end_access(r->gref[i]);
    if (r->indirect)
        (void)gnttab_end_access(r->indirect_gref);
    r->nseg = 0;
    r->indirect = false;
}

/* The persistent grant of page mfn: found, or made while there is room
 * (then kept until close); -1 when none (grant for the request only). */
static int pg_ref(struct blkfront *bf, uint64_t mfn)
{
    unsigned int h = (unsigned int)(mfn % PGNT_HASH);

    for (unsigned int n = 0; n < PGNT_HASH && bf->pg_hash[h]; n++, h = (h + 1) % PGNT_HASH)
        if (bf->pg[bf->pg_hash[h] - 1].mfn == mfn)
            return (int)bf->pg[bf->pg_hash[h] - 1].ref;
    if (bf->nr_pg == PGNT_MAX)
        return -1;
    int ref = gnttab_grant_access(bf->backend_id, mfn, false);
    if (ref < 0)
        return -1;
    bf->pg[bf->nr_pg] = (struct bf_pgnt){ mfn, (grant_ref_t)ref };
    bf->pg_hash[h] = (uint16_t)(++bf->nr_pg);
    return ref;
}

static void post(struct blkfront *bf)
{
    int notify;

    if (bf->plugged)
        return;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf->ring, notify);
    if (notify)
        (void)pv_evtchn_send(bf->port);
}

int blkfront_submit(struct blkfront *bf, bool write, uint64_t sector, void *buf, uint32_t bytes,
                    blkfront_done_fn done, void *cookie)
{
    uintptr_t a = (uintptr_t)buf;
    unsigned int nseg;
    int slot;

    if (bytes == 0 || bytes % SECTOR || a % SECTOR || (write && bf->readonly) ||
        sector >= bf->sectors || bytes / SECTOR > bf->sectors - sector)
        return -XEN_EINVAL;
    nseg = (unsigned int)((a % PAGE + bytes + PAGE - 1) / PAGE);
    if (nseg > bf->max_segs)
        return -XEN_EINVAL;
    if (bf->suspended || (slot = free_slot(bf)) < 0)
        return -XEN_EAGAIN;

    struct bf_req *r = &bf->req[slot];
    struct blkif_request_segment segs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
    struct blkif_request_segment *seg = nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST ? bf->ind[slot] : segs;
    uint32_t left = bytes;

    r->nseg = 0;
    for (unsigned int i = 0; i < nseg; i++) {
        uint32_t off = (uint32_t)(a % PAGE), len = PAGE - off < left ? PAGE - off : left;
        uint64_t mfn = bf->env.virt_to_mfn((void *)a);
        int ref = bf->persistent ? pg_ref(bf, mfn) : -1;

        r->kept[i] = ref >= 0;
        if (ref < 0)
            ref = gnttab_grant_access(bf->backend_id, mfn, write);

        if (ref < 0) {
            end_grants(r);
            return -XEN_ENOSPC;
        }
        r->gref[i] = (grant_ref_t)ref;
        r->nseg = (uint16_t)(i + 1);
        seg[i].gref = (grant_ref_t)ref;
        seg[i].first_sect = (uint8_t)(off / SECTOR);
        seg[i].last_sect = (uint8_t)((off + len) / SECTOR - 1);
        a += len;
        left -= len;
    }
    blkif_request_t *req = RING_GET_REQUEST(&bf->ring, bf->ring.req_prod_pvt);
    if (nseg <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        req->operation = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
        req->nr_segments = (uint8_t)nseg;
        req->handle = (blkif_vdev_t)bf->devid;
        req->id = (uint64_t)slot;
        req->sector_number = sector;
        for (unsigned int i = 0; i < nseg; i++)
            req->seg[i] = segs[i];
    } else {
        struct blkif_request_indirect *ir = (void *)req;
        int ref = gnttab_grant_access(bf->backend_id, bf->ind_mfn[slot], true);

        if (ref < 0) {
            end_grants(r);
            return -XEN_ENOSPC;
        }
        r->indirect = true;
        r->indirect_gref = (grant_ref_t)ref;
        ir->operation = BLKIF_OP_INDIRECT;
        ir->indirect_op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
        ir->nr_segments = (uint16_t)nseg;
        ir->id = (uint64_t)slot;
        ir->sector_number = sector;
        ir->handle = (blkif_vdev_t)bf->devid;
        ir->indirect_grefs[0] = (grant_ref_t)ref;
    }
    r->busy = true;
    r->done = done;
    r->cookie = cookie;
    bf->ring.req_prod_pvt++;
    bf->inflight++;
    post(bf);
    return 0;
}

void blkfront_plug(struct blkfront *bf)
{
    bf->plugged = true;
}

void blkfront_unplug(struct blkfront *bf)
{
    bf->plugged = false;
    post(bf);
}

int blkfront_flush(struct blkfront *bf, blkfront_done_fn done, void *cookie)
{
    int slot;

    if (!bf->flush)
        return -XEN_EOPNOTSUPP;
    if (bf->suspended || (slot = free_slot(bf)) < 0)
        return -XEN_EAGAIN;
    blkif_request_t *req = RING_GET_REQUEST(&bf->ring, bf->ring.req_prod_pvt);
    req->operation = BLKIF_OP_FLUSH_DISKCACHE;
    req->nr_segments = 0;
    req->handle = (blkif_vdev_t)bf->devid;
    req->id = (uint64_t)slot;
    req->sector_number = 0;
    bf->req[slot] = (struct bf_req){ .busy = true, .done = done, .cookie = cookie };
    bf->ring.req_prod_pvt++;
    bf->inflight++;
    post(bf);
    return 0;
}

unsigned int blkfront_poll(struct blkfront *bf)
{
    unsigned int n = 0;
    int more;

    do {
        RING_IDX rp = bf->ring.sring->rsp_prod;

        xen_rmb();
        while (bf->ring.rsp_cons != rp) {
            blkif_response_t rsp = *RING_GET_RESPONSE(&bf->ring, bf->ring.rsp_cons);

            bf->ring.rsp_cons++;
            if (rsp.id >= NR_REQS || !bf->req[rsp.id].busy)
                continue;                   /* not ours: a confused back-end */
            struct bf_req *r = &bf->req[rsp.id];
            end_grants(r);
            r->busy = false;
            bf->inflight--;
            n++;
            if (r->done)
                r->done(r->cookie, rsp.status == BLKIF_RSP_OKAY ? 0 :
                                   rsp.status == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP
                                                                      : -XEN_EIO);
        }
        RING_FINAL_CHECK_FOR_RESPONSES(&bf->ring, more);
    } while (more);
    return n;
}

unsigned int blkfront_wait(struct blkfront *bf, uint64_t timeout_ns)
{
    uint64_t deadline = xenbus_now_ns() + timeout_ns;
    unsigned int n;

    if (bf->suspended && !bf->inflight) {
        bf->env.wait(bf->env.opaque, timeout_ns);   /* until resumed (it wakes us) */
        return 0;
    }
    while (!(n = blkfront_poll(bf)) && bf->inflight && xenbus_now_ns() < deadline) {
        bool flags = pv_irq_save();
        if (bf->ring.sring->rsp_prod == bf->ring.rsp_cons)
            bf->env.wait(bf->env.opaque, deadline - xenbus_now_ns());
        pv_irq_restore(flags);
    }
    return n;
}

struct sync_done {
    bool done;
    int status;
};

static void sync_cb(void *cookie, int status)
{
    struct sync_done *d = cookie;

    d->done = true;
    d->status = status;
}

int blkfront_rw(struct blkfront *bf, bool write, uint64_t sector, void *buf, uint32_t bytes)
{
    struct sync_done d = { false, 0 };
    int rc;

    while ((rc = blkfront_submit(bf, write, sector, buf, bytes, sync_cb, &d)) == -XEN_EAGAIN)
        (void)blkfront_wait(bf, 1000000000ULL);
    if (rc)
        return rc;
    while (!d.done)
        if (!blkfront_wait(bf, 30000000000ULL) && !d.done)
            return -XEN_ETIMEDOUT;
    return d.status;
}

void blkfront_close(struct blkfront *bf)
{
    uint64_t deadline;
    char be[112], id[24], tok[40];

    if (!bf)
        return;
    track(bf, false);
    while (bf->inflight && blkfront_wait(bf, 5000000000ULL))
        ;
    (void)xenbus_switch_state(bf->node, XenbusStateClosing);
    deadline = xenbus_now_ns() + 5000000000ULL;
    (void)wait_backend(bf, 1u << XenbusStateClosing | 1u << XenbusStateClosed |
                           1u << XenbusStateUnknown, deadline);
    (void)xenbus_switch_state(bf->node, XenbusStateClosed);
    (void)wait_backend(bf, 1u << XenbusStateClosed | 1u << XenbusStateUnknown |
                           1u << XenbusStateInitWait, deadline);
    xenbus_utoa(id, bf->devid);
    xenbus_path_join(tok, sizeof(tok), "blkfront-", id);
    xenbus_path_join(be, sizeof(be), bf->backend, "/state");
    (void)xenbus_unwatch(be, tok);
    (void)pv_evtchn_set_handler(bf->port, NULL, NULL);
    (void)pv_evtchn_close(bf->port);
    bool leaked = false;
    for (unsigned int i = 0; i < bf->nr_pg; i++)
        leaked |= gnttab_end_access(bf->pg[i].ref) != 0;   /* still mapped: keep granted */
    if (gnttab_end_access(bf->ring_ref) || leaked)
        return;                     /* still mapped: leak the ring page, never reuse it */
    free_all(bf);
}
