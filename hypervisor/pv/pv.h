/*
 * pv.h - pv/'s interface to the rest of the hypervisor: what only
 * paravirtualized vCPUs have.  Descriptor tables (desc.h: HYPERVISOR_set_gdt,
 * update_descriptor, MMUEXT_SET_LDT) and the checks of a frame returned to
 * a PV guest (exit_frame.h).  Other folders include this header only.
 */
#ifndef LAMINA_PV_H
#define LAMINA_PV_H

#include "pv/desc.h"
#include "pv/exit_frame.h"

struct vcpu_ops;
/* PV vCPUs' operations (pv/traps.c): every domain starts with them. */
extern const struct vcpu_ops pv_vcpu_ops;

struct vcpu;
struct vcpu_guest_context;
/* pv_vcpu_ops.set_vcpu_context (vcpu_context.c): the kernel L4 in
 * ctrlreg[3] (user L4 in ctrlreg[1], optional) validated and referenced
 * through mm_set_baseptr(); rip/rsp/rsi, rflags (IF forced, IOPL 0),
 * FLAT_KERNEL_CS/SS, kernel_ss/sp, callbacks and the trap table loaded;
 * v becomes runnable.  -XEN_EINVAL for a non-canonical or hypervisor
 * address, or mm_set_baseptr()'s error. */
int pv_set_vcpu_context(struct vcpu *v, const struct vcpu_guest_context *c);
/* pv_vcpu_ops.get_vcpu_context: trap table, GDT frames, kernel stack, L4s,
 * callbacks, vm_assist and segment bases into c. */
void pv_get_vcpu_context(struct vcpu *v, struct vcpu_guest_context *c);

/* Recomputes v->hypercall_fast (sched.h) after v's guest mode or debug
 * registers changed: true while v (a PV vCPU) is in guest kernel mode with
 * no breakpoint enabled in its DR7, so that a `syscall` from it is a
 * hypercall entry.S may run without syscall_from_guest() (whose only other
 * work, disarming the guest's DR7, is then not needed).  Call wherever
 * kernel_mode or debugreg[7] of a PV vCPU is written. */
void pv_update_hypercall_fast(struct vcpu *v);
/*
 * entry.S, `syscall` from guest user mode of v (syscall_fast set), frame
 * regs: bounces it to the syscall callback as guest_bounce() would (Xen's
 * frame {rcx, r11, rip, cs, rflags, rsp, ss} on the kernel stack, kernel
 * mode, CALLBACKF_mask_events honoured) with regs left ready for SYSRET:
 * returns 0 when nothing else is due (no event to deliver), 1 when regs
 * must go through exit_prepare() (the bounce is done; or, for an unusual
 * frame or callback, syscall_from_guest() handled it).  May crash the
 * domain (no return) when the kernel stack is unusable.
 */
int pv_syscall_fast(struct vcpu *v, struct cpu_regs *regs);
/* What pv_exception_fast() did. */
enum pv_bounce {
    PV_BOUNCE_SLOW,     /* nothing: guest_bounce() must decide */
    PV_BOUNCE_DONE,     /* bounced; the exit must go through exit_prepare() */
    PV_BOUNCE_RESUME,   /* bounced; regs may be resumed by IRET as it is */
};
/*
 * Exception vec of v (has_err: the CPU pushed regs->error_code) bounced
 * through v's trap table as guest_bounce() does (Xen's frame {rcx, r11,
 * [error code], rip, cs | saved mask << 32, rflags, rsp, ss} on the guest
 * kernel stack, kernel mode, TI_MASK_EVENTS honoured), for the common
 * case, leaving regs what exit_prepare() would leave of it: a canonical
 * handler, flat kernel CS/SS, IF 1 and IOPL 0 (as the CPU pushed them).
 * PV_BOUNCE_SLOW, with nothing changed, for no handler or a non-canonical
 * one, or a frame address outside the guest's range (guest_bounce() kills
 * the domain); PV_BOUNCE_DONE when an unmasked event is pending.  A frame
 * that cannot be written (unmapped, read-only) crashes the domain.
 */
enum pv_bounce pv_exception_fast(struct vcpu *v, struct cpu_regs *regs, unsigned int vec,
                                 bool has_err);
/* v->kernel_sp was set (HYPERVISOR_stack_switch, setvcpucontext):
 * records whether a system-call bounce frame fits below it (guest range,
 * canonical), which pv_syscall_fast() then needs not recompute. */
void pv_kernel_sp_changed(struct vcpu *v);

#endif
