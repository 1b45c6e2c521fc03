/*
 * cfg_vif.c - xl's vif specs (docs/xl-network-configuration.markdown:
 * comma-separated key=value; mac, bridge, ip, rate, and Lamina's forward)
 * for the configuration parser (cfg.h's cfg_parse_vif).
 *
 * Runs on the host, in the `lamina` process; no I/O.
 */
#include "cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIF_FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int parse_mac(const char *s, unsigned char *mac)
{
    for (int i = 0; i < 6; i++) {
        unsigned int v;
        int used;

        if (sscanf(s, "%2x%n", &v, &used) != 1 || used != 2)
            return -1;
        mac[i] = (unsigned char)v;
        s += 2;
        if (i < 5 && *s++ != ':')
            return -1;
    }
    return *s ? -1 : 0;
}

static int parse_ip(const char *s)
{
    unsigned int a, b, c, d;
    char tail;

    if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
        return -1;
    return a > 255 || b > 255 || c > 255 || d > 255 ? -1 : 0;
}

/* xl's rate: RATE/s with RATE a number and B, KB, MB, GB (bytes) or b,
 * Kb, Mb, Gb (bits), and an optional @INTERVAL (us or ms; default 50 ms). */
static int parse_rate(const char *s, unsigned long long *bytes, unsigned long long *usec)
{
    char *e;
    double v = strtod(s, &e);
    double mult;

    if (e == s || v <= 0)
        return -1;
    switch (*e) {
    case 'G': mult = 1e9; e++; break;
    case 'M': mult = 1e6; e++; break;
    case 'K': case 'k': mult = 1e3; e++; break;
    default: mult = 1; break;
    }
    if (*e == 'B')
        ;
    else if (*e == 'b')
        mult /= 8;
    else
        return -1;
    e++;
    if (strncmp(e, "/s", 2))
        return -1;
    e += 2;
    *usec = 50000;
    if (*e == '@') {
        char *u;
        double t = strtod(e + 1, &u);

        if (u == e + 1 || t <= 0)
            return -1;
        if (!strcmp(u, "ms"))
            *usec = (unsigned long long)(t * 1000);
        else if (!strcmp(u, "us"))
            *usec = (unsigned long long)t;
        else
            return -1;
        e = u + strlen(u);
    }
    if (*e)
        return -1;
    double per = v * mult * (double)*usec / 1e6;
    *bytes = per < 1 ? 1 : (unsigned long long)per;
    return 0;
}

int cfg_parse_vif(const char *spec, struct cfg_vif *v, char *err, size_t errlen)
{
    char buf[512];

    memset(v, 0, sizeof(*v));
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *p = buf; p && *p;) {
        char *comma = strchr(p, ','), *eq;

        if (comma)
            *comma = 0;
        char *piece = cfg_trim(p);
        p = comma ? comma + 1 : NULL;
        if (!*piece)
            continue;
        if (!(eq = strchr(piece, '=')))
            VIF_FAIL("'%s' is not key=value; e.g. \"mac=00:16:3e:00:00:01, bridge=xenbr0, "
                     "ip=10.0.2.20\"", piece);
        *eq = 0;
        const char *k = cfg_trim(piece), *val = cfg_trim(eq + 1);
        if (!strcmp(k, "mac")) {
            if (parse_mac(val, v->mac))
                VIF_FAIL("mac=%s is not a MAC address; write six hex pairs, e.g. "
                         "mac=00:16:3e:00:00:01", val);
            if (v->mac[0] & 1)
                VIF_FAIL("mac=%s is a multicast address; the first byte must be even "
                         "(Xen's prefix is 00:16:3e)", val);
            v->has_mac = 1;
        } else if (!strcmp(k, "bridge")) {
            if (strcmp(val, "xenbr0"))
                VIF_FAIL("bridge=%s: no such bridge; dom0 has one bridge, xenbr0", val);
        } else if (!strcmp(k, "ip")) {
            if (parse_ip(val) || strlen(val) >= sizeof(v->ip))
                VIF_FAIL("ip=%s is not an IPv4 address; e.g. ip=10.0.2.20 (QEMU's network is "
                         "10.0.2.0/24)", val);
            snprintf(v->ip, sizeof(v->ip), "%s", val);
        } else if (!strcmp(k, "rate")) {
            if (parse_rate(val, &v->rate_bytes, &v->rate_usec))
                VIF_FAIL("rate=%s is not a rate; e.g. rate=100Mb/s or rate=10MB/s@20ms", val);
        } else if (!strcmp(k, "forward")) {
            unsigned int h, g;
            char tail;

            if (sscanf(val, "%u:%u%c", &h, &g, &tail) != 2 || !h || h > 65535 || !g ||
                g > 65535)
                VIF_FAIL("forward=%s: write HOSTPORT:GUESTPORT, e.g. forward=8080:80", val);
            if (v->nr_fwds == CFG_MAX_FWDS)
                VIF_FAIL("more than %d forward= in one vif", CFG_MAX_FWDS);
            v->fwd_host[v->nr_fwds] = h;
            v->fwd_guest[v->nr_fwds++] = g;
        } else if (!strcmp(k, "type") || !strcmp(k, "model") || !strcmp(k, "script") ||
                   !strcmp(k, "vifname") || !strcmp(k, "backend")) {
            if (!strcmp(k, "backend") && strcmp(val, "0") && strcmp(val, "Domain-0"))
                VIF_FAIL("backend=%s: vifs are served by dom0 only", val);
        } else {
            VIF_FAIL("unknown vif parameter '%s'; use mac=, bridge=, ip=, rate= or forward= "
                     "(xl's vif syntax)", k);
        }
    }
    if (v->nr_fwds && !v->ip[0])
        VIF_FAIL("forward= needs the guest's address: add ip=, e.g. ip=10.0.2.20");
    return 0;
}

