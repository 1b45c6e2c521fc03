/*
 * savefile.c - save files on the host: hostd's writer of the stream dom0
 * produces on the dom0 -> host bulk ring, and the CLI's check of a file
 * before `restore` (docs/save-format.md).  Runs on the host.
 */
#define _GNU_SOURCE
#include "savefile.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    bool active, failed;
    bool stream;                    /* into a FIFO: no checksum, no rename */
    int fd;
    struct lamina_bulk_hdr *h;
    uint64_t bytes;
    uint32_t crc;
    char path[4096], tmp[4096 + 8];
    char why[4400];
    char forwards[1024];
} w = { .fd = -1 };

void save_stream_set_forwards(const char *lines)
{
    snprintf(w.forwards, sizeof(w.forwards), "%s", lines ? lines : "");
}

/* The checks and state every stream starts with; path is where it goes. */
static int begin_common(struct lamina_bulk_hdr *h, const char *path, char *err, size_t n)
{
    if (w.active) {
        snprintf(err, n, "another save is being written");
        return -1;
    }
    if (!h->out_size || (h->out_size & (h->out_size - 1)) ||
        h->out_off + (uint64_t)h->out_size > BULK_FILE_BYTES) {
        snprintf(err, n, "the machine has no dom0 -> host ring (started by an older lamina?)");
        return -1;
    }
    if (snprintf(w.path, sizeof(w.path), "%s", path) >= (int)sizeof(w.path)) {
        snprintf(err, n, "path too long");
        return -1;
    }
    w.h = h;
    w.failed = false;
    w.stream = false;
    w.bytes = 0;
    w.crc = 0;
    w.why[0] = 0;
    w.forwards[0] = 0;
    return 0;
}

/* The stream starts: whatever an abandoned save left in the ring is
 * dropped. */
static void begin_active(void)
{
    __atomic_store_n(&w.h->out_cons, __atomic_load_n(&w.h->out_prod, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
    w.active = true;
}

int save_stream_begin(struct lamina_bulk_hdr *h, const char *path, char *err, size_t n)
{
    if (begin_common(h, path, err, n) < 0)
        return -1;
    snprintf(w.tmp, sizeof(w.tmp), "%s.tmp", path);
    w.fd = open(w.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w.fd < 0) {
        snprintf(err, n, "cannot create %s: %s", w.tmp, strerror(errno));
        return -1;
    }
    begin_active();
    return 0;
}

int save_stream_begin_fifo(struct lamina_bulk_hdr *h, const char *path, char *err, size_t n)
{
    struct stat st;
    if (begin_common(h, path, err, n) < 0)
        return -1;
    if (stat(path, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        snprintf(err, n, "%s is not a FIFO", path);
        return -1;
    }
    snprintf(w.tmp, sizeof(w.tmp), "%s", path);
    /* The reader (the target's hostd) opens its end when it gets its
     * request, which the CLI sent first: wait for it a little. */
    for (int i = 0; i < 500; i++) {
        w.fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (w.fd >= 0 || errno != ENXIO)
            break;
        usleep(10000);
    }
    if (w.fd < 0) {
        snprintf(err, n, "cannot open the migration stream %s: %s", path,
                 errno == ENXIO ? "the target machine is not reading it" : strerror(errno));
        return -1;
    }
    /* Writes block while the target catches up. */
    (void)fcntl(w.fd, F_SETFL, fcntl(w.fd, F_GETFL) & ~O_NONBLOCK);
    w.stream = true;
    begin_active();
    return 0;
}

bool save_stream_active(void)
{
    return w.active;
}

int save_stream_pump(void)
{
    if (!w.active)
        return 0;
    struct lamina_bulk_hdr *h = w.h;
    const char *data = (const char *)h + h->out_off;
    uint32_t size = h->out_size;
    uint32_t prod = __atomic_load_n(&h->out_prod, __ATOMIC_ACQUIRE);
    uint32_t cons = h->out_cons;
    uint32_t avail = prod - cons;

    if (avail > size) {
        w.failed = true;
        snprintf(w.why, sizeof(w.why), "dom0 broke the ring (%u bytes pending)", avail);
        avail = 0;
    }
    while (avail) {
        uint32_t off = cons & (size - 1);
        uint32_t chunk = size - off < avail ? size - off : avail;
        if (!w.failed) {
            w.crc = crc32_ieee(w.crc, data + off, chunk);
            for (uint32_t done = 0; done < chunk;) {
                ssize_t r = write(w.fd, data + off + done, chunk - done);
                if (r <= 0) {
                    w.failed = true;
                    snprintf(w.why, sizeof(w.why), "writing %s failed: %s", w.tmp,
                             r < 0 ? strerror(errno) : "short write");
                    break;
                }
                done += (uint32_t)r;
            }
        }
        w.bytes += chunk;
        cons += chunk;
        avail -= chunk;
    }
    __atomic_store_n(&h->out_cons, cons, __ATOMIC_RELEASE);
    return w.failed ? -1 : 0;
}

int save_stream_end(bool ok, uint64_t *bytes, char *err, size_t n)
{
    if (!w.active) {
        snprintf(err, n, "no save is being written");
        return -1;
    }
    (void)save_stream_pump();
    w.active = false;
    *bytes = w.bytes;
    if (ok && w.failed) {
        snprintf(err, n, "%s", w.why);
        ok = false;
    }
    if (w.stream) {
        close(w.fd);                    /* the reader sees the end */
        w.fd = -1;
        return ok ? 0 : -1;
    }
    if (ok && w.forwards[0]) {
        /* hostd's own record, after dom0's END and inside the checksum. */
        uint32_t h[2] = { SF_REC_HOST_FORWARDS, (uint32_t)strlen(w.forwards) };
        uint8_t zero[8] = { 0 };
        size_t pad = (8 - h[1] % 8) % 8;
        w.crc = crc32_ieee(w.crc, h, sizeof(h));
        w.crc = crc32_ieee(w.crc, w.forwards, h[1]);
        w.crc = crc32_ieee(w.crc, zero, pad);
        if (write(w.fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
            write(w.fd, w.forwards, h[1]) != (ssize_t)h[1] ||
            (pad && write(w.fd, zero, pad) != (ssize_t)pad)) {
            snprintf(err, n, "writing %s failed: %s", w.tmp, strerror(errno));
            ok = false;
        }
        w.bytes += sizeof(h) + h[1] + pad;
    }
    if (ok) {
        uint8_t tr[SF_TRAILER];
        uint32_t type = SF_REC_CHECKSUM, len = 16, pad = 0;
        memcpy(tr, &type, 4);
        memcpy(tr + 4, &len, 4);
        memcpy(tr + 8, &w.crc, 4);
        memcpy(tr + 12, &pad, 4);
        memcpy(tr + 16, &w.bytes, 8);
        if (write(w.fd, tr, sizeof(tr)) != (ssize_t)sizeof(tr) || fsync(w.fd) < 0) {
            snprintf(err, n, "writing %s failed: %s", w.tmp, strerror(errno));
            ok = false;
        }
    }
    close(w.fd);
    w.fd = -1;
    if (ok && rename(w.tmp, w.path) < 0) {
        snprintf(err, n, "cannot rename %s to %s: %s", w.tmp, w.path, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(w.tmp);
    return ok ? 0 : -1;
}

/* ---- checking a file -------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int check_mapped(const uint8_t *f, uint64_t len, struct save_info *si, char *err,
                        size_t n)
{
    if (len < SF_HDR_BYTES || memcmp(f, SF_MAGIC, 8)) {
        snprintf(err, n, "not a Lamina save file (no %s header)", SF_MAGIC);
        return -1;
    }
    si->version = rd32(f + 8);
    si->flags = rd32(f + 12);
    if (si->version != SF_VERSION) {
        snprintf(err, n, "save file version %u; this lamina reads version %u", si->version,
                 SF_VERSION);
        return -1;
    }
    const uint8_t *tr = f + len - SF_TRAILER;
    if (len < SF_HDR_BYTES + SF_TRAILER || rd32(tr) != SF_REC_CHECKSUM || rd32(tr + 4) != 16 ||
        rd64(tr + 16) != len - SF_TRAILER) {
        snprintf(err, n, "truncated: the file (%llu bytes) does not end with its checksum "
                 "record (was the save interrupted?)", (unsigned long long)len);
        return -1;
    }
    uint32_t want = rd32(tr + 8), got = crc32_ieee(0, f, len - SF_TRAILER);
    if (want != got) {
        snprintf(err, n, "corrupt: CRC-32 of the file is %08x, its checksum record says %08x",
                 got, want);
        return -1;
    }
    si->stream_bytes = len - SF_TRAILER;
    bool have_dom = false;
    for (uint64_t off = SF_HDR_BYTES, k = 0;; k++) {
        if (off + 8 > si->stream_bytes) {
            snprintf(err, n, "truncated: record %llu at byte %llu is cut off",
                     (unsigned long long)k, (unsigned long long)off);
            return -1;
        }
        uint32_t type = rd32(f + off), rl = rd32(f + off + 4);
        uint64_t body = off + 8, next = body + ((rl + 7ull) & ~7ull);
        if (next > si->stream_bytes) {
            snprintf(err, n, "corrupt: record %llu (type %u) claims %u bytes past the end",
                     (unsigned long long)k, type, rl);
            return -1;
        }
        if ((k == 0) != (type == SF_REC_DOMAIN) || (k == 0 && rl != 32)) {
            snprintf(err, n, k == 0 ? "corrupt: the first record is not the domain's"
                                    : "corrupt: a second domain record (record %llu)",
                     (unsigned long long)k);
            return -1;
        }
        if (type == SF_REC_DOMAIN) {
            si->nr_pfns = rd64(f + body + 8);
            si->saved_at_ns = rd64(f + body + 16);
            si->src_domid = rd32(f + body + 24);
            have_dom = true;
        } else if (type == SF_REC_CONFIG) {
            size_t cl = rl < sizeof(si->config) - 1 ? rl : sizeof(si->config) - 1;
            memcpy(si->config, f + body, cl);
            si->config[cl] = 0;
        } else if (type == SF_REC_END) {
            /* Only hostd's records may follow, up to the trailer. */
            uint64_t end = next;
            for (uint64_t o = next; o < si->stream_bytes;) {
                if (o + 8 > si->stream_bytes) {
                    snprintf(err, n, "corrupt: data after the END record");
                    return -1;
                }
                uint32_t ht = rd32(f + o), hl = rd32(f + o + 4);
                uint64_t hn = o + 8 + ((hl + 7ull) & ~7ull);
                if (ht != SF_REC_HOST_FORWARDS || hn > si->stream_bytes ||
                    hl >= sizeof(si->forwards)) {
                    snprintf(err, n, "corrupt: data after the END record");
                    return -1;
                }
                memcpy(si->forwards, f + o + 8, hl);
                si->forwards[hl] = 0;
                o = hn;
            }
            si->stream_bytes = end;     /* what dom0 reads */
            break;
        }
        off = next;
    }
    if (!have_dom || !si->config[0] || !si->nr_pfns) {
        snprintf(err, n, "corrupt: no domain or configuration record");
        return -1;
    }
    return 0;
}

int save_file_check(const char *path, struct save_info *si, char *err, size_t n)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    memset(si, 0, sizeof(*si));
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, n, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    si->file_bytes = (uint64_t)st.st_size;
    if (st.st_size == 0) {
        close(fd);
        snprintf(err, n, "%s is empty", path);
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, n, "cannot map %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = check_mapped(m, (uint64_t)st.st_size, si, err, n);
    munmap(m, (size_t)st.st_size);
    return rc;
}

int copy_image(const char *src, const char *dst, char *err, size_t n)
{
    static char buf[1 << 20];
    int in = open(src, O_RDONLY), out = -1;
    if (in < 0) {
        snprintf(err, n, "cannot read %s: %s", src, strerror(errno));
        return -1;
    }
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        snprintf(err, n, "cannot write %s: %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    off_t pos = 0;
    for (;;) {
        ssize_t got = read(in, buf, sizeof(buf));
        if (got < 0) {
            snprintf(err, n, "reading %s: %s", src, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        bool zero = true;
        for (ssize_t i = 0; i < got && zero; i++)
            zero = buf[i] == 0;
        if (!zero && pwrite(out, buf, (size_t)got, pos) != got) {
            snprintf(err, n, "writing %s: %s", dst, strerror(errno ? errno : ENOSPC));
            goto fail;
        }
        pos += got;
    }
    if (ftruncate(out, pos) < 0 || fsync(out) < 0) {
        snprintf(err, n, "finishing %s: %s", dst, strerror(errno));
        goto fail;
    }
    close(in);
    close(out);
    return 0;
fail:
    close(in);
    close(out);
    return -1;
}

int copy_images(char *lines, bool reverse, char *err, size_t n)
{
    for (char *l = lines, *nl; *l; l = nl) {
        nl = strchr(l, '\n');
        if (nl)
            *nl++ = 0;
        else
            nl = l + strlen(l);
        char *tab = strchr(l, '\t');
        if (!tab)
            continue;
        *tab = 0;
        if (copy_image(reverse ? tab + 1 : l, reverse ? l : tab + 1, err, n) < 0)
            return -1;
    }
    return 0;
}
