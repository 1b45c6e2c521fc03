/*
 * bridge.h - xenbr0: dom0's learning Ethernet bridge (IEEE 802.1D
 * transparent bridging without spanning tree, as Linux's bridge does in a
 * Xen dom0) joining the real NIC, every vif and dom0's own stack.
 *
 * A frame that enters on a port teaches the bridge where its source MAC
 * lives; it leaves on the port its destination MAC was learnt on, or on
 * every other port (flooded) when that is unknown, broadcast or
 * multicast.  A frame never goes back out of the port it came in on.
 * Entries age out after BRIDGE_AGEING_NS and go with their port.
 * Storm control, as switches do it: the frames a port may have flooded
 * (broadcast, multicast, unknown unicast) are limited to
 * BRIDGE_FLOOD_PER_S a second with a burst of BRIDGE_FLOOD_BURST; the rest
 * are dropped and counted, so one guest's broadcast flood cannot bury the
 * other ports.
 *
 * Runs in dom0, netback's thread only (not locked).  Errors are negative
 * Xen errno values.
 */
#ifndef LAMINA_BRIDGE_H
#define LAMINA_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#define BRIDGE_NAME       "xenbr0"
#define BRIDGE_MAX_PORTS  64
#define BRIDGE_FDB_SIZE   256           /* learnt MACs */
#define BRIDGE_AGEING_NS  300000000000ULL   /* 300 s, Linux's default */
#define BRIDGE_FLOOD_PER_S 500
#define BRIDGE_FLOOD_BURST 100

/* Sends one frame out of a port (a contiguous frame, valid only during
 * the call: copy it).  Returns 0, or a negative errno when the port
 * dropped it (counted). */
typedef int (*bridge_xmit_fn)(void *priv, const void *frame, unsigned int len);

/* One port's counters (lamina network-list). */
struct bridge_port_stats {
    char name[24];
    uint64_t rx_frames, tx_frames, tx_dropped;
    uint64_t storm_dropped;     /* floods over the port's storm-control rate */
};

/* Adds a port named `name` ("eth0", "vif3.0", "dom0"): frames for it go
 * to xmit(priv, ...).  The port number (>= 0), or -ENOSPC. */
int bridge_port_add(const char *name, bridge_xmit_fn xmit, void *priv);
/* Removes port `port` and every MAC learnt on it.  0 or -ENOENT. */
int bridge_port_del(int port);
/* A frame of len bytes (>= 14) entered on port `port`: learn, forward or
 * flood.  Frames shorter than an Ethernet header are dropped. */
void bridge_input(int port, const void *frame, unsigned int len);
/* Number of ports in use, and of learnt MACs (tests: nothing leaks). */
unsigned int bridge_nr_ports(void);
unsigned int bridge_nr_fdb(void);
/* Fills up to max ports' counters; returns the count. */
unsigned int bridge_list(struct bridge_port_stats *out, unsigned int max);

#endif
