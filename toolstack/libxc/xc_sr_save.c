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
    void (*poll)(void *opaque);     /* between batches of a pre-copy round */
    void *poll_opaque;
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
 * hypervisor's L4 slots are cleared (restore's pin puts them back), and an
 * entry log-dirty mode write-protected goes as the writable entry it is.
 * lenient (a pre-copy round, the guest running): an entry that maps no
 * frame of the domain is cleared and 1 returned, the page to be sent again
 * once the domain is suspended; else that is an error. */
static int canonicalise(struct save_ctx *c, uint64_t *t, unsigned int level, uint64_t pfn,
                        bool lenient)
{
    int deferred = 0;

    for (unsigned int i = 0; i < 512; i++) {
        uint64_t e = t[i], p;

        if (level == 4 && i >= XEN_L4_FIRST && i <= XEN_L4_LAST) {
            t[i] = 0;
            continue;
        }
        if (!(e & PV_PTE_P))
            continue;
        if (level == 1 && (e & PV_PTE_LOGDIRTY))
            e = (e | PV_PTE_RW) & ~PV_PTE_LOGDIRTY;
        if (!mfn_to_pfn(c, (e & PV_PTE_ADDR_MASK) >> XC_PAGE_SHIFT, &p)) {
            if (lenient) {
                t[i] = 0;
                deferred = 1;
                continue;
            }
            return fail(c, -XEN_EINVAL, "L%u entry %u of pfn %lx maps mfn %lx, which is not "
                        "the domain's memory (a grant or foreign mapping left in place?)",
                        level, i, (unsigned long)pfn,
                        (unsigned long)((e & PV_PTE_ADDR_MASK) >> XC_PAGE_SHIFT));
        }
        t[i] = (e & ~PV_PTE_ADDR_MASK) | (p << XC_PAGE_SHIFT);
    }
    return deferred;
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

static inline bool test_pfn(const unsigned long *map, uint64_t pfn)
{
    return map[pfn / 64] & (1UL << (pfn % 64));
}

static inline void set_pfn(unsigned long *map, uint64_t pfn)
{
    map[pfn / 64] |= 1UL << (pfn % 64);
}

/* What one pass over the memory sends. */
struct pass {
    const unsigned long *want;  /* pfns to send (bitmap); NULL: all */
    unsigned long *defer;       /* pre-copy: tables to send again; NULL: strict */
    bool zero_ok;               /* first sending: zero pages go as XALLOC */
    uint32_t sent;              /* out: pages sent */
};

/* One PAGE_DATA record of the n pfns in pfns[] (n <= LSR_BATCH).  A data
 * page of zeros is sent as XALLOC (Xen's "allocate only") when ps->zero_ok:
 * no bytes follow, restore's frames are zeroed already. */
static int save_batch(struct save_ctx *c, const uint64_t *pfns, unsigned int n,
                      struct pass *ps, struct xc_sr_stats *st)
{
    static uint64_t rec[2 + LSR_BATCH];     /* count/pad, pfn_type[] */
    static xen_pfn_t mfns[LSR_BATCH], types[LSR_BATCH];
    static uint64_t pt[512];
    struct lsr_page_data *pd = (struct lsr_page_data *)rec;
    unsigned int nmap = 0;
    int rc;

    for (unsigned int i = 0; i < n; i++)
        types[i] = mfns[i] = c->p2m[pfns[i]];
    if (xc_get_pfn_type_batch(c->xch, c->domid, n, types) < 0)
        return fail(c, -errno, "getpageframeinfo3 failed (%d)", errno);
    for (unsigned int i = 0; i < n; i++) {
        uint32_t t = (uint32_t)types[i];
        uint64_t p;
        if (c->p2m[pfns[i]] == INVALID_P2M_ENTRY || !mfn_to_pfn(c, mfns[i], &p) ||
            p != pfns[i])
            t = XEN_DOMCTL_PFINFO_XTAB;
        pd->pfn_type[i] = pfns[i] | ((uint64_t)(t >> 28) << LSR_TYPE_SHIFT);
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
                    (unsigned long)pfns[0], (unsigned long)pfns[n - 1], errno);
    uint64_t t1 = arch_now_ns();
    unsigned int nsend = 0;
    for (unsigned int i = 0, m = 0; i < n; i++) {
        unsigned int ty = (unsigned int)(pd->pfn_type[i] >> LSR_TYPE_SHIFT);
        if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28))
            continue;
        if (ty == 0 && ps->zero_ok && page_is_zero(va + (size_t)m * XC_PAGE_SIZE)) {
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
        ps->sent++;
        st->pages++;
        if (ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28))
            continue;
        if (level >= 1 && level <= 4) {
            memcpy(pt, src, XC_PAGE_SIZE);
            if ((rc = canonicalise(c, pt, level, pfns[i], ps->defer != NULL)) < 0)
                break;
            if (rc > 0)
                set_pfn(ps->defer, pfns[i]);
            src = pt;
            st->pt_pages++;
        }
        rc = c->io->write(c->io->opaque, src, XC_PAGE_SIZE);
    }
    if (!rc && (h.length % LSR_ALIGN))
        rc = c->io->write(c->io->opaque, zero_pad, LSR_ALIGN - h.length % LSR_ALIGN);
    if (va)
        xc_unmap_foreign(c->xch, va, (size_t)nmap * XC_PAGE_SIZE);
    st->map_ns += t1 - t0;
    st->copy_ns += arch_now_ns() - t1;
    if (rc)
        return c->why[0] ? rc : fail(c, rc, "writing the stream failed (%d)", rc);
    return 0;
}

/* The memory, or the pfns ps->want names, LSR_BATCH pages per record. */
static int save_pages(struct save_ctx *c, struct pass *ps, struct xc_sr_stats *st)
{
    static uint64_t pfns[LSR_BATCH];
    uint64_t pfn = 0;
    int rc;

    ps->sent = 0;
    while (pfn < c->nr_pfns) {
        unsigned int n = 0;
        for (; pfn < c->nr_pfns && n < LSR_BATCH; pfn++)
            if (!ps->want || test_pfn(ps->want, pfn))
                pfns[n++] = pfn;
        if (n && (rc = save_batch(c, pfns, n, ps, st)))
            return rc;
        if (c->poll && ps->defer)
            c->poll(c->poll_opaque);
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

/* What a save keeps between its steps. */
struct save_run {
    struct save_ctx c;
    uint64_t fll_mfn;
    unsigned int nr_p2m;
    xen_pfn_t p2m_mfns[LSR_PFNS_MAX / 512];
    vcpu_guest_context_any_t vc;
    unsigned long shared_info_frame;
};

/* Checks the domain (suspended or running, as asked), finds its size and
 * reads its P2M into c->p2m (kmalloc'd; the caller frees it). */
static int save_open(struct save_run *s, bool suspended)
{
    struct save_ctx *c = &s->c;
    xc_dominfo_t info;
    xc_physinfo_t pi;

    if (xc_domain_getinfo(c->xch, c->domid, 1, &info) != 1 || info.domid != c->domid)
        return fail(c, -XEN_ESRCH, "no domain %u", c->domid);
    if (info.hvm)
        return fail(c, -XEN_EOPNOTSUPP, "domain %u is unmodified: only PV domains can be "
                    "saved so far", c->domid);
    bool susp = info.shutdown && info.shutdown_reason == SHUTDOWN_suspend;
    if (suspended && !susp)
        return fail(c, -XEN_EINVAL, "domain %u has not suspended itself", c->domid);
    if (!suspended && (info.shutdown || info.crashed || info.dying))
        return fail(c, -XEN_EINVAL, "domain %u is not running", c->domid);
    if (xc_physinfo(c->xch, &pi) < 0)
        return fail(c, -errno, "physinfo failed");
    c->max_mfn = pi.max_mfn;
    s->shared_info_frame = info.shared_info_frame;

    const struct shared_info *sh = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                                        XC_PROT_READ, info.shared_info_frame);
    if (!sh)
        return fail(c, -errno, "cannot map shared_info (%d)", errno);
    c->nr_pfns = sh->arch.max_pfn;
    s->fll_mfn = sh->arch.pfn_to_mfn_frame_list_list;
    xc_unmap_foreign(c->xch, (void *)sh, XC_PAGE_SIZE);
    if (s->fll_mfn == 0 || s->fll_mfn == ~0UL)
        return fail(c, -XEN_EINVAL, "the guest has not published its P2M "
                    "(shared_info pfn_to_mfn_frame_list_list is unset)");
    /* A ballooned domain holds fewer pages than its P2M has pfns; the
     * P2M never outgrows the domain's maximum. */
    unsigned long max_pages = info.max_memkb / 4 > info.nr_pages ? info.max_memkb / 4
                                                                  : info.nr_pages;
    if (c->nr_pfns == 0 || c->nr_pfns > LSR_PFNS_MAX || c->nr_pfns > max_pages + 1024)
        return fail(c, -XEN_EINVAL, "shared_info's max_pfn %lu does not fit the domain's "
                    "maximum of %lu pages", (unsigned long)c->nr_pfns, max_pages);
    s->nr_p2m = (unsigned int)((c->nr_pfns + 511) / 512);
    if (!(c->p2m = kmalloc(c->nr_pfns * sizeof(xen_pfn_t))))
        return fail(c, -XEN_ENOMEM, "dom0 has no memory for the P2M");
    return read_p2m(c, s->fll_mfn, s->p2m_mfns, s->nr_p2m);
}

/* The header, the DOMAIN record and the caller's records. */
static int save_head(struct save_run *s, uint32_t flags, int (*extra)(void *opaque),
                     void *opaque)
{
    struct save_ctx *c = &s->c;
    struct lsr_header hdr;
    struct lsr_domain dom;
    int rc;

    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, LSR_MAGIC, 8);
    hdr.version = LSR_VERSION;
    hdr.flags = flags;
    memset(&dom, 0, sizeof(dom));
    dom.page_shift = XC_PAGE_SHIFT;
    dom.nr_pfns = c->nr_pfns;
    dom.saved_at_ns = arch_now_ns();
    dom.src_domid = c->domid;
    if ((rc = c->io->write(c->io->opaque, &hdr, sizeof(hdr))) ||
        (rc = xc_sr_write_record(c->io, LSR_DOMAIN, &dom, sizeof(dom))) ||
        (extra && (rc = extra(opaque))))
        return fail(c, rc, "writing the stream failed (%d)", rc);
    return 0;
}

/* The suspended domain's vCPU context into s->vc. */
static int save_get_vcpu(struct save_run *s)
{
    if (xc_vcpu_getcontext(s->c.xch, s->c.domid, 0, &s->vc) < 0)
        return fail(&s->c, -errno, "cannot read the vCPU context (%d)", errno);
    return 0;
}

/* After the memory: vCPU, shared_info, start_info, P2M frames, event
 * channels, grant table (END is the caller's). */
static int save_tail(struct save_run *s)
{
    struct save_ctx *c = &s->c;
    const struct shared_info *sh = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                                        XC_PROT_READ, s->shared_info_frame);
    int rc;

    if (!sh)
        return fail(c, -errno, "cannot map shared_info (%d)", errno);
    uint8_t upcall_mask = sh->vcpu_info[0].evtchn_upcall_mask;
    xc_unmap_foreign(c->xch, (void *)sh, XC_PAGE_SIZE);
    if ((rc = save_state(c, &s->vc, s->fll_mfn, upcall_mask, s->p2m_mfns, s->nr_p2m)))
        return rc;
    if ((rc = save_evtchn_gnttab(c)))
        return fail(c, rc, "writing the stream failed (%d)", rc);
    return 0;
}

/* The one save this dom0 runs at a time (its P2M frames and vCPU context
 * are too big for the agent thread's stack), reset for a new one. */
static struct save_run *save_run_new(xc_interface *xch, uint32_t domid,
                                     const struct xc_sr_io *io, struct xc_sr_stats *st,
                                     char *why, size_t whylen)
{
    static struct save_run s;

    memset(&s, 0, sizeof(s));
    s.c = (struct save_ctx){ .xch = xch, .domid = domid, .io = io, .why = why,
                             .whylen = whylen };
    why[0] = 0;
    memset(st, 0, sizeof(*st));
    return &s;
}

int xc_sr_save(xc_interface *xch, uint32_t domid, uint32_t flags, const struct xc_sr_io *io,
               int (*extra)(void *opaque), void *opaque, struct xc_sr_stats *st,
               char *why, size_t whylen)
{
    struct save_run *s = save_run_new(xch, domid, io, st, why, whylen);
    struct pass all = { .zero_ok = true };
    int rc;

    if (!(rc = save_open(s, true)) && !(rc = save_get_vcpu(s)) &&
        !(rc = save_head(s, flags, extra, opaque)) && !(rc = save_pages(&s->c, &all, st)) &&
        !(rc = save_tail(s)) && (rc = xc_sr_write_record(io, LSR_END, NULL, 0)))
        fail(&s->c, rc, "writing the stream failed (%d)", rc);
    kfree(s->c.p2m);
    return rc;
}

/* Adds the suspended guest's start_info, xenstore and console pfns to map:
 * dom0 writes the rings through mappings no log-dirty entry sees. */
static void want_special_pfns(struct save_run *s, unsigned long *map)
{
    struct save_ctx *c = &s->c;
    uint64_t p;

    if (!mfn_to_pfn(c, s->vc.x64.user_regs.rdx, &p))
        return;                             /* save_state says what is wrong */
    set_pfn(map, p);
    const start_info_t *si = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                                  XC_PROT_READ, c->p2m[p]);
    if (!si)
        return;
    if (mfn_to_pfn(c, si->store_mfn, &p))
        set_pfn(map, p);
    if (mfn_to_pfn(c, si->console.domU.mfn, &p))
        set_pfn(map, p);
    xc_unmap_foreign(c->xch, (void *)si, XC_PAGE_SIZE);
}

/* Bits set in map's first n pfns. */
static uint32_t count_pfns(const unsigned long *map, uint64_t n)
{
    uint32_t k = 0;

    for (uint64_t w = 0; w < (n + 63) / 64; w++)
        for (unsigned long x = map[w]; x; x &= x - 1)   /* no libgcc in dom0 */
            k++;
    return k;
}

/* A live save's state between its steps: the dirty bitmaps, and whether
 * the domain is in log-dirty mode.  One at a time (save_run_new's). */
static struct {
    struct save_run *s;
    unsigned long *pend, *defer;
    size_t words;
    bool logdirty;
} lv;

static void live_free(void)
{
    if (lv.logdirty)
        (void)xc_shadow_control(lv.s->c.xch, lv.s->c.domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0,
                                NULL);
    kfree(lv.pend);
    kfree(lv.defer);
    if (lv.s)
        kfree(lv.s->c.p2m);
    memset(&lv, 0, sizeof(lv));
}

/* The domain's dirty bitmap since the last CLEAN into map (zeroed first). */
static int clean_bitmap(struct save_run *s, unsigned long *map)
{
    memset(map, 0, lv.words * 8);
    if (xc_shadow_control(s->c.xch, s->c.domid, XEN_DOMCTL_SHADOW_OP_CLEAN, map, s->c.nr_pfns,
                          NULL) < 0)
        return fail(&s->c, -errno, "reading the dirty bitmap failed (%d)", errno);
    return 0;
}

/* Pre-copy (Clark et al., NSDI 2005): the domain runs in log-dirty mode
 * while every page goes once, then round after round what the one before
 * saw dirtied, until a round leaves few enough to send suspended.  On
 * return (0) lv.pend holds those and log-dirty mode stays on. */
static int live_precopy(struct save_run *s, uint32_t flags, int (*extra)(void *opaque),
                        void *opaque, const struct xc_sr_live *live, struct xc_sr_stats *st)
{
    int rc;

    if (live->max_rounds < 1 || live->max_rounds > LSR_ROUNDS_MAX)
        return fail(&s->c, -XEN_EINVAL, "%u pre-copy rounds asked for (1-%u)",
                    live->max_rounds, LSR_ROUNDS_MAX);
    lv.s = s;
    s->c.poll = live->poll;
    s->c.poll_opaque = live->opaque;
    if ((rc = save_open(s, false)))
        return rc;
    lv.words = (size_t)((s->c.nr_pfns + 63) / 64);
    lv.pend = kmalloc(lv.words * 8);
    lv.defer = kmalloc(lv.words * 8);
    if (!lv.pend || !lv.defer)
        return fail(&s->c, -XEN_ENOMEM, "dom0 has no memory for the dirty bitmaps");
    memset(lv.defer, 0, lv.words * 8);
    if (xc_shadow_control(s->c.xch, s->c.domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0,
                          NULL) < 0)
        return fail(&s->c, -errno, "cannot put domain %u in log-dirty mode (%s)", s->c.domid,
                    errno == XEN_EINVAL ? "another save has it" : "out of memory");
    lv.logdirty = true;
    if ((rc = save_head(s, flags, extra, opaque)))
        return rc;

    struct pass ps = { .defer = lv.defer, .zero_ok = true };
    if ((rc = save_pages(&s->c, &ps, st)))
        return rc;
    st->round_pages[st->nr_rounds++] = ps.sent;
    for (;;) {
        if ((rc = clean_bitmap(s, lv.pend)))
            return rc;
        if (count_pfns(lv.pend, s->c.nr_pfns) <= live->dirty_threshold ||
            st->nr_rounds >= live->max_rounds)
            return 0;                       /* pend goes with the suspended round */
        ps = (struct pass){ .want = lv.pend, .defer = lv.defer };
        if ((rc = save_pages(&s->c, &ps, st)))
            return rc;
        st->round_pages[st->nr_rounds++] = ps.sent;
    }
}

/* The suspended round: what lv.pend and lv.defer hold, what was dirtied
 * since, the special pages, then the vCPU and the rest.  Leaves lv.pend
 * and lv.defer empty.  *sent: the pages it sent. */
static int stop_copy(struct save_run *s, uint32_t *sent, struct xc_sr_stats *st)
{
    static unsigned long last[LSR_PFNS_MAX / 64];
    int rc;

    if ((rc = clean_bitmap(s, last)))
        return rc;
    for (size_t w = 0; w < lv.words; w++)
        lv.pend[w] |= last[w] | lv.defer[w];
    memset(lv.defer, 0, lv.words * 8);
    /* The P2M as the guest left it (its pages are in pend if it changed). */
    if ((rc = read_p2m(&s->c, s->fll_mfn, s->p2m_mfns, s->nr_p2m)) || (rc = save_get_vcpu(s)))
        return rc;
    want_special_pfns(s, lv.pend);
    struct pass ps = { .want = lv.pend };
    if ((rc = save_pages(&s->c, &ps, st)) || (rc = save_tail(s)))
        return rc;
    memset(lv.pend, 0, lv.words * 8);
    *sent = ps.sent;
    return 0;
}

int xc_sr_save_live(xc_interface *xch, uint32_t domid, const struct xc_sr_io *io,
                    int (*extra)(void *opaque), void *opaque, const struct xc_sr_live *live,
                    struct xc_sr_stats *st, char *why, size_t whylen)
{
    struct save_run *s = save_run_new(xch, domid, io, st, why, whylen);
    int rc;

    if ((rc = live_precopy(s, LSR_F_MIGRATE, extra, opaque, live, st)))
        goto out;
    if ((rc = live->suspend(live->opaque)) < 0) {
        fail(&s->c, rc, "domain %u did not suspend", domid);
        goto out;
    }
    uint64_t t1 = arch_now_ns();
    uint32_t sent;
    if ((rc = stop_copy(s, &sent, st)) ||
        (rc = xc_sr_write_record(io, LSR_END, NULL, 0))) {
        if (!why[0])
            fail(&s->c, rc, "writing the stream failed (%d)", rc);
        goto out;
    }
    st->round_pages[st->nr_rounds++] = sent;
    st->final_ns = arch_now_ns() - t1;
out:
    live_free();
    return rc;
}

int xc_sr_remus_begin(xc_interface *xch, uint32_t domid, const struct xc_sr_io *io,
                      int (*extra)(void *opaque), void *opaque, const struct xc_sr_live *live,
                      struct xc_sr_stats *st, char *why, size_t whylen)
{
    struct save_run *s = save_run_new(xch, domid, io, st, why, whylen);
    int rc;

    if (!live->resume)
        return fail(&s->c, -XEN_EINVAL, "a checkpointed save needs a resume callback");
    if ((rc = live_precopy(s, LSR_F_MIGRATE | LSR_F_CHECKPOINTED, extra, opaque, live, st)) ||
        (rc = xc_sr_remus_checkpoint(1, live, &st->round_pages[st->nr_rounds], why, whylen))) {
        live_free();
        return rc;
    }
    st->nr_rounds++;
    return 0;
}

int xc_sr_remus_checkpoint(uint64_t epoch, const struct xc_sr_live *live, uint32_t *sent,
                           char *why, size_t whylen)
{
    struct save_run *s = lv.s;
    struct xc_sr_stats st;
    struct lsr_checkpoint ck = { .epoch = epoch };
    int rc, rrc;

    if (!s || !lv.logdirty)
        return xc_sr_fail(why, whylen, -XEN_EINVAL, "no checkpointed save is running");
    s->c.why = why;
    s->c.whylen = whylen;
    why[0] = 0;
    memset(&st, 0, sizeof(st));
    if ((rc = live->suspend(live->opaque)) < 0)
        return fail(&s->c, rc, "domain %u did not suspend for checkpoint %lu", s->c.domid,
                    (unsigned long)epoch);
    if (!(rc = stop_copy(s, sent, &st)) &&
        (rc = xc_sr_write_record(s->c.io, LSR_CHECKPOINT, &ck, sizeof(ck))))
        fail(&s->c, rc, "writing the stream failed (%d)", rc);
    /* The domain runs on whatever became of the checkpoint. */
    if ((rrc = live->resume(live->opaque)) < 0 && !rc)
        rc = fail(&s->c, rrc, "domain %u could not be resumed after checkpoint %lu",
                  s->c.domid, (unsigned long)epoch);
    return rc;
}

int xc_sr_remus_end(bool send_end)
{
    int rc = 0;

    if (!lv.s)
        return -XEN_EINVAL;
    if (send_end)
        rc = xc_sr_write_record(lv.s->c.io, LSR_END, NULL, 0);
    live_free();
    return rc;
}
