/*
 * balloon.c - the PV balloon (Linux's xen-balloon): the toolstack writes
 * the domain's target size to memory/target (KiB, `lamina mem-set`); the
 * guest gives frames back with XENMEM_decrease_reservation until it holds
 * that many, and takes them again with XENMEM_populate_physmap, never past
 * the size it booted with (nr_pages, Xen's static-max).
 *
 * A frame given back is first taken from the frame allocator, so nothing
 * of the kernel's uses it; its direct-map PTE is cleared (the hypervisor
 * frees only unmapped frames) and its P2M entry set to INVALID_P2M_ENTRY,
 * which a save skips.  Runs in the control thread (watch callbacks).
 */
#include "kernel.h"
#include "pv.h"
#include <pv/hypercall.h>
#include <pv/mm.h>
#include <pv/xenbus.h>
#include <xen/memory.h>

#define BALLOON_BATCH   64          /* frames per hypercall */
#define BALLOON_RESERVE 256         /* frames the kernel keeps free (1 MiB) */
#define INVALID_P2M_ENTRY (~0UL)

static unsigned long *ballooned;    /* pfns given back, a stack */
static unsigned long nr_ballooned;

/* Hands up to n free frames back; returns how many went. */
static unsigned long balloon_out(unsigned long n)
{
    xen_pfn_t mfns[BALLOON_BATCH];
    unsigned long pfns[BALLOON_BATCH], done = 0;

    while (done < n) {
        unsigned int k = 0;

        while (k < BALLOON_BATCH && done + k < n &&
               core_free_frame_count() > BALLOON_RESERVE) {
            uint64_t pfn = core_alloc_frame();

            if (!pfn)
                break;
            if (HYPERVISOR_update_va_mapping((unsigned long)arch_pfn_to_virt(pfn), 0,
                                             UVMF_INVLPG)) {
                core_free_frame(pfn);
                break;
            }
            pfns[k] = pfn;
            mfns[k] = pv_pfn_to_mfn(pfn);
            k++;
        }
        if (!k)
            break;
        struct xen_memory_reservation r = { .nr_extents = k, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, mfns);
        long got = HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r);
        if (got < 0)
            got = 0;
        for (unsigned int i = 0; i < k; i++) {
            if (i < (unsigned long)got) {
                pv_p2m[pfns[i]] = INVALID_P2M_ENTRY;
                ballooned[nr_ballooned++] = pfns[i];
                continue;
            }
            /* The hypervisor kept it: map it again and give it back to
             * the allocator. */
            uint64_t pte = (mfns[i] << 12) | PV_PTE_P | PV_PTE_A | PV_PTE_RW | PV_PTE_D;
            if (HYPERVISOR_update_va_mapping((unsigned long)arch_pfn_to_virt(pfns[i]), pte,
                                             UVMF_INVLPG))
                pv_die("balloon: cannot map a refused frame again", (long)pfns[i]);
            core_free_frame(pfns[i]);
        }
        done += (unsigned long)got;
        if ((unsigned long)got < k)
            break;
    }
    return done;
}

/* Takes up to n frames back from the hypervisor; returns how many came. */
static unsigned long balloon_in(unsigned long n)
{
    xen_pfn_t list[BALLOON_BATCH];
    unsigned long done = 0;

    while (done < n && nr_ballooned) {
        unsigned int k = 0;

        while (k < BALLOON_BATCH && done + k < n && k < nr_ballooned) {
            list[k] = ballooned[nr_ballooned - 1 - k];
            k++;
        }
        struct xen_memory_reservation r = { .nr_extents = k, .domid = DOMID_SELF };
        set_xen_guest_handle(r.extent_start, list);
        long got = HYPERVISOR_memory_op(XENMEM_populate_physmap, &r);
        if (got <= 0)
            break;
        for (long i = 0; i < got; i++) {
            unsigned long pfn = ballooned[--nr_ballooned];
            uint64_t pte = (list[i] << 12) | PV_PTE_P | PV_PTE_A | PV_PTE_RW | PV_PTE_D;

            pv_p2m[pfn] = list[i];
            if (HYPERVISOR_update_va_mapping((unsigned long)arch_pfn_to_virt(pfn), pte,
                                             UVMF_INVLPG))
                pv_die("balloon: cannot map a populated frame", (long)pfn);
            memset(arch_pfn_to_virt(pfn), 0, GPAGE_SIZE);
            core_free_frame(pfn);
        }
        done += (unsigned long)got;
        if ((unsigned long)got < k)
            break;
    }
    return done;
}

/* Watch callback on memory/target. */
static void balloon_watch(const char *path, const char *token, void *opaque)
{
    char buf[32];
    uint64_t kib = 0;
    int rc = xenbus_read("memory/target", buf, sizeof(buf));

    (void)path;
    (void)token;
    (void)opaque;
    if (rc <= 0)
        return;                         /* none set: the boot size */
    for (int i = 0; buf[i]; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            kprintf("balloon: memory/target '%s' is not a number of KiB; ignored\n", buf);
            return;
        }
        kib = kib * 10 + (uint64_t)(buf[i] - '0');
    }
    if (!ballooned) {
        ballooned = kmalloc(pv_p2m_nr * sizeof(*ballooned));
        if (!ballooned) {
            kprintf("balloon: no memory for the list of %lu frames\n", pv_p2m_nr);
            return;
        }
    }
    unsigned long target = kib / 4, have = pv_p2m_nr - nr_ballooned, moved;
    if (target > pv_p2m_nr)
        target = pv_p2m_nr;
    if (target < have) {
        moved = balloon_out(have - target);
        kprintf("balloon: target %lu KiB: gave back %lu frames, %lu KiB now%s\n",
                (unsigned long)kib, moved, (pv_p2m_nr - nr_ballooned) * 4,
                moved < have - target ? " (the kernel keeps the rest)" : "");
    } else if (target > have) {
        moved = balloon_in(target - have);
        kprintf("balloon: target %lu KiB: took back %lu frames, %lu KiB now%s\n",
                (unsigned long)kib, moved, (pv_p2m_nr - nr_ballooned) * 4,
                moved < target - have ? " (the hypervisor gave no more)" : "");
    }
}

int pv_balloon_init(void)
{
    return xenbus_watch("memory/target", "balloon", balloon_watch, NULL);
}
