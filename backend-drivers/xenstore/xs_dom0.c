/*
 * xs_dom0.c - dom0's xenstore ring connections: one xs_conn per domain,
 * fed from and answered into the domain's xenstore_domain_interface page.
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV),
 * thread context; store_event() runs in the event upcall and only sets a
 * flag.  The ring protocol itself (indexes, reassembly, quotas) is the
 * xenstored core's (xs_ring_service).
 */
#include "xs_dom0.h"
#include "kernel.h"

#include <pv/evtchn.h>

struct xs_dom {
    bool used;
    uint32_t domid;
    xc_interface *xch;
    struct xenstore_domain_interface *intf;
    evtchn_port_t port;                 /* our end */
    struct xs_conn *conn;
    volatile bool pending;              /* the domain notified */
};

static struct xs_store *store;
static struct xs_dom doms[XS_DOM0_MAX_DOMAINS];

static void store_event(evtchn_port_t port, void *data)
{
    struct xs_dom *d = data;

    (void)port;
    d->pending = true;
}

int xs_dom0_init(struct xs_store *s)
{
    if (!s)
        return -XEN_EINVAL;
    store = s;
    return 0;
}

struct xs_store *xs_dom0_store(void)
{
    return store;
}

static struct xs_dom *dom_find(uint32_t domid)
{
    for (unsigned int i = 0; i < XS_DOM0_MAX_DOMAINS; i++)
        if (doms[i].used && doms[i].domid == domid)
            return &doms[i];
    return NULL;
}

int xs_dom0_add_domain(xc_interface *xch, uint32_t domid, uint64_t store_mfn,
                       uint32_t remote_port)
{
    struct xs_dom *d = NULL;
    int rc;

    if (!store || domid == 0 || domid >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    if (dom_find(domid))
        return -XEN_EEXIST;
    for (unsigned int i = 0; i < XS_DOM0_MAX_DOMAINS && !d; i++)
        if (!doms[i].used)
            d = &doms[i];
    if (!d)
        return -XEN_ENOSPC;

    memset(d, 0, sizeof(*d));
    d->domid = domid;
    d->xch = xch;
    d->intf = xc_map_foreign_range(xch, domid, XC_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                   (unsigned long)store_mfn);
    if (!d->intf)
        return errno ? -errno : -XEN_EFAULT;
    rc = pv_evtchn_bind_interdomain((domid_t)domid, remote_port, &d->port);
    if (rc)
        goto unmap;
    rc = pv_evtchn_set_handler(d->port, store_event, d);
    if (rc)
        goto close;
    d->conn = xs_conn_new(store, domid, NULL, NULL);
    if (!d->conn) {
        rc = -XEN_ENOMEM;
        goto unhandle;
    }
    rc = xs_introduce_domain(store, domid);
    if (rc)
        goto free_conn;
    d->used = true;
    d->pending = true;                  /* serve what is already queued */
    pv_evtchn_unmask(d->port);
    return 0;

free_conn:
    xs_conn_free(d->conn);
unhandle:
    (void)pv_evtchn_set_handler(d->port, NULL, NULL);
close:
    (void)pv_evtchn_close(d->port);
unmap:
    (void)xc_unmap_foreign(xch, d->intf, XC_PAGE_SIZE);
    memset(d, 0, sizeof(*d));
    return rc;
}

void xs_dom0_remove_domain(uint32_t domid)
{
    struct xs_dom *d = dom_find(domid);

    if (!d)
        return;
    pv_evtchn_mask(d->port);
    (void)pv_evtchn_set_handler(d->port, NULL, NULL);
    (void)pv_evtchn_close(d->port);
    (void)xs_release_domain(store, domid);
    xs_conn_free(d->conn);
    (void)xc_unmap_foreign(d->xch, d->intf, XC_PAGE_SIZE);
    memset(d, 0, sizeof(*d));
}

void xs_dom0_poll(void)
{
    for (unsigned int i = 0; i < XS_DOM0_MAX_DOMAINS; i++) {
        struct xs_dom *d = &doms[i];

        if (!d->used || xs_conn_broken(d->conn))
            continue;
        /* Serviced every round, not only on an event: queued output and
         * a lost notification both get another chance. */
        d->pending = false;
        if (xs_ring_service(d->conn, d->intf))
            (void)pv_evtchn_send(d->port);
    }
}
