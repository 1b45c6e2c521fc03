/*
 * suspend.c - a PV domU's side of save and restore (docs/save-format.md):
 * the P2M published for the toolstack, and suspend/resume as a Xen PV
 * guest does them.
 *
 * Runs in the guest kernel (ring 3 under x86-64 PV), in the xenbus
 * control thread when control/shutdown says "suspend".
 *
 * The toolstack finds the P2M through shared_info's
 * pfn_to_mfn_frame_list_list (public/arch-x86/xen.h): a page of MFNs of
 * pages of MFNs of the P2M's own pages.  After a restore the toolstack has
 * rewritten the P2M itself; the two list levels are rebuilt here.
 *
 * Suspend: shared_info is unmapped (its frame is the hypervisor's and does
 * not move with the domain; a dummy stands in for vcpu_info meanwhile),
 * then SCHEDOP_shutdown(SHUTDOWN_suspend) with start_info's MFN in rdx.
 * It returns 0 in the restored domain (new frames, new event channels:
 * everything is bound again from start_info) or 1 when the toolstack
 * resumed the same domain (nothing to redo but shared_info).
 */
#include "pv.h"
#include "kernel.h"
#include <pv/console.h>
#include <pv/evtchn.h>
#include <pv/irq.h>
#include <pv/mm.h>
#include <pv/xenbus.h>
#include <pv/blkfront.h>
#include <pv/netfront.h>

#define FL_PAGES 8                  /* frame lists: 8 x 512 x 512 pfns = 8 GiB */

static xen_pfn_t p2m_fll[512] __attribute__((aligned(4096), section(".bss.page_aligned")));
static xen_pfn_t p2m_fl[FL_PAGES][512]
    __attribute__((aligned(4096), section(".bss.page_aligned")));
static struct shared_info dummy_shared_info __attribute__((aligned(4096)));
static bool p2m_published;

static uint64_t own_mfn(const void *va)
{
    return pv_pfn_to_mfn(arch_virt_to_pfn(va));
}

void pv_p2m_publish(void)
{
    uint64_t nr = pv_p2m_nr, nr_p2m = (nr + 511) / 512;
    struct shared_info *s = HYPERVISOR_shared_info;

    if (((uint64_t)pv_p2m & 4095) || nr_p2m > FL_PAGES * 512) {
        kprintf("suspend: the P2M is not page-aligned or too big; this domain cannot be "
                "saved\n");
        return;
    }
    for (uint64_t k = 0; k < nr_p2m; k++)
        p2m_fl[k / 512][k % 512] = own_mfn(pv_p2m + 512 * k);
    for (uint64_t f = 0; f < (nr_p2m + 511) / 512; f++)
        p2m_fll[f] = own_mfn(p2m_fl[f]);
    s->arch.max_pfn = nr;
    pv_barrier();
    s->arch.pfn_to_mfn_frame_list_list = own_mfn(p2m_fll);
    p2m_published = true;
}

/* Maps shared_info (start_info's machine address) at its slot again. */
static void shared_info_map(struct shared_info *slot)
{
    int rc = HYPERVISOR_update_va_mapping((unsigned long)slot, pv_start_info->shared_info |
                                          PV_PTE_P | PV_PTE_RW | PV_PTE_A | PV_PTE_D,
                                          UVMF_INVLPG);
    if (rc)
        pv_die("mapping shared_info after suspend", rc);
    HYPERVISOR_shared_info = slot;
}

/* The grant table, then the disks and vifs, connected again. */
static void resume_devices(bool new_domain)
{
    int rc = pv_grant_table_resume(new_domain);

    if (rc)
        pv_die("grant table after resume", rc);
    if ((rc = blkfront_resume_all(new_domain, 10000000000ULL)))
        kprintf("suspend: a disk did not reconnect (%d)\n", rc);
    if ((rc = netfront_resume_all(new_domain, 10000000000ULL)))
        kprintf("suspend: a vif did not reconnect (%d)\n", rc);
    if (new_domain)
        kprintf("suspend: devices reconnected\n");
}

int pv_suspend(void)
{
    struct sched_shutdown op = { .reason = SHUTDOWN_suspend };
    struct shared_info *slot = HYPERVISOR_shared_info;
    uint64_t si_mfn = own_mfn(pv_start_info);
    int rc;

    if (!p2m_published)
        return -XEN_EOPNOTSUPP;
    kprintf("suspend: suspending\n");
    blkfront_suspend_all(5000000000ULL);
    netfront_suspend_all(1000000000ULL);
    pv_grant_table_suspend();
    bool flags = arch_irq_save();
    pv_time_suspend();
    dummy_shared_info.vcpu_info[0].evtchn_upcall_mask = 1;
    HYPERVISOR_shared_info = &dummy_shared_info;
    rc = HYPERVISOR_update_va_mapping((unsigned long)slot, 0, UVMF_INVLPG);
    if (rc) {
        HYPERVISOR_shared_info = slot;
        arch_irq_restore(flags);
        return rc;
    }
    rc = (int)_hypercall3(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &op, si_mfn);
    shared_info_map(slot);
    pv_irq_disable();
    if (rc == 0) {
        /* A new domain: its P2M, its channels, its rings' ports. */
        pv_p2m_publish();
        pv_evtchn_reset();
        pv_time_resume(true);
        if ((rc = pv_cons_ring_resume(pv_start_info->console.domU.evtchn)))
            pv_die("console ring after restore", rc);
        arch_irq_restore(flags);
        if ((rc = xenbus_resume(pv_start_info->store_evtchn)))
            kprintf("suspend: xenbus did not come back (%d)\n", rc);
        kprintf("suspend: resumed in a new domain\n");
        resume_devices(true);
        return 0;
    }
    pv_time_resume(false);
    arch_irq_restore(flags);
    resume_devices(false);
    kprintf("suspend: cancelled, running on in the same domain\n");
    return 0;
}
