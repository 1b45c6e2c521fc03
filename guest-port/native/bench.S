/*
 * bench.S - the bare ring-0 handlers of the native limit benchmarks
 * (native/bench.c installs them only while a limit benchmark runs).
 * Runs in the guest kernel, ring 0, entered from user mode.
 */
    .text

/* LSTAR target for limit_syscall_sysret: straight back to user mode
 * (rcx = user rip, r11 = user rflags, user stack untouched). */
    .globl bench_native_sysret_stub
bench_native_sysret_stub:
    sysretq

/* IDT vector 13 for limit_gp_trap: drops the error code, steps the saved
 * rip over the 1-byte faulting instruction (`cli`) and returns. */
    .globl bench_native_gp_stub
bench_native_gp_stub:
    addq    $8, %rsp
    addq    $1, (%rsp)
    iretq

    .section .note.GNU-stack, "", @progbits
