/*
 * exit_asm.S - the instruction-level halves of exitpath.c's cases: a probe
 * that runs one attack and catches the exception the hypervisor bounces
 * back (#DB, #SS, #GP, #PF), and the attacks themselves.  Runs in the PV
 * guest kernel (ring 3).
 */
#define FLAT_KERNEL_CS 0xe033
/* In iret frames a PV kernel names its own CS with RPL 0 (bounce frames do
 * too): RPL 3 would mean a return to guest user mode. */
#define KERNEL_CS_RPL0 0xe030
#define FLAT_KERNEL_SS 0xe02b
#define HC_IRET        23
#define HC_XEN_VERSION 17

        .text
/* long probe(void (*fn)(unsigned long), unsigned long arg): runs fn(arg);
 * -1 if it returned, else the vector of the exception that ended it
 * (probe_err and probe_rip then hold its error code and faulting rip). */
        .globl probe
probe:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, probe_rsp(%rip)
        movq    %rdi, %rax
        movq    %rsi, %rdi
        call    *%rax
        movq    $-1, %rax
        jmp     1f
probe_recover:
        movq    probe_rsp(%rip), %rsp
        movl    probe_vec(%rip), %eax
1:      popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret

/* Bounce frames (Xen x86-64 PV): rcx, r11, [error code], rip, cs, ... */
.macro HANDLER name, vec, err
        .globl \name
\name:
        movl    $\vec, probe_vec(%rip)
.if \err
        movq    16(%rsp), %rax
        movq    %rax, probe_err(%rip)
        movq    24(%rsp), %rax
.else
        movq    $0, probe_err(%rip)
        movq    16(%rsp), %rax
.endif
        movq    %rax, probe_rip(%rip)
        jmp     probe_recover
.endm
HANDLER probe_db, 1, 0
HANDLER probe_ss, 12, 1
HANDLER probe_gp, 13, 1
HANDLER probe_pf, 14, 1

/* A #DB handler that counts and resumes (HYPERVISOR_iret with RF set, so
 * an instruction breakpoint does not fire again on the same instruction). */
        .globl count_db
count_db:
        incq    db_count(%rip)
        movq    (%rsp), %rcx
        movq    8(%rsp), %r11
        addq    $16, %rsp               /* rip, cs, rflags, rsp, ss */
        orq     $0x10000, 16(%rsp)      /* rflags.RF */
        pushq   $0                      /* flags */
        jmp     hypercall_page + HC_IRET * 32

/* Far call through LDT selector arg (a call gate the attacker wrote). */
        .globl attack_lcall
attack_lcall:
        movq    %rdi, farptr + 8(%rip)
        rex64 lcall *farptr(%rip)          /* m16:64 */
        ret
/* A call gate's target: would run at CPL 0 if the gate were honoured. */
        .globl gate_target
gate_target:
        movw    %cs, gate_cs(%rip)
        lretq

/* A hypercall (xen_version 0) made with %rsp = arg (non-canonical). */
        .globl attack_syscall_rsp
attack_syscall_rsp:
        movq    %rsp, %r12
        movq    %rdi, %rsp
        movl    $HC_XEN_VERSION, %eax
        xorl    %edi, %edi
        xorl    %esi, %esi
        syscall
        movq    %r12, %rsp
        ret

/* HYPERVISOR_iret to rip = arg, on our own stack, kernel CS, events masked. */
        .globl attack_iret_rip
attack_iret_rip:
        movq    %rsp, %rax
        pushq   $FLAT_KERNEL_SS
        pushq   %rax
        pushq   $0x2                    /* rflags: IF clear (events stay masked) */
        pushq   $KERNEL_CS_RPL0
        pushq   %rdi                    /* rip */
        pushq   $0                      /* flags */
        jmp     hypercall_page + HC_IRET * 32

/* HYPERVISOR_iret to iret_landing with cs = arg (e.g. the hypervisor's
 * 0xe008) and rflags = IOPL 3; the landing records %cs and rflags. */
        .globl attack_iret_cs
attack_iret_cs:
        movq    %rsp, %rax
        pushq   $FLAT_KERNEL_SS
        pushq   %rax
        pushq   $0x3002                 /* IOPL 3, IF clear */
        pushq   %rdi                    /* cs */
        leaq    iret_landing(%rip), %rax
        pushq   %rax
        pushq   $0
        jmp     hypercall_page + HC_IRET * 32
iret_landing:
        movw    %cs, landed_cs(%rip)
        pushfq
        popq    landed_rflags(%rip)
        ret

/* Writes arg to *watched (a data breakpoint's target). */
        .globl touch_watched
touch_watched:
        movq    %rdi, watched(%rip)
        ret

        .data
        .balign 8
farptr: .quad   0, 0                    /* m16:64: offset, selector */
        .globl probe_vec, probe_err, probe_rip, gate_cs, landed_cs, landed_rflags, watched, db_count
probe_rsp:      .quad 0
probe_vec:      .long 0, 0
probe_err:      .quad 0
probe_rip:      .quad 0
gate_cs:        .quad 0
landed_cs:      .quad 0
landed_rflags:  .quad 0
watched:        .quad 0
db_count:       .quad 0
