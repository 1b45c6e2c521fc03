/*
 * test_mbbuild.c - host unit tests (cmocka) for toolstack/builder/mb_build.c,
 * the multiboot1 domain builder: the real build/guest-native.elf (ELF32,
 * when it has been built), synthetic ELF32/ELF64 and a.out-kludge images,
 * the multiboot information page, and every refusal.  Guest memory is a
 * malloc'd array of 4 KiB frames prefilled with 0xaa, so that a refused
 * build can be shown to write nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../toolstack/builder/mb_build.c"

#define PG 4096u
#define FILL 0xaa

/* ---- guest memory ----------------------------------------------------- */

struct guest {
    uint8_t *mem;
    uint64_t nr_pages;
    unsigned int maps, unmaps;
    int64_t fail_pfn;          /* map_pfn returns NULL for it; -1: never */
};

static void *g_map(void *ctx, uint64_t pfn)
{
    struct guest *g = ctx;

    assert_true(pfn < g->nr_pages);
    assert_int_equal(g->maps, g->unmaps);   /* one mapping at a time */
    if ( (int64_t)pfn == g->fail_pfn )
        return NULL;
    g->maps++;
    return g->mem + pfn * PG;
}

static void g_unmap(void *ctx, void *page)
{
    struct guest *g = ctx;

    assert_true((uint8_t *)page >= g->mem && (uint8_t *)page < g->mem + g->nr_pages * PG);
    g->unmaps++;
}

static void guest_init(struct guest *g, uint64_t nr_pages)
{
    g->nr_pages = nr_pages;
    g->mem = malloc(nr_pages * PG);
    assert_non_null(g->mem);
    memset(g->mem, FILL, nr_pages * PG);
    g->maps = g->unmaps = 0;
    g->fail_pfn = -1;
}

static struct mb_build_ops ops_for(struct guest *g)
{
    return (struct mb_build_ops){ .map_pfn = g_map, .ctx = g, .unmap_pfn = g_unmap };
}

static bool all_fill(const uint8_t *p, size_t n)
{
    for ( size_t i = 0; i < n; i++ )
        if ( p[i] != FILL )
            return false;
    return true;
}

static bool all_byte(const uint8_t *p, size_t n, uint8_t b)
{
    for ( size_t i = 0; i < n; i++ )
        if ( p[i] != b )
            return false;
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return all_byte(p, n, 0);
}

/* Checks the information page against nr_pages and cmdline (NULL: none). */
static void check_mbi(const struct guest *g, const struct mb_build_result *r,
                      const char *cmdline)
{
    struct mb_info mbi;
    struct mb_mmap_entry e[3];
    uint64_t ram = g->nr_pages * PG;

    assert_int_equal(r->mbi_paddr, 0x9000);
    memcpy(&mbi, g->mem + r->mbi_paddr, sizeof(mbi));
    assert_int_equal(mbi.flags, cmdline ? 0x245 : 0x241);
    assert_int_equal(mbi.mem_lower, 640);
    assert_int_equal(mbi.mem_upper, (ram - 0x100000) / 1024);
    assert_int_equal(mbi.mods_count, 0);
    assert_int_equal(mbi.mmap_length, 72);
    assert_true(mbi.mmap_addr >= 0x9000 && mbi.mmap_addr + 72 <= 0xa000);
    memcpy(e, g->mem + mbi.mmap_addr, sizeof(e));
    assert_int_equal(e[0].size, 20);
    assert_int_equal(e[0].addr, 0);
    assert_int_equal(e[0].len, 0x9f000);
    assert_int_equal(e[0].type, 1);
    assert_int_equal(e[1].size, 20);
    assert_int_equal(e[1].addr, 0xf0000);
    assert_int_equal(e[1].len, 0x10000);
    assert_int_equal(e[1].type, 2);
    assert_int_equal(e[2].size, 20);
    assert_int_equal(e[2].addr, 0x100000);
    assert_int_equal(e[2].len, ram - 0x100000);
    assert_int_equal(e[2].type, 1);
    assert_true(mbi.boot_loader_name >= 0x9000 && mbi.boot_loader_name < 0xa000);
    assert_string_equal((const char *)g->mem + mbi.boot_loader_name, "Lamina");
    if ( cmdline )
    {
        assert_true(mbi.cmdline >= 0x9000 && mbi.cmdline < 0xa000);
        assert_string_equal((const char *)g->mem + mbi.cmdline, cmdline);
    }
    else
        assert_int_equal(mbi.cmdline, 0);
    assert_true(r->load_end >= 0xa000);
    assert_true(r->load_end >= r->kernel_end);
}

/* ---- synthetic images ------------------------------------------------- */

struct sseg {
    uint32_t type;
    uint64_t paddr;
    uint32_t filesz, memsz;
};

struct spec {
    bool elf64;
    uint64_t entry;
    uint32_t mb_flags;
    bool bad_sum, no_header;
    unsigned int nseg;
    struct sseg seg[4];
};

#define HDR_OFF 0x200u

static uint8_t seg_byte(unsigned int i, uint32_t j)
{
    return (uint8_t)(i * 37 + j * 7 + 1);
}

/* Builds the image: headers, program headers, multiboot header at HDR_OFF,
 * segment i's file bytes at 0x1000 * (i + 1). */
static uint8_t *build(const struct spec *sp, size_t *size)
{
    size_t n = 0x1000u * (sp->nseg + 1);
    uint8_t *b = calloc(1, n);
    uint32_t mb[3] = { MB_HEADER_MAGIC, sp->mb_flags, 0 };

    assert_non_null(b);
    memcpy(b, "\177ELF", 4);
    b[ELF_EI_CLASS] = sp->elf64 ? ELF_CLASS64 : ELF_CLASS32;
    b[ELF_EI_DATA] = ELF_DATA2LSB;
    b[ELF_EI_VERSION] = ELF_EV_CURRENT;
    if ( sp->elf64 )
    {
        struct elf64_ehdr h = { 0 };

        memcpy(h.e_ident, b, ELF_EI_NIDENT);
        h.e_type = ELF_ET_EXEC;
        h.e_machine = ELF_EM_X86_64;
        h.e_version = 1;
        h.e_entry = sp->entry;
        h.e_phoff = sizeof(h);
        h.e_ehsize = sizeof(h);
        h.e_phentsize = sizeof(struct elf64_phdr);
        h.e_phnum = (uint16_t)sp->nseg;
        memcpy(b, &h, sizeof(h));
        for ( unsigned int i = 0; i < sp->nseg; i++ )
        {
            struct elf64_phdr ph = {
                .p_type = sp->seg[i].type, .p_offset = 0x1000u * (i + 1),
                .p_vaddr = 0xffffffff80000000ULL + sp->seg[i].paddr,
                .p_paddr = sp->seg[i].paddr, .p_filesz = sp->seg[i].filesz,
                .p_memsz = sp->seg[i].memsz, .p_align = 0x1000,
            };
            memcpy(b + sizeof(h) + i * sizeof(ph), &ph, sizeof(ph));
        }
    }
    else
    {
        struct elf32_ehdr h = { 0 };

        memcpy(h.e_ident, b, ELF_EI_NIDENT);
        h.e_type = ELF_ET_EXEC;
        h.e_machine = ELF_EM_386;
        h.e_version = 1;
        h.e_entry = (uint32_t)sp->entry;
        h.e_phoff = sizeof(h);
        h.e_ehsize = sizeof(h);
        h.e_phentsize = sizeof(struct elf32_phdr);
        h.e_phnum = (uint16_t)sp->nseg;
        memcpy(b, &h, sizeof(h));
        for ( unsigned int i = 0; i < sp->nseg; i++ )
        {
            struct elf32_phdr ph = {
                .p_type = sp->seg[i].type, .p_offset = 0x1000u * (i + 1),
                .p_vaddr = 0x80000000u + (uint32_t)sp->seg[i].paddr,
                .p_paddr = (uint32_t)sp->seg[i].paddr, .p_filesz = sp->seg[i].filesz,
                .p_memsz = sp->seg[i].memsz, .p_align = 0x1000,
            };
            memcpy(b + sizeof(h) + i * sizeof(ph), &ph, sizeof(ph));
        }
    }
    for ( unsigned int i = 0; i < sp->nseg; i++ )
        for ( uint32_t j = 0; j < 0x1000u; j++ )
            b[0x1000u * (i + 1) + j] = seg_byte(i, j);
    mb[2] = (uint32_t)-(mb[0] + mb[1]) + (sp->bad_sum ? 1 : 0);
    if ( !sp->no_header )
        memcpy(b + HDR_OFF, mb, sizeof(mb));
    *size = n;
    return b;
}

/* Two loadable segments (one with bss) and a note whose address is absurd. */
static struct spec base_spec(bool elf64)
{
    return (struct spec){
        .elf64 = elf64, .entry = 0x100020, .mb_flags = 0x3, .nseg = 3,
        .seg = {
            { ELF_PT_LOAD, 0x100000, 0x800, 0x800 },
            { ELF_PT_NOTE, 0x7fff0000, 0x10, 0x10 },
            { ELF_PT_LOAD, 0x102000, 0x300, 0x2100 },
        },
    };
}

static int run(const struct spec *sp, struct guest *g, const char *cmdline,
               struct mb_build_result *r, const char **why)
{
    size_t size;
    uint8_t *img = build(sp, &size);
    struct mb_build_params p = { .nr_pages = g->nr_pages, .cmdline = cmdline };
    struct mb_build_ops ops = ops_for(g);
    int rc = mb_build(img, size, &p, &ops, r, why);

    free(img);
    return rc;
}

static void check_synthetic(bool elf64)
{
    struct spec sp = base_spec(elf64);
    struct guest g;
    struct mb_build_result r;
    const char *why = "unset";

    guest_init(&g, 1024);
    assert_int_equal(run(&sp, &g, "kernel a=b  c", &r, &why), 0);
    assert_null(why);
    assert_int_equal(r.entry, 0x100020);
    assert_int_equal(r.kernel_start, 0x100000);
    assert_int_equal(r.kernel_end, 0x104100);
    assert_int_equal(r.load_end, 0x104100);
    for ( uint32_t j = 0; j < 0x800; j++ )
        assert_int_equal(g.mem[0x100000 + j], seg_byte(0, j));
    assert_true(all_fill(g.mem + 0x100800, 0x102000 - 0x100800));
    for ( uint32_t j = 0; j < 0x300; j++ )
        assert_int_equal(g.mem[0x102000 + j], seg_byte(2, j));
    assert_true(all_zero(g.mem + 0x102300, 0x2100 - 0x300));
    assert_true(all_fill(g.mem + 0x104100, 0x1000));
    check_mbi(&g, &r, "kernel a=b  c");
    assert_int_equal(g.maps, g.unmaps);
    free(g.mem);
}

static void test_elf32(void **state)
{
    (void)state;
    check_synthetic(false);
}

static void test_elf64(void **state)
{
    (void)state;
    check_synthetic(true);
}

/* ---- the real native kernel ------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long n;

    if ( !f )
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* A build product: under make's B= (LAMINA_BUILD, as tests/run.sh passes
 * it; default build). */
static const char *build_path(const char *name)
{
    static char buf[4096];
    const char *b = getenv("LAMINA_BUILD");

    snprintf(buf, sizeof(buf), "%s/%s", b && *b ? b : "build", name);
    return buf;
}

static void test_native_kernel(void **state)
{
    const char *path = build_path("guest-native.elf"), *cmd = "guest-native.elf bench";
    size_t size;
    uint8_t *img = read_file(path, &size);
    struct guest g;
    struct mb_build_result r;
    const char *why = NULL;
    struct elf32_ehdr eh;
    uint64_t kend = 0;
    unsigned int nload = 0;

    (void)state;
    if ( !img )
        fail_msg("%s is missing (make builds it before the tests)", path);
    assert_true(mb_is_multiboot(img, size));
    memcpy(&eh, img, sizeof(eh));
    assert_int_equal(eh.e_ident[ELF_EI_CLASS], ELF_CLASS32);

    guest_init(&g, 8192);                      /* 32 MiB */
    struct mb_build_params p = { .nr_pages = g.nr_pages, .cmdline = cmd };
    struct mb_build_ops ops = ops_for(&g);
    int rc = mb_build(img, size, &p, &ops, &r, &why);

    if ( rc )
        fprintf(stderr, "  mb_build: %d (%s)\n", rc, why ? why : "-");
    assert_int_equal(rc, 0);
    assert_int_equal(r.entry, eh.e_entry);
    for ( unsigned int i = 0; i < eh.e_phnum; i++ )
    {
        struct elf32_phdr ph;

        memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if ( ph.p_type != ELF_PT_LOAD )
            continue;
        nload++;
        assert_true(ph.p_paddr + ph.p_memsz <= g.nr_pages * PG);
        assert_memory_equal(g.mem + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
        assert_true(all_zero(g.mem + ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz));
        if ( ph.p_paddr + ph.p_memsz > kend )
            kend = ph.p_paddr + ph.p_memsz;
    }
    assert_true(nload >= 2);
    assert_int_equal(r.kernel_end, kend);
    assert_true(all_fill(g.mem + kend, PG));   /* nothing placed beyond */
    check_mbi(&g, &r, cmd);
    free(g.mem);
    free(img);
}

/* The same kernel before its elf32-i386 conversion (ELF64, same p_paddr). */
static void test_native_kernel64(void **state)
{
    size_t size;
    const char *path = build_path("guest-native.elf64");
    uint8_t *img = read_file(path, &size);
    struct guest g;
    struct mb_build_result r;
    const char *why = NULL;
    struct elf64_ehdr eh;

    (void)state;
    if ( !img )
        fail_msg("%s is missing (make builds it before the tests)", path);
    memcpy(&eh, img, sizeof(eh));
    assert_int_equal(eh.e_ident[ELF_EI_CLASS], ELF_CLASS64);
    guest_init(&g, 8192);
    struct mb_build_params p = { .nr_pages = g.nr_pages, .cmdline = "k" };
    struct mb_build_ops ops = ops_for(&g);

    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), 0);
    assert_int_equal(r.entry, eh.e_entry);
    for ( unsigned int i = 0; i < eh.e_phnum; i++ )
    {
        struct elf64_phdr ph;

        memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if ( ph.p_type == ELF_PT_LOAD )
            assert_memory_equal(g.mem + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
    }
    check_mbi(&g, &r, "k");
    free(g.mem);
    free(img);
}

/* ---- a.out kludge ----------------------------------------------------- */

static void test_aout_kludge(void **state)
{
    size_t n = 0x2000;
    uint8_t *img = malloc(n);
    uint32_t h[8] = { MB_HEADER_MAGIC, 0x10003, 0, 0x200040, 0x200000, 0x201800,
                      0x203000, 0x200100 };
    struct guest g;
    struct mb_build_result r;
    struct mb_build_params p = { .nr_pages = 1024, .cmdline = NULL };
    struct mb_build_ops ops;
    const char *why = NULL;

    (void)state;
    for ( size_t i = 0; i < n; i++ )
        img[i] = (uint8_t)(i * 13 + 5);
    h[2] = -(h[0] + h[1]);
    memcpy(img + 0x40, h, sizeof(h));
    guest_init(&g, 1024);
    ops = ops_for(&g);
    assert_int_equal(mb_build(img, n, &p, &ops, &r, &why), 0);
    assert_int_equal(r.entry, 0x200100);
    assert_memory_equal(g.mem + 0x200000, img, 0x1800);
    assert_true(all_zero(g.mem + 0x201800, 0x1800));
    assert_true(all_fill(g.mem + 0x203000, PG));
    check_mbi(&g, &r, NULL);

    /* load_end_addr 0: the rest of the file; no bss. */
    h[5] = 0;
    h[6] = 0;
    memcpy(img + 0x40, h, sizeof(h));
    memset(g.mem, FILL, g.nr_pages * PG);
    assert_int_equal(mb_build(img, n, &p, &ops, &r, &why), 0);
    assert_memory_equal(g.mem + 0x200000, img, n);
    assert_true(all_fill(g.mem + 0x200000 + n, PG));

    /* load_addr above header_addr, and load_end beyond the file. */
    h[4] = 0x200080;
    memcpy(img + 0x40, h, sizeof(h));
    assert_int_equal(mb_build(img, n, &p, &ops, &r, &why), -XEN_EINVAL);
    h[4] = 0x200000;
    h[5] = 0x202001;
    memcpy(img + 0x40, h, sizeof(h));
    assert_int_equal(mb_build(img, n, &p, &ops, &r, &why), -XEN_EINVAL);
    assert_non_null(strstr(why, "load_end_addr"));
    free(g.mem);
    free(img);
}

/* ---- refusals --------------------------------------------------------- */

/* Runs sp (image cut to cut bytes if non-zero) and expects rc with a
 * reason containing what, and guest memory untouched. */
static void expect_refusal(const struct spec *sp, size_t cut, uint64_t nr_pages,
                           int want, const char *what)
{
    size_t size;
    uint8_t *img = build(sp, &size);
    struct guest g;
    struct mb_build_result r;
    const char *why = NULL;

    guest_init(&g, nr_pages);
    struct mb_build_params p = { .nr_pages = nr_pages, .cmdline = "x" };
    struct mb_build_ops ops = ops_for(&g);
    int rc = mb_build(img, cut ? cut : size, &p, &ops, &r, &why);

    if ( rc != want || !why || !strstr(why, what) )
        fprintf(stderr, "  got %d (%s), want %d (%s)\n", rc, why ? why : "-", want, what);
    assert_int_equal(rc, want);
    assert_non_null(why);
    assert_non_null(strstr(why, what));
    assert_int_equal(g.maps, 0);
    assert_true(all_fill(g.mem, nr_pages * PG));
    free(g.mem);
    free(img);
}

static void test_refusals(void **state)
{
    struct spec sp;

    (void)state;
    sp = base_spec(false);
    sp.no_header = true;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "no multiboot header");
    sp = base_spec(true);
    sp.bad_sum = true;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "checksum");
    sp = base_spec(false);
    sp.mb_flags = 0x7;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "video");
    sp.mb_flags = 0x8;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "unknown required flags");
    /* Segment end one byte past RAM. */
    sp = base_spec(true);
    sp.seg[2].memsz = (uint32_t)(1024 * PG - 0x102000 + 1);
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "outside the domain's memory");
    sp.seg[2].paddr = 1024 * PG;
    sp.seg[2].memsz = 0x300;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "outside the domain's memory");
    /* ... exactly to the end of RAM is fine. */
    {
        struct guest g;
        struct mb_build_result r;
        const char *why;

        sp.seg[2].paddr = 1024 * PG - 0x300;
        guest_init(&g, 1024);
        assert_int_equal(run(&sp, &g, NULL, &r, &why), 0);
        assert_int_equal(r.kernel_end, 1024 * PG);
        free(g.mem);
    }
    /* Truncated: the last segment's file bytes, then the program headers. */
    sp = base_spec(false);
    expect_refusal(&sp, 0x3000 + 0x2ff, 1024, -XEN_EINVAL, "beyond the end of the image");
    expect_refusal(&sp, 0x60, 1024, -XEN_EINVAL, "no multiboot header");
    sp = base_spec(true);
    sp.seg[0].filesz = 0x900;
    sp.seg[0].memsz = 0x800;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "more file bytes");
    sp = base_spec(false);
    sp.entry = 0x101000;                       /* in the gap between segments */
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "entry point");
    sp = base_spec(false);
    sp.seg[0].paddr = 0x8801;                  /* last byte at 0x9000 */
    sp.entry = 0x8800;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "information page");
    sp = base_spec(false);
    sp.nseg = 1;
    sp.seg[0].type = ELF_PT_NOTE;
    expect_refusal(&sp, 0, 1024, -XEN_EINVAL, "no loadable segment");
    sp = base_spec(false);
    expect_refusal(&sp, 0, MB_MIN_PAGES - 1, -XEN_ENOMEM, "fewer guest frames");
}

static void test_bad_elf_headers(void **state)
{
    struct spec sp = base_spec(true);
    size_t size;
    uint8_t *img = build(&sp, &size);
    struct guest g;
    struct mb_build_result r;
    const char *why = NULL;
    struct mb_build_params p = { .nr_pages = 1024 };
    struct mb_build_ops ops;
    struct elf64_ehdr h;

    (void)state;
    guest_init(&g, 1024);
    ops = ops_for(&g);
    memcpy(&h, img, sizeof(h));
    h.e_phoff = size - 2 * sizeof(struct elf64_phdr);   /* 3 headers: past the end */
    memcpy(img, &h, sizeof(h));
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), -XEN_EINVAL);
    assert_non_null(strstr(why, "program headers"));
    h.e_phoff = sizeof(h);
    h.e_machine = 40;                                    /* ARM */
    memcpy(img, &h, sizeof(h));
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), -XEN_EINVAL);
    assert_non_null(strstr(why, "machine"));
    h.e_machine = ELF_EM_X86_64;
    h.e_type = 3;                                        /* ET_DYN */
    memcpy(img, &h, sizeof(h));
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), -XEN_EINVAL);
    h.e_type = ELF_ET_EXEC;
    memcpy(img, &h, sizeof(h));
    img[0] = 0;                                          /* not ELF, no kludge */
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), -XEN_EINVAL);
    assert_non_null(strstr(why, "not an ELF"));
    assert_int_equal(g.maps, 0);
    /* map_pfn failing: -EFAULT. */
    img[0] = 0x7f;
    g.fail_pfn = 0x102;
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), -XEN_EFAULT);
    free(g.mem);
    free(img);
}

static void test_cmdline_and_untouched(void **state)
{
    struct spec sp = base_spec(false);
    size_t size;
    uint8_t *img = build(&sp, &size);
    char *longcmd = malloc(5000);
    struct guest g;
    struct mb_build_result r;
    const char *why = NULL;
    struct mb_build_ops ops;
    struct mb_info mbi;

    (void)state;
    memset(longcmd, 'c', 4999);
    longcmd[4999] = '\0';
    guest_init(&g, 600);
    ops = ops_for(&g);
    struct mb_build_params p = { .nr_pages = 600, .cmdline = longcmd };
    assert_int_equal(mb_build(img, size, &p, &ops, &r, &why), 0);
    memcpy(&mbi, g.mem + 0x9000, sizeof(mbi));
    assert_int_equal(strlen((char *)g.mem + mbi.cmdline), MB_CMDLINE_MAX);
    assert_true(mbi.cmdline + MB_CMDLINE_MAX < 0xa000);
    assert_int_equal(mbi.mem_upper, (600 * PG - 0x100000) / 1024);
    /* Frames come zeroed from the hypervisor: the builder touches only what
     * it places (create time does not grow with memory), so everything else
     * still holds the fill. */
    assert_true(all_byte(g.mem, 0x9000, FILL));
    assert_true(all_byte(g.mem + 0x104100, 600 * PG - 0x104100, FILL));
    free(longcmd);
    free(g.mem);
    free(img);
}

static void test_is_multiboot(void **state)
{
    uint8_t *b = calloc(1, 0x3000);
    uint32_t h[3] = { MB_HEADER_MAGIC, 0, -MB_HEADER_MAGIC };

    (void)state;
    assert_false(mb_is_multiboot(b, 0x3000));
    memcpy(b + 8180, h, sizeof(h));             /* last 12 bytes of 8 KiB */
    assert_true(mb_is_multiboot(b, 0x3000));
    assert_false(mb_is_multiboot(b, 8191));     /* header cut off */
    memset(b, 0, 0x3000);
    memcpy(b + 8192, h, sizeof(h));             /* beyond 8 KiB */
    assert_false(mb_is_multiboot(b, 0x3000));
    memset(b, 0, 0x3000);
    memcpy(b + 0x102, h, sizeof(h));            /* not 4-aligned */
    assert_false(mb_is_multiboot(b, 0x3000));
    memcpy(b + 0x100, h, sizeof(h));
    assert_true(mb_is_multiboot(b, 0x3000));
    h[2]++;
    memcpy(b + 0x100, h, sizeof(h));
    assert_false(mb_is_multiboot(b, 0x3000));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf32),
        cmocka_unit_test(test_elf64),
        cmocka_unit_test(test_native_kernel),
        cmocka_unit_test(test_native_kernel64),
        cmocka_unit_test(test_aout_kludge),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_elf_headers),
        cmocka_unit_test(test_cmdline_and_untouched),
        cmocka_unit_test(test_is_multiboot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
