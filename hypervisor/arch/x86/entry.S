/*
 * entry.S - every way into and out of the hypervisor.
 *
 * Runs in ring 0 with interrupts off.  An entry from a guest (ring 3) builds
 * a struct cpu_regs (sched.h) at the top of the one hypervisor stack
 * (guest_frame); the C handlers work on it and may swap another vCPU's state
 * into it; exit_to_guest() then returns through it with iretq.  An entry
 * from ring 0 (only possible while idling in hlt, or a fault in the
 * hypervisor itself) runs on the current stack and returns where it was.
 */
#include "arch/x86/config.h"
#include "arch/x86/x86-defns.h"

#define FRAME_CS        136
#define FRAME_ERRCODE   120

.macro SAVE_ALL
        pushq   %rdi
        pushq   %rsi
        pushq   %rdx
        pushq   %rcx
        pushq   %rax
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
.endm

.macro RESTORE_ALL
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rax
        popq    %rcx
        popq    %rdx
        popq    %rsi
        popq    %rdi
.endm

        .section .text.entry, "ax"

/* One stub per vector: push a zero error code where the CPU pushes none,
 * record the vector in entry_vector, go to the common path. */
.macro VECTOR n
        .align 16
.if (\n < X86_NR_EXC) && ((X86_EXC_HAVE_EC >> \n) & 1)
.else
        pushq   $0
.endif
        movl    $\n, 4(%rsp)
.if (\n == 1) || (\n == 2) || (\n == 18)
        jmp     ist_interrupt
.else
        jmp     common_interrupt
.endif
.endm

        .align 16
        .globl vector_table_start
vector_table_start:
.altmacro
.set i, 0
.rept 256
        VECTOR %i
.set i, i + 1
.endr
.noaltmacro

/* #DB, NMI and #MC arrive on their own IST stacks (traps.c).  From the
 * hypervisor (even on the first instruction of syscall_entry, with the guest
 * %rsp still loaded) they run there and return where they were.  From a
 * guest the hypervisor stack is empty (it is non-reentrant), so the
 * hardware frame and error word are moved to its top, the guest_frame, and
 * the entry goes on as any other. */
ist_interrupt:
        testb   $3, 16(%rsp)            /* CS: err/vec 0, rip 8, cs 16 */
        jz      common_interrupt
        pushq   %rax
        pushq   %rcx                    /* err/vec now at 16(%rsp) ... ss at 56 */
        leaq    boot_stack_top(%rip), %rax
        movq    56(%rsp), %rcx
        movq    %rcx, -8(%rax)
        movq    48(%rsp), %rcx
        movq    %rcx, -16(%rax)
        movq    40(%rsp), %rcx
        movq    %rcx, -24(%rax)
        movq    32(%rsp), %rcx
        movq    %rcx, -32(%rax)
        movq    24(%rsp), %rcx
        movq    %rcx, -40(%rax)
        movq    16(%rsp), %rcx
        movq    %rcx, -48(%rax)
        popq    %rcx
        popq    %rax
        leaq    boot_stack_top - 48(%rip), %rsp
        /* fall through */

common_interrupt:
        SAVE_ALL
        movq    %rsp, %rdi
        testb   $3, FRAME_CS(%rsp)
        jz      1f
        /* From a guest: the frame is guest_frame. */
        subq    $8, %rsp
        call    trap_from_guest
        addq    $8, %rsp
        jmp     exit_to_guest
1:      /* From the hypervisor itself (idle hlt, or a fault). */
        pushq   %rsp
        andq    $~0xf, %rsp
        call    trap_from_hv
        popq    %rsp
        RESTORE_ALL
        addq    $8, %rsp
        iretq

/* SYSCALL from ring 3: a hypercall (guest kernel mode) or a guest system
 * call (guest user mode).  RCX = guest RIP, R11 = guest RFLAGS. */
        .align 16
        .globl syscall_entry
syscall_entry:
        movq    %rsp, syscall_guest_rsp(%rip)
        leaq    boot_stack_top(%rip), %rsp
        pushq   $0xe02b                         /* FLAT_RING3_SS64 */
        pushq   syscall_guest_rsp(%rip)
        pushq   %r11
        pushq   $0xe033                         /* FLAT_RING3_CS64 */
        pushq   %rcx
        pushq   $0
        movl    $0x100, 4(%rsp)                 /* entry_vector: TRAP_syscall */
        SAVE_ALL
        movq    %rsp, %rdi
        subq    $8, %rsp
        call    syscall_from_guest
        call    exit_prepare
        addq    $8, %rsp
        testl   %eax, %eax
        jz      1f
        /* Fast return (a hypercall returning to where it was made): the
         * frame's rcx/r11 already hold rip/rflags, as SYSRET wants. */
        RESTORE_ALL
        movq    32(%rsp), %rsp                  /* vector/err, rip, cs, rflags, rsp */
        sysretq
1:      RESTORE_ALL
        addq    $8, %rsp
        iretq

/* Return to whichever vCPU the scheduler leaves in guest_frame. */
        .globl exit_to_guest
exit_to_guest:
        subq    $8, %rsp
        call    exit_prepare
        addq    $8, %rsp
        RESTORE_ALL
        addq    $8, %rsp
        iretq

/* continue_running(): abandon the current C call chain (e.g. after the
 * running domain was destroyed) and leave through exit_to_guest. */
        .globl continue_running
continue_running:
        leaq    boot_stack_top - 168(%rip), %rsp
        jmp     exit_to_guest

/*
 * size_t raw_copy(void *dst, const void *src, size_t n)
 * Copies n bytes; returns how many were NOT copied because an access
 * faulted (the #PF/#GP handler resumes at the fixup through __ex_table).
 */
        .globl raw_copy
raw_copy:
        movq    %rdx, %rcx
1:      rep movsb
2:      movq    %rcx, %rax
        ret
        .section .ex_table, "a"
        .quad   1b, 2b
        .previous

        .bss
        .align 8
syscall_guest_rsp:
        .quad   0
