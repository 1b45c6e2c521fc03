/*
 * proto.c - the agent's line protocol: parsing requests, percent-encoding,
 * building and queueing answer lines (docs/toolstack.md section 4).
 *
 * Runs in dom0 (toolstack agent thread).  Every input byte is untrusted:
 * parsing never reads past the line and never fails other than by
 * returning PROTO_IGNORE/PROTO_BAD.
 */
#include <lamina/xen.h>
#include "kernel.h"
#include "proto.h"
#include "../common/wire.h"
#include "serial.h"

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

bool proto_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned int d = (unsigned int)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool proto_parse_hex(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

    if (!s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    for (; *s; s++) {
        int d = wire_hexval(*s);
        if (d < 0 || ++digits > 16)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (!digits)
        return false;
    *out = v;
    return true;
}

long proto_pct_decode(char *s, size_t n)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = wire_hexval(s[i + 1]), lo = wire_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            s[o++] = (char)(hi << 4 | lo);
            i += 3;
        } else {
            s[o++] = s[i++];
        }
    }
    s[o] = '\0';
    return (long)o;
}

size_t proto_pct_encode(char *dst, size_t cap, const void *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *p = src;
    size_t o = 0, i;

    if (cap == 0)
        return 0;
    for (i = 0; i < n; i++) {
        uint8_t c = p[i];
        bool esc = c < 0x21 || c > 0x7e || c == '%' || c == '=';
        size_t need = esc ? 3 : 1;
        if (o + need + 1 > cap)
            break;
        if (esc) {
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return i;
}

enum proto_parse_rc proto_parse(char *line, size_t n, struct proto_req *r,
                                const char **why)
{
    size_t i = 0;

    memset(r, 0, sizeof(*r));
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;                            /* tolerate CR and trailing spaces */
    line[n] = '\0';

    /* id: decimal 1..2^31 */
    uint64_t id = 0;
    size_t start = i;
    while (i < n && line[i] >= '0' && line[i] <= '9') {
        id = id * 10 + (uint64_t)(line[i] - '0');
        if (id > (1ULL << 31))
            return PROTO_IGNORE;
        i++;
    }
    if (i == start || id == 0 || i >= n || line[i] != ' ')
        return PROTO_IGNORE;
    r->id = (uint32_t)id;
    i++;

    /* command */
    r->cmd = &line[i];
    while (i < n && line[i] != ' ') {
        char c = line[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            *why = "bad character in command name";
            return PROTO_BAD;
        }
        i++;
    }
    if (&line[i] == r->cmd) {
        *why = "missing command";
        return PROTO_BAD;
    }
    bool more = i < n;
    line[i++] = '\0';

    /* key=value ... separated by one space */
    while (more) {
        size_t ks = i;
        while (i < n && line[i] != '=' && line[i] != ' ')
            i++;
        if (i >= n || line[i] != '=' || i == ks) {
            *why = "argument is not key=value";
            return PROTO_BAD;
        }
        line[i++] = '\0';
        size_t vs = i;
        while (i < n && line[i] != ' ')
            i++;
        more = i < n;
        size_t vlen = i - vs;
        line[i++] = '\0';
        long dl = proto_pct_decode(&line[vs], vlen);
        if (dl < 0) {
            *why = "bad percent escape in a value";
            return PROTO_BAD;
        }
        if (r->nargs == PROTO_MAX_ARGS) {
            *why = "too many arguments";
            return PROTO_BAD;
        }
        for (unsigned int k = 0; k < r->nargs; k++) {
            if (streq(r->key[k], &line[ks])) {
                *why = "duplicate argument";
                return PROTO_BAD;
            }
        }
        r->key[r->nargs] = &line[ks];
        r->val[r->nargs] = &line[vs];
        r->val_len[r->nargs] = (size_t)dl;
        r->nargs++;
    }
    return PROTO_OK;
}

const char *proto_arg(const struct proto_req *r, const char *key, size_t *len)
{
    for (unsigned int k = 0; k < r->nargs; k++) {
        if (streq(r->key[k], key)) {
            if (len)
                *len = r->val_len[k];
            return r->val[k];
        }
    }
    return NULL;
}

const char *proto_unknown_arg(const struct proto_req *r, const char *const *allowed)
{
    for (unsigned int k = 0; k < r->nargs; k++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || streq(r->key[k], *a);
        if (!ok)
            return r->key[k];
    }
    return NULL;
}

/* ---- answer lines ------------------------------------------------------ */

static void line_raw(struct proto_line *l, const char *s, size_t n)
{
    if (l->n + n > PROTO_LINE_MAX - 1) {
        l->full = true;
        n = PROTO_LINE_MAX - 1 > l->n ? PROTO_LINE_MAX - 1 - l->n : 0;
    }
    memcpy(&l->buf[l->n], s, n);
    l->n += n;
}

void proto_line_start(struct proto_line *l, const char *head)
{
    l->n = 0;
    l->full = false;
    line_raw(l, head, strlen(head));
}

size_t proto_line_pct(struct proto_line *l, const void *data, size_t n)
{
    line_raw(l, " ", 1);
    size_t cap = PROTO_LINE_MAX - l->n;    /* leaves room for '\n' via NUL */
    size_t done = proto_pct_encode(&l->buf[l->n], cap, data, n);
    if (done < n)
        l->full = true;
    l->n += strlen(&l->buf[l->n]);
    return done;
}

void proto_line_kv(struct proto_line *l, const char *key, const void *val, size_t n)
{
    line_raw(l, " ", 1);
    line_raw(l, key, strlen(key));
    line_raw(l, "=", 1);
    size_t cap = PROTO_LINE_MAX - l->n;
    if (proto_pct_encode(&l->buf[l->n], cap, val, n) < n)
        l->full = true;
    l->n += strlen(&l->buf[l->n]);
}

void proto_line_kvs(struct proto_line *l, const char *key, const char *val)
{
    proto_line_kv(l, key, val, strlen(val));
}

void proto_line_kvu(struct proto_line *l, const char *key, uint64_t v)
{
    char num[24];
    ksnprintf(num, sizeof(num), "%lu", (unsigned long)v);
    proto_line_kv(l, key, num, strlen(num));
}

bool proto_line_send(struct proto_line *l, bool droppable)
{
    l->buf[l->n] = '\n';
    return serial_queue(l->buf, l->n + 1, droppable);
}

void proto_send_ok(uint32_t id)
{
    char b[24];
    int n = ksnprintf(b, sizeof(b), "K %u\n", id);
    serial_queue(b, (size_t)n, false);
}

static struct proto_line msg_line;      /* one agent thread: not reentrant */

void proto_send_err(uint32_t id, int err, const char *fmt, ...)
{
    char head[48], msg[256];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ksnprintf(head, sizeof(head), "E %u %s", id, proto_errno_name(err));
    proto_line_start(&msg_line, head);
    proto_line_pct(&msg_line, msg, strlen(msg));
    proto_line_send(&msg_line, false);
}

void proto_send_log(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kprintf("agent: %s\n", msg);
    proto_line_start(&msg_line, "L");
    proto_line_pct(&msg_line, msg, strlen(msg));
    proto_line_send(&msg_line, false);
}

const char *proto_errno_name(int err)
{
    static const struct { int e; const char *name; } names[] = {
        { XEN_EPERM, "EPERM" },     { XEN_ENOENT, "ENOENT" },
        { XEN_ESRCH, "ESRCH" },     { XEN_EXDEV, "EXDEV" },
        { XEN_EIO, "EIO" },         { XEN_ENXIO, "ENXIO" },
        { XEN_E2BIG, "E2BIG" },     { XEN_ENOEXEC, "ENOEXEC" },
        { XEN_EBADF, "EBADF" },     { XEN_EAGAIN, "EAGAIN" },
        { XEN_ENOMEM, "ENOMEM" },   { XEN_EACCES, "EACCES" },
        { XEN_EFAULT, "EFAULT" },   { XEN_EBUSY, "EBUSY" },
        { XEN_EEXIST, "EEXIST" },   { XEN_ENODEV, "ENODEV" },
        { XEN_EINVAL, "EINVAL" },   { XEN_ENOSPC, "ENOSPC" },
        { XEN_ERANGE, "ERANGE" },   { XEN_ENOSYS, "ENOSYS" },
        { XEN_ENODATA, "ENODATA" }, { XEN_EOPNOTSUPP, "EOPNOTSUPP" },
        { XEN_ETIMEDOUT, "ETIMEDOUT" }, { XEN_EBADMSG, "EBADMSG" },
        { XEN_EOVERFLOW, "EOVERFLOW" }, { XEN_EILSEQ, "EILSEQ" },
        { XEN_ENOTCONN, "ENOTCONN" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].e == err)
            return names[i].name;
    return "EIO";
}
