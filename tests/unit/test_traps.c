/*
 * test_traps.c - host unit tests (cmocka) for the I/O-port emulation of
 * hypervisor/pv/traps.c: in/out from a PV guest with a virtual IOPL (8, 16 and
 * 32 bit, imm8 and %dx forms), the IOPL check, and the ports the hypervisor
 * keeps for itself (the guest gets #GP: emulate_io() returns false and
 * leaves the registers alone); and the fast bounce of a guest user-mode
 * system call (pv_syscall_fast): the frame, the SYSRET-ready registers,
 * and a hostile kernel stack (in the hypervisor's range, non-canonical,
 * unmapped) crashing the domain with nothing written.
 *
 * Runs on the host: compiles the hypervisor's own traps.c, of which
 * LAMINA_HOST_TEST keeps only the I/O emulation.  Ports are a recording
 * fake (io_in/io_out); guest memory is host memory, except the page at
 * BAD_VA, which faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../hypervisor/pv/traps.c"

/* ---- guest memory and ports ------------------------------------------------- */

#define BAD_VA 0x0000000dead0000UL
static uint64_t fault_va = BAD_VA;      /* [fault_va, +4096) faults */

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (src < fault_va + 4096 && src + len > fault_va)
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}

/* Every port access, in order. */
struct io_rec { bool out; unsigned int port, size; uint32_t val; };
static struct io_rec io_log[8];
static unsigned int io_n;

uint32_t io_in(unsigned int port, unsigned int size)
{
    assert_true(io_n < 8);
    io_log[io_n++] = (struct io_rec){ false, port, size, 0 };
    return 0x87654321u;                 /* wider than the access: must be cut */
}

void io_out(unsigned int port, unsigned int size, uint32_t val)
{
    assert_true(io_n < 8);
    io_log[io_n++] = (struct io_rec){ true, port, size, val };
}

/* entry.S's raw_copy: [fault_va, +4096) faults (nothing copied). */
size_t raw_copy(void *dst, const void *src, size_t n)
{
    uint64_t d = (uintptr_t)dst, sa = (uintptr_t)src;

    if ((d < fault_va + 4096 && d + n > fault_va) || (sa < fault_va + 4096 && sa + n > fault_va))
        return n;
    memcpy(dst, src, n);
    return 0;
}

/* The slow path and domain_crash(), recorded; a crash does not return. */
static unsigned int slow_calls, crashes;
static jmp_buf crash_jmp;
void syscall_from_guest(struct cpu_regs *regs) { (void)regs; slow_calls++; }
void domain_crash(struct domain *d, const char *why)
{
    (void)d; (void)why;
    crashes++;
    longjmp(crash_jmp, 1);
}

/* ---- helpers ------------------------------------------------------------------- */

static struct vcpu vcpu;
static uint8_t code[16];

/* Runs emulate_io() on the instruction bytes given, with rax/rdx preset. */
static bool run(const uint8_t *insn, unsigned int n, uint64_t rax, uint64_t rdx,
                struct cpu_regs *r)
{
    memset(code, 0x90, sizeof(code));
    memcpy(code, insn, n);
    memset(r, 0, sizeof(*r));
    r->rip = (uint64_t)(uintptr_t)code;
    r->rax = rax;
    r->rdx = rdx;
    io_n = 0;
    return emulate_io(&vcpu, r);
}

static int setup(void **state)
{
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.kernel_mode = true;
    vcpu.iopl = 1;
    io_n = 0;
    fault_va = BAD_VA;
    return 0;
}

#define RAX0 0x1111222233334444UL

/* ---- tests --------------------------------------------------------------------- */

static void test_widths_dx(void **state)
{
    struct cpu_regs r;

    /* in %dx,%al / %ax / %eax: 0xcfc, PCI config data */
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0xabcd0cfc, &r));
    assert_int_equal(io_n, 1);
    assert_int_equal(io_log[0].port, 0xcfc);
    assert_int_equal(io_log[0].size, 1);
    assert_false(io_log[0].out);
    assert_int_equal(r.rax, 0x1111222233334421UL);
    assert_int_equal(r.rip, (uintptr_t)code + 1);

    assert_true(run((uint8_t[]){ 0x66, 0xed }, 2, RAX0, 0xcfc, &r));
    assert_int_equal(io_log[0].size, 2);
    assert_int_equal(r.rax, 0x1111222233334321UL);
    assert_int_equal(r.rip, (uintptr_t)code + 2);

    assert_true(run((uint8_t[]){ 0xed }, 1, RAX0, 0xcfc, &r));
    assert_int_equal(io_log[0].size, 4);
    assert_int_equal(r.rax, 0x87654321UL);          /* zero-extended */

    /* out %eax,%dx to 0xcf8 (PCI config address), %ax, %al */
    assert_true(run((uint8_t[]){ 0xef }, 1, 0xdead80001810UL, 0xcf8, &r));
    assert_int_equal(io_n, 1);
    assert_true(io_log[0].out);
    assert_int_equal(io_log[0].port, 0xcf8);
    assert_int_equal(io_log[0].size, 4);
    assert_int_equal(io_log[0].val, 0x80001810u);
    assert_int_equal(r.rax, 0xdead80001810UL);      /* out leaves rax */
    assert_int_equal(r.rip, (uintptr_t)code + 1);
    assert_true(run((uint8_t[]){ 0x66, 0xef }, 2, 0x12345678, 0x2f8, &r));
    assert_int_equal(io_log[0].size, 2);
    assert_int_equal(io_log[0].port, 0x2f8);
    assert_int_equal(io_log[0].val & 0xffff, 0x5678);
    assert_true(run((uint8_t[]){ 0xee }, 1, 0x12345678, 0x2f8, &r));
    assert_int_equal(io_log[0].size, 1);
    assert_int_equal(io_log[0].val & 0xff, 0x78);
}

static void test_widths_imm8(void **state)
{
    struct cpu_regs r;

    assert_true(run((uint8_t[]){ 0xe4, 0x71 }, 2, RAX0, 0, &r));       /* in $0x71,%al */
    assert_int_equal(io_log[0].port, 0x71);
    assert_int_equal(io_log[0].size, 1);
    assert_int_equal(r.rax, 0x1111222233334421UL);
    assert_int_equal(r.rip, (uintptr_t)code + 2);
    assert_true(run((uint8_t[]){ 0x66, 0xe5, 0x80 }, 3, RAX0, 0, &r)); /* in $0x80,%ax */
    assert_int_equal(io_log[0].size, 2);
    assert_int_equal(r.rax, 0x1111222233334321UL);
    assert_int_equal(r.rip, (uintptr_t)code + 3);
    assert_true(run((uint8_t[]){ 0xe5, 0x80 }, 2, RAX0, 0, &r));       /* in $0x80,%eax */
    assert_int_equal(io_log[0].size, 4);
    assert_int_equal(r.rax, 0x87654321UL);
    assert_true(run((uint8_t[]){ 0xe6, 0x70 }, 2, 0x8f, 0, &r));       /* out %al,$0x70 */
    assert_true(io_log[0].out);
    assert_int_equal(io_log[0].port, 0x70);
    assert_int_equal(io_log[0].val & 0xff, 0x8f);
    assert_true(run((uint8_t[]){ 0xe7, 0x80 }, 2, 0xcafef00d, 0, &r)); /* out %eax,$0x80 */
    assert_int_equal(io_log[0].size, 4);
    assert_int_equal(io_log[0].val, 0xcafef00d);
    /* the %dx forms use only dx, not the upper bits of rdx */
    assert_true(run((uint8_t[]){ 0xec }, 1, 0, 0xffffffff00010080UL, &r));
    assert_int_equal(io_log[0].port, 0x80);
}

/* Every hypervisor port, every width, both forms: #GP, no access. */
static void test_deny_list(void **state)
{
    static const unsigned int denied[] = {
        0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61,
        0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
        0x501, 0x502, 0x604, 0x605,
    };
    struct cpu_regs r;

    for (unsigned int i = 0; i < ARRAY_SIZE(denied); i++) {
        unsigned int p = denied[i];

        assert_false(run((uint8_t[]){ 0xec }, 1, RAX0, p, &r));
        assert_false(run((uint8_t[]){ 0xee }, 1, RAX0, p, &r));
        assert_false(run((uint8_t[]){ 0x66, 0xed }, 2, RAX0, p, &r));
        assert_false(run((uint8_t[]){ 0xef }, 1, RAX0, p, &r));
        if (p < 0x100) {
            assert_false(run((uint8_t[]){ 0xe4, (uint8_t)p }, 2, RAX0, 0, &r));
            assert_false(run((uint8_t[]){ 0xe7, (uint8_t)p }, 2, RAX0, 0, &r));
        }
        assert_int_equal(io_n, 0);
        assert_int_equal(r.rax, RAX0);
        assert_int_equal(r.rip, (uintptr_t)code);
    }
    /* ranges that only overlap a reserved port are denied too */
    assert_false(run((uint8_t[]){ 0x66, 0xed }, 2, RAX0, 0x1f, &r));      /* 0x1f-0x20 */
    assert_false(run((uint8_t[]){ 0xed }, 1, RAX0, 0x3f5, &r));           /* 0x3f5-0x3f8 */
    assert_false(run((uint8_t[]){ 0xef }, 1, RAX0, 0x5e, &r));            /* 0x5e-0x61 */
    assert_false(run((uint8_t[]){ 0xed }, 1, RAX0, 0x602, &r));           /* 0x602-0x605 */
    assert_false(run((uint8_t[]){ 0xe5, 0x9e }, 2, RAX0, 0, &r));         /* 0x9e-0xa1 */
    assert_int_equal(io_n, 0);
    /* neighbours are fine */
    assert_true(run((uint8_t[]){ 0xed }, 1, RAX0, 0x3f4, &r));            /* 0x3f4-0x3f7 */
    assert_true(run((uint8_t[]){ 0x66, 0xed }, 2, RAX0, 0x1e, &r));
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0x2f8, &r));            /* COM2 */
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0x60, &r));
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0x44, &r));
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0x606, &r));
}

static void test_iopl_and_decode(void **state)
{
    struct cpu_regs r;

    vcpu.iopl = 0;
    assert_false(run((uint8_t[]){ 0xec }, 1, RAX0, 0x2f8, &r));
    vcpu.iopl = 1;
    vcpu.kernel_mode = false;           /* guest user mode is ring 3 */
    assert_false(run((uint8_t[]){ 0xec }, 1, RAX0, 0x2f8, &r));
    vcpu.iopl = 3;
    assert_true(run((uint8_t[]){ 0xec }, 1, RAX0, 0x2f8, &r));
    vcpu.kernel_mode = true;
    assert_int_equal(io_n, 1);
    /* string I/O, rep, other opcodes: not emulated */
    assert_false(run((uint8_t[]){ 0x6c }, 1, RAX0, 0x2f8, &r));
    assert_false(run((uint8_t[]){ 0xf3, 0x6e }, 2, RAX0, 0x2f8, &r));
    assert_false(run((uint8_t[]){ 0x0f, 0x01 }, 2, RAX0, 0x2f8, &r));
    assert_int_equal(io_n, 0);
    /* an unreadable instruction */
    memset(&r, 0, sizeof(r));
    r.rip = BAD_VA;
    assert_false(emulate_io(&vcpu, &r));
    /* a one-byte in/out right before an unreadable page: only its byte is
     * read; a truncated imm8 form is refused */
    code[0] = 0xec;
    r.rdx = 0x2f8;
    fault_va = (uintptr_t)code + 1;
    r.rip = (uintptr_t)code;
    assert_true(emulate_io(&vcpu, &r));
    code[0] = 0xe4;
    r.rip = (uintptr_t)code;
    assert_false(emulate_io(&vcpu, &r));
    code[0] = 0x66;
    r.rip = (uintptr_t)code;
    assert_false(emulate_io(&vcpu, &r));
}

/* ---- pv_syscall_fast ------------------------------------------------------------ */

static uint64_t kstack[64] __attribute__((aligned(16)));
static struct vcpu_info vinfo;
static struct domain dom;

/* The vCPU both fast bounces start from: mode and kernel stack as given,
 * kernel L4 0x1234, user L4 0x5678, a kernel GS base. */
static void fast_vcpu_reset(bool kernel, uint64_t kernel_sp)
{
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.domain = &dom;
    vcpu.vcpu_info = &vinfo;
    vcpu.kernel_mode = kernel;
    vcpu.kernel_sp = kernel_sp;
    vcpu.guest_table = 0x1234;
    vcpu.guest_table_user = 0x5678;
    vcpu.gs_base_kernel = 0xffffffff80200000UL;
}

/* Runs pv_syscall_fast() from guest user mode with kernel_sp as given;
 * *crashed says whether it crashed the domain. */
static int run_fast(uint64_t kernel_sp, struct cpu_regs *r, bool *crashed)
{
    int rc = -1;

    fast_vcpu_reset(false, kernel_sp);
    vcpu.syscall_fast = true;
    vcpu.syscall_callback_eip = 0xffffffff80101000UL;
    pv_kernel_sp_changed(&vcpu);
    memset(r, 0, sizeof(*r));
    r->rip = r->rcx = 0x400100;
    r->rflags = r->r11 = 0x246 | X86_EFLAGS_AC;
    r->rsp = 0x7ff000;
    r->cs = FLAT_RING3_CS64;
    r->ss = FLAT_RING3_SS64;
    slow_calls = crashes = 0;
    *crashed = false;
    if (setjmp(crash_jmp) == 0)
        rc = pv_syscall_fast(&vcpu, r);
    else
        *crashed = true;
    return rc;
}

static void test_syscall_fast_frame(void **state)
{
    struct cpu_regs r;
    bool crashed;
    uint64_t top = (uintptr_t)&kstack[64], *f = &kstack[64 - 7];

    (void)state;
    memset(kstack, 0, sizeof(kstack));
    vinfo.evtchn_upcall_mask = 0;
    vinfo.evtchn_upcall_pending = 0;
    assert_int_equal(run_fast(top + 8, &r, &crashed), 0);   /* rounded down to 16 */
    assert_false(crashed);
    assert_int_equal(slow_calls, 0);
    /* Xen's frame: rcx, r11, rip, cs | saved mask << 32, rflags, rsp, ss. */
    assert_int_equal(f[0], 0x400100);
    assert_int_equal(f[1], 0x246 | X86_EFLAGS_AC);
    assert_int_equal(f[2], 0x400100);
    assert_int_equal(f[3], FLAT_RING3_CS64);
    assert_int_equal(f[4], 0x246 | X86_EFLAGS_AC);          /* IF: events were on */
    assert_int_equal(f[5], 0x7ff000);
    assert_int_equal(f[6], FLAT_RING3_SS64);
    /* Kernel mode, on the kernel L4 and GS base; SYSRET-ready registers. */
    assert_true(vcpu.kernel_mode && vcpu.hypercall_fast && !vcpu.syscall_fast);
    assert_int_equal(host_cpu.cr3, 0x1234UL << 12);
    assert_int_equal(host_cpu.gs_base, 0xffffffff80200000UL);
    assert_int_equal(r.rip, vcpu.syscall_callback_eip);
    assert_int_equal(r.rcx, r.rip);
    assert_int_equal(r.rsp, (uintptr_t)f);
    assert_int_equal(r.rflags, 0x246);                      /* AC cleared */
    assert_int_equal(r.r11, r.rflags);

    /* CALLBACKF_mask_events: the mask is set, the frame keeps the old one;
     * a pending event with the mask clear sends the exit the long way. */
    vcpu.syscall_disables_events = true;
    vinfo.evtchn_upcall_pending = 1;
    assert_int_equal(run_fast(top, &r, &crashed), 1);
    vcpu.syscall_disables_events = false;
    vinfo.evtchn_upcall_pending = 0;

    /* A null or non-canonical callback, or TF: the slow path decides. */
    memset(kstack, 0, sizeof(kstack));
    struct cpu_regs r2;
    memset(&r2, 0, sizeof(r2));
    vcpu.syscall_callback_eip = 0;
    vcpu.kernel_mode = false;
    assert_int_equal(pv_syscall_fast(&vcpu, &r2), 1);
    vcpu.syscall_callback_eip = 0x0000800000000000UL;
    assert_int_equal(pv_syscall_fast(&vcpu, &r2), 1);
    assert_int_equal(slow_calls, 2);
    assert_int_equal(kstack[63], 0);
}

static void test_syscall_fast_hostile_stack(void **state)
{
    static const uint64_t bad[] = {
        HV_VIRT_START + 0x1000,             /* the hypervisor's own range */
        HV_VIRT_END - 8,                    /* a frame straddling its end */
        0x0000800000000040UL,               /* non-canonical */
        0x0000000000000020UL,               /* wraps below 0 */
    };
    struct cpu_regs r;
    bool crashed;

    (void)state;
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_fast(bad[i], &r, &crashed);
        assert_true(crashed);
        assert_int_equal(crashes, 1);
    }
    /* A stack the guest has not mapped (raw_copy faults): crash too. */
    fault_va = ((uintptr_t)&kstack[64] - 56) & ~4095UL;
    run_fast((uintptr_t)&kstack[64], &r, &crashed);
    assert_true(crashed);
    fault_va = BAD_VA;
}

/* ---- exception fast bounce ------------------------------------------------ */

#define PF_HANDLER 0xffffffff80102000UL

/* Runs pv_exception_fast() for #PF (error code 6) taken with the guest in
 * kernel mode (kernel true, on stack rsp) or user mode (on kernel_sp). */
static enum pv_bounce run_exc(bool kernel, uint64_t sp, struct cpu_regs *r, bool *crashed)
{
    enum pv_bounce rc = PV_BOUNCE_SLOW;

    fast_vcpu_reset(kernel, kernel ? 0 : sp);
    vcpu.trap_ctxt[X86_EXC_PF].address = PF_HANDLER;
    vcpu.trap_ctxt[X86_EXC_PF].flags = 4;           /* TI_MASK_EVENTS */
    memset(r, 0, sizeof(*r));
    r->rip = 0x400100;
    r->rcx = 0x1111;
    r->r11 = 0x2222;
    r->rflags = 0x246 | X86_EFLAGS_TF | X86_EFLAGS_AC;
    r->rsp = kernel ? sp : 0x7ff008;
    r->cs = FLAT_RING3_CS64;
    r->ss = FLAT_RING3_SS64;
    r->error_code = 6;
    host_cpu.cr3 = 0;
    crashes = 0;
    *crashed = false;
    if (setjmp(crash_jmp) == 0)
        rc = pv_exception_fast(&vcpu, r, X86_EXC_PF, true);
    else
        *crashed = true;
    return rc;
}

static void test_exception_fast_frame(void **state)
{
    struct cpu_regs r;
    bool crashed;
    uint64_t top = (uintptr_t)&kstack[64], *f = &kstack[64 - 8];

    (void)state;
    memset(kstack, 0, sizeof(kstack));
    vinfo.evtchn_upcall_mask = 0;
    vinfo.evtchn_upcall_pending = 0;
    /* From guest kernel mode: the frame below its own (16-aligned) rsp. */
    assert_int_equal(run_exc(true, top + 8, &r, &crashed), PV_BOUNCE_RESUME);
    assert_false(crashed);
    /* Xen's frame: rcx, r11, error code, rip, cs | saved mask << 32,
     * rflags (IF: events were on), rsp, ss; the CS RPL says "kernel". */
    assert_int_equal(f[0], 0x1111);
    assert_int_equal(f[1], 0x2222);
    assert_int_equal(f[2], 6);
    assert_int_equal(f[3], 0x400100);
    assert_int_equal(f[4], FLAT_RING3_CS64 & ~3UL);
    assert_int_equal(f[5], 0x246 | X86_EFLAGS_TF | X86_EFLAGS_AC);
    assert_int_equal(f[6], top + 8);
    assert_int_equal(f[7], FLAT_RING3_SS64);
    /* What exit_prepare() would leave: the handler on the flat kernel
     * selectors, TF and AC cleared, IF kept; TI_MASK_EVENTS honoured. */
    assert_int_equal(r.rip, PF_HANDLER);
    assert_int_equal(r.rsp, (uintptr_t)f);
    assert_int_equal(r.cs, FLAT_KERNEL_CS);
    assert_int_equal(r.ss, FLAT_KERNEL_SS);
    assert_int_equal(r.rflags, 0x246);
    assert_int_equal(vinfo.evtchn_upcall_mask, 1);
    assert_int_equal(host_cpu.cr3, 0);          /* no mode switch */

    /* From guest user mode: onto the kernel L4 and kernel_sp; the saved
     * mask (1 now) is in the frame and rflags loses IF. */
    memset(kstack, 0, sizeof(kstack));
    assert_int_equal(run_exc(false, top, &r, &crashed), PV_BOUNCE_RESUME);
    assert_true(vcpu.kernel_mode && vcpu.hypercall_fast);
    assert_int_equal(host_cpu.cr3, 0x1234UL << 12);
    assert_int_equal(f[4], FLAT_RING3_CS64 | (1UL << 32));
    assert_int_equal(f[5], (0x246 & ~X86_EFLAGS_IF) | X86_EFLAGS_TF | X86_EFLAGS_AC);
    assert_int_equal(f[6], 0x7ff008);
    assert_int_equal(r.rsp, (uintptr_t)f);

    /* A trap gate (no TI_MASK_EVENTS) with an event pending and unmasked:
     * bounced, but the exit must deliver the event on top. */
    vinfo.evtchn_upcall_mask = 0;
    vinfo.evtchn_upcall_pending = 1;
    memset(kstack, 0, sizeof(kstack));
    vcpu.trap_ctxt[X86_EXC_PF].flags = 0;
    {
        struct cpu_regs r2;

        memset(&r2, 0, sizeof(r2));
        r2.rsp = top;
        r2.rflags = 0x246;
        vcpu.kernel_mode = true;
        assert_int_equal(pv_exception_fast(&vcpu, &r2, X86_EXC_PF, true), PV_BOUNCE_DONE);
        assert_int_equal(r2.rip, PF_HANDLER);
        assert_int_equal(vinfo.evtchn_upcall_mask, 0);
    }
    vinfo.evtchn_upcall_pending = 0;

    /* No handler, or a non-canonical one: nothing done, the common bounce
     * decides (it kills the domain). */
    struct cpu_regs before;
    run_exc(true, top, &r, &crashed);
    vcpu.trap_ctxt[X86_EXC_PF].address = 0;
    memset(kstack, 0, sizeof(kstack));
    before = r;
    assert_int_equal(pv_exception_fast(&vcpu, &r, X86_EXC_PF, true), PV_BOUNCE_SLOW);
    vcpu.trap_ctxt[X86_EXC_PF].address = 0x0000800000000000UL;
    assert_int_equal(pv_exception_fast(&vcpu, &r, X86_EXC_PF, true), PV_BOUNCE_SLOW);
    assert_memory_equal(&r, &before, sizeof(r));
    assert_int_equal(kstack[63], 0);
}

static void test_exception_fast_hostile_stack(void **state)
{
    static const uint64_t bad[] = {
        HV_VIRT_START + 0x1000,             /* the hypervisor's own range */
        HV_VIRT_END + 8,                    /* a frame straddling its end */
        0x0000800000000040UL,               /* non-canonical */
        0x0000000000000020UL,               /* wraps below 0 */
    };
    struct cpu_regs r, before;
    bool crashed;

    (void)state;
    /* Outside the guest's range, from either mode: nothing written or
     * switched; guest_bounce() then kills the domain. */
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int kernel = 0; kernel < 2; kernel++) {
            run_exc(kernel, (uintptr_t)&kstack[64], &r, &crashed);
            before = r;
            vcpu.kernel_mode = kernel;
            if (kernel)
                r.rsp = bad[i];
            else
                vcpu.kernel_sp = bad[i];
            before.rsp = r.rsp;
            host_cpu.cr3 = 0;
            assert_int_equal(pv_exception_fast(&vcpu, &r, X86_EXC_PF, true), PV_BOUNCE_SLOW);
            assert_memory_equal(&r, &before, sizeof(r));
            assert_int_equal(vcpu.kernel_mode, kernel);
            assert_int_equal(host_cpu.cr3, 0);
        }
    }
    /* A stack the guest has not mapped (the stores fault): crash. */
    fault_va = ((uintptr_t)&kstack[64] - 64) & ~4095UL;
    run_exc(true, (uintptr_t)&kstack[64], &r, &crashed);
    assert_true(crashed);
    assert_int_equal(crashes, 1);
    fault_va = BAD_VA;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_widths_dx, setup),
        cmocka_unit_test_setup(test_widths_imm8, setup),
        cmocka_unit_test_setup(test_deny_list, setup),
        cmocka_unit_test_setup(test_iopl_and_decode, setup),
        cmocka_unit_test(test_syscall_fast_frame),
        cmocka_unit_test(test_syscall_fast_hostile_stack),
        cmocka_unit_test(test_exception_fast_frame),
        cmocka_unit_test(test_exception_fast_hostile_stack),
    };

    return cmocka_run_group_tests_name("traps", tests, NULL, NULL);
}
