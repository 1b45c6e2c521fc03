/*
 * xs_priv.h - internal structures of Lamina's xenstored core, shared by
 * xenstored.c (requests, watches, transactions), xs_tree.c (nodes, paths,
 * permissions, accounting) and xs_ring.c (ring transport, output queue).
 *
 * Runs in dom0 (freestanding) and on the host (unit tests).
 */
#ifndef LAMINA_XS_PRIV_H
#define LAMINA_XS_PRIV_H

#include "xenstored.h"

#if __STDC_HOSTED__
#include <stdlib.h>
#include <string.h>
#define xs_malloc(n)     malloc(n)
#define xs_free(p)       free(p)
#define xs_realloc(p, n) realloc(p, n)
#else
#include "kernel.h"
#define xs_malloc(n)     kmalloc(n)
#define xs_free(p)       kfree(p)
/* No xs_realloc in the guest kernel: the core never needs one. */
#endif

/* Permission bits a domain holds on a node. */
#define XS_PERM_READ  1u
#define XS_PERM_WRITE 2u
#define XS_PERM_OWNER 4u

/* One permission entry: 'n' none, 'r' read, 'w' write, 'b' both. */
struct xs_perm {
    uint32_t id;
    char perm;
};

/* A node of the tree; children form a singly linked list. */
struct xs_node {
    char *name;                 /* last component; "" for the root */
    struct xs_node *parent, *children, *next;
    char *val;                  /* len bytes, not NUL-terminated */
    uint32_t len;
    struct xs_perm *perms;      /* nperms >= 1; [0] = owner and default */
    uint32_t nperms;
    uint64_t gen;               /* store generation of the last change */
};

/* Per-domain accounting. */
struct xs_acct {
    struct xs_acct *next;
    unsigned int domid;
    unsigned int nodes;         /* nodes owned in the committed tree */
    bool introduced;
};

struct xs_watch {
    struct xs_watch *next;
    char *path;                 /* canonical (absolute or @special) */
    char *token;
    bool relative;              /* registered relative: events are too */
};

/* What a committed transaction entry fires. */
enum xs_fire { XS_FIRE_NONE, XS_FIRE_EXACT, XS_FIRE_TREE };

/* A path a transaction read or changed, in first-touch order. */
struct xs_txlog {
    struct xs_txlog *next;
    char *path;
    uint64_t gen;               /* committed generation at first touch, 0 absent */
    bool modified;
    enum xs_fire fire;
};

struct xs_tx {
    struct xs_tx *next;
    uint32_t id;
    struct xs_node *root;       /* private copy of the tree */
    struct xs_txlog *log, *log_tail;
    int nodes_delta;            /* change of the connection's own node count */
};

struct xs_outmsg {
    struct xs_outmsg *next;
    uint32_t len;               /* header + body bytes */
    char data[];
};

struct xs_conn {
    struct xs_store *s;
    struct xs_conn *next;
    unsigned int domid;
    void (*send)(void *opaque, const struct xsd_sockmsg *hdr, const void *body);
    void *opaque;
    struct xs_watch *watches;
    unsigned int nwatches;
    struct xs_tx *txs;
    unsigned int ntx;
    /* output queue (send == NULL) */
    struct xs_outmsg *out_head, *out_tail;
    size_t out_bytes;
    uint32_t out_off;           /* bytes of out_head already on the ring */
    /* request being reassembled from the ring */
    struct xsd_sockmsg in_hdr;
    uint32_t in_got;            /* header + body bytes received */
    char *in_body;
    bool broken;
};

struct xs_store {
    struct xs_quota q;
    struct xs_node *root;
    uint64_t gen;
    struct xs_conn *conns;
    struct xs_acct *acct;
    uint32_t next_txid;
    int (*hook)(void *opaque, unsigned int domid, bool release, uint64_t mfn, uint32_t port);
    void *hook_opaque;
};

/* Where an operation runs: the committed tree or a transaction's copy, as
 * domain domid (c may be NULL for the dom0 store API). */
struct xs_view {
    struct xs_store *s;
    struct xs_conn *c;
    struct xs_tx *tx;
    unsigned int domid;
};

/* ---- xs_tree.c ---- */
size_t xs_strlen(const char *a);
bool xs_streq(const char *a, const char *b);
char *xs_strdup(const char *a);
char *xs_memdup(const void *p, size_t n);
/* Writes v in decimal at p (no NUL); returns the digits written (<= 10). */
unsigned int xs_utoa(char *p, uint32_t v);
/* Parses a whole decimal string <= 0xffffffff. */
bool xs_parse_uint(const char *p, uint32_t *out);
/* Canonicalizes path for domid into out (XENSTORE_ABS_PATH_MAX + 1 bytes):
 * relative paths get /local/domain/<domid>/; '@' paths only if special.
 * -XEN_EINVAL for bad characters, "//", a trailing '/', too long. */
int xs_canonicalize(unsigned int domid, const char *in, bool special, char *out);
/* True when path equals anc or lies below it. */
bool xs_path_under(const char *path, const char *anc);
struct xs_node *xs_node_alloc(const char *name, size_t nlen, const struct xs_perm *perms,
                              uint32_t nperms);
void xs_node_free_tree(struct xs_node *n);
struct xs_node *xs_node_clone_tree(const struct xs_node *n, struct xs_node *parent);
/* The node at canonical absolute path, or NULL. */
struct xs_node *xs_node_find(struct xs_node *root, const char *path);
/* The deepest existing node on path (root at least); *consumed = the
 * length of path that node stands for. */
struct xs_node *xs_node_closest(struct xs_node *root, const char *path, size_t *consumed);
unsigned int xs_perm_for(unsigned int domid, const struct xs_perm *p, uint32_t n);
/* Parses "n5\0r0\0..." (len bytes, all entries NUL-terminated). */
int xs_perms_parse(const char *p, size_t len, struct xs_perm **out, uint32_t *n);
struct xs_acct *xs_acct_get(struct xs_store *s, unsigned int domid, bool create);
void xs_acct_adj(struct xs_store *s, unsigned int owner, int d);

/* ---- xenstored.c ---- */
/* Sends (or queues) one message on c; watch events are dropped when the
 * queue is over max_output. */
void xs_emit(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
             const void *body, uint32_t len);

/* Fires every watch on path (exact) or on path or an ancestor (!exact)
 * for connections whose domain may read a node with perms p; @special
 * paths only for dom0.  One event per matching watch. */
void xs_fire_watches(struct xs_store *s, const char *path, const struct xs_perm *p,
                     uint32_t np, bool exact);
/* Creates the missing nodes of canonical path below anc (standing for
 * path[0..consumed)): intermediate ones with iperms (NULL: the parent's),
 * the last with fperms and the value; logs, generations, accounting.
 * Watches are the caller's.  NULL: out of memory. */
struct xs_node *xs_view_create(struct xs_view *v, const char *path, struct xs_node *anc,
                               size_t consumed, const struct xs_perm *iperms, uint32_t nip,
                               const struct xs_perm *fperms, uint32_t nfp,
                               const void *val, size_t len);
/* Removes node n (at path, not the root) and its subtree from the view,
 * firing watches in the committed tree (n per `fire`, descendants exactly). */
int xs_view_remove(struct xs_view *v, struct xs_node *n, const char *path, enum xs_fire fire);
/* The operations on a canonical absolute path, as v->domid, with
 * xenstored's errors (EACCES, ENOENT, EQUOTA, EPERM, ENOMEM). */
int xs_op_write(struct xs_view *v, const char *path, const void *val, size_t len, bool mkdir);
int xs_op_rm(struct xs_view *v, const char *path);
int xs_op_get(struct xs_view *v, const char *path, struct xs_node **out);
int xs_op_set_perms(struct xs_view *v, const char *path, struct xs_perm *p, uint32_t np);
/* Frees a transaction (not linked anywhere any more). */
void xs_tx_free(struct xs_tx *tx);

#endif /* LAMINA_XS_PRIV_H */
