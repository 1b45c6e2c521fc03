/*
 * migrate.c - `lamina migrate DOMAIN MACHINE`: live migration of a PV
 * domain between two Lamina machines on this host (docs/save-format.md,
 * "Migration").
 *
 * The CLI joins the two hostds with a FIFO in the target's run directory:
 *   1. target: restore <config> size=0 stream=1 bulk=FIFO (hostd opens the
 *      FIFO and pumps what arrives into its dom0, which builds the domain
 *      as the pages come; the disks are opened without QEMU's lock, since
 *      the source still has them);
 *   2. source: save dom=D migrate=1 stream=1 file=FIFO (dom0 puts the
 *      domain in log-dirty mode, sends its memory round after round while
 *      it runs, suspends it for the last round; hostd writes it all into
 *      the FIFO).  The domain then waits, suspended, on the source;
 *   3. the target answers: its domain runs (K) -> the source destroys its
 *      copy (save-end commit=1) and the host forwards move; or it failed
 *      (E) -> the source resumes its copy (commit=0).
 * Runs on the host.
 */
#define _GNU_SOURCE
#include "lamina.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENC(dst, s) pct_encode((s), strlen(s), (dst), sizeof(dst))
#define MIGRATE_TIMEOUT_MS 600000

/* What the two dom0s report. */
struct mig_res {
    unsigned long long bytes, pages, total_ns, save_ns, suspend_ns, stop_ns, rounds, id,
        resume_ns;
    char round_pages[400];
    char config[8192];
};

static int mig_rec(void *ctx, const struct msg *m)
{
    struct mig_res *r = ctx;
    static const struct { const char *k; size_t off; } nums[] = {
        { "bytes", offsetof(struct mig_res, bytes) },
        { "pages", offsetof(struct mig_res, pages) },
        { "total_ns", offsetof(struct mig_res, total_ns) },
        { "save_ns", offsetof(struct mig_res, save_ns) },
        { "suspend_ns", offsetof(struct mig_res, suspend_ns) },
        { "stop_ns", offsetof(struct mig_res, stop_ns) },
        { "rounds", offsetof(struct mig_res, rounds) },
        { "id", offsetof(struct mig_res, id) },
        { "resume_ns", offsetof(struct mig_res, resume_ns) },
    };
    const char *v;
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if ((v = msg_get(m, nums[i].k)))
            *(unsigned long long *)((char *)r + nums[i].off) = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "round_pages")))
        snprintf(r->round_pages, sizeof(r->round_pages), "%s", v);
    if ((v = msg_get(m, "config")))
        snprintf(r->config, sizeof(r->config), "%s", v);
    return 0;
}

/* Waits for the answer to request id on c: 0 (K), 1 (E, printed with
 * the prefix), -1 (hostd gone or no answer). */
static int wait_answer(struct lconn *c, uint32_t id, struct mig_res *r, const char *prefix,
                       char *why, size_t n)
{
    struct msg m;
    for (;;) {
        int rc = lconn_next(c, &m, MIGRATE_TIMEOUT_MS);
        if (rc <= 0) {
            snprintf(why, n, "%s: %s", prefix, rc ? "lost the connection to its hostd"
                                                  : "no answer");
            return -1;
        }
        if (m.id != id)
            continue;
        if (m.kind == 'R')
            (void)mig_rec(r, &m);
        else if (m.kind == 'K')
            return 0;
        else if (m.kind == 'E') {
            snprintf(why, n, "%s: %s", prefix, m.text && *m.text ? m.text : m.word);
            return 1;
        }
    }
}

/* Moves the host forwards ("HOST:IP:PORT" lines) from a (NULL: its
 * machine is gone, and its forwards with it) to b. */
void peer_move_forwards(struct lconn *a, struct lconn *b, char *fwds, const char *target)
{
    for (char *p = fwds, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        unsigned int host, port;
        char ip[20], to[64], enc[200];
        *nl = 0;
        if (sscanf(p, "%u:%19[0-9.]:%u", &host, ip, &port) != 3)
            continue;
        if (a)
            (void)lamina_call(a, "migrate", NULL, NULL, NULL, 30000,
                              "forward op=remove host=%u", host);
        snprintf(to, sizeof(to), "%s:%u", ip, port);
        ENC(enc, to);
        if (lamina_call(b, "migrate", NULL, NULL, NULL, 30000, "forward op=add host=%u to=%s",
                        host, enc))
            err("host port %u could not follow the domain to %s", host, target);
        else
            printf("Host port %u now forwards to %s on %s\n", host, to, target);
    }
}

int peer_open(struct inv *iv, const char *what, struct peer *p)
{
    char trun[PATH_MAX], tsock[PATH_MAX + 16], a_real[PATH_MAX], b_real[PATH_MAX];
    static struct mig_res src;
    char e[512];

    p->dom = iv->pos[0];
    p->target = iv->pos[1];
    if (!strchr(p->target, '/') && !machine_name_ok(p->target))
        return usage_error(iv, "MACHINE is a name given to `lamina up --name` (letters, "
                           "digits, '-', '_') or a run directory, not '%s'", p->target);
    if (machine_run_dir(p->target, trun, sizeof(trun)) < 0 || ENC(p->denc, p->dom) < 0)
        return usage_error(iv, "machine or domain name too long");
    if (realpath(trun, b_real) && realpath(lp.run, a_real) && !strcmp(a_real, b_real)) {
        err("%s: %s is this machine (%s); name another one", what, p->target, lp.run);
        return EXIT_FAIL;
    }
    if (lconn_open(&p->a, 0))
        return EXIT_FAIL;
    snprintf(tsock, sizeof(tsock), "%s/lamina.sock", trun);
    if (lconn_open_sock(&p->b, tsock) < 0) {
        err("%s: machine %s is not up (nothing answers on %s); start it with "
            "`lamina up --name %s`", what, p->target, tsock, p->target);
        lconn_close(&p->a);
        return EXIT_FAIL;
    }
    memset(&src, 0, sizeof(src));
    if (lamina_call(&p->a, what, mig_rec, NULL, &src, 30000, "config dom=%s", p->denc) ||
        domain_forwards(&p->a, what, p->denc, p->fwds, sizeof(p->fwds)) < 0)
        goto fail;
    if (config_args(src.config, p->args, sizeof(p->args), p->name, sizeof(p->name), e,
                    sizeof(e)) < 0) {
        err("%s: %s", what, e);
        goto fail;
    }
    snprintf(p->fifo, sizeof(p->fifo), "%s/%s-%d.fifo", trun, what, (int)getpid());
    unlink(p->fifo);
    if (mkfifo(p->fifo, 0600) < 0) {
        err("%s: cannot make the stream FIFO %s: %s", what, p->fifo, strerror(errno));
        goto fail;
    }
    ENC(p->fenc, p->fifo);
    return 0;
fail:
    lconn_close(&p->a);
    lconn_close(&p->b);
    return EXIT_FAIL;
}

int cmd_migrate(struct inv *iv)
{
    long rounds = inv_num(iv, "rounds", 8, 1, 30);
    long threshold = inv_num(iv, "threshold", 50, 0, 1L << 24);
    static struct peer pr;
    static struct mig_res src, dst;
    char why[1024];
    int rc;

    memset(&pr, 0, sizeof(pr));
    if ((rc = peer_open(iv, "migrate", &pr)))
        return rc;
    struct lconn *a = &pr.a, *b = &pr.b;
    const char *dom = pr.dom, *target = pr.target, *denc = pr.denc, *fifo = pr.fifo;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    uint64_t t0 = now_ns();
    uint32_t bid;
    if (lconn_send(b, &bid, "restore%s size=0 stream=1 bulk=%s", pr.args, pr.fenc)) {
        err("migrate: lost the connection to %s's hostd", target);
        unlink(fifo);
        return EXIT_FAIL;
    }
    uint32_t aid;
    int arc = lconn_send(a, &aid, "save dom=%s file=%s stream=1 migrate=1 rounds=%ld "
                         "threshold=%ld", denc, pr.fenc, rounds, threshold) ? -1
            : wait_answer(a, aid, &src, "the source", why, sizeof(why));
    uint64_t t_src = now_ns();
    if (arc != 0) {
        /* The source's dom0 resumed the domain (or never stopped it); the
         * target sees its stream end and gives up. */
        char bwhy[1024];
        int brc = wait_answer(b, bid, &dst, "the target", bwhy, sizeof(bwhy));
        unlink(fifo);
        /* The target's refusal (no memory, a disk it cannot open) is the
         * cause; the source then saw its stream's reader go. */
        if (brc == 1)
            err("migrate: %s (%s); domain %s runs on here", bwhy, why, dom);
        else
            err("migrate: %s; domain %s runs on here", why, dom);
        return EXIT_FAIL;
    }
    /* The source's copy waits, suspended, for this process's verdict:
     * Ctrl-C must not leave it there. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int brc = wait_answer(b, bid, &dst, "the target", why, sizeof(why));
    uint64_t t_dst = now_ns();
    unlink(fifo);
    if (brc != 0) {
        if (lamina_call(a, "migrate", NULL, NULL, NULL, 60000, "save-end dom=%s commit=0",
                        denc)) {
            err("migrate: %s; and domain %s could not be resumed here", why, dom);
            return EXIT_FAIL;
        }
        err("migrate: %s; domain %s was resumed here", why, dom);
        return EXIT_FAIL;
    }
    if (lamina_call(a, "migrate", NULL, NULL, NULL, 60000, "save-end dom=%s commit=1", denc))
        err("migrate: domain %s runs on %s, but its suspended copy here could not be "
            "destroyed: `lamina destroy %s`", dom, target, dom);
    uint64_t t_end = now_ns();
    /* Downtime, at most: the source's stop-and-copy (suspended -> its last
     * byte sent, its dom0's clock), then until the target's answer that
     * the domain runs reached us (this host's clock; the answer's trip
     * over the target's COM2 included).  At least: the stop-and-copy and
     * the target's resume (the last byte read -> running, its dom0's
     * clock), without the last bytes' trip between the machines. */
    double down = (double)src.save_ns / 1e6 + (double)(t_dst - t_src) / 1e6;
    printf("Migrated domain %s to %s as domain %llu: %.1f MiB in %.1f ms, downtime %.1f ms at "
           "most (stop-and-copy %.1f ms, target resume %.1f ms); %llu rounds, pages per round "
           "%s\n", dom, target, dst.id, (double)src.bytes / 1048576.0,
           (double)(t_end - t0) / 1e6, down, (double)src.save_ns / 1e6,
           (double)dst.resume_ns / 1e6, src.rounds, src.round_pages);
    peer_move_forwards(a, b, pr.fwds, target);
    lconn_close(a);
    lconn_close(b);
    return EXIT_OK;
}
