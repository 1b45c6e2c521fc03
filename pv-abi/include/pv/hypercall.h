/*
 * pv/hypercall.h - hypercall stubs for x86-64 PV guests (Xen 4.17 ABI).
 *
 * Runs in a PV guest kernel (ring 3, -mcmodel=kernel).  A hypercall is a
 * `syscall` from guest kernel mode with rax = its number (Xen's x86-64 PV
 * ABI); the wrappers below issue it inline, as Linux does since it stopped
 * calling through the hypercall page, and declare rcx and r11 clobbered
 * (which the page's stubs push and pop).  The hypercall page that the
 * hypervisor fills at domain build time (entry nr at hypercall_page +
 * nr * 32) is still named in the ELF note, for HYPERVISOR_iret (assembly)
 * and _hypercall6.  Arguments travel in rdi, rsi, rdx, r10, r8, r9; the
 * result comes back in rax.  Results are Xen's: >= 0 success, negative Xen
 * errno (XEN_EINVAL...) on failure.
 *
 * The guest must define a page-aligned, 4 KiB `hypercall_page` in its .text
 * and name it in its XEN_ELFNOTE_HYPERCALL_PAGE note.  HYPERVISOR_iret has no
 * C wrapper: it never returns to its caller and is used from assembly only.
 */
#ifndef PV_HYPERCALL_H
#define PV_HYPERCALL_H

#include <lamina/xen.h>

/* The 4 KiB page of 128 32-byte stubs the hypervisor writes at build time. */
extern char hypercall_page[4096];

#define PV_HYPERCALL_STUB_SIZE 32
#define PV_HYPERCALL_NR_STUBS  (4096 / PV_HYPERCALL_STUB_SIZE)

/* ---- generic callers: nr is a compile-time constant ---------------------- */

#define _pv_hcall_clobbers "rcx", "r11", "memory"

#define _hypercall0(nr) ({                                                    \
    long __res = (nr);                                                        \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res)                                        \
                         :                                                    \
                         : "rdi", "rsi", "rdx", "r10", "r8", "r9",            \
                           _pv_hcall_clobbers);                              \
    __res; })

#define _hypercall1(nr, a1) ({                                                \
    long __res = (nr);                                                        \
    register long __a1 __asm__("rdi") = (long)(a1);                           \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res), "+r"(__a1)                            \
                         :                                                    \
                         : "rsi", "rdx", "r10", "r8", "r9",                   \
                           _pv_hcall_clobbers);                              \
    __res; })

#define _hypercall2(nr, a1, a2) ({                                            \
    long __res = (nr);                                                        \
    register long __a1 __asm__("rdi") = (long)(a1);                           \
    register long __a2 __asm__("rsi") = (long)(a2);                           \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res), "+r"(__a1), "+r"(__a2)                \
                         :                                                    \
                         : "rdx", "r10", "r8", "r9", _pv_hcall_clobbers);    \
    __res; })

#define _hypercall3(nr, a1, a2, a3) ({                                        \
    long __res = (nr);                                                        \
    register long __a1 __asm__("rdi") = (long)(a1);                           \
    register long __a2 __asm__("rsi") = (long)(a2);                           \
    register long __a3 __asm__("rdx") = (long)(a3);                           \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res), "+r"(__a1), "+r"(__a2), "+r"(__a3)    \
                         :                                                    \
                         : "r10", "r8", "r9", _pv_hcall_clobbers);           \
    __res; })

#define _hypercall4(nr, a1, a2, a3, a4) ({                                    \
    long __res = (nr);                                                        \
    register long __a1 __asm__("rdi") = (long)(a1);                           \
    register long __a2 __asm__("rsi") = (long)(a2);                           \
    register long __a3 __asm__("rdx") = (long)(a3);                           \
    register long __a4 __asm__("r10") = (long)(a4);                           \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res), "+r"(__a1), "+r"(__a2), "+r"(__a3),   \
                           "+r"(__a4)                                         \
                         :                                                    \
                         : "r8", "r9", _pv_hcall_clobbers);                  \
    __res; })

#define _hypercall5(nr, a1, a2, a3, a4, a5) ({                                \
    long __res = (nr);                                                        \
    register long __a1 __asm__("rdi") = (long)(a1);                           \
    register long __a2 __asm__("rsi") = (long)(a2);                           \
    register long __a3 __asm__("rdx") = (long)(a3);                           \
    register long __a4 __asm__("r10") = (long)(a4);                           \
    register long __a5 __asm__("r8") = (long)(a5);                            \
    __asm__ __volatile__("syscall"                                            \
                         : "+a"(__res), "+r"(__a1), "+r"(__a2), "+r"(__a3),   \
                           "+r"(__a4), "+r"(__a5)                             \
                         :                                                    \
                         : "r9", _pv_hcall_clobbers);                        \
    __res; })

/*
 * Calls hypercall `nr` (any value, known or not; the number need not be a
 * constant) with six arguments.  nr < 128 goes through its hypercall-page
 * stub, as a well-behaved guest would; larger numbers have no stub and are
 * issued with a raw `syscall` (rax = nr), which is exactly what a stub does.
 * Meant for test guests probing the dispatcher.  Returns rax.
 */
static inline long _hypercall6(unsigned long nr, long a1, long a2, long a3,
                               long a4, long a5, long a6)
{
    long res;
    register long r_a1 __asm__("rdi") = a1;
    register long r_a2 __asm__("rsi") = a2;
    register long r_a3 __asm__("rdx") = a3;
    register long r_a4 __asm__("r10") = a4;
    register long r_a5 __asm__("r8") = a5;
    register long r_a6 __asm__("r9") = a6;

    if (nr < PV_HYPERCALL_NR_STUBS) {
        unsigned long stub = (unsigned long)hypercall_page + nr * PV_HYPERCALL_STUB_SIZE;
        __asm__ __volatile__("call *%[stub]"
                             : "=a"(res), "+r"(r_a1), "+r"(r_a2), "+r"(r_a3),
                               "+r"(r_a4), "+r"(r_a5), "+r"(r_a6)
                             : [stub] "a"(stub)
                             : _pv_hcall_clobbers);
    } else {
        __asm__ __volatile__("syscall"
                             : "=a"(res), "+r"(r_a1), "+r"(r_a2), "+r"(r_a3),
                               "+r"(r_a4), "+r"(r_a5), "+r"(r_a6)
                             : "a"(nr)
                             : _pv_hcall_clobbers);
    }
    return res;
}

/* ---- typed wrappers, one per hypercall (Xen's argument order) ----------- */

/* Installs the virtual IDT: a table of trap_info ending with address 0
 * (NULL = clear all).  -EFAULT on a bad table. */
static inline int HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return (int)_hypercall1(__HYPERVISOR_set_trap_table, table);
}

/* Applies `count` page-table / M2P updates to domain `dom` (DOMID_SELF);
 * *done (may be NULL) gets how many succeeded.  Fails at the first bad one. */
static inline int HYPERVISOR_mmu_update(struct mmu_update *req, unsigned int count,
                                        unsigned int *done, domid_t dom)
{
    return (int)_hypercall4(__HYPERVISOR_mmu_update, req, count, done, dom);
}

/* Loads a GDT of `entries` descriptors from the machine frames frames[]. */
static inline int HYPERVISOR_set_gdt(unsigned long *frames, unsigned int entries)
{
    return (int)_hypercall2(__HYPERVISOR_set_gdt, frames, entries);
}

/* Sets the kernel stack (ss, rsp) used when the hypervisor bounces an event
 * or a syscall from guest user mode to the guest kernel. */
static inline int HYPERVISOR_stack_switch(unsigned long ss, unsigned long rsp)
{
    return (int)_hypercall2(__HYPERVISOR_stack_switch, ss, rsp);
}

/* Sets (set=1) or clears (set=0) the virtual CR0.TS. */
static inline int HYPERVISOR_fpu_taskswitch(int set)
{
    return (int)_hypercall1(__HYPERVISOR_fpu_taskswitch, set);
}

/* Writes debug register `reg` (0-7). */
static inline long HYPERVISOR_set_debugreg(int reg, unsigned long value)
{
    return _hypercall2(__HYPERVISOR_set_debugreg, reg, value);
}

/* Reads debug register `reg`; returns its value (or a negative errno for a
 * bad reg, indistinguishable from a large value: reg must be 0-7). */
static inline unsigned long HYPERVISOR_get_debugreg(int reg)
{
    return (unsigned long)_hypercall1(__HYPERVISOR_get_debugreg, reg);
}

/* Writes the 8-byte descriptor `desc` at machine address `ma` (a GDT/LDT
 * frame of the caller). */
static inline int HYPERVISOR_update_descriptor(uint64_t ma, uint64_t desc)
{
    return (int)_hypercall2(__HYPERVISOR_update_descriptor, ma, desc);
}

/* XENMEM_* memory reservation/map queries; arg is the cmd's structure.
 * Returns a count or 0 on success per cmd, negative errno on failure. */
static inline long HYPERVISOR_memory_op(unsigned int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

/* Issues `nr` hypercalls in one trap; each entry's result lands in
 * entry->result.  Returns 0 unless the batch itself was bad. */
static inline int HYPERVISOR_multicall(struct multicall_entry *calls, unsigned int nr)
{
    return (int)_hypercall2(__HYPERVISOR_multicall, calls, nr);
}

/* Sets the L1 entry mapping `va` in the current page tables to `new_val`
 * (a machine PTE); flags = UVMF_* (TLB flush) | UVMF_* (scope). */
static inline int HYPERVISOR_update_va_mapping(unsigned long va, uint64_t new_val,
                                               unsigned long flags)
{
    return (int)_hypercall3(__HYPERVISOR_update_va_mapping, va, new_val, flags);
}

/* Arms this vCPU's one-shot timer at `timeout` ns of system time (0 =
 * cancel); VIRQ_TIMER fires then. */
static inline long HYPERVISOR_set_timer_op(uint64_t timeout)
{
    return _hypercall1(__HYPERVISOR_set_timer_op, timeout);
}

/* XENVER_* queries.  XENVER_version returns (major << 16) | minor. */
static inline int HYPERVISOR_xen_version(int cmd, void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

/* CONSOLEIO_write: writes count bytes of str to the hypervisor console;
 * CONSOLEIO_read reads up to count bytes (dom0 only).  Returns bytes or
 * negative errno. */
static inline int HYPERVISOR_console_io(int cmd, int count, const char *str)
{
    return (int)_hypercall3(__HYPERVISOR_console_io, cmd, count, str);
}

/* Grant-table ops (GNTTABOP_*), `count` structures at uop. */
static inline int HYPERVISOR_grant_table_op(unsigned int cmd, void *uop, unsigned int count)
{
    return (int)_hypercall3(__HYPERVISOR_grant_table_op, cmd, uop, count);
}

/* VMASST_CMD_enable/disable an assist `type` (VMASST_TYPE_*). */
static inline int HYPERVISOR_vm_assist(unsigned int cmd, unsigned int type)
{
    return (int)_hypercall2(__HYPERVISOR_vm_assist, cmd, type);
}

/* Like update_va_mapping, in the page tables of domain `dom`. */
static inline int HYPERVISOR_update_va_mapping_otherdomain(unsigned long va, uint64_t new_val,
                                                           unsigned long flags, domid_t dom)
{
    return (int)_hypercall4(__HYPERVISOR_update_va_mapping_otherdomain, va, new_val, flags, dom);
}

/* VCPUOP_* on vCPU `vcpuid`; extra is the op's structure (or NULL). */
static inline int HYPERVISOR_vcpu_op(int cmd, unsigned int vcpuid, void *extra)
{
    return (int)_hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpuid, extra);
}

/* SEGBASE_FS, SEGBASE_GS_USER, SEGBASE_GS_KERNEL (base) or
 * SEGBASE_GS_USER_SEL (value = selector). */
static inline int HYPERVISOR_set_segment_base(int reg, unsigned long value)
{
    return (int)_hypercall2(__HYPERVISOR_set_segment_base, reg, value);
}

/* Extended MMU ops (pin, unpin, new baseptr, TLB flushes...): `count`
 * ops at op; *done (may be NULL) gets how many succeeded. */
static inline int HYPERVISOR_mmuext_op(struct mmuext_op *op, unsigned int count,
                                       unsigned int *done, domid_t dom)
{
    return (int)_hypercall4(__HYPERVISOR_mmuext_op, op, count, done, dom);
}

/* XSM (flask) ops. */
static inline long HYPERVISOR_xsm_op(void *op)
{
    return _hypercall1(__HYPERVISOR_xsm_op, op);
}

/* XENNMI_register_callback / XENNMI_unregister_callback. */
static inline int HYPERVISOR_nmi_op(unsigned int cmd, void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_nmi_op, cmd, arg);
}

/* SCHEDOP_yield/block/shutdown/poll...; arg is the op's structure or NULL.
 * SCHEDOP_shutdown does not return. */
static inline int HYPERVISOR_sched_op(int cmd, void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}

/* CALLBACKOP_register / CALLBACKOP_unregister (struct callback_register /
 * callback_unregister). */
static inline int HYPERVISOR_callback_op(int cmd, const void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_callback_op, cmd, arg);
}

/* EVTCHNOP_* with the op's structure (OUT fields written back). */
static inline int HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

/* PHYSDEVOP_* with the op's structure. */
static inline int HYPERVISOR_physdev_op(int cmd, void *arg)
{
    return (int)_hypercall2(__HYPERVISOR_physdev_op, cmd, arg);
}

/* HVMOP_* (few apply to PV guests). */
static inline long HYPERVISOR_hvm_op(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_hvm_op, cmd, arg);
}

/* Platform (ex-dom0_op) operations: struct xen_platform_op. */
static inline int HYPERVISOR_platform_op(void *op)
{
    return (int)_hypercall1(__HYPERVISOR_platform_op, op);
}

/* Sysctl / domctl (toolstack in dom0): struct xen_sysctl / xen_domctl. */
static inline int HYPERVISOR_sysctl(void *op)
{
    return (int)_hypercall1(__HYPERVISOR_sysctl, op);
}
static inline int HYPERVISOR_domctl(void *op)
{
    return (int)_hypercall1(__HYPERVISOR_domctl, op);
}

/* The pre-3.0.2 set_callbacks (event, failsafe, syscall addresses); 64-bit
 * PV kernels should use CALLBACKOP_register instead. */
static inline int HYPERVISOR_set_callbacks(unsigned long event, unsigned long failsafe,
                                           unsigned long syscall)
{
    return (int)_hypercall3(__HYPERVISOR_set_callbacks, event, failsafe, syscall);
}

/* Fills a multicall entry: op with up to 6 args (unused ones 0). */
static inline void pv_multicall_set(struct multicall_entry *mc, unsigned long op,
                                    unsigned long a0, unsigned long a1, unsigned long a2,
                                    unsigned long a3, unsigned long a4, unsigned long a5)
{
    mc->op = op;
    mc->result = 0;
    mc->args[0] = a0; mc->args[1] = a1; mc->args[2] = a2;
    mc->args[3] = a3; mc->args[4] = a4; mc->args[5] = a5;
}

/*
 * HYPERVISOR_iret (nr 23) is reached from assembly only, by `jmp`, never
 * `call`: with rsp pointing at {rip, cs, rflags, rsp, ss}, push the flags
 * quadword (0, or VGCF_in_syscall when returning from a syscall: rcx and
 * r11 are then not restored) and jump to hypercall_page + 23*32.  The stub
 * pushes rcx, r11, rax, completing the iret_context {rax, r11, rcx, flags,
 * rip, cs, rflags, rsp, ss} (rax at the lowest address).  Xen restores the
 * upcall mask from rflags.IF.  Offsets for assembly: */
#define PV_IRET_CTX_RAX    0
#define PV_IRET_CTX_R11    8
#define PV_IRET_CTX_RCX    16
#define PV_IRET_CTX_FLAGS  24
#define PV_IRET_CTX_RIP    32
#define PV_IRET_CTX_CS     40
#define PV_IRET_CTX_RFLAGS 48
#define PV_IRET_CTX_RSP    56
#define PV_IRET_CTX_SS     64
_Static_assert(offsetof(struct iret_context, rax) == PV_IRET_CTX_RAX, "iret_context.rax");
_Static_assert(offsetof(struct iret_context, flags) == PV_IRET_CTX_FLAGS, "iret_context.flags");
_Static_assert(offsetof(struct iret_context, rip) == PV_IRET_CTX_RIP, "iret_context.rip");
_Static_assert(offsetof(struct iret_context, ss) == PV_IRET_CTX_SS, "iret_context.ss");
_Static_assert(sizeof(struct iret_context) == 72, "iret_context is 9 quadwords");

#endif /* PV_HYPERCALL_H */
