/*
 * savefile.h - Lamina save files on the host (docs/save-format.md): the
 * bulk ring's header as both ends see it, hostd's writer of a save stream
 * coming from dom0, and the checks a file passes before `restore` sends
 * it to dom0.  Runs on the host (hostd and the CLI).
 */
#ifndef LAMINA_SAVEFILE_H
#define LAMINA_SAVEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ivshmem file behind the bulk rings (docs/toolstack.md section 5). */
#define BULK_FILE_BYTES (32u << 20)
#define BULK_DATA_OFF   4096u
#define BULK_IN_SIZE    (8u << 20)      /* host -> dom0 data area */
#define BULK_OUT_OFF    (16u << 20)     /* dom0 -> host data area */
#define BULK_OUT_SIZE   (16u << 20)

struct lamina_bulk_hdr {
    char magic[8];                      /* "LAMBULK1" */
    uint32_t size;                      /* host -> dom0 data bytes */
    uint32_t pad;
    volatile uint32_t prod, cons;       /* host -> dom0 indices */
    uint32_t out_off, out_size;         /* dom0 -> host data area */
    volatile uint32_t out_prod, out_cons;
    volatile uint32_t eof;              /* the host -> dom0 source ended */
};

/* The stream's framing (toolstack/libxc/xc_sr.h has the whole list). */
#define SF_MAGIC        "LAMINASR"
#define SF_VERSION      1
#define SF_HDR_BYTES    32              /* struct lsr_header */
#define SF_REC_DOMAIN   1
#define SF_REC_CONFIG   2
#define SF_REC_END      0
#define SF_REC_CHECKSUM 0xffffu
#define SF_REC_HOST_FORWARDS 0x8001u    /* after END: "HOST:IP:PORT\n" lines, hostd's */
#define SF_TRAILER      24              /* the checksum record: 8 + 16 bytes */

/* ---- writing (hostd) ------------------------------------------------------ */

/* Starts writing the stream dom0 will produce into path (through
 * path.tmp until save_stream_end).  0, or -1 with err set. */
int save_stream_begin(struct lamina_bulk_hdr *h, const char *path, char *err, size_t n);
/* save_stream_begin() into the FIFO at path (a migration's stream, read
 * by the target machine's hostd): no temporary file, checksum or rename;
 * writes block while the reader is behind, and end closes the FIFO.  0,
 * or -1 with err (nobody opened the FIFO for reading within 5 s). */
int save_stream_begin_fifo(struct lamina_bulk_hdr *h, const char *path, char *err, size_t n);
/* True between begin and end. */
bool save_stream_active(void);
/* Moves what dom0 produced into the file; -1 when writing failed (the
 * stream is then abandoned: end reports it). */
int save_stream_pump(void);
/* Ends the stream.  ok (dom0 answered K): the rest is drained, the
 * checksum record appended, the file synced and renamed into place; 0, or
 * -1 with err (the temporary file is removed).  !ok: the file is removed. */
int save_stream_end(bool ok, uint64_t *bytes, char *err, size_t n);
/* The host's forwards of the domain being saved ("HOST:IP:PORT" lines,
 * may be empty): save_stream_end writes them as a HOST_FORWARDS record
 * after dom0's END, inside the checksum. */
void save_stream_set_forwards(const char *lines);

/* ---- reading (the CLI) ---------------------------------------------------- */

/* What a save file says about its domain. */
struct save_info {
    uint64_t file_bytes;                /* the whole file */
    uint64_t stream_bytes;              /* what is sent to dom0 (without the trailer) */
    uint64_t nr_pfns;
    uint32_t version, flags, src_domid;
    uint64_t saved_at_ns;
    char config[8192];                  /* the CONFIG record's text */
    char forwards[1024];                /* HOST_FORWARDS: "HOST:IP:PORT\n" lines */
};

/* Checks path (magic, version, every record's framing up to END, the
 * checksum) and fills *si.  0, or -1 with err saying what is wrong
 * (truncated, corrupt, another version...). */
int save_file_check(const char *path, struct save_info *si, char *err, size_t n);

/* copy_image - copies the disk image src to dst (created or truncated,
 * mode 0644), holes kept, then fsync: the disk half of a snapshot and of
 * its revert.  0, or -1 with a message in err (n bytes). */
int copy_image(const char *src, const char *dst, char *err, size_t n);
/* copy_images - copy_image() for each "src\tdst\n" line of lines (changed
 * in place); reverse copies dst to src (a snapshot's revert).  0, or -1
 * at the first failure with its message in err. */
int copy_images(char *lines, bool reverse, char *err, size_t n);

#endif /* LAMINA_SAVEFILE_H */
