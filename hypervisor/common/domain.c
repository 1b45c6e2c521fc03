/*
 * domain.c - creating, shutting down, crashing and destroying domains.
 * Runs in ring 0 with interrupts off.
 */
#include "common/hv.h"
#include "common/grant_table.h"
#include "arch/x86/x86.h"
#include "pv/pv.h"
#include "unmod/unmod.h"

struct vcpu *current;
int dom0_exit_code = POWEROFF_CLEAN;

/* Live and toolstack-stopped domains by id (a destroyed one leaves at once). */
static struct domain *domain_table[DOMID_FIRST_RESERVED];
static unsigned int nr_domains;
/* The id the last search for a free one handed out (Xen's domctl rover). */
static domid_t domid_rover;
/* Destroyed domains whose structures are freed at the next domain_reap(). */
static struct domain *reap_list;

struct domain *domain_by_id(domid_t id)
{
    return id < DOMID_FIRST_RESERVED ? domain_table[id] : NULL;
}

struct domain *domain_lookup(domid_t id)
{
    struct domain *d;

    if (id == DOMID_SELF)
        return current ? current->domain : NULL;
    d = domain_by_id(id);
    return d && !d->is_dying ? d : NULL;
}

unsigned int domain_count(void)
{
    return nr_domains;
}

domid_t domain_alloc_id(void)
{
    domid_t id = domid_rover;

    for (unsigned int n = 0; n < DOMID_FIRST_RESERVED - 1; n++) {
        if (++id >= DOMID_FIRST_RESERVED)
            id = 1;
        if (!domain_table[id]) {
            domid_rover = id;
            return id;
        }
    }
    return DOMID_INVALID;
}

static void domain_free(struct domain *d)
{
    if (d->vcpu_ops->domain_free)
        d->vcpu_ops->domain_free(d);
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        xfree(d->vcpu[i]);
    xfree(d);
}

void domain_reap(void)
{
    while (reap_list) {
        struct domain *d = reap_list;

        reap_list = d->reap_next;
        domain_free(d);
    }
}

struct domain *domain_create(domid_t id, bool privileged, unsigned long max_pages)
{
    struct domain *d;
    struct vcpu *v;
    unsigned long si;

    if (id >= DOMID_FIRST_RESERVED || domain_table[id])
        return NULL;
    d = xzalloc_bytes(sizeof(*d));
    v = d ? xzalloc_bytes(sizeof(*v)) : NULL;
    si = v ? alloc_xen_frame() : INVALID_MFN;
    if (si == INVALID_MFN) {
        xfree(v);
        xfree(d);
        return NULL;
    }
    d->domain_id = id;
    d->is_privileged = privileged;
    d->max_pages = max_pages;
    d->page_list_head = INVALID_MFN;
    d->max_vcpus = 1;
    d->vcpu_ops = &pv_vcpu_ops;         /* unmod_domain_create() may change it */
    d->shared_info_mfn = si;
    d->shared_info = mfn_to_virt(si);
    share_xen_frame_with_guest(si, d);

    v->domain = d;
    v->vcpu_id = 0;
    v->state = VCPU_DOWN;
    v->kernel_mode = true;
    v->vcpu_info = &d->shared_info->vcpu_info[0];
    v->vcpu_info->evtchn_upcall_mask = 1;
    /* A clean FPU state: FCW 0x37f, MXCSR 0x1f80. */
    v->fxsave[0] = 0x37f;                   /* FCW, bytes 0-1 */
    v->fxsave[3] = 0x1f80UL << 32;          /* MXCSR, bytes 24-27 */
    d->vcpu[0] = v;

    if (evtchn_init(d)) {
        free_xen_frame(si);
        xfree(v);
        xfree(d);
        return NULL;
    }
    if (gnttab_init(d, -1, -1)) {
        evtchn_destroy(d);
        free_xen_frame(si);
        xfree(v);
        xfree(d);
        return NULL;
    }
    if (sched_add_vcpu(v)) {
        gnttab_destroy(d);
        evtchn_destroy(d);
        free_xen_frame(si);
        xfree(v);
        xfree(d);
        return NULL;
    }
    domain_table[id] = d;
    nr_domains++;
    return d;
}

static void drop_table_ref(unsigned long *mfn)
{
    if (*mfn) {
        put_page_type(*mfn);
        put_page(*mfn);
        *mfn = 0;
    }
}

/* dom0 hears (VIRQ_DOM_EXC) that d shut down, crashed or was destroyed. */
static void notify_dom_exc(struct domain *d)
{
    struct domain *d0 = domain_table[0];

    if (d0 && d0 != d && !d0->is_dying && d0->vcpu[0])
        send_guest_virq(d0->vcpu[0], VIRQ_DOM_EXC);
}

void domain_destroy(struct domain *d)
{
    if (d->is_dying)
        return;
    d->is_dying = true;
    domain_console_flush(d);
    paging_log_dirty_disable(d);
    /* d's grant mappings go while its page tables still stand. */
    gnttab_destroy(d);
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        if (v == current) {
            current = NULL;
            need_resched = true;
            write_cr3(idle_cr3());
        }
        v->state = VCPU_DOWN;
        sched_remove_vcpu(v);
        drop_table_ref(&v->guest_table);
        drop_table_ref(&v->guest_table_user);
        pv_destroy_gdt(v);
        gdt_load_guest(NULL);
        pv_destroy_ldt(v);
        ldt_load_guest(NULL);
    }
    evtchn_destroy(d);
    if (d->vcpu_ops->domain_destroy)
        d->vcpu_ops->domain_destroy(d);
    /* Frames (and shared_info) another domain still maps outlive d with no
     * owner and are freed by their last put_page() (mm.c). */
    mm_relinquish_domain(d);
    free_xen_frame(d->shared_info_mfn);
    domain_table[d->domain_id] = NULL;
    nr_domains--;
    printk("domain %u destroyed, %lu frames free\n", d->domain_id, mm_free_frames());
    notify_dom_exc(d);
    /* Callers up the stack may still look at d: it is freed once the
     * hypervisor next leaves for a guest (schedule() reaps). */
    d->reap_next = reap_list;
    reap_list = d;
    need_resched = true;
}

/*
 * A toolstack domain stops where it is: its vCPU never runs again (the
 * scheduler skips shut-down domains), its memory stays until
 * XEN_DOMCTL_destroydomain, dom0 gets VIRQ_DOM_EXC.
 */
static void domain_stop(struct domain *d, unsigned int reason)
{
    d->shutdown_code = reason;
    d->is_shutting_down = true;
    domain_console_flush(d);
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (v && v == current) {
            v->regs = *guest_frame;
            v->cpu_time_ns += NOW() - v->last_run_ns;
            current = NULL;
            need_resched = true;
            write_cr3(idle_cr3());
        }
    }
    notify_dom_exc(d);
}

void domain_crash(struct domain *d, const char *why)
{
    bool was_current = current && current->domain == d;

    if (d->is_dying || d->is_shutting_down) {
        if (was_current)
            continue_running();
        return;
    }
    printk("domain %u crashed: %s\n", d->domain_id, why);
    if (d->domain_id == 0)
        dom0_exit_code = POWEROFF_CRASH;
    if (d->is_toolstack)
        domain_stop(d, SHUTDOWN_crash);
    else
        domain_destroy(d);
    if (was_current)
        continue_running();
}

void domain_shutdown(struct domain *d, unsigned int reason)
{
    static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset" };
    bool was_current = current && current->domain == d;

    if (d->is_shutting_down || d->is_dying) {
        if (was_current)
            continue_running();
        return;
    }
    printk("domain %u shut down: %s\n", d->domain_id,
           reason < ARRAY_SIZE(names) ? names[reason] : "unknown");
    if (d->domain_id == 0) {
        dom0_exit_code = (reason == SHUTDOWN_poweroff || reason == SHUTDOWN_reboot)
                         ? POWEROFF_CLEAN : POWEROFF_CRASH;
        /* dom0's toolstack domains cannot outlive it. */
        for (unsigned int i = 1; i < DOMID_FIRST_RESERVED && nr_domains > 1; i++)
            if (domain_table[i] && domain_table[i]->is_toolstack)
                domain_destroy(domain_table[i]);
        if (domain_count() > 1)
            printk("dom0 is down; powering off when the other %u domain(s) end\n",
                   domain_count() - 1);
    }
    if (d->is_toolstack) {
        domain_stop(d, reason);
    } else {
        d->shutdown_code = reason;
        d->is_shutting_down = true;
        domain_destroy(d);
    }
    if (was_current)
        continue_running();
}

int domain_resume(struct domain *d)
{
    if (!d->is_toolstack || d->is_dying || !d->is_shutting_down ||
        d->shutdown_code != SHUTDOWN_suspend)
        return -XEN_EINVAL;
    d->is_shutting_down = false;
    d->shutdown_code = 0;
    need_resched = true;
    printk("domain %u resumed\n", d->domain_id);
    return 0;
}

int domain_pause_by_toolstack(struct domain *d)
{
    if (d->domain_id == 0 || (current && current->domain == d))
        return -XEN_EINVAL;
    d->pause_count++;
    return 0;
}

int domain_unpause_by_toolstack(struct domain *d)
{
    if (d->domain_id == 0 || (current && current->domain == d))
        return -XEN_EINVAL;
    if (!d->pause_count)
        return -XEN_EINVAL;
    if (--d->pause_count == 0)
        need_resched = true;
    return 0;
}

void machine_poweroff(int code)
{
    printk("powering off (code 0x%x)\n", code);
    outw(0x501, (uint16_t)code);        /* QEMU isa-debug-exit */
    outw(0x604, 0x2000);                /* QEMU ACPI PM1a: S5 */
    cpu_stop();
}
