/*
 * xc_dom_build.h - dom0's domain builder: loads a kernel image into a
 * domain made by xc_domain_create and prepares its vCPU
 * (docs/toolstack.md section 2).
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV).  The
 * image layout is the shared builder's (toolstack/builder: xen_elf_parse +
 * pv_build for Xen PV kernels, mb_build for multiboot kernels run
 * unmodified); this file only supplies guest memory through libxenctrl
 * (populate_physmap, foreign mappings) and the hypercalls around it.
 */
#ifndef LAMINA_XC_DOM_BUILD_H
#define LAMINA_XC_DOM_BUILD_H

#include "xenctrl.h"

/* What to build. */
struct dom_build_args {
    const void *image;      /* the kernel image (ELF), read only */
    size_t image_len;       /* bytes */
    const char *cmdline;    /* kernel arguments (may be NULL); an unmodified
                               kernel gets "guest-native.elf <cmdline>" as
                               its multiboot command line */
    unsigned long nr_pages; /* RAM of the domain, 4 KiB pages */
    bool unmodified;        /* multiboot kernel under trap-and-emulate (the
                               domain was created with XEN_DOMCTL_CDF_hvm) */
};

/* What was built. */
struct dom_build_info {
    bool unmodified;
    uint64_t store_mfn;       /* xenstore ring (PV); 0 for unmodified */
    uint64_t console_mfn;     /* console ring (xencons_interface): an MFN
                                 for PV, the guest frame number (nr_pages)
                                 for unmodified, i.e. what
                                 xc_map_foreign_range takes for that domain */
    uint32_t store_evtchn;    /* ports in the new domain, unbound for dom0; */
    uint32_t console_evtchn;  /* store_evtchn is 0 for unmodified */
};

/*
 * Builds domain domid (made by xc_domain_create, paused, no memory yet):
 * raises max_mem if it is below what the build needs (nr_pages, plus the
 * console page for unmodified domains), populates its memory (PFNs
 * [0, nr_pages), and PFN nr_pages for an unmodified domain's console ring,
 * outside the RAM its memory map reports), allocates its event channels
 * unbound for dom0 (PV: store then console; unmodified: console only, given
 * to the hypervisor with HVM_PARAM_CONSOLE_EVTCHN/PFN), writes the image
 * and start-of-day data, and sets vCPU 0's context.  PV: hypercall page
 * through XEN_DOMCTL_hypercall_init, L4 pinned with MMUEXT_PIN_L4_TABLE.
 * Leaves the domain paused and no frame of it mapped in dom0.
 * Returns 0 and fills *out; negative Xen errno on failure (-XEN_EINVAL /
 * -XEN_ENOEXEC: bad image or arguments; -XEN_ENOMEM; or the failing
 * hypercall's error), with dom_build_error() saying why.  On failure the
 * domain is left half-built: the caller destroys it.
 */
int dom_build(xc_interface *xch, uint32_t domid, const struct dom_build_args *a,
              struct dom_build_info *out) __attribute__((warn_unused_result));

/* Reason for the last dom_build failure ("" if none); static storage,
 * overwritten by the next dom_build. */
const char *dom_build_error(void);

#endif /* LAMINA_XC_DOM_BUILD_H */
