/*
 * save.c - `lamina save DOMAIN FILE` and `lamina restore FILE` (xl's
 * words; docs/cli.md, docs/save-format.md).  Runs on the host.
 *
 * save: dom0 suspends the domain and streams it to hostd, which writes
 * FILE (atomically: FILE.tmp, then renamed) with a CRC-32 trailer.
 * restore: the file is checked here first (version, framing, checksum),
 * so a truncated or corrupt file starts nothing; its configuration record
 * becomes create's arguments and the stream goes to dom0 over the bulk
 * ring.
 */
#define _GNU_SOURCE
#include "lamina.h"
#include "savefile.h"

#include <errno.h>
#include <dirent.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENC(dst, s) pct_encode((s), strlen(s), (dst), sizeof(dst))

struct save_res {
    unsigned long long bytes, pages, total_ns, save_ns, suspend_ns, map_ns, id;
};

static int save_rec(void *ctx, const struct msg *m)
{
    struct save_res *r = ctx;
    const char *v;
    if ((v = msg_get(m, "bytes")))
        r->bytes = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "pages")))
        r->pages = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "total_ns")))
        r->total_ns = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "save_ns")))
        r->save_ns = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "suspend_ns")))
        r->suspend_ns = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "map_ns")))
        r->map_ns = strtoull(v, NULL, 10);
    if ((v = msg_get(m, "id")))
        r->id = strtoull(v, NULL, 10);
    return 0;
}

/* abs_path - FILE made absolute through its directory (which must exist). */
static int abs_path(const char *file, char *out, size_t n)
{
    char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
    snprintf(a, sizeof(a), "%s", file);
    snprintf(b, sizeof(b), "%s", file);
    if (!realpath(dirname(a), dir))
        return -1;
    const char *base = basename(b);
    if (!*base || !strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, "..")) {
        errno = EISDIR;
        return -1;
    }
    if (snprintf(out, n, "%s/%s", strcmp(dir, "/") ? dir : "", base) >= (int)n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* The domain's vif addresses, then the host forwards to them. */
struct fwd_scan {
    char ips[8][20];
    int nips;
    char out[1024];
};

static int ip_rec(void *ctx, const struct msg *m)
{
    struct fwd_scan *f = ctx;
    const char *ip = msg_get(m, "ip");
    if (ip && *ip && f->nips < 8)
        snprintf(f->ips[f->nips++], sizeof(f->ips[0]), "%s", ip);
    return 0;
}

static int fwd_rec(void *ctx, const struct msg *m)
{
    struct fwd_scan *f = ctx;
    const char *v = msg_get(m, "forward");          /* "HOST IP:PORT" */
    unsigned int host, port;
    char ip[20];
    if (!v || sscanf(v, "%u %19[0-9.]:%u", &host, ip, &port) != 3)
        return 0;
    for (int i = 0; i < f->nips; i++)
        if (!strcmp(f->ips[i], ip)) {
            size_t l = strlen(f->out);
            snprintf(f->out + l, sizeof(f->out) - l, "%u:%s:%u\n", host, ip, port);
        }
    return 0;
}

int domain_forwards(struct lconn *c, const char *what, const char *dom_enc, char *out, size_t n)
{
    static struct fwd_scan f;
    memset(&f, 0, sizeof(f));
    out[0] = 0;
    if (lamina_call(c, what, ip_rec, NULL, &f, 30000, "network-list dom=%s", dom_enc))
        return -1;
    if (f.nips && lamina_call(c, what, fwd_rec, NULL, &f, 30000, "forward op=list"))
        return -1;
    snprintf(out, n, "%s", f.out);
    return 0;
}

/* save_forwards - " fwds=..." for the save request: the host ports
 * forwarded to DOM's vifs, which the file keeps (they go with the vifs). */
static void save_forwards(struct lconn *c, const char *dom_enc, char *out, size_t n)
{
    char raw[1024], enc[3 * 1024 + 1];
    out[0] = 0;
    if (domain_forwards(c, "save", dom_enc, raw, sizeof(raw)) < 0 || !raw[0])
        return;
    pct_encode(raw, strlen(raw), enc, sizeof(enc));
    snprintf(out, n, " fwds=%s", enc);
}

int cmd_save(struct inv *iv)
{
    char path[PATH_MAX], penc[PATH_MAX * 3], dom[256];
    int live = inv_flag(iv, "checkpoint");
    if (abs_path(iv->pos[1], path, sizeof(path)) < 0) {
        err("save: cannot write %s: %s", iv->pos[1], strerror(errno));
        return EXIT_FAIL;
    }
    if (ENC(dom, iv->pos[0]) < 0 || ENC(penc, path) < 0)
        return usage_error(iv, "domain name or path too long");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    static char fwds[3 * 1024 + 16];
    save_forwards(&c, dom, fwds, sizeof(fwds));
    struct save_res r = { 0 };
    if (lamina_call(&c, "save", save_rec, NULL, &r, 120000, "save dom=%s file=%s%s%s", dom,
                    penc, live ? " live=1" : "", fwds))
        return EXIT_FAIL;
    lconn_close(&c);
    printf("Saved domain %s to %s: %llu pages, %.1f MiB in %.1f ms (suspend %.1f ms, "
           "stream %.1f ms, of which mapping %.1f ms)%s\n", iv->pos[0], path, r.pages,
           (double)r.bytes / 1048576.0, (double)r.total_ns / 1e6, (double)r.suspend_ns / 1e6,
           (double)r.save_ns / 1e6, (double)r.map_ns / 1e6,
           live ? "; it keeps running" : "");
    return EXIT_OK;
}

int config_args(const char *cfg, char *out, size_t n, char *name, size_t nn,
                       char *e, size_t en)
{
    static const char *const keys[] = { "name", "type", "memory", "cmdline", "on_crash",
                                        "disk0", "disk1", "disk2", "disk3", "vif0", "vif1",
                                        "vif2", "vif3", NULL };
    size_t l = 0;
    out[0] = 0;
    name[0] = 0;
    for (const char *p = cfg; *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        const char *eq = memchr(p, '=', ll);
        int ok = 0;
        for (int i = 0; eq && keys[i]; i++)
            if ((size_t)(eq - p) == strlen(keys[i]) && !strncmp(p, keys[i], strlen(keys[i])))
                ok = 1;
        for (size_t i = 0; ok && i < ll; i++)
            if (p[i] == ' ' || (unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
                ok = 0;
        if (!ok) {
            snprintf(e, en, "corrupt: the configuration record has the line '%.*s'",
                     (int)(ll > 60 ? 60 : ll), p);
            return -1;
        }
        if (!strncmp(p, "name=", 5))
            snprintf(name, nn, "%.*s", (int)(ll - 5), p + 5);
        if (l + ll + 2 >= n) {
            snprintf(e, en, "the configuration record is too long");
            return -1;
        }
        out[l++] = ' ';
        memcpy(out + l, p, ll);
        l += ll;
        out[l] = 0;
        p += ll + (nl ? 1 : 0);
    }
    if (!name[0]) {
        snprintf(e, en, "corrupt: the configuration record names no domain");
        return -1;
    }
    return 0;
}

/* restore_file - `lamina restore FILE` (file as the user gave it). */
static int restore_file(const char *file)
{
    static struct save_info si;
    static char args[12288];
    char path[PATH_MAX], penc[PATH_MAX * 3], e[512], name[256], dname[256];
    if (!realpath(file, path)) {
        err("restore: cannot read %s: %s", file, strerror(errno));
        return EXIT_FAIL;
    }
    if (save_file_check(path, &si, e, sizeof(e)) < 0) {
        err("restore: %s: %s; nothing was started", file, e);
        return EXIT_FAIL;
    }
    if (config_args(si.config, args, sizeof(args), name, sizeof(name), e, sizeof(e)) < 0) {
        err("restore: %s: %s; nothing was started", file, e);
        return EXIT_FAIL;
    }
    if (ENC(penc, path) < 0) {
        err("restore: %s: path too long", file);
        return EXIT_FAIL;
    }
    /* The host forwards it was saved with: fwdN=HOST:IP:PORT, as create's. */
    int nf = 0;
    for (char *p = si.forwards, *nl; (nl = strchr(p, '\n')) && nf < 16; p = nl + 1) {
        unsigned int host, port;
        char ip[20];
        *nl = 0;
        if (sscanf(p, "%u:%19[0-9.]:%u", &host, ip, &port) != 3)
            continue;
        size_t l = strlen(args);
        snprintf(args + l, sizeof(args) - l, " fwd%d=%u%%3A%s%%3A%u", nf++, host, ip, port);
    }
    if (pct_decode(name, dname, sizeof(dname)) < 0)
        snprintf(dname, sizeof(dname), "%s", name);
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    struct save_res r = { 0 };
    uint64_t t0 = now_ns();
    /* The file is the restored domain's last checkpoint (on_crash=restore). */
    if (lamina_call(&c, "restore", save_rec, NULL, &r, 120000,
                    "restore%s size=%llu bulk=%s ckpt=%s", args,
                    (unsigned long long)si.stream_bytes, penc, penc))
        return EXIT_FAIL;
    lconn_close(&c);
    printf("Restored domain %s as %llu from %s: %llu pages in %.1f ms (dom0), %.1f ms in "
           "all\n", dname, r.id, file, r.pages, (double)r.total_ns / 1e6,
           (double)(now_ns() - t0) / 1e6);
    return EXIT_OK;
}

int cmd_restore(struct inv *iv)
{
    return restore_file(iv->pos[0]);
}

/* ---- snapshots: <run>/snapshots/DOMAIN/NAME/{memory.sav,disks,diskN.img} ---- */

/* snap_dir - the directory of DOM's snapshot NAME (either may be NULL:
 * the level above); -1 after a usage message for a bad name. */
static int snap_dir(struct inv *iv, const char *dom, const char *name, char *out, size_t n)
{
    for (const char *s = name; s && *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.') || (s == name && *s == '.')) {
            usage_error(iv, "a snapshot name has letters, digits and -_. only (not first)");
            return -1;
        }
    int k = snprintf(out, n, "%s/snapshots%s%s%s%s", lp.run, dom ? "/" : "", dom ? dom : "",
                     name ? "/" : "", name ? name : "");
    if (k < 0 || (size_t)k + 16 >= n) {
        usage_error(iv, "the snapshot's path would be too long");
        return -1;
    }
    return 0;
}

struct disk_scan { char lines[2 * PATH_MAX]; const char *dir; int n; };

static int disk_rec(void *ctx, const struct msg *m)
{
    struct disk_scan *s = ctx;
    const char *t = msg_get(m, "target"), *mode = msg_get(m, "mode");
    if (!t || !mode || strcmp(mode, "w"))
        return 0;               /* read-only disks cannot change */
    size_t l = strlen(s->lines);
    snprintf(s->lines + l, sizeof(s->lines) - l, "%s\t%s/disk%d.img\n", t, s->dir, s->n++);
    return 0;
}

/* find_row - the row of l whose name, or id, is dom; NULL if none. */
static const struct dom_row *find_row(const struct dom_list *l, const char *dom)
{
    char *e;
    long id = strtol(dom, &e, 10);
    for (int i = 0; i < l->n; i++)
        if ((!*e && e != dom && l->rows[i].id == id) || !strcmp(l->rows[i].name, dom))
            return &l->rows[i];
    return NULL;
}

int cmd_snapshot(struct inv *iv)
{
    static char dir[PATH_MAX], path[2 * PATH_MAX], penc[PATH_MAX * 6], cenc[6 * PATH_MAX],
        fwds[3 * 1024 + 16];
    static struct disk_scan ds;
    char dom[256], name[256] = "";
    if (ENC(dom, iv->pos[0]) < 0)
        return usage_error(iv, "domain name too long");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    static struct dom_list l;
    if (fetch_list(&c, "snapshot", &l))
        return EXIT_FAIL;
    const struct dom_row *row = find_row(&l, iv->pos[0]);
    if (row)
        snprintf(name, sizeof(name), "%s", row->name);
    if (!name[0]) {
        err("snapshot: no domain '%s'", iv->pos[0]);
        return EXIT_FAIL;
    }
    if (snap_dir(iv, name, iv->pos[1], dir, sizeof(dir)) < 0)
        return EXIT_USAGE;
    if (access(dir, F_OK) == 0) {
        err("snapshot: %s has a snapshot '%s' already; `lamina snapshot-delete %s %s` first",
            name, iv->pos[1], name, iv->pos[1]);
        return EXIT_FAIL;
    }
    char up[PATH_MAX];
    (void)snap_dir(iv, name, NULL, up, sizeof(up));
    (void)snap_dir(iv, NULL, NULL, path, sizeof(path));
    (void)mkdir(path, 0755);
    (void)mkdir(up, 0755);
    if (mkdir(dir, 0755) < 0) {
        err("snapshot: cannot create %s: %s", dir, strerror(errno));
        return EXIT_FAIL;
    }
    memset(&ds, 0, sizeof(ds));
    ds.dir = dir;
    if (lamina_call(&c, "snapshot", disk_rec, NULL, &ds, 30000, "block-list dom=%s", dom))
        return EXIT_FAIL;
    snprintf(path, sizeof(path), "%s/disks", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(ds.lines, f) < 0 || fclose(f) != 0) {
        err("snapshot: cannot write %s: %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    snprintf(path, sizeof(path), "%s/memory.sav", dir);
    if (ENC(penc, path) < 0 || pct_encode(ds.lines, strlen(ds.lines), cenc, sizeof(cenc)) < 0)
        return usage_error(iv, "paths too long");
    save_forwards(&c, dom, fwds, sizeof(fwds));
    struct save_res r = { 0 };
    uint64_t t0 = now_ns();
    if (lamina_call(&c, "snapshot", save_rec, NULL, &r, 120000,
                    "save dom=%s file=%s hold=1 copies=%s%s", dom, penc, cenc, fwds)) {
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        if (system(path) != 0)
            err("snapshot: could not remove %s", dir);
        return EXIT_FAIL;
    }
    lconn_close(&c);
    printf("Snapshot %s of %s: %llu pages and %d disk%s in %.1f ms; it keeps running\n",
           iv->pos[1], name, r.pages, ds.n, ds.n == 1 ? "" : "s", (double)(now_ns() - t0) / 1e6);
    return EXIT_OK;
}

int cmd_snapshot_list(struct inv *iv)
{
    char top[PATH_MAX], sub[2 * PATH_MAX], f[3 * PATH_MAX];
    if (snap_dir(iv, NULL, NULL, top, sizeof(top)) < 0)
        return EXIT_USAGE;
    DIR *d = opendir(top);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.' || (iv->npos && strcmp(de->d_name, iv->pos[0])))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", top, de->d_name);
        DIR *s = opendir(sub);
        for (struct dirent *se; s && (se = readdir(s));) {
            struct stat st;
            snprintf(f, sizeof(f), "%s/%s/memory.sav", sub, se->d_name);
            if (se->d_name[0] == '.' || stat(f, &st) < 0)
                continue;
            if (!n++)
                printf("%-24s %-24s %-19s %10s\n", "Domain", "Snapshot", "Taken", "Memory");
            char ts[32];
            strftime(ts, sizeof(ts), "%F %T", localtime(&st.st_mtime));
            printf("%-24s %-24s %-19s %7.1f MiB\n", de->d_name, se->d_name, ts,
                   (double)st.st_size / 1048576.0);
        }
        if (s)
            closedir(s);
    }
    if (d)
        closedir(d);
    if (!n)
        printf("no snapshots%s%s\n", iv->npos ? " of " : "", iv->npos ? iv->pos[0] : "");
    return EXIT_OK;
}

/* snap_find - DOM's snapshot NAME must exist: its directory into dir. */
static int snap_find(struct inv *iv, char *dir, size_t n)
{
    char f[2 * PATH_MAX];
    if (snap_dir(iv, iv->pos[0], iv->pos[1], dir, n) < 0)
        return EXIT_USAGE;
    snprintf(f, sizeof(f), "%s/memory.sav", dir);
    if (access(f, R_OK) < 0) {
        err("%s: %s has no snapshot '%s' (see `lamina snapshot-list %s`)", iv->cmd->name,
            iv->pos[0], iv->pos[1], iv->pos[0]);
        return EXIT_FAIL;
    }
    return 0;
}

int cmd_snapshot_revert(struct inv *iv)
{
    static char dir[PATH_MAX], f[2 * PATH_MAX], lines[2 * PATH_MAX];
    char dom[256], e[512];
    int rc = snap_find(iv, dir, sizeof(dir));
    if (rc)
        return rc;
    snprintf(f, sizeof(f), "%s/memory.sav", dir);
    static struct save_info si;
    if (save_file_check(f, &si, e, sizeof(e)) < 0) {
        err("snapshot-revert: %s: %s; nothing was changed", f, e);
        return EXIT_FAIL;
    }
    snprintf(f, sizeof(f), "%s/disks", dir);
    FILE *df = fopen(f, "r");
    size_t got = df ? fread(lines, 1, sizeof(lines) - 1, df) : 0;
    lines[got] = 0;
    if (df)
        fclose(df);
    if (ENC(dom, iv->pos[0]) < 0)
        return usage_error(iv, "domain name too long");
    /* The domain as it runs now goes first, and its disks with it. */
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    static struct dom_list l;
    if (fetch_list(&c, "snapshot-revert", &l))
        return EXIT_FAIL;
    /* dom0 answers the destroy once hostd has unplugged its disks. */
    if (find_row(&l, iv->pos[0]) &&
        lamina_call(&c, "snapshot-revert", NULL, NULL, NULL, 30000, "destroy dom=%s", dom))
        return EXIT_FAIL;
    lconn_close(&c);
    if (copy_images(lines, true, e, sizeof(e)) < 0) {
        err("snapshot-revert: %s; the domain was not restored", e);
        return EXIT_FAIL;
    }
    snprintf(f, sizeof(f), "%s/memory.sav", dir);
    return restore_file(f);
}

int cmd_snapshot_delete(struct inv *iv)
{
    static char dir[PATH_MAX], cmd[PATH_MAX + 16];
    int rc = snap_find(iv, dir, sizeof(dir));
    if (rc)
        return rc;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        err("snapshot-delete: could not remove %s", dir);
        return EXIT_FAIL;
    }
    printf("Deleted snapshot %s of %s\n", iv->pos[1], iv->pos[0]);
    return EXIT_OK;
}
