/*
 * xc_foreign.c - libxenctrl subset: mapping other domains' frames (and
 * device memory) into dom0 (xc_map_foreign_range/pages, xc_unmap_foreign).
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV).  The
 * mappings live in the kernel's foreign window (guest-port/pv/mm.c,
 * PV_FOREIGN_BASE), built on first use; its pages are handed out first-fit
 * from a bitmap.  A page is mapped by writing its L1 entry with
 * mmu_update(MMU_NORMAL_PT_UPDATE, foreigndom = the frame's owner: a domain
 * id, or DOMID_IO for frames beyond RAM), and unmapped by writing 0
 * (foreigndom DOMID_SELF: a cleared entry names no frame) followed by a
 * local TLB flush.  Frames of a destroyed domain are freed only once dom0
 * has unmapped them.
 */
#include "xenctrl.h"
#include "kernel.h"
#include "../../guest-port/pv/pv.h"
#include <pv/hypercall.h>

#define WINDOW_PAGES XC_FOREIGN_WINDOW_PAGES
_Static_assert(WINDOW_PAGES % 64 == 0 && WINDOW_PAGES <= PV_FOREIGN_MAX_PAGES,
               "window fits guest-port/pv's foreign window");

#define PTE_P  0x001ULL
#define PTE_RW 0x002ULL
#define PTE_A  0x020ULL
#define PTE_D  0x040ULL

#define MMU_BATCH 32     /* mmu_update requests per hypercall */
#define INVLPG_MAX 16    /* beyond this many pages: flush the whole TLB */

static bool window_ready;
static uint64_t window_used[WINDOW_PAGES / 64];    /* bit set: page in use */

static bool page_used(unsigned long i)
{
    return (window_used[i / 64] >> (i % 64)) & 1;
}

static void pages_mark(unsigned long first, unsigned long n, bool used)
{
    for (unsigned long i = first; i < first + n; i++) {
        if (used)
            window_used[i / 64] |= 1ULL << (i % 64);
        else
            window_used[i / 64] &= ~(1ULL << (i % 64));
    }
}

/* Reserves n consecutive window pages; returns the first index, or -1. */
static long pages_alloc(unsigned long n)
{
    bool flags = arch_irq_save();
    unsigned long run = 0;

    for (unsigned long i = 0; i < WINDOW_PAGES; i++) {
        run = page_used(i) ? 0 : run + 1;
        if (run == n) {
            pages_mark(i + 1 - n, n, true);
            arch_irq_restore(flags);
            return (long)(i + 1 - n);
        }
    }
    arch_irq_restore(flags);
    return -1;
}

static void pages_free(unsigned long first, unsigned long n)
{
    bool flags = arch_irq_save();

    pages_mark(first, n, false);
    arch_irq_restore(flags);
}

static void *page_va(unsigned long i)
{
    return (void *)(PV_FOREIGN_BASE + i * XC_PAGE_SIZE);
}

/* Writes val (0 or the same PTE flags with mfns[k]) into the L1 entries of
 * window pages [first, first + n).  Returns 0, or the first hypercall error
 * with *done = entries written before it. */
static int ptes_write(unsigned long first, unsigned long n, const xen_pfn_t *mfns,
                      uint64_t flags, domid_t dom, unsigned long *done)
{
    struct mmu_update req[MMU_BATCH];

    *done = 0;
    while (*done < n) {
        unsigned int k = 0, ok = 0;
        int rc;

        for (; k < MMU_BATCH && *done + k < n; k++) {
            unsigned long i = first + *done + k;

            req[k].ptr = pv_foreign_pte_maddr(i) | MMU_NORMAL_PT_UPDATE;
            req[k].val = mfns ? ((uint64_t)mfns[*done + k] << XC_PAGE_SHIFT) | flags : 0;
        }
        rc = HYPERVISOR_mmu_update(req, k, &ok, dom);
        if (rc < 0) {
            *done += ok;
            return rc;
        }
        *done += k;
    }
    return 0;
}

static void tlb_flush(unsigned long first, unsigned long n)
{
    if (n > INVLPG_MAX) {
        struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };

        (void)HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
        return;
    }
    for (unsigned long i = first; i < first + n; i++) {
        struct mmuext_op op = { .cmd = MMUEXT_INVLPG_LOCAL };

        op.arg1.linear_addr = (unsigned long)page_va(i);
        (void)HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    }
}

/* Clears window pages [first, first + n), flushes, frees them.  0, or the
 * hypervisor's error (pages that could not be cleared stay reserved). */
static int pages_unmap(unsigned long first, unsigned long n)
{
    unsigned long done;
    int rc = ptes_write(first, n, NULL, 0, DOMID_SELF, &done);

    tlb_flush(first, n);
    pages_free(first, done);
    if (rc)
        kprintf("libxc: cannot clear foreign window page %lu (%d)\n", first + done, rc);
    return rc;
}

void *xc_map_foreign_pages(xc_interface *xch, uint32_t dom, int prot,
                           const xen_pfn_t *arr, int num)
{
    uint64_t flags = PTE_P | PTE_A | ((prot & XC_PROT_WRITE) ? PTE_RW | PTE_D : 0);
    unsigned long done;
    long first;
    int rc;

    if (num <= 0 || num > WINDOW_PAGES || !(prot & (XC_PROT_READ | XC_PROT_WRITE))) {
        errno = XEN_EINVAL;
        return NULL;
    }
    if (!window_ready) {
        if ((rc = pv_foreign_window_init(WINDOW_PAGES))) {
            errno = -rc;
            return NULL;
        }
        window_ready = true;
    }
    if ((first = pages_alloc((unsigned long)num)) < 0) {
        errno = XEN_ENOMEM;
        return NULL;
    }
    rc = ptes_write((unsigned long)first, (unsigned long)num, arr, flags, (domid_t)dom, &done);
    if (rc) {
        if (done)
            (void)pages_unmap((unsigned long)first, done);
        pages_free((unsigned long)first + done, (unsigned long)num - done);
        errno = -rc;
        return NULL;
    }
    return page_va((unsigned long)first);
}

void *xc_map_foreign_range(xc_interface *xch, uint32_t dom, int size, int prot,
                           unsigned long mfn)
{
    int num = (int)(((unsigned long)size + XC_PAGE_SIZE - 1) / XC_PAGE_SIZE);
    xen_pfn_t *arr;
    void *va;

    if (size <= 0 || num > WINDOW_PAGES) {
        errno = XEN_EINVAL;
        return NULL;
    }
    if (!(arr = kmalloc((size_t)num * sizeof(*arr)))) {
        errno = XEN_ENOMEM;
        return NULL;
    }
    for (int i = 0; i < num; i++)
        arr[i] = mfn + (unsigned long)i;
    va = xc_map_foreign_pages(xch, dom, prot, arr, num);
    kfree(arr);
    return va;
}

int xc_unmap_foreign(xc_interface *xch, void *addr, size_t size)
{
    uint64_t a = (uint64_t)addr;
    unsigned long first, n = (size + XC_PAGE_SIZE - 1) / XC_PAGE_SIZE;
    int rc;

    if (a < PV_FOREIGN_BASE || (a & (XC_PAGE_SIZE - 1)) || n == 0 ||
        (first = (a - PV_FOREIGN_BASE) / XC_PAGE_SIZE) >= WINDOW_PAGES ||
        n > WINDOW_PAGES - first) {
        errno = XEN_EINVAL;
        return -1;
    }
    for (unsigned long i = first; i < first + n; i++)
        if (!page_used(i)) {
            errno = XEN_EINVAL;
            return -1;
        }
    if ((rc = pages_unmap(first, n))) {
        errno = -rc;
        return -1;
    }
    return 0;
}

/* ---- grant mappings (libxengnttab) ------------------------------------------- */

static int gntst_errno(int16_t st)
{
    return st == GNTST_no_space ? XEN_ENOSPC : st == GNTST_permission_denied ? XEN_EPERM
                                                                               : XEN_EINVAL;
}

void *xc_gnttab_map(xc_interface *xch, uint32_t domid, uint32_t ref, int prot,
                    uint32_t *handle)
{
    struct gnttab_map_grant_ref op;
    long first;
    int rc;

    (void)xch;
    if (!window_ready) {
        if ((rc = pv_foreign_window_init(WINDOW_PAGES))) {
            errno = -rc;
            return NULL;
        }
        window_ready = true;
    }
    if ((first = pages_alloc(1)) < 0) {
        errno = XEN_ENOMEM;
        return NULL;
    }
    memset(&op, 0, sizeof(op));
    op.host_addr = pv_foreign_pte_maddr((unsigned long)first);
    op.flags = GNTMAP_host_map | GNTMAP_contains_pte |
               ((prot & XC_PROT_WRITE) ? 0 : GNTMAP_readonly);
    op.ref = ref;
    op.dom = (domid_t)domid;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc || op.status != GNTST_okay) {
        pages_free((unsigned long)first, 1);
        errno = rc ? -rc : gntst_errno(op.status);
        return NULL;
    }
    *handle = op.handle;
    return page_va((unsigned long)first);
}

int xc_gnttab_unmap(xc_interface *xch, void *addr, uint32_t handle)
{
    uint64_t a = (uint64_t)addr;
    struct gnttab_unmap_grant_ref op;
    unsigned long i;
    int rc;

    (void)xch;
    if (a < PV_FOREIGN_BASE || a >= PV_FOREIGN_BASE + (uint64_t)WINDOW_PAGES * XC_PAGE_SIZE ||
        (a & (XC_PAGE_SIZE - 1))) {
        errno = XEN_EINVAL;
        return -1;
    }
    i = (a - PV_FOREIGN_BASE) / XC_PAGE_SIZE;
    memset(&op, 0, sizeof(op));
    op.host_addr = pv_foreign_pte_maddr(i);
    op.handle = (grant_handle_t)handle;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    tlb_flush(i, 1);
    if (rc || op.status != GNTST_okay) {
        errno = rc ? -rc : gntst_errno(op.status);
        return -1;
    }
    pages_free(i, 1);
    return 0;
}
