/*
 * event.c - 2-level event channels: Xen's EVTCHNOP_* (public/event_channel.h)
 * over the evtchn_pending/evtchn_mask bitmaps of each domain's shared_info.
 *
 * Runs in ring 0 with interrupts off (the hypervisor is non-reentrant, so the
 * port table needs no lock); the guest reads and writes the same bitmaps
 * concurrently, so every bitmap update is a locked bit operation.  Also
 * compiled on the host by tests/unit/test_evtchn.c (x86-64 only: the bit
 * operations, lib/bitops.h, are inline assembly in both builds).
 *
 * The contract is event.h.  Delivery: evtchn_set_pending() only raises
 * vcpu_info->evtchn_upcall_pending and vcpu_kick()s; the return-to-guest path
 * bounces to the event callback when evtchn_upcall_pending is set and
 * evtchn_upcall_mask is clear.
 */
#include "common/sched.h"
#include "common/event.h"
#include "common/guest_access.h"
#include "lib/lib.h"

#define BITS_PER_EVTCHN_WORD    (sizeof(xen_ulong_t) * 8)

/* ---- helpers ---------------------------------------------------------- */

static struct evtchn *evtchn_from_port(struct domain *d, unsigned int port)
{
    struct evtchn *b;

    if (port >= EVTCHN_MAX_PORTS || !(b = d->evtchn.bucket[port / EVTCHN_BUCKET_PORTS]))
        return NULL;
    return &b[port % EVTCHN_BUCKET_PORTS];
}

/* d itself for its own id (loopback channels, DOMID_SELF), else the live
 * domain with that id, or NULL. */
static struct domain *evtchn_domain(struct domain *d, domid_t id)
{
    if (id == DOMID_SELF || id == d->domain_id)
        return d;
    return domain_lookup(id);
}

/* The vCPU of d numbered id, or NULL (Xen's domain_vcpu()). */
static struct vcpu *evtchn_vcpu(struct domain *d, unsigned int id)
{
    if (id >= MAX_VCPUS_PER_DOM || id >= d->max_vcpus)
        return NULL;
    return d->vcpu[id];
}

/* VIRQs delivered to vCPU 0 only (Xen's virq_is_global(); x86 treats every
 * VIRQ_ARCH_* as global). */
static bool virq_is_global(unsigned int virq)
{
    switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU:
        return false;
    default:
        return true;
    }
}

/* Lowest free port of d, its bucket allocated if it had none; -EINVAL if
 * d is dying, -ENOSPC if none is free, -ENOMEM if a bucket is needed and
 * the heap is out of frames. */
static int get_free_port(struct domain *d)
{
    if (d->is_dying)
        return -XEN_EINVAL;
    for (unsigned int b = 0; b < NR_EVTCHN_BUCKETS; b++) {
        struct evtchn *chn = d->evtchn.bucket[b];

        if (!chn) {
            _Static_assert(EVTCHN_BUCKET_PORTS * sizeof(struct evtchn) <= PAGE_SIZE,
                           "a bucket is one frame");
            if (!(chn = xzalloc_bytes(EVTCHN_BUCKET_PORTS * sizeof(*chn))))
                return -XEN_ENOMEM;
            d->evtchn.bucket[b] = chn;
            return (int)(b * EVTCHN_BUCKET_PORTS);      /* b > 0: bucket 0 has port 0 */
        }
        for (unsigned int i = 0; i < EVTCHN_BUCKET_PORTS; i++)
            if (chn[i].state == ECS_FREE)
                return (int)(b * EVTCHN_BUCKET_PORTS + i);
    }
    return -XEN_ENOSPC;
}

/* Sets evtchn_upcall_pending on v; kicks v if it was clear (Xen's
 * vcpu_mark_events_pending()). */
static void vcpu_mark_events_pending(struct vcpu *v)
{
    if (v == current)
        exit_work.event = true;
    if (__atomic_exchange_n(&v->vcpu_info->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST))
        return;
    vcpu_kick(v);
}

/* Wakes d's vCPUs blocked in SCHEDOP_poll on port (one port), or on any port
 * (several), as Xen's evtchn_check_pollers(). */
static void evtchn_check_pollers(struct domain *d, unsigned int port)
{
    for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++) {
        struct vcpu *v = d->vcpu[i];

        if (!v || v->state != VCPU_POLLING)
            continue;
        if (v->nr_poll_ports != 1 || v->poll_ports[0] == port)
            vcpu_kick(v);
    }
}

/* Releases chn: clears its pending bit and resets it to FREE on vCPU 0. */
static void evtchn_free(struct domain *d, unsigned int port)
{
    struct evtchn *chn = evtchn_from_port(d, port);

    if (d->shared_info)
        guest_test_and_clear_bit(port, d->shared_info->evtchn_pending);
    memset(chn, 0, sizeof(*chn));
}

/* ---- lifecycle ---------------------------------------------------------- */

int evtchn_init(struct domain *d)
{
    memset(&d->evtchn, 0, sizeof(d->evtchn));
    d->evtchn.bucket[0] = xzalloc_bytes(EVTCHN_BUCKET_PORTS * sizeof(struct evtchn));
    if (!d->evtchn.bucket[0])
        return -XEN_ENOMEM;
    d->evtchn.bucket[0][0].state = ECS_RESERVED;
    for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++)
        if (d->vcpu[i])
            memset(d->vcpu[i]->virq_to_evtchn, 0, sizeof(d->vcpu[i]->virq_to_evtchn));
    return 0;
}

void evtchn_destroy(struct domain *d)
{
    for (unsigned int port = EVTCHN_MAX_PORTS - 1; port > 0; port--) {
        struct evtchn *chn = evtchn_from_port(d, port);

        /* Cannot fail on a bound port. */
        if (chn && chn->state != ECS_FREE && chn->state != ECS_RESERVED &&
            evtchn_close(d, port))
            BUG_ON(1);
    }
    for (unsigned int b = 0; b < NR_EVTCHN_BUCKETS; b++) {
        xfree(d->evtchn.bucket[b]);
        d->evtchn.bucket[b] = NULL;
    }
}

/* ---- delivery ----------------------------------------------------------- */

int evtchn_set_pending(struct domain *d, unsigned int port)
{
    struct evtchn *chn = evtchn_from_port(d, port);
    struct shared_info *s = d->shared_info;
    struct vcpu *v;

    if (!chn)
        return -XEN_EINVAL;
    if (!s)
        return 0;

    /* Already pending: the guest has not consumed the last one yet. */
    if (guest_test_and_set_bit(port, s->evtchn_pending))
        return 0;

    v = evtchn_vcpu(d, chn->notify_vcpu);
    if (v && v->vcpu_info &&
        !guest_test_bit(port, s->evtchn_mask) &&
        !guest_test_and_set_bit(port / BITS_PER_EVTCHN_WORD,
                                &v->vcpu_info->evtchn_pending_sel))
        vcpu_mark_events_pending(v);

    evtchn_check_pollers(d, port);
    return 0;
}

void send_guest_virq(struct vcpu *v, unsigned int virq)
{
    struct domain *d;
    int port;

    if (!v || virq >= NR_VIRQS)
        return;
    d = v->domain;
    /* Global VIRQs are bound on vCPU 0 and notify the channel's vCPU. */
    if (virq_is_global(virq) && !(v = d->vcpu[0]))
        return;
    port = v->virq_to_evtchn[virq];
    if (port > 0)
        (void)evtchn_set_pending(d, (unsigned int)port);
}

bool evtchn_port_is_pending(struct domain *d, unsigned int port)
{
    return port < EVTCHN_MAX_PORTS && d->shared_info &&
           guest_test_bit(port, d->shared_info->evtchn_pending);
}

/* ---- EVTCHNOP work functions ------------------------------------------ */

int evtchn_alloc_unbound(struct domain *d, struct evtchn_alloc_unbound *op)
{
    struct domain *td = evtchn_domain(d, op->dom);
    struct evtchn *chn;
    int port;

    if (!td)
        return -XEN_ESRCH;
    /* Xen's dummy XSM, XSM_TARGET: only the control domain may act for others. */
    if (td != d && !d->is_privileged)
        return -XEN_EPERM;
    port = get_free_port(td);
    if (port < 0)
        return port;

    chn = evtchn_from_port(td, port);
    chn->state = ECS_UNBOUND;
    chn->notify_vcpu = 0;
    /* DOMID_SELF names the caller, as in Xen, even when td is another domain.
     * Like Xen, the remote domain need not exist (yet). */
    chn->remote_domid = op->remote_dom == DOMID_SELF ? d->domain_id : op->remote_dom;
    op->port = (evtchn_port_t)port;
    return 0;
}

int evtchn_bind_interdomain(struct domain *d, struct evtchn_bind_interdomain *op)
{
    struct domain *rd = evtchn_domain(d, op->remote_dom);
    struct evtchn *lchn, *rchn;
    int lport;

    if (!rd)
        return -XEN_ESRCH;
    rchn = evtchn_from_port(rd, op->remote_port);
    if (!rchn || rchn->state != ECS_UNBOUND || rchn->remote_domid != d->domain_id)
        return -XEN_EINVAL;
    lport = get_free_port(d);
    if (lport < 0)
        return lport;

    lchn = evtchn_from_port(d, lport);
    lchn->state = ECS_INTERDOMAIN;
    lchn->remote_domid = rd->domain_id;
    lchn->remote_port = op->remote_port;

    rchn->state = ECS_INTERDOMAIN;
    rchn->remote_domid = d->domain_id;
    rchn->remote_port = (uint32_t)lport;

    /* Sends on the remote port while it was unbound were dropped: notify the
     * new local port once so that nothing is lost (Xen does the same). */
    (void)evtchn_set_pending(d, (unsigned int)lport);

    op->local_port = (evtchn_port_t)lport;
    return 0;
}

int evtchn_bind_virq(struct domain *d, struct evtchn_bind_virq *op)
{
    unsigned int virq = op->virq;
    struct evtchn *chn;
    struct vcpu *v;
    int port;

    if (virq >= NR_VIRQS)
        return -XEN_EINVAL;
    if (virq_is_global(virq) && op->vcpu != 0)
        return -XEN_EINVAL;
    if (!(v = evtchn_vcpu(d, op->vcpu)))
        return -XEN_ENOENT;
    if (v->virq_to_evtchn[virq])
        return -XEN_EEXIST;
    port = get_free_port(d);
    if (port < 0)
        return port;

    chn = evtchn_from_port(d, port);
    chn->state = ECS_VIRQ;
    chn->notify_vcpu = (uint8_t)op->vcpu;
    chn->virq = virq;
    v->virq_to_evtchn[virq] = port;
    op->port = (evtchn_port_t)port;
    return 0;
}

int evtchn_bind_ipi(struct domain *d, struct evtchn_bind_ipi *op)
{
    struct evtchn *chn;
    int port;

    if (!evtchn_vcpu(d, op->vcpu))
        return -XEN_ENOENT;
    port = get_free_port(d);
    if (port < 0)
        return port;

    chn = evtchn_from_port(d, port);
    chn->state = ECS_IPI;
    chn->notify_vcpu = (uint8_t)op->vcpu;
    op->port = (evtchn_port_t)port;
    return 0;
}

int evtchn_bind_vcpu(struct domain *d, unsigned int port, unsigned int vcpu_id)
{
    struct evtchn *chn;

    if (!evtchn_vcpu(d, vcpu_id))
        return -XEN_ENOENT;
    if (!(chn = evtchn_from_port(d, port)))
        return -XEN_EINVAL;

    switch (chn->state) {
    case ECS_VIRQ:
        if (!virq_is_global(chn->virq))
            return -XEN_EINVAL;
        break;
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
        break;
    default:
        return -XEN_EINVAL;
    }
    chn->notify_vcpu = (uint8_t)vcpu_id;
    return 0;
}

int evtchn_send(struct domain *d, unsigned int port)
{
    struct evtchn *chn = evtchn_from_port(d, port);
    struct domain *rd;

    if (!chn)
        return -XEN_EINVAL;

    switch (chn->state) {
    case ECS_INTERDOMAIN:
        rd = evtchn_domain(d, chn->remote_domid);
        /* A peer that is already gone has nobody left to notify. */
        if (rd)
            (void)evtchn_set_pending(rd, chn->remote_port);
        return 0;
    case ECS_IPI:
        return evtchn_set_pending(d, port);
    case ECS_UNBOUND:
        return 0;       /* dropped silently, as Xen */
    default:
        return -XEN_EINVAL;
    }
}

int evtchn_close(struct domain *d, unsigned int port)
{
    struct evtchn *chn = evtchn_from_port(d, port);
    struct domain *rd;
    struct vcpu *v;

    if (!chn)
        return -XEN_EINVAL;

    switch (chn->state) {
    case ECS_FREE:
    case ECS_RESERVED:
        return -XEN_EINVAL;
    case ECS_UNBOUND:
    case ECS_IPI:
        break;
    case ECS_VIRQ:
        v = d->vcpu[virq_is_global(chn->virq) ? 0 : chn->notify_vcpu];
        if (v && chn->virq < NR_VIRQS && v->virq_to_evtchn[chn->virq] == (int)port)
            v->virq_to_evtchn[chn->virq] = 0;
        break;
    case ECS_INTERDOMAIN:
        rd = evtchn_domain(d, chn->remote_domid);
        if (rd) {
            struct evtchn *rchn = evtchn_from_port(rd, chn->remote_port);

            /* The peer's end waits for us again. */
            if (rchn && rchn->state == ECS_INTERDOMAIN &&
                rchn->remote_domid == d->domain_id && rchn->remote_port == port) {
                rchn->state = ECS_UNBOUND;
                rchn->remote_domid = d->domain_id;
                rchn->remote_port = 0;
            }
        }
        break;
    default:
        return -XEN_EINVAL;
    }
    evtchn_free(d, port);
    return 0;
}

int evtchn_status(struct domain *d, struct evtchn_status *op)
{
    struct domain *td = evtchn_domain(d, op->dom);
    struct evtchn *chn;

    if (!td)
        return -XEN_ESRCH;
    if (!(chn = evtchn_from_port(td, op->port)))
        return -XEN_EINVAL;
    if (td != d && !d->is_privileged)
        return -XEN_EPERM;

    switch (chn->state) {
    case ECS_UNBOUND:
        op->status = EVTCHNSTAT_unbound;
        op->u.unbound.dom = chn->remote_domid;
        break;
    case ECS_INTERDOMAIN:
        op->status = EVTCHNSTAT_interdomain;
        op->u.interdomain.dom = chn->remote_domid;
        op->u.interdomain.port = chn->remote_port;
        break;
    case ECS_VIRQ:
        op->status = EVTCHNSTAT_virq;
        op->u.virq = chn->virq;
        break;
    case ECS_IPI:
        op->status = EVTCHNSTAT_ipi;
        break;
    default:    /* ECS_FREE, ECS_RESERVED */
        op->status = EVTCHNSTAT_closed;
        break;
    }
    op->vcpu = chn->notify_vcpu;
    return 0;
}

int evtchn_unmask(struct domain *d, unsigned int port)
{
    struct evtchn *chn = evtchn_from_port(d, port);
    struct shared_info *s = d->shared_info;
    struct vcpu *v;

    if (!chn)
        return -XEN_EINVAL;
    if (!s)
        return 0;

    v = evtchn_vcpu(d, chn->notify_vcpu);
    if (guest_test_and_clear_bit(port, s->evtchn_mask) &&
        guest_test_bit(port, s->evtchn_pending) &&
        v && v->vcpu_info &&
        !guest_test_and_set_bit(port / BITS_PER_EVTCHN_WORD,
                                &v->vcpu_info->evtchn_pending_sel))
        vcpu_mark_events_pending(v);
    return 0;
}

/* ---- the hypercall ------------------------------------------------------- */

/* Copies an op of type T in from the guest pointer arg, runs call, and
 * copies the whole op back on success when out is set (as Xen's
 * __copy_to_guest(arg, &op, 1)). */
#define EVTCHN_OP(T, out, call)                                          \
    do {                                                                  \
        T op;                                                             \
        if (copy_from_guest(&op, arg, sizeof(op)))                        \
            return -XEN_EFAULT;                                           \
        rc = (call);                                                      \
        if ((out) && rc == 0 && copy_to_guest(arg, &op, sizeof(op)))      \
            rc = -XEN_EFAULT;                                             \
    } while (0)

long do_event_channel_op(int cmd, uint64_t arg)
{
    struct domain *d = current->domain;
    int rc;

    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
        EVTCHN_OP(struct evtchn_alloc_unbound, true, evtchn_alloc_unbound(d, &op));
        break;
    case EVTCHNOP_bind_interdomain:
        EVTCHN_OP(struct evtchn_bind_interdomain, true, evtchn_bind_interdomain(d, &op));
        break;
    case EVTCHNOP_bind_virq:
        EVTCHN_OP(struct evtchn_bind_virq, true, evtchn_bind_virq(d, &op));
        break;
    case EVTCHNOP_bind_ipi:
        EVTCHN_OP(struct evtchn_bind_ipi, true, evtchn_bind_ipi(d, &op));
        break;
    case EVTCHNOP_close:
        EVTCHN_OP(struct evtchn_close, false, evtchn_close(d, op.port));
        break;
    case EVTCHNOP_send:
        EVTCHN_OP(struct evtchn_send, false, evtchn_send(d, op.port));
        break;
    case EVTCHNOP_status:
        EVTCHN_OP(struct evtchn_status, true, evtchn_status(d, &op));
        break;
    case EVTCHNOP_bind_vcpu:
        EVTCHN_OP(struct evtchn_bind_vcpu, false, evtchn_bind_vcpu(d, op.port, op.vcpu));
        break;
    case EVTCHNOP_unmask:
        EVTCHN_OP(struct evtchn_unmask, false, evtchn_unmask(d, op.port));
        break;
    default:
        /* bind_pirq, reset, and the FIFO ABI (init_control, expand_array,
         * set_priority) are not provided: guests fall back to 2-level. */
        rc = -XEN_ENOSYS;
        break;
    }
    return rc;
}
