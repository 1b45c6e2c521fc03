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

enum cfg_on_crash { CFG_CRASH_DESTROY, CFG_CRASH_RESTART, CFG_CRASH_PRESERVE };

#define CFG_NAME_MAX    64
#define CFG_PATH_MAX    4096
#define CFG_CMDLINE_MAX 1024

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
};

/*
 * cfg_parse - parse buf[0..len) (need not be NUL-terminated).
 * file: the name used in error messages ("FILE:LINE: ...").
 * dir:  the directory relative kernel paths are joined to (NULL or "" keeps
 *       them as written).
 * Returns 0 and fills *out, or -1 with a one-line message in err[errlen]
 * naming FILE:LINE, what is wrong and what to do.
 */
int cfg_parse(const char *buf, size_t len, const char *file, const char *dir,
              struct lamina_cfg *out, char *err, size_t errlen);

/* cfg_on_crash_name - "destroy", "restart" or "preserve". */
const char *cfg_on_crash_name(enum cfg_on_crash c);

/* cfg_edit_distance - Levenshtein distance of a and b (for "did you mean"). */
unsigned int cfg_edit_distance(const char *a, const char *b);

#endif
