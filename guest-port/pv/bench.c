/*
 * bench.c - PV arch hooks of the microbenchmark suite (bench.h): the
 * upcall-mask pair, a null hypercall, MMUEXT_NEW_BASEPTR, a benchmark
 * window whose L1 is written through mmu_update, and the bare syscall /
 * #GP handlers of the limit benchmarks (CALLBACKTYPE_syscall and trap 13,
 * restored afterwards to the layer's own entry points).
 * Runs in the guest kernel (ring 3 under x86-64 PV); called from init with
 * events enabled and the boot (kernel-only) L4 loaded.
 *
 * The window is slot 511 of the direct map's L2 (PV_DMAP_BASE + 1 GiB -
 * 2 MiB), unused while the domain has less than 1022 MiB (benchmark
 * domains are smaller; init fails with -EINVAL otherwise).  It is
 * found by walking start_info->pt_base, so pv/mm.c needs no new interface.
 */
#include "bench.h"
#include "kernel.h"
#include "pv.h"
#include <pv/irq.h>
#include <pv/mm.h>

#define PTE_TABLE (PV_PTE_P | PV_PTE_RW | PV_PTE_US | PV_PTE_A)
#define PTE_DATA  (PV_PTE_P | PV_PTE_RW | PV_PTE_A | PV_PTE_D)
#define WINDOW_L2_SLOT 511
#define TI_MASK_EVENTS 4

void bench_pv_syscall_stub(void);
void bench_pv_gp_stub(void);

static uint64_t window_va;
static uint64_t window_l1_mfn;
static uint64_t window_mfn[2];          /* frames the PTEs alternate between */
static struct mmu_update *window_req;   /* BENCH_PTE_BATCH requests */
static bool syscall_replaced, gp_replaced;

void arch_bench_irq_disable_enable(uint64_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        pv_irq_disable();
        pv_irq_enable();
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

void arch_bench_null_privop(uint64_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        (void)HYPERVISOR_xen_version(XENVER_version, NULL);
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

/* Machine frame of the boot L4 (the kernel base while no process runs). */
static uint64_t boot_l4_mfn(void)
{
    return pv_pfn_to_mfn((pv_start_info->pt_base - PV_VIRT_BASE) >> 12);
}

void arch_bench_pt_switch(uint64_t *s, size_t n)
{
    struct mmuext_op op = { .cmd = MMUEXT_NEW_BASEPTR };
    int rc = 0;

    op.arg1.mfn = boot_l4_mfn();
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        rc |= HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
    if (rc)
        pv_die("bench: MMUEXT_NEW_BASEPTR", rc);
}

/* Read-only direct-map view of the table an entry points to. */
static const uint64_t *bench_table(uint64_t entry)
{
    return arch_pfn_to_virt(pv_mfn_to_pfn((entry & PV_PTE_ADDR_MASK) >> 12));
}

int arch_bench_window_init(void)
{
    const uint64_t *l4 = (const uint64_t *)pv_start_info->pt_base;
    uint64_t l4e = l4[(PV_DMAP_BASE >> 39) & 511];
    int rc;

    if (window_va)
        return 0;
    if (!(l4e & PV_PTE_P))
        return -GUEST_EINVAL;
    uint64_t l3e = bench_table(l4e)[(PV_DMAP_BASE >> 30) & 511];
    if (!(l3e & PV_PTE_P))
        return -GUEST_EINVAL;
    uint64_t l2_mfn = (l3e & PV_PTE_ADDR_MASK) >> 12;
    if (bench_table(l3e)[WINDOW_L2_SLOT] & PV_PTE_P)
        return -GUEST_EINVAL;

    window_req = kmalloc(BENCH_PTE_BATCH * sizeof(*window_req));
    uint64_t l1 = core_alloc_frame(), a = core_alloc_frame(), b = core_alloc_frame();
    if (!window_req || !l1 || !a || !b)
        return -GUEST_EINVAL;
    /* A table frame is mapped read-only everywhere before Xen sees it. */
    rc = HYPERVISOR_update_va_mapping((unsigned long)arch_pfn_to_virt(l1),
                                      (pv_pfn_to_mfn(l1) << 12) | PV_PTE_P | PV_PTE_A,
                                      UVMF_INVLPG);
    if (rc)
        return rc;
    struct mmu_update mu = {
        .ptr = ((l2_mfn << 12) + WINDOW_L2_SLOT * 8) | MMU_NORMAL_PT_UPDATE,
        .val = (pv_pfn_to_mfn(l1) << 12) | PTE_TABLE,
    };
    rc = HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF);
    if (rc)
        return rc;
    window_l1_mfn = pv_pfn_to_mfn(l1);
    window_mfn[0] = pv_pfn_to_mfn(a);
    window_mfn[1] = pv_pfn_to_mfn(b);
    window_va = PV_DMAP_BASE + ((uint64_t)WINDOW_L2_SLOT << 21);
    return 0;
}

uint64_t arch_bench_window_va(void)
{
    return window_va;
}

/* Fills window_req[0..count) with "L1 entry k = val". */
static void bench_fill_req(unsigned int count, uint64_t val)
{
    for (unsigned int k = 0; k < count; k++) {
        window_req[k].ptr = ((window_l1_mfn << 12) + k * 8) | MMU_NORMAL_PT_UPDATE;
        window_req[k].val = val;
    }
}

void arch_bench_pte_update(uint64_t *s, size_t n, unsigned int count)
{
    int rc = 0;

    if (count > BENCH_PTE_BATCH)
        count = BENCH_PTE_BATCH;
    for (size_t i = 0; i < n; i++) {
        bench_fill_req(count, (window_mfn[i & 1] << 12) | PTE_DATA);
        uint64_t t0 = bench_tsc();
        rc |= HYPERVISOR_mmu_update(window_req, count, NULL, DOMID_SELF);
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
    if (rc)
        pv_die("bench: mmu_update of the window", rc);
}

void arch_bench_window_clear(void)
{
    bench_fill_req(BENCH_PTE_BATCH, 0);
    int rc = HYPERVISOR_mmu_update(window_req, BENCH_PTE_BATCH, NULL, DOMID_SELF);
    if (rc)
        pv_die("bench: clearing the window", rc);
    (void)pv_tlb_flush_local();
}

int arch_bench_fault_map(uint64_t va)
{
    if (va < window_va || va >= window_va + (512UL << 12))
        return -GUEST_EINVAL;
    struct mmu_update mu = {
        .ptr = ((window_l1_mfn << 12) + ((va - window_va) >> 12) * 8) | MMU_NORMAL_PT_UPDATE,
        .val = (window_mfn[0] << 12) | PTE_DATA,
    };
    return HYPERVISOR_mmu_update(&mu, 1, NULL, DOMID_SELF);
}

void arch_bench_fault_unmap(uint64_t va)
{
    if (va < window_va || va >= window_va + (512UL << 12))
        return;
    int rc = HYPERVISOR_update_va_mapping(va, 0, UVMF_INVLPG);
    if (rc)
        pv_die("bench: unmapping the fault page", rc);
}

static int bench_set_syscall(void (*fn)(void))
{
    struct callback_register cb = { .type = CALLBACKTYPE_syscall,
                                    .flags = CALLBACKF_mask_events,
                                    .address = (unsigned long)fn };
    return HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
}

static int bench_set_trap13(void (*fn)(void))
{
    const struct trap_info t[2] = {
        { 13, 0 | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)fn },
        { 0, 0, 0, 0 },
    };
    return HYPERVISOR_set_trap_table(t);
}

int arch_bench_limit_begin(unsigned int kind)
{
    int rc;

    if (kind == BENCH_USER_LIMIT_SYSCALL) {
        if (syscall_replaced)
            return 0;
        rc = bench_set_syscall(bench_pv_syscall_stub);
        syscall_replaced = !rc;
        return rc;
    }
    if (kind == BENCH_USER_LIMIT_GP) {
        if (gp_replaced)
            return 0;
        rc = bench_set_trap13(bench_pv_gp_stub);
        gp_replaced = !rc;
        return rc;
    }
    return -GUEST_EINVAL;
}

void arch_bench_limit_end(unsigned int kind)
{
    if (kind == BENCH_USER_LIMIT_SYSCALL && syscall_replaced) {
        if (bench_set_syscall(pv_syscall_callback))
            pv_die("bench: restoring the syscall callback", 0);
        syscall_replaced = false;
    } else if (kind == BENCH_USER_LIMIT_GP && gp_replaced) {
        if (bench_set_trap13(pv_trap_13))
            pv_die("bench: restoring trap 13", 0);
        gp_replaced = false;
    }
}
