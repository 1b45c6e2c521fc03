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
#include "asm-offsets.h"

#define TRAP_syscall    0x100           /* entry_vector of a syscall frame (Xen's) */

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

.macro RESTORE_ALL rax=1
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
.if \rax
        popq    %rax
.else
        addq    $8, %rsp
.endif
        popq    %rcx
        popq    %rdx
        popq    %rsi
        popq    %rdi
.endm
.macro RESTORE_ALL_BUT_RAX
        RESTORE_ALL 0
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
        /* From a guest: the frame is guest_frame.  When the kind of guest
         * says the frame is resumable as it is (an unmodified guest's
         * privileged instruction done by unmod.c's fast path, a PV
         * exception bounced by pv_exception_fast()) and exit_work is
         * clear, exit_prepare() would change nothing. */
        call    trap_from_guest
        testl   %eax, %eax
        jz      exit_to_guest
        cmpl    $0, exit_work(%rip)
        jne     exit_to_guest
        RESTORE_ALL
        addq    $8, %rsp
        iretq
1:      /* From the hypervisor itself (idle hlt, or a fault). */
        pushq   %rsp
        andq    $~0xf, %rsp
        call    trap_from_hv
        popq    %rsp
        RESTORE_ALL
        addq    $8, %rsp
        iretq

/* SYSCALL from ring 3: a hypercall (guest kernel mode) or a guest system
 * call (guest user mode).  RCX = guest RIP, R11 = guest RFLAGS.  The full
 * frame is always built (C code anywhere below may read or replace it).
 *
 * Fast path (Xen's, in spirit): a hypercall from a vCPU whose
 * hypercall_fast is set (PV, kernel mode, no breakpoints: nothing for
 * syscall_from_guest() to do but dispatch) with a number below
 * NR_HYPERCALLS calls its handler from hypercall_table directly.  If the
 * handler left nothing in exit_work - no reschedule, no rewritten frame,
 * no possibly-pending event upcall, no queued #DB - nothing exit_prepare()
 * checks can have changed since the CPU built this frame, and the return
 * is SYSRET from it.  SYSRET still gets the two checks that keep it from
 * faulting in ring 0 or returning with privilege whatever the frame says:
 * a canonical RCX (XSA-7: Intel's SYSRET #GPs in ring 0, on the guest's
 * stack, otherwise) and an R11 with IOPL 0 and IF 1.  Anything else takes
 * the common path through exit_prepare(). */
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
        movl    $TRAP_syscall, 4(%rsp)          /* entry_vector */
        SAVE_ALL
        movq    current(%rip), %r11
        cmpb    $0, VCPU_hypercall_fast(%r11)
        je      .Lsyscall_slow
        cmpq    $NR_HYPERCALLS_ASM, %rax
        jae     .Lsyscall_slow
        leaq    hypercall_table(%rip), %r11
        movq    %r10, %rcx                      /* 4th argument: C wants rcx */
        call    *(%r11,%rax,8)                  /* C needs 8-byte alignment only */
        cmpl    $0, exit_work(%rip)
        jne     .Lhypercall_work
        movq    UREGS_rcx(%rsp), %rdx           /* canonical: bits 63..47 all equal */
        sarq    $47, %rdx
        incl    %edx
        cmpl    $1, %edx
        ja      .Lhypercall_work
        RESTORE_ALL_BUT_RAX                     /* rax: the result */
        andl    $~X86_EFLAGS_IOPL, %r11d
        orl     $X86_EFLAGS_IF, %r11d
        movq    32(%rsp), %rsp                  /* vector/err, rip, cs, rflags, rsp */
        sysretq

.Lhypercall_work:
        /* HYPERVISOR_iret left a frame exit_prepare() would leave as it
         * is, and nothing else is due: IRET from it (rax: the result). */
        cmpl    $EXIT_WORK_IRET_ONLY_ASM, exit_work(%rip)
        jne     1f
        movb    $0, exit_work+EXIT_WORK_frame(%rip)
        RESTORE_ALL_BUT_RAX
        addq    $8, %rsp
        iretq
1:      movq    %rax, %rdi
        subq    $8, %rsp                        /* as .Lsyscall_slow leaves it */
        call    hypercall_fast_finish
        jmp     .Lsyscall_exit

.Lsyscall_slow:
        /* A system call from guest user mode: the bounce to the guest
         * kernel's callback leaves a frame SYSRET can take as it is. */
        cmpb    $0, VCPU_syscall_fast(%r11)
        je      2f
        movq    %r11, %rdi
        movq    %rsp, %rsi
        call    pv_syscall_fast
        testl   %eax, %eax
        jnz     3f
        cmpl    $0, exit_work(%rip)
        jne     3f
        RESTORE_ALL
        movq    32(%rsp), %rsp                  /* vector/err, rip, cs, rflags, rsp */
        sysretq
3:      subq    $8, %rsp
        jmp     .Lsyscall_exit
2:      movq    %rsp, %rdi
        subq    $8, %rsp
        call    syscall_from_guest
.Lsyscall_exit:
        call    exit_prepare
        addq    $8, %rsp
        testl   %eax, %eax
        jz      1f
        /* Return (to where a syscall was made) that exit_prepare() checked
         * for SYSRET: the frame's rcx/r11 hold rip/rflags. */
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
 * Copies n bytes, eight at a time and then the rest; returns how many were
 * NOT copied because an access faulted (the #PF/#GP handler resumes at the
 * fixup through __ex_table).  Quadwords first: a string instruction counts
 * once per iteration, and the bounce and iret frames are whole quadwords.
 */
        .globl raw_copy
raw_copy:
        movq    %rdx, %rcx
        shrq    $3, %rcx
1:      rep movsq
        movl    %edx, %ecx
        andl    $7, %ecx
2:      rep movsb
3:      movq    %rcx, %rax
        ret
4:      leaq    (,%rcx,8), %rax                 /* quadwords left, and the tail */
        andl    $7, %edx
        addq    %rdx, %rax
        ret
        .section .ex_table, "a"
        .quad   1b, 4b
        .quad   2b, 3b
        .previous

        .bss
        .align 8
syscall_guest_rsp:
        .quad   0
