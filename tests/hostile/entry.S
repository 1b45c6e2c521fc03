/*
 * entry.S - boot entry, Xen ELF notes and hypercall page of the hostile PV
 * test kernel.  Runs in a PV guest (ring 3 under Xen/Lamina).
 *
 * The hypervisor enters _start with rsi = start_info (a virtual address)
 * and events masked.  We switch to a static stack and call hostile_main().
 */
#include <xen/elfnote.h>
#include <xen/features.h>

#define HOSTILE_VIRT_BASE 0xffffffff80000000

/* A Xen ELF note: name "Xen", 4-byte aligned fields. */
#define XEN_NOTE(type, desc)                      \
    .pushsection .note.Xen, "a", @note;           \
    .balign 4;                                    \
    .long 2f - 1f;                                \
    .long 4f - 3f;                                \
    .long type;                                   \
1:  .asciz "Xen";                                 \
2:  .balign 4;                                    \
3:  desc;                                         \
4:  .balign 4;                                    \
    .popsection

XEN_NOTE(XEN_ELFNOTE_GUEST_OS, .asciz "lamina-hostile")
XEN_NOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "1")
XEN_NOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
XEN_NOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
XEN_NOTE(XEN_ELFNOTE_VIRT_BASE, .quad HOSTILE_VIRT_BASE)
XEN_NOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad HOSTILE_VIRT_BASE)
XEN_NOTE(XEN_ELFNOTE_ENTRY, .quad _start)
XEN_NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)
XEN_NOTE(XEN_ELFNOTE_SUPPORTED_FEATURES, .long (1 << XENFEAT_dom0))

    .section .text.entry, "ax"
    .globl _start
_start:
    leaq hostile_stack_top(%rip), %rsp
    movq %rsi, %rdi
    call hostile_main
1:  ud2
    jmp 1b

    /* Filled by the hypervisor at build time: stub nr at +nr*32. */
    .section .text.hypercall_page, "ax"
    .balign 4096
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc

    .section .bss.stack, "aw", @nobits
    .balign 4096
hostile_stack:
    .skip 16384
    .globl hostile_stack_top
hostile_stack_top:
