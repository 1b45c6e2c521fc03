/*
 * traps.c - GDT/TSS/IDT, the CPU's guest GDT/LDT/debug-register state,
 * exceptions and interrupts from guests (dispatched through the domain's
 * vcpu_ops: pv/traps.c, unmod/unmod.c) and from the hypervisor itself
 * (exception-table fixups), guest system calls, the common exit checks,
 * and the guest-memory copies.  Runs in ring 0 with interrupts off.  Not
 * compiled into host unit tests.
 */
#include "common/hv.h"
#include "arch/x86/cpu.h"
#include "pv/pv.h"

#ifndef LAMINA_HOST_TEST

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
    /* Only PV vCPUs set debugreg[] (HYPERVISOR_set_debugreg); an
     * unmodified vCPU's stay zero, so nothing is armed for it. */
    unsigned long dr7 = v ? v->debugreg[7] : 0;

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
    v->domain->vcpu_ops->load_segments(v);
    if (v->gdt_ents || (gdt_owner && gdt_owner->gdt_ents))
        gdt_load_guest(v);
    if (v->ldt_ents || ldt_live)
        ldt_load_guest(v);
    if (guest_dr7 || (v->debugreg[7] & DR7_ENABLE_MASK))
        debugreg_load(v);
}

/* Every exception and interrupt taken in guest context (entry.S).  The
 * kind of guest decides what an exception means (vcpu_ops.trap); external
 * interrupts are the hypervisor's.  Returns vcpu_ops.trap's answer (1: the
 * frame may be resumed as it is), 0 for interrupts. */
int trap_from_guest(struct cpu_regs *regs)
{
    unsigned int vec = regs->entry_vector & 0xff;
    struct vcpu *v = current;

    guest_entry_dr();
    if (vec >= X86_NR_EXC) {
        if (v && v->domain->vcpu_ops->interrupted)
            v->domain->vcpu_ops->interrupted(v);
        if (vec == TIMER_VECTOR)
            timer_interrupt();
        return 0;
    }
    ASSERT(v);
    /* Guest breakpoints are re-armed by exit_prepare() only. */
    return v->domain->vcpu_ops->trap(v, regs, vec) && !guest_dr7;
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
    if (vec == X86_EXC_DB && current) {
        /* A guest breakpoint matched in the hypervisor's context (a data
         * breakpoint on a buffer it copies): never fatal, reported to the
         * guest as a #DB on its next return (exit_prepare). */
        current->debugreg[6] |= read_dr6() & ~DR6_DEFAULT;
        current->pending_db = true;
        exit_work.debug = true;
        write_dr6(DR6_DEFAULT);
        return;
    }
    /* The hypervisor writing to a guest address (a bounce frame, a
     * hypercall's result) through an entry log-dirty mode protected. */
    if (vec == X86_EXC_PF && current && current->domain->log_dirty.bitmap &&
        paging_fault(current->domain, read_cr2(), regs->error_code))
        return;
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

/* `syscall` in guest context (entry.S): a hypercall or a system call,
 * as the kind of guest decides (vcpu_ops.syscall). */
void syscall_from_guest(struct cpu_regs *regs)
{
    struct vcpu *v = current;

    guest_entry_dr();
    v->domain->vcpu_ops->syscall(v, regs);
}

/* The common return to a guest (entry.S): every exit but the hypercall
 * fast path's, which takes it whenever exit_work has anything set. */
int exit_prepare(void)
{
    struct cpu_regs *regs = guest_frame;

    if (need_resched || !current || current->state != VCPU_RUNNABLE)
        schedule();
    struct vcpu *v = current;
    const struct vcpu_ops *ops = v->domain->vcpu_ops;

    ops->exit_prepare(v, regs);
    if (exit_frame_sanitise(regs) == EXIT_GP) {
        /* IRET/SYSRET to a non-canonical address would fault in ring 0
         * (XSA-7): the kind of guest decides what the guest sees. */
        ops->bad_return(v, regs);
        (void)exit_frame_sanitise(regs);    /* the frame bad_return made */
    }
    if (guest_dr7)
        write_dr7(guest_dr7);
    /* The frame is checked and nothing queued is left: the next hypercall
     * from this frame may return fast (entry.S). */
    exit_work.frame = false;
    exit_work.debug = false;
    return exit_sysret_ok(regs);
}

/* guest_access.h */

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
