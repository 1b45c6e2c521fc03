/*
 * syscall_nr.h - the guest kernel's system-call ABI, shared by the core
 * (C) and the user program (assembly).
 *
 * User mode executes `syscall` with the number in rax and arguments in rdi,
 * rsi, rdx; the result comes back in rax (negative errno on failure); rcx
 * and r11 are clobbered, every other register is preserved.  Numbers are
 * Linux x86-64's for the same operations.
 */
#ifndef GUEST_SYSCALL_NR_H
#define GUEST_SYSCALL_NR_H

#define SYS_write       1   /* write(fd=1|2, buf, len) -> len or -EFAULT/-EBADF */
#define SYS_sched_yield 24  /* yield() -> 0 */
#define SYS_getpid      39  /* getpid() -> pid (> 0) */
#define SYS_exit        60  /* exit(code): does not return */

#define GUEST_EFAULT 14
#define GUEST_EBADF  9
#define GUEST_ENOSYS 38
#define GUEST_EINVAL 22

/* User-mode benchmarks (core/bench.c; user_prog.S user_prog_bench_entry).
 * The kernel maps the data pages at USER_BENCH_DATA_VA: qword 0 = mode,
 * qword 1 = iterations n, qwords 2..n+1 = the program's samples (rdtsc
 * deltas).  The program ends by writing to USER_BENCH_DONE_VA (never
 * mapped), which works even while `syscall` reaches a limit stub. */
#define USER_BENCH_DATA_VA       0x1000000
#define USER_BENCH_DONE_VA       0x2000
#define BENCH_USER_SYSCALL       1   /* getpid round trip */
#define BENCH_USER_LIMIT_SYSCALL 2   /* syscall into a bare return stub */
#define BENCH_USER_LIMIT_GP      3   /* `cli` -> #GP -> skip -> back */

#endif
