/*
 * domains.h - the agent's registry of the domains it created: the saved
 * configuration (for reboot and on_crash=restart), the kernel image kept
 * in dom0 memory, and the console back-end / xenstore state.
 *
 * Runs in dom0 (toolstack agent thread only; no locking).
 */
#ifndef AGENT_DOMAINS_H
#define AGENT_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOM_NAME_MAX    64      /* bytes including the NUL */
#define DOM_CMDLINE_MAX 1024
#define DOM_MAX         1024    /* registry slots */

/* xl.cfg's on_crash, plus "restore": the domain's last checkpoint (a
 * `lamina save -c` file, or the file it was restored from) is restored. */
enum dom_on_crash { ON_CRASH_DESTROY, ON_CRASH_RESTART, ON_CRASH_PRESERVE, ON_CRASH_RESTORE };
#define DOM_CKPT_MAX    256     /* bytes of a checkpoint's host path, NUL included */

/* A virtual disk: the virtio-blk PCI slot hostd plugged the image into,
 * the Xen device number (xvda = 51712), read-only or not, and the image's
 * host path (xenstore params). */
#define DOM_MAX_VBDS    4
#define DOM_PARAMS_MAX  160
struct dom_vbd {
    uint8_t slot;               /* 0: unused */
    bool readonly;
    uint32_t devid;
    char params[DOM_PARAMS_MAX];
};

/* A virtual NIC (netback vif) as hostd passed it: vifN=handle:mac:ip:
 * rate_bytes:rate_usec (ip may be empty; rate_bytes 0: no limit). */
#define DOM_MAX_VIFS    4
struct dom_vif {
    bool used;
    uint32_t handle;
    uint8_t mac[6];
    char ip[20];
    uint64_t rate_bytes, rate_usec;
};

/* What `create` was given; enough to build the domain again. */
struct dom_config {
    char name[DOM_NAME_MAX];
    bool unmodified;                /* type=unmodified (else pv) */
    uint64_t memory_mib;
    char cmdline[DOM_CMDLINE_MAX];
    enum dom_on_crash on_crash;
    struct dom_vbd vbd[DOM_MAX_VBDS];
    struct dom_vif vif[DOM_MAX_VIFS];
};

struct consback;

struct dom_entry {
    bool used;
    uint32_t domid;
    struct dom_config cfg;
    void *image;                    /* kmalloc'd copy of the kernel image */
    size_t image_len;
    struct consback *cons;          /* NULL when no console back-end */
    bool xs_added;                  /* xs_dom0_add_domain done */
    bool attached;                  /* console output forwarded as C lines */
    bool preserved;                 /* crashed, kept (on_crash=preserve) */
    bool saving;                    /* save.c is suspending or saving it */
    uint64_t started_ns;            /* arch_now_ns() at the last (re)start */
    unsigned int quick_restarts;    /* restarts soon after a start in a row */
    char checkpoint[DOM_CKPT_MAX];  /* host path of its last checkpoint, "" none */
};

/* A free slot (zeroed, used = true), or NULL when the registry is full. */
struct dom_entry *dom_alloc(void);
/* Releases the slot; frees the image unless another entry shares it
 * (console/xenstore state must be gone). */
void dom_free(struct dom_entry *d);
/* image (kmalloc'd, len bytes) for a new entry: an identical image another
 * entry already holds, image itself kfree'd; else image. */
void *dom_image_share(void *image, size_t len);
/* The entry of domid, or NULL. */
struct dom_entry *dom_by_id(uint32_t domid);
/* The entry named name (exact), or NULL. */
struct dom_entry *dom_by_name(const char *name);
/* Iteration: the used entry after d (NULL: the first), or NULL. */
struct dom_entry *dom_next(struct dom_entry *d);

/* True when name is acceptable for a domain: 1..63 bytes of
 * [A-Za-z0-9_.-], not all digits (those address ids), not "Domain-0". */
bool dom_name_valid(const char *name);

#endif /* AGENT_DOMAINS_H */
