/*
 * xc_sr.h - save and restore of a PV domain (docs/save-format.md): the
 * stream's records and the two directions, after Xen's libxenguest
 * (xc_sr_save_x86_pv.c / xc_sr_restore_x86_pv.c) but in a format of
 * Lamina's own.
 *
 * Runs in dom0 (toolstack agent thread).  The stream is moved by the
 * caller's read/write callbacks (the bulk ring to the host); the host
 * appends the checksum record and checks it before a restore starts, so
 * nothing here checksums.  Everything read back is still checked: a
 * stream is input from a file.
 *
 * Canonical form (as Xen's): page-table entries, the vCPU's CR3s and GDT
 * frames, start_info's store and console frames and the P2M frame list
 * name PFNs, not MFNs; restore maps them onto whatever frames the new
 * domain got.
 */
#ifndef LAMINA_XC_SR_H
#define LAMINA_XC_SR_H

#include "xenctrl.h"

#define LSR_MAGIC       "LAMINASR"
#define LSR_VERSION     1
#define LSR_ALIGN       8           /* record bodies are padded to this */
#define LSR_BATCH       512         /* pages per PAGE_DATA record (at most) */
#define LSR_REC_MAX     (LSR_BATCH * 8 + LSR_BATCH * 4096 + 64)
#define LSR_CONFIG_MAX  8192        /* bytes of the CONFIG record */
#define LSR_IMAGE_MAX   (32u << 20) /* bytes of the IMAGE record */
#define LSR_PFNS_MAX    (1u << 20)  /* 4 GiB of guest memory */
#define INVALID_P2M_ENTRY (~0UL)    /* a P2M slot with no frame (Linux's name) */

/* The first 32 bytes of a stream. */
struct lsr_header {
    char magic[8];              /* LSR_MAGIC */
    uint32_t version;           /* LSR_VERSION */
    uint32_t flags;             /* LSR_F_* */
    uint64_t reserved[2];       /* zero */
};
#define LSR_F_LIVE      1       /* the domain kept running (a snapshot) */
#define LSR_F_MIGRATE   2       /* a live migration's pre-copy: pfns repeat */
#define LSR_F_CHECKPOINTED 4    /* Remus: CHECKPOINT records, END only on a stop */

/* Every record: type, body length in bytes (before padding), body. */
struct lsr_rhdr {
    uint32_t type;
    uint32_t length;
};

enum lsr_type {
    LSR_END          = 0,       /* empty; the stream's last record */
    LSR_DOMAIN       = 1,       /* struct lsr_domain; the first record */
    LSR_CONFIG       = 2,       /* text: the toolstack's key=value lines */
    LSR_IMAGE        = 3,       /* the kernel image, for reboot */
    LSR_PAGE_DATA    = 4,       /* struct lsr_page_data, then the pages */
    LSR_VCPU         = 5,       /* struct lsr_vcpu */
    LSR_SHARED_INFO  = 6,       /* struct lsr_shared_info */
    LSR_START_INFO   = 7,       /* struct lsr_start_info */
    LSR_P2M_FRAMES   = 8,       /* uint64_t PFNs of the guest's P2M pages */
    LSR_EVTCHN       = 9,       /* struct lsr_evtchn[]: informative */
    LSR_GNTTAB       = 10,      /* struct lsr_gnttab: informative */
    LSR_CHECKPOINT   = 11,      /* struct lsr_checkpoint: what came before is one */
    LSR_CHECKSUM     = 0xffff,  /* struct lsr_checksum, written by the host */
};

struct lsr_domain {
    uint32_t guest_type;        /* 0: PV (the only one so far) */
    uint32_t page_shift;        /* 12 */
    uint64_t nr_pfns;           /* the P2M's length (shared_info max_pfn) */
    uint64_t saved_at_ns;       /* dom0 clock at the save, informative */
    uint32_t src_domid;
    uint32_t pad;
};

/* pfn_type[i]: PFN in bits 0-51, XEN_DOMCTL_PFINFO_* >> 28 in bits 60-63.
 * The pages follow, 4096 bytes each, for every entry that is neither XTAB
 * (no frame) nor XALLOC (a frame of zeros). */
struct lsr_page_data {
    uint32_t count;             /* 1..LSR_BATCH */
    uint32_t pad;
    uint64_t pfn_type[];
};
#define LSR_PFN_MASK    ((1ULL << 52) - 1)
#define LSR_TYPE_SHIFT  60

struct lsr_vcpu {
    uint32_t vcpu_id;           /* 0 */
    uint32_t pad;
    struct vcpu_guest_context ctx;  /* canonical; rdx = start_info PFN */
};

struct lsr_shared_info {
    uint64_t max_pfn;           /* arch.max_pfn */
    uint64_t fll_pfn;           /* arch.pfn_to_mfn_frame_list_list, as a PFN */
    uint8_t upcall_mask;        /* vcpu_info[0].evtchn_upcall_mask */
    uint8_t pad[7];
};

struct lsr_start_info {
    uint64_t pfn;               /* start_info's own frame */
    uint64_t store_pfn;
    uint64_t console_pfn;
};

struct lsr_evtchn {
    uint32_t port;
    uint32_t status;            /* EVTCHNSTAT_* */
    uint32_t a, b;              /* remote domain and port, or VIRQ, 0 */
};

struct lsr_gnttab {
    uint32_t nr_frames, max_frames;
};

/* Checkpointed streams (LSR_F_CHECKPOINTED): everything since the last
 * CHECKPOINT (pages, then the vCPU, shared_info, start_info, P2M frames,
 * event channel and grant table records) is one consistent state of the
 * suspended domain, to be used only once its CHECKPOINT has arrived. */
struct lsr_checkpoint {
    uint64_t epoch;             /* 1, 2, ... */
};

struct lsr_checksum {
    uint32_t crc32;             /* CRC-32 (IEEE) of every byte before this record */
    uint32_t pad;
    uint64_t length;            /* that many bytes */
};

/* How the stream moves: write/read exactly len bytes; 0 or a negative Xen
 * errno (a short read is -XEN_EIO).  buf NULL on read: skip len bytes. */
struct xc_sr_io {
    int (*write)(void *opaque, const void *buf, size_t len);
    int (*read)(void *opaque, void *buf, size_t len);
    void *opaque;
};

/* Counters and times of one save or restore (ns of dom0's clock). */
#define LSR_ROUNDS_MAX  30          /* pre-copy rounds recorded (and allowed) */

struct xc_sr_stats {
    uint64_t pages, pt_pages, zero_pages, bytes;
    uint64_t map_ns, copy_ns;
    uint64_t populate_ns, build_ns;     /* restore: populating; the whole of xc_sr_restore */
    /* xc_sr_save_live: rounds[0] is the first full pass, rounds[n-1] the
     * stop-and-copy round (pages sent in each, zero pages included). */
    uint32_t nr_rounds;
    uint32_t round_pages[LSR_ROUNDS_MAX + 1];
    uint64_t final_ns;                  /* suspended -> END written */
    uint64_t end_ns;                    /* restore: arch_now_ns() when END was read */
};

/* Formats why[0..whylen) and returns rc: the failure of a save or restore
 * step (xc_sr_save.c). */
int xc_sr_fail(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes one record (header, body, padding).  0 or negative errno. */
int xc_sr_write_record(const struct xc_sr_io *io, uint32_t type, const void *body,
                       uint32_t len);

/*
 * Save: domid must have suspended itself (SHUTDOWN_suspend, with the
 * start_info MFN in rdx) and must have published its P2M
 * (shared_info arch.pfn_to_mfn_frame_list_list).  Writes the header and
 * DOMAIN record, calls extra(opaque) to add the caller's records (CONFIG,
 * IMAGE; may be NULL), then the memory, vCPU, shared_info, start_info,
 * event channel and grant table records and END.  The domain is left as
 * it was.  0, or a negative Xen errno with why[] saying what (e.g. a page
 * table entry that maps a frame not in the P2M).
 */
int xc_sr_save(xc_interface *xch, uint32_t domid, uint32_t flags, const struct xc_sr_io *io,
               int (*extra)(void *opaque), void *opaque, struct xc_sr_stats *st,
               char *why, size_t whylen);

/*
 * Live save, the pre-copy of a migration (Clark et al., NSDI 2005): domid
 * runs on in log-dirty mode (XEN_DOMCTL_shadow_op) while every page is
 * sent once, then, round after round, the pages it dirtied meanwhile.
 * When a round leaves at most live->dirty_threshold pages, or after
 * live->max_rounds rounds (1..LSR_ROUNDS_MAX), live->suspend(opaque)
 * suspends the domain and the last dirty pages, the vCPU and the rest
 * follow as in xc_sr_save().  A pfn may appear in several PAGE_DATA
 * records; the last one counts.  Log-dirty mode is off again on return.
 * On failure after suspend the domain is left suspended (the caller
 * resumes it).  0, or a negative Xen errno with why[].
 */
struct xc_sr_live {
    int (*suspend)(void *opaque);       /* 0, or a negative Xen errno */
    void *opaque;
    unsigned int max_rounds;
    unsigned int dirty_threshold;       /* pages */
    /* Called between batches while the domain runs (may be NULL): dom0
     * serves the domain's rings there, since it keeps doing I/O. */
    void (*poll)(void *opaque);
    /* Checkpointed saves only: runs the suspended domain on (0, or a
     * negative Xen errno). */
    int (*resume)(void *opaque);
};
int xc_sr_save_live(xc_interface *xch, uint32_t domid, const struct xc_sr_io *io,
                    int (*extra)(void *opaque), void *opaque, const struct xc_sr_live *live,
                    struct xc_sr_stats *st, char *why, size_t whylen);

/*
 * Checkpointed save, Remus's primary (Cully et al., NSDI 2008): begin is
 * xc_sr_save_live's pre-copy with LSR_F_CHECKPOINTED, then checkpoint 1;
 * the domain stays in log-dirty mode.  Each checkpoint suspends the
 * domain (live->suspend), sends what it dirtied since the last one, its
 * vCPU and the rest, and a CHECKPOINT record for epoch, then resumes it
 * (live->resume), whether or not the stream could be written; *sent gets
 * the pages sent.  end stops: log-dirty off, and an END record first when
 * send_end (the backup then drops its copy).  io, live and opaque must
 * stay valid until end.  One at a time; no other save meanwhile.  0, or a
 * negative Xen errno with why (-XEN_EINVAL: begin has not run).
 */
int xc_sr_remus_begin(xc_interface *xch, uint32_t domid, const struct xc_sr_io *io,
                      int (*extra)(void *opaque), void *opaque, const struct xc_sr_live *live,
                      struct xc_sr_stats *st, char *why, size_t whylen);
int xc_sr_remus_checkpoint(uint64_t epoch, const struct xc_sr_live *live, uint32_t *sent,
                           char *why, size_t whylen);
int xc_sr_remus_end(bool send_end);

/* Restore, part 1: reads and checks the header and DOMAIN record; *flags
 * (may be NULL) gets the header's LSR_F_*.  0, or -XEN_EINVAL (not a
 * stream), -XEN_ENOSYS (another version), with why. */
int xc_sr_restore_begin(const struct xc_sr_io *io, struct lsr_domain *dom, uint32_t *flags,
                        char *why, size_t whylen);

/* What a restored domain's back-ends need: the frames and ports of its
 * xenstore and console rings (ports in the new domain, unbound for dom0). */
struct xc_sr_restored {
    uint64_t store_mfn, console_mfn;
    uint32_t store_evtchn, console_evtchn;
};

/*
 * Restore, part 2: domid is new (xc_domain_create, max_mem >= dom->nr_pfns
 * pages, paused, no memory); bk is NULL but for Remus (below).  Populates nr_pfns frames, reads the rest of
 * the stream, writing the pages with page tables rewritten to the new
 * frames, rewrites the guest's P2M, start_info and shared_info, pins the
 * tables and sets the vCPU context (the guest's SCHEDOP_shutdown returns
 * 0).  Records the caller owns (CONFIG, IMAGE) go to record(opaque, type,
 * body, len) (may be NULL: skipped); body is kmalloc'd (len + 1 bytes,
 * NUL-terminated) and record returns 1 to keep it (it kfree's it later),
 * 0 to let it go, or a negative errno to fail.  The domain stays paused.  0 or a
 * negative Xen errno with why; on error the caller destroys the domain.
 */
struct xc_sr_backup;
int xc_sr_restore(xc_interface *xch, uint32_t domid, const struct lsr_domain *dom,
                  const struct xc_sr_io *io,
                  int (*record)(void *opaque, uint32_t type, const void *body, uint32_t len),
                  void *opaque, struct xc_sr_backup *bk, struct xc_sr_restored *out,
                  struct xc_sr_stats *st, char *why, size_t whylen);

/*
 * Remus's backup: with bk (the stream must be LSR_F_CHECKPOINTED),
 * xc_sr_restore keeps the domain paused and reads checkpoint after
 * checkpoint.  An epoch's pages wait in dom0 (at most bk->buffer_pages)
 * until its CHECKPOINT record, then go into the frames, and
 * bk->checkpoint(bk->opaque, epoch) acknowledges it (a negative errno
 * fails the restore).  When the stream breaks or ends (the io's read
 * fails: the primary is gone) after at least one checkpoint, the domain
 * is built from the last one (failover) and xc_sr_restore returns 0; an
 * END record means the primary stopped replicating: -XEN_ENOTCONN, nothing
 * built (the caller destroys the domain).  bk->epoch: the last
 * checkpoint taken in; bk->failover_pages: pages of the dropped epoch.
 */
struct xc_sr_backup {
    int (*checkpoint)(void *opaque, uint64_t epoch);
    void *opaque;
    uint32_t buffer_pages;
    uint64_t epoch;                     /* out */
    uint32_t failover_pages;            /* out */
};

#endif /* LAMINA_XC_SR_H */
