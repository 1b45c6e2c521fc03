/*
 * event_selftest.c - `test=event-self`: an event this domain sends itself
 * arrives on the return of the hypercall that made it pending, as Xen
 * delivers it (the hypervisor's return path bounces to the event callback
 * whenever the upcall is pending and unmasked).  Guards the hypervisor's
 * hypercall fast path, which must notice both cases:
 *
 *   unmasked  EVTCHNOP_send with events enabled: the upcall runs before
 *             the send's wrapper returns;
 *   masked    the same send with events disabled: nothing runs; then
 *             pv_irq_enable(), whose null hypercall (xen_version) must
 *             deliver it before it returns.
 *
 * Prints `event-self: <case>: upcalls N, want 1: PASS|FAIL` for each and
 * `event-self: done`.  Runs in the PV guest kernel, in init's thread,
 * interrupts (events) enabled.
 */
#include "guest_service.h"
#include "kernel.h"
#include <pv/evtchn.h>
#include <pv/irq.h>

static volatile unsigned int upcalls;

static void count_upcall(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    upcalls++;
}

/* Sends on `send` (whose other end is this domain's `recv`) and reports how
 * many upcalls ran by the time the send's wrapper returned (unmasked) or
 * pv_irq_enable() returned (masked). */
static void one_case(const char *name, bool masked, evtchn_port_t send)
{
    unsigned int seen_masked = 0, seen;

    upcalls = 0;
    if (masked)
        pv_irq_disable();
    int rc = pv_evtchn_send(send);
    seen = upcalls;
    if (masked) {
        seen_masked = seen;
        pv_irq_enable();
        seen = upcalls;
    }
    bool pass = rc == 0 && seen == 1 && seen_masked == 0;
    kprintf("event-self: %s: send rc %d, upcalls %u (%u while masked), want 1: %s\n",
            name, rc, seen, seen_masked, pass ? "PASS" : "FAIL");
}

static void event_selftest(const struct arch_boot_info *bi)
{
    evtchn_port_t recv, send;
    (void)bi;

    if (pv_evtchn_alloc_unbound(DOMID_SELF, &recv) ||
        pv_evtchn_bind_interdomain(DOMID_SELF, recv, &send)) {
        kprintf("event-self: cannot make a loopback channel: FAIL\n");
        return;
    }
    pv_evtchn_set_handler(recv, count_upcall, NULL);
    pv_evtchn_unmask(recv);
    one_case("unmasked", false, send);
    one_case("masked", true, send);
    pv_evtchn_close(send);
    pv_evtchn_close(recv);
    pv_evtchn_set_handler(recv, NULL, NULL);
    kprintf("event-self: done\n");
}

GUEST_SERVICE("test=event-self", event_selftest, GUEST_STAGE_TEST, 0);
