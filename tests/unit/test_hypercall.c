/*
 * test_hypercall.c - host unit tests (cmocka) for hypervisor/hypercall.c: the
 * hypercall table and the argument checks of the small x86-64 PV hypercalls
 * (set_trap_table, set_segment_base, callback_op, vm_assist, debug
 * registers, physdev_op, console_io, xen_version, multicall, iret) and the
 * hypercall page layout.
 *
 * Runs on the host: compiles the hypervisor's own hypercall.c.  Guest
 * addresses are host pointers, except that [BAD_VA, BAD_VA + BAD_LEN) and
 * anything guest_range_ok() rejects (non-canonical, or overlapping the
 * hypervisor range) faults.  The privileged instructions hypercall.c uses
 * (wrmsr, CR0, clts, moves to debug registers) are cpu.h's host model,
 * which records what they would have done (host_cpu); the handlers of
 * other files (mm, desc, event, schedule) are stubs that record their
 * arguments and return a sentinel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lamina/xen.h>

/* The privileged instructions are cpu.h's host model (host_cpu records
 * CR0, the MSR writes and the debug registers). */
#include "../../hypervisor/common/hypercall.c"

/* ---- guest memory -------------------------------------------------------- */

#define BAD_VA      0x00000dead0000000UL
#define BAD_LEN     0x10000UL

static bool guest_bad(uint64_t va, size_t len)
{
    return !guest_range_ok(va, len) || (va < BAD_VA + BAD_LEN && va + len > BAD_VA);
}

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (guest_bad(src, len))
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}

/* entry.S's raw_copy: here an access to the bad range "faults" (nothing
 * is copied; the whole length is reported left). */
size_t raw_copy(void *dst, const void *src, size_t n)
{
    if (guest_bad((uint64_t)(uintptr_t)src, n) || guest_bad((uint64_t)(uintptr_t)dst, n))
        return n;
    memcpy(dst, src, n);
    return 0;
}

int copy_to_guest(uint64_t dst, const void *src, size_t len)
{
    if (guest_bad(dst, len))
        return -XEN_EFAULT;
    memcpy((void *)(uintptr_t)dst, src, len);
    return 0;
}

/* ---- the running vCPU and the hypervisor services it touches ------------- */

struct vcpu *current;
struct cpu_regs guest_regs;

static struct domain *dom;
static struct vcpu *vcpu0;

static char con_out[1024];
static size_t con_len;
static unsigned int con_calls;

void domain_console_write(struct domain *d, const char *s, size_t n)
{
    assert_ptr_equal(d, dom);
    assert_true(con_len + n <= sizeof(con_out));
    memcpy(con_out + con_len, s, n);
    con_len += n;
    con_calls++;
}

static jmp_buf crash_jmp;
static bool crash_armed;
static unsigned int crashes;

void domain_crash(struct domain *d, const char *why)
{
    assert_ptr_equal(d, dom);
    assert_true(crash_armed);
    crashes++;
    crash_armed = false;
    longjmp(crash_jmp, 1);
}

static unsigned int toggles;

/* traps.c (tested in test_traps): what stack_switch calls. */
void pv_kernel_sp_changed(struct vcpu *v) { (void)v; }

void toggle_guest_mode(struct vcpu *v)
{
    v->kernel_mode = !v->kernel_mode;
    toggles++;
}

/* time.c / schedule.c: what hypercall_preempt_check() reads. */
static bool timer_due;
union exit_work exit_work;
bool timer_expired(void) { return timer_due; }

/* traps.c: the debug registers are armed on exit; here only counted. */
static unsigned int dr_loads;
void debugreg_load(struct vcpu *v) { (void)v; dr_loads++; }
/* pv/vcpu_context.c's: counted, so a DR7 write is seen to recompute it. */
static unsigned int fast_updates;
void pv_update_hypercall_fast(struct vcpu *v) { (void)v; fast_updates++; }

/* Handlers from other files: each records its call and returns a sentinel. */
#define SENTINEL(n) (0x5e000000L + (n))
static unsigned int stub_last;          /* __HYPERVISOR_* of the last stub run */
static uint64_t stub_args[6];

static long stub_hit(unsigned int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    stub_last = nr;
    stub_args[0] = a0;
    stub_args[1] = a1;
    stub_args[2] = a2;
    stub_args[3] = a3;
    return SENTINEL(nr);
}

long do_mmu_update(uint64_t ureqs, unsigned int count, uint64_t pdone, unsigned int foreigndom)
{ return stub_hit(__HYPERVISOR_mmu_update, ureqs, count, pdone, foreigndom); }
long do_mmuext_op(uint64_t uops, unsigned int count, uint64_t pdone, unsigned int foreigndom)
{ return stub_hit(__HYPERVISOR_mmuext_op, uops, count, pdone, foreigndom); }
long do_update_va_mapping(unsigned long va, uint64_t val, unsigned long flags)
{ return stub_hit(__HYPERVISOR_update_va_mapping, va, val, flags, 0); }
long do_memory_op(unsigned long cmd, uint64_t arg)
{ return stub_hit(__HYPERVISOR_memory_op, cmd, arg, 0, 0); }
long do_grant_table_op(unsigned int cmd, uint64_t uop, unsigned int count)
{ return stub_hit(__HYPERVISOR_grant_table_op, cmd, uop, count, 0); }
long do_set_gdt(uint64_t frame_list, unsigned int entries)
{ return stub_hit(__HYPERVISOR_set_gdt, frame_list, entries, 0, 0); }
long do_update_descriptor(uint64_t maddr, uint64_t desc)
{ return stub_hit(__HYPERVISOR_update_descriptor, maddr, desc, 0, 0); }
long do_event_channel_op(int cmd, uint64_t arg)
{ return stub_hit(__HYPERVISOR_event_channel_op, (uint64_t)cmd, arg, 0, 0); }
long do_sched_op(int cmd, uint64_t arg)
{ return stub_hit(__HYPERVISOR_sched_op, (uint64_t)cmd, arg, 0, 0); }
long do_set_timer_op(uint64_t timeout_ns)
{ return stub_hit(__HYPERVISOR_set_timer_op, timeout_ns, 0, 0, 0); }
long do_vcpu_op(int cmd, unsigned int vcpuid, uint64_t arg)
{ return stub_hit(__HYPERVISOR_vcpu_op, (uint64_t)cmd, vcpuid, arg, 0); }
long do_hvm_op(unsigned long op, uint64_t arg)
{ return stub_hit(__HYPERVISOR_hvm_op, op, arg, 0, 0); }
long do_sysctl(uint64_t arg)
{ return stub_hit(__HYPERVISOR_sysctl, arg, 0, 0, 0); }
long do_domctl(uint64_t arg)
{ return stub_hit(__HYPERVISOR_domctl, arg, 0, 0, 0); }

/* ---- fixture -------------------------------------------------------------- */

static int setup(void **state)
{
    dom = calloc(1, sizeof(*dom));
    vcpu0 = calloc(1, sizeof(*vcpu0));
    assert_non_null(dom);
    assert_non_null(vcpu0);
    dom->shared_info = calloc(1, sizeof(struct shared_info));
    assert_non_null(dom->shared_info);
    dom->domain_id = 1;
    dom->max_vcpus = 1;
    dom->vcpu[0] = vcpu0;
    vcpu0->domain = dom;
    vcpu0->vcpu_info = &dom->shared_info->vcpu_info[0];
    vcpu0->kernel_mode = true;
    vcpu0->guest_table = 0x100;
    current = vcpu0;
    memset(&guest_regs, 0, sizeof(guest_regs));
    con_len = 0;
    con_calls = 0;
    crashes = 0;
    crash_armed = false;
    toggles = 0;
    stub_last = 0;
    host_cpu.msr_writes = 0;
    return 0;
}

static int teardown(void **state)
{
    free(dom->shared_info);
    free(vcpu0);
    free(dom);
    current = NULL;
    return 0;
}

/* Issues hypercall nr through the dispatcher; returns what lands in rax. */
static long hc(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    struct cpu_regs r = { .rax = nr, .rdi = a1, .rsi = a2, .rdx = a3, .r10 = a4,
                          .r8 = 0x88, .r9 = 0x99 };
    hypercall_dispatch(&r);
    return (long)r.rax;
}

#define P(x) ((uint64_t)(uintptr_t)(x))
#define HV_ADDR (HV_VIRT_START + 0x1000)

/* ---- dispatch ------------------------------------------------------------ */

static void test_dispatch_unknown(void **state)
{
    assert_int_equal(hc(64, 0, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(hc(1UL << 40, 0, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(hc(~0UL, 0, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(hc(63, 0, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(hc(__HYPERVISOR_argo_op, 0, 0, 0, 0), -XEN_ENOSYS);   /* 39: NULL slot */
    assert_int_equal(hc(__HYPERVISOR_xenoprof_op, 0, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(stub_last, 0);
}

static void test_dispatch_args(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_mmu_update, 0x1111, 7, 0x2222, DOMID_SELF),
                     SENTINEL(__HYPERVISOR_mmu_update));
    assert_int_equal(stub_last, __HYPERVISOR_mmu_update);
    assert_int_equal(stub_args[0], 0x1111);
    assert_int_equal(stub_args[1], 7);
    assert_int_equal(stub_args[2], 0x2222);
    assert_int_equal(stub_args[3], DOMID_SELF);

    static const unsigned int wired[] = {
        __HYPERVISOR_set_gdt, __HYPERVISOR_update_descriptor, __HYPERVISOR_memory_op,
        __HYPERVISOR_update_va_mapping, __HYPERVISOR_set_timer_op, __HYPERVISOR_vcpu_op,
        __HYPERVISOR_mmuext_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
        __HYPERVISOR_hvm_op, __HYPERVISOR_sysctl, __HYPERVISOR_domctl, __HYPERVISOR_grant_table_op,
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(wired); i++) {
        assert_int_equal(hc(wired[i], 1, 2, 3, 4), SENTINEL(wired[i]));
        assert_int_equal(stub_last, wired[i]);
    }
}

/* ---- set_trap_table --------------------------------------------------- */

static void test_set_trap_table(void **state)
{
    struct trap_info t[4] = {
        { .vector = 14, .flags = 0, .cs = 0xe033, .address = 0x401000 },
        { .vector = 0x80, .flags = 3, .cs = 0xe033, .address = 0x402000 },
        { .vector = 3, .flags = 3 | 4, .cs = 0xe033, .address = 0x403000 },
        { 0 },
    };

    assert_int_equal(hc(__HYPERVISOR_set_trap_table, P(t), 0, 0, 0), 0);
    assert_int_equal(vcpu0->trap_ctxt[14].address, 0x401000);
    assert_int_equal(vcpu0->trap_ctxt[14].flags, 0);
    assert_int_equal(vcpu0->trap_ctxt[14].cs, 0xe033);
    assert_int_equal(vcpu0->trap_ctxt[0x80].vector, 0x80);
    assert_int_equal(vcpu0->trap_ctxt[0x80].flags, 3);
    assert_int_equal(vcpu0->trap_ctxt[0x80].address, 0x402000);
    assert_int_equal(vcpu0->trap_ctxt[3].flags, 7);
    assert_int_equal(vcpu0->trap_ctxt[3].address, 0x403000);
    assert_int_equal(vcpu0->trap_ctxt[13].address, 0);

    /* A handler in the hypervisor's range, or non-canonical. */
    struct trap_info bad[2] = { { .vector = 13, .address = HV_ADDR }, { 0 } };
    assert_int_equal(hc(__HYPERVISOR_set_trap_table, P(bad), 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(vcpu0->trap_ctxt[13].address, 0);
    bad[0].address = 0x0000800000000000UL;
    assert_int_equal(hc(__HYPERVISOR_set_trap_table, P(bad), 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(vcpu0->trap_ctxt[13].address, 0);

    /* Unreadable table. */
    assert_int_equal(hc(__HYPERVISOR_set_trap_table, BAD_VA, 0, 0, 0), -XEN_EFAULT);
    assert_int_equal(hc(__HYPERVISOR_set_trap_table, HV_ADDR, 0, 0, 0), -XEN_EFAULT);
    assert_int_equal(vcpu0->trap_ctxt[14].address, 0x401000);

    /* NULL clears the whole table. */
    assert_int_equal(hc(__HYPERVISOR_set_trap_table, 0, 0, 0, 0), 0);
    for (unsigned int i = 0; i < 256; i++)
        assert_int_equal(vcpu0->trap_ctxt[i].address, 0);
}

/* ---- set_segment_base ---------------------------------------------------- */

static void test_set_segment_base(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x0000800000000000UL, 0, 0),
                     -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0x1234000000000000UL, 0, 0),
                     -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_set_segment_base, 99, 0x1000, 0, 0), -XEN_EINVAL);
    assert_int_equal(host_cpu.msr_writes, 0);
    assert_int_equal(vcpu0->fs_base, 0);

    assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x7f0000001000UL, 0, 0), 0);
    assert_int_equal(vcpu0->fs_base, 0x7f0000001000UL);
    assert_int_equal(host_cpu.fs_base, 0x7f0000001000UL);
    assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, 0x7f0000002000UL, 0, 0), 0);
    assert_int_equal(vcpu0->gs_base_user, 0x7f0000002000UL);
    assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0xffff880000003000UL, 0, 0), 0);
    assert_int_equal(vcpu0->gs_base_kernel, 0xffff880000003000UL);
    assert_int_equal(host_cpu.gs_base, 0xffff880000003000UL);
}

/* ---- callback_op / set_callbacks ---------------------------------------- */

static void test_callback_op(void **state)
{
    struct callback_register r = { .type = CALLBACKTYPE_event, .address = HV_ADDR };
    struct callback_unregister u = { .type = CALLBACKTYPE_event };

    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), -XEN_EINVAL);
    assert_int_equal(vcpu0->event_callback_eip, 0);
    r.address = 0x0000900000000000UL;           /* non-canonical */
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), -XEN_EINVAL);
    r.type = 99;
    r.address = 0x401000;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, BAD_VA, 0, 0), -XEN_EFAULT);
    assert_int_equal(hc(__HYPERVISOR_callback_op, 77, P(&r), 0, 0), -XEN_ENOSYS);

    r.type = CALLBACKTYPE_event;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), 0);
    assert_int_equal(vcpu0->event_callback_eip, 0x401000);
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_unregister, P(&u), 0, 0), -XEN_EINVAL);
    assert_int_equal(vcpu0->event_callback_eip, 0x401000);

    r.type = CALLBACKTYPE_syscall;
    r.address = 0x402000;
    r.flags = CALLBACKF_mask_events;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), 0);
    assert_int_equal(vcpu0->syscall_callback_eip, 0x402000);
    assert_true(vcpu0->syscall_disables_events);
    r.flags = 0;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), 0);
    assert_false(vcpu0->syscall_disables_events);

    r.type = CALLBACKTYPE_failsafe;
    r.address = 0x403000;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, P(&r), 0, 0), 0);
    assert_int_equal(vcpu0->failsafe_callback_eip, 0x403000);
    u.type = CALLBACKTYPE_failsafe;
    assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_unregister, P(&u), 0, 0), 0);
    assert_int_equal(vcpu0->failsafe_callback_eip, 0);

    /* The old three-address form has the same range check. */
    assert_int_equal(hc(__HYPERVISOR_set_callbacks, 0x404000, HV_ADDR, 0x405000, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_set_callbacks, 0x404000, 0x406000, 0x405000, 0), 0);
    assert_int_equal(vcpu0->event_callback_eip, 0x404000);
    assert_int_equal(vcpu0->failsafe_callback_eip, 0x406000);
    assert_int_equal(vcpu0->syscall_callback_eip, 0x405000);
}

/* ---- vm_assist ------------------------------------------------------------ */

static void test_vm_assist(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables, 0, 0),
                     -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 63, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 64, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, ~0UL, 0, 0), -XEN_EINVAL);
    assert_int_equal(dom->vm_assist, 0);
    assert_int_equal(hc(__HYPERVISOR_vm_assist, 7, VMASST_TYPE_m2p_strict, 0, 0), -XEN_ENOSYS);
    assert_int_equal(dom->vm_assist, 0);

    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_m2p_strict, 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_pae_extended_cr3, 0, 0), 0);
    assert_int_equal(dom->vm_assist,
                     (1UL << VMASST_TYPE_m2p_strict) | (1UL << VMASST_TYPE_pae_extended_cr3));
    assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_disable, VMASST_TYPE_m2p_strict, 0, 0), 0);
    assert_int_equal(dom->vm_assist, 1UL << VMASST_TYPE_pae_extended_cr3);
}

/* ---- debug registers ---------------------------------------------------- */

static void test_set_debugreg(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 0, HV_ADDR, 0, 0), -XEN_EPERM);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 3, HV_VIRT_END - 4, 0, 0), -XEN_EPERM);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 1, 0x0000800000000000UL, 0, 0), -XEN_EPERM);
    assert_int_equal(vcpu0->debugreg[0], 0);
    assert_int_equal(vcpu0->debugreg[3], 0);

    /* DR7: L0 enabled with R/W0 = 10b (I/O), then G3 with R/W3 = 10b. */
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x1UL | (2UL << 16), 0, 0), -XEN_EPERM);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x80UL | (2UL << 28), 0, 0), -XEN_EPERM);
    /* The upper half is reserved (Xen says -EINVAL, Lamina -EPERM: either refuses). */
    assert_true(hc(__HYPERVISOR_set_debugreg, 7, 1UL << 32, 0, 0) < 0);
    assert_int_equal(vcpu0->debugreg[7], 0);
    assert_int_equal(dr_loads, 0);
    assert_int_equal(fast_updates, 0);
    /* A valid one is stored (with DR7's fixed bit 10) and handed to traps.c;
     * the hypercall fast path's flag is recomputed (armed breakpoints need
     * the full entry, which disarms them). */
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x3, 0, 0), 0);
    assert_int_equal(vcpu0->debugreg[7], 0x403);
    assert_int_equal(dr_loads, 1);
    assert_int_equal(fast_updates, 1);

    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 4, 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 5, 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 8, 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 4, 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 5, 0, 0, 0), -XEN_EINVAL);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 8, 0, 0, 0), -XEN_EINVAL);
}

static void test_debugreg_roundtrip(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 0, 0x401000, 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 0, 0, 0, 0), 0x401000);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 2, 0x7ffffffff000UL, 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 2, 0, 0, 0), 0x7ffffffff000UL);
    /* L0 + R/W0 = 01b (write), LEN0 = 11b: bit 10 reads back as 1. */
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x1UL | (0xdUL << 16), 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 7, 0, 0, 0), 0x1UL | (0xdUL << 16) | 0x400);
    /* DR6: only B0-B3, BD, BS, BT are writable; the rest read as ones. */
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 6, 0, 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 6, 0, 0, 0), 0xffff0ff0);
}

/*
 * Xen's DR7 rules beyond I/O breakpoints: GD (bit 13) is privileged, since
 * with it set the hypervisor's own moves to %db* would raise #DB, so it is
 * refused with -EPERM; bit 10 is reserved-as-one, so the value get_debugreg
 * returns must be accepted back by set_debugreg (a guest saving and
 * restoring DR7 does exactly that).
 */
static void test_set_debugreg_dr7_gd(void **state)
{
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 1UL << 13, 0, 0), -XEN_EPERM);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x1UL | (1UL << 13), 0, 0), -XEN_EPERM);
    assert_int_equal(vcpu0->debugreg[7], 0);
}

static void test_set_debugreg_dr7_readback(void **state)
{
    long dr7;

    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, 0x1UL | (1UL << 16), 0, 0), 0);
    dr7 = hc(__HYPERVISOR_get_debugreg, 7, 0, 0, 0);
    assert_int_equal(dr7, 0x1UL | (1UL << 16) | 0x400);
    assert_int_equal(hc(__HYPERVISOR_set_debugreg, 7, (uint64_t)dr7, 0, 0), 0);
    assert_int_equal(hc(__HYPERVISOR_get_debugreg, 7, 0, 0, 0), dr7);
}

/* ---- physdev_op ------------------------------------------------------------ */

static void test_physdev_set_iopl(void **state)
{
    struct physdev_set_iopl s = { .iopl = 1 };

    assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, P(&s), 0, 0), -XEN_EPERM);
    assert_int_equal(vcpu0->iopl, 0);

    dom->is_privileged = true;
    s.iopl = 4;
    assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, P(&s), 0, 0), -XEN_EINVAL);
    assert_int_equal(vcpu0->iopl, 0);
    assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, BAD_VA, 0, 0), -XEN_EFAULT);
    s.iopl = 3;
    assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, P(&s), 0, 0), 0);
    assert_int_equal(vcpu0->iopl, 3);
    assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_eoi, P(&s), 0, 0), -XEN_ENOSYS);
}

/* ---- console_io ------------------------------------------------------------ */

static void test_console_io(void **state)
{
    char text[300];

    for (unsigned int i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 26);

    assert_int_equal(hc(__HYPERVISOR_console_io, 9, 1, P(text), 0), -XEN_ENOSYS);
    assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_read, 16, P(text), 0), -XEN_EPERM);
    assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, 16, BAD_VA, 0), -XEN_EFAULT);
    assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, 16, HV_ADDR, 0), -XEN_EFAULT);
    assert_int_equal(con_len, 0);

    /* 300 bytes: longer than the handler's bounce buffer. */
    assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(text), P(text), 0), 0);
    assert_int_equal(con_len, sizeof(text));
    assert_memory_equal(con_out, text, sizeof(text));
    assert_true(con_calls >= 3);

    dom->is_privileged = true;
    assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_read, 16, P(text), 0), 0);
}

/* ---- xen_version ---------------------------------------------------------- */

static void test_xen_version(void **state)
{
    struct xen_feature_info fi = { .submap_idx = 0, .submap = 0xffffffff };
    xen_commandline_t cmdline;

    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0), 0x40011);
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_pagesize, 0, 0, 0), 4096);
    assert_int_equal(hc(__HYPERVISOR_xen_version, 99, 0, 0, 0), -XEN_ENOSYS);

    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, P(&fi), 0, 0), 0);
    assert_int_equal(fi.submap, 0);
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, BAD_VA, 0, 0), -XEN_EFAULT);
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_commandline, P(cmdline), 0, 0), -XEN_EPERM);

    dom->is_privileged = true;
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, P(&fi), 0, 0), 0);
    assert_int_equal(fi.submap, 1u << XENFEAT_dom0);
    fi.submap_idx = 1;
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, P(&fi), 0, 0), 0);
    assert_int_equal(fi.submap, 0);
    memset(cmdline, 'x', sizeof(cmdline));
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_commandline, P(cmdline), 0, 0), 0);
    assert_int_equal(cmdline[0], 0);

    struct xen_platform_parameters pp = { 0 };
    assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_platform_parameters, P(&pp), 0, 0), 0);
    assert_int_equal(pp.virt_start, HV_VIRT_START);
}

/* ---- multicall ------------------------------------------------------------ */

static void test_multicall(void **state)
{
    struct multicall_entry m[5];

    memset(m, 0, sizeof(m));
    m[0].op = 63;                               /* unknown */
    m[0].result = 1;
    m[1].op = __HYPERVISOR_stack_switch;
    m[1].args[0] = 0xe02b;
    m[1].args[1] = 0x7000;
    m[2].op = __HYPERVISOR_multicall;           /* nested */
    m[2].args[0] = P(&m[1]);
    m[2].args[1] = 1;
    m[3].op = __HYPERVISOR_iret;
    m[4].op = __HYPERVISOR_mmu_update;
    m[4].args[0] = 0xabc;
    m[4].args[1] = 2;

    assert_int_equal(hc(__HYPERVISOR_multicall, P(m), 5, 0, 0), 0);
    assert_int_equal((long)m[0].result, -XEN_ENOSYS);
    assert_int_equal(m[1].result, 0);
    assert_int_equal(vcpu0->kernel_ss, 0xe02b);
    assert_int_equal(vcpu0->kernel_sp, 0x7000);
    assert_int_equal((long)m[2].result, -XEN_ENOSYS);
    assert_int_equal((long)m[3].result, -XEN_ENOSYS);
    assert_int_equal(m[4].result, SENTINEL(__HYPERVISOR_mmu_update));
    assert_int_equal(stub_args[0], 0xabc);
    assert_int_equal(stub_args[1], 2);
    assert_int_equal(crashes, 0);

    memset(m, 0, sizeof(m));
    m[0].op = 1000;
    assert_int_equal(hc(__HYPERVISOR_multicall, P(m), 1, 0, 0), 0);
    assert_int_equal((long)m[0].result, -XEN_ENOSYS);

    assert_int_equal(hc(__HYPERVISOR_multicall, BAD_VA, 1, 0, 0), -XEN_EFAULT);
    assert_int_equal(hc(__HYPERVISOR_multicall, HV_ADDR, 1, 0, 0), -XEN_EFAULT);
    /* An empty list touches nothing, whatever the pointer. */
    assert_int_equal(hc(__HYPERVISOR_multicall, BAD_VA, 0, 0, 0), 0);
}

/* ---- iret ------------------------------------------------------------------ */

static long run_iret(struct iret_context *c, bool *crashed)
{
    long rc = 0;

    guest_regs.rsp = P(c);
    crash_armed = true;
    if (setjmp(crash_jmp) == 0) {
        rc = do_iret();
        *crashed = false;
    } else {
        *crashed = true;
    }
    crash_armed = false;
    return rc;
}

static void test_iret_user_without_user_table(void **state)
{
    struct iret_context c = { .rip = 0x400000, .cs = 0xe033, .rflags = 0x202,
                              .rsp = 0x7ff000, .ss = 0xe02b };
    bool crashed;

    vcpu0->guest_table_user = 0;
    run_iret(&c, &crashed);
    assert_true(crashed);
    assert_int_equal(crashes, 1);
    assert_int_equal(toggles, 0);
    assert_true(vcpu0->kernel_mode);

    /* An unreadable iret context on the guest stack crashes too. */
    guest_regs.rsp = BAD_VA;
    crash_armed = true;
    if (setjmp(crash_jmp) == 0) {
        do_iret();
        fail_msg("iret from an unreadable stack returned");
    }
    assert_int_equal(crashes, 2);
}

static void test_iret_to_user(void **state)
{
    struct iret_context c = {
        .rax = 0x1234, .r11 = 0x111, .rcx = 0x222, .flags = 0,
        .rip = 0x400123, .cs = 0xe030 /* RPL 0 */, .rflags = 0x3001 /* IOPL 3, CF, IF=0 */,
        .rsp = 0x7ff000, .ss = 0xe028,
    };
    bool crashed;

    vcpu0->guest_table_user = 0x200;
    vcpu0->vcpu_info->evtchn_upcall_mask = 0;
    c.cs |= 3;                          /* returning to user mode */
    c.ss &= ~3UL;
    assert_int_equal(run_iret(&c, &crashed), 0x1234);
    assert_false(crashed);
    assert_int_equal(toggles, 1);
    assert_false(vcpu0->kernel_mode);
    assert_int_equal(guest_regs.rip, 0x400123);
    assert_int_equal(guest_regs.rsp, 0x7ff000);
    assert_int_equal(guest_regs.cs, 0xe033);
    assert_int_equal(guest_regs.ss, 0xe02b);
    assert_int_equal(guest_regs.rflags, 0x1UL | X86_EFLAGS_IF | 2);   /* IOPL dropped, IF forced */
    assert_int_equal(guest_regs.r11, 0x111);
    assert_int_equal(guest_regs.rcx, 0x222);
    assert_int_equal(vcpu0->vcpu_info->evtchn_upcall_mask, 1);            /* guest had IF=0 */
}

static void test_iret_in_kernel(void **state)
{
    struct iret_context c = {
        .rax = 7, .r11 = 0x111, .rcx = 0x222, .flags = VGCF_in_syscall,
        .rip = 0x401000, .cs = 0xe030, .rflags = 0x246, .rsp = 0x800000, .ss = 0xe028,
    };
    bool crashed;

    guest_regs.r11 = 0xaaa;
    guest_regs.rcx = 0xbbb;
    exit_work.any = 0;
    vcpu0->vcpu_info->evtchn_upcall_mask = 1;
    assert_int_equal(run_iret(&c, &crashed), 7);
    assert_false(crashed);
    assert_int_equal(toggles, 0);               /* kernel to kernel: no switch */
    assert_true(vcpu0->kernel_mode);
    assert_int_equal(guest_regs.cs, 0xe033);    /* RPL forced to 3 */
    assert_int_equal(guest_regs.ss, 0xe02b);
    assert_int_equal(guest_regs.rip, 0x401000);
    assert_int_equal(guest_regs.rsp, 0x800000);
    assert_int_equal(guest_regs.rflags, 0x246);
    /* VGCF_in_syscall: rcx/r11 are not restored but become rip/rflags, as
     * Xen's SYSRET return leaves them, and the frame needs no exit work
     * (entry.S may SYSRET from it). */
    assert_int_equal(guest_regs.r11, 0x246);
    assert_int_equal(guest_regs.rcx, 0x401000);
    assert_false(exit_work.frame);
    assert_int_equal(vcpu0->vcpu_info->evtchn_upcall_mask, 0);

    /* An event pending once the mask drops: the common exit delivers it. */
    guest_regs.r11 = 0xaaa;
    guest_regs.rcx = 0xbbb;
    guest_regs.rsp = P(&c);
    vcpu0->vcpu_info->evtchn_upcall_mask = 1;
    vcpu0->vcpu_info->evtchn_upcall_pending = 1;
    assert_int_equal(run_iret(&c, &crashed), 7);
    assert_true(exit_work.frame);
    assert_int_equal(guest_regs.r11, 0xaaa);
    assert_int_equal(guest_regs.rcx, 0xbbb);
    vcpu0->vcpu_info->evtchn_upcall_pending = 0;
    exit_work.frame = false;

    /* Through the hypercall table, too (rax is what the iret context held).
     * Not from a system call: rcx/r11 restored, and the frame, checked
     * here as exit_prepare() would, may be resumed by IRET at once. */
    c.flags = 0;
    guest_regs.rsp = P(&c);
    exit_work.any = 0;
    assert_int_equal(hc(__HYPERVISOR_iret, 0, 0, 0, 0), 7);
    assert_int_equal(guest_regs.r11, 0x111);
    assert_int_equal(guest_regs.rcx, 0x222);
    assert_int_equal(exit_work.frame, EXIT_FRAME_IRET);
    assert_int_equal(exit_work.any, EXIT_WORK_IRET_ONLY);

    /* A selector that is not one of the flat ones is forced to one. */
    c.cs = 0x10;
    guest_regs.rsp = P(&c);
    assert_int_equal(hc(__HYPERVISOR_iret, 0, 0, 0, 0), 7);
    assert_int_equal(guest_regs.cs, FLAT_RING3_CS64);
    assert_int_equal(exit_work.frame, EXIT_FRAME_IRET);
    c.cs = 0xe030;

    /* A non-canonical rip (IRET would #GP in ring 0) or an event due:
     * exit_prepare() must see the frame. */
    c.rip = 0x0000800000000000UL;
    guest_regs.rsp = P(&c);
    assert_int_equal(hc(__HYPERVISOR_iret, 0, 0, 0, 0), 7);
    assert_int_equal(exit_work.frame, EXIT_FRAME_CHECK);
    c.rip = 0x401000;
    guest_regs.rsp = P(&c);
    vcpu0->vcpu_info->evtchn_upcall_pending = 1;
    assert_int_equal(hc(__HYPERVISOR_iret, 0, 0, 0, 0), 7);
    assert_int_equal(exit_work.frame, EXIT_FRAME_CHECK);
    vcpu0->vcpu_info->evtchn_upcall_pending = 0;
    exit_work.any = 0;
}

/* ---- hypercall page ---------------------------------------------------------- */

static void test_hypercall_page(void **state)
{
    uint8_t *page = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

    assert_non_null(page);
    write_hypercall_page(page);
    for (unsigned int n = 0; n < PAGE_SIZE / 32; n++) {
        const uint8_t *e = page + 32 * n;
        const uint8_t mov_syscall[] = { 0xb8, (uint8_t)n, 0, 0, 0, 0x0f, 0x05 };
        bool found = false;

        for (unsigned int off = 0; off + sizeof(mov_syscall) <= 32; off++)
            if (memcmp(e + off, mov_syscall, sizeof(mov_syscall)) == 0)
                found = true;
        assert_true(found);
        if (n == __HYPERVISOR_iret) {
            assert_int_equal(e[0], 0x51);       /* push %rcx */
            assert_int_equal(e[1], 0x41);       /* push %r11 */
            assert_int_equal(e[2], 0x53);
            assert_int_equal(e[3], 0x50);       /* push %rax */
            assert_memory_equal(e + 4, mov_syscall, sizeof(mov_syscall));
            for (unsigned int i = 4 + sizeof(mov_syscall); i < 32; i++)
                assert_int_not_equal(e[i], 0xc3);
        } else {
            static const uint8_t pre[] = { 0x51, 0x41, 0x53 };
            static const uint8_t post[] = { 0x41, 0x5b, 0x59, 0xc3 };
            assert_memory_equal(e, pre, sizeof(pre));
            assert_memory_equal(e + 3, mov_syscall, sizeof(mov_syscall));
            assert_memory_equal(e + 10, post, sizeof(post));
        }
    }
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_dispatch_unknown),
        T(test_dispatch_args),
        T(test_set_trap_table),
        T(test_set_segment_base),
        T(test_callback_op),
        T(test_vm_assist),
        T(test_set_debugreg),
        T(test_debugreg_roundtrip),
        T(test_set_debugreg_dr7_gd),
        T(test_set_debugreg_dr7_readback),
        T(test_physdev_set_iopl),
        T(test_console_io),
        T(test_xen_version),
        T(test_multicall),
        T(test_iret_user_without_user_table),
        T(test_iret_to_user),
        T(test_iret_in_kernel),
        T(test_hypercall_page),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
