/*
 * pv/evtchn.h - 2-level event channels for PV guests.
 *
 * Runs in a PV guest kernel.  Ports are bits in shared_info->evtchn_pending
 * (64 words of 64 bits); vcpu_info->evtchn_pending_sel says which words may
 * hold set bits, evtchn_upcall_pending that the selector is non-empty.  The
 * upcall (pv_evtchn_do_upcall) runs with events masked, clears and
 * dispatches each pending, unmasked port to its handler.
 */
#ifndef PV_EVTCHN_H
#define PV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>
#include <pv/irq.h>

#define PV_EVTCHN_NR_PORTS (sizeof(xen_ulong_t) * 8 * sizeof(xen_ulong_t) * 8)

/* Handler of one port: runs in the upcall, events masked. */
typedef void (*pv_evtchn_handler_t)(evtchn_port_t port, void *data);

/* Forgets every handler: after a restore into a new domain none of the
 * old ports exists (the caller binds its channels again, as Linux's
 * xen_irq_resume()). */
void pv_evtchn_reset(void);

/* Sets (handler != NULL) or clears the handler of port.  -EINVAL if the
 * port is out of range.  Does not unmask the port. */
int pv_evtchn_set_handler(evtchn_port_t port, pv_evtchn_handler_t handler, void *data);

/* Scans and dispatches pending unmasked ports; called by the guest's event
 * callback with events masked.  Ports without a handler are cleared and
 * counted in pv_evtchn_spurious.  Returns the number of handlers run. */
unsigned int pv_evtchn_do_upcall(void);
extern uint64_t pv_evtchn_spurious;

/* Masks / unmasks port in shared_info.  Unmask re-raises the upcall if the
 * port is pending (Xen's rules: set the selector bit, then upcall_pending). */
void pv_evtchn_mask(evtchn_port_t port);
void pv_evtchn_unmask(evtchn_port_t port);
/* Clears port's pending bit. */
void pv_evtchn_clear(evtchn_port_t port);

/* EVTCHNOP_bind_virq: binds virq (VIRQ_*) of vcpu to a new port, *port
 * out.  Returns 0 or negative Xen errno (-EEXIST if already bound). */
int pv_evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
/* EVTCHNOP_alloc_unbound: a port in this domain that remote_dom may bind. */
int pv_evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port);
/* EVTCHNOP_bind_interdomain: connects to remote_port of remote_dom. */
int pv_evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
                               evtchn_port_t *local_port);
/* EVTCHNOP_send: notifies the other end of port. */
int pv_evtchn_send(evtchn_port_t port);
/* EVTCHNOP_close. */
int pv_evtchn_close(evtchn_port_t port);

#endif /* PV_EVTCHN_H */
