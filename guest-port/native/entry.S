/*
 * entry.S - the native kernel's entry points: exception/interrupt stubs,
 * the `syscall` entry, the kernel context switch, the first entry of a
 * thread, and the drop to user mode.
 * Runs in the guest kernel (ring 0), interrupts off on every entry.
 */
#define SEL_USER_DS 0x23
#define SEL_USER_CS 0x2b

    .text

/* One 16-byte stub per vector 0..47: pushes a zero error code where the
 * CPU pushes none, then the vector, then joins trap_common. */
    .balign 16
    .globl native_trap_stubs
native_trap_stubs:
    vec = 0
    .rept 48
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    pushq   $vec
    .else
    pushq   $0
    pushq   $vec
    .endif
    jmp     trap_common
    vec = vec + 1
    .endr

trap_common:
    cld
    pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, %rdi
    call    native_trap
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
    addq    $16, %rsp
    iretq

/* syscall from user mode: rax = nr, rdi/rsi/rdx = args, rcx = user rip,
 * r11 = user rflags; SFMASK has cleared IF.  gs is swapped only around
 * the kernel-stack load (per-CPU block: 0 = kernel rsp, 8 = scratch), so
 * the rest of the kernel never depends on the gs base. */
    .globl native_syscall_entry
native_syscall_entry:
    swapgs
    movq    %rsp, %gs:8
    movq    %gs:0, %rsp
    pushq   %gs:8
    swapgs
    pushq   %rcx
    pushq   %r11
    pushq   %rdi
    pushq   %rsi
    pushq   %rdx
    pushq   %r8
    pushq   %r9
    pushq   %r10
    subq    $8, %rsp
    movq    %rdx, %rcx
    movq    %rsi, %rdx
    movq    %rdi, %rsi
    movq    %rax, %rdi
    call    native_syscall
    addq    $8, %rsp
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rdx
    popq    %rsi
    popq    %rdi
    popq    %r11
    popq    %rcx
    popq    %rsp
    sysretq

/* void arch_context_switch(struct arch_context *from, struct arch_context *to) */
    .globl arch_context_switch
arch_context_switch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret

/* First return of a new thread (arch_context_init): r12 = entry, r13 = arg. */
    .globl native_thread_trampoline
native_thread_trampoline:
    movq    %r12, %rdi
    movq    %r13, %rsi
    call    native_thread_start
    ud2

/* void native_enter_user(uint64_t rip, uint64_t rsp): iretq to ring 3
 * with IF set and no kernel register contents left behind. */
    .globl native_enter_user
native_enter_user:
    pushq   $SEL_USER_DS
    pushq   %rsi
    pushq   $0x202
    pushq   $SEL_USER_CS
    pushq   %rdi
    xorl    %eax, %eax
    xorl    %ebx, %ebx
    xorl    %ecx, %ecx
    xorl    %edx, %edx
    xorl    %esi, %esi
    xorl    %edi, %edi
    xorl    %ebp, %ebp
    xorl    %r8d, %r8d
    xorl    %r9d, %r9d
    xorl    %r10d, %r10d
    xorl    %r11d, %r11d
    xorl    %r12d, %r12d
    xorl    %r13d, %r13d
    xorl    %r14d, %r14d
    xorl    %r15d, %r15d
    iretq

    .section .note.GNU-stack, "", @progbits
