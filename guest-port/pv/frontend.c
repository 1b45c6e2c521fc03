/*
 * frontend.c - what the PV guest kernel lends pv-abi's front-end drivers
 * (struct xenbus_front_env: blkfront, netfront) and the domain's grant
 * table, set up once for all of them.
 *
 * Runs in the guest kernel, thread context.
 */
#include "xenctrl.h"
#include "kernel.h"
#include "pv.h"
#include <pv/gnttab.h>
#include <pv/mm.h>
#include <pv/xenbus.h>

static void env_wait(void *opaque, uint64_t ns)
{
    (void)opaque;
    thread_sleep_ns(ns < 20000000ULL ? ns : 20000000ULL);
}

static void env_notify(void *opaque)
{
    thread_wake(opaque);
}

static void *env_alloc_page(uint64_t *mfn)
{
    uint64_t pfn = core_alloc_frame();

    if (!pfn)
        return NULL;
    *mfn = pv_pfn_to_mfn(pfn);
    return arch_pfn_to_virt(pfn);
}

static void env_free_page(void *va)
{
    core_free_frame(arch_virt_to_pfn(va));
}

static uint64_t env_virt_to_mfn(const void *va)
{
    return pv_pfn_to_mfn(arch_virt_to_pfn(va));
}

/* The domain's grant table, set up and mapped once: 8 frames (4096
 * references: four 1 MiB requests in flight beside 1056 persistent grants). */
#define GNT_FRAMES 8
static bool gnt_started;
static void *gnt_va;

static int grant_table_map(void)
{
    xen_pfn_t mfns[GNT_FRAMES];
    int rc;

    if ((rc = gnttab_setup(GNT_FRAMES, mfns)))
        return rc;
    if (!(gnt_va = xc_map_foreign_pages(NULL, DOMID_SELF, XC_PROT_READ | XC_PROT_WRITE, mfns,
                                        GNT_FRAMES)))
        return -errno;
    return 0;
}

int pv_grant_table_start(void)
{
    int rc;

    if (gnt_started)
        return 0;
    if ((rc = grant_table_map()) || (rc = gnttab_init(gnt_va, GNT_FRAMES)))
        return rc;
    gnt_started = true;
    return 0;
}

void pv_grant_table_suspend(void)
{
    if (!gnt_started)
        return;
    (void)gnttab_suspend();
    /* The frames are the hypervisor's: no mapping of them may be saved. */
    (void)xc_unmap_foreign(NULL, gnt_va, GNT_FRAMES * 4096);
    gnt_va = NULL;
}

int pv_grant_table_resume(bool new_domain)
{
    int rc;

    if (!gnt_started)
        return 0;
    if ((rc = grant_table_map()))
        return rc;
    return gnttab_resume(gnt_va, new_domain);
}

void pv_front_env(struct xenbus_front_env *env)
{
    *env = (struct xenbus_front_env){
        .wait = env_wait, .notify = env_notify, .opaque = thread_current(),
        .alloc_page = env_alloc_page, .free_page = env_free_page,
        .zalloc = kzalloc, .free = kfree, .virt_to_mfn = env_virt_to_mfn,
    };
}
