/*
 * hostd.h - what hostd.c lends the files that serve some of its requests
 * (hostd_save.c): the request table, the answers to clients, the lines to
 * the agent and the key=value helpers.  Runs on the host, inside
 * `lamina hostd` (one thread).
 */
#ifndef LAMINA_HOSTD_H
#define LAMINA_HOSTD_H

#include <limits.h>
#include <stdint.h>
#include "savefile.h"

/* What a request forwarded to the agent is waiting for. */
enum pkind { P_PLAIN, P_ATTACH, P_DETACH, P_BULK, P_SAVE, P_SAVE_END };

/* One request forwarded to the agent under hostd's id gid. */
struct pending {
    uint32_t gid;                   /* 0: free slot */
    int client;                     /* index, or -1 when nobody waits */
    uint32_t cid;
    enum pkind kind;
    int dom;
    int disk_slot[4];               /* slots plugged for this request (0: none) */
    unsigned int fwd[16];           /* host ports forwarded for it (0: none) */
    int unplug_after;               /* unplug them when it ends, however */
    char dom_arg[80];               /* P_SAVE: the dom= it was given */
    int live;                       /* P_SAVE: live=1 (the domain runs on) */
    int migrate;                    /* P_SAVE: stream=1, a migration's pre-copy */
    int remus;                      /* P_SAVE: a Remus replication (`remus`) */
    char fail_msg[300];             /* P_SAVE_END commit=0: why, encoded */
    char file_enc[PATH_MAX * 3];    /* P_SAVE: the file, percent-encoded */
    int hold;                       /* P_SAVE: a snapshot: copy the disks while the
                                     * domain is suspended, then resume it */
    char copies[2 * PATH_MAX];      /* P_SAVE hold: "src\tdst\n" lines */
};

/* A new request slot for client ci's request cid: its gid, or 0 when the
 * table is full. */
uint32_t new_pending(int ci, uint32_t cid, enum pkind kind, int dom);
/* The request gid, or NULL. */
struct pending *find_pending(uint32_t gid);
/* A line to client ci (dropped when it is gone). */
void client_send(int ci, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<gid> <cmd> <rest>" to the agent. */
void agent_send(uint32_t gid, const char *cmd, const char *rest);
/* key=value in rest: kv_take removes it, kv_peek leaves it; the raw
 * (still percent-encoded) value into val.  0, or -1 when absent. */
int kv_take(char *rest, const char *key, char *val, size_t vlen);
int kv_peek(const char *rest, const char *key, char *val, size_t vlen);
/* The bulk file's header (mapped by hostd at start). */
struct lamina_bulk_hdr *hostd_bulk_hdr(void);

/* hostd_save.c: `save dom= file= [live=1]`, or `remus dom= file=FIFO
 * interval=MS` (cmd "remus": the stream stays open until the agent
 * answers), from client ci. */
void client_save(int ci, uint32_t cid, const char *cmd, char *rest);
/* hostd_save.c: the save stream could not be written (the reader went):
 * a replication is told to stop (once). */
void save_stream_failed(void);
/* hostd_save.c: an agent's K or E for a P_SAVE or P_SAVE_END request;
 * true when it answered the client itself (the caller then forgets p). */
int save_answer(struct pending *p, char kind);
/* What ends the agent's log line for a crashed on_crash=restore domain,
 * followed by the checkpoint's host path. */
#define CRASH_RESTORE_TAG "crashed; restoring its last checkpoint from "
/* hostd_save.c: runs `lamina restore PATH` in a child (its output goes to
 * hostd's log); crash_restore_reap() logs how the children ended, from the
 * main loop. */
void crash_restore_spawn(const char *path);
void crash_restore_reap(void);

#endif /* LAMINA_HOSTD_H */
