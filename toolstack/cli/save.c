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
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

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

/* save_forwards - " fwds=..." for the save request: the host ports
 * forwarded to DOM's vifs, which the file keeps (they go with the vifs). */
static void save_forwards(struct lconn *c, const char *dom_enc, char *out, size_t n)
{
    static struct fwd_scan f;
    char enc[3 * 1024 + 1];
    memset(&f, 0, sizeof(f));
    out[0] = 0;
    if (lamina_call(c, "save", ip_rec, NULL, &f, 30000, "network-list dom=%s", dom_enc) ||
        !f.nips || lamina_call(c, "save", fwd_rec, NULL, &f, 30000, "forward op=list") ||
        !f.out[0])
        return;
    pct_encode(f.out, strlen(f.out), enc, sizeof(enc));
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

/* config_args - the CONFIG record's lines as create's arguments for the
 * agent (disks as hostd's diskN=, the rest as they are). */
static int config_args(const char *cfg, char *out, size_t n, char *name, size_t nn,
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

int cmd_restore(struct inv *iv)
{
    static struct save_info si;
    static char args[12288];
    char path[PATH_MAX], penc[PATH_MAX * 3], e[512], name[256], dname[256];
    if (!realpath(iv->pos[0], path)) {
        err("restore: cannot read %s: %s", iv->pos[0], strerror(errno));
        return EXIT_FAIL;
    }
    if (save_file_check(path, &si, e, sizeof(e)) < 0) {
        err("restore: %s: %s; nothing was started", iv->pos[0], e);
        return EXIT_FAIL;
    }
    if (config_args(si.config, args, sizeof(args), name, sizeof(name), e, sizeof(e)) < 0) {
        err("restore: %s: %s; nothing was started", iv->pos[0], e);
        return EXIT_FAIL;
    }
    if (ENC(penc, path) < 0)
        return usage_error(iv, "path too long");
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
           "all\n", dname, r.id, iv->pos[0], r.pages, (double)r.total_ns / 1e6,
           (double)(now_ns() - t0) / 1e6);
    return EXIT_OK;
}
