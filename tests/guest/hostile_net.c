/*
 * hostile_net.c - a hostile network front-end, linked into the PV guest
 * kernel for tests/scenario/net_hostile.sh (`net=hostile` on the command
 * line).  It connects to vif 0 as netfront does (two rings, one event
 * channel, Connected) and then posts on the tx ring what no honest
 * front-end would:
 *
 *   bad-gref      a frame whose slot names a grant never granted
 *   short-frame   a 10-byte frame (less than an Ethernet header)
 *   double-fetch  a valid frame, rewritten in the ring (to a bad grant)
 *                 right after it was posted
 *   over-65535    a frame of 65636 bytes: its later slots add up to more
 *                 than the first slot's size (the frame's length) says
 *   bad-offset    a slot at offset 4000 of 200 bytes (past its page)
 *   too-many-slots 19 slots in one frame (netback takes 18)
 *   ring-overflow req_prod a thousand entries past what was consumed
 *   flood         flood_s=S seconds (default 0) of 1514-byte broadcast
 *                 frames, as fast as netback takes them off the ring
 *
 * The first two must come back as NETIF_RSP_ERROR with the vif still
 * connected; double-fetch as either response, still connected; the next
 * four must make the back-end disconnect (state Closing or Closed), after
 * which this front-end connects again for the next case.  It prints
 * "hostile-net: CASE ok (...)" or "hostile-net: CASE FAIL ..." per case,
 * then "hostile-net: done".  Runs in the guest kernel, init's thread.
 */
#include "xenctrl.h"
#include "guest_service.h"
#include "kernel.h"
#include "../../guest-port/pv/pv.h"
#include <pv/evtchn.h>
#include <pv/gnttab.h>
#include <pv/mm.h>
#include <pv/xenbus.h>

#define NODE    "device/vif/0"
#define WAIT_NS 5000000000ULL
#define PAGE    4096u

static netif_tx_front_ring_t tx;
static netif_rx_front_ring_t rx;
static evtchn_port_t port;
static domid_t be_id;
static char be_path[96];
static int data_ref = -1;           /* a page of ours holding a frame, granted */
static uint8_t *data_va;

static void ring_event(evtchn_port_t p, void *data)
{
    (void)p;
    thread_wake(data);
}

static void push(void)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx, notify);
    (void)notify;
    (void)pv_evtchn_send(port);         /* always: a hostile guest notifies at will */
}

static enum xenbus_state be_state(void)
{
    return xenbus_read_state(be_path);
}

static bool wait_be(unsigned int mask)
{
    uint64_t end = arch_now_ns() + WAIT_NS;

    while (arch_now_ns() < end) {
        if (mask & (1u << be_state()))
            return true;
        thread_sleep_ns(10000000ULL);
    }
    return false;
}

/* The response to id: its status, or 100 on a timeout. */
static int wait_rsp(uint16_t id)
{
    uint64_t end = arch_now_ns() + WAIT_NS;

    while (arch_now_ns() < end) {
        while (tx.rsp_cons != tx.sring->rsp_prod) {
            netif_tx_response_t r = *RING_GET_RESPONSE(&tx, tx.rsp_cons);

            tx.rsp_cons++;
            if (r.id == id)
                return r.status;
        }
        thread_sleep_ns(1000000ULL);
    }
    return 100;
}

static netif_tx_request_t *slot(uint16_t id, grant_ref_t ref, uint16_t off, uint16_t size,
                                uint16_t flags)
{
    netif_tx_request_t *r = RING_GET_REQUEST(&tx, tx.req_prod_pvt);

    r->gref = ref;
    r->offset = off;
    r->size = size;
    r->flags = flags;
    r->id = id;
    tx.req_prod_pvt++;
    return r;
}

static int connect(void)
{
    uint64_t v;
    int rc, tref, rref;

    if (xenbus_read(NODE "/backend", be_path, sizeof(be_path)) <= 0 ||
        xenbus_read_u64(NODE, "backend-id", &v))
        return -XEN_ENOENT;
    be_id = (domid_t)v;
    (void)xenbus_switch_state(NODE, XenbusStateInitialising);
    if (!wait_be(1u << XenbusStateInitWait))
        return -XEN_ETIMEDOUT;
    uint64_t tp = core_alloc_frame(), rp = core_alloc_frame();
    if (!tp || !rp)
        return -XEN_ENOMEM;
    SHARED_RING_INIT((netif_tx_sring_t *)arch_pfn_to_virt(tp));
    SHARED_RING_INIT((netif_rx_sring_t *)arch_pfn_to_virt(rp));
    FRONT_RING_INIT(&tx, (netif_tx_sring_t *)arch_pfn_to_virt(tp), PAGE);
    FRONT_RING_INIT(&rx, (netif_rx_sring_t *)arch_pfn_to_virt(rp), PAGE);
    if ((tref = gnttab_grant_access(be_id, pv_pfn_to_mfn(tp), false)) < 0 ||
        (rref = gnttab_grant_access(be_id, pv_pfn_to_mfn(rp), false)) < 0)
        return -XEN_ENOSPC;
    if (port) {
        (void)pv_evtchn_set_handler(port, NULL, NULL);
        (void)pv_evtchn_close(port);
    }
    if ((rc = pv_evtchn_alloc_unbound(be_id, &port)))
        return rc;
    (void)pv_evtchn_set_handler(port, ring_event, thread_current());
    pv_evtchn_unmask(port);
    rc = xenbus_write_u64(NODE, "tx-ring-ref", (uint64_t)tref);
    rc = rc ?: xenbus_write_u64(NODE, "rx-ring-ref", (uint64_t)rref);
    rc = rc ?: xenbus_write_u64(NODE, "event-channel", port);
    rc = rc ?: xenbus_write_u64(NODE, "request-rx-copy", 1);
    rc = rc ?: xenbus_write_u64(NODE, "feature-sg", 1);
    rc = rc ?: xenbus_switch_state(NODE, XenbusStateConnected);
    if (rc)
        return rc;
    return wait_be(1u << XenbusStateConnected) ? 0 : -XEN_ETIMEDOUT;
}

/* After a fatal case: close as a front-end does, then connect again. */
static int reconnect(void)
{
    (void)xenbus_switch_state(NODE, XenbusStateClosed);
    (void)wait_be(1u << XenbusStateClosed | 1u << XenbusStateInitWait);
    return connect();
}

static void expect_error(const char *name, int st)
{
    bool conn = be_state() == XenbusStateConnected;

    if (st == NETIF_RSP_ERROR && conn)
        kprintf("hostile-net: %s ok (status %d, still connected)\n", name, st);
    else
        kprintf("hostile-net: %s FAIL (status %d, %s)\n", name, st,
                conn ? "connected" : "disconnected");
}

/* Posts the slots a fatal case built (push) or leaves the ring as the
 * case set it; the back-end must go. */
static void expect_disconnect(const char *name, bool do_push)
{
    if (do_push)
        push();
    if (wait_be(1u << XenbusStateClosing | 1u << XenbusStateClosed))
        kprintf("hostile-net: %s ok (the back-end disconnected)\n", name);
    else
        kprintf("hostile-net: %s FAIL (still %d)\n", name, be_state());
    if (reconnect())
        kprintf("hostile-net: %s FAIL (cannot connect again)\n", name);
}

static void flood(uint64_t seconds)
{
    uint64_t end = arch_now_ns() + seconds * 1000000000ULL, frames = 0;
    uint16_t id = 0;

    while (arch_now_ns() < end) {
        while (tx.rsp_cons != tx.sring->rsp_prod)
            tx.rsp_cons++;
        unsigned int k = 0;
        while (RING_FREE_REQUESTS(&tx) && k++ < 64) {
            slot(id++ & 0xff, (grant_ref_t)data_ref, 0, 1514, 0);
            frames++;
        }
        push();
        /* Full ring: give the CPU back until netback takes more (a guest
         * that also spins on the CPU is a scheduler matter: docs/network.md). */
        (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    kprintf("hostile-net: flood ok (%lu frames in %lu s)\n", (unsigned long)frames,
            (unsigned long)seconds);
}

static void hostile_main(const struct arch_boot_info *bi)
{
    int rc;

    if ((rc = pv_grant_table_start()) || (rc = connect())) {
        kprintf("hostile-net: FAIL cannot connect (%d)\n", rc);
        return;
    }
    uint64_t dpfn = core_alloc_frame();
    if (!dpfn) {
        kprintf("hostile-net: FAIL no memory\n");
        return;
    }
    data_va = arch_pfn_to_virt(dpfn);
    memset(data_va, 0xff, 6);                       /* broadcast */
    data_va[6] = 0x00, data_va[7] = 0x16, data_va[8] = 0x3e;
    data_va[9] = 0x7f, data_va[10] = 0xee, data_va[11] = 0xee;
    data_va[12] = 0x88, data_va[13] = 0xb5;         /* local experimental ethertype */
    data_ref = gnttab_grant_access(be_id, pv_pfn_to_mfn(dpfn), true);
    kprintf("hostile-net: connected to %s\n", be_path);

    slot(1, 0xfffff, 0, 60, 0);
    push();
    expect_error("bad-gref", wait_rsp(1));

    slot(2, (grant_ref_t)data_ref, 0, 10, 0);
    push();
    expect_error("short-frame", wait_rsp(2));

    netif_tx_request_t *r = slot(3, (grant_ref_t)data_ref, 0, 60, 0);
    push();
    r->gref = 0xfffff;                              /* rewritten after posting */
    int st = wait_rsp(3);
    if ((st == NETIF_RSP_OKAY || st == NETIF_RSP_ERROR) && be_state() == XenbusStateConnected)
        kprintf("hostile-net: double-fetch ok (status %d, still connected)\n", st);
    else
        kprintf("hostile-net: double-fetch FAIL (status %d, state %d)\n", st, be_state());

    slot(4, (grant_ref_t)data_ref, 0, 100, NETTXF_more_data);
    for (int i = 0; i < 16; i++)
        slot((uint16_t)(5 + i), (grant_ref_t)data_ref, 0, 4096,
             i < 15 ? NETTXF_more_data : 0);        /* 100 + 65536 bytes */
    expect_disconnect("over-65535", true);

    slot(30, (grant_ref_t)data_ref, 4000, 200, 0);
    expect_disconnect("bad-offset", true);

    slot(40, (grant_ref_t)data_ref, 0, 19 * 60, NETTXF_more_data);
    for (int i = 0; i < 18; i++)
        slot((uint16_t)(41 + i), (grant_ref_t)data_ref, 0, 60, i < 17 ? NETTXF_more_data : 0);
    expect_disconnect("too-many-slots", true);

    tx.req_prod_pvt += 1000;
    tx.sring->req_prod = tx.req_prod_pvt;           /* past the ring, no checks */
    (void)pv_evtchn_send(port);
    tx.req_prod_pvt -= 1000;
    expect_disconnect("ring-overflow", false);     /* a push would undo it */

    uint64_t secs = cmdline_u64(bi->cmdline, "flood_s=", 0);
    if (secs)
        flood(secs);
    kprintf("hostile-net: done\n");
}

GUEST_SERVICE("net=hostile", hostile_main, GUEST_STAGE_TEST, 0);
