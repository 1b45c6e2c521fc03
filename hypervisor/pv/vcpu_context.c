/*
 * vcpu_context.c - a PV vCPU's state to and from the toolstack:
 * XEN_DOMCTL_setvcpucontext / getvcpucontext's PV part (Xen
 * public/arch-x86/xen.h struct vcpu_guest_context), reached through
 * pv_vcpu_ops.  Runs in ring 0 (and in tests/unit/test_domctl.c).
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "mm/mm.h"
#include "pv/pv.h"

void pv_update_hypercall_fast(struct vcpu *v)
{
    v->hypercall_fast = v->kernel_mode && !(v->debugreg[7] & DR7_ENABLE_MASK);
    v->syscall_fast = !v->kernel_mode && !(v->debugreg[7] & DR7_ENABLE_MASK);
}

/* Xen forces these on a PV guest's flags: IF on, IOPL 0 (virtual IOPL is
 * PHYSDEVOP_set_iopl's). */
static uint64_t pv_rflags(uint64_t f)
{
    return (f & ~X86_EFLAGS_IOPL) | X86_EFLAGS_IF | X86_EFLAGS_FIXED;
}

int pv_set_vcpu_context(struct vcpu *v, const struct vcpu_guest_context *c)
{
    int rc;

    /* PV: check everything that cannot be undone first. */
    unsigned long l4 = xen_cr3_to_pfn(c->ctrlreg[3]);
    unsigned long ul4 = xen_cr3_to_pfn(c->ctrlreg[1]);
    if (!l4 || !guest_range_ok(c->user_regs.rip, 1) ||
        (c->event_callback_eip && !guest_range_ok(c->event_callback_eip, 1)) ||
        (c->failsafe_callback_eip && !guest_range_ok(c->failsafe_callback_eip, 1)) ||
        (c->syscall_callback_eip && !guest_range_ok(c->syscall_callback_eip, 1)))
        return -XEN_EINVAL;
    for (unsigned int i = 0; i < 256; i++)
        if (c->trap_ctxt[i].address && !guest_range_ok(c->trap_ctxt[i].address, 1))
            return -XEN_EINVAL;
    if ((rc = mm_set_baseptr(v, l4, false)))
        return rc;
    if (ul4 && (rc = mm_set_baseptr(v, ul4, true)))
        return rc;          /* the kernel L4 stays set: Xen does the same */

    if (c->gdt_ents && (rc = pv_set_gdt(v, c->gdt_frames, c->gdt_ents)))
        return rc;          /* the base pointers stay set: as above */

    /* Every general register, as Xen's arch_set_info_guest(): a restored
     * vCPU continues exactly where it was saved. */
    const struct cpu_user_regs *u = &c->user_regs;
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.r15 = u->r15; v->regs.r14 = u->r14; v->regs.r13 = u->r13;
    v->regs.r12 = u->r12; v->regs.rbp = u->rbp; v->regs.rbx = u->rbx;
    v->regs.r11 = u->r11; v->regs.r10 = u->r10; v->regs.r9 = u->r9;
    v->regs.r8 = u->r8; v->regs.rax = u->rax; v->regs.rcx = u->rcx;
    v->regs.rdx = u->rdx; v->regs.rsi = u->rsi; v->regs.rdi = u->rdi;
    v->regs.rip = u->rip;
    v->regs.rsp = u->rsp;
    v->regs.rflags = pv_rflags(u->rflags);
    v->regs.cs = FLAT_KERNEL_CS;
    v->regs.ss = FLAT_KERNEL_SS;
    v->fs_base = c->fs_base;
    v->gs_base_kernel = c->gs_base_kernel;
    v->gs_base_user = c->gs_base_user;
    if (c->flags & VGCF_i387_valid)
        memcpy(v->fxsave, c->fpu_ctxt.x, sizeof(v->fxsave));
    v->domain->vm_assist |= c->vm_assist & PV_VM_ASSIST_OK;
    v->kernel_ss = c->kernel_ss;
    v->kernel_sp = c->kernel_sp;
    pv_kernel_sp_changed(v);
    v->event_callback_eip = c->event_callback_eip;
    v->failsafe_callback_eip = c->failsafe_callback_eip;
    v->syscall_callback_eip = c->syscall_callback_eip;
    v->syscall_disables_events = c->flags & VGCF_syscall_disables_events;
    for (unsigned int i = 0; i < 256; i++)
        v->trap_ctxt[i] = c->trap_ctxt[i];
    v->kernel_mode = true;
    pv_update_hypercall_fast(v);
    v->state = VCPU_RUNNABLE;
    return 0;
}

void pv_get_vcpu_context(struct vcpu *v, struct vcpu_guest_context *c)
{
    struct domain *d = v->domain;

    c->flags |= VGCF_i387_valid;
    memcpy(c->fpu_ctxt.x, v->fxsave, sizeof(c->fpu_ctxt.x));
    for (unsigned int i = 0; i < 256; i++)
        c->trap_ctxt[i] = v->trap_ctxt[i];
    for (unsigned int i = 0; i < ARRAY_SIZE(v->gdt_frames); i++)
        c->gdt_frames[i] = v->gdt_frames[i];
    c->gdt_ents = v->gdt_ents;
    c->kernel_ss = v->kernel_ss;
    c->kernel_sp = v->kernel_sp;
    c->ctrlreg[3] = xen_pfn_to_cr3(v->guest_table);
    c->ctrlreg[1] = xen_pfn_to_cr3(v->guest_table_user);
    c->event_callback_eip = v->event_callback_eip;
    c->failsafe_callback_eip = v->failsafe_callback_eip;
    c->syscall_callback_eip = v->syscall_callback_eip;
    c->vm_assist = d->vm_assist;
    c->fs_base = v->fs_base;
    c->gs_base_kernel = v->gs_base_kernel;
    c->gs_base_user = v->gs_base_user;
}
