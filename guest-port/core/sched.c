/*
 * sched.c - preemptive round-robin kernel threads for the guest kernel.
 *
 * One CPU.  The run queue is FIFO; the arch timer ends a 10 ms slice
 * (core_timer_interrupt) and wakes sleepers; an idle kernel with no
 * sleeper due has no tick.  Every switch happens with
 * interrupts disabled, through arch_context_switch(); a thread's kernel
 * stack and address space are installed on the way in.
 * Runs in the guest kernel, thread context or the timer upcall.
 */
#include "kernel.h"

enum thread_state { T_RUNNABLE, T_RUNNING, T_SLEEPING, T_BLOCKED, T_DEAD };

struct thread {
    struct arch_context ctx;
    int tid;
    enum thread_state state;
    char name[16];
    void *stack;                /* kmalloc'd; NULL for init (boot stack) */
    void (*fn)(void *);
    void *arg;
    struct thread *next;        /* run queue or sleep list */
    uint64_t wake_ns;           /* T_SLEEPING: arch_now_ns() deadline */
    struct thread *joiner;
    int exit_code;
    struct arch_aspace *as;     /* NULL: kernel-only address space */
};

static struct thread init_thread;
static struct thread *idle_thread;
static struct thread *current;
static struct thread *runq_head, *runq_tail;
static struct thread *sleepq;   /* sorted by wake_ns */
static uint64_t slice_end_ns;
static uint64_t preemptions;
static int next_tid = 1;

static void runq_push(struct thread *t)
{
    t->state = T_RUNNABLE;
    t->next = NULL;
    if (runq_tail)
        runq_tail->next = t;
    else
        runq_head = t;
    runq_tail = t;
}

static struct thread *runq_pop(void)
{
    struct thread *t = runq_head;
    if (t) {
        runq_head = t->next;
        if (!runq_head)
            runq_tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* Arms the arch timer for the first sleeper and, while a thread other
 * than idle runs (`running`), the end of its slice.  An idle kernel with
 * no sleeper sets a far deadline: no tick while nothing can run. */
#define IDLE_TIMER_NS (3600ULL * 1000000000ULL)
static void timer_arm_for(const struct thread *running)
{
    uint64_t deadline = running == idle_thread ? arch_now_ns() + IDLE_TIMER_NS : slice_end_ns;
    if (sleepq && sleepq->wake_ns < deadline)
        deadline = sleepq->wake_ns;
    arch_timer_set(deadline);
}

/* Picks the next thread and switches to it; interrupts must be off.
 * Returns when the caller is scheduled again (immediately if it is the
 * only runnable thread). */
static void schedule(void)
{
    struct thread *prev = current;
    if (prev->state == T_RUNNING && prev != idle_thread)
        runq_push(prev);
    struct thread *next = runq_pop();
    if (!next)
        next = idle_thread;
    next->state = T_RUNNING;
    slice_end_ns = arch_now_ns() + SCHED_SLICE_NS;
    timer_arm_for(next);
    if (next == prev)
        return;
    current = next;
    if (next->stack)
        arch_set_kernel_stack((char *)next->stack + THREAD_STACK_SIZE);
    arch_aspace_switch(next->as);
    arch_context_switch(&prev->ctx, &next->ctx);
}

void core_timer_interrupt(void)
{
    uint64_t now = arch_now_ns();
    while (sleepq && sleepq->wake_ns <= now) {
        struct thread *t = sleepq;
        sleepq = t->next;
        runq_push(t);
    }
    if (current == idle_thread) {
        if (runq_head) {
            schedule();
            return;
        }
    } else if (now >= slice_end_ns) {
        if (runq_head) {
            preemptions++;
            schedule();
            return;
        }
        slice_end_ns = now + SCHED_SLICE_NS;
    }
    timer_arm_for(current);
}

static void thread_start(void *arg)
{
    struct thread *t = arg;
    t->fn(t->arg);
    thread_exit(0);
}

static void idle_loop(void *arg)
{
    for (;;) {
        arch_irq_disable();
        if (runq_head)
            schedule();
        else
            arch_idle();
    }
}

static struct thread *thread_alloc(const char *name, void (*fn)(void *), void *arg)
{
    struct thread *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    t->stack = kmalloc(THREAD_STACK_SIZE);
    if (!t->stack) {
        kfree(t);
        return NULL;
    }
    strlcpy_k(t->name, name, sizeof(t->name));
    t->fn = fn;
    t->arg = arg;
    arch_context_init(&t->ctx, (char *)t->stack + THREAD_STACK_SIZE,
                      thread_start, t);
    return t;
}

void sched_init(void)
{
    bool flags = arch_irq_save();
    init_thread.tid = 0;
    init_thread.state = T_RUNNING;
    strlcpy_k(init_thread.name, "init", sizeof(init_thread.name));
    current = &init_thread;
    idle_thread = thread_alloc("idle", idle_loop, NULL);
    if (!idle_thread)
        panic("sched: no memory for the idle thread");
    idle_thread->tid = -1;
    idle_thread->state = T_BLOCKED;     /* never on the run queue */
    slice_end_ns = arch_now_ns() + SCHED_SLICE_NS;
    timer_arm_for(current);
    arch_irq_restore(flags);
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg)
{
    struct thread *t = thread_alloc(name, fn, arg);
    if (!t)
        return NULL;
    bool flags = arch_irq_save();
    t->tid = next_tid++;
    runq_push(t);
    arch_irq_restore(flags);
    return t;
}

void thread_exit(int code)
{
    arch_irq_disable();
    current->exit_code = code;
    current->state = T_DEAD;
    if (current->joiner)
        runq_push(current->joiner);
    schedule();
    panic("sched: dead thread %d was scheduled", current->tid);
}

void thread_yield(void)
{
    bool flags = arch_irq_save();
    schedule();
    arch_irq_restore(flags);
}

void thread_sleep_ns(uint64_t ns)
{
    bool flags = arch_irq_save();
    struct thread *t = current;
    t->wake_ns = arch_now_ns() + ns;
    t->state = T_SLEEPING;
    struct thread **pp = &sleepq;
    while (*pp && (*pp)->wake_ns <= t->wake_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    schedule();
    arch_irq_restore(flags);
}

void thread_wake(struct thread *t)
{
    bool flags = arch_irq_save();

    if (t->state == T_SLEEPING) {
        struct thread **pp = &sleepq;

        while (*pp && *pp != t)
            pp = &(*pp)->next;
        if (*pp)
            *pp = t->next;
        runq_push(t);
    }
    arch_irq_restore(flags);
}

int thread_join(struct thread *t)
{
    if (t == current || t == &init_thread)
        panic("sched: bad join of thread %d", t->tid);
    bool flags = arch_irq_save();
    while (t->state != T_DEAD) {
        t->joiner = current;
        current->state = T_BLOCKED;
        schedule();
    }
    arch_irq_restore(flags);
    int code = t->exit_code;
    kfree(t->stack);
    kfree(t);
    return code;
}

struct thread *thread_current(void)
{
    return current;
}

int thread_id(const struct thread *t)
{
    return t->tid;
}

struct arch_aspace *thread_aspace(const struct thread *t)
{
    return t->as;
}

void thread_set_aspace(struct thread *t, struct arch_aspace *as)
{
    bool flags = arch_irq_save();
    t->as = as;
    if (t == current)
        arch_aspace_switch(as);
    arch_irq_restore(flags);
}

uint64_t sched_preemptions(void)
{
    return preemptions;
}
