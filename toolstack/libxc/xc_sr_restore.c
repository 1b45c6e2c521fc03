/*
 * xc_sr_restore.c - the restore half of xc_sr.h: a stream into a new PV
 * domain (docs/save-format.md).
 *
 * Runs in dom0 (toolstack agent thread).  Every field read is checked
 * before use (PFNs against the domain's size, record lengths against
 * their type); the hypervisor checks the rest when the tables are pinned
 * and the vCPU context is set, so a hostile stream can at worst fail the
 * restore, and the caller then destroys the half-built domain.
 */
#include "xc_sr.h"
#include "kernel.h"
#include <pv/mm.h>

struct restore_ctx {
    xc_interface *xch;
    uint32_t domid;
    const struct xc_sr_io *io;
    uint64_t nr_pfns;
    xen_pfn_t *p2m;                 /* [nr_pfns]: PFN -> new MFN */
    uint8_t *types;                 /* [nr_pfns]: PFINFO >> 28 (0: a zero page), 0xf = no frame */
    char *why;
    size_t whylen;
    bool read_failed;               /* the stream ended or broke (not bad data) */
    /* A checkpointed stream's epoch since its last CHECKPOINT, held in
     * dom0 until that epoch's CHECKPOINT arrives: pfn_type[i] and page i
     * at chunk[i / CK_CHUNK] + (i % CK_CHUNK) pages (canonical form
     * already undone). */
    bool buffering;
    uint32_t nbuf, maxbuf;
    uint64_t *buf_pfn_type;
    uint8_t **chunk;
};

#define CK_CHUNK 32                 /* pages per buffer chunk (128 KiB) */

#define fail(c, rc, ...) xc_sr_fail((c)->why, (c)->whylen, (rc), __VA_ARGS__)

static int rd(struct restore_ctx *c, void *buf, size_t len)
{
    int rc = c->io->read(c->io->opaque, buf, len);

    if (rc)
        c->read_failed = true;
    return rc ? fail(c, rc, "the stream ended early or could not be read (%d)", rc) : 0;
}

static int skip_pad(struct restore_ctx *c, uint32_t len)
{
    uint32_t pad = (LSR_ALIGN - len % LSR_ALIGN) % LSR_ALIGN;

    return pad ? rd(c, NULL, pad) : 0;
}

int xc_sr_restore_begin(const struct xc_sr_io *io, struct lsr_domain *dom, uint32_t *flags,
                        char *why, size_t whylen)
{
    struct restore_ctx c = { .io = io, .why = why, .whylen = whylen };
    struct lsr_header h;
    struct lsr_rhdr r;
    int rc;

    why[0] = 0;
    if ((rc = rd(&c, &h, sizeof(h))))
        return rc;
    if (memcmp(h.magic, LSR_MAGIC, 8))
        return fail(&c, -XEN_EINVAL, "not a Lamina save stream (bad magic)");
    if (h.version != LSR_VERSION)
        return fail(&c, -XEN_ENOSYS, "stream version %u, this dom0 reads version %u",
                    h.version, LSR_VERSION);
    if (flags)
        *flags = h.flags;
    if ((rc = rd(&c, &r, sizeof(r))))
        return rc;
    if (r.type != LSR_DOMAIN || r.length != sizeof(*dom))
        return fail(&c, -XEN_EINVAL, "the stream does not start with a DOMAIN record");
    if ((rc = rd(&c, dom, sizeof(*dom))) || (rc = skip_pad(&c, r.length)))
        return rc;
    if (dom->guest_type != 0 || dom->page_shift != XC_PAGE_SHIFT)
        return fail(&c, -XEN_EINVAL, "the stream holds a guest type or page size this dom0 "
                    "does not restore");
    if (dom->nr_pfns == 0 || dom->nr_pfns > LSR_PFNS_MAX)
        return fail(&c, -XEN_EINVAL, "the stream's domain has %lu pages (1-%u allowed)",
                    (unsigned long)dom->nr_pfns, LSR_PFNS_MAX);
    return 0;
}

/* Rewrites page table t (level 1-4) of pfn from PFNs to the new MFNs. */
static int uncanonicalise(struct restore_ctx *c, uint64_t *t, unsigned int level, uint64_t pfn)
{
    for (unsigned int i = 0; i < 512; i++) {
        uint64_t e = t[i], p = (e & PV_PTE_ADDR_MASK) >> XC_PAGE_SHIFT;

        if (!(e & PV_PTE_P))
            continue;
        if (p >= c->nr_pfns)
            return fail(c, -XEN_EINVAL, "L%u entry %u of pfn %lx names pfn %lx, beyond the "
                        "domain's %lu pages", level, i, (unsigned long)pfn, (unsigned long)p,
                        (unsigned long)c->nr_pfns);
        t[i] = (e & ~PV_PTE_ADDR_MASK) | ((uint64_t)c->p2m[p] << XC_PAGE_SHIFT);
    }
    return 0;
}

/* A page of the buffered epoch: room for one more, or NULL when the
 * epoch outgrew the buffer or dom0's memory (why says which). */
static uint8_t *buffer_slot(struct restore_ctx *c, uint64_t pfn_type)
{
    if (c->nbuf == c->maxbuf) {
        fail(c, -XEN_ENOMEM, "a checkpoint of more than %u pages: the backup buffers at most "
             "that many (checkpoint more often)", c->maxbuf);
        return NULL;
    }
    uint8_t **ch = &c->chunk[c->nbuf / CK_CHUNK];
    if (!*ch && !(*ch = kmalloc(CK_CHUNK * XC_PAGE_SIZE))) {
        fail(c, -XEN_ENOMEM, "dom0 has no memory to buffer a checkpoint of %u pages", c->nbuf);
        return NULL;
    }
    c->buf_pfn_type[c->nbuf] = pfn_type;
    return *ch + (size_t)(c->nbuf++ % CK_CHUNK) * XC_PAGE_SIZE;
}

/* The buffered epoch's CHECKPOINT came: its pages go into the frames. */
static int apply_buffer(struct restore_ctx *c, struct xc_sr_stats *st)
{
    static xen_pfn_t mfns[LSR_BATCH];
    static uint32_t idx[LSR_BATCH];

    for (uint32_t i = 0; i < c->nbuf;) {
        unsigned int n = 0;
        for (; i < c->nbuf && n < LSR_BATCH; i++) {
            uint64_t pfn = c->buf_pfn_type[i] & LSR_PFN_MASK;
            unsigned int ty = (unsigned int)(c->buf_pfn_type[i] >> LSR_TYPE_SHIFT);
            c->types[pfn] = ty == (XEN_DOMCTL_PFINFO_XTAB >> 28) ? 0xf :
                            ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28) ? 0 : (uint8_t)ty;
            if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28))
                continue;
            idx[n] = i;
            mfns[n++] = c->p2m[pfn];
        }
        if (!n)
            continue;
        uint8_t *va = xc_map_foreign_pages(c->xch, c->domid, XC_PROT_READ | XC_PROT_WRITE,
                                           mfns, (int)n);
        if (!va)
            return fail(c, -errno, "cannot map the domain's frames (%d)", errno);
        for (unsigned int k = 0; k < n; k++) {
            uint32_t j = idx[k];
            unsigned int ty = (unsigned int)(c->buf_pfn_type[j] >> LSR_TYPE_SHIFT);
            uint8_t *dst = va + (size_t)k * XC_PAGE_SIZE;
            if (ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28))
                memset(dst, 0, XC_PAGE_SIZE);
            else
                memcpy(dst, c->chunk[j / CK_CHUNK] + (size_t)(j % CK_CHUNK) * XC_PAGE_SIZE,
                       XC_PAGE_SIZE);
        }
        xc_unmap_foreign(c->xch, va, (size_t)n * XC_PAGE_SIZE);
        st->pages += n;
    }
    c->nbuf = 0;
    return 0;
}

/* One PAGE_DATA record of len bytes: the pages go straight into the new
 * domain's frames, or into the buffer while c->buffering. */
static int restore_pages(struct restore_ctx *c, uint32_t len, struct xc_sr_stats *st)
{
    static uint64_t pfn_type[LSR_BATCH];
    static xen_pfn_t mfns[LSR_BATCH];
    uint32_t hd[2];
    unsigned int nmap = 0;
    int rc;

    if (len < 8 || (rc = rd(c, hd, 8)))
        return len < 8 ? fail(c, -XEN_EINVAL, "a PAGE_DATA record is too short") : rc;
    if (hd[0] == 0 || hd[0] > LSR_BATCH || len < 8 + 8 * hd[0])
        return fail(c, -XEN_EINVAL, "a PAGE_DATA record holds %u pages (1-%u allowed)",
                    hd[0], LSR_BATCH);
    if ((rc = rd(c, pfn_type, 8 * hd[0])))
        return rc;
    for (unsigned int i = 0; i < hd[0]; i++) {
        uint64_t pfn = pfn_type[i] & LSR_PFN_MASK;
        unsigned int ty = (unsigned int)(pfn_type[i] >> LSR_TYPE_SHIFT);
        if (pfn >= c->nr_pfns)
            return fail(c, -XEN_EINVAL, "page data for pfn %lx, beyond the domain's %lu pages",
                        (unsigned long)pfn, (unsigned long)c->nr_pfns);
        if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28) || ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28)) {
            if (c->buffering && !buffer_slot(c, pfn_type[i]))
                return -XEN_ENOMEM;
            if (!c->buffering)
                c->types[pfn] = ty == (XEN_DOMCTL_PFINFO_XTAB >> 28) ? 0xf : 0;
            if (ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28))
                st->pages++;            /* present; populate gave it zeroed */
            continue;
        }
        if ((ty & 7) > 4 || ty == 0x8)
            return fail(c, -XEN_EINVAL, "pfn %lx has page type %x", (unsigned long)pfn, ty);
        if (!c->buffering)
            c->types[pfn] = (uint8_t)ty;
        mfns[nmap++] = c->p2m[pfn];
    }
    if (len != 8 + 8 * hd[0] + nmap * XC_PAGE_SIZE)
        return fail(c, -XEN_EINVAL, "a PAGE_DATA record's length does not match its pages");
    uint64_t t0 = arch_now_ns();
    uint8_t *va = nmap && !c->buffering ?
                  xc_map_foreign_pages(c->xch, c->domid, XC_PROT_READ | XC_PROT_WRITE, mfns,
                                       (int)nmap) : NULL;
    if (nmap && !c->buffering && !va)
        return fail(c, -errno, "cannot map the new domain's frames (%d)", errno);
    uint64_t t1 = arch_now_ns();
    rc = 0;
    for (unsigned int i = 0, m = 0; i < hd[0] && !rc; i++) {
        uint64_t pfn = pfn_type[i] & LSR_PFN_MASK;
        unsigned int ty = (unsigned int)(pfn_type[i] >> LSR_TYPE_SHIFT);
        if (ty == (XEN_DOMCTL_PFINFO_XTAB >> 28) || ty == (XEN_DOMCTL_PFINFO_XALLOC >> 28))
            continue;
        uint64_t *dst = c->buffering ? (uint64_t *)buffer_slot(c, pfn_type[i])
                                     : (uint64_t *)(va + (size_t)m++ * XC_PAGE_SIZE);
        if (!dst)
            rc = -XEN_ENOMEM;
        else if (!(rc = rd(c, dst, XC_PAGE_SIZE)) && (ty & 7) >= 1) {
            rc = uncanonicalise(c, dst, ty & 7, pfn);
            st->pt_pages++;
        }
        if (!c->buffering)
            st->pages++;
    }
    if (va)
        xc_unmap_foreign(c->xch, va, (size_t)nmap * XC_PAGE_SIZE);
    st->map_ns += t1 - t0;
    st->copy_ns += arch_now_ns() - t1;
    return rc ? rc : skip_pad(c, len);
}

/* The guest's P2M pages get the new MFNs (its frame lists it rebuilds
 * itself on resume, as Linux does). */
static int write_p2m(struct restore_ctx *c, const uint64_t *frames, unsigned int n)
{
    if (n != (c->nr_pfns + 511) / 512)
        return fail(c, -XEN_EINVAL, "the stream lists %u P2M pages for %lu pfns", n,
                    (unsigned long)c->nr_pfns);
    for (unsigned int k = 0; k < n; k++) {
        if (frames[k] >= c->nr_pfns)
            return fail(c, -XEN_EINVAL, "P2M page %u is pfn %lx, beyond the domain", k,
                        (unsigned long)frames[k]);
        xen_pfn_t *pg = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                             XC_PROT_READ | XC_PROT_WRITE, c->p2m[frames[k]]);
        if (!pg)
            return fail(c, -errno, "cannot map P2M page %u", k);
        for (unsigned int j = 0; j < 512; j++) {
            uint64_t pfn = (uint64_t)k * 512 + j;
            pg[j] = pfn < c->nr_pfns ? c->p2m[pfn] : INVALID_P2M_ENTRY;
        }
        xc_unmap_foreign(c->xch, pg, XC_PAGE_SIZE);
    }
    return 0;
}

/* The pfns the stream had no frame for (XTAB: the guest gave them back to
 * its balloon) go back to the hypervisor and read INVALID in its P2M. */
static int release_absent(struct restore_ctx *c)
{
    static xen_pfn_t mfns[LSR_BATCH];
    unsigned int n = 0;

    for (uint64_t pfn = 0; pfn <= c->nr_pfns; pfn++) {
        if (n == LSR_BATCH || (pfn == c->nr_pfns && n)) {
            if (xc_domain_decrease_reservation_exact(c->xch, c->domid, n, mfns) < 0)
                return fail(c, -errno, "cannot give back the frames of absent pfns (%d)", errno);
            n = 0;
        }
        if (pfn < c->nr_pfns && c->types[pfn] == 0xf) {
            mfns[n++] = c->p2m[pfn];
            c->p2m[pfn] = INVALID_P2M_ENTRY;
        }
    }
    return 0;
}

/* Pins the tables that were pinned, lowest level first. */
static int pin_tables(struct restore_ctx *c)
{
    static const unsigned int cmd[5] = { 0, MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE,
                                         MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE };
    static struct mmuext_op ops[64];

    for (unsigned int level = 1; level <= 4; level++) {
        unsigned int n = 0;
        for (uint64_t pfn = 0; pfn <= c->nr_pfns; pfn++) {
            if (n == ARRAY_SIZE(ops) || (pfn == c->nr_pfns && n)) {
                if (xc_mmuext_op(c->xch, ops, n, c->domid) < 0)
                    return fail(c, -errno, "the hypervisor refused a pinned L%u table of the "
                                "stream (%d)", level, errno);
                n = 0;
            }
            if (pfn < c->nr_pfns && c->types[pfn] == (0x8 | level)) {
                ops[n].cmd = cmd[level];
                ops[n].arg1.mfn = c->p2m[pfn];
                n++;
            }
        }
    }
    return 0;
}

/* start_info and shared_info of the new domain, then its vCPU. */
static int finish(struct restore_ctx *c, struct lsr_vcpu *v, const struct lsr_shared_info *sh,
                  const struct lsr_start_info *si, struct xc_sr_restored *out)
{
    struct vcpu_guest_context *x = &v->ctx;
    xc_dominfo_t info;
    int rc;

    if (si->pfn >= c->nr_pfns || si->store_pfn >= c->nr_pfns || si->console_pfn >= c->nr_pfns ||
        sh->fll_pfn >= c->nr_pfns || sh->max_pfn != c->nr_pfns)
        return fail(c, -XEN_EINVAL, "start_info or shared_info names a pfn beyond the domain");
    if (xc_domain_getinfo(c->xch, c->domid, 1, &info) != 1)
        return fail(c, -errno, "getdomaininfo failed");
    int store = xc_evtchn_alloc_unbound(c->xch, c->domid, 0);
    int cons = store < 0 ? -1 : xc_evtchn_alloc_unbound(c->xch, c->domid, 0);
    if (cons < 0)
        return fail(c, -errno, "cannot allocate the store and console event channels");
    out->store_mfn = c->p2m[si->store_pfn];
    out->console_mfn = c->p2m[si->console_pfn];
    out->store_evtchn = (uint32_t)store;
    out->console_evtchn = (uint32_t)cons;

    start_info_t *s = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                           XC_PROT_READ | XC_PROT_WRITE, c->p2m[si->pfn]);
    if (!s)
        return fail(c, -errno, "cannot map start_info");
    s->shared_info = (uint64_t)info.shared_info_frame << XC_PAGE_SHIFT;
    s->store_mfn = out->store_mfn;
    s->store_evtchn = out->store_evtchn;
    s->console.domU.mfn = out->console_mfn;
    s->console.domU.evtchn = out->console_evtchn;
    s->nr_pages = c->nr_pfns;
    xc_unmap_foreign(c->xch, s, XC_PAGE_SIZE);

    struct shared_info *shp = xc_map_foreign_range(c->xch, c->domid, XC_PAGE_SIZE,
                                                   XC_PROT_READ | XC_PROT_WRITE,
                                                   info.shared_info_frame);
    if (!shp)
        return fail(c, -errno, "cannot map the new shared_info");
    shp->arch.max_pfn = c->nr_pfns;
    shp->arch.pfn_to_mfn_frame_list_list = c->p2m[sh->fll_pfn];
    shp->vcpu_info[0].evtchn_upcall_mask = sh->upcall_mask;
    /* The guest binds its channels again; until it unmasks one, none fires
     * (Xen's restore masks them all too). */
    memset(shp->evtchn_pending, 0, sizeof(shp->evtchn_pending));
    memset(shp->evtchn_mask, 0xff, sizeof(shp->evtchn_mask));
    xc_unmap_foreign(c->xch, shp, XC_PAGE_SIZE);

    if ((rc = pin_tables(c)))
        return rc;
    uint64_t l4 = xen_cr3_to_pfn(x->ctrlreg[3]), ul4 = xen_cr3_to_pfn(x->ctrlreg[1]);
    if (l4 >= c->nr_pfns || ul4 >= c->nr_pfns || x->gdt_ents > 16 * 512)
        return fail(c, -XEN_EINVAL, "the vCPU context names a pfn beyond the domain");
    x->ctrlreg[3] = xen_pfn_to_cr3(c->p2m[l4]);
    x->ctrlreg[1] = x->ctrlreg[1] ? xen_pfn_to_cr3(c->p2m[ul4]) : 0;
    for (unsigned int i = 0; i < (x->gdt_ents + 511) / 512; i++) {
        if (x->gdt_frames[i] >= c->nr_pfns)
            return fail(c, -XEN_EINVAL, "GDT frame %u is beyond the domain", i);
        x->gdt_frames[i] = c->p2m[x->gdt_frames[i]];
    }
    x->user_regs.rdx = c->p2m[si->pfn];
    x->user_regs.rax = 0;               /* SCHEDOP_shutdown returns 0: resumed */
    if (xc_vcpu_setcontext(c->xch, c->domid, 0, (vcpu_guest_context_any_t *)x) < 0)
        return fail(c, -errno, "the hypervisor refused the stream's vCPU context (%d)", errno);
    return 0;
}

/* A record the caller owns: read whole, handed over. */
static int pass_record(struct restore_ctx *c, uint32_t type, uint32_t len,
                       int (*record)(void *, uint32_t, const void *, uint32_t), void *opaque)
{
    uint32_t max = type == LSR_IMAGE ? LSR_IMAGE_MAX : LSR_CONFIG_MAX;
    int rc;

    if (len > max)
        return fail(c, -XEN_EINVAL, "record %u of %u bytes (at most %u)", type, len, max);
    if (!record)
        return (rc = rd(c, NULL, len)) ? rc : skip_pad(c, len);
    void *buf = kmalloc(len + 1);
    if (!buf)
        return fail(c, -XEN_ENOMEM, "dom0 has no memory for a %u-byte record", len);
    if (!(rc = rd(c, buf, len)) && !(rc = skip_pad(c, len))) {
        ((char *)buf)[len] = 0;
        if ((rc = record(opaque, type, buf, len)) > 0)
            return 0;               /* the toolstack kept the buffer */
        if (rc)
            fail(c, rc, "the toolstack refused record %u", type);
    }
    kfree(buf);
    return rc;
}

/* The state records of one checkpoint (or of the whole stream). */
struct sr_state {
    struct lsr_vcpu v;
    struct lsr_shared_info sh;
    struct lsr_start_info si;
    uint64_t frames[LSR_PFNS_MAX / 512];
    unsigned int nr_frames, seen;       /* seen: 1 vCPU, 2 shared_info, 4 start_info, 8 P2M */
};

/* One state record of type/len into *x. */
static int read_state(struct restore_ctx *c, struct sr_state *x, uint32_t type, uint32_t len)
{
    int rc;

    if (type == LSR_P2M_FRAMES) {
        if (len % 8 || len / 8 > ARRAY_SIZE(x->frames))
            return fail(c, -XEN_EINVAL, "a P2M_FRAMES record of %u bytes", len);
        x->nr_frames = len / 8;
        if (!(rc = rd(c, x->frames, len)) && !(rc = skip_pad(c, len)))
            x->seen |= 8;
        return rc;
    }
    void *dst = type == LSR_VCPU ? (void *)&x->v : type == LSR_SHARED_INFO ?
                (void *)&x->sh : (void *)&x->si;
    uint32_t want = type == LSR_VCPU ? sizeof(x->v) : type == LSR_SHARED_INFO ?
                    sizeof(x->sh) : sizeof(x->si);
    if (len != want)
        return fail(c, -XEN_EINVAL, "record %u has %u bytes, not %u", type, len, want);
    if (!(rc = rd(c, dst, want)) && !(rc = skip_pad(c, len)))
        x->seen |= type == LSR_VCPU ? 1 : type == LSR_SHARED_INFO ? 2 : 4;
    return rc;
}

/* The frames hold state x: the last steps, then the vCPU. */
static int build_state(struct restore_ctx *c, struct sr_state *x, struct xc_sr_restored *out)
{
    int rc;

    if (x->seen != 0xf)
        return fail(c, -XEN_EINVAL, "the stream ends without its vCPU, shared_info, "
                    "start_info or P2M record");
    if (!(rc = release_absent(c)) && !(rc = write_p2m(c, x->frames, x->nr_frames)))
        rc = finish(c, &x->v, &x->sh, &x->si, out);
    return rc;
}

int xc_sr_restore(xc_interface *xch, uint32_t domid, const struct lsr_domain *dom,
                  const struct xc_sr_io *io,
                  int (*record)(void *opaque, uint32_t type, const void *body, uint32_t len),
                  void *opaque, struct xc_sr_backup *bk, struct xc_sr_restored *out,
                  struct xc_sr_stats *st, char *why, size_t whylen)
{
    /* The stream's state, and a checkpointed stream's last whole one. */
    static struct sr_state cur, done;
    struct restore_ctx c = { .xch = xch, .domid = domid, .io = io, .nr_pfns = dom->nr_pfns,
                             .why = why, .whylen = whylen };
    bool committed = false;
    int rc = 0;

    uint64_t t_start = arch_now_ns();

    why[0] = 0;
    memset(st, 0, sizeof(*st));
    memset(&cur, 0, sizeof(cur));
    if (bk) {
        bk->epoch = 0;
        c.maxbuf = bk->buffer_pages ? bk->buffer_pages : 1;
        c.buf_pfn_type = kmalloc((size_t)c.maxbuf * 8);
        c.chunk = kzalloc(((size_t)c.maxbuf + CK_CHUNK - 1) / CK_CHUNK * sizeof(uint8_t *));
        if (!c.buf_pfn_type || !c.chunk) {
            rc = fail(&c, -XEN_ENOMEM, "dom0 has no memory for a checkpoint buffer");
            goto out;
        }
    }
    c.p2m = kmalloc(c.nr_pfns * sizeof(xen_pfn_t));
    c.types = kmalloc(c.nr_pfns);
    if (!c.p2m || !c.types) {
        rc = fail(&c, -XEN_ENOMEM, "dom0 has no memory for a P2M of %lu pages",
                  (unsigned long)c.nr_pfns);
        goto out;
    }
    memset(c.types, 0xf, c.nr_pfns);
    for (uint64_t i = 0; i < c.nr_pfns; i++)
        c.p2m[i] = i;
    for (uint64_t i = 0; i < c.nr_pfns; i += LSR_BATCH) {
        unsigned long n = c.nr_pfns - i < LSR_BATCH ? c.nr_pfns - i : LSR_BATCH;
        if (xc_domain_populate_physmap_exact(xch, domid, n, 0, 0, c.p2m + i) < 0) {
            rc = fail(&c, errno == XEN_ENOMEM ? -XEN_ENOMEM : -errno,
                      "cannot give the domain its %lu MiB (%d)",
                      (unsigned long)(c.nr_pfns / 256), errno);
            goto out;
        }
    }
    st->populate_ns = arch_now_ns() - t_start;

    for (;;) {
        struct lsr_rhdr r;
        if ((rc = rd(&c, &r, sizeof(r))))
            goto out;
        switch (r.type) {
        case LSR_END:
            st->end_ns = arch_now_ns();
            if (bk) {
                /* The primary stopped replicating: it runs on, this copy goes. */
                rc = fail(&c, -XEN_ENOTCONN, "the primary stopped the replication after "
                          "checkpoint %lu", (unsigned long)bk->epoch);
                goto out;
            }
            rc = build_state(&c, &cur, out);
            goto out;
        case LSR_CHECKPOINT: {
            struct lsr_checkpoint ck;
            if (!bk || r.length != sizeof(ck)) {
                rc = fail(&c, -XEN_EINVAL, bk ? "a CHECKPOINT record of %u bytes" :
                          "a CHECKPOINT record in a stream that is not checkpointed", r.length);
                goto out;
            }
            if ((rc = rd(&c, &ck, sizeof(ck))) || (rc = skip_pad(&c, r.length)))
                goto out;
            if (cur.seen != 0xf || ck.epoch != bk->epoch + 1) {
                rc = fail(&c, -XEN_EINVAL, "checkpoint %lu after %lu, or without its vCPU, "
                          "shared_info, start_info or P2M record", (unsigned long)ck.epoch,
                          (unsigned long)bk->epoch);
                goto out;
            }
            if ((rc = apply_buffer(&c, st)))
                goto out;
            done = cur;
            cur.seen = 0;
            committed = true;
            c.buffering = true;         /* the next epoch waits for its CHECKPOINT */
            bk->epoch = ck.epoch;
            if (bk->checkpoint && (rc = bk->checkpoint(bk->opaque, ck.epoch)) < 0) {
                fail(&c, rc, "acknowledging checkpoint %lu failed", (unsigned long)ck.epoch);
                goto out;
            }
            rc = 0;
            break;
        }
        case LSR_PAGE_DATA:
            rc = restore_pages(&c, r.length, st);
            break;
        case LSR_VCPU:
        case LSR_SHARED_INFO:
        case LSR_START_INFO:
        case LSR_P2M_FRAMES:
            rc = read_state(&c, &cur, r.type, r.length);
            break;
        case LSR_EVTCHN:
        case LSR_GNTTAB:                /* informative: the guest rebinds */
            if (!(rc = rd(&c, NULL, r.length)))
                rc = skip_pad(&c, r.length);
            break;
        case LSR_CONFIG:
        case LSR_IMAGE:
            rc = pass_record(&c, r.type, r.length, record, opaque);
            break;
        default:
            rc = fail(&c, -XEN_EINVAL, "unknown record type %u", r.type);
            break;
        }
        if (rc)
            goto out;
    }
out:
    if (bk && rc && c.read_failed && committed) {
        /* Failover: the stream ended mid-epoch (the primary is gone).  The
         * frames hold the last whole checkpoint; the rest is dropped. */
        st->end_ns = arch_now_ns();
        bk->failover_pages = c.nbuf;
        c.nbuf = 0;
        why[0] = 0;
        rc = build_state(&c, &done, out);
    }
    st->build_ns = arch_now_ns() - t_start;
    if (c.chunk)
        for (uint32_t k = 0; k < (c.maxbuf + CK_CHUNK - 1) / CK_CHUNK; k++)
            kfree(c.chunk[k]);
    kfree(c.chunk);
    kfree(c.buf_pfn_type);
    kfree(c.p2m);
    kfree(c.types);
    return rc;
}
