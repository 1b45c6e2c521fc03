/*
 * setup.c - native boot in C: reads the multiboot information, builds the
 * kernel page tables, descriptor tables and timer, then enters the core.
 * Runs in the guest kernel, ring 0, on the boot stack, interrupts off;
 * called once from boot.S.
 */
#include "cpu.h"
#include "kernel.h"
#include "native.h"

#define MB_BOOT_MAGIC   0x2BADB002
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)
#define MBI_MEM         (1u << 0)
#define MBI_MMAP        (1u << 6)

struct __attribute__((packed)) mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};

struct __attribute__((packed)) mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
};

struct __attribute__((packed)) mb_module {
    uint32_t start, end, string, reserved;
};

extern char _end[];

static char cmdline[512];
static struct arch_boot_info boot_info;

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Copies the command line without its first word (the image name that
 * multiboot loaders put there). */
static void copy_cmdline(const char *s)
{
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    strlcpy_k(cmdline, s, sizeof(cmdline));
}

void native_start(uint32_t magic, uint32_t mbi_pa) __attribute__((noreturn));
void native_start(uint32_t magic, uint32_t mbi_pa)
{
    native_serial_init();
    if (magic != MB_BOOT_MAGIC) {
        native_puts("native: not started by a multiboot loader\n");
        arch_poweroff(1);
    }
    const struct mb_info *mbi = native_low_phys(mbi_pa);
    uint64_t used_end = max_u64(native_image_phys(_end), mbi_pa + sizeof(*mbi));
    uint64_t ram_end = 0;

    if (mbi->flags & MBI_CMDLINE) {
        const char *s = native_low_phys(mbi->cmdline);
        copy_cmdline(s);
        used_end = max_u64(used_end, mbi->cmdline + strlen(s) + 1);
    }
    if (mbi->flags & MBI_MODS) {
        const struct mb_module *m = native_low_phys(mbi->mods_addr);
        used_end = max_u64(used_end, mbi->mods_addr + mbi->mods_count * sizeof(*m));
        for (uint32_t i = 0; i < mbi->mods_count; i++)
            used_end = max_u64(used_end, m[i].end);
    }
    if (mbi->flags & MBI_MMAP) {
        used_end = max_u64(used_end, (uint64_t)mbi->mmap_addr + mbi->mmap_length);
        for (uint32_t off = 0; off < mbi->mmap_length;) {
            const struct mb_mmap *e = native_low_phys(mbi->mmap_addr + off);
            /* The usable region holding the kernel bounds our RAM. */
            if (e->type == 1 && e->addr <= 0x100000 && e->addr + e->len > 0x100000)
                ram_end = e->addr + e->len;
            off += e->size + 4;
        }
    }
    if (!ram_end && (mbi->flags & MBI_MEM))
        ram_end = 0x100000 + (uint64_t)mbi->mem_upper * 1024;
    ram_end &= ~(GPAGE_SIZE - 1);
    if (ram_end < 16UL << 20) {
        native_puts("native: less than 16 MiB of RAM\n");
        arch_poweroff(1);
    }

    uint64_t bump = ALIGN_UP(used_end, GPAGE_SIZE);
    native_mm_init(&bump, ram_end);
    native_trap_init();
    native_time_init();

    boot_info.first_free_pfn = bump >> 12;
    boot_info.nr_pfns = ram_end >> 12;
    boot_info.cmdline = cmdline;
    boot_info.arch_name = "native";
    kernel_main(&boot_info);
}

/* kernel.h: bare metal has no control domain. */
bool arch_privileged(void)
{
    return false;
}

/* kernel.h: bare metal has no xenbus or control/shutdown watch. */
void arch_services_start(void)
{
}
