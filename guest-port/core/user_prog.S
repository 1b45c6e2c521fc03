/*
 * user_prog.S - the built-in user program.  These bytes are data for the
 * kernel: user.c copies them to USER_CODE_VA in a new address space and
 * enters them in user mode.  Position-independent (rip-relative only).
 * Runs in user mode; talks to the kernel only through `syscall`
 * (ABI: syscall_nr.h).  user_prog_start exits with code 42;
 * user_prog_fault_entry dies of a page fault; user_prog_bench_entry runs
 * a user-side benchmark (syscall_nr.h, USER_BENCH_*).
 */
#include "syscall_nr.h"

#define BAD_POINTER 0xffff888000000000

    .section .rodata.user_prog, "a"
    .balign 16
    .globl user_prog_start, user_prog_end
user_prog_start:
    lea     s_hello(%rip), %rsi
    mov     $(s_hello_end - s_hello), %edx
    call    print_str

    mov     $SYS_getpid, %eax
    syscall
    mov     %rax, %rdi
    lea     s_pid(%rip), %rsi
    mov     $(s_pid_end - s_pid), %edx
    call    print_num_line

    /* Count primes below 1000 by trial division: r12 = count, r13 = n. */
    xor     %r12d, %r12d
    mov     $2, %r13d
1:  cmp     $1000, %r13
    jae     4f
    mov     $2, %ecx
2:  mov     %rcx, %rax
    imul    %rcx, %rax
    cmp     %r13, %rax
    ja      3f                      /* no divisor up to sqrt(n): prime */
    mov     %r13, %rax
    xor     %edx, %edx
    div     %rcx
    test    %rdx, %rdx
    jz      5f
    inc     %rcx
    jmp     2b
3:  inc     %r12
5:  inc     %r13
    jmp     1b
4:  mov     %r12, %rdi
    lea     s_primes(%rip), %rsi
    mov     $(s_primes_end - s_primes), %edx
    call    print_num_line

    /* Give the CPU away a few times. */
    mov     $3, %r14d
6:  mov     $SYS_sched_yield, %eax
    syscall
    dec     %r14d
    jnz     6b
    lea     s_yield(%rip), %rsi
    mov     $(s_yield_end - s_yield), %edx
    call    print_str

    /* Sum 1..100000. */
    xor     %eax, %eax
    mov     $1, %ecx
7:  add     %rcx, %rax
    inc     %rcx
    cmp     $100000, %rcx
    jbe     7b
    mov     %rax, %rdi
    lea     s_sum(%rip), %rsi
    mov     $(s_sum_end - s_sum), %edx
    call    print_num_line

    /* A write from a kernel address must fail with -EFAULT. */
    mov     $1, %edi
    movabs  $BAD_POINTER, %rsi
    mov     $16, %edx
    mov     $SYS_write, %eax
    syscall
    neg     %rax
    mov     %rax, %rdi
    lea     s_efault(%rip), %rsi
    mov     $(s_efault_end - s_efault), %edx
    call    print_num_line

    lea     s_bye(%rip), %rsi
    mov     $(s_bye_end - s_bye), %edx
    call    print_str
    mov     $42, %edi
    mov     $SYS_exit, %eax
    syscall
    ud2

/* Third entry: announces itself, then executes `cli`, a privileged
 * instruction: a #GP in user mode, which the kernel treats as fatal
 * (core_fatal_trap); under trap-and-emulate the hypervisor must hand it to
 * the guest kernel, not emulate it (test=user-privop). */
    .globl user_prog_privop_entry
user_prog_privop_entry:
    lea     s_privop(%rip), %rsi
    mov     $(s_privop_end - s_privop), %edx
    call    print_str
    cli
    lea     s_privop_ok(%rip), %rsi
    mov     $(s_privop_ok_end - s_privop_ok), %edx
    call    print_str
    mov     $43, %edi
    mov     $SYS_exit, %eax
    syscall
    ud2

/* Second entry: announces itself, then reads address 0x10 (unmapped), so
 * the kernel must kill the process (core_page_fault, user mode). */
    .globl user_prog_fault_entry
user_prog_fault_entry:
    lea     s_fault(%rip), %rsi
    mov     $(s_fault_end - s_fault), %edx
    call    print_str
    movq    0x10, %rax
    ud2

/* Benchmark entry: mode and n from the data pages at USER_BENCH_DATA_VA;
 * each iteration stores one rdtsc delta around the timed instruction(s):
 *   BENCH_USER_SYSCALL:       getpid by `syscall`
 *   BENCH_USER_LIMIT_SYSCALL: `syscall` into the kernel's bare return stub
 *   BENCH_USER_LIMIT_GP:      `cli` (1 byte) -> #GP -> the stub skips it
 * then ends by writing to USER_BENCH_DONE_VA (the kernel ends the process
 * with code 0).  rbx = data, r12 = mode, r13 = n, r14 = i, rbp = t0. */
#define BENCH_T0 rdtsc; shl $32, %rdx; or %rdx, %rax; mov %rax, %rbp
#define BENCH_T1 rdtsc; shl $32, %rdx; or %rdx, %rax; sub %rbp, %rax; \
                 mov %rax, 16(%rbx,%r14,8); inc %r14
    .globl user_prog_bench_entry
user_prog_bench_entry:
    mov     $USER_BENCH_DATA_VA, %ebx
    mov     0(%rbx), %r12
    mov     8(%rbx), %r13
    xor     %r14d, %r14d
    cmp     $BENCH_USER_SYSCALL, %r12
    je      2f
    cmp     $BENCH_USER_LIMIT_SYSCALL, %r12
    je      3f
    cmp     $BENCH_USER_LIMIT_GP, %r12
    je      4f
    jmp     9f
2:  cmp     %r13, %r14
    jae     9f
    BENCH_T0
    mov     $SYS_getpid, %eax
    syscall
    BENCH_T1
    jmp     2b
3:  cmp     %r13, %r14
    jae     9f
    BENCH_T0
    syscall
    BENCH_T1
    jmp     3b
4:  cmp     %r13, %r14
    jae     9f
    BENCH_T0
    cli
    BENCH_T1
    jmp     4b
9:  movq    $0, USER_BENCH_DONE_VA
    ud2

/* print_str: rsi = string, rdx = length. */
print_str:
    mov     $1, %edi
    mov     $SYS_write, %eax
    syscall
    ret

/* print_num_line: rsi = prefix, rdx = prefix length (< 80), rdi = value;
 * writes "<prefix><value in decimal>\n" in one write. */
print_num_line:
    push    %rbx
    sub     $128, %rsp
    mov     %rdi, %r8               /* value */
    mov     %rsp, %rdi
    mov     %rdx, %rcx
    rep movsb                       /* prefix; rdi = end of line so far */
    lea     127(%rsp), %rbx         /* digits grow down from here */
    mov     %r8, %rax
    mov     $10, %r9
1:  xor     %edx, %edx
    div     %r9
    add     $'0', %dl
    dec     %rbx
    mov     %dl, (%rbx)
    test    %rax, %rax
    jnz     1b
    lea     127(%rsp), %rcx
    sub     %rbx, %rcx
    mov     %rbx, %rsi
    rep movsb
    movb    $'\n', (%rdi)
    inc     %rdi
    mov     %rdi, %rdx
    sub     %rsp, %rdx
    mov     %rsp, %rsi
    mov     $1, %edi
    mov     $SYS_write, %eax
    syscall
    add     $128, %rsp
    pop     %rbx
    ret

s_hello:   .ascii "user: hello from user mode\n"
s_hello_end:
s_pid:     .ascii "user: getpid = "
s_pid_end:
s_primes:  .ascii "user: primes below 1000 = "
s_primes_end:
s_yield:   .ascii "user: yielded 3 times\n"
s_yield_end:
s_sum:     .ascii "user: sum 1..100000 = "
s_sum_end:
s_efault:  .ascii "user: write(bad pointer) = -"
s_efault_end:
s_bye:     .ascii "user: exiting with code 42\n"
s_bye_end:
s_fault:   .ascii "user: reading address 0x10\n"
s_fault_end:
s_privop:  .ascii "user: executing cli\n"
s_privop_end:
s_privop_ok: .ascii "user: survived cli (wrong)\n"
s_privop_ok_end:
    .balign 16
user_prog_end:
    .section .note.GNU-stack, "", @progbits
