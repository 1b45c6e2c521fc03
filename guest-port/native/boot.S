/*
 * boot.S - multiboot1 entry of the native guest kernel.
 *
 * Entered by the multiboot loader in 32-bit protected mode, paging off,
 * eax = 0x2BADB002, ebx = multiboot info (physical).  Zeroes .bss, builds
 * boot page tables (the first GiB identity-mapped and mapped again at
 * KERNEL_VMA, 2 MiB pages), enables PAE + long mode + paging, far-jumps
 * to 64-bit code and calls native_start(magic, mbi) at its high address
 * on the boot stack.  Runs before anything else, interrupts off.
 */
#define KERNEL_VMA 0xffffffff80000000
#define MB_MAGIC   0x1BADB002
#define MB_FLAGS   0x00000003           /* page-align modules, memory info */

    .section .multiboot, "a"
    .balign 4
    .long   MB_MAGIC
    .long   MB_FLAGS
    .long   -(MB_MAGIC + MB_FLAGS)

    .section .boot.text, "ax"
    .code32
    .globl native_entry32
native_entry32:
    cli
    cld
    movl    %eax, boot_mb_magic
    movl    %ebx, boot_mb_info

    /* Zero .bss (physical addresses: paging is off). */
    movl    $__bss_start_phys, %edi
    movl    $__bss_end_phys, %ecx
    subl    %edi, %ecx
    xorl    %eax, %eax
    rep stosb

    /* L4[0] and L4[511] -> the two L3s; both point at one L2 of 2 MiB
     * pages covering the first GiB. */
    movl    $boot_pdpt_low + 0x3, boot_pml4
    movl    $boot_pdpt_high + 0x3, boot_pml4 + 511 * 8
    movl    $boot_pd + 0x3, boot_pdpt_low
    movl    $boot_pd + 0x3, boot_pdpt_high + 510 * 8
    xorl    %ecx, %ecx
1:  movl    %ecx, %eax
    shll    $21, %eax
    orl     $0x83, %eax                 /* present, writable, 2 MiB */
    movl    %eax, boot_pd(, %ecx, 8)
    incl    %ecx
    cmpl    $512, %ecx
    jb      1b

    movl    $boot_pml4, %eax
    movl    %eax, %cr3
    movl    %cr4, %eax
    orl     $0x20, %eax                 /* PAE */
    movl    %eax, %cr4
    movl    $0xc0000080, %ecx           /* EFER: LME | SCE */
    rdmsr
    orl     $0x101, %eax
    wrmsr
    movl    %cr0, %eax
    orl     $0x80010001, %eax           /* PG | WP | PE */
    movl    %eax, %cr0
    lgdt    boot_gdt_ptr
    ljmp    $0x08, $entry64

    .code64
entry64:
    movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    xorw    %ax, %ax
    movw    %ax, %fs
    movw    %ax, %gs
    movabsq $boot_stack_top, %rsp
    movl    boot_mb_magic, %edi
    movl    boot_mb_info, %esi
    movabsq $native_start, %rax
    call    *%rax
2:  hlt
    jmp     2b

    .balign 8
boot_gdt:
    .quad   0
    .quad   0x00af9a000000ffff          /* 0x08: 64-bit kernel code */
    .quad   0x00cf92000000ffff          /* 0x10: kernel data */
boot_gdt_end:
boot_gdt_ptr:
    .word   boot_gdt_end - boot_gdt - 1
    .long   boot_gdt

    .section .boot.data, "aw"
boot_mb_magic:
    .long   0
boot_mb_info:
    .long   0
    .balign 4096
    .globl boot_pml4
boot_pml4:      .fill 512, 8, 0
boot_pdpt_low:  .fill 512, 8, 0
boot_pdpt_high: .fill 512, 8, 0
boot_pd:        .fill 512, 8, 0

    .section .bss
    .balign 16
boot_stack:
    .space  16384
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
