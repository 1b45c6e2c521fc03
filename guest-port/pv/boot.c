/*
 * boot.c - PV start of day: shared_info, trap table, callbacks, memory,
 * timer, then the portable core; console (hypervisor console, or a domU's
 * console ring), power-off, and a domU's control services (xenbus client
 * watching control/shutdown).
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV), entered from head.S on
 * the boot stack with events masked and rsi = start_info.
 */
#include "pv.h"
#include "kernel.h"
#include <pv/console.h>
#include <pv/irq.h>
#include <pv/mm.h>
#include <pv/xenbus.h>

/* The control thread sleeps until the store event channel fires (its
 * handler wakes it) and then reads the store ring; it also reads it every
 * XENBUS_IDLE_NS anyway (a lost event costs at most that).  An idle domain
 * is thus not woken 50 times a second. */
#define XENBUS_IDLE_NS   30000000000ULL /* 30 s */
#define XENBUS_WAIT_NS   1000000ULL     /* 1 ms between looks at a reply */

start_info_t *pv_start_info;
uint64_t pv_nr_pfns;
uint64_t pv_first_free_pfn;

/* Page-aligned slot in the kernel image where shared_info gets mapped. */
static char shared_info_page[4096] __attribute__((aligned(4096), section(".bss.page_aligned")));
static char cmdline_copy[MAX_GUEST_CMDLINE];

/* A domU with a console ring writes there once it is connected (after
 * the direct map exists); dom0, boot-module domUs and early output use
 * CONSOLEIO_write. */
void arch_console_write(const char *s, size_t n)
{
    if (pv_cons_ring_active())
        (void)pv_cons_ring_write(s, n);
    else
        (void)pv_console_write(s, n);
}

size_t arch_console_read(char *buf, size_t n)
{
    return pv_cons_ring_read(buf, n);
}

bool arch_privileged(void)
{
    return (pv_start_info->flags & SIF_PRIVILEGED) != 0;
}

/* Kernel VA (direct map) of one of our own frames given by MFN, or NULL
 * when no pfn of ours is backed by it.  A linear P2M scan: boot only. */
static void *own_mfn_to_virt(uint64_t mfn)
{
    for (uint64_t pfn = 0; pfn < pv_nr_pfns; pfn++)
        if (pv_pfn_to_mfn(pfn) == mfn)
            return arch_pfn_to_virt(pfn);
    return NULL;
}

/* Switches console output to the domU console ring, if we have one. */
static void console_ring_connect(const start_info_t *si)
{
    void *va;
    int rc;

    if ((si->flags & SIF_INITDOMAIN) || si->console.domU.mfn == 0 ||
        si->console.domU.evtchn == 0)
        return;
    va = own_mfn_to_virt(si->console.domU.mfn);
    if (!va) {
        pv_puts("pv: console ring MFN is not ours, keeping console_io\n");
        return;
    }
    pv_puts("pv: console moves to the ring (evtchn ");
    pv_puthex(si->console.domU.evtchn);
    pv_puts(")\n");
    rc = pv_cons_ring_init(va, si->console.domU.evtchn);
    if (rc)
        pv_die("console ring", rc);
}

/* ---- control services: xenbus and control/shutdown ------------------------- */

static void xenbus_wait(void *opaque)
{
    (void)opaque;
    thread_sleep_ns(XENBUS_WAIT_NS);
}

/* Watch callback: acts on control/shutdown as Linux does: acknowledge by
 * writing "" back, then power off or reboot. */
static void shutdown_watch(const char *path, const char *token, void *opaque)
{
    char req[32];
    int rc = xenbus_read("control/shutdown", req, sizeof(req));

    (void)path;
    (void)token;
    (void)opaque;
    if (rc <= 0)
        return;                         /* absent or empty: nothing asked */
    if (strncmp(req, "poweroff", 9) == 0 || strncmp(req, "halt", 5) == 0) {
        (void)xenbus_write("control/shutdown", "");
        kprintf("xenbus: control/shutdown \"%s\": powering off\n", req);
        arch_poweroff(0);
    }
    if (strncmp(req, "reboot", 7) == 0) {
        struct sched_shutdown op = { .reason = SHUTDOWN_reboot };

        (void)xenbus_write("control/shutdown", "");
        kprintf("xenbus: control/shutdown \"reboot\": rebooting\n");
        for (;;)
            (void)HYPERVISOR_sched_op(SCHEDOP_shutdown, &op);
    }
    if (strncmp(req, "suspend", 8) == 0) {
        (void)xenbus_write("control/shutdown", "");
        int src = pv_suspend();
        if (src)
            kprintf("xenbus: control/shutdown \"suspend\" failed (%d)\n", src);
        return;
    }
    kprintf("xenbus: control/shutdown \"%s\" not supported\n", req);
}

/* The store event channel fired: the control thread polls now. */
static void control_notify(void *thread)
{
    thread_wake(thread);
}

static void control_thread(void *arg)
{
    int rc;

    (void)arg;
    rc = xenbus_watch("control/shutdown", "shutdown", shutdown_watch, NULL);
    if (rc) {
        kprintf("xenbus: cannot watch control/shutdown (%d)\n", rc);
        thread_exit(rc);
    }
    rc = pv_balloon_init();
    if (rc)
        kprintf("xenbus: cannot watch memory/target (%d); no ballooning\n", rc);
    xenbus_set_notify(control_notify, thread_current());
    for (;;) {
        uint64_t seen = xenbus_events();

        rc = xenbus_poll();
        if (rc < 0) {
            kprintf("xenbus: store ring broken (%d), control/shutdown ignored\n", rc);
            thread_exit(rc);
        }
        /* Sleep unless an event came while polling; with interrupts off
         * here, one that comes later finds this thread asleep and wakes it. */
        bool flags = arch_irq_save();
        if (xenbus_events() == seen)
            thread_sleep_ns(XENBUS_IDLE_NS);
        arch_irq_restore(flags);
    }
}

void arch_services_start(void)
{
    const start_info_t *si = pv_start_info;
    void *va;
    int rc;

    if ((si->flags & SIF_INITDOMAIN) || si->store_mfn == 0 || si->store_evtchn == 0)
        return;                         /* dom0, or a boot-module domU */
    va = own_mfn_to_virt(si->store_mfn);
    if (!va) {
        kprintf("xenbus: store ring MFN %lx is not ours, no xenbus\n",
                (unsigned long)si->store_mfn);
        return;
    }
    rc = xenbus_init(va, si->store_evtchn, xenbus_wait, NULL);
    if (rc) {
        kprintf("xenbus: init failed (%d)\n", rc);
        return;
    }
    if (!thread_create("xenbus", control_thread, NULL))
        kprintf("xenbus: no memory for the control thread\n");
}

void pv_puts(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    arch_console_write(s, n);
}

void pv_puthex(uint64_t v)
{
    char buf[19] = "0x";

    for (int i = 0; i < 16; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
    buf[18] = 0;
    pv_puts(buf);
}

void arch_poweroff(int code)
{
    struct sched_shutdown op = { .reason = code == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash };

    for (;;)
        (void)HYPERVISOR_sched_op(SCHEDOP_shutdown, &op);
}

void pv_die(const char *msg, long code)
{
    pv_puts("pv: fatal: ");
    pv_puts(msg);
    pv_puts(" (");
    pv_puthex((uint64_t)code);
    pv_puts(")\n");
    arch_poweroff(1);
}

/* Virtual IDT.  flags: bits 0-1 = DPL allowed to raise it with `int`;
 * bit 2 = mask events on delivery (an interrupt gate). */
#define TI_MASK_EVENTS 4
static const struct trap_info trap_table[] = {
    {  0, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_0 },
    {  1, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_1 },
    {  3, 3 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_3 },
    {  4, 3 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_4 },
    {  5, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_5 },
    {  6, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_6 },
    {  7, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_7 },
    {  8, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_8 },
    {  9, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_9 },
    { 10, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_10 },
    { 11, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_11 },
    { 12, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_12 },
    { 13, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_13 },
    { 14, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_14 },
    { 16, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_16 },
    { 17, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_17 },
    { 18, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_18 },
    { 19, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)pv_trap_19 },
    {  0, 0, 0, 0 },
};

static void register_callback(uint16_t type, void (*fn)(void), uint16_t flags)
{
    struct callback_register cb = { .type = type, .flags = flags,
                                    .address = (unsigned long)fn };
    int rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);

    if (rc)
        pv_die("CALLBACKOP_register", rc);
}

extern char _end[];

void pv_start(start_info_t *si) __attribute__((noreturn));
void pv_start(start_info_t *si)
{
    struct arch_boot_info bi;
    int rc;

    pv_start_info = si;
    pv_puts("pv: Lamina PV arch layer, start_info at ");
    pv_puthex((uint64_t)si);
    pv_puts("\n");

    /* shared_info is given as a machine address: map it over our slot. */
    rc = HYPERVISOR_update_va_mapping((unsigned long)shared_info_page,
                                      si->shared_info | PV_PTE_P | PV_PTE_RW | PV_PTE_A | PV_PTE_D,
                                      UVMF_INVLPG);
    if (rc)
        pv_die("mapping shared_info", rc);
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    pv_irq_disable();

    pv_p2m = (unsigned long *)si->mfn_list;
    pv_p2m_nr = si->nr_pages;

    rc = HYPERVISOR_set_trap_table(trap_table);
    if (rc)
        pv_die("set_trap_table", rc);
    register_callback(CALLBACKTYPE_event, pv_hypervisor_callback, CALLBACKF_mask_events);
    register_callback(CALLBACKTYPE_failsafe, pv_failsafe_callback, CALLBACKF_mask_events);
    register_callback(CALLBACKTYPE_syscall, pv_syscall_callback, CALLBACKF_mask_events);

    /* Everything up to the bootstrap page tables, plus the one-page
     * bootstrap stack after them, is in use (start_info layout). */
    uint64_t pt_end = si->pt_base + si->nr_pt_frames * GPAGE_SIZE;
    uint64_t first_free = (pt_end - PV_VIRT_BASE) / GPAGE_SIZE + 1;
    uint64_t img_end = ((uint64_t)_end - PV_VIRT_BASE) / GPAGE_SIZE;
    if (first_free < img_end)
        first_free = img_end;
    pv_nr_pfns = pv_mm_init(si, &first_free);
    pv_first_free_pfn = first_free;

    pv_time_init();
    pv_p2m_publish();
    console_ring_connect(si);

    for (size_t i = 0; i + 1 < sizeof(cmdline_copy) && si->cmd_line[i]; i++)
        cmdline_copy[i] = (char)si->cmd_line[i];

    bi.first_free_pfn = pv_first_free_pfn;
    bi.nr_pfns = pv_nr_pfns;
    bi.cmdline = cmdline_copy;
    bi.arch_name = "pv";
    kernel_main(&bi);
}
