/*
 * hostile_svc.c - hostile additions to `service` mode, for the toolstack's
 * robustness test (tests/scenario/cli_robust.sh): a domU that floods its
 * console, or feeds xenstore garbage, while it keeps ticking and echoing.
 *
 * Command-line words (with `service`):
 *   flood       a thread prints `flood: line N xxx...` (~100 bytes) as fast
 *               as the console takes it, forever;
 *   xs-garbage  a thread writes to the store ring, in this order: a valid
 *               header with an unknown type; a valid XS_WRITE of data/big
 *               whose payload is XENSTORE_PAYLOAD_MAX (4 KiB); a valid
 *               XS_WRITE of a 2000-byte data/blob; XS_GARBAGE_REQS
 *               XS_READs of data/blob without reading a reply
 *               (then the replies are drained); an XS_WRITE with a random
 *               body; a header whose len exceeds XENSTORE_PAYLOAD_MAX; raw
 *               random bytes.  Each step prints one line with the
 *               bytes written and the ring's error field, then
 *               `xs-garbage: done`.  Every wait is bounded, so a ring the
 *               server stopped reading (or marked broken) costs seconds.
 *
 * Runs in the guest kernel, in its own threads, interrupts enabled.  The
 * store ring exists under PV only: the xenbus calls are weak here (the
 * native kernel has no pv-abi library) and xs-garbage says so without it.
 */
#include "guest_service.h"
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
#define XS_BLOB_BYTES      2000

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
    const char blob[] = "data/blob";
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

    /* A node of XS_BLOB_BYTES (within the value quota, which the 4 KiB
     * write above likely exceeds). */
    put_hdr(buf, XS_WRITE, 9005, sizeof(blob) + XS_BLOB_BYTES);
    memcpy(buf + hs, blob, sizeof(blob));
    memset(buf + hs + sizeof(blob), 'b', XS_BLOB_BYTES);
    xs_step("blob write", buf, hs + sizeof(blob) + XS_BLOB_BYTES);

    /* Requests whose replies (XS_BLOB_BYTES each: that node) nobody
     * reads: the server must stop taking requests, not queue without
     * bound. */
    long total = 0, w = 0;
    const size_t rq = hs + sizeof(blob);
    for (int i = 0; i < XS_GARBAGE_REQS; i++) {
        put_hdr(buf, XS_READ, 10000 + (uint32_t)i, sizeof(blob));
        memcpy(buf + hs, blob, sizeof(blob));
        w = xenbus_raw_write(buf, rq, XS_STEP_TIMEOUT_NS / 4);
        total += w;
        if (w < (long)rq)
            break;                      /* the server stopped taking them */
    }
    thread_sleep_ns(XS_SETTLE_NS);
    kprintf("xs-garbage: %d unread requests: wrote %ld of %lu bytes, ring error %u\n",
            XS_GARBAGE_REQS, total, (unsigned long)(XS_GARBAGE_REQS * rq),
            (unsigned)xenbus_ring_error());
    long drained = xenbus_raw_drain(XS_SETTLE_NS, 5 * XS_STEP_TIMEOUT_NS);
    if (w >= 0 && w < (long)rq) {
        /* Finish the request cut short, so the next steps start framed. */
        (void)xenbus_raw_write(buf + w, rq - (size_t)w, XS_STEP_TIMEOUT_NS);
        long more = xenbus_raw_drain(XS_SETTLE_NS, 5 * XS_STEP_TIMEOUT_NS);
        if (more > 0)
            drained += more;
    }
    kprintf("xs-garbage: drained %ld reply bytes, ring error %u\n", drained,
            (unsigned)xenbus_ring_error());

    /* A framed request whose body is random bytes (no NUL where one is
     * due, wild strings). */
    put_hdr(buf, XS_WRITE, 9004, XS_GARBAGE_BYTES);
    for (n = 0; n < XS_GARBAGE_BYTES; n++)
        buf[hs + n] = (char)rng_next();
    xs_step("random body", buf, hs + XS_GARBAGE_BYTES);

    /* A header announcing far more than XENSTORE_PAYLOAD_MAX: the server
     * should mark the ring broken. */
    put_hdr(buf, XS_WRITE, 9003, 0x7fffffff);
    xs_step("huge len", buf, hs);

    /* Random bytes into a ring the server (likely) stopped reading. */
    for (n = 0; n < XS_GARBAGE_BYTES; n++)
        buf[n] = (char)rng_next();
    xs_step("random bytes", buf, XS_GARBAGE_BYTES);

    kprintf("xs-garbage: done\n");
    thread_exit(0);
}

/* `flood`: starts flood_thread. */
static void flood_start(const struct arch_boot_info *bi)
{
    (void)bi;
    if (!thread_create("flood", flood_thread, NULL))
        kprintf("flood: no memory for the thread\n");
}

/* `xs-garbage`: starts xs_garbage_thread. */
static void xs_garbage_start(const struct arch_boot_info *bi)
{
    (void)bi;
    if (!thread_create("xs-garbage", xs_garbage_thread, NULL))
        kprintf("xs-garbage: no memory for the thread\n");
}

GUEST_SERVICE("flood", flood_start, GUEST_STAGE_ADDON, 0);
GUEST_SERVICE("xs-garbage", xs_garbage_start, GUEST_STAGE_ADDON, 0);
