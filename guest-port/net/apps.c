/*
 * apps.c - the guest's network programs (net.h): lwIP's httpd with a page
 * the guest makes, lwIP's lwiperf (iperf 2) server and client, a bulk
 * sender and a checking receiver on lwIP's raw TCP API, and ICMP echo on
 * a raw PCB.
 *
 * Runs in the thread that drives lwIP (NO_SYS=1 callbacks).
 */
#include <string.h>
#include "kernel.h"
#include "net.h"
#include "lwip/apps/fs.h"
#include "lwip/apps/httpd.h"
#include "lwip/apps/lwiperf.h"
#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4.h"
#include "lwip/mem.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#define PAGE_MAX 4096

static net_page_fn page_fn;
static unsigned int clients;            /* clients still running */
static char last_report[192];
static volatile uint64_t report_seq;

/* Prints an application's result line and keeps it (net_last_report). */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(last_report, sizeof(last_report), fmt, ap);
    va_end(ap);
    kprintf("%s\n", last_report);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    report_seq++;
}

const char *net_last_report(uint64_t *seq)
{
    *seq = report_seq;
    return last_report;
}

/* ---- httpd ------------------------------------------------------------------ */

int fs_open_custom(struct fs_file *file, const char *name)
{
    char *buf;

    if (!page_fn || (strcmp(name, "/") && strcmp(name, "/index.html")))
        return 0;
    if (!(buf = mem_malloc(PAGE_MAX)))
        return 0;
    memset(file, 0, sizeof(*file));
    file->data = buf;
    file->len = (int)page_fn(buf, PAGE_MAX);
    file->index = file->len;
    file->pextension = buf;
    file->flags = 0;                    /* httpd adds the headers */
    return 1;
}

void fs_close_custom(struct fs_file *file)
{
    mem_free(file->pextension);
}

int net_httpd_start(net_page_fn page)
{
    if (page_fn)
        return -XEN_EEXIST;
    page_fn = page;
    net_init();
    httpd_init();
    return 0;
}

/* ---- lwiperf ------------------------------------------------------------------- */

static void iperf_report(void *arg, enum lwiperf_report_type type, const ip_addr_t *local,
                         u16_t lport, const ip_addr_t *remote, u16_t rport, u32_t bytes,
                         u32_t ms, u32_t kbps)
{
    static const char *const names[] = { "server-done", "client-done", "abort-local",
                                         "abort-local-data", "abort-local-tx",
                                         "abort-remote" };   /* enum lwiperf_report_type */
    (void)local;
    (void)lport;
    (void)remote;
    (void)rport;
    const char *name = (unsigned int)type < ARRAY_SIZE(names) ? names[type] : "?";

    if (arg)        /* a client's result is the one net_last_report() keeps */
        report("net: iperf %s bytes=%u ms=%u kbps=%u", name, bytes, ms, kbps);
    else
        kprintf("net: iperf %s bytes=%u ms=%u kbps=%u\n", name, bytes, ms, kbps);
    if (arg && clients)
        clients--;
}

int net_iperf_server_start(void)
{
    net_init();
    return lwiperf_start_tcp_server_default(iperf_report, NULL) ? 0 : -XEN_ENOMEM;
}

int net_iperf_client_start(const char *ip, uint16_t port)
{
    ip_addr_t a;

    net_init();
    if (!ipaddr_aton(ip, &a))
        return -XEN_EINVAL;
    if (!lwiperf_start_tcp_client(&a, port, LWIPERF_CLIENT, iperf_report, (void *)1))
        return -XEN_ENOMEM;
    clients++;
    return 0;
}

/* ---- bulk transfer --------------------------------------------------------------- */

/* Byte i of the stream: a function of i alone, so the receiver can check
 * every byte; sum is FNV-1a over the stream. */
static inline uint8_t pattern(uint64_t i)
{
    uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ULL;

    return (uint8_t)((x ^ (x >> 29)) >> ((i & 7) * 8));
}

struct sink {
    uint64_t bytes, bad;
    uint64_t sum;
};

static err_t sink_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct sink *s = arg;

    if (!p) {
        report("net: received %lu bytes sum=%016lx %s", (unsigned long)s->bytes,
                (unsigned long)s->sum, s->bad ? "BAD" : "ok");
        mem_free(s);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_close(pcb);
        return ERR_OK;
    }
    (void)err;
    for (struct pbuf *q = p; q; q = q->next) {
        const uint8_t *b = q->payload;

        for (u16_t i = 0; i < q->len; i++, s->bytes++) {
            s->bad += b[i] != pattern(s->bytes);
            s->sum = (s->sum ^ b[i]) * 0x100000001b3ULL;
        }
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static void sink_err(void *arg, err_t err)
{
    (void)err;
    if (arg) {
        kprintf("net: receive aborted after %lu bytes\n", (unsigned long)((struct sink *)arg)->bytes);
        mem_free(arg);
    }
}

static err_t sink_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct sink *s;

    (void)arg;
    if (err != ERR_OK || !(s = mem_malloc(sizeof(*s))))
        return ERR_MEM;
    memset(s, 0, sizeof(*s));
    s->sum = 0xcbf29ce484222325ULL;
    tcp_arg(pcb, s);
    tcp_recv(pcb, sink_recv);
    tcp_err(pcb, sink_err);
    return ERR_OK;
}

int net_sink_start(uint16_t port)
{
    struct tcp_pcb *pcb, *l;

    net_init();
    if (!(pcb = tcp_new()))
        return -XEN_ENOMEM;
    if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK || !(l = tcp_listen(pcb))) {
        tcp_abort(pcb);
        return -XEN_EADDRINUSE;
    }
    tcp_accept(l, sink_accept);
    return 0;
}

struct sender {
    uint64_t total, queued, acked, sum;
    uint64_t t0;
    uint8_t chunk[TCP_MSS * 4];
};

static void send_more(struct tcp_pcb *pcb, struct sender *s)
{
    while (s->queued < s->total) {
        u16_t room = tcp_sndbuf(pcb);
        uint64_t left = s->total - s->queued;
        u16_t n = (u16_t)(left < sizeof(s->chunk) ? left : sizeof(s->chunk));

        if (room < n)
            n = room;
        if (!n || tcp_sndqueuelen(pcb) > TCP_SND_QUEUELEN - 4)
            break;
        for (u16_t i = 0; i < n; i++) {
            s->chunk[i] = pattern(s->queued + i);
            s->sum = (s->sum ^ s->chunk[i]) * 0x100000001b3ULL;
        }
        if (tcp_write(pcb, s->chunk, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        s->queued += n;
    }
    tcp_output(pcb);
}

static err_t send_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct sender *s = arg;

    s->acked += len;
    if (s->acked >= s->total) {
        uint64_t ms = (arch_now_ns() - s->t0) / 1000000ULL;

        report("net: sent %lu bytes sum=%016lx ms=%lu", (unsigned long)s->acked,
                (unsigned long)s->sum, (unsigned long)ms);
        tcp_arg(pcb, NULL);
        tcp_sent(pcb, NULL);
        tcp_close(pcb);
        mem_free(s);
        clients--;
        return ERR_OK;
    }
    send_more(pcb, s);
    return ERR_OK;
}

static void send_err(void *arg, err_t err)
{
    if (arg) {
        report("net: send failed (lwIP error %d) after %lu bytes", err,
                (unsigned long)((struct sender *)arg)->acked);
        mem_free(arg);
        clients--;
    }
}

static err_t send_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct sender *s = arg;

    if (err != ERR_OK)
        return err;
    s->t0 = arch_now_ns();
    send_more(pcb, s);
    return ERR_OK;
}

int net_send_start(const char *ip, uint16_t port, uint64_t bytes)
{
    struct sender *s;
    struct tcp_pcb *pcb;
    ip_addr_t a;

    net_init();
    if (!ipaddr_aton(ip, &a) || !bytes)
        return -XEN_EINVAL;
    if (!(s = mem_malloc(sizeof(*s))))
        return -XEN_ENOMEM;
    memset(s, 0, sizeof(*s));
    s->total = bytes;
    s->sum = 0xcbf29ce484222325ULL;
    if (!(pcb = tcp_new())) {
        mem_free(s);
        return -XEN_ENOMEM;
    }
    tcp_arg(pcb, s);
    tcp_sent(pcb, send_sent);
    tcp_err(pcb, send_err);
    clients++;
    if (tcp_connect(pcb, &a, port, send_connected) != ERR_OK) {
        tcp_abort(pcb);             /* send_err frees s */
        return -XEN_ECONNREFUSED;
    }
    return 0;
}

/* ---- ICMP echo ----------------------------------------------------------------- */

#define PING_ID      0x4c4d
#define PING_MAX     1000
#define PING_TIMEOUT 1000           /* ms */

static struct {
    struct raw_pcb *pcb;
    ip_addr_t to;
    unsigned int count, sent, replies;
    uint16_t seq;
    uint64_t t_sent;
    uint32_t rtt_us[PING_MAX];
} ping;

static void ping_send(void *arg);

static void ping_finish(void)
{
    uint32_t *r = ping.rtt_us;
    unsigned int n = ping.replies;

    for (unsigned int i = 1; i < n; i++)        /* insertion sort: small n */
        for (unsigned int j = i; j && r[j - 1] > r[j]; j--) {
            uint32_t t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    report("net: ping %s replies=%u/%u rtt_us=%u/%u/%u", ipaddr_ntoa(&ping.to), n,
            ping.count, n ? r[0] : 0, n ? r[n / 2] : 0, n ? r[n - 1] : 0);
    raw_remove(ping.pcb);
    ping.pcb = NULL;
    clients--;
}

static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    struct icmp_echo_hdr e;
    u16_t hl;

    (void)arg;
    (void)pcb;
    if (p->tot_len < IP_HLEN + sizeof(e))
        return 0;
    hl = (u16_t)(IPH_HL((struct ip_hdr *)p->payload) * 4);
    if (pbuf_copy_partial(p, &e, sizeof(e), hl) != sizeof(e) || e.type != ICMP_ER ||
        e.id != lwip_htons(PING_ID) || e.seqno != lwip_htons(ping.seq) ||
        !ip_addr_cmp(addr, &ping.to))
        return 0;                   /* not ours: lwIP's ICMP sees it */
    if (ping.replies < PING_MAX)
        ping.rtt_us[ping.replies++] = (uint32_t)((arch_now_ns() - ping.t_sent) / 1000ULL);
    pbuf_free(p);
    sys_untimeout(ping_send, NULL);
    ping_send(NULL);
    return 1;
}

static void ping_send(void *arg)
{
    struct pbuf *p;
    struct icmp_echo_hdr *e;

    (void)arg;
    if (ping.sent == ping.count) {
        ping_finish();
        return;
    }
    if (!(p = pbuf_alloc(PBUF_IP, sizeof(*e) + 32, PBUF_RAM)))
        return;
    e = p->payload;
    ICMPH_TYPE_SET(e, ICMP_ECHO);
    ICMPH_CODE_SET(e, 0);
    e->id = lwip_htons(PING_ID);
    e->seqno = lwip_htons(++ping.seq);
    for (int i = 0; i < 32; i++)
        ((uint8_t *)(e + 1))[i] = (uint8_t)i;
    e->chksum = 0;
    e->chksum = inet_chksum(e, p->len);
    ping.t_sent = arch_now_ns();
    (void)raw_sendto(ping.pcb, p, &ping.to);
    pbuf_free(p);
    ping.sent++;
    sys_timeout(PING_TIMEOUT, ping_send, NULL);
}

int net_ping_start(const char *ip, unsigned int count)
{
    net_init();
    if (ping.pcb)
        return -XEN_EBUSY;
    if (!ipaddr_aton(ip, &ping.to) || count == 0 || count > PING_MAX)
        return -XEN_EINVAL;
    if (!(ping.pcb = raw_new(IP_PROTO_ICMP)))
        return -XEN_ENOMEM;
    raw_recv(ping.pcb, ping_recv, NULL);
    ping.count = count;
    ping.sent = ping.replies = 0;
    clients++;
    ping_send(NULL);
    return 0;
}

bool net_apps_busy(void)
{
    return clients != 0;
}
