/*
 * kernel.h - services of the guest kernel's portable core
 * (guest-port/core), used by the core itself and by both arch layers.
 *
 * Runs in the guest kernel (ring 0 native, ring 3 under PV).  Nothing here
 * touches the machine: the machine is reached only through arch.h.
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "syscall_nr.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* ---- library (core/lib.c) ------------------------------------------------ */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
/* Copies at most n-1 bytes of s and NUL-terminates d (n > 0). */
void strlcpy_k(char *d, const char *s, size_t n);
/* True when the whitespace-separated cmdline contains the word `opt`
 * exactly, or `opt` followed by '=' when opt ends in '='. */
bool cmdline_has(const char *cmdline, const char *opt);
/* The decimal value of the word `key` (e.g. "bench_iters=") in cmdline,
 * saturating at 2^63; dflt when the word is absent or no digit follows. */
uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t dflt);
/* The value of the word `key` (e.g. "net_send=") into buf (cut to n-1
 * bytes): its length, or 0 when the word is absent. */
size_t cmdline_str(const char *cmdline, const char *key, char *buf, size_t n);

/* ---- console (core/printf.c) --------------------------------------------- */

/* printf subset: %d %i %u %x %X %s %c %p %%, length modifiers l and ll,
 * field width with optional '0' padding.  Each call reaches the console as
 * one arch_console_write() under arch_irq_save(), so lines printed by
 * different threads never tear.  Output longer than 255 bytes is cut. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints "panic: ..." and powers off with a non-zero code. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* ---- frames and heap (core/mm.c) ----------------------------------------- */

/* Takes over frames [bi->first_free_pfn, bi->nr_pfns); call once at boot. */
void core_mm_init(const struct arch_boot_info *bi);
/* Returns a zeroed free frame (pseudo-physical frame number), or 0 when
 * none is left (frame 0 is never handed out).  Any context. */
uint64_t core_alloc_frame(void);
/* Returns the first of n contiguous zeroed frames, or 0. */
uint64_t core_alloc_frames(size_t n);
/* Gives back frames obtained from core_alloc_frame(s). */
void core_free_frame(uint64_t pfn);
void core_free_frames(uint64_t pfn, size_t n);
/* Number of free frames (statistics). */
uint64_t core_free_frame_count(void);
/* Kernel heap: 16-byte aligned, NULL when out of memory; kfree(NULL) is a
 * no-op.  Any context (uses arch_irq_save internally). */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

/* ---- threads (core/sched.c) ---------------------------------------------- */

#define THREAD_STACK_SIZE (16 * 1024)
#define SCHED_SLICE_NS    10000000ULL   /* 10 ms round-robin slice */

struct thread;
/* Starts the scheduler: the caller becomes thread 0 ("init"); arms the
 * timer.  Interrupts stay as they are. */
void sched_init(void);
/* Creates a runnable kernel thread running fn(arg); returns it, or NULL
 * when out of memory.  The thread ends when fn returns or calls
 * thread_exit(); its tid is unique and increasing from 1. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg);
/* Ends the calling thread with `code`; a joiner gets it. */
void thread_exit(int code) __attribute__((noreturn));
/* Gives the CPU to the next runnable thread, if any. */
void thread_yield(void);
/* Sleeps at least ns nanoseconds (less when thread_wake()n). */
void thread_sleep_ns(uint64_t ns);
/* Ends t's thread_sleep_ns() now: t becomes runnable.  No-op unless t is
 * sleeping.  Callable with interrupts off (an event handler). */
void thread_wake(struct thread *t);
/* Waits for t to end, frees it, returns its exit code.  One joiner per
 * thread; t must not be the caller. */
int thread_join(struct thread *t);
struct thread *thread_current(void);
int thread_id(const struct thread *t);
/* The user address space of the current thread (NULL for kernel threads). */
struct arch_aspace *thread_aspace(const struct thread *t);
void thread_set_aspace(struct thread *t, struct arch_aspace *as);
/* Number of involuntary switches done by the timer so far. */
uint64_t sched_preemptions(void);

/* ---- user processes (core/user.c) ---------------------------------------- */

#define USER_CODE_VA   0x400000UL   /* the user program is copied here */
#define USER_STACK_TOP 0x800000UL   /* one stack page below this */

struct user_proc;
/* Starts the built-in user program (core/user_prog.S) as a new runnable
 * process in its own address space; NULL when out of memory.  `faulting`
 * selects its second entry, which dies of a user page fault (exit code
 * -GUEST_EFAULT). */
struct user_proc *user_process_start(bool faulting);
/* The same program at its third entry: prints "user: executing cli" and
 * executes `cli` in user mode, a #GP the kernel treats as fatal
 * (test=user-privop).  NULL when out of memory. */
struct user_proc *user_privop_process_start(void);
/* The process id (its thread's id) that getpid() returns to it. */
int user_process_pid(const struct user_proc *p);
/* Waits for the process to exit, frees it, returns its exit code. */
int user_process_wait(struct user_proc *p);

/* ---- console input, service mode, domain services ------------------------ */

/* Arch layer: copies up to n bytes of pending console input into buf
 * without waiting; returns the count (0: none).  pv: the domU console
 * ring (0 for domains without one); native: COM1's receive register,
 * polled.  Weak: a build without it has no console input. */
size_t arch_console_read(char *buf, size_t n) __attribute__((weak));
/* Core (core/service.c): console input for threads.  console_read copies
 * up to n bytes without waiting and returns the count. */
size_t console_read(char *buf, size_t n);
/* Sleeps the calling thread until console input is there or timeout_ns
 * has passed (it polls every CONSOLE_POLL_NS).  Returns true when
 * console_read() will return data.  Thread context, interrupts enabled. */
#define CONSOLE_POLL_NS 10000000ULL     /* 10 ms */
bool console_wait_input(uint64_t timeout_ns);
/* Arch layer: true in the control domain (pv: SIF_PRIVILEGED in
 * start_info; native: false). */
bool arch_privileged(void);
/* Arch layer: starts the domain's background services once the scheduler
 * runs (pv domU with a store ring: a thread that connects xenbus and
 * watches control/shutdown; native: nothing). */
void arch_services_start(void);

#endif
