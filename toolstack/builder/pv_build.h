/*
 * pv_build.h - build a 64-bit PV domain's start-of-day memory (public/xen.h,
 * "Start-of-day memory layout" above struct start_info).
 *
 * Shared by the hypervisor's dom0 builder (ring 0, freestanding) and the
 * toolstack's domain builder (dom0 / host).  Everything machine-specific
 * (how a frame is reached, the hypercall page's contents, the hypervisor's
 * own L4 slots) goes through struct pv_build_ops.
 *
 * Layout, contiguous from info->virt_base, every element 4 KiB aligned and
 * mapped 1:1 onto PFNs from 0 (VA = virt_base + pfn * 4096):
 *   kernel image [virt_kstart, virt_kend)      (pages below it are zeroed)
 *   ramdisk                                    (if any)          [mod_start]
 *   P2M list: nr_pages 8-byte MFNs             [mfn_list]
 *   start_info page                            [rsi]
 *   xenstore ring page, console ring page      (domU: alloc_rings only)
 *   bootstrap page tables: L4, L3s, L2s, L1s   [pt_base, CR3]
 *   boot stack page                            [rsp = its top]
 * then padding to a 4 MiB-aligned end with at least 512 KiB after the stack.
 * The whole region is mapped present|rw|user|accessed|dirty, except the
 * page-table frames, mapped present|user|accessed (read-only).  Intermediate
 * entries are present|rw|user|accessed|dirty.  Entries hold machine
 * addresses (p2m[pfn] << 12).
 */
#ifndef LAMINA_PV_BUILD_H
#define LAMINA_PV_BUILD_H

#include "xen_elf.h"

#define PV_PAGE_SIZE      4096ULL
#define PV_START_INFO_MAGIC "xen-3.0-x86_64"
#define PV_PAD_MIN        (512ULL << 10)   /* padding after the boot stack */
#define PV_REGION_ALIGN   (4ULL << 20)     /* region ends 4 MiB aligned */
#define PV_MAX_MFN        ((1ULL << 40) - 1)  /* 52-bit machine addresses */

/* x86 page-table entry bits used by the builder. */
#define PV_PTE_P   0x001ULL
#define PV_PTE_RW  0x002ULL
#define PV_PTE_US  0x004ULL
#define PV_PTE_A   0x020ULL
#define PV_PTE_D   0x040ULL
#define PV_PTE_DATA (PV_PTE_P | PV_PTE_RW | PV_PTE_US | PV_PTE_A | PV_PTE_D)
#define PV_PTE_PT   (PV_PTE_P | PV_PTE_US | PV_PTE_A)
#define PV_PTE_ADDR_MASK 0x000ffffffffff000ULL

#define PV_NO_PFN ((uint64_t)-1)

/* Machine-specific services.  All pointers are 4 KiB frames. */
struct pv_build_ops {
    void *ctx;
    /* Writable pointer to the 4 KiB frame of guest PFN pfn (< nr_pages).
     * NULL aborts the build with -XEN_EFAULT.  pv_build holds at most one
     * mapping at a time and releases it with unmap_pfn before mapping
     * another. */
    void *(*map_pfn)(void *ctx, uint64_t pfn);
    /* Optional: releases a pointer map_pfn returned. */
    void (*unmap_pfn)(void *ctx, void *page);
    /* Fills the guest's hypercall page (Xen: hypercall_page_initialise).
     * Required if the kernel has a HYPERCALL_PAGE note. */
    void (*write_hypercall_page)(void *ctx, void *page);
    /* Optional: called last on the guest's L4 (already filled with the
     * guest's own entries) to add the hypervisor's slots 256-271. */
    void (*init_l4)(void *ctx, void *l4_page);
};

/* What to build. */
struct pv_build_params {
    uint64_t nr_pages;          /* guest pseudo-physical frames [0, nr_pages) */
    const uint64_t *p2m;        /* p2m[pfn] = MFN backing pfn, nr_pages entries */
    const char *cmdline;        /* may be NULL; truncated to 1023 chars */
    const void *ramdisk;        /* may be NULL */
    uint64_t ramdisk_len;       /* bytes */
    uint32_t flags;             /* SIF_* for start_info (SIF_PRIVILEGED|
                                   SIF_INITDOMAIN for dom0) */
    uint64_t shared_info_maddr; /* MACHINE address of the shared_info page */
    bool alloc_rings;           /* domU: allocate xenstore + console rings */
    uint32_t store_evtchn;      /* start_info store_evtchn (alloc_rings) */
    uint32_t console_evtchn;    /* start_info console.domU.evtchn (alloc_rings) */
};

/* What was built.  VAs are guest virtual; PFNs index the caller's p2m. */
struct pv_build_result {
    uint64_t v_start, v_end;     /* mapped region [v_start, v_end) */
    uint64_t nr_region_pages;    /* (v_end - v_start) / 4096: PFNs used */
    uint64_t entry;              /* initial rip */
    uint64_t stack_top;          /* initial rsp (top of the boot stack) */
    uint64_t start_info_va;      /* initial rsi */
    uint64_t start_info_pfn;
    uint64_t ramdisk_va, ramdisk_len;     /* 0, 0 if none */
    uint64_t p2m_va, p2m_first_pfn, nr_p2m_frames;  /* the mfn_list */
    uint64_t store_pfn, console_pfn;      /* PV_NO_PFN unless alloc_rings */
    uint64_t store_mfn, console_mfn;      /* 0 unless alloc_rings */
    uint64_t hypercall_pfn;               /* PV_NO_PFN if no hypercall page */
    uint64_t stack_pfn;
    /* Bootstrap page tables: PFNs [pt_first_pfn, pt_first_pfn + nr_pt_frames),
     * in the order L4, L3s, L2s, L1s. */
    uint64_t pt_first_pfn, nr_pt_frames;
    uint64_t pt_va;                       /* = start_info.pt_base */
    uint64_t l4_pfn, l4_mfn;              /* CR3 = l4_mfn << 12 */
    uint64_t l3_first_pfn, nr_l3;
    uint64_t l2_first_pfn, nr_l2;
    uint64_t l1_first_pfn, nr_l1;
};

/*
 * Lays out and writes the start-of-day memory of a 64-bit PV domain whose
 * image (elf, elf_size) xen_elf_parse() accepted into *info: zeroes every
 * frame of the region, copies the PT_LOAD segments (bss zeroed), the
 * ramdisk, the mfn_list, start_info (magic "xen-3.0-x86_64"), the rings, the
 * hypercall page, and the 4-level bootstrap page tables.  Checks everything
 * before writing anything.
 * Returns 0 and fills *out; -XEN_EINVAL for bad parameters or a region that
 * is not canonical or touches the hypervisor's range; -XEN_ENOMEM if the
 * region needs more than nr_pages frames; -XEN_EFAULT if map_pfn fails.
 * *why (if non-NULL) gets a static reason on error.
 */
int pv_build(const void *elf, size_t elf_size, const struct xen_elf_info *info,
             const struct pv_build_params *p, const struct pv_build_ops *ops,
             struct pv_build_result *out, const char **why)
    __attribute__((warn_unused_result));

/*
 * Computes the layout only: calls no ops and writes no guest memory, but
 * fills every field of *out (MFNs are read from p->p2m).  Same layout
 * errors as pv_build (-XEN_EINVAL, -XEN_ENOMEM).  Lets a builder size the
 * domain, or learn which PFNs become page tables, before building.
 */
int pv_build_layout(const struct xen_elf_info *info,
                    const struct pv_build_params *p,
                    struct pv_build_result *out, const char **why)
    __attribute__((warn_unused_result));

#endif /* LAMINA_PV_BUILD_H */
