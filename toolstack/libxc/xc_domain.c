/*
 * xc_domain.c - libxenctrl subset: domain control (domctl), system control
 * (sysctl), populate_physmap, event channels and HVM params on behalf of
 * other domains (docs/toolstack.md sections 1 and 2).
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV).  Each
 * call is one or a few hypercalls with a structure on the kernel stack; the
 * hypervisor copies it in and out.  Errors: -1 with the positive Xen errno
 * in `errno`, as libxenctrl does.
 */
#include "xenctrl.h"
#include "kernel.h"
#include <lamina/sysctl_ext.h>
#include <pv/hypercall.h>

int errno;

/* The one handle xc_interface_open gives out; its contents do not matter. */
struct xc_interface_core { int open; };
static struct xc_interface_core xc_handle;

/* Hypercall result -> libxc convention: >= 0 passes through, negative Xen
 * errno becomes -1 with errno set. */
static int xc_result(long rc)
{
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return (int)rc;
}

static int do_domctl(struct xen_domctl *d)
{
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return xc_result(HYPERVISOR_domctl(d));
}

static int do_sysctl(struct xen_sysctl *s)
{
    s->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    return xc_result(HYPERVISOR_sysctl(s));
}

/* ---- handle --------------------------------------------------------------- */

xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    xc_physinfo_t pi;

    /* Probe: sysctl answers -EPERM to an unprivileged domain. */
    if (xc_physinfo(&xc_handle, &pi))
        return NULL;
    xc_handle.open++;
    return &xc_handle;
}

int xc_interface_close(xc_interface *xch)
{
    if (xch && xch->open)
        xch->open--;
    return 0;
}

/* ---- domains ---------------------------------------------------------------- */

int xc_domain_create(xc_interface *xch, uint32_t *pdomid,
                     struct xen_domctl_createdomain *config)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_createdomain, .domain = (domid_t)*pdomid };

    d.u.createdomain = *config;
    if (do_domctl(&d) < 0)
        return -1;
    *pdomid = d.domain;
    *config = d.u.createdomain;
    return 0;
}

static int domctl_simple(uint32_t cmd, uint32_t domid)
{
    struct xen_domctl d = { .cmd = cmd, .domain = (domid_t)domid };

    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    return domctl_simple(XEN_DOMCTL_pausedomain, domid);
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    return domctl_simple(XEN_DOMCTL_unpausedomain, domid);
}

int xc_domain_destroy(xc_interface *xch, uint32_t domid)
{
    return domctl_simple(XEN_DOMCTL_destroydomain, domid);
}

/* Decodes one getdomaininfo record the way libxc does. */
static void dominfo_decode(const xen_domctl_getdomaininfo_t *g, xc_dominfo_t *i)
{
    memset(i, 0, sizeof(*i));
    i->domid = g->domain;
    i->ssidref = g->ssidref;
    i->dying = !!(g->flags & XEN_DOMINF_dying);
    i->shutdown = !!(g->flags & XEN_DOMINF_shutdown);
    i->paused = !!(g->flags & XEN_DOMINF_paused);
    i->blocked = !!(g->flags & XEN_DOMINF_blocked);
    i->running = !!(g->flags & XEN_DOMINF_running);
    i->hvm = !!(g->flags & XEN_DOMINF_hvm_guest);
    i->debugged = !!(g->flags & XEN_DOMINF_debugged);
    i->xenstore = !!(g->flags & XEN_DOMINF_xs_domain);
    i->hap = !!(g->flags & XEN_DOMINF_hap);
    i->shutdown_reason = (g->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
    if (i->shutdown && i->shutdown_reason == SHUTDOWN_crash) {
        i->shutdown = 0;
        i->crashed = 1;
    }
    i->nr_pages = g->tot_pages;
    i->nr_outstanding_pages = g->outstanding_pages;
    i->nr_shared_pages = g->shr_pages;
    i->nr_paged_pages = g->paged_pages;
    i->max_memkb = g->max_pages << (XC_PAGE_SHIFT - 10);
    i->shared_info_frame = g->shared_info_frame;
    i->cpu_time = g->cpu_time;
    i->nr_online_vcpus = g->nr_online_vcpus;
    i->max_vcpu_id = g->max_vcpu_id;
    memcpy(i->handle, g->handle, sizeof(i->handle));
    i->cpupool = g->cpupool;
    i->gpaddr_bits = g->gpaddr_bits;
    i->arch_config = g->arch_config;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                      unsigned int max_doms, xc_dominfo_t *info)
{
    uint32_t next = first_domid;
    unsigned int n;

    for (n = 0; n < max_doms && next < DOMID_FIRST_RESERVED; n++) {
        struct xen_domctl d = { .cmd = XEN_DOMCTL_getdomaininfo, .domain = (domid_t)next };

        if (do_domctl(&d) < 0) {
            if (n == 0 && errno != XEN_ESRCH)
                return -1;
            break;
        }
        dominfo_decode(&d.u.getdomaininfo, &info[n]);
        next = (uint32_t)d.u.getdomaininfo.domain + 1;
    }
    return (int)n;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_domaininfo_t *info)
{
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_getdomaininfolist };

    s.u.getdomaininfolist.first_domain = (domid_t)first_domain;
    s.u.getdomaininfolist.max_domains = max_domains;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, info);
    if (do_sysctl(&s) < 0)
        return -1;
    return (int)s.u.getdomaininfolist.num_domains;
}

int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t max_memkb)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_max_mem, .domain = (domid_t)domid };

    d.u.max_mem.max_memkb = max_memkb;
    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_domain_max_vcpus(xc_interface *xch, uint32_t domid, unsigned int max)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_max_vcpus, .domain = (domid_t)domid };

    d.u.max_vcpus.max = max;
    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_domain_sethandle(xc_interface *xch, uint32_t domid, xen_domain_handle_t handle)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_setdomainhandle, .domain = (domid_t)domid };

    memcpy(d.u.setdomainhandle.handle, handle, sizeof(xen_domain_handle_t));
    return do_domctl(&d) < 0 ? -1 : 0;
}

/* Extents per XENMEM_populate_physmap call: the hypervisor need not
 * support continuations. */
#define POPULATE_BATCH 512

/* XENMEM op on all nr extents of list, in batches: 0, or -1 with errno
 * (EBUSY when the hypervisor did only part). */
static int memop_exact(unsigned int op, uint32_t domid, unsigned long nr,
                       unsigned int extent_order, unsigned int mem_flags, xen_pfn_t *list)
{
    for (unsigned long done = 0; done < nr;) {
        unsigned long n = nr - done < POPULATE_BATCH ? nr - done : POPULATE_BATCH;
        struct xen_memory_reservation r = {
            .nr_extents = n,
            .extent_order = extent_order,
            .mem_flags = mem_flags,
            .domid = (domid_t)domid,
        };
        long rc;

        set_xen_guest_handle(r.extent_start, list + done);
        rc = HYPERVISOR_memory_op(op, &r);
        if (rc < 0)
            return xc_result(rc);
        if ((unsigned long)rc != n) {
            errno = XEN_EBUSY;
            return -1;
        }
        done += n;
    }
    return 0;
}

int xc_domain_decrease_reservation_exact(xc_interface *xch, uint32_t domid,
                                         unsigned long nr, xen_pfn_t *mfns)
{
    (void)xch;
    return memop_exact(XENMEM_decrease_reservation, domid, nr, 0, 0, mfns);
}

int xc_domain_populate_physmap_exact(xc_interface *xch, uint32_t domid,
                                     unsigned long nr_extents,
                                     unsigned int extent_order,
                                     unsigned int mem_flags,
                                     xen_pfn_t *extent_start)
{
    (void)xch;
    return memop_exact(XENMEM_populate_physmap, domid, nr_extents, extent_order, mem_flags,
                       extent_start);
}

static int vcpucontext(uint32_t cmd, uint32_t domid, uint32_t vcpu,
                       vcpu_guest_context_any_t *ctxt)
{
    struct xen_domctl d = { .cmd = cmd, .domain = (domid_t)domid };

    d.u.vcpucontext.vcpu = vcpu;
    set_xen_guest_handle(d.u.vcpucontext.ctxt, &ctxt->c);
    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       vcpu_guest_context_any_t *ctxt)
{
    return vcpucontext(XEN_DOMCTL_setvcpucontext, domid, vcpu, ctxt);
}

int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       vcpu_guest_context_any_t *ctxt)
{
    return vcpucontext(XEN_DOMCTL_getvcpucontext, domid, vcpu, ctxt);
}

int xc_domain_hypercall_init(xc_interface *xch, uint32_t domid, unsigned long gmfn)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_hypercall_init, .domain = (domid_t)domid };

    d.u.hypercall_init.gmfn = gmfn;
    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_mmuext_op(xc_interface *xch, struct mmuext_op *op, unsigned int nr_ops,
                 uint32_t dom)
{
    return xc_result(HYPERVISOR_mmuext_op(op, nr_ops, NULL, (domid_t)dom)) < 0 ? -1 : 0;
}

/* ---- event channels, console log, physinfo, HVM params ---------------------- */

int xc_domain_resume_cooperative(xc_interface *xch, uint32_t domid)
{
    return domctl_simple(XEN_DOMCTL_resumedomain, domid);
}

int xc_get_pfn_type_batch(xc_interface *xch, uint32_t domid, unsigned int num,
                          xen_pfn_t *arr)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_getpageframeinfo3, .domain = (domid_t)domid };

    d.u.getpageframeinfo3.num = num;
    set_xen_guest_handle(d.u.getpageframeinfo3.array, arr);
    return do_domctl(&d) < 0 ? -1 : 0;
}

int xc_shadow_control(xc_interface *xch, uint32_t domid, unsigned int sop,
                      unsigned long *dirty_bitmap, unsigned long pages,
                      struct xen_domctl_shadow_op_stats *stats)
{
    struct xen_domctl d = { .cmd = XEN_DOMCTL_shadow_op, .domain = (domid_t)domid };

    d.u.shadow_op.op = sop;
    d.u.shadow_op.pages = pages;
    set_xen_guest_handle(d.u.shadow_op.dirty_bitmap, (uint8_t *)dirty_bitmap);
    if (do_domctl(&d) < 0)
        return -1;
    if (stats)
        *stats = d.u.shadow_op.stats;
    return (int)d.u.shadow_op.pages;
}

int xc_evtchn_status(xc_interface *xch, uint32_t dom, uint32_t port, struct evtchn_status *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = (domid_t)dom;
    st->port = port;
    return xc_result(HYPERVISOR_event_channel_op(EVTCHNOP_status, st)) < 0 ? -1 : 0;
}

int xc_gnttab_query_size(xc_interface *xch, uint32_t dom, uint32_t *nr_frames,
                         uint32_t *max_frames)
{
    struct gnttab_query_size q = { .dom = (domid_t)dom };

    if (xc_result(HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1)) < 0)
        return -1;
    if (q.status != GNTST_okay) {
        errno = XEN_EINVAL;
        return -1;
    }
    *nr_frames = q.nr_frames;
    *max_frames = q.max_nr_frames;
    return 0;
}

int xc_evtchn_alloc_unbound(xc_interface *xch, uint32_t dom, uint32_t remote_dom)
{
    struct evtchn_alloc_unbound a = { .dom = (domid_t)dom, .remote_dom = (domid_t)remote_dom };

    if (xc_result(HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a)) < 0)
        return -1;
    return (int)a.port;
}

int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars,
                       int clear, int incremental, uint32_t *pindex)
{
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_readconsole };

    s.u.readconsole.clear = !!clear;
    if (pindex) {
        s.u.readconsole.index = *pindex;
        s.u.readconsole.incremental = !!incremental;
    }
    set_xen_guest_handle(s.u.readconsole.buffer, buffer);
    s.u.readconsole.count = *pnr_chars;
    if (do_sysctl(&s) < 0)
        return -1;
    *pnr_chars = s.u.readconsole.count;
    if (pindex)
        *pindex = s.u.readconsole.index;
    return 0;
}

int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    struct xen_sysctl s = { .cmd = XEN_SYSCTL_physinfo };

    if (do_sysctl(&s) < 0)
        return -1;
    *info = s.u.physinfo;
    return 0;
}

int xc_lamina_counters(xc_interface *xch, struct lamina_sysctl_counters *c)
{
    struct xen_sysctl s = { .cmd = LAMINA_SYSCTL_counters };

    if (do_sysctl(&s) < 0)
        return -1;
    memcpy(c, &s.u, sizeof(*c));
    return 0;
}

int xc_set_hvm_param(xc_interface *xch, uint32_t dom, int param, unsigned long value)
{
    struct xen_hvm_param a = { .domid = (domid_t)dom, .index = (uint32_t)param, .value = value };

    return xc_result(HYPERVISOR_hvm_op(HVMOP_set_param, &a)) < 0 ? -1 : 0;
}

int xc_get_hvm_param(xc_interface *xch, uint32_t dom, int param, unsigned long *value)
{
    struct xen_hvm_param a = { .domid = (domid_t)dom, .index = (uint32_t)param };

    if (xc_result(HYPERVISOR_hvm_op(HVMOP_get_param, &a)) < 0)
        return -1;
    *value = a.value;
    return 0;
}
