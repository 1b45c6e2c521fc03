/*
 * service.c - `service` mode: a long-running domain for the toolstack to
 * manage, and the core's console input for threads.
 *
 * service_main() never returns: it prints `service: tick N` every second
 * (every tick_ms=N ms),
 * answers every complete console input line X with `service: got X`, and
 * on the line `crash` prints `service: crashing` and writes to an
 * unmapped kernel address, a fatal fault that the arch layer's trap path
 * turns into a crash power-off (PV: SHUTDOWN_crash).  Under PV the
 * control/shutdown watch (arch_services_start) handles poweroff/reboot.
 * dirty_pages=P (with tick_ms) writes P pages of a working set of
 * dirty_ws=W pages (default 256) each tick, in turn, for the migration
 * benchmark's set dirtying rate; each page carries the stamp it was last
 * given, checked before it is written again, so a write a migration lost
 * prints `service: memory check failed`.
 * `flood` and `xs-garbage` add hostile threads (core/hostile_svc.c).
 * `idle` prints one line (`idle: up, N frames`) and then sleeps for good:
 * the cheapest long-lived domain (make bench-scale creates many).
 *
 * Runs in the guest kernel, in init's thread, interrupts enabled; works
 * on both arch layers (native input is COM1, polled).
 */
#include "guest_service.h"
#include "kernel.h"

#define TICK_NS     1000000000ULL
#define LINE_MAX    256
/* Unmapped in every kernel address space (L4 slot 402, as test=kernel-fault
 * in main.c). */
#define SERVICE_FAULT_VA 0xffffc90000000000UL


/* Input read ahead by console_wait_input(), handed out first. */
static char stash[64];
static size_t stash_off, stash_len;

static size_t arch_read(char *buf, size_t n)
{
    return arch_console_read ? arch_console_read(buf, n) : 0;
}

size_t console_read(char *buf, size_t n)
{
    size_t got = 0;
    bool flags = arch_irq_save();

    while (got < n && stash_len > 0) {
        buf[got++] = stash[stash_off++];
        stash_len--;
    }
    arch_irq_restore(flags);
    if (got < n)
        got += arch_read(buf + got, n - got);
    return got;
}

bool console_wait_input(uint64_t timeout_ns)
{
    uint64_t end = arch_now_ns() + timeout_ns;

    for (;;) {
        bool flags = arch_irq_save();

        if (stash_len == 0) {
            stash_off = 0;
            stash_len = arch_read(stash, sizeof(stash));
        }
        bool ready = stash_len > 0;
        arch_irq_restore(flags);
        if (ready)
            return true;
        uint64_t now = arch_now_ns();
        if (now >= end)
            return false;
        thread_sleep_ns(end - now < CONSOLE_POLL_NS ? end - now : CONSOLE_POLL_NS);
    }
}

static void service_line(const char *line)
{
    if (strlen(line) == 5 && strncmp(line, "crash", 5) == 0) {
        kprintf("service: crashing\n");
        *(volatile uint64_t *)SERVICE_FAULT_VA = 1;
        kprintf("service: survived a kernel page fault (wrong)\n");
        return;
    }
    kprintf("service: got %s\n", line);
}

/* dirty_pages: the working set and the stamp each page was last given. */
struct dirtier {
    uint8_t *ws;
    uint64_t *stamp;
    unsigned long pages, per_tick, next;
    unsigned long failures;
};

static void dirtier_init(struct dirtier *dt, const char *cmdline)
{
    dt->per_tick = cmdline_u64(cmdline, "dirty_pages=", 0);
    dt->pages = cmdline_u64(cmdline, "dirty_ws=", 256);
    if (!dt->per_tick || !dt->pages)
        return;
    dt->ws = kmalloc(dt->pages * 4096);
    dt->stamp = kmalloc(dt->pages * sizeof(uint64_t));
    if (!dt->ws || !dt->stamp) {
        kprintf("service: no memory for dirty_ws=%lu pages\n", dt->pages);
        dt->per_tick = 0;
        return;
    }
    for (unsigned long i = 0; i < dt->pages; i++) {
        uint64_t *pg = (uint64_t *)(dt->ws + i * 4096);
        dt->stamp[i] = pg[0] = pg[511] = i + 1;
    }
    kprintf("service: dirtying %lu of %lu pages a tick\n", dt->per_tick, dt->pages);
}

/* One tick's writes; each page must still hold its last stamp. */
static void dirtier_tick(struct dirtier *dt, unsigned long tick)
{
    for (unsigned long k = 0; k < dt->per_tick; k++) {
        unsigned long i = dt->next++ % dt->pages;
        uint64_t *pg = (uint64_t *)(dt->ws + i * 4096);
        if ((pg[0] != dt->stamp[i] || pg[511] != dt->stamp[i]) && dt->failures++ < 8)
            kprintf("service: memory check failed: page %lu holds %lx/%lx, not %lx\n", i,
                    (unsigned long)pg[0], (unsigned long)pg[511], (unsigned long)dt->stamp[i]);
        dt->stamp[i] = pg[0] = pg[511] = (tick << 20) | (i + 1);
    }
}

static __attribute__((noreturn)) void service_main(const struct arch_boot_info *bi)
{
    static struct dirtier dt;
    char line[LINE_MAX];
    size_t len = 0;
    bool overlong = false;
    unsigned long ticks = 0;
    /* tick_ms=N: the heartbeat's period (the save/restore tests count
     * fast ticks for gaps and repeats). */
    uint64_t tick_ns = cmdline_u64(bi->cmdline, "tick_ms=", TICK_NS / 1000000ULL) * 1000000ULL;
    if (tick_ns == 0)
        tick_ns = TICK_NS;
    uint64_t next_tick = arch_now_ns() + tick_ns;

    kprintf("service: started (arch %s)\n", bi->arch_name);
    dirtier_init(&dt, bi->cmdline);
    guest_service_run_stage(bi, GUEST_STAGE_ADDON);    /* flood, xs-garbage */
    for (;;) {
        uint64_t now = arch_now_ns();

        if (now >= next_tick) {
            kprintf("service: tick %lu\n", ++ticks);
            if (dt.per_tick)
                dirtier_tick(&dt, ticks);
            next_tick += tick_ns;
            if (next_tick <= now)           /* we were held up: no catch-up burst */
                next_tick = now + tick_ns;
            continue;
        }
        if (!console_wait_input(next_tick - now))
            continue;
        char buf[64];
        size_t n = console_read(buf, sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            char c = buf[i];

            if (c == '\r' || c == '\n') {
                line[len] = 0;
                if (len > 0 && !overlong)
                    service_line(line);
                len = 0;
                overlong = false;
            } else if (len + 1 < sizeof(line)) {
                line[len++] = c;
            } else {
                overlong = true;            /* dropped when it ends */
            }
        }
    }
}

GUEST_SERVICE("service", service_main, GUEST_STAGE_MODE, 0);

/* `idle`: one console line, then nothing but blocked sleeps. */
static __attribute__((noreturn)) void idle_main(const struct arch_boot_info *bi)
{
    kprintf("idle: up, %lu frames (arch %s)\n", (unsigned long)bi->nr_pfns, bi->arch_name);
    for (;;)
        thread_sleep_ns(3600 * TICK_NS);
}

GUEST_SERVICE("idle", idle_main, GUEST_STAGE_MODE, 0);
