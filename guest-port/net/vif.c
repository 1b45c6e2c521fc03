/*
 * vif.c - a PV domain's network (docs/network.md): the `net` service
 * starts the "net" thread, which connects every vif the toolstack gave the
 * domain (device/vif/<handle>, pv-abi's netfront), puts an lwIP interface
 * on each (the back-end's ip key, else DHCP), runs the programs the
 * command line asks for, and keeps polling: frames in and out, lwIP's
 * timers, vifs attached (a watch on device/vif) or gone.
 *
 *   net              the stack; "net: vifH up mac=M ip=A" per interface
 *   httpd            lwIP's httpd on port 80: a status page (domid,
 *                    uptime, counters)
 *   iperf            lwiperf's iperf 2 server on port 5001
 *   net_sink         the checking bulk receiver on port 7000
 *   net_send=IP      sends net_mib=M MiB (default 64) to IP:7000
 *   iperf_client=IP  an iperf 2 client (10 s) to IP:5001 (iperf_port=P)
 *   ping=IP          ping_count=N echo requests (default 20)
 *
 * Runs in the PV guest kernel: init's thread for the service (it returns
 * once vif 0 has an address, or after 10 s), then the net thread.
 */
#include "xenctrl.h"
#include "guest_service.h"
#include "kernel.h"
#include "net.h"
#include "pv.h"
#include <pv/netfront.h>
#include <pv/xenbus.h>

#define MAX_VIFS        4
#define OPEN_TIMEOUT_NS 10000000000ULL
#define UP_TIMEOUT_NS   10000000000ULL
#define RESCAN_NS       1000000000ULL

struct vif {
    uint32_t handle;
    struct netfront *nf;
    struct net_if *nif;
    bool announced;
};

static struct vif vifs[MAX_VIFS];
static char cmdline[512];
static struct thread *net_thread;
static volatile bool rescan = true;
static volatile bool up0;
static uint64_t page_hits;

static int vif_xmit(void *link, const struct netfront_frag *f, unsigned int n, void *cookie)
{
    return netfront_xmit(((struct vif *)link)->nf, f, n, cookie);
}

static const struct net_link_ops vif_ops = { .xmit = vif_xmit };

static void rx_cb(void *opaque, const struct netfront_frag *f, unsigned int n, unsigned int total)
{
    struct vif *v = opaque;

    net_input(v->nif, f, n, total);
}

static void tx_done_cb(void *opaque, void *cookie)
{
    (void)opaque;
    net_tx_done(cookie);
}

/* The status page of httpd. */
static size_t status_page(char *buf, size_t size)
{
    char dom[16] = "?";
    size_t len;
    uint64_t up = arch_now_ns() / 1000000000ULL;

    (void)xenbus_read("domid", dom, sizeof(dom));
    page_hits++;
    len = (size_t)ksnprintf(buf, size,
                            "<html><head><title>Lamina domain %s</title></head><body>\n"
                            "<h1>Lamina PV domain %s</h1>\n<p>uptime %lu s, page served %lu "
                            "times</p>\n<table border=1><tr><th>vif</th><th>mac</th><th>ip</th>"
                            "<th>rx frames</th><th>rx bytes</th><th>tx frames</th>"
                            "<th>tx bytes</th></tr>\n",
                            dom, dom, (unsigned long)up, (unsigned long)page_hits);
    for (unsigned int i = 0; i < MAX_VIFS && len < size; i++) {
        struct vif *v = &vifs[i];
        char ip[20];

        if (!v->nf)
            continue;
        const uint8_t *m = netfront_mac(v->nf);
        const struct netfront_stats *st = netfront_stats(v->nf);
        (void)net_if_addr(v->nif, ip, sizeof(ip));
        len += (size_t)ksnprintf(buf + len, size - len,
                                 "<tr><td>%u</td><td>%02x:%02x:%02x:%02x:%02x:%02x</td><td>%s</td>"
                                 "<td>%lu</td><td>%lu</td><td>%lu</td><td>%lu</td></tr>\n",
                                 v->handle, m[0], m[1], m[2], m[3], m[4], m[5], ip,
                                 (unsigned long)st->rx_frames, (unsigned long)st->rx_bytes,
                                 (unsigned long)st->tx_frames, (unsigned long)st->tx_bytes);
    }
    if (len < size)
        len += (size_t)ksnprintf(buf + len, size - len, "</table></body></html>\n");
    return len < size ? len : size - 1;
}

static void watch_cb(const char *path, const char *token, void *opaque)
{
    (void)path;
    (void)token;
    (void)opaque;
    rescan = true;
    if (net_thread)
        thread_wake(net_thread);
}

static void vif_open(uint32_t handle)
{
    struct xenbus_front_env env;
    struct vif *v = NULL;
    char name[3] = { 'e', (char)('0' + handle % 10), 0 }, ip[20];
    int err = 0;

    for (unsigned int i = 0; i < MAX_VIFS; i++) {
        if (vifs[i].nf && vifs[i].handle == handle)
            return;
        if (!vifs[i].nf && !v)
            v = &vifs[i];
    }
    if (!v)
        return;
    pv_front_env(&env);
    if (!(v->nf = netfront_open(&env, handle, OPEN_TIMEOUT_NS, &err))) {
        kprintf("net: FAIL cannot connect vif %u (%d)\n", handle, err);
        return;
    }
    v->handle = handle;
    v->announced = false;
    (void)netfront_ip(v->nf, ip, sizeof(ip));
    if (!(v->nif = net_if_add(name, netfront_mac(v->nf), ip, &vif_ops, v))) {
        kprintf("net: FAIL vif %u: no interface (ip '%s')\n", handle, ip);
        netfront_close(v->nf);
        v->nf = NULL;
    }
}

static void vif_close(struct vif *v)
{
    kprintf("net: vif%u down\n", v->handle);
    net_if_remove(v->nif);
    netfront_close(v->nf);
    v->nf = NULL;
    v->nif = NULL;
}

static void scan(void)
{
    char list[256];
    int n = xenbus_directory("device/vif", list, sizeof(list));

    for (int i = 0; i < n;) {
        uint32_t h = 0;
        int j = i;

        for (; j < n && list[j] >= '0' && list[j] <= '9'; j++)
            h = h * 10 + (uint32_t)(list[j] - '0');
        if (j > i && j < n && list[j] == 0 && h < 10)
            vif_open(h);
        while (j < n && list[j])
            j++;
        i = j + 1;
    }
}

static void start_apps(void)
{
    char ip[32];

    if (cmdline_has(cmdline, "httpd") && net_httpd_start(status_page))
        kprintf("net: FAIL httpd\n");
    if (cmdline_has(cmdline, "iperf") && net_iperf_server_start())
        kprintf("net: FAIL iperf server\n");
    if (cmdline_has(cmdline, "net_sink") && net_sink_start(7000))
        kprintf("net: FAIL net_sink\n");
    if (cmdline_str(cmdline, "net_send=", ip, sizeof(ip)) &&
        net_send_start(ip, 7000, cmdline_u64(cmdline, "net_mib=", 64) << 20))
        kprintf("net: FAIL net_send=%s\n", ip);
    if (cmdline_str(cmdline, "iperf_client=", ip, sizeof(ip)) &&
        net_iperf_client_start(ip, (uint16_t)cmdline_u64(cmdline, "iperf_port=", 5001)))
        kprintf("net: FAIL iperf_client=%s\n", ip);
    if (cmdline_str(cmdline, "ping=", ip, sizeof(ip)) &&
        net_ping_start(ip, (unsigned int)cmdline_u64(cmdline, "ping_count=", 20)))
        kprintf("net: FAIL ping=%s\n", ip);
}

static void net_main(void *arg)
{
    uint64_t last_scan = 0;
    bool apps = false;

    (void)arg;
    net_init();
    (void)xenbus_watch("device/vif", "net-vifs", watch_cb, NULL);
    for (;;) {
        unsigned int work = 0;
        uint64_t now = arch_now_ns();

        if (rescan || now - last_scan > RESCAN_NS) {
            rescan = false;
            last_scan = now;
            scan();
        }
        for (unsigned int i = 0; i < MAX_VIFS; i++) {
            struct vif *v = &vifs[i];
            char ip[20];

            if (!v->nf)
                continue;
            work += netfront_poll(v->nf, rx_cb, tx_done_cb, v);
            if (!netfront_connected(v->nf)) {
                vif_close(v);
                continue;
            }
            if (!v->announced && net_if_addr(v->nif, ip, sizeof(ip))) {
                const uint8_t *m = netfront_mac(v->nf);

                v->announced = true;
                kprintf("net: vif%u up mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s\n", v->handle,
                        m[0], m[1], m[2], m[3], m[4], m[5], ip);
                if (v->handle == 0)
                    up0 = true;
            }
        }
        if (up0 && !apps) {
            apps = true;
            start_apps();
        }
        work += net_poll();
        if (!work)
            thread_sleep_ns(net_sleep_ns());    /* a ring event wakes us earlier */
        else
            thread_yield();
    }
}

static void net_service(const struct arch_boot_info *bi)
{
    uint64_t end;

    if (!xenbus_ready()) {
        kprintf("net: FAIL no xenbus (not a toolstack domain)\n");
        return;
    }
    if (pv_grant_table_start()) {
        kprintf("net: FAIL cannot set up the grant table\n");
        return;
    }
    strlcpy_k(cmdline, bi->cmdline, sizeof(cmdline));
    if (!(net_thread = thread_create("net", net_main, NULL))) {
        kprintf("net: FAIL no memory for the net thread\n");
        return;
    }
    end = arch_now_ns() + UP_TIMEOUT_NS;
    while (!up0 && arch_now_ns() < end)
        thread_sleep_ns(10000000ULL);
    if (!up0)
        kprintf("net: FAIL vif0 has no address after 10 s\n");
}

GUEST_SERVICE("net", net_service, GUEST_STAGE_TEST, 0);
GUEST_SERVICE("httpd", NULL, GUEST_STAGE_WORKLOAD, 0);
GUEST_SERVICE("iperf", NULL, GUEST_STAGE_WORKLOAD, 0);
GUEST_SERVICE("net_sink", NULL, GUEST_STAGE_WORKLOAD, 0);
