/*
 * test_evtchn.c - host unit tests (cmocka) for hypervisor/event.c: the
 * 2-level event-channel state machine, delivery through the shared_info
 * bitmaps, masking, and the EVTCHNOP_* argument checks and errno values.
 *
 * Runs on the host (x86-64): compiles the hypervisor's own event.c and
 * supplies the few hypervisor services it uses (domain_lookup, vcpu_kick,
 * copy_from_guest/copy_to_guest, panic) below.
 */
#include "../../hypervisor/common/event.c"
#include "heap_stub.h"

#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

/* ---- stubs for the hypervisor services event.c uses ------------------- */

#define TEST_DOMAINS 16      /* ids the stub domain table holds */
static struct domain *test_domains[TEST_DOMAINS];
struct vcpu *current;
union exit_work exit_work;

/* Guest "virtual addresses" are host pointers; these two are refused. */
static uint64_t bad_read_addr = 0x0bad0000;
static uint64_t bad_write_addr = 0x0bad0000;

int copy_from_guest(void *dst, uint64_t guest_src, size_t len)
{
    if (guest_src == bad_read_addr)
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)guest_src, len);
    return 0;
}

int copy_to_guest(uint64_t guest_dst, const void *src, size_t len)
{
    if (guest_dst == bad_write_addr)
        return -XEN_EFAULT;
    memcpy((void *)(uintptr_t)guest_dst, src, len);
    return 0;
}

struct domain *domain_lookup(domid_t id)
{
    return id < TEST_DOMAINS ? test_domains[id] : NULL;
}

static unsigned int kicks[TEST_DOMAINS];

void vcpu_kick(struct vcpu *v)
{
    kicks[v->domain->domain_id]++;
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fail_msg("panic() called");
    abort();
}

/* ---- fixture: dom0 (privileged) and dom1, one vCPU each ----------------- */

static struct domain *dom[2];

static struct domain *make_domain(domid_t id, bool privileged)
{
    struct domain *d = calloc(1, sizeof(*d));
    struct vcpu *v = calloc(1, sizeof(*v));

    assert_non_null(d);
    assert_non_null(v);
    d->domain_id = id;
    d->is_privileged = privileged;
    d->max_vcpus = 1;
    d->shared_info = calloc(1, sizeof(struct shared_info));
    assert_non_null(d->shared_info);
    v->vcpu_id = 0;
    v->domain = d;
    v->state = VCPU_RUNNABLE;
    v->vcpu_info = &d->shared_info->vcpu_info[0];
    d->vcpu[0] = v;
    test_domains[id] = d;
    assert_int_equal(evtchn_init(d), 0);
    return d;
}

/* The state of port p of d; ports in no bucket yet are free. */
static unsigned int port_state(struct domain *d, unsigned int p)
{
    struct evtchn *chn = evtchn_from_port(d, p);

    return chn ? chn->state : ECS_FREE;
}

static int setup(void **state)
{
    memset(test_domains, 0, sizeof(test_domains));
    memset(kicks, 0, sizeof(kicks));
    dom[0] = make_domain(0, true);
    dom[1] = make_domain(1, false);
    current = dom[1]->vcpu[0];
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < 2; i++) {
        for (unsigned int b = 0; b < NR_EVTCHN_BUCKETS; b++)
            xfree(dom[i]->evtchn.bucket[b]);
        free(dom[i]->shared_info);
        free(dom[i]->vcpu[0]);
        free(dom[i]);
        dom[i] = NULL;
    }
    memset(test_domains, 0, sizeof(test_domains));
    current = NULL;
    return 0;
}

static bool pending(struct domain *d, unsigned int port)
{
    return evtchn_port_is_pending(d, port);
}

static bool sel_set(struct domain *d, unsigned int port)
{
    return (d->shared_info->vcpu_info[0].evtchn_pending_sel >> (port / 64)) & 1;
}

static uint8_t upcall(struct domain *d)
{
    return d->shared_info->vcpu_info[0].evtchn_upcall_pending;
}

/* What a guest's upcall handler does: consume everything. */
static void guest_ack_all(struct domain *d)
{
    struct shared_info *s = d->shared_info;

    memset(s->evtchn_pending, 0, sizeof(s->evtchn_pending));
    s->vcpu_info[0].evtchn_pending_sel = 0;
    s->vcpu_info[0].evtchn_upcall_pending = 0;
}

static void mask(struct domain *d, unsigned int port)
{
    d->shared_info->evtchn_mask[port / 64] |= 1UL << (port % 64);
}

static unsigned int alloc_unbound(struct domain *d, domid_t remote)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };

    assert_int_equal(evtchn_alloc_unbound(d, &op), 0);
    return op.port;
}

static struct evtchn_status status_of(struct domain *d, domid_t who, unsigned int port)
{
    struct evtchn_status st = { .dom = who, .port = port };

    assert_int_equal(evtchn_status(d, &st), 0);
    return st;
}

/* Connects dom1:(new unbound) <- dom0:(new bound); returns both ports. */
static void connect_pair(unsigned int *p1, unsigned int *p0)
{
    struct evtchn_bind_interdomain bind;

    *p1 = alloc_unbound(dom[1], 0);
    bind = (struct evtchn_bind_interdomain){ .remote_dom = 1, .remote_port = *p1 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
    *p0 = bind.local_port;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_init_reserves_port0(void **state)
{
    struct evtchn_status st = status_of(dom[1], DOMID_SELF, 0);

    assert_int_equal(port_state(dom[1], 0), ECS_RESERVED);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
    assert_int_equal(evtchn_close(dom[1], 0), -XEN_EINVAL);
    /* The first allocation is the lowest usable port. */
    assert_int_equal(alloc_unbound(dom[1], 0), 1);
}

static void test_interdomain_lifecycle(void **state)
{
    unsigned int p1, p0;
    struct evtchn_status st;

    p1 = alloc_unbound(dom[1], 0);
    assert_int_equal(p1, 1);
    st = status_of(dom[1], DOMID_SELF, p1);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 0);
    assert_int_equal(st.vcpu, 0);

    /* Sending on an unbound port is silently dropped. */
    assert_int_equal(evtchn_send(dom[1], p1), 0);
    assert_false(pending(dom[0], 1));
    assert_false(pending(dom[1], p1));

    struct evtchn_bind_interdomain bind = { .remote_dom = 1, .remote_port = p1 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
    p0 = bind.local_port;
    assert_int_equal(p0, 1);
    /* Xen conservatively notifies the new local port on bind. */
    assert_true(pending(dom[0], p0));
    assert_int_equal(upcall(dom[0]), 1);
    assert_int_equal(kicks[0], 1);
    guest_ack_all(dom[0]);

    st = status_of(dom[0], DOMID_SELF, p0);
    assert_int_equal(st.status, EVTCHNSTAT_interdomain);
    assert_int_equal(st.u.interdomain.dom, 1);
    assert_int_equal(st.u.interdomain.port, p1);
    st = status_of(dom[1], DOMID_SELF, p1);
    assert_int_equal(st.status, EVTCHNSTAT_interdomain);
    assert_int_equal(st.u.interdomain.dom, 0);
    assert_int_equal(st.u.interdomain.port, p0);

    /* dom0 -> dom1 */
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_true(pending(dom[1], p1));
    assert_true(sel_set(dom[1], p1));
    assert_int_equal(upcall(dom[1]), 1);
    assert_int_equal(kicks[1], 1);
    assert_false(pending(dom[0], p0));
    /* A second send while still pending changes nothing and kicks nobody. */
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_int_equal(kicks[1], 1);
    guest_ack_all(dom[1]);

    /* dom1 -> dom0 */
    assert_int_equal(evtchn_send(dom[1], p1), 0);
    assert_true(pending(dom[0], p0));
    assert_int_equal(kicks[0], 2);
    guest_ack_all(dom[0]);

    /* dom0 closes: dom1's end waits for dom0 again. */
    assert_int_equal(evtchn_close(dom[0], p0), 0);
    st = status_of(dom[0], DOMID_SELF, p0);
    assert_int_equal(st.status, EVTCHNSTAT_closed);
    st = status_of(dom[1], DOMID_SELF, p1);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 0);
    assert_int_equal(evtchn_send(dom[1], p1), 0);
    assert_false(pending(dom[0], p0));
    assert_int_equal(evtchn_send(dom[0], p0), -XEN_EINVAL);
    assert_int_equal(evtchn_close(dom[0], p0), -XEN_EINVAL);

    /* ... and can be bound again. */
    bind = (struct evtchn_bind_interdomain){ .remote_dom = 1, .remote_port = p1 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
    assert_int_equal(bind.local_port, p0);

    /* Closing the unbound-side owner's end as well frees both. */
    assert_int_equal(evtchn_close(dom[1], p1), 0);
    st = status_of(dom[0], DOMID_SELF, p0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 1);
    assert_int_equal(evtchn_close(dom[0], p0), 0);
    assert_int_equal(status_of(dom[0], DOMID_SELF, p0).status, EVTCHNSTAT_closed);
}

static void test_close_clears_pending(void **state)
{
    unsigned int p1, p0;

    connect_pair(&p1, &p0);
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_true(pending(dom[1], p1));
    assert_int_equal(evtchn_close(dom[1], p1), 0);
    assert_false(pending(dom[1], p1));
}

static void test_loopback(void **state)
{
    unsigned int a = alloc_unbound(dom[1], DOMID_SELF), b;
    struct evtchn_bind_interdomain bind = { .remote_dom = DOMID_SELF, .remote_port = a };

    assert_int_equal(evtchn_from_port(dom[1], a)->remote_domid, 1);
    assert_int_equal(evtchn_bind_interdomain(dom[1], &bind), 0);
    b = bind.local_port;
    assert_int_not_equal(a, b);
    guest_ack_all(dom[1]);
    assert_int_equal(evtchn_send(dom[1], b), 0);
    assert_true(pending(dom[1], a));
    assert_false(pending(dom[1], b));
    assert_int_equal(evtchn_close(dom[1], a), 0);
    struct evtchn_status st = status_of(dom[1], DOMID_SELF, b);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 1);
}

static void test_port_exhaustion_and_lowest_free(void **state)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = 0 };
    unsigned int n = 0;
    int rc;

    /* Buckets come as ports are needed: a new domain has only the first. */
    for (unsigned int b = 1; b < NR_EVTCHN_BUCKETS; b++)
        assert_null(dom[1]->evtchn.bucket[b]);
    while ((rc = evtchn_alloc_unbound(dom[1], &op)) == 0) {
        n++;
        assert_int_equal(op.port, n);
        assert_non_null(dom[1]->evtchn.bucket[n / EVTCHN_BUCKET_PORTS]);
        if (n % EVTCHN_BUCKET_PORTS != EVTCHN_BUCKET_PORTS - 1 && n + 1 < EVTCHN_MAX_PORTS)
            assert_null(dom[1]->evtchn.bucket[n / EVTCHN_BUCKET_PORTS + 1]);
    }
    assert_int_equal(rc, -XEN_ENOSPC);
    assert_int_equal(n, EVTCHN_MAX_PORTS - 1);

    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_ENOSPC);
    assert_int_equal(dom[1]->vcpu[0]->virq_to_evtchn[VIRQ_TIMER], 0);

    assert_int_equal(evtchn_close(dom[1], 700), 0);
    assert_int_equal(evtchn_close(dom[1], 5), 0);
    assert_int_equal(alloc_unbound(dom[1], 0), 5);
    assert_int_equal(alloc_unbound(dom[1], 0), 700);
    assert_int_equal(evtchn_alloc_unbound(dom[1], &op), -XEN_ENOSPC);
}

static void test_bind_checks(void **state)
{
    struct evtchn_bind_interdomain bind;
    unsigned int self_only = alloc_unbound(dom[1], DOMID_SELF);   /* expects dom1 */
    unsigned int for_dom0 = alloc_unbound(dom[1], 0);

    /* Not expecting dom0. */
    bind = (struct evtchn_bind_interdomain){ .remote_dom = 1, .remote_port = self_only };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
    /* A free port, the reserved port, an out-of-range port. */
    bind.remote_port = 77;
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
    bind.remote_port = 0;
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
    bind.remote_port = EVTCHN_MAX_PORTS;
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
    bind.remote_port = 0xffffffffu;
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
    /* A domain that does not exist. */
    bind = (struct evtchn_bind_interdomain){ .remote_dom = 9, .remote_port = for_dom0 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_ESRCH);
    /* Nothing was allocated in dom0 by the failures. */
    for (unsigned int p = 1; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(port_state(dom[0], p), ECS_FREE);

    /* The right one works, once. */
    bind = (struct evtchn_bind_interdomain){ .remote_dom = 1, .remote_port = for_dom0 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), -XEN_EINVAL);
}

static void test_bind_virq(void **state)
{
    struct vcpu *v = dom[1]->vcpu[0];
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    unsigned int port;

    assert_int_equal(evtchn_bind_virq(dom[1], &bv), 0);
    port = bv.port;
    assert_int_equal(v->virq_to_evtchn[VIRQ_TIMER], (int)port);
    struct evtchn_status st = status_of(dom[1], DOMID_SELF, port);
    assert_int_equal(st.status, EVTCHNSTAT_virq);
    assert_int_equal(st.u.virq, VIRQ_TIMER);
    assert_int_equal(st.vcpu, 0);

    /* Double bind. */
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_EEXIST);
    /* No such vCPU. */
    bv = (struct evtchn_bind_virq){ .virq = VIRQ_DEBUG, .vcpu = 1 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_ENOENT);
    bv.vcpu = 0xffffffffu;
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_ENOENT);
    /* Bad VIRQ numbers. */
    bv = (struct evtchn_bind_virq){ .virq = NR_VIRQS, .vcpu = 0 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_EINVAL);
    bv.virq = 0x80000000u;
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_EINVAL);
    /* A global VIRQ only binds on vCPU 0. */
    bv = (struct evtchn_bind_virq){ .virq = VIRQ_CONSOLE, .vcpu = 1 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), -XEN_EINVAL);
    bv.vcpu = 0;
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), 0);
    unsigned int cport = bv.port;

    /* Delivery. */
    send_guest_virq(v, VIRQ_TIMER);
    assert_true(pending(dom[1], port));
    assert_int_equal(upcall(dom[1]), 1);
    assert_int_equal(kicks[1], 1);
    guest_ack_all(dom[1]);
    send_guest_virq(v, VIRQ_CONSOLE);
    assert_true(pending(dom[1], cport));
    assert_false(pending(dom[1], port));
    guest_ack_all(dom[1]);
    /* Unbound VIRQs and bogus numbers are ignored. */
    send_guest_virq(v, VIRQ_DEBUG);
    send_guest_virq(v, NR_VIRQS + 5);
    for (unsigned int p = 0; p < 128; p++)
        assert_false(pending(dom[1], p));
    assert_int_equal(kicks[1], 2);

    /* A guest cannot send on a VIRQ port. */
    assert_int_equal(evtchn_send(dom[1], port), -XEN_EINVAL);

    /* Close unbinds; the VIRQ can be bound again. */
    assert_int_equal(evtchn_close(dom[1], port), 0);
    assert_int_equal(v->virq_to_evtchn[VIRQ_TIMER], 0);
    send_guest_virq(v, VIRQ_TIMER);
    assert_false(pending(dom[1], port));
    bv = (struct evtchn_bind_virq){ .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), 0);
    assert_int_equal(bv.port, port);
}

static void test_masking(void **state)
{
    unsigned int p1, p0;

    connect_pair(&p1, &p0);
    guest_ack_all(dom[0]);
    mask(dom[1], p1);

    /* Masked: pending is recorded but no selector, no upcall, no kick. */
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_true(pending(dom[1], p1));
    assert_false(sel_set(dom[1], p1));
    assert_int_equal(upcall(dom[1]), 0);
    assert_int_equal(kicks[1], 0);

    /* Unmask raises it. */
    assert_int_equal(evtchn_unmask(dom[1], p1), 0);
    assert_false(dom[1]->shared_info->evtchn_mask[p1 / 64] & (1UL << (p1 % 64)));
    assert_true(sel_set(dom[1], p1));
    assert_int_equal(upcall(dom[1]), 1);
    assert_int_equal(kicks[1], 1);

    /* Unmasking again (already unmasked) does nothing more. */
    assert_int_equal(evtchn_unmask(dom[1], p1), 0);
    assert_int_equal(kicks[1], 1);

    /* Unmask of a masked, non-pending port: only the mask bit goes. */
    guest_ack_all(dom[1]);
    mask(dom[1], p1);
    assert_int_equal(evtchn_unmask(dom[1], p1), 0);
    assert_int_equal(upcall(dom[1]), 0);
    assert_false(sel_set(dom[1], p1));
    assert_int_equal(kicks[1], 1);

    /* With upcall_pending already set, a new event does not kick again. */
    dom[1]->shared_info->vcpu_info[0].evtchn_upcall_pending = 1;
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_true(sel_set(dom[1], p1));
    assert_int_equal(kicks[1], 1);

    /* The upcall mask is the guest's business: events still go pending. */
    guest_ack_all(dom[1]);
    dom[1]->shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_int_equal(upcall(dom[1]), 1);
    assert_int_equal(kicks[1], 2);
}

static void test_high_port_selector(void **state)
{
    /* Port 200 lives in word 3 of the bitmaps. */
    for (unsigned int p = 1; p < 200; p++)
        (void)alloc_unbound(dom[1], 1);
    unsigned int a = alloc_unbound(dom[1], DOMID_SELF), b;
    assert_int_equal(a, 200);
    struct evtchn_bind_interdomain bind = { .remote_dom = DOMID_SELF, .remote_port = a };
    assert_int_equal(evtchn_bind_interdomain(dom[1], &bind), 0);
    b = bind.local_port;
    assert_int_equal(b, 201);
    guest_ack_all(dom[1]);
    assert_int_equal(evtchn_send(dom[1], b), 0);
    assert_int_equal(dom[1]->shared_info->vcpu_info[0].evtchn_pending_sel, 1UL << 3);
    assert_int_equal(dom[1]->shared_info->evtchn_pending[3], 1UL << (200 % 64));
}

static void test_bad_ports(void **state)
{
    const unsigned int bad[] = { EVTCHN_MAX_PORTS, EVTCHN_MAX_PORTS + 1, 4096, 0xffffffffu };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        struct evtchn_status st = { .dom = DOMID_SELF, .port = bad[i] };

        assert_int_equal(evtchn_send(dom[1], bad[i]), -XEN_EINVAL);
        assert_int_equal(evtchn_close(dom[1], bad[i]), -XEN_EINVAL);
        assert_int_equal(evtchn_unmask(dom[1], bad[i]), -XEN_EINVAL);
        assert_int_equal(evtchn_status(dom[1], &st), -XEN_EINVAL);
        assert_int_equal(evtchn_set_pending(dom[1], bad[i]), -XEN_EINVAL);
        assert_int_equal(evtchn_bind_vcpu(dom[1], bad[i], 0), -XEN_EINVAL);
        assert_false(evtchn_port_is_pending(dom[1], bad[i]));
    }
    /* Free and reserved ports. */
    assert_int_equal(evtchn_send(dom[1], 3), -XEN_EINVAL);
    assert_int_equal(evtchn_close(dom[1], 3), -XEN_EINVAL);
    assert_int_equal(evtchn_send(dom[1], 0), -XEN_EINVAL);
    assert_int_equal(evtchn_close(dom[1], 0), -XEN_EINVAL);
    /* Unmask of a valid free port is allowed, as in Xen. */
    assert_int_equal(evtchn_unmask(dom[1], 3), 0);
    assert_int_equal(kicks[1], 0);
}

static void test_privilege(void **state)
{
    struct evtchn_alloc_unbound op = { .dom = 0, .remote_dom = DOMID_SELF };
    struct evtchn_status st = { .dom = 0, .port = 0 };

    /* dom1 may not allocate in, or query, dom0. */
    assert_int_equal(evtchn_alloc_unbound(dom[1], &op), -XEN_EPERM);
    assert_int_equal(evtchn_status(dom[1], &st), -XEN_EPERM);
    for (unsigned int p = 1; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(port_state(dom[0], p), ECS_FREE);
    /* Naming itself by id is the same as DOMID_SELF. */
    op = (struct evtchn_alloc_unbound){ .dom = 1, .remote_dom = 0 };
    assert_int_equal(evtchn_alloc_unbound(dom[1], &op), 0);
    assert_int_equal(op.port, 1);

    /* Non-existent target domain. */
    op = (struct evtchn_alloc_unbound){ .dom = 7, .remote_dom = 0 };
    assert_int_equal(evtchn_alloc_unbound(dom[0], &op), -XEN_ESRCH);
    st = (struct evtchn_status){ .dom = 7, .port = 1 };
    assert_int_equal(evtchn_status(dom[0], &st), -XEN_ESRCH);

    /* dom0 may allocate in dom1 on dom1's behalf: DOMID_SELF means dom0. */
    op = (struct evtchn_alloc_unbound){ .dom = 1, .remote_dom = DOMID_SELF };
    assert_int_equal(evtchn_alloc_unbound(dom[0], &op), 0);
    assert_int_equal(op.port, 2);
    st = (struct evtchn_status){ .dom = 1, .port = 2 };
    assert_int_equal(evtchn_status(dom[0], &st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 0);
    /* So dom0 can bind to it. */
    struct evtchn_bind_interdomain bind = { .remote_dom = 1, .remote_port = 2 };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
}

static void test_dying_domain(void **state)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = 0 };

    dom[1]->is_dying = true;
    assert_int_equal(evtchn_alloc_unbound(dom[1], &op), -XEN_EINVAL);
}

static void test_destroy(void **state)
{
    unsigned int p1, p0;
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };

    connect_pair(&p1, &p0);
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), 0);
    (void)alloc_unbound(dom[1], 0);

    evtchn_destroy(dom[1]);
    /* Every port closed and every bucket freed. */
    for (unsigned int p = 0; p < EVTCHN_MAX_PORTS; p++)
        assert_null(evtchn_from_port(dom[1], p));
    assert_int_equal(dom[1]->vcpu[0]->virq_to_evtchn[VIRQ_TIMER], 0);
    struct evtchn_status st = status_of(dom[0], DOMID_SELF, p0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 1);
}

static void test_pollers(void **state)
{
    unsigned int p1, p0;
    struct vcpu *v = dom[1]->vcpu[0];

    connect_pair(&p1, &p0);
    mask(dom[1], p1);
    v->state = VCPU_POLLING;
    v->poll_ports[0] = p1 + 1;      /* some other port */
    v->nr_poll_ports = 1;
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_int_equal(kicks[1], 0);
    guest_ack_all(dom[1]);

    /* SCHEDOP_poll on a masked port still wakes. */
    v->poll_ports[0] = p1;
    assert_int_equal(evtchn_send(dom[0], p0), 0);
    assert_int_equal(upcall(dom[1]), 0);
    assert_int_equal(kicks[1], 1);
}

static void test_ipi_and_bind_vcpu(void **state)
{
    struct evtchn_bind_ipi bi = { .vcpu = 0 };

    assert_int_equal(evtchn_bind_ipi(dom[1], &bi), 0);
    assert_int_equal(status_of(dom[1], DOMID_SELF, bi.port).status, EVTCHNSTAT_ipi);
    assert_int_equal(evtchn_send(dom[1], bi.port), 0);
    assert_true(pending(dom[1], bi.port));
    bi.vcpu = 3;
    assert_int_equal(evtchn_bind_ipi(dom[1], &bi), -XEN_ENOENT);

    unsigned int u = alloc_unbound(dom[1], 0);
    assert_int_equal(evtchn_bind_vcpu(dom[1], u, 0), 0);
    assert_int_equal(evtchn_bind_vcpu(dom[1], u, 1), -XEN_ENOENT);
    /* An IPI keeps its vCPU; a per-vCPU VIRQ too. */
    assert_int_equal(evtchn_bind_vcpu(dom[1], 1, 0), -XEN_EINVAL);
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(evtchn_bind_virq(dom[1], &bv), 0);
    assert_int_equal(evtchn_bind_vcpu(dom[1], bv.port, 0), -XEN_EINVAL);
    assert_int_equal(evtchn_close(dom[1], bi.port), 0);
}

/* ---- through the hypercall entry point --------------------------------- */

static void test_hypercall_path(void **state)
{
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };

    current = dom[1]->vcpu[0];
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au), 0);
    assert_int_equal(au.port, 1);

    struct evtchn_bind_interdomain bind = { .remote_dom = 1, .remote_port = au.port };
    current = dom[0]->vcpu[0];
    assert_int_equal(do_event_channel_op(EVTCHNOP_bind_interdomain, (uintptr_t)&bind), 0);
    assert_int_equal(bind.local_port, 1);

    struct evtchn_send send = { .port = bind.local_port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_send, (uintptr_t)&send), 0);
    assert_true(pending(dom[1], au.port));

    struct evtchn_status st = { .dom = 1, .port = au.port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_status, (uintptr_t)&st), 0);
    assert_int_equal(st.status, EVTCHNSTAT_interdomain);
    assert_int_equal(st.u.interdomain.port, bind.local_port);

    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    assert_int_equal(do_event_channel_op(EVTCHNOP_bind_virq, (uintptr_t)&bv), 0);
    assert_int_equal(bv.port, 2);

    mask(dom[0], bv.port);
    send_guest_virq(dom[0]->vcpu[0], VIRQ_TIMER);
    guest_ack_all(dom[0]);
    send_guest_virq(dom[0]->vcpu[0], VIRQ_TIMER);
    assert_int_equal(upcall(dom[0]), 0);
    struct evtchn_unmask um = { .port = bv.port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_unmask, (uintptr_t)&um), 0);
    assert_int_equal(upcall(dom[0]), 1);

    struct evtchn_close cl = { .port = bind.local_port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_close, (uintptr_t)&cl), 0);
    assert_int_equal(do_event_channel_op(EVTCHNOP_close, (uintptr_t)&cl), -XEN_EINVAL);

    /* Unknown and unsupported commands. */
    assert_int_equal(do_event_channel_op(9999, (uintptr_t)&cl), -XEN_ENOSYS);
    assert_int_equal(do_event_channel_op(-1, (uintptr_t)&cl), -XEN_ENOSYS);
    assert_int_equal(do_event_channel_op(EVTCHNOP_init_control, (uintptr_t)&cl), -XEN_ENOSYS);
}

static void test_hypercall_faults(void **state)
{
    static const int cmds[] = {
        EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq,
        EVTCHNOP_bind_ipi, EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_status,
        EVTCHNOP_bind_vcpu, EVTCHNOP_unmask,
    };

    current = dom[1]->vcpu[0];
    for (unsigned int i = 0; i < ARRAY_SIZE(cmds); i++)
        assert_int_equal(do_event_channel_op(cmds[i], bad_read_addr), -XEN_EFAULT);
    /* Nothing was allocated by the faulting calls. */
    for (unsigned int p = 1; p < EVTCHN_MAX_PORTS; p++)
        assert_int_equal(port_state(dom[1], p), ECS_FREE);

    /* Readable but not writable: the op happens, the result cannot be
     * returned (Xen leaves the port allocated too). */
    struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
    bad_write_addr = (uintptr_t)&au;
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au), -XEN_EFAULT);
    assert_int_equal(au.port, 0);
    assert_int_equal(port_state(dom[1], 1), ECS_UNBOUND);
    /* A failing op does not write back at all: the error is the op's own. */
    au = (struct evtchn_alloc_unbound){ .dom = 0, .remote_dom = 0 };
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au), -XEN_EPERM);
    bad_write_addr = 0x0bad0000;
}

/*
 * The toolstack's flow: dom0 allocates a port in a new domain N for itself
 * (EVTCHNOP_alloc_unbound with dom = N, remote_dom = 0), binds to it, and
 * later destroys N (domain_destroy: is_dying, evtchn_destroy, slot freed).
 * dom0's port must then be an unbound port waiting for N, as in Xen, and
 * every later operation on it must leave N's (freed) struct alone.
 */
static void test_dom0_port_in_destroyed_domain(void **state)
{
    struct domain *n = make_domain(2, false);
    struct evtchn_alloc_unbound au = { .dom = 2, .remote_dom = 0 };

    current = dom[0]->vcpu[0];
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au), 0);
    assert_int_equal(evtchn_from_port(n, au.port)->state, ECS_UNBOUND);
    assert_int_equal(evtchn_from_port(n, au.port)->remote_domid, 0);
    /* another unprivileged domain may not do that */
    struct evtchn_alloc_unbound au1 = { .dom = 2, .remote_dom = 1 };
    current = dom[1]->vcpu[0];
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au1), -XEN_EPERM);
    /* nor bind to N's port reserved for dom0 */
    struct evtchn_bind_interdomain b1 = { .remote_dom = 2, .remote_port = au.port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_bind_interdomain, (uintptr_t)&b1), -XEN_EINVAL);

    current = dom[0]->vcpu[0];
    struct evtchn_bind_interdomain bind = { .remote_dom = 2, .remote_port = au.port };
    assert_int_equal(do_event_channel_op(EVTCHNOP_bind_interdomain, (uintptr_t)&bind), 0);
    unsigned int p0 = bind.local_port;
    guest_ack_all(dom[0]);
    guest_ack_all(n);
    /* both directions deliver */
    struct evtchn_send send = { .port = p0 };
    assert_int_equal(do_event_channel_op(EVTCHNOP_send, (uintptr_t)&send), 0);
    assert_true(pending(n, au.port));
    assert_int_equal(evtchn_send(n, au.port), 0);
    assert_true(pending(dom[0], p0));
    guest_ack_all(dom[0]);

    /* N is destroyed, as domain_destroy() does it */
    n->is_dying = true;
    evtchn_destroy(n);
    test_domains[2] = NULL;
    free(n->shared_info);
    free(n->vcpu[0]);
    free(n);                            /* ASan: any later use of N fails */

    struct evtchn_status st = status_of(dom[0], DOMID_SELF, p0);
    assert_int_equal(st.status, EVTCHNSTAT_unbound);
    assert_int_equal(st.u.unbound.dom, 2);
    /* a send on it is dropped; closing it works */
    assert_int_equal(do_event_channel_op(EVTCHNOP_send, (uintptr_t)&send), 0);
    assert_false(pending(dom[0], p0));
    struct evtchn_close cl = { .port = p0 };
    assert_int_equal(do_event_channel_op(EVTCHNOP_close, (uintptr_t)&cl), 0);
    assert_int_equal(port_state(dom[0], p0), ECS_FREE);
    /* N is gone: allocating in it is -ESRCH */
    assert_int_equal(do_event_channel_op(EVTCHNOP_alloc_unbound, (uintptr_t)&au), -XEN_ESRCH);
}

/* The other order: dom0 closes its end first; N's port waits for dom0
 * again, and N's destruction then touches nothing of dom0's. */
static void test_dom0_closes_first(void **state)
{
    struct domain *n = make_domain(2, false);
    struct evtchn_alloc_unbound au = { .dom = 2, .remote_dom = 0 };

    assert_int_equal(evtchn_alloc_unbound(dom[0], &au), 0);
    struct evtchn_bind_interdomain bind = { .remote_dom = 2, .remote_port = au.port };
    assert_int_equal(evtchn_bind_interdomain(dom[0], &bind), 0);
    assert_int_equal(evtchn_close(dom[0], bind.local_port), 0);
    assert_int_equal(evtchn_from_port(n, au.port)->state, ECS_UNBOUND);
    assert_int_equal(evtchn_from_port(n, au.port)->remote_domid, 0);
    /* dom0's freed port gets reused by something else */
    unsigned int other = alloc_unbound(dom[0], 1);
    assert_int_equal(other, bind.local_port);
    n->is_dying = true;
    evtchn_destroy(n);
    assert_int_equal(port_state(dom[0], other), ECS_UNBOUND);
    assert_int_equal(evtchn_from_port(dom[0], other)->remote_domid, 1);
    test_domains[2] = NULL;
    free(n->shared_info);
    free(n->vcpu[0]);
    free(n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_reserves_port0),
        T(test_interdomain_lifecycle),
        T(test_close_clears_pending),
        T(test_loopback),
        T(test_port_exhaustion_and_lowest_free),
        T(test_bind_checks),
        T(test_bind_virq),
        T(test_masking),
        T(test_high_port_selector),
        T(test_bad_ports),
        T(test_privilege),
        T(test_dying_domain),
        T(test_destroy),
        T(test_pollers),
        T(test_ipi_and_bind_vcpu),
        T(test_hypercall_path),
        T(test_hypercall_faults),
        T(test_dom0_port_in_destroyed_domain),
        T(test_dom0_closes_first),
    };

    return cmocka_run_group_tests_name("evtchn", tests, NULL, NULL);
}
