/*
 * console.c - `lamina console` (a domain's console through hostd) and
 * `lamina top` (a refreshing table of domains, like xentop).  Runs on the
 * host.
 */
#include "lamina.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTRL_RBRACKET 0x1d

static struct termios saved_tio;
static int tio_saved;

static void tty_restore(void)
{
    if (tio_saved)
        tcsetattr(0, TCSAFLUSH, &saved_tio);
    tio_saved = 0;
}

/* tty_raw - characters one at a time, no echo, no signals; CR still becomes
 * NL on input and output NL still becomes CR NL. */
static void tty_raw(void)
{
    struct termios t;
    if (tcgetattr(0, &saved_tio) < 0)
        return;
    tio_saved = 1;
    atexit(tty_restore);
    t = saved_tio;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
    t.c_iflag &= ~(tcflag_t)(IXON | INLCR | IGNCR);
    t.c_iflag |= ICRNL;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSAFLUSH, &t);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* send_input - console-input for bytes in[0..n) in chunks that fit a line. */
static int send_input(struct lconn *c, long dom, const char *in, size_t n)
{
    char enc[3 * 1024 + 1];
    while (n) {
        size_t k = n > 1024 ? 1024 : n;
        pct_encode(in, k, enc, sizeof(enc));
        if (lconn_send(c, NULL, "console-input dom=%ld data=%s", dom, enc))
            return -1;
        in += k;
        n -= k;
    }
    return 0;
}

enum { MSG_GO_ON = 0, MSG_FAIL, MSG_REFUSED, MSG_ENDED };

/* console_msg - acts on one message while attached to dom's console (aid:
 * the attach request's id): prints console output, notes the attach
 * answer (starting the drain of a dump or of piped input), reports errors.
 * Returns MSG_GO_ON, MSG_FAIL (attach refused) or MSG_REFUSED (input
 * refused). */
static int console_msg(const struct msg *m, long dom, uint32_t aid, int *attached,
                       int eof, uint64_t *drain_end, int drain_ms)
{
    char head[32];
    snprintf(head, sizeof(head), "domain %ld (", dom);
    if (m->kind == 'C' && (long)m->id == dom) {
        write_all(1, m->text, (size_t)m->textlen);
    } else if (m->kind == 'L' && m->text && !strncmp(m->text, head, strlen(head))) {
        /* hostd: the domain ended (crashed, destroyed, powered off, saved). */
        tty_restore();
        fprintf(stderr, "\n[lamina: %s]\n", m->text);
        return MSG_ENDED;
    } else if (m->id == aid && m->kind == 'K') {
        *attached = 1;
        if (eof && !*drain_end)
            *drain_end = now_ns() + (uint64_t)drain_ms * 1000000;
    } else if (m->kind == 'E') {
        tty_restore();
        if (m->id == aid) {
            err("console: %s", m->text && *m->text ? m->text : m->word);
            return MSG_FAIL;
        }
        err("console: input refused: %s", m->text && *m->text ? m->text : m->word);
        return MSG_REFUSED;
    }
    return MSG_GO_ON;
}

/*
 * console_run - attach to domain dom's console through c and copy it to
 * stdout.  dump: print the history and return.  Otherwise input comes from
 * stdin (raw when a terminal; Ctrl-] detaches), and with piped input the
 * command returns drain_ms after EOF.  Returns the exit status.
 */
int console_run(struct lconn *c, long dom, int dump, int drain_ms);
int console_run(struct lconn *c, long dom, int dump, int drain_ms)
{
    uint32_t aid;
    struct msg m;
    if (lconn_send(c, &aid, "console-attach dom=%ld", dom)) {
        err("console: lost the connection to lamina hostd");
        return EXIT_FAIL;
    }
    int attached = 0, tty = !dump && isatty(0), eof = dump;
    uint64_t drain_end = 0;
    if (dump)
        drain_ms = 300;
    if (tty) {
        fprintf(stderr, "[attached to domain %ld; Ctrl-] detaches]\r\n", dom);
        tty_raw();
    }
    char lbuf[4096];
    size_t llen = 0;
    int status = EXIT_OK;
    for (;;) {
        struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
        int np = attached && !eof ? 2 : 1;
        /* lines already buffered by lconn come first */
        int r, act = 0;
        while (!act && (r = lconn_next(c, &m, 0)) > 0)
            act = console_msg(&m, dom, aid, &attached, eof, &drain_end, drain_ms);
        if (act == MSG_FAIL || act == MSG_ENDED)
            return EXIT_FAIL;
        if (act == MSG_REFUSED) {
            status = EXIT_FAIL;
            goto out;
        }
        if (r < 0) {
            tty_restore();
            err("console: the machine went down");
            return EXIT_FAIL;
        }
        /* the wait is computed only now: a K just taken from the buffer may
         * have started the drain */
        int wait = -1;
        if (drain_end) {
            uint64_t t = now_ns();
            if (t >= drain_end)
                break;
            wait = (int)((drain_end - t) / 1000000) + 1;
        }
        np = attached && !eof ? 2 : 1;
        p[0].revents = p[1].revents = 0;
        r = poll(p, np, wait);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents) {
            /* let lconn_next read it: wait a little, the line is there */
            r = lconn_next(c, &m, 1);
            if (r < 0) {
                tty_restore();
                err("console: the machine went down");
                return EXIT_FAIL;
            }
            if (r > 0) {
                act = console_msg(&m, dom, aid, &attached, eof, &drain_end, drain_ms);
                if (act == MSG_FAIL || act == MSG_ENDED)
                    return EXIT_FAIL;
                if (act == MSG_REFUSED) {
                    status = EXIT_FAIL;
                    goto out;
                }
            }
        }
        if (np == 2 && p[1].revents) {
            char in[1024];
            ssize_t n = read(0, in, sizeof(in));
            if (n <= 0) {
                if (llen)
                    send_input(c, dom, lbuf, llen);
                llen = 0;
                eof = 1;
                drain_end = now_ns() + (uint64_t)drain_ms * 1000000;
                continue;
            }
            if (tty) {
                char *d = memchr(in, CTRL_RBRACKET, (size_t)n);
                if (d) {
                    send_input(c, dom, in, (size_t)(d - in));
                    break;
                }
                send_input(c, dom, in, (size_t)n);
            } else {
                /* send whole lines */
                for (ssize_t i = 0; i < n; i++) {
                    if (llen < sizeof(lbuf))
                        lbuf[llen++] = in[i];
                    if (in[i] == '\n' || llen == sizeof(lbuf)) {
                        send_input(c, dom, lbuf, llen);
                        llen = 0;
                    }
                }
            }
        }
    }
out:
    tty_restore();
    if (tty)
        fprintf(stderr, "\n[detached from domain %ld]\n", dom);
    lconn_send(c, NULL, "console-detach dom=%ld", dom);
    lconn_close(c);
    return status;
}

int cmd_console(struct inv *iv)
{
    struct lconn c;
    long drain = inv_num(iv, "drain", 1000, 0, 600000);
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    long dom = resolve_domain(&c, "console", iv->pos[0]);
    if (dom < 0)
        return EXIT_FAIL;
    return console_run(&c, dom, inv_flag(iv, "dump"), (int)drain);
}

/* ---- top ------------------------------------------------------------------ */

struct top_dom {
    long id;
    char name[64], state[8];
    unsigned long mem_kib, max_kib, vcpus;
    unsigned long long cpu_ns;
};

struct top_snap {
    int n;
    struct top_dom d[256];
    unsigned long total_kib, free_kib;
    uint64_t t;
};

static int top_rec(void *ctx, const struct msg *m)
{
    struct top_snap *s = ctx;
    const char *v;
    if (!msg_get(m, "id") || s->n == 256)
        return 0;
    struct top_dom *d = &s->d[s->n++];
    memset(d, 0, sizeof(*d));
    d->id = strtol(msg_get(m, "id"), NULL, 10);
    snprintf(d->name, sizeof(d->name), "%s", (v = msg_get(m, "name")) ? v : "?");
    snprintf(d->state, sizeof(d->state), "%s", (v = msg_get(m, "state")) ? v : "------");
    d->mem_kib = (v = msg_get(m, "mem_kib")) ? strtoul(v, NULL, 10) : 0;
    d->max_kib = (v = msg_get(m, "max_kib")) ? strtoul(v, NULL, 10) : 0;
    d->vcpus = (v = msg_get(m, "vcpus")) ? strtoul(v, NULL, 10) : 0;
    d->cpu_ns = (v = msg_get(m, "cpu_ns")) ? strtoull(v, NULL, 10) : 0;
    return 0;
}

static int top_info_rec(void *ctx, const struct msg *m)
{
    struct top_snap *s = ctx;
    const char *v;
    if ((v = msg_get(m, "total_kib")))
        s->total_kib = strtoul(v, NULL, 10);
    if ((v = msg_get(m, "free_kib")))
        s->free_kib = strtoul(v, NULL, 10);
    return 0;
}

static void top_print(const struct top_snap *s, const struct top_snap *prev, int screen)
{
    char ts[16];
    time_t now = time(NULL);
    strftime(ts, sizeof(ts), "%T", localtime(&now));
    const char *accel = machine_get("accel");
    int cnt[6] = { 0 };
    const char *letters = "rbpscd";
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < 6; k++)
            if (strchr(s->d[i].state, letters[k]))
                cnt[k]++;
    if (screen)
        fputs("\033[H\033[2J", stdout);
    printf("lamina top - %s   accel %s\n", ts, accel ? accel : "?");
    printf("%d domains: %d running, %d blocked, %d paused, %d shutdown, %d crashed, "
           "%d dying\n", s->n, cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cnt[5]);
    printf("Mem: %luk total, %luk used, %luk free\n", s->total_kib,
           s->total_kib - s->free_kib, s->free_kib);
    printf("%20s %5s %6s %10s %6s %10s %6s %10s %5s\n", "NAME", "ID", "STATE", "CPU(sec)",
           "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "VCPUS");
    for (int i = 0; i < s->n; i++) {
        const struct top_dom *d = &s->d[i];
        double pct = 0;
        if (prev)
            for (int j = 0; j < prev->n; j++)
                if (prev->d[j].id == d->id && s->t > prev->t && d->cpu_ns >= prev->d[j].cpu_ns)
                    pct = 100.0 * (double)(d->cpu_ns - prev->d[j].cpu_ns) /
                          (double)(s->t - prev->t);
        printf("%20.20s %5ld %6s %10.0f %6.1f %10lu %6.1f %10lu %5lu\n", d->name, d->id,
               d->state, (double)d->cpu_ns / 1e9, pct, d->mem_kib,
               s->total_kib ? 100.0 * (double)d->mem_kib / (double)s->total_kib : 0.0,
               d->max_kib, d->vcpus);
    }
    fflush(stdout);
}

int cmd_top(struct inv *iv)
{
    long delay = inv_num(iv, "delay", 1, 1, 3600);
    long iters = inv_num(iv, "iterations", 0, 1, 1000000);
    int batch = inv_flag(iv, "batch") || iters || !isatty(1);
    int interactive = !batch && isatty(0);
    struct lconn c;
    static struct top_snap snaps[2];
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (interactive)
        tty_raw();
    int cur = 0, have_prev = 0;
    for (long it = 0; !iters || it < iters; it++) {
        struct top_snap *s = &snaps[cur];
        s->n = 0;
        if (lamina_call(&c, "top", top_info_rec, NULL, s, 30000, "info") ||
            lamina_call(&c, "top", top_rec, NULL, s, 30000, "list")) {
            tty_restore();
            return EXIT_FAIL;
        }
        s->t = now_ns();
        if (batch && it)
            putchar('\n');
        top_print(s, have_prev ? &snaps[cur ^ 1] : NULL, !batch);
        have_prev = 1;
        cur ^= 1;
        if (iters && it + 1 == iters)
            break;
        if (interactive) {
            struct pollfd p = { 0, POLLIN, 0 };
            if (poll(&p, 1, (int)delay * 1000) > 0) {
                char ch;
                if (read(0, &ch, 1) <= 0 || ch == 'q' || ch == 'Q' || ch == 3)
                    break;
            }
        } else {
            sleep((unsigned int)delay);
        }
    }
    tty_restore();
    lconn_close(&c);
    return EXIT_OK;
}
