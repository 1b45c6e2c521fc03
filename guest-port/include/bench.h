/*
 * bench.h - the guest kernel's microbenchmark suite (core/bench.c) and the
 * hooks each arch layer provides for it (native/bench.c, pv/bench.c).
 *
 * With the command-line word `bench` kernel_main() hands over to
 * bench_main(), which times each operation with rdtsc, one sample per
 * iteration, and prints one line per benchmark:
 *   BENCH_ARCH <native|pv>
 *   BENCH_BRACKET <iterations> <min> <median>        (rdtsc; rdtsc)
 *   BENCH <name> <iterations> <min_cycles> <median_cycles>
 * where the BENCH values have the bracket's minimum subtracted (clamped
 * at 0); then BENCH_DONE and a clean power-off.  A benchmark that could
 * not run prints "BENCH_ERROR <name> <reason>" instead of its line.
 * Runs in the guest kernel (ring 0 native, ring 3 under PV).
 */
#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"

#define BENCH_PTE_BATCH 512     /* PTEs per pte_update_512 iteration */

/* The time-stamp counter, read with a plain `rdtsc` (no fence) by every
 * benchmark, kernel and user side alike.  "memory" keeps the compiler from
 * moving loads/stores across it. */
static inline uint64_t bench_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* ---- core (core/bench.c) -------------------------------------------------- */

/* Runs the whole suite, prints its lines and powers off (arch_poweroff(0),
 * or 1 if a benchmark failed).  Called by kernel_main() from init after
 * sched_init() with interrupts enabled. */
void bench_main(const struct arch_boot_info *bi) __attribute__((noreturn));
/* From core_page_fault() for a kernel-mode fault: true when addr is the
 * page_fault benchmark's page and the arch layer has just mapped it (the
 * access is retried); false otherwise (the fault stays fatal). */
bool bench_kernel_fault(uint64_t addr);
/* From core_page_fault() for a user-mode fault: true when a user benchmark
 * process touched USER_BENCH_DONE_VA to say it has finished; any limit
 * handler is restored first.  The caller then ends the process with 0. */
bool bench_user_done(uint64_t addr);

/* core/user.c: starts the user program's benchmark entry
 * (user_prog_bench_entry) as a new process with `pages` frames from
 * data_pfn mapped writable at USER_BENCH_DATA_VA (the frames stay the
 * caller's).  NULL when out of memory.  Wait with user_process_wait(). */
struct user_proc *user_bench_process_start(uint64_t data_pfn, size_t pages);

/* ---- arch hooks (native/bench.c, pv/bench.c) -------------------------------
 * Each timing hook fills s[0..n) with the raw bench_tsc() difference around
 * one operation per sample; set-up and clean-up stay outside the bracket.
 * Called from init with interrupts enabled, kernel address space loaded. */

/* native: `cli; sti`.  pv: the upcall-mask pair (pv_irq_disable, then
 * pv_irq_enable with its pending check). */
void arch_bench_irq_disable_enable(uint64_t *s, size_t n);
/* native: `mov %cr0, %rax`.  pv: xen_version(XENVER_version, NULL). */
void arch_bench_null_privop(uint64_t *s, size_t n);
/* Reinstalls the page-table base already loaded.  native: mov to CR3.
 * pv: one MMUEXT_NEW_BASEPTR. */
void arch_bench_pt_switch(uint64_t *s, size_t n);

/* Builds the benchmark window: a 2 MiB-aligned kernel VA range with its
 * own L1 table, all 512 entries not present.  0, or a negative errno-style
 * code.  Call once before the window hooks below. */
int arch_bench_window_init(void);
/* The window's first virtual address (0 before arch_bench_window_init). */
uint64_t arch_bench_window_va(void);
/* Writes `count` (1..512) PTEs of the window per sample, alternating
 * between two frames so every write changes the value.  native: plain
 * stores, no invlpg.  pv: one mmu_update of `count` requests. */
void arch_bench_pte_update(uint64_t *s, size_t n, unsigned int count);
/* Makes every window entry not present again and flushes the TLB. */
void arch_bench_window_clear(void);
/* Maps the window page at va (page-fault path, interrupts off); 0 or
 * negative. */
int arch_bench_fault_map(uint64_t va);
/* Unmaps the window page at va and invalidates its TLB entry. */
void arch_bench_fault_unmap(uint64_t va);

/* Installs the bare ring-0 handler of a limit benchmark until
 * arch_bench_limit_end(): kind BENCH_USER_LIMIT_SYSCALL (syscall entry
 * that only returns: native LSTAR -> sysretq; pv CALLBACKTYPE_syscall ->
 * HYPERVISOR_iret) or BENCH_USER_LIMIT_GP (#GP handler that skips the
 * 1-byte faulting instruction: native IDT vector 13; pv trap table entry
 * 13).  0 or negative. */
int arch_bench_limit_begin(unsigned int kind);
/* Restores the kernel's own handler; a no-op when none is installed. */
void arch_bench_limit_end(unsigned int kind);

#endif
