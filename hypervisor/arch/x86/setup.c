/*
 * setup.c - start_hv(): from the multiboot hand-off to the first guest.
 * Runs once in ring 0 on the boot stack with interrupts off.
 *
 * Hypervisor command line: dom0_mem=<MiB>M (default 128), domu_mem=<MiB>M
 * (default 64).  Module 0 is dom0's kernel, modules 1.. are domUs; each
 * module's string is "path args": the args become the guest's command line.
 */
#include "common/hv.h"
#include "arch/x86/cpu.h"

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};
struct mb_module { uint32_t start, end, string, rsvd; };
struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

extern char _end[];
unsigned long total_pages;
#define PHYS_OF(p) ((uint64_t)(p) - XEN_VIRT_START)
#define MB_VIRT(pa) ((void *)(DIRECTMAP_VIRT_START + (uint64_t)(pa)))

static unsigned long parse_mem_opt(const char *cmdline, const char *key,
                                   unsigned long dflt_mib)
{
    size_t kl = strlen(key);
    for (const char *p = cmdline; p && *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, kl)) {
            unsigned long v = 0;
            for (p += kl; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (*p - '0');
            return v ? v : dflt_mib;
        }
    }
    return dflt_mib;
}

/* boot.S maps physical 0-4 GiB at DIRECTMAP_VIRT_START with 2 MiB pages;
 * RAM above that, up to top (bytes, <= DIRECTMAP_SIZE), is mapped here
 * into the rest of the same tables. */
extern uint64_t l2_direct[DIRECTMAP_L2_PAGES * 512], l3_direct[512];
static void directmap_map_high(uint64_t top)
{
    const uint64_t flags = _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE | _PAGE_GLOBAL | _PAGE_NX;

    for (uint64_t i = 4 * 512; i < (top + (1UL << 21) - 1) >> 21; i++) {
        l2_direct[i] = (i << 21) | flags;
        if (i % 512 == 0)
            l3_direct[i / 512] = PHYS_OF(&l2_direct[i]) | _PAGE_PRESENT | _PAGE_RW;
    }
    flush_tlb_local();
}

static void cpu_features_init(void)
{
    uint32_t a, b, c, d;
    unsigned long cr4 = read_cr4() | (1UL << 9) | (1UL << 10);  /* OSFXSR, OSXMMEXCPT */
    cpuid(7, 0, &a, &b, &c, &d);
    if (b & (1u << 7))
        cr4 |= 1UL << 20;           /* SMEP: ring 0 never runs guest code */
    if (c & (1u << 2))
        cr4 |= 1UL << 11;           /* UMIP: sgdt/sidt/sldt/smsw/str trap in ring 3 */
    write_cr4(cr4);
    write_cr0((read_cr0() & ~4UL) | 2UL);   /* MP on, EM off */
}

void start_hv(uint32_t mbi_phys)
{
    const struct mb_info *mbi = MB_VIRT(mbi_phys);
    struct mem_range ranges[32];
    unsigned int nr = 0;
    uint64_t reserved_end = PHYS_OF(_end);
    static char hv_cmdline[256];

    serial_init();
    printk("Lamina hypervisor (Xen 4.17 x86-64 PV ABI)\n");
    if (mbi->flags & 4)
        strncpy(hv_cmdline, MB_VIRT(mbi->cmdline), sizeof(hv_cmdline) - 1);
    printk("command line: %s\n", hv_cmdline);
    if (!(mbi->flags & (1 << 6)))
        panic("no multiboot memory map");

    for (uint32_t off = 0; off < mbi->mmap_length && nr < ARRAY_SIZE(ranges);) {
        const struct mb_mmap *e = MB_VIRT(mbi->mmap_addr + off);
        if (e->type == 1 && e->addr + e->len > 0x100000) {
            uint64_t s = e->addr < 0x100000 ? 0x100000 : e->addr;
            uint64_t end = e->addr + e->len;
            /* The GiB below 4 GiB is MMIO (mapped uncached by boot.S). */
            if (s < (4UL << 30) && end > (3UL << 30))
                end = s < (3UL << 30) ? (3UL << 30) : s;
            if (end > DIRECTMAP_SIZE)
                end = DIRECTMAP_SIZE;
            if (end > s)
                ranges[nr++] = (struct mem_range){ s, end };
            else if (e->addr + e->len > s)
                printk("memory: ignoring RAM at %lx-%lx (MMIO hole or beyond "
                       "the %lu GiB direct map)\n", (unsigned long)s,
                       (unsigned long)(e->addr + e->len), DIRECTMAP_SIZE >> 30);
        }
        off += e->size + 4;
    }
    const struct mb_module *mods = MB_VIRT(mbi->mods_addr);
    unsigned int nmods = (mbi->flags & 8) ? mbi->mods_count : 0;
    for (unsigned int i = 0; i < nmods; i++)
        if (mods[i].end > reserved_end)
            reserved_end = mods[i].end;
    reserved_end = (reserved_end + PAGE_SIZE - 1) & PAGE_MASK;

    uint64_t top = 0;
    for (unsigned int i = 0; i < nr; i++) {
        total_pages += (ranges[i].end >> PAGE_SHIFT) - (ranges[i].start >> PAGE_SHIFT);
        if (ranges[i].end > top)
            top = ranges[i].end;
    }
    directmap_map_high(top);
    mm_init(ranges, nr, 0, reserved_end);
    vmap_init();
    printk("memory: %lu free frames (%lu MiB)\n", mm_free_frames(), mm_free_frames() >> 8);
    traps_init();
    cpu_features_init();
    time_init();

    if (!nmods)
        panic("no dom0 kernel: pass it as the first multiboot module");
    unsigned long dom0_mib = parse_mem_opt(hv_cmdline, "dom0_mem=", 128);
    unsigned long domu_mib = parse_mem_opt(hv_cmdline, "domu_mem=", 64);
    for (unsigned int i = 0; i < nmods; i++) {
        const char *s = MB_VIRT(mods[i].string);
        const char *args = s;
        while (*args && *args != ' ')
            args++;
        while (*args == ' ')
            args++;
        struct domain *d = build_domain(i, MB_VIRT(mods[i].start),
                                        mods[i].end - mods[i].start, s, args,
                                        (i ? domu_mib : dom0_mib) << 8, i == 0);
        if (!d && i == 0)
            panic("could not build dom0");
    }
    printk("%lu MiB free after building %u domain(s); starting dom0\n",
           mm_free_frames() >> 8, domain_count());
    continue_running();
}
