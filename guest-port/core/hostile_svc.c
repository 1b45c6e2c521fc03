/*
 * hostile_svc.c - hostile additions to `service` mode, for the toolstack's
 * robustness test (tests/scenario/cli_robust.sh): a domU that floods its
 * console, or feeds xenstore garbage, while it keeps ticking and echoing.
 *
 * Command-line words (with `service`):
 *   flood       a thread prints `flood: line N xxx...` (~100 bytes) as fast
 *               as the console takes it, forever;
 *   xs-garbage  a thread writes to the store ring, in this order: a valid
 *               header with an unknown type; a valid XS_WRITE whose payload
 *               is XENSTORE_PAYLOAD_MAX (4 KiB); XS_GARBAGE_REQS XS_READ
 *               requests without reading a reply (then the replies are
 *               drained); random bytes; a header whose len exceeds
 *               XENSTORE_PAYLOAD_MAX.  Each step prints one line with the
 *               bytes written and the ring's error field, then
 *               `xs-garbage: done`.  Every wait is bounded, so a ring the
 *               server stopped reading (or marked broken) costs seconds.
 *
 * Runs in the guest kernel, in its own threads, interrupts enabled.  The
 * store ring exists under PV only: the xenbus calls are weak here (the
 * native kernel has no pv-abi library) and xs-garbage says so without it.
 */
#include "kernel.h"
#include <lamina/xen.h>
#include <xen/io/xs_wire.h>

/* pv-abi/lib/xenbus.c (PV kernel only); see pv/xenbus.h. */
long xenbus_raw_write(const void *data, size_t n, uint64_t timeout_ns) __attribute__((weak));
long xenbus_raw_drain(uint64_t quiet_ns, uint64_t timeout_ns) __attribute__((weak));
uint32_t xenbus_ring_error(void) __attribute__((weak));
bool xenbus_ready(void) __attribute__((weak));

#define FLOOD_PAD          72           /* 'x's per flood line: ~100 bytes */
#define XS_STEP_TIMEOUT_NS 2000000000ULL /* per raw write */
#define XS_SETTLE_NS       300000000ULL /* lets the server react to a step */
#define XS_START_DELAY_NS  2000000000ULL /* the control thread's watch first */
#define XS_GARBAGE_REQS    200
#define XS_GARBAGE_BYTES   2048

static void flood_thread(void *arg)
{
    char pad[FLOOD_PAD + 1];

    (void)arg;
    memset(pad, 'x', FLOOD_PAD);
    pad[FLOOD_PAD] = 0;
    for (unsigned long n = 1;; n++)
        kprintf("flood: line %lu %s\n", n, pad);
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* One raw step: writes n bytes, lets the server react, prints the result. */
static void xs_step(const char *what, const void *data, size_t n)
{
    long wrote = xenbus_raw_write(data, n, XS_STEP_TIMEOUT_NS);

    thread_sleep_ns(XS_SETTLE_NS);
    kprintf("xs-garbage: %s: wrote %ld of %lu bytes, ring error %u\n", what, wrote,
            (unsigned long)n, (unsigned)xenbus_ring_error());
}

static void put_hdr(char *buf, uint32_t type, uint32_t req_id, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = 0, .len = len };

    memcpy(buf, &h, sizeof(h));
}

static void xs_garbage_thread(void *arg)
{
    static char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
    const size_t hs = sizeof(struct xsd_sockmsg);
    const char path[] = "data/big";
    size_t n = 0;

    (void)arg;
    if (!xenbus_raw_write || !xenbus_ready || !xenbus_ready()) {
        kprintf("xs-garbage: no store ring in this kernel\n");
        kprintf("xs-garbage: done\n");
        thread_exit(0);
    }
    thread_sleep_ns(XS_START_DELAY_NS);
    rng_state = arch_now_ns() | 1;

    /* A well-formed header of a type xenstore does not know. */
    put_hdr(buf, 0x7777, 9001, 4);
    memcpy(buf + hs, "abc", 4);
    xs_step("unknown type", buf, hs + 4);

    /* The largest valid request: XS_WRITE path NUL value, 4 KiB payload. */
    put_hdr(buf, XS_WRITE, 9002, XENSTORE_PAYLOAD_MAX);
    memcpy(buf + hs, path, sizeof(path));
    memset(buf + hs + sizeof(path), 'B', XENSTORE_PAYLOAD_MAX - sizeof(path));
    xs_step("4 KiB write", buf, hs + XENSTORE_PAYLOAD_MAX);

    /* Requests whose replies nobody reads: the server must push back. */
    long total = 0;
    for (int i = 0; i < XS_GARBAGE_REQS; i++) {
        put_hdr(buf, XS_READ, 10000 + (uint32_t)i, 5);
        memcpy(buf + hs, "name", 5);
        long w = xenbus_raw_write(buf, hs + 5, XS_STEP_TIMEOUT_NS / 4);
        total += w;
        if (w < (long)(hs + 5))
            break;                      /* the server stopped taking them */
    }
    thread_sleep_ns(XS_SETTLE_NS);
    kprintf("xs-garbage: %d unread requests: wrote %ld of %lu bytes, ring error %u\n",
            XS_GARBAGE_REQS, total, (unsigned long)(XS_GARBAGE_REQS * (hs + 5)),
            (unsigned)xenbus_ring_error());
    kprintf("xs-garbage: drained %ld reply bytes\n",
            xenbus_raw_drain(XS_SETTLE_NS, 5 * XS_STEP_TIMEOUT_NS));

    /* Random bytes (likely a header with a wild len, or a torn body). */
    for (n = 0; n < XS_GARBAGE_BYTES; n++)
        buf[n] = (char)rng_next();
    xs_step("random bytes", buf, XS_GARBAGE_BYTES);

    /* A header announcing far more than XENSTORE_PAYLOAD_MAX. */
    put_hdr(buf, XS_WRITE, 9003, 0x7fffffff);
    xs_step("huge len", buf, hs);

    kprintf("xs-garbage: done\n");
    thread_exit(0);
}

void hostile_start(const struct arch_boot_info *bi)
{
    if (cmdline_has(bi->cmdline, "flood") && !thread_create("flood", flood_thread, NULL))
        kprintf("flood: no memory for the thread\n");
    if (cmdline_has(bi->cmdline, "xs-garbage") &&
        !thread_create("xs-garbage", xs_garbage_thread, NULL))
        kprintf("xs-garbage: no memory for the thread\n");
}
