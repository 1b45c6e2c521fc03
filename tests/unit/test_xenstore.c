/*
 * test_xenstore.c - host unit tests of Lamina's xenstored core
 * (backend-drivers/xenstore): paths, nodes, permissions, watches,
 * transactions, quotas, malformed input and the ring transport.
 *
 * Runs on the host (cmocka); compiles the daemon's own .c files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "../../backend-drivers/xenstore/xs_tree.c"
#include "../../backend-drivers/xenstore/xenstored.c"
#include "../../backend-drivers/xenstore/xs_store.c"
#include "../../backend-drivers/xenstore/xs_ring.c"

/* ---- a connection that records what it is sent ------------------------------ */

#define MAXMSG 256
struct rec {
    unsigned int n;
    struct xsd_sockmsg h[MAXMSG];
    char body[MAXMSG][XENSTORE_PAYLOAD_MAX + 1];
};

static void rec_send(void *opaque, const struct xsd_sockmsg *hdr, const void *body)
{
    struct rec *r = opaque;
    assert_true(r->n < MAXMSG);
    r->h[r->n] = *hdr;
    memcpy(r->body[r->n], body, hdr->len);
    r->body[r->n][hdr->len] = '\0';
    r->n++;
}

struct client {
    struct xs_conn *c;
    struct rec r;
};

static struct client *client_new(struct xs_store *s, unsigned int domid)
{
    struct client *cl = calloc(1, sizeof(*cl));
    cl->c = xs_conn_new(s, domid, rec_send, &cl->r);
    assert_non_null(cl->c);
    return cl;
}

static void client_free(struct client *cl)
{
    xs_conn_free(cl->c);
    free(cl);
}

/* Sends a request whose body is the given bytes; returns the index of its
 * reply in cl->r (the first non-event message it caused). */
static unsigned int rawreq(struct client *cl, uint32_t type, uint32_t tx, const void *body,
                           uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = 77, .tx_id = tx, .len = len };
    unsigned int first = cl->r.n, i;
    assert_int_equal(xs_conn_input(cl->c, &h, body), 0);
    for (i = first; i < cl->r.n; i++)
        if (cl->r.h[i].type != XS_WATCH_EVENT) {
            assert_int_equal(cl->r.h[i].req_id, 77);
            return i;
        }
    fail_msg("no reply");
    return 0;
}

/* Request with NUL-separated string arguments (a NULL ends the list);
 * `last_unterminated`: the last argument without its NUL (XS_WRITE's value). */
static unsigned int vreq(struct client *cl, uint32_t type, uint32_t tx, bool last_raw, ...)
{
    char buf[XENSTORE_PAYLOAD_MAX * 2];
    uint32_t len = 0;
    const char *a, *next;
    va_list ap;

    va_start(ap, last_raw);
    a = va_arg(ap, const char *);
    while (a) {
        size_t l = strlen(a);
        next = va_arg(ap, const char *);
        memcpy(buf + len, a, l);
        len += l;
        if (next || !last_raw)
            buf[len++] = '\0';
        a = next;
    }
    va_end(ap);
    return rawreq(cl, type, tx, buf, len);
}

#define REQ(cl, type, tx, ...) vreq(cl, type, tx, false, __VA_ARGS__, NULL)
#define WRITE(cl, tx, path, val) vreq(cl, XS_WRITE, tx, true, path, val, NULL)

static const char *reply_err_of(struct client *cl, unsigned int i)
{
    return cl->r.h[i].type == XS_ERROR ? cl->r.body[i] : "";
}

/* Asserts the reply at i is an error named e, or (e == NULL) success. */
static void expect(struct client *cl, unsigned int i, const char *e)
{
    if (e) {
        assert_int_equal(cl->r.h[i].type, XS_ERROR);
        assert_string_equal(cl->r.body[i], e);
        assert_int_equal(cl->r.h[i].len, strlen(e) + 1);
    } else {
        if (cl->r.h[i].type == XS_ERROR)
            fail_msg("unexpected error %s", cl->r.body[i]);
    }
}

static unsigned int events(struct client *cl, unsigned int from, const char *path,
                           const char *token)
{
    unsigned int i, n = 0;
    for (i = from; i < cl->r.n; i++) {
        if (cl->r.h[i].type != XS_WATCH_EVENT)
            continue;
        if (path && strcmp(cl->r.body[i], path) != 0)
            continue;
        if (token && strcmp(cl->r.body[i] + strlen(cl->r.body[i]) + 1, token) != 0)
            continue;
        n++;
    }
    return n;
}

static struct xs_store *S;
static struct client *D0, *D1, *D2;

static int setup(void **st)
{
    S = xs_store_new(NULL);
    assert_non_null(S);
    assert_int_equal(xs_introduce_domain(S, 1), 0);
    assert_int_equal(xs_introduce_domain(S, 2), 0);
    D0 = client_new(S, 0);
    D1 = client_new(S, 1);
    D2 = client_new(S, 2);
    return 0;
}

static int teardown(void **st)
{
    client_free(D0);
    client_free(D1);
    client_free(D2);
    xs_store_free(S);
    return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_paths(void **st)
{
    char out[XENSTORE_ABS_PATH_MAX + 1], big[XENSTORE_ABS_PATH_MAX + 10];
    unsigned int i;

    assert_int_equal(xs_canonicalize(3, "data/x", false, out), 0);
    assert_string_equal(out, "/local/domain/3/data/x");
    assert_int_equal(xs_canonicalize(3, "/tool/a_b-c@", false, out), 0);
    assert_string_equal(out, "/tool/a_b-c@");
    assert_int_equal(xs_canonicalize(0, "/", false, out), 0);
    assert_int_equal(xs_canonicalize(0, "/a/", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "/a//b", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "/a b", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "/a.b", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "@introduceDomain", false, out), -XEN_EINVAL);
    assert_int_equal(xs_canonicalize(0, "@introduceDomain", true, out), 0);
    big[0] = '/';
    for (i = 1; i < XENSTORE_ABS_PATH_MAX + 5; i++)
        big[i] = 'a';
    big[i] = '\0';
    assert_int_equal(xs_canonicalize(0, big, false, out), -XEN_EINVAL);
    big[XENSTORE_REL_PATH_MAX + 1] = '\0';      /* "/" + 2048 chars: too long */
    assert_int_equal(xs_canonicalize(0, big, false, out), -XEN_EINVAL);
    big[XENSTORE_REL_PATH_MAX] = '\0';
    assert_int_equal(xs_canonicalize(0, big, false, out), 0);
    /* relative: the tail may be XENSTORE_REL_PATH_MAX long */
    assert_int_equal(xs_canonicalize(1, big + 1, false, out), 0);
    big[XENSTORE_REL_PATH_MAX] = 'a';
    big[XENSTORE_REL_PATH_MAX + 1] = '\0';
    assert_int_equal(xs_canonicalize(1, big + 1, false, out), 0);  /* 2048: the limit */
    big[XENSTORE_REL_PATH_MAX + 1] = 'a';
    big[XENSTORE_REL_PATH_MAX + 2] = '\0';
    assert_int_equal(xs_canonicalize(1, big + 1, false, out), -XEN_EINVAL);

    /* over the wire */
    expect(D1, WRITE(D1, 0, "data/x", "v1"), NULL);
    expect(D1, REQ(D1, XS_READ, 0, "/local/domain/1/data/x"), NULL);
    assert_string_equal(D1->r.body[D1->r.n - 1], "v1");
    expect(D0, REQ(D0, XS_READ, 0, "/local/domain/1/data/x"), NULL);
    expect(D1, REQ(D1, XS_READ, 0, "data/x y"), "EINVAL");
    expect(D1, REQ(D1, XS_READ, 0, "data/"), "EINVAL");
    expect(D1, WRITE(D1, 0, "@foo", "v"), "EINVAL");
}

static void test_nodes(void **st)
{
    unsigned int i;
    char buf[64];
    size_t len = sizeof(buf);

    i = WRITE(D0, 0, "/tool/a/b/c", "hello");
    expect(D0, i, NULL);
    assert_string_equal(D0->r.body[i], "OK");
    i = REQ(D0, XS_READ, 0, "/tool/a/b/c");
    assert_int_equal(D0->r.h[i].type, XS_READ);
    assert_int_equal(D0->r.h[i].len, 5);
    assert_memory_equal(D0->r.body[i], "hello", 5);
    /* parents exist, empty */
    i = REQ(D0, XS_READ, 0, "/tool/a/b");
    assert_int_equal(D0->r.h[i].len, 0);
    /* value with an embedded NUL is kept as bytes */
    i = rawreq(D0, XS_WRITE, 0, "/tool/bin\0x\0y", 13);
    expect(D0, i, NULL);
    i = REQ(D0, XS_READ, 0, "/tool/bin");
    assert_int_equal(D0->r.h[i].len, 3);
    assert_memory_equal(D0->r.body[i], "x\0y", 3);

    expect(D0, REQ(D0, XS_MKDIR, 0, "/tool/a/d"), NULL);
    expect(D0, REQ(D0, XS_MKDIR, 0, "/tool/a/d"), NULL);         /* exists: fine */
    i = REQ(D0, XS_DIRECTORY, 0, "/tool/a");
    assert_int_equal(D0->r.h[i].len, 4);
    assert_memory_equal(D0->r.body[i], "b\0d\0", 4);

    expect(D0, REQ(D0, XS_RM, 0, "/tool/a/b"), NULL);
    expect(D0, REQ(D0, XS_READ, 0, "/tool/a/b/c"), "ENOENT");
    expect(D0, REQ(D0, XS_READ, 0, "/tool/a/b"), "ENOENT");
    expect(D0, REQ(D0, XS_RM, 0, "/tool/a/b"), NULL);            /* parent exists */
    expect(D0, REQ(D0, XS_RM, 0, "/tool/zz/b"), "ENOENT");
    expect(D0, REQ(D0, XS_RM, 0, "/"), "EINVAL");
    i = REQ(D0, XS_DIRECTORY, 0, "/tool/a");
    assert_int_equal(D0->r.h[i].len, 2);

    /* store API */
    assert_int_equal(xs_store_write(S, "/vm/x", "12", 2), 0);
    assert_int_equal(xs_store_read(S, "/vm/x", buf, &len), 0);
    assert_int_equal(len, 2);
    assert_string_equal(buf, "12");
    len = 2;
    assert_int_equal(xs_store_read(S, "/vm/x", buf, &len), -XEN_E2BIG);
    assert_int_equal(xs_store_rm(S, "/vm"), 0);
    len = sizeof(buf);
    assert_int_equal(xs_store_read(S, "/vm/x", buf, &len), -XEN_ENOENT);
    assert_int_equal(xs_store_write(S, "rel", "1", 1), -XEN_EINVAL);

    i = REQ(D0, XS_GET_DOMAIN_PATH, 0, "7");
    assert_string_equal(D0->r.body[i], "/local/domain/7");
}

static void test_perms(void **st)
{
    unsigned int i;

    expect(D1, WRITE(D1, 0, "secret", "s1"), NULL);
    /* new node is owned by its creator, inherits "n" */
    i = REQ(D1, XS_GET_PERMS, 0, "secret");
    assert_int_equal(D1->r.h[i].len, 3);
    assert_memory_equal(D1->r.body[i], "n1\0", 3);
    expect(D2, REQ(D2, XS_READ, 0, "/local/domain/1/secret"), "EACCES");
    expect(D2, WRITE(D2, 0, "/local/domain/1/secret", "x"), "EACCES");
    expect(D2, WRITE(D2, 0, "/local/domain/1/new", "x"), "EACCES");
    expect(D2, REQ(D2, XS_RM, 0, "/local/domain/1/secret"), "EACCES");
    expect(D2, REQ(D2, XS_DIRECTORY, 0, "/local/domain/1"), "EACCES");
    /* cannot even learn that something does not exist */
    expect(D2, REQ(D2, XS_READ, 0, "/local/domain/1/nothing"), "EACCES");
    expect(D2, REQ(D2, XS_READ, 0, "nothing"), "ENOENT");
    expect(D1, REQ(D1, XS_READ, 0, "secret"), NULL);
    expect(D0, REQ(D0, XS_READ, 0, "/local/domain/1/secret"), NULL);
    /* domUs cannot write outside what perms allow */
    expect(D1, WRITE(D1, 0, "/tool/x", "v"), "EACCES");
    expect(D1, REQ(D1, XS_READ, 0, "/local/domain"), NULL);      /* "r0" */

    /* set_perms: non-owner EACCES, owner ok, giving away EPERM */
    expect(D2, REQ(D2, XS_SET_PERMS, 0, "/local/domain/1/secret", "b2"), "EACCES");
    expect(D1, REQ(D1, XS_SET_PERMS, 0, "secret", "n2", "r2"), "EPERM");
    expect(D1, REQ(D1, XS_SET_PERMS, 0, "secret", "n1", "r2"), NULL);
    expect(D2, REQ(D2, XS_READ, 0, "/local/domain/1/secret"), NULL);
    expect(D2, WRITE(D2, 0, "/local/domain/1/secret", "x"), "EACCES");
    expect(D1, REQ(D1, XS_SET_PERMS, 0, "secret", "x1"), "EINVAL");
    expect(D1, REQ(D1, XS_SET_PERMS, 0, "secret", "r"), "EINVAL");
    /* write perm 'w' via entry, and dom0 may give nodes away */
    expect(D0, REQ(D0, XS_SET_PERMS, 0, "/local/domain/1/secret", "n2", "w1"), NULL);
    expect(D1, WRITE(D1, 0, "secret", "again"), NULL);
    expect(D1, REQ(D1, XS_READ, 0, "secret"), "EACCES");
    expect(D2, REQ(D2, XS_READ, 0, "/local/domain/1/secret"), NULL);
    /* XS_INTRODUCE / XS_IS_DOMAIN_INTRODUCED are dom0's */
    expect(D1, REQ(D1, XS_INTRODUCE, 0, "5", "100", "3"), "EACCES");
    expect(D1, REQ(D1, XS_IS_DOMAIN_INTRODUCED, 0, "1"), "EACCES");
}

static void test_watches(void **st)
{
    unsigned int m0, m1, m2;

    m0 = D0->r.n;
    expect(D0, REQ(D0, XS_WATCH, 0, "/tool/w", "tok"), NULL);
    /* ack then exactly one initial event */
    assert_int_equal(D0->r.h[D0->r.n - 2].type, XS_WATCH);
    assert_int_equal(events(D0, m0, "/tool/w", "tok"), 1);
    assert_int_equal(events(D0, m0, NULL, NULL), 1);
    expect(D0, REQ(D0, XS_WATCH, 0, "/tool/w", "tok"), "EEXIST");

    m0 = D0->r.n;
    expect(D0, WRITE(D0, 0, "/tool/w/a/b", "1"), NULL);           /* creates a and b */
    assert_int_equal(events(D0, m0, NULL, NULL), 1);
    assert_int_equal(events(D0, m0, "/tool/w/a/b", "tok"), 1);
    m0 = D0->r.n;
    expect(D0, WRITE(D0, 0, "/tool/w", "x"), NULL);
    expect(D0, WRITE(D0, 0, "/tool/other", "x"), NULL);
    assert_int_equal(events(D0, m0, NULL, NULL), 1);
    assert_int_equal(events(D0, m0, "/tool/w", "tok"), 1);

    /* a second watch below: each watch gets one event per change */
    expect(D0, REQ(D0, XS_WATCH, 0, "/tool/w/a/b", "t2"), NULL);
    m0 = D0->r.n;
    expect(D0, REQ(D0, XS_RM, 0, "/tool/w/a"), NULL);
    assert_int_equal(events(D0, m0, NULL, NULL), 2);
    assert_int_equal(events(D0, m0, "/tool/w/a", "tok"), 1);
    assert_int_equal(events(D0, m0, "/tool/w/a/b", "t2"), 1);

    /* unwatch stops them */
    expect(D0, REQ(D0, XS_UNWATCH, 0, "/tool/w", "tok"), NULL);
    expect(D0, REQ(D0, XS_UNWATCH, 0, "/tool/w", "tok"), "ENOENT");
    m0 = D0->r.n;
    expect(D0, WRITE(D0, 0, "/tool/w/z", "1"), NULL);
    assert_int_equal(events(D0, m0, NULL, NULL), 0);

    /* relative watches report relative paths; only readable nodes fire */
    m1 = D1->r.n;
    expect(D1, REQ(D1, XS_WATCH, 0, "data", "rel"), NULL);
    assert_int_equal(events(D1, m1, "data", "rel"), 1);
    m2 = D2->r.n;
    expect(D2, REQ(D2, XS_WATCH, 0, "/local/domain/1/data", "spy"), NULL);
    assert_int_equal(events(D2, m2, NULL, NULL), 1);              /* initial one */
    m1 = D1->r.n;
    m2 = D2->r.n;
    expect(D1, WRITE(D1, 0, "data/k", "v"), NULL);
    assert_int_equal(events(D1, m1, "data/k", "rel"), 1);
    assert_int_equal(events(D2, m2, NULL, NULL), 0);
    expect(D1, REQ(D1, XS_SET_PERMS, 0, "data/k", "n1", "r2"), NULL);
    assert_int_equal(events(D2, m2, "/local/domain/1/data/k", "spy"), 1);

    /* special watches: dom0 only */
    m0 = D0->r.n;
    m1 = D1->r.n;
    expect(D0, REQ(D0, XS_WATCH, 0, "@introduceDomain", "in"), NULL);
    expect(D0, REQ(D0, XS_WATCH, 0, "@releaseDomain", "out"), NULL);
    expect(D1, REQ(D1, XS_WATCH, 0, "@introduceDomain", "in1"), NULL);
    assert_int_equal(events(D0, m0, NULL, NULL), 2);
    m0 = D0->r.n;
    m1 = D1->r.n;
    expect(D0, REQ(D0, XS_INTRODUCE, 0, "9", "1234", "5"), NULL);
    assert_int_equal(events(D0, m0, "@introduceDomain", "in"), 1);
    assert_int_equal(events(D0, m0, "@releaseDomain", NULL), 0);
    assert_int_equal(events(D1, m1, NULL, NULL), 0);
    m0 = D0->r.n;
    expect(D0, REQ(D0, XS_RELEASE, 0, "9"), NULL);
    assert_int_equal(events(D0, m0, "@releaseDomain", "out"), 1);
    assert_int_equal(events(D0, m0, "@introduceDomain", NULL), 0);
    expect(D0, REQ(D0, XS_RELEASE, 0, "9"), "ENOENT");
}

static void test_introduce_release(void **st)
{
    struct client *d7;
    unsigned int i;

    i = REQ(D0, XS_IS_DOMAIN_INTRODUCED, 0, "7");
    assert_string_equal(D0->r.body[i], "F");
    expect(D0, REQ(D0, XS_READ, 0, "/local/domain/7"), "ENOENT");
    assert_int_equal(xs_introduce_domain(S, 7), 0);
    assert_int_equal(xs_introduce_domain(S, 7), 0);
    i = REQ(D0, XS_IS_DOMAIN_INTRODUCED, 0, "7");
    assert_string_equal(D0->r.body[i], "T");
    i = REQ(D0, XS_GET_PERMS, 0, "/local/domain/7");
    assert_memory_equal(D0->r.body[i], "n7\0", 3);
    d7 = client_new(S, 7);
    expect(d7, WRITE(d7, 0, "control/shutdown", ""), NULL);
    expect(D1, REQ(D1, XS_READ, 0, "/local/domain/7"), "EACCES");
    assert_int_equal(xs_domain_nodes(S, 7), 3);
    /* dom0 writing below it creates nodes d7 owns (inherited) */
    assert_int_equal(xs_store_write(S, "/local/domain/7/name", "seven", 5), 0);
    expect(d7, REQ(d7, XS_READ, 0, "name"), NULL);
    assert_int_equal(xs_release_domain(S, 7), 0);
    expect(D0, REQ(D0, XS_READ, 0, "/local/domain/7"), "ENOENT");
    assert_int_equal(xs_domain_nodes(S, 7), 0);
    assert_int_equal(xs_release_domain(S, 7), -XEN_ENOENT);
    assert_int_equal(xs_introduce_domain(S, 0), -XEN_EINVAL);
    assert_int_equal(xs_introduce_domain(S, DOMID_FIRST_RESERVED), -XEN_EINVAL);
    client_free(d7);
}

static uint32_t tx_begin(struct client *cl)
{
    unsigned int i = REQ(cl, XS_TRANSACTION_START, 0, "");
    uint32_t id;
    expect(cl, i, NULL);
    assert_true(xs_parse_uint(cl->r.body[i], &id));
    assert_int_not_equal(id, 0);
    return id;
}

static void test_transactions(void **st)
{
    uint32_t t1, t2;
    unsigned int i, m0;

    expect(D0, WRITE(D0, 0, "/tx/a", "0"), NULL);
    expect(D0, WRITE(D0, 0, "/tx/b", "0"), NULL);
    expect(D0, REQ(D0, XS_WATCH, 0, "/tx", "txw"), NULL);

    /* commit: invisible before, visible after; watches fire at commit */
    t1 = tx_begin(D1 == NULL ? D0 : D0);
    m0 = D0->r.n;
    expect(D0, WRITE(D0, t1, "/tx/a", "1"), NULL);
    expect(D0, WRITE(D0, t1, "/tx/new/x", "n"), NULL);
    i = REQ(D0, XS_READ, t1, "/tx/a");
    assert_string_equal(D0->r.body[i], "1");
    i = REQ(D0, XS_READ, 0, "/tx/a");
    assert_string_equal(D0->r.body[i], "0");
    expect(D0, REQ(D0, XS_READ, 0, "/tx/new/x"), "ENOENT");
    assert_int_equal(events(D0, m0, NULL, NULL), 0);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "T"), NULL);
    i = REQ(D0, XS_READ, 0, "/tx/a");
    assert_string_equal(D0->r.body[i], "1");
    i = REQ(D0, XS_READ, 0, "/tx/new/x");
    assert_string_equal(D0->r.body[i], "n");
    assert_int_equal(events(D0, m0, "/tx/a", "txw"), 1);
    assert_int_equal(events(D0, m0, "/tx/new/x", "txw"), 1);
    assert_int_equal(events(D0, m0, NULL, NULL), 2);
    expect(D0, REQ(D0, XS_READ, t1, "/tx/a"), "ENOENT");          /* tx gone */

    /* abort: nothing happens */
    t1 = tx_begin(D0);
    m0 = D0->r.n;
    expect(D0, WRITE(D0, t1, "/tx/a", "2"), NULL);
    expect(D0, REQ(D0, XS_RM, t1, "/tx/b"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "F"), NULL);
    i = REQ(D0, XS_READ, 0, "/tx/a");
    assert_string_equal(D0->r.body[i], "1");
    expect(D0, REQ(D0, XS_READ, 0, "/tx/b"), NULL);
    assert_int_equal(events(D0, m0, NULL, NULL), 0);

    /* conflict: a node the tx read changed meanwhile */
    t1 = tx_begin(D0);
    expect(D0, REQ(D0, XS_READ, t1, "/tx/a"), NULL);
    expect(D0, WRITE(D0, t1, "/tx/b", "tx"), NULL);
    expect(D0, WRITE(D0, 0, "/tx/a", "outside"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "T"), "EAGAIN");
    i = REQ(D0, XS_READ, 0, "/tx/b");
    assert_string_equal(D0->r.body[i], "0");

    /* two transactions on different nodes both commit */
    t1 = tx_begin(D0);
    t2 = tx_begin(D0);
    assert_int_not_equal(t1, t2);
    expect(D0, WRITE(D0, t1, "/tx/a", "A"), NULL);
    expect(D0, WRITE(D0, t2, "/tx/b", "B"), NULL);
    expect(D0, WRITE(D0, 0, "/tx/unrelated", "u"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "T"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t2, "T"), NULL);
    i = REQ(D0, XS_READ, 0, "/tx/a");
    assert_string_equal(D0->r.body[i], "A");
    i = REQ(D0, XS_READ, 0, "/tx/b");
    assert_string_equal(D0->r.body[i], "B");

    /* two transactions writing the same node: the second gets EAGAIN */
    t1 = tx_begin(D0);
    t2 = tx_begin(D0);
    expect(D0, WRITE(D0, t1, "/tx/a", "1"), NULL);
    expect(D0, WRITE(D0, t2, "/tx/a", "2"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t2, "T"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "T"), "EAGAIN");
    i = REQ(D0, XS_READ, 0, "/tx/a");
    assert_string_equal(D0->r.body[i], "2");

    /* rm in a transaction, committed, fires once per watch */
    t1 = tx_begin(D0);
    m0 = D0->r.n;
    expect(D0, REQ(D0, XS_RM, t1, "/tx/new"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "T"), NULL);
    expect(D0, REQ(D0, XS_READ, 0, "/tx/new/x"), "ENOENT");
    assert_int_equal(events(D0, m0, NULL, NULL), 1);
    assert_int_equal(events(D0, m0, "/tx/new", "txw"), 1);

    /* bad ends and ids */
    t1 = tx_begin(D0);
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "X"), "EINVAL");
    expect(D0, REQ(D0, XS_TRANSACTION_START, t1, ""), "EBUSY");
    expect(D0, REQ(D0, XS_TRANSACTION_END, t1, "F"), NULL);
    expect(D0, REQ(D0, XS_TRANSACTION_END, 12345, "T"), "ENOENT");
    expect(D0, REQ(D0, XS_READ, 12345, "/tx/a"), "ENOENT");
    /* a domU's transaction sees permissions too */
    expect(D2, WRITE(D2, 0, "mine", "m"), NULL);
    t1 = tx_begin(D2);
    expect(D2, REQ(D2, XS_READ, t1, "mine"), NULL);
    expect(D2, REQ(D2, XS_READ, t1, "/tx/a"), "EACCES");
    expect(D2, REQ(D2, XS_TRANSACTION_END, t1, "T"), NULL);
}

static void test_malformed(void **st)
{
    struct xsd_sockmsg h = { .type = XS_READ, .req_id = 5, .len = XENSTORE_PAYLOAD_MAX + 1 };
    unsigned int n = D1->r.n;

    /* oversized: E2BIG and the connection is to be dropped */
    assert_true(xs_conn_input(D1->c, &h, NULL) < 0);
    assert_int_equal(D1->r.n, n + 1);
    assert_int_equal(D1->r.h[n].type, XS_ERROR);
    assert_string_equal(D1->r.body[n], "E2BIG");
    expect(D1, rawreq(D1, 999, 0, "x", 2), "EINVAL");
    expect(D1, rawreq(D1, XS_WATCH_EVENT, 0, "x\0y", 4), "EINVAL");
    expect(D1, rawreq(D1, XS_ERROR, 0, "", 0), "EINVAL");
    expect(D1, rawreq(D1, XS_READ, 0, "data", 4), "EINVAL");     /* no NUL */
    expect(D1, rawreq(D1, XS_READ, 0, "", 0), "EINVAL");
    expect(D1, rawreq(D1, XS_READ, 0, "a\0b", 4), "EINVAL");     /* two args */
    expect(D1, rawreq(D1, XS_WRITE, 0, "data", 4), "EINVAL");    /* no NUL at all */
    expect(D1, rawreq(D1, XS_WATCH, 0, "data\0", 5), "EINVAL");  /* no token */
    expect(D1, rawreq(D1, XS_WATCH, 0, "data\0tok", 8), "EINVAL");
    expect(D1, rawreq(D1, XS_SET_PERMS, 0, "data\0", 5), "EINVAL");
    expect(D1, rawreq(D1, XS_GET_DOMAIN_PATH, 0, "x1\0", 3), "EINVAL");
    expect(D1, rawreq(D1, XS_GET_DOMAIN_PATH, 0, "99999999999\0", 12), "EINVAL");
    expect(D1, rawreq(D1, XS_TRANSACTION_END, 0, "T\0", 2), "ENOENT");
    expect(D1, rawreq(D1, XS_DIRECTORY_PART, 0, "data\0", 5), "ENOSYS");
    expect(D0, rawreq(D0, XS_INTRODUCE, 0, "1\0", 2), "EINVAL");
    /* every message got exactly one reply, with its req_id */
    assert_string_equal(reply_err_of(D1, D1->r.n - 1), "ENOSYS");
}

static void test_quota(void **st)
{
    struct xs_quota q = { .max_nodes = 5, .max_value = 10, .max_watches = 2,
                          .max_transactions = 1 };
    struct xs_store *s = xs_store_new(&q);
    struct client *a, *b, *z;
    char big[64];
    uint32_t t;
    unsigned int i;

    assert_int_equal(xs_introduce_domain(s, 3), 0);
    assert_int_equal(xs_introduce_domain(s, 4), 0);
    a = client_new(s, 3);
    b = client_new(s, 4);
    z = client_new(s, 0);
    assert_int_equal(xs_domain_nodes(s, 3), 1);                   /* /local/domain/3 */
    expect(a, WRITE(a, 0, "n1", "x"), NULL);
    expect(a, WRITE(a, 0, "n2/n3", "x"), NULL);
    assert_int_equal(xs_domain_nodes(s, 3), 4);
    expect(a, WRITE(a, 0, "n4/n5", "x"), "EQUOTA");               /* 4 + 2 > 5 */
    expect(a, REQ(a, XS_READ, 0, "n4"), "ENOENT");                /* nothing half-made */
    expect(a, WRITE(a, 0, "n4", "x"), NULL);
    expect(a, WRITE(a, 0, "n6", "x"), "EQUOTA");
    expect(a, WRITE(a, 0, "n1", "overwrite"), NULL);              /* not a new node */
    /* another domain has its own count */
    expect(b, WRITE(b, 0, "m1", "x"), NULL);
    /* freeing nodes gives quota back */
    expect(a, REQ(a, XS_RM, 0, "n2"), NULL);
    assert_int_equal(xs_domain_nodes(s, 3), 3);
    expect(a, WRITE(a, 0, "n6", "x"), NULL);
    /* bytes per value */
    memset(big, 'v', sizeof(big));
    big[11] = '\0';
    expect(a, WRITE(a, 0, "n1", big), "EQUOTA");
    big[10] = '\0';
    expect(a, WRITE(a, 0, "n1", big), NULL);
    /* dom0 is exempt */
    for (i = 0; i < 10; i++) {
        char p[32];
        snprintf(p, sizeof(p), "/tool/q%u", i);
        expect(z, WRITE(z, 0, p, "0123456789abcdef"), NULL);
    }
    /* watches and transactions */
    expect(a, REQ(a, XS_WATCH, 0, "n1", "1"), NULL);
    expect(a, REQ(a, XS_WATCH, 0, "n1", "2"), NULL);
    expect(a, REQ(a, XS_WATCH, 0, "n1", "3"), "EQUOTA");
    t = tx_begin(a);
    expect(a, REQ(a, XS_TRANSACTION_START, 0, ""), "EQUOTA");
    /* node quota inside a transaction counts the transaction's nodes */
    expect(a, WRITE(a, t, "n7", "x"), NULL);                      /* 5 of 5 */
    expect(a, WRITE(a, t, "n8", "x"), "EQUOTA");
    expect(a, REQ(a, XS_RM, t, "n6"), NULL);
    expect(a, WRITE(a, t, "n8", "x"), NULL);
    expect(a, REQ(a, XS_TRANSACTION_END, t, "T"), NULL);
    assert_int_equal(xs_domain_nodes(s, 3), 5);
    client_free(a);
    client_free(b);
    client_free(z);
    xs_store_free(s);
}

/* ---- ring transport ------------------------------------------------------------ */

static void ring_put(struct xenstore_domain_interface *in, const void *data, uint32_t len)
{
    uint32_t i;
    assert_true(in->req_prod - in->req_cons + len <= XENSTORE_RING_SIZE);
    for (i = 0; i < len; i++)
        in->req[MASK_XENSTORE_IDX(in->req_prod + i)] = ((const char *)data)[i];
    in->req_prod += len;
}

static void ring_put_msg(struct xenstore_domain_interface *in, uint32_t type, uint32_t id,
                         const void *body, uint32_t len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = id, .len = len };
    ring_put(in, &h, sizeof(h));
    ring_put(in, body, len);
}

/* Takes one whole response off rsp, if one is there. */
static bool ring_get_msg(struct xenstore_domain_interface *in, struct xsd_sockmsg *h, char *body)
{
    uint32_t i, avail = in->rsp_prod - in->rsp_cons;
    if (avail < sizeof(*h))
        return false;
    for (i = 0; i < sizeof(*h); i++)
        ((char *)h)[i] = in->rsp[MASK_XENSTORE_IDX(in->rsp_cons + i)];
    if (avail < sizeof(*h) + h->len)
        return false;
    for (i = 0; i < h->len; i++)
        body[i] = in->rsp[MASK_XENSTORE_IDX(in->rsp_cons + sizeof(*h) + i)];
    body[h->len] = '\0';
    in->rsp_cons += sizeof(*h) + h->len;
    return true;
}

static void test_ring(void **st)
{
    struct xenstore_domain_interface *in = calloc(1, sizeof(*in));
    struct xs_conn *c = xs_conn_new(S, 2, NULL, NULL);
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1], val[900];
    unsigned int i, got;

    /* start near the wrap so that requests and replies straddle it */
    in->req_cons = in->req_prod = in->rsp_cons = in->rsp_prod = 0xfffffc00u + 1000;
    memset(val, 'q', sizeof(val));
    memcpy(val, "ring/x\0", 7);
    ring_put_msg(in, XS_WRITE, 1, val, sizeof(val));
    /* a request split across two calls: half a header first */
    ring_put(in, "\x02\0\0", 3);
    assert_int_equal(xs_ring_service(c, in), 1);
    assert_int_equal(in->req_cons, in->req_prod);
    assert_true(ring_get_msg(in, &h, body));
    assert_int_equal(h.type, XS_WRITE);
    assert_int_equal(h.req_id, 1);
    assert_string_equal(body, "OK");
    {
        struct xsd_sockmsg r = { .type = XS_READ, .req_id = 2, .len = 7 };
        ring_put(in, (char *)&r + 3, sizeof(r) - 3);
        assert_int_equal(xs_ring_service(c, in), 1);
        assert_false(ring_get_msg(in, &h, body));       /* body still missing */
        ring_put(in, "ring/x", 7);
        assert_int_equal(xs_ring_service(c, in), 1);
    }
    /* the 900+16 byte reply crosses the ring's end */
    assert_true(ring_get_msg(in, &h, body));
    assert_int_equal(h.type, XS_READ);
    assert_int_equal(h.req_id, 2);
    assert_int_equal(h.len, sizeof(val) - 7);
    assert_memory_equal(body, val + 7, sizeof(val) - 7);
    assert_int_equal(xs_ring_service(c, in), 0);         /* nothing to do */

    /* a guest that never reads: replies queue up to the bound, then its
     * requests stay on the ring */
    for (i = 0; i < 200; i++) {
        while (in->req_prod - in->req_cons + 16 + 7 <= XENSTORE_RING_SIZE)
            ring_put_msg(in, XS_READ, 100 + i, "ring/x", 7);
        (void)xs_ring_service(c, in);
        if (in->req_prod != in->req_cons && xs_conn_queued(c) >= S->q.max_output)
            break;
    }
    assert_true(xs_conn_queued(c) >= S->q.max_output);
    assert_true(xs_conn_queued(c) <= S->q.max_output + 2 * XENSTORE_PAYLOAD_MAX);
    {
        XENSTORE_RING_IDX cons = in->req_cons;
        assert_int_not_equal(in->req_prod, cons);
        (void)xs_ring_service(c, in);
        assert_int_equal(in->req_cons, cons);
    }
    /* bounded work: one call handles at most XS_RING_BATCH requests */
    xs_conn_free(c);
    c = xs_conn_new(S, 2, NULL, NULL);
    memset(in, 0, sizeof(*in));
    for (i = 0; i < 40; i++)
        ring_put_msg(in, XS_GET_DOMAIN_PATH, i, "2", 2);
    (void)xs_ring_service(c, in);
    for (got = 0; ring_get_msg(in, &h, body); got++)
        ;
    assert_int_equal(got, XS_RING_BATCH);
    assert_int_equal(in->req_prod - in->req_cons, (40 - XS_RING_BATCH) * 18);
    assert_false(xs_conn_broken(c));

    /* garbage then a huge length: E2BIG, ring marked broken, ignored after */
    xs_conn_free(c);
    c = xs_conn_new(S, 2, NULL, NULL);
    memset(in, 0, sizeof(*in));
    ring_put_msg(in, 0xdeadbeef, 9, "zz", 2);
    {
        struct xsd_sockmsg r = { .type = XS_READ, .req_id = 10, .len = 0x7fffffff };
        ring_put(in, &r, sizeof(r));
        ring_put(in, "garbage", 7);
    }
    assert_int_equal(xs_ring_service(c, in), 1);
    assert_true(ring_get_msg(in, &h, body));
    assert_int_equal(h.type, XS_ERROR);
    assert_int_equal(h.req_id, 9);
    assert_string_equal(body, "EINVAL");
    assert_true(ring_get_msg(in, &h, body));
    assert_int_equal(h.type, XS_ERROR);
    assert_int_equal(h.req_id, 10);
    assert_string_equal(body, "E2BIG");
    assert_true(xs_conn_broken(c));
    assert_int_equal(in->error, XENSTORE_ERROR_PROTO);
    assert_int_equal(xs_ring_service(c, in), 0);

    /* bogus indexes */
    xs_conn_free(c);
    c = xs_conn_new(S, 2, NULL, NULL);
    memset(in, 0, sizeof(*in));
    in->req_prod = 5000;
    assert_int_equal(xs_ring_service(c, in), 0);
    assert_true(xs_conn_broken(c));
    assert_int_equal(in->error, XENSTORE_ERROR_RINGIDX);

    /* watch events are dropped, not queued without bound */
    xs_conn_free(c);
    c = xs_conn_new(S, 0, NULL, NULL);
    memset(in, 0, sizeof(*in));
    ring_put_msg(in, XS_WATCH, 1, "/flood\0t\0", 9);
    assert_int_equal(xs_ring_service(c, in), 1);
    for (i = 0; i < 20000; i++)
        assert_int_equal(xs_store_write(S, "/flood/x", "1", 1), 0);
    assert_true(xs_conn_queued(c) <= S->q.max_output);
    xs_conn_free(c);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introduce_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
