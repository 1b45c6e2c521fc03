/*
 * exitpath.c - attacks on the way into and out of the hypervisor (issue
 * 10): the CPU's LDT, non-canonical return frames, privileged selectors and
 * EFLAGS on HYPERVISOR_iret, and debug registers.  Runs in the hostile PV
 * kernel when its command line has `exit-cases` (Lamina only; on Xen the
 * same attacks fail too, but the cases are not recorded there).
 *
 * Each case prints one `hostile: <case>: rc=.. expect=.. PASS|FAIL` line;
 * for probed attacks rc is the vector of the exception the hypervisor
 * bounced back to us (-1: the attack returned normally).  A hypervisor that
 * lets an attack through either panics (the scenario sees it), crashes this
 * domain (the summary line never comes) or gives a wrong rc.
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include "hostile.h"

#define VIRT_BASE       0xffffffff80000000UL
#define PTE_P           0x001UL
#define PTE_RW          0x002UL
#define PTE_USER        0x004UL
#define NONCANON        0x0000800000000000UL    /* first non-canonical address */
#define HV_CS           0xe008                  /* the hypervisor's ring-0 CS */

long probe(void (*fn)(unsigned long), unsigned long arg);
void probe_db(void), probe_ss(void), probe_gp(void), probe_pf(void);
void attack_lcall(unsigned long sel), gate_target(void);
void attack_syscall_rsp(unsigned long rsp), attack_iret_rip(unsigned long rip);
void attack_iret_cs(unsigned long cs), touch_watched(unsigned long v);
void count_db(void);
extern unsigned long db_count;
extern uint32_t probe_vec;
extern unsigned long probe_err, probe_rip, gate_cs, landed_cs, landed_rflags;
extern volatile unsigned long watched;

/* The low mapping for the LDT attack: VA 0x1000 -> gate_page, through
 * fresh L3/L2/L1 tables hung off L4 slot 0. */
static uint64_t low_pt[3][512] __attribute__((aligned(4096)));
static uint64_t gate_page[512] __attribute__((aligned(4096)));
static uint64_t ldt_page[512] __attribute__((aligned(4096)));

static unsigned long mfn_of(const void *va) { return va_to_mfn(va); }

/* Remaps our kernel VA va read-only (page tables and LDT pages must be). */
static bool make_ro(const void *va)
{
    struct walk w;

    if (!pt_walk((unsigned long)va, &w))
        return false;
    return HYPERVISOR_update_va_mapping((unsigned long)va, w.l1e & ~PTE_RW,
                                        UVMF_INVLPG) == 0;
}

/* A 16-byte 64-bit call gate (type 0xc, DPL 3, present) to sel:off. */
static void write_gate(uint64_t *d, uint16_t sel, uint64_t off)
{
    d[0] = (off & 0xffff) | ((uint64_t)sel << 16) | (0xecUL << 40) |
           (((off >> 16) & 0xffff) << 48);
    d[1] = off >> 32;
}

static unsigned long parse_hex_arg(const char *key)
{
    const char *s = (const char *)si->cmd_line;
    unsigned long v = 0;
    unsigned int n = 0;

    while (key[n])
        n++;
    for (unsigned int i = 0; s[i]; i++) {
        unsigned int k = 0;
        while (k < n && s[i + k] == key[k])
            k++;
        if (k < n || (i && s[i - 1] != ' '))
            continue;
        for (i += n; s[i] && s[i] != ' '; i++) {
            char c = s[i];
            if (c == 'x' || c == 'X')
                continue;
            v = v * 16 + (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
    }
    return 0;
}

/* Item 0: the reset-state LDT (base 0, limit 0xffff) must not be live: a
 * call gate written at linear 0x1000 (LDT index 0x200, selector 0x1007)
 * aimed at the hypervisor's CS must fault, not run gate_target in ring 0. */
static void case_ldt_gate(void)
{
    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    unsigned long l4_ma = mfn_of(l4) << 12;
    long rc;

    low_pt[0][0] = (mfn_of(low_pt[1]) << 12) | PTE_P | PTE_RW | PTE_USER;  /* L3 */
    low_pt[1][0] = (mfn_of(low_pt[2]) << 12) | PTE_P | PTE_RW | PTE_USER;  /* L2 */
    low_pt[2][1] = (mfn_of(gate_page) << 12) | PTE_P | PTE_RW | PTE_USER;  /* L1: 0x1000 */
    for (int i = 0; i < 3; i++)
        if (!make_ro(low_pt[i])) {
            setup_fail("ldt_gate: page-table pages read-only");
            return;
        }
    if (pte_write(l4_ma, (mfn_of(low_pt[0]) << 12) | PTE_P | PTE_RW | PTE_USER)) {
        setup_fail("ldt_gate: L4 slot 0");
        return;
    }
    write_gate((uint64_t *)0x1000, HV_CS, (uint64_t)gate_target);
    gate_cs = 0;
    rc = probe(attack_lcall, 0x1007);
    report("ldt_call_gate_to_hypervisor_cs", rc, 13);
    if (gate_cs) {
        put_s("hostile: ldt_call_gate ran its target with cs ");
        put_hex(gate_cs);
        put_s(" FAIL");
        line_end();
        setup_fail("ldt_call_gate_to_hypervisor_cs reached its target");
    }
    (void)pte_write(l4_ma, 0);
}

/* MMUEXT_SET_LDT: a frame with a call gate is refused; a valid LDT works
 * (a DPL-3 data segment at index 1 loads into %fs), and is removed. */
static void case_set_ldt(void)
{
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT };
    long rc;

    write_gate(&ldt_page[4], HV_CS, (uint64_t)gate_target);
    if (!make_ro(ldt_page)) {
        setup_fail("set_ldt: ldt page read-only");
        return;
    }
    op.arg1.linear_addr = (unsigned long)ldt_page;
    op.arg2.nr_ents = 512;
    report("set_ldt_with_call_gate", HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF),
           -XEN_EINVAL);
    (void)HYPERVISOR_update_descriptor(mfn_of(ldt_page) << 12 | 4 * 8, 0);
    (void)HYPERVISOR_update_descriptor(mfn_of(ldt_page) << 12 | 5 * 8, 0);
    (void)HYPERVISOR_update_descriptor(mfn_of(ldt_page) << 12 | 1 * 8, 0x00cff3000000ffffUL);
    op.arg1.linear_addr = (unsigned long)ldt_page + 8;
    report("set_ldt_unaligned", HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    op.arg1.linear_addr = (unsigned long)ldt_page;
    op.arg2.nr_ents = 8193;
    report("set_ldt_too_many", HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    op.arg2.nr_ents = 512;
    rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    report("set_ldt_valid", rc, 0);
    if (rc == 0) {
        unsigned int sel = 0x0f, got;           /* LDT index 1, RPL 3 */
        __asm__ __volatile__("movl %1, %%fs; movl %%fs, %0" : "=r"(got) : "r"(sel));
        report("set_ldt_segment_loads", got, 0x0f);
        __asm__ __volatile__("movl %0, %%fs" :: "r"(0));
        op.arg1.linear_addr = 0;
        op.arg2.nr_ents = 0;
        report("set_ldt_none", HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF), 0);
    }
}

/* Items 0b and 4: return frames the hypervisor must not trust. */
static void case_return_frames(void)
{
    /* A hypercall made with a non-canonical %rsp returns (Lamina's fast
     * path: SYSRET, the %rsp being live in ring 0 only for the instruction
     * before it, where just the IST-stack NMI/#MC/#DB can arrive); the
     * domain is not crashed. */
    report("syscall_with_noncanonical_rsp", probe(attack_syscall_rsp, 0x8000000000000000UL), -1);
    /* HYPERVISOR_iret to a non-canonical rip: our own #GP(0) at that rip. */
    probe_rip = 0;
    report("iret_to_noncanonical_rip", probe(attack_iret_rip, NONCANON), 13);
    report("iret_to_noncanonical_rip_frame", probe_rip == NONCANON ? 0 : -1, 0);
    /* HYPERVISOR_iret with the hypervisor's CS and IOPL 3: we land in ring
     * 3 with our own CS and IOPL 0. */
    landed_cs = 0;
    (void)probe(attack_iret_cs, HV_CS);
    report("iret_with_ring0_cs_lands_in_ring3", (long)(landed_cs & 3), 3);
    report("iret_with_iopl3_lands_with_iopl0", (long)((landed_rflags >> 12) & 3), 0);
}

/* Item 1: debug registers.  A read/write breakpoint on a buffer the
 * hypervisor copies must not make the copy fail; our own access to it gets
 * a #DB; a breakpoint on an address dom0 executes (dr_target=ADDR on the
 * command line) must never fire in dom0. */
static void case_debugregs(void)
{
    unsigned long dr7 = 0x1UL | (3UL << 16) | (3UL << 18);   /* L0, RW, 8 bytes */
    unsigned long target = parse_hex_arg("dr_target=");

    watched = 0x000a216863746177UL;          /* "watch!\n" */
    if (HYPERVISOR_set_debugreg(0, (unsigned long)&watched) ||
        HYPERVISOR_set_debugreg(7, dr7)) {
        setup_fail("debugregs: set_debugreg");
        return;
    }
    report("console_io_from_watched_buffer",
           HYPERVISOR_console_io(CONSOLEIO_write, 7, (const char *)&watched), 0);
    report("own_access_to_watched_gets_db", probe(touch_watched, 1), 1);
    report("dr6_records_breakpoint_0", (long)(HYPERVISOR_get_debugreg(6) & 1), 1);
    (void)HYPERVISOR_set_debugreg(7, 0);
    report("after_dr7_clear_no_db", probe(touch_watched, 2), -1);

    if (target) {
        /* Execute breakpoint on dom0's code; then let dom0 run a while.
         * Both kernels are linked at one base, so the address may be code
         * of ours too: our own hits are counted and resumed. */
        struct trap_info db[] = { { 1, 0, FLAT_KERNEL_CS, (unsigned long)count_db },
                                  { 0, 0, 0, 0 } };
        if (HYPERVISOR_set_trap_table(db) || HYPERVISOR_set_debugreg(0, target) ||
            HYPERVISOR_set_debugreg(7, 0x1)) {
            setup_fail("debugregs: breakpoint on dom0's address");
            return;
        }
        for (int i = 0; i < 200; i++)
            (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
        (void)HYPERVISOR_set_debugreg(7, 0);
        put_s("hostile: info: own hits of the breakpoint on dom0's address: ");
        put_dec((long)db_count);
        line_end();
        report("breakpoint_on_dom0_address_survived", 0, 0);
    }
}

void run_exit_cases(void)
{
    static struct trap_info traps[] = {
        { 1, 0, FLAT_KERNEL_CS, (unsigned long)probe_db },
        { 12, 0, FLAT_KERNEL_CS, (unsigned long)probe_ss },
        { 13, 0, FLAT_KERNEL_CS, (unsigned long)probe_gp },
        { 14, 0, FLAT_KERNEL_CS, (unsigned long)probe_pf },
        { 0, 0, 0, 0 },
    };

    if (HYPERVISOR_set_trap_table(traps)) {
        setup_fail("exit cases: set_trap_table");
        return;
    }
    case_ldt_gate();
    case_set_ldt();
    case_return_frames();
    case_debugregs();
    (void)HYPERVISOR_set_trap_table(NULL);
}
