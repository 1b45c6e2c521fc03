/*
 * agent_priv.h - what the agent's files share among themselves: the
 * control handles, domain start/teardown, and the command dispatcher.
 *
 * Runs in dom0 (toolstack agent thread only).
 */
#ifndef AGENT_PRIV_H
#define AGENT_PRIV_H

#include "xenctrl.h"
#include "xc_sr.h"
#include "domains.h"
#include "proto.h"

struct xs_store;

/* State of the one agent. */
struct agent_state {
    xc_interface *xch;
    struct xs_store *store;
    uint64_t boot_ns;           /* arch_now_ns() when the agent started */
    int bulk_rc;                /* bulk_init() result */
    uint64_t ignored_lines;     /* lines that did not parse */
    uint64_t overlong_lines;    /* lines over PROTO_LINE_MAX, discarded */
};
extern struct agent_state agent;

/* Builds and starts the domain d->cfg describes from d->image: creates it,
 * sets max memory, runs dom_build, attaches the console back-end, adds its
 * xenstore ring (PV), writes /local/domain/N/name, unpauses.  d->domid
 * gets the new id.  On failure undoes what it did and returns a negative
 * Xen errno with a sentence in msg. */
int agent_domain_start(struct dom_entry *d, char *msg, size_t msglen);

/* agent_domain_start with another way to fill the new domain d->domid
 * (paused, max_mem set, no memory): build() sets *info (the store and
 * console rings and ports) or returns a negative Xen errno with msg.
 * save.c's restore is one. */
struct dom_build_info;
typedef int (*agent_builder_fn)(struct dom_entry *d, struct dom_build_info *info, char *msg,
                                size_t msglen, void *opaque);
int agent_domain_start_with(struct dom_entry *d, agent_builder_fn build, void *opaque,
                            char *msg, size_t msglen);

/* Detaches the console back-end and the xenstore ring (so dom0's mappings
 * of the domain's frames go away), then destroys the domain (`destroy`
 * false: it is already gone).  The registry entry stays. */
void agent_domain_teardown(struct dom_entry *d, bool destroy);

/* Drops d from the registry for good: its disks' PCI slots are ejected
 * once blkback lets go of them (block.c), then dom_free(). */
void agent_domain_forget(struct dom_entry *d);

/* Runs one request (cmds.c); answers on COM2. */
void cmd_dispatch(const struct proto_req *r);
/* cmds.c's helpers for command files: an "R <id>" record line started,
 * then filled with proto_line_kv*(rec_line(), ...) and sent; the check that
 * every argument is in `allowed` (else E EINVAL); dom= resolved to an id
 * (and the registry entry, NULL for dom0) or E ENOENT. */
void rec_start(const struct proto_req *r);
struct proto_line *rec_line(void);
void rec_send(void);
bool args_ok(const struct proto_req *r, const char *const *allowed);
bool resolve_dom(const struct proto_req *r, uint32_t *domid, struct dom_entry **d);
/* create's arguments (name, type, memory, cmdline, on_crash, vbdN, vifN)
 * into *cfg; 0 or a negative Xen errno with a sentence in msg. */
int agent_config_check(const struct proto_req *r, struct dom_config *cfg, char *msg, size_t n);

/* save.c: save and restore (docs/save-format.md). */

/* A save stream over the bulk rings (xc_sr.h's io): io's opaque is the
 * struct itself.  Reads give up after idle_ns without a byte (0: 10 s),
 * calling idle (NULL: agent_idle) while they wait; limit: the bytes a
 * restore may read.  d: the domain whose CONFIG and IMAGE records
 * agent_stream_extra (xc_sr's extra callback, opaque = the stream) writes. */
struct agent_stream {
    struct xc_sr_io io;
    uint64_t bytes, limit, idle_ns;
    void (*idle)(void);
    struct dom_entry *d;
};
void agent_stream_init(struct agent_stream *s, struct dom_entry *d);
int agent_stream_extra(void *opaque);
/* Asks domid to suspend, as xl does (control/shutdown = "suspend"; its
 * control thread answers with SCHEDOP_shutdown(SHUTDOWN_suspend)), and
 * waits up to 10 s, serving the rings.  0, or -XEN_EIO (the store cannot
 * be written), -XEN_ETIMEDOUT (it did not suspend). */
int agent_suspend_domain(uint32_t domid, xc_dominfo_t *info);
/* The suspended domid runs on where it suspended: its SCHEDOP_shutdown
 * returns 1 ("cancelled", as after xc_domain_resume).  0 or -errno. */
int agent_resume_in_place(uint32_t domid);
void cmd_save(const struct proto_req *r);
void cmd_restore(const struct proto_req *r);
void cmd_save_end(const struct proto_req *r);
void cmd_checkpoint_kept(const struct proto_req *r);
void cmd_config(const struct proto_req *r);

/* block.c: the domain's virtual disks (blkback) and their commands. */
int agent_block_start(struct dom_entry *d, char *msg, size_t msglen);
void agent_block_stop(struct dom_entry *d);
void agent_block_release(struct dom_entry *d);
/* True while a released disk's slot has not been announced to hostd yet
 * (blkback still holds it). */
bool agent_block_releasing(void);
/* Serves the rings until hostd has unplugged every disk being released
 * (at most 5 s), so that an answer sent afterwards finds the images free:
 * destroy and save-end wait so. */
void agent_block_wait_released(void);
void agent_block_poll(void);
int block_parse_arg(const char *v, struct dom_vbd *out, char *msg, size_t n);
void cmd_block_list(const struct proto_req *r);
void cmd_block_attach(const struct proto_req *r);
void cmd_block_detach(const struct proto_req *r);
/* net.c: dom0's NIC, bridge and own stack, the domain's vifs (netback)
 * and their commands. */
void agent_net_init(const char *cmdline);
int agent_net_start(struct dom_entry *d, char *msg, size_t msglen);
void agent_net_stop(struct dom_entry *d);
void agent_net_poll(void);
int net_parse_arg(const char *v, struct dom_vif *out, char *msg, size_t n);
void cmd_network_list(const struct proto_req *r);
void cmd_network_attach(const struct proto_req *r);
void cmd_network_detach(const struct proto_req *r);
void cmd_net_bench(const struct proto_req *r);
void cmd_blk_bench(const struct proto_req *r);
void cmd_blkback_mode(const struct proto_req *r);

/* Called while a command waits (bulk transfers): keeps COM2 output
 * moving. */
void agent_idle(void);
/* For a command that waits long (a Remus backup): reads COM2 and runs
 * the requests that came, with their own line buffer.  While
 * agent_busy(what) is set (NULL clears it), only read-only requests run;
 * the rest get EBUSY "dom0 is <what>". */
void agent_poll_requests(void);
void agent_busy(const char *what);
/* Whether cmd_dispatch may run command cmd now (agent_busy's rule);
 * else *what says what dom0 is busy with. */
bool agent_request_allowed(const char *cmd, size_t n, const char **what);

/* remus.c: Remus's primary (docs/save-format.md, "Remus").  Commands
 * remus, remus-ack, remus-stop; agent_remus_tick runs a due checkpoint
 * (the main loop calls it every round); agent_remus_active: a replication
 * runs; agent_remus_forget: d is going away (the replication stops). */
void cmd_remus(const struct proto_req *r);
void cmd_remus_ack(const struct proto_req *r);
void cmd_remus_stop(const struct proto_req *r);
void agent_remus_tick(void);
bool agent_remus_active(void);
void agent_remus_forget(struct dom_entry *d);
/* One round of the guests' rings: consoles, xenstore, blkback, netback
 * (the main loop's work; a command that waits on a guest calls it).
 * True when a console had output. */
bool agent_serve_rings(void);

#endif /* AGENT_PRIV_H */
