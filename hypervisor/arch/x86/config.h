/*
 * config.h - Lamina's x86-64 virtual memory layout and build-wide limits.
 *
 * Runs in ring 0 (and in host unit tests, where only the constants matter).
 * The layout is Xen's (public/arch-x86/xen-x86_64.h): PML4 slots 256-271,
 * 0xffff800000000000-0xffff87ffffffffff, belong to the hypervisor and are
 * copied into every guest L4; guests may never map anything there.
 */
#ifndef LAMINA_CONFIG_H
#define LAMINA_CONFIG_H

#define PAGE_SHIFT          12
#define PAGE_SIZE           (1UL << PAGE_SHIFT)
#define PAGE_MASK           (~(PAGE_SIZE - 1))

/* Hypervisor-reserved range, exactly Xen's HYPERVISOR_VIRT_{START,END}. */
#define HV_VIRT_START       0xffff800000000000UL
#define HV_VIRT_END         0xffff880000000000UL
#define HV_FIRST_L4_SLOT    256
#define HV_LAST_L4_SLOT     271

/* Read-only machine-to-phys table, mapped user-readable for guests (slot 256). */
#define RO_MPT_VIRT_START   0xffff800000000000UL
#define RO_MPT_VIRT_END     0xffff804000000000UL

/* The hypervisor image: linked at XEN_VIRT_START + its physical address (slot 261). */
#define XEN_VIRT_START      0xffff82d080000000UL

/* Direct map of all RAM (slot 262): machine address A is at DIRECTMAP_VIRT_START + A. */
#define DIRECTMAP_VIRT_START 0xffff830000000000UL
#define DIRECTMAP_SIZE       (1UL << 36)            /* 64 GiB of RAM at most */
#define DIRECTMAP_L2_PAGES   64                     /* one L2 (2 MiB pages) per GiB */

/* vmap (slot 263): multi-frame hypervisor objects, mm/vmap.c. */
#define VMAP_VIRT_START     0xffff838000000000UL
#define VMAP_L4_SLOT        263

#define MAX_VCPUS_PER_DOM   1       /* XEN_LEGACY_MAX_VCPUS would allow 32 */
#define HV_STACK_SIZE       (4 * PAGE_SIZE)

/* GDT layout: guest descriptors below FIRST_RESERVED_GDT_ENTRY, ours above (Xen's). */
#ifndef FIRST_RESERVED_GDT_PAGE         /* also in Xen's public/arch-x86/xen.h */
#define FIRST_RESERVED_GDT_PAGE  14
#define FIRST_RESERVED_GDT_BYTE  (FIRST_RESERVED_GDT_PAGE * 4096)
#define FIRST_RESERVED_GDT_ENTRY (FIRST_RESERVED_GDT_BYTE / 8)   /* 0xe000 >> 3 */
#endif
#define HV_CS64             0xe008
#define HV_DS               0xe010
#define HV_TSS              0xe040
#define HV_LDT              0xe050  /* 16-byte system descriptor, 0xe050-0xe05f */

#endif
