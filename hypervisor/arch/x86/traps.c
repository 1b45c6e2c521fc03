/*
 * traps.c - GDT/TSS/IDT, exceptions and interrupts from guests and from the
 * hypervisor itself, guest system calls, and the bounce frames that deliver
 * exceptions, system calls and events to a PV guest kernel (Xen's x86-64
 * create_bounce_frame semantics), and in/out emulation for guests with a
 * virtual IOPL.  Runs in ring 0 with interrupts off.  Under LAMINA_HOST_TEST
 * only the I/O emulation is compiled (tests/unit/test_traps.c).
 */
#include "common/hv.h"
#include "arch/x86/cpu.h"
#include "unmod/unmod.h"
#include "pv/pv.h"

#ifndef LAMINA_HOST_TEST
/* (Under LAMINA_HOST_TEST only the I/O-port emulation below is compiled,
 * for tests/unit/test_traps.c.) */

struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iomap_base;
} __attribute__((packed));

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, rsvd;
} __attribute__((packed));

extern char vector_table_start[], syscall_entry[], boot_stack_top[];
extern const uint64_t __start_ex_table[], __stop_ex_table[];

static uint64_t gdt[8192] __attribute__((aligned(4096)));
static struct tss64 tss __attribute__((aligned(64)));
static struct idt_entry idt[256] __attribute__((aligned(16)));
/* Interrupt stacks (TSS.IST1-4): #DF, NMI, #DB and #MC always switch to a
 * known-good stack, since each can arrive on the first instructions of the
 * syscall entry (guest %rsp still loaded) or right before sysret (XSA-260). */
enum { IST_DF = 1, IST_NMI = 2, IST_DB = 3, IST_MC = 4, IST_COUNT = 4 };
static uint8_t ist_stacks[IST_COUNT][4096] __attribute__((aligned(16)));
static struct vcpu *gdt_owner;      /* whose guest GDT entries are loaded */

/* The CPU's LDT: the running vCPU's validated descriptors, copied in from
 * its LDT frames (as gdt_load_guest() does for the GDT). */
static uint64_t ldt_table[LDT_MAX_ENTRIES] __attribute__((aligned(4096)));
static bool ldt_live;               /* LDTR holds HV_LDT (not null) */

/* DR7 of the running vCPU while it has breakpoints enabled, else 0.  The
 * CPU's DR7 holds it only while that vCPU runs in the guest: every entry
 * disarms it (guest_entry_dr()), every exit re-arms it (exit_prepare()). */
static unsigned long guest_dr7;

_Static_assert(sizeof(struct cpu_regs) == 168, "entry.S assumes a 168-byte frame");

static void set_gate(unsigned int vec, unsigned int dpl, unsigned int ist)
{
    uint64_t addr = (uint64_t)vector_table_start + 16 * vec;
    idt[vec] = (struct idt_entry){
        .off0 = addr & 0xffff, .sel = HV_CS64, .ist = ist,
        .type = 0x8e | (dpl << 5), .off1 = (addr >> 16) & 0xffff,
        .off2 = addr >> 32,
    };
}

void traps_init(void)
{
    /* Reserved GDT entries, Xen's selectors (public/arch-x86/xen-x86_64.h). */
    gdt[HV_CS64 >> 3]  = 0x00af9a000000ffffUL;          /* ring 0 code64 */
    gdt[HV_DS >> 3]    = 0x00cf92000000ffffUL;          /* ring 0 data */
    gdt[0xe018 >> 3]   = 0x00cf9a000000ffffUL;          /* ring 0 code32 */
    gdt[FLAT_RING3_CS32 >> 3] = 0x00cffa000000ffffUL;   /* ring 3 code32 */
    gdt[FLAT_RING3_DS32 >> 3] = 0x00cff2000000ffffUL;   /* ring 3 data */
    gdt[FLAT_RING3_CS64 >> 3] = 0x00affa000000ffffUL;   /* ring 3 code64 */
    uint64_t t = (uint64_t)&tss;
    gdt[HV_TSS >> 3] = (sizeof(tss) - 1) | ((t & 0xffffff) << 16) |
                       (0x89UL << 40) | (((t >> 24) & 0xff) << 56);
    gdt[(HV_TSS >> 3) + 1] = t >> 32;
    tss.rsp0 = (uint64_t)boot_stack_top;
    for (unsigned int i = 0; i < IST_COUNT; i++)
        tss.ist[i] = (uint64_t)(ist_stacks[i] + sizeof(ist_stacks[i]));
    tss.iomap_base = sizeof(tss);       /* no I/O bitmap: ring 3 gets no ports */

    struct desc_ptr gp = { sizeof(gdt) - 1, (uint64_t)gdt };
    struct desc_ptr ip = { sizeof(idt) - 1, (uint64_t)idt };
    lgdt(&gp);
    load_hv_segments(HV_CS64, HV_DS);
    ltr(HV_TSS);
    /* The reset-state LDT (base 0, limit 0xffff) would let ring 3 use call
     * gates it writes at linear address 0: start with a null LDT. */
    lldt(0);
    write_dr7(0);

    for (unsigned int v = 0; v < 256; v++)
        set_gate(v, 0, 0);
    set_gate(3, 3, 0);          /* int3 and into may be used by guests */
    set_gate(4, 3, 0);
    set_gate(8, 0, IST_DF);     /* each on its own stack (entry.S ist_interrupt) */
    set_gate(2, 0, IST_NMI);
    set_gate(1, 0, IST_DB);
    set_gate(18, 0, IST_MC);
    lidt(&ip);

    /* SYSCALL: ring 0 CS 0xe008/SS 0xe010; SYSRET base 0xe023 -> CS 0xe033, SS 0xe02b. */
    wrmsr(MSR_STAR, ((uint64_t)FLAT_RING3_CS32 << 48) | ((uint64_t)HV_CS64 << 32));
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_SFMASK, 0x47700);     /* TF IF DF IOPL NT AC cleared on entry */
}

void gdt_load_guest(struct vcpu *v)
{
    unsigned int old = gdt_owner ? gdt_owner->gdt_ents : 0;
    unsigned int n = v ? v->gdt_ents : 0;
    for (unsigned int i = 0; i < n; i++)
        gdt[i] = ((uint64_t *)mfn_to_virt(v->gdt_frames[i / 512]))[i % 512];
    for (unsigned int i = n; i < old; i++)
        gdt[i] = 0;
    gdt_owner = v;
}

void ldt_load_guest(struct vcpu *v)
{
    unsigned int n = v ? v->ldt_ents : 0;

    if (!n) {
        if (ldt_live)
            lldt(0);
        ldt_live = false;
        return;
    }
    for (unsigned int i = 0; i < n; i++)
        ldt_table[i] = ((uint64_t *)mfn_to_virt(v->ldt_frames[i / 512]))[i % 512];
    uint64_t t = (uint64_t)ldt_table, lim = (uint64_t)n * 8 - 1;
    /* 16-byte LDT system descriptor: type 2, present, DPL 0. */
    gdt[HV_LDT >> 3] = (lim & 0xffff) | ((t & 0xffffff) << 16) | (0x82UL << 40) |
                       (((lim >> 16) & 0xf) << 48) | (((t >> 24) & 0xff) << 56);
    gdt[(HV_LDT >> 3) + 1] = t >> 32;
    lldt(HV_LDT);
    ldt_live = true;
}

/* Makes v's debug registers the ones armed on the next exit: DR0-DR3 are
 * loaded now if v enables any breakpoint; DR7 itself is written only on the
 * way back to the guest (lazily, as Xen: nothing is touched for vCPUs that
 * never enabled a breakpoint). */
void debugreg_load(struct vcpu *v)
{
    unsigned long dr7 = v && !is_unmod_vcpu(v) ? v->debugreg[7] : 0;

    if (dr7 & DR7_ENABLE_MASK) {
        write_dr0_3(v->debugreg);
        guest_dr7 = dr7;
    } else {
        guest_dr7 = 0;
    }
}

/* First thing on every entry from a guest: the hypervisor runs with guest
 * breakpoints disarmed, so no guest breakpoint fires in its context. */
static inline void guest_entry_dr(void)
{
    if (guest_dr7)
        write_dr7(0);
}

void load_segments(struct vcpu *v)
{
    if (is_unmod_vcpu(v)) {
        unmod_load_segments(v);
    } else {
        wrmsr(MSR_FS_BASE, v->fs_base);
        wrmsr(MSR_GS_BASE, v->kernel_mode ? v->gs_base_kernel : v->gs_base_user);
    }
    if (v->gdt_ents || (gdt_owner && gdt_owner->gdt_ents))
        gdt_load_guest(v);
    if (v->ldt_ents || ldt_live)
        ldt_load_guest(v);
    if (guest_dr7 || (v->debugreg[7] & DR7_ENABLE_MASK))
        debugreg_load(v);
}

void toggle_guest_mode(struct vcpu *v)
{
    v->kernel_mode = !v->kernel_mode;
    wrmsr(MSR_GS_BASE, v->kernel_mode ? v->gs_base_kernel : v->gs_base_user);
    write_cr3(mm_vcpu_cr3(v));
}

void guest_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t eip,
                  unsigned int flags, uint32_t error_code)
{
    uint64_t cs = regs->cs, rsp;

    if (!eip)
        domain_crash(v->domain, "bounce to a null callback");
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

#ifndef LAMINA_HOST_TEST
void trap_from_guest(struct cpu_regs *regs)
{
    unsigned int vec = regs->entry_vector & 0xff;
    struct vcpu *v = current;

    guest_entry_dr();
    if (vec >= 32) {
        if (is_unmod_vcpu(v))
            unmod_interrupted(v);
        if (vec == TIMER_VECTOR)
            timer_interrupt();
        return;
    }
    ASSERT(v);
    if (is_unmod_vcpu(v)) {
        unmod_trap(v, regs);
        return;
    }
    switch (vec) {
    case 14:
        v->vcpu_info->arch.cr2 = read_cr2();
        break;
    case 6:
        if (emulate_forced_cpuid(regs))
            return;
        break;
    case 13:
        if (emulate_soft_int(v, regs) || emulate_io(v, regs))
            return;
        break;
    case 7:
        if (v->fpu_ts) {
            clts();
            v->fpu_ts = false;
        }
        break;
    case 1:
        /* The guest's own breakpoint or single step: its virtual DR6
         * accumulates the condition (Xen's v->arch.dr6). */
        v->debugreg[6] |= read_dr6() & ~DR6_DEFAULT;
        write_dr6(DR6_DEFAULT);
        break;
    case 2: case 18:
        return;                 /* NMI / #MC: not for guests */
    }
    bounce_exception(v, regs, vec, x86_exc_has_error_code(vec));
}

void trap_from_hv(struct cpu_regs *regs)
{
    unsigned int vec = regs->entry_vector & 0xff;

    if (vec == TIMER_VECTOR) {
        timer_interrupt();
        return;
    }
    if (vec >= 32 || vec == 2)
        return;
    if (vec == 1 && current && !is_unmod_vcpu(current)) {
        /* A guest breakpoint matched in the hypervisor's context (a data
         * breakpoint on a buffer it copies): never fatal, reported to the
         * guest as a #DB on its next return (exit_prepare). */
        current->debugreg[6] |= read_dr6() & ~DR6_DEFAULT;
        current->pending_db = true;
        write_dr6(DR6_DEFAULT);
        return;
    }
    /* Only the faults a guest access can legitimately raise are fixed up:
     * a #PF on an unmapped guest page, a #GP on a non-canonical address. */
    if (vec == 13 || vec == 14)
        for (const uint64_t *e = __start_ex_table; e < __stop_ex_table; e += 2)
            if (e[0] == regs->rip) {
                regs->rip = e[1];
                return;
            }
    panic("hypervisor exception %u err %x at rip %lx rsp %lx cr2 %lx cr3 %lx "
          "rax %lx rbx %lx rcx %lx rdx %lx rsi %lx rdi %lx",
          vec, regs->error_code, (unsigned long)regs->rip,
          (unsigned long)regs->rsp, read_cr2(), read_cr3(),
          (unsigned long)regs->rax, (unsigned long)regs->rbx,
          (unsigned long)regs->rcx, (unsigned long)regs->rdx,
          (unsigned long)regs->rsi, (unsigned long)regs->rdi);
}

void syscall_from_guest(struct cpu_regs *regs)
{
    struct vcpu *v = current;

    guest_entry_dr();
    if (is_unmod_vcpu(v)) {
        unmod_syscall(v, regs);
        return;
    }
    if (v->kernel_mode) {
        hypercall_dispatch(regs);
        return;
    }
    /* A guest user process's system call: to the guest kernel. */
    if (!v->syscall_callback_eip) {
        bounce_exception(v, regs, 6, false);
        return;
    }
    guest_bounce(v, regs, v->syscall_callback_eip,
                 v->syscall_disables_events ? TBF_INTERRUPT : 0, 0);
}

int exit_prepare(void)
{
    struct cpu_regs *regs = guest_frame;

    if (need_resched || !current || current->state != VCPU_RUNNABLE)
        schedule();
    struct vcpu *v = current;

    if (is_unmod_vcpu(v))
        unmod_exit_prepare(v, regs);
    else if (v->vcpu_info->evtchn_upcall_pending && !v->vcpu_info->evtchn_upcall_mask &&
        v->event_callback_eip)
        guest_bounce(v, regs, v->event_callback_eip, TBF_INTERRUPT, 0);
    else if (v->pending_db) {
        v->pending_db = false;
        if (v->trap_ctxt[1].address)
            bounce_exception(v, regs, 1, false);
    }

    if (exit_frame_sanitise(regs) == EXIT_GP) {
        if (is_unmod_vcpu(v))
            domain_crash(v->domain, "non-canonical return address");
        /* IRET/SYSRET to a non-canonical address would fault in ring 0
         * (XSA-7): the guest kernel gets the #GP(0) it would have seen. */
        regs->error_code = 0;
        bounce_exception(v, regs, 13, true);
        (void)exit_frame_sanitise(regs);    /* the bounce's frame */
    }
    if (guest_dr7)
        write_dr7(guest_dr7);
    return exit_sysret_ok(regs);
}

/* guest_access.h */
size_t raw_copy(void *dst, const void *src, size_t n);

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (!guest_range_ok(src, len))
        return -XEN_EFAULT;
    return raw_copy(dst, (const void *)src, len) ? -XEN_EFAULT : 0;
}

int copy_to_guest(uint64_t dst, const void *src, size_t len)
{
    if (!guest_range_ok(dst, len))
        return -XEN_EFAULT;
    return raw_copy((void *)dst, src, len) ? -XEN_EFAULT : 0;
}
#endif /* !LAMINA_HOST_TEST */
