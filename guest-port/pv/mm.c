/*
 * mm.c - PV memory: the kernel direct map of all pseudo-physical frames,
 * trimming of Xen's initial mapping, and user address spaces (a kernel and
 * a user L4 per process, both pinned, switched with MMUEXT_NEW_BASEPTR and
 * MMUEXT_NEW_USER_BASEPTR).
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV).  Rule kept throughout:
 * a frame that is (or is about to be) a page table is mapped read-only
 * everywhere, and every write to a table goes through mmu_update.
 */
#include "pv.h"
#include "kernel.h"
#include <pv/mm.h>

#define PTE_TABLE (PV_PTE_P | PV_PTE_RW | PV_PTE_US | PV_PTE_A)
#define L4_SLOT_FIRST_GUEST_KERNEL 272   /* after Xen's slots 256-271 */

/* Direct-map tables for the first 512 MiB live in the image (so they
 * start out writable in Xen's initial mapping): 256 L1s, one L2, one L3.
 * Memory above that is mapped by tables taken from the first free frames
 * (dmap_extend), up to 511 GiB (L3 slot 511 is the foreign window). */
#define DMAP_L1S 256
#define DMAP_STATIC_PFNS ((uint64_t)DMAP_L1S * 512)
#define DMAP_MAX_PFNS (511UL << 18)
static uint64_t dmap_l1[DMAP_L1S][512] __attribute__((aligned(4096), section(".bss.page_aligned")));
static uint64_t dmap_l2[512] __attribute__((aligned(4096), section(".bss.page_aligned")));
static uint64_t dmap_l3[512] __attribute__((aligned(4096), section(".bss.page_aligned")));

static uint64_t boot_l4_pfn;         /* a PFN: MFNs change across a restore */
static const uint64_t *boot_l4;     /* read-only view (start_info->pt_base) */

static uint64_t image_pfn(const void *va)
{
    return ((uint64_t)va - PV_VIRT_BASE) >> 12;
}

void *arch_pfn_to_virt(uint64_t pfn)
{
    return (void *)(PV_DMAP_BASE + pfn * GPAGE_SIZE);
}

uint64_t arch_virt_to_pfn(const void *va)
{
    uint64_t a = (uint64_t)va;

    if (a >= PV_VIRT_BASE)
        return (a - PV_VIRT_BASE) >> 12;
    return (a - PV_DMAP_BASE) >> 12;
}

/* Queues making the direct-map view of pfn read-only (it is about to be a
 * page table). */
static void queue_dmap_ro(struct pv_mc_batch *mc, uint64_t pfn)
{
    pv_mc_queue_va_mapping(mc, (unsigned long)arch_pfn_to_virt(pfn),
                           (pv_pfn_to_mfn(pfn) << 12) | PV_PTE_P | PV_PTE_A, UVMF_INVLPG);
}

/* Writes entry idx of the validated table at pfn `table` with mmu_update. */
static int table_set(uint64_t table, unsigned int idx, uint64_t val)
{
    struct mmu_update mu = {
        .ptr = ((pv_pfn_to_mfn(table) << 12) + idx * 8) | MMU_NORMAL_PT_UPDATE,
        .val = val,
    };

    return HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF);
}

/* Makes the filled table at pfn read-only in the direct map, then hooks it
 * in as entry idx of the validated table at pfn parent (Xen validates it
 * then).  Panics with `what` on failure. */
static void table_hook(uint64_t pfn, uint64_t parent, unsigned int idx, const char *what)
{
    struct pv_mc_batch mc = { .n = 0, .err = 0 };
    int rc;

    queue_dmap_ro(&mc, pfn);
    if ((rc = pv_mc_flush(&mc)) ||
        (rc = table_set(parent, idx, (pv_pfn_to_mfn(pfn) << 12) | PTE_TABLE)))
        pv_die(what, rc);
}

/*
 * Maps pfns [DMAP_STATIC_PFNS, nr) into the live direct map with L1s (and,
 * past 1 GiB, L2s) taken from *first_free on, which the static part maps
 * writable: each is filled, made read-only, then hooked in with mmu_update
 * (Xen validates it then).  *first_free moves past the frames taken.
 */
static void dmap_extend(uint64_t nr, uint64_t *first_free, uint64_t l2_pfn, uint64_t l3_pfn)
{
    uint64_t next = *first_free, l2 = l2_pfn;

    for (uint64_t base = DMAP_STATIC_PFNS; base < nr; base += 512) {
        uint64_t l1 = next++;
        uint64_t *t = arch_pfn_to_virt(l1);
        unsigned int l3_idx = (unsigned int)(base >> 18), l2_idx = (base >> 9) & 511;

        if (next > DMAP_STATIC_PFNS)
            pv_die("direct map: no room for its tables", (long)nr);
        if (l2_idx == 0) {              /* a new GiB: a new, empty L2 */
            l2 = next++;
            table_hook(l2, l3_pfn, l3_idx, "direct map: hooking an L2");
        }
        for (unsigned int i = 0; i < 512; i++)
            t[i] = base + i < nr ? (pv_pfn_to_mfn(base + i) << 12) | PV_PTE_P | PV_PTE_A |
                                   PV_PTE_RW | PV_PTE_D : 0;
        table_hook(l1, l2, l2_idx, "direct map: hooking an L1");
    }
    *first_free = next;
}

uint64_t pv_mm_init(start_info_t *si, uint64_t *first_free_pfn)
{
    uint64_t all = si->nr_pages < DMAP_MAX_PFNS ? si->nr_pages : DMAP_MAX_PFNS;
    uint64_t nr = all < DMAP_STATIC_PFNS ? all : DMAP_STATIC_PFNS;
    uint64_t nl1 = (nr + 511) / 512;
    uint64_t pt_first = image_pfn((void *)si->pt_base);
    uint64_t pt_end = pt_first + si->nr_pt_frames;
    uint64_t pool_first = image_pfn(dmap_l1), pool_end = pool_first + DMAP_L1S;
    uint64_t l2_pfn = image_pfn(dmap_l2), l3_pfn = image_pfn(dmap_l3);
    struct pv_mc_batch mc;
    struct mmu_update mu;
    int rc;

    boot_l4 = (const uint64_t *)si->pt_base;
    boot_l4_pfn = pt_first;

    /* 1. Fill the tables while they are still ordinary writable pages. */
    for (uint64_t pfn = 0; pfn < nl1 * 512; pfn++) {
        uint64_t pte = 0;

        if (pfn < nr) {
            bool table = (pfn >= pt_first && pfn < pt_end) ||
                         (pfn >= pool_first && pfn < pool_end) ||
                         pfn == l2_pfn || pfn == l3_pfn;
            pte = (pv_pfn_to_mfn(pfn) << 12) | PV_PTE_P | PV_PTE_A |
                  (table ? 0 : PV_PTE_RW | PV_PTE_D);
        }
        dmap_l1[pfn / 512][pfn % 512] = pte;
    }
    for (uint64_t i = 0; i < nl1; i++)
        dmap_l2[i] = (pv_pfn_to_mfn(pool_first + i) << 12) | PTE_TABLE;
    dmap_l3[0] = (pv_pfn_to_mfn(l2_pfn) << 12) | PTE_TABLE;

    /* 2. Make them read-only in the initial mapping. */
    mc.n = 0;
    mc.err = 0;
    for (uint64_t i = 0; i < nl1; i++)
        pv_mc_queue_va_mapping(&mc, (unsigned long)dmap_l1[i],
                               (pv_pfn_to_mfn(pool_first + i) << 12) | PV_PTE_P | PV_PTE_A,
                               UVMF_INVLPG);
    pv_mc_queue_va_mapping(&mc, (unsigned long)dmap_l2,
                           (pv_pfn_to_mfn(l2_pfn) << 12) | PV_PTE_P | PV_PTE_A, UVMF_INVLPG);
    pv_mc_queue_va_mapping(&mc, (unsigned long)dmap_l3,
                           (pv_pfn_to_mfn(l3_pfn) << 12) | PV_PTE_P | PV_PTE_A, UVMF_INVLPG);
    rc = pv_mc_flush(&mc);
    if (rc)
        pv_die("making direct-map tables read-only", rc);

    /* 3. Hook the L3 into the (pinned) boot L4: Xen validates the tree. */
    mu.ptr = ((pv_pfn_to_mfn(boot_l4_pfn) << 12) + ((PV_DMAP_BASE >> 39) & 511) * 8) | MMU_NORMAL_PT_UPDATE;
    mu.val = (pv_pfn_to_mfn(l3_pfn) << 12) | PTE_TABLE;
    rc = HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF);
    if (rc)
        pv_die("installing the direct map", rc);

    /* 4. Unmap the free part of Xen's initial mapping so that free frames
     * are mapped only by the direct map (a writable alias would stop them
     * from ever becoming page tables).  Stops where no L1 exists. */
    for (uint64_t pfn = *first_free_pfn; pfn < si->nr_pages; pfn++) {
        if (HYPERVISOR_update_va_mapping(PV_VIRT_BASE + pfn * GPAGE_SIZE, 0, UVMF_INVLPG))
            break;
    }
    (void)pv_tlb_flush_local();

    /* 5. The rest of the memory, if any. */
    if (all > nr)
        dmap_extend(all, first_free_pfn, l2_pfn, l3_pfn);
    return all;
}

/* ---- user address spaces -------------------------------------------------- */

struct arch_aspace {
    uint64_t kl4_pfn;       /* kernel-mode L4: user slots + kernel slots */
    uint64_t ul4_pfn;       /* user-mode L4: user slots only */
};

static struct arch_aspace *current_as;

static int remap_dmap(uint64_t pfn, bool writable)
{
    uint64_t pte = (pv_pfn_to_mfn(pfn) << 12) | PV_PTE_P | PV_PTE_A |
                   (writable ? PV_PTE_RW | PV_PTE_D : 0);

    return HYPERVISOR_update_va_mapping((unsigned long)arch_pfn_to_virt(pfn), pte, UVMF_INVLPG);
}

/* A zeroed frame mapped read-only, ready to become a table; 0 if none. */
static uint64_t table_alloc(void)
{
    uint64_t pfn = core_alloc_frame();

    if (pfn && remap_dmap(pfn, false)) {
        core_free_frame(pfn);
        return 0;
    }
    return pfn;
}

/* Gives back a frame that is no longer a table (unpinned, unreferenced). */
static void table_free(uint64_t pfn)
{
    if (remap_dmap(pfn, true))
        pv_die("table frame still in use", (long)pfn);
    core_free_frame(pfn);
}

static const uint64_t *table_view(uint64_t pfn)
{
    return arch_pfn_to_virt(pfn);
}

static uint64_t entry_pfn(uint64_t e)
{
    return pv_mfn_to_pfn((e & PV_PTE_ADDR_MASK) >> 12);
}

static int pt_write(uint64_t table_pfn, unsigned int idx, uint64_t val)
{
    struct mmu_update mu = {
        .ptr = ((pv_pfn_to_mfn(table_pfn) << 12) + idx * 8) | MMU_NORMAL_PT_UPDATE,
        .val = val,
    };

    return HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF);
}

struct arch_aspace *arch_aspace_create(void)
{
    struct arch_aspace *as = kzalloc(sizeof(*as));
    uint64_t kl4, ul4;

    if (!as)
        return NULL;
    kl4 = core_alloc_frame();
    ul4 = table_alloc();
    if (!kl4 || !ul4)
        goto fail;
    /* The kernel half is shared with the boot L4 (direct map, image). */
    uint64_t *k = arch_pfn_to_virt(kl4);
    for (unsigned int i = L4_SLOT_FIRST_GUEST_KERNEL; i < 512; i++)
        k[i] = boot_l4[i];
    if (remap_dmap(kl4, false))
        goto fail;
    if (pv_pin_table(4, pv_pfn_to_mfn(kl4)))
        goto fail_ro;
    if (pv_pin_table(4, pv_pfn_to_mfn(ul4))) {
        (void)pv_unpin_table(pv_pfn_to_mfn(kl4));
        goto fail_ro;
    }
    as->kl4_pfn = kl4;
    as->ul4_pfn = ul4;
    return as;

fail_ro:
    (void)remap_dmap(kl4, true);
fail:
    if (kl4)
        core_free_frame(kl4);
    if (ul4)
        table_free(ul4);
    kfree(as);
    return NULL;
}

int arch_aspace_map(struct arch_aspace *as, uint64_t va, uint64_t pfn, bool writable)
{
    unsigned int idx[4] = {
        (unsigned int)(va >> 39) & 511, (unsigned int)(va >> 30) & 511,
        (unsigned int)(va >> 21) & 511, (unsigned int)(va >> 12) & 511,
    };
    uint64_t table = as->kl4_pfn;

    if (va >= 0x0000800000000000UL || (va & (GPAGE_SIZE - 1)) || pfn >= pv_nr_pfns)
        return -1;
    /* Walk L4 -> L3 -> L2, creating missing tables. */
    for (int level = 0; level < 3; level++) {
        uint64_t e = table_view(table)[idx[level]];

        if (!(e & PV_PTE_P)) {
            uint64_t t = table_alloc();

            if (!t)
                return -1;
            e = (pv_pfn_to_mfn(t) << 12) | PTE_TABLE;
            if (pt_write(table, idx[level], e)) {
                table_free(t);
                return -1;
            }
            /* The user L4 shares the user-half L3s. */
            if (level == 0 && pt_write(as->ul4_pfn, idx[0], e))
                return -1;
        }
        table = entry_pfn(e);
    }
    uint64_t old = table_view(table)[idx[3]];
    uint64_t pte = (pv_pfn_to_mfn(pfn) << 12) | PV_PTE_P | PV_PTE_US | PV_PTE_A |
                   (writable ? PV_PTE_RW | PV_PTE_D : 0);
    if (pt_write(table, idx[3], pte))
        return -1;
    if ((old & PV_PTE_P) && as == current_as)
        (void)pv_tlb_flush_local();
    return 0;
}

void arch_aspace_destroy(struct arch_aspace *as)
{
    if (!as)
        return;
    if (as == current_as)
        pv_die("destroying the current address space", 0);
    /* Unpinning drops the L4 types; nothing else references the tree, so
     * Xen releases every level and the frames become plain pages. */
    if (pv_unpin_table(pv_pfn_to_mfn(as->kl4_pfn)) ||
        pv_unpin_table(pv_pfn_to_mfn(as->ul4_pfn)))
        pv_die("unpinning an address space", 0);
    const uint64_t *l4 = table_view(as->kl4_pfn);
    for (unsigned int i = 0; i < 256; i++) {
        if (!(l4[i] & PV_PTE_P))
            continue;
        uint64_t l3p = entry_pfn(l4[i]);
        const uint64_t *l3 = table_view(l3p);
        for (unsigned int j = 0; j < 512; j++) {
            if (!(l3[j] & PV_PTE_P))
                continue;
            uint64_t l2p = entry_pfn(l3[j]);
            const uint64_t *l2 = table_view(l2p);
            for (unsigned int k = 0; k < 512; k++)
                if (l2[k] & PV_PTE_P)
                    table_free(entry_pfn(l2[k]));
            table_free(l2p);
        }
        table_free(l3p);
    }
    table_free(as->kl4_pfn);
    table_free(as->ul4_pfn);
    kfree(as);
}

void arch_aspace_switch(struct arch_aspace *as)
{
    struct mmuext_op op[2];
    int rc;

    if (as == current_as)
        return;
    op[0].cmd = MMUEXT_NEW_BASEPTR;
    op[0].arg1.mfn = as ? pv_pfn_to_mfn(as->kl4_pfn) : pv_pfn_to_mfn(boot_l4_pfn);
    op[1].cmd = MMUEXT_NEW_USER_BASEPTR;
    op[1].arg1.mfn = as ? pv_pfn_to_mfn(as->ul4_pfn) : 0;
    rc = HYPERVISOR_mmuext_op(op, 2, NULL, DOMID_SELF);
    if (rc)
        pv_die("MMUEXT_NEW_BASEPTR", rc);
    current_as = as;
}

/* ---- foreign-mapping window (dom0's libxenctrl) -------------------------- */

static unsigned long foreign_nr_l1;
static uint64_t foreign_l1_pfn[PV_FOREIGN_MAX_PAGES / 512];   /* PFNs: MFNs change on restore */

int pv_foreign_window_init(unsigned long nr_pages)
{
    unsigned long nl1 = (nr_pages + 511) / 512;
    uint64_t l2, l1_pfn[PV_FOREIGN_MAX_PAGES / 512];
    int rc = -XEN_ENOMEM;

    if (nr_pages > PV_FOREIGN_MAX_PAGES)
        return -XEN_EINVAL;
    if (foreign_nr_l1)
        return nl1 <= foreign_nr_l1 ? 0 : -XEN_EINVAL;
    for (unsigned long i = 0; i < nl1; i++)
        l1_pfn[i] = 0;
    /* L1s: empty, read-only.  L2: filled while still writable. */
    for (unsigned long i = 0; i < nl1; i++)
        if (!(l1_pfn[i] = table_alloc()))
            goto fail;
    if (!(l2 = core_alloc_frame()))
        goto fail;
    uint64_t *l2v = arch_pfn_to_virt(l2);
    for (unsigned long i = 0; i < nl1; i++)
        l2v[i] = (pv_pfn_to_mfn(l1_pfn[i]) << 12) | PTE_TABLE;
    if ((rc = remap_dmap(l2, false))) {
        core_free_frame(l2);
        goto fail;
    }
    if ((rc = pt_write(image_pfn(dmap_l3), 511, (pv_pfn_to_mfn(l2) << 12) | PTE_TABLE))) {
        table_free(l2);
        goto fail;
    }
    for (unsigned long i = 0; i < nl1; i++)
        foreign_l1_pfn[i] = l1_pfn[i];
    foreign_nr_l1 = nl1;
    return 0;

fail:
    for (unsigned long i = 0; i < nl1; i++)
        if (l1_pfn[i])
            table_free(l1_pfn[i]);
    return rc;
}

uint64_t pv_foreign_pte_maddr(unsigned long i)
{
    return (pv_pfn_to_mfn(foreign_l1_pfn[i / 512]) << 12) + (i % 512) * 8;
}
