/*
 * bench.S - the bare guest-kernel handlers of the PV limit benchmarks
 * (pv/bench.c installs them only while a limit benchmark runs).
 * Runs in the guest kernel (ring 3 under x86-64 PV), entered from guest
 * user mode on a bounce frame {rcx, r11, [error code], rip, cs, rflags,
 * rsp, ss}; both leave through HYPERVISOR_iret (see pv/hypercall.h).
 */
#define HYPERCALL_IRET  (hypercall_page + 23 * 32)
#define VGCF_IN_SYSCALL 0x100

    .text

/* CALLBACKTYPE_syscall target for limit_syscall_sysret: straight back. */
    .globl bench_pv_syscall_stub
bench_pv_syscall_stub:
    popq    %rcx
    popq    %r11
    pushq   $VGCF_IN_SYSCALL
    jmp     HYPERCALL_IRET

/* Trap 13 for limit_gp_trap: drops the error code, steps the saved rip
 * over the 1-byte faulting instruction (`cli`) and returns. */
    .globl bench_pv_gp_stub
bench_pv_gp_stub:
    popq    %rcx
    popq    %r11
    addq    $8, %rsp
    addq    $1, (%rsp)
    pushq   $0
    jmp     HYPERCALL_IRET

    .section .note.GNU-stack, "", @progbits
