/*
 * vif.c - the toolstack's virtual NICs: MACs, the request keys of a vif
 * (its spec is parsed by cfg_vif.c), and the commands network-list,
 * network-attach, network-detach and forward (docs/cli.md,
 * docs/network.md).
 *
 * Runs on the host, in the `lamina` process.
 */
#include "lamina.h"
#include "cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- commands ------------------------------------------------------------------ */

/* A MAC in Xen's prefix 00:16:3e with three random bytes. */
void vif_make_mac(unsigned char *mac)
{
    unsigned char r[3] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || read(fd, r, 3) != 3) {
        unsigned int x = (unsigned int)getpid() ^ (unsigned int)now_ns();
        r[0] = (unsigned char)x;
        r[1] = (unsigned char)(x >> 8);
        r[2] = (unsigned char)(x >> 16);
    }
    if (fd >= 0)
        close(fd);
    mac[0] = 0x00;
    mac[1] = 0x16;
    mac[2] = 0x3e;
    mac[3] = r[0] & 0x7f;
    mac[4] = r[1];
    mac[5] = r[2];
}

int vif_request_keys(const struct cfg_vif *v, unsigned int idx, unsigned int handle, char *out,
                     size_t n)
{
    unsigned char mac[6];
    size_t l = 0;

    if (v->has_mac)
        memcpy(mac, v->mac, 6);
    else
        vif_make_mac(mac);
    l += (size_t)snprintf(out + l, n - l, " vif%u=%u%%3A%02x%02x%02x%02x%02x%02x%%3A%s%%3A%llu%%3A%llu",
                          idx, handle, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], v->ip,
                          v->rate_bytes, v->rate_bytes ? v->rate_usec : 0ULL);
    for (unsigned int i = 0; i < v->nr_fwds && l < n; i++)
        l += (size_t)snprintf(out + l, n - l, " fwd%u=%u%%3A%s%%3A%u", idx * CFG_MAX_FWDS + i,
                              v->fwd_host[i], v->ip, v->fwd_guest[i]);
    return l < n ? 0 : -1;
}

static const char *const state_names[] = {
    "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
    "Closing", "Closed", "Reconfiguring", "Reconfigured",
};

static int list_rec(void *ctx, const struct msg *m)
{
    int *n = ctx;
    const char *h = msg_get(m, "handle"), *port = msg_get(m, "port"), *st = msg_get(m, "state");
    unsigned long s = st ? strtoul(st, NULL, 10) : 0;

    if (h) {
        if (!(n[0]++))
            printf("%-4s %-6s %-17s %-15s %-9s %-12s %10s %10s %8s %s\n", "Idx", "Dom", "Mac",
                   "IP", "Bridge", "State", "TxFrames", "RxFrames", "RxDrop", "Rate(B/us)");
        printf("%-4s %-6s %-17s %-15s %-9s %-12s %10s %10s %8s %s/%s\n", h, msg_get(m, "dom") ?: "?",
               msg_get(m, "mac") ?: "?", msg_get(m, "ip") ?: "?", msg_get(m, "bridge") ?: "?",
               s < 9 ? state_names[s] : "?", msg_get(m, "tx_frames") ?: "?",
               msg_get(m, "rx_frames") ?: "?", msg_get(m, "rx_dropped") ?: "?",
               msg_get(m, "rate_bytes") ?: "0", msg_get(m, "rate_usec") ?: "0");
    } else if (port) {
        if (!(n[1]++))
            printf("bridge xenbr0 (%s learnt MACs):\n  %-10s %10s %10s %10s\n",
                   msg_get(m, "fdb") ?: "?", "Port", "RxFrames", "TxFrames", "TxDropped");
        printf("  %-10s %10s %10s %10s\n", port, msg_get(m, "rx_frames") ?: "?",
               msg_get(m, "tx_frames") ?: "?", msg_get(m, "tx_dropped") ?: "?");
    }
    return 0;
}

int cmd_network_list(struct inv *iv)
{
    struct lconn c;
    char dom[256];
    int n[2] = { 0, 0 };

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "network-list", list_rec, NULL, n, 30000, "network-list dom=%s", dom))
        return EXIT_FAIL;
    if (!n[0] && !n[1])
        printf("domain %s has no vifs\n", iv->pos[0]);
    return EXIT_OK;
}

static int attach_rec(void *ctx, const struct msg *m)
{
    const char *h = msg_get(m, "handle");

    if (h)
        snprintf(ctx, 16, "%s", h);
    return 0;
}

int cmd_network_attach(struct inv *iv)
{
    struct cfg_vif v;
    char e[1024], dom[256], keys[1024], handle[16] = "?";

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (cfg_parse_vif(iv->npos > 1 ? iv->pos[1] : "", &v, e, sizeof(e))) {
        err("network-attach: %s", e);
        return EXIT_FAIL;
    }
    keys[0] = 0;
    if (vif_request_keys(&v, 0, 0, keys, sizeof(keys)))
        return usage_error(iv, "the vif spec is too long");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "network-attach", attach_rec, NULL, handle, 30000,
                    "network-attach dom=%s%s", dom, keys))
        return EXIT_FAIL;
    printf("Attached vif %s to %s\n", handle, iv->pos[0]);
    return EXIT_OK;
}

int cmd_network_detach(struct inv *iv)
{
    const char *v = iv->pos[1];
    char dom[256];

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (!*v || strspn(v, "0123456789") != strlen(v))
        return usage_error(iv, "the vif is its devid (the Idx column of network-list)");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "network-detach", NULL, NULL, NULL, 30000,
                    "network-detach dom=%s handle=%s", dom, v))
        return EXIT_FAIL;
    printf("Detached vif %s from %s\n", v, iv->pos[0]);
    return EXIT_OK;
}

static int fwd_rec(void *ctx, const struct msg *m)
{
    const char *f = msg_get(m, "forward");

    if (f) {
        if (!(*(int *)ctx)++)
            printf("%-10s %s\n", "HostPort", "To");
        char host[16], to[48];
        if (sscanf(f, "%15s %47s", host, to) == 2)
            printf("%-10s %s\n", host, to);
    }
    return 0;
}

int cmd_forward(struct inv *iv)
{
    const char *op = iv->npos ? iv->pos[0] : "list";
    struct lconn c;
    int n = 0;

    if (strcmp(op, "list") && strcmp(op, "add") && strcmp(op, "remove"))
        return usage_error(iv, "forward takes list, add HOSTPORT IP:PORT or remove HOSTPORT");
    if (!strcmp(op, "add") && iv->npos != 3)
        return usage_error(iv, "forward add HOSTPORT IP:PORT, e.g. forward add 8081 10.0.2.21:80");
    if (!strcmp(op, "remove") && iv->npos != 2)
        return usage_error(iv, "forward remove HOSTPORT");
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (!strcmp(op, "list"))
        return lamina_call(&c, "forward", fwd_rec, NULL, &n, 30000, "forward op=list")
                   ? EXIT_FAIL : (n ? EXIT_OK : (printf("no port forwards\n"), EXIT_OK));
    char to[96] = "";
    if (iv->npos == 3 && pct_encode(iv->pos[2], strlen(iv->pos[2]), to, sizeof(to)) < 0)
        return usage_error(iv, "IP:PORT too long");
    if (lamina_call(&c, "forward", NULL, NULL, NULL, 30000, "forward op=%s host=%s%s%s", op,
                    iv->pos[1], *to ? " to=" : "", to))
        return EXIT_FAIL;
    printf("%s\n", !strcmp(op, "add") ? "Forward added" : "Forward removed");
    return EXIT_OK;
}
