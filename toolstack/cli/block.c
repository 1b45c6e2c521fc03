/*
 * block.c - `lamina block-list DOM`, `block-attach DOM SPEC`,
 * `block-detach DOM VDEV` (xl's words): a domain's virtual disks.  The
 * image of an attach is checked here (it exists, opens as its access says),
 * plugged into a PCI slot by hostd, and served to the domain by blkback in
 * dom0; the guest's blkfront finds it under device/vbd/<devid>.  Runs on
 * the host.
 */
#include "cfg.h"
#include "lamina.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const state_names[] = {
    "Unknown", "Initialising", "InitWait", "Initialised", "Connected",
    "Closing", "Closed", "Reconfiguring", "Reconfigured",
};

static int list_rec(void *ctx, const struct msg *m)
{
    int *n = ctx;
    const char *v = msg_get(m, "vdev"), *st = msg_get(m, "state");
    unsigned long s = st ? strtoul(st, NULL, 10) : 0;

    if (!v)
        return 0;
    if (!(*n)++)
        printf("%-6s %-6s %-4s %-12s %10s %8s %6s %s\n", "Vdev", "Devid", "Mode", "State",
               "Sectors", "Reqs", "Errors", "Target");
    printf("%-6s %-6s %-4s %-12s %10s %8s %6s %s\n", v, msg_get(m, "devid") ?: "?",
           msg_get(m, "mode") ?: "?", s < 9 ? state_names[s] : "?", msg_get(m, "sectors") ?: "?",
           msg_get(m, "reqs") ?: "?", msg_get(m, "errors") ?: "?", msg_get(m, "target") ?: "");
    return 0;
}

int cmd_block_list(struct inv *iv)
{
    struct lconn c;
    char dom[256];
    int n = 0;

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "block-list", list_rec, NULL, &n, 30000, "block-list dom=%s", dom))
        return EXIT_FAIL;
    if (!n)
        printf("domain %s has no disks\n", iv->pos[0]);
    return EXIT_OK;
}

int cmd_block_attach(struct inv *iv)
{
    struct cfg_disk d;
    char e[1024], abs[PATH_MAX], dom[256], spec[PATH_MAX + 32], enc[PATH_MAX * 3 + 32];
    struct stat st;
    int fd;

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (cfg_parse_disk(iv->pos[1], ".", &d, e, sizeof(e))) {
        err("block-attach: %s", e);
        return EXIT_FAIL;
    }
    if (!realpath(d.target, abs) || stat(abs, &st) < 0 || !S_ISREG(st.st_mode)) {
        err("block-attach: cannot find image %s (%s); give an existing raw image file",
            d.target, strerror(errno));
        return EXIT_FAIL;
    }
    if ((fd = open(abs, d.readonly ? O_RDONLY : O_RDWR)) < 0) {
        err("block-attach: cannot open %s for %s (%s)", abs, d.readonly ? "reading" : "writing",
            strerror(errno));
        return EXIT_FAIL;
    }
    close(fd);
    snprintf(spec, sizeof(spec), "%u:%c:%s", d.devid, d.readonly ? 'r' : 'w', abs);
    if (pct_encode(spec, strlen(spec), enc, sizeof(enc)) < 0) {
        err("block-attach: path too long");
        return EXIT_FAIL;
    }
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "block-attach", NULL, NULL, NULL, 30000, "block-attach dom=%s disk0=%s",
                    dom, enc))
        return EXIT_FAIL;
    printf("Attached %s (%s, %s) to %s\n", d.vdev, abs, d.readonly ? "ro" : "rw", iv->pos[0]);
    return EXIT_OK;
}

int cmd_block_detach(struct inv *iv)
{
    const char *v = iv->pos[1];
    char dom[256];
    unsigned int devid;

    if (pct_encode(iv->pos[0], strlen(iv->pos[0]), dom, sizeof(dom)) < 0)
        return usage_error(iv, "domain name too long");
    if (strlen(v) == 4 && !strncmp(v, "xvd", 3) && v[3] >= 'a' && v[3] <= 'p')
        devid = 202u << 8 | (unsigned int)(v[3] - 'a') << 4;
    else if (strspn(v, "0123456789") == strlen(v) && *v)
        devid = (unsigned int)strtoul(v, NULL, 10);
    else
        return usage_error(iv, "the disk is a vdev (xvda .. xvdp) or a device number (51712)");
    struct lconn c;
    if (lconn_open(&c, 0))
        return EXIT_FAIL;
    if (lamina_call(&c, "block-detach", NULL, NULL, NULL, 30000, "block-detach dom=%s devid=%u",
                    dom, devid))
        return EXIT_FAIL;
    printf("Detached %s from %s\n", v, iv->pos[0]);
    return EXIT_OK;
}
