/*
 * mm.c - native paging: the kernel's L4 (image window at KERNEL_VMA, all
 * RAM at DIRECTMAP_BASE with 2 MiB pages) and user address spaces (one L4
 * each, kernel half copied from the kernel L4, 4 KiB user pages).
 * Runs in the guest kernel, ring 0; page tables are plain memory written
 * through the direct map (shadowed by the hypervisor under Lamina).
 */
#include "cpu.h"
#include "kernel.h"
#include "native.h"

#define PTE_P   0x001UL
#define PTE_W   0x002UL
#define PTE_U   0x004UL
#define PTE_PS  0x080UL
#define PTE_ADDR_MASK 0x000ffffffffff000UL

#define L4_SLOT_DIRECTMAP 273
#define L4_SLOT_IMAGE     511

struct arch_aspace {
    uint64_t l4_pfn;
};

extern uint64_t boot_pml4[];        /* boot.S: physical == its link address */

static uint64_t kernel_l4[512] __attribute__((aligned(4096)));
static uint64_t kernel_l4_phys;
static uint64_t loaded_cr3;         /* what we last wrote (avoids reading CR3) */

void *arch_pfn_to_virt(uint64_t pfn)
{
    return (void *)(DIRECTMAP_BASE + (pfn << 12));
}

uint64_t arch_virt_to_pfn(const void *va)
{
    uint64_t v = (uint64_t)va;
    if (v >= KERNEL_VMA)
        return (v - KERNEL_VMA) >> 12;
    return (v - DIRECTMAP_BASE) >> 12;
}

/* A zeroed boot-time table frame at *bump (below 1 GiB); returns its
 * physical address. */
static uint64_t bump_alloc(uint64_t *bump)
{
    uint64_t pa = *bump;
    *bump += GPAGE_SIZE;
    memset(native_low_phys(pa), 0, GPAGE_SIZE);
    return pa;
}

void native_mm_init(uint64_t *bump_phys, uint64_t ram_end)
{
    const uint64_t *boot_l4 = native_low_phys((uint64_t)boot_pml4);
    kernel_l4[L4_SLOT_IMAGE] = boot_l4[L4_SLOT_IMAGE];

    uint64_t l3_pa = bump_alloc(bump_phys);
    uint64_t *l3 = native_low_phys(l3_pa);
    kernel_l4[L4_SLOT_DIRECTMAP] = l3_pa | PTE_P | PTE_W;
    for (uint64_t gib = 0; gib * (1UL << 30) < ram_end; gib++) {
        uint64_t l2_pa = bump_alloc(bump_phys);
        uint64_t *l2 = native_low_phys(l2_pa);
        l3[gib] = l2_pa | PTE_P | PTE_W;
        for (uint64_t i = 0; i < 512; i++) {
            uint64_t pa = (gib << 30) + (i << 21);
            if (pa >= ram_end)
                break;
            l2[i] = pa | PTE_P | PTE_W | PTE_PS;
        }
    }
    kernel_l4_phys = native_image_phys(kernel_l4);
    loaded_cr3 = kernel_l4_phys;
    write_cr3(kernel_l4_phys);          /* drops the identity map */
}

struct arch_aspace *arch_aspace_create(void)
{
    struct arch_aspace *as = kmalloc(sizeof(*as));
    if (!as)
        return NULL;
    as->l4_pfn = core_alloc_frame();
    if (!as->l4_pfn) {
        kfree(as);
        return NULL;
    }
    uint64_t *l4 = arch_pfn_to_virt(as->l4_pfn);
    for (int i = 256; i < 512; i++)
        l4[i] = kernel_l4[i];
    return as;
}

/* The next-level table under entry *e, created (user-accessible) if
 * absent; NULL when out of frames. */
static uint64_t *next_table(uint64_t *e)
{
    if (!(*e & PTE_P)) {
        uint64_t pfn = core_alloc_frame();
        if (!pfn)
            return NULL;
        *e = (pfn << 12) | PTE_P | PTE_W | PTE_U;
    }
    return arch_pfn_to_virt((*e & PTE_ADDR_MASK) >> 12);
}

int arch_aspace_map(struct arch_aspace *as, uint64_t va, uint64_t pfn, bool writable)
{
    if ((va & (GPAGE_SIZE - 1)) || va >= USER_VA_END)
        return -1;
    uint64_t *t = arch_pfn_to_virt(as->l4_pfn);
    for (int shift = 39; shift > 12; shift -= 9) {
        t = next_table(&t[(va >> shift) & 511]);
        if (!t)
            return -1;
    }
    t[(va >> 12) & 511] = (pfn << 12) | PTE_P | PTE_U | (writable ? PTE_W : 0);
    if (loaded_cr3 == as->l4_pfn << 12)
        invlpg((void *)va);
    return 0;
}

/* Frees the tables under a user-half table of the given level (3..1). */
static void free_tables(uint64_t table_pfn, int level)
{
    if (level > 1) {
        uint64_t *t = arch_pfn_to_virt(table_pfn);
        for (int i = 0; i < 512; i++)
            if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
                free_tables((t[i] & PTE_ADDR_MASK) >> 12, level - 1);
    }
    core_free_frame(table_pfn);
}

void arch_aspace_destroy(struct arch_aspace *as)
{
    if (loaded_cr3 == as->l4_pfn << 12)
        panic("native: destroying the loaded address space");
    uint64_t *l4 = arch_pfn_to_virt(as->l4_pfn);
    for (int i = 0; i < 256; i++)
        if (l4[i] & PTE_P)
            free_tables((l4[i] & PTE_ADDR_MASK) >> 12, 3);
    core_free_frame(as->l4_pfn);
    kfree(as);
}

void arch_aspace_switch(struct arch_aspace *as)
{
    uint64_t cr3 = as ? as->l4_pfn << 12 : kernel_l4_phys;
    if (cr3 != loaded_cr3) {
        loaded_cr3 = cr3;
        write_cr3(cr3);
    }
}
