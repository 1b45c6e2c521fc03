/*
 * hostile_blk.c - a hostile block front-end, linked into the PV guest
 * kernel for tests/scenario/blk_hostile.sh (`disk=hostile` on the
 * command line).  It connects to its vbd as blkfront does (ring, event
 * channel, Initialised) and then posts what no honest front-end would:
 *
 *   bad-gref      a segment naming a grant reference never granted
 *   foreign-frame a grant of a frame this domain does not own
 *   past-end      a read of the sectors past the end of the disk
 *   too-many-segs 12 direct segments; an indirect request of 300
 *   bad-offsets   last_sect 9 (past the page); first_sect > last_sect
 *   bad-op        operation 99
 *   double-fetch  a valid request, rewritten in the ring (to a bad grant
 *                 and sector) right after it was posted
 *   ring-overflow req_prod a thousand entries past what was consumed
 * and, on its own grant table, that ending access to a grant while it is
 * mapped is refused (-EBUSY) and works once the mapping is gone.
 *
 * Each case must come back as an error response (BLKIF_RSP_ERROR or
 * EOPNOTSUPP), except double-fetch (either version, never a crash) and
 * ring-overflow (the back-end disconnects: state Closing or Closed).
 * It prints "hostile-blk: CASE ok (status S)" or "hostile-blk: CASE
 * FAIL ..." per case, then "hostile-blk: done".  Runs in the guest kernel,
 * init's thread.
 */
#include "xenctrl.h"
#include "guest_service.h"
#include "kernel.h"
#include "../../guest-port/pv/pv.h"
#include <pv/evtchn.h>
#include <pv/gnttab.h>
#include <pv/mm.h>
#include <pv/xenbus.h>

#define NODE    "device/vbd/51712"
#define WAIT_NS 5000000000ULL

static blkif_front_ring_t ring;
static evtchn_port_t port;
static domid_t be_id;
static char be_path[96];
static uint64_t sectors;
static int grant_ok = -1;        /* a page of ours, granted to the back-end */
static uint64_t page_mfn;

/* Our own domain id: the back-end's path names it
 * (/local/domain/0/backend/vbd/<domid>/<devid>). */
static domid_t DOMID_SELF_ID(void)
{
    const char *p = be_path + strlen("/local/domain/0/backend/vbd/");
    unsigned int v = 0;

    while (*p >= '0' && *p <= '9')
        v = v * 10 + (unsigned int)(*p++ - '0');
    return (domid_t)v;
}

static void ring_event(evtchn_port_t p, void *data)
{
    (void)p;
    thread_wake(data);
}

static int push(void)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, notify);
    (void)notify;
    return pv_evtchn_send(port);        /* always: a hostile guest notifies at will */
}

/* Waits for the response to id; its status, or 100 on a timeout. */
static int wait_rsp(uint64_t id)
{
    uint64_t end = arch_now_ns() + WAIT_NS;

    while (arch_now_ns() < end) {
        while (ring.rsp_cons != ring.sring->rsp_prod) {
            blkif_response_t r = *RING_GET_RESPONSE(&ring, ring.rsp_cons);

            ring.rsp_cons++;
            if (r.id == id)
                return r.status;
        }
        thread_sleep_ns(1000000ULL);
    }
    return 100;
}

static blkif_request_t *next_req(uint64_t id, uint8_t op, uint8_t nseg, uint64_t sector)
{
    blkif_request_t *r = RING_GET_REQUEST(&ring, ring.req_prod_pvt);

    memset(r, 0, sizeof(*r));
    r->operation = op;
    r->nr_segments = nseg;
    r->handle = 51712;
    r->id = id;
    r->sector_number = sector;
    ring.req_prod_pvt++;
    return r;
}

static void expect_error(const char *name, int st)
{
    if (st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP)
        kprintf("hostile-blk: %s ok (status %d)\n", name, st);
    else
        kprintf("hostile-blk: %s FAIL (status %d, want an error)\n", name, st);
}

static int connect(void)
{
    uint64_t v, end = arch_now_ns() + WAIT_NS;
    void *sring;
    uint64_t smfn;
    int rc, ref;

    if ((rc = pv_grant_table_start()))
        return rc;
    if (xenbus_read(NODE "/backend", be_path, sizeof(be_path)) <= 0 ||
        xenbus_read_u64(NODE, "backend-id", &v))
        return -XEN_ENOENT;
    be_id = (domid_t)v;
    while (xenbus_read_state(be_path) != XenbusStateInitWait && arch_now_ns() < end)
        thread_sleep_ns(10000000ULL);
    uint64_t pfn = core_alloc_frame(), dpfn = core_alloc_frame();
    if (!pfn || !dpfn)
        return -XEN_ENOMEM;
    sring = arch_pfn_to_virt(pfn);
    smfn = pv_pfn_to_mfn(pfn);
    page_mfn = pv_pfn_to_mfn(dpfn);
    SHARED_RING_INIT((blkif_sring_t *)sring);
    FRONT_RING_INIT(&ring, (blkif_sring_t *)sring, 4096);
    if ((ref = gnttab_grant_access(be_id, smfn, false)) < 0)
        return ref;
    grant_ok = gnttab_grant_access(be_id, page_mfn, false);
    if ((rc = pv_evtchn_alloc_unbound(be_id, &port)))
        return rc;
    (void)pv_evtchn_set_handler(port, ring_event, thread_current());
    pv_evtchn_unmask(port);
    rc = xenbus_write_u64(NODE, "ring-ref", (uint64_t)ref);
    rc = rc ?: xenbus_write_u64(NODE, "event-channel", port);
    rc = rc ?: xenbus_write_str(NODE, "protocol", XEN_IO_PROTO_ABI_X86_64);
    rc = rc ?: xenbus_switch_state(NODE, XenbusStateInitialised);
    if (rc)
        return rc;
    while (xenbus_read_state(be_path) != XenbusStateConnected && arch_now_ns() < end)
        thread_sleep_ns(10000000ULL);
    if (xenbus_read_u64(be_path, "sectors", &sectors))
        return -XEN_ETIMEDOUT;
    (void)xenbus_switch_state(NODE, XenbusStateConnected);
    return 0;
}

static void hostile_main(const struct arch_boot_info *bi)
{
    blkif_request_t *r;
    int rc, st;

    (void)bi;
    if ((rc = connect())) {
        kprintf("hostile-blk: FAIL cannot connect (%d)\n", rc);
        return;
    }
    kprintf("hostile-blk: connected, %lu sectors\n", (unsigned long)sectors);

    /* A sane read first: the back-end serves this front-end at all. */
    r = next_req(1, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 0,
                                                .last_sect = 7 };
    push();
    st = wait_rsp(1);
    kprintf("hostile-blk: sane-read %s (status %d)\n", st == 0 ? "ok" : "FAIL", st);

    r = next_req(2, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = 2000, .first_sect = 0, .last_sect = 7 };
    push();
    expect_error("bad-gref", wait_rsp(2));

    /* A grant entry naming a frame of someone else (MFN 1: the hypervisor's). */
    int foreign = gnttab_grant_access(be_id, 1, false);
    r = next_req(3, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)foreign, .first_sect = 0,
                                                .last_sect = 7 };
    push();
    expect_error("foreign-frame", wait_rsp(3));

    r = next_req(4, BLKIF_OP_READ, 1, sectors);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 0,
                                                .last_sect = 7 };
    push();
    expect_error("past-end", wait_rsp(4));
    r = next_req(5, BLKIF_OP_READ, 1, sectors - 4);     /* 8 sectors, 4 past */
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 0,
                                                .last_sect = 7 };
    push();
    expect_error("past-end-partial", wait_rsp(5));

    r = next_req(6, BLKIF_OP_READ, 12, 0);
    for (int i = 0; i < 11; i++)
        r->seg[i] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .last_sect = 0 };
    push();
    expect_error("too-many-segs", wait_rsp(6));
    {
        struct blkif_request_indirect *ir = (void *)next_req(7, BLKIF_OP_INDIRECT, 0, 0);
        ir->indirect_op = BLKIF_OP_READ;
        ir->nr_segments = 300;
        ir->indirect_grefs[0] = (grant_ref_t)grant_ok;
        push();
        expect_error("too-many-indirect-segs", wait_rsp(7));
    }

    r = next_req(8, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 2,
                                                .last_sect = 9 };
    push();
    expect_error("offset-past-page", wait_rsp(8));
    r = next_req(9, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 5,
                                                .last_sect = 3 };
    push();
    expect_error("first-after-last", wait_rsp(9));

    r = next_req(10, 99, 0, 0);
    push();
    expect_error("bad-op", wait_rsp(10));

    /* Double fetch: post a valid read, rewrite it in the ring at once. */
    r = next_req(11, BLKIF_OP_READ, 1, 0);
    r->seg[0] = (struct blkif_request_segment){ .gref = (grant_ref_t)grant_ok, .first_sect = 0,
                                                .last_sect = 7 };
    push();
    for (int i = 0; i < 1000; i++) {
        volatile blkif_request_t *vr = r;
        vr->seg[0].gref = 2000 + (grant_ref_t)(i & 1);
        vr->sector_number = sectors + (uint64_t)i;
        vr->nr_segments = (uint8_t)(i & 1 ? 200 : 1);
    }
    /* The response shares the request's slot, and the rewrites above may
     * land on it after blkback answered (nr_segments overlaps the
     * response's id): wait for the slot to be answered, by position. */
    {
        uint64_t end = arch_now_ns() + WAIT_NS;
        RING_IDX want = ring.req_prod_pvt;

        st = 100;
        while (arch_now_ns() < end && ring.sring->rsp_prod != want)
            thread_sleep_ns(1000000ULL);
        if (ring.sring->rsp_prod == want) {
            st = RING_GET_RESPONSE(&ring, want - 1)->status;
            ring.rsp_cons = want;
        }
    }
    kprintf("hostile-blk: double-fetch %s (status %d)\n",
            st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR ? "ok" : "FAIL", st);

    /* Every request answered: nothing of ours is mapped any more, so
     * access ends at once. */
    rc = gnttab_end_access((grant_ref_t)grant_ok);
    kprintf("hostile-blk: end-access-unmapped %s (%d)\n", rc == 0 ? "ok" : "FAIL", rc);

    /* Ending access while a mapping exists: refused (-EBUSY) until the
     * mapping goes.  The mapper is this domain itself (a grant to our own
     * id, mapped for the device). */
    {
        int self = gnttab_grant_access(DOMID_SELF_ID(), page_mfn, false);
        struct gnttab_map_grant_ref m = { .flags = GNTMAP_device_map, .ref = (grant_ref_t)self,
                                          .dom = DOMID_SELF };
        int busy, after;

        rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &m, 1);
        busy = gnttab_end_access((grant_ref_t)self);
        struct gnttab_unmap_grant_ref u = { .dev_bus_addr = m.dev_bus_addr, .handle = m.handle };
        (void)HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &u, 1);
        after = gnttab_end_access((grant_ref_t)self);
        kprintf("hostile-blk: end-access-while-mapped %s (map %d/%d, while mapped %d, after %d)\n",
                rc == 0 && m.status == GNTST_okay && busy == -XEN_EBUSY && after == 0 ? "ok" : "FAIL",
                rc, m.status, busy, after);
    }

    /* The producer index a thousand entries ahead: the back-end must
     * disconnect, not read past the ring. */
    ring.sring->req_prod = ring.req_prod_pvt + 1000;
    (void)pv_evtchn_send(port);
    uint64_t end = arch_now_ns() + WAIT_NS;
    enum xenbus_state s;
    while ((s = xenbus_read_state(be_path)) == XenbusStateConnected && arch_now_ns() < end)
        thread_sleep_ns(10000000ULL);
    kprintf("hostile-blk: ring-overflow %s (back-end state %d)\n",
            s == XenbusStateClosing || s == XenbusStateClosed ? "ok" : "FAIL", (int)s);
    kprintf("hostile-blk: done\n");
}

GUEST_SERVICE("disk=hostile", hostile_main, GUEST_STAGE_TEST, 0);
