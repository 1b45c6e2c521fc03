/*
 * shadow.c - shadow page tables for unmodified guests (contract and design
 * in shadow.h).  Runs in ring 0 with interrupts off, on behalf of the
 * current unmodified vCPU.
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "unmod/shadow.h"

#define GPTE_ADDR   0x000ffffffffff000UL
#define L4_SLOT_M2P 256

static bool is_pt(const struct shadow_domain *sd, uint64_t gpfn)
{
    return gpfn < sd->p2m_cap && (sd->pt_bits[gpfn / 64] & (1UL << (gpfn % 64)));
}

void *shadow_gpa_to_virt(struct shadow_domain *sd, uint64_t gpa)
{
    return (char *)mfn_to_virt(sd->p2m[gpa >> PAGE_SHIFT]) + (gpa & (PAGE_SIZE - 1));
}

static uint64_t *gtable(struct shadow_domain *sd, uint64_t gpfn)
{
    return mfn_to_virt(sd->p2m[gpfn]);
}

static uint64_t *sh_table(const struct sh_page *p)
{
    return mfn_to_virt(p->mfn);
}

/* Replaces the P2M arrays with ones of cap entries (a multiple of 1024),
 * copying what fits.  0 or -ENOMEM (nothing changed). */
static int p2m_resize(struct shadow_domain *sd, unsigned long cap)
{
    uint32_t *p2m = xzalloc_bytes(cap * sizeof(*p2m));
    uint64_t *bits = p2m ? xzalloc_bytes(cap / 8) : NULL;
    unsigned long keep = sd->p2m_cap < cap ? sd->p2m_cap : cap;

    if (!bits) {
        xfree(p2m);
        return -XEN_ENOMEM;
    }
    if (sd->p2m) {
        memcpy(p2m, sd->p2m, keep * sizeof(*p2m));
        memcpy(bits, sd->pt_bits, keep / 8);
    }
    xfree(sd->p2m);
    xfree(sd->pt_bits);
    sd->p2m = p2m;
    sd->pt_bits = bits;
    sd->p2m_cap = cap;
    return 0;
}

int shadow_p2m_reserve(struct shadow_domain *sd, unsigned long gpfn)
{
    unsigned long cap = sd->p2m_cap;

    if (gpfn >= UNMOD_MAX_PAGES)
        return -XEN_EINVAL;
    if (gpfn < cap)
        return 0;
    while (cap <= gpfn)
        cap *= 2;
    return p2m_resize(sd, cap < UNMOD_MAX_PAGES ? cap : UNMOD_MAX_PAGES);
}

int shadow_init(struct shadow_domain *sd, unsigned long nr_pages)
{
    unsigned long cap = (nr_pages + 1023) & ~1023UL;

    sd->nr_pages = 0;
    sd->p2m = NULL;
    sd->pt_bits = NULL;
    sd->p2m_cap = 0;
    if (p2m_resize(sd, cap ? cap : 1024))
        return -XEN_ENOMEM;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        unsigned long mfn = alloc_xen_frame();
        if (mfn == INVALID_MFN) {
            for (unsigned int j = 0; j < i; j++)
                free_xen_frame(sd->pool[j].mfn);
            xfree(sd->p2m);
            xfree(sd->pt_bits);
            sd->p2m = NULL;
            sd->pt_bits = NULL;
            return -XEN_ENOMEM;
        }
        sd->pool[i] = (struct sh_page){ .mfn = mfn, .kind = SH_FREE };
    }
    sd->nr_pages = nr_pages;
    return 0;
}

void shadow_destroy(struct shadow_domain *sd)
{
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        free_xen_frame(sd->pool[i].mfn);
    xfree(sd->p2m);
    xfree(sd->pt_bits);
    sd->p2m = NULL;
    sd->pt_bits = NULL;
    sd->p2m_cap = 0;
}

void shadow_reset(struct shadow_domain *sd)
{
    /* The CPU may be on one of these frames: leave them first. */
    write_cr3(idle_cr3());
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        sd->pool[i].kind = SH_FREE;
    memset(sd->pt_bits, 0, sd->p2m_cap / 8);
    sd->reset_pending = true;
    sd->resets++;
}

static struct sh_page *sh_alloc(struct shadow_domain *sd, unsigned int kind,
                                unsigned int level, uint64_t gpfn, unsigned int idx,
                                unsigned int view)
{
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        struct sh_page *p = &sd->pool[i];
        if (p->kind != SH_FREE)
            continue;
        memset(sh_table(p), 0, PAGE_SIZE);
        p->kind = kind;
        p->level = level;
        p->gpfn = gpfn;
        p->idx = idx;
        p->view = view;
        if (level == 4) {
            uint64_t *t = sh_table(p);
            for (unsigned int s = L4_SLOT_M2P + 1; s <= HV_LAST_L4_SLOT; s++)
                t[s] = idle_pg_table[s];
        }
        return p;
    }
    return NULL;
}

static struct sh_page *sh_find(struct shadow_domain *sd, unsigned int kind, unsigned int level,
                               uint64_t gpfn, unsigned int view)
{
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        struct sh_page *p = &sd->pool[i];
        if (p->kind == kind && p->level == level && p->gpfn == gpfn && p->view == view)
            return p;
    }
    return NULL;
}

static struct sh_page *sh_by_mfn(struct shadow_domain *sd, unsigned long mfn)
{
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++)
        if (sd->pool[i].kind != SH_FREE && sd->pool[i].mfn == mfn)
            return &sd->pool[i];
    return NULL;
}

/* gpfn becomes a guest page table: no shadow leaf may map it writable. */
static void mark_pt(struct shadow_domain *sd, uint64_t gpfn)
{
    if (is_pt(sd, gpfn))
        return;
    sd->pt_bits[gpfn / 64] |= 1UL << (gpfn % 64);
    uint64_t target = (uint64_t)sd->p2m[gpfn] << PAGE_SHIFT;
    bool changed = false;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        struct sh_page *p = &sd->pool[i];
        if (p->kind == SH_FREE || p->level != 1)
            continue;
        uint64_t *t = sh_table(p);
        for (unsigned int k = 0; k < 512; k++)
            if ((t[k] & _PAGE_RW) && (t[k] & PTE_ADDR_MASK) == target) {
                t[k] &= ~_PAGE_RW;
                changed = true;
            }
    }
    if (changed)
        flush_tlb_local();
}

/* Frees p and, for an upper-level splinter parent entry, nothing else:
 * children of NORMAL tables stay cached under their own key. */
static void sh_drop_entry(struct shadow_domain *sd, uint64_t *e)
{
    if ((*e & _PAGE_PRESENT)) {
        struct sh_page *child = sh_by_mfn(sd, (*e & PTE_ADDR_MASK) >> PAGE_SHIFT);
        if (child && child->kind == SH_SPLINTER)
            child->kind = SH_FREE;
    }
    *e = 0;
}

void shadow_guest_write(struct shadow_domain *sd, uint64_t gpa, unsigned int len)
{
    uint64_t gpfn = gpa >> PAGE_SHIFT;
    if (!len || gpfn >= sd->nr_pages || !is_pt(sd, gpfn))
        return;
    unsigned int first = (gpa & (PAGE_SIZE - 1)) / 8;
    unsigned int last = ((gpa & (PAGE_SIZE - 1)) + len - 1) / 8;
    bool dropped = false;
    if (last > 511)
        last = 511;
    sd->pt_writes++;
    for (unsigned int i = 0; i < SH_POOL_PAGES; i++) {
        struct sh_page *p = &sd->pool[i];
        if (p->kind != SH_NORMAL || p->gpfn != gpfn)
            continue;
        uint64_t *t = sh_table(p);
        for (unsigned int k = first; k <= last; k++) {
            if (p->level == 4 && k >= L4_SLOT_M2P && k <= HV_LAST_L4_SLOT)
                continue;
            if (!(t[k] & _PAGE_PRESENT))
                continue;
            dropped = true;
            if (p->level >= 2)
                sh_drop_entry(sd, &t[k]);
            else
                t[k] = 0;
        }
    }
    /* The real TLB may hold a translation through a dropped entry (a
     * splinter of a changed guest L2 entry went with it, above). */
    if (dropped)
        flush_tlb_local();
}

/* ---- guest walk -------------------------------------------------------- */

struct gwalk {
    uint64_t table[5];          /* gpfn of the guest table at each level */
    uint64_t *entry[5];         /* the guest entry used at each level */
    unsigned int leaf_level;    /* 1, 2 (2 MiB) or 3 (1 GiB) */
    uint64_t gpfn;              /* 4 KiB guest frame of va */
    bool rw, us;
};

static void pf(struct emu_fault *f, uint64_t va, uint32_t ec)
{
    *f = (struct emu_fault){ .vector = 14, .has_ec = true, .ec = ec, .cr2 = va };
}

/* Walks the guest's 4-level tables for va; 0, -1 (#PF in *f), -2 (bad gfn). */
static int gwalk(struct shadow_domain *sd, struct vcpu_unmod *vu, uint64_t va,
                 unsigned int acc, unsigned int cpl, struct gwalk *w, struct emu_fault *f)
{
    bool user = cpl == 3 && !(acc & EMU_ACC_SYS);
    bool write = acc & EMU_ACC_W;
    uint32_t ec = (write ? 2 : 0) | (user ? 4 : 0) |
                  ((acc & EMU_ACC_X) && (vu->efer & X86_EFER_NXE) ? 16 : 0);
    uint64_t gpfn = vu->cr3 >> PAGE_SHIFT;

    if ((int64_t)(va << 16) >> 16 != (int64_t)va) {
        *f = (struct emu_fault){ .vector = 13, .has_ec = true, .ec = 0 };
        return -1;
    }
    w->rw = w->us = true;
    for (unsigned int level = 4; level >= 1; level--) {
        if (gpfn >= sd->nr_pages)
            return -2;
        unsigned int idx = (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
        uint64_t *e = &gtable(sd, gpfn)[idx];
        w->table[level] = gpfn;
        w->entry[level] = e;
        if (!(*e & _PAGE_PRESENT)) {
            pf(f, va, ec);
            return -1;
        }
        w->rw &= !!(*e & _PAGE_RW);
        w->us &= !!(*e & _PAGE_USER);
        if (level == 4 && (*e & _PAGE_PSE)) {
            pf(f, va, ec | 1 | 8);          /* reserved bit */
            return -1;
        }
        if (level > 1 && level < 4 && (*e & _PAGE_PSE)) {
            uint64_t pages = 1UL << (9 * (level - 1));
            uint64_t base = ((*e & GPTE_ADDR) >> PAGE_SHIFT) & ~(pages - 1);
            w->leaf_level = level;
            w->gpfn = base + ((va >> PAGE_SHIFT) & (pages - 1));
            break;
        }
        gpfn = (*e & GPTE_ADDR) >> PAGE_SHIFT;
        if (level == 1) {
            w->leaf_level = 1;
            w->gpfn = gpfn;
        }
    }
    if ((user && !w->us) || (write && !w->rw && (user || (vu->cr0 & X86_CR0_WP)))) {
        pf(f, va, ec | 1);
        return -1;
    }
    if (w->gpfn >= sd->nr_pages)
        return -2;
    /* Accessed (and dirty) bits, as the CPU sets them. */
    for (unsigned int level = 4; level >= w->leaf_level; level--)
        *w->entry[level] |= _PAGE_ACCESSED;
    if (write)
        *w->entry[w->leaf_level] |= _PAGE_DIRTY;
    return 0;
}

int shadow_translate(struct shadow_domain *sd, struct vcpu_unmod *vu, uint64_t va,
                     unsigned int acc, unsigned int cpl, uint64_t *gpa, struct emu_fault *f)
{
    if (!(vu->cr0 & X86_CR0_PG)) {
        va = (uint32_t)va;
        if ((va >> PAGE_SHIFT) >= sd->nr_pages)
            return -2;
        *gpa = va;
        return 0;
    }
    struct gwalk w;
    int rc = gwalk(sd, vu, va, acc, cpl, &w, f);
    if (rc)
        return rc;
    *gpa = (w.gpfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    return 0;
}

/* ---- shadow tables ---------------------------------------------------- */

static bool paging(const struct vcpu_unmod *vu)
{
    return vu->cr0 & X86_CR0_PG;
}

static struct sh_page *top_level(struct shadow_domain *sd, const struct vcpu_unmod *vu,
                                 unsigned int view)
{
    unsigned int kind = paging(vu) ? SH_NORMAL : SH_IDENT;
    uint64_t gpfn = paging(vu) ? vu->cr3 >> PAGE_SHIFT : ~0UL;
    if (kind == SH_NORMAL && gpfn >= sd->nr_pages)
        return NULL;
    struct sh_page *p = sh_find(sd, kind, 4, gpfn, view);
    if (!p) {
        p = sh_alloc(sd, kind, 4, gpfn, 0, view);
        if (p && kind == SH_NORMAL)
            mark_pt(sd, gpfn);
    }
    return p;
}

unsigned long shadow_cr3(struct shadow_domain *sd, const struct vcpu_unmod *vu, unsigned int view)
{
    struct sh_page *p = top_level(sd, vu, view);
    if (!p) {
        shadow_reset(sd);
        p = top_level(sd, vu, view);
    }
    sd->reset_pending = false;
    return p ? p->mfn << PAGE_SHIFT : 0;
}

/* Shadow flags for a non-leaf guest entry g in view. */
static uint64_t upper_flags(uint64_t g, unsigned int view)
{
    uint64_t f = _PAGE_PRESENT | (g & _PAGE_RW) | _PAGE_ACCESSED;
    if (view == SH_VIEW_KERNEL || (g & _PAGE_USER))
        f |= _PAGE_USER;
    return f;
}

/* Fills the shadow path for va; 1 = pool exhausted (reset needed). */
static int fill(struct shadow_domain *sd, struct vcpu_unmod *vu, unsigned int view,
                uint64_t va, const struct gwalk *w, bool write)
{
    struct sh_page *sp = top_level(sd, vu, view);
    if (!sp)
        return 1;
    unsigned int stop = w ? w->leaf_level : 1;

    for (unsigned int level = 4; level > 1; level--) {
        unsigned int idx = (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
        uint64_t *e = &sh_table(sp)[idx];
        struct sh_page *child = NULL;
        uint64_t g = w ? *w->entry[level] : (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER);

        if (*e & _PAGE_PRESENT) {
            child = sh_by_mfn(sd, (*e & PTE_ADDR_MASK) >> PAGE_SHIFT);
            if (!child)
                return 1;
        } else if (!w) {
            child = sh_alloc(sd, SH_IDENT, level - 1, ~0UL, 0, view);
        } else if (level == stop) {
            /* A guest superpage: a splinter L1 of 4 KiB entries. */
            if (level == 3)
                return -1;
            child = sh_alloc(sd, SH_SPLINTER, 1, w->table[level], idx, view);
        } else {
            uint64_t cg = (g & GPTE_ADDR) >> PAGE_SHIFT;
            child = sh_find(sd, SH_NORMAL, level - 1, cg, view);
            if (!child) {
                child = sh_alloc(sd, SH_NORMAL, level - 1, cg, 0, view);
                if (child)
                    mark_pt(sd, cg);
            }
        }
        if (!child)
            return 1;
        if (!(*e & _PAGE_PRESENT))
            *e = ((uint64_t)child->mfn << PAGE_SHIFT) | upper_flags(g, view);
        sp = child;
        if (level == stop)
            break;
    }

    uint64_t gpfn = w ? w->gpfn : (uint32_t)va >> PAGE_SHIFT;
    uint64_t gleaf = w ? *w->entry[w->leaf_level] : (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_DIRTY);
    bool rw = w ? w->rw : true;
    uint64_t flags = _PAGE_PRESENT | _PAGE_ACCESSED;
    if (view == SH_VIEW_KERNEL || (w ? w->us : true))
        flags |= _PAGE_USER;
    if (rw && (gleaf & _PAGE_DIRTY) && !is_pt(sd, gpfn))
        flags |= _PAGE_RW | _PAGE_DIRTY;
    (void)write;
    unsigned int idx = (va >> PAGE_SHIFT) & 511;
    sh_table(sp)[idx] = ((uint64_t)sd->p2m[gpfn] << PAGE_SHIFT) | flags;
    sd->fills++;
    return 0;
}

int shadow_fault(struct shadow_domain *sd, struct vcpu_unmod *vu, unsigned int view,
                 uint64_t va, uint32_t hw_ec, struct emu_fault *f, const char **why)
{
    unsigned int acc = ((hw_ec & 2) ? EMU_ACC_W : 0) | ((hw_ec & 16) ? EMU_ACC_X : 0);
    struct gwalk w, *wp = NULL;
    uint64_t gpfn;

    if (va >= HV_VIRT_START && va < HV_VIRT_END) {
        *why = "access to the hypervisor's virtual range (L4 slots 256-271)";
        return SH_BAD;
    }
    if (paging(vu)) {
        int rc = gwalk(sd, vu, va, acc, view == SH_VIEW_USER ? 3 : 0, &w, f);
        if (rc == -1) {
            sd->injected_pf++;
            return SH_INJECT;
        }
        if (rc == -2) {
            *why = "page-table entry points outside the domain's memory";
            return SH_BAD;
        }
        wp = &w;
        gpfn = w.gpfn;
    } else {
        gpfn = (uint32_t)va >> PAGE_SHIFT;
        if (va >> 32 || gpfn >= sd->nr_pages) {
            *why = "access beyond the domain's memory with paging off";
            return SH_BAD;
        }
    }
    if ((acc & EMU_ACC_W) && is_pt(sd, gpfn))
        return SH_EMULATE;
    for (int tries = 0; tries < 2; tries++) {
        int rc = fill(sd, vu, view, va, wp, acc & EMU_ACC_W);
        if (rc == 0)
            break;
        if (rc < 0) {
            *why = "1 GiB guest pages are not supported";
            return SH_BAD;
        }
        shadow_reset(sd);
        if (tries) {
            *why = "shadow pool too small for one translation";
            return SH_BAD;
        }
    }
    invlpg(va);
    return SH_FIXED;
}
