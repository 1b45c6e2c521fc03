/*
 * cfg.h - the domain configuration file (an xl.cfg subset) for `lamina create`.
 * Runs on the host.  Pure: parses a buffer, touches no file.
 *
 * Syntax (as xl.cfg): `key = value` statements, one per line (an optional
 * `;` may end one), `#` starts a comment, values are "double" or 'single'
 * quoted strings (escapes \\ \" \' \n \t), decimal or 0x integers, or lists
 * `[ value, ... ]` that may span lines.
 */
#ifndef LAMINA_CFG_H
#define LAMINA_CFG_H

#include <stddef.h>

/* on_crash: xl's destroy, restart and preserve, and restore (the domain's
 * last checkpoint, `lamina save -c`, comes back in its place). */
enum cfg_on_crash { CFG_CRASH_DESTROY, CFG_CRASH_RESTART, CFG_CRASH_PRESERVE, CFG_CRASH_RESTORE };

#define CFG_NAME_MAX    64
#define CFG_PATH_MAX    4096
#define CFG_CMDLINE_MAX 1024

/* One `disk` list entry (xl's docs/xl-disk-configuration.txt): the
 * positional form "target,format,vdev,access" or key=value items
 * (target= last, as in xl).  Only format=raw and vdev xvda..xvdp. */
#define CFG_MAX_DISKS 4
struct cfg_disk {
    char target[CFG_PATH_MAX];      /* joined to the cfg file's directory */
    char vdev[8];                   /* "xvda" */
    unsigned int devid;             /* Xen's device number: 202 << 8 | n << 4 */
    int readonly;                   /* access = ro */
    int line;
};

/* One `vif` list entry (xl's docs/xl-network-configuration.markdown):
 * mac=, bridge= (only xenbr0), ip=, rate= ("100Mb/s", "10MB/s@20ms"),
 * and Lamina's forward=HOSTPORT:GUESTPORT (TCP from 127.0.0.1 on the host
 * to ip:GUESTPORT; needs ip=), up to CFG_MAX_FWDS of them. */
#define CFG_MAX_VIFS 4
#define CFG_MAX_FWDS 4
struct cfg_vif {
    unsigned char mac[6];
    int has_mac;                    /* 0: the toolstack makes one (00:16:3e:..) */
    char ip[20];                    /* "" : DHCP */
    unsigned long long rate_bytes;  /* bytes per rate_usec; 0: unlimited */
    unsigned long long rate_usec;
    unsigned int fwd_host[CFG_MAX_FWDS], fwd_guest[CFG_MAX_FWDS];
    unsigned int nr_fwds;
    int line;
};

/* cfg_parse_vif - parses one vif spec into *v (toolstack/cli/vif.c).
 * 0, or -1 with err saying what is wrong and how to write it. */
int cfg_parse_vif(const char *spec, struct cfg_vif *v, char *err, size_t errlen);

/* A parsed configuration.  Strings are NUL-terminated. */
struct lamina_cfg {
    char name[CFG_NAME_MAX];        /* required: letters, digits, - _ . ; not all digits */
    int unmodified;                 /* type = "unmodified" (1) or "pv" (0, default) */
    char kernel[CFG_PATH_MAX];      /* required; joined to the cfg file's directory
                                       unless absolute */
    int kernel_line;                /* line of the kernel key (for later errors) */
    char cmdline[CFG_CMDLINE_MAX];  /* cmdline (alias extra), default "" */
    unsigned int memory_mib;        /* memory, MiB, default 32 */
    unsigned int vcpus;             /* vcpus, only 1 */
    enum cfg_on_crash on_crash;     /* default destroy */
    struct cfg_disk disk[CFG_MAX_DISKS];
    unsigned int nr_disks;
    struct cfg_vif vif[CFG_MAX_VIFS];
    unsigned int nr_vifs;
    char ignored[512];              /* xl keys parsed but not acted on, "key (line N), ..." */
};

/*
 * cfg_parse_disk - one disk spec (the string of a `disk` list entry, or
 * of `lamina block-attach`) into *d; dir joins a relative target.
 * Returns 0, or -1 with a message (no FILE:LINE) in err naming the fault
 * and the fix.
 */
int cfg_parse_disk(const char *spec, const char *dir, struct cfg_disk *d, char *err,
                   size_t errlen);

/*
 * cfg_parse - parse buf[0..len) (need not be NUL-terminated).
 * file: the name used in error messages ("FILE:LINE: ...").
 * dir:  the directory relative kernel paths are joined to (NULL or "" keeps
 *       them as written).
 * Returns 0 and fills *out, or -1 with a one-line message in err[errlen]
 * naming FILE:LINE, what is wrong and what to do.
 */
/*
 * cfg_parse_overrides - cfg_parse of buf followed by nkv "KEY=VALUE"
 * arguments (xl create's overrides: each one cfg line, overriding what
 * the file set; errors name "command line argument N").  Same returns.
 */
int cfg_parse_overrides(const char *buf, size_t len, const char *const *kv, int nkv,
                        const char *file, const char *dir, struct lamina_cfg *out, char *err,
                        size_t errlen);

int cfg_parse(const char *buf, size_t len, const char *file, const char *dir,
              struct lamina_cfg *out, char *err, size_t errlen);

/* cfg_trim - s without leading and trailing white space (in place). */
char *cfg_trim(char *s);

/* cfg_on_crash_name - "destroy", "restart", "preserve" or "restore". */
const char *cfg_on_crash_name(enum cfg_on_crash c);

/* cfg_edit_distance - Levenshtein distance of a and b (for "did you mean"). */
unsigned int cfg_edit_distance(const char *a, const char *b);

#endif
