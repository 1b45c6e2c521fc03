/*
 * net.c - lwIP's Ethernet interfaces over the kernel's links (net.h).
 *
 * Received frames are copied into pbufs of lwIP's pool and queued; the
 * queue is fed to lwIP in net_poll(), never from inside a link's own
 * processing, so lwIP is not entered twice.  Transmitted pbuf chains go
 * to the link as they are (one piece per pbuf): the chain is referenced
 * until the link says it is done (net_tx_done), so a link may hand the
 * memory itself to a back-end (netfront grants it).
 */
#include "kernel.h"
#include "net.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define RXQ_LEN   512
#define MAX_FRAGS 18

struct net_if {
    struct netif netif;
    const struct net_link_ops *ops;
    void *link;
    bool dhcp;
};

static struct {
    struct net_if *nif;
    struct pbuf *p;
} rxq[RXQ_LEN];
static unsigned int rxq_head, rxq_len;
static bool started;

void net_init(void)
{
    if (started)
        return;
    lwip_init();
    started = true;
}

static err_t link_output(struct netif *netif, struct pbuf *p)
{
    struct net_if *nif = netif->state;
    struct netfront_frag f[MAX_FRAGS];
    unsigned int n = 0;

    for (struct pbuf *q = p; q; q = q->next) {
        if (!q->len)
            continue;
        if (n == MAX_FRAGS)
            return ERR_BUF;
        f[n].va = q->payload;
        f[n++].len = q->len;
    }
    pbuf_ref(p);
    if (nif->ops->xmit(nif->link, f, n, p)) {
        pbuf_free(p);
        return ERR_IF;
    }
    return ERR_OK;
}

void net_tx_done(void *cookie)
{
    pbuf_free(cookie);
}

static err_t if_init(struct netif *netif)
{
    netif->mtu = 1500;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
                   NETIF_FLAG_LINK_UP;
    netif->output = etharp_output;
    netif->linkoutput = link_output;
    return ERR_OK;
}

/* "a.b.c.d[/p]" into *addr and *prefix; false if malformed. */
static bool parse_ip(const char *s, uint32_t *addr, unsigned int *prefix)
{
    uint32_t a = 0;

    *prefix = 24;
    for (int i = 0; i < 4; i++) {
        unsigned int v = 0, digits = 0;

        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned int)(*s++ - '0');
            digits++;
        }
        if (!digits || v > 255 || (i < 3 && *s++ != '.'))
            return false;
        a = a << 8 | v;
    }
    if (*s == '/') {
        unsigned int p = 0;

        s++;
        while (*s >= '0' && *s <= '9')
            p = p * 10 + (unsigned int)(*s++ - '0');
        if (p == 0 || p > 30)
            return false;
        *prefix = p;
    }
    *addr = a;
    return *s == 0;
}

struct net_if *net_if_add(const char *name, const uint8_t mac[6], const char *ip,
                          const struct net_link_ops *ops, void *link)
{
    struct net_if *nif;
    ip4_addr_t addr, mask, gw;
    uint32_t a = 0;
    unsigned int prefix = 24;

    net_init();
    if (ip && *ip && !parse_ip(ip, &a, &prefix))
        return NULL;
    if (!(nif = kzalloc(sizeof(*nif))))
        return NULL;
    nif->ops = ops;
    nif->link = link;
    nif->dhcp = !ip || !*ip;
    uint32_t m = ~0u << (32 - prefix);
    ip4_addr_set_u32(&addr, lwip_htonl(a));
    ip4_addr_set_u32(&mask, nif->dhcp ? 0 : lwip_htonl(m));
    ip4_addr_set_u32(&gw, nif->dhcp ? 0 : lwip_htonl((a & m) | 2));
    if (!netif_add(&nif->netif, &addr, &mask, &gw, nif, if_init, ethernet_input)) {
        kfree(nif);
        return NULL;
    }
    memcpy(nif->netif.hwaddr, mac, 6);
    nif->netif.name[0] = name[0];
    nif->netif.name[1] = name[1];
    if (!netif_default)
        netif_set_default(&nif->netif);
    netif_set_up(&nif->netif);
    netif_set_link_up(&nif->netif);
    if (nif->dhcp)
        (void)dhcp_start(&nif->netif);
    return nif;
}

void net_if_remove(struct net_if *nif)
{
    if (!nif)
        return;
    /* Frames still queued for it go first. */
    for (unsigned int i = 0; i < rxq_len; i++) {
        unsigned int k = (rxq_head + i) % RXQ_LEN;

        if (rxq[k].nif == nif) {
            pbuf_free(rxq[k].p);
            rxq[k].p = NULL;
        }
    }
    if (nif->dhcp)
        dhcp_stop(&nif->netif);
    netif_set_down(&nif->netif);
    netif_remove(&nif->netif);
    kfree(nif);
}

bool net_if_addr(const struct net_if *nif, char *buf, size_t n)
{
    const ip4_addr_t *a = netif_ip4_addr(&nif->netif);
    uint32_t v = lwip_ntohl(ip4_addr_get_u32(a));

    ksnprintf(buf, n, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
    return v != 0 && netif_is_up(&nif->netif);
}

void net_input(struct net_if *nif, const struct netfront_frag *frags, unsigned int n,
               unsigned int total)
{
    struct pbuf *p;
    unsigned int at = 0;

    if (rxq_len == RXQ_LEN || total > 0xffff ||
        !(p = pbuf_alloc(PBUF_RAW, (u16_t)total, PBUF_POOL)))
        return;                     /* dropped, as a full NIC queue drops */
    for (unsigned int i = 0; i < n; i++) {
        (void)pbuf_take_at(p, frags[i].va, (u16_t)frags[i].len, (u16_t)at);
        at += frags[i].len;
    }
    unsigned int k = (rxq_head + rxq_len++) % RXQ_LEN;
    rxq[k].nif = nif;
    rxq[k].p = p;
}

unsigned int net_poll(void)
{
    unsigned int n = 0;

    if (!started)
        return 0;
    while (rxq_len) {
        unsigned int k = rxq_head;
        struct pbuf *p = rxq[k].p;

        rxq_head = (rxq_head + 1) % RXQ_LEN;
        rxq_len--;
        if (!p)
            continue;               /* its interface went */
        rxq[k].p = NULL;
        if (rxq[k].nif->netif.input(p, &rxq[k].nif->netif) != ERR_OK)
            pbuf_free(p);
        n++;
    }
    sys_check_timeouts();
    return n;
}

uint64_t net_sleep_ns(void)
{
    u32_t ms = started ? sys_timeouts_sleeptime() : 100;

    return (ms > 100 ? 100 : ms) * 1000000ULL;
}
