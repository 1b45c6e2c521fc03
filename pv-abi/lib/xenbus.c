/*
 * xenbus.c - xenbus client over the store ring (io/xs_wire.h): synchronous
 * requests, watch events queued for xenbus_poll().
 *
 * Runs in a PV guest kernel, thread context; the event handler only
 * counts.  Ring discipline (both directions, free-running 32-bit indices
 * masked by MASK_XENSTORE_IDX): the producer writes bytes, a write
 * barrier, then the producer index; the consumer reads the producer index,
 * a read barrier, the bytes, a full barrier, then its consumer index.
 * Messages may be larger than the ring, so both directions stream through
 * it: a request is written as space frees, a reply is gathered into
 * rx_msg piece by piece.
 */
#include <pv/evtchn.h>
#include <pv/hypercall.h>
#include <pv/irq.h>
#include <pv/time.h>
#include <pv/xenbus.h>

#define HDR_SIZE   sizeof(struct xsd_sockmsg)
#define EVENT_STR  256          /* bytes kept of a watch event's path/token */

static volatile struct xenstore_domain_interface *ring;
static evtchn_port_t ring_port;
static xenbus_wait_fn wait_fn;
static void *wait_opaque;
static volatile uint64_t nr_events;
static bool busy;                       /* a request is outstanding */
static bool broken;                     /* a request was cut short: the
                                           ring's framing is lost */
static uint32_t next_req_id = 1;

/* Incoming message being gathered. */
static struct {
    struct xsd_sockmsg hdr;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    size_t have;                        /* bytes of hdr + body so far */
} rx_msg;

/* The reply to the outstanding request. */
static struct {
    uint32_t req_id;
    bool done;
    uint32_t type;
    uint32_t len;
    char body[XENSTORE_PAYLOAD_MAX + 1];
} reply;

static struct watch {
    bool used;
    char path[EVENT_STR];               /* kept for xenbus_resume() */
    char token[EVENT_STR];
    xenbus_watch_fn cb;
    void *opaque;
} watches[XENBUS_MAX_WATCHES];

struct event {
    char path[EVENT_STR];
    char token[EVENT_STR];
};
static struct event events[XENBUS_MAX_EVENTS];
static unsigned int ev_head, ev_len;
static uint64_t ev_dropped;

static const struct { const char *name; int err; } xs_errors[] = {
    { "EINVAL", XEN_EINVAL }, { "EACCES", XEN_EACCES }, { "EEXIST", XEN_EEXIST },
    { "EISDIR", XEN_EISDIR }, { "ENOENT", XEN_ENOENT }, { "ENOMEM", XEN_ENOMEM },
    { "ENOSPC", XEN_ENOSPC }, { "EIO", XEN_EIO }, { "ENOTEMPTY", XEN_ENOTEMPTY },
    { "ENOSYS", XEN_ENOSYS }, { "EROFS", XEN_EROFS }, { "EBUSY", XEN_EBUSY },
    { "EAGAIN", XEN_EAGAIN }, { "EISCONN", XEN_EISCONN }, { "E2BIG", XEN_E2BIG },
    { "EPERM", XEN_EPERM },
};

static size_t str_len(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* Copies at most n-1 bytes of s (stops at NUL or at s_len) into d. */
static void str_copy(char *d, size_t n, const char *s, size_t s_len)
{
    size_t i;

    for (i = 0; i + 1 < n && i < s_len && s[i]; i++)
        d[i] = s[i];
    d[i] = 0;
}

static uint64_t now_ns(void)
{
    return pv_time_system_ns(&pv_vcpu_info()->time);
}

static void (*notify_fn)(void *opaque);
static void *notify_opaque;

void xenbus_set_notify(void (*fn)(void *opaque), void *opaque)
{
    notify_opaque = opaque;
    notify_fn = fn;
}

static void ring_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    nr_events++;
    if (notify_fn)
        notify_fn(notify_opaque);
}

static void do_wait(void)
{
    if (wait_fn)
        wait_fn(wait_opaque);
    else
        (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

int xenbus_init(struct xenstore_domain_interface *intf, evtchn_port_t port,
                xenbus_wait_fn wait, void *opaque)
{
    int rc;

    if (!intf || port == 0 || port >= PV_EVTCHN_NR_PORTS)
        return -XEN_EINVAL;
    wait_fn = wait;
    wait_opaque = opaque;
    ring_port = port;
    rc = pv_evtchn_set_handler(port, ring_event, NULL);
    if (rc)
        return rc;
    ring = intf;
    pv_evtchn_unmask(port);
    return 0;
}

static int request(uint32_t type, const void *const *part, const size_t *part_len,
                   unsigned int nparts);

int xenbus_resume(evtchn_port_t port)
{
    int rc = 0;

    if (!ring)
        return 0;
    if (port == 0 || port >= PV_EVTCHN_NR_PORTS)
        return -XEN_EINVAL;
    ring_port = port;
    if ((rc = pv_evtchn_set_handler(port, ring_event, NULL)))
        return rc;
    pv_evtchn_unmask(port);
    /* The new xenstored knows none of our watches (Linux's xs_resume). */
    for (unsigned int i = 0; i < XENBUS_MAX_WATCHES && !rc; i++) {
        if (!watches[i].used)
            continue;
        const void *part[] = { watches[i].path, watches[i].token };
        size_t part_len[] = { str_len(watches[i].path) + 1, str_len(watches[i].token) + 1 };
        rc = request(XS_WATCH, part, part_len, 2);
    }
    return rc;
}

bool xenbus_ready(void)
{
    return ring != NULL;
}

uint64_t xenbus_events(void)
{
    return nr_events;
}

/* ---- incoming messages --------------------------------------------------- */

static void queue_event(const char *body, uint32_t len)
{
    size_t plen = 0;
    struct event *e;

    while (plen < len && body[plen])
        plen++;
    if (plen >= len)
        return;                         /* no token: malformed, ignore */
    if (ev_len == XENBUS_MAX_EVENTS) {
        ev_dropped++;
        return;
    }
    e = &events[(ev_head + ev_len) % XENBUS_MAX_EVENTS];
    str_copy(e->path, sizeof(e->path), body, plen);
    str_copy(e->token, sizeof(e->token), body + plen + 1, len - plen - 1);
    ev_len++;
}

/* A whole message is in rx_msg: route it. */
static void rx_dispatch(void)
{
    uint32_t len = rx_msg.hdr.len;

    rx_msg.body[len] = 0;
    if (rx_msg.hdr.type == XS_WATCH_EVENT) {
        queue_event(rx_msg.body, len);
    } else if (busy && !reply.done && rx_msg.hdr.req_id == reply.req_id) {
        reply.type = rx_msg.hdr.type;
        reply.len = len;
        for (uint32_t i = 0; i <= len; i++)
            reply.body[i] = rx_msg.body[i];
        reply.done = true;
    }
    /* Anything else (a reply that came after its request timed out) is
     * dropped. */
}

/* Consumes what the rsp ring holds into rx_msg, dispatching each whole
 * message.  Returns 0, or -XEN_EIO if the ring or a header is bad. */
static int rx_pump(void)
{
    XENSTORE_RING_IDX cons = ring->rsp_cons, prod = ring->rsp_prod;
    bool moved = false;

    xen_rmb();
    if ((XENSTORE_RING_IDX)(prod - cons) > XENSTORE_RING_SIZE)
        return -XEN_EIO;
    while (cons != prod) {
        char *dst = (char *)&rx_msg.hdr;
        size_t want;

        if (rx_msg.have < HDR_SIZE) {
            want = HDR_SIZE;
        } else {
            if (rx_msg.hdr.len > XENSTORE_PAYLOAD_MAX)
                return -XEN_EIO;
            want = HDR_SIZE + rx_msg.hdr.len;
        }
        while (rx_msg.have < want && cons != prod) {
            char c = ring->rsp[MASK_XENSTORE_IDX(cons)];

            if (rx_msg.have < HDR_SIZE)
                dst[rx_msg.have] = c;
            else
                rx_msg.body[rx_msg.have - HDR_SIZE] = c;
            rx_msg.have++;
            cons++;
            moved = true;
        }
        if (rx_msg.have == HDR_SIZE && rx_msg.hdr.len > XENSTORE_PAYLOAD_MAX)
            return -XEN_EIO;
        if (rx_msg.have >= HDR_SIZE && rx_msg.have == HDR_SIZE + rx_msg.hdr.len) {
            rx_dispatch();
            rx_msg.have = 0;
        }
    }
    xen_mb();
    ring->rsp_cons = cons;
    if (moved)
        (void)pv_evtchn_send(ring_port);
    return 0;
}

/* ---- requests -------------------------------------------------------------- */

/* Writes the bytes of one request part into req, waiting for space.
 * Returns 0, -XEN_EIO (ring broken) or -XEN_ETIMEDOUT. */
static int tx_bytes(const void *data, size_t n, uint64_t deadline)
{
    const char *p = data;

    while (n > 0) {
        XENSTORE_RING_IDX cons = ring->req_cons, prod = ring->req_prod;
        XENSTORE_RING_IDX used = prod - cons;
        int rc;

        xen_mb();
        if (used > XENSTORE_RING_SIZE)
            return -XEN_EIO;
        if (used == XENSTORE_RING_SIZE) {
            (void)pv_evtchn_send(ring_port);
            rc = rx_pump();             /* keep the other direction moving */
            if (rc)
                return rc;
            if (now_ns() >= deadline)
                return -XEN_ETIMEDOUT;
            do_wait();
            continue;
        }
        while (n > 0 && used < XENSTORE_RING_SIZE) {
            ring->req[MASK_XENSTORE_IDX(prod)] = *p++;
            prod++;
            used++;
            n--;
        }
        xen_wmb();
        ring->req_prod = prod;
    }
    return 0;
}

/* Takes the client for one request or ring read: a thread that finds
 * another's request outstanding waits for it (the wait function), so
 * threads may share the client.  0, -XEN_ENODEV or -XEN_EIO. */
static int acquire(void)
{
    for (;;) {
        bool flags;

        if (!ring)
            return -XEN_ENODEV;
        if (broken)
            return -XEN_EIO;
        flags = pv_irq_save();
        if (!busy) {
            busy = true;
            pv_irq_restore(flags);
            return 0;
        }
        pv_irq_restore(flags);
        do_wait();
    }
}

/* Sends a request made of nparts (ptr, len) pieces and waits for its
 * reply.  On 0 the reply is in `reply` (type XS_ERROR already mapped to
 * its errno). */
static int request(uint32_t type, const void *const *part, const size_t *part_len,
                   unsigned int nparts)
{
    struct xsd_sockmsg hdr = { .type = type, .tx_id = 0 };
    uint64_t deadline = now_ns() + XENBUS_TIMEOUT_NS;
    size_t total = 0;
    int rc;

    for (unsigned int i = 0; i < nparts; i++)
        total += part_len[i];
    if (total > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;
    if ((rc = acquire()))
        return rc;
    hdr.req_id = next_req_id++;
    hdr.len = (uint32_t)total;
    reply.req_id = hdr.req_id;
    reply.done = false;

    rc = tx_bytes(&hdr, sizeof(hdr), deadline);
    for (unsigned int i = 0; rc == 0 && i < nparts; i++)
        rc = tx_bytes(part[i], part_len[i], deadline);
    if (rc)
        broken = true;                  /* part of a request went out */
    if (rc == 0)
        (void)pv_evtchn_send(ring_port);
    while (rc == 0 && !reply.done) {
        rc = rx_pump();
        if (rc) {
            broken = true;
            break;
        }
        if (reply.done)
            break;
        if (now_ns() >= deadline) {
            rc = -XEN_ETIMEDOUT;
            break;
        }
        do_wait();
    }
    busy = false;
    if (rc)
        return rc;
    if (reply.type == XS_ERROR) {
        for (size_t i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
            if (str_eq(reply.body, xs_errors[i].name))
                return -xs_errors[i].err;
        return -XEN_EINVAL;
    }
    if (reply.type != type)
        return -XEN_EIO;
    return 0;
}

int xenbus_read(const char *path, char *buf, size_t len)
{
    const void *part[] = { path };
    size_t part_len[] = { str_len(path) + 1 };
    int rc = request(XS_READ, part, part_len, 1);

    if (rc)
        return rc;
    if (len > 0)
        str_copy(buf, len, reply.body, reply.len);
    return (int)reply.len;
}

int xenbus_write(const char *path, const char *value)
{
    const void *part[] = { path, value };
    size_t part_len[] = { str_len(path) + 1, str_len(value) };

    return request(XS_WRITE, part, part_len, 2);
}

int xenbus_directory(const char *path, char *buf, size_t len)
{
    const void *part[] = { path };
    size_t part_len[] = { str_len(path) + 1 };
    int rc = request(XS_DIRECTORY, part, part_len, 1);

    if (rc)
        return rc;
    if (len < reply.len + 1)
        return -XEN_E2BIG;
    for (uint32_t i = 0; i < reply.len; i++)
        buf[i] = reply.body[i];
    buf[reply.len] = 0;
    return (int)reply.len;
}

/* path + "/" + key into out (cut to n). */
static void join(char *out, size_t n, const char *dir, const char *key)
{
    size_t i = 0;

    for (; *dir && i + 1 < n; dir++)
        out[i++] = *dir;
    if (*key && i + 1 < n)
        out[i++] = '/';
    for (; *key && i + 1 < n; key++)
        out[i++] = *key;
    out[i] = 0;
}

int xenbus_read_u64(const char *dir, const char *key, uint64_t *v)
{
    char path[128], b[24];
    int n;
    uint64_t x = 0;

    join(path, sizeof(path), dir, key);
    n = xenbus_read(path, b, sizeof(b));
    if (n < 0)
        return n;
    if (n == 0 || n >= (int)sizeof(b))
        return -XEN_EINVAL;
    for (int i = 0; i < n; i++) {
        if (b[i] < '0' || b[i] > '9' || x > (~0ULL - 9) / 10)
            return -XEN_EINVAL;
        x = x * 10 + (uint64_t)(b[i] - '0');
    }
    *v = x;
    return 0;
}

int xenbus_write_u64(const char *dir, const char *key, uint64_t v)
{
    char path[128], b[24];
    int i = 23;

    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    join(path, sizeof(path), dir, key);
    return xenbus_write(path, b + i);
}

int xenbus_write_str(const char *dir, const char *key, const char *value)
{
    char path[128];

    join(path, sizeof(path), dir, key);
    return xenbus_write(path, value);
}

enum xenbus_state xenbus_read_state(const char *dir)
{
    uint64_t v;

    if (xenbus_read_u64(dir, "state", &v) || v > XenbusStateReconfigured)
        return XenbusStateUnknown;
    return (enum xenbus_state)v;
}

int xenbus_switch_state(const char *dir, enum xenbus_state state)
{
    return xenbus_write_u64(dir, "state", (uint64_t)state);
}

int xenbus_watch(const char *path, const char *token, xenbus_watch_fn cb, void *opaque)
{
    const void *part[] = { path, token };
    size_t part_len[] = { str_len(path) + 1, str_len(token) + 1 };
    struct watch *w = NULL;
    int rc;

    if (str_len(token) >= EVENT_STR || str_len(path) >= EVENT_STR)
        return -XEN_EINVAL;
    for (unsigned int i = 0; i < XENBUS_MAX_WATCHES && !w; i++)
        if (!watches[i].used)
            w = &watches[i];
    if (!w)
        return -XEN_ENOSPC;
    /* Claim the slot first: the first event may come before the reply. */
    str_copy(w->token, sizeof(w->token), token, EVENT_STR);
    str_copy(w->path, sizeof(w->path), path, EVENT_STR);
    w->cb = cb;
    w->opaque = opaque;
    w->used = true;
    rc = request(XS_WATCH, part, part_len, 2);
    if (rc)
        w->used = false;
    return rc;
}

int xenbus_unwatch(const char *path, const char *token)
{
    const void *part[] = { path, token };
    size_t part_len[] = { str_len(path) + 1, str_len(token) + 1 };

    for (unsigned int i = 0; i < XENBUS_MAX_WATCHES; i++)
        if (watches[i].used && str_eq(watches[i].token, token))
            watches[i].used = false;
    return request(XS_UNWATCH, part, part_len, 2);
}

int xenbus_poll(void)
{
    int ran = 0, rc;

    if ((rc = acquire()))
        return rc;
    rc = rx_pump();
    busy = false;
    if (rc) {
        broken = true;
        return rc;
    }
    while (ev_len > 0) {
        struct event e = events[ev_head];

        ev_head = (ev_head + 1) % XENBUS_MAX_EVENTS;
        ev_len--;
        for (unsigned int i = 0; i < XENBUS_MAX_WATCHES; i++) {
            if (watches[i].used && str_eq(watches[i].token, e.token)) {
                watches[i].cb(e.path, e.token, watches[i].opaque);
                ran++;
                break;
            }
        }
    }
    return ran;
}

/* ---- raw access (robustness tests) ----------------------------------------- */

long xenbus_raw_write(const void *data, size_t n, uint64_t timeout_ns)
{
    const char *p = data;
    uint64_t deadline = now_ns() + timeout_ns;
    size_t done = 0;

    if (!ring)
        return -XEN_ENODEV;
    broken = true;                      /* the framing is the caller's now */
    while (done < n) {
        XENSTORE_RING_IDX cons = ring->req_cons, prod = ring->req_prod;
        XENSTORE_RING_IDX used = prod - cons;

        xen_mb();
        if (used >= XENSTORE_RING_SIZE) {   /* full, or indexes the server broke */
            (void)pv_evtchn_send(ring_port);
            if (now_ns() >= deadline)
                break;
            do_wait();
            continue;
        }
        while (done < n && used < XENSTORE_RING_SIZE) {
            ring->req[MASK_XENSTORE_IDX(prod)] = p[done++];
            prod++;
            used++;
        }
        xen_wmb();
        ring->req_prod = prod;
        (void)pv_evtchn_send(ring_port);
    }
    return (long)done;
}

long xenbus_raw_drain(uint64_t quiet_ns, uint64_t timeout_ns)
{
    uint64_t start = now_ns(), last = start;
    long dropped = 0;

    if (!ring)
        return -XEN_ENODEV;
    broken = true;
    for (;;) {
        XENSTORE_RING_IDX cons = ring->rsp_cons, prod = ring->rsp_prod;
        uint64_t t = now_ns();

        xen_rmb();
        if ((XENSTORE_RING_IDX)(prod - cons) > XENSTORE_RING_SIZE)
            return -XEN_EIO;
        if (prod != cons) {
            dropped += (long)(XENSTORE_RING_IDX)(prod - cons);
            xen_mb();
            ring->rsp_cons = prod;
            (void)pv_evtchn_send(ring_port);
            last = t;
        }
        if (t - last >= quiet_ns || t - start >= timeout_ns)
            break;
        do_wait();
    }
    return dropped;
}

uint32_t xenbus_ring_error(void)
{
    return ring ? ring->error : 0;
}

/* ---- helpers for front-end drivers ------------------------------------------ */

void xenbus_path_join(char *d, size_t n, const char *a, const char *b)
{
    size_t i = 0;

    for (; *a && i + 1 < n; a++)
        d[i++] = *a;
    for (; b && *b && i + 1 < n; b++)
        d[i++] = *b;
    d[i] = 0;
}

void xenbus_utoa(char *d, uint64_t v)
{
    char t[24];
    int i = 0, j = 0;

    do {
        t[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        d[j++] = t[--i];
    d[j] = 0;
}

uint64_t xenbus_now_ns(void)
{
    return now_ns();
}

enum xenbus_state xenbus_wait_state(const char *dir, unsigned int mask, uint64_t deadline_ns,
                                    void (*wait)(void *opaque, uint64_t ns), void *opaque)
{
    for (;;) {
        enum xenbus_state s = xenbus_read_state(dir);

        if (mask & (1u << s))
            return s;
        if (now_ns() >= deadline_ns)
            return XenbusStateUnknown;
        wait(opaque, 10000000ULL);
    }
}
