/*
 * remus.c - Remus's primary (Cully et al., NSDI 2008; Xen's `xl remus`):
 * the agent's `remus`, `remus-ack` and `remus-stop` commands
 * (docs/save-format.md, "Remus"; docs/toolstack.md section 4).
 *
 * Runs in dom0 (toolstack agent thread).  `remus dom=D interval=MS`
 * sends D live as a migration does (toolstack/libxc/xc_sr_save.c) and
 * then, every MS milliseconds, a checkpoint: D suspended, what it dirtied
 * since the last one sent, D resumed.  The stream goes to the backup
 * machine's dom0, which keeps the last whole checkpoint and resumes it if
 * the stream breaks.  D's console output is held (consback_hold) until
 * the backup acknowledges the checkpoint that covers it, so nothing the
 * world has seen is undone by a failover.  The request stays open while
 * the replication runs: an R line per checkpoint, K when it is stopped
 * (remus-stop), E when it fails (the domain runs on unprotected).
 * Between checkpoints the agent serves everything else as usual.
 */
#include "xenctrl.h"
#include "xc_sr.h"
#include "consback.h"
#include "kernel.h"
#include "agent_priv.h"
#include "bulk.h"

#define REMUS_INTERVAL_MIN_MS 20
#define REMUS_INTERVAL_MAX_MS 10000

/* The one replication this dom0 runs. */
static struct {
    bool active;
    uint32_t req_id;            /* the remus request: R lines, then K or E */
    uint32_t domid;
    struct dom_entry *d;
    struct agent_stream st;
    struct xc_sr_live live;
    uint64_t interval_ns, next_ns;
    uint64_t epoch, acked;      /* last checkpoint sent / acknowledged */
    uint64_t t_suspended, pause_ns;
} rm;

static int remus_suspend(void *opaque)
{
    xc_dominfo_t info;
    int rc = agent_suspend_domain(rm.domid, &info);

    (void)opaque;
    rm.t_suspended = arch_now_ns();
    if (rc == 0 && rm.d->cons) {
        (void)consback_poll(rm.d->cons);    /* its output up to the checkpoint */
        consback_mark(rm.d->cons, rm.epoch);
    }
    return rc;
}

static int remus_resume(void *opaque)
{
    int rc = agent_resume_in_place(rm.domid);

    (void)opaque;
    rm.pause_ns = arch_now_ns() - rm.t_suspended;
    return rc;
}

static void remus_poll(void *opaque)
{
    (void)opaque;
    agent_idle();
    (void)agent_serve_rings();
}

bool agent_remus_active(void)
{
    return rm.active;
}

/* Ends the replication: END goes to the backup when send_end (it drops
 * its copy), the held output is let go (this copy runs on, so what it
 * wrote stands), and the remus request gets K (why NULL) or E. */
static void remus_finish(bool send_end, int err, const char *why)
{
    if (!rm.active)
        return;
    (void)xc_sr_remus_end(send_end);
    if (rm.d && rm.d->cons)
        (void)consback_hold(rm.d->cons, false);
    rm.active = false;
    if (why) {
        proto_send_err(rm.req_id, err, "replication of domain %u stopped after checkpoint "
                       "%lu: %s; the domain runs on here, unprotected", rm.domid,
                       (unsigned long)rm.epoch, why);
    } else {
        struct proto_req q = { .id = rm.req_id };
        rec_start(&q);
        proto_line_kvu(rec_line(), "checkpoints", rm.epoch);
        proto_line_kvu(rec_line(), "acked", rm.acked);
        rec_send();
        proto_send_ok(rm.req_id);
    }
    kprintf("agent: remus of domain %u ended after %lu checkpoints (%s)\n", rm.domid,
            (unsigned long)rm.epoch, why ? why : "stopped");
}

/* One R line for checkpoint rm.epoch (the CLI keeps the statistics). */
static void remus_report(uint32_t pages)
{
    struct proto_req q = { .id = rm.req_id };

    rec_start(&q);
    proto_line_kvu(rec_line(), "epoch", rm.epoch);
    proto_line_kvu(rec_line(), "pages", pages);
    proto_line_kvu(rec_line(), "pause_ns", rm.pause_ns);
    proto_line_kvu(rec_line(), "bytes", rm.st.bytes);
    rec_send();
}

void cmd_remus(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "interval", NULL };
    struct dom_entry *d;
    struct xc_sr_stats st;
    uint32_t domid;
    uint64_t interval = 100;
    char why[200];
    const char *v, *bwhy;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if ((v = proto_arg(r, "interval", NULL)) &&
        (!proto_parse_u64(v, &interval) || interval < REMUS_INTERVAL_MIN_MS ||
         interval > REMUS_INTERVAL_MAX_MS)) {
        proto_send_err(r->id, XEN_EINVAL, "interval= is the checkpoint interval in ms "
                       "(%u-%u)", REMUS_INTERVAL_MIN_MS, REMUS_INTERVAL_MAX_MS);
        return;
    }
    if (domid == 0 || !d) {
        proto_send_err(r->id, XEN_EINVAL, domid == 0 ? "Domain-0 cannot be replicated" :
                       "domain %u was not created by the toolstack; only those can be "
                       "replicated", domid);
        return;
    }
    if (d->cfg.unmodified) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, "domain %u (%s) is unmodified: only PV domains "
                       "can be replicated so far", domid, d->cfg.name);
        return;
    }
    if (rm.active || d->saving || d->preserved) {
        proto_send_err(r->id, XEN_EBUSY, rm.active ? "domain %u's replication runs already; "
                       "this dom0 replicates one domain at a time" : "domain %u is being "
                       "saved or crashed", rm.active ? rm.domid : domid);
        return;
    }
    if (!bulk_ready(&bwhy)) {
        proto_send_err(r->id, XEN_ENODEV, "%s", bwhy);
        return;
    }
    if (d->cons && consback_hold(d->cons, true) < 0) {
        proto_send_err(r->id, XEN_ENOMEM, "dom0 has no memory to hold the domain's output");
        return;
    }
    memset(&rm, 0, sizeof(rm));
    rm.req_id = r->id;
    rm.domid = domid;
    rm.d = d;
    rm.interval_ns = interval * 1000000ULL;
    agent_stream_init(&rm.st, d);
    rm.live = (struct xc_sr_live){ remus_suspend, NULL, 8, 50, remus_poll, remus_resume };
    rm.epoch = 1;
    d->saving = true;                   /* check_domains leaves it alone while suspended */
    int rc = xc_sr_remus_begin(agent.xch, domid, &rm.st.io, agent_stream_extra, &rm.st,
                               &rm.live, &st, why, sizeof(why));
    d->saving = false;
    if (rc < 0) {
        if (d->cons)
            (void)consback_hold(d->cons, false);
        xc_dominfo_t info;
        if (xc_domain_getinfo(agent.xch, domid, 1, &info) == 1 && info.shutdown &&
            info.shutdown_reason == SHUTDOWN_suspend)
            (void)agent_resume_in_place(domid);
        proto_send_err(r->id, -rc, "replication failed, domain %u runs on: %s", domid, why);
        return;
    }
    rm.active = true;
    rm.next_ns = arch_now_ns() + rm.interval_ns;
    remus_report(st.round_pages[st.nr_rounds - 1]);
    kprintf("agent: remus of domain %u: checkpoint 1 sent (%u pre-copy rounds), then every "
            "%lu ms\n", domid, st.nr_rounds - 1, (unsigned long)interval);
}

void agent_remus_tick(void)
{
    char why[200];
    uint32_t sent = 0;

    if (!rm.active || arch_now_ns() < rm.next_ns)
        return;
    rm.epoch++;
    rm.d->saving = true;
    int rc = xc_sr_remus_checkpoint(rm.epoch, &rm.live, &sent, why, sizeof(why));
    rm.d->saving = false;
    rm.next_ns = arch_now_ns() + rm.interval_ns;
    if (rc < 0) {
        rm.epoch--;
        remus_finish(false, -rc, why);
        return;
    }
    remus_report(sent);
}

void cmd_remus_ack(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "epoch", NULL };
    struct dom_entry *d;
    uint32_t domid;
    uint64_t epoch;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!proto_parse_u64(proto_arg(r, "epoch", NULL), &epoch)) {
        proto_send_err(r->id, XEN_EINVAL, "epoch= must be a checkpoint number");
        return;
    }
    if (!rm.active || rm.domid != domid || epoch > rm.epoch) {
        proto_send_err(r->id, XEN_EINVAL, "domain %u has no checkpoint %lu waiting", domid,
                       (unsigned long)epoch);
        return;
    }
    if (epoch > rm.acked) {
        rm.acked = epoch;
        if (d && d->cons)
            (void)consback_release(d->cons, epoch);
    }
    proto_send_ok(r->id);
}

void cmd_remus_stop(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "why", NULL };
    struct dom_entry *d;
    uint32_t domid;
    const char *why = proto_arg(r, "why", NULL);

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!rm.active || rm.domid != domid) {
        proto_send_err(r->id, XEN_EINVAL, "domain %u is not being replicated", domid);
        return;
    }
    /* why=: the host saw the stream fail (the backup is gone). */
    remus_finish(true, XEN_EIO, why);
    proto_send_ok(r->id);
}

void agent_remus_forget(struct dom_entry *d)
{
    if (rm.active && rm.d == d) {
        remus_finish(true, XEN_ESRCH, "the domain ended");
        rm.d = NULL;
    }
}
