/*
 * consback.c - console back-end in dom0: consumes a domU's console ring
 * `out` into a history buffer and a sink, produces console input into
 * `in` (io/console.h).
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV),
 * thread context; cons_event() runs in the event upcall and only sets a
 * flag.  Ring discipline: read the producer index, read barrier, read the
 * bytes, full barrier, publish the consumer index; as producer, write the
 * bytes, write barrier, publish the producer index.
 */
#include "consback.h"
#include "kernel.h"

#include <pv/evtchn.h>

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE  sizeof(((struct xencons_interface *)0)->in)

struct consback {
    xc_interface *xch;
    uint32_t domid;
    volatile struct xencons_interface *intf;
    evtchn_port_t port;             /* our end */
    volatile bool pending;          /* the guest notified */
    consback_sink_fn sink;
    void *sink_opaque;
    uint64_t bytes;                 /* received in total */
    uint64_t resyncs;               /* broken-ring recoveries */
    char hist[CONSBACK_HISTORY];
    size_t hist_head;               /* next byte goes here */
    size_t hist_len;
    char tmp[OUT_SIZE];             /* one poll's worth, copied out */
    /* Output held for a checkpoint (consback_hold): held[0..held_len),
     * epoch k's output ends at marks[i].len for the mark with epoch k. */
    char *held;
    size_t held_len;
    struct { uint64_t epoch; size_t len; } marks[CONSBACK_MARKS];
    unsigned int nr_marks;
};

static void cons_event(evtchn_port_t port, void *data)
{
    struct consback *c = data;

    (void)port;
    c->pending = true;
}

struct consback *consback_attach(xc_interface *xch, uint32_t domid, uint64_t ring_mfn,
                                 uint32_t remote_port)
{
    struct consback *c = kzalloc(sizeof(*c));
    int rc;

    if (!c) {
        errno = XEN_ENOMEM;
        return NULL;
    }
    c->xch = xch;
    c->domid = domid;
    c->intf = xc_map_foreign_range(xch, domid, XC_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                   (unsigned long)ring_mfn);
    if (!c->intf) {
        kfree(c);
        return NULL;                /* errno from the mapping */
    }
    rc = pv_evtchn_bind_interdomain((domid_t)domid, remote_port, &c->port);
    if (rc == 0)
        rc = pv_evtchn_set_handler(c->port, cons_event, c);
    if (rc) {
        if (c->port)
            (void)pv_evtchn_close(c->port);
        (void)xc_unmap_foreign(xch, (void *)c->intf, XC_PAGE_SIZE);
        kfree(c);
        errno = -rc;
        return NULL;
    }
    c->pending = true;              /* pick up what is already there */
    pv_evtchn_unmask(c->port);
    return c;
}

void consback_detach(struct consback *c)
{
    if (!c)
        return;
    pv_evtchn_mask(c->port);
    kfree(c->held);                 /* never acknowledged: never shown */
    (void)pv_evtchn_set_handler(c->port, NULL, NULL);
    (void)pv_evtchn_close(c->port);
    (void)xc_unmap_foreign(c->xch, (void *)c->intf, XC_PAGE_SIZE);
    kfree(c);
}

static void hist_append(struct consback *c, const char *buf, size_t n)
{
    if (n >= CONSBACK_HISTORY) {
        buf += n - CONSBACK_HISTORY;
        n = CONSBACK_HISTORY;
    }
    for (size_t i = 0; i < n; i++) {
        c->hist[c->hist_head] = buf[i];
        c->hist_head = (c->hist_head + 1) % CONSBACK_HISTORY;
    }
    c->hist_len += n;
    if (c->hist_len > CONSBACK_HISTORY)
        c->hist_len = CONSBACK_HISTORY;
}

/* Output leaves: into the history and to the sink. */
static void deliver(struct consback *c, const char *buf, size_t n)
{
    hist_append(c, buf, n);
    if (c->sink)
        c->sink(c->sink_opaque, c->domid, buf, n);
}

size_t consback_poll(struct consback *c)
{
    volatile struct xencons_interface *r = c->intf;
    XENCONS_RING_IDX cons, prod, avail;
    size_t n = 0;

    c->pending = false;
    cons = r->out_cons;
    prod = r->out_prod;
    xen_rmb();                      /* bytes after the producer index */
    avail = prod - cons;
    if (avail > OUT_SIZE) {         /* guest broke the ring: drop it all */
        c->resyncs++;
        xen_mb();
        r->out_cons = prod;
        (void)pv_evtchn_send(c->port);
        return 0;
    }
    if (c->held && avail > CONSBACK_HOLD_MAX - c->held_len)
        avail = (XENCONS_RING_IDX)(CONSBACK_HOLD_MAX - c->held_len);  /* the guest waits */
    while (n < avail) {
        c->tmp[n++] = r->out[MASK_XENCONS_IDX(cons, r->out)];
        cons++;
    }
    if (n == 0)
        return 0;
    xen_mb();                       /* bytes read before the space is freed */
    r->out_cons = cons;
    (void)pv_evtchn_send(c->port);
    c->bytes += n;
    if (c->held) {
        memcpy(c->held + c->held_len, c->tmp, n);
        c->held_len += n;
    } else {
        deliver(c, c->tmp, n);
    }
    return n;
}

int consback_hold(struct consback *c, bool on)
{
    if (on && !c->held) {
        if (!(c->held = kmalloc(CONSBACK_HOLD_MAX)))
            return -XEN_ENOMEM;
        c->held_len = 0;
        c->nr_marks = 0;
    } else if (!on && c->held) {
        deliver(c, c->held, c->held_len);
        kfree(c->held);
        c->held = NULL;
        c->held_len = 0;
        c->nr_marks = 0;
    }
    return 0;
}

void consback_mark(struct consback *c, uint64_t epoch)
{
    if (!c->held)
        return;
    if (c->nr_marks == CONSBACK_MARKS)
        c->nr_marks--;              /* the newest mark moves on: released later */
    c->marks[c->nr_marks].epoch = epoch;
    c->marks[c->nr_marks].len = c->held_len;
    c->nr_marks++;
}

size_t consback_release(struct consback *c, uint64_t epoch)
{
    unsigned int k = 0;

    if (!c->held)
        return 0;
    while (k < c->nr_marks && c->marks[k].epoch <= epoch)
        k++;
    if (k == 0)
        return 0;
    size_t n = c->marks[k - 1].len;
    deliver(c, c->held, n);
    memmove(c->held, c->held + n, c->held_len - n);
    c->held_len -= n;
    for (unsigned int i = k; i < c->nr_marks; i++) {
        c->marks[i - k].epoch = c->marks[i].epoch;
        c->marks[i - k].len = c->marks[i].len - n;
    }
    c->nr_marks -= k;
    if (n)
        c->pending = true;          /* room again: the guest may be waiting */
    return n;
}

size_t consback_write_input(struct consback *c, const void *buf, size_t n)
{
    volatile struct xencons_interface *r = c->intf;
    const char *p = buf;
    XENCONS_RING_IDX cons = r->in_cons, prod = r->in_prod;
    XENCONS_RING_IDX used = prod - cons;
    size_t done = 0;

    xen_mb();                       /* consumer index before our writes */
    if (used > IN_SIZE)
        return 0;                   /* guest broke the ring */
    while (done < n && used < IN_SIZE) {
        r->in[MASK_XENCONS_IDX(prod, r->in)] = p[done++];
        prod++;
        used++;
    }
    if (done == 0)
        return 0;
    xen_wmb();                      /* bytes before the producer index */
    r->in_prod = prod;
    (void)pv_evtchn_send(c->port);
    return done;
}

size_t consback_history(struct consback *c, char *buf, size_t n)
{
    size_t take = n < c->hist_len ? n : c->hist_len;
    size_t start = (c->hist_head + CONSBACK_HISTORY - take) % CONSBACK_HISTORY;

    for (size_t i = 0; i < take; i++)
        buf[i] = c->hist[(start + i) % CONSBACK_HISTORY];
    return take;
}

void consback_set_sink(struct consback *c, consback_sink_fn sink, void *opaque)
{
    c->sink_opaque = opaque;
    c->sink = sink;
}

uint64_t consback_bytes(const struct consback *c)
{
    return c->bytes;
}

bool consback_pending(const struct consback *c)
{
    return c->pending;
}
