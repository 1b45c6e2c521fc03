/*
 * hostd.c - `lamina hostd RUNDIR QEMU-PID`: the host daemon started by
 * `lamina up`.  Runs on the host, one per machine, until QEMU exits.
 *
 * It owns QEMU's COM2 (the client end of <run>/ctl.sock, the protocol of
 * docs/toolstack.md section 4) and the bulk ring (the /dev/shm file behind
 * ivshmem, section 5), and serves any number of CLI clients.
 *
 * Client <-> hostd protocol (<run>/lamina.sock, a unix stream socket): the
 * agent protocol itself, with ids chosen by each client.
 *   client -> hostd: "<cid> <command> [key=value ...]\n", cid 1..2^32-1, any
 *       per-connection numbering.  hostd gives the request a fresh agent id,
 *       forwards it, and sends the agent's answer back as "R <cid> ...",
 *       "K <cid>", "E <cid> ERRNO message", unchanged but for the id.
 *   "C <domid> data" lines go to every client attached to that domain's
 *       console; "L" lines are appended to <run>/events.log; READY is noted.
 * Requests hostd handles itself or rewrites:
 *   hostd-status       -> R cid pid= qemu_pid= ready=0|1 version= clients=
 *                         bad_lines= bulk=0|1, then K.
 *   console-attach dom=N (N a domain id, not a name): the first client of a
 *       domain makes hostd send console-attach to the agent; later clients
 *       get "R cid id=N", the history hostd kept (last HIST_LINES C lines),
 *       and K at once.  console-detach dom=N (or closing the connection)
 *       detaches; the last one out sends console-detach to the agent.
 *   create ... size=S crc=X bulk=PATH: hostd drops the bulk= key, forwards the
 *       request and streams the S bytes of the file PATH (percent-encoded,
 *       absolute) into the bulk ring.
 *   restore ... size=S bulk=PATH: as create, S bytes of the save file (its
 *       checksum trailer left out: the CLI checked it).
 *   save dom=D file=PATH [live=1]: forwarded without file=; what dom0
 *       writes on the dom0 -> host ring goes into PATH.tmp, which becomes
 *       PATH with the checksum record appended when dom0 answers K (or the
 *       client gets E instead).
 *   bulk-bench size=S: forwarded, then S bytes of a pattern are streamed.
 *   One bulk transfer at a time: another gets "E cid EBUSY ...".
 */
#define _GNU_SOURCE
#include "lamina.h"
#include "savefile.h"
#include "hostd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS  64
#define MAX_PENDING  512
#define MAX_CONDOMS  32
#define HIST_LINES   256
#define OUT_MAX      (8u << 20)     /* a client further behind is dropped */
#define BULK_STALL_NS (30ull * 1000000000ull)

struct obuf {
    char *p;
    size_t len, cap;
};

struct client {
    int fd;
    char in[PROTO_LINE_MAX * 2];
    size_t inlen;
    struct obuf out;
};

struct condom {
    int dom;                        /* -1: free */
    unsigned char members[MAX_CLIENTS];
    int nmembers;
    char *hist[HIST_LINES];
    int hhead, hcount;
};

static struct client clients[MAX_CLIENTS];
static struct pending pend[MAX_PENDING];
static struct condom condoms[MAX_CONDOMS];
static int agent_fd = -1, listen_fd = -1, qpid;
static char agent_in[PROTO_LINE_MAX * 2];
static size_t agent_inlen;
static struct obuf agent_out;
static uint32_t next_gid = 1;
static int ready;
static char version[64] = "-";
static unsigned long bad_lines;
static struct lamina_bulk_hdr *bulk_hdr;
static char *bulk_data;

static struct {
    int active;
    uint32_t gid;
    int fd;                         /* the file, or -1: the bench pattern */
    int stream;                     /* fd is a FIFO (a migration): read to its end */
    uint64_t done, total, last_ns;
} bulk;

void logmsg(const char *fmt, ...)
{
    time_t t = time(NULL);
    char ts[32];
    strftime(ts, sizeof(ts), "%F %T", localtime(&t));
    fprintf(stderr, "%s hostd: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void cleanup_exit(int code)
{
    unlink(lp.sock);
    unlink(lp.shm);
    logmsg("exiting");
    exit(code);
}

static void on_term(int sig)
{
    (void)sig;
    unlink(lp.sock);
    _exit(0);
}

static void obuf_add(struct obuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 8192;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            logmsg("out of memory");
            cleanup_exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* obuf_flush - write what the fd takes.  Returns -1 when the peer is gone. */
static int obuf_flush(int fd, struct obuf *b)
{
    while (b->len) {
        ssize_t w = send(fd, b->p, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return -1;
        memmove(b->p, b->p + w, b->len - (size_t)w);
        b->len -= (size_t)w;
    }
    return 0;
}

void client_send(int ci, const char *fmt, ...)
{
    if (ci < 0 || clients[ci].fd < 0)
        return;
    char line[PROTO_LINE_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = sizeof(line) - 1;
    obuf_add(&clients[ci].out, line, (size_t)n);
}

void agent_send(uint32_t gid, const char *cmd, const char *rest)
{
    char line[PROTO_LINE_MAX + 64];
    int n = snprintf(line, sizeof(line), "%u %s%s%s\n", gid, cmd, *rest ? " " : "", rest);
    if (n > 0 && (size_t)n < sizeof(line))
        obuf_add(&agent_out, line, (size_t)n);
}

uint32_t new_pending(int ci, uint32_t cid, enum pkind kind, int dom)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pend[i].gid) {
            uint32_t gid = next_gid++;
            if (next_gid > 0x7fffffffu)
                next_gid = 1;
            memset(&pend[i], 0, sizeof(pend[i]));
            pend[i].gid = gid;
            pend[i].client = ci;
            pend[i].cid = cid;
            pend[i].kind = kind;
            pend[i].dom = dom;
            return gid;
        }
    return 0;
}


/* new_pending() for a request that plugged disks into slots[0..4): they
 * are unplugged if it fails (E), or whenever it ends with unplug_after.
 * 0 (the disks unplugged again) when no request slot is free. */
static uint32_t new_pending_disks(int ci, uint32_t cid, enum pkind kind, const int slots[4],
                                  int unplug_after)
{
    uint32_t gid = new_pending(ci, cid, kind, -1);

    if (!gid) {
        for (int i = 0; i < 4; i++)
            hostdisk_unplug(slots[i]);
        return 0;
    }
    struct pending *p = find_pending(gid);
    memcpy(p->disk_slot, slots, sizeof(p->disk_slot));
    p->unplug_after = unplug_after;
    return gid;
}

struct pending *find_pending(uint32_t gid)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pend[i].gid == gid)
            return &pend[i];
    return NULL;
}

static struct condom *find_condom(int dom)
{
    for (int i = 0; i < MAX_CONDOMS; i++)
        if (condoms[i].dom == dom)
            return &condoms[i];
    return NULL;
}

static void condom_free(struct condom *d)
{
    for (int i = 0; i < HIST_LINES; i++) {
        free(d->hist[i]);
        d->hist[i] = NULL;
    }
    memset(d, 0, sizeof(*d));
    d->dom = -1;
}

/* condom_leave - client ci leaves d; the last one out detaches at the agent
 * (the answer goes to ci/cid when ci >= 0 and cid != 0). */
static void condom_leave(struct condom *d, int ci, uint32_t cid)
{
    if (!d->members[ci]) {
        if (cid)
            client_send(ci, "K %u\n", cid);
        return;
    }
    d->members[ci] = 0;
    if (--d->nmembers > 0) {
        if (cid)
            client_send(ci, "K %u\n", cid);
        return;
    }
    char rest[32];
    snprintf(rest, sizeof(rest), "dom=%d", d->dom);
    uint32_t gid = new_pending(cid ? ci : -1, cid, P_DETACH, d->dom);
    if (gid)
        agent_send(gid, "console-detach", rest);
    else if (cid)
        client_send(ci, "E %u EBUSY too%%20many%%20requests\n", cid);
    condom_free(d);
}

static void client_drop(int ci)
{
    for (int i = 0; i < MAX_CONDOMS; i++)
        if (condoms[i].dom >= 0 && condoms[i].members[ci])
            condom_leave(&condoms[i], ci, 0);
    for (int i = 0; i < MAX_PENDING; i++)
        if (pend[i].gid && pend[i].client == ci)
            pend[i].client = -1;
    close(clients[ci].fd);
    clients[ci].fd = -1;
    free(clients[ci].out.p);
    memset(&clients[ci].out, 0, sizeof(clients[ci].out));
    clients[ci].inlen = 0;
}

/* ---- bulk ring ---------------------------------------------------------- */

static void bulk_stop(const char *why)
{
    if (!bulk.active)
        return;
    /* Whatever ended it, nothing more comes: dom0 stops waiting. */
    __atomic_store_n(&bulk_hdr->eof, 1, __ATOMIC_RELEASE);
    if (bulk.fd >= 0)
        close(bulk.fd);
    if (bulk.stream)
        logmsg("bulk: %s after %llu bytes", why, (unsigned long long)bulk.done);
    else
        logmsg("bulk: %s after %llu of %llu bytes", why, (unsigned long long)bulk.done,
               (unsigned long long)bulk.total);
    bulk.active = 0;
}

/* bulk_pump - move what fits into the ring (section 5 producer discipline). */
static void bulk_pump(void)
{
    if (!bulk.active)
        return;
    uint32_t size = bulk_hdr->size;
    uint32_t prod = bulk_hdr->prod;
    uint32_t cons = __atomic_load_n(&bulk_hdr->cons, __ATOMIC_ACQUIRE);
    uint32_t room = size - (prod - cons);
    int moved = 0;
    while (room && bulk.done < bulk.total) {
        uint32_t off = prod & (size - 1);
        uint64_t n = size - off;
        if (n > room)
            n = room;
        if (n > bulk.total - bulk.done)
            n = bulk.total - bulk.done;
        char *dst = bulk_data + off;
        if (bulk.stream) {
            ssize_t r = read(bulk.fd, dst, n);
            if (r == 0 && bulk.done) {
                /* What came before the end is published before eof. */
                __atomic_store_n(&bulk_hdr->prod, prod, __ATOMIC_RELEASE);
                bulk_stop("stream ended");  /* the source closed it */
                break;
            }
            if (r <= 0 && (r == 0 || errno == EAGAIN || errno == EINTR))
                break;                      /* nothing yet */
            if (r < 0) {
                bulk_stop("stream read failed");
                return;
            }
            n = (uint64_t)r;
        } else if (bulk.fd >= 0) {
            ssize_t r = pread(bulk.fd, dst, n, (off_t)bulk.done);
            if (r <= 0) {
                bulk_stop("file read failed");
                return;
            }
            n = (uint64_t)r;
        } else {
            for (uint64_t i = 0; i < n; i++)
                dst[i] = (char)((bulk.done + i) * 131 + 7);
        }
        prod += (uint32_t)n;
        room -= (uint32_t)n;
        bulk.done += n;
        moved = 1;
    }
    if (moved) {
        __atomic_store_n(&bulk_hdr->prod, prod, __ATOMIC_RELEASE);
        bulk.last_ns = now_ns();
    }
    if (!bulk.active)
        return;
    if (bulk.done == bulk.total)
        bulk_stop("done");
    else if (now_ns() - bulk.last_ns > BULK_STALL_NS)
        bulk_stop("stalled (dom0 does not consume)");
}

/* ---- requests from clients ---------------------------------------------- */

static void status_reply(int ci, uint32_t cid)
{
    int n = 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        n += clients[i].fd >= 0;
    char v[200];
    pct_encode(version, strlen(version), v, sizeof(v));
    client_send(ci, "R %u pid=%d qemu_pid=%d ready=%d version=%s clients=%d "
                "bad_lines=%lu bulk=%d\nK %u\n", cid, (int)getpid(), qpid, ready, v, n,
                bad_lines, bulk.active, cid);
}

/* kv_take - remove "key=value" from rest (in place), copying the raw value. */
int kv_take(char *rest, const char *key, char *val, size_t vlen)
{
    size_t kl = strlen(key);
    for (char *p = rest; *p;) {
        char *e = strchr(p, ' ');
        size_t tl = e ? (size_t)(e - p) : strlen(p);
        if (tl > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            snprintf(val, vlen, "%.*s", (int)(tl - kl - 1), p + kl + 1);
            char *next = e ? e + 1 : p + tl;
            memmove(p, next, strlen(next) + 1);
            size_t l = strlen(rest);
            while (l && rest[l - 1] == ' ')
                rest[--l] = 0;
            return 0;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return -1;
}

int kv_peek(const char *rest, const char *key, char *val, size_t vlen)
{
    char tmp[PROTO_LINE_MAX];
    snprintf(tmp, sizeof(tmp), "%s", rest);
    return kv_take(tmp, key, val, vlen);
}

static void client_attach(int ci, uint32_t cid, char *rest)
{
    char v[32];
    char *e;
    if (kv_peek(rest, "dom", v, sizeof(v)) < 0 || !v[0] || (strtol(v, &e, 10), *e)) {
        client_send(ci, "E %u EINVAL console-attach%%20through%%20hostd%%20needs%%20"
                    "dom=<domain%%20id>\n", cid);
        return;
    }
    int dom = (int)strtol(v, NULL, 10);
    struct condom *d = find_condom(dom);
    if (d) {
        if (!d->members[ci]) {
            d->members[ci] = 1;
            d->nmembers++;
        }
        client_send(ci, "R %u id=%d\n", cid, dom);
        for (int i = 0; i < d->hcount; i++)
            client_send(ci, "%s", d->hist[(d->hhead + i) % HIST_LINES]);
        client_send(ci, "K %u\n", cid);
        return;
    }
    d = find_condom(-1);
    uint32_t gid = d ? new_pending(ci, cid, P_ATTACH, dom) : 0;
    if (!gid) {
        client_send(ci, "E %u EBUSY too%%20many%%20consoles%%20attached\n", cid);
        return;
    }
    d->dom = dom;
    d->members[ci] = 1;
    d->nmembers = 1;
    agent_send(gid, "console-attach", rest);
}

/* Takes the diskN=<devid>:<r|w>:<path> keys out of rest, plugs each image
 * into a PCI slot of its own and puts vbdN=<slot>:<devid>:<r|w>:<path>
 * (what the agent takes) in their place.  On failure answers E, unplugs
 * what it plugged and returns -1. */
static int plug_disks(int ci, uint32_t cid, char *rest, int slots_out[4], int shared)
{
    char key[8], enc[PATH_MAX * 3 + 96], spec[PATH_MAX + 32], why[2 * PATH_MAX + 512];
    char add[4 * (PATH_MAX * 3 + 48)];
    size_t al = 0;

    add[0] = 0;
    for (int i = 0; i < 4; i++) {
        char at[PATH_MAX + 64], atkey[12];
        snprintf(atkey, sizeof(atkey), "disk%dat", i);
        if (kv_take(rest, atkey, enc, sizeof(enc)) < 0 || pct_decode(enc, at, sizeof(at)) < 0)
            snprintf(at, sizeof(at), "disk %d", i);
        snprintf(key, sizeof(key), "disk%d", i);
        if (kv_take(rest, key, enc, sizeof(enc)) < 0)
            continue;
        char *c1, *c2;
        if (pct_decode(enc, spec, sizeof(spec)) < 0 || !(c1 = strchr(spec, ':')) ||
            !(c2 = strchr(c1 + 1, ':'))) {
            snprintf(why, sizeof(why), "bad %s= (want devid:r|w:path)", key);
            goto fail;
        }
        *c2 = 0;
        char pwhy[PATH_MAX + 192];
        int s = hostdisk_plug(c2 + 1, c1[1] == 'r', shared, pwhy, sizeof(pwhy));
        snprintf(why, sizeof(why), "%s: %s", at, pwhy);
        *c2 = ':';
        if (s < 0)
            goto fail;
        slots_out[i] = s;
        char vbd[PATH_MAX + 48], venc[PATH_MAX * 3 + 48];
        snprintf(vbd, sizeof(vbd), "%d:%s", s, spec);
        if (pct_encode(vbd, strlen(vbd), venc, sizeof(venc)) < 0) {
            snprintf(why, sizeof(why), "disk path too long");
            goto fail;
        }
        al += (size_t)snprintf(add + al, sizeof(add) - al, " vbd%d=%s", i, venc);
        continue;
fail:;
        char ewhy[sizeof(why) * 3];
        for (int k = 0; k < 4; k++)
            hostdisk_unplug(slots_out[k]);
        pct_encode(why, strlen(why), ewhy, sizeof(ewhy));
        client_send(ci, "E %u EINVAL %s\n", cid, ewhy);
        return -1;
    }
    size_t rl = strlen(rest);
    if (rl + al >= PROTO_LINE_MAX - 64) {
        for (int k = 0; k < 4; k++)
            hostdisk_unplug(slots_out[k]);
        client_send(ci, "E %u E2BIG the%%20request%%20is%%20too%%20long\n", cid);
        return -1;
    }
    memcpy(rest + rl, add, al + 1);
    return 0;
}

/* Removes the forwards a request added (host ports, 0: none). */
static void forwards_undo(const unsigned int ports[16])
{
    for (int k = 0; k < 16; k++)
        if (ports[k])
            (void)hostnet_forward_remove(ports[k]);
}

/* Takes the fwdN=<host>:<ip>:<guest> keys out of rest and sets up each
 * forward; on failure answers E, removes what it added and returns -1. */
static int take_forwards(int ci, uint32_t cid, char *rest, unsigned int out[16])
{
    char key[8], enc[128], spec[96], why[512], ewhy[1600], ip[20];
    unsigned int host, guest;

    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof(key), "fwd%d", i);
        if (kv_take(rest, key, enc, sizeof(enc)) < 0)
            continue;
        if (pct_decode(enc, spec, sizeof(spec)) < 0 ||
            sscanf(spec, "%u:%19[0-9.]:%u", &host, ip, &guest) != 3) {
            snprintf(why, sizeof(why), "bad %s= (want host:ip:guest)", key);
        } else if (hostnet_forward_add(host, ip, guest, why, sizeof(why)) == 0) {
            out[i] = host;
            continue;
        }
        forwards_undo(out);
        pct_encode(why, strlen(why), ewhy, sizeof(ewhy));
        client_send(ci, "E %u EADDRINUSE %s\n", cid, ewhy);
        return -1;
    }
    return 0;
}

/* `forward list | add HOST IP:PORT | remove HOST`, hostd's own command. */
static void client_forward(int ci, uint32_t cid, char *rest)
{
    char op[16] = "", host[16] = "", to[64] = "", why[512], enc[1600];
    unsigned int h = 0, g = 0;
    char ip[20];

    (void)kv_take(rest, "op", op, sizeof(op));
    (void)kv_take(rest, "host", host, sizeof(host));
    (void)kv_take(rest, "to", to, sizeof(to));
    h = (unsigned int)strtoul(host, NULL, 10);
    if (!strcmp(op, "list") || !op[0]) {
        char list[4096], *line = list;
        hostnet_forward_list(list, sizeof(list));
        client_send(ci, "R %u\n", cid);
        for (char *nl; (nl = strchr(line, '\n')); line = nl + 1) {
            *nl = 0;
            char rec[128];
            pct_encode(line, strlen(line), rec, sizeof(rec));
            client_send(ci, "R %u forward=%s\n", cid, rec);
        }
        client_send(ci, "K %u\n", cid);
    } else if (!strcmp(op, "add")) {
        char dec[64];
        if (pct_decode(to, dec, sizeof(dec)) < 0 || sscanf(dec, "%19[0-9.]:%u", ip, &g) != 2 ||
            !h || h > 65535 || !g || g > 65535) {
            client_send(ci, "E %u EINVAL forward%%20add%%20needs%%20HOSTPORT%%20IP:PORT\n", cid);
        } else if (hostnet_forward_add(h, ip, g, why, sizeof(why)) < 0) {
            pct_encode(why, strlen(why), enc, sizeof(enc));
            client_send(ci, "E %u EADDRINUSE %s\n", cid, enc);
        } else {
            client_send(ci, "K %u\n", cid);
        }
    } else if (!strcmp(op, "remove")) {
        if (hostnet_forward_remove(h) < 0)
            client_send(ci, "E %u ENOENT no%%20forward%%20of%%20host%%20port%%20%u\n", cid, h);
        else
            client_send(ci, "K %u\n", cid);
    } else {
        client_send(ci, "E %u EINVAL forward%%20takes%%20list,%%20add%%20or%%20remove\n", cid);
    }
}

static void client_bulk(int ci, uint32_t cid, const char *cmd, char *rest)
{
    char sz[32], path[PATH_MAX], enc[PATH_MAX * 3];
    int fd = -1;
    if (bulk.active) {
        client_send(ci, "E %u EBUSY the%%20bulk%%20channel%%20is%%20busy%%20(another%%20"
                    "create%%20or%%20bench);%%20try%%20again\n", cid);
        return;
    }
    if (kv_peek(rest, "size", sz, sizeof(sz)) < 0) {
        client_send(ci, "E %u EINVAL missing%%20size=\n", cid);
        return;
    }
    uint64_t size = strtoull(sz, NULL, 10);
    bool image = !strcmp(cmd, "create") || !strcmp(cmd, "restore");
    /* restore stream=1 size=0 bulk=FIFO: a migration's target; the source
     * machine's hostd writes the stream into the FIFO as dom0 makes it. */
    char sv[8] = "";
    int stream = !strcmp(cmd, "restore") && kv_take(rest, "stream", sv, sizeof(sv)) == 0 &&
                 !strcmp(sv, "1");
    if (stream) {
        struct stat st;
        if (size != 0 || kv_take(rest, "bulk", enc, sizeof(enc)) < 0 ||
            pct_decode(enc, path, sizeof(path)) < 0 ||
            (fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
            !S_ISFIFO(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            client_send(ci, "E %u EINVAL restore%%20stream=1%%20needs%%20size=0%%20and%%20"
                        "bulk=<a%%20FIFO>\n", cid);
            return;
        }
        size = UINT64_MAX;
    } else if (image) {
        if (kv_take(rest, "bulk", enc, sizeof(enc)) < 0 ||
            pct_decode(enc, path, sizeof(path)) < 0) {
            client_send(ci, "E %u EINVAL create%%20through%%20hostd%%20needs%%20"
                        "bulk=<file>\n", cid);
            return;
        }
        struct stat st;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size < size ||
            (!strcmp(cmd, "create") && (uint64_t)st.st_size != size)) {
            if (fd >= 0)
                close(fd);
            client_send(ci, "E %u EINVAL hostd%%20cannot%%20read%%20the%%20image%%20"
                        "(or%%20its%%20size%%20changed)\n", cid);
            return;
        }
    }
    int dslots[4] = { 0 };
    unsigned int fports[16] = { 0 };
    if (image && take_forwards(ci, cid, rest, fports) < 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    if (image && plug_disks(ci, cid, rest, dslots, stream) < 0) {
        forwards_undo(fports);
        if (fd >= 0)
            close(fd);
        return;
    }
    uint32_t gid = new_pending_disks(ci, cid, P_BULK, dslots, 0);
    if (!gid) {
        forwards_undo(fports);
        if (fd >= 0)
            close(fd);
        client_send(ci, "E %u EBUSY too%%20many%%20requests\n", cid);
        return;
    }
    memcpy(find_pending(gid)->fwd, fports, sizeof(fports));
    __atomic_store_n(&bulk_hdr->eof, 0, __ATOMIC_RELEASE);
    agent_send(gid, cmd, rest);
    bulk.active = 1;
    bulk.gid = gid;
    bulk.fd = fd;
    bulk.stream = stream;
    bulk.done = 0;
    bulk.total = size;
    bulk.last_ns = now_ns();
    if (stream)
        logmsg("bulk: %s of a migration stream (request %u)", cmd, gid);
    else
        logmsg("bulk: %s of %llu bytes (request %u)", cmd, (unsigned long long)size, gid);
}

static void client_line(int ci, char *line)
{
    char *sp = strchr(line, ' ');
    char *e;
    unsigned long cid = strtoul(line, &e, 10);
    if (e == line || (*e && *e != ' ') || !cid || cid > 0xffffffffUL || !sp) {
        client_send(ci, "E 0 EINVAL malformed%%20request%%20(want%%20<id>%%20<command>)\n");
        return;
    }
    char *cmd = sp + 1;
    char *rest = strchr(cmd, ' ');
    if (rest)
        *rest++ = 0;
    else
        rest = cmd + strlen(cmd);
    if (!strcmp(cmd, "hostd-status")) {
        status_reply(ci, (uint32_t)cid);
    } else if (!strcmp(cmd, "console-attach")) {
        client_attach(ci, (uint32_t)cid, rest);
    } else if (!strcmp(cmd, "console-detach")) {
        char v[32];
        struct condom *d = kv_peek(rest, "dom", v, sizeof(v)) < 0 ? NULL
                                                                 : find_condom(atoi(v));
        if (d)
            condom_leave(d, ci, (uint32_t)cid);
        else
            client_send(ci, "K %lu\n", cid);
    } else if (!strcmp(cmd, "forward")) {
        client_forward(ci, (uint32_t)cid, rest);
    } else if (!strcmp(cmd, "network-attach")) {
        unsigned int fports[16] = { 0 };
        if (take_forwards(ci, (uint32_t)cid, rest, fports) < 0)
            return;
        uint32_t gid = new_pending(ci, (uint32_t)cid, P_PLAIN, -1);
        if (!gid) {
            forwards_undo(fports);
            client_send(ci, "E %lu EBUSY too%%20many%%20requests\n", cid);
            return;
        }
        memcpy(find_pending(gid)->fwd, fports, sizeof(fports));
        agent_send(gid, cmd, rest);
    } else if (!strcmp(cmd, "create") || !strcmp(cmd, "restore") ||
               !strcmp(cmd, "bulk-bench")) {
        client_bulk(ci, (uint32_t)cid, cmd, rest);
    } else if (!strcmp(cmd, "save") || !strcmp(cmd, "remus")) {
        client_save(ci, (uint32_t)cid, cmd, rest);
    } else if (!strcmp(cmd, "block-attach") || !strcmp(cmd, "blk-bench")) {
        int dslots[4] = { 0 };
        if (plug_disks(ci, (uint32_t)cid, rest, dslots, 0) < 0)
            return;
        uint32_t gid = new_pending_disks(ci, (uint32_t)cid, P_PLAIN, dslots,
                                         !strcmp(cmd, "blk-bench"));
        if (!gid) {
            client_send(ci, "E %lu EBUSY too%%20many%%20requests\n", cid);
            return;
        }
        agent_send(gid, cmd, rest);
    } else {
        uint32_t gid = new_pending(ci, (uint32_t)cid, P_PLAIN, -1);
        if (!gid)
            client_send(ci, "E %lu EBUSY too%%20many%%20requests\n", cid);
        else
            agent_send(gid, cmd, rest);
    }
}

/* ---- lines from the agent ------------------------------------------------- */

static void log_event(const char *enc)
{
    char msg[PROTO_LINE_MAX];
    if (pct_decode(enc, msg, sizeof(msg)) < 0)
        snprintf(msg, sizeof(msg), "%s", enc);
    FILE *f = fopen(lp.events, "a");
    if (!f)
        return;
    time_t t = time(NULL);
    char ts[32];
    strftime(ts, sizeof(ts), "%F %T", localtime(&t));
    fprintf(f, "%s %s\n", ts, msg);
    fclose(f);
}

static void agent_line(char *line)
{
    size_t ll = strlen(line);
    if (ll && line[ll - 1] == '\r')
        line[--ll] = 0;
    if (!strncmp(line, "READY ", 6) || !strcmp(line, "READY")) {
        ready = 1;
        snprintf(version, sizeof(version), "%.63s", line[5] ? line + 6 : "?");
        logmsg("agent READY %s", version);
        log_event(line);
        return;
    }
    if (!strncmp(line, "L ", 2)) {
        char msg[PROTO_LINE_MAX] = "", *ip;
        if (pct_decode(line + 2, msg, sizeof(msg)) >= 0 &&
            !strncmp(msg, "vbd-removed slot=", 17))
            hostdisk_unplug(atoi(msg + 17));
        if (!strncmp(msg, "vif-removed ", 12) && (ip = strstr(msg, " ip=")) && ip[4])
            hostnet_forward_remove_ip(ip + 4);
        if (!strncmp(msg, "domain ", 7) && (ip = strstr(msg, CRASH_RESTORE_TAG)))
            crash_restore_spawn(ip + strlen(CRASH_RESTORE_TAG));
        /* "domain N (name) <how it ended>": its console clients are told,
         * and its console history goes with it. */
        struct condom *cd = !strncmp(msg, "domain ", 7) && strstr(msg, ") ") ?
                            find_condom(atoi(msg + 7)) : NULL;
        if (cd && !strstr(msg, "crashed; preserved")) {
            for (int ci = 0; ci < MAX_CLIENTS; ci++)
                if (cd->members[ci] && clients[ci].fd >= 0)
                    client_send(ci, "%s\n", line);
            condom_free(cd);
        }
        log_event(line + 2);
        return;
    }
    char kind = line[0];
    if ((kind != 'R' && kind != 'K' && kind != 'E' && kind != 'C') || line[1] != ' ') {
        bad_lines++;
        return;
    }
    char *e;
    unsigned long id = strtoul(line + 2, &e, 10);
    if (e == line + 2 || (*e && *e != ' ')) {
        bad_lines++;
        return;
    }
    const char *rest = *e ? e + 1 : "";
    if (kind == 'C') {
        struct condom *d = find_condom((int)id);
        if (!d)
            return;
        char buf[PROTO_LINE_MAX + 32];
        int n = snprintf(buf, sizeof(buf), "C %lu %s\n", id, rest);
        if (n < 0 || (size_t)n >= sizeof(buf))
            return;
        int slot = (d->hhead + d->hcount) % HIST_LINES;
        if (d->hcount == HIST_LINES) {
            slot = d->hhead;
            d->hhead = (d->hhead + 1) % HIST_LINES;
        } else {
            d->hcount++;
        }
        free(d->hist[slot]);
        d->hist[slot] = strdup(buf);
        for (int ci = 0; ci < MAX_CLIENTS; ci++)
            if (d->members[ci] && clients[ci].fd >= 0)
                obuf_add(&clients[ci].out, buf, (size_t)n);
        return;
    }
    struct pending *p = find_pending((uint32_t)id);
    if (!p)
        return;
    if (kind != 'R' && (p->kind == P_SAVE || p->kind == P_SAVE_END) && save_answer(p, kind)) {
        p->gid = 0;
        return;
    }
    if (p->client >= 0)
        client_send(p->client, "%c %u%s%s\n", kind, p->cid, *rest ? " " : "", rest);
    if (kind == 'R')
        return;
    if (p->kind == P_BULK && bulk.active && bulk.gid == p->gid)
        bulk_stop(kind == 'K' ? "request finished" : "request failed");
    if (kind == 'E' || p->unplug_after)
        for (int i = 0; i < 4; i++)
            hostdisk_unplug(p->disk_slot[i]);
    if (kind == 'E')
        forwards_undo(p->fwd);
    memset(p->disk_slot, 0, sizeof(p->disk_slot));
    if (p->kind == P_ATTACH && kind == 'E') {
        struct condom *d = find_condom(p->dom);
        if (d)
            condom_free(d);
    }
    p->gid = 0;
}

/* ---- setup and the loop --------------------------------------------------- */

static int connect_ctl(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, lp.ctl, strnlen(lp.ctl, sizeof(sa.sun_path) - 1));
    for (int tries = 0; tries < 200; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(50000);
    }
    return -1;
}

struct lamina_bulk_hdr *hostd_bulk_hdr(void)
{
    return bulk_hdr;
}

static int map_bulk(void)
{
    int fd = open(lp.shm, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    void *p = mmap(NULL, BULK_FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    bulk_hdr = p;
    bulk_data = (char *)p + BULK_DATA_OFF;
    if (memcmp(bulk_hdr->magic, "LAMBULK1", 8) || !bulk_hdr->size ||
        (bulk_hdr->size & (bulk_hdr->size - 1)) || bulk_hdr->size > BULK_FILE_BYTES - BULK_DATA_OFF)
        return -1;
    return 0;
}

int cmd_hostd(struct inv *iv)
{
    /* the run directory comes from `up` (same environment) */
    qpid = atoi(iv->pos[1]);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    for (int i = 0; i < MAX_CONDOMS; i++)
        condoms[i].dom = -1;
    logmsg("starting for QEMU pid %d in %s", qpid, iv->pos[0]);
    if (map_bulk() < 0) {
        logmsg("cannot map the bulk file %s", lp.shm);
        return 1;
    }
    agent_fd = connect_ctl();
    if (agent_fd < 0) {
        logmsg("cannot connect to QEMU's COM2 socket %s", lp.ctl);
        return 1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, lp.sock, strnlen(lp.sock, sizeof(sa.sun_path) - 1));
    unlink(lp.sock);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(listen_fd, 16) < 0) {
        logmsg("cannot listen on %s: %s", lp.sock, strerror(errno));
        return 1;
    }
    uint64_t last_check = now_ns();
    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 2];
        int map[MAX_CLIENTS + 2];
        int n = 0;
        pf[n] = (struct pollfd){ agent_fd, POLLIN | (agent_out.len ? POLLOUT : 0), 0 };
        map[n++] = -1;
        pf[n] = (struct pollfd){ listen_fd, POLLIN, 0 };
        map[n++] = -2;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                pf[n] = (struct pollfd){ clients[i].fd,
                                         POLLIN | (clients[i].out.len ? POLLOUT : 0), 0 };
                map[n++] = i;
            }
        int r = poll(pf, n, bulk.active || save_stream_active() ? 1 : 200);
        hostdisk_poll();
        crash_restore_reap();
        if (r < 0 && errno != EINTR)
            cleanup_exit(1);
        for (int k = 0; r > 0 && k < n; k++) {
            if (!pf[k].revents)
                continue;
            if (map[k] == -1) {
                if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                    ssize_t got = read(agent_fd, agent_in + agent_inlen,
                                       sizeof(agent_in) - agent_inlen);
                    if (got <= 0 && !(got < 0 && errno == EINTR)) {
                        logmsg("QEMU closed COM2");
                        cleanup_exit(0);
                    }
                    if (got > 0)
                        agent_inlen += (size_t)got;
                    char *nl;
                    while ((nl = memchr(agent_in, '\n', agent_inlen))) {
                        *nl = 0;
                        agent_line(agent_in);
                        size_t used = (size_t)(nl - agent_in) + 1;
                        memmove(agent_in, agent_in + used, agent_inlen - used);
                        agent_inlen -= used;
                    }
                    if (agent_inlen == sizeof(agent_in)) {
                        bad_lines++;
                        agent_inlen = 0;
                    }
                }
                if ((pf[k].revents & POLLOUT) && obuf_flush(agent_fd, &agent_out) < 0)
                    cleanup_exit(0);
            } else if (map[k] == -2) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                int slot = -1;
                for (int i = 0; fd >= 0 && i < MAX_CLIENTS && slot < 0; i++)
                    if (clients[i].fd < 0)
                        slot = i;
                if (fd >= 0 && slot < 0)
                    close(fd);
                else if (fd >= 0)
                    clients[slot].fd = fd;
            } else {
                int ci = map[k];
                struct client *c = &clients[ci];
                if (pf[k].revents & POLLOUT && obuf_flush(c->fd, &c->out) < 0) {
                    client_drop(ci);
                    continue;
                }
                if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
                if (got <= 0) {
                    if (!(got < 0 && errno == EINTR))
                        client_drop(ci);
                    continue;
                }
                c->inlen += (size_t)got;
                char *nl;
                while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->inlen))) {
                    *nl = 0;
                    client_line(ci, c->in);
                    size_t used = (size_t)(nl - c->in) + 1;
                    memmove(c->in, c->in + used, c->inlen - used);
                    c->inlen -= used;
                }
                if (c->inlen == sizeof(c->in))
                    client_drop(ci);
            }
        }
        bulk_pump();
        if (save_stream_pump() < 0)
            save_stream_failed();
        obuf_flush(agent_fd, &agent_out);
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                if (obuf_flush(clients[i].fd, &clients[i].out) < 0 ||
                    clients[i].out.len > OUT_MAX)
                    client_drop(i);
            }
        if (now_ns() - last_check > 1000000000ull) {
            last_check = now_ns();
            if (qpid > 0 && kill(qpid, 0) < 0 && errno == ESRCH) {
                logmsg("QEMU (pid %d) is gone", qpid);
                cleanup_exit(0);
            }
        }
    }
}
