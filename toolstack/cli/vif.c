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
