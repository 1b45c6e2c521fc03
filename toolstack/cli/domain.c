/*
 * domain.c - the domain commands of `lamina`: create, list, pause, unpause,
 * shutdown, reboot, destroy, dmesg, info and bench-channel.  Runs on the
 * host; every command is a request to dom0's agent through hostd.
 */
#include "cfg.h"
#include "lamina.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENC(dst, s) pct_encode((s), strlen(s), (dst), sizeof(dst))

/* ---- create -------------------------------------------------------------- */

static int create_rec(void *ctx, const struct msg *m)
{
    const char *id = msg_get(m, "id");
    if (id)
        *(long *)ctx = strtol(id, NULL, 10);
    return 0;
}

/* read_all - the whole file into a malloc'd buffer; NULL with errno set. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(f);
            errno = ENOMEM;
            return NULL;
        }
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        b = realloc(b, cap);
    }
    int e = ferror(f);
    fclose(f);
    if (e) {
        free(b);
        errno = EIO;
        return NULL;
    }
    *len = n;
    return b;
}

int console_run(struct lconn *c, long dom, int dump, int drain_ms);

/* A disk's image: a regular file that opens as its access says; its
 * absolute path into abs.  Errors name FILE:LINE and the fix. */
static int disk_check(const struct cfg_disk *d, const char *file, char *abs)
{
    struct stat st;
    int fd;

    if (!realpath(d->target, abs) || stat(abs, &st) < 0) {
        err("create: %s:%d: disk %s: cannot find image %s (%s); create it (e.g. truncate -s "
            "64M %s) or fix target=", file, d->line, d->vdev, d->target, strerror(errno),
            d->target);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        err("create: %s:%d: disk %s: %s is not a regular file; give a raw image file", file,
            d->line, d->vdev, abs);
        return -1;
    }
    if (st.st_size < 512 || st.st_size % 512) {
        err("create: %s:%d: disk %s: %s is %lld bytes; a raw image is a whole number of "
            "512-byte sectors", file, d->line, d->vdev, abs, (long long)st.st_size);
        return -1;
    }
    if ((fd = open(abs, d->readonly ? O_RDONLY : O_RDWR)) < 0) {
        err("create: %s:%d: disk %s: cannot open %s for %s (%s)%s", file, d->line, d->vdev,
            abs, d->readonly ? "reading" : "writing", strerror(errno),
            d->readonly ? "" : "; use access=ro or fix its permissions");
        return -1;
    }
    close(fd);
    return 0;
}

int cmd_create(struct inv *iv)
{
    const char *file = iv->pos[0];
    size_t len;
    char *text = read_all(file, &len);
    if (!text) {
        err("create: cannot read %s: %s", file, strerror(errno));
        return EXIT_FAIL;
    }
    char dir[PATH_MAX], e[1024];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    if (dir[0] == 0)
        strcpy(dir, "/");
    static struct lamina_cfg cfg;
    int r = cfg_parse_overrides(text, len, (const char *const *)iv->pos + 1, iv->npos - 1,
                                file, dir, &cfg, e, sizeof(e));
    free(text);
    if (r) {
        err("create: %s", e);
        return EXIT_FAIL;
    }
    if (cfg.ignored[0])
        fprintf(stderr, "lamina: create: %s: warning: Lamina does not act on these xl keys: "
                "%s\n", file, cfg.ignored);
    /* the kernel: readable, an ELF file; hostd reads it by absolute path */
    char kpath[PATH_MAX];
    if (!realpath(cfg.kernel, kpath)) {
        err("create: %s:%d: cannot read kernel %s: %s; fix the 'kernel' path (it is "
            "relative to the config file's directory)", file, cfg.kernel_line, cfg.kernel,
            strerror(errno));
        return EXIT_FAIL;
    }
    size_t klen;
    char *image = read_all(kpath, &klen);
    if (!image) {
        err("create: %s:%d: cannot read kernel %s: %s", file, cfg.kernel_line, kpath,
            strerror(errno));
        return EXIT_FAIL;
    }
    if (klen < 4 || memcmp(image, "\x7f" "ELF", 4)) {
        err("create: %s:%d: kernel %s is not an ELF file", file, cfg.kernel_line, kpath);
        free(image);
        return EXIT_FAIL;
    }
    uint32_t crc = crc32_ieee(0, image, klen);
    free(image);

    /* the disks: images that exist and can be opened as the access says */
    static char disks[CFG_MAX_DISKS * (PATH_MAX * 3 + 32)];
    size_t dl = 0;
    disks[0] = 0;
    for (unsigned int i = 0; i < cfg.nr_disks; i++) {
        char dpath[PATH_MAX], spec[PATH_MAX + 32], enc[PATH_MAX * 3 + 32];
        if (disk_check(&cfg.disk[i], file, dpath))
            return EXIT_FAIL;
        snprintf(spec, sizeof(spec), "%u:%c:%s", cfg.disk[i].devid,
                 cfg.disk[i].readonly ? 'r' : 'w', dpath);
        if (ENC(enc, spec) < 0) {
            err("create: %s:%d: disk path too long", file, cfg.disk[i].line);
            return EXIT_FAIL;
        }
        dl += (size_t)snprintf(disks + dl, sizeof(disks) - dl, " disk%u=%s", i, enc);
        char at[PATH_MAX + 64], aenc[PATH_MAX * 3 + 64];
        snprintf(at, sizeof(at), "%s:%d: disk %s", file, cfg.disk[i].line, cfg.disk[i].vdev);
        if (ENC(aenc, at) >= 0)
            dl += (size_t)snprintf(disks + dl, sizeof(disks) - dl, " disk%uat=%s", i, aenc);
    }

    /* the vifs: MACs made where absent, forwards for hostd */
    for (unsigned int i = 0; i < cfg.nr_vifs; i++)
        if (vif_request_keys(&cfg.vif[i], i, i, disks + dl, sizeof(disks) - dl) == 0)
            dl += strlen(disks + dl);

    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    char name[CFG_NAME_MAX * 3], cmdline[CFG_CMDLINE_MAX * 3], path[PATH_MAX * 3];
    ENC(name, cfg.name);
    ENC(cmdline, cfg.cmdline);
    if (ENC(path, kpath) < 0) {
        err("create: kernel path too long");
        return EXIT_FAIL;
    }
    long id = -1;
    uint64_t t0 = now_ns();
    if (lamina_call(&c, "create", create_rec, NULL, &id, 120000,
                    "create name=%s type=%s memory=%u vcpus=%u cmdline=%s on_crash=%s "
                    "size=%zu crc=%08x bulk=%s%s", name, cfg.unmodified ? "unmodified" : "pv",
                    cfg.memory_mib, cfg.vcpus, cmdline, cfg_on_crash_name(cfg.on_crash),
                    klen, crc, path, disks))
        return EXIT_FAIL;
    printf("Created domain %ld (%s) in %.3f s\n", id, cfg.name,
           (double)(now_ns() - t0) / 1e9);
    if (inv_flag(iv, "console") && id >= 0)
        return console_run(&c, id, 0, 1000);
    lconn_close(&c);
    return EXIT_OK;
}

/* ---- list ---------------------------------------------------------------- */


static int list_rec(void *ctx, const struct msg *m)
{
    struct dom_list *l = ctx;
    if (l->n == 256 || !msg_get(m, "id"))
        return 0;
    struct dom_row *r = &l->rows[l->n++];
    const char *v;
    memset(r, 0, sizeof(*r));
    r->id = strtol(msg_get(m, "id"), NULL, 10);
    snprintf(r->name, sizeof(r->name), "%s", (v = msg_get(m, "name")) ? v : "?");
    snprintf(r->state, sizeof(r->state), "%s", (v = msg_get(m, "state")) ? v : "------");
    snprintf(r->type, sizeof(r->type), "%s", (v = msg_get(m, "type")) ? v : "?");
    r->mem_kib = (v = msg_get(m, "mem_kib")) ? strtoul(v, NULL, 10) : 0;
    r->max_kib = (v = msg_get(m, "max_kib")) ? strtoul(v, NULL, 10) : 0;
    r->vcpus = (v = msg_get(m, "vcpus")) ? strtoul(v, NULL, 10) : 0;
    r->cpu_ns = (v = msg_get(m, "cpu_ns")) ? strtoull(v, NULL, 10) : 0;
    r->uptime_ms = (v = msg_get(m, "uptime_ms")) ? strtoll(v, NULL, 10) : -1;
    return 0;
}

int fetch_list(struct lconn *c, const char *what, void *l)
{
    ((struct dom_list *)l)->n = 0;
    return lamina_call(c, what, list_rec, NULL, l, 30000, "list");
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* select_rows - keeps the rows iv's positional DOMAIN arguments name (a
 * name or an id; none: all).  0, or 1 after naming the one not found. */
static int select_rows(struct inv *iv, struct dom_list *l)
{
    if (!iv->npos)
        return 0;
    static struct dom_list out;
    out.n = 0;
    for (int a = 0; a < iv->npos; a++) {
        char *e;
        long id = strtol(iv->pos[a], &e, 10);
        int found = 0;
        for (int i = 0; i < l->n; i++)
            if ((*e == 0 && e != iv->pos[a] && l->rows[i].id == id) ||
                !strcmp(l->rows[i].name, iv->pos[a])) {
                out.rows[out.n++] = l->rows[i];
                found = 1;
                break;
            }
        if (!found) {
            err("%s: no domain '%s' (see `lamina list`)", iv->cmd->name, iv->pos[a]);
            return 1;
        }
    }
    *l = out;
    return 0;
}

/* list_fetch_selected - the agent's list, narrowed to iv's DOMAIN args. */
static int list_fetch_selected(struct inv *iv, struct dom_list *l)
{
    struct lconn c;
    if (lconn_open(&c, 0))
        return 1;
    if (fetch_list(&c, iv->cmd->name, l))
        return 1;
    lconn_close(&c);
    return select_rows(iv, l);
}

int cmd_list(struct inv *iv)
{
    static struct dom_list l;
    if (list_fetch_selected(iv, &l))
        return EXIT_FAIL;
    if (inv_flag(iv, "json") || inv_flag(iv, "long")) {
        printf("[");
        for (int i = 0; i < l.n; i++) {
            struct dom_row *r = &l.rows[i];
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_str(r->name);
            printf(", \"id\": %ld, \"mem_kib\": %lu, \"max_kib\": %lu, \"vcpus\": %lu, "
                   "\"state\": ", r->id, r->mem_kib, r->max_kib, r->vcpus);
            json_str(r->state);
            printf(", \"cpu_time_s\": %.3f, \"type\": ", (double)r->cpu_ns / 1e9);
            json_str(r->type);
            if (r->uptime_ms >= 0)
                printf(", \"uptime_s\": %.3f", (double)r->uptime_ms / 1e3);
            printf("}");
        }
        printf("%s]\n", l.n ? "\n" : "");
        return EXIT_OK;
    }
    printf("%-40s %5s %5s %5s %8s %9s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
    for (int i = 0; i < l.n; i++) {
        struct dom_row *r = &l.rows[i];
        printf("%-40s %5ld %5lu %5lu %8s %9.1f\n", r->name, r->id, r->mem_kib / 1024,
               r->vcpus, r->state, (double)r->cpu_ns / 1e9);
    }
    return EXIT_OK;
}

/* ---- pause unpause shutdown reboot destroy ------------------------------- */

/* wait_domain_end - after shutdown -w / reboot -w: polls until no domain
 * has id (shutdown), or the name runs under another id (reboot). */
static int wait_domain_end(const char *what, long id, const char *name, int reboot)
{
    static struct dom_list l;
    for (int tries = 0; tries < 600; tries++) {
        struct lconn c;
        if (lconn_open(&c, 0) || fetch_list(&c, what, &l))
            return EXIT_FAIL;
        lconn_close(&c);
        int same = 0, again = 0;
        for (int i = 0; i < l.n; i++) {
            same |= l.rows[i].id == id;
            again |= reboot && l.rows[i].id != id && !strcmp(l.rows[i].name, name);
        }
        if (reboot ? again && !same : !same) {
            if (reboot)
                printf("Domain %s rebooted\n", name);
            return EXIT_OK;
        }
        usleep(100000);
    }
    err("%s: domain %ld (%s) %s within 60 s", what, id, name,
        reboot ? "did not come back" : "is still there");
    return EXIT_FAIL;
}

int cmd_domop(struct inv *iv)
{
    const char *what = iv->cmd->name;
    struct lconn c;
    char dom[256];
    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    /* -w: which domain it is now, to see it end */
    long wid = -1;
    char wname[64] = "";
    if ((!strcmp(what, "shutdown") || !strcmp(what, "reboot")) && inv_flag(iv, "wait")) {
        static struct dom_list l;
        if (fetch_list(&c, what, &l))
            return EXIT_FAIL;
        char *e;
        long id = strtol(iv->pos[0], &e, 10);
        for (int i = 0; i < l.n; i++)
            if ((!*e && e != iv->pos[0] && l.rows[i].id == id) || !strcmp(l.rows[i].name, iv->pos[0])) {
                wid = l.rows[i].id;
                snprintf(wname, sizeof(wname), "%s", l.rows[i].name);
            }
    }
    /* the agent resolves names; hide its E line to add the hint */
    uint32_t id;
    struct msg m;
    if (lconn_send(&c, &id, "%s dom=%s", what, dom)) {
        err("%s: lost the connection to lamina hostd", what);
        return EXIT_FAIL;
    }
    for (;;) {
        int r = lconn_next(&c, &m, 60000);
        if (r <= 0) {
            err("%s: %s", what, r ? "lost the connection to lamina hostd"
                                  : "no answer from the dom0 agent in 60 s");
            return EXIT_FAIL;
        }
        if (m.id != id || m.kind == 'C')
            continue;
        if (m.kind == 'K') {
            if ((!strcmp(what, "shutdown") || !strcmp(what, "reboot")) && inv_flag(iv, "wait"))
                return wait_domain_end(what, wid, wname, !strcmp(what, "reboot"));
            return EXIT_OK;
        }
        if (m.kind == 'E') {
            int nodom = !strcmp(m.word, "ESRCH") || !strcmp(m.word, "ENOENT");
            err("%s: %s%s", what, m.text && *m.text ? m.text : m.word,
                nodom && !strstr(m.text, "lamina list") ? " (see `lamina list`)" : "");
            return EXIT_FAIL;
        }
    }
}

/* ---- dmesg, info ----------------------------------------------------------- */

static int dmesg_rec(void *ctx, const struct msg *m)
{
    (void)ctx;
    const char *l = msg_get(m, "line");
    if (l) {
        fputs(l, stdout);
        if (!*l || l[strlen(l) - 1] != '\n')
            putchar('\n');
    }
    return 0;
}

int cmd_dmesg(struct inv *iv)
{
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    return lamina_call(&c, "dmesg", dmesg_rec, NULL, NULL, 30000, "dmesg clear=%d",
                       inv_flag(iv, "clear")) ? EXIT_FAIL : EXIT_OK;
}

static int info_rec(void *ctx, const struct msg *m)
{
    (void)ctx;
    for (int i = 0; i < m->nkv; i++) {
        const char *k = m->key[i];
        char label[64];
        const char *v = m->val[i];
        size_t kl = strlen(k);
        if (kl > 4 && !strcmp(k + kl - 4, "_kib")) {
            snprintf(label, sizeof(label), "%.*s_memory", (int)(kl - 4), k);
            unsigned long kib = strtoul(v, NULL, 10);
            printf("%-22s : %lu MiB (%lu KiB)\n", label, kib / 1024, kib);
        } else if (!strcmp(k, "cpu_khz")) {
            printf("%-22s : %lu\n", "cpu_mhz", strtoul(v, NULL, 10) / 1000);
        } else {
            printf("%-22s : %s\n", k, v);
        }
    }
    return 0;
}

int cmd_info(struct inv *iv)
{
    (void)iv;
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    const char *v;
    printf("%-22s : %s\n", "run_dir", lp.run);
    printf("%-22s : %d\n", "qemu_pid", qemu_pid());
    printf("%-22s : %s\n", "accelerator", (v = machine_get("accel")) ? v : "?");
    printf("%-22s : %s MiB\n", "machine_memory", (v = machine_get("memory")) ? v : "?");
    return lamina_call(&c, "info", info_rec, NULL, NULL, 30000, "info") ? EXIT_FAIL
                                                                         : EXIT_OK;
}

/* ---- bench-channel --------------------------------------------------------- */

struct bench_res {
    unsigned long long bytes, ns;
};

static int bench_rec(void *ctx, const struct msg *m)
{
    struct bench_res *b = ctx;
    const char *v;
    if ((v = msg_get(m, "bytes")))
        b->bytes = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "ns")))
        b->ns = strtoull(v, NULL, 10);
    return 0;
}

int cmd_bench_channel(struct inv *iv)
{
    long mib = inv_num(iv, "size", 64, 1, 4096);
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    struct bench_res b = { 0, 0 };
    uint64_t t0 = now_ns();
    if (lamina_call(&c, "bench-channel", bench_rec, NULL, &b, 600000,
                    "bulk-bench size=%llu", (unsigned long long)mib << 20))
        return EXIT_FAIL;
    double wall = (double)(now_ns() - t0) / 1e9;
    const char *accel = machine_get("accel");
    printf("bulk channel (host -> dom0, accel %s): %llu bytes in %.3f s (dom0) = %.1f MiB/s; "
           "host wall %.3f s = %.1f MiB/s\n", accel ? accel : "?", b.bytes,
           (double)b.ns / 1e9, b.ns ? (double)b.bytes / (1 << 20) / ((double)b.ns / 1e9) : 0.0,
           wall, (double)((unsigned long long)mib << 20) / (1 << 20) / wall);
    return EXIT_OK;
}

/* ---- xl's small queries: domid, domname, uptime, vcpu-list, sched-credit ---- */

int cmd_domid(struct inv *iv)
{
    static struct dom_list l;
    if (list_fetch_selected(iv, &l))
        return EXIT_FAIL;
    printf("%ld\n", l.rows[0].id);
    return EXIT_OK;
}

int cmd_domname(struct inv *iv)
{
    static struct dom_list l;
    char *e;
    strtol(iv->pos[0], &e, 10);
    if (*e || e == iv->pos[0])
        return usage_error(iv, "'%s' is not a domain id (a number)", iv->pos[0]);
    if (list_fetch_selected(iv, &l))
        return EXIT_FAIL;
    printf("%s\n", l.rows[0].name);
    return EXIT_OK;
}

int cmd_uptime(struct inv *iv)
{
    static struct dom_list l;
    if (list_fetch_selected(iv, &l))
        return EXIT_FAIL;
    printf("%-40s %5s %s\n", "Name", "ID", "Uptime");
    for (int i = 0; i < l.n; i++) {
        struct dom_row *r = &l.rows[i];
        if (r->uptime_ms < 0) {
            printf("%-40s %5ld %s\n", r->name, r->id, "-");
            continue;
        }
        long long s = r->uptime_ms / 1000;
        if (s >= 86400)
            printf("%-40s %5ld %lld days, %2lld:%02lld:%02lld\n", r->name, r->id, s / 86400,
                   s / 3600 % 24, s / 60 % 60, s % 60);
        else
            printf("%-40s %5ld %2lld:%02lld:%02lld\n", r->name, r->id, s / 3600, s / 60 % 60,
                   s % 60);
    }
    return EXIT_OK;
}

int cmd_vcpu_list(struct inv *iv)
{
    static struct dom_list l;
    if (list_fetch_selected(iv, &l))
        return EXIT_FAIL;
    printf("%-32s %5s %5s %5s %5s %9s  %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
           "Affinity (Hard / Soft)");
    for (int i = 0; i < l.n; i++) {
        struct dom_row *r = &l.rows[i];
        const char *st = strchr(r->state, 'r') ? "r--" : strchr(r->state, 'p') ? "-p-"
                         : strchr(r->state, 'b') ? "-b-" : "---";
        printf("%-32s %5ld %5d %5d %5s %9.1f  all / all\n", r->name, r->id, 0, 0, st,
               (double)r->cpu_ns / 1e9);
    }
    return EXIT_OK;
}

int cmd_sched_credit(struct inv *iv)
{
    (void)iv;
    err("sched-credit: Lamina's scheduler is round robin over one CPU with equal 10 ms "
        "slices; it has no weights or caps to show or set (docs/architecture.md)");
    return EXIT_FAIL;
}

int cmd_mem_set(struct inv *iv)
{
    char dom[256], *e;
    errno = 0;
    unsigned long long v = strtoull(iv->pos[1], &e, 10), kib;
    if (e == iv->pos[1] || errno || iv->pos[1][0] == '-')
        return usage_error(iv, "MEM must be a size such as 256, 256m, 262144k or 1g");
    switch (*e) {
    case 0: case 'm': case 'M': kib = v * 1024; break;
    case 'k': case 'K': kib = v; break;
    case 'g': case 'G': kib = v * 1024 * 1024; break;
    default: return usage_error(iv, "MEM must be a size such as 256, 256m, 262144k or 1g");
    }
    if (*e && e[1])
        return usage_error(iv, "MEM must be a size such as 256, 256m, 262144k or 1g");
    if (v > (1ULL << 40))
        return usage_error(iv, "MEM is too large");
    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "mem-set", NULL, NULL, NULL, 30000, "mem-set dom=%s kib=%llu", dom, kib))
        return EXIT_FAIL;
    lconn_close(&c);
    return EXIT_OK;
}
