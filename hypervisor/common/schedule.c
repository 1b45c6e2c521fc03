/*
 * schedule.c - a preemptive round-robin scheduler over every runnable vCPU,
 * vCPU timers (VIRQ_TIMER), and the sched_op / set_timer_op / vcpu_op
 * hypercalls (Xen public/sched.h, public/vcpu.h).  Runs in ring 0 with
 * interrupts off; the only place interrupts are enabled is the idle loop.
 *
 * A switch copies the running vCPU's register frame (guest_frame) into its
 * struct vcpu and the next one's into guest_frame; exit_to_guest then irets
 * into whichever vCPU is there.
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "common/guest_access.h"

#define SLICE_NS        10000000ULL     /* 10 ms */
#define SCRUB_BATCH     64              /* frames zeroed per idle step */

union exit_work exit_work;
/* Every vCPU that exists, in creation order: a circular list through
 * vcpu.runq_next/runq_prev, runq_head its first (NULL: none). */
static struct vcpu *runq_head;
static unsigned int nr_vcpus;       /* on the list; the timer heap holds as many */
static struct vcpu **theap;         /* the timer heap (below): theap[0] earliest */
static unsigned int theap_n, theap_cap;
static void theap_remove(struct vcpu *v);
static uint64_t slice_end;

int sched_add_vcpu(struct vcpu *v)
{
    ASSERT(!v->on_runq);
    if (nr_vcpus + 1 > theap_cap) {     /* a heap slot for every vCPU */
        unsigned int cap = theap_cap ? 2 * theap_cap : 512;
        struct vcpu **h = xzalloc_bytes(cap * sizeof(*h));

        if (!h)
            return -XEN_ENOMEM;
        if (theap)
            memcpy(h, theap, theap_n * sizeof(*h));
        xfree(theap);
        theap = h;
        theap_cap = cap;
    }
    if (!runq_head) {
        v->runq_next = v->runq_prev = v;
        runq_head = v;
    } else {
        v->runq_next = runq_head;
        v->runq_prev = runq_head->runq_prev;
        runq_head->runq_prev->runq_next = v;
        runq_head->runq_prev = v;
    }
    v->on_runq = true;
    v->timer_at = 0;
    nr_vcpus++;
    return 0;
}

void sched_remove_vcpu(struct vcpu *v)
{
    if (!v->on_runq)
        return;
    theap_remove(v);
    nr_vcpus--;
    v->on_runq = false;
    if (v->runq_next == v) {
        runq_head = NULL;
    } else {
        v->runq_prev->runq_next = v->runq_next;
        v->runq_next->runq_prev = v->runq_prev;
        if (runq_head == v)
            runq_head = v->runq_next;
    }
    v->runq_next = v->runq_prev = NULL;
}

void vcpu_kick(struct vcpu *v)
{
    if (v->state == VCPU_BLOCKED || v->state == VCPU_POLLING) {
        v->state = VCPU_RUNNABLE;
        v->poll_deadline = 0;
        need_resched = true;
    }
}

static bool can_run(const struct vcpu *v)
{
    return v->state == VCPU_RUNNABLE && !v->domain->pause_count && !v->domain->is_dying &&
           !v->domain->is_shutting_down;
}

/* Next runnable vCPU after prev in run-queue order (prev itself last). */
static struct vcpu *pick_next(struct vcpu *prev)
{
    struct vcpu *first = prev && prev->on_runq ? prev->runq_next : runq_head, *v = first;

    if (!v)
        return NULL;
    do {
        if (can_run(v))
            return v;
        v = v->runq_next;
    } while (v != first);
    return NULL;
}

/*
 * vCPU timers: every vCPU with a deadline (its single-shot and periodic
 * timers, a SCHEDOP_poll timeout, its kind's own timers) sits in a binary
 * min-heap by vcpu.timer_at, so finding and firing what is due costs
 * O(log n) per vCPU touched, not a scan of every vCPU (Xen's timer heap).
 * A key may be early (a deadline cleared without requeueing: the vCPU is
 * looked at, and requeued for what it really waits for), never late: every
 * change that brings a deadline forward calls sched_timer_requeue().
 */

static uint64_t vcpu_next_deadline(struct vcpu *v)
{
    uint64_t dl = 0;

#define EARLIER(t) do { uint64_t t_ = (t); if (t_ && (!dl || t_ < dl)) dl = t_; } while (0)
    EARLIER(v->singleshot_deadline);
    if (v->periodic_period)
        EARLIER(v->periodic_next);
    if (v->state == VCPU_POLLING)
        EARLIER(v->poll_deadline);
    if (v->domain->vcpu_ops->timer_deadline)
        EARLIER(v->domain->vcpu_ops->timer_deadline(v));
#undef EARLIER
    return dl;
}

static void theap_set(unsigned int i, struct vcpu *v)
{
    theap[i] = v;
    v->theap_idx = i;
}

static void theap_up(unsigned int i)
{
    struct vcpu *v = theap[i];

    while (i && theap[(i - 1) / 2]->timer_at > v->timer_at) {
        theap_set(i, theap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    theap_set(i, v);
}

static void theap_down(unsigned int i)
{
    struct vcpu *v = theap[i];

    for (;;) {
        unsigned int c = 2 * i + 1;

        if (c >= theap_n)
            break;
        if (c + 1 < theap_n && theap[c + 1]->timer_at < theap[c]->timer_at)
            c++;
        if (theap[c]->timer_at >= v->timer_at)
            break;
        theap_set(i, theap[c]);
        i = c;
    }
    theap_set(i, v);
}

static void theap_remove(struct vcpu *v)
{
    unsigned int i = v->theap_idx;

    if (!v->timer_at)
        return;                     /* not queued */
    v->timer_at = 0;
    if (--theap_n != i) {
        struct vcpu *m = theap[theap_n];

        theap_set(i, m);
        theap_down(i);
        theap_up(m->theap_idx);
    }
}

void sched_timer_requeue(struct vcpu *v)
{
    uint64_t dl;

    if (!v->on_runq)
        return;
    theap_remove(v);
    dl = vcpu_next_deadline(v);
    if (!dl)
        return;
    v->timer_at = dl;
    theap_set(theap_n, v);          /* room: sched_add_vcpu() made it */
    theap_up(theap_n++);
}

static uint64_t earliest_deadline(void)
{
    uint64_t dl = current ? slice_end : NOW() + 1000000000ULL;

    if (theap_n && theap[0]->timer_at < dl)
        dl = theap[0]->timer_at;
    return dl;
}

/* Runs v's timers that are due at now. */
static void vcpu_timers_fire(struct vcpu *v, uint64_t now)
{
    if (v->singleshot_deadline && v->singleshot_deadline <= now) {
        v->singleshot_deadline = 0;
        send_guest_virq(v, VIRQ_TIMER);
    }
    if (v->periodic_period && v->periodic_next <= now) {
        while (v->periodic_next <= now)
            v->periodic_next += v->periodic_period;
        send_guest_virq(v, VIRQ_TIMER);
    }
    if (v->state == VCPU_POLLING && v->poll_deadline && v->poll_deadline <= now)
        vcpu_kick(v);
    if (v->domain->vcpu_ops->timer_tick)
        v->domain->vcpu_ops->timer_tick(v, now);
}

void sched_timer_tick(void)
{
    uint64_t now = NOW();

    while (theap_n && theap[0]->timer_at <= now) {
        struct vcpu *v = theap[0];

        theap_remove(v);
        vcpu_timers_fire(v, now);
        sched_timer_requeue(v);     /* no-op if its domain went away */
    }
    if (current && now >= slice_end)
        need_resched = true;
    timer_program(earliest_deadline());
}

void sched_timers_changed(struct vcpu *v)
{
    sched_timer_requeue(v);
    timer_program(earliest_deadline());
}

static void save_vcpu(struct vcpu *v)
{
    v->regs = *guest_frame;
    fpu_save(v->fxsave);
}

static void load_vcpu(struct vcpu *v)
{
    *guest_frame = v->regs;
    exit_work.frame = true;
    exit_work.event = true;         /* v's upcall may have come while it was out */
    write_cr3(v->domain->vcpu_ops->cr3(v));
    load_segments(v);
    fpu_restore(v->fxsave);
    if (v->fpu_ts)
        write_cr0(read_cr0() | X86_CR0_TS);
    update_vcpu_time(v);
    current = v;
}

void schedule(void)
{
    struct vcpu *prev = current;
    uint64_t now = NOW();
    struct vcpu *next = pick_next(prev);

    domain_reap();
    need_resched = false;
    if (next == prev && prev) {
        slice_end = now + SLICE_NS;
        timer_program(earliest_deadline());
        return;
    }
    if (prev) {
        save_vcpu(prev);
        prev->cpu_time_ns += now - prev->last_run_ns;
    }
    current = NULL;
    while (!next) {
        /* Idle: nothing runnable until an interrupt makes something so. */
        write_cr3(idle_cr3());
        if (!domain_count())
            machine_poweroff(dom0_exit_code);
        timer_program(earliest_deadline());
        /* Idle time zeroes free frames, a batch (about 0.1 ms on
         * hardware) between looks at pending interrupts. */
        if (mm_scrub(SCRUB_BATCH))
            irq_window();
        else
            safe_halt();
        next = pick_next(NULL);
    }
    load_vcpu(next);
    next->last_run_ns = NOW();
    slice_end = next->last_run_ns + SLICE_NS;
    timer_program(earliest_deadline());
}

/* SCHEDOP_poll: is any of v's polled ports pending? */
static bool poll_ready(struct vcpu *v)
{
    for (unsigned int i = 0; i < v->nr_poll_ports; i++)
        if (evtchn_port_is_pending(v->domain, v->poll_ports[i]))
            return true;
    return false;
}

long do_sched_op(int cmd, uint64_t arg)
{
    struct vcpu *v = current;

    switch (cmd) {
    case SCHEDOP_yield:
        need_resched = true;
        return 0;
    case SCHEDOP_block:
        /* Blocking re-enables event delivery (Xen's do_block). */
        v->vcpu_info->evtchn_upcall_mask = 0;
        if (!v->vcpu_info->evtchn_upcall_pending) {
            v->state = VCPU_BLOCKED;
            need_resched = true;
        }
        return 0;
    case SCHEDOP_shutdown: {
        struct sched_shutdown s;
        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        /* A suspended PV vCPU is saved with the hypercall done: it returns
         * 0 in the domain the toolstack restores (the start_info MFN stays
         * in rdx for the toolstack, as Xen's PV ABI has it). */
        if (s.reason == SHUTDOWN_suspend)
            guest_frame->rax = 0;
        domain_shutdown(v->domain, s.reason);
        return 0;
    }
    case SCHEDOP_poll: {
        struct sched_poll p;
        if (copy_from_guest(&p, arg, sizeof(p)))
            return -XEN_EFAULT;
        if (p.nr_ports > ARRAY_SIZE(v->poll_ports))
            return -XEN_EINVAL;
        if (copy_from_guest(v->poll_ports, (uint64_t)p.ports.p,
                            p.nr_ports * sizeof(evtchn_port_t)))
            return -XEN_EFAULT;
        for (unsigned int i = 0; i < p.nr_ports; i++)
            if (v->poll_ports[i] >= EVTCHN_MAX_PORTS)
                return -XEN_EINVAL;
        v->nr_poll_ports = p.nr_ports;
        if (poll_ready(v))
            return 0;
        v->poll_deadline = p.timeout;
        v->state = VCPU_POLLING;
        sched_timer_requeue(v);
        need_resched = true;
        return 0;
    }
    case SCHEDOP_shutdown_code: {
        struct sched_shutdown s;
        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        v->domain->shutdown_code = s.reason;
        return 0;
    }
    default:
        return -XEN_ENOSYS;
    }
}

long do_set_timer_op(uint64_t timeout_ns)
{
    current->singleshot_deadline = timeout_ns;
    if (timeout_ns && timeout_ns <= NOW()) {
        current->singleshot_deadline = 0;
        send_guest_virq(current, VIRQ_TIMER);
    }
    sched_timer_requeue(current);
    return 0;
}

long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg)
{
    struct domain *d = current->domain;
    struct vcpu *v;

    if (vcpuid >= d->max_vcpus || !(v = d->vcpu[vcpuid]))
        return -XEN_ENOENT;
    switch (cmd) {
    case VCPUOP_is_up:
        return v->state != VCPU_DOWN;
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer t;
        if (v != current)
            return -XEN_EINVAL;
        if (copy_from_guest(&t, arg, sizeof(t)))
            return -XEN_EFAULT;
        if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < NOW())
            return -XEN_ETIME;
        return do_set_timer_op(t.timeout_abs_ns ? t.timeout_abs_ns : 1);
    }
    case VCPUOP_stop_singleshot_timer:
        if (v != current)
            return -XEN_EINVAL;
        v->singleshot_deadline = 0;
        return 0;
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer t;
        if (copy_from_guest(&t, arg, sizeof(t)))
            return -XEN_EFAULT;
        if (t.period_ns < 1000000ULL)       /* Xen's minimum: 1 ms */
            return -XEN_EINVAL;
        v->periodic_period = t.period_ns;
        v->periodic_next = NOW() + t.period_ns;
        sched_timer_requeue(v);
        return 0;
    }
    case VCPUOP_stop_periodic_timer:
        v->periodic_period = 0;
        return 0;
    case VCPUOP_get_runstate_info: {
        struct vcpu_runstate_info r;
        memset(&r, 0, sizeof(r));
        r.state = v == current ? RUNSTATE_running :
                  v->state == VCPU_RUNNABLE ? RUNSTATE_runnable :
                  v->state == VCPU_DOWN ? RUNSTATE_offline : RUNSTATE_blocked;
        r.state_entry_time = NOW();
        r.time[RUNSTATE_running] = v->cpu_time_ns;
        return copy_to_guest(arg, &r, sizeof(r));
    }
    default:
        return -XEN_ENOSYS;
    }
}
