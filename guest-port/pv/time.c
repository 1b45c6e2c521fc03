/*
 * time.c - PV interrupts (the upcall mask), time (PV clock), the one-shot
 * timer (VIRQ_TIMER + VCPUOP_set_singleshot_timer) and idle (SCHEDOP_block).
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV), any context.
 */
#include "pv.h"
#include <pv/evtchn.h>
#include <pv/irq.h>
#include <pv/time.h>

static uint64_t boot_system_ns;     /* Xen system time at pv_time_init, moved
                                     * on by pv_time_resume() */
static evtchn_port_t timer_port;
static uint64_t last_deadline_ns;   /* arch_timer_set's last, in arch_now_ns() */
static uint64_t suspended_at_ns;    /* arch_now_ns() at pv_time_suspend() */

void arch_irq_disable(void)
{
    pv_irq_disable();
}

void arch_irq_enable(void)
{
    pv_irq_enable();
}

bool arch_irq_save(void)
{
    return pv_irq_save();
}

void arch_irq_restore(bool enabled)
{
    pv_irq_restore(enabled);
}

/* Xen's documented race-free wait: with events masked, check for pending
 * work, then SCHEDOP_block, which unmasks and blocks atomically; pending
 * events are delivered as the hypercall returns. */
void arch_idle(void)
{
    pv_irq_disable();
    if (pv_vcpu_info()->evtchn_upcall_pending) {
        pv_irq_enable();
        return;
    }
    (void)HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    /* Xen left events unmasked; make it explicit for readers. */
    pv_irq_enable();
}

static uint64_t system_ns(void)
{
    return pv_time_system_ns(&pv_vcpu_info()->time);
}

uint64_t arch_now_ns(void)
{
    return system_ns() - boot_system_ns;
}

void arch_timer_set(uint64_t deadline_ns)
{
    last_deadline_ns = deadline_ns;
    struct vcpu_set_singleshot_timer t = {
        .timeout_abs_ns = deadline_ns + boot_system_ns,
        .flags = 0,     /* a deadline in the past fires at once */
    };
    int rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);

    if (rc)
        pv_die("VCPUOP_set_singleshot_timer", rc);
}

static void timer_event(evtchn_port_t port, void *data)
{
    core_timer_interrupt();
}

static void timer_bind(void)
{
    int rc;

    /* Only the one-shot timer drives the core: stop Xen's default tick. */
    rc = HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    if (rc)
        pv_die("VCPUOP_stop_periodic_timer", rc);
    rc = pv_evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    if (rc)
        pv_die("EVTCHNOP_bind_virq(VIRQ_TIMER)", rc);
    rc = pv_evtchn_set_handler(timer_port, timer_event, NULL);
    if (rc)
        pv_die("timer handler", rc);
    pv_evtchn_unmask(timer_port);
}

void pv_time_suspend(void)
{
    suspended_at_ns = arch_now_ns();
}

void pv_time_resume(bool new_domain)
{
    /* The kernel's clock stands still while it is suspended, as after a
     * suspend to RAM: a restore on another machine, whose system time
     * started elsewhere, does not make it jump. */
    boot_system_ns = system_ns() - suspended_at_ns;
    if (new_domain)
        timer_bind();
    arch_timer_set(last_deadline_ns);
}

void pv_time_init(void)
{
    boot_system_ns = system_ns();
    timer_bind();
}

