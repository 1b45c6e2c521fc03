/*
 * domctl.c - XEN_DOMCTL_* (__HYPERVISOR_domctl, Xen public/domctl.h) and
 * HVMOP_set_param/get_param (__HYPERVISOR_hvm_op, public/hvm/hvm_op.h): the
 * control operations dom0's toolstack uses to create, start, pause, inspect
 * and destroy domains (docs/toolstack.md section 1).
 *
 * Runs in ring 0 with interrupts off, on behalf of the current vCPU, which
 * must be privileged (dom0).  The handlers copy in, check, act, copy out;
 * the work is done by the domctl_* functions below on hypervisor pointers,
 * which the host unit test (tests/unit/test_domctl.c) calls as well.
 */
#include "common/xen_tools.h"
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "pv/pv.h"
#include "unmod/unmod.h"
#include "common/guest_access.h"
#include "common/grant_table.h"

/* A vcpu_guest_context is 5 KiB: too big for the hypervisor stack.  The
 * hypervisor is not reentrant, so one buffer serves every call. */
static struct vcpu_guest_context ctxt_buf;

static bool caller_privileged(void)
{
    return current && current->domain->is_privileged;
}

int domctl_createdomain(domid_t *domid, const struct xen_domctl_createdomain *cfg)
{
    domid_t id = *domid;
    struct domain *d;

    if (cfg->max_vcpus != 1)
        return -XEN_EINVAL;
    if (cfg->flags & ~(XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap))
        return -XEN_EINVAL;
    if (id == 0) {
        id = domain_alloc_id();
        if (id == DOMID_INVALID)
            return -XEN_ENOMEM;
    } else if (id >= DOMID_FIRST_RESERVED) {
        return -XEN_EINVAL;
    } else if (domain_by_id(id)) {
        return -XEN_EEXIST;
    }
    d = domain_create(id, false, 0);
    if (!d)
        return -XEN_ENOMEM;
    d->is_toolstack = true;
    d->pause_count = 1;
    if (cfg->max_grant_frames != -1 || cfg->max_maptrack_frames != -1) {
        int rc;

        gnttab_destroy(d);
        if ((rc = gnttab_init(d, cfg->max_grant_frames, cfg->max_maptrack_frames))) {
            domain_destroy(d);
            return rc;
        }
    }
    memcpy(d->handle, cfg->handle, sizeof(d->handle));
    if ((cfg->flags & XEN_DOMCTL_CDF_hvm) && unmod_domain_create(d)) {
        domain_destroy(d);
        return -XEN_ENOMEM;
    }
    *domid = id;
    printk("d%u: created by the toolstack (%s), paused\n", id, d->vcpu_ops->name);
    return 0;
}

void domctl_getdomaininfo(struct domain *d, struct xen_domctl_getdomaininfo *info)
{
    uint64_t cpu_ns = 0;
    unsigned int online = 0;
    bool blocked = true, running = false;

    memset(info, 0, sizeof(*info));
    info->domain = d->domain_id;
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        cpu_ns += v->cpu_time_ns;
        if (v == current) {
            cpu_ns += NOW() - v->last_run_ns;
            running = true;
        }
        if (v->state != VCPU_DOWN)
            online++;
        if (v->state != VCPU_BLOCKED && v->state != VCPU_POLLING)
            blocked = false;
    }
    if (d->is_dying)
        info->flags |= XEN_DOMINF_dying;
    if (d->vcpu_ops->hvm_guest)
        info->flags |= XEN_DOMINF_hvm_guest;
    if (d->is_shutting_down)
        info->flags |= XEN_DOMINF_shutdown |
                       ((d->shutdown_code & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift);
    if (d->pause_count)
        info->flags |= XEN_DOMINF_paused;
    if (blocked && online)
        info->flags |= XEN_DOMINF_blocked;
    if (running)
        info->flags |= XEN_DOMINF_running;
    info->tot_pages = d->tot_pages;
    info->max_pages = d->max_pages;
    info->shared_info_frame = d->shared_info_mfn;
    info->cpu_time = cpu_ns;
    info->nr_online_vcpus = online;
    info->max_vcpu_id = d->max_vcpus - 1;
    memcpy(info->handle, d->handle, sizeof(info->handle));
    info->gpaddr_bits = 52;
}

struct domain *domctl_first_domain_from(unsigned int id)
{
    for (; id < DOMID_FIRST_RESERVED; id++) {
        struct domain *d = domain_lookup(id);

        if (d)
            return d;
    }
    return NULL;
}

int domctl_setvcpucontext(struct domain *d, const struct vcpu_guest_context *c)
{
    struct vcpu *v = d->vcpu[0];

    /* A suspended domain's vCPU may be rewritten before
     * XEN_DOMCTL_resumedomain (xc_domain_resume's "cancelled" result). */
    if (!v || (current && current->domain == d) ||
        (d->is_shutting_down && d->shutdown_code != SHUTDOWN_suspend))
        return -XEN_EINVAL;
    return d->vcpu_ops->set_vcpu_context(v, c);
}

void domctl_getvcpucontext(struct domain *d, struct vcpu_guest_context *c)
{
    struct vcpu *v = d->vcpu[0];
    const struct cpu_regs *r = v == current ? guest_frame : &v->regs;

    memset(c, 0, sizeof(*c));
    c->flags = (v->kernel_mode ? VGCF_in_kernel : 0) | (v->state != VCPU_DOWN ? VGCF_online : 0) |
               (v->syscall_disables_events ? VGCF_syscall_disables_events : 0);
    c->user_regs.r15 = r->r15; c->user_regs.r14 = r->r14; c->user_regs.r13 = r->r13;
    c->user_regs.r12 = r->r12; c->user_regs.rbp = r->rbp; c->user_regs.rbx = r->rbx;
    c->user_regs.r11 = r->r11; c->user_regs.r10 = r->r10; c->user_regs.r9 = r->r9;
    c->user_regs.r8 = r->r8; c->user_regs.rax = r->rax; c->user_regs.rcx = r->rcx;
    c->user_regs.rdx = r->rdx; c->user_regs.rsi = r->rsi; c->user_regs.rdi = r->rdi;
    c->user_regs.rip = r->rip;
    c->user_regs.cs = (uint16_t)r->cs;
    c->user_regs.rflags = r->rflags;
    c->user_regs.rsp = r->rsp;
    c->user_regs.ss = (uint16_t)r->ss;
    if (d->vcpu_ops->get_vcpu_context)
        d->vcpu_ops->get_vcpu_context(v, c);
}

int domctl_hypercall_init(struct domain *d, unsigned long mfn)
{
    if (!get_page(mfn, d))
        return -XEN_EINVAL;
    if (mfn_to_page(mfn)->count_info & PGC_xen_heap) {
        put_page(mfn);                  /* shared_info is not the domain's to fill */
        return -XEN_EINVAL;
    }
    write_hypercall_page(mfn_to_virt(mfn));
    put_page(mfn);
    return 0;
}

/*
 * XEN_DOMCTL_getpageframeinfo3 for one frame (Xen public/domctl.h): the
 * XEN_DOMCTL_PFINFO_* word the save code reads.  XTAB for a frame that is
 * not d's RAM (another domain's, free, device memory, the hypervisor's own
 * such as shared_info); LnTAB for a frame in use as an Ln page table (a
 * type reference held, or pinned), with LPINTAB when pinned; NOTAB else.
 */
uint32_t domctl_pageframe_type(struct domain *d, unsigned long mfn)
{
    static const uint32_t tab[] = {
        [PGT_l1_page_table >> 60] = XEN_DOMCTL_PFINFO_L1TAB,
        [PGT_l2_page_table >> 60] = XEN_DOMCTL_PFINFO_L2TAB,
        [PGT_l3_page_table >> 60] = XEN_DOMCTL_PFINFO_L3TAB,
        [PGT_l4_page_table >> 60] = XEN_DOMCTL_PFINFO_L4TAB,
    };
    const struct page_info *pg;
    unsigned long t;
    uint32_t type;

    if (!mfn_valid(mfn))
        return XEN_DOMCTL_PFINFO_XTAB;
    pg = mfn_to_page(mfn);
    if (pg->owner != d || (pg->count_info & (PGC_xen_heap | PGC_free)) ||
        !(pg->count_info & PGC_allocated))
        return XEN_DOMCTL_PFINFO_XTAB;
    t = pg->type_info;
    if (!(t & PGT_count_mask) && !(t & PGT_pinned))
        return XEN_DOMCTL_PFINFO_NOTAB;
    type = (t & PGT_type_mask) >> 60 < ARRAY_SIZE(tab) ? tab[(t & PGT_type_mask) >> 60] : 0;
    if (type && (t & PGT_pinned))
        type |= XEN_DOMCTL_PFINFO_LPINTAB;
    return type;
}

/* The op's work on a looked-up domain; *copyback set when dc must be
 * copied back to the caller. */
static long domctl_do(struct xen_domctl *dc, struct domain *d, bool *copyback)
{
    int rc;

    switch (dc->cmd) {
    case XEN_DOMCTL_destroydomain:
        if (current && current->domain == d)
            return -XEN_EINVAL;
        domain_destroy(d);
        return 0;
    case XEN_DOMCTL_pausedomain:
        return domain_pause_by_toolstack(d);
    case XEN_DOMCTL_resumedomain:
        return domain_resume(d);
    case XEN_DOMCTL_getpageframeinfo3: {
        static xen_pfn_t arr[1024];     /* Xen's batch limit; not reentrant */
        uint64_t num = dc->u.getpageframeinfo3.num;
        uint64_t h = (uint64_t)(uintptr_t)dc->u.getpageframeinfo3.array.p;

        if (num > ARRAY_SIZE(arr))
            return -XEN_E2BIG;
        if (copy_from_guest(arr, h, num * sizeof(arr[0])))
            return -XEN_EFAULT;
        for (uint64_t i = 0; i < num; i++)
            arr[i] = domctl_pageframe_type(d, arr[i]);
        return copy_to_guest(h, arr, num * sizeof(arr[0])) ? -XEN_EFAULT : 0;
    }
    case XEN_DOMCTL_shadow_op: {
        /* Log-dirty mode only (mm/mm.h): Lamina's PV domains have no
         * shadow allocation to get or set. */
        struct xen_domctl_shadow_op *so = &dc->u.shadow_op;
        if (current && current->domain == d)
            return -XEN_EINVAL;
        switch (so->op) {
        case XEN_DOMCTL_SHADOW_OP_OFF:
            paging_log_dirty_disable(d);
            return 0;
        case XEN_DOMCTL_SHADOW_OP_ENABLE:
            if (so->mode != XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY)
                return -XEN_EINVAL;
            /* fall through */
        case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
            return paging_log_dirty_enable(d);
        case XEN_DOMCTL_SHADOW_OP_CLEAN:
        case XEN_DOMCTL_SHADOW_OP_PEEK: {
            uint64_t pages = so->pages;
            gnttab_mark_dirty_mapped(d);
            rc = paging_log_dirty_op(d, so->op == XEN_DOMCTL_SHADOW_OP_CLEAN,
                                     (uint64_t)(uintptr_t)so->dirty_bitmap.p, &pages,
                                     &so->stats.fault_count, &so->stats.dirty_count);
            so->pages = pages;
            *copyback = true;
            return rc;
        }
        default:
            return -XEN_EINVAL;
        }
    }
    case XEN_DOMCTL_unpausedomain:
        return domain_unpause_by_toolstack(d);
    case XEN_DOMCTL_max_mem: {
        uint64_t pages = dc->u.max_mem.max_memkb >> (PAGE_SHIFT - 10);
        if (pages > max_mfn)
            return -XEN_EINVAL;
        d->max_pages = pages;
        return 0;
    }
    case XEN_DOMCTL_max_vcpus:
        return dc->u.max_vcpus.max == 1 ? 0 : -XEN_EINVAL;
    case XEN_DOMCTL_setdomainhandle:
        memcpy(d->handle, dc->u.setdomainhandle.handle, sizeof(d->handle));
        return 0;
    case XEN_DOMCTL_getvcpuinfo: {
        struct vcpu *v;
        if (dc->u.getvcpuinfo.vcpu >= d->max_vcpus || !(v = d->vcpu[dc->u.getvcpuinfo.vcpu]))
            return -XEN_ESRCH;
        dc->u.getvcpuinfo.online = v->state != VCPU_DOWN;
        dc->u.getvcpuinfo.blocked = v->state == VCPU_BLOCKED || v->state == VCPU_POLLING;
        dc->u.getvcpuinfo.running = v == current;
        dc->u.getvcpuinfo.cpu_time = v->cpu_time_ns + (v == current ? NOW() - v->last_run_ns : 0);
        dc->u.getvcpuinfo.cpu = 0;
        *copyback = true;
        return 0;
    }
    case XEN_DOMCTL_setvcpucontext:
        if (dc->u.vcpucontext.vcpu != 0)
            return -XEN_EINVAL;
        if (copy_from_guest(&ctxt_buf, (uint64_t)(uintptr_t)dc->u.vcpucontext.ctxt.p, sizeof(ctxt_buf)))
            return -XEN_EFAULT;
        return domctl_setvcpucontext(d, &ctxt_buf);
    case XEN_DOMCTL_getvcpucontext:
        if (dc->u.vcpucontext.vcpu != 0)
            return -XEN_EINVAL;
        domctl_getvcpucontext(d, &ctxt_buf);
        if (copy_to_guest((uint64_t)(uintptr_t)dc->u.vcpucontext.ctxt.p, &ctxt_buf, sizeof(ctxt_buf)))
            return -XEN_EFAULT;
        *copyback = true;
        return 0;
    case XEN_DOMCTL_hypercall_init:
        rc = domctl_hypercall_init(d, dc->u.hypercall_init.gmfn);
        return rc;
    default:
        return -XEN_ENOSYS;
    }
}

long do_domctl(uint64_t arg)
{
    static struct xen_domctl dc;        /* not reentrant: see ctxt_buf */
    bool copyback = false;
    struct domain *d;
    long rc;

    if (!caller_privileged())
        return -XEN_EPERM;
    if (copy_from_guest(&dc, arg, sizeof(dc)))
        return -XEN_EFAULT;
    if (dc.interface_version != XEN_DOMCTL_INTERFACE_VERSION)
        return -XEN_EACCES;

    switch (dc.cmd) {
    case XEN_DOMCTL_createdomain: {
        domid_t id = dc.domain;
        rc = domctl_createdomain(&id, &dc.u.createdomain);
        if (rc)
            return rc;
        dc.domain = id;
        if (copy_to_guest(arg, &dc, sizeof(dc)))
            return -XEN_EFAULT;
        return 0;
    }
    case XEN_DOMCTL_getdomaininfo:
        if (!(d = domctl_first_domain_from(dc.domain)))
            return -XEN_ESRCH;
        domctl_getdomaininfo(d, &dc.u.getdomaininfo);
        dc.domain = d->domain_id;
        return copy_to_guest(arg, &dc, sizeof(dc));
    default:
        break;
    }
    if (dc.domain == DOMID_SELF || !(d = domain_lookup(dc.domain)))
        return -XEN_ESRCH;
    rc = domctl_do(&dc, d, &copyback);
    if (!rc && copyback && copy_to_guest(arg, &dc, sizeof(dc)))
        return -XEN_EFAULT;
    return rc;
}

long do_hvm_op(unsigned long op, uint64_t arg)
{
    struct xen_hvm_param p;
    struct domain *d;
    int rc;

    if (!caller_privileged())
        return -XEN_EPERM;
    if (op != HVMOP_set_param && op != HVMOP_get_param)
        return -XEN_ENOSYS;
    if (copy_from_guest(&p, arg, sizeof(p)))
        return -XEN_EFAULT;
    if (p.domid == DOMID_SELF || !(d = domain_lookup(p.domid)))
        return -XEN_ESRCH;
    if (!d->vcpu_ops->hvm_param)
        return -XEN_EINVAL;
    rc = d->vcpu_ops->hvm_param(d, p.index, &p.value, op == HVMOP_set_param);
    if (rc)
        return rc;
    if (op == HVMOP_get_param && copy_to_guest(arg, &p, sizeof(p)))
        return -XEN_EFAULT;
    return 0;
}
