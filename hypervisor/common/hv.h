/*
 * hv.h - common/'s interface to the rest of the hypervisor (other folders
 * include this header only): domains and vCPUs (sched.h), event channels
 * (event.h), guest memory access (guest_access.h), continuations, and the
 * core's internal interfaces: boot, console, traps and
 * bounce frames, time, scheduler, domains, hypercall dispatch.
 * Everything here runs in ring 0 with interrupts off.
 */
#ifndef LAMINA_HV_H
#define LAMINA_HV_H

#include "common/sched.h"
#include "common/continuation.h"
#include "common/guest_access.h"

/* isa-debug-exit values: QEMU exits with (value << 1) | 1. */
#define POWEROFF_CLEAN  0x10    /* dom0 shut down with SHUTDOWN_poweroff */
#define POWEROFF_CRASH  0x11    /* dom0 crashed */
#define POWEROFF_PANIC  0x12    /* the hypervisor panicked */
void machine_poweroff(int code) __attribute__((noreturn));

/* CR3 value of the hypervisor's own L4 (idle_pg_table lives in the image,
 * which is mapped at XEN_VIRT_START + its physical address). */
static inline unsigned long idle_cr3(void)
{
    return (unsigned long)idle_pg_table - XEN_VIRT_START;
}

/* console.c */
void serial_init(void);
/* Appends n bytes of d's console output; whole lines are printed "(dN) ...". */
void domain_console_write(struct domain *d, const char *s, size_t n);
void domain_console_flush(struct domain *d);

/* conring.c: the console log ring (64 KiB), Xen's conring. */
/* Appends one byte (the oldest byte is overwritten when full). */
void conring_putc(char c);
/*
 * XEN_SYSCTL_readconsole on hypervisor pointers: copies up to *count bytes
 * of the ring to guest address buf, oldest first, starting at *index when
 * incremental and *index is still held; clear forgets what was read.
 * Returns 0 with *count = bytes copied and *index = the free-running index
 * after them, or -EFAULT.
 */
int __must_check conring_read(uint64_t buf, uint32_t *count, uint32_t *index,
                              bool clear, bool incremental);

/* The register frame of the running guest vCPU, at the top of the stack. */
extern struct cpu_regs guest_regs;        /* boot.S: boot_stack_top - 168 */
#define guest_frame (&guest_regs)

/* traps.c */
void traps_init(void);
int trap_from_guest(struct cpu_regs *regs);
void trap_from_hv(struct cpu_regs *regs);
void syscall_from_guest(struct cpu_regs *regs);
/* Picks the vCPU to resume and prepares guest_frame for it; returns 1 when
 * that frame can be resumed with SYSRET (entry.S's syscall path). */
int exit_prepare(void);
void continue_running(void) __attribute__((noreturn));
/* Trap-bounce flags (Xen's TBF_*). */
#define TBF_EXCEPTION_ERRCODE 2
#define TBF_INTERRUPT         8
/* Pushes a Xen x86-64 PV bounce frame {rcx, r11, [err], rip, cs, rflags,
 * rsp, ss} on v's guest kernel stack and points regs at eip.  Crashes the
 * domain (and does not return) if the guest stack is unusable. */
void guest_bounce(struct vcpu *v, struct cpu_regs *regs, uint64_t eip,
                  unsigned int flags, uint32_t error_code);
/* Switches v between guest kernel and guest user mode (page tables, GS). */
void toggle_guest_mode(struct vcpu *v);
/* Loads v's guest GDT entries into the CPU's GDT (desc.h contract). */
void gdt_load_guest(struct vcpu *v);
/* Makes v's LDT the CPU's, or a null LDT (desc.h contract). */
void ldt_load_guest(struct vcpu *v);
/* Makes v's debug registers (HYPERVISOR_set_debugreg) the ones armed when
 * it next returns to the guest; nothing is armed for a vCPU with no DR7
 * enable bit set, or for v == NULL. */
void debugreg_load(struct vcpu *v);
/* Loads v's segment bases, GDT, LDT and debug registers onto the CPU (on
 * every switch to v). */
void load_segments(struct vcpu *v);

/* time.c */
void time_init(void);
/* Programs the one-shot timer to fire at deadline (ns of NOW()). */
void timer_program(uint64_t deadline_ns);
void timer_interrupt(void);
/* True once the deadline last given to timer_program() has passed. */
bool timer_expired(void);
/* Updates v's vcpu_time_info (PV clock: version, tsc_timestamp, system_time). */
void update_vcpu_time(struct vcpu *v);
extern uint64_t tsc_khz;
#define TIMER_VECTOR    0xf0
#define SPURIOUS_VECTOR 0xff

/* schedule.c */
void schedule(void);
/* Puts v on the scheduler's list (and makes room for it in the timer
 * heap).  0 or -XEN_ENOMEM. */
int __must_check sched_add_vcpu(struct vcpu *v);
void sched_remove_vcpu(struct vcpu *v);
/* Runs the vCPU timers that are due (VIRQ_TIMER, poll timeouts, a kind's
 * own timers), O(log n) per vCPU due; re-arms the hardware timer. */
void sched_timer_tick(void);
/* One of v's deadlines changed: requeues v in the timer heap.  Must be
 * called whenever a deadline comes forward (one that moves later or is
 * cleared may wait: v is then looked at early and requeued). */
void sched_timer_requeue(struct vcpu *v);
/* A kind's own timer of v was (re)programmed: requeues v and re-arms the
 * hardware timer. */
void sched_timers_changed(struct vcpu *v);
long do_sched_op(int cmd, uint64_t arg);
long do_set_timer_op(uint64_t timeout_ns);
long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg);

/* domain.c */
/* Creates an empty domain with one vCPU (DOWN), its shared_info and event
 * channels; id < DOMID_FIRST_RESERVED, max_pages in frames.  struct domain
 * and struct vcpu come from the heap (xzalloc_bytes).  Returns NULL if
 * out of memory or id is taken or reserved. */
struct domain *domain_create(domid_t id, bool privileged, unsigned long max_pages);
/* A free domain id for XEN_DOMCTL_createdomain with domid 0: the first
 * free one after the last handed out, wrapping from DOMID_FIRST_RESERVED-1
 * to 1 (Xen's rover: an id is not reused until the others have been).
 * DOMID_INVALID when all 32751 are taken. */
domid_t domain_alloc_id(void);
/* Frees the structures of destroyed domains; called by schedule(), where
 * no hypervisor code still holds a pointer to them. */
void domain_reap(void);
/* Tears d down: vCPUs off the run queue, event channels closed, memory and
 * page-table references released, id freed, dom0 told (VIRQ_DOM_EXC).
 * Frames another domain still maps are freed when it unmaps them.  No-op
 * on a dying domain. */
void domain_destroy(struct domain *d);
/* SCHEDOP_shutdown: records the reason; a toolstack domain (is_toolstack)
 * stops with its memory kept and dom0 gets VIRQ_DOM_EXC, any other domain
 * is destroyed.  dom0's shutdown destroys every toolstack domain and powers
 * the machine off once the boot domains end.  Does not return if d is
 * current's domain. */
void domain_shutdown(struct domain *d, unsigned int reason);
/* The VMASST_TYPE_* a 64-bit PV guest may enable (HYPERVISOR_vm_assist;
 * writable page tables are not offered); a restored vCPU context keeps
 * these bits of vm_assist. */
#define PV_VM_ASSIST_OK ((1UL << VMASST_TYPE_4gb_segments) |                  \
                         (1UL << VMASST_TYPE_4gb_segments_notify) |           \
                         (1UL << VMASST_TYPE_pae_extended_cr3) |              \
                         (1UL << VMASST_TYPE_architectural_iopl) |            \
                         (1UL << VMASST_TYPE_runstate_update_flag) |          \
                         (1UL << VMASST_TYPE_m2p_strict))

/* XEN_DOMCTL_resumedomain (Xen public/domctl.h): a toolstack domain that
 * suspended itself (SHUTDOWN_suspend) runs again where it stopped, in the
 * same domain (the toolstack sets the hypercall's result first, 1 for "the
 * suspend was cancelled", through setvcpucontext).  -XEN_EINVAL for any
 * other domain or state. */
int __must_check domain_resume(struct domain *d);
/* XEN_DOMCTL_pausedomain / unpausedomain: pause_count +1 / -1 (d runs at 0).
 * -XEN_EINVAL for dom0, for the caller's own domain, or unpausing at 0. */
int __must_check domain_pause_by_toolstack(struct domain *d);
int __must_check domain_unpause_by_toolstack(struct domain *d);
/* Number of live domains. */
unsigned int domain_count(void);
/* POWEROFF_* code to use when the last domain is gone (set by dom0's shutdown). */
extern int dom0_exit_code;

/* dom_build.c */
/* Builds and starts a PV domain from an ELF image in memory.  Returns the
 * domain or NULL (reason printed). */
struct domain *build_pv_domain(domid_t id, const void *elf, size_t size,
                               const char *cmdline, unsigned long nr_pages,
                               bool privileged);

/* Builds a domain from a boot module: a Xen PV kernel (ELF notes) becomes a
 * PV domain, a multiboot kernel without them an unmodified one (unmod.h).
 * modstr is the whole module string ("path args", what a multiboot kernel
 * sees), cmdline its arguments (what a PV kernel sees).  NULL on failure. */
struct domain *build_domain(domid_t id, const void *image, size_t size, const char *modstr,
                            const char *cmdline, unsigned long nr_pages, bool privileged);
/* domctl.c: XEN_DOMCTL_* and HVMOP_{set,get}_param for dom0 (Xen
 * public/domctl.h, public/hvm/hvm_op.h; docs/toolstack.md section 1).
 * Non-privileged callers get -XEN_EPERM, a wrong interface_version
 * -XEN_EACCES, unknown ops -XEN_ENOSYS; arg is a guest pointer. */
long do_domctl(uint64_t arg);
long do_hvm_op(unsigned long op, uint64_t arg);
struct xen_domctl_createdomain;
struct xen_domctl_getdomaininfo;
struct vcpu_guest_context;
/* createdomain: *domid is the wanted id, 0 = the lowest free one (out: the
 * id).  The domain starts paused (pause_count 1), max_pages 0, vCPU down,
 * is_toolstack; XEN_DOMCTL_CDF_hvm makes it unmodified (unmod.h).
 * -XEN_EINVAL (max_vcpus != 1, unknown flags, id too big), -XEN_EEXIST,
 * -XEN_ENOMEM. */
int __must_check domctl_createdomain(domid_t *domid, const struct xen_domctl_createdomain *cfg);
/* Fills *info (XEN_DOMINF_* flags with the shutdown reason, pages, cpu
 * time in ns, vCPUs, handle) for d. */
void domctl_getdomaininfo(struct domain *d, struct xen_domctl_getdomaininfo *info);
/* The first live domain with id >= id, or NULL. */
struct domain *domctl_first_domain_from(unsigned int id);
/* setvcpucontext for vCPU 0 of d (not the caller's domain; a domain shut
 * down only if it suspended).  PV: the L4 in ctrlreg[3] (user L4 in
 * ctrlreg[1], optional) is validated and referenced through
 * mm_set_baseptr(), the GDT frames through pv_set_gdt(); every general
 * register, rflags (IF forced, IOPL 0), FLAT_KERNEL_CS/SS (the vCPU starts
 * in kernel mode), fs/gs bases, the FXSAVE area (VGCF_i387_valid),
 * vm_assist (PV_VM_ASSIST_OK bits), kernel_ss/sp, callbacks and the trap
 * table are loaded.
 * Unmodified: unmod_vcpu_start() at user_regs.rip with eax/ebx.  The vCPU
 * becomes runnable.  -XEN_EINVAL, or mm_set_baseptr()'s error. */
int __must_check domctl_setvcpucontext(struct domain *d, const struct vcpu_guest_context *c);
/* getvcpucontext for vCPU 0 of d into *c (PV: also VGCF_i387_valid with
 * the FXSAVE area, the GDT frames, both L4s, fs/gs bases). */
void domctl_getvcpucontext(struct domain *d, struct vcpu_guest_context *c);
/* XEN_DOMCTL_getpageframeinfo3's answer for one MFN: a
 * XEN_DOMCTL_PFINFO_* word (XTAB: not d's RAM; LnTAB|LPINTAB: in use as a
 * page table, pinned). */
uint32_t domctl_pageframe_type(struct domain *d, unsigned long mfn);
/* hypercall_init: writes the hypercall page into frame mfn, which d must
 * own (not its shared_info).  -XEN_EINVAL otherwise. */
int __must_check domctl_hypercall_init(struct domain *d, unsigned long mfn);

/* sysctl.c: XEN_SYSCTL_readconsole, physinfo, getdomaininfolist (Xen
 * public/sysctl.h).  Same EPERM/EACCES/ENOSYS rules as do_domctl. */
long do_sysctl(uint64_t arg);
struct xen_sysctl_physinfo;
/* physinfo: 1 CPU, cpu_khz, pv|hvm, total_pages, free_pages = mm_free_frames(). */
void sysctl_physinfo(struct xen_sysctl_physinfo *pi);
/* setup.c: frames of usable RAM the machine has (physinfo.total_pages). */
extern unsigned long total_pages;

/* hypercall.c */
/* Hypercall numbers below this have a slot in hypercall_table. */
#define NR_HYPERCALLS 64
/* Runs the hypercall in regs (rax = number, arguments in rdi rsi rdx r10
 * r8 r9) and leaves its result in regs->rax (-XEN_ENOSYS for an unknown
 * number), or the continuation's number when it was preempted. */
void hypercall_dispatch(struct cpu_regs *regs);
/* The handlers by number for entry.S's fast path, each called with the
 * guest's rdi rsi rdx r10 r8 as its C arguments (the convention converts
 * them to its parameter types, as hypercall_dispatch does); numbers with no
 * handler get one that returns -XEN_ENOSYS. */
typedef long (*hypercall_fn_t)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
extern const hypercall_fn_t hypercall_table[NR_HYPERCALLS];
/* entry.S's fast path, when a handler it called left exit_work set: the
 * result rc goes into guest_frame->rax unless the hypercall was preempted
 * (the continuation put its number there). */
void hypercall_fast_finish(long rc);
void write_hypercall_page(void *page);
long do_iret(void);

#endif
