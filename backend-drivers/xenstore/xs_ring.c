/*
 * xs_ring.c - xenstored's transport over one domain's xenstore ring page
 * (struct xenstore_domain_interface, Xen's io/xs_wire.h), with the
 * io/ring.h discipline: the guest produces requests into req and dom0
 * responses into rsp; indexes are free-running, masked with
 * MASK_XENSTORE_IDX.
 *
 * Runs in dom0 (freestanding) and on the host (unit tests).  The page is
 * shared with a guest that may write anything at any time: every index is
 * read once and checked.
 */
#include "xs_priv.h"

#define XS_HDR_SIZE ((uint32_t)sizeof(struct xsd_sockmsg))
/* Bounded work per call: ring chunks copied in one direction. */
#define XS_RING_MAX_CHUNKS (4 * XS_RING_BATCH + 8)

static XENSTORE_RING_IDX ring_get(const XENSTORE_RING_IDX *p)
{
    return *(const volatile XENSTORE_RING_IDX *)p;
}

static void ring_set(XENSTORE_RING_IDX *p, XENSTORE_RING_IDX v)
{
    *(volatile XENSTORE_RING_IDX *)p = v;
}

static void ring_break(struct xs_conn *c, struct xenstore_domain_interface *intf, uint32_t why)
{
    c->broken = true;
    *(volatile uint32_t *)&intf->error = why;
}

/* Copies queued output into rsp; returns 1 when rsp_prod moved. */
static int ring_flush(struct xs_conn *c, struct xenstore_domain_interface *intf)
{
    int moved = 0, chunks = 0;

    while (c->out_head && chunks++ < XS_RING_MAX_CHUNKS) {
        struct xs_outmsg *m = c->out_head;
        XENSTORE_RING_IDX cons = ring_get(&intf->rsp_cons);
        XENSTORE_RING_IDX prod = ring_get(&intf->rsp_prod);
        uint32_t space, chunk, off;

        xen_mb();               /* indexes before we write the data */
        if ((XENSTORE_RING_IDX)(prod - cons) > XENSTORE_RING_SIZE) {
            ring_break(c, intf, XENSTORE_ERROR_RINGIDX);
            break;
        }
        space = XENSTORE_RING_SIZE - (prod - cons);
        if (!space)
            break;
        off = MASK_XENSTORE_IDX(prod);
        chunk = m->len - c->out_off;
        if (chunk > space)
            chunk = space;
        if (chunk > XENSTORE_RING_SIZE - off)
            chunk = XENSTORE_RING_SIZE - off;
        memcpy(intf->rsp + off, m->data + c->out_off, chunk);
        xen_wmb();              /* data before the index */
        ring_set(&intf->rsp_prod, prod + chunk);
        moved = 1;
        c->out_off += chunk;
        if (c->out_off == m->len) {
            c->out_head = m->next;
            if (!c->out_head)
                c->out_tail = NULL;
            c->out_bytes -= m->len;
            c->out_off = 0;
            xs_free(m);
        }
    }
    return moved;
}

/* Consumes request bytes; hands each complete request to xs_conn_input.
 * Returns 1 when req_cons moved. */
static int ring_consume(struct xs_conn *c, struct xenstore_domain_interface *intf)
{
    int moved = 0, msgs = 0, chunks = 0;

    while (!c->broken && msgs < XS_RING_BATCH && chunks++ < XS_RING_MAX_CHUNKS &&
           c->out_bytes < c->s->q.max_output) {
        XENSTORE_RING_IDX cons = ring_get(&intf->req_cons);
        XENSTORE_RING_IDX prod = ring_get(&intf->req_prod);
        uint32_t avail, off, want, chunk;
        char *dst;

        xen_rmb();              /* the index before the data */
        avail = prod - cons;
        if (avail > XENSTORE_RING_SIZE) {
            ring_break(c, intf, XENSTORE_ERROR_RINGIDX);
            break;
        }
        if (!avail)
            break;
        if (c->in_got < XS_HDR_SIZE) {
            dst = (char *)&c->in_hdr + c->in_got;
            want = XS_HDR_SIZE - c->in_got;
        } else {
            dst = c->in_body + (c->in_got - XS_HDR_SIZE);
            want = XS_HDR_SIZE + c->in_hdr.len - c->in_got;
        }
        off = MASK_XENSTORE_IDX(cons);
        chunk = want < avail ? want : avail;
        if (chunk > XENSTORE_RING_SIZE - off)
            chunk = XENSTORE_RING_SIZE - off;
        memcpy(dst, intf->req + off, chunk);
        xen_mb();               /* data read before the slot is given back */
        ring_set(&intf->req_cons, cons + chunk);
        moved = 1;
        c->in_got += chunk;

        if (c->in_got == XS_HDR_SIZE) {
            if (c->in_hdr.len > XENSTORE_PAYLOAD_MAX) {
                /* Undecodable: answer E2BIG, then drop the ring. */
                (void)xs_conn_input(c, &c->in_hdr, NULL);
                ring_break(c, intf, XENSTORE_ERROR_PROTO);
                break;
            }
            c->in_body = xs_malloc(c->in_hdr.len + 1);
            if (!c->in_body) {
                ring_break(c, intf, XENSTORE_ERROR_COMM);
                break;
            }
        }
        if (c->in_got == XS_HDR_SIZE + c->in_hdr.len) {
            (void)xs_conn_input(c, &c->in_hdr, c->in_body);
            xs_free(c->in_body);
            c->in_body = NULL;
            c->in_got = 0;
            msgs++;
        }
    }
    return moved;
}

int xs_ring_service(struct xs_conn *c, struct xenstore_domain_interface *intf)
{
    int notify;

    if (c->broken)
        return 0;
    notify = ring_flush(c, intf);
    notify |= ring_consume(c, intf);
    notify |= ring_flush(c, intf);
    return notify;
}

bool xs_conn_broken(const struct xs_conn *c)
{
    return c->broken;
}

size_t xs_conn_queued(const struct xs_conn *c)
{
    return c->out_bytes;
}
