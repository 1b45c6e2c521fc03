/*
 * bridge.c - xenbr0, the learning bridge (bridge.h).
 *
 * The forwarding database is a small open-addressed table keyed by MAC;
 * a port's removal clears its entries, so no entry names a dead port.
 */
#include "xenctrl.h"
#include "bridge.h"
#include "kernel.h"

struct port {
    bool used;
    bridge_xmit_fn xmit;
    void *priv;
    uint64_t flood_tokens, flood_ns;    /* storm control: tokens, last refill */
    struct bridge_port_stats st;
};

struct fdb {
    uint8_t mac[6];
    bool used;
    int port;
    uint64_t seen_ns;
};

static struct port ports[BRIDGE_MAX_PORTS];
static struct fdb fdb[BRIDGE_FDB_SIZE];

static unsigned int mac_hash(const uint8_t *m)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 6; i++)
        h = (h ^ m[i]) * 16777619u;
    return h % BRIDGE_FDB_SIZE;
}

static struct fdb *fdb_find(const uint8_t *mac)
{
    for (unsigned int i = mac_hash(mac), n = 0; n < BRIDGE_FDB_SIZE;
         i = (i + 1) % BRIDGE_FDB_SIZE, n++)
        if (!fdb[i].used)
            return NULL;            /* chains have no holes (port_del rebuilds) */
        else if (!memcmp(fdb[i].mac, mac, 6))
            return &fdb[i];
    return NULL;
}

static void fdb_learn(const uint8_t *mac, int port, uint64_t now)
{
    struct fdb *e = fdb_find(mac), *oldest = NULL;

    if (e) {
        e->port = port;             /* a MAC that moved (migration) */
        e->seen_ns = now;
        return;
    }
    for (unsigned int i = mac_hash(mac), n = 0; n < BRIDGE_FDB_SIZE;
         i = (i + 1) % BRIDGE_FDB_SIZE, n++) {
        if (!fdb[i].used || now - fdb[i].seen_ns > BRIDGE_AGEING_NS) {
            e = &fdb[i];
            break;
        }
        if (!oldest || fdb[i].seen_ns < oldest->seen_ns)
            oldest = &fdb[i];
    }
    if (!e)
        e = oldest;                 /* full: the stalest entry goes */
    memcpy(e->mac, mac, 6);
    e->used = true;
    e->port = port;
    e->seen_ns = now;
}

int bridge_port_add(const char *name, bridge_xmit_fn xmit, void *priv)
{
    for (int i = 0; i < BRIDGE_MAX_PORTS; i++) {
        if (ports[i].used)
            continue;
        memset(&ports[i], 0, sizeof(ports[i]));
        ports[i].used = true;
        ports[i].xmit = xmit;
        ports[i].priv = priv;
        ports[i].flood_tokens = BRIDGE_FLOOD_BURST;
        strlcpy_k(ports[i].st.name, name, sizeof(ports[i].st.name));
        return i;
    }
    return -XEN_ENOSPC;
}

int bridge_port_del(int port)
{
    if (port < 0 || port >= BRIDGE_MAX_PORTS || !ports[port].used)
        return -XEN_ENOENT;
    ports[port].used = false;
    /* Clearing entries breaks open-addressing chains: rebuild the table. */
    struct fdb keep[BRIDGE_FDB_SIZE];
    unsigned int n = 0;
    for (unsigned int i = 0; i < BRIDGE_FDB_SIZE; i++)
        if (fdb[i].used && fdb[i].port != port)
            keep[n++] = fdb[i];
    memset(fdb, 0, sizeof(fdb));
    for (unsigned int i = 0; i < n; i++)
        fdb_learn(keep[i].mac, keep[i].port, keep[i].seen_ns);
    return 0;
}

static void out(int p, const void *frame, unsigned int len)
{
    if (ports[p].xmit(ports[p].priv, frame, len))
        ports[p].st.tx_dropped++;
    else
        ports[p].st.tx_frames++;
}

void bridge_input(int port, const void *frame, unsigned int len)
{
    const uint8_t *dst = frame, *src = (const uint8_t *)frame + 6;
    uint64_t now = arch_now_ns();

    if (port < 0 || port >= BRIDGE_MAX_PORTS || !ports[port].used || len < 14)
        return;
    ports[port].st.rx_frames++;
    if (!(src[0] & 1))              /* a multicast source is bogus: never learnt */
        fdb_learn(src, port, now);
    if (!(dst[0] & 1)) {
        struct fdb *e = fdb_find(dst);

        if (e && now - e->seen_ns <= BRIDGE_AGEING_NS && ports[e->port].used) {
            if (e->port != port)
                out(e->port, frame, len);
            return;
        }
    }
    /* Storm control: a token per flood, BRIDGE_FLOOD_PER_S a second. */
    struct port *in = &ports[port];
    uint64_t add = (now - in->flood_ns) * BRIDGE_FLOOD_PER_S / 1000000000ULL;
    if (add) {
        in->flood_tokens = in->flood_tokens + add > BRIDGE_FLOOD_BURST ? BRIDGE_FLOOD_BURST
                                                                     : in->flood_tokens + add;
        in->flood_ns = now;
    }
    if (!in->flood_tokens) {
        in->st.storm_dropped++;
        return;
    }
    in->flood_tokens--;
    for (int p = 0; p < BRIDGE_MAX_PORTS; p++)
        if (ports[p].used && p != port)
            out(p, frame, len);
}

unsigned int bridge_nr_ports(void)
{
    unsigned int n = 0;

    for (int i = 0; i < BRIDGE_MAX_PORTS; i++)
        n += ports[i].used;
    return n;
}

unsigned int bridge_nr_fdb(void)
{
    unsigned int n = 0;

    for (int i = 0; i < BRIDGE_FDB_SIZE; i++)
        n += fdb[i].used;
    return n;
}

unsigned int bridge_list(struct bridge_port_stats *o, unsigned int max)
{
    unsigned int n = 0;

    for (int i = 0; i < BRIDGE_MAX_PORTS && n < max; i++)
        if (ports[i].used)
            o[n++] = ports[i].st;
    return n;
}
