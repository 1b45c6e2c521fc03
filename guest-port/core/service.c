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

static __attribute__((noreturn)) void service_main(const struct arch_boot_info *bi)
{
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
    guest_service_run_stage(bi, GUEST_STAGE_ADDON);    /* flood, xs-garbage */
    for (;;) {
        uint64_t now = arch_now_ns();

        if (now >= next_tick) {
            kprintf("service: tick %lu\n", ++ticks);
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
