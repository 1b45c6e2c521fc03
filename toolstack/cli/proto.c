/*
 * proto.c - percent-encoding, line parsing and CRC-32 of the host <-> dom0
 * agent protocol (docs/toolstack.md section 4).  Runs on the host.
 */
#include <zlib.h>
#include "proto.h"
#include "../common/wire.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

long pct_encode(const void *src, size_t n, char *dst, size_t dstlen)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = src;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x21 || c > 0x7e || c == '%' || c == '=') {
            if (o + 4 > dstlen)
                return -1;
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            if (o + 2 > dstlen)
                return -1;
            dst[o++] = (char)c;
        }
    }
    if (o + 1 > dstlen)
        return -1;
    dst[o] = 0;
    return (long)o;
}

long pct_decode(const char *src, char *dst, size_t dstlen)
{
    size_t o = 0;
    while (*src) {
        char c = *src++;
        if (c == '%') {
            int h = wire_hexval(src[0]), l = h < 0 ? -1 : wire_hexval(src[1]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h << 4 | l);
            src += 2;
        }
        if (o + 1 >= dstlen)
            return -1;
        dst[o++] = c;
    }
    if (!dstlen)
        return -1;
    dst[o] = 0;
    return (long)o;
}

uint32_t crc32_ieee(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    /* zlib's is the same CRC (dom0 computes it with wire_crc32), faster. */
    while (n) {
        uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* next_tok - split off the next space-separated token (NULL at the end). */
static char *next_tok(char **s)
{
    char *p = *s;
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    char *t = p;
    while (*p && *p != ' ')
        p++;
    if (*p)
        *p++ = 0;
    *s = p;
    return t;
}

static int parse_id(const char *t, uint32_t *id)
{
    if (!t || !*t)
        return -1;
    char *e;
    unsigned long v = strtoul(t, &e, 10);
    if (*e || v > 0xffffffffUL || t[0] == '-' || t[0] == '+')
        return -1;
    *id = (uint32_t)v;
    return 0;
}

static int parse_kvs(char *rest, struct msg *m)
{
    char *t;
    while ((t = next_tok(&rest))) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t || m->nkv == PROTO_MAX_KV)
            return -1;
        *eq = 0;
        if (pct_decode(eq + 1, eq + 1, strlen(eq + 1) + 1) < 0)
            return -1;
        m->key[m->nkv] = t;
        m->val[m->nkv++] = eq + 1;
    }
    return 0;
}

int msg_parse(char *line, struct msg *m)
{
    memset(m, 0, sizeof(*m));
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = 0;
    char *rest = line;
    char *t = next_tok(&rest);
    if (!t)
        return -1;
    if (!strcmp(t, "READY")) {
        m->kind = 'Y';
        m->word = next_tok(&rest);
        return m->word ? 0 : -1;
    }
    if (t[0] >= '0' && t[0] <= '9') {
        m->kind = 'Q';
        if (parse_id(t, &m->id) || !(m->word = next_tok(&rest)))
            return -1;
        return parse_kvs(rest, m);
    }
    if (t[1])
        return -1;
    m->kind = t[0];
    switch (t[0]) {
    case 'R':
        if (parse_id(next_tok(&rest), &m->id))
            return -1;
        return parse_kvs(rest, m);
    case 'K':
        if (parse_id(next_tok(&rest), &m->id))
            return -1;
        return 0;
    case 'E':
        if (parse_id(next_tok(&rest), &m->id) || !(m->word = next_tok(&rest)))
            return -1;
        while (*rest == ' ')
            rest++;
        m->text = rest;
        m->textlen = pct_decode(rest, rest, strlen(rest) + 1);
        return m->textlen < 0 ? -1 : 0;
    case 'C':
        if (parse_id(next_tok(&rest), &m->id))
            return -1;
        if (*rest == ' ')
            rest++;
        m->text = rest;
        m->textlen = pct_decode(rest, rest, strlen(rest) + 1);
        return m->textlen < 0 ? -1 : 0;
    case 'L':
        while (*rest == ' ')
            rest++;
        m->text = rest;
        m->textlen = pct_decode(rest, rest, strlen(rest) + 1);
        return m->textlen < 0 ? -1 : 0;
    }
    return -1;
}

const char *msg_get(const struct msg *m, const char *key)
{
    for (int i = 0; i < m->nkv; i++)
        if (!strcmp(m->key[i], key))
            return m->val[i];
    return NULL;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
