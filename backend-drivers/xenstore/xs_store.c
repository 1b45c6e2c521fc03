/*
 * xs_store.c - xenstored's stores, connections and domains, and dom0's
 * direct store API (xenstored.h).
 *
 * Runs in dom0 (freestanding) and on the host (unit tests).
 */
#include "xs_priv.h"

/* ---- connections, store, domains ------------------------------------------------ */

struct xs_conn *xs_conn_new(struct xs_store *s, unsigned int domid,
                            void (*send)(void *opaque, const struct xsd_sockmsg *hdr,
                                         const void *body),
                            void *opaque)
{
    struct xs_conn *c = xs_malloc(sizeof(*c));
    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->domid = domid;
    c->send = send;
    c->opaque = opaque;
    c->next = s->conns;
    s->conns = c;
    return c;
}

void xs_conn_free(struct xs_conn *c)
{
    struct xs_conn **pp;

    if (!c)
        return;
    for (pp = &c->s->conns; *pp && *pp != c; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = c->next;
    while (c->watches) {
        struct xs_watch *w = c->watches;
        c->watches = w->next;
        xs_free(w->path);
        xs_free(w->token);
        xs_free(w);
    }
    while (c->txs) {
        struct xs_tx *t = c->txs;
        c->txs = t->next;
        xs_tx_free(t);
    }
    while (c->out_head) {
        struct xs_outmsg *m = c->out_head;
        c->out_head = m->next;
        xs_free(m);
    }
    xs_free(c->in_body);
    xs_free(c);
}

struct xs_store *xs_store_new(const struct xs_quota *q)
{
    static const struct xs_perm none0 = { 0, 'n' }, read0 = { 0, 'r' };
    struct xs_store *s = xs_malloc(sizeof(*s));
    struct xs_view v;

    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    if (q)
        s->q = *q;
    if (!s->q.max_nodes)
        s->q.max_nodes = 1000;
    if (!s->q.max_value)
        s->q.max_value = 2048;
    if (!s->q.max_watches)
        s->q.max_watches = 128;
    if (!s->q.max_transactions)
        s->q.max_transactions = 10;
    if (!s->q.max_output)
        s->q.max_output = 65536;
    s->root = xs_node_alloc("", 0, &none0, 1);
    v = (struct xs_view){ .s = s, .domid = 0 };
    if (!s->root || !xs_view_create(&v, "/local/domain", s->root, 1, &read0, 1, &read0, 1, "", 0)) {
        xs_store_free(s);
        return NULL;
    }
    s->root->gen = ++s->gen;
    return s;
}

void xs_store_free(struct xs_store *s)
{
    if (!s)
        return;
    while (s->conns)
        xs_conn_free(s->conns);
    while (s->acct) {
        struct xs_acct *a = s->acct;
        s->acct = a->next;
        xs_free(a);
    }
    xs_node_free_tree(s->root);
    xs_free(s);
}

void xs_store_set_introduce_hook(struct xs_store *s,
                                 int (*hook)(void *opaque, unsigned int domid, bool release,
                                             uint64_t mfn, uint32_t port),
                                 void *opaque)
{
    s->hook = hook;
    s->hook_opaque = opaque;
}

static unsigned int domain_path(char *buf, unsigned int domid)
{
    unsigned int l;
    memcpy(buf, "/local/domain/", 14);
    l = 14 + xs_utoa(buf + 14, domid);
    buf[l] = '\0';
    return l;
}

int xs_introduce_domain(struct xs_store *s, unsigned int domid)
{
    struct xs_view v = { .s = s, .domid = 0 };
    struct xs_perm own = { domid, 'n' };
    struct xs_acct *a;
    struct xs_node *n;
    size_t consumed;
    char path[32];

    if (domid == 0 || domid >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    a = xs_acct_get(s, domid, true);
    if (!a)
        return -XEN_ENOMEM;
    domain_path(path, domid);
    n = xs_node_closest(s->root, path, &consumed);
    if (path[consumed] != '\0') {
        n = xs_view_create(&v, path, n, consumed, NULL, 0, &own, 1, "", 0);
        if (!n)
            return -XEN_ENOMEM;
        xs_fire_watches(s, path, n->perms, n->nperms, false);
    }
    if (!a->introduced) {
        a->introduced = true;
        xs_fire_watches(s, "@introduceDomain", NULL, 0, false);
    }
    return 0;
}

int xs_release_domain(struct xs_store *s, unsigned int domid)
{
    struct xs_view v = { .s = s, .domid = 0 };
    struct xs_acct *a = xs_acct_get(s, domid, false);
    struct xs_node *n;
    char path[32];
    int rc;

    if (domid == 0)
        return -XEN_EINVAL;
    if (!a || !a->introduced)
        return -XEN_ENOENT;
    domain_path(path, domid);
    n = xs_node_find(s->root, path);
    if (n) {
        rc = xs_view_remove(&v, n, path, XS_FIRE_TREE);
        if (rc)
            return rc;
    }
    a->introduced = false;
    xs_fire_watches(s, "@releaseDomain", NULL, 0, false);
    return 0;
}

bool xs_domain_introduced(struct xs_store *s, unsigned int domid)
{
    struct xs_acct *a;
    if (domid == 0)
        return true;
    a = xs_acct_get(s, domid, false);
    return a && a->introduced;
}

unsigned int xs_domain_nodes(struct xs_store *s, unsigned int domid)
{
    struct xs_acct *a = xs_acct_get(s, domid, false);
    return a ? a->nodes : 0;
}

/* ---- dom0's direct API ------------------------------------------------------------- */

static int store_path(const char *in, char *out)
{
    if (!in || in[0] != '/')
        return -XEN_EINVAL;
    return xs_canonicalize(0, in, false, out);
}

int xs_store_write(struct xs_store *s, const char *path, const void *val, size_t len)
{
    struct xs_view v = { .s = s, .domid = 0 };
    char p[XENSTORE_ABS_PATH_MAX + 1];
    int rc = store_path(path, p);
    if (rc)
        return rc;
    if (len > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;
    return xs_op_write(&v, p, val, len, false);
}

int xs_store_read(struct xs_store *s, const char *path, char *buf, size_t *len)
{
    struct xs_view v = { .s = s, .domid = 0 };
    char p[XENSTORE_ABS_PATH_MAX + 1];
    struct xs_node *n;
    int rc = store_path(path, p);

    if (!rc)
        rc = xs_op_get(&v, p, &n);
    if (rc)
        return rc;
    if (*len < (size_t)n->len + 1) {
        *len = n->len;
        return -XEN_E2BIG;
    }
    memcpy(buf, n->val, n->len);
    buf[n->len] = '\0';
    *len = n->len;
    return 0;
}

int xs_store_rm(struct xs_store *s, const char *path)
{
    struct xs_view v = { .s = s, .domid = 0 };
    char p[XENSTORE_ABS_PATH_MAX + 1];
    int rc = store_path(path, p);
    return rc ? rc : xs_op_rm(&v, p);
}

int xs_store_set_perms(struct xs_store *s, const char *path, const char *perms, size_t len)
{
    struct xs_view v = { .s = s, .domid = 0 };
    char p[XENSTORE_ABS_PATH_MAX + 1];
    struct xs_perm *pp;
    uint32_t np;
    int rc = store_path(path, p);

    if (rc)
        return rc;
    rc = xs_perms_parse(perms, len, &pp, &np);
    if (rc)
        return rc;
    rc = xs_op_set_perms(&v, p, pp, np);
    xs_free(pp);
    return rc;
}
