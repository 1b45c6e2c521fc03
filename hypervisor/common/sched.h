/*
 * sched.h - domains, vCPUs and the scheduler.
 *
 * Runs in ring 0 with interrupts off (the hypervisor is non-reentrant: every
 * entry from a guest runs with IF=0 until it returns).  Host unit tests
 * include this header to build struct domain/vcpu objects.
 */
#ifndef LAMINA_SCHED_H
#define LAMINA_SCHED_H

#include <lamina/xen.h>
#include "lib/lib.h"
#include "arch/x86/x86.h"
#include "mm/mm.h"
#include "common/event.h"

struct grant_table;

/*
 * Guest register frame saved on entry to the hypervisor, in Xen's
 * struct cpu_user_regs order (public/arch-x86/xen-x86_64.h) up to ss; the
 * last five words are the hardware interrupt frame.
 */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rax, rcx, rdx, rsi, rdi;
    uint32_t error_code, entry_vector;
    uint64_t rip, cs, rflags, rsp, ss;
};

enum vcpu_state {
    VCPU_DOWN = 0,      /* not started, or VCPUOP_down */
    VCPU_RUNNABLE,      /* on the run queue (or running) */
    VCPU_BLOCKED,       /* SCHEDOP_block: waits for an event */
    VCPU_POLLING,       /* SCHEDOP_poll: waits for one of poll_ports or timeout */
    VCPU_PAUSED,        /* domain paused or dying */
};

struct vcpu {
    int vcpu_id;
    struct domain *domain;
    enum vcpu_state state;
    struct cpu_regs regs;           /* guest state while not running */
    struct vcpu_info *vcpu_info;    /* in the domain's shared_info */

    /* PV state (Xen's arch.pv). */
    bool kernel_mode;               /* TF_kernel_mode: on the kernel L4 */
    bool hypercall_fast;            /* entry.S may run a syscall as a hypercall
                                     * on its fast path: PV, kernel mode, no
                                     * breakpoints (pv_update_hypercall_fast) */
    bool syscall_fast;              /* entry.S may bounce a syscall from guest
                                     * user mode on its fast path: PV, user
                                     * mode, no breakpoints (same function) */
    unsigned long guest_table;      /* MFN of the kernel L4 (0: none) */
    unsigned long guest_table_user; /* MFN of the user L4 (0: none) */
    unsigned long kernel_ss, kernel_sp;   /* HYPERVISOR_stack_switch */
    bool kernel_sp_bounce_ok;       /* a syscall bounce frame fits below
                                     * kernel_sp (pv_kernel_sp_changed) */
    struct trap_info trap_ctxt[256];      /* HYPERVISOR_set_trap_table */
    unsigned long event_callback_eip;
    unsigned long failsafe_callback_eip;
    unsigned long syscall_callback_eip;
    bool syscall_disables_events;   /* CALLBACKF_mask_events on the syscall callback */
    uint64_t fs_base, gs_base_kernel, gs_base_user;
    unsigned int iopl;              /* PHYSDEVOP_set_iopl */
    bool fpu_ts;                    /* fpu_taskswitch: virtual CR0.TS */
    unsigned long debugreg[8];      /* HYPERVISOR_set_debugreg; [6] is the
                                     * virtual DR6 */
    bool pending_db;                /* a #DB matched in hypervisor context,
                                     * delivered on the next exit */

    /* Guest GDT (HYPERVISOR_set_gdt): its frames, held as PGT_seg_desc_page. */
    unsigned long gdt_frames[16];
    unsigned int gdt_ents;
    /* Guest LDT (MMUEXT_SET_LDT): its linear base and frames, held as
     * PGT_seg_desc_page; copied into the CPU's LDT when v runs. */
    uint64_t ldt_base;
    unsigned long ldt_frames[16];
    unsigned int ldt_ents;

    /* Timers, in ns of system time (NOW()); 0 = not armed. */
    uint64_t singleshot_deadline;
    uint64_t periodic_period, periodic_next;

    /* SCHEDOP_poll */
    uint32_t poll_ports[8];
    unsigned int nr_poll_ports;
    uint64_t poll_deadline;

    int virq_to_evtchn[NR_VIRQS];
    struct vcpu *runq_next, *runq_prev;   /* schedule.c's list of vCPUs */
    bool on_runq;
    uint64_t timer_at;              /* key in schedule.c's timer heap (ns of
                                     * NOW()); 0: not in it */
    unsigned int theap_idx;         /* its slot there */
    uint64_t cpu_time_ns;           /* time spent running */
    uint64_t last_run_ns;           /* NOW() when it was last scheduled in */
    uint64_t fxsave[64] __attribute__((aligned(16)));  /* 512-byte FXSAVE area */
};

/* The L4 v runs on now, as a CR3 value (mm.h): the user table in guest
 * user mode when it has one, else the kernel table.  Inline: every PV
 * system call switches it. */
static inline unsigned long mm_vcpu_cr3(const struct vcpu *v)
{
    unsigned long mfn = v->guest_table;

    if (!v->kernel_mode && v->guest_table_user)
        mfn = v->guest_table_user;
    return mfn << PAGE_SHIFT;
}

/* An event upcall is due for v: pending and not masked in its vcpu_info
 * (Xen public/xen.h).  Every return that skips exit_prepare() asks this. */
static inline bool vcpu_event_due(const struct vcpu *v)
{
    return v->vcpu_info->evtchn_upcall_pending && !v->vcpu_info->evtchn_upcall_mask;
}

/*
 * What a kind of guest does at the points where common code meets it (as
 * Xen splits pv_ and hvm_ functions): each kind has one table (PV:
 * pv/traps.c pv_vcpu_ops; unmodified: unmod/unmod.c unmod_vcpu_ops), set
 * in struct domain when the domain is created.  Common code calls through
 * it and never asks which kind a guest is.  All run in ring 0 with
 * interrupts off, for v == current unless said otherwise; members marked
 * optional may be NULL.
 */
struct vcpu_guest_context;
struct vcpu_ops {
    const char *name;           /* "PV", "unmodified": for messages */
    /* Exception vec (0-31) taken in v's guest context, frame regs (the
     * guest's, edited in place).  May crash v's domain (then no return).
     * Returns true only when regs is a frame exit_prepare() would leave
     * as it is (canonical rip, the kind's own selectors, IF 1, IOPL 0) and
     * nothing else it computes can have changed (no event due): entry.S
     * then IRETs to the guest straight away unless exit_work has something
     * to do (a PV page fault's bounce, an unmodified guest's emulated
     * instruction).  False otherwise (always a correct answer). */
    bool (*trap)(struct vcpu *v, struct cpu_regs *regs, unsigned int vec);
    /* `syscall` executed by v's guest (a hypercall or a system call). */
    void (*syscall)(struct vcpu *v, struct cpu_regs *regs);
    /* Optional: an external interrupt arrived while v ran in the guest. */
    void (*interrupted)(struct vcpu *v);
    /* Last step before regs returns to v's guest: deliver what is pending
     * (events, virtual interrupts, queued #DB) by editing regs. */
    void (*exit_prepare)(struct vcpu *v, struct cpu_regs *regs);
    /* regs would return to a non-canonical rip (exit_frame_sanitise()
     * said EXIT_GP): make the guest see what it would on hardware, or
     * crash its domain. */
    void (*bad_return)(struct vcpu *v, struct cpu_regs *regs);
    /* Context switch to v: its FS/GS bases (and what else its kind keeps
     * in segment state) onto the CPU. */
    void (*load_segments)(struct vcpu *v);
    /* Machine address of the L4 v runs on now (loaded into CR3). */
    unsigned long (*cr3)(struct vcpu *v);
    /* Optional: v's next own timer deadline (ns of NOW()), 0 = none; any
     * vCPU on the run queue, not only current. */
    uint64_t (*timer_deadline)(struct vcpu *v);
    /* Optional: runs v's own timers due at now (ns of NOW()). */
    void (*timer_tick)(struct vcpu *v, uint64_t now);
    /* XEN_DOMCTL_setvcpucontext for v (not running): loads c and makes v
     * runnable.  0, or -XEN_EINVAL (and the kind's own errors) with v
     * unchanged where the check comes before any change. */
    int (*set_vcpu_context)(struct vcpu *v, const struct vcpu_guest_context *c);
    /* Optional: getvcpucontext's kind-specific part (common code has
     * filled user_regs and flags). */
    void (*get_vcpu_context)(struct vcpu *v, struct vcpu_guest_context *c);
    /* Optional: HVMOP_{set,get}_param on d (NULL: -XEN_EINVAL, as Xen
     * for a PV domain). */
    int (*hvm_param)(struct domain *d, uint32_t index, uint64_t *value, bool set);
    /* getdomaininfo reports XEN_DOMINF_hvm_guest for the kind's domains. */
    bool hvm_guest;
    /* Optional: frees what the kind holds for domain d (domain_destroy(),
     * after its vCPUs are off the run queue, before its memory goes). */
    void (*domain_destroy)(struct domain *d);
    /* Optional: frees the kind's structures of d, destroyed earlier, when
     * nothing can still reach them (domain_reap()). */
    void (*domain_free)(struct domain *d);
};

struct domain {
    domid_t domain_id;
    const struct vcpu_ops *vcpu_ops;    /* the kind of guest: never NULL */
    bool is_privileged;             /* dom0 */
    bool is_dying;
    bool is_shutting_down;          /* shut down or crashed, vCPUs stopped */
    unsigned int shutdown_code;     /* SHUTDOWN_* */
    unsigned int pause_count;       /* XEN_DOMCTL_pausedomain nesting; runs at 0 */
    bool is_toolstack;              /* made by XEN_DOMCTL_createdomain: kept at
                                     * shutdown until XEN_DOMCTL_destroydomain */
    xen_domain_handle_t handle;     /* XEN_DOMCTL_setdomainhandle (a UUID) */
    struct vcpu *vcpu[MAX_VCPUS_PER_DOM];
    unsigned int max_vcpus;

    struct shared_info *shared_info;
    unsigned long shared_info_mfn;
    unsigned long vm_assist;        /* VMASST_TYPE_* bits */

    /* Memory accounting (frames). */
    unsigned long tot_pages, max_pages;
    unsigned long page_list_head;   /* MFN, INVALID_MFN when empty */
    unsigned long start_info_mfn;
    struct log_dirty log_dirty;     /* mm/mm.h log-dirty mode: live migration */

    struct evtchn_domain evtchn;
    struct grant_table *grant_table;    /* grant_table.c; NULL only while
                                         * being created or destroyed */

    /* Console: bytes written by console_io, printed with a "(dN) " prefix
     * one line at a time. */
    char con_buf[256];
    unsigned int con_len;
    char cmdline[1024];
    /* Unmodified (trap-and-emulate) domain state, unmod.c; NULL for PV. */
    struct unmod_domain *unmod;
    struct domain *reap_next;       /* destroyed, waiting for domain_reap() */
};

/* Log-dirty mode (mm/mm.h): records that frame mfn of d was written, when
 * d is in log-dirty mode (d may be NULL: an ownerless frame).  Costs one
 * test when it is not. */
static inline void paging_mark_dirty(struct domain *d, unsigned long mfn)
{
    if (__builtin_expect(d != NULL && d->log_dirty.bitmap != NULL, 0))
        paging_mark_dirty_slow(d, mfn);
}

extern struct vcpu *current;            /* the running vCPU; NULL when idle */

/*
 * What the next return to a guest must do before entry.S may take its fast
 * return (Xen's softirq_pending and TRAP_syscall): each member is set where
 * the state it names changes, and the fast path tests the whole word once.
 * A return with any member set goes through exit_prepare(), which does the
 * work and clears them (resched in schedule(), event in the kind of guest's
 * exit_prepare).  Runs in ring 0 with interrupts off.
 */
union exit_work {
    struct {
        bool resched;   /* schedule() must run: a vCPU woke, current blocked,
                         * stopped or went away, its slice ended */
        uint8_t frame;  /* EXIT_FRAME_CHECK: guest_frame's rip/cs/rflags/
                         * rsp/ss/rcx/r11 were rewritten (iret, bounce,
                         * continuation, switch); EXIT_FRAME_IRET: rewritten
                         * by HYPERVISOR_iret into what exit_prepare() would
                         * leave of it, for IRET (not SYSRET) */
        bool event;     /* current's evtchn_upcall_pending may be set:
                         * check it (and the mask) on the way out */
        bool debug;     /* a #DB for current was queued in hypervisor
                         * context (vcpu.pending_db) */
    };
    uint32_t any;
};
extern union exit_work exit_work;
/* exit_work.frame (0: the frame is as the CPU pushed it, or checked). */
#define EXIT_FRAME_CHECK 1
#define EXIT_FRAME_IRET  2
/* exit_work.any when only EXIT_FRAME_IRET is set: the hypercall fast path
 * IRETs from the frame (entry.S). */
#define EXIT_WORK_IRET_ONLY \
    ((uint32_t)EXIT_FRAME_IRET << (8 * __builtin_offsetof(union exit_work, frame)))
#define need_resched (exit_work.resched)

/* Looks up a live domain by id (DOMID_SELF: current's); NULL if none or
 * dying. */
struct domain *domain_lookup(domid_t id);
/* The domain with id (live, or stopped and kept for the toolstack); NULL
 * if none or id >= DOMID_FIRST_RESERVED. */
struct domain *domain_by_id(domid_t id);

/* Makes v runnable if it is blocked/polling (an event or timer arrived). */
void vcpu_kick(struct vcpu *v);
/* Kills d (SHUTDOWN_crash): prints why, tears it down (a toolstack domain
 * is only stopped, as domain_shutdown() does) and schedules away if it was
 * current.  Never returns if d == current->domain. */
void domain_crash(struct domain *d, const char *why);

/* System time in ns since boot (TSC based); what vcpu_time_info describes. */
uint64_t NOW(void);

#endif
