/*
 * xenbus_back.c - the back-end xenbus library (xenbus_back.h) over dom0's
 * in-process xenstored.
 */
#include "xenbus_back.h"
#include "xenstored.h"
#include <stdarg.h>
#include "xs_dom0.h"
#include "kernel.h"

#define EVENT_QUEUE 256
#define TOKEN_LEN   16

struct watch {
    bool used;
    char path[128];
    char token[TOKEN_LEN];
    xenbus_back_watch_fn fn;
    void *opaque;
};

static struct xs_conn *conn;
static struct watch watches[XENBUS_BACK_MAX_WATCHES];
/* Events: the watch's index and the path; overflow drops the oldest
 * (every callback rereads what it watches, so a lost event is harmless
 * as long as a later one comes; an overflow also flags a rescan). */
static struct { uint16_t w; char path[128]; } events[EVENT_QUEUE];
static unsigned int ev_head, ev_len;
static uint32_t next_req;

static void conn_send(void *opaque, const struct xsd_sockmsg *hdr, const void *body)
{
    const char *b = body, *tok;
    size_t plen;

    (void)opaque;
    if (hdr->type != XS_WATCH_EVENT || hdr->len < 2)
        return;
    plen = strlen(b);
    if (plen + 1 >= hdr->len || plen >= sizeof(events[0].path))
        return;
    tok = b + plen + 1;
    for (unsigned int i = 0; i < XENBUS_BACK_MAX_WATCHES; i++) {
        if (!watches[i].used || strncmp(watches[i].token, tok, TOKEN_LEN) != 0)
            continue;
        unsigned int slot = (ev_head + ev_len) % EVENT_QUEUE;
        if (ev_len == EVENT_QUEUE) {
            ev_head = (ev_head + 1) % EVENT_QUEUE;
            ev_len--;
        }
        events[slot].w = (uint16_t)i;
        memcpy(events[slot].path, b, plen + 1);
        ev_len++;
        return;
    }
}

int xenbus_back_init(void)
{
    if (conn)
        return 0;
    conn = xs_conn_new(xs_dom0_store(), 0, conn_send, NULL);
    return conn ? 0 : -XEN_ENOMEM;
}

int xenbus_back_read(const char *path, char *buf, size_t len)
{
    char tmp[XENSTORE_PAYLOAD_MAX + 1];
    size_t n = sizeof(tmp);
    int rc = xs_store_read(xs_dom0_store(), path, tmp, &n);

    if (rc)
        return rc;
    if (len) {
        size_t c = n < len - 1 ? n : len - 1;
        memcpy(buf, tmp, c);
        buf[c] = 0;
    }
    return (int)n;
}

int xenbus_back_read_u64(const char *path, uint64_t *v)
{
    char b[32];
    int n = xenbus_back_read(path, b, sizeof(b));
    uint64_t x = 0;
    unsigned int base = 10, i = 0;

    if (n < 0)
        return n;
    if (n == 0 || n >= (int)sizeof(b))
        return -XEN_EINVAL;
    if (b[0] == '0' && (b[1] == 'x' || b[1] == 'X')) {
        base = 16;
        i = 2;
        if (!b[2])
            return -XEN_EINVAL;
    }
    for (; b[i]; i++) {
        unsigned int d;
        char c = b[i];

        if (c >= '0' && c <= '9')
            d = (unsigned int)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned int)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned int)(c - 'A' + 10);
        else
            return -XEN_EINVAL;
        if (x > (~0ULL - d) / base)
            return -XEN_EINVAL;
        x = x * base + d;
    }
    *v = x;
    return 0;
}

int xenbus_back_printf(const char *dir, const char *key, const char *fmt, ...)
{
    char path[160], val[256];
    va_list ap;

    if (*key)
        ksnprintf(path, sizeof(path), "%s/%s", dir, key);
    else
        ksnprintf(path, sizeof(path), "%s", dir);
    va_start(ap, fmt);
    kvsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    return xs_store_write(xs_dom0_store(), path, val, strlen(val));
}

int xenbus_back_rm(const char *path)
{
    int rc = xs_store_rm(xs_dom0_store(), path);

    return rc == -XEN_ENOENT ? 0 : rc;
}

int xenbus_back_set_perms(const char *path, domid_t owner, domid_t reader)
{
    char p[32];
    int n = ksnprintf(p, sizeof(p), "n%u", owner) + 1;

    if (reader != DOMID_INVALID)
        n += ksnprintf(p + n, sizeof(p) - (size_t)n, "r%u", reader) + 1;
    return xs_store_set_perms(xs_dom0_store(), path, p, (size_t)n);
}

enum xenbus_state xenbus_back_read_state(const char *dir)
{
    char path[160];
    uint64_t v;

    ksnprintf(path, sizeof(path), "%s/state", dir);
    if (xenbus_back_read_u64(path, &v) || v > XenbusStateReconfigured)
        return XenbusStateUnknown;
    return (enum xenbus_state)v;
}

int xenbus_back_switch_state(const char *dir, enum xenbus_state state)
{
    return xenbus_back_printf(dir, "state", "%d", (int)state);
}

int xenbus_back_watch(const char *path, xenbus_back_watch_fn fn, void *opaque)
{
    struct xsd_sockmsg hdr = { .type = XS_WATCH };
    char body[128 + TOKEN_LEN + 2];
    size_t plen = strlen(path);
    unsigned int i;

    if (!conn || plen >= sizeof(watches[0].path))
        return -XEN_EINVAL;
    for (i = 0; i < XENBUS_BACK_MAX_WATCHES && watches[i].used; i++)
        ;
    if (i == XENBUS_BACK_MAX_WATCHES)
        return -XEN_ENOSPC;
    watches[i].used = true;
    memcpy(watches[i].path, path, plen + 1);
    ksnprintf(watches[i].token, TOKEN_LEN, "bk%u", i);
    watches[i].fn = fn;
    watches[i].opaque = opaque;
    size_t tlen = strlen(watches[i].token);
    memcpy(body, path, plen + 1);
    memcpy(body + plen + 1, watches[i].token, tlen + 1);
    hdr.req_id = next_req++;
    hdr.len = (uint32_t)(plen + tlen + 2);
    return xs_conn_input(conn, &hdr, body) < 0 ? -XEN_EINVAL : 0;
}

void xenbus_back_unwatch(void *opaque)
{
    for (unsigned int i = 0; i < XENBUS_BACK_MAX_WATCHES; i++) {
        struct xsd_sockmsg hdr = { .type = XS_UNWATCH };
        char body[128 + TOKEN_LEN + 2];

        if (!watches[i].used || watches[i].opaque != opaque)
            continue;
        size_t plen = strlen(watches[i].path), tlen = strlen(watches[i].token);
        memcpy(body, watches[i].path, plen + 1);
        memcpy(body + plen + 1, watches[i].token, tlen + 1);
        hdr.req_id = next_req++;
        hdr.len = (uint32_t)(plen + tlen + 2);
        (void)xs_conn_input(conn, &hdr, body);
        watches[i].used = false;
    }
}

int xenbus_back_poll(void)
{
    int ran = 0;

    while (ev_len) {
        unsigned int w = events[ev_head].w;
        char path[128];

        memcpy(path, events[ev_head].path, sizeof(path));
        ev_head = (ev_head + 1) % EVENT_QUEUE;
        ev_len--;
        if (watches[w].used) {
            watches[w].fn(path, watches[w].opaque);
            ran++;
        }
    }
    return ran;
}

const char *xenbus_state_name(enum xenbus_state s)
{
    static const char *const names[] = {
        "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
        "Closing", "Closed", "Reconfiguring", "Reconfigured",
    };
    return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "?";
}
