/*
 * watch.c - the two observer modes of the hostile PV kernel that run next
 * to the fuzzer (tests/scenario/hypfuzz.sh, stall.sh).  Runs in the PV
 * guest kernel, ring 3, events masked throughout.
 *
 * mode=canary (a domU): fills mib= MiB (default 4) of its own memory with a
 *   pattern derived from seed=, and re-checks every word every period_ms=
 *   (default 50) ms.  Prints "canary: ok <k>" about once a second (k rounds
 *   checked so far) and "canary: MISMATCH ..." for each differing word (at
 *   most 8 per round).  Never ends by itself; dom0 destroys it.
 *
 * mode=heartbeat (dom0, privileged): sleeps on a 10 ms timeout (SCHEDOP_poll
 *   without ports) in a loop, and measures each gap between wake-ups with
 *   the PV clock.  With idle_ms=N it first pauses every domU for N ms and
 *   reports that phase alone ("idle"), then unpauses them.  About once a
 *   second it prints a progress line; it ends when domain watch= (default
 *   1) is gone or shut down, or after limit= seconds (default 160).  With
 *   until_idle=1 the measured phase ends when the watched domain is first
 *   seen blocked (done with its work), and its teardown is measured as a
 *   phase of its own ("teardown").  Each phase ends with
 *     heartbeat: <phase>: <n> wakeups, median <m> us, max gap <x> us, <k> gaps over 100 ms
 *   destroys the remaining domUs (so the machine can power off) and shuts
 *   down (SHUTDOWN_poweroff, or reboot with the word `reboot`).
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include "hostile.h"
#include "fuzz.h"

/* ---- canary ---------------------------------------------------------------- */

static uint64_t canary_word(uint64_t seed, uint64_t i)
{
    uint64_t st = seed ^ (i * 0x9e3779b97f4a7c15ULL);
    return splitmix64(&st);
}

static unsigned long canary_frame(void *ctx, unsigned long i)
{
    unsigned long *pfns = ctx;
    return own_mfn(pfns[i]);
}

static unsigned long canary_pfns[64 << 8];          /* up to 64 MiB */

unsigned int canary_main(void)
{
    uint64_t seed = cmdline_num("seed", 1);
    unsigned long mib = cmdline_num("mib", 4), npages, i, words;
    uint64_t period = cmdline_num("period_ms", 50) * 1000000ULL, next;
    unsigned long round = 0, mismatches = 0;
    volatile uint64_t *buf;

    if (mib < 1)
        mib = 1;
    if (mib > 64)
        mib = 64;
    npages = mib << 8;
    clock_init();
    if (mem_left() < npages + npages / 512 + 2) {
        mib = (mem_left() - mem_left() / 512 - 4) >> 8;
        npages = mib << 8;
    }
    for (i = 0; i < npages; i++)
        canary_pfns[i] = mem_take();
    buf = (volatile uint64_t *)mem_map(npages, canary_frame, canary_pfns);
    if (!buf || !npages) {
        put_s("canary: setup FAILED (no memory to map)");
        line_end();
        return SHUTDOWN_crash;
    }
    words = npages * 512;
    for (i = 0; i < words; i++)
        buf[i] = canary_word(seed, i);
    put_s("canary: filled ");
    put_dec((long)mib);
    put_s(" MiB at ");
    put_hex((unsigned long)buf);
    put_s(", seed ");
    put_dec((long)seed);
    put_s(", period ");
    put_dec((long)(period / 1000000));
    put_s(" ms");
    line_end();

    next = now_ns();
    for (;;) {
        unsigned int bad = 0;

        for (i = 0; i < words; i++) {
            uint64_t want = canary_word(seed, i), got = buf[i];
            if (got == want)
                continue;
            mismatches++;
            if (bad++ < 8) {
                put_s("canary: MISMATCH at ");
                put_hex((unsigned long)&buf[i]);
                put_s(" (pfn ");
                put_hex(canary_pfns[i / 512]);
                put_s(", mfn ");
                put_hex(own_mfn(canary_pfns[i / 512]));
                put_s("): want ");
                put_hex(want);
                put_s(" got ");
                put_hex(got);
                line_end();
            }
            buf[i] = want;          /* report each corruption once */
        }
        round++;
        if (round % 20 == 0 || bad) {
            put_s("canary: ok ");
            put_dec((long)round);
            if (mismatches) {
                put_s(" (");
                put_dec((long)mismatches);
                put_s(" mismatched words so far)");
            }
            line_end();
        }
        next += period;
        if (next < now_ns())
            next = now_ns();
        sleep_until(next);
    }
}

/* ---- heartbeat --------------------------------------------------------------- */

/* The few domctl fields heartbeat uses (Xen's struct xen_domctl: 16-byte
 * header, then the union; getdomaininfo's flags at offset 4 of it).  Sized
 * past any domctl so the hypervisor's copy stays inside it. */
struct hb_domctl {
    uint32_t cmd, interface_version;
    uint16_t domain, tdomain;
    uint32_t pad;
    union {
        struct { uint16_t domain, pad; uint32_t flags; } info;
        uint8_t raw[240];
    } u;
};
#define HB_DOMCTL_VERSION       0x15
#define HB_DOMCTL_destroy       2
#define HB_DOMCTL_pause         3
#define HB_DOMCTL_unpause       4
#define HB_DOMCTL_getinfo       5
#define HB_DOMINF_dying         (1U << 0)
#define HB_DOMINF_shutdown      (1U << 2)
#define HB_MAX_DOMID            16

static long hb_domctl(uint32_t cmd, unsigned int dom, struct hb_domctl *dc)
{
    *dc = (struct hb_domctl){ .cmd = cmd, .interface_version = HB_DOMCTL_VERSION,
                              .domain = (uint16_t)dom };
    return _hypercall1(__HYPERVISOR_domctl, dc);
}

#define HB_DOMINF_blocked       (1U << 4)
enum hb_dom { HB_GONE, HB_BUSY, HB_BLOCKED };

/* What domain dom does: gone (absent, dying or shut down), blocked (every
 * vCPU waiting), or busy. */
static enum hb_dom hb_state(unsigned int dom)
{
    struct hb_domctl dc;

    if (hb_domctl(HB_DOMCTL_getinfo, dom, &dc) || dc.domain != dom ||
        (dc.u.info.flags & (HB_DOMINF_dying | HB_DOMINF_shutdown)))
        return HB_GONE;
    return (dc.u.info.flags & HB_DOMINF_blocked) ? HB_BLOCKED : HB_BUSY;
}

/* Gap statistics: exact maximum, 100 us buckets for the median. */
#define HB_BUCKETS 4096
struct hb_stats {
    unsigned long n, over100, max_us;
    unsigned int hist[HB_BUCKETS];
};
static struct hb_stats hb;

static void hb_reset(void)
{
    unsigned int i;
    hb.n = hb.over100 = hb.max_us = 0;
    for (i = 0; i < HB_BUCKETS; i++)
        hb.hist[i] = 0;
}

static void hb_add(uint64_t gap_ns)
{
    unsigned long us = (unsigned long)(gap_ns / 1000);
    unsigned long b = us / 100;

    hb.n++;
    if (us > hb.max_us)
        hb.max_us = us;
    if (gap_ns > 100000000ULL)
        hb.over100++;
    hb.hist[b < HB_BUCKETS ? b : HB_BUCKETS - 1]++;
}

/* Median gap in us (the middle of its 100 us bucket). */
static unsigned long hb_median(void)
{
    unsigned long seen = 0;
    unsigned int i;

    for (i = 0; i < HB_BUCKETS; i++) {
        seen += hb.hist[i];
        if (seen * 2 >= hb.n && hb.n)
            return i * 100UL + 50;
    }
    return 0;
}

static void hb_print(const char *phase)
{
    put_s("heartbeat: ");
    put_s(phase);
    put_s(": ");
    put_dec((long)hb.n);
    put_s(" wakeups, median ");
    put_dec((long)hb_median());
    put_s(" us, max gap ");
    put_dec((long)hb.max_us);
    put_s(" us, ");
    put_dec((long)hb.over100);
    put_s(" gaps over 100 ms");
    line_end();
}

/* Sleeps 10 ms at a time until the deadline, until `watch` is gone or
 * (stop_on_block) blocked; records each gap.  Returns why it stopped: the
 * watched domain's state, HB_BUSY for the deadline. */
static enum hb_dom hb_run(uint64_t until, unsigned int watch, const char *phase,
                          bool stop_on_block)
{
    uint64_t prev = now_ns(), next_print = prev + 1000000000ULL;
    unsigned long k = 0;

    while (now_ns() < until) {
        uint64_t t;

        sleep_until(prev + 10000000ULL);
        t = now_ns();
        hb_add(t - prev);
        prev = t;
        if (t >= next_print) {
            hb_print(phase);
            next_print = t + 1000000000ULL;
        }
        if (watch && ++k % 10 == 0) {
            enum hb_dom st = hb_state(watch);
            if (st == HB_GONE || (st == HB_BLOCKED && stop_on_block))
                return st;
        }
    }
    return HB_BUSY;
}

unsigned int heartbeat_main(void)
{
    unsigned int watch = (unsigned int)cmdline_num("watch", 1), d;
    uint64_t limit = cmdline_num("limit", 160) * 1000000000ULL;
    uint64_t idle = cmdline_num("idle_ms", 0) * 1000000ULL, start;
    bool until_idle = cmdline_num("until_idle", 0) != 0;
    struct hb_domctl dc;
    enum hb_dom st;

    clock_init();
    start = now_ns();
    put_s("heartbeat: start, watching domain ");
    put_dec(watch);
    put_s(", limit ");
    put_dec((long)(limit / 1000000000ULL));
    put_s(" s, idle phase ");
    put_dec((long)(idle / 1000000));
    put_s(" ms");
    line_end();
    if (idle) {
        for (d = 1; d < HB_MAX_DOMID; d++)
            (void)hb_domctl(HB_DOMCTL_pause, d, &dc);
        hb_reset();
        (void)hb_run(now_ns() + idle, 0, "idle", false);
        hb_print("idle");
        for (d = 1; d < HB_MAX_DOMID; d++)
            (void)hb_domctl(HB_DOMCTL_unpause, d, &dc);
    }
    hb_reset();
    st = hb_run(start + limit, watch, idle ? "loaded" : "run", until_idle);
    hb_print(idle ? "loaded" : "run");
    if (st == HB_BLOCKED) {
        /* The watched domain finished its work and waits: what follows
         * (its shutdown and destruction) is measured on its own. */
        hb_reset();
        st = hb_run(start + limit, watch, "teardown", false);
        hb_print("teardown");
    }
    put_s("heartbeat: done: ");
    put_s(st == HB_GONE ? "domain " : "time limit reached, domain ");
    put_dec(watch);
    put_s(st == HB_GONE ? " is gone" : " still running");
    line_end();
    for (d = 1; d < HB_MAX_DOMID; d++)
        (void)hb_domctl(HB_DOMCTL_destroy, d, &dc);
    return cmdline_has("reboot") ? SHUTDOWN_reboot : SHUTDOWN_poweroff;
}
