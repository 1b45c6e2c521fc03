/*
 * mb_build.c - multiboot1 loader for unmodified domains: finds and checks
 * the multiboot header, loads the ELF32/ELF64 PT_LOAD segments (or the
 * a.out-kludge range) at their physical addresses and writes the multiboot
 * information page.  Contracts are in mb_build.h.
 *
 * Runs in the hypervisor's domain builder (ring 0, freestanding) and in the
 * toolstack's domain builder (dom0 / host).  Reaches guest memory only
 * through ops->map_pfn; never allocates; never writes to the image.  Checks
 * the whole image and layout before the first write.
 */
#include "mb_build.h"

#if __STDC_HOSTED__
#include <string.h>
#else
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif

#define MB_PAGE 4096ULL
#define MB_4G   (1ULL << 32)

/* One region to place: file bytes [off, off + filesz) at paddr, then zeros
 * up to memsz. */
struct mb_seg {
    uint64_t paddr, off, filesz, memsz;
};

/* How the kernel is laid out: ELF program headers or the a.out kludge. */
struct mb_image {
    const uint8_t *img;
    uint64_t size;
    uint64_t hdr_off;          /* file offset of the multiboot header */
    struct mb_header hdr;      /* fields past the end of the file read as 0 */
    bool kludge;
    bool elf64;
    uint64_t phoff;
    unsigned int phnum;
    uint64_t entry;
};

/* True if [off, off + len) lies inside a file of size bytes. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* Offset of the first valid header; -1 and *bad_sum if only headers with a
 * wrong checksum were seen; -1 alone if none. */
static int64_t find_header(const uint8_t *img, uint64_t size, bool *bad_sum)
{
    uint64_t lim = size < MB_SEARCH_LEN ? size : MB_SEARCH_LEN;

    *bad_sum = false;
    for ( uint64_t off = 0; off + 12 <= lim; off += 4 )
    {
        if ( rd32(img + off) != MB_HEADER_MAGIC )
            continue;
        if ( (uint32_t)(MB_HEADER_MAGIC + rd32(img + off + 4) + rd32(img + off + 8)) == 0 )
            return (int64_t)off;
        *bad_sum = true;
    }
    return -1;
}

bool mb_is_multiboot(const void *image, size_t size)
{
    bool bad_sum;

    return image && find_header(image, size, &bad_sum) >= 0;
}

/* Segment i of the ELF image (program header i, any type); its type in
 * *type.  The program header table was checked to lie in the file. */
static void elf_seg(const struct mb_image *im, unsigned int i, uint32_t *type,
                    struct mb_seg *s)
{
    if ( im->elf64 )
    {
        struct elf64_phdr ph;

        memcpy(&ph, im->img + im->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        *type = ph.p_type;
        *s = (struct mb_seg){ ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz };
    }
    else
    {
        struct elf32_phdr ph;

        memcpy(&ph, im->img + im->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        *type = ph.p_type;
        *s = (struct mb_seg){ ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz };
    }
}

/* Number of regions to place. */
static unsigned int nr_regions(const struct mb_image *im)
{
    return im->kludge ? 1 : im->phnum;
}

/* Region i; false if it is not to be loaded (not PT_LOAD or empty). */
static bool region(const struct mb_image *im, unsigned int i, struct mb_seg *s)
{
    uint32_t type;

    if ( im->kludge )
    {
        const struct mb_header *h = &im->hdr;

        s->off = im->hdr_off - (h->header_addr - h->load_addr);
        s->paddr = h->load_addr;
        s->filesz = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
                                     : im->size - s->off;
        s->memsz = h->bss_end_addr ? (uint64_t)h->bss_end_addr - h->load_addr : s->filesz;
        return true;
    }
    elf_seg(im, i, &type, s);
    return type == ELF_PT_LOAD && s->memsz != 0;
}

/* Checks the a.out-kludge address fields (spec 3.1.3). */
static const char *check_kludge(struct mb_image *im)
{
    const struct mb_header *h = &im->hdr;

    if ( !in_file(im->hdr_off, sizeof(*h), im->size) )
        return "multiboot header with the a.out kludge is cut off by the end of the image";
    if ( h->load_addr > h->header_addr ||
         h->header_addr - h->load_addr > im->hdr_off )
        return "a.out kludge: load_addr does not fit the header's file offset";

    uint64_t off = im->hdr_off - (h->header_addr - h->load_addr);

    if ( h->load_end_addr && h->load_end_addr < h->header_addr + sizeof(*h) )
        return "a.out kludge: load_end_addr is below the end of the header";
    if ( h->load_end_addr && !in_file(off, h->load_end_addr - h->load_addr, im->size) )
        return "a.out kludge: load_end_addr lies beyond the end of the image";
    if ( h->bss_end_addr )
    {
        uint64_t load_end = h->load_end_addr ? h->load_end_addr
                            : h->load_addr + (im->size - off);

        if ( h->bss_end_addr < load_end )
            return "a.out kludge: bss_end_addr is below load_end_addr";
    }
    im->entry = h->entry_addr;
    return NULL;
}

/* Checks the ELF header and program header table. */
static const char *check_elf(struct mb_image *im)
{
    const uint8_t *e = im->img;
    struct elf32_ehdr h32;
    struct elf64_ehdr h64;
    uint64_t phentsize;
    uint16_t machine;

    if ( im->size < sizeof(h32) || memcmp(e, "\177ELF", 4) )
        return "not an ELF image (and no a.out kludge in the multiboot header)";
    if ( e[ELF_EI_DATA] != ELF_DATA2LSB || e[ELF_EI_VERSION] != ELF_EV_CURRENT )
        return "ELF image is not little-endian version 1";
    if ( e[ELF_EI_CLASS] == ELF_CLASS32 )
    {
        memcpy(&h32, e, sizeof(h32));
        if ( h32.e_type != ELF_ET_EXEC )
            return "ELF image is not an executable (ET_EXEC)";
        machine = h32.e_machine;
        im->entry = h32.e_entry;
        im->phoff = h32.e_phoff;
        im->phnum = h32.e_phnum;
        phentsize = h32.e_phentsize;
        im->elf64 = false;
    }
    else if ( e[ELF_EI_CLASS] == ELF_CLASS64 )
    {
        if ( im->size < sizeof(h64) )
            return "ELF64 header is cut off by the end of the image";
        memcpy(&h64, e, sizeof(h64));
        if ( h64.e_type != ELF_ET_EXEC )
            return "ELF image is not an executable (ET_EXEC)";
        machine = h64.e_machine;
        im->entry = h64.e_entry;
        im->phoff = h64.e_phoff;
        im->phnum = h64.e_phnum;
        phentsize = h64.e_phentsize;
        im->elf64 = true;
    }
    else
        return "ELF class is neither ELF32 nor ELF64";
    if ( machine != ELF_EM_386 && machine != ELF_EM_X86_64 )
        return "ELF machine is neither i386 nor x86-64";
    if ( phentsize != (im->elf64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr)) )
        return "ELF program header entry size is wrong";
    if ( im->phnum == 0 )
        return "ELF image has no program headers";
    if ( !in_file(im->phoff, (uint64_t)im->phnum * phentsize, im->size) )
        return "ELF program headers lie beyond the end of the image";
    return NULL;
}

/* Writes len bytes from src (zeros if src is NULL) at guest paddr. */
static int guest_write(const struct mb_build_ops *ops, uint64_t paddr,
                       const void *src, uint64_t len)
{
    const uint8_t *s = src;

    while ( len )
    {
        uint64_t off = paddr & (MB_PAGE - 1);
        uint64_t n = MB_PAGE - off < len ? MB_PAGE - off : len;
        uint8_t *page = ops->map_pfn(ops->ctx, paddr / MB_PAGE);

        if ( !page )
            return -XEN_EFAULT;
        if ( s )
        {
            memcpy(page + off, s, n);
            s += n;
        }
        else
            memset(page + off, 0, n);
        if ( ops->unmap_pfn )
            ops->unmap_pfn(ops->ctx, page);
        paddr += n;
        len -= n;
    }
    return 0;
}

/* Writes the information page at MB_INFO_PADDR (zeroed first). */
static int write_info(const struct mb_build_params *p,
                      const struct mb_build_ops *ops)
{
    static const char name[] = "Lamina";
    uint64_t ram_end = p->nr_pages * MB_PAGE;
    uint64_t upper_kib = (ram_end - MB_HIGH_START) / 1024;
    struct mb_mmap_entry mmap[3] = {
        { 20, 0, MB_LOW_END, MB_MMAP_RAM },
        { 20, MB_BIOS_START, MB_HIGH_START - MB_BIOS_START, MB_MMAP_RESERVED },
        { 20, MB_HIGH_START, ram_end - MB_HIGH_START, MB_MMAP_RAM },
    };
    struct mb_info mbi = {
        .flags = MB_INFO_MEM | MB_INFO_MMAP | MB_INFO_LOADER,
        .mem_lower = 640,
        .mem_upper = upper_kib > 0xffffffffULL ? 0xffffffffu : (uint32_t)upper_kib,
        .mmap_length = sizeof(mmap),
        .mmap_addr = (uint32_t)(MB_INFO_PADDR + MB_INFO_MMAP_OFF),
        .boot_loader_name = (uint32_t)(MB_INFO_PADDR + MB_INFO_NAME_OFF),
    };
    int rc;

    _Static_assert(sizeof(struct mb_info) <= MB_INFO_MMAP_OFF, "info fits");
    _Static_assert(MB_INFO_MMAP_OFF + 3 * sizeof(struct mb_mmap_entry) <= MB_INFO_NAME_OFF,
                   "mmap fits");
    if ( p->cmdline )
    {
        mbi.flags |= MB_INFO_CMDLINE;
        mbi.cmdline = (uint32_t)(MB_INFO_PADDR + MB_INFO_CMD_OFF);
    }
    rc = guest_write(ops, MB_INFO_PADDR, NULL, MB_PAGE);
    if ( !rc )
        rc = guest_write(ops, MB_INFO_PADDR, &mbi, sizeof(mbi));
    if ( !rc )
        rc = guest_write(ops, MB_INFO_PADDR + MB_INFO_MMAP_OFF, mmap, sizeof(mmap));
    if ( !rc )
        rc = guest_write(ops, MB_INFO_PADDR + MB_INFO_NAME_OFF, name, sizeof(name));
    if ( !rc && p->cmdline )
    {
        size_t n = strlen(p->cmdline);

        if ( n > MB_CMDLINE_MAX )
            n = MB_CMDLINE_MAX;
        /* The page was zeroed: the NUL is already there. */
        rc = guest_write(ops, MB_INFO_PADDR + MB_INFO_CMD_OFF, p->cmdline, n);
    }
    return rc;
}

int mb_build(const void *image, size_t size, const struct mb_build_params *p,
             const struct mb_build_ops *ops, struct mb_build_result *r,
             const char **why)
{
    struct mb_image im = { .img = image, .size = size };
    uint64_t ram_end, kstart = UINT64_MAX, kend = 0;
    bool bad_sum, entry_ok = false;
    const char *err;
    int64_t hoff;
    int rc;

#define FAIL(rc_, msg) do { if ( why ) *why = (msg); return (rc_); } while ( 0 )
    if ( why )
        *why = NULL;
    if ( r )
        memset(r, 0, sizeof(*r));
    if ( !image || !p || !ops || !ops->map_pfn || !r )
        FAIL(-XEN_EINVAL, "missing image, parameters, ops or result");
    if ( p->nr_pages < MB_MIN_PAGES )
        FAIL(-XEN_ENOMEM, "fewer guest frames than a multiboot domain needs (2 MiB)");
    if ( p->nr_pages > (1ULL << 40) )
        FAIL(-XEN_EINVAL, "nr_pages is larger than 2^40");
    ram_end = p->nr_pages * MB_PAGE;

    hoff = find_header(im.img, im.size, &bad_sum);
    if ( hoff < 0 )
        FAIL(-XEN_EINVAL, bad_sum ? "multiboot header checksum is wrong"
                                  : "no multiboot header in the first 8 KiB");
    im.hdr_off = (uint64_t)hoff;
    memcpy(&im.hdr, im.img + hoff, 12);
    if ( in_file(im.hdr_off, sizeof(im.hdr), im.size) )
        memcpy(&im.hdr, im.img + hoff, sizeof(im.hdr));
    if ( im.hdr.flags & MB_HF_VIDEO )
        FAIL(-XEN_EINVAL, "multiboot header asks for a video mode (flag 2): not supported");
    if ( im.hdr.flags & 0xfff8u )
        FAIL(-XEN_EINVAL, "multiboot header has unknown required flags (bits 3-15)");
    im.kludge = im.hdr.flags & MB_HF_AOUT_KLUDGE;
    err = im.kludge ? check_kludge(&im) : check_elf(&im);
    if ( err )
        FAIL(-XEN_EINVAL, err);

    /* Check every region, then the entry point. */
    for ( unsigned int i = 0; i < nr_regions(&im); i++ )
    {
        struct mb_seg s = { 0 };
        uint64_t end;

        if ( !region(&im, i, &s) )
            continue;
        if ( s.filesz > s.memsz )
            FAIL(-XEN_EINVAL, "segment has more file bytes than memory bytes");
        if ( !in_file(s.off, s.filesz, im.size) )
            FAIL(-XEN_EINVAL, "segment's file bytes lie beyond the end of the image");
        if ( s.paddr >= ram_end || s.memsz > ram_end - s.paddr )
            FAIL(-XEN_EINVAL, "segment lies outside the domain's memory");
        end = s.paddr + s.memsz;
        if ( s.paddr < MB_INFO_PADDR + MB_PAGE && end > MB_INFO_PADDR )
            FAIL(-XEN_EINVAL, "segment overlaps the multiboot information page");
        if ( s.paddr < kstart )
            kstart = s.paddr;
        if ( end > kend )
            kend = end;
        if ( im.entry >= s.paddr && im.entry < end )
            entry_ok = true;
    }
    if ( kend == 0 )
        FAIL(-XEN_EINVAL, "image has no loadable segment");
    if ( !entry_ok || im.entry >= MB_4G )
        FAIL(-XEN_EINVAL, "entry point is not in a loaded segment below 4 GiB");

    /* Nothing can fail from here on but map_pfn. */
    for ( unsigned int i = 0; i < nr_regions(&im); i++ )
    {
        struct mb_seg s = { 0 };

        if ( !region(&im, i, &s) )
            continue;
        rc = guest_write(ops, s.paddr, im.img + s.off, s.filesz);
        if ( !rc )
            rc = guest_write(ops, s.paddr + s.filesz, NULL, s.memsz - s.filesz);
        if ( rc )
            FAIL(rc, "map_pfn failed");
    }
    rc = write_info(p, ops);
    if ( rc )
        FAIL(rc, "map_pfn failed");

    r->entry = im.entry;
    r->mbi_paddr = MB_INFO_PADDR;
    r->kernel_start = kstart;
    r->kernel_end = kend;
    r->load_end = kend > MB_INFO_PADDR + MB_PAGE ? kend : MB_INFO_PADDR + MB_PAGE;
    r->header_flags = im.hdr.flags;
    return 0;
#undef FAIL
}
