/*
 * selftest.c - isolation self-tests selected on the command line, for the
 * scenarios that run this kernel as an unmodified (or PV) domain:
 *
 *   test=ud       init executes ud2: the CPU (or the hypervisor, through
 *                 this kernel's own IDT) raises #UD, core_fatal_trap()
 *                 reports vector 6 and powers off with a crash code.
 *   test=bad-pte  init builds an address space whose user pages point at
 *                 frame 0x100 (physical 1 MiB: on the machine that is where
 *                 a hypervisor is loaded; for a guest it is its own kernel
 *                 image) and at a frame far beyond this kernel's RAM, and
 *                 reads both.  The first must show this kernel's own image;
 *                 the second gets no access: a hypervisor kills the domain
 *                 (bare metal reads whatever the bus returns).
 *
 * Runs in the guest kernel, in init's thread, interrupts enabled.
 */
#include "guest_service.h"
#include "kernel.h"

#define SELFTEST_VA     0x0000000040000000UL    /* user half, unused otherwise */
#define IMAGE_PFN       0x100                   /* physical 1 MiB */
#define FAR_PFN_OFFSET  0x40000                 /* 1 GiB beyond the last frame */

static void test_bad_pte(const struct arch_boot_info *bi)
{
    struct arch_aspace *as = arch_aspace_create();
    if (!as)
        panic("selftest: no memory for an address space");
    uint64_t far_pfn = bi->nr_pfns + FAR_PFN_OFFSET;
    if (arch_aspace_map(as, SELFTEST_VA, IMAGE_PFN, false) ||
        arch_aspace_map(as, SELFTEST_VA + GPAGE_SIZE, far_pfn, false)) {
        kprintf("selftest: mapping refused by the page-table code\n");
        arch_aspace_destroy(as);
        return;
    }
    struct thread *self = thread_current();
    thread_set_aspace(self, as);
    const uint64_t *own = arch_pfn_to_virt(IMAGE_PFN);
    const volatile uint64_t *seen = (const volatile uint64_t *)SELFTEST_VA;
    bool same = true;
    for (int i = 0; i < 512; i++)
        same &= seen[i] == own[i];
    kprintf("selftest: frame %x through a user mapping is %s\n", IMAGE_PFN,
            same ? "this kernel's own memory" : "NOT this kernel's memory");
    kprintf("selftest: reading frame %lx, beyond this kernel's %lu frames\n",
            (unsigned long)far_pfn, (unsigned long)bi->nr_pfns);
    uint64_t v = *(const volatile uint64_t *)(SELFTEST_VA + GPAGE_SIZE);
    kprintf("selftest: read %lx from a frame that does not exist\n", (unsigned long)v);
    thread_set_aspace(self, NULL);
    arch_aspace_destroy(as);
}

/* test=ud: an invalid opcode in the kernel must end the domain. */
static void test_ud(const struct arch_boot_info *bi)
{
    (void)bi;
    kprintf("selftest: executing ud2\n");
    __asm__ volatile("ud2");
    kprintf("selftest: survived ud2 (wrong)\n");
}

GUEST_SERVICE("test=ud", test_ud, GUEST_STAGE_TEST, 0);
GUEST_SERVICE("test=bad-pte", test_bad_pte, GUEST_STAGE_TEST, 0);
