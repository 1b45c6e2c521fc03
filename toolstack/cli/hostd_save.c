/*
 * hostd_save.c - hostd's part of `lamina save` (docs/save-format.md): the
 * request is forwarded without file=, what dom0 writes on the dom0 -> host
 * ring goes into FILE.tmp (savefile.c), and when dom0 has streamed it all
 * (K) the file is finished and dom0 told to destroy the domain
 * (save-end commit=1) or, if the file could not be written, to resume it
 * (commit=0).  A checkpoint (live=1) never waits: the domain runs on.
 * Runs on the host, inside `lamina hostd` (one thread).
 */
#define _GNU_SOURCE
#include "lamina.h"
#include "hostd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The replication whose stream this hostd writes (0: none), and whether
 * its agent was told that the stream failed. */
static uint32_t remus_gid;
static int remus_told;

void save_stream_failed(void)
{
    struct pending *p = remus_gid ? find_pending(remus_gid) : NULL;
    if (!p || remus_told)
        return;
    remus_told = 1;
    uint32_t gid = new_pending(-1, 0, P_PLAIN, -1);
    char args[sizeof(p->dom_arg) + 96];
    snprintf(args, sizeof(args), "dom=%s why=the%%20backup%%20stopped%%20reading%%20the%%20"
             "stream", p->dom_arg);
    if (gid)
        agent_send(gid, "remus-stop", args);
    logmsg("remus: the stream to the backup failed; replication stopped");
}

void client_save(int ci, uint32_t cid, const char *cmd, char *rest)
{
    int remus = !strcmp(cmd, "remus");
    char enc[PATH_MAX * 3], path[PATH_MAX], err[256], eenc[800];
    if (kv_take(rest, "file", enc, sizeof(enc)) < 0 || pct_decode(enc, path, sizeof(path)) < 0 ||
        path[0] != '/') {
        client_send(ci, "E %u EINVAL save%%20through%%20hostd%%20needs%%20file=<absolute%%20"
                    "path>\n", cid);
        return;
    }
    /* stream=1: a migration; file= is the FIFO the target's hostd reads. */
    char sv[8] = "";
    int stream = (kv_take(rest, "stream", sv, sizeof(sv)) == 0 && !strcmp(sv, "1")) || remus;
    if ((stream ? save_stream_begin_fifo(hostd_bulk_hdr(), path, err, sizeof(err))
                : save_stream_begin(hostd_bulk_hdr(), path, err, sizeof(err))) < 0) {
        pct_encode(err, strlen(err), eenc, sizeof(eenc));
        client_send(ci, "E %u EBUSY %s\n", cid, eenc);
        return;
    }
    char dom[80] = "", fenc[1024 * 3] = "", fwds[1024] = "";
    (void)kv_peek(rest, "dom", dom, sizeof(dom));
    if (kv_take(rest, "fwds", fenc, sizeof(fenc)) == 0 && pct_decode(fenc, fwds, sizeof(fwds)) >= 0)
        save_stream_set_forwards(fwds);
    char hold[8] = "", cenc[sizeof(((struct pending *)0)->copies) * 3] = "";
    (void)kv_take(rest, "hold", hold, sizeof(hold));
    (void)kv_take(rest, "copies", cenc, sizeof(cenc));
    uint32_t gid = new_pending(ci, cid, P_SAVE, -1);
    char lv[8] = "";
    if (gid && !strcmp(hold, "1")) {
        find_pending(gid)->hold = 1;
        if (pct_decode(cenc, find_pending(gid)->copies, sizeof(find_pending(gid)->copies)) < 0)
            find_pending(gid)->copies[0] = 0;
    }
    if (gid) {
        snprintf(find_pending(gid)->dom_arg, sizeof(find_pending(gid)->dom_arg), "%s", dom);
        snprintf(find_pending(gid)->file_enc, sizeof(find_pending(gid)->file_enc), "%s", enc);
        find_pending(gid)->live = kv_peek(rest, "live", lv, sizeof(lv)) == 0 && !strcmp(lv, "1");
        find_pending(gid)->migrate = stream;
        find_pending(gid)->remus = remus;
        if (remus) {
            remus_gid = gid;
            remus_told = 0;
        }
    }
    if (!gid) {
        uint64_t b;
        (void)save_stream_end(false, &b, err, sizeof(err));
        client_send(ci, "E %u EBUSY too%%20many%%20requests\n", cid);
        return;
    }
    logmsg("%s: into %s (request %u)", remus ? "remus" : stream ? "migrate" : "save", path, gid);
    agent_send(gid, remus ? "remus" : "save", rest);
}

int save_answer(struct pending *p, char kind)
{
    if (p->kind == P_SAVE && p->remus) {
        /* The replication ended (K: stopped; E: failed or never began). */
        char err[256];
        uint64_t bytes;
        (void)save_stream_end(kind == 'K', &bytes, err, sizeof(err));
        logmsg("remus: ended (%s), %llu bytes sent", kind == 'K' ? "stopped" : "failed",
               (unsigned long long)bytes);
        if (remus_gid == p->gid)
            remus_gid = 0;
        return 0;
    }
    if (p->kind == P_SAVE) {
        /* The stream is done (K) or dom0 gave up (E, and resumed the
         * domain).  After K the domain waits, suspended, for the file:
         * save-end commit=1 destroys it, commit=0 resumes it. */
        char err[256];
        uint64_t bytes;
        int wrote = save_stream_end(kind == 'K', &bytes, err, sizeof(err)) == 0;
        logmsg("save: %s, %llu bytes", kind != 'K' ? "failed" : wrote ? "written" : err,
               (unsigned long long)bytes);
        /* A migration: the domain waits, suspended, for the CLI's
         * save-end once the target has it (commit=1) or has failed. */
        if (kind == 'K' && p->migrate && wrote)
            return 0;
        if (kind == 'K' && p->live && wrote) {
            /* The domain's last checkpoint, for on_crash=restore; nobody
             * waits for the answer. */
            uint32_t gid = new_pending(-1, 0, P_PLAIN, -1);
            char args[sizeof(p->dom_arg) + sizeof(p->file_enc) + 16];
            snprintf(args, sizeof(args), "dom=%s file=%s", p->dom_arg, p->file_enc);
            if (gid)
                agent_send(gid, "checkpoint-kept", args);
        }
        if (kind == 'K' && p->live && !wrote) {
            pct_encode(err, strlen(err), p->fail_msg, sizeof(p->fail_msg));
            if (p->client >= 0)
                client_send(p->client, "E %u EIO %s;%%20the%%20domain%%20runs%%20on\n", p->cid,
                            p->fail_msg);
            return 1;
        }
        if (kind == 'K' && !p->live) {
            uint32_t gid = new_pending(p->client, p->cid, P_SAVE_END, -1);
            char args[200];
            /* A snapshot: the disks are copied while the domain waits
             * suspended, then it resumes (commit=0) whatever happened. */
            if (p->hold && wrote && copy_images(p->copies, false, err, sizeof(err)) < 0)
                wrote = 0;
            if (p->hold && wrote)
                logmsg("snapshot: disks copied");
            snprintf(args, sizeof(args), "dom=%s commit=%d", p->dom_arg, p->hold ? 0 : wrote);
            if (gid) {
                struct pending *q = find_pending(gid);
                if (!wrote)
                    pct_encode(err, strlen(err), q->fail_msg, sizeof(q->fail_msg));
                agent_send(gid, "save-end", args);
            } else if (p->client >= 0) {
                client_send(p->client, "E %u EBUSY too%%20many%%20requests;%%20the%%20domain%%20"
                            "stays%%20suspended\n", p->cid);
            }
            return 1;
        }
    }
    if (p->kind == P_SAVE_END && kind == 'K' && p->fail_msg[0]) {
        if (p->client >= 0)
            client_send(p->client, "E %u EIO %s;%%20the%%20domain%%20was%%20resumed\n", p->cid,
                        p->fail_msg);
        return 1;
    }
    return 0;
}

void crash_restore_spawn(const char *path)
{
    if (path[0] != '/') {
        logmsg("on_crash=restore: '%s' is not an absolute path; nothing restored", path);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        logmsg("on_crash=restore: cannot find the lamina binary: %s", strerror(errno));
        return;
    }
    self[n] = 0;
    pid_t pid = fork();
    if (pid < 0) {
        logmsg("on_crash=restore: fork: %s; %s not restored", strerror(errno), path);
        return;
    }
    if (pid == 0) {
        dup2(2, 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execl(self, "lamina", "restore", path, (char *)NULL);
        fprintf(stderr, "on_crash=restore: exec %s: %s\n", self, strerror(errno));
        _exit(127);
    }
    logmsg("on_crash=restore: restoring %s (pid %d)", path, (int)pid);
}

void crash_restore_reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        logmsg("on_crash=restore: pid %d %s %d", (int)pid,
               WIFEXITED(st) ? "exited with" : "killed by signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}
