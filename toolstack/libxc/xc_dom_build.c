/*
 * xc_dom_build.c - dom0's domain builder (see xc_dom_build.h): the
 * libxenctrl side of building a PV or an unmodified domain around the
 * shared layout code in toolstack/builder.
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV), in a
 * kernel thread.  Guest frames are reached one at a time through the
 * foreign window (xc_map_foreign_range / xc_unmap_foreign); nothing stays
 * mapped when dom_build returns, so that destroying the domain frees every
 * frame.
 */
#include "xc_dom_build.h"
#include "kernel.h"
#include "pv_build.h"
#include "mb_build.h"

#define UNMOD_IMAGE_NAME "guest-native.elf"

static char build_error[160];

const char *dom_build_error(void)
{
    return build_error;
}

static int fail(int rc, const char *what, const char *why)
{
    ksnprintf(build_error, sizeof(build_error), "%s: %s (%d)", what, why ? why : "", rc);
    return rc;
}

/* Fails with the errno the last libxc call set. */
static int fail_xc(const char *what)
{
    int rc = -(errno ? errno : XEN_EINVAL);

    ksnprintf(build_error, sizeof(build_error), "%s failed (errno %d)", what, errno);
    return rc;
}

/* ---- guest memory through the foreign window -------------------------------- */

struct build_mem {
    xc_interface *xch;
    uint32_t domid;
    const xen_pfn_t *p2m;       /* p2m[pfn] = frame to map: the MFN (PV), or
                                   pfn itself (unmodified: populate_physmap
                                   leaves a translated domain's list as is) */
    unsigned long nr;           /* entries of p2m */
    int map_err;                /* negative errno of the first failed map */
};

static void *mem_map(void *ctx, uint64_t pfn)
{
    struct build_mem *m = ctx;
    void *va;

    if (pfn >= m->nr) {
        m->map_err = -XEN_EINVAL;
        return NULL;
    }
    va = xc_map_foreign_range(m->xch, m->domid, XC_PAGE_SIZE,
                              XC_PROT_READ | XC_PROT_WRITE, m->p2m[pfn]);
    if (!va && !m->map_err)
        m->map_err = -errno;
    return va;
}

static void mem_unmap(void *ctx, void *page)
{
    struct build_mem *m = ctx;

    if (xc_unmap_foreign(m->xch, page, XC_PAGE_SIZE) && !m->map_err)
        m->map_err = -errno;
}

/* The hypervisor writes the hypercall page (XEN_DOMCTL_hypercall_init). */
static void hcall_page_skip(void *ctx, void *page)
{
}

/* Zeroes guest frame pfn.  0 or negative errno. */
static int mem_zero(struct build_mem *m, uint64_t pfn)
{
    void *va = mem_map(m, pfn);

    if (!va)
        return m->map_err;
    memset(va, 0, XC_PAGE_SIZE);
    mem_unmap(m, va);
    return m->map_err;
}

/* ---- common steps ------------------------------------------------------------- */

/* Raises the domain's max_mem to at least nr_pages pages. */
static int ensure_maxmem(xc_interface *xch, uint32_t domid, unsigned long nr_pages,
                         xc_dominfo_t *di)
{
    if (xc_domain_getinfo(xch, domid, 1, di) != 1 || di->domid != domid) {
        if (!errno)
            errno = XEN_ESRCH;
        return fail_xc("getdomaininfo");
    }
    if (di->max_memkb < (uint64_t)nr_pages * 4 &&
        xc_domain_setmaxmem(xch, domid, (uint64_t)nr_pages * 4))
        return fail_xc("max_mem");
    return 0;
}

/* Allocates p2m[0..nr) and populates the domain's PFNs [0, nr): p2m gets
 * the MFNs.  *p2m_out is set even on failure (kfree it). */
static int populate(xc_interface *xch, uint32_t domid, unsigned long nr, xen_pfn_t **p2m_out)
{
    xen_pfn_t *p2m = kmalloc(nr * sizeof(*p2m));

    *p2m_out = p2m;
    if (!p2m)
        return fail(-XEN_ENOMEM, "p2m array", "out of dom0 memory");
    for (unsigned long i = 0; i < nr; i++)
        p2m[i] = i;
    if (xc_domain_populate_physmap_exact(xch, domid, nr, 0, 0, p2m))
        return fail_xc("populate_physmap");
    return 0;
}

static int alloc_port(xc_interface *xch, uint32_t domid, uint32_t *port, const char *what)
{
    int p = xc_evtchn_alloc_unbound(xch, domid, 0);

    if (p < 0)
        return fail_xc(what);
    *port = (uint32_t)p;
    return 0;
}

/* ---- PV ----------------------------------------------------------------------- */

static int build_pv(xc_interface *xch, uint32_t domid, const struct dom_build_args *a,
                    struct dom_build_info *out)
{
    struct xen_elf_info info;
    struct pv_build_result r;
    xc_dominfo_t di;
    xen_pfn_t *p2m = NULL;
    const char *why = NULL;
    int rc;

    if ((rc = xen_elf_parse(a->image, a->image_len, &info, &why)))
        return fail(rc, "not a Xen PV kernel", why);
    if ((rc = ensure_maxmem(xch, domid, a->nr_pages, &di)))
        return rc;
    if ((rc = populate(xch, domid, a->nr_pages, &p2m)))
        goto out;
    if ((rc = alloc_port(xch, domid, &out->store_evtchn, "xenstore event channel")) ||
        (rc = alloc_port(xch, domid, &out->console_evtchn, "console event channel")))
        goto out;

    struct build_mem m = { .xch = xch, .domid = domid, .p2m = p2m, .nr = a->nr_pages };
    struct pv_build_params p = {
        .nr_pages = a->nr_pages,
        .p2m = p2m,
        .cmdline = a->cmdline,
        .flags = 0,
        .shared_info_maddr = (uint64_t)di.shared_info_frame << XC_PAGE_SHIFT,
        .alloc_rings = true,
        .store_evtchn = out->store_evtchn,
        .console_evtchn = out->console_evtchn,
    };
    struct pv_build_ops ops = {
        .ctx = &m,
        .map_pfn = mem_map,
        .unmap_pfn = mem_unmap,
        .write_hypercall_page = hcall_page_skip,
    };
    if ((rc = pv_build(a->image, a->image_len, &info, &p, &ops, &r, &why))) {
        if (rc == -XEN_EFAULT && m.map_err)
            rc = fail(m.map_err, "mapping the new domain's memory", why);
        else
            fail(rc, "PV layout", why);
        goto out;
    }
    if (m.map_err) {
        rc = fail(m.map_err, "unmapping the new domain's memory", "");
        goto out;
    }
    if (r.hypercall_pfn != PV_NO_PFN &&
        xc_domain_hypercall_init(xch, domid, p2m[r.hypercall_pfn])) {
        rc = fail_xc("hypercall_init");
        goto out;
    }

    struct mmuext_op pin = { .cmd = MMUEXT_PIN_L4_TABLE };
    pin.arg1.mfn = r.l4_mfn;
    if (xc_mmuext_op(xch, &pin, 1, domid)) {
        rc = fail_xc("pinning the L4 (MMUEXT_PIN_L4_TABLE)");
        goto out;
    }

    vcpu_guest_context_any_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.c.user_regs.rip = r.entry;
    ctx.c.user_regs.rsp = r.stack_top;
    ctx.c.user_regs.rsi = r.start_info_va;
    ctx.c.user_regs.rflags = 0x200;
    ctx.c.user_regs.cs = FLAT_KERNEL_CS;
    ctx.c.user_regs.ss = FLAT_KERNEL_SS;
    ctx.c.user_regs.ds = ctx.c.user_regs.es = FLAT_KERNEL_DS;
    ctx.c.kernel_ss = FLAT_KERNEL_SS;
    ctx.c.kernel_sp = r.stack_top;
    ctx.c.ctrlreg[3] = xen_pfn_to_cr3(r.l4_mfn);
    ctx.c.flags = VGCF_in_kernel | VGCF_online;
    if (xc_vcpu_setcontext(xch, domid, 0, &ctx)) {
        rc = fail_xc("setvcpucontext");
        goto out;
    }
    out->unmodified = false;
    out->store_mfn = r.store_mfn;
    out->console_mfn = r.console_mfn;
    rc = 0;
out:
    kfree(p2m);
    return rc;
}

/* ---- unmodified (multiboot, trap-and-emulate) ----------------------------------- */

static int build_unmod(xc_interface *xch, uint32_t domid, const struct dom_build_args *a,
                       struct dom_build_info *out)
{
    unsigned long nr = a->nr_pages + 1;     /* + the console ring page */
    struct mb_build_result r;
    xc_dominfo_t di;
    xen_pfn_t *p2m = NULL;
    const char *why = NULL;
    char *cmdline = NULL;
    size_t len;
    int rc;

    if (!mb_is_multiboot(a->image, a->image_len))
        return fail(-XEN_EINVAL, "not a multiboot kernel", "no multiboot header");
    if ((rc = ensure_maxmem(xch, domid, nr, &di)))
        return rc;
    len = sizeof(UNMOD_IMAGE_NAME) + 1 + (a->cmdline ? strlen(a->cmdline) : 0);
    if (!(cmdline = kmalloc(len)))
        return fail(-XEN_ENOMEM, "command line", "out of dom0 memory");
    ksnprintf(cmdline, len, "%s%s%s", UNMOD_IMAGE_NAME,
              a->cmdline && a->cmdline[0] ? " " : "", a->cmdline ? a->cmdline : "");
    if ((rc = populate(xch, domid, nr, &p2m)))
        goto out;
    if ((rc = alloc_port(xch, domid, &out->console_evtchn, "console event channel")))
        goto out;

    struct build_mem m = { .xch = xch, .domid = domid, .p2m = p2m, .nr = nr };
    struct mb_build_params p = { .nr_pages = a->nr_pages, .cmdline = cmdline };
    struct mb_build_ops ops = { .map_pfn = mem_map, .ctx = &m, .unmap_pfn = mem_unmap };
    if ((rc = mb_build(a->image, a->image_len, &p, &ops, &r, &why))) {
        if (rc == -XEN_EFAULT && m.map_err)
            rc = fail(m.map_err, "mapping the new domain's memory", why);
        else
            fail(rc, "multiboot load", why);
        goto out;
    }
    if ((rc = mem_zero(&m, a->nr_pages))) {
        fail(rc, "zeroing the console ring page", "");
        goto out;
    }
    if (xc_set_hvm_param(xch, domid, HVM_PARAM_CONSOLE_PFN, a->nr_pages) ||
        xc_set_hvm_param(xch, domid, HVM_PARAM_CONSOLE_EVTCHN, out->console_evtchn)) {
        rc = fail_xc("HVMOP_set_param (console)");
        goto out;
    }

    vcpu_guest_context_any_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.c.user_regs.rip = r.entry;
    ctx.c.user_regs.rax = MB_BOOT_MAGIC;
    ctx.c.user_regs.rbx = r.mbi_paddr;
    ctx.c.user_regs.rflags = 0x2;
    ctx.c.flags = VGCF_online;
    if (xc_vcpu_setcontext(xch, domid, 0, &ctx)) {
        rc = fail_xc("setvcpucontext");
        goto out;
    }
    out->unmodified = true;
    out->store_mfn = 0;
    out->store_evtchn = 0;
    out->console_mfn = p2m[a->nr_pages];
    rc = 0;
out:
    kfree(cmdline);
    kfree(p2m);
    return rc;
}

int dom_build(xc_interface *xch, uint32_t domid, const struct dom_build_args *a,
              struct dom_build_info *out)
{
    build_error[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (!a || !a->image || !a->image_len || !a->nr_pages)
        return fail(-XEN_EINVAL, "dom_build", "no image or no memory");
    errno = 0;
    return a->unmodified ? build_unmod(xch, domid, a, out) : build_pv(xch, domid, a, out);
}
