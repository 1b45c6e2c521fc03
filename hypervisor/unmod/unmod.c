/*
 * unmod.c - unmodified domains: a kernel built for bare metal (the native
 * guest kernel, byte for byte) run deprivileged in ring 3 by trap-and-emulate
 * (emulate.c) over shadow page tables (shadow.c), with a virtual 8259 PIC,
 * 8254 PIT and 16550 UART (vdev.h).  Builds such a domain the way a
 * multiboot loader starts a kernel (toolstack/builder/mb_build.c), routes its
 * traps, system calls and port I/O, and injects its interrupts.
 *
 * Runs in ring 0 with interrupts off, on behalf of the current vCPU.
 */
#include "common/hv.h"
#include "arch/x86/x86.h"
#include "unmod/unmod.h"
#include "unmod/shadow.h"
#include "unmod/vdev.h"
#include "mb_build.h"
#include <xen/hvm/params.h>

#define MB_LOADER_MAGIC   0x2BADB002

/* isa-debug-exit (QEMU): what the native kernel writes to power off. */
#define PORT_DEBUG_EXIT   0x501
#define DEBUG_EXIT_CLEAN  0x10

/* Everything Lamina keeps for one unmodified domain (one vCPU). */
struct unmod_domain {
    struct domain *d;
    struct vcpu_unmod vu;
    struct vpic pic;
    struct vpit pit;
    struct vuart uart;
    uint64_t traps, emulations, injections, syscalls;
    unsigned long loaded_cr3;       /* shadow L4 last loaded for this vCPU */
    uint64_t loaded_key, loaded_pg; /* the guest CR3 and CR0.PG it was for */
    unsigned int loaded_view;
    bool sh_ready;                  /* the shadow pool is allocated */
    /* HVM_PARAM_CONSOLE_PFN / _EVTCHN: COM1 also feeds this xencons ring. */
    bool con_pfn_set, con_evtchn_set;
    uint64_t con_pfn;
    uint32_t con_evtchn;
    struct shadow_domain sh;        /* large: last */
};

/* True when the CPU is on this vCPU's kernel-view shadow, so guest-kernel
 * addresses can be read directly (with fault fixup) instead of walked. */
static bool kernel_view_loaded(const struct unmod_domain *um)
{
    return um->vu.cpl == 0 && um->vu.cs64 && um->loaded_cr3 && read_cr3() == um->loaded_cr3;
}

static struct unmod_domain *um_of(const struct vcpu *v)
{
    return v->domain->unmod;
}

static unsigned int view_of(const struct unmod_domain *um)
{
    return um->vu.cpl == 3 ? SH_VIEW_USER : SH_VIEW_KERNEL;
}

static void crash(struct unmod_domain *um, const char *what, const char *why)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: %s (rip %lx)", what, why,
             (unsigned long)guest_frame->rip);
    domain_crash(um->d, msg);
}

/* ---- emu_ops: guest memory and ports ----------------------------------- */

static int mem_access(void *ctx, uint64_t va, void *buf, unsigned int n, unsigned int acc,
                      struct emu_fault *f, bool write)
{
    struct unmod_domain *um = ctx;
    char *p = buf;

    while (n) {
        unsigned int chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
        uint64_t gpa;
        if (chunk > n)
            chunk = n;
        int rc = shadow_translate(&um->sh, &um->vu, va, acc, um->vu.cpl, &gpa, f);
        if (rc == -2)
            crash(um, "guest memory access", "page-table entry points outside the domain's memory");
        if (rc)
            return -1;
        void *h = shadow_gpa_to_virt(&um->sh, gpa);
        if (write) {
            memcpy(h, p, chunk);
            shadow_guest_write(&um->sh, gpa, chunk);
        } else {
            memcpy(p, h, chunk);
        }
        va += chunk;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

static int mem_read(void *ctx, uint64_t va, void *buf, unsigned int n, unsigned int acc,
                    struct emu_fault *f)
{
    struct unmod_domain *um = ctx;
    /* Fast path at virtual CPL 0: the loaded kernel-view shadow maps what
     * the guest kernel may read, and coherently; only a miss walks. */
    if (kernel_view_loaded(um) && guest_range_ok(va, n) && !raw_copy(buf, (const void *)va, n))
        return 0;
    return mem_access(ctx, va, buf, n, acc, f, false);
}

static int mem_write(void *ctx, uint64_t va, const void *buf, unsigned int n, unsigned int acc,
                     struct emu_fault *f)
{
    return mem_access(ctx, va, (void *)buf, n, acc, f, true);
}

/* Notifies dom0 through the console event channel, if one is set; an
 * error (port closed or not yet bound) is ignored as Xen's would be. */
static void con_notify(struct unmod_domain *um)
{
    if (um->con_evtchn_set) {
        int rc = evtchn_send(um->d, um->con_evtchn);
        (void)rc;
    }
}

/* The guest's xencons_interface page, or NULL when none is set up. */
static struct xencons_interface *con_intf(struct unmod_domain *um)
{
    if (!um->con_pfn_set || um->con_pfn >= um->sh.nr_pages)
        return NULL;
    return mfn_to_virt(um->sh.p2m[um->con_pfn]);
}

static void uart_putc(void *ctx, char ch)
{
    struct unmod_domain *um = ctx;
    struct xencons_interface *intf = con_intf(um);

    /* A domain with a console ring (the toolstack's) writes there only:
     * its output is the domain's, not the hypervisor log's (whose ring it
     * would flood).  A boot-module domain has only the log. */
    if (!intf) {
        if (ch != '\r')
            domain_console_write(um->d, &ch, 1);
        return;
    }
    /* io/console.h discipline; a full ring drops the byte (never blocks). */
    XENCONS_RING_IDX prod = intf->out_prod, cons = intf->out_cons;
    xen_mb();
    if (prod - cons >= sizeof(intf->out))
        return;
    intf->out[MASK_XENCONS_IDX(prod, intf->out)] = ch;
    xen_wmb();
    intf->out_prod = prod + 1;
    con_notify(um);
}

/* Moves what dom0 wrote to the ring's `in` into the UART's receive FIFO
 * (as much as it holds). */
static void con_pull(struct unmod_domain *um)
{
    struct xencons_interface *intf = con_intf(um);
    bool took = false;

    if (!intf)
        return;
    XENCONS_RING_IDX cons = intf->in_cons, prod = intf->in_prod;
    xen_rmb();
    while (cons != prod && prod - cons <= sizeof(intf->in) &&
           um->uart.rx_count < VUART_RX_FIFO) {
        vuart_receive(&um->uart, intf->in[MASK_XENCONS_IDX(cons, intf->in)]);
        cons++;
        took = true;
    }
    if (took) {
        xen_mb();
        intf->in_cons = cons;
        con_notify(um);
    }
}

static void timers_changed(struct unmod_domain *um);

static uint8_t io_in8(struct unmod_domain *um, unsigned int port)
{
    uint64_t now = NOW();
    switch (port) {
    case 0x20: case 0x21: case 0xa0: case 0xa1:
        return vpic_read(&um->pic, port);
    case 0x40: case 0x41: case 0x42: case 0x43:
        return vpit_read(&um->pit, port, now);
    case 0x61:
        return vpit_port61_read(&um->pit, now);
    default:
        if (port >= 0x3f8 && port <= 0x3ff) {
            con_pull(um);
            return vuart_read(&um->uart, port - 0x3f8);
        }
        return 0xff;                    /* nothing on the bus */
    }
}

static void io_out8(struct unmod_domain *um, unsigned int port, uint8_t val)
{
    uint64_t now = NOW();
    switch (port) {
    case 0x20: case 0x21: case 0xa0: case 0xa1:
        vpic_write(&um->pic, port, val);
        break;
    case 0x40: case 0x41: case 0x42: case 0x43:
        vpit_write(&um->pit, port, val, now);
        timers_changed(um);
        break;
    case 0x61:
        vpit_port61_write(&um->pit, val, now);
        break;
    default:
        if (port >= 0x3f8 && port <= 0x3ff)
            vuart_write(&um->uart, port - 0x3f8, val, uart_putc, um);
        break;
    }
}

static uint32_t io_in(void *ctx, unsigned int port, unsigned int size)
{
    uint32_t v = 0;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint32_t)io_in8(ctx, port + i) << (8 * i);
    return v;
}

static void io_out(void *ctx, unsigned int port, unsigned int size, uint32_t val)
{
    struct unmod_domain *um = ctx;
    if (port == PORT_DEBUG_EXIT) {
        /* The machine's power-off device is this domain's. */
        domain_shutdown(um->d, (val & 0xff) == DEBUG_EXIT_CLEAN ? SHUTDOWN_poweroff
                                                                : SHUTDOWN_crash);
        return;
    }
    if (port == 0x604 && size == 2 && (val & 0x2000)) {     /* ACPI PM1a S5 */
        domain_shutdown(um->d, SHUTDOWN_poweroff);
        return;
    }
    for (unsigned int i = 0; i < size; i++)
        io_out8(um, port + i, (uint8_t)(val >> (8 * i)));
}

static const struct emu_ops unmod_ops = {
    .read = mem_read, .write = mem_write, .io_in = io_in, .io_out = io_out,
};

static void ctxt_init(struct emu_ctxt *c, struct unmod_domain *um, struct cpu_regs *regs)
{
    *c = (struct emu_ctxt){ .regs = regs, .vu = &um->vu, .ops = &unmod_ops, .ctx = um };
}

/* ---- timers and interrupts --------------------------------------------- */

static void timers_changed(struct unmod_domain *um)
{
    sched_timers_changed(um->d->vcpu[0]);
}

/* Console input on the xencons ring is polled (con_pull) this often while
 * the toolstack has given the domain one. */
#define CON_POLL_NS 5000000ULL

uint64_t unmod_timer_deadline(struct vcpu *v)
{
    struct unmod_domain *um = um_of(v);
    uint64_t dl = vpit_irq0_deadline(&um->pit);

    if (um->con_pfn_set) {
        uint64_t poll = NOW() + CON_POLL_NS;

        if (!dl || poll < dl)
            dl = poll;
    }
    return dl;
}

void unmod_timer_tick(struct vcpu *v, uint64_t now)
{
    struct unmod_domain *um = um_of(v);
    uint64_t dl = vpit_irq0_deadline(&um->pit);
    if (dl && dl <= now && vpit_irq0_expire(&um->pit, now)) {
        vpic_set_irq(&um->pic, 0, true);
        vpic_set_irq(&um->pic, 0, false);
    }
    /* Console input is polled here: a byte raises IRQ4 if the guest
     * enabled the receive interrupt. */
    con_pull(um);
    vpic_set_irq(&um->pic, 4, vuart_irq(&um->uart));
    if (vpic_pending_vector(&um->pic) >= 0 && um->vu.vif)
        vcpu_kick(v);
}

/* Delivers vec; a fault while delivering becomes #DF, a fault while
 * delivering #DF kills the domain (a triple fault resets a real machine). */
static void deliver(struct unmod_domain *um, struct cpu_regs *regs, unsigned int vec,
                    bool has_ec, uint32_t ec, bool soft)
{
    struct emu_ctxt c;
    ctxt_init(&c, um, regs);
    um->injections++;
    int rc = emu_deliver(&c, vec, has_ec, ec, soft);
    if (rc == EMU_FAULT) {
        ctxt_init(&c, um, regs);
        rc = emu_deliver(&c, 8, true, 0, false);
        if (rc == EMU_FAULT)
            crash(um, "triple fault", "cannot deliver a double fault");
    }
    if (rc == EMU_UNHANDLED) {
        char why[96];
        snprintf(why, sizeof(why), "exception %u: %s", vec, c.why);
        crash(um, "cannot deliver", why);
    }
}

static void deliver_fault(struct unmod_domain *um, struct cpu_regs *regs,
                          const struct emu_fault *f)
{
    if (f->vector == 14)
        um->vu.cr2 = f->cr2;
    deliver(um, regs, f->vector, f->has_ec, f->ec, false);
}

/* Acts on what an emulation changed. */
static void handle_events(struct unmod_domain *um, struct vcpu *v, const struct emu_ctxt *c)
{
    if (c->events & EMU_EV_PAGING) {
        write_cr3(idle_cr3());
        shadow_reset(&um->sh);
    }
    if (c->events & EMU_EV_INVLPG)
        invlpg(c->invlpg_va);
    if (c->events & EMU_EV_SEGBASE)
        unmod_load_segments(v);
    if (c->events & EMU_EV_HALT) {
        if (!um->vu.vif)
            crash(um, "hlt", "halted with interrupts disabled");
        if (vpic_pending_vector(&um->pic) < 0) {
            v->state = VCPU_BLOCKED;
            need_resched = true;
        }
    }
}

static void run_emulator(struct unmod_domain *um, struct vcpu *v, struct cpu_regs *regs)
{
    struct emu_ctxt c;
    ctxt_init(&c, um, regs);
    um->emulations++;
    int rc = emulate_insn(&c);
    if (rc == EMU_FAULT) {
        deliver_fault(um, regs, &c.fault);
        return;
    }
    if (rc == EMU_UNHANDLED) {
        uint8_t b[8] = { 0 };
        struct emu_fault f;
        char why[128];
        mem_read(um, regs->rip, b, sizeof(b), EMU_ACC_X, &f);
        snprintf(why, sizeof(why), "%s [%02x %02x %02x %02x %02x %02x]", c.why,
                 b[0], b[1], b[2], b[3], b[4], b[5]);
        crash(um, "cannot emulate", why);
    }
    handle_events(um, v, &c);
}

/* Offsets in the saved frame of the GPRs in x86 numbering (0 rax .. 4 rsp
 * .. 15 r15): the frame is Xen's cpu_user_regs order, not the encoding's. */
static const uint8_t frame_gpr_offset[16] = {
    offsetof(struct cpu_regs, rax), offsetof(struct cpu_regs, rcx),
    offsetof(struct cpu_regs, rdx), offsetof(struct cpu_regs, rbx),
    offsetof(struct cpu_regs, rsp), offsetof(struct cpu_regs, rbp),
    offsetof(struct cpu_regs, rsi), offsetof(struct cpu_regs, rdi),
    offsetof(struct cpu_regs, r8), offsetof(struct cpu_regs, r9),
    offsetof(struct cpu_regs, r10), offsetof(struct cpu_regs, r11),
    offsetof(struct cpu_regs, r12), offsetof(struct cpu_regs, r13),
    offsetof(struct cpu_regs, r14), offsetof(struct cpu_regs, r15),
};

/* GPR n (0-15, x86 numbering) in the saved frame. */
static inline uint64_t *frame_gpr(struct cpu_regs *regs, unsigned int n)
{
    return (uint64_t *)((char *)regs + frame_gpr_offset[n & 15]);
}

/* What fast_privop() did. */
enum fast_result {
    FAST_NO,        /* not one of its instructions: nothing changed */
    FAST_DONE,      /* done; the exit must recompute (CR3 changed) */
    FAST_RESUME,    /* done, and only rip moved (to a canonical address):
                     * the frame may be resumed as it is */
};

/*
 * The hottest privileged instructions of a 64-bit kernel at virtual CPL 0,
 * done without the general decoder: cli, sti (not `sti; hlt`), mov from
 * CR0/CR2/CR3/CR4 and mov to CR2/CR3, with a legacy or REX.B register.
 * None of them changes what unmod_exit_prepare() computes except a mov to
 * CR3 with a new value (its shadow is found on the way out); cli and sti
 * deliver nothing now (sti's shadow holds interrupts for one instruction).
 */
static enum fast_result fast_privop(struct unmod_domain *um, struct cpu_regs *regs)
{
    struct vcpu_unmod *vu = &um->vu;
    uint64_t rip = regs->rip;
    uint32_t w;

    /* Virtual CPL 0, 64-bit code, and the CPU still on this vCPU's kernel
     * view (a guest's bytes are never read through anyone else's tables). */
    if (!kernel_view_loaded(um))
        return FAST_NO;
    /* Never read the hypervisor's range (supervisor mappings are present
     * in every shadow).  Wrapping past 2^64 reads guest page 0; an unmapped
     * or non-canonical address faults and the read fails. */
    if (rip + sizeof(w) > HV_VIRT_START && rip < HV_VIRT_END)
        return FAST_NO;
    if (!raw_read_u32(&w, (const void *)rip))
        return FAST_NO;

    unsigned int b0 = w & 0xff, rexb = 0, len = 3;
    enum fast_result r = FAST_RESUME;
    if (b0 == 0xfa) {                               /* cli */
        vu->vif = false;
        len = 1;
        goto done;
    }
    if (b0 == 0xfb) {                               /* sti */
        if (((w >> 8) & 0xff) == 0xf4)
            return FAST_NO;                           /* sti; hlt: one emulation */
        vu->vif = true;
        vu->sti_shadow = true;
        len = 1;
        goto done;
    }
    if (b0 == 0x41) {                               /* REX.B */
        w >>= 8;
        rexb = 8;
        len = 4;
    }
    /* 0F 20 /r (mov from CRn) or 0F 22 /r (mov to CRn), register form. */
    unsigned int modrm = (w >> 16) & 0xff;
    if ((w & 0xfdff) != 0x200f || modrm < 0xc0)
        return FAST_NO;
    unsigned int cr = (modrm >> 3) & 7;
    uint64_t *gr = frame_gpr(regs, (modrm & 7) | rexb);
    if (w & 0x200) {
        if (cr == 3) {
            uint64_t cr3 = *gr & 0x000ffffffffff000UL;
            /* A new CR3 gets its shadow on the way out (unmod_vcpu_cr3()
             * sees the key change); the same CR3 keeps it. */
            if (cr3 != vu->cr3)
                r = FAST_DONE;
            vu->cr3 = cr3;
        } else if (cr == 2) {
            vu->cr2 = *gr;
        } else {
            return FAST_NO;   /* CR0/CR4 writes may change the paging mode */
        }
    } else {
        switch (cr) {
        case 0: *gr = vu->cr0; break;
        case 2: *gr = vu->cr2; break;
        case 3: *gr = vu->cr3; break;
        case 4: *gr = vu->cr4; break;
        default: return FAST_NO;
        }
    }
done:
    regs->rip = rip + len;
    /* The read of rip..rip+3 proves rip + len canonical except when the
     * instruction ends exactly at the top of the lower half: then the full
     * exit refuses the frame. */
    return canonical_addr(rip + len) ? r : FAST_DONE;
}

/* unmod_trap() for everything fast_privop() does not do; returns false
 * (the frame always needs the full exit). */
static __attribute__((noinline)) bool trap_full(struct unmod_domain *um, struct vcpu *v,
                                                struct cpu_regs *regs, unsigned int vec)
{
    struct emu_fault f;
    const char *why = "";

    switch (vec) {
    case 14: {
        uint64_t va = read_cr2();
        int rc = shadow_fault(&um->sh, &um->vu, view_of(um), va, regs->error_code, &f, &why);
        if (rc == SH_INJECT)
            deliver_fault(um, regs, &f);
        else if (rc == SH_EMULATE)
            run_emulator(um, v, regs);
        else if (rc == SH_BAD)
            crash(um, "page fault", why);
        return false;
    }
    case 13:
        run_emulator(um, v, regs);
        return false;
    case 2: case 18:
        return false;
    case 8: case 10: case 11: case 12: case 17: case 21: case 29: case 30:
        deliver(um, regs, vec, true, regs->error_code, false);
        return false;
    default:
        deliver(um, regs, vec, false, 0, false);
        return false;
    }
}

bool unmod_trap(struct vcpu *v, struct cpu_regs *regs, unsigned int vec)
{
    struct unmod_domain *um = um_of(v);

    um->traps++;
    um->vu.sti_shadow = false;
    if (vec == X86_EXC_GP) {
        enum fast_result r = fast_privop(um, regs);
        if (r != FAST_NO)
            return r == FAST_RESUME;
    }
    return trap_full(um, v, regs, vec);
}

void unmod_syscall(struct vcpu *v, struct cpu_regs *regs)
{
    struct unmod_domain *um = um_of(v);
    struct emu_ctxt c;

    um->syscalls++;
    um->vu.sti_shadow = false;
    ctxt_init(&c, um, regs);
    if (emu_syscall(&c) == EMU_FAULT)
        deliver_fault(um, regs, &c.fault);
}

void unmod_interrupted(struct vcpu *v)
{
    um_of(v)->vu.sti_shadow = false;
}

void unmod_exit_prepare(struct vcpu *v, struct cpu_regs *regs)
{
    struct unmod_domain *um = um_of(v);

    /* No event upcall for this kind: its interrupts are the vPIC's, checked
     * below on every full exit. */
    exit_work.event = false;

    if (um->vu.vif && !um->vu.sti_shadow && (um->pic.chip[0].irr | um->pic.chip[1].irr) &&
        vpic_pending_vector(&um->pic) >= 0) {
        int vec = vpic_ack(&um->pic);
        if (vec >= 0)
            deliver(um, regs, (unsigned int)vec, false, 0, false);
    }
    unsigned long cr3 = unmod_vcpu_cr3(v);
    if (cr3 != read_cr3())
        write_cr3(cr3);
    if (um->vu.cs64) {
        regs->cs = FLAT_RING3_CS64;
    } else {
        regs->cs = FLAT_RING3_CS32;
        /* 32-bit code needs usable data segments (null ones fault there). */
        load_data_segments(FLAT_RING3_DS32);
    }
}

unsigned long unmod_vcpu_cr3(struct vcpu *v)
{
    struct unmod_domain *um = um_of(v);
    /* The lookup scans the pool: reuse the last answer until CR3, the view
     * or the shadows change. */
    if (um->loaded_cr3 && !um->sh.reset_pending && um->loaded_key == um->vu.cr3 &&
        um->loaded_view == view_of(um) && um->loaded_pg == (um->vu.cr0 & X86_CR0_PG))
        return um->loaded_cr3;
    unsigned long cr3 = shadow_cr3(&um->sh, &um->vu, view_of(um));
    um->loaded_cr3 = cr3;
    um->loaded_key = um->vu.cr3;
    um->loaded_view = view_of(um);
    um->loaded_pg = um->vu.cr0 & X86_CR0_PG;
    return cr3 ? cr3 : idle_cr3();
}

void unmod_load_segments(struct vcpu *v)
{
    struct unmod_domain *um = um_of(v);
    wrmsr(MSR_FS_BASE, um->vu.fs_base);
    wrmsr(MSR_GS_BASE, um->vu.gs_base);
}

/* ---- build and destroy -------------------------------------------------- */

static void *map_pfn(void *ctx, uint64_t pfn)
{
    struct unmod_domain *um = ctx;
    return mfn_to_virt(um->sh.p2m[pfn]);
}

int unmod_domain_create(struct domain *d)
{
    struct unmod_domain *um = xzalloc_bytes(sizeof(*um));

    if (!um)
        return -XEN_ENOMEM;
    if (shadow_init(&um->sh, 0)) {
        xfree(um);
        return -XEN_ENOMEM;
    }
    um->sh_ready = true;
    um->d = d;
    d->unmod = um;
    d->vcpu_ops = &unmod_vcpu_ops;

    struct vcpu_unmod *vu = &um->vu;
    vu->cr0 = X86_CR0_PE | X86_CR0_ET;
    vu->apic_base = 0xfee00900;             /* BSP, enabled, default base */
    vu->pat = 0x0007040600070406UL;         /* power-on PAT */
    vu->gdtr_limit = vu->idtr_limit = 0xffff;
    vpic_init(&um->pic);
    vpit_init(&um->pit);
    vuart_init(&um->uart);
    return 0;
}

int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn)
{
    struct unmod_domain *um = d->unmod;

    if (!um || gpfn >= UNMOD_MAX_PAGES || !mfn || mfn > UINT32_MAX)
        return -XEN_EINVAL;
    if (shadow_p2m_reserve(&um->sh, gpfn))
        return -XEN_ENOMEM;
    if (um->sh.p2m[gpfn])
        return -XEN_EINVAL;
    um->sh.p2m[gpfn] = (uint32_t)mfn;
    /* Guest RAM is the populated run from PFN 0: a hole never maps MFN 0. */
    while (um->sh.nr_pages < um->sh.p2m_cap && um->sh.p2m[um->sh.nr_pages])
        um->sh.nr_pages++;
    return 0;
}

unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn)
{
    struct unmod_domain *um = d->unmod;

    if (!um || gfn >= um->sh.p2m_cap || !um->sh.p2m[gfn])
        return INVALID_MFN;
    return um->sh.p2m[gfn];
}

void unmod_vcpu_start(struct vcpu *v, uint32_t entry, uint32_t eax, uint32_t ebx)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rip = entry;
    v->regs.rax = eax;
    v->regs.rbx = ebx;
    v->regs.cs = FLAT_RING3_CS32;
    v->regs.ss = FLAT_RING3_DS32;
    v->regs.rflags = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    v->kernel_mode = true;
    v->state = VCPU_RUNNABLE;
    sched_timer_requeue(v);
}

int unmod_hvm_param(struct domain *d, uint32_t index, uint64_t *value, bool set)
{
    struct unmod_domain *um = d->unmod;

    if (!um)
        return -XEN_EINVAL;
    switch (index) {
    case HVM_PARAM_CONSOLE_PFN:
        if (set) {
            if (*value >= UNMOD_MAX_PAGES)
                return -XEN_EINVAL;
            um->con_pfn = *value;
            um->con_pfn_set = true;
            sched_timer_requeue(d->vcpu[0]);    /* console polling starts */
        } else {
            *value = um->con_pfn_set ? um->con_pfn : 0;
        }
        return 0;
    case HVM_PARAM_CONSOLE_EVTCHN:
        if (set) {
            if (*value == 0 || *value >= EVTCHN_MAX_PORTS)
                return -XEN_EINVAL;
            um->con_evtchn = (uint32_t)*value;
            um->con_evtchn_set = true;
        } else {
            *value = um->con_evtchn_set ? um->con_evtchn : 0;
        }
        return 0;
    default:
        return -XEN_EINVAL;
    }
}

struct domain *build_unmod_domain(unsigned int id, const void *image, unsigned long size,
                                  const char *cmdline, unsigned long nr_pages)
{
    struct unmod_domain *um;
    struct mb_build_result r;
    const char *why = "";
    int rc;

    if (nr_pages > UNMOD_MAX_PAGES)
        nr_pages = UNMOD_MAX_PAGES;
    struct domain *d = domain_create(id, false, nr_pages);
    if (!d) {
        printk("d%u: cannot create domain\n", id);
        return NULL;
    }
    if (unmod_domain_create(d)) {
        printk("d%u: no memory for an unmodified domain's shadow state\n", id);
        goto fail;
    }
    um = d->unmod;
    for (unsigned long pfn = 0; pfn < nr_pages; pfn++) {
        unsigned long mfn;
        if (alloc_domain_frame(d, &mfn)) {
            printk("d%u: out of memory after %lu of %lu frames\n", id, pfn, nr_pages);
            goto fail;
        }
        m2p_table[mfn] = pfn;
        if (unmod_set_p2m(d, pfn, mfn))
            goto fail;
    }
    struct mb_build_params p = { .nr_pages = nr_pages, .cmdline = cmdline };
    struct mb_build_ops ops = { .map_pfn = map_pfn, .ctx = um };
    if ((rc = mb_build(image, size, &p, &ops, &r, &why))) {
        printk("d%u: cannot load the kernel (%d): %s\n", id, rc, why);
        goto fail;
    }
    strncpy(d->cmdline, cmdline ? cmdline : "", sizeof(d->cmdline) - 1);
    unmod_vcpu_start(d->vcpu[0], (uint32_t)r.entry, MB_LOADER_MAGIC, (uint32_t)r.mbi_paddr);
    printk("d%u: unmodified (trap-and-emulate, shadow paging) kernel, %lu MiB, "
           "multiboot entry %lx, cmdline \"%s\"\n", id, nr_pages >> 8,
           (unsigned long)r.entry, d->cmdline);
    return d;

fail:
    domain_destroy(d);
    return NULL;
}

void unmod_domain_destroy(struct domain *d)
{
    struct unmod_domain *um = d->unmod;
    if (!um)
        return;
    printk("d%u: %lu traps, %lu emulated, %lu injected, %lu syscalls; shadow: %lu fills, "
           "%lu page-table writes, %lu guest #PF, %lu resets\n", d->domain_id,
           um->traps, um->emulations, um->injections, um->syscalls, um->sh.fills,
           um->sh.pt_writes, um->sh.injected_pf, um->sh.resets);
    if (um->sh_ready)
        shadow_destroy(&um->sh);
    um->sh_ready = false;
    um->sh.nr_pages = 0;
}

/* vcpu_ops.domain_free: the structure goes once nothing can look at it. */
static void unmod_domain_free(struct domain *d)
{
    xfree(d->unmod);
    d->unmod = NULL;
}

/* vcpu_ops.bad_return: an unmodified guest's own iret/sysret to a
 * non-canonical address is refused by the emulator, so a bad frame here is
 * the emulator's bug or state corruption: the domain is stopped. */
static void unmod_bad_return(struct vcpu *v, struct cpu_regs *regs)
{
    (void)regs;
    domain_crash(v->domain, "non-canonical return address");
}

/* vcpu_ops.set_vcpu_context: the guest starts at user_regs.rip (below
 * 4 GiB, else -XEN_EINVAL) with eax/ebx as a multiboot loader leaves them. */
static int unmod_set_vcpu_context(struct vcpu *v, const struct vcpu_guest_context *c)
{
    if (c->user_regs.rip >> 32)
        return -XEN_EINVAL;
    unmod_vcpu_start(v, (uint32_t)c->user_regs.rip, (uint32_t)c->user_regs.rax,
                     (uint32_t)c->user_regs.rbx);
    return 0;
}

const struct vcpu_ops unmod_vcpu_ops = {
    .name = "unmodified",
    .trap = unmod_trap,
    .syscall = unmod_syscall,
    .interrupted = unmod_interrupted,
    .exit_prepare = unmod_exit_prepare,
    .bad_return = unmod_bad_return,
    .load_segments = unmod_load_segments,
    .cr3 = unmod_vcpu_cr3,
    .timer_deadline = unmod_timer_deadline,
    .timer_tick = unmod_timer_tick,
    .domain_destroy = unmod_domain_destroy,
    .domain_free = unmod_domain_free,
    .set_vcpu_context = unmod_set_vcpu_context,
    .hvm_param = unmod_hvm_param,
    .hvm_guest = true,
};
