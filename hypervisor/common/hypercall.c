/*
 * hypercall.c - the hypercall table and the small hypercalls of the x86-64
 * PV ABI that need no subsystem of their own: set_trap_table, stack_switch,
 * set_callbacks/callback_op, fpu_taskswitch, set_segment_base, iret,
 * console_io, xen_version, multicall, vm_assist, debug registers,
 * physdev_op.  Handlers only copy in, check, act and copy out.
 * Runs in ring 0 with interrupts off; args arrive in rdi rsi rdx r10 r8 r9.
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "pv/pv.h"
#include "common/guest_access.h"
#include "common/grant_table.h"

static long do_set_trap_table(uint64_t traps)
{
    struct vcpu *v = current;
    struct trap_info t;

    if (!traps) {
        memset(v->trap_ctxt, 0, sizeof(v->trap_ctxt));
        return 0;
    }
    for (unsigned int i = 0; i < 256; i++) {
        if (copy_from_guest(&t, traps + i * sizeof(t), sizeof(t)))
            return -XEN_EFAULT;
        if (!t.address)
            break;
        if (!guest_range_ok(t.address, 1))
            return -XEN_EINVAL;
        v->trap_ctxt[t.vector] = t;
    }
    return 0;
}

static long do_stack_switch(uint64_t ss, uint64_t esp)
{
    current->kernel_ss = ss;
    current->kernel_sp = esp;
    pv_kernel_sp_changed(current);
    return 0;
}

static long register_callback(struct vcpu *v, unsigned int type, uint64_t addr,
                              unsigned int flags)
{
    if (addr && !guest_range_ok(addr, 1))
        return -XEN_EINVAL;
    switch (type) {
    case CALLBACKTYPE_event:
        v->event_callback_eip = addr;
        return 0;
    case CALLBACKTYPE_failsafe:
        v->failsafe_callback_eip = addr;
        return 0;
    case CALLBACKTYPE_syscall:
        v->syscall_callback_eip = addr;
        v->syscall_disables_events = flags & CALLBACKF_mask_events;
        return 0;
    case CALLBACKTYPE_nmi:
        return addr ? 0 : -XEN_EINVAL;
    default:
        return -XEN_EINVAL;
    }
}

static long do_set_callbacks(uint64_t event, uint64_t failsafe, uint64_t syscall)
{
    long rc;
    if ((rc = register_callback(current, CALLBACKTYPE_event, event, 0)) ||
        (rc = register_callback(current, CALLBACKTYPE_failsafe, failsafe, 0)))
        return rc;
    return register_callback(current, CALLBACKTYPE_syscall, syscall, 0);
}

static long do_callback_op(uint64_t cmd, uint64_t arg)
{
    switch (cmd) {
    case CALLBACKOP_register: {
        struct callback_register r;
        if (copy_from_guest(&r, arg, sizeof(r)))
            return -XEN_EFAULT;
        return register_callback(current, r.type, r.address, r.flags);
    }
    case CALLBACKOP_unregister: {
        struct callback_unregister u;
        if (copy_from_guest(&u, arg, sizeof(u)))
            return -XEN_EFAULT;
        if (u.type == CALLBACKTYPE_event)
            return -XEN_EINVAL;     /* Xen refuses to unregister the event callback */
        return register_callback(current, u.type, 0, 0);
    }
    default:
        return -XEN_ENOSYS;
    }
}

static long do_fpu_taskswitch(uint64_t set)
{
    current->fpu_ts = !!set;
    if (set)
        write_cr0(read_cr0() | X86_CR0_TS);
    else
        clts();
    return 0;
}

static long do_set_segment_base(uint64_t which, uint64_t base)
{
    struct vcpu *v = current;

    if (!canonical_addr(base))
        return -XEN_EINVAL;
    switch (which) {
    case SEGBASE_FS:
        v->fs_base = base;
        wrmsr(MSR_FS_BASE, base);
        return 0;
    case SEGBASE_GS_USER:
        v->gs_base_user = base;
        return 0;
    case SEGBASE_GS_KERNEL:
        v->gs_base_kernel = base;
        wrmsr(MSR_GS_BASE, base);
        return 0;
    default:
        return -XEN_EINVAL;
    }
}

/* do_iret()'s exit_work.frame for a return SYSRET cannot take: the frame
 * made what exit_prepare() would make of it, so that with no event due
 * entry.S's fast path may IRET from it.  Out of line: inlined, it costs
 * the SYSRET return (the common one) two instructions. */
static uint8_t __attribute__((noinline)) iret_frame_check(struct vcpu *v, struct cpu_regs *regs)
{
    if (!vcpu_event_due(v) && exit_frame_sanitise(regs) == EXIT_RESUME)
        return EXIT_FRAME_IRET;
    return EXIT_FRAME_CHECK;
}

long do_iret(void)
{
    struct cpu_regs *regs = guest_frame;
    struct vcpu *v = current;
    struct iret_context c;

    _Static_assert(sizeof(c) == 9 * 8, "iret_context is quadwords");
    if (!guest_range_ok(regs->rsp, sizeof(c)) ||
        !raw_copy_quads(&c, (const void *)regs->rsp, sizeof(c) / 8))
        domain_crash(v->domain, "iret: unreadable iret context on guest stack");
    if ((c.cs & 3) == 3 && v->kernel_mode) {
        if (!v->guest_table_user)
            domain_crash(v->domain, "iret to user mode with no user page table");
        toggle_guest_mode(v);
    }
    regs->rip = c.rip;
    regs->cs = c.cs | 3;
    regs->rflags = (c.rflags & X86_EFLAGS_ALL & ~X86_EFLAGS_IOPL) | X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    regs->rsp = c.rsp;
    regs->ss = c.ss | 3;
    v->vcpu_info->evtchn_upcall_mask = !(c.rflags & X86_EFLAGS_IF);
    if (c.flags & VGCF_in_syscall) {
        if (regs->cs == FLAT_RING3_CS64 && regs->ss == FLAT_RING3_SS64 &&
            canonical_addr(c.rip) && canonical_addr(c.rsp) &&
            !(regs->rflags & (X86_EFLAGS_TF | X86_EFLAGS_RF)) && !vcpu_event_due(v)) {
            /* The return from a system call, as Xen's SYSRET one: rcx/r11
             * become rip/rflags.  The frame is what exit_prepare() would
             * make of it and no event is due, so entry.S's fast path may
             * SYSRET from it (exit_work.frame stays clear). */
            regs->rcx = c.rip;
            regs->r11 = regs->rflags;
            return c.rax;
        }
    } else {
        regs->r11 = c.r11;
        regs->rcx = c.rcx;
    }
    exit_work.frame = iret_frame_check(v, regs);
    return c.rax;
}

static long do_console_io(uint64_t cmd, uint64_t count, uint64_t buf)
{
    char tmp[128];
    unsigned int chunks = 0;

    switch (cmd) {
    case CONSOLEIO_write:
        count = (uint32_t)count;            /* Xen: unsigned int count */
        while (count) {
            size_t n = count < sizeof(tmp) ? count : sizeof(tmp);

            if (++chunks % HYPERCALL_PREEMPT_STRIDE == 0 && hypercall_preempt_check()) {
                hypercall_create_continuation(__HYPERVISOR_console_io, cmd, count,
                                              buf, 0, 0);
                return 0;
            }
            if (copy_from_guest(tmp, buf, n))
                return -XEN_EFAULT;
            domain_console_write(current->domain, tmp, n);
            buf += n;
            count -= n;
        }
        return 0;
    case CONSOLEIO_read:
        if (!current->domain->is_privileged)
            return -XEN_EPERM;
        return 0;               /* no console input is queued */
    default:
        return -XEN_ENOSYS;
    }
}

static long copy_string_out(uint64_t arg, const char *s, size_t size)
{
    char buf[1024];
    memset(buf, 0, size);
    strncpy(buf, s, size - 1);
    return copy_to_guest(arg, buf, size);
}

/* __HYPERVISOR_xen_version for everything but XENVER_version. */
static __attribute__((noinline)) long xen_version_info(uint64_t cmd, uint64_t arg)
{
    struct domain *d = current->domain;

    switch (cmd) {
    case XENVER_extraversion:
        return copy_string_out(arg, "-lamina", sizeof(xen_extraversion_t));
    case XENVER_capabilities:
        return copy_string_out(arg, "xen-3.0-x86_64 ", sizeof(xen_capabilities_info_t));
    case XENVER_changeset:
        return copy_string_out(arg, "lamina", sizeof(xen_changeset_info_t));
    case XENVER_compile_info: {
        struct xen_compile_info ci;
        memset(&ci, 0, sizeof(ci));
        strncpy(ci.compiler, "gcc", sizeof(ci.compiler) - 1);
        strncpy(ci.compile_by, "lamina", sizeof(ci.compile_by) - 1);
        return copy_to_guest(arg, &ci, sizeof(ci));
    }
    case XENVER_platform_parameters: {
        struct xen_platform_parameters p = { .virt_start = HV_VIRT_START };
        return copy_to_guest(arg, &p, sizeof(p));
    }
    case XENVER_get_features: {
        struct xen_feature_info fi;
        if (copy_from_guest(&fi, arg, sizeof(fi)))
            return -XEN_EFAULT;
        fi.submap = 0;
        if (fi.submap_idx == 0 && d->is_privileged)
            fi.submap |= 1u << XENFEAT_dom0;
        return copy_to_guest(arg, &fi, sizeof(fi));
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_guest_handle: {
        xen_domain_handle_t h;
        memset(h, 0, sizeof(h));
        return copy_to_guest(arg, h, sizeof(h));
    }
    case XENVER_commandline:
        if (!d->is_privileged)
            return -XEN_EPERM;
        return copy_string_out(arg, "", sizeof(xen_commandline_t));
    default:
        return -XEN_ENOSYS;
    }
}

/* __HYPERVISOR_xen_version (Xen public/version.h).  XENVER_version is the
 * null hypercall of PV kernels (Linux makes it to have a pending event
 * delivered after unmasking), so it returns before anything else runs. */
static long do_xen_version(uint64_t cmd, uint64_t arg)
{
    if (cmd == XENVER_version)
        return (4 << 16) | 17;
    return xen_version_info(cmd, arg);
}

static long do_vm_assist(uint64_t cmd, uint64_t type)
{
    const unsigned long ok = PV_VM_ASSIST_OK;

    if (type >= 64 || !(ok & (1UL << type)))
        return -XEN_EINVAL;
    switch (cmd) {
    case VMASST_CMD_enable:
        current->domain->vm_assist |= 1UL << type;
        return 0;
    case VMASST_CMD_disable:
        current->domain->vm_assist &= ~(1UL << type);
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

static long do_set_debugreg(uint64_t reg, uint64_t value)
{
    struct vcpu *v = current;

    switch (reg) {
    case 0: case 1: case 2: case 3:
        if (!guest_range_ok(value, 8))
            return -XEN_EPERM;
        break;
    case 6:
        value = (value & 0xe00f) | 0xffff0ff0;
        break;
    case 7:
        /* Only local/global enables and R/W, LEN fields for instruction or
         * data breakpoints; no I/O breakpoints (R/W = 10b), no GD. */
        if (value & 0xffffffff0000f800UL)   /* GD, reserved, upper half */
            return -XEN_EPERM;
        for (unsigned int i = 0; i < 4; i++)
            if (((value >> (16 + 4 * i)) & 3) == 2)
                return -XEN_EPERM;
        value |= 0x400;
        break;
    default:
        return -XEN_EINVAL;
    }
    v->debugreg[reg] = value;
    debugreg_load(v);
    pv_update_hypercall_fast(v);
    return 0;
}

static long do_get_debugreg(uint64_t reg)
{
    if (reg > 7 || reg == 4 || reg == 5)
        return -XEN_EINVAL;
    return current->debugreg[reg];
}

static long do_physdev_op(uint64_t cmd, uint64_t arg)
{
    switch (cmd) {
    case PHYSDEVOP_set_iopl: {
        struct physdev_set_iopl s;
        if (!current->domain->is_privileged)
            return -XEN_EPERM;
        if (copy_from_guest(&s, arg, sizeof(s)))
            return -XEN_EFAULT;
        if (s.iopl > 3)
            return -XEN_EINVAL;
        current->iopl = s.iopl;
        return 0;
    }
    default:
        return -XEN_ENOSYS;
    }
}

static long do_multicall(uint64_t list, uint64_t nr);

/*
 * The hypercall table (Xen public/xen.h numbers): each entry gives the
 * handler and its parameter types, with one H<n> per arity.  The handler is
 * called through a pointer of exactly that type, so an entry whose handler
 * has another signature does not compile (-Werror=incompatible-pointer-
 * types); the guest's 64-bit argument registers are converted to those
 * types as the C calling convention would (an `unsigned int count` keeps
 * the low 32 bits of its register).
 */
#define HYPERCALL_TABLE(H0, H1, H2, H3, H4)                                          \
    H1(__HYPERVISOR_set_trap_table, do_set_trap_table, uint64_t)                      \
    H4(__HYPERVISOR_mmu_update, do_mmu_update, uint64_t, unsigned int, uint64_t,      \
       unsigned int)                                                                  \
    H2(__HYPERVISOR_set_gdt, do_set_gdt, uint64_t, unsigned int)                      \
    H2(__HYPERVISOR_stack_switch, do_stack_switch, uint64_t, uint64_t)                \
    H3(__HYPERVISOR_set_callbacks, do_set_callbacks, uint64_t, uint64_t, uint64_t)    \
    H1(__HYPERVISOR_fpu_taskswitch, do_fpu_taskswitch, uint64_t)                      \
    H2(__HYPERVISOR_set_debugreg, do_set_debugreg, uint64_t, uint64_t)                \
    H1(__HYPERVISOR_get_debugreg, do_get_debugreg, uint64_t)                          \
    H2(__HYPERVISOR_update_descriptor, do_update_descriptor, uint64_t, uint64_t)      \
    H2(__HYPERVISOR_memory_op, do_memory_op, unsigned long, uint64_t)                 \
    H2(__HYPERVISOR_multicall, do_multicall, uint64_t, uint64_t)                      \
    H3(__HYPERVISOR_grant_table_op, do_grant_table_op, unsigned int, uint64_t,        \
       unsigned int)                                                                  \
    H3(__HYPERVISOR_update_va_mapping, do_update_va_mapping, unsigned long, uint64_t, \
       unsigned long)                                                                 \
    H1(__HYPERVISOR_set_timer_op, do_set_timer_op, uint64_t)                          \
    H2(__HYPERVISOR_xen_version, do_xen_version, uint64_t, uint64_t)                  \
    H3(__HYPERVISOR_console_io, do_console_io, uint64_t, uint64_t, uint64_t)          \
    H2(__HYPERVISOR_vm_assist, do_vm_assist, uint64_t, uint64_t)                      \
    H0(__HYPERVISOR_iret, do_iret)                                                    \
    H3(__HYPERVISOR_vcpu_op, do_vcpu_op, int, unsigned int, uint64_t)                 \
    H2(__HYPERVISOR_set_segment_base, do_set_segment_base, uint64_t, uint64_t)        \
    H4(__HYPERVISOR_mmuext_op, do_mmuext_op, uint64_t, unsigned int, uint64_t,        \
       unsigned int)                                                                  \
    H2(__HYPERVISOR_sched_op, do_sched_op, int, uint64_t)                             \
    H2(__HYPERVISOR_callback_op, do_callback_op, uint64_t, uint64_t)                  \
    H2(__HYPERVISOR_event_channel_op, do_event_channel_op, int, uint64_t)             \
    H2(__HYPERVISOR_physdev_op, do_physdev_op, uint64_t, uint64_t)                    \
    H2(__HYPERVISOR_hvm_op, do_hvm_op, unsigned long, uint64_t)                       \
    H1(__HYPERVISOR_sysctl, do_sysctl, uint64_t)                                      \
    H1(__HYPERVISOR_domctl, do_domctl, uint64_t)

#define HC_CALL0(nr, fn) \
    case nr: { long (*f)(void) = fn; return f(); }
#define HC_CALL1(nr, fn, t0) \
    case nr: { long (*f)(t0) = fn; return f((t0)a[0]); }
#define HC_CALL2(nr, fn, t0, t1) \
    case nr: { long (*f)(t0, t1) = fn; return f((t0)a[0], (t1)a[1]); }
#define HC_CALL3(nr, fn, t0, t1, t2) \
    case nr: { long (*f)(t0, t1, t2) = fn; return f((t0)a[0], (t1)a[1], (t2)a[2]); }
#define HC_CALL4(nr, fn, t0, t1, t2, t3) \
    case nr: { long (*f)(t0, t1, t2, t3) = fn; \
               return f((t0)a[0], (t1)a[1], (t2)a[2], (t3)a[3]); }
#define HC_KNOWN(nr, ...) case nr:

/* True if hypercall nr has a handler. */
static bool hypercall_known(uint64_t nr)
{
    switch (nr) {
    HYPERCALL_TABLE(HC_KNOWN, HC_KNOWN, HC_KNOWN, HC_KNOWN, HC_KNOWN)
        return true;
    default:
        return false;
    }
}

/* Runs hypercall nr (hypercall_known(nr) must hold) with the guest's six
 * argument words a[0..5]; returns its result. */
static long hypercall_call(uint64_t nr, const uint64_t a[6])
{
    switch (nr) {
    HYPERCALL_TABLE(HC_CALL0, HC_CALL1, HC_CALL2, HC_CALL3, HC_CALL4)
    default:
        return -XEN_ENOSYS;
    }
}

/* Where hypercall_create_continuation() puts new arguments: the guest's
 * registers, or (inside a multicall) the entry being run. */
static struct multicall_entry *mc_entry;
static bool mc_preempted, hc_preempted;

bool hypercall_preempt_check(void)
{
    return need_resched || timer_expired();
}

void hypercall_create_continuation(unsigned int nr, uint64_t a0, uint64_t a1,
                                   uint64_t a2, uint64_t a3, uint64_t a4)
{
    if (mc_entry) {
        uint64_t a[5] = { a0, a1, a2, a3, a4 };

        for (unsigned int i = 0; i < 5; i++)
            mc_entry->args[i] = a[i];
        mc_preempted = true;
        return;
    }
    struct cpu_regs *regs = guest_frame;

    regs->rax = nr;
    regs->rdi = a0;
    regs->rsi = a1;
    regs->rdx = a2;
    regs->r10 = a3;
    regs->r8 = a4;
    regs->rip -= 2;                 /* back onto the `syscall` */
    exit_work.frame = true;
    hc_preempted = true;
}

/*
 * __HYPERVISOR_multicall (Xen public/xen.h): runs nr entries of list in
 * order, each entry's result written back; a failing entry does not stop
 * the batch.  Preemptible between entries (the continuation resumes at the
 * next one) and inside a preemptible entry (its updated arguments are
 * written back into the guest's entry, which is then run again).
 * -EFAULT if the list cannot be read or a result cannot be written.
 */
static long do_multicall(uint64_t list, uint64_t nr)
{
    struct multicall_entry e;

    nr = (uint32_t)nr;                      /* Xen: uint32_t nr_calls */
    for (uint64_t i = 0; i < nr; i++) {
        uint64_t at = list + i * sizeof(e);

        if (i && i % HYPERCALL_PREEMPT_STRIDE == 0 && hypercall_preempt_check()) {
            hypercall_create_continuation(__HYPERVISOR_multicall, at, nr - i, 0, 0, 0);
            return 0;
        }
        if (copy_from_guest(&e, at, sizeof(e)))
            return -XEN_EFAULT;
        if (!hypercall_known(e.op) ||
            e.op == __HYPERVISOR_iret || e.op == __HYPERVISOR_multicall) {
            e.result = -XEN_ENOSYS;
        } else {
            mc_entry = &e;
            mc_preempted = false;
            e.result = hypercall_call(e.op, e.args);
            mc_entry = NULL;
            if (mc_preempted) {
                /* The entry stopped part way: its new arguments go back to
                 * the guest and the multicall resumes at this entry. */
                mc_preempted = false;
                if (copy_to_guest(at + offsetof(struct multicall_entry, args),
                                  e.args, sizeof(e.args)))
                    return -XEN_EFAULT;
                hypercall_create_continuation(__HYPERVISOR_multicall, at, nr - i, 0, 0, 0);
                return 0;
            }
        }
        if (copy_to_guest(at + offsetof(struct multicall_entry, result),
                          &e.result, sizeof(e.result)))
            return -XEN_EFAULT;
    }
    return 0;
}

/* hypercall_table's entry for numbers without a handler (Xen's
 * do_ni_hypercall). */
static long do_ni_hypercall(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    return -XEN_ENOSYS;
}

/* Each handler's entry in hypercall_table: called from entry.S with the
 * guest's argument registers as they are, which is what the C convention
 * does with them for the handler's own parameter types (the type of every
 * handler is checked against the table's by hypercall_call()). */
#define HC_SLOT(nr, fn, ...) [nr] = (hypercall_fn_t)(void (*)(void))fn,

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"    /* the default, then the handlers */
const hypercall_fn_t hypercall_table[NR_HYPERCALLS] = {
    [0 ... NR_HYPERCALLS - 1] = do_ni_hypercall,
    HYPERCALL_TABLE(HC_SLOT, HC_SLOT, HC_SLOT, HC_SLOT, HC_SLOT)
};
#pragma GCC diagnostic pop

void hypercall_fast_finish(long rc)
{
    if (hc_preempted)
        hc_preempted = false;       /* rax holds the continuation's number */
    else
        guest_frame->rax = rc;
}

void hypercall_dispatch(struct cpu_regs *regs)
{
    uint64_t nr = regs->rax;
    long rc;

    if (nr >= NR_HYPERCALLS || !hypercall_known(nr)) {
        regs->rax = -XEN_ENOSYS;
        return;
    }
    hc_preempted = false;
    const uint64_t args[6] = { regs->rdi, regs->rsi, regs->rdx,
                               regs->r10, regs->r8, regs->r9 };
    rc = hypercall_call(nr, args);
    if (hc_preempted)
        hc_preempted = false;       /* rax holds the hypercall number again */
    else
        regs->rax = rc;
}

/* Xen's 64-bit PV hypercall page: entry i is
 *   push %rcx; push %r11; mov $i, %eax; syscall; pop %r11; pop %rcx; ret
 * and the iret entry pushes %rax too and never returns. */
void write_hypercall_page(void *page)
{
    uint8_t *p = page;
    memset(p, 0xcc, PAGE_SIZE);
    for (unsigned int i = 0; i < PAGE_SIZE / 32; i++, p += 32) {
        if (i == __HYPERVISOR_iret) {
            static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0,
                                            0x0f, 0x05, 0x0f, 0x0b };
            memcpy(p, iret, sizeof(iret));
            continue;
        }
        const uint8_t stub[] = { 0x51, 0x41, 0x53, 0xb8, (uint8_t)i, 0, 0, 0,
                                 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3 };
        memcpy(p, stub, sizeof(stub));
    }
}
