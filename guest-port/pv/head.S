/*
 * head.S - PV boot glue: Xen ELF notes, the hypercall page, the entry point.
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV).  Xen (or Lamina's
 * builder) enters _start with rsi = start_info (virtual), events masked,
 * the kernel mapped at VIRT_BASE by bootstrap page tables.
 */
#define VIRT_BASE 0xffffffff80000000

/* One Xen ELF note: namesz 4 "Xen", type, then the descriptor. */
#define ELFNOTE(type, desc_kind, desc...)              \
    .pushsection .note.xen, "a", @note;                \
    .p2align 2;                                        \
    .long 2f - 1f;  /* namesz */                       \
    .long 4f - 3f;  /* descsz */                       \
    .long type;                                        \
1:  .asciz "Xen";                                      \
2:  .p2align 2;                                        \
3:  desc_kind desc;                                    \
4:  .p2align 2;                                        \
    .popsection

    ELFNOTE(6,  .asciz, "Lamina")                  /* GUEST_OS */
    ELFNOTE(7,  .asciz, "0.1")                     /* GUEST_VERSION */
    ELFNOTE(5,  .asciz, "xen-3.0")                 /* XEN_VERSION */
    ELFNOTE(8,  .asciz, "generic")                 /* LOADER */
    ELFNOTE(3,  .quad, VIRT_BASE)                  /* VIRT_BASE */
    ELFNOTE(4,  .quad, VIRT_BASE)                  /* PADDR_OFFSET: LMA == VMA */
    ELFNOTE(1,  .quad, _start)                     /* ENTRY */
    ELFNOTE(2,  .quad, hypercall_page)             /* HYPERCALL_PAGE */
    /* No FEATURES note: a "!name" there would REQUIRE name (e.g.
     * writable_page_tables), and this kernel needs none of them. */
    ELFNOTE(17, .long, (1 << 11))                  /* SUPPORTED_FEATURES: XENFEAT_dom0 */

    .section .text.head, "ax"
    .globl _start
_start:
    cld
    leaq pv_boot_stack_top(%rip), %rsp
    movq %rsi, %rdi                 /* start_info */
    call pv_start                   /* does not return */
1:  jmp 1b

    /* Filled by the hypervisor: 128 stubs of 32 bytes. */
    .section .text.hypercall_page, "ax"
    .p2align 12
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc

    .section .bss.page_aligned, "aw", @nobits
    .p2align 12
    .globl pv_boot_stack
pv_boot_stack:
    .skip 16384
    .globl pv_boot_stack_top
pv_boot_stack_top:

    .section .note.GNU-stack, "", @progbits
