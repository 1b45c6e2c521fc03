/*
 * netback.h - the network back-end: dom0's end of domUs' vifs (Xen
 * public/io/netif.h over io/ring.h), each a port of the bridge xenbr0
 * (bridge.h) beside dom0's real NIC (virtio_net.h) and dom0's own stack.
 *
 * A vif is (domid, handle) with xenstore directories
 * backend/vif/<domid>/<handle> (ours: mac, feature-rx-copy, feature-sg,
 * handle, bridge, ip, rate) and /local/domain/<domid>/device/vif/<handle>
 * (the front-end's), the keys a Linux netfront reads and writes
 * (docs/network.md).  Data moves by GNTTABOP_copy only, both ways: a
 * guest's transmitted slots are copied into dom0's memory before anything
 * looks at them (so rewriting a request or its data after posting changes
 * nothing), and received frames are copied into the guest's posted
 * buffers.  No guest page is ever mapped except the two ring pages.
 *
 * A malformed transmit request (a slot crossing its page, a frame longer
 * than its first slot says or than 65535 bytes, more than
 * NETBACK_MAX_SLOTS slots, a producer index more than a ring ahead) is
 * fatal, as in Linux's netback: the vif disconnects.  A bad grant drops the
 * frame (NETIF_RSP_ERROR).  Each vif gets at most NETBACK_TX_BUDGET frames
 * per round, so one guest cannot starve another, and `rate` bounds its
 * transmit (credit_bytes per credit_usec, Xen's credit scheduler of
 * netback).
 *
 * Threads: netback_add/remove/control run in the agent's thread (xenstore
 * work); netback_start() starts the "netback" thread, which polls the NIC
 * and the rings, forwards through the bridge and runs dom0's lwIP.
 * Includes xenctrl.h first.
 */
#ifndef LAMINA_NETBACK_H
#define LAMINA_NETBACK_H

#include "xenctrl.h"

#include <stdbool.h>
#include <stdint.h>

#define NETBACK_MAX_VIFS   32
#define NETBACK_MAX_SLOTS  XEN_NETIF_NR_SLOTS_MIN   /* 18 */
#define NETBACK_TX_BUDGET  64                       /* frames per vif per round */
#define NETBACK_CREDIT_USEC_DEFAULT 50000ULL        /* libxl's 50 ms */

/* How a vif is made (the toolstack's vif spec). */
struct netback_vif_cfg {
    uint32_t domid, handle;
    uint8_t mac[6];
    char ip[20];                /* "" for none: the guest uses DHCP */
    uint64_t rate_bytes;        /* 0: no limit */
    uint64_t rate_usec;
};

/* One vif's counters (lamina network-list). */
struct netback_stats {
    uint32_t domid, handle;
    int state;                  /* our XenbusState */
    uint8_t mac[6];
    char ip[20];
    uint64_t rate_bytes, rate_usec;
    uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;  /* as the guest sees them */
    uint64_t rx_dropped, tx_errors;
    const char *why;            /* last disconnect reason, or NULL */
};

/* Brings up the NIC in PCI slot nic_slot (0: none) as bridge port "eth0",
 * the bridge, and the data-path thread (once).  0, -ENOMEM, or the NIC's
 * error (-ENODEV: no virtio-net in that slot). */
int netback_start(xc_interface *xch, unsigned int nic_slot);
/* The NIC's MAC, or NULL without a NIC. */
const uint8_t *netback_nic_mac(void);

/* Creates vif (cfg->domid, cfg->handle): writes both xenstore directories
 * and goes to InitWait.  0, -EEXIST (that vif, or a vif with that MAC),
 * -ENOSPC (NETBACK_MAX_VIFS), -ENODEV (netback not started), or the
 * store's errno. */
int netback_add(const struct netback_vif_cfg *cfg);
/* Tears vif (domid, handle) down: it leaves the bridge, the ring pages are
 * unmapped, the event channel closed, the directories removed.  0 or
 * -ENOENT. */
int netback_remove(uint32_t domid, uint32_t handle);
/* netback_remove() of every vif of domid (the domain died). */
void netback_remove_domain(uint32_t domid);
/* Agent loop: runs xenstore watch callbacks and finishes teardowns. */
void netback_control(void);
/* Fills up to max entries for domid (DOMID_INVALID: all); returns count. */
unsigned int netback_list(uint32_t domid, struct netback_stats *out, unsigned int max);

/* dom0's own stack as a bridge port: frames for dom0 go to rx(opaque,
 * frame, len) from the netback thread, and netback_local_xmit() sends
 * dom0's frames (netback thread only).  poll(opaque) runs every round
 * (lwIP's timers).  Call before netback_start(). */
void netback_set_local(void (*rx)(void *opaque, const void *frame, unsigned int len),
                       void (*poll)(void *opaque), void *opaque);
/* Sends one of dom0's own frames into the bridge: 0 or -ENODEV. */
int netback_local_xmit(const void *frame, unsigned int len);

#endif
