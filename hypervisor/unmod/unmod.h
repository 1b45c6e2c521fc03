/*
 * unmod.h - unmodified guests: the virtual CPU that trap-and-emulate keeps
 * for a kernel built for bare metal (guest-port/native), the instruction
 * emulator's interface, shadow page tables and the domain glue.
 *
 * An unmodified guest runs in real ring 3.  Its privileged instructions
 * fault (#GP) and are emulated against struct vcpu_unmod (emulate.c); its
 * page tables are shadowed (shadow.c): the CPU walks shadow tables built from
 * the guest's own, in two views per guest CR3 (virtual ring 0: every guest
 * mapping user-accessible; virtual ring 3: only the guest's user mappings),
 * and guest page-table pages are write-protected so every write to them is
 * emulated and propagated.  unmod.c ties this to domains, traps, the
 * virtual PIC/PIT/UART (vdev.h) and interrupt injection.
 *
 * Runs in ring 0 with interrupts off; emulate.c is also compiled on the
 * host by tests/unit/test_emulate.c (no hypervisor state, memory and ports
 * through struct emu_ops).
 */
#ifndef LAMINA_UNMOD_H
#define LAMINA_UNMOD_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/x86.h"

struct cpu_regs;
struct vcpu;
struct domain;

/* Control-register, EFER and RFLAGS bits: arch/x86/x86-defns.h. */

/* Segment registers, hardware numbering (x86_decode.h enum x86_seg). */
#define VSEG_ES 0
#define VSEG_CS 1
#define VSEG_SS 2
#define VSEG_DS 3
#define VSEG_FS 4
#define VSEG_GS 5

/*
 * The virtual CPU of an unmodified guest: everything the guest believes
 * about its processor that the real one does not hold for it.  RIP, RSP,
 * the GPRs and the arithmetic flags live in the real register frame.
 */
struct vcpu_unmod {
    unsigned int cpl;           /* virtual privilege level: 0 or 3 */
    bool cs64;                  /* running 64-bit code (else 32-bit) */
    bool vif;                   /* virtual RFLAGS.IF */
    bool sti_shadow;            /* just executed sti: no interrupt before the next insn */
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t star, lstar, cstar, sfmask;
    uint64_t fs_base, gs_base, kernel_gs_base;
    uint64_t apic_base, tsc_deadline, pat, misc_enable;
    uint64_t gdtr_base, idtr_base;
    uint16_t gdtr_limit, idtr_limit;
    uint16_t ldtr, tr;
    uint64_t tr_base;           /* from the TSS descriptor at ltr time */
    uint16_t sel[6];            /* virtual segment selectors (VSEG_*) */
    uint64_t dr[8];             /* debug registers: stored, not armed */
    unsigned int fault_depth;   /* nested delivery faults (#DF, triple) */
};

/* A fault to deliver to the guest (Intel SDM vol. 3 ch. 6 vectors). */
struct emu_fault {
    uint8_t vector;
    bool has_ec;
    uint32_t ec;
    uint64_t cr2;               /* for #PF */
};

/* Guest memory access kinds for emu_ops.read/write. */
#define EMU_ACC_W    1u         /* a write */
#define EMU_ACC_X    2u         /* an instruction fetch */
#define EMU_ACC_SYS  4u         /* implicit supervisor access (IDT, GDT, TSS, frames) */

/*
 * What the emulator needs from its host: guest linear memory (checked
 * against the guest's own page tables at the virtual CPL, or as supervisor
 * with EMU_ACC_SYS) and I/O ports.  read/write return 0, or -1 after filling
 * *f with the fault the guest must see (#PF with its error code and cr2).
 */
struct emu_ops {
    int (*read)(void *ctx, uint64_t va, void *buf, unsigned int n, unsigned int acc,
                struct emu_fault *f);
    int (*write)(void *ctx, uint64_t va, const void *buf, unsigned int n, unsigned int acc,
                 struct emu_fault *f);
    uint32_t (*io_in)(void *ctx, unsigned int port, unsigned int size);
    void (*io_out)(void *ctx, unsigned int port, unsigned int size, uint32_t val);
};

/* emu_ctxt.events: side effects the host must act on after emulation. */
#define EMU_EV_CR3      (1u << 0)   /* CR3 written: switch shadow tables */
#define EMU_EV_PAGING   (1u << 1)   /* paging mode (CR0.PG/CR4/EFER) changed: drop shadows */
#define EMU_EV_CPL      (1u << 2)   /* virtual CPL changed: switch shadow view */
#define EMU_EV_HALT     (1u << 3)   /* hlt: block until an interrupt */
#define EMU_EV_INVLPG   (1u << 4)   /* invlpg of emu_ctxt.invlpg_va */
#define EMU_EV_SEGBASE  (1u << 5)   /* fs/gs base changed: reload the real ones */
#define EMU_EV_MODE     (1u << 6)   /* cs64 changed (32 <-> 64-bit code) */

/* One emulation: inputs (regs, vu, ops, ctx) and outputs (events, fault). */
struct emu_ctxt {
    struct cpu_regs *regs;
    struct vcpu_unmod *vu;
    const struct emu_ops *ops;
    void *ctx;
    unsigned int events;        /* EMU_EV_* */
    uint64_t invlpg_va;
    struct emu_fault fault;     /* valid after EMU_FAULT */
    const char *why;            /* after EMU_UNHANDLED: what was not emulated */
};

/* Results of the emulator entry points. */
#define EMU_OK          0       /* done; regs/vu updated (rip advanced) */
#define EMU_FAULT       1       /* deliver c->fault (rip not advanced) */
#define EMU_UNHANDLED   2       /* not an instruction Lamina emulates here */

/*
 * Emulates the instruction at regs->rip (fetched through ops->read in the
 * current code size) after it trapped: privileged instructions (cli, sti,
 * hlt, mov CRn/DRn, lgdt/lidt/lldt/ltr/lmsw, sgdt/sidt/sldt/str/smsw under
 * UMIP, invlpg, swapgs, in/out, rdmsr/wrmsr, iretq, sysretq, lretq, far
 * jmp to 64-bit code, wbinvd/invd/clts, int n, segment loads), and the
 * memory-writing instructions a kernel uses on its page tables (mov, xchg,
 * cmpxchg, and, or, stos) when their write trapped.  A privileged
 * instruction at virtual CPL 3 yields EMU_FAULT #GP(0), as on hardware.
 */
int emulate_insn(struct emu_ctxt *c);

/*
 * Delivers vector vec through the guest's IDT (64-bit gates only) as the CPU
 * does: stack switch to TSS.rsp0 or an IST stack, the 5-word frame plus the
 * error code, CS/RIP from the gate, IF cleared for interrupt gates.  soft:
 * an `int n` (gate DPL checked against the CPL; regs->rip already past it).
 * EMU_OK, EMU_FAULT (the IDT or stack was unusable: c->fault is #GP/#PF of
 * the delivery) or EMU_UNHANDLED (32-bit mode: no IDT support).
 */
int emu_deliver(struct emu_ctxt *c, unsigned int vec, bool has_ec, uint32_t ec, bool soft);

/*
 * A `syscall` the guest executed (real regs->rip is past it, rcx/r11
 * clobbered by the CPU): performs the architectural SYSCALL against the
 * virtual MSRs (RCX = return RIP, R11 = virtual RFLAGS, RIP = LSTAR, CPL 0,
 * RFLAGS &= ~SFMASK).  EMU_FAULT #UD when EFER.SCE is clear.
 */
int emu_syscall(struct emu_ctxt *c);

/* Virtual RFLAGS as the guest would read them: the real arithmetic flags with
 * IF replaced by the virtual IF and IOPL 0. */
uint64_t emu_guest_rflags(const struct emu_ctxt *c);

/* ---- unmod.c: domains -------------------------------------------------- */

#ifndef LAMINA_HOST_TEST
/*
 * Builds and starts an unmodified domain from a multiboot kernel image
 * (mb_build.h): nr_pages frames of guest-physical RAM, the kernel loaded as
 * a multiboot loader would, the vCPU started at its 32-bit entry with
 * EAX = 0x2BADB002, EBX = the multiboot info.  NULL on failure (printed).
 */
struct domain *build_unmod_domain(unsigned int id, const void *image, unsigned long size,
                                  const char *cmdline, unsigned long nr_pages);
/* vcpu_ops.trap of an unmodified guest: exception vec (0-31) in frame
 * regs.  Returns true when regs may be resumed as it is. */
bool unmod_trap(struct vcpu *v, struct cpu_regs *regs, unsigned int vec);
/* `syscall` from an unmodified guest. */
void unmod_syscall(struct vcpu *v, struct cpu_regs *regs);
/* Before returning to an unmodified guest: delivers a pending virtual
 * interrupt if its virtual IF allows, and fixes the real CS/DS for its
 * code size. */
void unmod_exit_prepare(struct vcpu *v, struct cpu_regs *regs);
/* CR3 (machine address of the shadow L4) for v's current view. */
unsigned long unmod_vcpu_cr3(struct vcpu *v);
/* Loads v's FS/GS bases onto the CPU (context switch). */
void unmod_load_segments(struct vcpu *v);
/* Runs v's virtual timers that are due at `now` (ns of NOW()): the PIT's
 * IRQ0 edge into the virtual PIC, waking v if it can take it. */
void unmod_timer_tick(struct vcpu *v, uint64_t now);
/* When v's next virtual timer fires (ns of NOW()), 0 = none armed. */
uint64_t unmod_timer_deadline(struct vcpu *v);
/* A physical interrupt arrived while v ran (ends an sti interrupt shadow). */
void unmod_interrupted(struct vcpu *v);
#endif

struct vcpu_ops;
/* Unmodified vCPUs' operations (unmod.c), installed by unmod_domain_create(). */
extern const struct vcpu_ops unmod_vcpu_ops;

/* Domain glue also used by host unit tests (tests/unit/test_domctl.c). */
/* Frees everything unmod.c/shadow.c hold for d (domain destroy). */
void unmod_domain_destroy(struct domain *d);
/*
 * Records gpfn -> mfn in unmodified domain d's P2M, for
 * XENMEM_populate_physmap issued by dom0 on d's behalf (mm_hcall.c).
 * Returns 0; -XEN_EINVAL if d is not unmodified, gpfn is beyond its P2M
 * (UNMOD_MAX_PAGES) or already populated, or mfn is 0 or >= 2^32.  The
 * guest sees RAM [0, n) where n is the first unpopulated PFN.  Implemented
 * in unmod.c.
 */
int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn);
/*
 * The MFN behind guest frame gfn of unmodified domain d (its P2M), or
 * INVALID_MFN when d is not unmodified or gfn is not populated.  dom0 maps
 * an unmodified domain's memory by guest frame number, as Xen's translated
 * guests are mapped (mmu_update with foreigndom = d).
 */
unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn);
/* Attaches the unmodified-domain state (virtual CPU at power-on, PIC, PIT,
 * UART, an empty P2M and the shadow pool) to a fresh domain d; its RAM is
 * the populated run of P2M entries from PFN 0 (unmod_set_p2m).  0, or
 * -XEN_ENOMEM (no free slot or no hypervisor memory; nothing kept). */
int unmod_domain_create(struct domain *d);
/* Starts v as a multiboot loader leaves the CPU: 32-bit protected mode,
 * paging off, flat segments, EIP = entry, EAX/EBX as given; v becomes
 * runnable (it runs once its domain is unpaused). */
void unmod_vcpu_start(struct vcpu *v, uint32_t entry, uint32_t eax, uint32_t ebx);
/* HVMOP_set_param (set) / HVMOP_get_param on unmodified domain d:
 * HVM_PARAM_CONSOLE_PFN (guest frame of a xencons_interface that COM1
 * output is copied to and input read from) and HVM_PARAM_CONSOLE_EVTCHN (d's
 * port, notified when output is added or input consumed).  0; -XEN_EINVAL
 * for another index, a bad value, or a PV domain. */
int unmod_hvm_param(struct domain *d, uint32_t index, uint64_t *value, bool set);

#endif
