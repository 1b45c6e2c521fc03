/*
 * hostile.c - an adversarial x86-64 PV kernel.  Runs as a PV guest (dom0 or
 * domU) on Xen 4.17 or Lamina, guest kernel in ring 3.
 *
 * It tries what a malicious guest would: map frames it does not own, map its
 * own page tables writable, pin frames of the wrong type, load an
 * unvalidated base pointer, unpin a table in use, call unknown hypercalls,
 * pass pointers into the hypervisor or into nothing, and touch the
 * hypervisor's L4 slots.  Each case has the errno real Xen 4.17 returns
 * (Xen is the oracle) and prints
 *     hostile: <case>: rc=<rc> expect=<errno> PASS|FAIL
 * then "hostile: N passed, M failed" and shuts the domain down.
 *
 * Command line (start_info->cmd_line):
 *   mode=fault   register no trap table and touch an unmapped address: the
 *                hypervisor must destroy this domain (nothing more printed).
 *   exit-cases   also run the exit-path and descriptor-table attacks of
 *                exitpath.c (Lamina only: LDT call gate, non-canonical
 *                return frames, debug registers).
 *   mode=fuzz, mode=canary, mode=heartbeat, mode=stall: the long-running
 *                modes of fuzz.h (the hypercall fuzzer and its observers).
 *   reboot       shut down with SHUTDOWN_reboot instead of SHUTDOWN_poweroff
 *                (Xen halts, rather than exits, when dom0 powers off).
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include "hostile.h"
#include "fuzz.h"

#define VIRT_BASE     0xffffffff80000000UL
#define M2P_BASE      0xffff800000000000UL   /* read-only M2P (Xen's layout) */
#define XEN_VA        0xffff830000000000UL   /* inside the hypervisor's range */
#define UNMAPPED_VA   0x00007f0000000000UL   /* user half: nothing mapped */

#define PTE_P     0x001UL
#define PTE_RW    0x002UL
#define PTE_USER  0x004UL
#define PTE_A     0x020UL
#define PTE_PSE   0x080UL
#define PTE_MFN_MASK 0x000ffffffffff000UL

start_info_t *si;
static unsigned long *p2m;              /* start_info->mfn_list */
static const unsigned long *const m2p = (const unsigned long *)M2P_BASE;
static unsigned int npass, nfail;

/* The frame the mapping attacks point their L1 entry at; mapped RW. */
static uint8_t scratch[4096] __attribute__((aligned(4096)));

/* ---- console -------------------------------------------------------- */

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void puts_raw(const char *s)
{
    (void)HYPERVISOR_console_io(CONSOLEIO_write, (int)slen(s), s);
}

/* A line buffer: the whole line goes out in one console_io write so lines
 * of concurrent domains do not mix. */
static char line[256];
static size_t line_len;

void put_s(const char *s)
{
    while (*s && line_len < sizeof(line) - 2)
        line[line_len++] = *s++;
}

void put_dec(long v)
{
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    while (n && line_len < sizeof(line) - 2)
        line[line_len++] = tmp[--n];
}

void put_hex(unsigned long v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;

    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    put_s("0x");
    while (n && line_len < sizeof(line) - 2)
        line[line_len++] = tmp[--n];
}

void line_end(void)
{
    line[line_len++] = '\n';
    (void)HYPERVISOR_console_io(CONSOLEIO_write, (int)line_len, line);
    line_len = 0;
}

/* ---- results -------------------------------------------------------- */

static const char *errno_name(long e)
{
    switch (e) {
    case 0: return "0";
    case -XEN_EPERM: return "-EPERM";
    case -XEN_EFAULT: return "-EFAULT";
    case -XEN_EBUSY: return "-EBUSY";
    case -XEN_EINVAL: return "-EINVAL";
    case -XEN_ENOSYS: return "-ENOSYS";
    case -XEN_EACCES: return "-EACCES";
    case -XEN_ESRCH: return "-ESRCH";
    case -XEN_ENOENT: return "-ENOENT";
    case -XEN_EOPNOTSUPP: return "-EOPNOTSUPP";
    default: return "?";
    }
}

void report(const char *name, long rc, long expect)
{
    bool ok = rc == expect;

    put_s("hostile: ");
    put_s(name);
    put_s(": rc=");
    put_dec(rc);
    put_s(" expect=");
    put_dec(expect);
    put_s(" (");
    put_s(errno_name(expect));
    put_s(") ");
    put_s(ok ? "PASS" : "FAIL");
    line_end();
    if (ok)
        npass++;
    else
        nfail++;
}

void setup_fail(const char *what)
{
    put_s("hostile: setup: ");
    put_s(what);
    put_s(" FAIL");
    line_end();
    nfail++;
}

/* ---- page-table helpers ------------------------------------------- */

/* Kernel VA of one of our own bootstrap frames (page tables included), or
 * 0 when mfn is not ours. */
static unsigned long mfn_to_va(unsigned long mfn)
{
    unsigned long pfn = m2p[mfn];

    if (pfn >= si->nr_pages || p2m[pfn] != mfn)
        return 0;
    return VIRT_BASE + (pfn << 12);
}

static bool mfn_is_ours(unsigned long mfn)
{
    unsigned long pfn = m2p[mfn];
    return pfn < si->nr_pages && p2m[pfn] == mfn;
}

unsigned long va_to_mfn(const void *va)
{
    return p2m[((unsigned long)va - VIRT_BASE) >> 12];
}


/* Walks our page tables for va; false when a level is missing or a
 * superpage. */
bool pt_walk(unsigned long va, struct walk *w)
{
    const uint64_t *t = (const uint64_t *)si->pt_base;
    uint64_t e;
    int shift;

    w->l4_mfn = va_to_mfn(t);
    for (shift = 39; shift > 12; shift -= 9) {
        e = t[(va >> shift) & 511];
        if (!(e & PTE_P) || (shift < 39 && (e & PTE_PSE)))
            return false;
        t = (const uint64_t *)mfn_to_va((e & PTE_MFN_MASK) >> 12);
        if (!t)
            return false;
        if (shift == 30)
            w->l2_mfn = (e & PTE_MFN_MASK) >> 12;
        if (shift == 21)
            w->l1_mfn = (e & PTE_MFN_MASK) >> 12;
    }
    w->l1e_ma = (w->l1_mfn << 12) + ((va >> 12) & 511) * 8;
    w->l1e = t[(va >> 12) & 511];
    return true;
}

long pte_write(unsigned long ma, unsigned long val)
{
    struct mmu_update u = { .ptr = ma | MMU_NORMAL_PT_UPDATE, .val = val };
    return HYPERVISOR_mmu_update(&u, 1, NULL, DOMID_SELF);
}

static long mmuext1(unsigned int cmd, unsigned long mfn)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

/* Puts the scratch L1 entry back if an attack got through. */
static void scratch_restore(const struct walk *w, long rc)
{
    if (rc != 0)
        return;
    (void)pte_write(w->l1e_ma, w->l1e);
    (void)mmuext1(MMUEXT_INVLPG_LOCAL, 0);
    {
        struct mmuext_op op = { .cmd = MMUEXT_INVLPG_LOCAL };
        op.arg1.linear_addr = (unsigned long)scratch;
        (void)HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    }
}

/* Maps scratch's VA at mfn with flags through mmu_update; reports. */
static void attack_map(const char *name, const struct walk *w,
                       unsigned long mfn, unsigned long flags, long expect)
{
    long rc = pte_write(w->l1e_ma, (mfn << 12) | flags);
    scratch_restore(w, rc);
    report(name, rc, expect);
}

/* ---- the cases -------------------------------------------------------- */

/* Expected results, as real Xen 4.17 returns them (see tests/hostile/README). */
#define EXPECT_MAP_NOT_OWNED   (-XEN_EBUSY)
#define EXPECT_MAP_PT_RW       (-XEN_EBUSY)
#define EXPECT_PIN_WRONG_TYPE  (-XEN_EINVAL)
#define EXPECT_BASEPTR_BAD     (-XEN_EINVAL)
#define EXPECT_UNPIN_IN_USE    0
#define EXPECT_UNPIN_UNPINNED  (-XEN_EINVAL)
#define EXPECT_BAD_POINTER     (-XEN_EFAULT)
#define EXPECT_XEN_VA          (-XEN_EINVAL)
#define EXPECT_XEN_L4_SLOT     (-XEN_EINVAL)
#define EXPECT_BAD_FLAGS       (-XEN_EINVAL)
#define EXPECT_M2P_NOT_OWNED   (-XEN_EINVAL)
#define EXPECT_BAD_PORT        (-XEN_EINVAL)
#define EXPECT_BAD_VCPU        (-XEN_ENOENT)
#define EXPECT_UNKNOWN_CMD     (-XEN_ENOSYS)

static void run_cases(void)
{
    struct walk w;
    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    unsigned long scratch_mfn = va_to_mfn(scratch);
    unsigned long shinfo_mfn = si->shared_info >> 12;
    unsigned long l4_ma, mfn, max_mfn = 0, i;
    long rc;

    if (!pt_walk((unsigned long)scratch, &w)) {
        setup_fail("page-table walk of the scratch page");
        return;
    }
    l4_ma = w.l4_mfn << 12;

    /* Positive control: rewriting our own PTE with its value must work. */
    report("control_rewrite_own_pte", pte_write(w.l1e_ma, w.l1e), 0);

    /* A hypervisor frame: the L3 table behind the M2P's L4 slot 256, which
     * the hypervisor owns; MFN 0 where that slot is not visible. */
    mfn = (l4[256] & PTE_P) ? (l4[256] & PTE_MFN_MASK) >> 12 : 0;
    put_s("hostile: info: hypervisor frame ");
    put_hex(mfn);
    line_end();
    attack_map("map_hypervisor_frame_ro", &w, mfn, PTE_P | PTE_A, EXPECT_MAP_NOT_OWNED);
    attack_map("map_hypervisor_frame_rw", &w, mfn, PTE_P | PTE_RW | PTE_A, EXPECT_MAP_NOT_OWNED);

    /* A RAM frame that is not ours (another domain's, a free one or the
     * hypervisor's): the highest MFN at or below our highest that the M2P
     * says is not ours, above the first MiB (I/O memory for dom0), and not
     * our shared_info frame (ours to map, though outside the P2M). */
    for (i = 0; i < si->nr_pages; i++)
        if (p2m[i] > max_mfn && p2m[i] != ~0UL)
            max_mfn = p2m[i];
    for (mfn = max_mfn; mfn >= 0x100 && (mfn_is_ours(mfn) || mfn == shinfo_mfn); mfn--)
        ;
    if (mfn < 0x100) {
        setup_fail("no foreign RAM frame found");
    } else {
        put_s("hostile: info: foreign frame ");
        put_hex(mfn);
        put_s(", own max ");
        put_hex(max_mfn);
        put_s(", shared_info ");
        put_hex(shinfo_mfn);
        line_end();
        attack_map("map_foreign_frame_ro", &w, mfn, PTE_P | PTE_A, EXPECT_MAP_NOT_OWNED);
        attack_map("map_foreign_frame_rw", &w, mfn, PTE_P | PTE_RW | PTE_A, EXPECT_MAP_NOT_OWNED);
        /* Rewrite the M2P entry of a frame that is not ours. */
        report("m2p_update_foreign_frame",
               pte_write((mfn << 12) | MMU_MACHPHYS_UPDATE, 0), EXPECT_M2P_NOT_OWNED);
    }

    /* Our own page tables, writable. */
    attack_map("map_own_l4_rw", &w, w.l4_mfn, PTE_P | PTE_RW | PTE_A, EXPECT_MAP_PT_RW);
    attack_map("map_own_l1_rw", &w, w.l1_mfn, PTE_P | PTE_RW | PTE_A, EXPECT_MAP_PT_RW);
    rc = HYPERVISOR_update_va_mapping((unsigned long)scratch,
                                      (w.l4_mfn << 12) | PTE_P | PTE_RW | PTE_A,
                                      UVMF_INVLPG);
    scratch_restore(&w, rc);
    report("update_va_mapping_own_l4_rw", rc, EXPECT_MAP_PT_RW);

    /* Pin frames of the wrong type. */
    rc = mmuext1(MMUEXT_PIN_L1_TABLE, scratch_mfn);
    if (rc == 0)
        (void)mmuext1(MMUEXT_UNPIN_TABLE, scratch_mfn);
    report("pin_l1_on_writable_frame", rc, EXPECT_PIN_WRONG_TYPE);
    rc = mmuext1(MMUEXT_PIN_L2_TABLE, w.l1_mfn);
    if (rc == 0)
        (void)mmuext1(MMUEXT_UNPIN_TABLE, w.l1_mfn);
    report("pin_l2_on_l1_frame", rc, EXPECT_PIN_WRONG_TYPE);
    rc = mmuext1(MMUEXT_PIN_L4_TABLE, scratch_mfn);
    if (rc == 0)
        (void)mmuext1(MMUEXT_UNPIN_TABLE, scratch_mfn);
    report("pin_l4_on_writable_frame", rc, EXPECT_PIN_WRONG_TYPE);

    /* A base pointer that is a writable data frame, not a validated L4. */
    report("new_baseptr_data_frame", mmuext1(MMUEXT_NEW_BASEPTR, scratch_mfn),
           EXPECT_BASEPTR_BAD);
    report("new_baseptr_l1_frame", mmuext1(MMUEXT_NEW_BASEPTR, w.l1_mfn),
           EXPECT_BASEPTR_BAD);

    /* Unpin the L4 we run on: make sure it is pinned (it may already be),
     * then unpin.  Xen allows it: CR3 keeps its own type reference, so the
     * table stays valid.  A second unpin finds it not pinned. */
    rc = mmuext1(MMUEXT_PIN_L4_TABLE, w.l4_mfn);
    put_s("hostile: info: pin current L4 rc=");
    put_dec(rc);
    line_end();
    report("unpin_current_l4", mmuext1(MMUEXT_UNPIN_TABLE, w.l4_mfn), EXPECT_UNPIN_IN_USE);
    report("unpin_current_l4_again", mmuext1(MMUEXT_UNPIN_TABLE, w.l4_mfn),
           EXPECT_UNPIN_UNPINNED);
    report("unpin_unpinned_l1", mmuext1(MMUEXT_UNPIN_TABLE, w.l1_mfn),
           EXPECT_UNPIN_UNPINNED);
    /* Still alive and translating after the unpin: */
    report("control_after_unpin", pte_write(w.l1e_ma, w.l1e), 0);

    /* Unknown hypercall numbers. */
    report("hypercall_63", _hypercall6(63, 0, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    report("hypercall_200", _hypercall6(200, 0, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    report("hypercall_0xffff", _hypercall6(0xffff, 0, 0, 0, 0, 0, 0), -XEN_ENOSYS);

    /* Hypercall arguments pointing into the hypervisor or into nothing. */
    report("mmu_update_req_in_hypervisor",
           HYPERVISOR_mmu_update((struct mmu_update *)XEN_VA, 1, NULL, DOMID_SELF),
           EXPECT_BAD_POINTER);
    report("mmu_update_req_unmapped",
           HYPERVISOR_mmu_update((struct mmu_update *)UNMAPPED_VA, 1, NULL, DOMID_SELF),
           EXPECT_BAD_POINTER);
    report("mmuext_op_in_hypervisor",
           HYPERVISOR_mmuext_op((struct mmuext_op *)XEN_VA, 1, NULL, DOMID_SELF),
           EXPECT_BAD_POINTER);
    report("console_io_buf_in_hypervisor",
           HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)XEN_VA),
           EXPECT_BAD_POINTER);
    report("console_io_buf_unmapped",
           HYPERVISOR_console_io(CONSOLEIO_write, 16, (const char *)UNMAPPED_VA),
           EXPECT_BAD_POINTER);

    /* A hypervisor-range VA through update_va_mapping. */
    rc = HYPERVISOR_update_va_mapping(XEN_VA, w.l1e, UVMF_INVLPG);
    report("update_va_mapping_hypervisor_va", rc, EXPECT_XEN_VA);
    rc = HYPERVISOR_update_va_mapping(M2P_BASE, w.l1e, UVMF_INVLPG);
    report("update_va_mapping_m2p_va", rc, EXPECT_XEN_VA);

    report("multicall_list_in_hypervisor",
           HYPERVISOR_multicall((struct multicall_entry *)XEN_VA, 1), EXPECT_BAD_POINTER);
    report("set_trap_table_in_hypervisor",
           HYPERVISOR_set_trap_table((const struct trap_info *)XEN_VA), EXPECT_BAD_POINTER);

    /* A 2 MiB superpage in a PV L2 (last slot of the L2 mapping our image,
     * beyond the bootstrap area): PSE is a disallowed L2 flag. */
    report("l2_superpage",
           pte_write((w.l2_mfn << 12) + 511 * 8,
                     ((unsigned long)va_to_mfn((void *)VIRT_BASE) << 12) | PTE_P | PTE_PSE),
           EXPECT_BAD_FLAGS);

    /* Malformed requests to other interfaces. */
    {
        struct evtchn_send send = { .port = 4000 };
        report("evtchn_send_unbound_port",
               HYPERVISOR_event_channel_op(EVTCHNOP_send, &send), EXPECT_BAD_PORT);
    }
    report("vcpu_op_missing_vcpu", HYPERVISOR_vcpu_op(VCPUOP_is_up, 7, NULL), EXPECT_BAD_VCPU);
    report("sched_op_unknown_cmd", HYPERVISOR_sched_op(100, NULL), EXPECT_UNKNOWN_CMD);
    report("console_io_unknown_cmd", HYPERVISOR_console_io(77, 0, NULL), EXPECT_UNKNOWN_CMD);

    /* L4 entries in the hypervisor's slots 256..271. */
    report("l4_update_slot_256", pte_write(l4_ma + 256 * 8, l4[511]), EXPECT_XEN_L4_SLOT);
    report("l4_update_slot_261", pte_write(l4_ma + 261 * 8, l4[511]), EXPECT_XEN_L4_SLOT);
    report("l4_update_slot_271", pte_write(l4_ma + 271 * 8, 0), EXPECT_XEN_L4_SLOT);
}

bool cmdline_has(const char *word)
{
    const char *s = (const char *)si->cmd_line;
    size_t n = slen(word), i;

    for (i = 0; i < sizeof(si->cmd_line) && s[i]; i++) {
        if ((i == 0 || s[i - 1] == ' ') &&
            (s[i + n] == '\0' || s[i + n] == ' ')) {
            size_t k = 0;
            while (k < n && s[i + k] == word[k])
                k++;
            if (k == n)
                return true;
        }
    }
    return false;
}

void hostile_main(start_info_t *start) __attribute__((noreturn));
void hostile_main(start_info_t *start)
{
    struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };

    si = start;
    p2m = (unsigned long *)si->mfn_list;

    put_s("hostile: start, ");
    put_s((si->flags & SIF_INITDOMAIN) ? "initial domain" : "guest domain");
    put_s(", nr_pages=");
    put_dec((long)si->nr_pages);
    put_s(", cmdline \"");
    put_s((const char *)si->cmd_line);
    put_s("\"");
    line_end();

    if (cmdline_has("mode=fault")) {
        /* No trap table was ever registered: the #PF has nowhere to go. */
        puts_raw("hostile: mode=fault: touching an unmapped address, no trap table\n");
        *(volatile unsigned long *)UNMAPPED_VA = 0xdead;
        puts_raw("hostile: mode=fault: still alive after the fault FAIL\n");
        sd.reason = SHUTDOWN_crash;
    } else if (modes_run(&sd.reason)) {
        /* mode=fuzz|canary|heartbeat|stall ran (fuzz.h) */
    } else {
        run_cases();
        if (cmdline_has("exit-cases"))
            run_exit_cases();
        put_s("hostile: ");
        put_dec(npass);
        put_s(" passed, ");
        put_dec(nfail);
        put_s(" failed");
        line_end();
    }

    if (cmdline_has("reboot") && sd.reason == SHUTDOWN_poweroff)
        sd.reason = SHUTDOWN_reboot;
    for (;;)
        (void)HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}
