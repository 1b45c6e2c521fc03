/*
 * proto.h - the line protocol of docs/toolstack.md section 4 (host <-> dom0
 * agent) as the host sees it: percent-encoding, splitting a line into its
 * kind, id and key=value pairs, and CRC-32 for bulk transfers.  Runs on the
 * host (the CLI and `lamina hostd`).
 */
#ifndef LAMINA_PROTO_H
#define LAMINA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_LINE_MAX 4096         /* including the '\n' */
#define PROTO_MAX_KV   64

/*
 * pct_encode - percent-encode src[0..n) into dst (NUL-terminated): bytes
 * outside 0x21..0x7e and '%' '=' become %XX.  Returns the length written,
 * or -1 when dst[dstlen] is too small.
 */
long pct_encode(const void *src, size_t n, char *dst, size_t dstlen);

/* pct_decode - decode src into dst (may equal src; NUL-terminated).
 * Returns the decoded length, or -1 on a bad %XX or no room. */
long pct_decode(const char *src, char *dst, size_t dstlen);

/* crc32_ieee - CRC-32 (IEEE 802.3, as zlib's crc32); start with crc = 0. */
uint32_t crc32_ieee(uint32_t crc, const void *buf, size_t n);

/*
 * A parsed line.  kind: 'R' 'K' 'E' 'C' 'L' or 'Y' (READY), or 'Q' for a
 * request "<id> <command> ...".  Pointers point into the line passed to
 * msg_parse (which it modifies); values are already decoded.
 */
struct msg {
    char kind;
    uint32_t id;                    /* R K E Q: request id; C: domid */
    char *word;                     /* Q: command; E: errno name; Y: version */
    char *text;                     /* E L: decoded message; C: decoded data */
    long textlen;                   /* bytes in text (C data may hold NULs) */
    int nkv;
    char *key[PROTO_MAX_KV], *val[PROTO_MAX_KV];
};

/* msg_parse - parse one line (without '\n', modified in place).
 * Returns 0, or -1 if the line does not parse. */
int msg_parse(char *line, struct msg *m);

/* msg_get - the decoded value of key, or NULL. */
const char *msg_get(const struct msg *m, const char *key);

/* now_ns - CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif
