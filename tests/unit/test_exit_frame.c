/*
 * test_exit_frame.c - host unit tests of the checks on a frame returning to
 * a PV guest (hypervisor/pv/exit_frame.h): each case is one hostile
 * frame and what the check must make of it.  Under QEMU TCG an IRET or
 * SYSRET to a non-canonical rip faults in user mode rather than in ring 0
 * (no Intel SYSRET erratum), so only these tests catch the removal of the
 * rip and rsp checks; tests/scenario/exit_path.sh covers the rest end to
 * end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "pv/exit_frame.h"

/* A frame as a hypercall leaves it: SYSRET-able. */
static struct cpu_regs good(void)
{
    struct cpu_regs r;

    memset(&r, 0, sizeof(r));
    r.rip = r.rcx = 0xffffffff80001234UL;
    r.rflags = r.r11 = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    r.cs = FLAT_RING3_CS64;
    r.ss = FLAT_RING3_SS64;
    r.rsp = 0xffffffff80100000UL;
    return r;
}

static void test_good_frame(void **state)
{
    struct cpu_regs r = good();

    assert_int_equal(exit_frame_sanitise(&r), EXIT_RESUME);
    assert_true(exit_sysret_ok(&r));
}

static void test_noncanonical_rip(void **state)
{
    static const uint64_t bad[] = { 0x0000800000000000UL, 0xffff7fffffffffffUL,
                                    0x8000000000000000UL, 0x00ff000000000000UL };
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cpu_regs r = good();

        r.rip = r.rcx = bad[i];
        assert_int_equal(exit_frame_sanitise(&r), EXIT_GP);
        assert_false(exit_sysret_ok(&r));
    }
    struct cpu_regs r = good();
    r.rip = r.rcx = 0x00007fffffffffffUL;       /* last canonical low address */
    assert_int_equal(exit_frame_sanitise(&r), EXIT_RESUME);
    assert_true(exit_sysret_ok(&r));
}

static void test_noncanonical_rsp(void **state)
{
    struct cpu_regs r = good();

    r.rsp = 0x8000000000000000UL;
    assert_int_equal(exit_frame_sanitise(&r), EXIT_RESUME);   /* not fatal */
    assert_int_equal(r.rsp, 0x8000000000000000UL);
    assert_false(exit_sysret_ok(&r));                         /* IRET instead */
}

static void test_cs_and_ss(void **state)
{
    static const struct { uint64_t in, out; } cs[] = {
        { 0xe008, FLAT_RING3_CS64 },            /* the hypervisor's CS */
        { 0xe018, FLAT_RING3_CS64 },            /* its 32-bit CS */
        { 0xe030, FLAT_RING3_CS64 },            /* kernel CS, RPL 0 */
        { FLAT_RING3_CS32 & ~3UL, FLAT_RING3_CS32 },
        { FLAT_RING3_CS32, FLAT_RING3_CS32 },
        { 0x0010, FLAT_RING3_CS64 },            /* a guest GDT selector */
        { 0x1007, FLAT_RING3_CS64 },            /* an LDT selector */
        { 0xffff, FLAT_RING3_CS64 },
    };
    for (unsigned int i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        struct cpu_regs r = good();

        r.cs = cs[i].in;
        r.ss = 0xe010;                          /* the hypervisor's SS */
        assert_int_equal(exit_frame_sanitise(&r), EXIT_RESUME);
        assert_int_equal(r.cs, cs[i].out);
        assert_int_equal(r.ss, FLAT_RING3_SS64);
    }
    struct cpu_regs r = good();
    r.cs = FLAT_RING3_CS32;
    assert_false(exit_sysret_ok(&r));           /* SYSRET returns to 64-bit only */
}

static void test_rflags(void **state)
{
    struct cpu_regs r = good();

    r.rflags = r.r11 = X86_EFLAGS_IOPL;             /* IOPL 3, IF 0, bit 1 clear */
    assert_int_equal(exit_frame_sanitise(&r), EXIT_RESUME);
    assert_int_equal(r.rflags & X86_EFLAGS_IOPL, 0);
    assert_int_equal(r.rflags & X86_EFLAGS_IF, X86_EFLAGS_IF);
    assert_int_equal(r.rflags & X86_EFLAGS_FIXED, X86_EFLAGS_FIXED);

    r = good();
    r.rflags = r.r11 = X86_EFLAGS_IF | X86_EFLAGS_FIXED | X86_EFLAGS_TF;
    assert_false(exit_sysret_ok(&r));
    r = good();
    r.rflags = r.r11 = X86_EFLAGS_IF | X86_EFLAGS_FIXED | X86_EFLAGS_RF;
    assert_false(exit_sysret_ok(&r));
}

static void test_sysret_needs_exact_frame(void **state)
{
    struct cpu_regs r = good();

    r.rcx++;                                    /* a bounce moved rip */
    assert_false(exit_sysret_ok(&r));
    r = good();
    r.r11 ^= X86_EFLAGS_TF;
    assert_false(exit_sysret_ok(&r));
    r = good();
    r.ss = 0xe010;                              /* not the flat ring-3 SS */
    assert_false(exit_sysret_ok(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_frame),
        cmocka_unit_test(test_noncanonical_rip),
        cmocka_unit_test(test_noncanonical_rsp),
        cmocka_unit_test(test_cs_and_ss),
        cmocka_unit_test(test_rflags),
        cmocka_unit_test(test_sysret_needs_exact_frame),
    };
    return cmocka_run_group_tests_name("exit_frame", tests, NULL, NULL);
}
