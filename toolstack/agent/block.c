/*
 * block.c - the agent's side of virtual disks: a domain's vbds (the
 * virtio-blk PCI slots hostd plugged its images into) handed to blkback
 * when the domain starts and taken back when it goes; once blkback lets go
 * of a slot it is announced to hostd as "L vbd-removed slot=S", hostd asks
 * QEMU to unplug it, and the slot is ejected here (ACPI PCI hot-plug) when
 * QEMU's removal request shows; the commands block-list, block-attach,
 * block-detach (docs/cli.md) and blk-bench (the dom0-direct benchmark:
 * dom0 driving the disk itself, docs/block.md).
 *
 * Runs in dom0, agent thread only.
 */
#include "xenctrl.h"
#include "blkback.h"
#include "virtio_blk.h"
#include "kernel.h"
#include <pv/mm.h>
#include "agent.h"
#include "agent_priv.h"
#include "pio.h"

#define ACPI_PCIHP_DOWN  0xae04         /* QEMU's PIIX4 PCI hot-plug: removal requested */
#define ACPI_PCIHP_EJECT 0xae08         /* ... eject, bit per slot */
#define SLOT_WAIT_NS     5000000000ULL

static uint32_t eject_pending;          /* slots to eject once blkback is done */

/* "slot:devid:r|w:params" (hostd's form, params percent-decoded). */
int block_parse_arg(const char *v, struct dom_vbd *out, char *msg, size_t n)
{
    uint64_t slot = 0, devid = 0;
    const char *p = v;

    while (*p >= '0' && *p <= '9')
        slot = slot * 10 + (uint64_t)(*p++ - '0');
    if (*p++ != ':' || slot == 0 || slot > 31)
        goto bad;
    while (*p >= '0' && *p <= '9')
        devid = devid * 10 + (uint64_t)(*p++ - '0');
    if (*p++ != ':' || devid == 0 || devid > 0xffffffffULL || (*p != 'r' && *p != 'w') ||
        p[1] != ':')
        goto bad;
    out->slot = (uint8_t)slot;
    out->devid = (uint32_t)devid;
    out->readonly = *p == 'r';
    strlcpy_k(out->params, p + 2, sizeof(out->params));
    return 0;
bad:
    ksnprintf(msg, n, "vbdN= must be slot:devid:r|w:path (hostd's form), not '%.60s'", v);
    return -XEN_EINVAL;
}

/* Runs blkback's control side until no vbd uses slot, or a timeout. */
static bool wait_slot(unsigned int slot)
{
    uint64_t end = arch_now_ns() + SLOT_WAIT_NS;

    while (!blkback_slot_free(slot) && arch_now_ns() < end) {
        blkback_control();
        thread_sleep_ns(1000000ULL);
    }
    return blkback_slot_free(slot);
}

static const char *vdev_name(uint32_t devid, char *b)
{
    b[0] = 'x'; b[1] = 'v'; b[2] = 'd';
    b[3] = (char)('a' + ((devid >> 4) & 15));
    b[4] = 0;
    return b;
}

int agent_block_start(struct dom_entry *d, char *msg, size_t msglen)
{
    static bool started;
    int rc;

    for (unsigned int i = 0; i < DOM_MAX_VBDS; i++) {
        struct dom_vbd *b = &d->cfg.vbd[i];
        char name[8];

        if (!b->slot)
            continue;
        if (!started) {
            if ((rc = blkback_start(agent.xch))) {
                ksnprintf(msg, msglen, "cannot start blkback (%s)", proto_errno_name(-rc));
                return rc;
            }
            started = true;
        }
        if (!wait_slot(b->slot)) {
            ksnprintf(msg, msglen, "disk %s: its PCI slot %u is still in use", vdev_name(b->devid, name),
                      b->slot);
            return -XEN_EBUSY;
        }
        rc = blkback_add(d->domid, b->devid, b->slot, b->readonly, b->params);
        if (rc) {
            ksnprintf(msg, msglen, "disk %s (%s): blkback cannot serve it (%s)",
                      vdev_name(b->devid, name), b->params, proto_errno_name(-rc));
            return rc;
        }
    }
    return 0;
}

void agent_block_stop(struct dom_entry *d)
{
    blkback_remove_domain(d->domid);
}

void agent_block_release(struct dom_entry *d)
{
    for (unsigned int i = 0; i < DOM_MAX_VBDS; i++)
        if (d->cfg.vbd[i].slot) {
            eject_pending |= 1u << d->cfg.vbd[i].slot;
            d->cfg.vbd[i].slot = 0;
        }
}

bool agent_block_releasing(void)
{
    return eject_pending != 0;
}

void agent_block_wait_released(void)
{
    for (uint64_t t = arch_now_ns(); agent_block_releasing() &&
                                     arch_now_ns() - t < 5000000000ULL;) {
        (void)agent_serve_rings();
        agent_idle();
        thread_sleep_ns(1000000);
    }
}

/* True if a domain's configuration holds slot s. */
static bool slot_assigned(unsigned int s)
{
    for (struct dom_entry *d = dom_next(NULL); d; d = dom_next(d))
        for (unsigned int i = 0; i < DOM_MAX_VBDS; i++)
            if (d->cfg.vbd[i].slot == s)
                return true;
    return false;
}

void agent_block_poll(void)
{
    static uint64_t last_down;
    uint64_t now = arch_now_ns();

    blkback_control();
    for (unsigned int s = 1; s < 32; s++) {
        if (!(eject_pending & (1u << s)) || !blkback_slot_free(s))
            continue;
        eject_pending &= ~(1u << s);
        proto_send_log("vbd-removed slot=%u", s);       /* hostd unplugs it */
    }
    /* QEMU's hot-unplug requests (hostd's device_del): eject what nobody
     * uses; a slot still in use waits. */
    if (now - last_down < 50000000ULL)
        return;
    last_down = now;
    uint32_t down = pio_inl(ACPI_PCIHP_DOWN);
    for (unsigned int s = 1; s < 32; s++)
        if ((down & (1u << s)) && blkback_slot_free(s) && !slot_assigned(s))
            pio_outl(ACPI_PCIHP_EJECT, 1u << s);
}

/* ---- commands ------------------------------------------------------------------ */

void cmd_block_list(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", NULL };
    static struct blkback_stats st[BLKBACK_MAX_VBDS];
    struct dom_entry *d;
    uint32_t domid;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    unsigned int n = blkback_list(domid, st, BLKBACK_MAX_VBDS);
    for (unsigned int i = 0; i < n; i++) {
        char name[8];
        const char *params = "";

        for (unsigned int k = 0; d && k < DOM_MAX_VBDS; k++)
            if (d->cfg.vbd[k].slot && d->cfg.vbd[k].devid == st[i].devid)
                params = d->cfg.vbd[k].params;
        rec_start(r);
        proto_line_kvu(rec_line(), "devid", st[i].devid);
        proto_line_kvs(rec_line(), "vdev", vdev_name(st[i].devid, name));
        proto_line_kvu(rec_line(), "state", (uint64_t)st[i].state);
        proto_line_kvs(rec_line(), "mode", st[i].readonly ? "r" : "w");
        proto_line_kvu(rec_line(), "sectors", st[i].sectors);
        proto_line_kvu(rec_line(), "reqs", st[i].reqs);
        proto_line_kvu(rec_line(), "errors", st[i].errors);
        proto_line_kvu(rec_line(), "bytes", st[i].bytes);
        proto_line_kvu(rec_line(), "inflight", st[i].inflight);
        proto_line_kvs(rec_line(), "target", params);
        rec_send();
    }
    proto_send_ok(r->id);
}

void cmd_block_attach(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "vbd0", NULL };
    struct dom_entry *d;
    struct dom_vbd b;
    uint32_t domid;
    char msg[160];
    int rc;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!d) {
        proto_send_err(r->id, XEN_EINVAL, "block-attach: only domains made by create take disks");
        return;
    }
    const char *v = proto_arg(r, "vbd0", NULL);
    if (!v || (rc = block_parse_arg(v, &b, msg, sizeof(msg)))) {
        proto_send_err(r->id, XEN_EINVAL, "%s", v ? msg : "block-attach: missing vbd0=");
        return;
    }
    unsigned int free_i = DOM_MAX_VBDS;
    for (unsigned int i = 0; i < DOM_MAX_VBDS; i++) {
        if (d->cfg.vbd[i].slot && d->cfg.vbd[i].devid == b.devid) {
            proto_send_err(r->id, XEN_EEXIST, "domain %u has a disk %u already", domid, b.devid);
            return;
        }
        if (!d->cfg.vbd[i].slot && free_i == DOM_MAX_VBDS)
            free_i = i;
    }
    if (free_i == DOM_MAX_VBDS) {
        proto_send_err(r->id, XEN_ENOSPC, "domain %u has %u disks, the most it may have", domid,
                       DOM_MAX_VBDS);
        return;
    }
    struct dom_config one = { 0 };
    struct dom_entry tmp = *d;
    one.vbd[0] = b;
    tmp.cfg = one;
    tmp.domid = domid;
    if ((rc = agent_block_start(&tmp, msg, sizeof(msg)))) {
        proto_send_err(r->id, -rc, "%s", msg);
        return;
    }
    d->cfg.vbd[free_i] = b;
    proto_send_ok(r->id);
}

void cmd_block_detach(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "devid", NULL };
    struct dom_entry *d;
    uint32_t domid;
    uint64_t devid;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!proto_parse_u64(proto_arg(r, "devid", NULL) ?: "", &devid) || !d) {
        proto_send_err(r->id, XEN_EINVAL, "block-detach: needs dom= and devid= of a disk");
        return;
    }
    for (unsigned int i = 0; i < DOM_MAX_VBDS; i++) {
        struct dom_vbd *b = &d->cfg.vbd[i];

        if (!b->slot || b->devid != devid)
            continue;
        (void)blkback_remove(domid, b->devid);
        eject_pending |= 1u << b->slot;
        b->slot = 0;
        proto_send_ok(r->id);
        return;
    }
    proto_send_err(r->id, XEN_ENOENT, "domain %u has no disk %lu", domid, (unsigned long)devid);
}

void cmd_blkback_mode(const struct proto_req *r)
{
    static const char *const allowed[] = { "copy", "persistent", NULL };
    uint64_t copy, pers;

    if (!args_ok(r, allowed))
        return;
    if (proto_arg(r, "copy", NULL)) {
        if (!proto_parse_u64(proto_arg(r, "copy", NULL), &copy) || copy > 1) {
            proto_send_err(r->id, XEN_EINVAL, "blkback-mode copy=0 (grant mapping) or 1 (grant copy)");
            return;
        }
        blkback_set_copy_mode(copy);
    }
    if (proto_arg(r, "persistent", NULL)) {
        if (!proto_parse_u64(proto_arg(r, "persistent", NULL), &pers) || pers > 1) {
            proto_send_err(r->id, XEN_EINVAL, "blkback-mode persistent=0|1");
            return;
        }
        blkback_set_persistent(pers);
    }
    rec_start(r);
    proto_line_kvs(rec_line(), "mode", blkback_copy_mode() ? "copy" : "map");
    proto_line_kvu(rec_line(), "persistent", blkback_persistent());
    rec_send();
    proto_send_ok(r->id);
}

/* ---- dom0-direct benchmark -------------------------------------------------------- */

struct bench {
    unsigned int done, failed;
};

static void bench_done(void *cookie, int status)
{
    struct bench *b = cookie;

    b->done++;
    if (status)
        b->failed++;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* mode 0/1: bytes in req-byte requests, sequential, 4 in flight; mode 2:
 * ios random 4 KiB reads, qd in flight.  Buffers: dom0 pages, by MFN. */
static int run_bench(struct vblk *vb, int mode, uint64_t bytes, unsigned int req, unsigned int ios,
                     unsigned int qd, uint64_t *ns)
{
    unsigned int pages_per = mode == 2 ? 1 : req / XC_PAGE_SIZE;
    unsigned int depth = mode == 2 ? qd : 4;
    unsigned int npages = pages_per * depth;
    uint64_t pfn = core_alloc_frames(npages);
    static struct vblk_seg segs[VBLK_MAX_SEGS];
    struct bench b = { 0, 0 };
    uint64_t total = mode == 2 ? ios : bytes / req, issued = 0, sector = 0, seed = 88172645463325252ULL;
    uint64_t disk_pages = vblk_sectors(vb) / 8;

    if (!pfn)
        return -XEN_ENOMEM;
    uint64_t t0 = arch_now_ns();
    while (b.done < total) {
        vblk_plug(vb);
        while (issued < total && issued - b.done < depth) {
            unsigned int k = (unsigned int)(issued % depth);
            uint64_t at;

            for (unsigned int i = 0; i < pages_per; i++) {
                segs[i].maddr = pv_pfn_to_mfn(pfn + k * pages_per + i) << XC_PAGE_SHIFT;
                segs[i].len = XC_PAGE_SIZE;
            }
            if (mode == 2) {
                at = (rng_next(&seed) % disk_pages) * 8;
            } else {
                at = sector;
                sector += req / VBLK_SECTOR_SIZE;
                if (sector + req / VBLK_SECTOR_SIZE > vblk_sectors(vb))
                    sector = 0;
            }
            int rc = vblk_submit(vb, mode == 1 ? VBLK_WRITE : VBLK_READ, at, segs, pages_per, &b);
            if (rc == -XEN_EAGAIN)
                break;
            if (rc) {
                core_free_frames(pfn, npages);
                return rc;
            }
            issued++;
        }
        vblk_unplug(vb);
        if (!vblk_poll(vb, bench_done))
            (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
    *ns = arch_now_ns() - t0;
    core_free_frames(pfn, npages);
    return b.failed ? -XEN_EIO : 0;
}

void cmd_blk_bench(const struct proto_req *r)
{
    static const char *const allowed[] = { "vbd0", "mode", "bytes", "req", "ios", "qd", NULL };
    uint64_t slot = 0, mode, bytes = 256ULL << 20, req = 1 << 20, ios = 20000, qd = 32, ns = 0;
    struct dom_vbd b;
    struct vblk *vb;
    char msg[160];
    int rc;

    if (!args_ok(r, allowed))
        return;
    if (proto_arg(r, "vbd0", NULL) && !block_parse_arg(proto_arg(r, "vbd0", NULL), &b, msg, sizeof(msg)))
        slot = b.slot;
    if (slot == 0 ||
        !proto_parse_u64(proto_arg(r, "mode", NULL) ?: "", &mode) || mode > 2 ||
        (proto_arg(r, "bytes", NULL) && !proto_parse_u64(proto_arg(r, "bytes", NULL), &bytes)) ||
        (proto_arg(r, "req", NULL) && !proto_parse_u64(proto_arg(r, "req", NULL), &req)) ||
        (proto_arg(r, "ios", NULL) && !proto_parse_u64(proto_arg(r, "ios", NULL), &ios)) ||
        (proto_arg(r, "qd", NULL) && !proto_parse_u64(proto_arg(r, "qd", NULL), &qd)) ||
        req % XC_PAGE_SIZE || req == 0 || req / XC_PAGE_SIZE > VBLK_MAX_SEGS || qd == 0 ||
        qd > 256 || ios == 0 || bytes < req) {
        proto_send_err(r->id, XEN_EINVAL, "blk-bench vbd0=SLOT:DEVID:r|w:PATH mode=0|1|2 "
                                          "[bytes= req= ios= qd=]");
        return;
    }
    if (!blkback_slot_free((unsigned int)slot)) {
        proto_send_err(r->id, XEN_EBUSY, "slot %lu is a domain's disk", (unsigned long)slot);
        return;
    }
    if (!(vb = vblk_open(agent.xch, (unsigned int)slot, &rc))) {
        proto_send_err(r->id, -rc, "no usable virtio-blk disk in slot %lu (%s)",
                       (unsigned long)slot, proto_errno_name(-rc));
        return;
    }
    rc = run_bench(vb, (int)mode, bytes, (unsigned int)req, (unsigned int)ios, (unsigned int)qd, &ns);
    vblk_close(vb);
    if (rc) {
        proto_send_err(r->id, -rc, "blk-bench failed (%s)", proto_errno_name(-rc));
        return;
    }
    rec_start(r);
    proto_line_kvu(rec_line(), "ns", ns);
    proto_line_kvu(rec_line(), "bytes", mode == 2 ? ios * 4096 : (bytes / req) * req);
    proto_line_kvu(rec_line(), "ios", mode == 2 ? ios : bytes / req);
    rec_send();
    proto_send_ok(r->id);
}
