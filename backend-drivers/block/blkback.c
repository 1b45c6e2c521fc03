/*
 * blkback.c - the block back-end (blkback.h): xenbus state machine in the
 * agent's thread, ring and disk data path in the "blkback" thread.
 *
 * Data moves by grant mapping (default) or grant copy (blkback_set_copy_mode).
 *
 * Hand-off between the two threads is by vbd->phase.  The control side
 * moves INITWAIT -> CONNECTED (ring mapped, event channel bound) and asks
 * for DRAINING (stop taking requests); the data side answers DRAINED once
 * nothing is in flight on the disk, and may itself declare BROKEN.  The
 * data side handles a vbd with events masked (no preemption), so the
 * control side, which frees a vbd only after taking it out of the table
 * with events masked, never frees one under it.
 */
#include "blkback.h"
#include "virtio_blk.h"
#include "xenbus_back.h"
#include "kernel.h"
#include <pv/evtchn.h>
#include <pv/irq.h>
#include <pv/mm.h>

#define NR_SLOTS        __CONST_RING_SIZE(blkif, XC_PAGE_SIZE)     /* 32 */
#define SEGS_PER_PAGE   (XC_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define PROTOCOL_NATIVE "x86_64-abi"

enum phase {
    PH_INITWAIT,        /* waiting for the front-end's ring */
    PH_CONNECTED,       /* data path serves the ring */
    PH_DRAINING,        /* control asked: take nothing new, finish in flight */
    PH_BROKEN,          /* data path found the ring broken: as DRAINING */
    PH_DRAINED,         /* data path is done with ring and disk */
};

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_ON_DISK };

struct bb_slot {
    uint8_t state;              /* enum slot_state */
    uint8_t op;                 /* BLKIF_OP_* as the front-end sent it */
    uint8_t dir;                /* VBLK_READ / VBLK_WRITE / VBLK_FLUSH */
    uint64_t id;
    uint64_t sector;
    unsigned int nseg;
    bool copied;                /* grant-copy mode: data goes through `bounce` */
    grant_handle_t handle[BLKBACK_MAX_INDIRECT_SEGS];
    struct vblk_seg seg[BLKBACK_MAX_INDIRECT_SEGS];
    struct bb_bounce *bounce;   /* grant-copy mode only, made on first use */
    struct vbd *vbd;
};

/* Grant-copy mode: a dom0 page per segment, the segments' grants. */
struct bb_bounce {
    uint64_t pfn[BLKBACK_MAX_INDIRECT_SEGS];    /* 0: not yet allocated */
    struct blkif_request_segment seg[BLKBACK_MAX_INDIRECT_SEGS];
};

struct vbd {
    uint32_t domid, devid;
    char be[64], fe[80];
    unsigned int slot_pci;
    bool readonly;
    const char *why;            /* last disconnect reason, for the log */
    volatile int phase;         /* enum phase */
    bool removing;
    enum xenbus_state state;    /* ours */
    struct vblk *disk;
    blkif_back_ring_t ring;
    void *ring_va;
    uint32_t ring_handle;
    evtchn_port_t port;
    bool rsp_pending;           /* responses written, not yet pushed */
    bool persistent;            /* both ends said feature-persistent */
    struct pgnt *pg;            /* persistent grants, [BLKBACK_MAX_PGNT] */
    unsigned int nr_pg;
    uint16_t *pg_hash;          /* [PG_HASH]: index + 1 into pg, 0 empty */
    struct bb_slot *slots;      /* [NR_SLOTS] */
    unsigned int busy_slots;
    struct blkif_request_segment *indirect;     /* one page, dom0's */
    uint64_t indirect_mfn;
    uint64_t reqs, errors, bytes;
};

/* A grant kept mapped for the disk while the vbd is connected (Linux's
 * persistent grants: the front-end promises the reference keeps naming the
 * same page). */
struct pgnt {
    grant_ref_t gref;
    grant_handle_t handle;
    uint64_t bus;               /* dev_bus_addr of the page */
};
#define PG_HASH         2048u   /* open addressing over gref */
#define HANDLE_NONE     ((grant_handle_t)~0u)
#define HANDLE_PERSIST  ((grant_handle_t)~1u)

static xc_interface *bb_xch;
static bool copy_mode;
static bool no_persistent;      /* refuse feature-persistent (measurement) */
static struct vbd *vbds[BLKBACK_MAX_VBDS];
static struct thread *data_thread;

/* ---- responses and grants --------------------------------------------------- */

/* Writes a response; responses_push() publishes it. */
static void respond(struct vbd *v, uint64_t id, uint8_t op, int16_t st)
{
    blkif_response_t *r = RING_GET_RESPONSE(&v->ring, v->ring.rsp_prod_pvt);

    r->id = id;
    r->operation = op;
    r->status = st;
    v->ring.rsp_prod_pvt++;
    v->rsp_pending = true;
    if (st != BLKIF_RSP_OKAY)
        v->errors++;
}

/* The grant unmaps of a batch of completions go in one hypercall. */
#define UNMAP_BATCH 256
static struct gnttab_unmap_grant_ref unmap_q[UNMAP_BATCH];
static unsigned int unmap_n;

static void unmap_flush(void)
{
    if (unmap_n && HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, unmap_q, unmap_n))
        kprintf("blkback: unmap failed\n");
    unmap_n = 0;
}

/* Makes the responses written so far visible (after their grants are
 * unmapped, so the front-end may end access at once) and notifies the
 * front-end if it asked (rsp_event). */
static void responses_push(struct vbd *v)
{
    int notify;

    unmap_flush();
    if (!v->rsp_pending)
        return;
    v->rsp_pending = false;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&v->ring, notify);
    if (notify)
        (void)pv_evtchn_send(v->port);
}

/* Queues the unmaps of the device mappings of the first n segments of s
 * (unmap_flush() issues them). */
static void unmap_segs(struct bb_slot *s, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        if (s->handle[i] == HANDLE_PERSIST || s->handle[i] == HANDLE_NONE)
            continue;
        if (unmap_n == UNMAP_BATCH)
            unmap_flush();
        unmap_q[unmap_n].host_addr = 0;
        unmap_q[unmap_n].dev_bus_addr = s->seg[i].maddr & ~(uint64_t)(XC_PAGE_SIZE - 1);
        unmap_q[unmap_n].handle = s->handle[i];
        unmap_n++;
    }
}

static void slot_free(struct vbd *v, struct bb_slot *s)
{
    s->state = SLOT_FREE;
    v->busy_slots--;
}

static bool copy_segs(struct vbd *v, struct bb_slot *s, bool from_guest);

/* The disk finished s. */
static void disk_done(void *cookie, int status)
{
    struct bb_slot *s = cookie;
    struct vbd *v = s->vbd;

    if (s->copied) {
        if (!status && s->dir == VBLK_READ && !copy_segs(v, s, false))
            status = -XEN_EIO;
    } else {
        unmap_segs(s, s->nseg);
    }
    if (!status && s->dir != VBLK_FLUSH)
        for (unsigned int i = 0; i < s->nseg; i++)
            v->bytes += s->seg[i].len;
    respond(v, s->id, s->op, status ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY);
    slot_free(v, s);
}

/* The persistent grant for gref, or NULL. */
static struct pgnt *pg_find(struct vbd *v, grant_ref_t gref)
{
    for (unsigned int h = gref % PG_HASH, n = 0; n < PG_HASH; h = (h + 1) % PG_HASH, n++) {
        if (!v->pg_hash[h])
            return NULL;
        if (v->pg[v->pg_hash[h] - 1].gref == gref)
            return &v->pg[v->pg_hash[h] - 1];
    }
    return NULL;
}

static void pg_add(struct vbd *v, grant_ref_t gref, grant_handle_t handle, uint64_t bus)
{
    unsigned int h = gref % PG_HASH;

    while (v->pg_hash[h])
        h = (h + 1) % PG_HASH;
    v->pg[v->nr_pg] = (struct pgnt){ gref, handle, bus };
    v->pg_hash[h] = (uint16_t)(++v->nr_pg);
}

/* Unmaps every persistent grant (the vbd disconnects). */
static void pg_drop(struct vbd *v)
{
    struct bb_slot s;

    for (unsigned int i = 0; i < v->nr_pg; i++) {
        s.handle[0] = v->pg[i].handle;
        s.seg[0].maddr = v->pg[i].bus;
        unmap_segs(&s, 1);
    }
    unmap_flush();
    v->nr_pg = 0;
    if (v->pg_hash)
        memset(v->pg_hash, 0, PG_HASH * sizeof(*v->pg_hash));
}

/* Maps the grants of segs[0..nseg) for the disk and fills s->seg with bus
 * addresses.  Without persistent grants each is mapped for this request
 * (read-only when the disk only reads it); with them, a grant already kept
 * is used as it is, a new one is mapped writable and kept while there is
 * room (BLKBACK_MAX_PGNT), else mapped for this request only.  false
 * (nothing mapped for this request left) if any grant was refused. */
static bool map_segs(struct vbd *v, struct bb_slot *s, const struct blkif_request_segment *segs)
{
    struct gnttab_map_grant_ref m[32];
    unsigned int at[32];
    bool keep[32];
    unsigned int i = 0;
    bool ok = true;

    while (i < s->nseg) {
        unsigned int k = 0;

        for (; k < ARRAY_SIZE(m) && i < s->nseg; i++) {
            struct pgnt *p = v->persistent ? pg_find(v, segs[i].gref) : NULL;

            s->seg[i].len = (uint32_t)(segs[i].last_sect - segs[i].first_sect + 1) *
                            VBLK_SECTOR_SIZE;
            if (p) {
                s->handle[i] = HANDLE_PERSIST;
                s->seg[i].maddr = p->bus + segs[i].first_sect * VBLK_SECTOR_SIZE;
                continue;
            }
            keep[k] = v->persistent && v->nr_pg + k < BLKBACK_MAX_PGNT;
            memset(&m[k], 0, sizeof(m[k]));
            m[k].flags = GNTMAP_device_map |
                         (!keep[k] && s->dir == VBLK_WRITE ? GNTMAP_readonly : 0);
            m[k].ref = segs[i].gref;
            m[k].dom = (domid_t)v->domid;
            at[k++] = i;
        }
        if (!k)
            continue;
        if (HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, m, k))
            for (unsigned int j = 0; j < k; j++)
                m[j].status = GNTST_general_error;
        for (unsigned int j = 0; j < k; j++) {
            unsigned int x = at[j];

            if (m[j].status != GNTST_okay) {
                ok = false;
                s->handle[x] = HANDLE_NONE;
                continue;
            }
            s->seg[x].maddr = m[j].dev_bus_addr + segs[x].first_sect * VBLK_SECTOR_SIZE;
            if (keep[j] && !pg_find(v, m[j].ref)) {
                pg_add(v, m[j].ref, m[j].handle, m[j].dev_bus_addr);
                s->handle[x] = HANDLE_PERSIST;
            } else {
                s->handle[x] = m[j].handle;     /* a duplicate in one batch: this request's */
            }
        }
    }
    if (!ok) {
        /* Undo the ones mapped for this request. */
        for (unsigned int i = 0; i < s->nseg; i++) {
            if (s->handle[i] == HANDLE_NONE || s->handle[i] == HANDLE_PERSIST)
                continue;
            struct gnttab_unmap_grant_ref u = {
                .dev_bus_addr = s->seg[i].maddr & ~(uint64_t)(XC_PAGE_SIZE - 1),
                .handle = s->handle[i],
            };
            (void)HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &u, 1);
        }
    }
    return ok;
}

/* Grant-copy mode: the slot's bounce pages (allocated on first use), its
 * segments' bus addresses into s->seg.  false if dom0 is out of memory. */
static bool bounce_segs(struct bb_slot *s, const struct blkif_request_segment *segs)
{
    if (!s->bounce && !(s->bounce = kzalloc(sizeof(*s->bounce))))
        return false;
    for (unsigned int i = 0; i < s->nseg; i++) {
        if (!s->bounce->pfn[i] && !(s->bounce->pfn[i] = core_alloc_frame()))
            return false;
        s->bounce->seg[i] = segs[i];
        s->seg[i].maddr = (pv_pfn_to_mfn(s->bounce->pfn[i]) << XC_PAGE_SHIFT) +
                          segs[i].first_sect * VBLK_SECTOR_SIZE;
        s->seg[i].len = (uint32_t)(segs[i].last_sect - segs[i].first_sect + 1) * VBLK_SECTOR_SIZE;
    }
    return true;
}

/* Grant-copy mode: GNTTABOP_copy between the guest's grants and the
 * bounce pages, to the guest (reads, after the disk) or from it (writes,
 * before).  false if any copy failed. */
static bool copy_segs(struct vbd *v, struct bb_slot *s, bool from_guest)
{
    struct gnttab_copy c[32];

    for (unsigned int i = 0; i < s->nseg;) {
        unsigned int k = 0;

        for (; k < ARRAY_SIZE(c) && i < s->nseg; k++, i++) {
            const struct blkif_request_segment *g = &s->bounce->seg[i];
            struct gnttab_copy_ptr guest = { .u.ref = g->gref, .domid = (domid_t)v->domid,
                                             .offset = (uint16_t)(g->first_sect * VBLK_SECTOR_SIZE) };
            struct gnttab_copy_ptr mine = { .u.gmfn = pv_pfn_to_mfn(s->bounce->pfn[i]),
                                            .domid = DOMID_SELF, .offset = guest.offset };

            c[k].source = from_guest ? guest : mine;
            c[k].dest = from_guest ? mine : guest;
            c[k].len = (uint16_t)s->seg[i].len;
            c[k].flags = from_guest ? GNTCOPY_source_gref : GNTCOPY_dest_gref;
        }
        if (HYPERVISOR_grant_table_op(GNTTABOP_copy, c, k))
            return false;
        for (unsigned int j = 0; j < k; j++)
            if (c[j].status != GNTST_okay)
                return false;
    }
    return true;
}

/* Copies the indirect segment pages of r into v->indirect (one page
 * holds SEGS_PER_PAGE segments; BLKBACK_MAX_INDIRECT_SEGS fit in one). */
static bool fetch_indirect(struct vbd *v, const struct blkif_request_indirect *r, unsigned int nseg)
{
    struct gnttab_copy c;

    memset(&c, 0, sizeof(c));
    c.source.u.ref = r->indirect_grefs[0];
    c.source.domid = (domid_t)v->domid;
    c.dest.u.gmfn = v->indirect_mfn;
    c.dest.domid = DOMID_SELF;
    c.len = (uint16_t)(nseg * sizeof(struct blkif_request_segment));
    c.flags = GNTCOPY_source_gref;
    return HYPERVISOR_grant_table_op(GNTTABOP_copy, &c, 1) == 0 && c.status == GNTST_okay;
}

/* Submits a mapped or flush slot; false if the disk is full for now. */
static bool submit(struct vbd *v, struct bb_slot *s)
{
    int rc = vblk_submit(v->disk, (enum vblk_op)s->dir, s->sector, s->seg,
                         s->dir == VBLK_FLUSH ? 0 : s->nseg, s);

    if (rc == -XEN_EAGAIN) {
        s->state = SLOT_QUEUED;
        return false;
    }
    if (rc) {
        if (!s->copied)
            unmap_segs(s, s->dir == VBLK_FLUSH ? 0 : s->nseg);
        respond(v, s->id, s->op, BLKIF_RSP_ERROR);
        slot_free(v, s);
        return true;
    }
    s->state = SLOT_ON_DISK;
    return true;
}

/* One request, already copied out of the ring (no double fetch). */
static void dispatch(struct vbd *v, struct bb_slot *s, const blkif_request_t *req)
{
    const struct blkif_request_segment *segs = req->seg;
    uint64_t nsect = 0;

    s->op = req->operation;
    s->id = req->id;
    s->vbd = v;
    s->nseg = 0;
    v->reqs++;
    switch (req->operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        s->dir = req->operation == BLKIF_OP_READ ? VBLK_READ : VBLK_WRITE;
        s->nseg = req->nr_segments;
        s->sector = req->sector_number;
        if (s->nseg == 0 || s->nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            goto error;
        break;
    case BLKIF_OP_INDIRECT: {
        const struct blkif_request_indirect *r = (const void *)req;

        if (r->indirect_op != BLKIF_OP_READ && r->indirect_op != BLKIF_OP_WRITE)
            goto error;
        s->dir = r->indirect_op == BLKIF_OP_READ ? VBLK_READ : VBLK_WRITE;
        s->nseg = r->nr_segments;
        s->sector = r->sector_number;
        if (s->nseg == 0 || s->nseg > BLKBACK_MAX_INDIRECT_SEGS || !fetch_indirect(v, r, s->nseg))
            goto error;
        segs = v->indirect;
        break;
    }
    case BLKIF_OP_FLUSH_DISKCACHE:
        if (!vblk_has_flush(v->disk))
            goto unsupported;
        s->dir = VBLK_FLUSH;
        s->nseg = 0;
        s->copied = false;
        (void)submit(v, s);
        return;
    default:
        goto unsupported;
    }
    if (s->dir == VBLK_WRITE && v->readonly)
        goto error;
    for (unsigned int i = 0; i < s->nseg; i++) {
        if (segs[i].first_sect > segs[i].last_sect ||
            segs[i].last_sect >= XC_PAGE_SIZE / VBLK_SECTOR_SIZE)
            goto error;
        nsect += segs[i].last_sect - segs[i].first_sect + 1u;
    }
    if (s->sector >= vblk_sectors(v->disk) || nsect > vblk_sectors(v->disk) - s->sector)
        goto error;
    s->copied = copy_mode;
    if (s->copied ? !bounce_segs(s, segs) || (s->dir == VBLK_WRITE && !copy_segs(v, s, true))
                  : !map_segs(v, s, segs))
        goto error;
    (void)submit(v, s);
    return;

error:
    s->nseg = 0;
    respond(v, s->id, s->op, BLKIF_RSP_ERROR);
    slot_free(v, s);
    return;
unsupported:
    respond(v, s->id, s->op, BLKIF_RSP_EOPNOTSUPP);
    slot_free(v, s);
}

static struct bb_slot *slot_get(struct vbd *v)
{
    for (unsigned int i = 0; i < NR_SLOTS; i++) {
        if (v->slots[i].state == SLOT_FREE) {
            v->slots[i].state = SLOT_QUEUED;
            v->busy_slots++;
            return &v->slots[i];
        }
    }
    return NULL;
}

/* Takes what the front-end posted; true if anything moved. */
static bool take_requests(struct vbd *v)
{
    bool any = false;
    int more;

    do {
        RING_IDX rp = v->ring.sring->req_prod;

        xen_rmb();
        if (rp - v->ring.req_cons > RING_SIZE(&v->ring)) {
            kprintf("blkback: d%u vbd %u: producer index %u is %u past our %u: disconnecting\n",
                    v->domid, v->devid, rp, rp - v->ring.req_cons, v->ring.req_cons);
            v->why = "producer index beyond the ring";
            v->phase = PH_BROKEN;
            return true;
        }
        while (v->ring.req_cons != rp) {
            struct bb_slot *s = slot_get(v);
            blkif_request_t req;

            if (!s)
                return true;
            memcpy(&req, RING_GET_REQUEST(&v->ring, v->ring.req_cons), sizeof(req));
            v->ring.req_cons++;
            dispatch(v, s, &req);
            any = true;
        }
        RING_FINAL_CHECK_FOR_REQUESTS(&v->ring, more);
    } while (more);
    return any;
}

/* The data path's work on one vbd, events masked.  true if anything moved. */
static bool vbd_work(struct vbd *v)
{
    bool moved = false;

    if (v->phase == PH_INITWAIT || v->phase == PH_DRAINED)
        return false;
    moved = vblk_poll(v->disk, disk_done) > 0;
    vblk_plug(v->disk);
    for (unsigned int i = 0; i < NR_SLOTS; i++)
        if (v->slots[i].state == SLOT_QUEUED && v->slots[i].vbd == v &&
            (v->slots[i].nseg || v->slots[i].dir == VBLK_FLUSH))
            moved |= submit(v, &v->slots[i]);
    if (v->phase == PH_CONNECTED)
        moved |= take_requests(v);
    vblk_unplug(v->disk);
    responses_push(v);
    if ((v->phase == PH_DRAINING || v->phase == PH_BROKEN) && v->busy_slots == 0 &&
        vblk_inflight(v->disk) == 0)
        v->phase = PH_DRAINED;
    return moved;
}

static void data_main(void *arg)
{
    (void)arg;
    for (;;) {
        bool moved = false, inflight = false;

        for (unsigned int i = 0; i < BLKBACK_MAX_VBDS; i++) {
            bool flags = pv_irq_save();
            struct vbd *v = vbds[i];

            if (v) {
                moved |= vbd_work(v);
                inflight |= v->busy_slots != 0;
            }
            pv_irq_restore(flags);
        }
        if (moved)
            continue;
        if (inflight)
            (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);     /* let QEMU and guests run */
        else
            thread_sleep_ns(10000000ULL);       /* an event wakes us earlier */
    }
}

static void ring_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    if (data_thread)
        thread_wake(data_thread);
}

/* ---- control: xenbus ------------------------------------------------------------ */

static int connect(struct vbd *v)
{
    char path[128], proto[32];
    uint64_t ref, port, order = 0;
    int rc;

    ksnprintf(path, sizeof(path), "%s/ring-page-order", v->fe);
    if (xenbus_back_read_u64(path, &order) == 0 && order != 0) {
        v->why = "ring-page-order > 0 is not offered";
        return -XEN_EINVAL;
    }
    ksnprintf(path, sizeof(path), "%s/ring-ref", v->fe);
    if (xenbus_back_read_u64(path, &ref)) {
        ksnprintf(path, sizeof(path), "%s/ring-ref0", v->fe);
        if (xenbus_back_read_u64(path, &ref)) {
            v->why = "no ring-ref";
            return -XEN_EINVAL;
        }
    }
    ksnprintf(path, sizeof(path), "%s/event-channel", v->fe);
    if (xenbus_back_read_u64(path, &port) || port == 0 || port > 0xffffffffu) {
        v->why = "no event-channel";
        return -XEN_EINVAL;
    }
    ksnprintf(path, sizeof(path), "%s/protocol", v->fe);
    if (xenbus_back_read(path, proto, sizeof(proto)) >= 0 && strncmp(proto, PROTOCOL_NATIVE, 32)) {
        v->why = "protocol is not x86_64-abi";
        return -XEN_EINVAL;
    }
    uint64_t pers = 0;
    ksnprintf(path, sizeof(path), "%s/feature-persistent", v->fe);
    v->persistent = xenbus_back_read_u64(path, &pers) == 0 && pers == 1 && v->pg && !copy_mode &&
                    !no_persistent;
    v->ring_va = xc_gnttab_map(bb_xch, v->domid, (uint32_t)ref, XC_PROT_READ | XC_PROT_WRITE,
                               &v->ring_handle);
    if (!v->ring_va) {
        v->why = "ring-ref cannot be mapped";
        return -errno;
    }
    rc = pv_evtchn_bind_interdomain((domid_t)v->domid, (evtchn_port_t)port, &v->port);
    if (rc) {
        (void)xc_gnttab_unmap(bb_xch, v->ring_va, v->ring_handle);
        v->ring_va = NULL;
        v->why = "event-channel cannot be bound";
        return rc;
    }
    BACK_RING_INIT(&v->ring, (blkif_sring_t *)v->ring_va, XC_PAGE_SIZE);
    (void)pv_evtchn_set_handler(v->port, ring_event, v);
    pv_evtchn_unmask(v->port);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    v->phase = PH_CONNECTED;
    if (data_thread)
        thread_wake(data_thread);
    return 0;
}

/* The data path is done (DRAINED): let go of the ring. */
static void disconnect(struct vbd *v)
{
    pg_drop(v);
    if (v->port) {
        (void)pv_evtchn_set_handler(v->port, NULL, NULL);
        (void)pv_evtchn_close(v->port);
        v->port = 0;
    }
    if (v->ring_va) {
        (void)xc_gnttab_unmap(bb_xch, v->ring_va, v->ring_handle);
        v->ring_va = NULL;
    }
}

static void set_state(struct vbd *v, enum xenbus_state s)
{
    if (v->state == s)
        return;
    v->state = s;
    (void)xenbus_back_switch_state(v->be, s);
}

/* Runs the state machine of v after any change (watch or phase). */
static void vbd_step(struct vbd *v)
{
    enum xenbus_state fe = xenbus_back_read_state(v->fe);

    switch (v->phase) {
    case PH_INITWAIT:
        if (v->removing)
            break;
        if (fe == XenbusStateInitialised || fe == XenbusStateConnected) {
            int rc = connect(v);

            if (rc) {
                kprintf("blkback: d%u vbd %u: cannot connect (%d): %s\n", v->domid, v->devid,
                        rc, v->why);
                set_state(v, XenbusStateClosing);
            } else {
                kprintf("blkback: d%u vbd %u connected (%lu sectors%s)\n", v->domid, v->devid,
                        (unsigned long)vblk_sectors(v->disk), v->readonly ? ", read-only" : "");
                set_state(v, XenbusStateConnected);
            }
        } else if ((fe == XenbusStateInitialising || fe == XenbusStateUnknown) &&
                   v->state != XenbusStateInitWait) {
            set_state(v, XenbusStateInitWait);       /* the front-end (re)starts */
        } else if (fe == XenbusStateClosing || fe == XenbusStateClosed) {
            set_state(v, XenbusStateClosed);
        }
        break;
    case PH_CONNECTED:
        if (v->removing || fe != XenbusStateConnected) {
            v->why = v->removing ? "removed" : "front-end closed";
            v->phase = PH_DRAINING;
        }
        break;
    case PH_BROKEN:
        set_state(v, XenbusStateClosing);
        break;
    case PH_DRAINED:
        disconnect(v);
        kprintf("blkback: d%u vbd %u disconnected (%s)\n", v->domid, v->devid,
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
    vbd_step(opaque);
}

static int vbd_index(uint32_t domid, uint32_t devid)
{
    for (int i = 0; i < BLKBACK_MAX_VBDS; i++)
        if (vbds[i] && vbds[i]->domid == domid && vbds[i]->devid == devid)
            return i;
    return -1;
}

void blkback_set_copy_mode(bool copy)
{
    copy_mode = copy;
}

bool blkback_copy_mode(void)
{
    return copy_mode;
}

void blkback_set_persistent(bool allow)
{
    no_persistent = !allow;
}

bool blkback_persistent(void)
{
    return !no_persistent;
}

int blkback_start(xc_interface *xch)
{
    bb_xch = xch;
    if (data_thread)
        return 0;
    int rc = xenbus_back_init();
    if (rc)
        return rc;
    data_thread = thread_create("blkback", data_main, NULL);
    return data_thread ? 0 : -XEN_ENOMEM;
}

static void vbd_free(struct vbd *v)
{
    if (!v)
        return;
    vblk_close(v->disk);
    for (unsigned int i = 0; v->slots && i < NR_SLOTS; i++) {
        struct bb_bounce *b = v->slots[i].bounce;

        for (unsigned int k = 0; b && k < BLKBACK_MAX_INDIRECT_SEGS; k++)
            if (b->pfn[k])
                core_free_frame(b->pfn[k]);
        kfree(b);
    }
    kfree(v->slots);
    kfree(v->pg);
    kfree(v->pg_hash);
    if (v->indirect)
        core_free_frame(arch_virt_to_pfn(v->indirect));
    kfree(v);
}

int blkback_add(uint32_t domid, uint32_t devid, unsigned int slot, bool readonly,
                const char *params)
{
    struct vbd *v;
    int free_i = -1, rc;
    char fe_dom[48];

    if (vbd_index(domid, devid) >= 0)
        return -XEN_EEXIST;
    for (int i = 0; i < BLKBACK_MAX_VBDS && free_i < 0; i++)
        if (!vbds[i])
            free_i = i;
    if (free_i < 0)
        return -XEN_ENOSPC;
    if (!(v = kzalloc(sizeof(*v))) || !(v->slots = kzalloc(NR_SLOTS * sizeof(*v->slots))) ||
        !(v->pg = kzalloc(BLKBACK_MAX_PGNT * sizeof(*v->pg))) ||
        !(v->pg_hash = kzalloc(PG_HASH * sizeof(*v->pg_hash)))) {
        if (v) {
            kfree(v->slots);
            kfree(v->pg);
        }
        kfree(v);
        return -XEN_ENOMEM;
    }
    uint64_t ipfn = core_alloc_frame();
    if (!ipfn) {
        vbd_free(v);
        return -XEN_ENOMEM;
    }
    v->indirect = arch_pfn_to_virt(ipfn);
    v->indirect_mfn = pv_pfn_to_mfn(ipfn);
    v->domid = domid;
    v->devid = devid;
    v->slot_pci = slot;
    v->readonly = readonly;
    v->phase = PH_INITWAIT;
    ksnprintf(v->be, sizeof(v->be), "backend/vbd/%u/%u", domid, devid);
    ksnprintf(fe_dom, sizeof(fe_dom), "/local/domain/%u", domid);
    ksnprintf(v->fe, sizeof(v->fe), "%s/device/vbd/%u", fe_dom, devid);
    v->disk = vblk_open(bb_xch, slot, &rc);
    if (!v->disk) {
        vbd_free(v);
        return rc;
    }
    if (!readonly && vblk_readonly(v->disk)) {
        vbd_free(v);
        return -XEN_EROFS;
    }
    /* Xen's layout (libxl's device_disk_add, then blkback's own keys). */
    char be_abs[80];
    ksnprintf(be_abs, sizeof(be_abs), "/local/domain/0/%s", v->be);
    memcpy(v->be, be_abs, sizeof(v->be) - 1);
    v->be[sizeof(v->be) - 1] = 0;
    /* Each directory first, with its permissions: its keys inherit them. */
    rc = xenbus_back_printf(v->be, "", "%s", "");
    rc = rc ?: xenbus_back_set_perms(v->be, 0, (domid_t)domid);
    rc = rc ?: xenbus_back_printf(v->fe, "", "%s", "");
    rc = rc ?: xenbus_back_set_perms(v->fe, (domid_t)domid, 0);
    rc = rc ?: xenbus_back_printf(v->be, "frontend", "%s", v->fe);
    rc = rc ?: xenbus_back_printf(v->be, "frontend-id", "%u", domid);
    rc = rc ?: xenbus_back_printf(v->be, "online", "1");
    rc = rc ?: xenbus_back_printf(v->be, "type", "phy");
    rc = rc ?: xenbus_back_printf(v->be, "params", "%s", params ? params : "");
    rc = rc ?: xenbus_back_printf(v->be, "mode", "%s", readonly ? "r" : "w");
    rc = rc ?: xenbus_back_printf(v->be, "dev", "xvd%c", 'a' + (int)((devid >> 4) & 15));
    rc = rc ?: xenbus_back_printf(v->be, "sectors", "%lu", (unsigned long)vblk_sectors(v->disk));
    rc = rc ?: xenbus_back_printf(v->be, "sector-size", "%u", VBLK_SECTOR_SIZE);
    rc = rc ?: xenbus_back_printf(v->be, "physical-sector-size", "%u", VBLK_SECTOR_SIZE);
    rc = rc ?: xenbus_back_printf(v->be, "info", "%u", readonly ? VDISK_READONLY : 0);
    rc = rc ?: xenbus_back_printf(v->be, "feature-flush-cache", "%d", vblk_has_flush(v->disk));
    rc = rc ?: xenbus_back_printf(v->be, "feature-persistent", "1");
    rc = rc ?: xenbus_back_printf(v->be, "feature-discard", "0");
    rc = rc ?: xenbus_back_printf(v->be, "feature-max-indirect-segments", "%u",
                                  BLKBACK_MAX_INDIRECT_SEGS);
    rc = rc ?: xenbus_back_printf(v->be, "max-ring-page-order", "0");
    rc = rc ?: xenbus_back_printf(v->be, "state", "%d", XenbusStateInitialising);
    rc = rc ?: xenbus_back_printf(v->fe, "backend", "%s", v->be);
    rc = rc ?: xenbus_back_printf(v->fe, "backend-id", "0");
    rc = rc ?: xenbus_back_printf(v->fe, "virtual-device", "%u", devid);
    rc = rc ?: xenbus_back_printf(v->fe, "device-type", "disk");
    rc = rc ?: xenbus_back_printf(v->fe, "state", "%d", XenbusStateInitialising);
    if (rc) {
        (void)xenbus_back_rm(v->be);
        (void)xenbus_back_rm(v->fe);
        vbd_free(v);
        return rc;
    }
    v->state = XenbusStateInitialising;
    bool flags = pv_irq_save();
    vbds[free_i] = v;
    pv_irq_restore(flags);
    set_state(v, XenbusStateInitWait);
    char st[100];
    ksnprintf(st, sizeof(st), "%s/state", v->fe);
    rc = xenbus_back_watch(st, fe_watch, v);
    if (rc)
        kprintf("blkback: d%u vbd %u: cannot watch %s (%d)\n", domid, devid, st, rc);
    return 0;
}

int blkback_remove(uint32_t domid, uint32_t devid)
{
    int i = vbd_index(domid, devid);

    if (i < 0)
        return -XEN_ENOENT;
    vbds[i]->removing = true;
    vbd_step(vbds[i]);
    blkback_control();
    return 0;
}

void blkback_remove_domain(uint32_t domid)
{
    for (int i = 0; i < BLKBACK_MAX_VBDS; i++)
        if (vbds[i] && vbds[i]->domid == domid)
            (void)blkback_remove(domid, vbds[i]->devid);
}

void blkback_control(void)
{
    (void)xenbus_back_poll();
    for (int i = 0; i < BLKBACK_MAX_VBDS; i++) {
        struct vbd *v = vbds[i];

        if (!v)
            continue;
        if (v->phase == PH_DRAINED || v->phase == PH_BROKEN)
            vbd_step(v);
        if (v->removing && v->phase == PH_INITWAIT) {
            bool flags = pv_irq_save();
            vbds[i] = NULL;
            pv_irq_restore(flags);
            xenbus_back_unwatch(v);
            (void)xenbus_back_rm(v->be);
            (void)xenbus_back_rm(v->fe);
            kprintf("blkback: d%u vbd %u removed (%lu requests, %lu errors)\n", v->domid,
                    v->devid, (unsigned long)v->reqs, (unsigned long)v->errors);
            vbd_free(v);
        }
    }
}

bool blkback_slot_free(unsigned int slot)
{
    for (int i = 0; i < BLKBACK_MAX_VBDS; i++)
        if (vbds[i] && vbds[i]->slot_pci == slot)
            return false;
    return true;
}

unsigned int blkback_list(uint32_t domid, struct blkback_stats *out, unsigned int max)
{
    unsigned int n = 0;

    for (int i = 0; i < BLKBACK_MAX_VBDS && n < max; i++) {
        struct vbd *v = vbds[i];

        if (!v || (domid != DOMID_INVALID && v->domid != domid))
            continue;
        out[n] = (struct blkback_stats){
            .domid = v->domid, .devid = v->devid, .state = v->state, .readonly = v->readonly,
            .sectors = vblk_sectors(v->disk), .reqs = v->reqs, .errors = v->errors,
            .bytes = v->bytes, .inflight = v->busy_slots,
        };
        n++;
    }
    return n;
}
