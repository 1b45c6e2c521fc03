/*
 * bench.c - the guest kernel's microbenchmark suite (cmdline `bench`,
 * `bench_iters=N`).  Times each operation once per iteration with rdtsc,
 * keeps every sample, and prints min and median minus the measurement
 * bracket (see bench.h for the output lines).  Kernel-side operations come
 * from the arch layer's arch_bench_* hooks; the user-side ones
 * (syscall_user and the two physical limits) run in a user process
 * (user_prog.S user_prog_bench_entry) that stores its samples in data
 * pages the kernel mapped for it and then reads back.
 *
 * Runs in the guest kernel: bench_main in init (thread 0) with interrupts
 * enabled; bench_kernel_fault/bench_user_done on the page-fault path.
 */
#include "bench.h"
#include "guest_service.h"
#include "kernel.h"

#define BENCH_ITERS_DEFAULT 10000
#define BENCH_ITERS_MIN     100
#define BENCH_ITERS_MAX     1000000

static volatile uint64_t bench_fault_va;    /* page_fault's page; 0 = none */
static volatile unsigned int bench_user_mode;   /* running user bench; 0 = none */
static uint64_t bracket_min;
static int bench_failures;

/* The value of `bench_iters=N` in cmdline, clamped to [MIN, MAX]; the
 * default when absent or malformed. */
static size_t bench_parse_iters(const char *cmdline)
{
    uint64_t v = cmdline_u64(cmdline, "bench_iters=", BENCH_ITERS_DEFAULT);

    if (v < BENCH_ITERS_MIN)
        return BENCH_ITERS_MIN;
    return v > BENCH_ITERS_MAX ? BENCH_ITERS_MAX : (size_t)v;
}

/* In-place heapsort, ascending (n up to BENCH_ITERS_MAX, no recursion). */
static void bench_sift(uint64_t *a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[root] >= a[c])
            return;
        uint64_t t = a[root];
        a[root] = a[c];
        a[c] = t;
        root = c;
    }
}

static void bench_sort(uint64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        bench_sift(a, i, n);
    for (size_t end = n; end-- > 1;) {
        uint64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        bench_sift(a, 0, end);
    }
}

/* Sorts s and returns its minimum and (upper) median. */
static void bench_stats(uint64_t *s, size_t n, uint64_t *min, uint64_t *median)
{
    bench_sort(s, n);
    *min = s[0];
    *median = s[n / 2];
}

static uint64_t sub_clamp(uint64_t v, uint64_t b)
{
    return v > b ? v - b : 0;
}

/* Prints the BENCH line for samples s (sorted in place). */
static void bench_report(const char *name, uint64_t *s, size_t n)
{
    uint64_t min, median;

    bench_stats(s, n, &min, &median);
    kprintf("BENCH %s %lu %lu %lu\n", name, (unsigned long)n,
            (unsigned long)sub_clamp(min, bracket_min),
            (unsigned long)sub_clamp(median, bracket_min));
}

static void bench_error(const char *name, const char *why, long code)
{
    kprintf("BENCH_ERROR %s %s (%ld)\n", name, why, code);
    bench_failures++;
}

/* The empty bracket: rdtsc; rdtsc. */
static void bench_bracket(uint64_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

/* page_fault: each iteration reads the unmapped window page; the fault
 * path (bench_kernel_fault) maps it and the read retries.  The page is
 * unmapped again outside the bracket. */
static void bench_page_fault(uint64_t *s, size_t n)
{
    uint64_t va = arch_bench_window_va();

    bench_fault_va = va;
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        (void)*(volatile uint64_t *)va;
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
        arch_bench_fault_unmap(va);
    }
    bench_fault_va = 0;
}

bool bench_kernel_fault(uint64_t addr)
{
    uint64_t va = bench_fault_va;

    if (!va || (addr & ~(GPAGE_SIZE - 1)) != va)
        return false;
    return arch_bench_fault_map(va) == 0;
}

bool bench_user_done(uint64_t addr)
{
    unsigned int mode = bench_user_mode;

    if (!mode || (addr & ~(GPAGE_SIZE - 1)) != USER_BENCH_DONE_VA)
        return false;
    if (mode != BENCH_USER_SYSCALL)
        arch_bench_limit_end(mode);
    return true;
}

/* Runs the user program in `mode` for n iterations and copies its samples
 * to s.  0, or negative (the reason is printed). */
static int bench_user(const char *name, unsigned int mode, uint64_t *s, size_t n)
{
    size_t pages = ALIGN_UP((n + 2) * sizeof(uint64_t), GPAGE_SIZE) / GPAGE_SIZE;
    uint64_t pfn = core_alloc_frames(pages);
    int rc = 0;

    if (!pfn) {
        bench_error(name, "no memory for the sample pages", 0);
        return -GUEST_EINVAL;
    }
    uint64_t *data = arch_pfn_to_virt(pfn);
    data[0] = mode;
    data[1] = n;
    if (mode != BENCH_USER_SYSCALL) {
        rc = arch_bench_limit_begin(mode);
        if (rc) {
            bench_error(name, "cannot install the limit handler", rc);
            goto out;
        }
    }
    bench_user_mode = mode;
    struct user_proc *p = user_bench_process_start(pfn, pages);
    if (!p) {
        bench_error(name, "cannot start the user process", 0);
        rc = -GUEST_EINVAL;
    } else {
        int code = user_process_wait(p);
        if (code != 0) {
            bench_error(name, "user process failed", code);
            rc = -GUEST_EINVAL;
        }
    }
    bench_user_mode = 0;
    if (mode != BENCH_USER_SYSCALL)
        arch_bench_limit_end(mode);
    if (!rc)
        memcpy(s, data + 2, n * sizeof(uint64_t));
out:
    core_free_frames(pfn, pages);
    return rc;
}

/* One kernel-side benchmark through its arch hook. */
static void bench_kernel(const char *name, void (*fn)(uint64_t *, size_t),
                         uint64_t *s, size_t n)
{
    fn(s, n);
    bench_report(name, s, n);
}

void bench_main(const struct arch_boot_info *bi)
{
    size_t n = bench_parse_iters(bi->cmdline);
    uint64_t *s = kmalloc(n * sizeof(uint64_t));
    uint64_t bmin, bmed;
    int rc;

    if (!s)
        panic("bench: no memory for %lu samples", (unsigned long)n);
    kprintf("BENCH_ARCH %s\n", bi->arch_name);
    uint64_t t0 = arch_now_ns();

    bench_bracket(s, n);
    bench_stats(s, n, &bmin, &bmed);
    bracket_min = bmin;
    kprintf("BENCH_BRACKET %lu %lu %lu\n", (unsigned long)n, (unsigned long)bmin,
            (unsigned long)bmed);

    bench_kernel("irq_disable_enable", arch_bench_irq_disable_enable, s, n);
    bench_kernel("null_privop", arch_bench_null_privop, s, n);
    bench_kernel("pt_switch", arch_bench_pt_switch, s, n);

    rc = arch_bench_window_init();
    if (rc) {
        bench_error("pte_update_1", "cannot build the window", rc);
        bench_error("pte_update_512", "cannot build the window", rc);
        bench_error("page_fault", "cannot build the window", rc);
    } else {
        /* Make the window's L1 a table in use (one page mapped and read
         * through it), as a kernel's tables are: a shadowing hypervisor
         * then write-protects it like any live table. */
        uint64_t va = arch_bench_window_va();
        if (arch_bench_fault_map(va) == 0)
            (void)*(volatile uint64_t *)va;
        arch_bench_pte_update(s, n, 1);
        bench_report("pte_update_1", s, n);
        arch_bench_pte_update(s, n, BENCH_PTE_BATCH);
        bench_report("pte_update_512", s, n);
        arch_bench_window_clear();
        bench_page_fault(s, n);
        bench_report("page_fault", s, n);
    }

    static const struct { const char *name; unsigned int mode; } user_benches[] = {
        { "syscall_user", BENCH_USER_SYSCALL },
        { "limit_syscall_sysret", BENCH_USER_LIMIT_SYSCALL },
        { "limit_gp_trap", BENCH_USER_LIMIT_GP },
    };
    for (size_t i = 0; i < ARRAY_SIZE(user_benches); i++)
        if (!bench_user(user_benches[i].name, user_benches[i].mode, s, n))
            bench_report(user_benches[i].name, s, n);

    kfree(s);
    kprintf("BENCH_DONE %d errors, %lu ms\n", bench_failures,
            (unsigned long)((arch_now_ns() - t0) / 1000000));
    arch_poweroff(bench_failures ? 1 : 0);
}

GUEST_SERVICE("bench", bench_main, GUEST_STAGE_BENCH, 0);
