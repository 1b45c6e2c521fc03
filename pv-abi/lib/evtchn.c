/*
 * evtchn.c - 2-level event channel dispatch and EVTCHNOP wrappers.
 * Runs in a PV guest kernel; pv_evtchn_do_upcall() runs with events masked.
 */
#include <pv/evtchn.h>

struct shared_info *HYPERVISOR_shared_info;
uint64_t pv_evtchn_spurious;

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)

static struct {
    pv_evtchn_handler_t fn;
    void *data;
} handlers[PV_EVTCHN_NR_PORTS];

static inline void word_set_bit(unsigned int bit, volatile xen_ulong_t *w)
{
    __asm__ __volatile__("lock btsq %1, %0" : "+m"(*w) : "r"((uint64_t)bit) : "memory");
}
static inline void word_clear_bit(unsigned int bit, volatile xen_ulong_t *w)
{
    __asm__ __volatile__("lock btrq %1, %0" : "+m"(*w) : "r"((uint64_t)bit) : "memory");
}
static inline bool word_test_and_set_bit(unsigned int bit, volatile xen_ulong_t *w)
{
    bool old;

    __asm__ __volatile__("lock btsq %2, %0" : "+m"(*w), "=@ccc"(old) : "r"((uint64_t)bit) : "memory");
    return old;
}
static inline bool word_test_and_clear_bit(unsigned int bit, volatile xen_ulong_t *w)
{
    bool old;

    __asm__ __volatile__("lock btrq %2, %0" : "+m"(*w), "=@ccc"(old) : "r"((uint64_t)bit) : "memory");
    return old;
}
static inline xen_ulong_t word_xchg_zero(volatile xen_ulong_t *w)
{
    xen_ulong_t v = 0;

    __asm__ __volatile__("xchgq %0, %1" : "+r"(v), "+m"(*w) : : "memory");
    return v;
}

int pv_evtchn_set_handler(evtchn_port_t port, pv_evtchn_handler_t handler, void *data)
{
    if (port >= PV_EVTCHN_NR_PORTS)
        return -XEN_EINVAL;
    handlers[port].data = data;
    pv_barrier();
    handlers[port].fn = handler;
    return 0;
}

void pv_evtchn_reset(void)
{
    for (unsigned int i = 0; i < PV_EVTCHN_NR_PORTS; i++)
        handlers[i].fn = NULL;
}

unsigned int pv_evtchn_do_upcall(void)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    struct vcpu_info *vi = pv_vcpu_info();
    unsigned int ran = 0;

    vi->evtchn_upcall_pending = 0;
    pv_barrier();
    for (;;) {
        xen_ulong_t sel = word_xchg_zero(&vi->evtchn_pending_sel);

        if (sel == 0)
            break;
        while (sel != 0) {
            unsigned int w = (unsigned int)__builtin_ctzll(sel);
            xen_ulong_t bits;

            sel &= sel - 1;
            bits = s->evtchn_pending[w] & ~s->evtchn_mask[w];
            while (bits != 0) {
                unsigned int b = (unsigned int)__builtin_ctzll(bits);
                evtchn_port_t port = w * BITS_PER_WORD + b;

                bits &= bits - 1;
                /* A handler may switch threads and another upcall may run
                 * meanwhile: dispatch only if the bit is still ours. */
                if (!word_test_and_clear_bit(b, &s->evtchn_pending[w]))
                    continue;
                if (handlers[port].fn) {
                    handlers[port].fn(port, handlers[port].data);
                    ran++;
                } else {
                    pv_evtchn_spurious++;
                }
            }
        }
    }
    return ran;
}

void pv_evtchn_mask(evtchn_port_t port)
{
    word_set_bit(port % BITS_PER_WORD, &HYPERVISOR_shared_info->evtchn_mask[port / BITS_PER_WORD]);
}

void pv_evtchn_unmask(evtchn_port_t port)
{
    struct shared_info *s = HYPERVISOR_shared_info;
    struct vcpu_info *vi = pv_vcpu_info();
    unsigned int w = port / BITS_PER_WORD, b = port % BITS_PER_WORD;

    word_clear_bit(b, &s->evtchn_mask[w]);
    pv_barrier();
    /* An event that arrived while masked did not raise the upcall: do what
     * Xen would have done on delivery. */
    if ((s->evtchn_pending[w] >> b) & 1) {
        if (!word_test_and_set_bit(w, &vi->evtchn_pending_sel)) {
            vi->evtchn_upcall_pending = 1;
            if (!vi->evtchn_upcall_mask)
                pv_force_evtchn_callback();
        }
    }
}

void pv_evtchn_clear(evtchn_port_t port)
{
    word_clear_bit(port % BITS_PER_WORD, &HYPERVISOR_shared_info->evtchn_pending[port / BITS_PER_WORD]);
}

int pv_evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);

    if (rc == 0)
        *port = op.port;
    return rc;
}

int pv_evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);

    if (rc == 0)
        *port = op.port;
    return rc;
}

int pv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
                               evtchn_port_t *local_port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);

    if (rc == 0)
        *local_port = op.local_port;
    return rc;
}

int pv_evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = { .port = port };

    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int pv_evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = { .port = port };

    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}
