/*
 * xen_elf.c - ELF64 x86-64 Xen PV kernel parser and validator.
 *
 * Runs in the hypervisor (dom0 builder, ring 0, freestanding) and in the
 * toolstack's domain builder (dom0 / host).  Touches nothing but the image
 * (read-only) and the caller's xen_elf_info.  The image is untrusted: every
 * offset and size is checked against the file size before use, with
 * arithmetic that cannot overflow.  Facts (note types, defaults for
 * VIRT_BASE/PADDR_OFFSET, legacy __xen_guest keys) follow Xen's libelf and
 * public/elfnote.h.
 */
#include "xen_elf.h"

#if __STDC_HOSTED__
#include <string.h>
#else
/* Freestanding builds (hypervisor, guest-side toolstack) supply these. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif

#define UNSET ((uint64_t)-1)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* True if one of the n bytes at p is NUL. */
static bool has_nul(const uint8_t *p, uint64_t n)
{
    while ( n-- )
        if ( *p++ == '\0' )
            return true;
    return false;
}

struct parse_state {
    const uint8_t *img;
    uint64_t size;
    const struct elf64_ehdr *eh;   /* copy, aligned */
    struct xen_elf_info *info;
    const char *why;
    uint64_t virt_base, paddr_offset, virt_entry, virt_hypercall;
    unsigned int nr_xen_notes;
};

static int elf_fail(struct parse_state *st, int err, const char *why)
{
    st->why = why;
    return err;
}

/* True if [off, off + len) lies inside a file of size bytes. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static void read_phdr(const struct parse_state *st, unsigned int i,
                      struct elf64_phdr *ph)
{
    memcpy(ph, st->img + st->eh->e_phoff + (uint64_t)i * sizeof(*ph),
           sizeof(*ph));
}

/* Copies a NUL-terminated note string into dst[XEN_ELF_STR_MAX], truncating. */
static void copy_str(char *dst, const char *src)
{
    size_t n = strlen(src);

    if ( n >= XEN_ELF_STR_MAX )
        n = XEN_ELF_STR_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- FEATURES strings ------------------------------------------------- */

static const char *const feature_names[] = {
    [XENFEAT_writable_page_tables]       = "writable_page_tables",
    [XENFEAT_writable_descriptor_tables] = "writable_descriptor_tables",
    [XENFEAT_auto_translated_physmap]    = "auto_translated_physmap",
    [XENFEAT_supervisor_mode_kernel]     = "supervisor_mode_kernel",
    [XENFEAT_pae_pgdir_above_4gb]        = "pae_pgdir_above_4gb",
    [XENFEAT_hvm_callback_vector]        = "hvm_callback_vector",
    [XENFEAT_dom0]                       = "dom0",
};

/* Parses "name|!name|..." (len bytes at s); '!' marks a required feature. */
static int parse_features(struct parse_state *st, const char *s, size_t len)
{
    size_t pos = 0;

    while ( pos < len && s[pos] != '\0' )
    {
        size_t end = pos, i;
        bool required;

        while ( end < len && s[end] != '\0' && s[end] != '|' )
            end++;
        required = s[pos] == '!';
        if ( required )
            pos++;
        for ( i = 0; i < ARRAY_LEN(feature_names); i++ )
        {
            const char *n = feature_names[i];

            if ( n && strlen(n) == end - pos && !memcmp(n, s + pos, end - pos) )
                break;
        }
        if ( i < ARRAY_LEN(feature_names) )
        {
            st->info->f_supported[i / 32] |= 1u << (i % 32);
            if ( required )
                st->info->f_required[i / 32] |= 1u << (i % 32);
        }
        else if ( required )
            return elf_fail(st, -XEN_EINVAL,
                        "FEATURES requires a feature this loader does not know");
        pos = end < len && s[end] == '|' ? end + 1 : end;
    }
    return 0;
}

/* ---- Xen ELF notes ---------------------------------------------------- */

enum note_kind { NK_IGNORE, NK_INT, NK_STR, NK_BITMAP };

static enum note_kind note_kind(uint32_t type)
{
    switch ( type )
    {
    case XEN_ELFNOTE_ENTRY: case XEN_ELFNOTE_HYPERCALL_PAGE:
    case XEN_ELFNOTE_VIRT_BASE: case XEN_ELFNOTE_PADDR_OFFSET:
    case XEN_ELFNOTE_INIT_P2M: case XEN_ELFNOTE_MOD_START_PFN:
    case XEN_ELFNOTE_PHYS32_ENTRY: case XEN_ELFNOTE_HV_START_LOW:
    case XEN_ELFNOTE_SUSPEND_CANCEL:
        return NK_INT;
    case XEN_ELFNOTE_GUEST_OS: case XEN_ELFNOTE_GUEST_VERSION:
    case XEN_ELFNOTE_XEN_VERSION: case XEN_ELFNOTE_LOADER:
    case XEN_ELFNOTE_PAE_MODE: case XEN_ELFNOTE_FEATURES:
    case XEN_ELFNOTE_BSD_SYMTAB:
        return NK_STR;
    case XEN_ELFNOTE_SUPPORTED_FEATURES:
        return NK_BITMAP;
    default:
        return NK_IGNORE;
    }
}

static uint64_t read_le(const uint8_t *p, unsigned int n)
{
    uint64_t v = 0;

    while ( n-- )
        v = (v << 8) | p[n];
    return v;
}

static int xen_note(struct parse_state *st, uint32_t type,
                    const uint8_t *desc, uint32_t descsz)
{
    struct xen_elf_info *info = st->info;
    const char *str = (const char *)desc;
    uint64_t val = 0;
    uint32_t i;

    switch ( note_kind(type) )
    {
    case NK_IGNORE:
        return 0;
    case NK_INT:
        if ( descsz != 1 && descsz != 2 && descsz != 4 && descsz != 8 )
            return elf_fail(st, -XEN_EINVAL,
                        "numeric Xen note has a size other than 1, 2, 4 or 8");
        val = read_le(desc, descsz);
        break;
    case NK_STR:
        if ( descsz == 0 || !has_nul(desc, descsz) )
            return elf_fail(st, -XEN_EINVAL, "string Xen note is not NUL-terminated");
        break;
    case NK_BITMAP:
        if ( descsz == 0 || descsz % 4 )
            return elf_fail(st, -XEN_EINVAL,
                        "SUPPORTED_FEATURES note size is not a multiple of 4");
        for ( i = 0; i < XENFEAT_NR_SUBMAPS && i < descsz / 4; i++ )
            info->f_supported[i] |= (uint32_t)read_le(desc + 4 * i, 4);
        return 0;
    }

    switch ( type )
    {
    case XEN_ELFNOTE_ENTRY:          st->virt_entry = val; break;
    case XEN_ELFNOTE_HYPERCALL_PAGE: st->virt_hypercall = val; break;
    case XEN_ELFNOTE_VIRT_BASE:      st->virt_base = val; break;
    case XEN_ELFNOTE_PADDR_OFFSET:   st->paddr_offset = val; break;
    case XEN_ELFNOTE_INIT_P2M:       info->p2m_base = val; break;
    case XEN_ELFNOTE_MOD_START_PFN:  info->mod_start_pfn = val != 0; break;
    case XEN_ELFNOTE_PHYS32_ENTRY:   info->phys32_entry = val; break;
    case XEN_ELFNOTE_GUEST_OS:       copy_str(info->guest_os, str); break;
    case XEN_ELFNOTE_GUEST_VERSION:  copy_str(info->guest_version, str); break;
    case XEN_ELFNOTE_XEN_VERSION:    copy_str(info->xen_version, str); break;
    case XEN_ELFNOTE_LOADER:         copy_str(info->loader, str); break;
    case XEN_ELFNOTE_PAE_MODE:       info->pae_mode = !strncmp(str, "yes", 3); break;
    case XEN_ELFNOTE_FEATURES:       return parse_features(st, str, descsz);
    default: break;
    }
    return 0;
}

/*
 * Walks the notes in file bytes [off, off + len) (already checked to be in
 * the file).  Name and descriptor are padded to 4 bytes whatever the
 * segment's alignment, as Xen's libelf reads them.  Counts and applies the
 * "Xen" ones.
 */
static int walk_notes(struct parse_state *st, uint64_t off, uint64_t len)
{
    const uint64_t align = 4;
    uint64_t pos = 0;
    int rc;

    while ( len - pos >= sizeof(struct elf64_note) )
    {
        struct elf64_note n;
        uint64_t name_off, desc_off, name_pad, desc_pad, left;

        memcpy(&n, st->img + off + pos, sizeof(n));
        name_off = pos + sizeof(n);
        left = len - name_off;
        name_pad = ((uint64_t)n.n_namesz + align - 1) & ~(align - 1);
        if ( name_pad > left )
            return elf_fail(st, -XEN_EINVAL, "ELF note name extends past its note area");
        desc_off = name_off + name_pad;
        left -= name_pad;
        if ( n.n_descsz > left )
            return elf_fail(st, -XEN_EINVAL,
                        "ELF note descriptor extends past its note area");
        desc_pad = ((uint64_t)n.n_descsz + align - 1) & ~(align - 1);

        if ( n.n_namesz == 4 && !memcmp(st->img + off + name_off, "Xen", 4) )
        {
            rc = xen_note(st, n.n_type, st->img + off + desc_off, n.n_descsz);
            if ( rc )
                return rc;
            st->nr_xen_notes++;
            st->info->has_xen_notes = true;
        }
        pos = desc_pad > left ? len : desc_off + desc_pad;
    }
    return 0;
}

/* ---- sections (fallback for notes, legacy __xen_guest) ---------------- */

/* Validates the section header table; 0 if usable, 1 if absent. */
static int check_shdrs(struct parse_state *st)
{
    const struct elf64_ehdr *eh = st->eh;

    if ( eh->e_shnum == 0 || eh->e_shoff == 0 )
        return 1;
    if ( eh->e_shentsize != sizeof(struct elf64_shdr) )
        return elf_fail(st, -XEN_EINVAL, "e_shentsize is not sizeof(Elf64_Shdr)");
    if ( !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(struct elf64_shdr),
                  st->size) )
        return elf_fail(st, -XEN_EINVAL, "section header table extends past end of file");
    return 0;
}

static void read_shdr(const struct parse_state *st, unsigned int i,
                      struct elf64_shdr *sh)
{
    memcpy(sh, st->img + st->eh->e_shoff + (uint64_t)i * sizeof(*sh),
           sizeof(*sh));
}

static int section_notes(struct parse_state *st)
{
    struct elf64_shdr sh;
    unsigned int i;
    int rc;

    for ( i = 0; i < st->eh->e_shnum; i++ )
    {
        read_shdr(st, i, &sh);
        if ( sh.sh_type != ELF_SHT_NOTE )
            continue;
        if ( !in_file(sh.sh_offset, sh.sh_size, st->size) )
            return elf_fail(st, -XEN_EINVAL, "note section extends past end of file");
        rc = walk_notes(st, sh.sh_offset, sh.sh_size);
        if ( rc )
            return rc;
    }
    return 0;
}

/* Parses an unsigned number the way strtoull(s, NULL, 0) would. */
static uint64_t parse_num(const char *s, size_t len)
{
    uint64_t v = 0, base = 10;
    size_t i = 0;

    if ( len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') )
        base = 16, i = 2;
    else if ( len >= 1 && s[0] == '0' )
        base = 8;
    for ( ; i < len; i++ )
    {
        char c = s[i];
        uint64_t d;

        if ( c >= '0' && c <= '9' )
            d = c - '0';
        else if ( c >= 'a' && c <= 'f' )
            d = c - 'a' + 10;
        else if ( c >= 'A' && c <= 'F' )
            d = c - 'A' + 10;
        else
            break;
        if ( d >= base )
            break;
        v = v * base + d;
    }
    return v;
}

static bool key_is(const char *k, size_t klen, const char *want)
{
    return strlen(want) == klen && !memcmp(k, want, klen);
}

static void copy_bounded(char *dst, const char *src, size_t len)
{
    if ( len >= XEN_ELF_STR_MAX )
        len = XEN_ELF_STR_MAX - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Parses the legacy "KEY=VALUE,KEY=VALUE" __xen_guest string. */
static int legacy_guest(struct parse_state *st, const char *s, size_t len)
{
    struct xen_elf_info *info = st->info;
    size_t pos = 0;
    bool hypercall = false;
    int rc;

    while ( pos < len && s[pos] != '\0' )
    {
        size_t k = pos, kend, v, vend;

        while ( pos < len && s[pos] && s[pos] != ',' && s[pos] != '=' )
            pos++;
        kend = pos;
        v = vend = pos;
        if ( pos < len && s[pos] == '=' )
        {
            v = ++pos;
            while ( pos < len && s[pos] && s[pos] != ',' )
                pos++;
            vend = pos;
        }
        if ( pos < len && s[pos] == ',' )
            pos++;

        if ( key_is(s + k, kend - k, "LOADER") )
            copy_bounded(info->loader, s + v, vend - v);
        else if ( key_is(s + k, kend - k, "GUEST_OS") )
            copy_bounded(info->guest_os, s + v, vend - v);
        else if ( key_is(s + k, kend - k, "GUEST_VER") )
            copy_bounded(info->guest_version, s + v, vend - v);
        else if ( key_is(s + k, kend - k, "XEN_VER") )
            copy_bounded(info->xen_version, s + v, vend - v);
        else if ( key_is(s + k, kend - k, "PAE") )
            info->pae_mode = vend - v >= 3 && !strncmp(s + v, "yes", 3);
        else if ( key_is(s + k, kend - k, "VIRT_BASE") )
            st->virt_base = parse_num(s + v, vend - v);
        else if ( key_is(s + k, kend - k, "VIRT_ENTRY") )
            st->virt_entry = parse_num(s + v, vend - v);
        else if ( key_is(s + k, kend - k, "ELF_PADDR_OFFSET") )
            st->paddr_offset = parse_num(s + v, vend - v);
        else if ( key_is(s + k, kend - k, "HYPERCALL_PAGE") )
        {
            /* Legacy form: a page number relative to VIRT_BASE. */
            st->virt_hypercall = parse_num(s + v, vend - v) << 12;
            hypercall = true;
        }
        else if ( key_is(s + k, kend - k, "FEATURES") )
        {
            rc = parse_features(st, s + v, vend - v);
            if ( rc )
                return rc;
        }
    }
    if ( hypercall && st->virt_base != UNSET )
        st->virt_hypercall += st->virt_base;
    info->has_legacy_guest = true;
    return 0;
}

/* Finds the "__xen_guest" section; 0 found, 1 absent, <0 malformed. */
static int find_legacy(struct parse_state *st)
{
    static const char name[] = "__xen_guest";
    struct elf64_shdr strtab, sh;
    unsigned int i;

    if ( st->eh->e_shstrndx >= st->eh->e_shnum )
        return 1;
    read_shdr(st, st->eh->e_shstrndx, &strtab);
    if ( !in_file(strtab.sh_offset, strtab.sh_size, st->size) )
        return elf_fail(st, -XEN_EINVAL, "section name table extends past end of file");
    for ( i = 0; i < st->eh->e_shnum; i++ )
    {
        read_shdr(st, i, &sh);
        if ( sh.sh_name >= strtab.sh_size ||
             strtab.sh_size - sh.sh_name < sizeof(name) ||
             memcmp(st->img + strtab.sh_offset + sh.sh_name, name, sizeof(name)) )
            continue;
        if ( !in_file(sh.sh_offset, sh.sh_size, st->size) )
            return elf_fail(st, -XEN_EINVAL, "__xen_guest section extends past end of file");
        return legacy_guest(st, (const char *)st->img + sh.sh_offset, sh.sh_size);
    }
    return 1;
}

/* ---- top level -------------------------------------------------------- */

static bool hits_hypervisor(uint64_t start, uint64_t last)
{
    return start <= XEN_ELF_HV_END && last >= XEN_ELF_HV_START;
}

static bool canonical(uint64_t va)
{
    return va < 0x0000800000000000ULL || va >= 0xffff800000000000ULL;
}

static int check_header(struct parse_state *st)
{
    const struct elf64_ehdr *eh = st->eh;
    struct elf64_phdr ph;
    unsigned int i;

    if ( memcmp(eh->e_ident, "\177ELF", 4) )
        return elf_fail(st, -XEN_EINVAL, "not an ELF file (bad magic)");
    if ( eh->e_ident[ELF_EI_CLASS] != ELF_CLASS64 )
        return elf_fail(st, -XEN_EINVAL, "not an ELF64 image (EI_CLASS)");
    if ( eh->e_ident[ELF_EI_DATA] != ELF_DATA2LSB )
        return elf_fail(st, -XEN_EINVAL, "not a little-endian ELF image (EI_DATA)");
    if ( eh->e_machine != ELF_EM_X86_64 )
        return elf_fail(st, -XEN_EINVAL, "not an x86-64 image (e_machine)");
    if ( eh->e_type != ELF_ET_EXEC )
        return elf_fail(st, -XEN_EINVAL, "not an executable (e_type is not ET_EXEC)");
    if ( eh->e_phnum == 0 )
        return elf_fail(st, -XEN_EINVAL, "no program headers");
    if ( eh->e_phentsize != sizeof(struct elf64_phdr) )
        return elf_fail(st, -XEN_EINVAL, "e_phentsize is not sizeof(Elf64_Phdr)");
    if ( !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(ph), st->size) )
        return elf_fail(st, -XEN_EINVAL, "program header table extends past end of file");

    for ( i = 0; i < eh->e_phnum; i++ )
    {
        read_phdr(st, i, &ph);
        if ( ph.p_type != ELF_PT_LOAD && ph.p_type != ELF_PT_NOTE )
            continue;
        if ( !in_file(ph.p_offset, ph.p_filesz, st->size) )
            return elf_fail(st, -XEN_EINVAL, ph.p_type == ELF_PT_LOAD ?
                        "PT_LOAD segment extends past end of file" :
                        "PT_NOTE segment extends past end of file");
        if ( ph.p_type == ELF_PT_LOAD && ph.p_filesz > ph.p_memsz )
            return elf_fail(st, -XEN_EINVAL, "PT_LOAD segment has p_filesz > p_memsz");
    }
    return 0;
}

static int find_notes(struct parse_state *st)
{
    struct elf64_phdr ph;
    unsigned int i;
    int rc;

    for ( i = 0; i < st->eh->e_phnum; i++ )
    {
        read_phdr(st, i, &ph);
        if ( ph.p_type != ELF_PT_NOTE )
            continue;
        rc = walk_notes(st, ph.p_offset, ph.p_filesz);
        if ( rc )
            return rc;
    }
    if ( st->nr_xen_notes )
        return 0;

    rc = check_shdrs(st);
    if ( rc < 0 )
        return rc;
    if ( rc == 0 )
    {
        rc = section_notes(st);
        if ( rc || st->nr_xen_notes )
            return rc;
        rc = find_legacy(st);
        if ( rc <= 0 )
            return rc;
    }
    return elf_fail(st, -XEN_ENOEXEC,
                "no Xen ELF notes and no __xen_guest section: not a Xen PV kernel");
}

/* Applies libelf's defaults and computes/checks the loaded VA range. */
static int layout(struct parse_state *st)
{
    struct xen_elf_info *info = st->info;
    uint64_t offset, kstart = UNSET, kend = 0;
    bool entry_ok = false, hc_ok = false;
    struct elf64_phdr ph;
    unsigned int i;

    if ( st->paddr_offset != UNSET && st->virt_base == UNSET )
        return elf_fail(st, -XEN_EINVAL, "PADDR_OFFSET given without VIRT_BASE");
    info->virt_base = st->virt_base == UNSET ? 0 : st->virt_base;
    if ( st->paddr_offset != UNSET )
        info->paddr_offset = st->paddr_offset;
    else
        info->paddr_offset = info->has_xen_notes ? 0 : info->virt_base;
    info->virt_entry = st->virt_entry == UNSET ? st->eh->e_entry : st->virt_entry;
    info->virt_hypercall = st->virt_hypercall == UNSET ? 0 : st->virt_hypercall;
    offset = info->virt_base - info->paddr_offset;   /* modulo 2^64 */

    for ( i = 0; i < st->eh->e_phnum; i++ )
    {
        uint64_t va, last;

        read_phdr(st, i, &ph);
        if ( ph.p_type != ELF_PT_LOAD || ph.p_memsz == 0 )
            continue;
        info->nr_load++;
        va = ph.p_paddr + offset;
        last = va + (ph.p_memsz - 1);
        if ( last < va || last == UNSET )
            return elf_fail(st, -XEN_EINVAL, "PT_LOAD segment wraps the address space");
        if ( hits_hypervisor(va, last) )
            return elf_fail(st, -XEN_EINVAL,
                        "PT_LOAD segment overlaps the hypervisor's virtual range");
        if ( !canonical(va) || !canonical(last) || (va >> 63) != (last >> 63) )
            return elf_fail(st, -XEN_EINVAL, "PT_LOAD segment is not canonical");
        if ( va < kstart )
            kstart = va;
        if ( last + 1 > kend )
            kend = last + 1;
        if ( info->virt_entry >= va && info->virt_entry <= last )
            entry_ok = true;
        if ( info->virt_hypercall >= va && info->virt_hypercall <= last )
            hc_ok = true;
    }
    if ( info->nr_load == 0 )
        return elf_fail(st, -XEN_EINVAL, "no loadable (PT_LOAD) segment");
    info->virt_kstart = kstart;
    info->virt_kend = kend;
    if ( !entry_ok )
        return elf_fail(st, -XEN_EINVAL, "entry point is outside every loaded segment");
    if ( info->virt_base > kstart )
        return elf_fail(st, -XEN_EINVAL, "VIRT_BASE is above the start of the image");
    if ( info->virt_hypercall && (!hc_ok || (info->virt_hypercall & 0xfff)) )
        return elf_fail(st, -XEN_EINVAL,
                    "HYPERCALL_PAGE is not a page-aligned address inside the image");
    return 0;
}

int xen_elf_parse(const void *image, size_t size, struct xen_elf_info *info,
                  const char **why)
{
    struct elf64_ehdr eh;
    struct parse_state st = {
        .img = image, .size = size, .eh = &eh, .info = info,
        .virt_base = UNSET, .paddr_offset = UNSET, .virt_entry = UNSET,
        .virt_hypercall = UNSET,
    };
    int rc;

    memset(info, 0, sizeof(*info));
    if ( !image || size < sizeof(eh) )
        rc = elf_fail(&st, -XEN_EINVAL, "file is smaller than an ELF64 header");
    else
    {
        memcpy(&eh, image, sizeof(eh));
        rc = check_header(&st);
        if ( !rc )
            rc = find_notes(&st);
        if ( !rc &&
             (!info->loader[0] || strncmp(info->loader, "generic", 7)) &&
             (!info->guest_os[0] || strncmp(info->guest_os, "linux", 5)) )
            rc = elf_fail(&st, -XEN_EINVAL,
                      "neither LOADER \"generic\" nor GUEST_OS \"linux\"");
        if ( !rc && strncmp(info->xen_version, "xen-3.0", 7) )
            rc = elf_fail(&st, -XEN_EINVAL, "XEN_VERSION is not \"xen-3.0\"");
        if ( !rc )
            rc = layout(&st);
    }
    info->dom0_capable = xen_elf_feature(info, XENFEAT_dom0);
    if ( why )
        *why = rc ? st.why : NULL;
    return rc;
}

int xen_elf_for_each_load(const void *image, size_t size,
                          const struct xen_elf_info *info,
                          xen_elf_load_fn fn, void *arg)
{
    const uint8_t *img = image;
    struct elf64_ehdr eh;
    struct elf64_phdr ph;
    uint64_t offset = info->virt_base - info->paddr_offset;
    unsigned int i;
    int rc;

    if ( size < sizeof(eh) )
        return -XEN_EINVAL;
    memcpy(&eh, img, sizeof(eh));
    if ( eh.e_phentsize != sizeof(ph) ||
         !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(ph), size) )
        return -XEN_EINVAL;
    for ( i = 0; i < eh.e_phnum; i++ )
    {
        memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if ( ph.p_type != ELF_PT_LOAD || ph.p_memsz == 0 )
            continue;
        if ( !in_file(ph.p_offset, ph.p_filesz, size) || ph.p_filesz > ph.p_memsz )
            return -XEN_EINVAL;
        rc = fn(arg, ph.p_paddr + offset, img + ph.p_offset, ph.p_filesz,
                ph.p_memsz);
        if ( rc )
            return rc;
    }
    return 0;
}
