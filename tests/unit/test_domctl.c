/*
 * test_domctl.c - host unit tests (cmocka) for hypervisor/domctl.c,
 * sysctl.c, conring.c and the domain lifecycle of domain.c: privilege and
 * interface-version checks, createdomain id choice, pause counts,
 * getdomaininfo flags and iteration, max_mem, hypercall_init ownership,
 * readconsole ring semantics, physinfo, and that destroying a domain
 * returns exactly the frames it took (with the real frame table of mm.c,
 * page-table validation included).
 *
 * Runs on the host: compiles the hypervisor's own mm.c, mm_hcall.c,
 * domain.c, domctl.c, sysctl.c and conring.c over a malloc'd "machine
 * memory"; guest pointers are host pointers.  Event channels, the
 * scheduler, unmodified domains and the console are stubs that record.
 */
#include "common/xen_tools.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>


#include "../../hypervisor/mm/mm.c"
#include "../../hypervisor/mm/paging.c"
#include "../../hypervisor/mm/mm_hcall.c"
#include "../../hypervisor/common/domain.c"
#include "../../hypervisor/common/domctl.c"
#include "../../hypervisor/common/grant_table.c"
#include "../../hypervisor/pv/vcpu_context.c"
#include "../../hypervisor/common/sysctl.c"
#include "../../hypervisor/common/conring.c"

#define NR_FRAMES   4096UL                      /* 16 MiB */
#define RES_START   0x200000UL
#define RES_END     0x280000UL

static uint8_t *machine;
uint64_t idle_pg_table[512] __attribute__((aligned(4096)));
struct cpu_regs guest_regs;
uint64_t tsc_khz = 2000000;
unsigned long total_pages = NR_FRAMES;
union exit_work exit_work;

/* ---- stubs ---------------------------------------------------------------- */

void *mfn_to_virt(unsigned long mfn)
{
    assert_true(mfn < NR_FRAMES);
    return machine + mfn * PAGE_SIZE;
}

unsigned long virt_to_mfn(const void *va)
{
    return (unsigned long)((const uint8_t *)va - machine) / PAGE_SIZE;
}

void printk(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (int i = 0; i < n && i < (int)sizeof(buf) - 1; i++)
        conring_putc(buf[i]);
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fail_msg("panic");
    abort();
}

int copy_from_guest(void *dst, uint64_t src, size_t len)
{
    if (!guest_range_ok(src, len) || !src)
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)src, len);
    return 0;
}

/* entry.S's raw_copy: host memory, always readable here. */
size_t raw_copy(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    return 0;
}

int copy_to_guest(uint64_t dst, const void *src, size_t len)
{
    if (!guest_range_ok(dst, len) || !dst)
        return -XEN_EFAULT;
    memcpy((void *)(uintptr_t)dst, src, len);
    return 0;
}

#include "hv_stubs.h"
#include "heap_stub.h"

bool check_descriptor(const struct domain *d, uint64_t desc) { (void)d; return desc != 1; }

/* GDT frames: as desc.c, one type + one general reference each. */
void pv_destroy_gdt(struct vcpu *v)
{
    for (unsigned int i = 0; i < (v->gdt_ents + 511) / 512; i++) {
        put_page_type(v->gdt_frames[i]);
        put_page(v->gdt_frames[i]);
        v->gdt_frames[i] = 0;
    }
    v->gdt_ents = 0;
}
/* As desc.c: every frame d's and able to be a descriptor page, else
 * -EINVAL with nothing taken. */
int pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries)
{
    unsigned int nr = (entries + 511) / 512, i;

    if (entries > 0xe000 / 8)           /* FIRST_RESERVED_GDT_ENTRY */
        return -XEN_EINVAL;
    for (i = 0; i < nr; i++) {
        if (!mfn_valid(frames[i]) || !get_page(frames[i], v->domain))
            break;
        if (get_page_type(frames[i], PGT_seg_desc_page)) {
            put_page(frames[i]);
            break;
        }
    }
    if (i < nr) {
        while (i-- > 0) {
            put_page_type(frames[i]);
            put_page(frames[i]);
        }
        return -XEN_EINVAL;
    }
    pv_destroy_gdt(v);
    for (i = 0; i < nr; i++)
        v->gdt_frames[i] = frames[i];
    v->gdt_ents = entries;
    return 0;
}
void gdt_load_guest(struct vcpu *v) { (void)v; }
void pv_destroy_ldt(struct vcpu *v) { v->ldt_ents = 0; }
void ldt_load_guest(struct vcpu *v) { (void)v; }

static unsigned int virq_dom_exc;
void send_guest_virq(struct vcpu *v, unsigned int virq)
{
    if (virq == VIRQ_DOM_EXC && v->domain->domain_id == 0)
        virq_dom_exc++;
}
int evtchn_init(struct domain *d) { (void)d; return 0; }
void pv_kernel_sp_changed(struct vcpu *v) { (void)v; }     /* traps.c: test_traps */
void evtchn_destroy(struct domain *d) { (void)d; }
int evtchn_send(struct domain *d, unsigned int port) { (void)d; (void)port; return 0; }

static unsigned int runq_len;
int sched_add_vcpu(struct vcpu *v) { (void)v; runq_len++; return 0; }
void sched_remove_vcpu(struct vcpu *v) { (void)v; runq_len--; }
void domain_console_flush(struct domain *d) { (void)d; }
void continue_running(void) { fail_msg("continue_running"); abort(); }
uint64_t NOW(void) { return 1000; }

static unsigned int hcall_pages;
void write_hypercall_page(void *page) { memset(page, 0xcc, PAGE_SIZE); hcall_pages++; }

static unsigned int unmod_made, unmod_started;
void unmod_domain_destroy(struct domain *d) { d->unmod = NULL; }
/* The kinds' operation tables: only domain_destroy is reached here. */
const struct vcpu_ops pv_vcpu_ops = { .name = "PV",
                                      .set_vcpu_context = pv_set_vcpu_context,
                                      .get_vcpu_context = pv_get_vcpu_context };
/* unmod.c's set_vcpu_context, over the recording unmod_vcpu_start(). */
static int unmod_set_vcpu_context(struct vcpu *v, const struct vcpu_guest_context *c)
{
    if (c->user_regs.rip >> 32)
        return -XEN_EINVAL;
    unmod_vcpu_start(v, (uint32_t)c->user_regs.rip, (uint32_t)c->user_regs.rax,
                     (uint32_t)c->user_regs.rbx);
    return 0;
}
const struct vcpu_ops unmod_vcpu_ops = { .name = "unmodified", .hvm_guest = true,
                                         .set_vcpu_context = unmod_set_vcpu_context,
                                         .hvm_param = unmod_hvm_param,
                                         .domain_destroy = unmod_domain_destroy };
int unmod_domain_create(struct domain *d)
{
    d->unmod = (void *)&unmod_made;
    d->vcpu_ops = &unmod_vcpu_ops;
    unmod_made++;
    return 0;
}
void unmod_vcpu_start(struct vcpu *v, uint32_t entry, uint32_t eax, uint32_t ebx)
{
    (void)entry; (void)eax; (void)ebx;
    v->state = VCPU_RUNNABLE;
    unmod_started++;
}
int unmod_hvm_param(struct domain *d, uint32_t index, uint64_t *value, bool set)
{
    (void)d; (void)set;
    if (index != HVM_PARAM_CONSOLE_PFN && index != HVM_PARAM_CONSOLE_EVTCHN)
        return -XEN_EINVAL;
    if (!set)
        *value = 42;
    return 0;
}
int unmod_set_p2m(struct domain *d, unsigned long gpfn, unsigned long mfn)
{
    (void)d; (void)gpfn; (void)mfn;
    return 0;
}
unsigned long unmod_gfn_to_mfn(struct domain *d, unsigned long gfn)
{
    (void)d; (void)gfn;
    return INVALID_MFN;
}

/* ---- fixtures ------------------------------------------------------------------ */

static struct domain *dom0;

static int setup(void **state)
{
    struct mem_range r = { 0, NR_FRAMES * PAGE_SIZE };

    (void)state;
    machine = aligned_alloc(PAGE_SIZE, NR_FRAMES * PAGE_SIZE);
    assert_non_null(machine);
    memset(idle_pg_table, 0, sizeof(idle_pg_table));
    mm_init(&r, 1, RES_START, RES_END);
    domid_rover = 0;
    dom0 = domain_create(0, true, 256);
    assert_non_null(dom0);
    dom0->vcpu[0]->state = VCPU_RUNNABLE;
    current = dom0->vcpu[0];
    virq_dom_exc = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    current = NULL;
    for (unsigned int i = 0; i < DOMID_FIRST_RESERVED; i++)
        if (domain_by_id(i))
            domain_destroy(domain_by_id(i));
    domain_reap();
    assert_int_equal(domain_count(), 0);
    free(machine);
    return 0;
}

static long domctl(struct xen_domctl *dc, uint32_t cmd, domid_t dom)
{
    dc->cmd = cmd;
    dc->domain = dom;
    dc->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    return do_domctl((uint64_t)(uintptr_t)dc);
}

static domid_t create(domid_t want, bool hvm)
{
    struct xen_domctl dc;

    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    dc.u.createdomain.flags = hvm ? XEN_DOMCTL_CDF_hvm : 0;
    dc.u.createdomain.max_grant_frames = -1;        /* libxl's default */
    dc.u.createdomain.max_maptrack_frames = -1;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, want), 0);
    return dc.domain;
}

static unsigned long alloc(struct domain *d)
{
    unsigned long mfn = INVALID_MFN;

    assert_int_equal(alloc_domain_frame(d, &mfn), 0);
    return mfn;
}

static uint64_t pte(unsigned long mfn, bool rw)
{
    return ((uint64_t)mfn << PAGE_SHIFT) | _PAGE_PRESENT | (rw ? _PAGE_RW : 0);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_eperm_unprivileged(void **state)
{
    struct xen_domctl dc;
    struct xen_sysctl sc;
    struct xen_hvm_param hp = { .domid = 0, .index = HVM_PARAM_CONSOLE_PFN };
    domid_t id = create(0, false);

    (void)state;
    current = domain_by_id(id)->vcpu[0];
    memset(&dc, 0, sizeof(dc));
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, 0), -XEN_EPERM);
    memset(&sc, 0, sizeof(sc));
    sc.cmd = XEN_SYSCTL_physinfo;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), -XEN_EPERM);
    assert_int_equal(do_hvm_op(HVMOP_get_param, (uint64_t)(uintptr_t)&hp), -XEN_EPERM);
    current = dom0->vcpu[0];
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), 0);
}

static void test_eacces_version(void **state)
{
    struct xen_domctl dc;
    struct xen_sysctl sc;

    (void)state;
    memset(&dc, 0, sizeof(dc));
    dc.cmd = XEN_DOMCTL_getdomaininfo;
    dc.interface_version = XEN_DOMCTL_INTERFACE_VERSION - 1;
    assert_int_equal(do_domctl((uint64_t)(uintptr_t)&dc), -XEN_EACCES);
    memset(&sc, 0, sizeof(sc));
    sc.cmd = XEN_SYSCTL_physinfo;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION + 1;
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), -XEN_EACCES);
    assert_int_equal(domctl(&dc, 0xffff, 0), -XEN_ENOSYS);
}

static void test_create_ids(void **state)
{
    struct xen_domctl dc;

    (void)state;
    assert_int_equal(create(0, false), 1);
    assert_int_equal(create(5, false), 5);
    assert_int_equal(create(0, true), 2);
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, 5), -XEN_EEXIST);
    dc.u.createdomain.max_vcpus = 2;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, 0), -XEN_EINVAL);
    /* Grant-table limits: 0 frames is refused as by Xen; a limit is kept. */
    dc.u.createdomain.max_vcpus = 1;
    dc.u.createdomain.max_maptrack_frames = -1;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, 100), -XEN_EINVAL);
    assert_null(domain_by_id(100));
    dc.u.createdomain.max_grant_frames = 2;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, 100), 0);
    assert_int_equal(domain_by_id(100)->grant_table->max_frames, 2);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, 100), 0);
    virq_dom_exc = 0;
    assert_true(domain_by_id(5)->is_toolstack);
    assert_int_equal(domain_by_id(5)->pause_count, 1);
    assert_int_equal(domain_by_id(5)->max_pages, 0);
    assert_int_equal(domain_by_id(5)->vcpu[0]->state, VCPU_DOWN);
    assert_non_null(domain_by_id(2)->unmod);
    assert_null(domain_by_id(1)->unmod);
    /* Destroying 1 does not hand 1 out again until the ids after the last
     * one given have been (Xen's rover); at the end they wrap to 1. */
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, 1), 0);
    assert_int_equal(virq_dom_exc, 1);
    assert_null(domain_by_id(1));
    assert_int_equal(create(0, false), 3);
    assert_int_equal(create(DOMID_FIRST_RESERVED - 1, false), DOMID_FIRST_RESERVED - 1);
    domid_rover = DOMID_FIRST_RESERVED - 3;
    assert_int_equal(create(0, false), DOMID_FIRST_RESERVED - 2);
    assert_int_equal(create(0, false), 1);          /* 32751 is taken: wrap */
    assert_int_equal(create(0, false), 4);          /* 2, 3 taken, 5 taken later */
    memset(&dc, 0, sizeof(dc));
    dc.u.createdomain.max_vcpus = 1;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_createdomain, DOMID_FIRST_RESERVED), -XEN_EINVAL);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, 9), -XEN_ESRCH);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, 0), -XEN_EINVAL);
}

static void test_pause_counts(void **state)
{
    struct xen_domctl dc;
    domid_t id = create(0, false);

    (void)state;
    memset(&dc, 0, sizeof(dc));
    assert_int_equal(domctl(&dc, XEN_DOMCTL_pausedomain, id), 0);
    assert_int_equal(domain_by_id(id)->pause_count, 2);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_unpausedomain, id), 0);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_unpausedomain, id), 0);
    assert_int_equal(domain_by_id(id)->pause_count, 0);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_unpausedomain, id), -XEN_EINVAL);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_pausedomain, 0), -XEN_EINVAL);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_pausedomain, DOMID_SELF), -XEN_ESRCH);
}

static void test_getdomaininfo(void **state)
{
    struct xen_domctl dc;
    domid_t a = create(3, false), b = create(7, true);

    (void)state;
    memset(&dc, 0, sizeof(dc));
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, 0), 0);
    assert_int_equal(dc.domain, 0);
    assert_true(dc.u.getdomaininfo.flags & XEN_DOMINF_running);
    assert_int_equal(dc.u.getdomaininfo.max_pages, 256);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, 1), 0);
    assert_int_equal(dc.domain, a);
    assert_int_equal(dc.u.getdomaininfo.flags & (XEN_DOMINF_paused | XEN_DOMINF_hvm_guest |
                     XEN_DOMINF_running | XEN_DOMINF_shutdown), XEN_DOMINF_paused);
    assert_int_equal(dc.u.getdomaininfo.shared_info_frame, domain_by_id(a)->shared_info_mfn);
    assert_int_equal(dc.u.getdomaininfo.nr_online_vcpus, 0);
    assert_int_equal(dc.u.getdomaininfo.max_vcpu_id, 0);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, a + 1), 0);
    assert_int_equal(dc.domain, b);
    assert_true(dc.u.getdomaininfo.flags & XEN_DOMINF_hvm_guest);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, b + 1), -XEN_ESRCH);

    /* A toolstack domain's shutdown keeps it, with the reason. */
    domain_shutdown(domain_by_id(a), SHUTDOWN_reboot);
    assert_non_null(domain_by_id(a));
    assert_int_equal(virq_dom_exc, 1);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, a), 0);
    assert_true(dc.u.getdomaininfo.flags & XEN_DOMINF_shutdown);
    assert_int_equal((dc.u.getdomaininfo.flags >> XEN_DOMINF_shutdownshift) &
                     XEN_DOMINF_shutdownmask, SHUTDOWN_reboot);
    domain_crash(domain_by_id(b), "test");
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getdomaininfo, b), 0);
    assert_int_equal((dc.u.getdomaininfo.flags >> XEN_DOMINF_shutdownshift) &
                     XEN_DOMINF_shutdownmask, SHUTDOWN_crash);

    /* getdomaininfolist walks the same order. */
    struct xen_sysctl sc;
    struct xen_domctl_getdomaininfo list[8];
    memset(&sc, 0, sizeof(sc));
    sc.cmd = XEN_SYSCTL_getdomaininfolist;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    sc.u.getdomaininfolist.first_domain = 0;
    sc.u.getdomaininfolist.max_domains = 8;
    set_xen_guest_handle(sc.u.getdomaininfolist.buffer, list);
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), 0);
    assert_int_equal(sc.u.getdomaininfolist.num_domains, 3);
    assert_int_equal(list[0].domain, 0);
    assert_int_equal(list[1].domain, a);
    assert_int_equal(list[2].domain, b);
    sc.u.getdomaininfolist.max_domains = 1;
    sc.u.getdomaininfolist.first_domain = 1;
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), 0);
    assert_int_equal(sc.u.getdomaininfolist.num_domains, 1);
    assert_int_equal(list[0].domain, a);
}

static void test_max_mem_hypercall_init(void **state)
{
    struct xen_domctl dc;
    domid_t id = create(0, false);
    struct domain *d = domain_by_id(id);
    unsigned long mfn, other;

    (void)state;
    memset(&dc, 0, sizeof(dc));
    dc.u.max_mem.max_memkb = 64;                /* 16 frames */
    assert_int_equal(domctl(&dc, XEN_DOMCTL_max_mem, id), 0);
    assert_int_equal(d->max_pages, 16);
    for (int i = 0; i < 16; i++)
        mfn = alloc(d);
    assert_int_equal(alloc_domain_frame(d, &other), -XEN_ENOMEM);
    other = alloc(dom0);
    dc.u.hypercall_init.gmfn = other;           /* dom0's frame: refused */
    assert_int_equal(domctl(&dc, XEN_DOMCTL_hypercall_init, id), -XEN_EINVAL);
    dc.u.hypercall_init.gmfn = d->shared_info_mfn;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_hypercall_init, id), -XEN_EINVAL);
    assert_int_equal(hcall_pages, 0);
    dc.u.hypercall_init.gmfn = mfn;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_hypercall_init, id), 0);
    assert_int_equal(hcall_pages, 1);
    assert_int_equal(((uint8_t *)mfn_to_virt(mfn))[0], 0xcc);
    dc.u.max_vcpus.max = 2;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_max_vcpus, id), -XEN_EINVAL);
    dc.u.max_vcpus.max = 1;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_max_vcpus, id), 0);
}

static void readconsole(struct xen_sysctl *sc, char *buf, uint32_t count, bool clear,
                        bool incr, uint32_t index)
{
    memset(sc, 0, sizeof(*sc));
    sc->cmd = XEN_SYSCTL_readconsole;
    sc->interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    sc->u.readconsole.clear = clear;
    sc->u.readconsole.incremental = incr;
    sc->u.readconsole.index = index;
    sc->u.readconsole.count = count;
    set_xen_guest_handle(sc->u.readconsole.buffer, buf);
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)sc), 0);
}

static void test_readconsole(void **state)
{
    static char buf[80000];
    struct xen_sysctl sc;

    (void)state;
    readconsole(&sc, buf, sizeof(buf), true, false, 0);     /* empty it */
    printk("hello\n");
    readconsole(&sc, buf, sizeof(buf), false, false, 0);
    assert_int_equal(sc.u.readconsole.count, 6);
    assert_memory_equal(buf, "hello\n", 6);
    uint32_t idx = sc.u.readconsole.index;
    printk("world\n");
    readconsole(&sc, buf, sizeof(buf), false, true, idx);   /* only the new text */
    assert_int_equal(sc.u.readconsole.count, 6);
    assert_memory_equal(buf, "world\n", 6);
    readconsole(&sc, buf, 3, false, false, 0);               /* count limits */
    assert_int_equal(sc.u.readconsole.count, 3);
    assert_memory_equal(buf, "hel", 3);
    readconsole(&sc, buf, sizeof(buf), true, false, 0);      /* read all, clear */
    assert_int_equal(sc.u.readconsole.count, 12);
    readconsole(&sc, buf, sizeof(buf), false, false, 0);
    assert_int_equal(sc.u.readconsole.count, 0);
    /* Overflow keeps the newest 64 KiB. */
    for (int i = 0; i < 70000; i++)
        conring_putc((char)('a' + i % 26));
    readconsole(&sc, buf, sizeof(buf), false, false, 0);
    assert_int_equal(sc.u.readconsole.count, 65536);
    assert_int_equal(buf[65535], (char)('a' + 69999 % 26));
    assert_int_equal(buf[0], (char)('a' + (70000 - 65536) % 26));
}

static void test_physinfo(void **state)
{
    struct xen_sysctl sc;

    (void)state;
    memset(&sc, 0, sizeof(sc));
    sc.cmd = XEN_SYSCTL_physinfo;
    sc.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), 0);
    assert_int_equal(sc.u.physinfo.free_pages, mm_free_frames());
    assert_int_equal(sc.u.physinfo.nr_cpus, 1);
    assert_int_equal(sc.u.physinfo.cpu_khz, 2000000);
    assert_int_equal(sc.u.physinfo.capabilities, XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm);
    unsigned long before = sc.u.physinfo.free_pages;
    alloc(dom0);
    assert_int_equal(do_sysctl((uint64_t)(uintptr_t)&sc), 0);
    assert_int_equal(sc.u.physinfo.free_pages, before - 1);
}

/* Builds a PV domain the way the toolstack does: frames, a 4-level table
 * with the kernel's own tables mapped read-only in its L1 (as a PV kernel's
 * direct map does), a pinned L4, a GDT frame, and setvcpucontext. */
static domid_t build_pv(unsigned long *l4_out)
{
    domid_t id = create(0, false);
    struct domain *d = domain_by_id(id);
    struct xen_domctl dc;

    d->max_pages = 64;
    unsigned long l4 = alloc(d), l3 = alloc(d), l2 = alloc(d), l1 = alloc(d);
    unsigned long data[8], gdt = alloc(d);
    for (int i = 0; i < 8; i++)
        data[i] = alloc(d);
    uint64_t *t1 = mfn_to_virt(l1);
    for (int i = 0; i < 8; i++)
        t1[i] = pte(data[i], true);
    t1[8] = pte(l4, false);
    t1[9] = pte(l3, false);
    t1[10] = pte(l2, false);
    t1[11] = pte(l1, false);
    t1[12] = pte(gdt, false);
    ((uint64_t *)mfn_to_virt(l2))[0] = pte(l1, true);
    ((uint64_t *)mfn_to_virt(l3))[0] = pte(l2, true);
    ((uint64_t *)mfn_to_virt(l4))[0] = pte(l3, true);
    assert_int_equal(mm_pin_table(d, l4, PGT_l4_page_table), 0);
    /* GDT frame, held as desc.c holds it. */
    assert_true(get_page(gdt, d));
    assert_int_equal(get_page_type(gdt, PGT_seg_desc_page), 0);
    d->vcpu[0]->gdt_frames[0] = gdt;
    d->vcpu[0]->gdt_ents = 16;

    static struct vcpu_guest_context c;
    memset(&c, 0, sizeof(c));
    c.ctrlreg[3] = xen_pfn_to_cr3(l4);
    c.user_regs.rip = 0xffffffff80001000UL;
    c.user_regs.rsp = 0xffffffff80100000UL;
    c.user_regs.rsi = 0x1234;
    c.user_regs.rflags = 0x3000;
    c.flags = VGCF_in_kernel;
    memset(&dc, 0, sizeof(dc));
    dc.u.vcpucontext.vcpu = 0;
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &c);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_setvcpucontext, id), 0);
    *l4_out = l4;
    return id;
}

static void test_setvcpucontext_pv(void **state)
{
    unsigned long l4;
    domid_t id = build_pv(&l4);
    struct vcpu *v = domain_by_id(id)->vcpu[0];
    static struct vcpu_guest_context c;
    struct xen_domctl dc;

    (void)state;
    assert_int_equal(v->guest_table, l4);
    assert_int_equal(v->regs.rflags & 0x3200, 0x200);
    assert_int_equal(v->regs.cs, FLAT_KERNEL_CS);
    assert_int_equal(v->state, VCPU_RUNNABLE);
    memset(&dc, 0, sizeof(dc));
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &c);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getvcpucontext, id), 0);
    assert_int_equal(c.user_regs.rsi, 0x1234);
    assert_int_equal(xen_cr3_to_pfn(c.ctrlreg[3]), l4);
    /* A frame that is not a valid L4 of the domain is refused. */
    c.ctrlreg[3] = xen_pfn_to_cr3(dom0->shared_info_mfn);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_setvcpucontext, id), -XEN_EINVAL);
}

/* The context a suspended vCPU is saved with comes back register for
 * register, with its GDT frames and FPU area; a suspended domain accepts a
 * new context and resumes, any other state is refused. */
static void test_context_roundtrip_resume(void **state)
{
    unsigned long l4;
    domid_t id = build_pv(&l4);
    struct domain *d = domain_by_id(id);
    struct vcpu *v = d->vcpu[0];
    static struct vcpu_guest_context c, c2;
    struct xen_domctl dc;

    (void)state;
    v->regs.r12 = 0x1212; v->regs.rdx = 0xd0d0; v->regs.rax = 0; v->regs.r15 = 0x1515;
    v->fs_base = 0x7000; v->gs_base_kernel = 0xffffffff80200000UL;
    v->fxsave[3] = 0xabcdef;
    memset(&dc, 0, sizeof(dc));
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &c);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getvcpucontext, id), 0);
    assert_true(c.flags & VGCF_i387_valid);
    assert_int_equal(c.gdt_ents, 16);

    /* Not suspended: resume is refused; a running domain's context can be set. */
    assert_int_equal(domctl(&dc, XEN_DOMCTL_resumedomain, id), -XEN_EINVAL);
    d->is_shutting_down = true;
    d->shutdown_code = SHUTDOWN_crash;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_setvcpucontext, id), -XEN_EINVAL);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_resumedomain, id), -XEN_EINVAL);
    d->shutdown_code = SHUTDOWN_suspend;

    /* Cancelled suspend (xc_domain_resume): rax = 1, then resume. */
    c.user_regs.rax = 1;
    memset(v->fxsave, 0, sizeof(v->fxsave));
    v->regs.r12 = v->regs.rdx = v->regs.r15 = 0;
    v->fs_base = v->gs_base_kernel = 0;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_setvcpucontext, id), 0);
    assert_int_equal(v->regs.rax, 1);
    assert_int_equal(v->regs.r12, 0x1212);
    assert_int_equal(v->regs.rdx, 0xd0d0);
    assert_int_equal(v->regs.r15, 0x1515);
    assert_int_equal(v->fs_base, 0x7000);
    assert_int_equal(v->gs_base_kernel, 0xffffffff80200000UL);
    assert_int_equal(v->fxsave[3], 0xabcdef);
    assert_int_equal(v->gdt_ents, 16);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_resumedomain, id), 0);
    assert_false(d->is_shutting_down);
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &c2);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getvcpucontext, id), 0);
    assert_int_equal(c2.user_regs.rax, 1);
    /* A GDT frame that is not the domain's is refused. */
    c.gdt_frames[0] = dom0->shared_info_mfn;
    set_xen_guest_handle(dc.u.vcpucontext.ctxt, &c);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_setvcpucontext, id), -XEN_EINVAL);
}

/* getpageframeinfo3: page tables by level (the pinned L4 with LPINTAB),
 * data frames NOTAB, shared_info and other domains' frames XTAB; more than
 * 1024 frames in one call is E2BIG. */
static void test_pageframeinfo3(void **state)
{
    unsigned long l4;
    domid_t id = build_pv(&l4);
    struct domain *d = domain_by_id(id);
    uint64_t *t4 = mfn_to_virt(l4);
    unsigned long l3 = (t4[0] & PTE_ADDR_MASK) >> PAGE_SHIFT;
    unsigned long l2 = (((uint64_t *)mfn_to_virt(l3))[0] & PTE_ADDR_MASK) >> PAGE_SHIFT;
    unsigned long l1 = (((uint64_t *)mfn_to_virt(l2))[0] & PTE_ADDR_MASK) >> PAGE_SHIFT;
    unsigned long data = (((uint64_t *)mfn_to_virt(l1))[0] & PTE_ADDR_MASK) >> PAGE_SHIFT;
    xen_pfn_t arr[8] = { l4, l3, l2, l1, data, d->shared_info_mfn, dom0->shared_info_mfn,
                         max_mfn + 5 };
    struct xen_domctl dc;

    (void)state;
    memset(&dc, 0, sizeof(dc));
    dc.u.getpageframeinfo3.num = 8;
    set_xen_guest_handle(dc.u.getpageframeinfo3.array, arr);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getpageframeinfo3, id), 0);
    assert_int_equal(arr[0], XEN_DOMCTL_PFINFO_L4TAB | XEN_DOMCTL_PFINFO_LPINTAB);
    assert_int_equal(arr[1], XEN_DOMCTL_PFINFO_L3TAB);
    assert_int_equal(arr[2], XEN_DOMCTL_PFINFO_L2TAB);
    assert_int_equal(arr[3], XEN_DOMCTL_PFINFO_L1TAB);
    assert_int_equal(arr[4], XEN_DOMCTL_PFINFO_NOTAB);
    assert_int_equal(arr[5], XEN_DOMCTL_PFINFO_XTAB);
    assert_int_equal(arr[6], XEN_DOMCTL_PFINFO_XTAB);
    assert_int_equal(arr[7], XEN_DOMCTL_PFINFO_XTAB);
    dc.u.getpageframeinfo3.num = 1025;
    assert_int_equal(domctl(&dc, XEN_DOMCTL_getpageframeinfo3, id), -XEN_E2BIG);
}

static void destroy_returns_frames(bool dom0_maps)
{
    unsigned long before = mm_free_frames(), l4;
    domid_t id = build_pv(&l4);
    struct xen_domctl dc;

    assert_true(mm_free_frames() < before);
    unsigned long shared = INVALID_MFN;
    if (dom0_maps) {
        /* dom0 holds a writable-type and a general ref on a frame of the domain. */
        shared = domain_by_id(id)->page_list_head;   /* a data frame, mapped writable */
        assert_int_equal(mfn_to_page(shared)->type_info & PGT_type_mask, PGT_writable_page);
        assert_true(get_page(shared, domain_by_id(id)));
        assert_int_equal(get_page_type(shared, PGT_writable_page), 0);
    }
    memset(&dc, 0, sizeof(dc));
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, id), 0);
    assert_null(domain_by_id(id));
    if (dom0_maps) {
        assert_int_equal(mm_free_frames(), before - 1);
        /* The id is reused (by asking for it) before dom0 lets go: nothing
         * of the new domain moves. */
        domid_t again = create(id, false);
        assert_int_equal(again, id);
        unsigned long tot = domain_by_id(id)->tot_pages;
        put_page_type(shared);
        put_page(shared);
        assert_int_equal(domain_by_id(id)->tot_pages, tot);
        assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, id), 0);
    }
    assert_int_equal(mm_free_frames(), before);
}

static void test_destroy_returns_frames(void **state)
{
    (void)state;
    destroy_returns_frames(false);
    destroy_returns_frames(false);
    /* Two domains destroyed in both orders. */
    unsigned long before = mm_free_frames(), l4a, l4b;
    struct xen_domctl dc;
    domid_t a = build_pv(&l4a), b = build_pv(&l4b);
    memset(&dc, 0, sizeof(dc));
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, a), 0);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, b), 0);
    assert_int_equal(mm_free_frames(), before);
    a = build_pv(&l4a);
    b = build_pv(&l4b);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, b), 0);
    assert_int_equal(domctl(&dc, XEN_DOMCTL_destroydomain, a), 0);
    assert_int_equal(mm_free_frames(), before);
}

static void test_destroy_while_mapped(void **state)
{
    (void)state;
    destroy_returns_frames(true);
}

static void test_hvm_op(void **state)
{
    struct xen_hvm_param hp;
    domid_t pv = create(0, false), hvm = create(0, true);

    (void)state;
    memset(&hp, 0, sizeof(hp));
    hp.domid = pv;
    hp.index = HVM_PARAM_CONSOLE_PFN;
    assert_int_equal(do_hvm_op(HVMOP_set_param, (uint64_t)(uintptr_t)&hp), -XEN_EINVAL);
    hp.domid = hvm;
    hp.value = 5;
    assert_int_equal(do_hvm_op(HVMOP_set_param, (uint64_t)(uintptr_t)&hp), 0);
    assert_int_equal(do_hvm_op(HVMOP_get_param, (uint64_t)(uintptr_t)&hp), 0);
    assert_int_equal(hp.value, 42);
    assert_int_equal(do_hvm_op(99, (uint64_t)(uintptr_t)&hp), -XEN_ENOSYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eperm_unprivileged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eacces_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getdomaininfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_mem_hypercall_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readconsole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_physinfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setvcpucontext_pv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_roundtrip_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pageframeinfo3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_returns_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_while_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hvm_op, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
