/*
 * cmds.c - the agent's commands (docs/toolstack.md section 4): one
 * handler per command, one table.
 *
 * Runs in dom0 (toolstack agent thread).  Every handler checks its
 * arguments before acting and answers exactly once with K or E (after
 * any R records).  Arguments are untrusted host input.
 */
#include "xenctrl.h"
#include "consback.h"
#include "xenstored.h"
#include "kernel.h"
#include "../common/domain_limits.h"
#include "agent_priv.h"
#include "bulk.h"
#include "serial.h"
#include <lamina/sysctl_ext.h>

#define IMAGE_MAX      (64UL << 20)     /* bytes of a kernel image */
#define BENCH_MAX      (1UL << 30)      /* bytes of one bulk-bench */
#define BULK_IDLE_NS   5000000000ULL    /* a transfer stalls after 5 s */
#define MEMORY_MAX_MIB (1UL << 20)
#define LIST_MAX       (DOM_MAX + 16)
#define DMESG_BUF      (64 * 1024)
#define HISTORY_BUF    (8 * 1024)
#define RECORD_RAW     1300             /* raw bytes per line= record */

static struct proto_line line;
static char head[32];

void rec_start(const struct proto_req *r)
{
    ksnprintf(head, sizeof(head), "R %u", r->id);
    proto_line_start(&line, head);
}

struct proto_line *rec_line(void)
{
    return &line;
}

void rec_send(void)
{
    proto_line_send(&line, false);
}

/* Rejects a request with an argument the command does not take. */
bool args_ok(const struct proto_req *r, const char *const *allowed)
{
    const char *bad = proto_unknown_arg(r, allowed);
    if (bad) {
        proto_send_err(r->id, XEN_EINVAL, "%s: unknown argument '%s'", r->cmd, bad);
        return false;
    }
    return true;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* True when domain domid exists now; *info (may be NULL) gets it. */
static bool dom_exists(uint32_t domid, xc_dominfo_t *info)
{
    xc_dominfo_t tmp;
    if (!info)
        info = &tmp;
    return xc_domain_getinfo(agent.xch, domid, 1, info) == 1 && info->domid == domid;
}

/* Resolves dom= (a name or an id).  On failure answers E and returns
 * false.  *d gets the registry entry or NULL (dom0, boot-time domains). */
bool resolve_dom(const struct proto_req *r, uint32_t *domid, struct dom_entry **d)
{
    const char *s = proto_arg(r, "dom", NULL);
    uint64_t id;

    *d = NULL;
    if (!s || !*s) {
        proto_send_err(r->id, XEN_EINVAL, "%s: missing dom= (a domain name or id)", r->cmd);
        return false;
    }
    if (all_digits(s)) {
        if (!proto_parse_u64(s, &id) || id >= DOMID_FIRST_RESERVED ||
            !dom_exists((uint32_t)id, NULL)) {
            proto_send_err(r->id, XEN_ENOENT, "no domain '%s'", s);
            return false;
        }
        *domid = (uint32_t)id;
        *d = dom_by_id(*domid);
        return true;
    }
    if (!strncmp(s, "Domain-0", 9)) {
        *domid = 0;
        return true;
    }
    *d = dom_by_name(s);
    if (!*d) {
        proto_send_err(r->id, XEN_ENOENT, "no domain '%s'", s);
        return false;
    }
    *domid = (*d)->domid;
    return true;
}

static const char *dom_name(uint32_t domid, char *buf, size_t n)
{
    struct dom_entry *d = dom_by_id(domid);
    if (domid == 0)
        return "Domain-0";
    if (d)
        return d->cfg.name;
    ksnprintf(buf, n, "domain-%u", domid);
    return buf;
}

/* ---- ping, info, list ------------------------------------------------------ */

static void cmd_ping(const struct proto_req *r)
{
    static const char *const allowed[] = { NULL };
    if (!args_ok(r, allowed))
        return;
    rec_start(r);
    proto_line_kvs(&line, "version", PROTO_VERSION);
    proto_line_kvu(&line, "uptime_ms", (arch_now_ns() - agent.boot_ns) / 1000000);
    rec_send();
    proto_send_ok(r->id);
}

static xc_dominfo_t infos[LIST_MAX];

static void cmd_info(const struct proto_req *r)
{
    static const char *const allowed[] = { NULL };
    xc_physinfo_t pi;

    if (!args_ok(r, allowed))
        return;
    memset(&pi, 0, sizeof(pi));
    if (xc_physinfo(agent.xch, &pi) < 0) {
        proto_send_err(r->id, errno, "physinfo failed");
        return;
    }
    int n = xc_domain_getinfo(agent.xch, 0, LIST_MAX, infos);
    uint64_t dom0_kib = n > 0 && infos[0].domid == 0 ? (uint64_t)infos[0].nr_pages * 4 : 0;
    rec_start(r);
    proto_line_kvu(&line, "total_kib", pi.total_pages * 4);
    proto_line_kvu(&line, "free_kib", pi.free_pages * 4);
    proto_line_kvu(&line, "dom0_kib", dom0_kib);
    proto_line_kvu(&line, "cpu_khz", pi.cpu_khz);
    proto_line_kvu(&line, "nr_domains", n > 0 ? (uint64_t)n : 0);
    proto_line_kvs(&line, "hv", "Lamina");
    struct lamina_sysctl_counters lc;
    if (xc_lamina_counters(agent.xch, &lc) == 0) {
        proto_line_kvu(&line, "grant_maps", lc.grant_maps);
        proto_line_kvu(&line, "grant_frames", lc.grant_frames);
        proto_line_kvu(&line, "maptrack_frames", lc.maptrack_frames);
    }
    rec_send();
    proto_send_ok(r->id);
}

static void state_letters(const xc_dominfo_t *i, char s[7])
{
    bool crashed = i->crashed || (i->shutdown && i->shutdown_reason == SHUTDOWN_crash);
    s[0] = i->running ? 'r' : '-';
    s[1] = i->blocked ? 'b' : '-';
    s[2] = i->paused ? 'p' : '-';
    s[3] = i->shutdown && !crashed ? 's' : '-';
    s[4] = crashed ? 'c' : '-';
    s[5] = i->dying ? 'd' : '-';
    s[6] = '\0';
}

static void cmd_list(const struct proto_req *r)
{
    static const char *const allowed[] = { NULL };
    char namebuf[24], st[7];

    if (!args_ok(r, allowed))
        return;
    int n = xc_domain_getinfo(agent.xch, 0, LIST_MAX, infos);
    if (n < 0) {
        proto_send_err(r->id, errno, "getdomaininfo failed");
        return;
    }
    for (int k = 0; k < n; k++) {
        const xc_dominfo_t *i = &infos[k];
        state_letters(i, st);
        rec_start(r);
        proto_line_kvu(&line, "id", i->domid);
        proto_line_kvs(&line, "name", dom_name(i->domid, namebuf, sizeof(namebuf)));
        proto_line_kvs(&line, "state", st);
        proto_line_kvu(&line, "mem_kib", (uint64_t)i->nr_pages * 4);
        proto_line_kvu(&line, "max_kib", i->max_memkb);
        proto_line_kvu(&line, "vcpus", i->nr_online_vcpus ? i->nr_online_vcpus
                                                          : i->max_vcpu_id + 1);
        proto_line_kvu(&line, "cpu_ns", i->cpu_time);
        proto_line_kvs(&line, "type", i->hvm ? "unmodified" : "pv");
        struct dom_entry *de = dom_by_id(i->domid);
        uint64_t up = i->domid == 0 ? arch_now_ns() : de ? arch_now_ns() - de->started_ns : 0;
        if (i->domid == 0 || de)
            proto_line_kvu(&line, "uptime_ms", up / 1000000ULL);
        rec_send();
    }
    proto_send_ok(r->id);
}

/* ---- create ------------------------------------------------------------------ */

/* Checks create's arguments other than size/crc into cfg.  On error
 * returns a negative errno and writes msg. */
int agent_config_check(const struct proto_req *r, struct dom_config *cfg, char *msg, size_t n)
{
    const char *v;
    size_t len;
    uint64_t u;

    memset(cfg, 0, sizeof(*cfg));
    v = proto_arg(r, "name", &len);
    if (!v || !dom_name_valid(v) || strlen(v) != len) {
        ksnprintf(msg, n, "name= must be 1-63 characters of A-Z a-z 0-9 _ . - "
                          "(not only digits)");
        return -XEN_EINVAL;
    }
    if (dom_by_name(v)) {
        ksnprintf(msg, n, "a domain named '%s' exists already (id %u)", v,
                  dom_by_name(v)->domid);
        return -XEN_EEXIST;
    }
    strlcpy_k(cfg->name, v, sizeof(cfg->name));

    v = proto_arg(r, "type", NULL);
    if (!v || !strncmp(v, "pv", 3))
        cfg->unmodified = false;
    else if (!strncmp(v, "unmodified", 11))
        cfg->unmodified = true;
    else {
        ksnprintf(msg, n, "type= must be pv or unmodified, not '%s'", v);
        return -XEN_EINVAL;
    }

    v = proto_arg(r, "memory", NULL);
    if (!v || !proto_parse_u64(v, &u) || u == 0 || u > MEMORY_MAX_MIB) {
        ksnprintf(msg, n, "memory= must be a size in MiB (1-%lu)", (unsigned long)MEMORY_MAX_MIB);
        return -XEN_EINVAL;
    }
    cfg->memory_mib = u;
    unsigned long min = cfg->unmodified ? LAMINA_UNMOD_MIN_MIB : LAMINA_PV_MIN_MIB;
    if (u < min) {
        ksnprintf(msg, n, "memory=%lu MiB is below the minimum for a%s domain, %lu MiB",
                  (unsigned long)u, cfg->unmodified ? "n unmodified" : " PV", min);
        return -XEN_EINVAL;
    }

    v = proto_arg(r, "vcpus", NULL);
    if (v && (!proto_parse_u64(v, &u) || u != 1)) {
        ksnprintf(msg, n, "vcpus=%s: Lamina runs each domain on exactly 1 vCPU", v);
        return -XEN_EINVAL;
    }

    v = proto_arg(r, "cmdline", &len);
    if (v) {
        if (len >= sizeof(cfg->cmdline) || strlen(v) != len) {
            ksnprintf(msg, n, "cmdline= is longer than %u bytes or holds a NUL byte",
                      (unsigned int)sizeof(cfg->cmdline) - 1);
            return -XEN_EINVAL;
        }
        strlcpy_k(cfg->cmdline, v, sizeof(cfg->cmdline));
    }

    v = proto_arg(r, "on_crash", NULL);
    if (!v || !strncmp(v, "destroy", 8))
        cfg->on_crash = ON_CRASH_DESTROY;
    else if (!strncmp(v, "restart", 8))
        cfg->on_crash = ON_CRASH_RESTART;
    else if (!strncmp(v, "preserve", 9))
        cfg->on_crash = ON_CRASH_PRESERVE;
    else if (!strncmp(v, "restore", 8))
        cfg->on_crash = ON_CRASH_RESTORE;
    else {
        ksnprintf(msg, n, "on_crash= must be destroy, restart, preserve or restore, not '%s'",
                  v);
        return -XEN_EINVAL;
    }

    for (unsigned int i = 0; i < DOM_MAX_VBDS; i++) {
        char key[8] = "vbd0";
        int rc;

        key[3] = (char)('0' + i);
        if ((v = proto_arg(r, key, NULL)) && (rc = block_parse_arg(v, &cfg->vbd[i], msg, n)))
            return rc;
    }
    for (unsigned int i = 0; i < DOM_MAX_VIFS; i++) {
        char key[8] = "vif0";
        int rc;

        key[3] = (char)('0' + i);
        if ((v = proto_arg(r, key, NULL)) && (rc = net_parse_arg(v, &cfg->vif[i], msg, n)))
            return rc;
    }
    return 0;
}

static void cmd_create(const struct proto_req *r)
{
    static const char *const allowed[] = { "name", "type", "memory", "vcpus", "cmdline",
                                           "on_crash", "size", "crc", "vbd0", "vbd1",
                                           "vbd2", "vbd3", "vif0", "vif1", "vif2", "vif3",
                                           NULL };
    struct dom_config cfg;
    char msg[200];
    uint64_t size, want_crc;
    const char *why;

    if (!args_ok(r, allowed))
        return;
    if (!proto_parse_u64(proto_arg(r, "size", NULL), &size) || size == 0 || size > IMAGE_MAX) {
        proto_send_err(r->id, XEN_EINVAL, "size= must be the image size in bytes (1-%lu)",
                       (unsigned long)IMAGE_MAX);
        return;
    }
    if (!proto_parse_hex(proto_arg(r, "crc", NULL), &want_crc) || want_crc > 0xffffffffULL) {
        proto_send_err(r->id, XEN_EINVAL, "crc= must be the image's CRC-32 in hex");
        return;
    }
    if (!bulk_ready(&why)) {
        proto_send_err(r->id, agent.bulk_rc < 0 ? XEN_ENODEV : XEN_EIO, "%s", why);
        return;
    }

    /* The host streams the image whatever we think of the rest: take it
     * off the ring first so the next transfer starts in step. */
    int rc = agent_config_check(r, &cfg, msg, sizeof(msg));
    void *image = rc == 0 ? kmalloc(size) : NULL;
    if (rc == 0 && !image) {
        rc = -XEN_ENOMEM;
        ksnprintf(msg, sizeof(msg), "dom0 has no memory for a %lu KiB image",
                  (unsigned long)(size / 1024));
    }
    uint32_t crc = 0;
    size_t got = bulk_read(image, size, &crc, BULK_IDLE_NS, agent_idle, NULL);
    if (got != size) {
        bulk_discard();
        kfree(image);
        proto_send_err(r->id, XEN_ETIMEDOUT, "image transfer stalled: got %lu of %lu bytes "
                       "on the bulk ring", (unsigned long)got, (unsigned long)size);
        return;
    }
    if (rc < 0) {
        kfree(image);
        proto_send_err(r->id, -rc, "%s", msg);
        return;
    }
    if (crc != (uint32_t)want_crc) {
        kfree(image);
        proto_send_err(r->id, XEN_EIO, "image checksum mismatch: crc32 %08x, expected %08x",
                       crc, (uint32_t)want_crc);
        return;
    }

    struct dom_entry *d = dom_alloc();
    if (!d) {
        kfree(image);
        proto_send_err(r->id, XEN_ENOSPC, "the agent manages at most %u domains", DOM_MAX);
        return;
    }
    d->cfg = cfg;
    d->image = dom_image_share(image, size);
    d->image_len = size;
    rc = agent_domain_start(d, msg, sizeof(msg));
    if (rc < 0) {
        agent_domain_forget(d);
        proto_send_err(r->id, -rc, "%s", msg);
        return;
    }
    kprintf("agent: created domain %u (%s, %s, %lu MiB)\n", d->domid, cfg.name,
            cfg.unmodified ? "unmodified" : "pv", (unsigned long)cfg.memory_mib);
    rec_start(r);
    proto_line_kvu(&line, "id", d->domid);
    rec_send();
    proto_send_ok(r->id);
}

/* ---- pause, unpause, destroy, shutdown, reboot --------------------------------- */

static const char *const dom_only[] = { "dom", NULL };

static void cmd_pause_common(const struct proto_req *r, bool pause)
{
    uint32_t domid;
    struct dom_entry *d;

    if (!args_ok(r, dom_only) || !resolve_dom(r, &domid, &d))
        return;
    if (domid == 0) {
        proto_send_err(r->id, XEN_EINVAL, "Domain-0 cannot be %s", pause ? "paused" : "unpaused");
        return;
    }
    int rc = pause ? xc_domain_pause(agent.xch, domid) : xc_domain_unpause(agent.xch, domid);
    if (rc < 0) {
        int e = errno;
        proto_send_err(r->id, e, "cannot %s domain %u (%s)%s", pause ? "pause" : "unpause",
                       domid, proto_errno_name(e),
                       !pause && e == XEN_EINVAL ? ": it is not paused" : "");
        return;
    }
    proto_send_ok(r->id);
}

static void cmd_pause(const struct proto_req *r)
{
    cmd_pause_common(r, true);
}

static void cmd_unpause(const struct proto_req *r)
{
    cmd_pause_common(r, false);
}

static void cmd_destroy(const struct proto_req *r)
{
    uint32_t domid;
    struct dom_entry *d;

    if (!args_ok(r, dom_only) || !resolve_dom(r, &domid, &d))
        return;
    if (domid == 0) {
        proto_send_err(r->id, XEN_EINVAL, "Domain-0 cannot be destroyed; `lamina down` stops the "
                       "whole machine");
        return;
    }
    if (d) {
        agent_domain_teardown(d, true);     /* flushes its console first */
        proto_send_log("domain %u (%s) destroyed", domid, d->cfg.name);
        agent_domain_forget(d);
        agent_block_wait_released();    /* its images are free when it answers */
    } else if (xc_domain_destroy(agent.xch, domid) < 0) {
        proto_send_err(r->id, errno, "cannot destroy domain %u (%s)", domid,
                       proto_errno_name(errno));
        return;
    }
    proto_send_ok(r->id);
}

static void cmd_shutdown_common(const struct proto_req *r, const char *what)
{
    uint32_t domid;
    struct dom_entry *d;
    char path[64];

    if (!args_ok(r, dom_only) || !resolve_dom(r, &domid, &d))
        return;
    if (domid == 0) {
        proto_send_err(r->id, XEN_EINVAL, "%s of Domain-0 is not a domain operation; `lamina down` "
                       "stops the whole machine", what);
        return;
    }
    if (!d) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, "domain %u was not created by the toolstack "
                       "and has no xenstore; use destroy", domid);
        return;
    }
    if (d->cfg.unmodified) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, "domain %u (%s) is unmodified: it has no PV "
                       "shutdown protocol; use destroy", domid, d->cfg.name);
        return;
    }
    ksnprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    int rc = xs_store_write(agent.store, path, what, strlen(what));
    if (rc < 0) {
        proto_send_err(r->id, -rc, "cannot write %s", path);
        return;
    }
    proto_send_ok(r->id);
}

static void cmd_shutdown(const struct proto_req *r)
{
    cmd_shutdown_common(r, "poweroff");
}

static void cmd_reboot(const struct proto_req *r)
{
    cmd_shutdown_common(r, "reboot");
}

/* mem-set dom= kib=: the domain's balloon target (xl mem-set), written to
 * /local/domain/N/memory/target in KiB; its balloon driver gives frames
 * back or takes them again.  Between 1 MiB and the size it was created
 * with (Xen's static-max): -EINVAL otherwise; unmodified domains have no
 * balloon: -EOPNOTSUPP. */
static void cmd_mem_set(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "kib", NULL };
    uint32_t domid;
    struct dom_entry *d;
    uint64_t kib;
    char path[64], num[24];

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!proto_parse_u64(proto_arg(r, "kib", NULL), &kib)) {
        proto_send_err(r->id, XEN_EINVAL, "kib= must be the target in KiB");
        return;
    }
    if (domid == 0 || !d) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, domid == 0 ? "Domain-0's memory is fixed at "
                       "`lamina up --dom0-memory`" : "domain %u was not created by the toolstack",
                       domid);
        return;
    }
    if (d->cfg.unmodified) {
        proto_send_err(r->id, XEN_EOPNOTSUPP, "domain %u (%s) is unmodified: it has no balloon "
                       "driver", domid, d->cfg.name);
        return;
    }
    if (kib < 1024 || kib > d->cfg.memory_mib * 1024) {
        proto_send_err(r->id, XEN_EINVAL, "domain %u (%s): the target must be between 1 MiB "
                       "and the %lu MiB it was created with, not %lu KiB", domid, d->cfg.name,
                       (unsigned long)d->cfg.memory_mib, (unsigned long)kib);
        return;
    }
    ksnprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
    ksnprintf(num, sizeof(num), "%lu", (unsigned long)kib);
    int rc = xs_store_write(agent.store, path, num, strlen(num));
    if (rc < 0) {
        proto_send_err(r->id, -rc, "cannot write %s", path);
        return;
    }
    proto_send_ok(r->id);
}

/* ---- consoles ------------------------------------------------------------------ */

/* Resolves dom= to a domain with a console back-end, or answers E. */
static struct dom_entry *console_dom(const struct proto_req *r)
{
    uint32_t domid;
    struct dom_entry *d;

    if (!resolve_dom(r, &domid, &d))
        return NULL;
    if (!d || !d->cons) {
        proto_send_err(r->id, XEN_ENODEV, "domain %u has no console back-end in dom0%s",
                       domid, domid == 0 ? " (see dmesg)" : "");
        return NULL;
    }
    return d;
}

static void cmd_console_attach(const struct proto_req *r)
{
    struct dom_entry *d;

    if (!args_ok(r, dom_only) || !(d = console_dom(r)))
        return;
    consback_poll(d->cons);     /* take what is in the ring into history */
    char *hist = kmalloc(HISTORY_BUF);
    size_t n = hist ? consback_history(d->cons, hist, HISTORY_BUF) : 0;
    rec_start(r);
    proto_line_kvu(&line, "id", d->domid);
    rec_send();
    ksnprintf(head, sizeof(head), "C %u", d->domid);
    for (size_t off = 0; off < n;) {
        proto_line_start(&line, head);
        off += proto_line_pct(&line, hist + off, n - off < RECORD_RAW ? n - off : RECORD_RAW);
        proto_line_send(&line, false);
    }
    kfree(hist);
    d->attached = true;
    proto_send_ok(r->id);
}

static void cmd_console_detach(const struct proto_req *r)
{
    struct dom_entry *d;

    if (!args_ok(r, dom_only) || !(d = console_dom(r)))
        return;
    d->attached = false;
    proto_send_ok(r->id);
}

static void cmd_console_input(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "data", NULL };
    struct dom_entry *d;
    size_t len;

    if (!args_ok(r, allowed))
        return;
    const char *data = proto_arg(r, "data", &len);
    if (!data) {
        proto_send_err(r->id, XEN_EINVAL, "console-input: missing data=");
        return;
    }
    if (!(d = console_dom(r)))
        return;
    size_t done = consback_write_input(d->cons, data, len);
    if (done < len) {
        proto_send_err(r->id, XEN_EAGAIN, "console input ring of domain %u is full "
                       "(took %lu of %lu bytes)", d->domid, (unsigned long)done,
                       (unsigned long)len);
        return;
    }
    proto_send_ok(r->id);
}

/* ---- dmesg, bulk-bench, poweroff ----------------------------------------------- */

static void cmd_dmesg(const struct proto_req *r)
{
    static const char *const allowed[] = { "clear", NULL };
    const char *v = proto_arg(r, "clear", NULL);
    uint64_t clear = 0;

    if (!args_ok(r, allowed))
        return;
    if (v && (!proto_parse_u64(v, &clear) || clear > 1)) {
        proto_send_err(r->id, XEN_EINVAL, "clear= must be 0 or 1");
        return;
    }
    char *buf = kmalloc(DMESG_BUF);
    if (!buf) {
        proto_send_err(r->id, XEN_ENOMEM, "dom0 has no memory for the log");
        return;
    }
    unsigned int nr = DMESG_BUF;
    if (xc_readconsolering(agent.xch, buf, &nr, (int)clear, 0, NULL) < 0) {
        int e = errno;
        kfree(buf);
        proto_send_err(r->id, e, "cannot read the hypervisor log (%s)", proto_errno_name(e));
        return;
    }
    if (nr > DMESG_BUF)
        nr = DMESG_BUF;
    size_t start = 0;
    for (size_t i = 0; i <= nr; i++) {
        bool end = i == nr;
        if (!end && buf[i] != '\n' && i - start < RECORD_RAW)
            continue;
        if (i > start || (!end && buf[i] == '\n')) {
            rec_start(r);
            proto_line_kv(&line, "line", buf + start, i - start);
            rec_send();
        }
        start = (!end && buf[i] == '\n') ? i + 1 : i;
    }
    kfree(buf);
    proto_send_ok(r->id);
}

static void cmd_bulk_bench(const struct proto_req *r)
{
    static const char *const allowed[] = { "size", NULL };
    uint64_t size;
    const char *why;

    if (!args_ok(r, allowed))
        return;
    if (!proto_parse_u64(proto_arg(r, "size", NULL), &size) || size == 0 || size > BENCH_MAX) {
        proto_send_err(r->id, XEN_EINVAL, "size= must be bytes (1-%lu)", (unsigned long)BENCH_MAX);
        return;
    }
    if (!bulk_ready(&why)) {
        proto_send_err(r->id, agent.bulk_rc < 0 ? XEN_ENODEV : XEN_EIO, "%s", why);
        return;
    }
    /* The data is handled as `create` handles an image: copied into dom0
     * memory (a 1 MiB buffer, reused) and checksummed.  Timed from the
     * request: the host may have filled the ring already. */
    size_t chunk_max = 1UL << 20;
    uint8_t *buf = kmalloc(chunk_max);
    if (!buf) {
        proto_send_err(r->id, XEN_ENOMEM, "no memory for the 1 MiB bench buffer");
        return;
    }
    uint32_t crc = 0;
    uint64_t start = arch_now_ns();
    size_t got = 0;
    while (got < size) {
        size_t want = size - got < chunk_max ? size - got : chunk_max;
        size_t n = bulk_read(buf, want, &crc, BULK_IDLE_NS, agent_idle, NULL);
        got += n;
        if (n != want)
            break;
    }
    uint64_t end = arch_now_ns();
    kfree(buf);
    if (got != size) {
        bulk_discard();
        proto_send_err(r->id, XEN_ETIMEDOUT, "transfer stalled: got %lu of %lu bytes",
                       (unsigned long)got, (unsigned long)size);
        return;
    }
    rec_start(r);
    proto_line_kvu(&line, "bytes", got);
    proto_line_kvu(&line, "ns", end - start);
    rec_send();
    proto_send_ok(r->id);
}

static void cmd_poweroff(const struct proto_req *r)
{
    static const char *const allowed[] = { NULL };
    struct dom_entry *d, *next;

    if (!args_ok(r, allowed))
        return;
    for (d = dom_next(NULL); d; d = next) {
        next = dom_next(d);
        agent_domain_teardown(d, true);
        agent_domain_forget(d);
    }
    /* Domains the agent did not create (boot modules) go too. */
    int n = xc_domain_getinfo(agent.xch, 1, LIST_MAX, infos);
    for (int k = 0; k < n; k++)
        (void)xc_domain_destroy(agent.xch, infos[k].domid);
    proto_send_ok(r->id);
    kprintf("agent: poweroff requested by the host\n");
    serial_flush();
    arch_poweroff(0);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct {
    const char *name;
    void (*fn)(const struct proto_req *r);
} commands[] = {
    { "ping", cmd_ping },
    { "info", cmd_info },
    { "list", cmd_list },
    { "create", cmd_create },
    { "pause", cmd_pause },
    { "unpause", cmd_unpause },
    { "shutdown", cmd_shutdown },
    { "reboot", cmd_reboot },
    { "destroy", cmd_destroy },
    { "console-attach", cmd_console_attach },
    { "console-detach", cmd_console_detach },
    { "console-input", cmd_console_input },
    { "dmesg", cmd_dmesg },
    { "bulk-bench", cmd_bulk_bench },
    { "poweroff", cmd_poweroff },
    { "block-list", cmd_block_list },
    { "network-list", cmd_network_list },
    { "network-attach", cmd_network_attach },
    { "network-detach", cmd_network_detach },
    { "net-bench", cmd_net_bench },
    { "block-attach", cmd_block_attach },
    { "block-detach", cmd_block_detach },
    { "blk-bench", cmd_blk_bench },
    { "blkback-mode", cmd_blkback_mode },
    { "save", cmd_save },
    { "restore", cmd_restore },
    { "save-end", cmd_save_end },
    { "checkpoint-kept", cmd_checkpoint_kept },
    { "config", cmd_config },
    { "mem-set", cmd_mem_set },
    { "remus", cmd_remus },
    { "remus-ack", cmd_remus_ack },
    { "remus-stop", cmd_remus_stop },
};

void cmd_dispatch(const struct proto_req *r)
{
    size_t n = strlen(r->cmd);
    const char *what;

    if (!agent_request_allowed(r->cmd, n, &what)) {
        proto_send_err(r->id, XEN_EBUSY, "dom0 is %s; only read-only requests are answered "
                       "until it ends", what);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (strlen(commands[i].name) == n && !memcmp(commands[i].name, r->cmd, n)) {
            commands[i].fn(r);
            return;
        }
    }
    proto_send_err(r->id, XEN_ENOSYS, "unknown command %s", r->cmd);
}
