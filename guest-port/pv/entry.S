/*
 * entry.S - PV exception, event, failsafe and syscall entry points, the
 * return path, kernel context switch and the first drop to user mode.
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV).  Xen delivers every
 * exception, event and user syscall as a bounce frame on the guest kernel
 * stack: {rcx, r11, [error code], rip, cs, rflags, rsp, ss} (rcx lowest);
 * cs has RPL 0 when the interrupted context was the guest kernel, 3 for
 * guest user; bits 32-39 of the cs slot hold the saved upcall mask and
 * rflags.IF = !saved mask.  Entry stubs pop rcx/r11 back, complete a
 * struct pv_frame (pv.h) and call C.  Every return goes through
 * HYPERVISOR_iret (hypercall 23, entered by jmp), which restores the
 * upcall mask from rflags.IF and delivers events pending by then.
 */
#define HYPERCALL_IRET    (hypercall_page + 23 * 32)
#define VGCF_IN_SYSCALL   0x100
#define FLAT_USER_CS64    0xe033
#define FLAT_USER_SS64    0xe02b
#define PV_VEC_EVENT      0x100
#define PV_VEC_SYSCALL    0x101

.macro SAVE_ALL
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro RESTORE_ALL
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

/* Exception without an error code from Xen: push a 0 in its place. */
.macro TRAP_NOERR vec
    .globl pv_trap_\vec
pv_trap_\vec:
    popq %rcx
    popq %r11
    pushq $0
    pushq $\vec
    jmp pv_trap_common
.endm

/* Exception with an error code (8, 10-14, 17). */
.macro TRAP_ERR vec
    .globl pv_trap_\vec
pv_trap_\vec:
    popq %rcx
    popq %r11
    pushq $\vec
    jmp pv_trap_common
.endm

    .text
    TRAP_NOERR 0
    TRAP_NOERR 1
    TRAP_NOERR 3
    TRAP_NOERR 4
    TRAP_NOERR 5
    TRAP_NOERR 6
    TRAP_NOERR 7
    TRAP_ERR   8
    TRAP_NOERR 9
    TRAP_ERR   10
    TRAP_ERR   11
    TRAP_ERR   12
    TRAP_ERR   13
    TRAP_ERR   14
    TRAP_NOERR 16
    TRAP_ERR   17
    TRAP_NOERR 18
    TRAP_NOERR 19

pv_trap_common:
    SAVE_ALL
    movq %rsp, %rdi
    call pv_trap_dispatch
    /* fall through */

/* Returns to the context in the pv_frame at rsp, via HYPERVISOR_iret. */
    .globl pv_frame_return
pv_frame_return:
    RESTORE_ALL
    addq $16, %rsp                  /* vector, error code */
    pushq $0                        /* iret_context.flags */
    jmp HYPERCALL_IRET

/* Event upcall (CALLBACKTYPE_event); Xen has masked events. */
    .globl pv_hypervisor_callback
pv_hypervisor_callback:
    popq %rcx
    popq %r11
    pushq $0
    pushq $PV_VEC_EVENT
    SAVE_ALL
    movq %rsp, %rdi
    call pv_event_dispatch
    jmp pv_frame_return

/* System call from guest user mode (CALLBACKTYPE_syscall).  rcx/r11 in the
 * frame are the user's (return rip / rflags, as after `syscall`). */
    .globl pv_syscall_callback
pv_syscall_callback:
    popq %rcx
    popq %r11
    pushq $0
    pushq $PV_VEC_SYSCALL
    SAVE_ALL
    movq %rsp, %rdi
    call pv_syscall_dispatch
    RESTORE_ALL
    addq $16, %rsp
    pushq $VGCF_IN_SYSCALL
    jmp HYPERCALL_IRET

/* Failsafe callback: Xen could not load a segment register on the way back
 * to the guest.  Frame {rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss}. */
    .globl pv_failsafe_callback
pv_failsafe_callback:
    movq %rsp, %rdi
    andq $-16, %rsp
    call pv_failsafe             /* does not return */
1:  jmp 1b

/* void arch_context_switch(struct arch_context *from, struct arch_context *to) */
    .globl arch_context_switch
arch_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* First code of a new thread (see arch_context_init): r12 = entry, r13 = arg. */
    .globl pv_thread_start
pv_thread_start:
    andq $-16, %rsp
    call arch_irq_enable
    movq %r13, %rdi
    call *%r12
    call pv_thread_returned      /* does not return */
1:  jmp 1b

/* void arch_enter_user(uint64_t rip, uint64_t rsp): iret to a user frame
 * with events enabled (rflags.IF) and all other registers zero. */
    .globl arch_enter_user
arch_enter_user:
    pushq $FLAT_USER_SS64
    pushq %rsi
    pushq $0x202
    pushq $FLAT_USER_CS64
    pushq %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    pushq $0                     /* iret_context.flags */
    jmp HYPERCALL_IRET

    .section .note.GNU-stack, "", @progbits
