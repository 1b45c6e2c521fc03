/*
 * hostnet.c - port forwards from the host into domains (docs/network.md):
 * QEMU's user network forwards TCP from 127.0.0.1:HOST to IP:GUEST on
 * 10.0.2.0/24 (HMP hostfwd_add/hostfwd_remove through QMP), where IP is a
 * vif's address on xenbr0 or dom0's 10.0.2.15.  hostd adds the forwards a
 * vif's forward= asks for when the domain is created, removes them when
 * the agent says the vif went, and serves `lamina forward`.
 *
 * Runs on the host, in hostd only.
 */
#include "lamina.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FWDS 64

static struct {
    unsigned int host, guest;       /* host 0: free */
    char ip[20];
} fwds[MAX_FWDS];

/* True if something on the host listens on (or holds) 127.0.0.1:port. */
static int port_busy(unsigned int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), busy;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return 0;
    /* As QEMU's hostfwd binds: a connection of an earlier forward of the
     * port left in TIME_WAIT does not make it busy. */
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    busy = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
    close(fd);
    return busy;
}

int hostnet_forward_add(unsigned int host, const char *ip, unsigned int guest, char *why,
                        size_t n)
{
    char cmd[128], out[512];
    int free_i = -1;

    for (int i = 0; i < MAX_FWDS; i++) {
        if (fwds[i].host == host) {
            snprintf(why, n, "host port %u is already forwarded to %s:%u; pick another "
                     "forward= port (lamina forward list)", host, fwds[i].ip, fwds[i].guest);
            return -1;
        }
        if (!fwds[i].host && free_i < 0)
            free_i = i;
    }
    if (free_i < 0) {
        snprintf(why, n, "%d port forwards are the most hostd keeps", MAX_FWDS);
        return -1;
    }
    if (port_busy(host)) {
        snprintf(why, n, "host port %u is in use by another program on this host; pick "
                 "another forward= port", host);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "hostfwd_add " LAMINA_NETDEV " tcp:127.0.0.1:%u-%s:%u", host, ip,
             guest);
    if (hostdisk_hmp(cmd, out, sizeof(out)) < 0 || out[0]) {
        out[strcspn(out, "\r\n")] = 0;
        snprintf(why, n, "QEMU refused the forward of port %u: %s", host, out);
        return -1;
    }
    fwds[free_i].host = host;
    fwds[free_i].guest = guest;
    snprintf(fwds[free_i].ip, sizeof(fwds[free_i].ip), "%s", ip);
    logmsg("forward 127.0.0.1:%u -> %s:%u", host, ip, guest);
    return 0;
}

int hostnet_forward_remove(unsigned int host)
{
    char cmd[96], out[256];

    for (int i = 0; i < MAX_FWDS; i++) {
        if (fwds[i].host != host)
            continue;
        snprintf(cmd, sizeof(cmd), "hostfwd_remove " LAMINA_NETDEV " tcp:127.0.0.1:%u", host);
        (void)hostdisk_hmp(cmd, out, sizeof(out));
        logmsg("forward 127.0.0.1:%u removed", host);
        fwds[i].host = 0;
        return 0;
    }
    return -1;
}

void hostnet_forward_remove_ip(const char *ip)
{
    for (int i = 0; i < MAX_FWDS; i++)
        if (fwds[i].host && !strcmp(fwds[i].ip, ip))
            (void)hostnet_forward_remove(fwds[i].host);
}

size_t hostnet_forward_list(char *out, size_t n)
{
    size_t l = 0;

    out[0] = 0;
    for (int i = 0; i < MAX_FWDS && l < n; i++)
        if (fwds[i].host)
            l += (size_t)snprintf(out + l, n - l, "%u %s:%u\n", fwds[i].host, fwds[i].ip,
                                  fwds[i].guest);
    return l;
}
