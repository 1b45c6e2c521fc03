/*
 * test_loader.c - host unit tests (cmocka) for toolstack/builder: the Xen
 * PV ELF parser (xen_elf.c) and the start-of-day layout builder
 * (pv_build.c).  Guest memory is a malloc'd array of 4 KiB frames; the p2m
 * maps PFNs to scattered fake MFNs so that page-table walks prove entries
 * hold machine addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/builder/xen_elf.c"
#include "../../toolstack/builder/pv_build.c"
#include "elf_fixture.h"

/* ---- parser ----------------------------------------------------------- */

struct img {
    struct fx_spec spec;
    uint8_t *buf;
    size_t size;
};

static void img_build(struct img *im)
{
    free(im->buf);
    im->buf = fx_build(&im->spec, &im->size);
}

static int parse(struct img *im, struct xen_elf_info *info, const char **why)
{
    return xen_elf_parse(im->buf, im->size, info, why);
}

/* Expects -err and a non-empty reason. */
static void expect_fail(struct img *im, int err)
{
    struct xen_elf_info info;
    const char *why = NULL;
    int rc = parse(im, &info, &why);

    if ( rc != err )
        fprintf(stderr, "  got rc %d (%s), want %d\n", rc, why ? why : "-", err);
    assert_int_equal(rc, err);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
}

/* Expects -err with a reason that mentions what. */
static void expect_why(struct img *im, int err, const char *what)
{
    struct xen_elf_info info;
    const char *why = NULL;
    int rc = parse(im, &info, &why);

    if ( rc != err || !why || !strstr(why, what) )
        fprintf(stderr, "  got rc %d (%s), want %d (%s)\n", rc,
                why ? why : "-", err, what);
    assert_int_equal(rc, err);
    assert_non_null(strstr(why, what));
}

static int img_setup(void **state)
{
    struct img *im = calloc(1, sizeof(*im));

    fx_default(&im->spec);
    img_build(im);
    *state = im;
    return 0;
}

static int img_teardown(void **state)
{
    struct img *im = *state;

    free(im->buf);
    free(im);
    return 0;
}

static void test_valid_image(void **state)
{
    struct img *im = *state;
    struct xen_elf_info info;
    const char *why = "unset";

    assert_int_equal(parse(im, &info, &why), 0);
    assert_null(why);
    assert_true(info.has_xen_notes);
    assert_false(info.has_legacy_guest);
    assert_int_equal(info.virt_base, FX_BASE);
    assert_int_equal(info.paddr_offset, FX_BASE);
    assert_int_equal(info.virt_entry, FX_BASE + 0x2010);
    assert_int_equal(info.virt_hypercall, FX_BASE + 0x3000);
    assert_int_equal(info.virt_kstart, FX_BASE + 0x2000);
    assert_int_equal(info.virt_kend, FX_BASE + 0x7000);
    assert_int_equal(info.nr_load, 2);
    assert_string_equal(info.guest_os, "Lamina");
    assert_string_equal(info.loader, "generic");
    assert_string_equal(info.xen_version, "xen-3.0");
    assert_true(info.dom0_capable);
    assert_true(xen_elf_feature(&info, XENFEAT_writable_page_tables));
    assert_true(xen_elf_feature(&info, XENFEAT_pae_pgdir_above_4gb));
    assert_false(xen_elf_feature(&info, XENFEAT_auto_translated_physmap));
    assert_int_equal(info.f_required[0], 1u << XENFEAT_writable_page_tables);
}

/* Linux style: VIRT_BASE set, PADDR_OFFSET absent (defaults to 0), p_paddr
 * physical; no ENTRY note (e_entry used); not dom0-capable. */
static void test_linux_style_defaults(void **state)
{
    struct img *im = *state;
    struct xen_elf_info info;
    const char *why;

    im->spec.no_paddr_offset = true;
    im->spec.text_paddr = 0x2000;
    im->spec.data_paddr = 0x4000;
    im->spec.entry = 0;
    im->spec.supported = 0;
    im->spec.guest_os = "linux";
    im->spec.loader = NULL;
    img_build(im);
    assert_int_equal(parse(im, &info, &why), 0);
    assert_int_equal(info.paddr_offset, 0);
    assert_int_equal(info.virt_kstart, FX_BASE + 0x2000);
    assert_int_equal(info.virt_entry, FX_BASE + 0x2010);
    assert_false(info.dom0_capable);

    /* FEATURES "dom0" alone also makes it dom0-capable. */
    im->spec.features = "writable_page_tables|dom0";
    img_build(im);
    assert_int_equal(parse(im, &info, &why), 0);
    assert_true(info.dom0_capable);
}

static void test_section_notes_fallback(void **state)
{
    struct img *im = *state;
    struct xen_elf_info info;
    const char *why;

    im->spec.notes_where = FX_NOTES_SECTION;
    img_build(im);
    assert_int_equal(parse(im, &info, &why), 0);
    assert_true(info.has_xen_notes);
    assert_int_equal(info.virt_hypercall, FX_BASE + 0x3000);
}

static void test_legacy_xen_guest(void **state)
{
    struct img *im = *state;
    struct xen_elf_info info;
    const char *why;

    im->spec.notes_where = FX_NOTES_NONE;
    im->spec.legacy = "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,"
                      "ELF_PADDR_OFFSET=0xffffffff80000000,HYPERCALL_PAGE=0x3,"
                      "LOADER=generic,FEATURES=writable_page_tables|dom0";
    img_build(im);
    assert_int_equal(parse(im, &info, &why), 0);
    assert_false(info.has_xen_notes);
    assert_true(info.has_legacy_guest);
    assert_int_equal(info.virt_base, FX_BASE);
    assert_int_equal(info.virt_hypercall, FX_BASE + 0x3000);
    assert_true(info.dom0_capable);
    assert_string_equal(info.guest_os, "linux");
}

static void test_truncated_header(void **state)
{
    struct img *im = *state;

    im->size = 63;
    expect_fail(im, -XEN_EINVAL);
    im->size = 0;
    expect_fail(im, -XEN_EINVAL);
}

static void test_bad_ident(void **state)
{
    struct img *im = *state;

    fx_ehdr(im->buf)->e_ident[0] = 0;
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_ehdr(im->buf)->e_ident[ELF_EI_CLASS] = 1;        /* ELFCLASS32 */
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_ehdr(im->buf)->e_ident[ELF_EI_DATA] = 2;         /* big endian */
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_ehdr(im->buf)->e_machine = 3;                    /* EM_386 */
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_ehdr(im->buf)->e_type = 3;                       /* ET_DYN */
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_ehdr(im->buf)->e_phentsize = 32;
    expect_fail(im, -XEN_EINVAL);
}

static void test_phdrs_past_eof(void **state)
{
    struct img *im = *state;

    fx_ehdr(im->buf)->e_phoff = im->size - 100;
    expect_fail(im, -XEN_EINVAL);
    fx_ehdr(im->buf)->e_phoff = UINT64_MAX - 60;        /* would wrap */
    expect_fail(im, -XEN_EINVAL);
    fx_ehdr(im->buf)->e_phoff = 64;
    fx_ehdr(im->buf)->e_phnum = 0xffff;
    expect_fail(im, -XEN_EINVAL);
    fx_ehdr(im->buf)->e_phnum = 0;
    expect_fail(im, -XEN_EINVAL);
}

static void test_segment_past_eof(void **state)
{
    struct img *im = *state;
    struct elf64_phdr *ph = fx_phdr(im->buf, FX_PH_DATA);

    ph->p_filesz = 0x101;                               /* one byte too many */
    expect_fail(im, -XEN_EINVAL);
    ph->p_filesz = 0x100;
    ph->p_offset = UINT64_MAX - 0x10;                   /* offset + filesz wraps */
    expect_fail(im, -XEN_EINVAL);
    ph->p_offset = FX_DATA_OFF;
    ph->p_filesz = UINT64_MAX;
    ph->p_memsz = UINT64_MAX;
    expect_fail(im, -XEN_EINVAL);
    img_build(im);
    fx_phdr(im->buf, FX_PH_NOTE)->p_filesz = im->size;  /* PT_NOTE past EOF */
    expect_fail(im, -XEN_EINVAL);
}

static void test_filesz_gt_memsz(void **state)
{
    struct img *im = *state;

    fx_phdr(im->buf, FX_PH_DATA)->p_memsz = 0x80;
    expect_fail(im, -XEN_EINVAL);
}

static void test_segment_wraps(void **state)
{
    struct img *im = *state;
    struct elf64_phdr *ph = fx_phdr(im->buf, FX_PH_DATA);

    ph->p_paddr = UINT64_MAX - 0xfff;
    ph->p_memsz = 0x3000;
    expect_fail(im, -XEN_EINVAL);
}

static void test_entry_outside(void **state)
{
    struct img *im = *state;

    im->spec.entry = FX_BASE + 0x3900;    /* between text end and data */
    img_build(im);
    expect_why(im, -XEN_EINVAL, "entry");
    im->spec.entry = 0;                   /* no ENTRY note: e_entry is used */
    im->spec.e_entry = FX_BASE + 0x8000;
    img_build(im);
    expect_why(im, -XEN_EINVAL, "entry");
}

static void test_hypervisor_range(void **state)
{
    struct img *im = *state;

    /* Data segment at the very start of the hypervisor's range. */
    im->spec.data_vaddr = im->spec.data_paddr = XEN_ELF_HV_START;
    img_build(im);
    expect_why(im, -XEN_EINVAL, "hypervisor");
    /* Reaching into its last bytes. */
    im->spec.data_vaddr = im->spec.data_paddr = XEN_ELF_HV_END + 1 - 0x2000;
    img_build(im);
    expect_why(im, -XEN_EINVAL, "hypervisor");
    /* Just past its end is fine as far as the range goes. */
    im->spec.data_vaddr = im->spec.data_paddr = XEN_ELF_HV_END + 1;
    img_build(im);
    expect_why(im, -XEN_EINVAL, "VIRT_BASE");   /* only base > kstart */
    /* Non-canonical. */
    im->spec.data_vaddr = im->spec.data_paddr = 0x0000800000000000ULL;
    img_build(im);
    expect_why(im, -XEN_EINVAL, "canonical");
}

static void test_missing_notes(void **state)
{
    struct img *im = *state;

    im->spec.notes_where = FX_NOTES_NONE;
    img_build(im);
    expect_fail(im, -XEN_ENOEXEC);
    /* Also without any section table. */
    fx_ehdr(im->buf)->e_shnum = 0;
    expect_fail(im, -XEN_ENOEXEC);
    /* A broken section table is malformed, not "not Xen". */
    fx_ehdr(im->buf)->e_shnum = 4;
    fx_ehdr(im->buf)->e_shoff = im->size - 8;
    expect_fail(im, -XEN_EINVAL);
}

static void test_bad_note_sizes(void **state)
{
    struct img *im = *state;
    struct elf64_note *n;

    n = fx_find_note(im->buf, XEN_ELFNOTE_GUEST_OS);
    n->n_namesz = 0x10000;                /* name past the PT_NOTE */
    expect_fail(im, -XEN_EINVAL);

    img_build(im);
    n = fx_find_note(im->buf, XEN_ELFNOTE_SUPPORTED_FEATURES);
    n->n_descsz = 0xffffffff;             /* descriptor past the PT_NOTE */
    expect_fail(im, -XEN_EINVAL);

    img_build(im);
    n = fx_find_note(im->buf, XEN_ELFNOTE_VIRT_BASE);
    n->n_descsz = 3;                      /* numeric note of odd size */
    expect_fail(im, -XEN_EINVAL);

    img_build(im);
    n = fx_find_note(im->buf, XEN_ELFNOTE_SUPPORTED_FEATURES);
    n->n_descsz = 2;                      /* bitmap not a multiple of 4 */
    expect_fail(im, -XEN_EINVAL);

    img_build(im);
    n = fx_find_note(im->buf, XEN_ELFNOTE_GUEST_OS);
    n->n_descsz = 4;                      /* "Lami" without its NUL */
    expect_fail(im, -XEN_EINVAL);
}

static void test_bad_note_values(void **state)
{
    struct img *im = *state;

    im->spec.xen_version = "xen-2.0";
    img_build(im);
    expect_fail(im, -XEN_EINVAL);

    fx_default(&im->spec);
    im->spec.loader = NULL;               /* neither generic nor linux */
    img_build(im);
    expect_fail(im, -XEN_EINVAL);

    fx_default(&im->spec);
    im->spec.no_virt_base = true;         /* PADDR_OFFSET without VIRT_BASE */
    img_build(im);
    expect_fail(im, -XEN_EINVAL);

    fx_default(&im->spec);
    im->spec.features = "!no_such_feature";
    img_build(im);
    expect_fail(im, -XEN_EINVAL);

    fx_default(&im->spec);
    im->spec.hypercall = FX_BASE + 0x3008;   /* not page aligned */
    img_build(im);
    expect_fail(im, -XEN_EINVAL);

    fx_default(&im->spec);
    im->spec.hypercall = FX_BASE + 0x1000;   /* below the image */
    img_build(im);
    expect_fail(im, -XEN_EINVAL);
}

/* ---- builder ---------------------------------------------------------- */

#define PG 4096ULL
#define MFN_BASE 0x80000ULL

struct guest {
    uint64_t nr_pages;
    uint8_t *mem;          /* nr_pages frames */
    uint64_t *p2m;
    uint64_t *m2p;         /* (mfn - MFN_BASE) -> pfn */
    int maps_live, max_live, hc_writes;
    uint64_t fail_at;      /* map_pfn returns NULL for this pfn */
    struct img im;
    struct xen_elf_info info;
    struct pv_build_params p;
    struct pv_build_ops ops;
    struct pv_build_result r;
};

static void *g_map(void *ctx, uint64_t pfn)
{
    struct guest *g = ctx;

    assert_true(pfn < g->nr_pages);
    if ( pfn == g->fail_at )
        return NULL;
    if ( ++g->maps_live > g->max_live )
        g->max_live = g->maps_live;
    return g->mem + pfn * PG;
}

static void g_unmap(void *ctx, void *page)
{
    struct guest *g = ctx;

    g->maps_live--;
}

static void g_hypercall(void *ctx, void *page)
{
    struct guest *g = ctx;

    memset(page, 0xcc, PG);
    g->hc_writes++;
}

static void g_init_l4(void *ctx, void *l4)
{
    ((uint64_t *)l4)[256] = 0xabc000ULL | PV_PTE_P;   /* marks the call */
}

/* nr_pages frames; p2m scatters PFNs over MFNs (37 is odd, nr a power of 2
 * or not a multiple of 37, so the map is a bijection). */
static struct guest *guest_new(uint64_t nr_pages)
{
    struct guest *g = calloc(1, sizeof(*g));
    uint64_t i;

    g->nr_pages = nr_pages;
    g->mem = calloc(nr_pages, PG);
    g->p2m = calloc(nr_pages, 8);
    g->m2p = calloc(nr_pages, 8);
    for ( i = 0; i < nr_pages; i++ )
    {
        uint64_t m = (i * 37 + 5) % nr_pages;

        g->p2m[i] = MFN_BASE + m;
        g->m2p[m] = i;
    }
    memset(g->mem, 0x5a, nr_pages * PG);   /* stale contents to be zeroed */
    g->fail_at = PV_NO_PFN;
    fx_default(&g->im.spec);
    img_build(&g->im);
    g->p.nr_pages = nr_pages;
    g->p.p2m = g->p2m;
    g->p.cmdline = "console=hvc0 root=/dev/xvda";
    g->p.flags = SIF_PRIVILEGED | SIF_INITDOMAIN;
    g->p.shared_info_maddr = 0x12345000;
    g->ops.ctx = g;
    g->ops.map_pfn = g_map;
    g->ops.unmap_pfn = g_unmap;
    g->ops.write_hypercall_page = g_hypercall;
    g->ops.init_l4 = g_init_l4;
    return g;
}

static void guest_free(struct guest *g)
{
    free(g->im.buf);
    free(g->mem);
    free(g->p2m);
    free(g->m2p);
    free(g);
}

static int guest_build(struct guest *g, const char **why)
{
    const char *w = NULL;
    int rc = xen_elf_parse(g->im.buf, g->im.size, &g->info, &w);

    if ( rc )
    {
        *why = w;
        return rc;
    }
    rc = pv_build(g->im.buf, g->im.size, &g->info, &g->p, &g->ops, &g->r, why);
    assert_int_equal(g->maps_live, 0);
    return rc;
}

static uint8_t *frame_of_mfn(struct guest *g, uint64_t mfn)
{
    assert_true(mfn >= MFN_BASE && mfn < MFN_BASE + g->nr_pages);
    return g->mem + g->m2p[mfn - MFN_BASE] * PG;
}

static uint8_t *va_ptr(struct guest *g, uint64_t va)
{
    return g->mem + (va - g->r.v_start);
}

/* Walks the guest's page tables from CR3; returns the L1 entry for va, or 0
 * if some level is not present.  Checks intermediate entries' flags. */
static uint64_t walk(struct guest *g, uint64_t va)
{
    uint64_t e = g->r.l4_mfn << 12;
    int shift;

    for ( shift = 39; shift >= 12; shift -= 9 )
    {
        uint64_t *t = (uint64_t *)frame_of_mfn(g, (e & PV_PTE_ADDR_MASK) >> 12);

        e = t[(va >> shift) & 511];
        if ( !(e & PV_PTE_P) )
            return 0;
        if ( shift > 12 )
            assert_int_equal(e & 0xfff, PV_PTE_DATA);
    }
    return e;
}

static void test_build_dom0(void **state)
{
    struct guest *g = guest_new(2048);
    struct pv_build_result *r = &g->r;
    const char *why = NULL;
    start_info_t *si;
    uint64_t va, i;

    assert_int_equal(guest_build(g, &why), 0);
    assert_int_equal(g->max_live, 1);
    assert_int_equal(g->hc_writes, 1);

    /* Layout: contiguous from VIRT_BASE, packed, in xen.h's order. */
    assert_int_equal(r->v_start, FX_BASE);
    assert_int_equal(r->entry, FX_BASE + 0x2010);
    assert_int_equal(r->p2m_va, FX_BASE + 0x7000);       /* after kend */
    assert_int_equal(r->nr_p2m_frames, 4);               /* 2048 * 8 bytes */
    assert_int_equal(r->start_info_va, FX_BASE + 0xb000);
    assert_int_equal(r->store_pfn, PV_NO_PFN);
    assert_int_equal(r->console_pfn, PV_NO_PFN);
    assert_int_equal(r->pt_va, FX_BASE + 0xc000);
    assert_int_equal(r->nr_l3, 1);
    assert_int_equal(r->nr_l2, 1);
    assert_int_equal(r->nr_l1, 2);
    assert_int_equal(r->nr_pt_frames, 5);
    assert_int_equal(r->l4_pfn, 0xc);
    assert_int_equal(r->l4_mfn, g->p2m[0xc]);
    assert_int_equal(r->l1_first_pfn, 0xc + 3);
    assert_int_equal(r->stack_pfn, 0xc + 5);
    assert_int_equal(r->stack_top, FX_BASE + 0x12000);
    assert_int_equal(r->v_end, FX_BASE + 0x400000);
    assert_int_equal(r->nr_region_pages, 1024);
    assert_int_equal(r->v_end % (4 << 20), 0);
    assert_true(r->v_end - r->stack_top >= 512 * 1024);

    /* start_info. */
    si = (start_info_t *)va_ptr(g, r->start_info_va);
    assert_string_equal(si->magic, "xen-3.0-x86_64");
    assert_int_equal(si->nr_pages, 2048);
    assert_int_equal(si->shared_info, 0x12345000);
    assert_int_equal(si->flags, SIF_PRIVILEGED | SIF_INITDOMAIN);
    assert_int_equal(si->store_mfn, 0);
    assert_int_equal(si->store_evtchn, 0);
    assert_int_equal(si->console.dom0.info_off, 0);
    assert_int_equal(si->console.dom0.info_size, 0);
    assert_int_equal(si->pt_base, r->pt_va);
    assert_int_equal(si->nr_pt_frames, 5);
    assert_int_equal(si->mfn_list, r->p2m_va);
    assert_int_equal(si->mod_start, 0);
    assert_int_equal(si->mod_len, 0);
    assert_string_equal((char *)si->cmd_line, "console=hvc0 root=/dev/xvda");
    assert_int_equal(si->first_p2m_pfn, r->p2m_first_pfn);
    assert_int_equal(si->nr_p2m_frames, 4);

    /* mfn_list holds every PFN's MFN. */
    for ( i = 0; i < 2048; i++ )
        assert_int_equal(((uint64_t *)va_ptr(g, r->p2m_va))[i], g->p2m[i]);

    /* Image: text and data copied, bss and the pages below it zeroed, the
     * hypercall page written by the callback. */
    for ( i = 0; i < 0x1800; i++ )
        if ( FX_BASE + 0x2000 + i < FX_BASE + 0x3000 )
            assert_int_equal(va_ptr(g, FX_BASE + 0x2000)[i], fx_text_byte(i));
    assert_int_equal(va_ptr(g, FX_BASE + 0x3000)[0], 0xcc);
    for ( i = 0; i < 0x100; i++ )
        assert_int_equal(va_ptr(g, FX_BASE + 0x4000)[i], fx_data_byte(i));
    for ( i = 0x100; i < 0x3000; i++ )
        assert_int_equal(va_ptr(g, FX_BASE + 0x4000)[i], 0);
    for ( i = 0; i < 0x2000; i++ )
        assert_int_equal(va_ptr(g, FX_BASE)[i], 0);
    for ( i = 0; i < PG; i++ )
        assert_int_equal(va_ptr(g, r->stack_top - PG)[i], 0);
    /* Frames outside the region are left alone. */
    assert_int_equal(g->mem[r->nr_region_pages * PG], 0x5a);

    /* Page tables: every VA of the region maps to p2m[pfn]; page-table
     * frames read-only, the rest read-write; nothing beyond the region. */
    for ( va = r->v_start; va < r->v_end; va += PG )
    {
        uint64_t pfn = (va - r->v_start) / PG, e = walk(g, va);
        bool is_pt = pfn >= r->pt_first_pfn && pfn < r->pt_first_pfn + 5;

        assert_int_equal((e & PV_PTE_ADDR_MASK) >> 12, g->p2m[pfn]);
        assert_int_equal(e & 0xfff, is_pt ? PV_PTE_PT : PV_PTE_DATA);
    }
    assert_int_equal(walk(g, r->v_end), 0);
    assert_int_equal(walk(g, r->v_start - PG), 0);
    assert_int_equal(walk(g, 0x1000), 0);
    /* init_l4 ran on the L4. */
    assert_int_equal(((uint64_t *)frame_of_mfn(g, r->l4_mfn))[256],
                     0xabc000ULL | PV_PTE_P);
    guest_free(g);
}

static void test_build_domu_rings_ramdisk(void **state)
{
    struct guest *g = guest_new(4096);
    struct pv_build_result *r = &g->r;
    static uint8_t rd[5000];
    const char *why = NULL;
    start_info_t *si;
    uint64_t i;

    for ( i = 0; i < sizeof(rd); i++ )
        rd[i] = (uint8_t)(i * 3);
    g->p.flags = 0;
    g->p.alloc_rings = true;
    g->p.store_evtchn = 1;
    g->p.console_evtchn = 2;
    g->p.ramdisk = rd;
    g->p.ramdisk_len = sizeof(rd);
    assert_int_equal(guest_build(g, &why), 0);

    assert_int_equal(r->ramdisk_va, FX_BASE + 0x7000);
    assert_int_equal(r->p2m_va, FX_BASE + 0x9000);   /* 2 ramdisk pages */
    assert_int_equal(r->nr_p2m_frames, 8);
    assert_int_equal(r->start_info_va, FX_BASE + 0x11000);
    assert_int_equal(r->store_pfn, r->start_info_pfn + 1);
    assert_int_equal(r->console_pfn, r->start_info_pfn + 2);
    assert_int_equal(r->pt_va, FX_BASE + 0x14000);
    assert_int_equal(memcmp(va_ptr(g, r->ramdisk_va), rd, sizeof(rd)), 0);

    si = (start_info_t *)va_ptr(g, r->start_info_va);
    assert_int_equal(si->flags, 0);
    assert_int_equal(si->store_mfn, g->p2m[r->store_pfn]);
    assert_int_equal(si->store_evtchn, 1);
    assert_int_equal(si->console.domU.mfn, g->p2m[r->console_pfn]);
    assert_int_equal(si->console.domU.evtchn, 2);
    assert_int_equal(si->mod_start, r->ramdisk_va);
    assert_int_equal(si->mod_len, sizeof(rd));
    for ( i = 0; i < PG; i++ )
        assert_int_equal(va_ptr(g, FX_BASE + 0x12000)[i], 0);   /* store ring */
    guest_free(g);
}

/* A layout whose stack ends within 512 KiB of a 4 MiB boundary gets an
 * extra 4 MiB. */
static void test_padding_extends_region(void **state)
{
    struct guest *g = guest_new(8192);
    struct pv_build_result *r = &g->r;
    const char *why = NULL;
    uint64_t va;

    /* bss to base+0x3a0000: stack ends around base+0x3b3000. */
    g->im.spec.data_memsz = 0x39c000;
    img_build(&g->im);
    assert_int_equal(guest_build(g, &why), 0);
    assert_true(r->stack_top > FX_BASE + 0x380000);
    assert_true(r->stack_top < FX_BASE + 0x400000);
    assert_int_equal(r->v_end, FX_BASE + 0x800000);
    assert_int_equal(r->v_end % (4 << 20), 0);
    assert_true(r->v_end - r->stack_top >= 512 * 1024);
    assert_int_equal(r->nr_l1, 4);
    for ( va = r->v_start; va < r->v_end; va += PG )
        assert_int_equal((walk(g, va) & PV_PTE_ADDR_MASK) >> 12,
                         g->p2m[(va - r->v_start) / PG]);
    guest_free(g);
}

/* A region straddling a 1 GiB and a 512 GiB boundary needs 2 L3s, 2 L2s. */
static void test_region_crosses_l4_slot(void **state)
{
    struct guest *g = guest_new(2048);
    struct pv_build_result *r = &g->r;
    const uint64_t base = (1ULL << 39) - 0x10000;   /* 512 GiB - 64 KiB */
    const char *why = NULL;
    uint64_t va;

    g->im.spec.virt_base = g->im.spec.paddr_offset = base;
    g->im.spec.text_vaddr = g->im.spec.text_paddr = base + 0x2000;
    g->im.spec.data_vaddr = g->im.spec.data_paddr = base + 0x4000;
    g->im.spec.entry = g->im.spec.e_entry = base + 0x2010;
    g->im.spec.hypercall = base + 0x3000;
    img_build(&g->im);
    assert_int_equal(guest_build(g, &why), 0);
    assert_int_equal(r->nr_l3, 2);
    assert_int_equal(r->nr_l2, 2);
    assert_int_equal(r->nr_l1, 3);
    assert_int_equal(r->v_end, (1ULL << 39) + 0x400000);
    for ( va = r->v_start; va < r->v_end; va += PG )
    {
        uint64_t pfn = (va - r->v_start) / PG, e = walk(g, va);
        bool is_pt = pfn >= r->pt_first_pfn &&
                     pfn < r->pt_first_pfn + r->nr_pt_frames;

        assert_int_equal((e & PV_PTE_ADDR_MASK) >> 12, g->p2m[pfn]);
        assert_int_equal(e & 0xfff, is_pt ? PV_PTE_PT : PV_PTE_DATA);
    }
    guest_free(g);
}

/* Real Xen 4.17 building dom0 (dom0_mem=256M: 65536 pages) from an image
 * whose loaded range is [base, base + 0x1b050) printed this arrangement:
 *   Phys-Mach map: ffffffff8001c000->ffffffff8009c000
 *   Start info:    ffffffff8009c000   Page tables: ffffffff8009d000->..a2000
 *   Boot stack:    ffffffff800a2000->ffffffff800a3000
 *   TOTAL:         ffffffff80000000->ffffffff80400000
 * The same inputs must give the same layout. */
static void test_layout_matches_xen(void **state)
{
    struct xen_elf_info info = {
        .virt_base = FX_BASE, .virt_kstart = FX_BASE,
        .virt_kend = FX_BASE + 0x1b050, .virt_entry = FX_BASE,
        .virt_hypercall = FX_BASE + 0x1000,
    };
    uint64_t *p2m = calloc(65536, 8);
    struct pv_build_params p = { .nr_pages = 65536, .p2m = p2m };
    struct pv_build_result r;
    const char *why;

    assert_int_equal(pv_build_layout(&info, &p, &r, &why), 0);
    assert_int_equal(r.p2m_va, 0xffffffff8001c000ULL);
    assert_int_equal(r.start_info_va, 0xffffffff8009c000ULL);
    assert_int_equal(r.pt_va, 0xffffffff8009d000ULL);
    assert_int_equal(r.pt_va + r.nr_pt_frames * PG, 0xffffffff800a2000ULL);
    assert_int_equal(r.stack_top, 0xffffffff800a3000ULL);
    assert_int_equal(r.v_end, 0xffffffff80400000ULL);
    free(p2m);
}

static void test_too_small(void **state)
{
    struct guest *g = guest_new(1023);   /* region needs 1024 frames */
    const char *why = NULL;

    assert_int_equal(guest_build(g, &why), -XEN_ENOMEM);
    assert_non_null(why);
    assert_int_equal(g->mem[0], 0x5a);   /* nothing written */
    guest_free(g);

    g = guest_new(1024);
    assert_int_equal(guest_build(g, &why), 0);
    assert_int_equal(g->r.nr_region_pages, 1024);
    guest_free(g);
}

static void test_bad_params(void **state)
{
    struct guest *g = guest_new(2048);
    struct xen_elf_info info;
    const char *why = NULL;

    /* Hypervisor range and non-canonical regions are refused. */
    assert_int_equal(xen_elf_parse(g->im.buf, g->im.size, &g->info, &why), 0);
    info = g->info;
    info.virt_base = XEN_ELF_HV_START + 0x1000000;
    info.virt_kstart = info.virt_base + 0x2000;
    info.virt_kend = info.virt_base + 0x7000;
    assert_int_equal(pv_build_layout(&info, &g->p, &g->r, &why), -XEN_EINVAL);
    assert_non_null(why);
    info.virt_base = 0x00007fffffff0000ULL;        /* crosses into the hole */
    info.virt_kstart = info.virt_base + 0x2000;
    info.virt_kend = info.virt_base + 0x7000;
    assert_int_equal(pv_build_layout(&info, &g->p, &g->r, &why), -XEN_EINVAL);
    info.virt_base = 0xffffffffffc00000ULL;        /* wraps past 2^64 */
    info.virt_kstart = info.virt_base + 0x2000;
    info.virt_kend = info.virt_base + 0x7000;
    assert_int_equal(pv_build_layout(&info, &g->p, &g->r, &why), -XEN_EINVAL);

    /* Hypercall page without a writer. */
    g->ops.write_hypercall_page = NULL;
    assert_int_equal(pv_build(g->im.buf, g->im.size, &g->info, &g->p, &g->ops,
                              &g->r, &why), -XEN_EINVAL);
    g->ops.write_hypercall_page = g_hypercall;

    /* An MFN beyond 52-bit addressing. */
    g->p2m[3] = 1ULL << 41;
    assert_int_equal(pv_build(g->im.buf, g->im.size, &g->info, &g->p, &g->ops,
                              &g->r, &why), -XEN_EINVAL);
    g->p2m[3] = MFN_BASE + 3 * 37 + 5;

    /* map_pfn failure is reported. */
    g->fail_at = 7;
    assert_int_equal(pv_build(g->im.buf, g->im.size, &g->info, &g->p, &g->ops,
                              &g->r, &why), -XEN_EFAULT);
    assert_int_equal(g->maps_live, 0);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, img_setup, img_teardown)
        T(test_valid_image),
        T(test_linux_style_defaults),
        T(test_section_notes_fallback),
        T(test_legacy_xen_guest),
        T(test_truncated_header),
        T(test_bad_ident),
        T(test_phdrs_past_eof),
        T(test_segment_past_eof),
        T(test_filesz_gt_memsz),
        T(test_segment_wraps),
        T(test_entry_outside),
        T(test_hypervisor_range),
        T(test_missing_notes),
        T(test_bad_note_sizes),
        T(test_bad_note_values),
#undef T
        cmocka_unit_test(test_build_dom0),
        cmocka_unit_test(test_build_domu_rings_ramdisk),
        cmocka_unit_test(test_padding_extends_region),
        cmocka_unit_test(test_region_crosses_l4_slot),
        cmocka_unit_test(test_layout_matches_xen),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_bad_params),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
