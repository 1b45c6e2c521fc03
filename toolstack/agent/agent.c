/*
 * agent.c - the toolstack agent's start, main loop, domain lifecycle and
 * VIRQ_DOM_EXC handling (docs/toolstack.md sections 4-6).
 *
 * Runs in dom0, in the thread that calls agent_main (one thread: nothing
 * here is locked).  The loop polls COM2, the consoles and the xenstore
 * rings, and sleeps ~5 ms when idle (no interrupt of COM2 reaches dom0).
 * VIRQ_DOM_EXC's handler only sets a flag that the loop acts on.
 */
#include "xenctrl.h"
#include "xc_dom_build.h"
#include "consback.h"
#include "xenstored.h"
#include "xs_dom0.h"
#include "kernel.h"
#include "guest_service.h"
#include <pv/evtchn.h>
#include "agent.h"
#include "agent_priv.h"
#include "bulk.h"
#include "serial.h"

#define IDLE_SLEEP_NS      5000000ULL   /* nothing happening */
#define BUSY_SLEEP_NS       200000ULL   /* something moved last round */
#define EXC_RECHECK_NS   500000000ULL   /* look at domains even without VIRQ */
#define QUICK_CRASH_NS  5000000000ULL   /* a crash this soon after start... */
#define QUICK_CRASH_MAX 5               /* ...this many times: give up */
#define CONSOLE_CHUNK   1300            /* raw bytes per C line (<= 3x) */

struct agent_state agent;

static volatile bool exc_pending;
static char rx_line[PROTO_LINE_MAX + 1];
static size_t rx_len;
static bool rx_discarding;

/* ---- domain lifecycle --------------------------------------------------- */

static void console_sink(void *opaque, uint32_t domid, const char *buf, size_t n)
{
    static struct proto_line l;
    struct dom_entry *d = dom_by_id(domid);
    char head[24];

    if (!d || !d->attached)
        return;
    ksnprintf(head, sizeof(head), "C %u", domid);
    while (n) {
        size_t chunk = n < CONSOLE_CHUNK ? n : CONSOLE_CHUNK;
        proto_line_start(&l, head);
        size_t done = proto_line_pct(&l, buf, chunk);
        proto_line_send(&l, true);
        buf += done;
        n -= done;
    }
}

/* The default builder: the kernel image d holds, through dom_build. */
static int build_from_image(struct dom_entry *d, struct dom_build_info *info, char *msg,
                            size_t msglen, void *opaque)
{
    struct dom_config *cfg = &d->cfg;
    struct dom_build_args args = {
        .image = d->image, .image_len = d->image_len, .cmdline = cfg->cmdline,
        .nr_pages = (unsigned long)(cfg->memory_mib * 256), .unmodified = cfg->unmodified,
    };
    int rc = dom_build(agent.xch, d->domid, &args, info);

    (void)opaque;
    if (rc < 0) {
        const char *why = dom_build_error();
        ksnprintf(msg, msglen, "cannot build domain %u: %s", d->domid,
                  why && *why ? why : proto_errno_name(-rc));
    }
    return rc;
}

int agent_domain_start(struct dom_entry *d, char *msg, size_t msglen)
{
    return agent_domain_start_with(d, build_from_image, NULL, msg, msglen);
}

int agent_domain_start_with(struct dom_entry *d, agent_builder_fn build, void *opaque,
                            char *msg, size_t msglen)
{
    struct dom_config *cfg = &d->cfg;
    xc_physinfo_t pi;
    int rc;

    memset(&pi, 0, sizeof(pi));
    if (xc_physinfo(agent.xch, &pi) == 0) {
        uint64_t free_mib = pi.free_pages / 256;
        if (cfg->memory_mib > free_mib) {
            ksnprintf(msg, msglen, "not enough free memory for %lu MiB (free: %lu MiB)",
                      (unsigned long)cfg->memory_mib, (unsigned long)free_mib);
            return -XEN_ENOMEM;
        }
    }

    struct xen_domctl_createdomain config;
    memset(&config, 0, sizeof(config));
    config.flags = cfg->unmodified ? XEN_DOMCTL_CDF_hvm : 0;
    config.max_vcpus = 1;
    config.max_evtchn_port = 1023;
    config.max_grant_frames = -1;
    config.max_maptrack_frames = -1;
    config.grant_opts = XEN_DOMCTL_GRANT_version(1);
    uint32_t domid = 0;
    if (xc_domain_create(agent.xch, &domid, &config) < 0) {
        rc = -errno;
        ksnprintf(msg, msglen, "cannot create the domain (%s)", proto_errno_name(errno));
        return rc;
    }
    d->domid = domid;
    d->started_ns = arch_now_ns();

    /* libxl's slack: max_mem is a MiB above the guest's RAM. */
    if (xc_domain_setmaxmem(agent.xch, domid, cfg->memory_mib * 1024 + 1024) < 0) {
        rc = -errno;
        ksnprintf(msg, msglen, "cannot set the memory limit of domain %u (%s)", domid,
                  proto_errno_name(errno));
        goto fail;
    }

    struct dom_build_info info;
    memset(&info, 0, sizeof(info));
    if ((rc = build(d, &info, msg, msglen, opaque)) < 0)
        goto fail;

    d->cons = consback_attach(agent.xch, domid, info.console_mfn, info.console_evtchn);
    if (!d->cons) {
        rc = -XEN_ENOMEM;
        ksnprintf(msg, msglen, "cannot attach the console back-end to domain %u", domid);
        goto fail;
    }
    consback_set_sink(d->cons, console_sink, NULL);

    if (!cfg->unmodified) {
        rc = xs_dom0_add_domain(agent.xch, domid, info.store_mfn, info.store_evtchn);
        if (rc < 0) {
            ksnprintf(msg, msglen, "cannot connect the xenstore ring of domain %u (%s)",
                      domid, proto_errno_name(-rc));
            goto fail;
        }
        d->xs_added = true;
    }
    char path[64];
    ksnprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    rc = xs_store_write(agent.store, path, cfg->name, strlen(cfg->name));
    if (rc < 0) {
        ksnprintf(msg, msglen, "cannot write %s (%s)", path, proto_errno_name(-rc));
        goto fail;
    }
    /* libxl writes domid beside name; guests read it (Linux's xenbus). */
    char num[16];
    ksnprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
    ksnprintf(num, sizeof(num), "%u", domid);
    (void)xs_store_write(agent.store, path, num, strlen(num));

    if ((rc = agent_block_start(d, msg, msglen)) < 0)
        goto fail;
    if ((rc = agent_net_start(d, msg, msglen)) < 0)
        goto fail;

    if (xc_domain_unpause(agent.xch, domid) < 0) {
        rc = -errno;
        ksnprintf(msg, msglen, "cannot unpause domain %u (%s)", domid, proto_errno_name(errno));
        goto fail;
    }
    return 0;

fail:
    agent_domain_teardown(d, true);
    return rc < 0 ? rc : -XEN_EIO;
}

void agent_domain_teardown(struct dom_entry *d, bool destroy)
{
    char path[48];

    /* The domain's last words (a crash message) reach the host first. */
    if (d->cons && d->attached)
        (void)consback_poll(d->cons);
    d->attached = false;
    agent_block_stop(d);
    agent_net_stop(d);
    if (d->cons) {
        consback_detach(d->cons);
        d->cons = NULL;
    }
    if (d->xs_added) {
        xs_dom0_remove_domain(d->domid);
        d->xs_added = false;
    }
    ksnprintf(path, sizeof(path), "/local/domain/%u", d->domid);
    (void)xs_store_rm(agent.store, path);
    if (destroy && xc_domain_destroy(agent.xch, d->domid) < 0)
        kprintf("agent: destroy of domain %u failed (%s)\n", d->domid,
                proto_errno_name(errno));
}

void agent_domain_forget(struct dom_entry *d)
{
    agent_remus_forget(d);
    agent_block_release(d);
    dom_free(d);
}

/* Destroys d, keeps its image and configuration, and builds it again. */
static void domain_restart(struct dom_entry *d, const char *what)
{
    uint32_t old = d->domid;
    bool attached = d->attached;
    char msg[160];

    agent_domain_teardown(d, true);
    int rc = agent_domain_start(d, msg, sizeof(msg));
    d->attached = attached && rc == 0;  /* the host stays attached by name */
    if (rc < 0) {
        proto_send_log("domain %u (%s) %s; restart failed: %s", old, d->cfg.name, what, msg);
        agent_domain_forget(d);
        return;
    }
    proto_send_log("domain %u (%s) %s; restarted as %u", old, d->cfg.name, what, d->domid);
}

/* on_crash=restore: d is destroyed and the host asked to restore its last
 * checkpoint (hostd runs `lamina restore` on the path that ends the log
 * line).  A domain whose restored copies keep crashing within seconds is
 * given up after QUICK_CRASH_MAX tries, as a restart is. */
static void domain_crash_restore(struct dom_entry *d)
{
    static struct { char name[DOM_NAME_MAX]; uint64_t last_ns; unsigned int n; } recent[8];
    unsigned int i, slot = 0;
    uint64_t now = arch_now_ns();

    if (!d->checkpoint[0]) {
        proto_send_log("domain %u (%s) crashed; no checkpoint to restore (take one with "
                       "lamina save -c); destroyed", d->domid, d->cfg.name);
        agent_domain_teardown(d, true);
        agent_domain_forget(d);
        return;
    }
    for (i = 0; i < ARRAY_SIZE(recent); i++) {
        if (!strncmp(recent[i].name, d->cfg.name, sizeof(recent[i].name)))
            break;
        if (recent[i].last_ns < recent[slot].last_ns)
            slot = i;
    }
    if (i == ARRAY_SIZE(recent)) {
        i = slot;
        strlcpy_k(recent[i].name, d->cfg.name, sizeof(recent[i].name));
        recent[i].n = 0;
    }
    if (now - d->started_ns < QUICK_CRASH_NS)
        recent[i].n++;
    else
        recent[i].n = 0;
    recent[i].last_ns = now;
    if (recent[i].n >= QUICK_CRASH_MAX) {
        proto_send_log("domain %u (%s) crashed %u times within seconds of its restore; "
                       "destroyed instead of restored", d->domid, d->cfg.name, recent[i].n);
        recent[i].n = 0;
    } else {
        proto_send_log("domain %u (%s) crashed; restoring its last checkpoint from %s",
                       d->domid, d->cfg.name, d->checkpoint);
    }
    agent_domain_teardown(d, true);
    agent_domain_forget(d);
}

/* Acts on domains that shut down or crashed (VIRQ_DOM_EXC, or the
 * periodic re-check). */
static void check_domains(void)
{
    struct dom_entry *d, *next;

    for (d = dom_next(NULL); d; d = next) {
        next = dom_next(d);
        if (d->preserved || d->saving)
            continue;
        xc_dominfo_t info;
        int n = xc_domain_getinfo(agent.xch, d->domid, 1, &info);
        if (n != 1 || info.domid != d->domid) {
            proto_send_log("domain %u (%s) disappeared", d->domid, d->cfg.name);
            agent_domain_teardown(d, false);
            agent_domain_forget(d);
            continue;
        }
        if (!info.shutdown && !info.crashed)
            continue;
        unsigned int reason = info.crashed ? SHUTDOWN_crash : info.shutdown_reason;
        /* Its last output (a crash message) goes out before the event
         * that tells the host's consoles it ended. */
        if (d->cons && d->attached)
            (void)consback_poll(d->cons);
        switch (reason) {
        case SHUTDOWN_reboot:
            d->quick_restarts = 0;
            domain_restart(d, "rebooted");
            break;
        case SHUTDOWN_crash:
            if (d->cfg.on_crash == ON_CRASH_RESTORE) {
                domain_crash_restore(d);
            } else if (d->cfg.on_crash == ON_CRASH_PRESERVE) {
                d->preserved = true;
                proto_send_log("domain %u (%s) crashed; preserved", d->domid, d->cfg.name);
            } else if (d->cfg.on_crash == ON_CRASH_RESTART) {
                if (arch_now_ns() - d->started_ns < QUICK_CRASH_NS)
                    d->quick_restarts++;
                else
                    d->quick_restarts = 0;
                if (d->quick_restarts >= QUICK_CRASH_MAX) {
                    proto_send_log("domain %u (%s) crashed %u times within seconds of "
                                   "starting; destroyed instead of restarted", d->domid,
                                   d->cfg.name, d->quick_restarts);
                    agent_domain_teardown(d, true);
                    agent_domain_forget(d);
                } else {
                    domain_restart(d, "crashed");
                }
            } else {
                proto_send_log("domain %u (%s) crashed; destroyed", d->domid, d->cfg.name);
                agent_domain_teardown(d, true);
                agent_domain_forget(d);
            }
            break;
        case SHUTDOWN_poweroff:
            proto_send_log("domain %u (%s) powered off", d->domid, d->cfg.name);
            agent_domain_teardown(d, true);
            agent_domain_forget(d);
            break;
        default:
            proto_send_log("domain %u (%s) shut down (reason %u); destroyed", d->domid,
                           d->cfg.name, reason);
            agent_domain_teardown(d, true);
            agent_domain_forget(d);
            break;
        }
    }
}

static void dom_exc_event(evtchn_port_t port, void *data)
{
    exc_pending = true;
}

/* ---- COM2 input --------------------------------------------------------- */

static void handle_line(char *line, size_t n)
{
    struct proto_req r;
    const char *why = "malformed request";

    switch (proto_parse(line, n, &r, &why)) {
    case PROTO_OK:
        cmd_dispatch(&r);
        break;
    case PROTO_BAD:
        proto_send_err(r.id, XEN_EINVAL, "%s", why);
        break;
    default:
        agent.ignored_lines++;
        break;
    }
}

static void feed_bytes(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)buf[i];
        if (rx_discarding) {
            if (c == '\n')
                rx_discarding = false;
            continue;
        }
        if (c == '\n') {
            handle_line(rx_line, rx_len);
            rx_len = 0;
        } else if (rx_len >= PROTO_LINE_MAX - 1) {
            agent.overlong_lines++;     /* longer than 4096 with its '\n' */
            rx_len = 0;
            rx_discarding = true;
        } else {
            rx_line[rx_len++] = c;
        }
    }
}

bool agent_serve_rings(void)
{
    bool busy = false;

    for (struct dom_entry *d = dom_next(NULL); d; d = dom_next(d))
        if (d->cons && consback_poll(d->cons))
            busy = true;
    xs_dom0_poll();
    agent_block_poll();
    agent_net_poll();
    return busy;
}

void agent_idle(void)
{
    serial_pump_tx();
}

/* What dom0 is busy with (agent_busy), and the nested reader's line. */
static const char *busy_what;
static char nest_line[PROTO_LINE_MAX + 1];
static size_t nest_len;
static bool nest_discarding;

void agent_busy(const char *what)
{
    busy_what = what;
}

/* The main loop: a request the nested reader got only the start of goes
 * back to the main reader (its rx_line is free again there). */
static void feed_leftover(void)
{
    if (nest_len && !busy_what) {
        feed_bytes((const uint8_t *)nest_line, nest_len);
        nest_len = 0;
    }
    nest_discarding = false;
}

bool agent_request_allowed(const char *cmd, size_t n, const char **what)
{
    static const char *const readonly[] = { "ping", "info", "list", "dmesg", "console-attach",
                                            "console-detach", "console-input", "block-list",
                                            "network-list", "config", NULL };

    if (!busy_what)
        return true;
    for (unsigned int i = 0; readonly[i]; i++)
        if (strlen(readonly[i]) == n && !memcmp(readonly[i], cmd, n))
            return true;
    *what = busy_what;
    return false;
}

void agent_poll_requests(void)
{
    uint8_t rx[64];
    size_t got = serial_poll_rx(rx, sizeof(rx));

    for (size_t i = 0; i < got; i++) {
        char c = (char)rx[i];
        if (nest_discarding) {
            nest_discarding = c != '\n';
        } else if (c == '\n') {
            nest_line[nest_len] = 0;
            handle_line(nest_line, nest_len);
            nest_len = 0;
        } else if (nest_len >= PROTO_LINE_MAX - 1) {
            agent.overlong_lines++;
            nest_len = 0;
            nest_discarding = true;
        } else {
            nest_line[nest_len++] = c;
        }
    }
    serial_pump_tx();
}

/* ---- start and main loop ------------------------------------------------- */

void agent_main(const struct arch_boot_info *bi)
{
    struct physdev_set_iopl iopl = { .iopl = 1 };
    evtchn_port_t exc_port;
    int rc;

    agent.boot_ns = arch_now_ns();
    rc = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &iopl);
    if (rc < 0)
        panic("agent: PHYSDEVOP_set_iopl failed (%d): no port I/O", rc);
    if (!serial_init())
        panic("agent: no 16550 UART at COM2 (0x2f8)");

    agent.xch = xc_interface_open(NULL, NULL, 0);
    if (!agent.xch)
        panic("agent: xc_interface_open failed (errno %d): is this dom0?", errno);

    agent.bulk_rc = bulk_init(agent.xch);
    if (agent.bulk_rc < 0)
        kprintf("agent: no bulk ring (%s): create and bulk-bench will fail\n",
                proto_errno_name(-agent.bulk_rc));

    rc = pv_evtchn_bind_virq(VIRQ_DOM_EXC, 0, &exc_port);
    if (rc < 0)
        panic("agent: cannot bind VIRQ_DOM_EXC (%d)", rc);
    pv_evtchn_set_handler(exc_port, dom_exc_event, NULL);
    pv_evtchn_unmask(exc_port);

    agent.store = xs_store_new(NULL);
    if (!agent.store)
        panic("agent: no memory for the xenstore");
    rc = xs_dom0_init(agent.store);
    if (rc < 0)
        panic("agent: xs_dom0_init failed (%d)", rc);
    (void)xs_store_write(agent.store, "/local/domain/0/name", "Domain-0", 8);
    agent_net_init(bi->cmdline);

    serial_queue("READY " PROTO_VERSION "\n", sizeof("READY " PROTO_VERSION "\n") - 1, false);
    serial_pump_tx();
    if (agent.bulk_rc == 0)
        kprintf("agent: ready on COM2 (bulk ring: BAR2 at %lx, %lu KiB)\n",
                (unsigned long)bulk_bar_addr(), (unsigned long)(bulk_bar_size() / 1024));
    else
        kprintf("agent: ready on COM2 (no bulk ring)\n");

    uint64_t last_check = arch_now_ns();
    for (;;) {
        uint8_t rx[64];
        size_t got = serial_poll_rx(rx, sizeof(rx));
        bool busy = got > 0;

        feed_leftover();
        feed_bytes(rx, got);

        uint64_t now = arch_now_ns();
        if (exc_pending || now - last_check > EXC_RECHECK_NS) {
            exc_pending = false;
            last_check = now;
            check_domains();
        }
        if (agent_serve_rings())
            busy = true;
        agent_remus_tick();
        if (serial_pump_tx())
            busy = true;

        if (got >= 16)
            thread_yield();             /* a full FIFO: more is coming */
        else
            thread_sleep_ns(busy ? BUSY_SLEEP_NS : IDLE_SLEEP_NS);
    }
}

/* `agent` on dom0's command line: this domain is the toolstack's. */
GUEST_SERVICE("agent", agent_main, GUEST_STAGE_ROLE, GUEST_SVC_CONTROL);
