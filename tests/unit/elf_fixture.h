/*
 * elf_fixture.h - synthesises small ELF64 x86-64 Xen PV kernel images in
 * memory for host unit tests of toolstack/builder (runs on the host only).
 *
 * File layout of an image built by fx_build():
 *   0x000 ELF header, 0x040 program headers (text PT_LOAD, data PT_LOAD,
 *   PT_NOTE), 0x100 Xen notes, 0x700 __xen_guest string, 0x800 .shstrtab,
 *   0x840 section headers (null, .note.Xen, __xen_guest, .shstrtab),
 *   0x1000 text bytes, 0x3000 data bytes.  Size 0x3000 + data_filesz.
 * Tests then corrupt single fields through fx_ehdr()/fx_phdr()/fx_note().
 */
#ifndef LAMINA_ELF_FIXTURE_H
#define LAMINA_ELF_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xen_elf.h"

#define FX_BASE      0xffffffff80000000ULL
#define FX_PH_TEXT   0
#define FX_PH_DATA   1
#define FX_PH_NOTE   2
#define FX_NOTES_OFF 0x100
#define FX_NOTES_MAX 0x600
#define FX_LEGACY_OFF 0x700
#define FX_STRTAB_OFF 0x800
#define FX_SHDR_OFF  0x840
#define FX_TEXT_OFF  0x1000
#define FX_DATA_OFF  0x3000

enum fx_notes_where { FX_NOTES_PHDR, FX_NOTES_SECTION, FX_NOTES_NONE };

struct fx_spec {
    uint64_t virt_base;    bool no_virt_base;
    uint64_t paddr_offset; bool no_paddr_offset;
    uint64_t entry;        /* ENTRY note; 0 = omit */
    uint64_t e_entry;
    uint64_t hypercall;    /* HYPERCALL_PAGE note; 0 = omit */
    uint64_t text_vaddr, text_paddr, text_filesz;   /* filesz <= 0x2000 */
    uint64_t data_vaddr, data_paddr, data_filesz, data_memsz;
    const char *guest_os, *loader, *xen_version, *features; /* NULL = omit */
    uint32_t supported;    bool no_supported;
    enum fx_notes_where notes_where;
    const char *legacy;    /* __xen_guest contents, NULL = no such section */
};

static inline uint8_t fx_text_byte(uint64_t i) { return (uint8_t)(i * 7 + 1); }
static inline uint8_t fx_data_byte(uint64_t i) { return (uint8_t)(i * 13 + 5); }

/* A valid dom0-capable image: base FX_BASE, PADDR_OFFSET = base (p_paddr ==
 * p_vaddr), text at base+0x2000 (0x1800 bytes), data at base+0x4000 (0x100
 * bytes + bss to 0x3000), hypercall page at base+0x3000. */
static inline void fx_default(struct fx_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->virt_base = FX_BASE;
    s->paddr_offset = FX_BASE;
    s->entry = FX_BASE + 0x2010;
    s->e_entry = FX_BASE + 0x2010;
    s->hypercall = FX_BASE + 0x3000;
    s->text_vaddr = s->text_paddr = FX_BASE + 0x2000;
    s->text_filesz = 0x1800;
    s->data_vaddr = s->data_paddr = FX_BASE + 0x4000;
    s->data_filesz = 0x100;
    s->data_memsz = 0x3000;
    s->guest_os = "Lamina";
    s->loader = "generic";
    s->xen_version = "xen-3.0";
    s->features = "!writable_page_tables|pae_pgdir_above_4gb";
    s->supported = 1u << XENFEAT_dom0;
}

static inline size_t fx_note(uint8_t *p, uint32_t type, const void *desc,
                             uint32_t descsz)
{
    struct elf64_note n = { 4, descsz, type };

    memcpy(p, &n, sizeof(n));
    memcpy(p + 12, "Xen", 4);
    memcpy(p + 16, desc, descsz);
    return 16 + ((descsz + 3) & ~3u);
}

static inline size_t fx_note_u64(uint8_t *p, uint32_t type, uint64_t v)
{
    return fx_note(p, type, &v, 8);
}

static inline size_t fx_note_str(uint8_t *p, uint32_t type, const char *s)
{
    return fx_note(p, type, s, (uint32_t)strlen(s) + 1);
}

/* Builds the image; returns a malloc'd buffer (free it) and its size. */
static inline uint8_t *fx_build(const struct fx_spec *s, size_t *size)
{
    size_t sz = FX_DATA_OFF + s->data_filesz, notes = 0, i;
    uint8_t *img = calloc(1, sz), *n = img + FX_NOTES_OFF;
    struct elf64_ehdr eh = { .e_type = ELF_ET_EXEC, .e_machine = ELF_EM_X86_64,
        .e_version = 1, .e_entry = s->e_entry, .e_phoff = 64,
        .e_shoff = FX_SHDR_OFF, .e_ehsize = 64, .e_phentsize = 56,
        .e_phnum = 3, .e_shentsize = 64, .e_shnum = 4, .e_shstrndx = 3 };
    struct elf64_phdr ph[3] = {
        { ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, FX_TEXT_OFF, s->text_vaddr,
          s->text_paddr, s->text_filesz, s->text_filesz, 0x1000 },
        { ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, FX_DATA_OFF, s->data_vaddr,
          s->data_paddr, s->data_filesz, s->data_memsz, 0x1000 },
        { ELF_PT_NOTE, ELF_PF_R, FX_NOTES_OFF, 0, 0, 0, 0, 4 },
    };
    static const char strtab[] = "\0.note.Xen\0__xen_guest\0.shstrtab";
    struct elf64_shdr sh[4] = { { 0 } };

    if ( s->notes_where != FX_NOTES_NONE )
    {
        if ( s->guest_os )
            notes += fx_note_str(n + notes, XEN_ELFNOTE_GUEST_OS, s->guest_os);
        if ( s->loader )
            notes += fx_note_str(n + notes, XEN_ELFNOTE_LOADER, s->loader);
        if ( s->xen_version )
            notes += fx_note_str(n + notes, XEN_ELFNOTE_XEN_VERSION, s->xen_version);
        if ( !s->no_virt_base )
            notes += fx_note_u64(n + notes, XEN_ELFNOTE_VIRT_BASE, s->virt_base);
        if ( !s->no_paddr_offset )
            notes += fx_note_u64(n + notes, XEN_ELFNOTE_PADDR_OFFSET, s->paddr_offset);
        if ( s->entry )
            notes += fx_note_u64(n + notes, XEN_ELFNOTE_ENTRY, s->entry);
        if ( s->hypercall )
            notes += fx_note_u64(n + notes, XEN_ELFNOTE_HYPERCALL_PAGE, s->hypercall);
        if ( s->features )
            notes += fx_note_str(n + notes, XEN_ELFNOTE_FEATURES, s->features);
        if ( !s->no_supported )
            notes += fx_note(n + notes, XEN_ELFNOTE_SUPPORTED_FEATURES,
                             &s->supported, 4);
    }
    if ( s->notes_where == FX_NOTES_PHDR )
        ph[2].p_filesz = ph[2].p_memsz = notes;
    else
        ph[2].p_type = 0;   /* PT_NULL */

    memcpy(eh.e_ident, "\177ELF", 4);
    eh.e_ident[ELF_EI_CLASS] = ELF_CLASS64;
    eh.e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
    eh.e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
    memcpy(img, &eh, sizeof(eh));
    memcpy(img + 64, ph, sizeof(ph));

    sh[1].sh_name = 1;
    sh[1].sh_type = s->notes_where == FX_NOTES_SECTION ? ELF_SHT_NOTE : 1;
    sh[1].sh_offset = FX_NOTES_OFF;
    sh[1].sh_size = notes;
    sh[1].sh_addralign = 4;
    sh[2].sh_name = s->legacy ? 11 : 12;   /* "_xen_guest" when absent */
    sh[2].sh_type = 1;
    sh[2].sh_offset = FX_LEGACY_OFF;
    sh[2].sh_size = s->legacy ? strlen(s->legacy) + 1 : 0;
    sh[3].sh_name = 23;
    sh[3].sh_type = 3;
    sh[3].sh_offset = FX_STRTAB_OFF;
    sh[3].sh_size = sizeof(strtab);
    if ( s->legacy )
        memcpy(img + FX_LEGACY_OFF, s->legacy, strlen(s->legacy) + 1);
    memcpy(img + FX_STRTAB_OFF, strtab, sizeof(strtab));
    memcpy(img + FX_SHDR_OFF, sh, sizeof(sh));

    for ( i = 0; i < s->text_filesz; i++ )
        img[FX_TEXT_OFF + i] = fx_text_byte(i);
    for ( i = 0; i < s->data_filesz; i++ )
        img[FX_DATA_OFF + i] = fx_data_byte(i);
    *size = sz;
    return img;
}

static inline struct elf64_ehdr *fx_ehdr(uint8_t *img)
{
    return (struct elf64_ehdr *)img;
}

static inline struct elf64_phdr *fx_phdr(uint8_t *img, int i)
{
    return (struct elf64_phdr *)(img + 64 + 56 * i);
}

/* The header of the first Xen note of this type, or NULL. */
static inline struct elf64_note *fx_find_note(uint8_t *img, uint32_t type)
{
    size_t off = FX_NOTES_OFF;

    while ( off < FX_NOTES_OFF + FX_NOTES_MAX )
    {
        struct elf64_note *n = (struct elf64_note *)(img + off);

        if ( n->n_namesz == 0 )
            return NULL;
        if ( n->n_type == type )
            return n;
        off += 12 + ((n->n_namesz + 3) & ~3u) + ((n->n_descsz + 3) & ~3u);
    }
    return NULL;
}

#endif /* LAMINA_ELF_FIXTURE_H */
