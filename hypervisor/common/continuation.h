/*
 * continuation.h - preemption of long hypercalls (hypercall.c).  Runs in
 * ring 0 with interrupts off.
 */
#ifndef LAMINA_CONTINUATION_H
#define LAMINA_CONTINUATION_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Hypercall continuations (Xen's hypercall_create_continuation semantics,
 * hypercall.c).  A long hypercall polls hypercall_preempt_check() every
 * HYPERCALL_PREEMPT_STRIDE units of work; when it says true, the handler
 * records its progress in its own arguments (Xen's encodings:
 * MMU_UPDATE_PREEMPTED in the count, MEMOP_EXTENT_SHIFT in the command,
 * the remaining list of a multicall), calls hypercall_create_continuation()
 * with the hypercall's number and its five new arguments, and returns.  The
 * guest then re-executes the same `syscall` with those arguments once
 * pending interrupts and other domains have run.  Inside a multicall the
 * new arguments go back into the multicall entry instead, and the
 * multicall resumes at that entry.
 */
#define HYPERCALL_PREEMPT_STRIDE 64
/* True when a timer is due (or a reschedule pending): time to yield. */
bool hypercall_preempt_check(void);
void hypercall_create_continuation(unsigned int nr, uint64_t a0, uint64_t a1,
                                   uint64_t a2, uint64_t a3, uint64_t a4);

/* The flag a preempted mmu_update/mmuext_op carries in its count (Xen's
 * value; the done count so far is then in *pdone). */
#define MMU_UPDATE_PREEMPTED    (~(~0U >> 1))

#endif
