/*
 * net.c - the agent's side of the network (docs/network.md): dom0's NIC
 * (the virtio-net PCI slot hostd gave it, `nic=SLOT` on dom0's command
 * line), the bridge and netback started at boot, dom0's own lwIP stack on
 * the bridge (10.0.2.15 with an iperf server on 5001 and a bulk receiver
 * on 7000: the dom0-direct side of `make bench`); a domain's vifs handed
 * to netback when it starts and taken back when it goes, each removal
 * announced to hostd as "L vif-removed dom=D handle=H ip=IP" (its port
 * forwards go); the commands network-list, network-attach,
 * network-detach and net-bench (docs/cli.md).
 *
 * Runs in dom0: the agent's thread, except the local_* callbacks, which
 * netback's thread runs (dom0's lwIP lives there).
 */
#include "xenctrl.h"
#include "netback.h"
#include "bridge.h"
#include "kernel.h"
#include "net.h"
#include "agent.h"
#include "agent_priv.h"

#define DOM0_IP        "10.0.2.15"
#define NET_BENCH_NS   30000000000ULL

static bool net_up;
static struct net_if *dom0_if;

/* ---- dom0's own stack (netback's thread) ----------------------------------------- */

/* A bench request the agent hands to netback's thread. */
static struct {
    volatile int state;             /* 0 idle, 1 asked, 2 running */
    char kind[8];                   /* "iperf" | "ping" | "send" */
    char ip[20];
    uint64_t arg;                   /* port, count or bytes */
    uint64_t seq0;
} bench;

static int local_link_xmit(void *link, const struct netfront_frag *f, unsigned int n,
                           void *cookie)
{
    static uint8_t frame[2048];         /* dom0's MTU is 1500 */
    unsigned int len = 0;
    int rc;

    (void)link;
    for (unsigned int i = 0; i < n; i++) {
        if (len + f[i].len > sizeof(frame)) {
            net_tx_done(cookie);
            return -XEN_EMSGSIZE;
        }
        memcpy(frame + len, f[i].va, f[i].len);
        len += f[i].len;
    }
    rc = netback_local_xmit(frame, len);
    net_tx_done(cookie);
    return rc;
}

static const struct net_link_ops local_ops = { .xmit = local_link_xmit };

static void local_rx(void *opaque, const void *frame, unsigned int len)
{
    struct netfront_frag f = { frame, len };

    (void)opaque;
    if (dom0_if)
        net_input(dom0_if, &f, 1, len);
}

static void local_poll(void *opaque)
{
    static bool tried;

    (void)opaque;
    if (!tried) {
        const uint8_t *mac = netback_nic_mac();
        static const uint8_t none[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

        tried = true;
        dom0_if = net_if_add("e0", mac ? mac : none, DOM0_IP, &local_ops, NULL);
        if (!dom0_if || net_iperf_server_start() || net_sink_start(7000))
            kprintf("agent: dom0's network stack did not start\n");
    }
    if (bench.state == 1) {
        int rc = -XEN_EINVAL;
        uint64_t seq;

        (void)net_last_report(&seq);
        bench.seq0 = seq;
        if (!strncmp(bench.kind, "iperf", 6))
            rc = net_iperf_client_start(bench.ip, (uint16_t)bench.arg);
        else if (!strncmp(bench.kind, "ping", 5))
            rc = net_ping_start(bench.ip, (unsigned int)bench.arg);
        else if (!strncmp(bench.kind, "send", 5))
            rc = net_send_start(bench.ip, 7000, bench.arg);
        bench.state = rc ? 0 : 2;
        if (rc)
            kprintf("agent: net-bench %s %s: cannot start (%d)\n", bench.kind, bench.ip, rc);
    }
    (void)net_poll();
}

/* ---- vifs ---------------------------------------------------------------------------- */

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "handle:mac:ip:rate_bytes:rate_usec", mac as 12 hex digits (hostd's form). */
int net_parse_arg(const char *v, struct dom_vif *out, char *msg, size_t n)
{
    const char *p = v;
    uint64_t h = 0;

    memset(out, 0, sizeof(*out));
    while (*p >= '0' && *p <= '9')
        h = h * 10 + (uint64_t)(*p++ - '0');
    if (*p++ != ':' || h > 255)
        goto bad;
    for (int i = 0; i < 6; i++) {
        int a = hexv(p[0]), b = a < 0 ? -1 : hexv(p[1]);
        if (b < 0)
            goto bad;
        out->mac[i] = (uint8_t)(a << 4 | b);
        p += 2;
    }
    if (*p++ != ':')
        goto bad;
    size_t k = 0;
    while (*p && *p != ':' && k + 1 < sizeof(out->ip))
        out->ip[k++] = *p++;
    if (*p++ != ':')
        goto bad;
    while (*p >= '0' && *p <= '9')
        out->rate_bytes = out->rate_bytes * 10 + (uint64_t)(*p++ - '0');
    if (*p++ != ':')
        goto bad;
    while (*p >= '0' && *p <= '9')
        out->rate_usec = out->rate_usec * 10 + (uint64_t)(*p++ - '0');
    if (*p || (out->rate_bytes && !out->rate_usec))
        goto bad;
    out->handle = (uint32_t)h;
    out->used = true;
    return 0;
bad:
    ksnprintf(msg, n, "vifN= must be handle:mac:ip:rate_bytes:rate_usec (hostd's form), "
              "not '%.60s'", v);
    return -XEN_EINVAL;
}

void agent_net_init(const char *cmdline)
{
    uint64_t slot = cmdline_u64(cmdline, "nic=", 0);
    int rc;

    netback_set_local(local_rx, local_poll, NULL);
    rc = netback_start(agent.xch, (unsigned int)slot);
    if (rc)
        kprintf("agent: no network (%s): vifs will be refused\n", proto_errno_name(-rc));
    else
        kprintf("agent: network: bridge %s%s, dom0 at %s\n", BRIDGE_NAME,
                slot ? " with the NIC as eth0" : " without a NIC", DOM0_IP);
    net_up = rc == 0;
}

static int vif_start(uint32_t domid, const struct dom_vif *f, char *msg, size_t msglen)
{
    struct netback_vif_cfg c = { .domid = domid, .handle = f->handle,
                                 .rate_bytes = f->rate_bytes, .rate_usec = f->rate_usec };
    int rc;

    memcpy(c.mac, f->mac, 6);
    memcpy(c.ip, f->ip, sizeof(c.ip));
    if (!net_up) {
        ksnprintf(msg, msglen, "vif %u: dom0 has no network (see dom0's log)", f->handle);
        return -XEN_ENODEV;
    }
    if ((rc = netback_add(&c))) {
        if (rc == -XEN_EEXIST)
            ksnprintf(msg, msglen, "vif %u: MAC %02x:%02x:%02x:%02x:%02x:%02x is in use by "
                      "another vif; give each vif its own mac= or leave mac= out", f->handle,
                      f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4], f->mac[5]);
        else
            ksnprintf(msg, msglen, "vif %u: netback cannot serve it (%s)", f->handle,
                      proto_errno_name(-rc));
        return rc;
    }
    return 0;
}

int agent_net_start(struct dom_entry *d, char *msg, size_t msglen)
{
    for (unsigned int i = 0; i < DOM_MAX_VIFS; i++) {
        int rc;

        if (d->cfg.vif[i].used && (rc = vif_start(d->domid, &d->cfg.vif[i], msg, msglen))) {
            netback_remove_domain(d->domid);
            return rc;
        }
    }
    return 0;
}

static void announce(uint32_t domid, const struct dom_vif *f)
{
    proto_send_log("vif-removed dom=%u handle=%u ip=%s", domid, f->handle, f->ip);
}

void agent_net_stop(struct dom_entry *d)
{
    static struct netback_stats st[NETBACK_MAX_VIFS];
    uint64_t end = arch_now_ns() + 2000000000ULL;

    netback_remove_domain(d->domid);
    /* The rings stay mapped until netback's thread has let go: wait, so
     * the domain is destroyed with none of its frames held. */
    while (netback_list(d->domid, st, NETBACK_MAX_VIFS) && arch_now_ns() < end) {
        netback_control();
        thread_sleep_ns(1000000ULL);
    }
    for (unsigned int i = 0; i < DOM_MAX_VIFS; i++)
        if (d->cfg.vif[i].used)
            announce(d->domid, &d->cfg.vif[i]);
}

void agent_net_poll(void)
{
    if (net_up)
        netback_control();
}

/* ---- commands -------------------------------------------------------------------------- */

void cmd_network_list(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", NULL };
    static struct netback_stats st[NETBACK_MAX_VIFS];
    static struct bridge_port_stats bp[BRIDGE_MAX_PORTS];
    struct dom_entry *d;
    uint32_t domid;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    unsigned int n = netback_list(domid == 0 ? DOMID_INVALID : domid, st, NETBACK_MAX_VIFS);
    for (unsigned int i = 0; i < n; i++) {
        char mac[20];

        ksnprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", st[i].mac[0], st[i].mac[1],
                  st[i].mac[2], st[i].mac[3], st[i].mac[4], st[i].mac[5]);
        rec_start(r);
        proto_line_kvu(rec_line(), "dom", st[i].domid);
        proto_line_kvu(rec_line(), "handle", st[i].handle);
        proto_line_kvs(rec_line(), "mac", mac);
        proto_line_kvs(rec_line(), "ip", st[i].ip[0] ? st[i].ip : "dhcp");
        proto_line_kvs(rec_line(), "bridge", BRIDGE_NAME);
        proto_line_kvu(rec_line(), "state", (uint64_t)st[i].state);
        proto_line_kvu(rec_line(), "rate_bytes", st[i].rate_bytes);
        proto_line_kvu(rec_line(), "rate_usec", st[i].rate_usec);
        proto_line_kvu(rec_line(), "tx_frames", st[i].tx_frames);
        proto_line_kvu(rec_line(), "tx_bytes", st[i].tx_bytes);
        proto_line_kvu(rec_line(), "rx_frames", st[i].rx_frames);
        proto_line_kvu(rec_line(), "rx_bytes", st[i].rx_bytes);
        proto_line_kvu(rec_line(), "rx_dropped", st[i].rx_dropped);
        proto_line_kvu(rec_line(), "tx_errors", st[i].tx_errors);
        proto_line_kvs(rec_line(), "why", st[i].why ? st[i].why : "");
        rec_send();
    }
    if (domid == DOMID_INVALID || domid == 0) {
        /* The bridge itself: one record per port. */
        unsigned int np = bridge_list(bp, BRIDGE_MAX_PORTS);
        for (unsigned int i = 0; i < np; i++) {
            rec_start(r);
            proto_line_kvs(rec_line(), "port", bp[i].name);
            proto_line_kvu(rec_line(), "rx_frames", bp[i].rx_frames);
            proto_line_kvu(rec_line(), "tx_frames", bp[i].tx_frames);
            proto_line_kvu(rec_line(), "tx_dropped", bp[i].tx_dropped);
            proto_line_kvu(rec_line(), "storm_dropped", bp[i].storm_dropped);
            proto_line_kvu(rec_line(), "fdb", bridge_nr_fdb());
            rec_send();
        }
    }
    proto_send_ok(r->id);
}

void cmd_network_attach(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "vif0", NULL };
    struct dom_entry *d;
    struct dom_vif f;
    uint32_t domid;
    char msg[200];
    int rc;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    if (!d) {
        proto_send_err(r->id, XEN_EINVAL, "network-attach: only domains made by create take vifs");
        return;
    }
    const char *v = proto_arg(r, "vif0", NULL);
    if (!v || net_parse_arg(v, &f, msg, sizeof(msg))) {
        proto_send_err(r->id, XEN_EINVAL, "%s", v ? msg : "network-attach: missing vif0=");
        return;
    }
    unsigned int free_i = DOM_MAX_VIFS;
    for (unsigned int i = 0; i < DOM_MAX_VIFS; i++) {
        if (d->cfg.vif[i].used && d->cfg.vif[i].handle == f.handle)
            f.handle++;             /* the next free handle, as xl picks */
        if (!d->cfg.vif[i].used && free_i == DOM_MAX_VIFS)
            free_i = i;
    }
    if (free_i == DOM_MAX_VIFS) {
        proto_send_err(r->id, XEN_ENOSPC, "domain %u has %u vifs, the most it may have", domid,
                       DOM_MAX_VIFS);
        return;
    }
    if ((rc = vif_start(domid, &f, msg, sizeof(msg)))) {
        proto_send_err(r->id, -rc, "%s", msg);
        return;
    }
    d->cfg.vif[free_i] = f;
    rec_start(r);
    proto_line_kvu(rec_line(), "handle", f.handle);
    rec_send();
    proto_send_ok(r->id);
}

void cmd_network_detach(const struct proto_req *r)
{
    static const char *const allowed[] = { "dom", "handle", NULL };
    struct dom_entry *d;
    uint32_t domid;
    uint64_t h;

    if (!args_ok(r, allowed) || !resolve_dom(r, &domid, &d))
        return;
    const char *v = proto_arg(r, "handle", NULL);
    if (!v || !proto_parse_u64(v, &h)) {
        proto_send_err(r->id, XEN_EINVAL, "network-detach: missing handle= (the vif's devid)");
        return;
    }
    for (unsigned int i = 0; d && i < DOM_MAX_VIFS; i++) {
        if (!d->cfg.vif[i].used || d->cfg.vif[i].handle != h)
            continue;
        (void)netback_remove(domid, (uint32_t)h);
        announce(domid, &d->cfg.vif[i]);
        d->cfg.vif[i].used = false;
        proto_send_ok(r->id);
        return;
    }
    proto_send_err(r->id, XEN_ENOENT, "domain %u has no vif %lu (see lamina network-list)", domid,
                   (unsigned long)h);
}

/* net-bench kind=iperf|ping|send ip=A [arg=N]: dom0's own stack as the
 * client (the dom0-direct side of make bench); answers with the result
 * line once it comes (at most 30 s). */
void cmd_net_bench(const struct proto_req *r)
{
    static const char *const allowed[] = { "kind", "ip", "arg", NULL };
    const char *k, *ip, *a;
    uint64_t arg = 0, seq;

    if (!args_ok(r, allowed))
        return;
    k = proto_arg(r, "kind", NULL);
    ip = proto_arg(r, "ip", NULL);
    a = proto_arg(r, "arg", NULL);
    if (!k || !ip || (a && !proto_parse_u64(a, &arg)) || !net_up) {
        proto_send_err(r->id, XEN_EINVAL, net_up ? "net-bench: needs kind= and ip=" :
                                                   "net-bench: dom0 has no network");
        return;
    }
    if (bench.state) {
        proto_send_err(r->id, XEN_EBUSY, "net-bench: one is running");
        return;
    }
    strlcpy_k(bench.kind, k, sizeof(bench.kind));
    strlcpy_k(bench.ip, ip, sizeof(bench.ip));
    bench.arg = arg;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bench.state = 1;
    uint64_t end = arch_now_ns() + NET_BENCH_NS;
    while (arch_now_ns() < end) {
        const char *line = net_last_report(&seq);

        if (bench.state == 0) {
            proto_send_err(r->id, XEN_EIO, "net-bench: could not start (see dom0's log)");
            return;
        }
        if (bench.state == 2 && seq != bench.seq0) {
            rec_start(r);
            proto_line_kvs(rec_line(), "result", line);
            rec_send();
            bench.state = 0;
            proto_send_ok(r->id);
            return;
        }
        agent_idle();
        thread_sleep_ns(10000000ULL);
    }
    bench.state = 0;
    proto_send_err(r->id, XEN_ETIMEDOUT, "net-bench: no result within 30 s");
}
