/*
 * hostdisk.c - hostd's half of virtual disks: each disk image a domain
 * uses becomes a virtio-blk PCI device that QEMU gives dom0 (hot-plugged
 * through QMP, <run>/qmp.sock), in a slot of bus 0 that dom0's blkback
 * then serves (docs/block.md).  Who may use an image: any number of
 * read-only users, or one read-write user.
 *
 * Slot life: free -> plugged (blockdev-add raw node "vbd-sN" over the
 * file, device_add virtio-blk-pci id "vbd-sN" addr=N, legacy, 1024-entry
 * queue) -> unplugging (device_del: QEMU raises an ACPI hot-unplug request
 * that dom0's agent answers by ejecting the slot once blkback let go of
 * it) -> DEVICE_DELETED -> blockdev-del -> free.
 *
 * Runs on the host inside `lamina hostd` (one thread).
 */
#define _GNU_SOURCE
#include "lamina.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FIRST_SLOT 8            /* 0-7: the machine's own devices */
#define LAST_SLOT  31
#define QMP_TIMEOUT_MS 5000

enum slot_state { S_FREE, S_PLUGGED, S_UNPLUGGING };

static struct {
    int state;
    int readonly;
    char path[PATH_MAX];
} slots[LAST_SLOT + 1];

static int qmp_fd = -1;
static char qbuf[65536];
static size_t qlen;

static void qmp_event(const char *line);

/* One line (a JSON object) from QMP into out, waiting up to ms. */
static int qmp_read_line(char *out, size_t n, int ms)
{
    for (;;) {
        char *nl = memchr(qbuf, '\n', qlen);
        if (nl) {
            size_t l = (size_t)(nl - qbuf);
            snprintf(out, n, "%.*s", (int)l, qbuf);
            memmove(qbuf, nl + 1, qlen - l - 1);
            qlen -= l + 1;
            return 0;
        }
        struct pollfd pf = { qmp_fd, POLLIN, 0 };
        if (poll(&pf, 1, ms) <= 0)
            return -1;
        ssize_t got = read(qmp_fd, qbuf + qlen, sizeof(qbuf) - qlen - 1);
        if (got <= 0) {
            close(qmp_fd);
            qmp_fd = -1;
            return -1;
        }
        qlen += (size_t)got;
        if (qlen == sizeof(qbuf) - 1)
            qlen = 0;                   /* a line that long is not QMP's */
    }
}

/* Sends one command; returns 0 with the reply line in reply, or -1 with
 * QMP's error text (or why there was none) in reply. */
static int qmp_cmd(char *reply, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int qmp_cmd(char *reply, size_t n, const char *fmt, ...)
{
    char cmd[PATH_MAX * 2 + 512];
    va_list ap;

    if (qmp_fd < 0 && hostdisk_connect() < 0) {
        snprintf(reply, n, "QEMU's QMP socket is not reachable");
        return -1;
    }
    va_start(ap, fmt);
    int l = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
    va_end(ap);
    if (l < 0 || (size_t)l >= sizeof(cmd) - 1) {
        snprintf(reply, n, "QMP command too long");
        return -1;
    }
    cmd[l++] = '\n';
    if (write(qmp_fd, cmd, (size_t)l) != l) {
        snprintf(reply, n, "QMP write failed");
        return -1;
    }
    for (;;) {
        if (qmp_read_line(reply, n, QMP_TIMEOUT_MS) < 0) {
            snprintf(reply, n, "no answer from QMP");
            return -1;
        }
        if (strstr(reply, "\"event\"")) {
            qmp_event(reply);
            continue;
        }
        if (strstr(reply, "\"return\""))
            return 0;
        char *d = strstr(reply, "\"desc\": \"");
        if (d) {
            char *e = strchr(d + 9, '"');
            if (e)
                *e = 0;
            memmove(reply, d + 9, strlen(d + 9) + 1);
        }
        return -1;
    }
}

int hostdisk_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[4096];

    if (qmp_fd >= 0)
        return 0;
    if (strlen(lp.qmp) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, lp.qmp, strlen(lp.qmp) + 1);
    qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (qmp_fd < 0 || connect(qmp_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (qmp_fd >= 0)
            close(qmp_fd);
        qmp_fd = -1;
        return -1;
    }
    qlen = 0;
    if (qmp_read_line(line, sizeof(line), QMP_TIMEOUT_MS) < 0 || !strstr(line, "QMP")) {
        close(qmp_fd);
        qmp_fd = -1;
        return -1;
    }
    if (qmp_cmd(line, sizeof(line), "{\"execute\":\"qmp_capabilities\"}") < 0) {
        close(qmp_fd);
        qmp_fd = -1;
        return -1;
    }
    return 0;
}

int hostdisk_fd(void)
{
    return qmp_fd;
}

static void slot_released(int s)
{
    char r[1024];

    if (qmp_cmd(r, sizeof(r), "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
                              "\"vbd-s%d\"}}", s) < 0)
        logmsg("disk: blockdev-del vbd-s%d: %s", s, r);
    logmsg("disk: slot %d free (%s)", s, slots[s].path);
    slots[s].state = S_FREE;
    slots[s].path[0] = 0;
}

static void qmp_event(const char *line)
{
    const char *p = strstr(line, "\"DEVICE_DELETED\"");
    const char *d = p ? strstr(line, "\"device\": \"vbd-s") : NULL;

    if (!d)
        return;
    int s = atoi(d + 16);
    if (s >= FIRST_SLOT && s <= LAST_SLOT && slots[s].state == S_UNPLUGGING)
        slot_released(s);
}

void hostdisk_poll(void)
{
    char line[4096];

    while (qmp_fd >= 0 && qmp_read_line(line, sizeof(line), 0) == 0)
        qmp_event(line);
}

/* JSON string escaping of a path (quotes and backslashes). */
static void json_str(char *out, size_t n, const char *s)
{
    size_t o = 0;

    for (; *s && o + 3 < n; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = 0;
}

/* Waits up to ms for the slots being unplugged that hold path to be
 * released (a domain destroyed just before, e.g. by `save`, whose image
 * `restore` plugs again). */
static void wait_unplugged(const char *path, int ms)
{
    char line[4096];

    for (int waited = 0; waited < ms; waited += 50) {
        int busy = 0;
        for (int s = FIRST_SLOT; s <= LAST_SLOT; s++)
            busy |= slots[s].state == S_UNPLUGGING && !strcmp(slots[s].path, path);
        if (!busy || qmp_fd < 0)
            return;
        if (qmp_read_line(line, sizeof(line), 50) == 0)
            qmp_event(line);
    }
}

int hostdisk_plug(const char *path, int readonly, int shared, char *why, size_t n)
{
    char r[1024], jpath[PATH_MAX * 2];
    int s, free_s = -1;

    wait_unplugged(path, 5000);

    for (s = FIRST_SLOT; s <= LAST_SLOT; s++) {
        if (slots[s].state == S_FREE) {
            if (free_s < 0)
                free_s = s;
            continue;
        }
        if (strcmp(slots[s].path, path))
            continue;
        if (!readonly || !slots[s].readonly) {
            snprintf(why, n, "%s is in use %s by another disk; an image may have one "
                     "read-write user or any number of read-only ones (use access=ro, or "
                     "give this domain its own copy)", path,
                     slots[s].readonly ? "read-only" : "read-write");
            return -1;
        }
    }
    if (free_s < 0) {
        snprintf(why, n, "all %d disk slots of the machine are in use", LAST_SLOT - FIRST_SLOT + 1);
        return -1;
    }
    s = free_s;
    json_str(jpath, sizeof(jpath), path);
    if (qmp_cmd(r, sizeof(r),
                "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\","
                "\"node-name\":\"vbd-s%d\",\"read-only\":%s,\"file\":{\"driver\":\"file\","
                "\"filename\":\"%s\"%s}}}", s, readonly ? "true" : "false", jpath,
                shared ? ",\"locking\":\"off\"" : "") < 0) {
        snprintf(why, n, "QEMU cannot open %s: %s", path, r);
        return -1;
    }
    if (qmp_cmd(r, sizeof(r),
                "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\","
                "\"id\":\"vbd-s%d\",\"drive\":\"vbd-s%d\",\"addr\":\"0x%x\","
                "\"disable-modern\":true,\"queue-size\":1024}}", s, s, s) < 0) {
        snprintf(why, n, "QEMU cannot add the disk device for %s: %s", path, r);
        (void)qmp_cmd(r, sizeof(r), "{\"execute\":\"blockdev-del\",\"arguments\":"
                                    "{\"node-name\":\"vbd-s%d\"}}", s);
        return -1;
    }
    slots[s].state = S_PLUGGED;
    slots[s].readonly = readonly;
    snprintf(slots[s].path, sizeof(slots[s].path), "%s", path);
    logmsg("disk: %s (%s) in slot %d", path, readonly ? "ro" : "rw", s);
    return s;
}

void hostdisk_unplug(int s)
{
    char r[1024];

    if (s < FIRST_SLOT || s > LAST_SLOT || slots[s].state != S_PLUGGED)
        return;
    if (qmp_cmd(r, sizeof(r), "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"vbd-s%d\"}}",
                s) < 0) {
        logmsg("disk: device_del vbd-s%d: %s", s, r);
        if (strstr(r, "not found"))
            slot_released(s);
        return;
    }
    slots[s].state = S_UNPLUGGING;
    logmsg("disk: unplugging slot %d (%s)", s, slots[s].path);
}

int hostdisk_hmp(const char *cmd, char *out, size_t n)
{
    char reply[4096], arg[512];

    json_str(arg, sizeof(arg), cmd);
    if (qmp_cmd(reply, sizeof(reply),
                "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"%s\"}}",
                arg) < 0) {
        snprintf(out, n, "%s", reply);
        return -1;
    }
    /* {"return": "text\r\n"}: the text, unescaped. */
    const char *p = strstr(reply, "\"return\": \"");
    size_t k = 0;
    for (p = p ? p + 11 : ""; *p && *p != '"' && k + 1 < n; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            out[k++] = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
        } else {
            out[k++] = *p;
        }
    }
    if (n)
        out[k] = 0;
    return 0;
}
