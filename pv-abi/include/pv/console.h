/*
 * pv/console.h - the console of a PV guest: the hypervisor console
 * (CONSOLEIO_write) and the console ring of a domU (io/console.h).
 *
 * Runs in a PV guest kernel.  HYPERVISOR_console_io(CONSOLEIO_write) prints
 * to the hypervisor's console (Xen: dom0 always; a domU only with a debug
 * Xen or guest_loglvl; Lamina: every domain).  A domU built by a toolstack
 * gets a struct xencons_interface page instead (start_info->console.domU):
 * the guest produces into `out` and consumes `in`; the back-end in dom0
 * does the reverse; each side notifies the other over one event channel.
 */
#ifndef PV_CONSOLE_H
#define PV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pv/hypercall.h>

/* Writes n bytes of s through CONSOLEIO_write, in chunks, retrying short
 * writes.  Returns 0, or the negative Xen errno of the failing call. */
int pv_console_write(const char *s, size_t n);

/* How long pv_cons_ring_write() waits, in total per call, for the back-end
 * to free space in a full `out` ring before it drops the rest. */
#define PV_CONS_WAIT_NS 20000000ULL     /* 20 ms */
/* Input bytes buffered in the guest between the ring and a reader. */
#define PV_CONS_INBUF   512

/* Connects the console ring: intf is the ring page mapped writable in
 * this guest, port the guest's end of the console event channel
 * (start_info->console.domU.evtchn).  Installs the event handler (it moves
 * `in` bytes into a guest buffer) and unmasks the port.  Returns 0 or
 * -XEN_EINVAL (NULL intf, bad port).  Call once, events masked. */
int pv_cons_ring_init(struct xencons_interface *intf, evtchn_port_t port);
/* After a restore: the same ring (guest memory moves with the domain),
 * a new event channel port.  0 (also with no ring), or as _init. */
int pv_cons_ring_resume(evtchn_port_t port);

/* True once pv_cons_ring_init() succeeded. */
bool pv_cons_ring_active(void);
/* Copies s into `out` and notifies the back-end.  When the ring is full it
 * yields the vCPU (SCHEDOP_yield) for at most PV_CONS_WAIT_NS in total,
 * then drops the remainder; after a drop, later calls do not wait until
 * the back-end has consumed something again (a back-end that never
 * attaches costs nothing).  Returns the bytes queued (<= n).  Any context;
 * the caller serialises writers (events masked). */
size_t pv_cons_ring_write(const char *s, size_t n);
/* Moves up to n buffered input bytes into buf without waiting; first
 * drains `in` into the buffer (a polling fallback for a lost event).
 * Returns the number of bytes copied.  Any context; masks events itself. */
size_t pv_cons_ring_read(char *buf, size_t n);
/* Bytes dropped by pv_cons_ring_write() so far (statistics). */
uint64_t pv_cons_ring_dropped(void);

#endif /* PV_CONSOLE_H */
