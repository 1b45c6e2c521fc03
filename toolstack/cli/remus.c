/*
 * remus.c - `lamina remus DOMAIN MACHINE`: continuous checkpoints of a PV
 * domain to a backup machine on this host, after Remus (Cully et al.,
 * NSDI 2008) and xl's `remus` (docs/save-format.md, "Remus").
 *
 * Like migrate, the CLI joins the two hostds with a FIFO in MACHINE's run
 * directory, but the stream does not end:
 *   1. backup: restore <config> size=0 stream=1 remus=1 bulk=FIFO (its
 *      dom0 takes checkpoint after checkpoint into a paused domain and
 *      answers "R epoch=N" for each);
 *   2. primary: remus dom=D file=FIFO interval=MS (its dom0 checkpoints D
 *      every MS ms and holds D's console output until the checkpoint that
 *      covers it is acknowledged);
 *   3. this process relays each acknowledgement (remus-ack) from the
 *      backup to the primary, which releases the held output.
 * It runs in the foreground until one side goes: the primary machine dies
 * -> the backup resumes the last checkpoint (failover) and the forwards
 * follow; the backup dies -> the domain runs on unprotected; Ctrl-C ->
 * remus-stop: the primary runs on, the backup drops its copy.
 * Runs on the host.
 */
#define _GNU_SOURCE
#include "lamina.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REMUS_GIVE_UP_MS 30000      /* after a side went, the other's answer */

static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static unsigned long long kv_u(const struct msg *m, const char *k)
{
    const char *v = msg_get(m, k);
    return v ? strtoull(v, NULL, 10) : 0;
}

/* What one run saw. */
struct remus_run {
    struct peer *pr;
    uint32_t aid, bid;
    int a_up, b_up;             /* the connections */
    int a_done, b_done;         /* the requests' answers came */
    int a_failed, b_failed;
    int failover;
    unsigned long long acked, sent, new_id, from_ckpt, dropped;
    uint64_t t_a_lost, t_failover;
    char a_why[1024], b_why[1024], b_errno[32];
    double *pause_ms;
    size_t npause, cap;
    unsigned long long pages_sum;
};

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void on_primary(struct remus_run *r, const struct msg *m, unsigned long interval)
{
    if (m->id != r->aid)
        return;                 /* a remus-ack's answer */
    if (m->kind == 'R' && msg_get(m, "epoch")) {
        r->sent = kv_u(m, "epoch");
        if (r->npause == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 1024;
            r->pause_ms = realloc(r->pause_ms, r->cap * sizeof(double));
        }
        if (r->pause_ms)
            r->pause_ms[r->npause++] = (double)kv_u(m, "pause_ns") / 1e6;
        r->pages_sum += kv_u(m, "pages");
        if (r->sent == 1) {
            printf("Replicating domain %s to %s: checkpoint 1 sent (%.1f MiB), then one every "
                   "%lu ms; Ctrl-C stops\n", r->pr->dom, r->pr->target,
                   (double)kv_u(m, "bytes") / 1048576.0, interval);
            fflush(stdout);
        }
    } else if (m->kind == 'K' || m->kind == 'E') {
        r->a_done = 1;
        r->a_failed = m->kind == 'E';
        if (m->kind == 'E')
            snprintf(r->a_why, sizeof(r->a_why), "%s", m->text && *m->text ? m->text : m->word);
    }
}

static void on_backup(struct remus_run *r, const struct msg *m)
{
    uint32_t id;

    if (m->id != r->bid)
        return;
    if (m->kind == 'R' && msg_get(m, "epoch")) {
        r->acked = kv_u(m, "epoch");
        if (r->a_up && !r->a_done)
            (void)lconn_send(&r->pr->a, &id, "remus-ack dom=%s epoch=%llu", r->pr->denc,
                             r->acked);
    } else if (m->kind == 'R' && msg_get(m, "failover")) {
        r->failover = 1;
        r->new_id = kv_u(m, "id");
        r->from_ckpt = kv_u(m, "checkpoint");
        r->dropped = kv_u(m, "dropped_pages");
    } else if (m->kind == 'K' || m->kind == 'E') {
        r->b_done = 1;
        r->b_failed = m->kind == 'E';
        r->t_failover = now_ns();
        if (m->kind == 'E') {
            snprintf(r->b_why, sizeof(r->b_why), "%s", m->text && *m->text ? m->text : m->word);
            snprintf(r->b_errno, sizeof(r->b_errno), "%s", m->word ? m->word : "");
        }
    }
}

/* The next line of one side (timeout_ms as lconn_next's), handled; a
 * connection that closed is marked down.  0 when there was none. */
static int take(struct remus_run *r, int is_a, int timeout_ms, unsigned long interval)
{
    struct msg m;
    int rc = lconn_next(is_a ? &r->pr->a : &r->pr->b, &m, timeout_ms);

    if (rc < 0 && is_a) {
        r->a_up = 0;
        r->t_a_lost = now_ns();
    } else if (rc < 0) {
        r->b_up = 0;
    } else if (rc > 0 && is_a) {
        on_primary(r, &m, interval);
    } else if (rc > 0) {
        on_backup(r, &m);
    }
    return rc > 0;
}

/* Waits up to ms for either side, then handles every line both have. */
static void wait_lines(struct remus_run *r, int ms, unsigned long interval)
{
    struct pollfd p[2];
    int n = 0;

    if (r->a_up)
        p[n++] = (struct pollfd){ r->pr->a.fd, POLLIN, 0 };
    if (r->b_up)
        p[n++] = (struct pollfd){ r->pr->b.fd, POLLIN, 0 };
    if (n == 0 || poll(p, (nfds_t)n, ms) <= 0)
        return;
    for (int k = 0; k < n; k++)
        if (p[k].revents)
            (void)take(r, r->a_up && p[k].fd == r->pr->a.fd, 1, interval);
    while (r->a_up && take(r, 1, 0, interval))
        ;
    while (r->b_up && take(r, 0, 0, interval))
        ;
}

static void print_stats(const struct remus_run *r)
{
    if (!r->npause)
        return;
    qsort(r->pause_ms, r->npause, sizeof(double), cmp_double);
    printf("%llu checkpoints sent, %llu acknowledged; pause per checkpoint min %.1f / median "
           "%.1f / max %.1f ms; %.0f pages per checkpoint on average\n", r->sent, r->acked,
           r->pause_ms[0], r->pause_ms[r->npause / 2], r->pause_ms[r->npause - 1],
           (double)r->pages_sum / (double)r->npause);
}

int cmd_remus(struct inv *iv)
{
    long interval = inv_num(iv, "interval-ms", 100, 20, 10000);
    long failover_ms = inv_num(iv, "failover-ms", 2000, 100, 600000);
    static struct peer pr;
    static struct remus_run r;
    uint32_t id;
    int rc;

    memset(&pr, 0, sizeof(pr));
    if ((rc = peer_open(iv, "remus", &pr)))
        return rc;
    memset(&r, 0, sizeof(r));
    r.pr = &pr;
    r.a_up = r.b_up = 1;
    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (lconn_send(&pr.b, &r.bid, "restore%s size=0 stream=1 remus=1 failover_ms=%ld bulk=%s",
                   pr.args, failover_ms, pr.fenc) ||
        lconn_send(&pr.a, &r.aid, "remus dom=%s file=%s interval=%ld", pr.denc, pr.fenc,
                   interval)) {
        err("remus: lost the connection to a hostd");
        unlink(pr.fifo);
        return EXIT_FAIL;
    }
    int stop_sent = 0;
    uint64_t t_gone = 0;
    for (;;) {
        wait_lines(&r, 200, (unsigned long)interval);
        if (r.sent >= 1 || r.a_done || r.b_done)
            unlink(pr.fifo);                /* both ends have it open (or never will) */
        /* The backup took over, refused, or let go. */
        if (r.b_done || !r.b_up)
            break;
        /* Asked to stop, or the primary's side ended: the primary runs on
         * and the backup drops its copy when END comes. */
        if ((stop_asked || r.a_done) && r.a_up && !stop_sent) {
            if (!r.a_done)
                (void)lconn_send(&pr.a, &id, "remus-stop dom=%s", pr.denc);
            stop_sent = 1;
        }
        if (!r.a_up || r.a_done || stop_sent) {
            if (!t_gone)
                t_gone = now_ns();
            else if (now_ns() - t_gone > (uint64_t)(failover_ms + REMUS_GIVE_UP_MS) * 1000000)
                break;
        }
    }
    unlink(pr.fifo);
    /* The backup's answer decides what happened. */
    if (r.b_done && !r.b_failed && r.failover) {
        printf("The primary is gone: domain %s resumed on %s as domain %llu from checkpoint "
               "%llu (%llu acknowledged; %llu pages of checkpoint %llu dropped)",
               pr.dom, pr.target, r.new_id, r.from_ckpt, r.acked, r.dropped, r.from_ckpt + 1);
        if (r.t_a_lost && r.t_failover > r.t_a_lost)
            printf(", %.0f ms after the primary's hostd went", (double)(r.t_failover -
                                                                        r.t_a_lost) / 1e6);
        printf("\n");
        print_stats(&r);
        peer_move_forwards(NULL, &pr.b, pr.fwds, pr.target);
        return EXIT_OK;
    }
    /* Not a failover: wait a little for the primary's own answer. */
    for (int i = 0; i < 50 && r.a_up && !r.a_done; i++) {
        if (!stop_sent) {
            (void)lconn_send(&pr.a, &id, "remus-stop dom=%s", pr.denc);
            stop_sent = 1;
        }
        wait_lines(&r, 200, (unsigned long)interval);
    }
    print_stats(&r);
    if (r.b_done && r.b_failed && !strcmp(r.b_errno, "ENOTCONN") && !r.a_failed) {
        printf("Replication of domain %s stopped; it runs on here, and %s dropped its copy\n",
               pr.dom, pr.target);
        return EXIT_OK;
    }
    if (r.a_failed)
        err("remus: %s", r.a_why);
    if (r.b_done && r.b_failed && strcmp(r.b_errno, "ENOTCONN"))
        err("remus: the backup %s: %s", pr.target, r.b_why);
    else if (!r.b_up && !r.b_done)
        err("remus: lost the backup machine %s", pr.target);
    if (!r.a_up && !r.b_done)
        err("remus: lost both machines' answers; check `lamina list` on each");
    else if (r.a_up)
        err("remus: domain %s runs on here, unprotected", pr.dom);
    return EXIT_FAIL;
}
