/*
 * client.c - the CLI side of the connection to `lamina hostd`: run-directory
 * paths, sending requests and collecting their answers.  Runs on the host.
 */
#include "lamina.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct lamina_paths lp;
char lamina_errno[32];

void err(const char *fmt, ...)
{
    va_list ap;
    fputs("lamina: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void join(char *dst, const char *a, const char *b)
{
    if ((size_t)snprintf(dst, PATH_MAX, "%s/%s", a, b) >= PATH_MAX) {
        err("path too long: %s/%s", a, b);
        exit(EXIT_FAIL);
    }
}

void paths_init(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        if (!getcwd(lp.root, sizeof(lp.root)))
            strcpy(lp.root, ".");
    } else {
        exe[n] = 0;
        char *s = strrchr(exe, '/');        /* <build>/lamina -> <build> */
        if (s && s != exe)
            *s = 0;
        snprintf(lp.root, sizeof(lp.root), "%s", exe);
    }
    /* The images are beside the CLI, in the build directory it was built
     * into (make's B=), unless LAMINA_ROOT names a tree to take them from. */
    const char *r = getenv("LAMINA_ROOT");
    if (r && *r)
        join(lp.images, r, "build");
    else
        snprintf(lp.images, sizeof(lp.images), "%s", lp.root);
    const char *run = getenv("LAMINA_RUN_DIR");
    const char *mname = getenv("LAMINA_MACHINE");
    if (run && *run) {
        if (run[0] == '/' || !getcwd(exe, sizeof(exe)))
            snprintf(lp.run, sizeof(lp.run), "%s", run);
        else
            join(lp.run, exe, run);
    } else {
        join(lp.run, lp.root, "run");
    }
    /* A named machine's files are in machines/NAME of that directory. */
    snprintf(lp.base, sizeof(lp.base), "%s", lp.run);
    if (mname && *mname)
        (void)machine_run_dir(mname, lp.run, sizeof(lp.run));
    join(lp.sock, lp.run, "lamina.sock");
    join(lp.ctl, lp.run, "ctl.sock");
    join(lp.hvlog, lp.run, "hypervisor.log");
    join(lp.qemupid, lp.run, "qemu.pid");
    join(lp.machine, lp.run, "machine");
    join(lp.events, lp.run, "events.log");
    join(lp.hostdlog, lp.run, "hostd.log");
    join(lp.qmp, lp.run, "qmp.sock");
    /* One bulk file per run directory (FNV-1a of its path), so machines in
     * different run directories never share a ring. */
    uint32_t h = 2166136261u;
    for (const char *p = lp.run; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(lp.shm, sizeof(lp.shm), "/dev/shm/lamina-%u-%08x-bulk", (unsigned)getuid(), h);
}

int machine_run_dir(const char *name, char *out, size_t n)
{
    if (strchr(name, '/'))
        return snprintf(out, n, "%s", name) < (int)n ? 0 : -1;
    return snprintf(out, n, "%s/machines/%s", lp.base, name) < (int)n ? 0 : -1;
}

int machine_name_ok(const char *name)
{
    if (!*name || strlen(name) > 32)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
    return 1;
}

const char *machine_get(const char *key)
{
    static char line[512];
    FILE *f = fopen(lp.machine, "r");
    if (!f)
        return NULL;
    size_t kl = strlen(key);
    const char *v = NULL;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            v = line + kl + 1;
            break;
        }
    }
    fclose(f);
    return v;
}

/* The pid in the run directory's qemu.pid (0: none), alive or not. */
int qemu_pid_recorded(void)
{
    FILE *f = fopen(lp.qemupid, "r");
    int pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%d", &pid) != 1 || pid < 0)
        pid = 0;
    fclose(f);
    return pid;
}

int qemu_pid(void)
{
    int pid = qemu_pid_recorded();
    char path[64], cmd[256] = "";
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return 0;
    /* A pid reused by another program is not our QEMU. */
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        cmd[n] = 0;
        fclose(f);
        if (!strstr(cmd, "qemu"))
            return 0;
    }
    return pid;
}

int lconn_open_sock(struct lconn *c, const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next_id = 1;
    if (strlen(sock) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

int lconn_open(struct lconn *c, int quiet)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next_id = 1;
    if (strlen(lp.sock) >= sizeof(sa.sun_path)) {
        err("run directory path too long for a unix socket: %s (set LAMINA_RUN_DIR)",
            lp.run);
        return -1;
    }
    strcpy(sa.sun_path, lp.sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        if (!quiet) {
            int pid = qemu_pid(), rec = qemu_pid_recorded();
            if (pid)
                err("the machine's QEMU (pid %d) runs, but its lamina hostd is gone (nothing "
                    "answers on %s); `lamina down` stops QEMU, then `lamina up`", pid, lp.sock);
            else if (rec)
                err("the machine is not up: its QEMU (pid %d) is gone, its files are left in "
                    "%s; `lamina up` cleans them and starts afresh", rec, lp.run);
            else
                err("the machine is not up; start it with `lamina up`");
        }
        return -1;
    }
    c->fd = fd;
    return 0;
}

void lconn_close(struct lconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int lconn_send(struct lconn *c, uint32_t *id, const char *fmt, ...)
{
    char line[PROTO_LINE_MAX + 32];
    uint32_t nid = c->next_id++;
    int n = snprintf(line, sizeof(line), "%u ", nid);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= PROTO_LINE_MAX) {
        err("request too long (the protocol allows %d bytes a line)", PROTO_LINE_MAX);
        return -1;
    }
    n += m;
    line[n++] = '\n';
    for (int o = 0; o < n;) {
        ssize_t w = send(c->fd, line + o, n - o, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        o += (int)w;
    }
    if (id)
        *id = nid;
    return 0;
}

int lconn_next(struct lconn *c, struct msg *m, int timeout_ms)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : now_ns() + (uint64_t)timeout_ms * 1000000;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t ll = (size_t)(nl - c->buf);
            if (ll >= sizeof(c->line))
                ll = sizeof(c->line) - 1;
            memcpy(c->line, c->buf, ll);
            c->line[ll] = 0;
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            if (msg_parse(c->line, m) == 0)
                return 1;
            continue;
        }
        if (c->len == sizeof(c->buf))
            c->len = 0;             /* an over-long line: drop it */
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t t = now_ns();
            if (t >= deadline)
                return 0;
            wait = (int)((deadline - t) / 1000000) + 1;
        }
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
    }
}

int lamina_call(struct lconn *c, const char *what, rec_fn fn, rec_fn cfn, void *ctx,
                int timeout_ms, const char *fmt, ...)
{
    char req[PROTO_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(req, sizeof(req), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        err("%s: request too long", what);
        return 1;
    }
    uint32_t id;
    lamina_errno[0] = 0;
    if (lconn_send(c, &id, "%s", req)) {
        err("%s: lost the connection to lamina hostd (is the machine going down?)", what);
        return 1;
    }
    struct msg m;
    for (;;) {
        int r = lconn_next(c, &m, timeout_ms);
        if (r == 0) {
            err("%s: no answer from the dom0 agent in %d s", what, timeout_ms / 1000);
            snprintf(lamina_errno, sizeof(lamina_errno), "ETIMEDOUT");
            return 1;
        }
        if (r < 0) {
            err("%s: lost the connection to lamina hostd (did the machine stop?)", what);
            return 1;
        }
        if (m.kind == 'C') {
            if (cfn && cfn(ctx, &m))
                return 1;
            continue;
        }
        if (m.id != id)
            continue;
        if (m.kind == 'R' && fn && fn(ctx, &m))
            return 1;
        if (m.kind == 'K')
            return 0;
        if (m.kind == 'E') {
            snprintf(lamina_errno, sizeof(lamina_errno), "%s", m.word);
            err("%s: %s", what, m.text && *m.text ? m.text : m.word);
            return 1;
        }
    }
}

struct resolve_ctx {
    const char *dom;
    long id;
    int byid;
};

static int resolve_rec(void *ctx, const struct msg *m)
{
    struct resolve_ctx *r = ctx;
    const char *id = msg_get(m, "id"), *name = msg_get(m, "name");
    if (!id)
        return 0;
    if ((r->byid && !strcmp(id, r->dom)) || (!r->byid && name && !strcmp(name, r->dom)))
        r->id = strtol(id, NULL, 10);
    return 0;
}

long resolve_domain(struct lconn *c, const char *what, const char *dom)
{
    struct resolve_ctx r = { .dom = dom, .id = -1, .byid = 1 };
    for (const char *p = dom; *p; p++)
        if (*p < '0' || *p > '9')
            r.byid = 0;
    if (!*dom)
        r.byid = 0;
    if (lamina_call(c, what, resolve_rec, NULL, &r, 30000, "list"))
        return -1;
    if (r.id < 0) {
        if (r.byid)
            err("%s: no domain with id %s (see `lamina list`)", what, dom);
        else
            err("%s: no domain named '%s' (see `lamina list`)", what, dom);
    }
    return r.id;
}
