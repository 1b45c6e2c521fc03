/*
 * boot.S - multiboot1 entry: 32-bit protected mode -> long mode -> start_hv().
 *
 * Runs once, on the boot CPU, before anything else.  Builds the boot page
 * tables: idle_pg_table (the hypervisor's L4) maps
 *   slot 0   : the first 1 GiB 1:1 (only to survive the switch to paging),
 *   slot 261 : XEN_VIRT_START -> physical 0 (the image), 2 MiB pages,
 *   slot 262 : the direct map of machine addresses 0..4 GiB, 2 MiB pages
 *              (the top GiB uncached: MMIO such as the local APIC).
 */
#include "arch/x86/config.h"

#define MB_MAGIC   0x1badb002
#define MB_FLAGS   0x00000003           /* page-align modules, give memory map */
#define PHYS(x)    ((x) - XEN_VIRT_START)

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .section .boot32, "ax"
        .code32
        .globl start32
start32:
        cli
        cld
        movl    %ebx, %edi                      /* multiboot info (physical) */
        movl    $PHYS(boot_stack_top), %esp

        /* Zero the BSS (page tables and stacks live there). */
        movl    %edi, %ebp
        movl    $PHYS(__bss_start), %edi
        movl    $PHYS(__bss_end), %ecx
        subl    %edi, %ecx
        xorl    %eax, %eax
        rep stosb
        movl    %ebp, %edi

        /* l2_ident: 512 x 2 MiB, physical 0..1 GiB. */
        movl    $PHYS(l2_ident), %ebx
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x83, %eax                     /* present | rw | PSE */
        movl    %eax, (%ebx, %ecx, 8)
        movl    $0, 4(%ebx, %ecx, 8)
        incl    %ecx
        cmpl    $512, %ecx
        jne     1b

        /* l2_direct: 2048 x 2 MiB, physical 0..4 GiB; top GiB PCD|PWT. */
        movl    $PHYS(l2_direct), %ebx
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x183, %eax                    /* present | rw | PSE | global */
        cmpl    $1536, %ecx
        jb      2f
        orl     $0x18, %eax                     /* PCD | PWT */
2:      movl    %eax, (%ebx, %ecx, 8)
        movl    %ecx, %eax
        shrl    $11, %eax                       /* bits 32+ of the address */
        movl    %eax, 4(%ebx, %ecx, 8)
        incl    %ecx
        cmpl    $2048, %ecx
        jne     1b

        /* l3_direct[0..3] -> the four pages of l2_direct. */
        movl    $PHYS(l3_direct), %ebx
        movl    $PHYS(l2_direct) + 3, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, (%ebx, %ecx, 8)
        addl    $4096, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jne     1b

        /* l3_ident[0] and l3_xen[322] -> l2_ident. */
        movl    $PHYS(l2_ident) + 3, %eax
        movl    %eax, PHYS(l3_ident)
        movl    %eax, PHYS(l3_xen) + 322 * 8

        movl    $PHYS(idle_pg_table), %ebx
        movl    $PHYS(l3_ident) + 3, %eax
        movl    %eax, (%ebx)
        movl    $PHYS(l3_xen) + 3, %eax
        movl    %eax, 261 * 8(%ebx)
        movl    $PHYS(l3_direct) + 3, %eax
        movl    %eax, 262 * 8(%ebx)

        movl    %ebx, %cr3
        movl    %cr4, %eax
        orl     $0xa0, %eax                     /* PAE | PGE */
        movl    %eax, %cr4
        movl    $0xc0000080, %ecx               /* EFER: LME | NXE | SCE */
        rdmsr
        orl     $0x901, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $0x80010001, %eax               /* PG | WP | PE */
        movl    %eax, %cr0
        lgdt    boot_gdt_ptr
        ljmp    $0x08, $start64_low

        .code64
start64_low:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movabsq $start64_high, %rax
        jmp     *%rax

        .align 8
boot_gdt:
        .quad   0
        .quad   0x00af9a000000ffff              /* 0x08: 64-bit code, DPL 0 */
        .quad   0x00cf92000000ffff              /* 0x10: data, DPL 0 */
boot_gdt_ptr:
        .word   boot_gdt_ptr - boot_gdt - 1
        .long   boot_gdt

        .text
start64_high:
        leaq    boot_stack_top(%rip), %rsp
        /* Drop the 1:1 mapping: guests own the low half from now on. */
        movq    $0, idle_pg_table(%rip)
        movq    %cr3, %rax
        movq    %rax, %cr3
        /* %edi still holds the multiboot info's physical address. */
        movl    %edi, %edi
        call    start_hv
1:      hlt
        jmp     1b

        .section .bss.page_aligned, "aw", @nobits
        .align 4096
        .globl idle_pg_table
idle_pg_table:  .skip 4096
l3_ident:       .skip 4096
l3_xen:         .skip 4096
l3_direct:      .skip 4096
l2_ident:       .skip 4096
        .globl l2_direct, l3_direct
l2_direct:      .skip DIRECTMAP_L2_PAGES * 4096  /* RAM above 4 GiB: setup.c */
        .globl boot_stack, boot_stack_top
boot_stack:     .skip HV_STACK_SIZE
boot_stack_top:
        /* The running guest's register frame sits at the top of the stack. */
        .globl guest_regs
        .set guest_regs, boot_stack_top - 168
