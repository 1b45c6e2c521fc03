/*
 * pv_build.c - start-of-day memory of a 64-bit PV domain: kernel image,
 * ramdisk, mfn_list, start_info, rings, bootstrap page tables, boot stack.
 *
 * Runs in the hypervisor's dom0 builder (ring 0, freestanding, interrupts
 * as the caller has them) and in the toolstack's domain builder (dom0 /
 * host).  Reaches guest memory only through ops->map_pfn; never allocates.
 * Decides the whole layout and checks it before the first write.
 */
#include "pv_build.h"

#if __STDC_HOSTED__
#include <string.h>
#else
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
#endif

#define PAGE_MASK_LOW (PV_PAGE_SIZE - 1)

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* Number of distinct 2^shift-aligned slots that [start, end) touches. */
static uint64_t span(uint64_t start, uint64_t end, unsigned int shift)
{
    return ((end - 1) >> shift) - (start >> shift) + 1;
}

/* a + b, or false if it wraps past 2^64 (or is 2^64 exactly). */
static bool add_ok(uint64_t a, uint64_t b, uint64_t *r)
{
    *r = a + b;
    return *r > a || b == 0;
}

static bool canonical_range(uint64_t start, uint64_t end)
{
    uint64_t last = end - 1;

    if ( last < 0x0000800000000000ULL )
        return true;
    return start >= 0xffff800000000000ULL;
}

int pv_build_layout(const struct xen_elf_info *info,
                    const struct pv_build_params *p,
                    struct pv_build_result *o, const char **why)
{
    uint64_t v, nr_pt, vstack_end = 0, v_end = 0;
    uint64_t nr_l3 = 0, nr_l2 = 0, nr_l1 = 0;
    const char *err = NULL;

    memset(o, 0, sizeof(*o));
    if ( why )
        *why = NULL;
#define FAIL(rc, msg) do { if ( why ) *why = (msg); return (rc); } while ( 0 )

    if ( !info || !p || !p->p2m || p->nr_pages == 0 )
        FAIL(-XEN_EINVAL, "missing image info, p2m or nr_pages");
    if ( p->nr_pages > (1ULL << 40) )
        FAIL(-XEN_EINVAL, "nr_pages is larger than 2^40");
    if ( info->virt_base & PAGE_MASK_LOW )
        FAIL(-XEN_EINVAL, "VIRT_BASE is not page aligned");
    if ( info->virt_kstart < info->virt_base || info->virt_kend <= info->virt_kstart )
        FAIL(-XEN_EINVAL, "image range is empty or below VIRT_BASE");

    o->v_start = info->virt_base;
    /* Each element starts on the page after the previous one. */
    if ( !add_ok(info->virt_kend, PAGE_MASK_LOW, &v) )
        FAIL(-XEN_EINVAL, "image reaches the top of the address space");
    v &= ~PAGE_MASK_LOW;
    if ( p->ramdisk && p->ramdisk_len )
    {
        o->ramdisk_va = v;
        o->ramdisk_len = p->ramdisk_len;
        if ( p->ramdisk_len > (1ULL << 52) ||
             !add_ok(v, round_up(p->ramdisk_len, PV_PAGE_SIZE), &v) )
            FAIL(-XEN_EINVAL, "ramdisk does not fit in the address space");
    }
    o->p2m_va = v;
    o->nr_p2m_frames = round_up(p->nr_pages * 8, PV_PAGE_SIZE) / PV_PAGE_SIZE;
    if ( !add_ok(v, o->nr_p2m_frames * PV_PAGE_SIZE, &v) )
        err = "mfn_list does not fit in the address space";
    o->start_info_va = v;
    v += PV_PAGE_SIZE;
    if ( p->alloc_rings )
        v += 2 * PV_PAGE_SIZE;             /* xenstore, console */
    o->pt_va = v;
    if ( err || v < o->start_info_va )
        FAIL(-XEN_EINVAL, err ? err : "layout wraps the address space");

    /*
     * The page tables map the region they are part of: grow them one frame
     * at a time until they suffice.  needed(n) never decreases with n and
     * needed(4) >= 4, so the first n with needed(n) <= n has needed(n) == n.
     */
    for ( nr_pt = 4;; nr_pt++ )
    {
        uint64_t vpt_end = o->pt_va + nr_pt * PV_PAGE_SIZE;

        vstack_end = vpt_end + PV_PAGE_SIZE;
        v_end = round_up(vstack_end, PV_REGION_ALIGN);
        if ( vpt_end < o->pt_va || vstack_end < vpt_end || v_end < vstack_end )
            FAIL(-XEN_EINVAL, "layout wraps the address space");
        if ( v_end - vstack_end < PV_PAD_MIN )
        {
            v_end += PV_REGION_ALIGN;
            if ( v_end == 0 )
                FAIL(-XEN_EINVAL, "layout wraps the address space");
        }
        if ( (v_end - o->v_start) / PV_PAGE_SIZE > p->nr_pages )
            FAIL(-XEN_ENOMEM,
                 "image and bootstrap region need more than nr_pages frames");
        nr_l3 = span(o->v_start, v_end, 39);
        nr_l2 = span(o->v_start, v_end, 30);
        nr_l1 = span(o->v_start, v_end, 21);
        if ( 1 + nr_l3 + nr_l2 + nr_l1 <= nr_pt )
            break;
    }

    if ( !canonical_range(o->v_start, v_end) )
        FAIL(-XEN_EINVAL, "bootstrap region is not canonical");
    if ( o->v_start <= XEN_ELF_HV_END && v_end - 1 >= XEN_ELF_HV_START )
        FAIL(-XEN_EINVAL, "bootstrap region overlaps the hypervisor's range");

    o->v_end = v_end;
    o->nr_region_pages = (v_end - o->v_start) / PV_PAGE_SIZE;
    o->entry = info->virt_entry;
    o->stack_top = vstack_end;
    o->stack_pfn = (vstack_end - PV_PAGE_SIZE - o->v_start) / PV_PAGE_SIZE;
    o->start_info_pfn = (o->start_info_va - o->v_start) / PV_PAGE_SIZE;
    o->p2m_first_pfn = (o->p2m_va - o->v_start) / PV_PAGE_SIZE;
    o->store_pfn = o->console_pfn = PV_NO_PFN;
    if ( p->alloc_rings )
    {
        o->store_pfn = o->start_info_pfn + 1;
        o->console_pfn = o->start_info_pfn + 2;
        o->store_mfn = p->p2m[o->store_pfn];
        o->console_mfn = p->p2m[o->console_pfn];
    }
    o->hypercall_pfn = info->virt_hypercall ?
        (info->virt_hypercall - o->v_start) / PV_PAGE_SIZE : PV_NO_PFN;
    o->pt_first_pfn = (o->pt_va - o->v_start) / PV_PAGE_SIZE;
    o->nr_pt_frames = nr_pt;
    o->l4_pfn = o->pt_first_pfn;
    o->l4_mfn = p->p2m[o->l4_pfn];
    o->l3_first_pfn = o->l4_pfn + 1;
    o->nr_l3 = nr_l3;
    o->l2_first_pfn = o->l3_first_pfn + nr_l3;
    o->nr_l2 = nr_l2;
    o->l1_first_pfn = o->l2_first_pfn + nr_l2;
    o->nr_l1 = nr_l1;
    return 0;
#undef FAIL
}

/* ---- writing ---------------------------------------------------------- */

struct writer {
    const struct pv_build_ops *ops;
    const struct pv_build_params *p;
    const struct pv_build_result *r;
    const struct xen_elf_info *info;
};

static void *map(const struct writer *w, uint64_t pfn)
{
    return w->ops->map_pfn(w->ops->ctx, pfn);
}

static void unmap(const struct writer *w, void *page)
{
    if ( w->ops->unmap_pfn )
        w->ops->unmap_pfn(w->ops->ctx, page);
}

/* Copies len bytes from src to guest VA va (inside the region). */
static int copy_to_va(const struct writer *w, uint64_t va, const uint8_t *src,
                      uint64_t len)
{
    while ( len )
    {
        uint64_t off = va & PAGE_MASK_LOW;
        uint64_t n = PV_PAGE_SIZE - off;
        uint8_t *page;

        if ( n > len )
            n = len;
        page = map(w, (va - w->r->v_start) / PV_PAGE_SIZE);
        if ( !page )
            return -XEN_EFAULT;
        memcpy(page + off, src, n);
        unmap(w, page);
        va += n;
        src += n;
        len -= n;
    }
    return 0;
}

static int load_segment(void *arg, uint64_t va, const void *src,
                        uint64_t filesz, uint64_t memsz)
{
    const struct writer *w = arg;

    /* info must describe this image; refuse to write outside the kernel. */
    if ( va < w->info->virt_kstart || memsz > w->info->virt_kend - va )
        return -XEN_EINVAL;
    return copy_to_va(w, va, src, filesz);   /* bss: frames already zero */
}

static uint64_t pte(const struct writer *w, uint64_t pfn, uint64_t flags)
{
    return (w->p->p2m[pfn] << 12) | flags;
}

/* Fills the page-table frame at pfn with entries for the child tables
 * [child_first, child_first + nr_child), whose first covers VA slot
 * (v_start >> child_shift) at that level.  parent_idx is this frame's
 * index among its level, whose slots are 2^(child_shift + 9) bytes. */
static int write_table(const struct writer *w, uint64_t pfn, uint64_t parent_idx,
                       unsigned int child_shift, uint64_t child_first,
                       uint64_t nr_child)
{
    uint64_t base_slot = w->r->v_start >> child_shift, j;
    uint64_t parent_base = (w->r->v_start >> (child_shift + 9)) + parent_idx;
    uint64_t *t = map(w, pfn);

    if ( !t )
        return -XEN_EFAULT;
    for ( j = 0; j < nr_child; j++ )
    {
        uint64_t slot = base_slot + j;

        if ( (slot >> 9) == parent_base )
            t[slot & 511] = pte(w, child_first + j, PV_PTE_DATA);
    }
    unmap(w, t);
    return 0;
}

/* Fills L1 frame number k with the region's 4 KiB mappings it covers. */
static int write_l1(const struct writer *w, uint64_t k)
{
    const struct pv_build_result *r = w->r;
    uint64_t lo = ((r->v_start >> 21) + k) << 21, hi = lo + (1ULL << 21), va;
    uint64_t *t = map(w, r->l1_first_pfn + k);

    if ( !t )
        return -XEN_EFAULT;
    if ( lo < r->v_start )
        lo = r->v_start;
    if ( hi > r->v_end || hi == 0 )
        hi = r->v_end;
    for ( va = lo; va < hi; va += PV_PAGE_SIZE )
    {
        uint64_t pfn = (va - r->v_start) / PV_PAGE_SIZE;
        bool is_pt = pfn >= r->pt_first_pfn &&
                     pfn < r->pt_first_pfn + r->nr_pt_frames;

        t[(va >> 12) & 511] = pte(w, pfn, is_pt ? PV_PTE_PT : PV_PTE_DATA);
    }
    unmap(w, t);
    return 0;
}

static int write_page_tables(const struct writer *w)
{
    const struct pv_build_result *r = w->r;
    uint64_t k;
    int rc;
    void *l4;

    rc = write_table(w, r->l4_pfn, 0, 39, r->l3_first_pfn, r->nr_l3);
    for ( k = 0; !rc && k < r->nr_l3; k++ )
        rc = write_table(w, r->l3_first_pfn + k, k, 30, r->l2_first_pfn, r->nr_l2);
    for ( k = 0; !rc && k < r->nr_l2; k++ )
        rc = write_table(w, r->l2_first_pfn + k, k, 21, r->l1_first_pfn, r->nr_l1);
    for ( k = 0; !rc && k < r->nr_l1; k++ )
        rc = write_l1(w, k);
    if ( rc || !w->ops->init_l4 )
        return rc;
    if ( !(l4 = map(w, r->l4_pfn)) )
        return -XEN_EFAULT;
    w->ops->init_l4(w->ops->ctx, l4);
    unmap(w, l4);
    return 0;
}

static int write_mfn_list(const struct writer *w)
{
    const struct pv_build_result *r = w->r;
    uint64_t f, i;

    for ( f = 0; f < r->nr_p2m_frames; f++ )
    {
        uint64_t *t = map(w, r->p2m_first_pfn + f);

        if ( !t )
            return -XEN_EFAULT;
        for ( i = 0; i < 512 && f * 512 + i < w->p->nr_pages; i++ )
            t[i] = w->p->p2m[f * 512 + i];
        unmap(w, t);
    }
    return 0;
}

static int write_start_info(const struct writer *w)
{
    const struct pv_build_params *p = w->p;
    const struct pv_build_result *r = w->r;
    start_info_t *si = map(w, r->start_info_pfn);

    if ( !si )
        return -XEN_EFAULT;
    memset(si, 0, sizeof(*si));
    memcpy(si->magic, PV_START_INFO_MAGIC, sizeof(PV_START_INFO_MAGIC));
    si->nr_pages = p->nr_pages;
    si->shared_info = p->shared_info_maddr;
    si->flags = p->flags;
    if ( p->alloc_rings )
    {
        si->store_mfn = r->store_mfn;
        si->store_evtchn = p->store_evtchn;
        si->console.domU.mfn = r->console_mfn;
        si->console.domU.evtchn = p->console_evtchn;
    }
    si->pt_base = r->pt_va;
    si->nr_pt_frames = r->nr_pt_frames;
    si->mfn_list = r->p2m_va;
    si->mod_start = r->ramdisk_va;
    si->mod_len = r->ramdisk_len;
    if ( p->cmdline )
    {
        size_t n = strlen(p->cmdline);

        if ( n > MAX_GUEST_CMDLINE - 1 )
            n = MAX_GUEST_CMDLINE - 1;
        memcpy(si->cmd_line, p->cmdline, n);
    }
    si->first_p2m_pfn = r->p2m_first_pfn;
    si->nr_p2m_frames = r->nr_p2m_frames;
    unmap(w, si);
    return 0;
}

static int pv_fail(const char **why, const char *msg, int rc)
{
    if ( why )
        *why = msg;
    return rc;
}

int pv_build(const void *elf, size_t elf_size, const struct xen_elf_info *info,
             const struct pv_build_params *p, const struct pv_build_ops *ops,
             struct pv_build_result *out, const char **why)
{
    struct writer w = { .ops = ops, .p = p, .r = out, .info = info };
    const char *msg = NULL;
    uint64_t pfn;
    void *page;
    int rc;

    rc = pv_build_layout(info, p, out, why);
    if ( rc )
        return rc;
    if ( !elf || !ops || !ops->map_pfn )
        msg = "missing image or map_pfn";
    else if ( info->virt_hypercall && !ops->write_hypercall_page )
        msg = "kernel has a hypercall page but no writer was given";
    else if ( info->virt_hypercall &&
              (info->virt_hypercall < info->virt_kstart ||
               info->virt_hypercall >= info->virt_kend ||
               (info->virt_hypercall & PAGE_MASK_LOW)) )
        msg = "hypercall page is not a page of the image";
    for ( pfn = 0; !msg && pfn < out->nr_region_pages; pfn++ )
        if ( p->p2m[pfn] > PV_MAX_MFN )
            msg = "p2m gives an MFN above 2^40 for a bootstrap frame";
    if ( msg )
    {
        if ( why )
            *why = msg;
        return -XEN_EINVAL;
    }

#define STEP(expr, msg_) do {                          \
        rc = (expr);                                    \
        if ( rc )                                       \
            return pv_fail(why, (msg_), rc);            \
    } while ( 0 )
    for ( pfn = 0; pfn < out->nr_region_pages; pfn++ )
    {
        if ( !(page = map(&w, pfn)) )
            STEP(-XEN_EFAULT, "map_pfn failed");
        memset(page, 0, PV_PAGE_SIZE);
        unmap(&w, page);
    }
    STEP(xen_elf_for_each_load(elf, elf_size, info, load_segment, &w),
         "copying the PT_LOAD segments failed (info does not match image?)");
    if ( out->ramdisk_len )
        STEP(copy_to_va(&w, out->ramdisk_va, p->ramdisk, out->ramdisk_len),
             "map_pfn failed");
    STEP(write_mfn_list(&w), "map_pfn failed");
    STEP(write_start_info(&w), "map_pfn failed");
    if ( info->virt_hypercall )
    {
        if ( !(page = map(&w, out->hypercall_pfn)) )
            STEP(-XEN_EFAULT, "map_pfn failed");
        ops->write_hypercall_page(ops->ctx, page);
        unmap(&w, page);
    }
    STEP(write_page_tables(&w), "map_pfn failed");
#undef STEP
    return 0;
}
