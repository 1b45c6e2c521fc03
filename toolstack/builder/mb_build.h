/*
 * mb_build.h - load a multiboot1 kernel (Multiboot Specification 0.6.96)
 * into an unmodified domain's guest-physical memory, as a multiboot boot
 * loader (QEMU -kernel, GRUB legacy) would.
 *
 * Shared by the hypervisor (it starts unmodified domains at boot; ring 0,
 * freestanding) and the toolstack's domain builder (dom0 / host).  Guest
 * memory is reached only through struct mb_build_ops; nothing is allocated.
 * The image is untrusted: every offset and size is checked, overflow-safe,
 * before the first write to guest memory.
 *
 * What the kernel finds (guest-physical, paging off):
 *   its PT_LOAD segments at p_paddr (bss zeroed), or with the a.out kludge
 *   (header flag 16) the file range the header names at load_addr;
 *   the multiboot information page at MB_INFO_PADDR: struct mb_info, the
 *   memory map (usable [0, 0x9f000), reserved [0xf0000, 0x100000), usable
 *   [0x100000, nr_pages * 4096)), the boot loader name "Lamina" and the
 *   command line.
 * Entering it (eax = MB_BOOT_MAGIC, ebx = mbi_paddr, 32-bit protected mode,
 * paging off, flat segments) is the caller's job.
 */
#ifndef LAMINA_MB_BUILD_H
#define LAMINA_MB_BUILD_H

#include "xen_elf.h"

#define MB_HEADER_MAGIC   0x1BADB002u   /* in the kernel image */
#define MB_BOOT_MAGIC     0x2BADB002u   /* in eax at entry */
#define MB_SEARCH_LEN     8192          /* the header lies in these first bytes */

/* Header flags (bits 0-15 are requirements, 16-31 optional). */
#define MB_HF_PAGE_ALIGN  (1u << 0)     /* modules page aligned (we load none) */
#define MB_HF_MEMINFO     (1u << 1)     /* mem_* fields wanted (always given) */
#define MB_HF_VIDEO       (1u << 2)     /* video mode wanted: not supported */
#define MB_HF_AOUT_KLUDGE (1u << 16)    /* header's address fields are valid */

/* struct mb_info flags. */
#define MB_INFO_MEM       (1u << 0)
#define MB_INFO_CMDLINE   (1u << 2)
#define MB_INFO_MMAP      (1u << 6)
#define MB_INFO_LOADER    (1u << 9)

#define MB_MMAP_RAM       1
#define MB_MMAP_RESERVED  2

/* Where the information page goes, and its layout inside that page. */
#define MB_INFO_PADDR     0x9000ULL
#define MB_INFO_MMAP_OFF  0x80
#define MB_INFO_NAME_OFF  0x100
#define MB_INFO_CMD_OFF   0x200
#define MB_CMDLINE_MAX    (4096 - MB_INFO_CMD_OFF - 1)  /* longer: truncated */
#define MB_LOW_END        0x9f000ULL    /* end of usable low memory */
#define MB_BIOS_START     0xf0000ULL    /* reserved BIOS area up to 1 MiB */
#define MB_HIGH_START     0x100000ULL
#define MB_MIN_PAGES      512           /* 2 MiB: smaller is -ENOMEM */

/* The kernel's multiboot header (spec section 3.1.1), as in the image. */
struct mb_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* The multiboot information structure (spec section 3.3), fields up to
 * the APM table; the builder fills those named by MB_INFO_* above. */
struct __attribute__((packed)) mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;      /* KiB */
    uint32_t boot_device;
    uint32_t cmdline;                   /* physical address, NUL-terminated */
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;    /* bytes, physical address */
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
};

/* One memory map entry; size counts the bytes after itself (20). */
struct __attribute__((packed)) mb_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
};

_Static_assert(sizeof(struct mb_info) == 72, "multiboot info through apm_table");
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap entry");

/* ELF32 on-disk structures (System V gABI, i386 supplement). */
#define ELF_CLASS32  1
#define ELF_EM_386   3

struct elf32_ehdr {
    uint8_t  e_ident[ELF_EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
    uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};

_Static_assert(sizeof(struct elf32_ehdr) == 52, "Elf32_Ehdr is 52 bytes");
_Static_assert(sizeof(struct elf32_phdr) == 32, "Elf32_Phdr is 32 bytes");

/* Machine-specific services. */
struct mb_build_ops {
    /* Writable kernel-virtual address of the 4 KiB frame of guest PFN pfn
     * (< nr_pages).  NULL aborts the build with -XEN_EFAULT (guest memory
     * may then be partly written). */
    void *(*map_pfn)(void *ctx, uint64_t pfn);
    void *ctx;
    /* Optional: releases a pointer map_pfn returned; mb_build then holds at
     * most one mapping at a time. */
    void (*unmap_pfn)(void *ctx, void *page);
};

/* What to build. */
struct mb_build_params {
    uint64_t nr_pages;      /* guest-physical frames [0, nr_pages), >= MB_MIN_PAGES */
    const char *cmdline;    /* full command line, image name first (e.g.
                               "guest-native.elf bench"); NULL: no
                               MB_INFO_CMDLINE.  Truncated to MB_CMDLINE_MAX. */
};

/* What was built (guest-physical addresses). */
struct mb_build_result {
    uint64_t entry;         /* eip at entry */
    uint64_t mbi_paddr;     /* ebx at entry (= MB_INFO_PADDR) */
    uint64_t load_end;      /* first byte after everything placed */
    uint64_t kernel_start;  /* lowest byte of the kernel's segments */
    uint64_t kernel_end;    /* first byte after the kernel's segments (bss too) */
    uint32_t header_flags;  /* the kernel's multiboot header flags */
};

/*
 * True if [image, image + size) has a multiboot1 header: magic
 * MB_HEADER_MAGIC at a 4-aligned offset in the first MB_SEARCH_LEN bytes
 * with magic + flags + checksum == 0 (mod 2^32).
 */
bool mb_is_multiboot(const void *image, size_t size);

/*
 * Loads the multiboot kernel at [image, image + size) into the guest and
 * writes the multiboot information page (see the file comment).  Refuses
 * required header flags it does not provide (video, bits 3-15); the ELF
 * path takes ELF32 (EM_386) and ELF64 (EM_X86_64) ET_EXEC images, entry =
 * e_entry, which must lie in a loaded segment and below 4 GiB.  Checks
 * everything before writing anything.
 * Returns 0 and fills *r; -XEN_EINVAL: no (valid) multiboot header, bad
 * ELF, a segment outside the image or outside [0, nr_pages * 4096), or
 * overlapping the information page; -XEN_ENOMEM: nr_pages < MB_MIN_PAGES;
 * -XEN_EFAULT: map_pfn failed.  *why (if non-NULL) gets a static reason.
 */
int mb_build(const void *image, size_t size, const struct mb_build_params *p,
             const struct mb_build_ops *ops, struct mb_build_result *r,
             const char **why) __attribute__((warn_unused_result));

#endif /* LAMINA_MB_BUILD_H */
