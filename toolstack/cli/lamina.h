/*
 * lamina.h - shared declarations of the host CLI `lamina` (toolstack/cli).
 * Runs on the host.
 *
 * The CLI never talks to QEMU's COM2 directly: `lamina hostd` (hostd.c) owns
 * it and the bulk ring, and serves clients on <rundir>/lamina.sock with the
 * protocol described at the top of hostd.c.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Exit statuses (docs/cli.md). */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* ---- command table (main.c) ---------------------------------------------- */
#define CMD_MAX_OPTS 8

struct cmd_opt {
    const char *name;               /* long name without "--" */
    char shortc;                    /* 0: none */
    const char *arg;                /* NULL: a flag; else the argument's name */
    const char *help;
};

struct inv;
struct cmd {
    const char *name;
    const char *args;               /* synopsis of positional arguments */
    const char *summary;            /* one line for `lamina help` */
    const char *help;               /* long help (may be NULL) */
    struct cmd_opt opts[CMD_MAX_OPTS];
    int min_pos, max_pos;
    int (*fn)(struct inv *iv);      /* returns the exit status */
    int hidden;
};

/* One invocation: the parsed options and positional arguments. */
struct inv {
    const struct cmd *cmd;
    const char *val[CMD_MAX_OPTS];  /* option values (flags: "1") */
    int npos;
    char **pos;
};

/* inv_str - option value or NULL when not given. */
const char *inv_str(const struct inv *iv, const char *name);
/* inv_flag - 1 when the flag was given. */
int inv_flag(const struct inv *iv, const char *name);
/* inv_num - option as an integer in [min,max], dflt when absent; exits 2
 * with a usage message when malformed. */
long inv_num(const struct inv *iv, const char *name, long dflt, long min, long max);
/* usage_error - print "lamina CMD: MSG" and the synopsis; returns 2. */
int usage_error(const struct inv *iv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- paths and the connection to hostd (client.c) -------------------------- */
struct lamina_paths {
    char root[PATH_MAX];            /* the build directory the CLI is in (B=) */
    char images[PATH_MAX];          /* lamina.elf's directory: root, or
                                     * $LAMINA_ROOT/build */
    char base[PATH_MAX];            /* $LAMINA_RUN_DIR or <root>/run */
    char run[PATH_MAX];             /* base, or base/machines/$LAMINA_MACHINE */
    char sock[PATH_MAX];            /* <run>/lamina.sock (hostd) */
    char ctl[PATH_MAX];             /* <run>/ctl.sock (QEMU COM2) */
    char hvlog[PATH_MAX];           /* <run>/hypervisor.log (COM1) */
    char qemupid[PATH_MAX];         /* <run>/qemu.pid */
    char machine[PATH_MAX];         /* <run>/machine (what `up` started) */
    char events[PATH_MAX];          /* <run>/events.log (agent L lines) */
    char hostdlog[PATH_MAX];        /* <run>/hostd.log */
    char shm[PATH_MAX];             /* /dev/shm/lamina-<uid>-bulk */
    char qmp[PATH_MAX];             /* <run>/qmp.sock (QEMU's QMP, hostd's) */
};
extern struct lamina_paths lp;

void paths_init(void);

/* hostd.c: a line in <run>/hostd.log. */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* dom0's NIC: QEMU's user-mode network "net0", a virtio-net PCI device in
 * this slot of bus 0 (dom0's agent is told nic=SLOT). */
#define LAMINA_NETDEV   "net0"
#define LAMINA_NIC_SLOT 7
#define LAMINA_NIC_ADDR "0x7"

/* vif.c: a MAC in Xen's 00:16:3e prefix, random below it; the request
 * keys of vif idx with devid handle (vifN=handle:mac:ip:rate_bytes:
 * rate_usec, and fwdM=host:ip:guest per forward) appended at out: 0, or -1
 * if they do not fit in n bytes. */
struct cfg_vif;
void vif_make_mac(unsigned char *mac);
int vif_request_keys(const struct cfg_vif *v, unsigned int idx, unsigned int handle, char *out,
                     size_t n);
/* hostnet.c (hostd only): QEMU user-network port forwards (hostfwd) from
 * 127.0.0.1:host to ip:guest.  add: 0, or -1 with why (the port is in use
 * on the host: says which; QEMU's error).  remove: by host port (0 or -1);
 * remove_ip: every forward to ip.  list: one "host ip:guest" line each. */
int hostnet_forward_add(unsigned int host, const char *ip, unsigned int guest, char *why,
                        size_t n);
int hostnet_forward_remove(unsigned int host);
void hostnet_forward_remove_ip(const char *ip);
size_t hostnet_forward_list(char *out, size_t n);
/* hostdisk.c: an HMP command through QMP's human-monitor-command; its
 * output (unescaped) into out.  0, or -1 (no QMP, or QMP's error). */
int hostdisk_hmp(const char *cmd, char *out, size_t n);

/* hostdisk.c (hostd only): disk images as hot-plugged virtio-blk PCI
 * devices of dom0.  connect: QMP handshake, 0 or -1.  plug: the slot
 * (8-31) the image went into, or -1 with why (sharing refused: an image
 * has one read-write or many read-only users; QEMU's error); shared: the
 * image is also open on another machine (a migration's source), so QEMU
 * takes no lock on it.  unplug:
 * starts removing slot s (0 or unplugged: no-op); dom0 ejects it, QEMU
 * says DEVICE_DELETED, the slot is free.  poll: handles QMP events;
 * fd: the QMP socket for poll(2), or -1. */
int hostdisk_connect(void);
int hostdisk_plug(const char *path, int readonly, int shared, char *why, size_t n);
void hostdisk_unplug(int s);
void hostdisk_poll(void);
int hostdisk_fd(void);
/* err - print "lamina: " fmt to stderr. */
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct lconn {
    int fd;
    uint32_t next_id;
    size_t len;
    char buf[2 * PROTO_LINE_MAX];
    char line[PROTO_LINE_MAX];
};

/* lconn_open - connect to hostd.  Returns 0, or -1 (the machine is not up;
 * the message is printed unless quiet). */
int lconn_open(struct lconn *c, int quiet);
void lconn_close(struct lconn *c);
/* lconn_send - send "<id> " fmt "\n"; the new id is stored in *id.
 * Returns 0 or -1 (hostd gone). */
int lconn_send(struct lconn *c, uint32_t *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* lconn_next - the next line from hostd parsed into *m.  Returns 1, 0 on
 * timeout (timeout_ms < 0: wait forever), -1 when hostd closed. */
int lconn_next(struct lconn *c, struct msg *m, int timeout_ms);

/* A record callback: returns 0 to continue. */
typedef int (*rec_fn)(void *ctx, const struct msg *m);
/*
 * lamina_call - send a request and collect its answer: each R record goes to
 * fn (may be NULL), C lines to cfn (may be NULL).  what names the command in
 * error messages ("lamina: WHAT: message").  Returns 0 when the request
 * finished (K), 1 after printing an error (E, timeout, hostd gone).
 * The last E's errno name is left in lamina_errno.
 */
int lamina_call(struct lconn *c, const char *what, rec_fn fn, rec_fn cfn, void *ctx,
                int timeout_ms, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
extern char lamina_errno[32];

/* machine_run_dir - the run directory of the machine NAME: <base>/machines/NAME
 * (`lamina up --name NAME`, LAMINA_MACHINE=NAME), or NAME itself when it has
 * a '/'.  0, or -1 when it does not fit in n bytes.  machine_name_ok: NAME
 * is 1-32 of [A-Za-z0-9_-]. */
int machine_run_dir(const char *name, char *out, size_t n);
int machine_name_ok(const char *name);
/* lconn_open_sock - connect to the hostd listening on sock (another
 * machine's): 0, or -1 with errno, nothing printed. */
int lconn_open_sock(struct lconn *c, const char *sock);

/* machine_get - a value of <run>/machine ("accel", "memory", ...) or NULL. */
const char *machine_get(const char *key);
/* qemu_pid - the running QEMU's pid, or 0 when it is not running. */
int qemu_pid_recorded(void);     /* qemu.pid's value, alive or not (0: none) */
int qemu_pid(void);

/* resolve_domain - id of a domain given by name or id, via `list`.
 * Returns the id, or -1 after printing "no domain named ..." etc. */
long resolve_domain(struct lconn *c, const char *what, const char *dom);

/* ---- command handlers --------------------------------------------------- */
int cmd_up(struct inv *iv);
int cmd_down(struct inv *iv);
int cmd_hostd(struct inv *iv);
int cmd_create(struct inv *iv);
int cmd_list(struct inv *iv);
int cmd_domop(struct inv *iv);      /* pause unpause shutdown reboot destroy */
int cmd_save(struct inv *iv);       /* save.c */
int cmd_domid(struct inv *iv);      /* domain.c: xl's small queries */
int cmd_domname(struct inv *iv);
int cmd_uptime(struct inv *iv);
int cmd_vcpu_list(struct inv *iv);
int cmd_sched_credit(struct inv *iv);
int cmd_mem_set(struct inv *iv);

/* One domain of the agent's `list` (domain.c). */
struct dom_row {
    long id;
    char name[64], state[8], type[16];
    unsigned long mem_kib, max_kib, vcpus;
    unsigned long long cpu_ns;
    long long uptime_ms;                /* -1: unknown (not the toolstack's) */
};

struct dom_list {
    int n;
    struct dom_row rows[256];
};

/* fetch_list - the agent's domain list into *l (a struct dom_list); 0, or
 * 1 with the error printed under `what`. */
int fetch_list(struct lconn *c, const char *what, void *l);
int cmd_migrate(struct inv *iv);
int cmd_remus(struct inv *iv);
/* migrate.c: a stream from this machine to another (migrate, remus).
 * peer_open - DOM (pos[0]) and MACHINE (pos[1]) checked, both hostds
 * connected (a: this machine, b: MACHINE), DOM's CONFIG as create's
 * arguments, its host forwards, and a FIFO made in MACHINE's run
 * directory; 0, or the exit status after printing why (what: the
 * command).  peer_move_forwards - the forwards ("HOST:IP:PORT" lines,
 * consumed) removed on a (NULL: nothing to remove) and added on b. */
struct peer {
    const char *dom, *target;
    struct lconn a, b;
    char denc[256], fifo[PATH_MAX + 64], fenc[3 * (PATH_MAX + 64)];
    char args[12288], fwds[1024], name[256];
};
int peer_open(struct inv *iv, const char *what, struct peer *p);
void peer_move_forwards(struct lconn *a, struct lconn *b, char *fwds, const char *target);
/* save.c: config_args - a CONFIG record's lines (docs/save-format.md) as
 * create's arguments (" key=value..."; disks as hostd's diskN=) into out,
 * the domain's (encoded) name into name; 0, or -1 with e (a corrupt line).
 * domain_forwards - the host forwards to DOM's vifs as "HOST:IP:PORT\n"
 * lines; 0, or -1 after printing the error (what: the command). */
int config_args(const char *cfg, char *out, size_t n, char *name, size_t nn, char *e, size_t en);
struct lconn;
int domain_forwards(struct lconn *c, const char *what, const char *dom_enc, char *out, size_t n);
int cmd_snapshot(struct inv *iv);
int cmd_snapshot_list(struct inv *iv);
int cmd_snapshot_revert(struct inv *iv);
int cmd_snapshot_delete(struct inv *iv);
int cmd_restore(struct inv *iv);
int cmd_console(struct inv *iv);
int cmd_dmesg(struct inv *iv);
int cmd_info(struct inv *iv);
int cmd_block_list(struct inv *iv);
int cmd_block_attach(struct inv *iv);
int cmd_block_detach(struct inv *iv);
int cmd_network_list(struct inv *iv);
int cmd_network_attach(struct inv *iv);
int cmd_network_detach(struct inv *iv);
int cmd_forward(struct inv *iv);
int cmd_top(struct inv *iv);
int cmd_bench_channel(struct inv *iv);

#endif
