/*
 * vmap.c - the hypervisor's heap for objects larger than a frame (struct
 * domain, struct vcpu, an unmodified domain's P2M): frames from the frame
 * allocator mapped virtually contiguous at VMAP_VIRT_START (L4 slot 263,
 * shared by every address space), as Xen's vzalloc.
 *
 * Runs in ring 0 with interrupts off.  The range is VMAP_PAGES pages; a
 * bitmap says which are in use and a second one marks the last page of
 * each allocation, so that vfree() needs no size.  Page tables under the
 * slot are allocated when first needed and kept.
 */
#include "mm/mm.h"

#define VMAP_PAGES      (1UL << 20)                 /* 4 GiB of addresses */
#define VMAP_PTE        (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX)
#define VMAP_TABLE      (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

static uint64_t vmap_used[VMAP_PAGES / 64];         /* page i is mapped */
static uint64_t vmap_last[VMAP_PAGES / 64];         /* page i ends an allocation */
static unsigned long vmap_hint;                     /* where the next search starts */
static uint64_t *vmap_l3;

static bool bit(const uint64_t *map, unsigned long i)
{
    return map[i / 64] & (1UL << (i % 64));
}

static void set_bit_to(uint64_t *map, unsigned long i, bool on)
{
    if (on)
        map[i / 64] |= 1UL << (i % 64);
    else
        map[i / 64] &= ~(1UL << (i % 64));
}

void vmap_init(void)
{
    unsigned long l3 = alloc_xen_frame();

    BUG_ON(l3 == INVALID_MFN);
    vmap_l3 = mfn_to_virt(l3);
    idle_pg_table[VMAP_L4_SLOT] = (l3 << PAGE_SHIFT) | VMAP_TABLE;
}

/* The next-level table entry t[idx] points to, allocated if absent.  NULL
 * when out of frames. */
static uint64_t *next_table(uint64_t *t, unsigned int idx)
{
    if (!(t[idx] & _PAGE_PRESENT)) {
        unsigned long mfn = alloc_xen_frame();

        if (mfn == INVALID_MFN)
            return NULL;
        t[idx] = (mfn << PAGE_SHIFT) | VMAP_TABLE;
    }
    return mfn_to_virt((t[idx] & PTE_ADDR_MASK) >> PAGE_SHIFT);
}

/* The L1 entry of vmap page i; NULL when a table cannot be allocated. */
static uint64_t *vmap_pte(unsigned long i)
{
    uint64_t *l2 = next_table(vmap_l3, (i >> 18) & 511);
    uint64_t *l1 = l2 ? next_table(l2, (i >> 9) & 511) : NULL;

    return l1 ? &l1[i & 511] : NULL;
}

/* First run of n free pages at or after from, below VMAP_PAGES; or
 * VMAP_PAGES when there is none. */
static unsigned long find_run(unsigned long from, unsigned long n)
{
    unsigned long i = from, run = 0;

    while (i < VMAP_PAGES) {
        if (run == 0 && i % 64 == 0 && vmap_used[i / 64] == ~0UL) {
            i += 64;                        /* a full word: skip it */
            continue;
        }
        if (bit(vmap_used, i)) {
            run = 0;
        } else if (++run == n) {
            return i + 1 - n;
        }
        i++;
    }
    return VMAP_PAGES;
}

static void unmap_pages(unsigned long first, unsigned long n)
{
    for (unsigned long i = first; i < first + n; i++) {
        uint64_t *pte = vmap_pte(i);            /* tables exist: i was mapped */

        free_xen_frame((*pte & PTE_ADDR_MASK) >> PAGE_SHIFT);
        *pte = 0;
        invlpg(VMAP_VIRT_START + (i << PAGE_SHIFT));
        set_bit_to(vmap_used, i, false);
        set_bit_to(vmap_last, i, false);
    }
    if (first < vmap_hint)
        vmap_hint = first;
}

void *vzalloc(size_t bytes)
{
    unsigned long n = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT, first;

    if (n == 0 || n > VMAP_PAGES)
        return NULL;
    first = find_run(vmap_hint, n);
    if (first == VMAP_PAGES && vmap_hint)
        first = find_run(0, n);
    if (first == VMAP_PAGES)
        return NULL;
    for (unsigned long k = 0; k < n; k++) {
        uint64_t *pte = vmap_pte(first + k);
        unsigned long mfn = pte ? alloc_xen_frame() : INVALID_MFN;

        if (mfn == INVALID_MFN) {
            unmap_pages(first, k);
            return NULL;
        }
        *pte = (mfn << PAGE_SHIFT) | VMAP_PTE;
        set_bit_to(vmap_used, first + k, true);
    }
    set_bit_to(vmap_last, first + n - 1, true);
    if (first == vmap_hint)
        vmap_hint = first + n;
    return (void *)(VMAP_VIRT_START + (first << PAGE_SHIFT));
}

void vfree(void *p)
{
    unsigned long va = (unsigned long)p, first, i;

    if (!p)
        return;
    BUG_ON(va < VMAP_VIRT_START || va >= VMAP_VIRT_START + (VMAP_PAGES << PAGE_SHIFT) ||
           (va & (PAGE_SIZE - 1)));
    first = (va - VMAP_VIRT_START) >> PAGE_SHIFT;
    BUG_ON(!bit(vmap_used, first) || (first && bit(vmap_used, first - 1) &&
                                      !bit(vmap_last, first - 1)));
    for (i = first; !bit(vmap_last, i); i++)
        ;
    unmap_pages(first, i + 1 - first);
}

void *xzalloc_bytes(size_t bytes)
{
    unsigned long mfn;

    if (bytes > PAGE_SIZE)
        return vzalloc(bytes);
    mfn = alloc_xen_frame();
    return mfn == INVALID_MFN ? NULL : mfn_to_virt(mfn);
}

void xfree(void *p)
{
    unsigned long va = (unsigned long)p;

    if (!p)
        return;
    if (va >= VMAP_VIRT_START && va < VMAP_VIRT_START + (VMAP_PAGES << PAGE_SHIFT))
        vfree(p);
    else
        free_xen_frame(virt_to_mfn(p));
}
