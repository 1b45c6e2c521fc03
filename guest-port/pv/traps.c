/*
 * traps.c - C side of the PV entry points: exceptions, events, user system
 * calls, the failsafe callback, and thread set-up.
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV) on the stack Xen
 * bounced to, with events masked (every trap-table entry and callback
 * asks Xen to mask them); entry.S returns through HYPERVISOR_iret, which
 * restores the interrupted context's mask.
 */
#include "pv.h"
#include <pv/evtchn.h>
#include <pv/irq.h>

void pv_trap_dispatch(struct pv_frame *f);
void pv_event_dispatch(struct pv_frame *f);
void pv_syscall_dispatch(struct pv_frame *f);
void pv_failsafe(const uint64_t *frame) __attribute__((noreturn));
void pv_thread_returned(void) __attribute__((noreturn));

void pv_trap_dispatch(struct pv_frame *f)
{
    bool user = (f->cs & 3) == 3;

    if (f->vector == 14) {
        /* Xen stores the faulting address in the virtual CR2. */
        uint64_t addr = pv_vcpu_info()->arch.cr2;

        if (core_page_fault(addr, f->error_code, user))
            return;
    }
    core_fatal_trap((unsigned int)f->vector, f->error_code, f->rip, user);
}

void pv_event_dispatch(struct pv_frame *f)
{
    (void)pv_evtchn_do_upcall();
}

/* User `syscall`: nr in rax, args in rdi, rsi, rdx; result to rax.  The
 * core runs with events enabled, as after a native syscall entry that
 * re-enables interrupts. */
void pv_syscall_dispatch(struct pv_frame *f)
{
    pv_irq_enable();
    f->rax = core_syscall(f->rax, f->rdi, f->rsi, f->rdx);
    pv_irq_disable();
}

void pv_failsafe(const uint64_t *frame)
{
    pv_puts("pv: failsafe callback: bad segment on return to rip ");
    pv_puthex(frame[6]);
    pv_puts("\n");
    arch_poweroff(1);
}

void pv_thread_returned(void)
{
    pv_die("a thread's entry function returned", 0);
}

void arch_context_init(struct arch_context *ctx, void *stack_top,
                       void (*entry)(void *), void *arg)
{
    uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15UL);

    *--sp = 0;                              /* fake return address */
    *--sp = (uint64_t)pv_thread_start;      /* ret target */
    *--sp = 0;                              /* rbp */
    *--sp = 0;                              /* rbx */
    *--sp = (uint64_t)entry;                /* r12 */
    *--sp = (uint64_t)arg;                  /* r13 */
    *--sp = 0;                              /* r14 */
    *--sp = 0;                              /* r15 */
    ctx->rsp = (uint64_t)sp;
}

void arch_set_kernel_stack(void *stack_top)
{
    int rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS, (unsigned long)stack_top);

    if (rc)
        pv_die("stack_switch", rc);
}
