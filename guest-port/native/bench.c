/*
 * bench.c - native arch hooks of the microbenchmark suite (bench.h): the
 * raw privileged instructions (each traps under trap-and-emulate), a
 * benchmark window in the kernel page tables written with plain stores,
 * and the bare syscall/#GP handlers of the limit benchmarks.
 * Runs in the guest kernel, ring 0 (deprivileged under Lamina's
 * trap-and-emulate); called from init with interrupts enabled.
 *
 * Nothing here changes state the rest of the layer relies on: CR3 is
 * reloaded with its own value, LSTAR is restored, and the IDT loaded
 * during limit_gp_trap is a copy of trap.c's (vectors 0-47 -> entry.S's
 * stubs) that stays loaded, identical, afterwards.
 */
#include "bench.h"
#include "cpu.h"
#include "kernel.h"
#include "native.h"

#define PTE_P   0x001UL
#define PTE_W   0x002UL
#define PTE_ADDR_MASK 0x000ffffffffff000UL
#define L4_SLOT_DIRECTMAP 273
/* Direct-map L3 slot of the window: 511 GiB above DIRECTMAP_BASE, far
 * beyond any RAM this kernel maps. */
#define WINDOW_L3_SLOT 511

void bench_native_sysret_stub(void);
void bench_native_gp_stub(void);

static volatile uint64_t *window_l1;   /* the window's L1, direct-mapped */
static uint64_t window_va;
static uint64_t window_pfn[2];         /* frames the PTEs alternate between */
static uint64_t saved_lstar;
static bool lstar_replaced, idt_replaced;

struct bench_idt_entry {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};
_Static_assert(sizeof(struct bench_idt_entry) == 16, "IDT entry layout");
static struct bench_idt_entry bench_idt[256] __attribute__((aligned(16)));

/* `mov %cr0, %rax`: privileged, no effect. */
static inline void bench_read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
}

void arch_bench_irq_disable_enable(uint64_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        __asm__ volatile("cli; sti" : : : "memory");
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

void arch_bench_null_privop(uint64_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        bench_read_cr0();
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

void arch_bench_pt_switch(uint64_t *s, size_t n)
{
    uint64_t cr3 = read_cr3();

    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = bench_tsc();
        write_cr3(cr3);
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

/* The direct-map view of the table an entry points to. */
static uint64_t *bench_table(uint64_t entry)
{
    return arch_pfn_to_virt((entry & PTE_ADDR_MASK) >> 12);
}

int arch_bench_window_init(void)
{
    uint64_t *l4 = arch_pfn_to_virt(read_cr3() >> 12);
    uint64_t l4e = l4[L4_SLOT_DIRECTMAP];

    if (window_l1)
        return 0;
    if (!(l4e & PTE_P))
        return -GUEST_EINVAL;
    uint64_t *l3 = bench_table(l4e);
    if (l3[WINDOW_L3_SLOT] & PTE_P)
        return -GUEST_EINVAL;
    uint64_t l2_pfn = core_alloc_frame(), l1_pfn = core_alloc_frame();
    window_pfn[0] = core_alloc_frame();
    window_pfn[1] = core_alloc_frame();
    if (!l2_pfn || !l1_pfn || !window_pfn[0] || !window_pfn[1])
        return -GUEST_EINVAL;
    uint64_t *l2 = arch_pfn_to_virt(l2_pfn);
    l2[0] = (l1_pfn << 12) | PTE_P | PTE_W;
    l3[WINDOW_L3_SLOT] = (l2_pfn << 12) | PTE_P | PTE_W;  /* not present before: no flush */
    window_l1 = arch_pfn_to_virt(l1_pfn);
    window_va = DIRECTMAP_BASE + ((uint64_t)WINDOW_L3_SLOT << 30);
    return 0;
}

uint64_t arch_bench_window_va(void)
{
    return window_va;
}

void arch_bench_pte_update(uint64_t *s, size_t n, unsigned int count)
{
    volatile uint64_t *l1 = window_l1;

    if (count > 512)
        count = 512;
    for (size_t i = 0; i < n; i++) {
        uint64_t pte = (window_pfn[i & 1] << 12) | PTE_P | PTE_W;
        uint64_t t0 = bench_tsc();
        for (unsigned int k = 0; k < count; k++)
            l1[k] = pte;
        uint64_t t1 = bench_tsc();
        s[i] = t1 - t0;
    }
}

void arch_bench_window_clear(void)
{
    for (unsigned int k = 0; k < 512; k++)
        window_l1[k] = 0;
    write_cr3(read_cr3());
}

int arch_bench_fault_map(uint64_t va)
{
    if (va < window_va || va >= window_va + (512UL << 12))
        return -GUEST_EINVAL;
    window_l1[(va - window_va) >> 12] = (window_pfn[0] << 12) | PTE_P | PTE_W;
    return 0;
}

void arch_bench_fault_unmap(uint64_t va)
{
    if (va < window_va || va >= window_va + (512UL << 12))
        return;
    window_l1[(va - window_va) >> 12] = 0;
    invlpg((void *)va);
}

/* Fills bench_idt like trap.c's IDT, vector 13 -> handler13. */
static void bench_idt_fill(uint64_t handler13)
{
    for (int v = 0; v < NR_TRAP_STUBS; v++) {
        uint64_t a = v == 13 ? handler13 : (uint64_t)(native_trap_stubs + 16 * v);
        bench_idt[v].offset_lo = a & 0xffff;
        bench_idt[v].selector = SEL_KERNEL_CS;
        bench_idt[v].ist = 0;
        bench_idt[v].type_attr = 0x8e;      /* present, DPL 0, interrupt gate */
        bench_idt[v].offset_mid = a >> 16 & 0xffff;
        bench_idt[v].offset_hi = a >> 32;
        bench_idt[v].reserved = 0;
    }
}

int arch_bench_limit_begin(unsigned int kind)
{
    bool flags = arch_irq_save();
    int rc = 0;

    if (kind == BENCH_USER_LIMIT_SYSCALL) {
        if (!lstar_replaced) {
            saved_lstar = rdmsr(MSR_LSTAR);
            wrmsr(MSR_LSTAR, (uint64_t)bench_native_sysret_stub);
            lstar_replaced = true;
        }
    } else if (kind == BENCH_USER_LIMIT_GP) {
        if (!idt_replaced) {
            bench_idt_fill((uint64_t)bench_native_gp_stub);
            struct desc_ptr ip = { sizeof(bench_idt) - 1, (uint64_t)bench_idt };
            lidt(&ip);
            idt_replaced = true;
        }
    } else {
        rc = -GUEST_EINVAL;
    }
    arch_irq_restore(flags);
    return rc;
}

void arch_bench_limit_end(unsigned int kind)
{
    bool flags = arch_irq_save();

    if (kind == BENCH_USER_LIMIT_SYSCALL && lstar_replaced) {
        wrmsr(MSR_LSTAR, saved_lstar);
        lstar_replaced = false;
    } else if (kind == BENCH_USER_LIMIT_GP && idt_replaced) {
        /* Entry 13 back to entry.S's stub, in place: bench_idt is now
         * identical to trap.c's table and stays loaded. */
        uint64_t a = (uint64_t)(native_trap_stubs + 16 * 13);
        bench_idt[13].offset_lo = a & 0xffff;
        bench_idt[13].offset_mid = a >> 16 & 0xffff;
        bench_idt[13].offset_hi = a >> 32;
        idt_replaced = false;
    }
    arch_irq_restore(flags);
}
