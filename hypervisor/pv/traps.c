/*
 * traps.c - what a trap, a system call and a return mean for a PV vCPU:
 * the bounce frames that deliver exceptions, system calls and events to
 * the guest kernel (Xen's x86-64 create_bounce_frame semantics), the
 * emulation of the few instructions Xen emulates for PV guests (forced
 * CPUID, `int $n` through the trap table, in/out under a virtual IOPL),
 * guest kernel/user mode switches, and PV's vcpu_ops table.  Runs in ring 0
 * with interrupts off.  Under LAMINA_HOST_TEST only the I/O emulation and
 * the syscall fast bounce are compiled (tests/unit/test_traps.c).
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "mm/mm.h"
#include "pv/pv.h"

void toggle_guest_mode(struct vcpu *v)
{
    bool no_bp = !(v->debugreg[7] & DR7_ENABLE_MASK);

    /* pv_update_hypercall_fast() and mm_vcpu_cr3(), unrolled: every
     * system call and its return come here. */
    if (v->kernel_mode) {
        v->kernel_mode = false;
        v->hypercall_fast = false;
        v->syscall_fast = no_bp;
        wrmsr(MSR_GS_BASE, v->gs_base_user);
        write_cr3((v->guest_table_user ? v->guest_table_user : v->guest_table) << PAGE_SHIFT);
    } else {
        v->kernel_mode = true;
        v->hypercall_fast = no_bp;
        v->syscall_fast = false;
        wrmsr(MSR_GS_BASE, v->gs_base_kernel);
        write_cr3(v->guest_table << PAGE_SHIFT);
    }
}

#ifndef LAMINA_HOST_TEST
void guest_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t eip,
                  unsigned int flags, uint32_t error_code)
{
    uint64_t cs = regs->cs, rsp;

    if (!eip)
        domain_crash(v->domain, "bounce to a null callback");
    exit_work.frame = true;
    if (!v->kernel_mode) {
        toggle_guest_mode(v);
        rsp = v->kernel_sp;
    } else {
        rsp = regs->rsp;
        cs &= ~3UL;             /* tells the guest it interrupted its kernel */
    }
    rsp &= ~0xfUL;

    uint8_t saved_mask = v->vcpu_info->evtchn_upcall_mask;
    if (flags & TBF_INTERRUPT)
        v->vcpu_info->evtchn_upcall_mask = 1;

    uint64_t frame[8];
    unsigned int n = 0;
    frame[n++] = regs->rcx;
    frame[n++] = regs->r11;
    if (flags & TBF_EXCEPTION_ERRCODE)
        frame[n++] = error_code;
    frame[n++] = regs->rip;
    frame[n++] = (cs & 0xffff) | ((uint64_t)saved_mask << 32);
    frame[n++] = (regs->rflags & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
                 (saved_mask ? 0 : X86_EFLAGS_IF);
    frame[n++] = regs->rsp;
    frame[n++] = regs->ss;
    rsp -= n * 8;
    if (copy_to_guest(rsp, frame, n * 8))
        domain_crash(v->domain, "guest kernel stack unusable for a bounce frame");

    regs->rip = eip;
    regs->cs = FLAT_KERNEL_CS;
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = rsp;
    regs->rflags &= ~(0x100UL | 0x4000UL | 0x10000UL | 0x20000UL | 0x40000UL);
}

/* Delivers exception vec to the guest through its trap table, or kills it. */
static void bounce_exception(struct vcpu *v, struct cpu_regs *regs,
                             unsigned int vec, bool has_err)
{
    const struct trap_info *ti = &v->trap_ctxt[vec];
    char why[64];

    if (!ti->address) {
        snprintf(why, sizeof(why), "exception %u at %lx with no trap handler",
                 vec, (unsigned long)regs->rip);
        domain_crash(v->domain, why);
    }
    guest_bounce(v, regs, ti->address,
                 (has_err ? TBF_EXCEPTION_ERRCODE : 0) |
                 ((ti->flags & 4) ? TBF_INTERRUPT : 0),
                 regs->error_code);
}

/* The forced-emulation prefix "ud2a; .ascii 'xen'; cpuid" (PV CPUID). */
static bool emulate_forced_cpuid(struct cpu_regs *regs)
{
    static const uint8_t sig[7] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };
    uint8_t insn[7];
    if (copy_from_guest(insn, regs->rip, sizeof(insn)) || memcmp(insn, sig, 7))
        return false;
    uint32_t a, b, c, d;
    cpuid((uint32_t)regs->rax, (uint32_t)regs->rcx, &a, &b, &c, &d);
    if ((uint32_t)regs->rax == 1) {
        c &= ~((1u << 5) | (1u << 3) | (1u << 27));     /* VMX, MONITOR, OSXSAVE */
        c |= 1u << 31;                                  /* hypervisor present */
    }
    regs->rax = a; regs->rbx = b; regs->rcx = c; regs->rdx = d;
    regs->rip += sizeof(sig);
    return true;
}

/* #GP from `int $n` (IDT gate with DPL 0): deliver n if the guest's trap
 * table allows it.  QEMU 7.2's TCG reports a wrong error code here, so the
 * instruction is decoded rather than the error code trusted. */
static bool emulate_soft_int(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t insn[2];
    if (!(regs->error_code & 2) || copy_from_guest(insn, regs->rip, 2) ||
        insn[0] != 0xcd)
        return false;
    const struct trap_info *ti = &v->trap_ctxt[insn[1]];
    unsigned int cpl = v->kernel_mode ? 1 : 3;      /* guest-visible privilege */
    if (!ti->address || (ti->flags & 3) < cpl)
        return false;
    regs->rip += 2;
    guest_bounce(v, regs, ti->address, (ti->flags & 4) ? TBF_INTERRUPT : 0, 0);
    return true;
}

#endif /* !LAMINA_HOST_TEST */

/* Ports the hypervisor drives itself; no guest may touch them (as Xen denies
 * dom0 the PIC, PIT and its serial console): PIC 0x20-0x21 and 0xa0-0xa1,
 * PIT 0x40-0x43, port B 0x61, COM1 0x3f8-0x3ff, QEMU's debug exit
 * 0x501-0x502, ACPI PM1a 0x604-0x605.  True when any byte of the access
 * [port, port + size) falls in one of them. */
static bool io_port_reserved(unsigned int port, unsigned int size)
{
    static const uint16_t ranges[][2] = {
        { 0x20, 0x21 }, { 0xa0, 0xa1 }, { 0x40, 0x43 }, { 0x61, 0x61 },
        { 0x3f8, 0x3ff }, { 0x501, 0x502 }, { 0x604, 0x605 },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(ranges); i++)
        if (port <= ranges[i][1] && port + size - 1 >= ranges[i][0])
            return true;
    return false;
}

#ifdef LAMINA_HOST_TEST
/* The unit test (tests/unit/test_traps.c) plays the devices. */
uint32_t io_in(unsigned int port, unsigned int size);
void io_out(unsigned int port, unsigned int size, uint32_t val);
#else
/* One port read of size 1, 2 or 4 bytes. */
static uint32_t io_in(unsigned int port, unsigned int size)
{
    return size == 1 ? inb((uint16_t)port) : size == 2 ? inw((uint16_t)port)
                                                       : inl((uint16_t)port);
}

/* One port write of size 1, 2 or 4 bytes (the low bytes of val). */
static void io_out(unsigned int port, unsigned int size, uint32_t val)
{
    if (size == 1)
        outb((uint16_t)port, (uint8_t)val);
    else if (size == 2)
        outw((uint16_t)port, (uint16_t)val);
    else
        outl((uint16_t)port, val);
}
#endif

/*
 * in/out at regs->rip from a PV guest whose virtual IOPL (PHYSDEVOP_set_iopl)
 * allows it: the guest kernel counts as ring 1, its user mode as ring 3.
 * Handles `in`/`out` with an imm8 port (e4-e7) or %dx (ec-ef), byte, word
 * (0x66 prefix) and dword sizes; a 32-bit `in` zero-extends into %rax as the
 * CPU does, 8/16-bit ones keep the rest of %rax.  Returns false (the caller
 * gives the guest #GP) for any other instruction, an unreadable one, an
 * IOPL too low, or a port range touching io_port_reserved().
 */
static bool emulate_io(struct vcpu *v, struct cpu_regs *regs)
{
    uint8_t b[3];
    unsigned int i = 0, size, port, len;
    uint8_t op;

    if (v->iopl < (v->kernel_mode ? 1u : 3u) || copy_from_guest(b, regs->rip, 1))
        return false;
    if (b[0] == 0x66) {
        if (copy_from_guest(b, regs->rip, 2))
            return false;
        i = 1;
    }
    op = b[i];
    size = (op & 1) ? (i ? 2 : 4) : 1;
    switch (op) {
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
        if (copy_from_guest(b, regs->rip, i + 2))
            return false;
        port = b[i + 1];
        len = i + 2;
        break;
    case 0xec: case 0xed: case 0xee: case 0xef:
        port = regs->rdx & 0xffff;
        len = i + 1;
        break;
    default:
        return false;
    }
    if (io_port_reserved(port, size))
        return false;
    if (op & 2) {                       /* out */
        io_out(port, size, (uint32_t)regs->rax);
    } else {
        uint32_t val = io_in(port, size);

        if (size == 4)
            regs->rax = val;            /* 32-bit results zero-extend */
        else if (size == 2)
            regs->rax = (regs->rax & ~0xffffUL) | (val & 0xffff);
        else
            regs->rax = (regs->rax & ~0xffUL) | (val & 0xff);
    }
    regs->rip += len;
    return true;
}

/* Xen's bounce frame {rcx, r11, [error code], rip, cs | saved mask << 32,
 * rflags, rsp, ss} (8 quadwords with has_err, else 7) at guest address rsp,
 * already range-checked, from the interrupted context regs: rflags with IF
 * as the saved upcall mask says.  Stored top down, a quadword at a time,
 * so a stack that faults faults at the first store.  False when a store
 * faulted.  Inline: both fast bounces are built from it. */
static inline __attribute__((always_inline)) bool
put_bounce_frame(uint64_t rsp, const struct cpu_regs *regs, uint64_t cs, uint8_t mask,
                 const bool has_err)
{
    uint64_t *f = (uint64_t *)rsp + (has_err ? 1 : 0);

    return raw_put_u64(&f[6], regs->ss) &&
           raw_put_u64(&f[5], regs->rsp) &&
           raw_put_u64(&f[4], (regs->rflags & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
                                  (mask ? 0 : X86_EFLAGS_IF)) &&
           raw_put_u64(&f[3], (cs & 0xffff) | ((uint64_t)mask << 32)) &&
           raw_put_u64(&f[2], regs->rip) &&
           (!has_err || raw_put_u64(&f[1], regs->error_code)) &&
           raw_put_u64((uint64_t *)rsp + 1, regs->r11) &&
           raw_put_u64((uint64_t *)rsp, regs->rcx);
}

/* Compiled on the host too: tests/unit/test_traps.c drives it. */
/* The frame of a system call bounce (7 quadwords) below the kernel stack
 * pointer v->kernel_sp, rounded down to 16 as guest_bounce() does. */
static inline uint64_t syscall_frame_va(const struct vcpu *v)
{
    return (v->kernel_sp & ~0xfUL) - 7 * 8;
}

void pv_kernel_sp_changed(struct vcpu *v)
{
    v->kernel_sp_bounce_ok = guest_range_ok(syscall_frame_va(v), 7 * 8);
}

/* A bounce pv_syscall_fast() cannot do itself: the common path. */
static int __attribute__((noinline, cold)) syscall_fast_fallback(struct cpu_regs *regs)
{
    syscall_from_guest(regs);
    return 1;
}

static void __attribute__((noinline, cold, noreturn)) syscall_fast_crash(struct vcpu *v)
{
    domain_crash(v->domain, "guest kernel stack unusable for a bounce frame");
    __builtin_unreachable();
}

int pv_syscall_fast(struct vcpu *v, struct cpu_regs *regs)
{
    uint64_t eip = v->syscall_callback_eip, flags = regs->rflags;
    uint64_t rsp = syscall_frame_va(v);
    uint8_t mask = v->vcpu_info->evtchn_upcall_mask;

    if (!canonical_addr(eip) || !eip || (flags & (X86_EFLAGS_TF | X86_EFLAGS_RF)))
        return syscall_fast_fallback(regs);
    /* A kernel stack that cannot take the frame kills the domain, as
     * guest_bounce() does; checked when the guest set it. */
    if (!v->kernel_sp_bounce_ok)
        syscall_fast_crash(v);
    /* guest_bounce() from guest user mode, for a frame known to be
     * {rcx, r11, rip, FLAT_USER_CS, rflags, rsp, FLAT_USER_SS}. */
    v->kernel_mode = true;
    v->hypercall_fast = true;           /* kernel mode, no breakpoints */
    v->syscall_fast = false;
    wrmsr(MSR_GS_BASE, v->gs_base_kernel);
    write_cr3(v->guest_table << PAGE_SHIFT);
    if (!put_bounce_frame(rsp, regs, FLAT_RING3_CS64, mask, false))
        syscall_fast_crash(v);          /* not mapped, or read-only */
    if (v->syscall_disables_events)
        v->vcpu_info->evtchn_upcall_mask = 1;
    flags = (flags & ~(X86_EFLAGS_NT | X86_EFLAGS_AC | X86_EFLAGS_VM | X86_EFLAGS_IOPL)) |
            X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    regs->rip = regs->rcx = eip;
    regs->rflags = regs->r11 = flags;
    regs->rsp = rsp;
    /* cs and ss stay FLAT_RING3_CS64/SS64: the guest kernel's too. */
    return vcpu_event_due(v);
}

/* pv_exception_fast() for a constant has_err: the frame's layout is then
 * known when compiling. */
static inline __attribute__((always_inline)) enum pv_bounce
exception_fast(struct vcpu *v, struct cpu_regs *regs, const struct trap_info *ti,
               const bool has_err)
{
    uint64_t eip = ti->address, cs = regs->cs, rsp = regs->rsp;
    uint8_t mask = v->vcpu_info->evtchn_upcall_mask;
    const unsigned int n = has_err ? 8 : 7;

    if (!eip || !canonical_addr(eip))
        return PV_BOUNCE_SLOW;
    if (v->kernel_mode)
        cs &= ~3UL;             /* tells the guest it interrupted its kernel */
    else
        rsp = v->kernel_sp;
    rsp = (rsp & ~0xfUL) - n * 8;
    if (!guest_range_ok(rsp, n * 8))
        return PV_BOUNCE_SLOW;  /* guest_bounce() crashes the domain */
    if (!v->kernel_mode)
        toggle_guest_mode(v);   /* onto the kernel's L4: its stack is there */
    if (!put_bounce_frame(rsp, regs, cs, mask, has_err))
        syscall_fast_crash(v);          /* not mapped, or read-only */
    if (ti->flags & 4)
        v->vcpu_info->evtchn_upcall_mask = 1;
    regs->rip = eip;
    regs->cs = FLAT_KERNEL_CS;
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = rsp;
    /* IF and IOPL stay as the CPU pushed them: IF 1, IOPL 0 in any guest. */
    regs->rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_VM |
                      X86_EFLAGS_AC);
    return vcpu_event_due(v) ? PV_BOUNCE_DONE : PV_BOUNCE_RESUME;
}

enum pv_bounce pv_exception_fast(struct vcpu *v, struct cpu_regs *regs, unsigned int vec,
                                 bool has_err)
{
    const struct trap_info *ti = &v->trap_ctxt[vec];

    return has_err ? exception_fast(v, regs, ti, true) : exception_fast(v, regs, ti, false);
}

#ifndef LAMINA_HOST_TEST
/* vcpu_ops.trap's answer once pv_exception_fast() said r: the common
 * bounce where the fast one was not taken. */
static inline bool pv_trap_bounced(enum pv_bounce r, struct vcpu *v, struct cpu_regs *regs,
                                   unsigned int vec, bool has_err)
{
    if (r == PV_BOUNCE_SLOW)
        bounce_exception(v, regs, vec, has_err);
    return r == PV_BOUNCE_RESUME;
}

/* pv_trap() for every vector but #PF. */
static bool __attribute__((noinline)) pv_trap_other(struct vcpu *v, struct cpu_regs *regs,
                                                    unsigned int vec)
{
    switch (vec) {
    case X86_EXC_UD:
        if (emulate_forced_cpuid(regs))
            return false;
        break;
    case X86_EXC_GP:
        if (emulate_soft_int(v, regs) || emulate_io(v, regs))
            return false;
        break;
    case X86_EXC_NM:
        if (v->fpu_ts) {
            clts();
            v->fpu_ts = false;
        }
        break;
    case X86_EXC_DB:
        /* The guest's own breakpoint or single step: its virtual DR6
         * accumulates the condition (Xen's v->arch.dr6). */
        v->debugreg[6] |= read_dr6() & ~DR6_DEFAULT;
        write_dr6(DR6_DEFAULT);
        break;
    case X86_EXC_NMI: case X86_EXC_MC:
        return false;           /* not for guests */
    }
    bool has_err = x86_exc_has_error_code(vec);

    return pv_trap_bounced(pv_exception_fast(v, regs, vec, has_err), v, regs, vec, has_err);
}

/* vcpu_ops.trap: exception vec (0-31) in a PV guest.  Records what the
 * guest's handler needs (CR2, DR6), emulates what Xen emulates, else
 * bounces vec through the trap table (or kills the domain without one).
 * A page fault, the common case, goes straight to its bounce. */
static bool pv_trap(struct vcpu *v, struct cpu_regs *regs, unsigned int vec)
{
    if (vec != X86_EXC_PF)
        return pv_trap_other(v, regs, vec);
    unsigned long cr2 = read_cr2();
    /* A write log-dirty mode protected (a migration is sending the
     * domain): the entry is writable again, the access retried. */
    if (__builtin_expect(v->domain->log_dirty.bitmap != NULL, 0) &&
        paging_fault(v->domain, cr2, regs->error_code))
        return false;
    v->vcpu_info->arch.cr2 = cr2;
    return pv_trap_bounced(exception_fast(v, regs, &v->trap_ctxt[X86_EXC_PF], true),
                           v, regs, X86_EXC_PF, true);
}

/* vcpu_ops.syscall: from the guest kernel a hypercall, from guest user a
 * system call bounced to the registered syscall callback (#UD without). */
static void pv_syscall(struct vcpu *v, struct cpu_regs *regs)
{
    if (v->kernel_mode) {
        hypercall_dispatch(regs);
        return;
    }
    if (!v->syscall_callback_eip) {
        bounce_exception(v, regs, X86_EXC_UD, false);
        return;
    }
    guest_bounce(v, regs, v->syscall_callback_eip,
                 v->syscall_disables_events ? TBF_INTERRUPT : 0, 0);
}

/* vcpu_ops.exit_prepare: a pending, unmasked event upcall becomes a bounce
 * to the event callback; else a #DB queued in hypervisor context is
 * delivered.  exit_work.event stays set while the upcall is pending. */
static void pv_exit_prepare(struct vcpu *v, struct cpu_regs *regs)
{
    if (vcpu_event_due(v) && v->event_callback_eip)
        guest_bounce(v, regs, v->event_callback_eip, TBF_INTERRUPT, 0);
    else if (v->pending_db) {
        v->pending_db = false;
        if (v->trap_ctxt[X86_EXC_DB].address)
            bounce_exception(v, regs, X86_EXC_DB, false);
    }
    /* Until the guest clears its pending flag (its upcall handler does,
     * first thing), every exit must look at it again. */
    exit_work.event = v->vcpu_info->evtchn_upcall_pending != 0;
}

/* vcpu_ops.bad_return: the guest kernel gets the #GP(0) the CPU would
 * have given it for a non-canonical return address. */
static void pv_bad_return(struct vcpu *v, struct cpu_regs *regs)
{
    regs->error_code = 0;
    bounce_exception(v, regs, X86_EXC_GP, true);
}

/* vcpu_ops.load_segments: FS base and the GS base of the current mode. */
static void pv_load_segments(struct vcpu *v)
{
    wrmsr(MSR_FS_BASE, v->fs_base);
    wrmsr(MSR_GS_BASE, v->kernel_mode ? v->gs_base_kernel : v->gs_base_user);
}

/* vcpu_ops.cr3: the kernel or user L4, as the guest's mode says. */
static unsigned long pv_cr3(struct vcpu *v)
{
    return mm_vcpu_cr3(v);
}

const struct vcpu_ops pv_vcpu_ops = {
    .name = "PV",
    .trap = pv_trap,
    .syscall = pv_syscall,
    .exit_prepare = pv_exit_prepare,
    .bad_return = pv_bad_return,
    .load_segments = pv_load_segments,
    .cr3 = pv_cr3,
    .set_vcpu_context = pv_set_vcpu_context,
    .get_vcpu_context = pv_get_vcpu_context,
};
#endif /* !LAMINA_HOST_TEST */
