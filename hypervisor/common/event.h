/*
 * event.h - 2-level event channels (Xen public/event_channel.h).
 *
 * Runs in ring 0 with interrupts off; event.c is also compiled by the host
 * unit tests (tests/unit/test_evtchn.c).  Port numbers index the domain's
 * shared_info evtchn_pending/evtchn_mask bitmaps; port 0 is never allocated.
 */
#ifndef LAMINA_EVENT_H
#define LAMINA_EVENT_H

#include <lamina/xen.h>
#include "lib/lib.h"

#define EVTCHN_MAX_PORTS    4096   /* per domain: the 2-level ABI's 64 x 64 bits */
#define EVTCHN_BUCKET_PORTS 256    /* ports per bucket: one heap frame */
#define NR_EVTCHN_BUCKETS   (EVTCHN_MAX_PORTS / EVTCHN_BUCKET_PORTS)

enum evtchn_state {
    ECS_FREE = 0,
    ECS_RESERVED,       /* port 0 */
    ECS_UNBOUND,        /* waiting for remote_domid to bind */
    ECS_INTERDOMAIN,    /* connected to (remote_dom, remote_port) */
    ECS_VIRQ,           /* bound to a virtual IRQ of notify_vcpu */
    ECS_IPI,            /* EVTCHNOP_bind_ipi: send notifies our own notify_vcpu */
};

struct evtchn {
    uint8_t  state;         /* enum evtchn_state */
    uint8_t  notify_vcpu;   /* vCPU id that receives the upcall */
    uint16_t remote_domid;  /* UNBOUND: who may bind; INTERDOMAIN: peer */
    uint32_t remote_port;   /* INTERDOMAIN: peer's port */
    uint32_t virq;          /* VIRQ: which VIRQ_* */
};

/* Per-domain event-channel state, embedded in struct domain: ports in
 * buckets of EVTCHN_BUCKET_PORTS, each allocated when a port in it is
 * first needed (Xen's evtchn buckets); a port in no bucket is free. */
struct evtchn_domain {
    struct evtchn *bucket[NR_EVTCHN_BUCKETS];
};

struct domain;
struct vcpu;

/* Initialises d's ports (the first bucket, port 0 reserved).  Called by
 * domain_create().  0 or -ENOMEM. */
int __must_check evtchn_init(struct domain *d);
/* Closes every port of d (an interdomain peer sees its port go UNBOUND, as
 * Xen does) and frees the buckets.  Called by domain_destroy(). */
void evtchn_destroy(struct domain *d);

/* Marks port pending in d's shared_info; unless masked sets the selector bit
 * and the notify vCPU's evtchn_upcall_pending, then vcpu_kick()s it.  Returns
 * 0 or -EINVAL for a bad port. */
int evtchn_set_pending(struct domain *d, unsigned int port);
/* Raises virq (VIRQ_*) on v if a port is bound to it; no-op otherwise. */
void send_guest_virq(struct vcpu *v, unsigned int virq);
/* True if port is valid and pending in d's shared_info. */
bool evtchn_port_is_pending(struct domain *d, unsigned int port);

/* EVTCHNOP_* dispatcher (Xen public/event_channel.h); arg is a guest pointer. */
long do_event_channel_op(int cmd, uint64_t arg);

/* Work functions on hypervisor pointers, called by do_event_channel_op and by
 * the unit tests.  Each returns 0 or Xen's negative errno.  d is always the
 * calling domain (current->domain for a hypercall); DOMID_SELF in an op means
 * d.  OUT fields of op are written only on success. */
int __must_check evtchn_alloc_unbound(struct domain *d, struct evtchn_alloc_unbound *op);
int __must_check evtchn_bind_interdomain(struct domain *d, struct evtchn_bind_interdomain *op);
int __must_check evtchn_bind_virq(struct domain *d, struct evtchn_bind_virq *op);
int __must_check evtchn_send(struct domain *d, unsigned int port);
int __must_check evtchn_close(struct domain *d, unsigned int port);
int __must_check evtchn_status(struct domain *d, struct evtchn_status *op);
int __must_check evtchn_unmask(struct domain *d, unsigned int port);
int __must_check evtchn_bind_ipi(struct domain *d, struct evtchn_bind_ipi *op);
int __must_check evtchn_bind_vcpu(struct domain *d, unsigned int port, unsigned int vcpu_id);

#endif
