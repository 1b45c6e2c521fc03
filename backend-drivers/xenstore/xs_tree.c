/*
 * xs_tree.c - xenstored's node tree: path rules, nodes, permissions and
 * per-domain accounting (the semantics of Xen's C xenstored).
 *
 * Runs in dom0 (freestanding) and on the host (unit tests).
 */
#include "xs_priv.h"

size_t xs_strlen(const char *a)
{
    return strlen(a);
}

bool xs_streq(const char *a, const char *b)
{
    size_t la = strlen(a);
    return la == strlen(b) && strncmp(a, b, la) == 0;
}

char *xs_memdup(const void *p, size_t n)
{
    char *d = xs_malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

char *xs_strdup(const char *a)
{
    return xs_memdup(a, strlen(a));
}

unsigned int xs_utoa(char *p, uint32_t v)
{
    char tmp[10];
    unsigned int n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

bool xs_parse_uint(const char *p, uint32_t *out)
{
    uint64_t v = 0;
    if (!*p)
        return false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > 0xffffffffull)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool valid_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' || ch == '@';
}

int xs_canonicalize(unsigned int domid, const char *in, bool special, char *out)
{
    size_t inlen = strlen(in), len = 0, i, local_off = 0;
    static const char pfx[] = "/local/domain/";

    if (inlen == 0 || inlen > XENSTORE_ABS_PATH_MAX)
        return -XEN_EINVAL;
    for (i = 0; i < inlen; i++)
        if (!valid_char(in[i]))
            return -XEN_EINVAL;
    if (in[0] == '@') {
        if (!special)
            return -XEN_EINVAL;
        memcpy(out, in, inlen + 1);
        return 0;
    }
    if (in[0] != '/') {
        memcpy(out, pfx, sizeof(pfx) - 1);
        len = sizeof(pfx) - 1;
        len += xs_utoa(out + len, domid);
        out[len++] = '/';
    }
    if (len + inlen > XENSTORE_ABS_PATH_MAX)
        return -XEN_EINVAL;
    memcpy(out + len, in, inlen + 1);
    len += inlen;
    if (len > 1 && out[len - 1] == '/')
        return -XEN_EINVAL;
    for (i = 0; i + 1 < len; i++)
        if (out[i] == '/' && out[i + 1] == '/')
            return -XEN_EINVAL;
    /* As xenstored: below /local/domain/<id>/ only the tail counts against
     * the relative limit; other paths count whole. */
    if (len > sizeof(pfx) - 1 && strncmp(out, pfx, sizeof(pfx) - 1) == 0) {
        i = sizeof(pfx) - 1;
        while (i < len && out[i] >= '0' && out[i] <= '9')
            i++;
        if (i > sizeof(pfx) - 1 && i < len && out[i] == '/')
            local_off = i + 1;
    }
    if (len - local_off > XENSTORE_REL_PATH_MAX)
        return -XEN_EINVAL;
    return 0;
}

bool xs_path_under(const char *path, const char *anc)
{
    size_t la = strlen(anc);
    if (la == 1 && anc[0] == '/')
        return path[0] == '/';
    if (strncmp(path, anc, la) != 0)
        return false;
    return path[la] == '\0' || path[la] == '/';
}

struct xs_node *xs_node_alloc(const char *name, size_t nlen, const struct xs_perm *perms,
                              uint32_t nperms)
{
    struct xs_node *n = xs_malloc(sizeof(*n));
    if (!n)
        return NULL;
    memset(n, 0, sizeof(*n));
    n->name = xs_memdup(name, nlen);
    n->val = xs_memdup("", 0);
    n->perms = xs_malloc(sizeof(*perms) * nperms);
    if (!n->name || !n->val || !n->perms) {
        xs_free(n->name);
        xs_free(n->val);
        xs_free(n->perms);
        xs_free(n);
        return NULL;
    }
    memcpy(n->perms, perms, sizeof(*perms) * nperms);
    n->nperms = nperms;
    return n;
}

void xs_node_free_tree(struct xs_node *n)
{
    while (n) {
        struct xs_node *next = n->next;
        xs_node_free_tree(n->children);
        xs_free(n->name);
        xs_free(n->val);
        xs_free(n->perms);
        xs_free(n);
        n = next;
    }
}

struct xs_node *xs_node_clone_tree(const struct xs_node *n, struct xs_node *parent)
{
    struct xs_node *c = xs_node_alloc(n->name, strlen(n->name), n->perms, n->nperms);
    struct xs_node **tail;
    const struct xs_node *k;

    if (!c)
        return NULL;
    c->parent = parent;
    c->gen = n->gen;
    xs_free(c->val);
    c->val = xs_memdup(n->val, n->len);
    c->len = n->len;
    if (!c->val) {
        xs_node_free_tree(c);
        return NULL;
    }
    tail = &c->children;
    for (k = n->children; k; k = k->next) {
        *tail = xs_node_clone_tree(k, c);
        if (!*tail) {
            xs_node_free_tree(c);
            return NULL;
        }
        tail = &(*tail)->next;
    }
    return c;
}

static struct xs_node *child_named(struct xs_node *n, const char *name, size_t nlen)
{
    struct xs_node *k;
    for (k = n->children; k; k = k->next)
        if (strlen(k->name) == nlen && strncmp(k->name, name, nlen) == 0)
            return k;
    return NULL;
}

struct xs_node *xs_node_closest(struct xs_node *root, const char *path, size_t *consumed)
{
    struct xs_node *n = root;
    size_t pos = 1;

    *consumed = 1;
    while (path[pos]) {
        size_t end = pos;
        struct xs_node *k;
        while (path[end] && path[end] != '/')
            end++;
        k = child_named(n, path + pos, end - pos);
        if (!k)
            break;
        n = k;
        *consumed = end;
        pos = path[end] ? end + 1 : end;
    }
    return n;
}

struct xs_node *xs_node_find(struct xs_node *root, const char *path)
{
    size_t consumed;
    struct xs_node *n;
    if (path[0] != '/')
        return NULL;
    n = xs_node_closest(root, path, &consumed);
    return path[consumed] == '\0' ? n : NULL;
}

static unsigned int perm_bits(char p)
{
    switch (p) {
    case 'r': return XS_PERM_READ;
    case 'w': return XS_PERM_WRITE;
    case 'b': return XS_PERM_READ | XS_PERM_WRITE;
    default:  return 0;
    }
}

unsigned int xs_perm_for(unsigned int domid, const struct xs_perm *p, uint32_t n)
{
    uint32_t i;
    if (domid == 0 || p[0].id == domid)
        return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
    for (i = 1; i < n; i++)
        if (p[i].id == domid)
            return perm_bits(p[i].perm);
    return perm_bits(p[0].perm);
}

int xs_perms_parse(const char *p, size_t len, struct xs_perm **out, uint32_t *n)
{
    size_t i, cnt = 0, pos = 0;
    struct xs_perm *v;

    if (len == 0 || p[len - 1] != '\0')
        return -XEN_EINVAL;
    for (i = 0; i < len; i++)
        if (p[i] == '\0')
            cnt++;
    if (cnt > 1024)
        return -XEN_EINVAL;
    v = xs_malloc(sizeof(*v) * cnt);
    if (!v)
        return -XEN_ENOMEM;
    for (i = 0; i < cnt; i++) {
        const char *e = p + pos;
        uint32_t id;
        if (!(e[0] == 'n' || e[0] == 'r' || e[0] == 'w' || e[0] == 'b') ||
            !xs_parse_uint(e + 1, &id) || id >= DOMID_FIRST_RESERVED) {
            xs_free(v);
            return -XEN_EINVAL;
        }
        v[i].perm = e[0];
        v[i].id = id;
        pos += strlen(e) + 1;
    }
    *out = v;
    *n = (uint32_t)cnt;
    return 0;
}

struct xs_acct *xs_acct_get(struct xs_store *s, unsigned int domid, bool create)
{
    struct xs_acct *a;
    for (a = s->acct; a; a = a->next)
        if (a->domid == domid)
            return a;
    if (!create)
        return NULL;
    a = xs_malloc(sizeof(*a));
    if (!a)
        return NULL;
    memset(a, 0, sizeof(*a));
    a->domid = domid;
    a->next = s->acct;
    s->acct = a;
    return a;
}

void xs_acct_adj(struct xs_store *s, unsigned int owner, int d)
{
    struct xs_acct *a = xs_acct_get(s, owner, true);
    if (!a)
        return;                 /* out of memory: the count is advisory */
    if (d < 0 && a->nodes < (unsigned int)-d)
        a->nodes = 0;
    else
        a->nodes = (unsigned int)((int)a->nodes + d);
}
