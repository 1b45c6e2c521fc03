/*
 * proto.h - the host <-> dom0 agent line protocol (docs/toolstack.md
 * section 4): request parsing, percent-encoding, answer lines.
 *
 * Runs in dom0 (toolstack agent).  Pure functions except proto_send*,
 * which queue on COM2 (serial.h).
 */
#ifndef AGENT_PROTO_H
#define AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_LINE_MAX 4096     /* bytes, including the '\n' */
#define PROTO_MAX_ARGS 16
#define PROTO_VERSION  "lamina-agent 1"

/* One parsed request.  Keys and values point into the (modified) line;
 * values are already percent-decoded and NUL-terminated (a value may hold
 * NUL bytes: val_len says how long it is). */
struct proto_req {
    uint32_t id;                        /* 1..2^31 */
    const char *cmd;
    unsigned int nargs;
    const char *key[PROTO_MAX_ARGS];
    const char *val[PROTO_MAX_ARGS];
    size_t val_len[PROTO_MAX_ARGS];
};

/* Result of proto_parse. */
enum proto_parse_rc {
    PROTO_OK = 0,
    PROTO_IGNORE,       /* no usable id: the line is dropped (and counted) */
    PROTO_BAD,          /* id parsed, rest malformed: answer E id EINVAL */
};

/* Parses one line (without its '\n'; trailing '\r' and spaces are ignored) of
 * length n in place.  On PROTO_BAD, *why names the fault (static text) and
 * r->id is valid. */
enum proto_parse_rc proto_parse(char *line, size_t n, struct proto_req *r,
                                const char **why);

/* The decoded value of `key`, or NULL when absent; *len (may be NULL)
 * gets its length. */
const char *proto_arg(const struct proto_req *r, const char *key, size_t *len);

/* Returns the first key of r not in the NULL-terminated list `allowed`,
 * or NULL when all are allowed. */
const char *proto_unknown_arg(const struct proto_req *r, const char *const *allowed);

/* Parses a decimal u64 (no sign, no spaces, no overflow); false if bad. */
bool proto_parse_u64(const char *s, uint64_t *out);
/* Parses hex (optional 0x, at most 16 digits); false if bad. */
bool proto_parse_hex(const char *s, uint64_t *out);

/* Percent-encodes n bytes of src into dst (size cap, NUL-terminated):
 * bytes outside 0x21-0x7e and '%' '=' become %XX.  Stops before a byte
 * that does not fit; returns the number of source bytes encoded. */
size_t proto_pct_encode(char *dst, size_t cap, const void *src, size_t n);

/* Decodes %XX escapes of s (length n) in place, NUL-terminates; returns
 * the decoded length, or -1 on a bad escape. */
long proto_pct_decode(char *s, size_t n);

/* ---- answer lines: built in a struct proto_line, then sent ------------ */

struct proto_line {
    char buf[PROTO_LINE_MAX + 8];
    size_t n;
    bool full;          /* something did not fit: the line was cut */
};

/* Starts a line with the raw text `head` (e.g. "R 12"). */
void proto_line_start(struct proto_line *l, const char *head);
/* Appends " key=<pct value>" (value n bytes). */
void proto_line_kv(struct proto_line *l, const char *key, const void *val, size_t n);
void proto_line_kvs(struct proto_line *l, const char *key, const char *val);
void proto_line_kvu(struct proto_line *l, const char *key, uint64_t v);
/* Appends " " and n bytes percent-encoded (C and E payloads); returns the
 * number of source bytes that fitted. */
size_t proto_line_pct(struct proto_line *l, const void *data, size_t n);
/* Appends '\n' and queues the line on COM2 (droppable: console data). */
bool proto_line_send(struct proto_line *l, bool droppable);

/* Convenience: `K id`, `E id ERRNO message` (err: positive Xen errno),
 * `L message`. */
void proto_send_ok(uint32_t id);
void proto_send_err(uint32_t id, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void proto_send_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Xen errno name of a positive Xen errno value ("EINVAL"); "EIO" for a
 * value it does not know. */
const char *proto_errno_name(int err);

#endif /* AGENT_PROTO_H */
