/*
 * xenctrl.h - the subset of Xen 4.17's libxenctrl that Lamina's dom0
 * control plane uses (docs/toolstack.md section 2).
 *
 * Runs in dom0: the Lamina PV guest kernel (ring 3 under x86-64 PV),
 * freestanding, single address space.  Names, argument shapes and the
 * error convention are libxenctrl's: a failing call returns -1 (or NULL)
 * and sets the global `errno` to a POSITIVE Xen errno value (XEN_EINVAL
 * ...).  Calls go straight to the hypervisor (domctl, sysctl, memory_op,
 * mmu_update, mmuext_op, event_channel_op, hvm_op); there is no privcmd
 * driver in between, and the xc_interface handle only exists for the
 * signatures' sake.
 *
 * Not thread-safe as a whole: the foreign-mapping window allocator takes
 * arch_irq_save() around its bitmap, everything else is stateless.
 */
#ifndef LAMINA_XENCTRL_H
#define LAMINA_XENCTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Tools-only parts of the public headers (domctl, sysctl, the arch domain
 * config) need __XEN_TOOLS__ when xen.h is first read, so this header must
 * come before anything else that includes <lamina/xen.h>.  With
 * __XEN_TOOLS__, xen-compat.h selects the latest interface version; read it
 * first and let lamina/xen.h set the same value (0x00040e00) afterwards.
 */
#ifdef LAMINA_XEN_H
#error "include xenctrl.h before <lamina/xen.h> and pv-abi headers"
#endif
#define __XEN_TOOLS__ 1
#include <xen/xen-compat.h>
#undef __XEN_INTERFACE_VERSION__
#include <lamina/xen.h>
_Static_assert(__XEN_INTERFACE_VERSION__ == __XEN_LATEST_INTERFACE_VERSION__,
               "lamina/xen.h asks for the latest interface");
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

/* Positive Xen errno of the last failing call (libxc's errno). */
extern int errno;

/* Opaque handles, as in libxenctrl / libxentoollog. */
typedef struct xc_interface_core xc_interface;
typedef struct xentoollog_logger xentoollog_logger;

typedef xen_domctl_getdomaininfo_t xc_domaininfo_t;
typedef struct xen_sysctl_physinfo xc_physinfo_t;

/* vCPU context in the layouts libxc names; x86-64 PV only here, so both
 * members are the native struct vcpu_guest_context. */
typedef union {
    struct vcpu_guest_context x64;
    vcpu_guest_context_t c;
} vcpu_guest_context_any_t;

/* libxc's decoded view of getdomaininfo. */
typedef struct xc_dominfo {
    uint32_t      domid;
    uint32_t      ssidref;
    unsigned int  dying:1, crashed:1, shutdown:1,
                  paused:1, blocked:1, running:1,
                  hvm:1, debugged:1, xenstore:1, hap:1;
    unsigned int  shutdown_reason;  /* SHUTDOWN_* (valid if shutdown) */
    unsigned long nr_pages;         /* current number of pages */
    unsigned long nr_outstanding_pages;
    unsigned long nr_shared_pages;
    unsigned long nr_paged_pages;
    unsigned long shared_info_frame; /* MFN */
    uint64_t      cpu_time;          /* ns */
    unsigned long max_memkb;
    unsigned int  nr_online_vcpus;
    unsigned int  max_vcpu_id;
    xen_domain_handle_t handle;
    unsigned int  cpupool;
    uint8_t       gpaddr_bits;
    struct xen_arch_domainconfig arch_config;
} xc_dominfo_t;

/* prot argument of the foreign-mapping calls (PROT_* of mmap(2)). */
#define XC_PROT_NONE  0
#define XC_PROT_READ  1
#define XC_PROT_WRITE 2
#ifndef PROT_READ
#define PROT_NONE  XC_PROT_NONE
#define PROT_READ  XC_PROT_READ
#define PROT_WRITE XC_PROT_WRITE
#endif

#define XC_PAGE_SHIFT 12
#define XC_PAGE_SIZE  4096UL

/* Pages of the foreign-mapping window (dom0's kernel VA range that
 * xc_map_foreign_* hand out): 64 MiB. */
#define XC_FOREIGN_WINDOW_PAGES 16384

/* ---- handle --------------------------------------------------------------- */

/* Opens the (only) control interface.  Loggers and flags are ignored.
 * NULL with errno EPERM if this domain is not privileged (not dom0). */
xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags);
/* Closes it; 0. */
int xc_interface_close(xc_interface *xch);

/* ---- domains (domctl) ------------------------------------------------------ */

/* XEN_DOMCTL_createdomain: *pdomid = wanted id or 0 for any; gets the new
 * id.  The domain starts paused with max_pages 0.  0 or -1 (EINVAL, EEXIST,
 * ENOMEM, EPERM). */
int xc_domain_create(xc_interface *xch, uint32_t *pdomid,
                     struct xen_domctl_createdomain *config);
/* XEN_DOMCTL_pausedomain / unpausedomain (a pause count).  0 or -1
 * (ESRCH, EINVAL for dom0 / self). */
int xc_domain_pause(xc_interface *xch, uint32_t domid);
int xc_domain_unpause(xc_interface *xch, uint32_t domid);
/* XEN_DOMCTL_destroydomain: frees the domain and its frames (frames dom0
 * still maps are freed when dom0 unmaps them).  0 or -1 (ESRCH). */
int xc_domain_destroy(xc_interface *xch, uint32_t domid);
/* Fills info[0..n) with the live domains of id >= first_domid, in id
 * order, n <= max_doms (XEN_DOMCTL_getdomaininfo, one call per domain).
 * Returns n (0 if none); -1 only if the first call fails otherwise. */
int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                      unsigned int max_doms, xc_dominfo_t *info);
/* XEN_SYSCTL_getdomaininfolist: raw records of up to max_domains domains
 * of id >= first_domain.  Returns the count, or -1. */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_domaininfo_t *info);
/* XEN_DOMCTL_max_mem: the domain's memory limit in KiB. 0 or -1. */
int xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t max_memkb);
/* XEN_DOMCTL_max_vcpus (only 1 is accepted by Lamina).  0 or -1. */
int xc_domain_max_vcpus(xc_interface *xch, uint32_t domid, unsigned int max);
/* XEN_DOMCTL_setdomainhandle (the 16-byte UUID).  0 or -1. */
int xc_domain_sethandle(xc_interface *xch, uint32_t domid,
                        xen_domain_handle_t handle);

/* XENMEM_populate_physmap for domain domid: extent_start[i] holds a guest
 * PFN on entry and the backing MFN on return (PV), for all nr_extents
 * (order must be 0).  Issued in batches.  0 if every extent was populated;
 * -1 otherwise (errno from the hypervisor, or EBUSY if it did only part;
 * the populated part stays with the domain). */
/* XENMEM_decrease_reservation (Xen public/memory.h) of the nr frames
 * mfns[] (order 0) of domid, as Xen's libxc: 0, or -1 with errno (EBUSY
 * when the hypervisor took fewer: a frame still mapped or not the
 * domain's). */
int xc_domain_decrease_reservation_exact(xc_interface *xch, uint32_t domid,
                                         unsigned long nr, xen_pfn_t *mfns);
int xc_domain_populate_physmap_exact(xc_interface *xch, uint32_t domid,
                                     unsigned long nr_extents,
                                     unsigned int extent_order,
                                     unsigned int mem_flags,
                                     xen_pfn_t *extent_start);

/* XEN_DOMCTL_setvcpucontext / getvcpucontext for vCPU vcpu (0).  0 or -1. */
int xc_vcpu_setcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       vcpu_guest_context_any_t *ctxt);
int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
                       vcpu_guest_context_any_t *ctxt);

/* XEN_DOMCTL_resumedomain: a domain that suspended itself runs on in
 * place (after xc_vcpu_setcontext gave its SCHEDOP_shutdown the result 1,
 * "cancelled", as xc_domain_resume(fast) does).  0 or -1 (EINVAL: not
 * suspended). */
int xc_domain_resume_cooperative(xc_interface *xch, uint32_t domid);
/* XEN_DOMCTL_getpageframeinfo3: each of arr[0..num) (MFNs of domid, num <=
 * 1024) is replaced by its XEN_DOMCTL_PFINFO_* word.  0 or -1. */
int xc_get_pfn_type_batch(xc_interface *xch, uint32_t domid, unsigned int num,
                          xen_pfn_t *arr);
/* XEN_DOMCTL_shadow_op (Xen's xc_shadow_control, log-dirty ops only):
 * sop XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, _OFF, _CLEAN or _PEEK.  For
 * CLEAN/PEEK, dirty_bitmap gets `pages` bits (one per PFN, bytes rounded
 * up) and *stats (may be NULL) the faults and dirty PFNs since the last
 * CLEAN.  Returns the bitmap's size in PFNs (0 for the other ops) or -1
 * with errno (EINVAL: not in log-dirty mode, or a privileged/unmodified
 * domain for ENABLE). */
int xc_shadow_control(xc_interface *xch, uint32_t domid, unsigned int sop,
                      unsigned long *dirty_bitmap, unsigned long pages,
                      struct xen_domctl_shadow_op_stats *stats);
/* EVTCHNOP_status of port of domain dom into *st.  0 or -1 (EINVAL: the
 * port does not exist). */
int xc_evtchn_status(xc_interface *xch, uint32_t dom, uint32_t port, struct evtchn_status *st);
/* GNTTABOP_query_size of domain dom: frames in use and the maximum.  0 or -1. */
int xc_gnttab_query_size(xc_interface *xch, uint32_t dom, uint32_t *nr_frames,
                         uint32_t *max_frames);

/* EVTCHNOP_alloc_unbound: a new port of domain dom that remote_dom may bind.
 * Returns the port (>= 0) or -1. */
int xc_evtchn_alloc_unbound(xc_interface *xch, uint32_t dom, uint32_t remote_dom);

/* XEN_SYSCTL_readconsole: copies up to *pnr_chars bytes of the hypervisor
 * log into buffer; *pnr_chars gets the count.  incremental: start at
 * *pindex, which gets the index after the last byte read.  0 or -1. */
int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars,
                       int clear, int incremental, uint32_t *pindex);
/* XEN_SYSCTL_physinfo.  0 or -1. */
int xc_physinfo(xc_interface *xch, xc_physinfo_t *info);
/* Lamina's counters (lamina/sysctl_ext.h, LAMINA_SYSCTL_counters). */
struct lamina_sysctl_counters;
int xc_lamina_counters(xc_interface *xch, struct lamina_sysctl_counters *c);
/* HVMOP_set_param on an unmodified domain (HVM_PARAM_CONSOLE_PFN,
 * HVM_PARAM_CONSOLE_EVTCHN).  0 or -1. */
int xc_set_hvm_param(xc_interface *xch, uint32_t dom, int param, unsigned long value);
/* HVMOP_get_param; *value gets it.  0 or -1. */
int xc_get_hvm_param(xc_interface *xch, uint32_t dom, int param, unsigned long *value);

/* XEN_DOMCTL_hypercall_init: the hypervisor writes its hypercall page
 * into frame gmfn (an MFN for PV) of domid.  libxc does this inside its
 * domain builder; exported here for dom_build.  0 or -1. */
int xc_domain_hypercall_init(xc_interface *xch, uint32_t domid, unsigned long gmfn);
/* mmuext_op on behalf of domain dom (foreigndom): e.g. MMUEXT_PIN_L4_TABLE
 * of a new domain's L4.  0 or -1. */
int xc_mmuext_op(xc_interface *xch, struct mmuext_op *op, unsigned int nr_ops,
                 uint32_t dom);

/* ---- foreign memory (xc_foreign.c) ----------------------------------------- */

/* Maps size bytes (rounded up to pages) of frames mfn, mfn+1, ... of
 * domain dom into dom0's foreign window, readable, writable if prot has
 * XC_PROT_WRITE.  As in Xen, the frame numbers are MFNs for a PV domain and
 * guest frame numbers (PFNs) for an unmodified (translated) one: the
 * hypervisor's mmu_update translates them through that domain's P2M.
 * dom = DOMID_IO maps device memory (frames beyond RAM, e.g. a PCI BAR).  Returns the address, or NULL with errno (ENOMEM: window
 * full; the hypervisor's errno, e.g. EPERM/EINVAL, if a frame is refused:
 * nothing stays mapped then). */
void *xc_map_foreign_range(xc_interface *xch, uint32_t dom, int size, int prot,
                           unsigned long mfn);
/* Same for the num frames arr[0..num) (MFNs for PV domains), contiguous in
 * the window. */
void *xc_map_foreign_pages(xc_interface *xch, uint32_t dom, int prot,
                           const xen_pfn_t *arr, int num);
/* Unmaps [addr, addr + size) (rounded up to pages), a range that one
 * xc_map_foreign_* call returned or a part of it, and flushes the TLB.
 * 0, or -1 with EINVAL if it is not inside the window. */
int xc_unmap_foreign(xc_interface *xch, void *addr, size_t size);

/*
 * libxengnttab's xengnttab_map_grant_ref / xengnttab_unmap: maps grant ref
 * of domain domid into a page of the foreign window through
 * GNTTABOP_map_grant_ref (GNTMAP_host_map | GNTMAP_contains_pte: the
 * window PTE's machine address; read-only unless prot has XC_PROT_WRITE).
 * Returns the page's address and the grant handle in *handle, or NULL with
 * errno: EINVAL, ENOMEM (window full), or the GNTST_* status negated into
 * a Xen errno (EINVAL for bad_gntref/bad_domain/general_error, ENOSPC for
 * no_space).  xc_gnttab_unmap() takes the address and handle back: 0 or -1
 * with errno EINVAL.  Xen public/grant_table.h.
 */
void *xc_gnttab_map(xc_interface *xch, uint32_t domid, uint32_t ref, int prot,
                    uint32_t *handle);
int xc_gnttab_unmap(xc_interface *xch, void *addr, uint32_t handle);

#endif /* LAMINA_XENCTRL_H */
