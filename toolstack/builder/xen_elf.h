/*
 * xen_elf.h - parse and validate an x86-64 Xen PV kernel image (ELF64 with
 * Xen ELF notes, public/elfnote.h).
 *
 * Runs in two places, with no dependency on either: the hypervisor's dom0
 * builder (ring 0, freestanding) and the toolstack's domain builder (dom0 /
 * host program).  Pure C: needs only memcpy/memset/memcmp/strlen/strcmp/
 * strncmp.  Never writes to the image.
 */
#ifndef LAMINA_XEN_ELF_H
#define LAMINA_XEN_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lamina/xen.h>

/* ---- ELF64 on-disk structures (System V gABI, little-endian x86-64) ---- */

#define ELF_EI_NIDENT   16
#define ELF_EI_CLASS    4
#define ELF_EI_DATA     5
#define ELF_EI_VERSION  6
#define ELF_CLASS64     2
#define ELF_DATA2LSB    1
#define ELF_EV_CURRENT  1
#define ELF_ET_EXEC     2
#define ELF_EM_X86_64   62
#define ELF_PT_LOAD     1
#define ELF_PT_NOTE     4
#define ELF_SHT_NOTE    7
#define ELF_PF_X        1
#define ELF_PF_W        2
#define ELF_PF_R        4

struct elf64_ehdr {
    uint8_t  e_ident[ELF_EI_NIDENT];
    uint16_t e_type;
    uint16_t e_machine;
    uint32_t e_version;
    uint64_t e_entry;
    uint64_t e_phoff;
    uint64_t e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize;
    uint16_t e_phentsize;
    uint16_t e_phnum;
    uint16_t e_shentsize;
    uint16_t e_shnum;
    uint16_t e_shstrndx;
};

struct elf64_phdr {
    uint32_t p_type;
    uint32_t p_flags;
    uint64_t p_offset;
    uint64_t p_vaddr;
    uint64_t p_paddr;
    uint64_t p_filesz;
    uint64_t p_memsz;
    uint64_t p_align;
};

struct elf64_shdr {
    uint32_t sh_name;
    uint32_t sh_type;
    uint64_t sh_flags;
    uint64_t sh_addr;
    uint64_t sh_offset;
    uint64_t sh_size;
    uint32_t sh_link;
    uint32_t sh_info;
    uint64_t sh_addralign;
    uint64_t sh_entsize;
};

/* Note header; name and descriptor follow, each padded to 4 bytes. */
struct elf64_note {
    uint32_t n_namesz;
    uint32_t n_descsz;
    uint32_t n_type;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "Elf64_Ehdr is 64 bytes");
_Static_assert(sizeof(struct elf64_phdr) == 56, "Elf64_Phdr is 56 bytes");
_Static_assert(sizeof(struct elf64_shdr) == 64, "Elf64_Shdr is 64 bytes");

/* The hypervisor's reserved virtual range for 64-bit PV guests (PML4 slots
 * 256-271), [XEN_ELF_HV_START, XEN_ELF_HV_END].  Guests may not map there. */
#define XEN_ELF_HV_START 0xffff800000000000ULL
#define XEN_ELF_HV_END   0xffff87ffffffffffULL  /* inclusive */

#define XEN_ELF_STR_MAX 64

/*
 * What the loader learnt from the image.  All addresses are guest virtual
 * addresses after applying VIRT_BASE/PADDR_OFFSET the way Xen's libelf does:
 * a PT_LOAD segment is loaded at p_paddr + (virt_base - paddr_offset).
 */
struct xen_elf_info {
    uint64_t virt_base;      /* VIRT_BASE note; 0 if absent */
    uint64_t paddr_offset;   /* PADDR_OFFSET note; default 0 with notes,
                                virt_base with a legacy __xen_guest string */
    uint64_t virt_entry;     /* ENTRY note, else e_entry */
    uint64_t virt_hypercall; /* VA of the hypercall page, 0 if none */
    uint64_t virt_kstart;    /* loaded image VA range [virt_kstart, virt_kend) */
    uint64_t virt_kend;
    uint64_t p2m_base;       /* INIT_P2M note, 0 if absent (pv_build ignores it) */
    uint64_t phys32_entry;   /* PHYS32_ENTRY note (PVH), 0 if absent */
    uint32_t f_supported[XENFEAT_NR_SUBMAPS]; /* XENFEAT_* bits the kernel supports */
    uint32_t f_required[XENFEAT_NR_SUBMAPS];  /* "!feature" entries of FEATURES */
    bool has_xen_notes;      /* at least one "Xen" note was found */
    bool has_legacy_guest;   /* settings came from a __xen_guest section */
    bool dom0_capable;       /* XENFEAT_dom0 is supported */
    bool mod_start_pfn;      /* MOD_START_PFN note non-zero */
    bool pae_mode;           /* PAE_MODE note present ("yes"...) */
    unsigned int nr_load;    /* number of PT_LOAD segments */
    char guest_os[XEN_ELF_STR_MAX];      /* NUL-terminated, maybe truncated */
    char guest_version[XEN_ELF_STR_MAX];
    char xen_version[XEN_ELF_STR_MAX];
    char loader[XEN_ELF_STR_MAX];
};

/*
 * Parses and validates the ELF64 image at [image, image + size).
 * Checks: ELF64 little-endian ET_EXEC EM_X86_64; every header, program header,
 * note and section touched lies inside the file (overflow-safe); each PT_LOAD
 * has p_filesz <= p_memsz, does not wrap and stays out of the hypervisor
 * range; the entry point lies in a loaded segment; the Xen notes (PT_NOTE
 * segments, else SHT_NOTE sections) or the legacy __xen_guest string are
 * present and well formed, LOADER is "generic" or GUEST_OS "linux...", and
 * XEN_VERSION is "xen-3.0".
 * Returns 0 and fills *info; -XEN_EINVAL for a malformed image;
 * -XEN_ENOEXEC for a well-formed ELF that is not a Xen PV kernel (no Xen
 * notes and no __xen_guest section).  On error *why (if why is non-NULL)
 * points to a static, human-readable reason.
 */
int xen_elf_parse(const void *image, size_t size, struct xen_elf_info *info,
                  const char **why) __attribute__((warn_unused_result));

/*
 * Called by xen_elf_for_each_load() for each PT_LOAD segment: the file bytes
 * [src, src + filesz) belong at guest VA va, followed by memsz - filesz
 * zero bytes.  Returns 0 to continue, negative errno to stop.
 */
typedef int (*xen_elf_load_fn)(void *arg, uint64_t va, const void *src,
                               uint64_t filesz, uint64_t memsz);

/*
 * Calls fn for every PT_LOAD segment of an image that xen_elf_parse()
 * accepted with this info, in program-header order.  Returns 0 or the
 * first negative value fn returned.
 */
int xen_elf_for_each_load(const void *image, size_t size,
                          const struct xen_elf_info *info,
                          xen_elf_load_fn fn, void *arg)
    __attribute__((warn_unused_result));

/* True if the kernel declared XENFEAT_<feature> supported. */
static inline bool xen_elf_feature(const struct xen_elf_info *info,
                                   unsigned int feature)
{
    return feature < 32 * XENFEAT_NR_SUBMAPS &&
           (info->f_supported[feature / 32] >> (feature % 32)) & 1;
}

#endif /* LAMINA_XEN_ELF_H */
