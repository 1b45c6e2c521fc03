/*
 * net.h - the guest kernel's network stack: lwIP 2.1.3 (Debian's `lwip`
 * source package, NO_SYS=1) over links the kernel provides (a PV
 * domain's netfront vifs; dom0's port on the bridge xenbr0), and the
 * applications built on it: lwIP's httpd and lwiperf, a checksummed bulk
 * transfer, ICMP echo (docs/network.md).
 *
 * Runs in the guest kernel, in one thread per kernel (the "net" thread of
 * a domU, netback's thread in dom0): nothing here is locked, and every
 * call, including the links' callbacks, must come from that thread.
 * Errors are negative Xen errno values.  lwIP's types stay inside
 * guest-port/net.
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pv/netfront.h>

struct net_if;

/* The link beneath an interface. */
struct net_link_ops {
    /* Sends one frame of n pieces.  0: taken, and net_tx_done(cookie)
     * follows once the link is done with the memory (at once for a link
     * that copies); a negative errno: dropped (counted). */
    int (*xmit)(void *link, const struct netfront_frag *frags, unsigned int n, void *cookie);
};

/* Starts lwIP (once; later calls do nothing). */
void net_init(void);
/* Adds an Ethernet interface named name (two letters, lwIP's) with MAC
 * mac over the link: ip "a.b.c.d" (optionally "/prefix", default /24;
 * the gateway is .2 of that network, QEMU's) or "" for DHCP.  NULL when
 * out of memory or ip is malformed. */
struct net_if *net_if_add(const char *name, const uint8_t mac[6], const char *ip,
                          const struct net_link_ops *ops, void *link);
/* Takes the interface down and out (frames in flight are the link's). */
void net_if_remove(struct net_if *nif);
/* True once the interface has an address (static, or DHCP bound); the
 * dotted address into buf. */
bool net_if_addr(const struct net_if *nif, char *buf, size_t n);
/* A received frame for nif (its pieces are copied: the caller's memory
 * is free on return).  Queued; net_poll() hands it to lwIP. */
void net_input(struct net_if *nif, const struct netfront_frag *frags, unsigned int n,
               unsigned int total);
/* The link is done with the frame net_link_ops.xmit took with cookie. */
void net_tx_done(void *cookie);
/* Feeds queued frames to lwIP and runs its timers; returns the frames fed. */
unsigned int net_poll(void);
/* Nanoseconds until lwIP's next timer (at most 100 ms). */
uint64_t net_sleep_ns(void);

/* ---- applications (guest-port/net/apps.c) ---------------------------------- */

/* Fills buf (size bytes) with an HTML page and returns its length. */
typedef size_t (*net_page_fn)(char *buf, size_t size);
/* lwIP's httpd on port 80: "/" (and "/index.html") is page(), made anew
 * for each request; anything else 404.  0 or -EEXIST. */
int net_httpd_start(net_page_fn page);
/* lwiperf's iperf 2 server on port 5001; each finished test prints
 * "net: iperf NAME bytes=B ms=T kbps=K".  0 or -ENOMEM. */
int net_iperf_server_start(void);
/* An iperf 2 client (lwiperf, 10 s) to ip:port; prints the same line.
 * 0, -EINVAL (ip), -ENOMEM. */
int net_iperf_client_start(const char *ip, uint16_t port);
/* A bulk receiver on port `port`: checks each connection's bytes against
 * the pattern net_send_start() sends and prints "net: received B bytes
 * sum=S ok|BAD" at its end.  0 or -ENOMEM. */
int net_sink_start(uint16_t port);
/* Sends `bytes` of the pattern to ip:port; prints "net: sent B bytes
 * sum=S ms=T" when the peer has acknowledged them all.  0, -EINVAL,
 * -ENOMEM. */
int net_send_start(const char *ip, uint16_t port, uint64_t bytes);
/* Sends `count` ICMP echo requests to ip, one at a time (the next when the
 * reply comes or after 1 s); prints "net: ping ip replies=R/C
 * rtt_us=min/median/max" at the end.  0, -EINVAL, -ENOMEM. */
int net_ping_start(const char *ip, unsigned int count);
/* The last result line an application printed, and its sequence number
 * in *seq (it grows by one per line). */
const char *net_last_report(uint64_t *seq);
/* True while a client started above (iperf client, send, ping) runs. */
bool net_apps_busy(void);

#endif
