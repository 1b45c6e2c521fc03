/*
 * disk.c - block workloads of the PV guest kernel over pv-abi's blkfront
 * on its first disk (xvda, device 51712), for the toolstack's tests, the
 * tour and `make bench` (docs/block.md):
 *
 *   disk=persist    sector 0 holds a header {magic, boot count, crc}; a
 *                   1 MiB data area after it holds the pattern of that
 *                   boot.  Each start verifies the previous boot's data,
 *                   then writes the next boot's and flushes:
 *                   "disk: boot N verified" / "disk: wrote boot N".
 *   disk=integrity  writes disk_mib=M MiB (default 16) from sector 8192 in
 *                   random-sized extents (1-256 sectors), in random order,
 *                   eight in flight, each sector's bytes a function of
 *                   disk_seed=S and its number (so the host can check the
 *                   image file); reads random extents back and compares.
 *   disk=bench      256 MiB sequential write, then read, in 1 MiB requests
 *                   (four in flight), 20000 random 4 KiB reads at queue
 *                   depth 32: "blkbench: NAME bytes=B ios=N ns=T".
 *
 *   disk=log        a thread writes record N to sector 8 + N % 1024 every
 *                   disk_ms=T ms (default 50), reads it back and prints
 *                   "disk: log N ok", for ever (save/restore tests).
 *
 * With disk_reopen, the disk is closed and connected again after the
 * workload ("disk: reopened: ok"), the xenbus reconnection path.
 *
 * Runs in the guest kernel, init's thread (stage TEST: returns, then the
 * mode word runs).  Prints "disk: FAIL ..." and returns on any error.
 */
#include "xenctrl.h"
#include "guest_service.h"
#include "kernel.h"
#include "pv.h"
#include <pv/gnttab.h>
#include <pv/blkfront.h>
#include <pv/mm.h>
#include <pv/xenbus.h>

#define XVDA            51712u
#define OPEN_TIMEOUT_NS 10000000000ULL
#define HDR_MAGIC       "LAMINADK"
#define PERSIST_SECT    8u
#define PERSIST_BYTES   (1u << 20)
#define INTEG_FIRST     8192u
#define SECT            512u

static struct blkfront *disk_open(void)
{
    struct xenbus_front_env env;
    int err = 0;
    struct blkfront *bf;

    if (!xenbus_ready()) {
        kprintf("disk: FAIL no xenbus (not a toolstack domain)\n");
        return NULL;
    }
    if ((err = pv_grant_table_start())) {
        kprintf("disk: FAIL cannot set up the grant table (%d)\n", err);
        return NULL;
    }
    pv_front_env(&env);
    bf = blkfront_open(&env, XVDA, OPEN_TIMEOUT_NS, &err);
    if (!bf)
        kprintf("disk: FAIL cannot connect xvda (%d)\n", err);
    else
        kprintf("disk: xvda connected, %lu sectors%s, %u segments per request\n",
                (unsigned long)blkfront_sectors(bf), blkfront_readonly(bf) ? ", read-only" : "",
                blkfront_max_segs(bf));
    return bf;
}

/* Page-aligned kernel buffer of n pages (contiguous in the direct map). */
static void *buf_alloc(size_t pages)
{
    uint64_t pfn = core_alloc_frames(pages);

    return pfn ? arch_pfn_to_virt(pfn) : NULL;
}

static void buf_free(void *p, size_t pages)
{
    if (p)
        core_free_frames(arch_virt_to_pfn(p), pages);
}

/* ---- patterns -------------------------------------------------------------- */

/* The bytes of sector s under seed: 64 quadwords of xorshift64 from a
 * start the host's checker (tests/scenario/disk_check.py) computes too. */
static void fill_sector(uint64_t *q, uint64_t seed, uint64_t s)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + s * 0xBF58476D1CE4E5B9ULL + 1;

    for (unsigned int i = 0; i < SECT / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        q[i] = x;
    }
}

static uint32_t crc32(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t c = 0xffffffffu;

    while (n--) {
        c ^= *b++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

/* ---- disk=persist ------------------------------------------------------------ */

struct persist_hdr {
    char magic[8];
    uint32_t version;
    uint32_t boot;
    uint32_t data_crc;
    uint32_t hdr_crc;       /* of the fields before it */
};

static void sync_flush_cb(void *cookie, int status)
{
    *(int *)cookie = status ? status : 1;
}

static void disk_persist(struct blkfront *bf)
{
    size_t pages = PERSIST_BYTES / 4096 + 1;
    uint8_t *buf = buf_alloc(pages);
    struct persist_hdr *h;
    uint32_t boot = 0;
    int rc;

    if (!buf) {
        kprintf("disk: FAIL no memory\n");
        return;
    }
    h = (struct persist_hdr *)(buf + PERSIST_BYTES);
    if ((rc = blkfront_rw(bf, false, 0, h, SECT))) {
        kprintf("disk: FAIL reading the header (%d)\n", rc);
        goto out;
    }
    if (!memcmp(h->magic, HDR_MAGIC, 8) && h->version == 1 &&
        h->hdr_crc == crc32(h, offsetof(struct persist_hdr, hdr_crc))) {
        boot = h->boot;
        if ((rc = blkfront_rw(bf, false, PERSIST_SECT, buf, PERSIST_BYTES))) {
            kprintf("disk: FAIL reading boot %u's data (%d)\n", boot, rc);
            goto out;
        }
        uint32_t crc = crc32(buf, PERSIST_BYTES);
        uint64_t want[SECT / 8];
        bool ok = crc == h->data_crc;

        for (uint32_t s = 0; ok && s < PERSIST_BYTES / SECT; s++) {
            fill_sector(want, boot, s);
            ok = !memcmp(want, buf + s * SECT, SECT);
        }
        if (!ok) {
            kprintf("disk: FAIL boot %u's data does not verify (crc %08x, header says %08x)\n",
                    boot, crc, h->data_crc);
            goto out;
        }
        kprintf("disk: boot %u verified (%u KiB, crc %08x)\n", boot, PERSIST_BYTES / 1024, crc);
    } else {
        kprintf("disk: no earlier boot on this disk\n");
    }
    if (blkfront_readonly(bf)) {
        kprintf("disk: read-only, nothing written\n");
        goto out;
    }
    boot++;
    for (uint32_t s = 0; s < PERSIST_BYTES / SECT; s++)
        fill_sector((uint64_t *)(buf + s * SECT), boot, s);
    memset(h, 0, SECT);
    memcpy(h->magic, HDR_MAGIC, 8);
    h->version = 1;
    h->boot = boot;
    h->data_crc = crc32(buf, PERSIST_BYTES);
    h->hdr_crc = crc32(h, offsetof(struct persist_hdr, hdr_crc));
    if ((rc = blkfront_rw(bf, true, PERSIST_SECT, buf, PERSIST_BYTES)) ||
        (rc = blkfront_rw(bf, true, 0, h, SECT))) {
        kprintf("disk: FAIL writing boot %u (%d)\n", boot, rc);
        goto out;
    }
    int flushed = 0;
    if (blkfront_flush(bf, sync_flush_cb, &flushed) == 0)
        while (!flushed && blkfront_wait(bf, 5000000000ULL))
            ;
    kprintf("disk: wrote boot %u (%u KiB, crc %08x)%s\n", boot, PERSIST_BYTES / 1024,
            h->data_crc, flushed == 1 ? ", flushed" : "");
out:
    buf_free(buf, pages);
}

/* ---- disk=integrity ------------------------------------------------------------ */

struct extent {
    uint32_t first, count;      /* sectors, relative to INTEG_FIRST */
};

struct io_slot {
    bool busy;
    int status;
    uint8_t *buf;               /* 256 sectors = 32 pages */
};

static void slot_cb(void *cookie, int status)
{
    struct io_slot *s = cookie;

    s->busy = false;
    s->status = status;
}

/* Submits slot s's buffer (bytes at sector); the slot is busy until its
 * completion.  0, -EAGAIN (ring full: the slot stays free) or the error. */
static int slot_submit(struct blkfront *bf, struct io_slot *s, bool write, uint64_t sector,
                       uint32_t bytes)
{
    int rc;

    s->busy = true;
    rc = blkfront_submit(bf, write, sector, s->buf, bytes, slot_cb, s);
    if (rc)
        s->busy = false;
    return rc;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define INTEG_QD 8
#define EXT_MAX  256u

static void disk_integrity(struct blkfront *bf, uint64_t seed, uint64_t mib)
{
    uint32_t total = (uint32_t)(mib * 2048), n = 0, verified = 0;
    struct extent *ext = kzalloc((total + 1) * sizeof(*ext));
    struct io_slot slot[INTEG_QD];
    uint64_t r = seed * 2654435761u + 7;
    int failed = 0;

    memset(slot, 0, sizeof(slot));
    for (unsigned int i = 0; i < INTEG_QD; i++)
        slot[i].buf = buf_alloc(EXT_MAX * SECT / 4096);
    if (!ext || !slot[INTEG_QD - 1].buf || INTEG_FIRST + (uint64_t)total > blkfront_sectors(bf)) {
        kprintf("disk: FAIL integrity needs memory and a disk of %lu MiB\n",
                (unsigned long)(mib + 4));
        goto out;
    }
    for (uint32_t at = 0; at < total; n++) {
        uint32_t c = 1 + (uint32_t)(rng(&r) % EXT_MAX);
        if (c > total - at)
            c = total - at;
        ext[n] = (struct extent){ at, c };
        at += c;
    }
    for (uint32_t i = n; i > 1; i--) {              /* Fisher-Yates */
        uint32_t j = (uint32_t)(rng(&r) % i);
        struct extent t = ext[i - 1];
        ext[i - 1] = ext[j];
        ext[j] = t;
    }
    /* Writes, INTEG_QD in flight. */
    for (uint32_t next = 0; next < n || blkfront_inflight(bf);) {
        blkfront_plug(bf);
        for (unsigned int k = 0; k < INTEG_QD && next < n; k++) {
            if (slot[k].busy)
                continue;
            if (slot[k].status) {
                failed = slot[k].status;
                break;
            }
            struct extent *e = &ext[next];
            for (uint32_t s = 0; s < e->count; s++)
                fill_sector((uint64_t *)(slot[k].buf + s * SECT), seed, INTEG_FIRST + e->first + s);
            int rc = slot_submit(bf, &slot[k], true, INTEG_FIRST + e->first, e->count * SECT);
            if (rc) {
                failed = rc == -XEN_EAGAIN ? 0 : rc;
                break;
            }
            next++;
        }
        blkfront_unplug(bf);
        if (failed)
            break;
        (void)blkfront_wait(bf, 1000000000ULL);
    }
    while (blkfront_inflight(bf))
        (void)blkfront_wait(bf, 1000000000ULL);
    for (unsigned int k = 0; k < INTEG_QD; k++)
        if (slot[k].status)
            failed = slot[k].status;
    if (failed) {
        kprintf("disk: FAIL integrity write (%d)\n", failed);
        goto out;
    }
    /* Reads of random extents (a quarter of them), compared. */
    uint64_t want[SECT / 8];
    for (uint32_t i = 0; i < n; i += 4) {
        struct extent *e = &ext[i];
        int rc = blkfront_rw(bf, false, INTEG_FIRST + e->first, slot[0].buf, e->count * SECT);

        if (rc) {
            kprintf("disk: FAIL integrity read (%d)\n", rc);
            goto out;
        }
        for (uint32_t s = 0; s < e->count; s++) {
            fill_sector(want, seed, INTEG_FIRST + e->first + s);
            if (memcmp(want, slot[0].buf + s * SECT, SECT)) {
                kprintf("disk: FAIL integrity sector %u reads back wrong\n",
                        INTEG_FIRST + e->first + s);
                goto out;
            }
        }
        verified += e->count;
    }
    kprintf("disk: integrity OK seed=%lu first=%u sectors=%u writes=%u verified=%u\n",
            (unsigned long)seed, INTEG_FIRST, total, n, verified);
out:
    for (unsigned int i = 0; i < INTEG_QD; i++)
        buf_free(slot[i].buf, EXT_MAX * SECT / 4096);
    kfree(ext);
}

/* ---- disk=bench ----------------------------------------------------------------- */

/* The benchmark's buffers: 4 MiB, allocated once and shared by all three
 * runs (slot k of a run uses bytes [k * req, (k + 1) * req)), as an
 * application with a fixed buffer pool does; with persistent grants they
 * are granted once. */
#define BENCH_POOL (4u << 20)
static uint8_t *bench_pool;

static void bench_run(struct blkfront *bf, const char *name, bool write, bool rand,
                      uint64_t bytes, uint32_t req, unsigned int qd, unsigned int ios)
{
    struct io_slot slot[32];
    uint64_t total = rand ? ios : bytes / req, issued = 0, done = 0, sector = 0;
    uint64_t r = 88172645463325252ULL, disk_blocks = blkfront_sectors(bf) / (req / SECT);
    int failed = 0;

    memset(slot, 0, sizeof(slot));
    if (!bench_pool || (uint64_t)qd * req > BENCH_POOL) {
        kprintf("disk: FAIL no buffers for %s\n", name);
        return;
    }
    for (unsigned int i = 0; i < qd; i++)
        slot[i].buf = bench_pool + (size_t)i * req;
    uint64_t t0 = arch_now_ns();
    while (done < total && !failed) {
        blkfront_plug(bf);
        for (unsigned int k = 0; k < qd && issued < total; k++) {
            if (slot[k].busy)
                continue;
            uint64_t at = rand ? (rng(&r) % disk_blocks) * (req / SECT) : sector;
            int rc = slot_submit(bf, &slot[k], write, at, req);
            if (rc) {
                failed = rc == -XEN_EAGAIN ? 0 : rc;
                break;
            }
            issued++;
            if (!rand) {
                sector += req / SECT;
                if (sector + req / SECT > blkfront_sectors(bf))
                    sector = 0;
            }
        }
        blkfront_unplug(bf);
        unsigned int got = blkfront_wait(bf, 5000000000ULL);
        done += got;
        for (unsigned int k = 0; k < qd; k++)
            if (slot[k].status)
                failed = slot[k].status;
    }
    uint64_t ns = arch_now_ns() - t0;
    while (blkfront_inflight(bf))
        (void)blkfront_wait(bf, 1000000000ULL);
    if (failed)
        kprintf("disk: FAIL %s (%d)\n", name, failed);
    else
        kprintf("blkbench: %s bytes=%lu ios=%lu ns=%lu\n", name, (unsigned long)(done * req),
                (unsigned long)done, (unsigned long)ns);
}

static void disk_bench(struct blkfront *bf, const char *cmdline)
{
    uint64_t mib = cmdline_u64(cmdline, "disk_mib=", 256);

    if (blkfront_sectors(bf) < mib * 2048) {
        kprintf("disk: FAIL bench needs a disk of %lu MiB\n", (unsigned long)mib);
        return;
    }
    if (!bench_pool && !(bench_pool = buf_alloc(BENCH_POOL / 4096))) {
        kprintf("disk: FAIL no memory for the benchmark's buffers\n");
        return;
    }
    bench_run(bf, "blk_seq_write", true, false, mib << 20, 1u << 20, 4, 0);
    bench_run(bf, "blk_seq_read", false, false, mib << 20, 1u << 20, 4, 0);
    bench_run(bf, "blk_rand_read_4k", false, true, 0, 4096, 32,
              (unsigned int)cmdline_u64(cmdline, "disk_ios=", 20000));
}

/* ---- disk=log: a write every disk_ms, read back, for ever ------------------------- */

#define LOG_SECT   8u                   /* records 0..1023 cycle over sectors 8..1031 */
#define LOG_SLOTS  1024u
static uint64_t log_period_ns;

/* Record N: "LOG <N>" then N's bytes, written to sector 8 + N % 1024 and
 * read back; "disk: log N ok" every record.  The save/restore tests watch
 * the numbers run on, with no FAIL, across a suspend. */
static void disk_log_thread(void *arg)
{
    struct blkfront *bf = arg;
    char *w = buf_alloc(1), *r = buf_alloc(1);
    uint64_t period = log_period_ns;

    if (!w || !r) {
        kprintf("disk: FAIL no memory for the log\n");
        thread_exit(1);
    }
    for (uint32_t n = 1;; n++) {
        memset(w, (int)(n & 0xff), SECT);
        ksnprintf(w, 32, "LOG %u", n);
        uint64_t sect = LOG_SECT + n % LOG_SLOTS;
        int rc = blkfront_rw(bf, true, sect, w, SECT);
        if (!rc)
            rc = blkfront_rw(bf, false, sect, r, SECT);
        if (rc || memcmp(w, r, SECT)) {
            unsigned int at = 0;
            while (!rc && at < SECT - 1 && w[at] == r[at])
                at++;
            kprintf("disk: FAIL log %u (%d; byte %u reads %02x, %02x written)\n", n, rc, at,
                    (unsigned int)(uint8_t)r[at], (unsigned int)(uint8_t)w[at]);
            thread_exit(1);
        }
        kprintf("disk: log %u ok\n", n);
        thread_sleep_ns(period);
    }
}

/* ---- the services ------------------------------------------------------------------ */

static void disk_main(const struct arch_boot_info *bi)
{
    struct blkfront *bf = disk_open();

    if (!bf)
        return;
    if (cmdline_has(bi->cmdline, "disk=log")) {
        log_period_ns = cmdline_u64(bi->cmdline, "disk_ms=", 50) * 1000000ULL;
        if (!thread_create("disk-log", disk_log_thread, bf))
            kprintf("disk: FAIL no thread for the log\n");
        return;                         /* it keeps the disk open */
    }
    if (cmdline_has(bi->cmdline, "disk=persist"))
        disk_persist(bf);
    else if (cmdline_has(bi->cmdline, "disk=integrity"))
        disk_integrity(bf, cmdline_u64(bi->cmdline, "disk_seed=", 1),
                       cmdline_u64(bi->cmdline, "disk_mib=", 16));
    else
        disk_bench(bf, bi->cmdline);
    blkfront_close(bf);
    if (cmdline_has(bi->cmdline, "disk_reopen")) {
        /* Connect again after closing: xenbus's reconnection path. */
        struct persist_hdr *h = buf_alloc(1);
        int rc = -XEN_ENOMEM;

        if (h && (bf = disk_open())) {
            rc = blkfront_rw(bf, false, 0, h, SECT);
            blkfront_close(bf);
        }
        kprintf("disk: reopened: %s (%d, boot %u)\n", rc ? "FAIL" : "ok", rc, h ? h->boot : 0);
        buf_free(h, 1);
    }
    kprintf("disk: done\n");
}

GUEST_SERVICE("disk=persist", disk_main, GUEST_STAGE_TEST, 0);
GUEST_SERVICE("disk=integrity", disk_main, GUEST_STAGE_TEST, 0);
GUEST_SERVICE("disk=bench", disk_main, GUEST_STAGE_TEST, 0);
GUEST_SERVICE("disk=log", disk_main, GUEST_STAGE_TEST, 0);
