/*
 * cfg.c - parser of the domain configuration file (xl.cfg subset) used by
 * `lamina create`.  Runs on the host; pure (no I/O), so tests/unit/test_cfg.c
 * compiles this file directly.
 */
#include "cfg.h"
#include "../common/domain_limits.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok { T_EOF, T_NL, T_IDENT, T_EQ, T_STR, T_INT, T_LBR, T_RBR, T_COMMA, T_SEMI, T_BAD };
enum vkind { V_STR, V_INT, V_LIST };

struct lexer {
    const char *p, *end;
    int line;
    const char *file;
    char *err;
    size_t errlen;
    /* the current token */
    enum tok t;
    int tline;
    char text[CFG_PATH_MAX];        /* identifier or string contents */
    long long num;
};

#define LIST_ITEMS 8
#define ITEM_MAX   (CFG_PATH_MAX + 128)

struct value {
    enum vkind kind;
    char str[CFG_PATH_MAX];
    long long num;
    int line;
    /* V_LIST: the first LIST_ITEMS string items, and their lines */
    char item[LIST_ITEMS][ITEM_MAX];
    int item_line[LIST_ITEMS];
    int item_str[LIST_ITEMS];       /* 1: the item is a string */
};

static int cfg_fail(struct lexer *lx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cfg_parse_overrides: lines from this one on are the command line's
 * KEY=VALUE arguments (0: none). */
static int override_line;

static int cfg_fail(struct lexer *lx, int line, const char *fmt, ...)
{
    int n = override_line && line >= override_line
            ? snprintf(lx->err, lx->errlen, "command line argument %d: ", line - override_line + 1)
            : line > 0 ? snprintf(lx->err, lx->errlen, "%s:%d: ", lx->file, line)
                       : snprintf(lx->err, lx->errlen, "%s: ", lx->file);
    if (n < 0 || (size_t)n >= lx->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
    va_end(ap);
    /* Echoed file text stays one printable line (found by fuzz_cfg). */
    for (char *p = lx->err + n; *p; p++)
        if (!isprint((unsigned char)*p))
            *p = '?';
    return -1;
}

/* lex_string - the body of a quoted string starting after the quote q. */
static int lex_string(struct lexer *lx, char q)
{
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != q) {
        char c = *lx->p++;
        if (c == '\n')
            return cfg_fail(lx, lx->tline, "unterminated string (missing closing %c); "
                        "close it on the same line", q);
        if (c == '\\' && lx->p < lx->end) {
            char e = *lx->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case '\\': case '"': case '\'': c = e; break;
            default:
                /* The message stays one printable line (fuzz_cfg). */
                if (e < 0x20 || e > 0x7e)
                    return cfg_fail(lx, lx->tline, "unknown escape \\ followed by byte "
                                    "0x%02x in a string; use \\\\ for a backslash",
                                    (unsigned char)e);
                return cfg_fail(lx, lx->tline, "unknown escape \\%c in a string; "
                            "use \\\\ for a backslash", e);
            }
        }
        if (n + 1 >= sizeof(lx->text))
            return cfg_fail(lx, lx->tline, "string too long (at most %zu bytes)",
                        sizeof(lx->text) - 1);
        lx->text[n++] = c;
    }
    if (lx->p >= lx->end)
        return cfg_fail(lx, lx->tline, "unterminated string (missing closing %c); "
                    "close it on the same line", q);
    lx->p++;
    lx->text[n] = 0;
    lx->t = T_STR;
    return 0;
}

/* lex - read the next token into lx->t; -1 on a lexical error (err set). */
static int lex(struct lexer *lx)
{
    for (;;) {
        while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
            lx->p++;
        if (lx->p < lx->end && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
            continue;
        }
        break;
    }
    lx->tline = lx->line;
    if (lx->p >= lx->end) {
        lx->t = T_EOF;
        return 0;
    }
    char c = *lx->p++;
    switch (c) {
    case '\n': lx->line++; lx->t = T_NL; return 0;
    case '=': lx->t = T_EQ; return 0;
    case '[': lx->t = T_LBR; return 0;
    case ']': lx->t = T_RBR; return 0;
    case ',': lx->t = T_COMMA; return 0;
    case ';': lx->t = T_SEMI; return 0;
    case '"': case '\'': return lex_string(lx, c);
    }
    if (isalpha((unsigned char)c) || c == '_') {
        size_t n = 0;
        lx->text[n++] = c;
        while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_' ||
                                   *lx->p == '-' || *lx->p == '.')) {
            if (n + 1 < 256)
                lx->text[n++] = *lx->p;
            lx->p++;
        }
        lx->text[n] = 0;
        lx->t = T_IDENT;
        return 0;
    }
    if (isdigit((unsigned char)c) || c == '-') {
        const char *s = lx->p - 1;
        while (lx->p < lx->end && isalnum((unsigned char)*lx->p))
            lx->p++;
        size_t n = (size_t)(lx->p - s);
        char buf[32];
        if (n >= sizeof(buf))
            return cfg_fail(lx, lx->tline, "number too long");
        memcpy(buf, s, n);
        buf[n] = 0;
        char *e;
        long long v = strtoll(buf, &e, 0);
        if (*e || e == buf || n > 19)
            return cfg_fail(lx, lx->tline, "'%s' is not an integer; write a plain number "
                        "such as 32 (sizes are in MiB)", buf);
        lx->num = v;
        lx->t = T_INT;
        return 0;
    }
    lx->text[0] = c;
    lx->text[1] = 0;
    lx->t = T_BAD;
    if (!isprint((unsigned char)c))
        return cfg_fail(lx, lx->tline, "unexpected byte 0x%02x; expected key = value",
                        (unsigned char)c);
    return cfg_fail(lx, lx->tline, "unexpected character '%c'; expected key = value", c);
}

/* parse_value - a string, integer or list; lx->t is its first token. */
static int parse_value(struct lexer *lx, const char *key, struct value *v)
{
    v->line = lx->tline;
    switch (lx->t) {
    case T_STR:
        v->kind = V_STR;
        strcpy(v->str, lx->text);
        return lex(lx);
    case T_INT:
        v->kind = V_INT;
        v->num = lx->num;
        return lex(lx);
    case T_LBR: {
        /* a list: values separated by commas, newlines allowed inside */
        int open = lx->tline;
        v->kind = V_LIST;
        v->num = 0;
        static struct value item;   /* lists do not nest: one is enough */
        if (lex(lx))
            return -1;
        for (;;) {
            while (lx->t == T_NL)
                if (lex(lx))
                    return -1;
            if (lx->t == T_RBR)
                return lex(lx);
            if (lx->t == T_EOF)
                return cfg_fail(lx, open, "unterminated list for '%s' (missing ']')", key);
            if (lx->t == T_LBR)
                return cfg_fail(lx, lx->tline, "nested lists are not supported in '%s'", key);
            if (parse_value(lx, key, &item))
                return -1;
            if (v->num < LIST_ITEMS) {
                v->item_str[v->num] = item.kind == V_STR;
                v->item_line[v->num] = item.line;
                snprintf(v->item[v->num], ITEM_MAX, "%s", item.kind == V_STR ? item.str : "");
            }
            v->num++;
            while (lx->t == T_NL)
                if (lex(lx))
                    return -1;
            if (lx->t == T_EOF)
                return cfg_fail(lx, open, "unterminated list for '%s' (missing ']')", key);
            if (lx->t == T_COMMA) {
                if (lex(lx))
                    return -1;
            } else if (lx->t != T_RBR) {
                return cfg_fail(lx, lx->tline, "expected ',' or ']' in the list for '%s'", key);
            }
        }
    }
    case T_IDENT:
        return cfg_fail(lx, lx->tline, "value of '%s' is a bare word '%s'; put strings in "
                    "quotes: %s = \"%s\"", key, lx->text, key, lx->text);
    case T_NL: case T_EOF: case T_SEMI:
        return cfg_fail(lx, lx->tline, "missing value after '%s ='", key);
    default:
        return cfg_fail(lx, lx->tline, "expected a value for '%s' (a \"string\", a number "
                    "or a [list])", key);
    }
}

/* ---- keys ------------------------------------------------------------------ */

struct cfg_state {
    struct lamina_cfg *c;
    const char *dir;
    int cmdline_line;
    const char *cmdline_key;
};

typedef int (*key_fn)(struct lexer *lx, struct cfg_state *st, const char *key,
                      const struct value *v);

static int want(struct lexer *lx, const char *key, const struct value *v, enum vkind k,
                const char *example)
{
    static const char *const names[] = { "a string", "an integer", "a list" };
    if (v->kind == k)
        return 0;
    return cfg_fail(lx, v->line, "'%s' must be %s, not %s; e.g. %s", key, names[k],
                names[v->kind], example);
}

static int key_name(struct lexer *lx, struct cfg_state *st, const char *key,
                    const struct value *v)
{
    if (want(lx, key, v, V_STR, "name = \"guest1\""))
        return -1;
    size_t n = strlen(v->str);
    int digits = 1;
    if (!n)
        return cfg_fail(lx, v->line, "'name' is empty; give the domain a name");
    if (n >= CFG_NAME_MAX)
        return cfg_fail(lx, v->line, "'name' is too long (at most %d characters)",
                    CFG_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = v->str[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return isprint(ch)
                ? cfg_fail(lx, v->line, "'name' may hold only letters, digits, '-', '_' "
                           "and '.', not '%c'", ch)
                : cfg_fail(lx, v->line, "'name' may hold only letters, digits, '-', '_' "
                           "and '.', not byte 0x%02x", ch);
        if (!isdigit(ch))
            digits = 0;
    }
    if (digits)
        return cfg_fail(lx, v->line, "'name' must not be all digits (it would read as a "
                    "domain id); e.g. name = \"guest%s\"", v->str);
    strcpy(st->c->name, v->str);
    return 0;
}

static int key_type(struct lexer *lx, struct cfg_state *st, const char *key,
                    const struct value *v)
{
    if (want(lx, key, v, V_STR, "type = \"pv\""))
        return -1;
    if (!strcmp(v->str, "pv"))
        st->c->unmodified = 0;
    else if (!strcmp(v->str, "unmodified"))
        st->c->unmodified = 1;
    else if (!strcmp(v->str, "hvm") || !strcmp(v->str, "pvh"))
        return cfg_fail(lx, v->line, "type \"%s\" is not supported; use \"unmodified\" for "
                    "a bare-metal kernel run under trap-and-emulate, or \"pv\"", v->str);
    else
        return cfg_fail(lx, v->line, "unknown type \"%s\"; use \"pv\" or \"unmodified\"",
                    v->str);
    return 0;
}

static int key_kernel(struct lexer *lx, struct cfg_state *st, const char *key,
                      const struct value *v)
{
    if (want(lx, key, v, V_STR, "kernel = \"../build/guest-pv.elf\""))
        return -1;
    if (!v->str[0])
        return cfg_fail(lx, v->line, "'kernel' is empty; give the path of the kernel ELF");
    int n;
    if (v->str[0] == '/' || !st->dir || !st->dir[0])
        n = snprintf(st->c->kernel, sizeof(st->c->kernel), "%s", v->str);
    else
        n = snprintf(st->c->kernel, sizeof(st->c->kernel), "%s/%s", st->dir, v->str);
    if (n < 0 || (size_t)n >= sizeof(st->c->kernel))
        return cfg_fail(lx, v->line, "'kernel' path is too long");
    st->c->kernel_line = v->line;
    return 0;
}

static int key_cmdline(struct lexer *lx, struct cfg_state *st, const char *key,
                       const struct value *v)
{
    if (want(lx, key, v, V_STR, "cmdline = \"service\""))
        return -1;
    if (st->cmdline_key && !(override_line && v->line >= override_line &&
                             st->cmdline_line < override_line))
        return cfg_fail(lx, v->line, "'%s' and '%s' (line %d) both set the command line; "
                    "keep one", key, st->cmdline_key, st->cmdline_line);
    if (strlen(v->str) >= CFG_CMDLINE_MAX)
        return cfg_fail(lx, v->line, "'%s' is too long (at most %d bytes)", key,
                    CFG_CMDLINE_MAX - 1);
    strcpy(st->c->cmdline, v->str);
    st->cmdline_key = key;
    st->cmdline_line = v->line;
    return 0;
}

static int key_memory(struct lexer *lx, struct cfg_state *st, const char *key,
                      const struct value *v)
{
    if (want(lx, key, v, V_INT, "memory = 32"))
        return -1;
    if (v->num < 1 || v->num > 65536)
        return cfg_fail(lx, v->line, "'memory' = %lld is out of range; give MiB between 1 "
                    "and 65536", v->num);
    st->c->memory_mib = (unsigned int)v->num;
    return 0;
}

static int key_vcpus(struct lexer *lx, struct cfg_state *st, const char *key,
                     const struct value *v)
{
    if (want(lx, key, v, V_INT, "vcpus = 1"))
        return -1;
    if (v->num != 1)
        return cfg_fail(lx, v->line, "vcpus = %lld: Lamina domains have exactly one vCPU; "
                    "set vcpus = 1", v->num);
    st->c->vcpus = 1;
    return 0;
}

static int key_on_crash(struct lexer *lx, struct cfg_state *st, const char *key,
                        const struct value *v)
{
    if (want(lx, key, v, V_STR, "on_crash = \"destroy\""))
        return -1;
    for (int i = CFG_CRASH_DESTROY; i <= CFG_CRASH_RESTORE; i++)
        if (!strcmp(v->str, cfg_on_crash_name(i))) {
            st->c->on_crash = i;
            return 0;
        }
    return cfg_fail(lx, v->line, "on_crash = \"%s\" is not supported; use \"destroy\", "
                "\"restart\", \"preserve\" or \"restore\"", v->str);
}

/* on_poweroff / on_reboot: accepted with xl's defaults only. */
static int key_on_fixed(struct lexer *lx, struct cfg_state *st, const char *key,
                        const struct value *v)
{
    (void)st;
    const char *dflt = !strcmp(key, "on_poweroff") ? "destroy" : "restart";
    char ex[64];
    snprintf(ex, sizeof(ex), "%s = \"%s\"", key, dflt);
    if (want(lx, key, v, V_STR, ex))
        return -1;
    if (strcmp(v->str, dflt))
        return cfg_fail(lx, v->line, "%s = \"%s\" is not supported; only \"%s\" (xl's "
                    "default) is; remove the line", key, v->str, dflt);
    return 0;
}

/* Trims spaces at both ends of s in place. */
char *cfg_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

#define DISK_FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int cfg_parse_disk(const char *spec, const char *dir, struct cfg_disk *d, char *err,
                   size_t errlen)
{
    static char buf[ITEM_MAX];
    const char *target = NULL, *format = "raw", *vdev = NULL, *access = "rw";
    unsigned int pos = 0;

    memset(d, 0, sizeof(*d));
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *p = buf; p && *p;) {
        char *comma = strchr(p, ',');
        char *piece, *eq;

        if (!strncmp(cfg_trim(p), "target=", 7)) {         /* the rest, commas and all */
            target = cfg_trim(p) + 7;
            break;
        }
        if (comma)
            *comma = 0;
        piece = cfg_trim(p);
        p = comma ? comma + 1 : NULL;
        if (!*piece)
            continue;
        if ((eq = strchr(piece, '='))) {
            *eq = 0;
            const char *k = cfg_trim(piece), *val = cfg_trim(eq + 1);
            if (!strcmp(k, "format"))
                format = val;
            else if (!strcmp(k, "vdev"))
                vdev = val;
            else if (!strcmp(k, "access"))
                access = val;
            else if (!strcmp(k, "devtype") || !strcmp(k, "backendtype") ||
                     !strcmp(k, "script")) {
                if (!strcmp(k, "devtype") && strcmp(val, "disk"))
                    DISK_FAIL("devtype=%s is not supported; Lamina's disks are devtype=disk",
                              val);
            } else {
                DISK_FAIL("unknown disk parameter '%s'; use target=, format=, vdev=, access= "
                          "(xl's disk syntax)", k);
            }
            continue;
        }
        switch (pos++) {
        case 0: target = piece; break;
        case 1: format = piece; break;
        case 2: vdev = piece; break;
        case 3: access = piece; break;
        default:
            DISK_FAIL("too many positional disk parameters at '%s'; the form is "
                      "\"target,format,vdev,access\"", piece);
        }
    }
    if (!target || !*target)
        DISK_FAIL("no target; give the image file, e.g. \"format=raw, vdev=xvda, "
                  "access=rw, target=disk.img\"");
    if (strcmp(format, "raw"))
        DISK_FAIL("format=%s is not supported; Lamina serves raw images (convert with "
                  "qemu-img convert -O raw)", format);
    if (!vdev)
        DISK_FAIL("no vdev; name the guest's device, e.g. vdev=xvda");
    if (strlen(vdev) != 4 || strncmp(vdev, "xvd", 3) || vdev[3] < 'a' || vdev[3] > 'p')
        DISK_FAIL("vdev '%s' is not supported; use xvda .. xvdp", vdev);
    if (!strcmp(access, "rw") || !strcmp(access, "w"))
        d->readonly = 0;
    else if (!strcmp(access, "ro") || !strcmp(access, "r"))
        d->readonly = 1;
    else
        DISK_FAIL("access=%s is not valid; use access=rw or access=ro", access);
    int n = target[0] == '/' || !dir || !dir[0]
                ? snprintf(d->target, sizeof(d->target), "%s", target)
                : snprintf(d->target, sizeof(d->target), "%s/%s", dir, target);
    if (n < 0 || (size_t)n >= sizeof(d->target))
        DISK_FAIL("the target path is too long");
    memcpy(d->vdev, vdev, 5);
    d->devid = 202u << 8 | (unsigned int)(vdev[3] - 'a') << 4;
    return 0;
}

static int key_disk(struct lexer *lx, struct cfg_state *st, const char *key,
                    const struct value *v)
{
    char e[512];

    if (want(lx, key, v, V_LIST, "disk = [ \"format=raw, vdev=xvda, access=rw, target=disk.img\" ]"))
        return -1;
    if (v->num > CFG_MAX_DISKS)
        return cfg_fail(lx, v->line, "%lld disks; a domain may have at most %d", v->num,
                        CFG_MAX_DISKS);
    for (long long i = 0; i < v->num; i++) {
        struct cfg_disk *d = &st->c->disk[i];

        if (!v->item_str[i])
            return cfg_fail(lx, v->item_line[i], "each disk is a \"string\", e.g. "
                            "\"disk.img,raw,xvda,rw\"");
        if (cfg_parse_disk(v->item[i], st->dir, d, e, sizeof(e)))
            return cfg_fail(lx, v->item_line[i], "disk %lld: %s", i + 1, e);
        d->line = v->item_line[i];
        for (long long j = 0; j < i; j++)
            if (st->c->disk[j].devid == d->devid)
                return cfg_fail(lx, d->line, "disk %lld: vdev %s is used twice (also line %d); "
                                "give each disk its own vdev", i + 1, d->vdev,
                                st->c->disk[j].line);
    }
    st->c->nr_disks = (unsigned int)v->num;
    return 0;
}

static int key_vif(struct lexer *lx, struct cfg_state *st, const char *key,
                   const struct value *v)
{
    char e[512];

    if (want(lx, key, v, V_LIST, "vif = [ \"mac=00:16:3e:00:00:01, bridge=xenbr0, ip=10.0.2.20\" ]"))
        return -1;
    if (v->num > CFG_MAX_VIFS)
        return cfg_fail(lx, v->line, "%lld vifs; a domain may have at most %d", v->num,
                        CFG_MAX_VIFS);
    for (long long i = 0; i < v->num; i++) {
        struct cfg_vif *f = &st->c->vif[i];

        if (!v->item_str[i])
            return cfg_fail(lx, v->item_line[i], "each vif is a \"string\", e.g. "
                            "\"bridge=xenbr0, ip=10.0.2.20\"");
        if (cfg_parse_vif(v->item[i], f, e, sizeof(e)))
            return cfg_fail(lx, v->item_line[i], "vif %lld: %s", i + 1, e);
        f->line = v->item_line[i];
        for (long long j = 0; j < i; j++) {
            if (f->has_mac && st->c->vif[j].has_mac && !memcmp(f->mac, st->c->vif[j].mac, 6))
                return cfg_fail(lx, f->line, "vif %lld: its mac is also vif %lld's (line %d); "
                                "give each vif its own mac= or leave mac= out", i + 1, j + 1,
                                st->c->vif[j].line);
            for (unsigned int a = 0; a < f->nr_fwds; a++)
                for (unsigned int b = 0; b < st->c->vif[j].nr_fwds; b++)
                    if (f->fwd_host[a] == st->c->vif[j].fwd_host[b])
                        return cfg_fail(lx, f->line, "vif %lld: host port %u is forwarded "
                                        "twice (also line %d); use another port", i + 1,
                                        f->fwd_host[a], st->c->vif[j].line);
        }
    }
    st->c->nr_vifs = (unsigned int)v->num;
    return 0;
}

static const struct cfg_key {
    const char *name;
    key_fn fn;
} cfg_keys[] = {
    { "name", key_name },
    { "type", key_type },
    { "kernel", key_kernel },
    { "cmdline", key_cmdline },
    { "extra", key_cmdline },
    { "memory", key_memory },
    { "vcpus", key_vcpus },
    { "on_crash", key_on_crash },
    { "on_poweroff", key_on_fixed },
    { "on_reboot", key_on_fixed },
    { "disk", key_disk },
    { "vif", key_vif },
};
#define NR_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* xl.cfg(5) keys Lamina parses but does not act on: a real xl.cfg runs,
 * with one warning that lists them (struct lamina_cfg.ignored). */
static const char *const xl_ignored_keys[] = {
    "uuid", "maxmem", "maxvcpus", "cpus", "cpus_soft", "cpu_weight", "cap", "pool",
    "bootloader", "bootloader_args", "ramdisk", "root", "builder", "on_watchdog",
    "on_soft_reset", "localtime", "rtc_timeoffset", "serial", "vnc", "vnclisten",
    "vncpasswd", "vfb", "sdl", "keymap", "pci", "vtpm", "channel", "usb", "usbctrl",
    "usbdev", "device_model_version", "device_model_override", "seclabel", "nomigrate",
    "driver_domain", "e820_host", "max_grant_frames", "max_maptrack_frames",
    "claim_mode", "vnuma", "iomem", "ioports", "irqs", "dtdev", "tsc_mode",
    "max_event_channels", "passthrough", "gfx_passthru", "vga", "acpi", "apic", "pae",
    "hap", "nestedhvm", "shadow_memory", "boot", "firmware", "soundhw", "kernel_args",
    "extra_args", "p9", "vdispl", "vsnd", "vkb", "pvcalls", "connectors",
};

static int xl_ignored(const char *key)
{
    for (size_t x = 0; x < sizeof(xl_ignored_keys) / sizeof(xl_ignored_keys[0]); x++)
        if (!strcmp(xl_ignored_keys[x], key))
            return 1;
    return 0;
}

unsigned int cfg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    unsigned int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned int)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned int diag = row[0];
        row[0] = (unsigned int)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned int up = row[j];
            unsigned int best = diag + (tolower((unsigned char)a[i - 1]) !=
                                        tolower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cfg_on_crash_name(enum cfg_on_crash c)
{
    switch (c) {
    case CFG_CRASH_RESTART: return "restart";
    case CFG_CRASH_PRESERVE: return "preserve";
    case CFG_CRASH_RESTORE: return "restore";
    default: return "destroy";
    }
}

static int unknown_key(struct lexer *lx, int line, const char *key)
{
    const char *best = NULL;
    unsigned int bd = ~0u;
    for (size_t i = 0; i < NR_KEYS; i++) {
        unsigned int d = cfg_edit_distance(key, cfg_keys[i].name);
        if (d < bd) {
            bd = d;
            best = cfg_keys[i].name;
        }
    }
    size_t kl = strlen(key);
    if (best && bd <= 2 && bd < kl)
        return cfg_fail(lx, line, "unknown key '%s'; did you mean '%s'?", key, best);
    return cfg_fail(lx, line, "unknown key '%s'; known keys: name, type, kernel, cmdline "
                "(or extra), memory, vcpus, on_crash, on_poweroff, on_reboot, disk, vif", key);
}

/* parse_assignment - the "= value" after key (on line kline) into *v,
 * with nothing else on the statement.  0, or -1 with the message. */
static int parse_assignment(struct lexer *lx, const char *key, int kline, struct value *v)
{
    if (lex(lx))
        return -1;
    if (lx->t != T_EQ)
        return cfg_fail(lx, kline, "expected '=' after '%s'", key);
    if (lex(lx) || parse_value(lx, key, v))
        return -1;
    if (lx->t != T_NL && lx->t != T_EOF && lx->t != T_SEMI)
        return cfg_fail(lx, lx->tline, "unexpected text after the value of '%s'; "
                    "one key = value per line", key);
    return 0;
}

int cfg_parse(const char *buf, size_t len, const char *file, const char *dir,
              struct lamina_cfg *out, char *err, size_t errlen)
{
    static struct lexer lxs;        /* large buffers: keep them off the stack */
    static struct value v;
    struct lexer *lx = &lxs;
    int seen[NR_KEYS] = { 0 };

    memset(lx, 0, sizeof(*lx));
    lx->p = buf;
    lx->end = buf + len;
    lx->line = 1;
    lx->file = file ? file : "<config>";
    lx->err = err;
    lx->errlen = errlen;
    if (errlen)
        err[0] = 0;

    memset(out, 0, sizeof(*out));
    out->memory_mib = 32;
    out->vcpus = 1;
    out->on_crash = CFG_CRASH_DESTROY;
    struct cfg_state st = { .c = out, .dir = dir };

    if (memchr(buf, 0, len))
        return cfg_fail(lx, 0, "the file holds a NUL byte; is it a text file?");
    if (lex(lx))
        return -1;
    for (;;) {
        while (lx->t == T_NL || lx->t == T_SEMI)
            if (lex(lx))
                return -1;
        if (lx->t == T_EOF)
            break;
        if (lx->t != T_IDENT)
            return cfg_fail(lx, lx->tline, "expected a key at the start of the statement "
                        "(key = value)");
        char key[256];
        int kline = lx->tline;
        size_t kl = strnlen(lx->text, sizeof(key) - 1);
        memcpy(key, lx->text, kl);
        key[kl] = 0;
        size_t k;
        for (k = 0; k < NR_KEYS; k++)
            if (!strcmp(cfg_keys[k].name, key))
                break;
        if (k == NR_KEYS) {
            if (!xl_ignored(key))
                return unknown_key(lx, kline, key);
            /* An xl key we do not act on: parse its value, note it, go on. */
            if (parse_assignment(lx, key, kline, &v))
                return -1;
            size_t il = strlen(out->ignored);
            if (il + kl + 16 < sizeof(out->ignored))
                snprintf(out->ignored + il, sizeof(out->ignored) - il, "%s%s (line %d)",
                         il ? ", " : "", key, kline);
            continue;
        }
        if (seen[k] && !(override_line && kline >= override_line &&
                         seen[k] < override_line))
            return cfg_fail(lx, kline, "duplicate key '%s' (first set on line %d); "
                        "remove one", key, seen[k]);
        seen[k] = kline;
        if (parse_assignment(lx, key, kline, &v))
            return -1;
        if (cfg_keys[k].fn(lx, &st, cfg_keys[k].name, &v))
            return -1;
    }
    if (!out->name[0])
        return cfg_fail(lx, 0, "missing required key 'name'; add e.g. name = \"guest1\"");
    if (!out->kernel[0])
        return cfg_fail(lx, 0, "missing required key 'kernel'; add e.g. "
                    "kernel = \"../build/guest-pv.elf\"");
    unsigned int min = out->unmodified ? LAMINA_UNMOD_MIN_MIB : LAMINA_PV_MIN_MIB;
    int mem_line = 0;
    for (size_t i = 0; i < NR_KEYS; i++)
        if (!strcmp(cfg_keys[i].name, "memory"))
            mem_line = seen[i];
    if (out->memory_mib < min)
        return cfg_fail(lx, mem_line, "'memory' = %u MiB is below the minimum for "
                    "a%s domain, %u MiB; set memory = %u or more", out->memory_mib,
                    out->unmodified ? "n unmodified" : " PV", min, min);
    return 0;
}

int cfg_parse_overrides(const char *buf, size_t len, const char *const *kv, int nkv,
                        const char *file, const char *dir, struct lamina_cfg *out, char *err,
                        size_t errlen)
{
    size_t total = len + 2;
    int lines = 1;

    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    for (int i = 0; i < nkv; i++) {
        if (strchr(kv[i], '\n') || !strchr(kv[i], '=')) {
            snprintf(err, errlen, "command line argument %d: '%s' is not KEY=VALUE (one "
                     "cfg line, e.g. memory=64 or 'name=\"guest2\"')", i + 1, kv[i]);
            return -1;
        }
        total += strlen(kv[i]) + 1;
    }
    char *text = malloc(total);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(text, buf, len);
    size_t o = len;
    if (len && buf[len - 1] != '\n')
        text[o++] = '\n', lines++;
    int first = len && buf[len - 1] != '\n' ? lines : lines;
    for (int i = 0; i < nkv; i++) {
        size_t l = strlen(kv[i]);
        memcpy(text + o, kv[i], l);
        o += l;
        text[o++] = '\n';
    }
    override_line = nkv ? first : 0;
    int rc = cfg_parse(text, o, file, dir, out, err, errlen);
    override_line = 0;
    free(text);
    return rc;
}
