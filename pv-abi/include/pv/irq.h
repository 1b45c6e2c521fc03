/*
 * pv/irq.h - virtual interrupt flag of an x86-64 PV guest: the upcall mask.
 *
 * Runs in a PV guest kernel.  "cli" is a store of 1 to this vCPU's
 * vcpu_info->evtchn_upcall_mask, "sti" a store of 0; no hypercall is needed
 * except when an event arrived while masked (evtchn_upcall_pending set): then
 * pv_irq_enable() forces the upcall with a cheap hypercall, since Xen
 * delivers pending events on every return to the guest.
 *
 * The guest must set HYPERVISOR_shared_info (see pv/evtchn.h) before use.
 * Single-vCPU guests: vCPU 0's vcpu_info is used.
 */
#ifndef PV_IRQ_H
#define PV_IRQ_H

#include <stdbool.h>
#include <pv/hypercall.h>

/* The shared_info page, mapped by the guest at boot (NULL before). */
extern struct shared_info *HYPERVISOR_shared_info;

#define pv_barrier() __asm__ __volatile__("" ::: "memory")

/* This vCPU's vcpu_info (vCPU 0). */
static inline struct vcpu_info *pv_vcpu_info(void)
{
    return &HYPERVISOR_shared_info->vcpu_info[0];
}

/* Makes Xen deliver pending, unmasked events now: any hypercall returns
 * through Xen's event check; xen_version(XENVER_version) is the cheapest. */
static inline void pv_force_evtchn_callback(void)
{
    (void)HYPERVISOR_xen_version(XENVER_version, NULL);
}

/* True when events (virtual interrupts) are enabled. */
static inline bool pv_irq_enabled(void)
{
    return pv_vcpu_info()->evtchn_upcall_mask == 0;
}

/* Masks event delivery ("cli"). */
static inline void pv_irq_disable(void)
{
    pv_vcpu_info()->evtchn_upcall_mask = 1;
    pv_barrier();
}

/* Unmasks event delivery ("sti") and runs the upcall now if an event is
 * pending, so no event waits for the next unrelated trap. */
static inline void pv_irq_enable(void)
{
    struct vcpu_info *vi = pv_vcpu_info();

    pv_barrier();
    vi->evtchn_upcall_mask = 0;
    pv_barrier();  /* unmask before checking pending (Xen sets pending first) */
    if (__builtin_expect(vi->evtchn_upcall_pending, 0))
        pv_force_evtchn_callback();
}

/* Disables events; returns true if they were enabled. */
static inline bool pv_irq_save(void)
{
    struct vcpu_info *vi = pv_vcpu_info();
    bool was_enabled = vi->evtchn_upcall_mask == 0;

    vi->evtchn_upcall_mask = 1;
    pv_barrier();
    return was_enabled;
}

/* Restores the state pv_irq_save() returned. */
static inline void pv_irq_restore(bool enabled)
{
    if (enabled)
        pv_irq_enable();
    else
        pv_irq_disable();
}

#endif /* PV_IRQ_H */
