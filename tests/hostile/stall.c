/*
 * stall.c - mode=stall of the hostile PV kernel: hypercalls whose single
 * invocation does a huge amount of legitimate work, to see whether the
 * hypervisor preempts them (Xen: hypercall continuations) or stalls every
 * other domain meanwhile (tests/scenario/stall.sh measures dom0's heartbeat).
 * Runs in a domU, ring 3, events masked.
 *
 * Each of rounds= rounds (default 2) issues
 *   - one mmu_update of 1,000,000 entries, each rewriting one own scratch
 *     PTE with its own value (the list is one page of 256 entries mapped
 *     3,907 times: 16 MB of list backed by one frame);
 *   - one multicall of 1,000,000 XENVER_version entries (one page of 64
 *     entries mapped 15,625 times);
 *   - a memory_op round trip as large as our memory allows:
 *     XENMEM_decrease_reservation of every spare frame we own, then
 *     XENMEM_populate_physmap of as many (one batch each);
 * prints "stall: round <r>: <what> rc=<rc> in <ms> ms" for each, then
 * "stall: done", blocks for 1 s and shuts down (SHUTDOWN_poweroff).  Needs about 16 MiB of
 * spare memory beyond the tables (give the domU >= 64 MiB).
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include "hostile.h"
#include "fuzz.h"

#define STALL_ENTRIES   1000000UL

static uint8_t scratch[4096] __attribute__((aligned(4096)));
static unsigned long alias_mfn;

static unsigned long alias_frame(void *ctx, unsigned long i)
{
    (void)ctx;
    (void)i;
    return alias_mfn;
}

static unsigned long list_frame(void *ctx, unsigned long i)
{
    return own_mfn(((unsigned long *)ctx)[i]);
}

static unsigned long spare_pfn[32768];

/* Maps one fresh frame of ours at one VA temporarily to fill it; returns
 * the VA of a mapping of npages aliases of it, 0 on failure. */
static void *alias_region(unsigned long npages, void (*fill)(void *page))
{
    unsigned long pfn = mem_take(), va;

    if (pfn == ~0UL)
        return 0;
    alias_mfn = own_mfn(pfn);
    va = mem_map(1, alias_frame, 0);
    if (!va)
        return 0;
    fill((void *)va);
    return (void *)mem_map(npages, alias_frame, 0);
}

static struct walk sw;

static void fill_mmu(void *page)
{
    struct mmu_update *u = page;
    for (unsigned int i = 0; i < 4096 / sizeof(*u); i++) {
        u[i].ptr = sw.l1e_ma | MMU_NORMAL_PT_UPDATE;
        u[i].val = sw.l1e;
    }
}

static void fill_mc(void *page)
{
    struct multicall_entry *m = page;
    for (unsigned int i = 0; i < 4096 / sizeof(*m); i++)
        pv_multicall_set(&m[i], __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0, 0);
}

static void stall_report(unsigned long r, const char *what, long rc, uint64_t t0)
{
    put_s("stall: round ");
    put_dec((long)r);
    put_s(": ");
    put_s(what);
    put_s(" rc=");
    put_dec(rc);
    put_s(" in ");
    put_dec((long)((now_ns() - t0) / 1000000));
    put_s(" ms");
    line_end();
}

unsigned int stall_main(void)
{
    unsigned long rounds = cmdline_num("rounds", 2), r, nspare = 0, i;
    struct mmu_update *mmu;
    struct multicall_entry *mc;
    xen_pfn_t *list;
    unsigned long npages_mmu = (STALL_ENTRIES * sizeof(*mmu) + 4095) / 4096;
    unsigned long npages_mc = (STALL_ENTRIES * sizeof(*mc) + 4095) / 4096;

    clock_init();
    if (!pt_walk((unsigned long)scratch, &sw)) {
        setup_fail("walk of the stall scratch page");
        return SHUTDOWN_crash;
    }
    mmu = alias_region(npages_mmu, fill_mmu);
    mc = alias_region(npages_mc, fill_mc);
    /* The memory_op list: mapped for real, one slot per spare frame. */
    while (nspare < sizeof(spare_pfn) / sizeof(spare_pfn[0]) && mem_left() > 64 + nspare / 512)
        spare_pfn[nspare++] = mem_take();
    {
        unsigned long lpages = (nspare * sizeof(xen_pfn_t) + 4095) / 4096;
        /* The list's own frames come off the end of the spares. */
        nspare -= lpages;
        list = (xen_pfn_t *)mem_map(lpages, list_frame, &spare_pfn[nspare]);
    }
    if (!mmu || !mc || !list) {
        put_s("stall: setup FAILED (mapping the batches)");
        line_end();
        return SHUTDOWN_crash;
    }
    put_s("stall: start, ");
    put_dec((long)rounds);
    put_s(" rounds of mmu_update x");
    put_dec((long)STALL_ENTRIES);
    put_s(", multicall x");
    put_dec((long)STALL_ENTRIES);
    put_s(", memory_op x");
    put_dec((long)nspare);
    line_end();

    for (r = 1; r <= rounds; r++) {
        struct xen_memory_reservation res = { .domid = DOMID_SELF };
        unsigned int done = 0;
        uint64_t t0;
        long rc;

        t0 = now_ns();
        rc = HYPERVISOR_mmu_update(mmu, STALL_ENTRIES, &done, DOMID_SELF);
        stall_report(r, "mmu_update 1000000 entries", rc ? rc : (long)done, t0);

        t0 = now_ns();
        rc = HYPERVISOR_multicall(mc, STALL_ENTRIES);
        stall_report(r, "multicall 1000000 xen_version", rc, t0);

        for (i = 0; i < nspare; i++)
            list[i] = own_mfn(spare_pfn[i]);
        res.nr_extents = nspare;
        set_xen_guest_handle(res.extent_start, list);
        t0 = now_ns();
        rc = HYPERVISOR_memory_op(XENMEM_decrease_reservation, &res);
        stall_report(r, "decrease_reservation (extents done)", rc, t0);
        for (i = 0; i < nspare; i++)
            list[i] = spare_pfn[i];
        t0 = now_ns();
        rc = HYPERVISOR_memory_op(XENMEM_populate_physmap, &res);
        stall_report(r, "populate_physmap (extents done)", rc, t0);
        /* Our P2M follows the new frames (the list now holds their MFNs). */
        for (i = 0; rc > 0 && i < (unsigned long)rc; i++)
            ((unsigned long *)si->mfn_list)[spare_pfn[i]] = list[i];
    }
    put_s("stall: done");
    line_end();
    /* Blocked for a second before shutting down: dom0 (until_idle=1) ends
     * its measurement here, before our teardown. */
    sleep_until(now_ns() + 1000000000ULL);
    return SHUTDOWN_poweroff;
}
