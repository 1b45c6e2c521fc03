/*
 * xc_sr_save.c - the save half of xc_sr.h: a suspended PV domain to a
 * stream (docs/save-format.md).
 *
 * Runs in dom0 (toolstack agent thread).  The guest's own P2M (found
 * through shared_info's pfn_to_mfn_frame_list_list, as Xen's toolstack
 * finds it) gives PFN -> MFN; the read-only M2P every PV guest sees gives
 * MFN -> PFN; an MFN is the domain's only when both agree.
 */
#include "xc_sr.h"
#include "kernel.h"
#include <pv/mm.h>

#define XEN_L4_FIRST    256         /* L4 slots 256-271: the hypervisor's */
#define XEN_L4_LAST     271

struct save_ctx {
    xc_interface *xch;
    uint32_t domid;
    const struct xc_sr_io *io;
    uint64_t nr_pfns;
    xen_pfn_t *p2m;                 /* [nr_pfns] */
    uint64_t max_mfn;               /* physinfo: highest MFN */
    char *why;
    size_t whylen;
};

static const uint8_t zero_pad[LSR_ALIGN];

int xc_sr_write_record(const struct xc_sr_io *io, uint32_t type, const void *body,
                       uint32_t len)
{
    struct lsr_rhdr h = { .type = type, .length = len };
    uint32_t pad = (LSR_ALIGN - len % LSR_ALIGN) % LSR_ALIGN;
    int rc;

    if ((rc = io->write(io->opaque, &h, sizeof(h))))
        return rc;
    if (len && (rc = io->write(io->opaque, body, len)))
        return rc;
    return pad ? io->write(io->opaque, zero_pad, pad) : 0;
}

int xc_sr_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return rc;
}

#define fail(c, rc, ...) xc_sr_fail((c)->why, (c)->whylen, (rc), __VA_ARGS__)

/* pfn of the domain's frame mfn; false when mfn is not in its P2M. */
static bool mfn_to_pfn(const struct save_ctx *c, uint64_t mfn, uint64_t *pfn)
{
    if (mfn > c->max_mfn)
        return false;
    uint64_t p = PV_M2P[mfn];
    if (p >= c->nr_pfns || c->p2m[p] != mfn)
        return false;
    *pfn = p;
    return true;
}

/* Reads the guest's P2M into c->p2m through its three-level frame list
 * (public/arch-x86/xen.h arch_shared_info). */
static int read_p2m(struct save_ctx *c, uint64_t fll_mfn, xen_pfn_t *p2m_mfns,
                    unsigned int nr_p2m)
{
    unsigned int nr_fl = (nr_p2m + 511) / 512;
    xen_pfn_t fl_mfns[8];
    const xen_pfn_t *fll, *fl;

    if (nr_fl > 8)
        return fail(c, -XEN_E2BIG, "the P2M of %lu pages is over this toolstack's 4 GiB",
                    (unsigned long)c->nr_pfns);
    if (!(fll = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE, XC_PROT_READ, fll_mfn)))
        return fail(c, -XEN_EFAULT, "the guest's P2M frame list list (mfn %lx) is not its "
                    "memory", (unsigned long)fll_mfn);
    memcpy(fl_mfns, fll, nr_fl * sizeof(xen_pfn_t));
    xc_unmap_foreign(c->xch, (void *)fll, XC_PAGE_SIZE);
    if (!(fl = xc_map_foreign_pages(c->xch, c->domid, XC_PROT_READ, fl_mfns, (int)nr_fl)))
        return fail(c, -XEN_EFAULT, "the guest's P2M frame lists are not its memory");
    memcpy(p2m_mfns, fl, nr_p2m * sizeof(xen_pfn_t));
    xc_unmap_foreign(c->xch, (void *)fl, nr_fl * XC_PAGE_SIZE);
    for (unsigned int k = 0; k < nr_p2m; k += LSR_BATCH) {
        unsigned int n = nr_p2m - k < LSR_BATCH ? nr_p2m - k : LSR_BATCH;
        const xen_pfn_t *pg = xc_map_foreign_pages(c->xch, c->domid, XC_PROT_READ,
                                                   p2m_mfns + k, (int)n);
        if (!pg)
            return fail(c, -XEN_EFAULT, "the guest's P2M pages are not its memory");
        uint64_t first = (uint64_t)k * 512, cnt = (uint64_t)n * 512;
        if (first + cnt > c->nr_pfns)
            cnt = c->nr_pfns - first;
        memcpy(c->p2m + first, pg, cnt * sizeof(xen_pfn_t));
        xc_unmap_foreign(c->xch, (void *)pg, (size_t)n * XC_PAGE_SIZE);
    }
    return 0;
}

/* Rewrites page table t (level 1-4) from MFNs to PFNs in place; the
 * hypervisor's L4 slots are cleared (restore's pin puts them back). */
static int canonicalise(struct save_ctx *c, uint64_t *t, unsigned int level, uint64_t pfn)
{
    for (unsigned int i = 0; i < 512; i++) {
        uint64_t e = t[i], p;

        if (level == 4 && i >= XEN_L4_FIRST && i <= XEN_L4_LAST) {
            t[i] = 0;
            continue;
        }
        if (!(e & PV_PTE_P))
            continue;
        if (!mfn_to_pfn(c, (e & PV_PTE_ADDR_MASK) >> XC_PAGE_SHIFT, &p))
            return fail(c, -XEN_EINVAL, "L%u entry %u of pfn %lx maps mfn %lx, which is not "
                        "the domain's memory (a grant or foreign mapping left in place?)",
                        level, i, (unsigned long)pfn,
                        (unsigned long)((e & PV_PTE_ADDR_MASK) >> XC_PAGE_SHIFT));
        t[i] = (e & ~PV_PTE_ADDR_MASK) | (p << XC_PAGE_SHIFT);
    }
    return 0;
}

/* True when the 4096 bytes at p are all zero. */
static bool page_is_zero(const void *p)
{
    const uint64_t *q = p;

    for (unsigned int i = 0; i < 512; i += 4)
        if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
            return false;
    return true;
}

/* The memory, LSR_BATCH pages per PAGE_DATA record.  A data page of zeros
 * is sent as XALLOC (Xen's "allocate only"): no bytes follow, restore's
 * frames are zeroed already. */
static int save_pages(struct save_ctx *c, struct xc_sr_stats *st)
{
    static uint64_t rec[2 + LSR_BATCH];     /* count/pad, pfn_type[] */
    static xen_pfn_t mfns[LSR_BATCH], types[LSR_BATCH];
    static uint64_t pt[512];
    struct lsr_page_data *pd = (struct lsr_page_data *)rec;
    int rc;

    for (uint64_t base = 0; base < c->nr_pfns; base += LSR_BATCH) {
        unsigned int n = c->nr_pfns - base < LSR_BATCH ? (unsigned int)(c->nr_pfns - base)
                                                         : LSR_BATCH;
        unsigned int nmap = 0;

        for (unsigned int i = 0; i < n; i++)
            types[i] = mfns[i] = c->p2m[base + i];
        if (xc_get_pfn_type_batch(c->xch, c->domid, n, types) < 0)
            return fail(c, -errno, "getpageframeinfo3 failed (%d)", errno);
        for (unsigned int i = 0; i < n; i++) {
            uint32_t t = (uint32_t)types[i];
            uint64_t p;
            if (c->p2m[base + i] == INVALID_P2M_ENTRY || !mfn_to_pfn(c, mfns[i], &p) ||
                p != base + i)
                t = XEN_DOMCTL_PFINFO_XTAB;
            pd->pfn_type[i] = (base + i) | ((uint64_t)(t >> 28) << LSR_TYPE_SHIFT);
            if (t != XEN_DOMCTL_PFINFO_XTAB)
                mfns[nmap++] = mfns[i];
        }
        pd->count = n;
        pd->pad = 0;
        uint64_t t0 = arch_now_ns();
        uint8_t *va = nmap ? xc_map_foreign_pages(c->xch, c->domid, XC_PROT_READ, mfns,
                                                  (int)nmap) : NULL;
        if (nmap && !va)
            return fail(c, -errno, "cannot map pages %lx-%lx of the domain (%d)",
                        (unsigned long)base, (unsigned long)(base + n - 1), errno);
        uint64_t t1 = arch_now_ns();
        unsigned int nsend = 0;
        for (unsigned int i = 0, m = 0; i < n; i++) {
            unsigned int ty = (unsigned int)(pd->pfn_type[i] >> LSR_TYPE_SHIFT);
            if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28))
                continue;
            if (ty == 0 && page_is_zero(va + (size_t)m * XC_PAGE_SIZE)) {
                pd->pfn_type[i] |= (uint64_t)(XEN_DOMCTL_PFINFO_XALLOC >> 28) << LSR_TYPE_SHIFT;
                st->zero_pages++;
            } else {
                nsend++;
            }
            m++;
        }
        struct lsr_rhdr h = { .type = LSR_PAGE_DATA,
                              .length = 8 + 8 * n + nsend * XC_PAGE_SIZE };
        rc = c->io->write(c->io->opaque, &h, sizeof(h));
        if (!rc)
            rc = c->io->write(c->io->opaque, rec, 8 + 8 * n);
        for (unsigned int i = 0, m = 0; !rc && i < n; i++) {
            unsigned int ty = (unsigned int)(pd->pfn_type[i] >> LSR_TYPE_SHIFT);
            unsigned int level = ty & 7;
            if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28))
                continue;
            const void *src = va + (size_t)m++ * XC_PAGE_SIZE;
            if (ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28)) {
                st->pages++;
                continue;
            }
            if (level >= 1 && level <= 4) {
                memcpy(pt, src, XC_PAGE_SIZE);
                if ((rc = canonicalise(c, pt, level, base + i)))
                    break;
                src = pt;
                st->pt_pages++;
            }
            rc = c->io->write(c->io->opaque, src, XC_PAGE_SIZE);
            st->pages++;
        }
        if (!rc && (h.length % LSR_ALIGN))
            rc = c->io->write(c->io->opaque, zero_pad, LSR_ALIGN - h.length % LSR_ALIGN);
        if (va)
            xc_unmap_foreign(c->xch, va, (size_t)nmap * XC_PAGE_SIZE);
        st->map_ns += t1 - t0;
        st->copy_ns += arch_now_ns() - t1;
        if (rc)
            return c->why[0] ? rc : fail(c, rc, "writing the stream failed (%d)", rc);
    }
    return 0;
}

/* Informative records: the domain's event channels and grant table. */
static int save_evtchn_gnttab(struct save_ctx *c)
{
    static struct lsr_evtchn ch[256];
    struct lsr_gnttab g = { 0, 0 };
    unsigned int n = 0;
    int rc;

    for (uint32_t port = 1; port < 4096 && n < ARRAY_SIZE(ch); port++) {
        struct evtchn_status s;
        if (xc_evtchn_status(c->xch, c->domid, port, &s) < 0)
            break;                          /* past the ports it has */
        if (s.status == EVTCHNSTAT_closed)
            continue;
        ch[n].port = port;
        ch[n].status = s.status;
        ch[n].a = s.status == EVTCHNSTAT_virq ? s.u.virq :
                  s.status == EVTCHNSTAT_unbound ? s.u.unbound.dom : s.u.interdomain.dom;
        ch[n].b = s.status == EVTCHNSTAT_interdomain ? s.u.interdomain.port : 0;
        n++;
    }
    if ((rc = xc_sr_write_record(c->io, LSR_EVTCHN, ch, n * sizeof(ch[0]))))
        return rc;
    (void)xc_gnttab_query_size(c->xch, c->domid, &g.nr_frames, &g.max_frames);
    return xc_sr_write_record(c->io, LSR_GNTTAB, &g, sizeof(g));
}

/* vCPU, shared_info, start_info, P2M frames: canonical, then written. */
static int save_state(struct save_ctx *c, vcpu_guest_context_any_t *vc, uint64_t fll_mfn,
                      uint8_t upcall_mask, const xen_pfn_t *p2m_mfns, unsigned int nr_p2m)
{
    static struct lsr_vcpu v;
    struct lsr_shared_info sh = { .max_pfn = c->nr_pfns, .upcall_mask = upcall_mask };
    struct lsr_start_info si;
    struct vcpu_guest_context *x = &vc->x64;
    uint64_t p;
    int rc;

    memset(&v, 0, sizeof(v));
    v.ctx = *x;
    if (!mfn_to_pfn(c, xen_cr3_to_pfn(x->ctrlreg[3]), &p))
        return fail(c, -XEN_EINVAL, "the vCPU's L4 is not the domain's memory");
    v.ctx.ctrlreg[3] = xen_pfn_to_cr3(p);
    if (x->ctrlreg[1]) {
        if (!mfn_to_pfn(c, xen_cr3_to_pfn(x->ctrlreg[1]), &p))
            return fail(c, -XEN_EINVAL, "the vCPU's user L4 is not the domain's memory");
        v.ctx.ctrlreg[1] = xen_pfn_to_cr3(p);
    }
    for (unsigned int i = 0; i < (x->gdt_ents + 511) / 512 && i < 16; i++) {
        if (!mfn_to_pfn(c, x->gdt_frames[i], &p))
            return fail(c, -XEN_EINVAL, "GDT frame %u is not the domain's memory", i);
        v.ctx.gdt_frames[i] = p;
    }
    if (!mfn_to_pfn(c, x->user_regs.rdx, &si.pfn))
        return fail(c, -XEN_EINVAL, "the guest suspended without its start_info MFN in rdx "
                    "(got %lx)", (unsigned long)x->user_regs.rdx);
    v.ctx.user_regs.rdx = si.pfn;
    if (!mfn_to_pfn(c, fll_mfn, &sh.fll_pfn))
        return fail(c, -XEN_EINVAL, "the P2M frame list list is not the domain's memory");

    const start_info_t *s = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE, XC_PROT_READ,
                                                 c->p2m[si.pfn]);
    if (!s)
        return fail(c, -XEN_EFAULT, "cannot map start_info");
    bool ok = mfn_to_pfn(c, s->store_mfn, &si.store_pfn) &&
              mfn_to_pfn(c, s->console.domU.mfn, &si.console_pfn);
    xc_unmap_foreign(c->xch, (void *)s, XC_PAGE_SIZE);
    if (!ok)
        return fail(c, -XEN_EINVAL, "start_info's store or console frame is not the "
                    "domain's memory");

    static xen_pfn_t frames[LSR_PFNS_MAX / 512];
    for (unsigned int k = 0; k < nr_p2m; k++)
        if (!mfn_to_pfn(c, p2m_mfns[k], &frames[k]))
            return fail(c, -XEN_EINVAL, "P2M page %u is not the domain's memory", k);
    if ((rc = xc_sr_write_record(c->io, LSR_P2M_FRAMES, frames, nr_p2m * 8)) ||
        (rc = xc_sr_write_record(c->io, LSR_VCPU, &v, sizeof(v))) ||
        (rc = xc_sr_write_record(c->io, LSR_SHARED_INFO, &sh, sizeof(sh))) ||
        (rc = xc_sr_write_record(c->io, LSR_START_INFO, &si, sizeof(si))))
        return fail(c, rc, "writing the stream failed (%d)", rc);
    return 0;
}

int xc_sr_save(xc_interface *xch, uint32_t domid, uint32_t flags, const struct xc_sr_io *io,
               int (*extra)(void *opaque), void *opaque, struct xc_sr_stats *st,
               char *why, size_t whylen)
{
    static vcpu_guest_context_any_t vc;
    static xen_pfn_t p2m_mfns[LSR_PFNS_MAX / 512];
    struct save_ctx c = { .xch = xch, .domid = domid, .io = io, .why = why, .whylen = whylen };
    struct lsr_header hdr;
    struct lsr_domain dom;
    xc_dominfo_t info;
    xc_physinfo_t pi;
    uint64_t fll_mfn;
    uint8_t upcall_mask;
    int rc;

    why[0] = 0;
    memset(st, 0, sizeof(*st));
    if (xc_domain_getinfo(xch, domid, 1, &info) != 1 || info.domid != domid)
        return fail(&c, -XEN_ESRCH, "no domain %u", domid);
    if (info.hvm)
        return fail(&c, -XEN_EOPNOTSUPP, "domain %u is unmodified: only PV domains can be "
                    "saved so far", domid);
    if (!info.shutdown || info.shutdown_reason != SHUTDOWN_suspend)
        return fail(&c, -XEN_EINVAL, "domain %u has not suspended itself", domid);
    if (xc_physinfo(xch, &pi) < 0)
        return fail(&c, -errno, "physinfo failed");
    c.max_mfn = pi.max_mfn;
    if (xc_vcpu_getcontext(xch, domid, 0, &vc) < 0)
        return fail(&c, -errno, "cannot read the vCPU context (%d)", errno);

    const struct shared_info *sh = xc_map_foreign_range(xch, domid, XC_PAGE_SIZE, XC_PROT_READ,
                                                        info.shared_info_frame);
    if (!sh)
        return fail(&c, -errno, "cannot map shared_info (%d)", errno);
    c.nr_pfns = sh->arch.max_pfn;
    fll_mfn = sh->arch.pfn_to_mfn_frame_list_list;
    upcall_mask = sh->vcpu_info[0].evtchn_upcall_mask;
    xc_unmap_foreign(xch, (void *)sh, XC_PAGE_SIZE);
    if (fll_mfn == 0 || fll_mfn == ~0UL)
        return fail(&c, -XEN_EINVAL, "the guest has not published its P2M "
                    "(shared_info pfn_to_mfn_frame_list_list is unset)");
    /* A ballooned domain holds fewer pages than its P2M has pfns; the
     * P2M never outgrows the domain's maximum. */
    unsigned long max_pages = info.max_memkb / 4 > info.nr_pages ? info.max_memkb / 4
                                                                  : info.nr_pages;
    if (c.nr_pfns == 0 || c.nr_pfns > LSR_PFNS_MAX || c.nr_pfns > max_pages + 1024)
        return fail(&c, -XEN_EINVAL, "shared_info's max_pfn %lu does not fit the domain's "
                    "maximum of %lu pages", (unsigned long)c.nr_pfns, max_pages);
    unsigned int nr_p2m = (unsigned int)((c.nr_pfns + 511) / 512);
    if (!(c.p2m = kmalloc(c.nr_pfns * sizeof(xen_pfn_t))))
        return fail(&c, -XEN_ENOMEM, "dom0 has no memory for the P2M");
    if ((rc = read_p2m(&c, fll_mfn, p2m_mfns, nr_p2m)))
        goto out;

    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, LSR_MAGIC, 8);
    hdr.version = LSR_VERSION;
    hdr.flags = flags;
    memset(&dom, 0, sizeof(dom));
    dom.page_shift = XC_PAGE_SHIFT;
    dom.nr_pfns = c.nr_pfns;
    dom.saved_at_ns = arch_now_ns();
    dom.src_domid = domid;
    if ((rc = io->write(io->opaque, &hdr, sizeof(hdr))) ||
        (rc = xc_sr_write_record(io, LSR_DOMAIN, &dom, sizeof(dom))) ||
        (extra && (rc = extra(opaque)))) {
        fail(&c, rc, "writing the stream failed (%d)", rc);
        goto out;
    }
    if ((rc = save_pages(&c, st)) ||
        (rc = save_state(&c, &vc, fll_mfn, upcall_mask, p2m_mfns, nr_p2m)))
        goto out;
    if ((rc = save_evtchn_gnttab(&c)) || (rc = xc_sr_write_record(io, LSR_END, NULL, 0)))
        fail(&c, rc, "writing the stream failed (%d)", rc);
out:
    kfree(c.p2m);
    return rc;
}
