/*
 * main.c - init: the guest kernel's entry from the arch layer and its
 * visible workload.  Runs in the guest kernel, first on the boot stack
 * (which becomes thread 0, "init"), then as a scheduled thread.
 *
 * Command line: `workload=quick` shortens the workload; `bench` runs the
 * microbenchmark suite (core/bench.c, `bench_iters=N` iterations each)
 * instead of the workload and powers off; `test=user-fault` also runs a user process
 * that dies of a page fault (the kernel must survive it);
 * `test=ud` and `test=bad-pte` run the isolation self-tests of
 * core/selftest.c; `test=kernel-fault` makes init touch an unmapped kernel address (the
 * kernel must report it and power off with a crash code).
 * `agent` in a privileged (PV dom0) kernel runs the toolstack agent
 * (toolstack/agent) instead of the workload; `test=build` first runs the
 * libxc self-test (toolstack/libxc); `service` runs core/service.c (a
 * long-running domain) instead of the workload.  None of these is named
 * here: each registers itself (guest_service.h) and init runs the
 * registered services of each stage whose word is on the command line;
 * a request no registration names (a bare word, or test=NAME) gets a line
 * listing the registered ones, and init carries on.  The agent and libxc
 * are linked into the PV kernel only.
 *
 * Lines meant to be compared between runs and hypervisors (order between
 * threads may differ):
 *   thread N: step S sum=X      (N = 1..3, S = 1..steps)
 *   thread N: done
 *   user: ...                   (the user process's own output)
 *   init: thread N exited with code N
 *   init: user process exited with code 42
 *   user: pid 5 killed: page fault at 10 (error 4)     (test=user-fault)
 *   init: faulting process exited with code -14        (test=user-fault)
 *   init: workload done
 * Lines with measured values (init: elapsed/preemptions/free) vary.
 */
#include "guest_service.h"
#include "kernel.h"

#define NR_WORKERS      3
#define STEPS_FULL      6
#define STEPS_QUICK     3
#define WORK_ITERATIONS 12000000UL
/* Unmapped in every kernel address space (L4 slot 402: neither the
 * image, the direct map nor the hypervisor's range). */
#define KERNEL_FAULT_VA 0xffffc90000000000UL

/* init's own workload options, read below. */
GUEST_SERVICE("test=user-fault", NULL, GUEST_STAGE_WORKLOAD, 0);
GUEST_SERVICE("test=kernel-fault", NULL, GUEST_STAGE_WORKLOAD, 0);
GUEST_SERVICE("test=user-privop", NULL, GUEST_STAGE_WORKLOAD, 0);

static int worker_steps;

/* A few milliseconds of deterministic arithmetic. */
static uint64_t work(uint64_t seed)
{
    uint64_t x = seed, sum = 0;
    for (unsigned long i = 0; i < WORK_ITERATIONS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        sum += x >> 40;
        __asm__ volatile("" : "+r"(x));     /* keep the loop honest */
    }
    return sum;
}

static void worker(void *arg)
{
    int id = thread_id(thread_current());
    for (int step = 1; step <= worker_steps; step++) {
        uint64_t sum = work((uint64_t)id * 1000 + step);
        kprintf("thread %d: step %d sum=%lu\n", id, step, (unsigned long)sum);
        if (id == NR_WORKERS)
            thread_sleep_ns(2000000);       /* exercise sleep: 2 ms */
    }
    kprintf("thread %d: done\n", id);
    thread_exit(id);
}

void kernel_main(const struct arch_boot_info *bi)
{
    core_mm_init(bi);
    kprintf("Lamina guest kernel (arch %s) cmdline \"%s\"\n", bi->arch_name,
            bi->cmdline ? bi->cmdline : "");
    kprintf("init: %lu frames, %lu free\n", (unsigned long)bi->nr_pfns,
            (unsigned long)core_free_frame_count());
    worker_steps = cmdline_has(bi->cmdline, "workload=quick") ? STEPS_QUICK
                                                               : STEPS_FULL;
    sched_init();
    arch_irq_enable();
    arch_services_start();
    (void)guest_service_check_cmdline(bi);
    guest_service_run_stage(bi, GUEST_STAGE_ROLE);
    guest_service_run_stage(bi, GUEST_STAGE_BENCH);
    guest_service_run_stage(bi, GUEST_STAGE_TEST);
    guest_service_run_stage(bi, GUEST_STAGE_MODE);
    uint64_t t0 = arch_now_ns();

    struct thread *w[NR_WORKERS];
    for (int i = 0; i < NR_WORKERS; i++) {
        w[i] = thread_create("worker", worker, NULL);
        if (!w[i])
            panic("init: cannot create worker %d", i + 1);
    }
    if (cmdline_has(bi->cmdline, "test=kernel-fault")) {
        kprintf("init: touching unmapped kernel address %lx\n", KERNEL_FAULT_VA);
        *(volatile uint64_t *)KERNEL_FAULT_VA = 1;
        kprintf("init: survived a kernel page fault (wrong)\n");
    }
    struct user_proc *up = user_process_start(false);
    if (!up)
        panic("init: cannot start the user process");
    kprintf("init: started %d threads and user process pid %d\n", NR_WORKERS,
            user_process_pid(up));

    for (int i = 0; i < NR_WORKERS; i++) {
        int id = thread_id(w[i]);
        int code = thread_join(w[i]);
        kprintf("init: thread %d exited with code %d\n", id, code);
    }
    int code = user_process_wait(up);
    kprintf("init: user process exited with code %d\n", code);
    if (cmdline_has(bi->cmdline, "test=user-fault")) {
        up = user_process_start(true);
        if (!up)
            panic("init: cannot start the faulting process");
        code = user_process_wait(up);
        kprintf("init: faulting process exited with code %d\n", code);
    }
    if (cmdline_has(bi->cmdline, "test=user-privop")) {
        up = user_privop_process_start();
        if (!up)
            panic("init: cannot start the privileged-instruction process");
        code = user_process_wait(up);
        kprintf("init: privileged-instruction process exited with code %d (wrong)\n", code);
    }

    uint64_t ms = (arch_now_ns() - t0) / 1000000;
    kprintf("init: elapsed %lu ms, %lu preemptions, %lu frames free\n",
            (unsigned long)ms, (unsigned long)sched_preemptions(),
            (unsigned long)core_free_frame_count());
    kprintf("init: workload done\n");
    arch_poweroff(0);
}
