/*
 * save.c - the agent's `save` and `restore` commands (docs/save-format.md,
 * docs/toolstack.md section 4): a PV domain to the host through the
 * dom0 -> host bulk ring, and back through the host -> dom0 one.
 *
 * Runs in dom0 (toolstack agent thread).  Save asks the guest to suspend
 * (control/shutdown = "suspend", as xl does), waits for SHUTDOWN_suspend,
 * writes the stream (toolstack/libxc/xc_sr_save.c), then destroys the
 * domain, or resumes it in place when the save failed or a snapshot was
 * asked for (live=1): the guest's SCHEDOP_shutdown then returns 1,
 * "cancelled", as after xc_domain_resume.  Restore is create with another
 * builder: the stream instead of a kernel image.
 */
#include "xenctrl.h"
#include "xc_dom_build.h"
#include "xc_sr.h"
#include "consback.h"
#include "xenstored.h"
#include "kernel.h"
#include "agent_priv.h"
#include "bulk.h"
#include "serial.h"

#define SUSPEND_WAIT_NS  10000000000ULL  /* the guest has 10 s to suspend */
#define STREAM_IDLE_NS   10000000000ULL  /* the host must move data within 10 s */
#define CONFIG_TEXT_MAX  LSR_CONFIG_MAX
#define REMUS_BUFFER_PAGES 8192          /* a backup holds one checkpoint of <= 32 MiB */

/* ---- the stream over the bulk rings --------------------------------------- */

static int ring_write(void *opaque, const void *buf, size_t len)
{
    struct agent_stream *r = opaque;
    int rc = bulk_write(buf, len, STREAM_IDLE_NS, agent_idle);

    if (!rc)
        r->bytes += len;
    return rc;
}

static int ring_read(void *opaque, void *buf, size_t len)
{
    struct agent_stream *r = opaque;

    if (len > r->limit - r->bytes)
        return -XEN_EIO;                /* past what the host sends */
    size_t got = bulk_read(buf, len, NULL, r->idle_ns ? r->idle_ns : STREAM_IDLE_NS,
                           r->idle ? r->idle : agent_idle, NULL);
    r->bytes += got;
    return got == len ? 0 : -XEN_EIO;
}

void agent_stream_init(struct agent_stream *s, struct dom_entry *d)
{
    memset(s, 0, sizeof(*s));
    s->io = (struct xc_sr_io){ ring_write, ring_read, s };
    s->d = d;
}

/* ---- save ------------------------------------------------------------------- */

/* The CONFIG record: what `restore` is given back as create's arguments,
 * one key=value per line, values percent-encoded (section 4). */
static size_t config_text(const struct dom_entry *d, char *out, size_t cap)
{
    static const char *const crash[] = { "destroy", "restart", "preserve", "restore" };
    const struct dom_config *c = &d->cfg;
    char enc[DOM_CMDLINE_MAX * 3 + 1], raw[DOM_PARAMS_MAX + 32];
    size_t n = 0;

    proto_pct_encode(enc, sizeof(enc), c->name, strlen(c->name));
    n += (size_t)ksnprintf(out + n, cap - n, "name=%s\ntype=pv\nmemory=%lu\n", enc,
                           (unsigned long)c->memory_mib);
    proto_pct_encode(enc, sizeof(enc), c->cmdline, strlen(c->cmdline));
    n += (size_t)ksnprintf(out + n, cap - n, "cmdline=%s\non_crash=%s\n", enc,
                           crash[c->on_crash]);
    for (unsigned int i = 0; i < DOM_MAX_VBDS && n < cap; i++) {
        if (!c->vbd[i].slot)
            continue;
        ksnprintf(raw, sizeof(raw), "%u:%c:%s", c->vbd[i].devid,
                  c->vbd[i].readonly ? 'r' : 'w', c->vbd[i].params);
        proto_pct_encode(enc, sizeof(enc), raw, strlen(raw));
        n += (size_t)ksnprintf(out + n, cap - n, "disk%u=%s\n", i, enc);
    }
    for (unsigned int i = 0; i < DOM_MAX_VIFS && n < cap; i++) {
        const struct dom_vif *v = &c->vif[i];
        if (!v->used)
            continue;
        ksnprintf(raw, sizeof(raw), "%u:%02x%02x%02x%02x%02x%02x:%s:%lu:%lu", v->handle,
                  v->mac[0], v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5], v->ip,
                  (unsigned long)v->rate_bytes, (unsigned long)v->rate_usec);
        proto_pct_encode(enc, sizeof(enc), raw, strlen(raw));
        n += (size_t)ksnprintf(out + n, cap - n, "vif%u=%s\n", i, enc);
    }
    return n < cap ? n : cap - 1;
}

int agent_stream_extra(void *opaque)
{
    static char text[CONFIG_TEXT_MAX];
    struct agent_stream *x = opaque;
    size_t n = config_text(x->d, text, sizeof(text));
    int rc = xc_sr_write_record(&x->io, LSR_CONFIG, text, (uint32_t)n);

    return rc ? rc : xc_sr_write_record(&x->io, LSR_IMAGE, x->d->image,
                                        (uint32_t)x->d->image_len);
}

/* Waits until domid has suspended itself; false on timeout or another end. */
static bool wait_suspended(uint32_t domid, xc_dominfo_t *info)
{
    uint64_t t0 = arch_now_ns();

    while (arch_now_ns() - t0 < SUSPEND_WAIT_NS) {
        if (xc_domain_getinfo(agent.xch, domid, 1, info) != 1 || info->domid != domid)
            return false;
        if (info->shutdown || info->crashed)
            return info->shutdown && info->shutdown_reason == SHUTDOWN_suspend;
        agent_idle();
        (void)agent_serve_rings();      /* the guest's xenstore requests */
        thread_sleep_ns(200000);
    }
    return false;
}

int agent_suspend_domain(uint32_t domid, xc_dominfo_t *info)
{
    char path[64];

    ksnprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    if (xs_store_write(agent.store, path, "suspend", 7) < 0)
        return -XEN_EIO;
    if (!wait_suspended(domid, info)) {
        (void)xs_store_write(agent.store, path, "", 0);
        return -XEN_ETIMEDOUT;
    }
    return 0;
}

/* xc_sr_live's callbacks for a migration's pre-copy. */
struct live_job {
    uint32_t domid;
    struct dom_entry *d;
    uint64_t t_suspended;
};

static int live_suspend(void *opaque)
{
    struct live_job *j = opaque;
    xc_dominfo_t info;
    int rc = agent_suspend_domain(j->domid, &info);

    j->t_suspended = arch_now_ns();
    if (rc == 0 && j->d->cons)
        (void)consback_poll(j->d->cons);    /* its last words on this machine */
    return rc;
}

static void live_poll(void *opaque)
{
    (void)opaque;
    agent_idle();
    (void)agent_serve_rings();          /* it runs: its rings need dom0 */
}

int agent_resume_in_place(uint32_t domid)
{
    static vcpu_guest_context_any_t vc;

    if (xc_vcpu_getcontext(agent.xch, domid, 0, &vc) < 0)
        return -errno;
    vc.x64.user_regs.rax = 1;
    if (xc_vcpu_setcontext(agent.xch, domid, 0, &vc) < 0 ||
        xc_domain_resume_cooperative(agent.xch, domid) < 0)
        return -errno;
    return 0;
}

void cmd_save(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "live", "migrate", "rounds", "threshold",
                                           NULL };
    static struct agent_stream x;
    struct xc_sr_stats st;
    struct dom_entry *d;
    xc_dominfo_t info;
    uint32_t domid;
    uint64_t live = 0, migrate = 0, rounds = 8, threshold = 50;
    char why[200];
    const char *v, *bwhy;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if ((v = proto_arg(r, "live", NULL)) && (!proto_parse_u64(v, &live) || live > 1)) {
        proto_send_err(r->id, XEN_EINVAL, "live= must be 0 or 1");
        return;
    }
    if (((v = proto_arg(r, "migrate", NULL)) && (!proto_parse_u64(v, &migrate) || migrate > 1)) ||
        ((v = proto_arg(r, "rounds", NULL)) && (!proto_parse_u64(v, &rounds) || rounds < 1 ||
                                                rounds > LSR_ROUNDS_MAX)) ||
        ((v = proto_arg(r, "threshold", NULL)) && !proto_parse_u64(v, &threshold)) ||
        (live && migrate)) {
        proto_send_err(r->id, XEN_EINVAL, "migrate= must be 0 or 1 (not with live=1), rounds= "
                       "1-%u, threshold= a page count", LSR_ROUNDS_MAX);
        return;
    }
    if (domid == 0 || !d) {
        proto_send_err(r->id, XEN_EINVAL, domid == 0 ? "Domain-0 cannot be saved" :
                       "domain %u was not created by the toolstack; only those can be saved",
                       domid);
        return;
    }
    if (d->cfg.unmodified) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, "domain %u (%s) is unmodified: only PV domains "
                       "can be saved so far", domid, d->cfg.name);
        return;
    }
    if (d->preserved || d->saving || agent_remus_active()) {
        proto_send_err(r->id, XEN_EBUSY, "domain %u (%s) is %s", domid, d->cfg.name,
                       d->saving ? "being saved already" : d->preserved ? "crashed (preserved)"
                       : "not the only one: a Remus replication owns the stream "
                       "(`lamina remus` stops it)");
        return;
    }
    if (!bulk_ready(&bwhy)) {
        proto_send_err(r->id, XEN_ENODEV, "%s", bwhy);
        return;
    }

    uint64_t t0 = arch_now_ns(), t_susp;
    agent_stream_init(&x, d);
    struct live_job lj = { domid, d, 0 };
    int rc;
    d->saving = true;
    if (migrate) {
        /* Pre-copy while it runs; it suspends for the last round. */
        struct xc_sr_live lv = { live_suspend, &lj, (unsigned int)rounds,
                                 (unsigned int)threshold, live_poll, NULL };
        rc = xc_sr_save_live(agent.xch, domid, &x.io, agent_stream_extra, &x, &lv, &st, why,
                             sizeof(why));
        t_susp = lj.t_suspended ? lj.t_suspended : arch_now_ns();
        if (rc < 0 && (xc_domain_getinfo(agent.xch, domid, 1, &info) != 1 ||
                       !info.shutdown || info.shutdown_reason != SHUTDOWN_suspend)) {
            /* It failed before the suspend: the domain never stopped. */
            d->saving = false;
            proto_send_err(r->id, -rc, "migration failed, domain %u runs on: %s", domid, why);
            return;
        }
    } else {
        if ((rc = agent_suspend_domain(domid, &info)) < 0) {
            d->saving = false;
            proto_send_err(r->id, -rc, rc == -XEN_EIO ? "cannot write domain %u's control/"
                           "shutdown" : "domain %u (%s) did not suspend within %u s (its "
                           "kernel must act on control/shutdown \"suspend\")", domid,
                           d->cfg.name, (unsigned int)(SUSPEND_WAIT_NS / 1000000000ULL));
            return;
        }
        t_susp = arch_now_ns();
        if (d->cons)
            (void)consback_poll(d->cons);   /* its last words before the suspend */
        rc = xc_sr_save(agent.xch, domid, live ? LSR_F_LIVE : 0, &x.io, agent_stream_extra, &x,
                        &st, why, sizeof(why));
    }
    uint64_t t_saved = arch_now_ns();
    if (rc < 0 || live) {
        int rrc = agent_resume_in_place(domid);
        d->saving = false;
        if (rrc < 0) {
            proto_send_err(r->id, -rrc, "%s%sdomain %u could not be resumed (%s)",
                           rc < 0 ? why : "", rc < 0 ? "; " : "", domid,
                           proto_errno_name(-rrc));
            return;
        }
        if (rc < 0) {
            proto_send_err(r->id, -rc, "save failed, domain %u resumed: %s", domid, why);
            return;
        }
    }
    /* Not live: the domain stays suspended (d->saving) until the host has
     * the file safe: save-end commit=1 destroys it, commit=0 resumes it. */
    if (live)
        d->saving = false;
    rec_start(r);
    proto_line_kvu(rec_line(), "bytes", x.bytes);
    proto_line_kvu(rec_line(), "pages", st.pages);
    proto_line_kvu(rec_line(), "pt_pages", st.pt_pages);
    proto_line_kvu(rec_line(), "zero_pages", st.zero_pages);
    proto_line_kvu(rec_line(), "suspend_ns", t_susp - t0);
    proto_line_kvu(rec_line(), "save_ns", t_saved - t_susp);
    proto_line_kvu(rec_line(), "map_ns", st.map_ns);
    proto_line_kvu(rec_line(), "total_ns", arch_now_ns() - t0);
    if (migrate) {
        char list[LSR_ROUNDS_MAX * 12 + 1];
        size_t n = 0;
        list[0] = 0;
        for (unsigned int i = 0; i < st.nr_rounds && n < sizeof(list) - 12; i++)
            n += (size_t)ksnprintf(list + n, sizeof(list) - n, "%s%u", i ? "," : "",
                                   st.round_pages[i]);
        proto_line_kvu(rec_line(), "rounds", st.nr_rounds);
        proto_line_kvs(rec_line(), "round_pages", list);
        proto_line_kvu(rec_line(), "stop_ns", st.final_ns);
    }
    rec_send();
    proto_send_ok(r->id);
}

void cmd_save_end(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "commit", NULL };
    struct dom_entry *d;
    uint32_t domid;
    uint64_t commit;
    xc_dominfo_t info;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!proto_parse_u64(proto_arg(r, "commit", NULL), &commit) || commit > 1) {
        proto_send_err(r->id, XEN_EINVAL, "commit= must be 0 or 1");
        return;
    }
    if (!d || !d->saving || xc_domain_getinfo(agent.xch, domid, 1, &info) != 1 ||
        !info.shutdown || info.shutdown_reason != SHUTDOWN_suspend) {
        proto_send_err(r->id, XEN_EINVAL, "domain %u is not waiting at the end of a save",
                       domid);
        return;
    }
    if (!commit) {
        int rc = agent_resume_in_place(domid);
        d->saving = false;
        if (rc < 0)
            proto_send_err(r->id, -rc, "domain %u could not be resumed", domid);
        else
            proto_send_ok(r->id);
        return;
    }
    agent_domain_teardown(d, true);     /* flushes its console first */
    proto_send_log("domain %u (%s) saved", domid, d->cfg.name);
    agent_domain_forget(d);
    agent_block_wait_released();        /* a restore right after finds them free */
    proto_send_ok(r->id);
}

/* config dom=D: the CONFIG record's text D would be saved with (one R
 * line, config=<text>): what a migration's target is created with. */
void cmd_config(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", NULL };
    static char text[CONFIG_TEXT_MAX];
    struct dom_entry *d;
    uint32_t domid;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!d || d->cfg.unmodified) {
        proto_send_err(r->id, d ? XEN_EOPNOTSUPP : XEN_EINVAL, d ? "domain %u is unmodified: "
                       "only PV domains can be saved or migrated so far" : "domain %u was not "
                       "created by the toolstack", domid);
        return;
    }
    size_t n = config_text(d, text, sizeof(text));
    rec_start(r);
    proto_line_kv(rec_line(), "config", text, n);
    rec_send();
    proto_send_ok(r->id);
}

/* checkpoint-kept dom=D file=PATH: hostd has written and synced D's
 * checkpoint (save live=1) to PATH, which on_crash=restore will restore. */
void cmd_checkpoint_kept(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "file", NULL };
    struct dom_entry *d;
    uint32_t domid;
    const char *f;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    f = proto_arg(r, "file", NULL);
    if (!d) {
        proto_send_err(r->id, XEN_EINVAL, "domain %u was not created by the toolstack", domid);
        return;
    }
    if (!f || f[0] != '/' || strlen(f) >= sizeof(d->checkpoint)) {
        proto_send_err(r->id, XEN_EINVAL, "file= must be an absolute path shorter than %u "
                       "bytes", (unsigned int)sizeof(d->checkpoint));
        return;
    }
    strlcpy_k(d->checkpoint, f, sizeof(d->checkpoint));
    proto_send_ok(r->id);
}

/* ---- restore ------------------------------------------------------------------ */

struct restore_job {
    const struct xc_sr_io *io;
    struct xc_sr_backup *bk;            /* Remus's backup, else NULL */
    uint32_t req_id;                    /* the restore request: checkpoints are acked on it */
    struct lsr_domain dom;
    struct xc_sr_stats st;
    void *image;
    size_t image_len;
};

static int restore_record(void *opaque, uint32_t type, const void *body, uint32_t len)
{
    struct restore_job *j = opaque;

    if (type != LSR_IMAGE || j->image || len == 0)
        return 0;                       /* CONFIG: the host sent it as arguments */
    j->image = (void *)body;            /* kept: no second copy */
    j->image_len = len;
    return 1;
}

static int build_from_stream(struct dom_entry *d, struct dom_build_info *info, char *msg,
                             size_t msglen, void *opaque)
{
    struct restore_job *j = opaque;
    struct xc_sr_restored out;
    int rc = xc_sr_restore(agent.xch, d->domid, &j->dom, j->io, restore_record, j, j->bk,
                           &out, &j->st, msg, msglen);

    if (rc < 0)
        return rc;
    info->unmodified = false;
    info->store_mfn = out.store_mfn;
    info->console_mfn = out.console_mfn;
    info->store_evtchn = out.store_evtchn;
    info->console_evtchn = out.console_evtchn;
    return 0;
}

/* A Remus backup took checkpoint epoch in: "R <id> epoch=N", which the
 * CLI relays to the primary as remus-ack. */
static int backup_ack(void *opaque, uint64_t epoch)
{
    struct restore_job *j = opaque;
    struct proto_req q = { .id = j->req_id };

    rec_start(&q);
    proto_line_kvu(rec_line(), "epoch", epoch);
    rec_send();
    serial_pump_tx();
    return 0;
}

/* While a backup waits for checkpoints: COM2 both ways (read-only
 * requests are answered), the other domains' rings. */
static void backup_idle(void)
{
    agent_poll_requests();
    (void)agent_serve_rings();
}

void cmd_restore(const struct proto_req *r)
{
    static const char *const allowed[] = { "name", "type", "memory", "vcpus", "cmdline",
                                           "on_crash", "size", "vbd0", "vbd1", "vbd2", "vbd3",
                                           "vif0", "vif1", "vif2", "vif3", "ckpt", "remus",
                                           "failover_ms", NULL };
    static struct agent_stream rio;
    struct xc_sr_io io;
    static struct restore_job j;
    static struct xc_sr_backup bk;
    struct dom_config cfg;
    char msg[200], ckpt[DOM_CKPT_MAX] = "";
    const char *why, *v;
    uint64_t size, remus = 0, failover_ms = 2000;

    if (!args_ok(r, allowed))
        return;
    if (((v = proto_arg(r, "remus", NULL)) && (!proto_parse_u64(v, &remus) || remus > 1)) ||
        ((v = proto_arg(r, "failover_ms", NULL)) &&
         (!proto_parse_u64(v, &failover_ms) || failover_ms < 100 || failover_ms > 600000))) {
        proto_send_err(r->id, XEN_EINVAL, "remus= must be 0 or 1, failover_ms= 100-600000");
        return;
    }
    if ((v = proto_arg(r, "ckpt", NULL)) && strlen(v) < sizeof(ckpt))
        strlcpy_k(ckpt, v, sizeof(ckpt));
    /* size=0: a migration's stream, as long as it is (up to its END). */
    if (!proto_parse_u64(proto_arg(r, "size", NULL), &size) || (size && size < 64)) {
        proto_send_err(r->id, XEN_EINVAL, "size= must be the stream's size in bytes (0: a "
                       "migration's stream, to its end)");
        return;
    }
    if (!bulk_ready(&why)) {
        proto_send_err(r->id, agent.bulk_rc < 0 ? XEN_ENODEV : XEN_EIO, "%s", why);
        return;
    }
    if (remus && size) {
        proto_send_err(r->id, XEN_EINVAL, "remus=1 takes a stream (size=0)");
        return;
    }
    agent_stream_init(&rio, NULL);
    io = rio.io;
    rio.limit = size ? size : ~0ULL;
    memset(&j, 0, sizeof(j));
    j.io = &io;
    j.req_id = r->id;
    uint64_t t0 = arch_now_ns();
    uint32_t flags = 0;
    int rc = agent_config_check(r, &cfg, msg, sizeof(msg));
    if (rc == 0)
        rc = xc_sr_restore_begin(&io, &j.dom, &flags, msg, sizeof(msg));
    if (rc == 0 && !remus != !(flags & LSR_F_CHECKPOINTED)) {
        ksnprintf(msg, sizeof(msg), remus ? "the stream is not a Remus replication" :
                  "a Remus replication's stream needs remus=1");
        rc = -XEN_EINVAL;
    }
    if (rc == 0 && remus) {
        /* Between checkpoints the stream is quiet for the interval: a
         * primary that sends nothing for failover_ms is taken for dead
         * (and at once when its machine closes the stream). */
        memset(&bk, 0, sizeof(bk));
        bk.checkpoint = backup_ack;
        bk.opaque = &j;
        bk.buffer_pages = REMUS_BUFFER_PAGES;
        j.bk = &bk;
        rio.idle_ns = failover_ms * 1000000ULL;
        rio.idle = backup_idle;
        agent_busy("receiving a Remus replication");
    }
    if (rc == 0 && j.dom.nr_pfns != cfg.memory_mib * 256) {
        ksnprintf(msg, sizeof(msg), "the stream holds %lu pages, memory=%lu MiB says %lu",
                  (unsigned long)j.dom.nr_pfns, (unsigned long)cfg.memory_mib,
                  (unsigned long)(cfg.memory_mib * 256));
        rc = -XEN_EINVAL;
    }
    struct dom_entry *d = NULL;
    if (rc == 0 && !(d = dom_alloc())) {
        ksnprintf(msg, sizeof(msg), "the agent manages at most %u domains", DOM_MAX);
        rc = -XEN_ENOSPC;
    }
    if (rc == 0) {
        d->cfg = cfg;
        rc = agent_domain_start_with(d, build_from_stream, &j, msg, sizeof(msg));
        if (rc == 0 && !j.image) {
            ksnprintf(msg, sizeof(msg), "the stream has no kernel image record");
            agent_domain_teardown(d, true);
            rc = -XEN_EINVAL;
        }
        if (rc < 0) {
            agent_domain_forget(d);
            kfree(j.image);
        }
    }
    agent_busy(NULL);
    /* Whatever happened, take the rest of the stream off the ring so the
     * next transfer starts in step. */
    if (!size && rc < 0)
        bulk_discard();                 /* the host stops sending on our answer */
    while (size && rio.bytes < size) {
        size_t n = size - rio.bytes < 65536 ? (size_t)(size - rio.bytes) : 65536;
        size_t got = bulk_read(NULL, n, NULL, STREAM_IDLE_NS, agent_idle, NULL);
        rio.bytes += got;
        if (got != n) {
            bulk_discard();
            break;
        }
    }
    if (rc < 0) {
        proto_send_err(r->id, -rc, "%s", msg);
        return;
    }
    uint64_t t_run = arch_now_ns();
    d->image = dom_image_share(j.image, j.image_len);
    d->image_len = j.image_len;
    /* The file it came from is its last checkpoint (on_crash=restore). */
    strlcpy_k(d->checkpoint, ckpt, sizeof(d->checkpoint));
    if (remus)
        kprintf("agent: failover: domain %u (%s) resumed from checkpoint %lu (%u pages of "
                "the next one dropped)\n", d->domid, cfg.name, (unsigned long)bk.epoch,
                bk.failover_pages);
    else
        kprintf("agent: restored domain %u (%s, %lu MiB)\n", d->domid, cfg.name,
                (unsigned long)cfg.memory_mib);
    rec_start(r);
    if (remus) {
        proto_line_kvu(rec_line(), "failover", 1);
        proto_line_kvu(rec_line(), "checkpoint", bk.epoch);
        proto_line_kvu(rec_line(), "dropped_pages", bk.failover_pages);
    }
    proto_line_kvu(rec_line(), "id", d->domid);
    proto_line_kvu(rec_line(), "pages", j.st.pages);
    proto_line_kvu(rec_line(), "pt_pages", j.st.pt_pages);
    proto_line_kvu(rec_line(), "populate_ns", j.st.populate_ns);
    proto_line_kvu(rec_line(), "build_ns", j.st.build_ns);
    proto_line_kvu(rec_line(), "map_ns", j.st.map_ns);
    proto_line_kvu(rec_line(), "copy_ns", j.st.copy_ns);
    proto_line_kvu(rec_line(), "total_ns", arch_now_ns() - t0);
    /* The stream's last byte -> the domain runs: a migration's downtime
     * on this side. */
    proto_line_kvu(rec_line(), "resume_ns", j.st.end_ns ? t_run - j.st.end_ns : 0);
    rec_send();
    proto_send_ok(r->id);
}
