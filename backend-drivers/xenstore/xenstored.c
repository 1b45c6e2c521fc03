/*
 * xenstored.c - Lamina's xenstore daemon core: requests of Xen's
 * io/xs_wire.h protocol, watches, transactions, quotas, and the dom0
 * store API.  Semantics follow Xen's C xenstored (paths, permission
 * inheritance, watch matching, per-node transaction conflicts).
 *
 * Runs in dom0 (freestanding, in the PV guest kernel) and on the host
 * (unit tests).  Not reentrant.
 */
#include "xs_priv.h"

#define XS_HDR_SIZE ((uint32_t)sizeof(struct xsd_sockmsg))

static const struct { int err; const char *name; } xs_errs[] = {
    { -XEN_EINVAL, "EINVAL" },   { -XEN_EACCES, "EACCES" }, { -XEN_EEXIST, "EEXIST" },
    { -XEN_EISDIR, "EISDIR" },   { -XEN_ENOENT, "ENOENT" }, { -XEN_ENOMEM, "ENOMEM" },
    { -XEN_ENOSPC, "ENOSPC" },   { -XEN_EIO, "EIO" },       { -XEN_ENOTEMPTY, "ENOTEMPTY" },
    { -XEN_ENOSYS, "ENOSYS" },   { -XEN_EROFS, "EROFS" },   { -XEN_EBUSY, "EBUSY" },
    { -XEN_EAGAIN, "EAGAIN" },   { -XEN_EISCONN, "EISCONN" }, { -XEN_E2BIG, "E2BIG" },
    { -XEN_EPERM, "EPERM" },     { XS_EQUOTA, "EQUOTA" },
};

const char *xs_errname(int err)
{
    size_t i;
    for (i = 0; i < sizeof(xs_errs) / sizeof(xs_errs[0]); i++)
        if (xs_errs[i].err == err)
            return xs_errs[i].name;
    return "EINVAL";
}

/* ---- output ---------------------------------------------------------------- */

void xs_emit(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
             const void *body, uint32_t len)
{
    struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id, .len = len };
    struct xs_outmsg *m;

    if (c->send) {
        c->send(c->opaque, &hdr, body);
        return;
    }
    /* Watch events are dropped rather than queued without bound. */
    if (type == XS_WATCH_EVENT && c->out_bytes + XS_HDR_SIZE + len > c->s->q.max_output)
        return;
    m = xs_malloc(sizeof(*m) + XS_HDR_SIZE + len);
    if (!m)
        return;
    m->next = NULL;
    m->len = XS_HDR_SIZE + len;
    memcpy(m->data, &hdr, XS_HDR_SIZE);
    if (len)
        memcpy(m->data + XS_HDR_SIZE, body, len);
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += m->len;
}

static void reply_err(struct xs_conn *c, const struct xsd_sockmsg *h, int err)
{
    const char *n = xs_errname(err);
    xs_emit(c, XS_ERROR, h->req_id, h->tx_id, n, (uint32_t)strlen(n) + 1);
}

static void reply(struct xs_conn *c, const struct xsd_sockmsg *h, const void *body, size_t len)
{
    if (len > XENSTORE_PAYLOAD_MAX)
        reply_err(c, h, -XEN_E2BIG);
    else
        xs_emit(c, h->type, h->req_id, h->tx_id, body, (uint32_t)len);
}

static void reply_ok(struct xs_conn *c, const struct xsd_sockmsg *h)
{
    reply(c, h, "OK", 3);
}

/* ---- watches --------------------------------------------------------------- */

static void watch_send(struct xs_conn *c, const struct xs_watch *w, const char *path)
{
    char pfx[32];
    size_t pl = 0, plen, tlen;
    char *buf;

    if (w->relative) {
        memcpy(pfx, "/local/domain/", 14);
        pl = 14 + xs_utoa(pfx + 14, c->domid);
        pfx[pl++] = '/';
        if (strlen(path) > pl && strncmp(path, pfx, pl) == 0)
            path += pl;
    }
    plen = strlen(path);
    tlen = strlen(w->token);
    buf = xs_malloc(plen + tlen + 2);
    if (!buf)
        return;
    memcpy(buf, path, plen + 1);
    memcpy(buf + plen + 1, w->token, tlen + 1);
    xs_emit(c, XS_WATCH_EVENT, 0, 0, buf, (uint32_t)(plen + tlen + 2));
    xs_free(buf);
}

/* (contract in xs_priv.h) Fires watches on path,
 * for connections whose domain may read a node with these permissions;
 * special @paths only for dom0.  One event per matching watch. */
void xs_fire_watches(struct xs_store *s, const char *path, const struct xs_perm *p,
                         uint32_t np, bool exact)
{
    struct xs_conn *c;
    struct xs_watch *w;

    for (c = s->conns; c; c = c->next) {
        if (path[0] == '@') {
            if (c->domid != 0)
                continue;
        } else if (!(xs_perm_for(c->domid, p, np) & XS_PERM_READ)) {
            continue;
        }
        for (w = c->watches; w; w = w->next)
            if (exact ? xs_streq(w->path, path) : xs_path_under(path, w->path))
                watch_send(c, w, path);
    }
}

/* ---- views: the committed tree or a transaction's copy ----------------------- */

static struct xs_node *view_root(const struct xs_view *v)
{
    return v->tx ? v->tx->root : v->s->root;
}

/* Records that the transaction of v touched path[0..plen) whose node is n
 * (NULL: absent), before any change to it.  No-op outside a transaction. */
static int tx_touch(struct xs_view *v, const char *path, size_t plen, const struct xs_node *n,
                    bool modified, enum xs_fire fire)
{
    struct xs_txlog *e;

    if (!v->tx)
        return 0;
    for (e = v->tx->log; e; e = e->next)
        if (strlen(e->path) == plen && strncmp(e->path, path, plen) == 0)
            break;
    if (!e) {
        e = xs_malloc(sizeof(*e));
        if (!e)
            return -XEN_ENOMEM;
        memset(e, 0, sizeof(*e));
        e->path = xs_memdup(path, plen);
        if (!e->path) {
            xs_free(e);
            return -XEN_ENOMEM;
        }
        e->gen = n ? n->gen : 0;
        if (v->tx->log_tail)
            v->tx->log_tail->next = e;
        else
            v->tx->log = e;
        v->tx->log_tail = e;
    }
    if (modified)
        e->modified = true;
    if (fire > e->fire)
        e->fire = fire;
    return 0;
}

static unsigned int view_nodes(const struct xs_view *v, unsigned int owner)
{
    struct xs_acct *a = xs_acct_get(v->s, owner, false);
    int n = a ? (int)a->nodes : 0;
    if (v->tx && owner == v->domid)
        n += v->tx->nodes_delta;
    return n < 0 ? 0 : (unsigned int)n;
}

static void view_acct(struct xs_view *v, unsigned int owner, int d)
{
    if (v->tx) {
        if (owner == v->domid)
            v->tx->nodes_delta += d;
    } else {
        xs_acct_adj(v->s, owner, d);
    }
}

static unsigned int perm_of(const struct xs_view *v, const struct xs_node *n)
{
    return xs_perm_for(v->domid, n->perms, n->nperms);
}

/* Error for a missing node: EACCES when its closest ancestor does not
 * grant `perm` (a domain may not learn what it cannot see), else ENOENT. */
static int missing_err(const struct xs_view *v, const struct xs_node *anc, unsigned int perm)
{
    return (perm_of(v, anc) & perm) ? -XEN_ENOENT : -XEN_EACCES;
}

/* Creates the missing nodes of path below anc (which stands for
 * path[0..consumed)): intermediate ones with iperms (NULL: their parent's),
 * the last with fperms and the value.  NULL: out of memory (the nodes made
 * so far stay). */
struct xs_node *xs_view_create(struct xs_view *v, const char *path, struct xs_node *anc,
                                   size_t consumed, const struct xs_perm *iperms, uint32_t nip,
                                   const struct xs_perm *fperms, uint32_t nfp,
                                   const void *val, size_t len)
{
    struct xs_node *parent = anc, *k, **tail;
    uint64_t g = v->tx ? 0 : ++v->s->gen;
    size_t pos = consumed;
    char *vcopy = xs_memdup(val, len);

    if (!vcopy || tx_touch(v, path, consumed, anc, true, XS_FIRE_NONE)) {
        xs_free(vcopy);
        return NULL;
    }
    if (!v->tx)
        anc->gen = g;
    while (path[pos]) {
        size_t start = path[pos] == '/' ? pos + 1 : pos, end = start;
        bool last;
        while (path[end] && path[end] != '/')
            end++;
        last = path[end] == '\0';
        if (last)
            k = xs_node_alloc(path + start, end - start, fperms, nfp);
        else if (iperms)
            k = xs_node_alloc(path + start, end - start, iperms, nip);
        else
            k = xs_node_alloc(path + start, end - start, parent->perms, parent->nperms);
        if (!k || tx_touch(v, path, end, NULL, true, last ? XS_FIRE_TREE : XS_FIRE_NONE)) {
            xs_node_free_tree(k);
            xs_free(vcopy);
            return NULL;
        }
        for (tail = &parent->children; *tail; tail = &(*tail)->next)
            ;
        *tail = k;
        k->parent = parent;
        k->gen = g;
        view_acct(v, k->perms[0].id, +1);
        parent = k;
        pos = end;
    }
    xs_free(parent->val);
    parent->val = vcopy;
    parent->len = (uint32_t)len;
    return parent;
}

/* Removes n's subtree from the view: touches (transaction) or fires
 * watches (committed tree: n on path and ancestors' watches per `fire`,
 * each descendant exactly), accounts, unlinks and frees. */
static int remove_walk(struct xs_view *v, struct xs_node *n, char *buf, size_t len,
                       enum xs_fire fire)
{
    struct xs_node *k;
    int rc;

    if (v->tx) {
        rc = tx_touch(v, buf, len, n, true, fire);
        if (rc)
            return rc;
    } else if (fire != XS_FIRE_NONE) {
        xs_fire_watches(v->s, buf, n->perms, n->nperms, fire == XS_FIRE_EXACT);
    }
    view_acct(v, n->perms[0].id, -1);
    for (k = n->children; k; k = k->next) {
        size_t kl = strlen(k->name);
        if (len + 1 + kl > XENSTORE_ABS_PATH_MAX)
            continue;
        buf[len] = '/';
        memcpy(buf + len + 1, k->name, kl + 1);
        rc = remove_walk(v, k, buf, len + 1 + kl, XS_FIRE_EXACT);
        buf[len] = '\0';
        if (rc)
            return rc;
    }
    return 0;
}

int xs_view_remove(struct xs_view *v, struct xs_node *n, const char *path, enum xs_fire fire)
{
    struct xs_node *parent = n->parent, **pp;
    char *buf = xs_malloc(XENSTORE_ABS_PATH_MAX + 2);
    size_t plen = strlen(path), ppl;
    int rc;

    if (!buf)
        return -XEN_ENOMEM;
    memcpy(buf, path, plen + 1);
    /* the parent's child list changes */
    ppl = plen - strlen(n->name) - 1;
    rc = tx_touch(v, path, ppl ? ppl : 1, parent, true, XS_FIRE_NONE);
    if (!rc)
        rc = remove_walk(v, n, buf, plen, fire);
    xs_free(buf);
    if (rc)
        return rc;
    for (pp = &parent->children; *pp != n; pp = &(*pp)->next)
        ;
    *pp = n->next;
    n->next = NULL;
    xs_node_free_tree(n);
    if (!v->tx)
        parent->gen = ++v->s->gen;
    return 0;
}

/* ---- operations (path is canonical and absolute) ---------------------------- */

int xs_op_write(struct xs_view *v, const char *path, const void *val, size_t len, bool mkdir)
{
    struct xs_node *root = view_root(v), *n;
    size_t consumed, i;
    unsigned int missing = 0;
    bool priv = v->domid == 0;
    struct xs_perm *perms;
    char *nv;

    if (!priv && len > v->s->q.max_value)
        return XS_EQUOTA;
    n = xs_node_closest(root, path, &consumed);
    if (path[consumed] == '\0') {
        if (!(perm_of(v, n) & XS_PERM_WRITE))
            return -XEN_EACCES;
        if (mkdir)
            return tx_touch(v, path, consumed, n, false, XS_FIRE_NONE);
        nv = xs_memdup(val, len);
        if (!nv || tx_touch(v, path, consumed, n, true, XS_FIRE_TREE)) {
            xs_free(nv);
            return -XEN_ENOMEM;
        }
        xs_free(n->val);
        n->val = nv;
        n->len = (uint32_t)len;
        if (!v->tx) {
            n->gen = ++v->s->gen;
            xs_fire_watches(v->s, path, n->perms, n->nperms, false);
        }
        return 0;
    }
    if (!(perm_of(v, n) & XS_PERM_WRITE))
        return -XEN_EACCES;
    for (i = consumed; path[i]; i++)
        missing += path[i] == '/';
    if (consumed == 1)
        missing++;
    /* New nodes inherit the parent's permissions; an unprivileged domain
     * owns what it creates. */
    perms = xs_malloc(sizeof(*perms) * n->nperms);
    if (!perms)
        return -XEN_ENOMEM;
    memcpy(perms, n->perms, sizeof(*perms) * n->nperms);
    if (!priv)
        perms[0].id = v->domid;
    if (!priv && view_nodes(v, perms[0].id) + missing > v->s->q.max_nodes) {
        xs_free(perms);
        return XS_EQUOTA;
    }
    n = xs_view_create(v, path, n, consumed, perms, n->nperms, perms, n->nperms,
                    mkdir ? "" : val, mkdir ? 0 : len);
    xs_free(perms);
    if (!n)
        return -XEN_ENOMEM;
    if (!v->tx)
        xs_fire_watches(v->s, path, n->perms, n->nperms, false);
    return 0;
}

int xs_op_rm(struct xs_view *v, const char *path)
{
    struct xs_node *n;
    size_t consumed, i;

    if (path[0] != '/' || xs_streq(path, "/"))
        return -XEN_EINVAL;
    n = xs_node_closest(view_root(v), path, &consumed);
    if (path[consumed] != '\0') {
        /* Missing is fine when the parent exists, as in xenstored. */
        for (i = consumed + 1; path[i] && path[i] != '/'; i++)
            ;
        if (path[i] != '\0')
            return missing_err(v, n, XS_PERM_READ);
        return (perm_of(v, n) & XS_PERM_WRITE) ? 0 : -XEN_EACCES;
    }
    if (!(perm_of(v, n) & XS_PERM_WRITE))
        return -XEN_EACCES;
    return xs_view_remove(v, n, path, XS_FIRE_TREE);
}

/* Finds a node for reading: ENOENT / EACCES. */
int xs_op_get(struct xs_view *v, const char *path, struct xs_node **out)
{
    size_t consumed;
    struct xs_node *n = xs_node_closest(view_root(v), path, &consumed);

    if (path[0] != '/')
        return -XEN_EINVAL;
    if (path[consumed] != '\0')
        return missing_err(v, n, XS_PERM_READ);
    if (!(perm_of(v, n) & XS_PERM_READ))
        return -XEN_EACCES;
    if (tx_touch(v, path, consumed, n, false, XS_FIRE_NONE))
        return -XEN_ENOMEM;
    *out = n;
    return 0;
}

int xs_op_set_perms(struct xs_view *v, const char *path, struct xs_perm *p, uint32_t np)
{
    struct xs_node *n = xs_node_find(view_root(v), path);
    struct xs_perm *copy;

    if (path[0] != '/')
        return -XEN_EINVAL;
    if (!n)
        return -XEN_ENOENT;
    if (v->domid != 0) {
        if ((perm_of(v, n) & (XS_PERM_WRITE | XS_PERM_OWNER)) != (XS_PERM_WRITE | XS_PERM_OWNER))
            return -XEN_EACCES;
        if (p[0].id != n->perms[0].id)
            return -XEN_EPERM;      /* only dom0 gives a node away */
    }
    copy = xs_malloc(sizeof(*p) * np);
    if (!copy || tx_touch(v, path, strlen(path), n, true, XS_FIRE_TREE)) {
        xs_free(copy);
        return -XEN_ENOMEM;
    }
    memcpy(copy, p, sizeof(*p) * np);
    view_acct(v, n->perms[0].id, -1);
    view_acct(v, copy[0].id, +1);
    xs_free(n->perms);
    n->perms = copy;
    n->nperms = np;
    if (!v->tx) {
        n->gen = ++v->s->gen;
        xs_fire_watches(v->s, path, n->perms, n->nperms, false);
    }
    return 0;
}

/* ---- transactions ------------------------------------------------------------ */

void xs_tx_free(struct xs_tx *tx)
{
    while (tx->log) {
        struct xs_txlog *e = tx->log;
        tx->log = e->next;
        xs_free(e->path);
        xs_free(e);
    }
    xs_node_free_tree(tx->root);
    xs_free(tx);
}

static struct xs_tx *tx_find(struct xs_conn *c, uint32_t id)
{
    struct xs_tx *t;
    for (t = c->txs; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static int tx_start(struct xs_conn *c, uint32_t *id)
{
    struct xs_store *s = c->s;
    struct xs_tx *tx;

    if (c->domid != 0 && c->ntx >= s->q.max_transactions)
        return XS_EQUOTA;
    tx = xs_malloc(sizeof(*tx));
    if (!tx)
        return -XEN_ENOMEM;
    memset(tx, 0, sizeof(*tx));
    tx->root = xs_node_clone_tree(s->root, NULL);
    if (!tx->root) {
        xs_free(tx);
        return -XEN_ENOMEM;
    }
    do {
        tx->id = ++s->next_txid;
    } while (tx->id == 0);
    tx->next = c->txs;
    c->txs = tx;
    c->ntx++;
    *id = tx->id;
    return 0;
}

/* Writes one logged node's final state from the transaction into the
 * committed tree and fires its watches. */
static int tx_apply(struct xs_store *s, struct xs_tx *tx, const struct xs_txlog *e)
{
    struct xs_view v = { .s = s, .domid = 0 };
    struct xs_node *t = xs_node_find(tx->root, e->path), *m;
    size_t consumed;
    struct xs_perm *p;
    char *val;

    m = xs_node_closest(s->root, e->path, &consumed);
    if (e->path[consumed] != '\0')
        m = NULL;
    if (!t) {
        if (m && m != s->root)
            return xs_view_remove(&v, m, e->path, e->fire);
        return 0;
    }
    if (!m) {
        m = xs_view_create(&v, e->path, xs_node_closest(s->root, e->path, &consumed), consumed,
                        NULL, 0, t->perms, t->nperms, t->val, t->len);
        if (!m)
            return -XEN_ENOMEM;
    } else {
        val = xs_memdup(t->val, t->len);
        p = xs_malloc(sizeof(*p) * t->nperms);
        if (!val || !p) {
            xs_free(val);
            xs_free(p);
            return -XEN_ENOMEM;
        }
        memcpy(p, t->perms, sizeof(*p) * t->nperms);
        xs_acct_adj(s, m->perms[0].id, -1);
        xs_acct_adj(s, p[0].id, +1);
        xs_free(m->val);
        xs_free(m->perms);
        m->val = val;
        m->len = t->len;
        m->perms = p;
        m->nperms = t->nperms;
        m->gen = ++s->gen;
    }
    if (e->fire != XS_FIRE_NONE)
        xs_fire_watches(s, e->path, m->perms, m->nperms, e->fire == XS_FIRE_EXACT);
    return 0;
}

/* Ends tx (freed in every case): commit or abort.  -XEN_EAGAIN when a node
 * it touched changed in the committed tree since it first touched it. */
static int tx_end(struct xs_conn *c, struct xs_tx *tx, bool commit)
{
    struct xs_tx **pp;
    struct xs_txlog *e;
    int rc = 0;

    for (pp = &c->txs; *pp != tx; pp = &(*pp)->next)
        ;
    *pp = tx->next;
    c->ntx--;
    if (commit) {
        for (e = tx->log; e && !rc; e = e->next) {
            struct xs_node *m = xs_node_find(c->s->root, e->path);
            if ((m ? m->gen : 0) != e->gen)
                rc = -XEN_EAGAIN;
        }
        for (e = tx->log; e && !rc; e = e->next)
            if (e->modified)
                rc = tx_apply(c->s, tx, e);
    }
    xs_tx_free(tx);
    return rc;
}

/* ---- requests ------------------------------------------------------------------ */

/* Splits body into NUL-terminated strings (each one must be terminated);
 * returns their number (<= max) or -1. */
static int split_args(const char *body, uint32_t len, const char **argv, int max)
{
    uint32_t i, start = 0;
    int n = 0;

    if (len == 0 || body[len - 1] != '\0')
        return -1;
    for (i = 0; i < len; i++) {
        if (body[i] == '\0') {
            if (n == max)
                return -1;
            argv[n++] = body + start;
            start = i + 1;
        }
    }
    return n;
}

static int handle_domid_arg(const char *body, uint32_t len, uint32_t *domid)
{
    const char *argv[1];
    if (split_args(body, len, argv, 1) != 1 || !xs_parse_uint(argv[0], domid) ||
        *domid >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    return 0;
}

static int handle(struct xs_conn *c, const struct xsd_sockmsg *h, const char *body,
                  char *path, char *out)
{
    struct xs_view v = { .s = c->s, .c = c, .domid = c->domid };
    const char *argv[4];
    struct xs_node *n, *k;
    struct xs_watch *w, **wp;
    uint32_t id, i, mfn, port;
    size_t ol = 0;
    int rc, argc;

    switch (h->type) {
    case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM:
    case XS_DIRECTORY: case XS_GET_PERMS: case XS_SET_PERMS:
        if (h->tx_id) {
            v.tx = tx_find(c, h->tx_id);
            if (!v.tx)
                return -XEN_ENOENT;
        }
        break;
    default:
        break;
    }

    switch (h->type) {
    case XS_READ: case XS_DIRECTORY: case XS_GET_PERMS: case XS_MKDIR: case XS_RM:
        if (split_args(body, h->len, argv, 1) != 1)
            return -XEN_EINVAL;
        rc = xs_canonicalize(c->domid, argv[0], false, path);
        if (rc)
            return rc;
        if (h->type == XS_MKDIR) {
            rc = xs_op_write(&v, path, "", 0, true);
            break;
        }
        if (h->type == XS_RM) {
            rc = xs_op_rm(&v, path);
            break;
        }
        rc = xs_op_get(&v, path, &n);
        if (rc)
            return rc;
        if (h->type == XS_READ) {
            reply(c, h, n->val, n->len);
            return 0;
        }
        if (h->type == XS_DIRECTORY) {
            for (k = n->children; k; k = k->next) {
                size_t l = strlen(k->name) + 1;
                if (ol + l > XENSTORE_PAYLOAD_MAX)
                    return -XEN_E2BIG;
                memcpy(out + ol, k->name, l);
                ol += l;
            }
        } else {
            for (i = 0; i < n->nperms; i++) {
                out[ol++] = n->perms[i].perm;
                ol += xs_utoa(out + ol, n->perms[i].id);
                out[ol++] = '\0';
                if (ol + 12 > XENSTORE_PAYLOAD_MAX)
                    return -XEN_E2BIG;
            }
        }
        reply(c, h, out, ol);
        return 0;

    case XS_WRITE:
        for (i = 0; i < h->len && body[i]; i++)
            ;
        if (i == h->len)
            return -XEN_EINVAL;
        rc = xs_canonicalize(c->domid, body, false, path);
        if (rc)
            return rc;
        rc = xs_op_write(&v, path, body + i + 1, h->len - i - 1, false);
        break;

    case XS_SET_PERMS: {
        struct xs_perm *p;
        uint32_t np;
        for (i = 0; i < h->len && body[i]; i++)
            ;
        if (i == h->len)
            return -XEN_EINVAL;
        rc = xs_canonicalize(c->domid, body, false, path);
        if (rc)
            return rc;
        rc = xs_perms_parse(body + i + 1, h->len - i - 1, &p, &np);
        if (rc)
            return rc;
        rc = xs_op_set_perms(&v, path, p, np);
        xs_free(p);
        break;
    }

    case XS_WATCH: case XS_UNWATCH:
        if (split_args(body, h->len, argv, 2) != 2)
            return -XEN_EINVAL;
        rc = xs_canonicalize(c->domid, argv[0], true, path);
        if (rc)
            return rc;
        for (wp = &c->watches; *wp; wp = &(*wp)->next)
            if (xs_streq((*wp)->path, path) && xs_streq((*wp)->token, argv[1]))
                break;
        if (h->type == XS_UNWATCH) {
            if (!*wp)
                return -XEN_ENOENT;
            w = *wp;
            *wp = w->next;
            c->nwatches--;
            xs_free(w->path);
            xs_free(w->token);
            xs_free(w);
            break;
        }
        if (*wp)
            return -XEN_EEXIST;
        if (c->domid != 0 && c->nwatches >= c->s->q.max_watches)
            return XS_EQUOTA;
        w = xs_malloc(sizeof(*w));
        if (!w)
            return -XEN_ENOMEM;
        w->path = xs_strdup(path);
        w->token = xs_strdup(argv[1]);
        if (!w->path || !w->token) {
            xs_free(w->path);
            xs_free(w->token);
            xs_free(w);
            return -XEN_ENOMEM;
        }
        w->relative = argv[0][0] != '/' && argv[0][0] != '@';
        w->next = c->watches;
        c->watches = w;
        c->nwatches++;
        reply_ok(c, h);
        /* One event up front, as xenstored does. */
        watch_send(c, w, path);
        return 0;

    case XS_TRANSACTION_START:
        if (h->tx_id)
            return -XEN_EBUSY;
        if (split_args(body, h->len, argv, 1) != 1)
            return -XEN_EINVAL;
        rc = tx_start(c, &id);
        if (rc)
            return rc;
        ol = xs_utoa(out, id);
        out[ol++] = '\0';
        reply(c, h, out, ol);
        return 0;

    case XS_TRANSACTION_END: {
        struct xs_tx *tx;
        if (split_args(body, h->len, argv, 1) != 1 ||
            !(xs_streq(argv[0], "T") || xs_streq(argv[0], "F")))
            return -XEN_EINVAL;
        tx = tx_find(c, h->tx_id);
        if (!tx)
            return -XEN_ENOENT;
        rc = tx_end(c, tx, argv[0][0] == 'T');
        break;
    }

    case XS_INTRODUCE:
        if (c->domid != 0)
            return -XEN_EACCES;
        argc = split_args(body, h->len, argv, 3);
        if (argc != 3 || !xs_parse_uint(argv[0], &id) || !xs_parse_uint(argv[1], &mfn) ||
            !xs_parse_uint(argv[2], &port) || id == 0 || id >= DOMID_FIRST_RESERVED)
            return -XEN_EINVAL;
        if (c->s->hook) {
            rc = c->s->hook(c->s->hook_opaque, id, false, mfn, port);
            if (rc)
                return rc;
        }
        rc = xs_introduce_domain(c->s, id);
        break;

    case XS_RELEASE:
        if (c->domid != 0)
            return -XEN_EACCES;
        rc = handle_domid_arg(body, h->len, &id);
        if (rc)
            return rc;
        if (!xs_domain_introduced(c->s, id) || id == 0)
            return id ? -XEN_ENOENT : -XEN_EINVAL;
        if (c->s->hook) {
            rc = c->s->hook(c->s->hook_opaque, id, true, 0, 0);
            if (rc)
                return rc;
        }
        rc = xs_release_domain(c->s, id);
        break;

    case XS_GET_DOMAIN_PATH:
        rc = handle_domid_arg(body, h->len, &id);
        if (rc)
            return rc;
        memcpy(out, "/local/domain/", 14);
        ol = 14 + xs_utoa(out + 14, id);
        out[ol++] = '\0';
        reply(c, h, out, ol);
        return 0;

    case XS_IS_DOMAIN_INTRODUCED:
        if (c->domid != 0)
            return -XEN_EACCES;
        rc = handle_domid_arg(body, h->len, &id);
        if (rc)
            return rc;
        reply(c, h, xs_domain_introduced(c->s, id) ? "T" : "F", 2);
        return 0;

    case XS_CONTROL: case XS_RESUME: case XS_SET_TARGET: case XS_RESET_WATCHES:
    case XS_DIRECTORY_PART:
        return -XEN_ENOSYS;

    default:                    /* XS_WATCH_EVENT, XS_ERROR, unknown types */
        return -XEN_EINVAL;
    }
    if (rc)
        return rc;
    reply_ok(c, h);
    return 0;
}

int xs_conn_input(struct xs_conn *c, const struct xsd_sockmsg *hdr, const void *body)
{
    char *path, *out;
    int rc;

    if (hdr->len > XENSTORE_PAYLOAD_MAX) {
        reply_err(c, hdr, -XEN_E2BIG);
        return -XEN_E2BIG;
    }
    path = xs_malloc(XENSTORE_ABS_PATH_MAX + 1);
    out = xs_malloc(XENSTORE_PAYLOAD_MAX + 16);
    if (!path || !out) {
        rc = -XEN_ENOMEM;
    } else {
        rc = handle(c, hdr, hdr->len ? body : "", path, out);
    }
    xs_free(path);
    xs_free(out);
    if (rc)
        reply_err(c, hdr, rc);
    return 0;
}
