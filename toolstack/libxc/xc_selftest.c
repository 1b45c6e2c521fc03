/*
 * xc_selftest.c - dom0 self-test of libxenctrl and the domain builder,
 * selected by `test=build` on dom0's command line.
 *
 * Runs in dom0 (the Lamina PV guest kernel, ring 3 under x86-64 PV), in
 * init's thread with interrupts enabled.  dom0 has no files, so the test
 * makes its two guest kernels in memory: a Xen PV ELF whose only code is
 * SCHEDOP_shutdown(SHUTDOWN_reboot) through its hypercall page, and a
 * multiboot ELF32 that writes "LXC\n" to COM1 and powers off through the
 * ACPI PM1a port.  Each is built with dom_build, run, reaped, destroyed;
 * physinfo.free_pages must come back to its value before each domain.
 * Prints "libxc-selftest: PASS" or "libxc-selftest: FAIL <reason>" lines.
 */
#include "xc_dom_build.h"
#include "xc_selftest.h"
#include "kernel.h"
#include "guest_service.h"
#include "mb_build.h"

static int failures;

#define CHECK(cond, ...) do {                                               \
        if (!(cond)) {                                                      \
            kprintf("libxc-selftest: FAIL line %d: ", __LINE__);            \
            kprintf(__VA_ARGS__);                                           \
            kprintf(" (errno %d)\n", errno);                                \
            failures++;                                                     \
            goto out;                                                       \
        }                                                                   \
    } while (0)

/* ---- the two test kernels ------------------------------------------------------- */

#define PV_TEST_BASE 0xffffffff80000000ULL

static void put_note(uint8_t *p, size_t *off, uint32_t type, const void *desc, uint32_t len)
{
    struct elf64_note *n = (struct elf64_note *)(p + *off);

    n->n_namesz = 4;
    n->n_descsz = len;
    n->n_type = type;
    memcpy(p + *off + sizeof(*n), "Xen", 4);
    memcpy(p + *off + sizeof(*n) + 4, desc, len);
    *off += sizeof(*n) + 4 + ((len + 3) & ~3u);
}

/* A Xen PV kernel: one PT_LOAD of 2 pages at PV_TEST_BASE (code, then the
 * hypercall page), notes in a PT_NOTE.  Returns its size; buf >= 0x1100. */
static size_t make_pv_image(uint8_t *buf)
{
    static const uint8_t code[] = {
        0x6a, SHUTDOWN_reboot,              /* push $reason */
        0x48, 0x89, 0xe6,                   /* mov %rsp, %rsi */
        0xbf, SCHEDOP_shutdown, 0, 0, 0,    /* mov $SCHEDOP_shutdown, %edi */
        0xe8, 0, 0, 0, 0,                   /* call hypercall_page + 29*32 */
        0xeb, 0xfe,                         /* jmp . */
    };
    struct elf64_ehdr *eh = (struct elf64_ehdr *)buf;
    struct elf64_phdr *ph = (struct elf64_phdr *)(buf + sizeof(*eh));
    uint64_t base = PV_TEST_BASE, entry = base, hpage = base + 0x1000;
    size_t off = 0x100, notes;
    int32_t rel = (int32_t)(0x1000 + __HYPERVISOR_sched_op * 32 - 15);

    memset(buf, 0, 0x1100);
    memcpy(eh->e_ident, "\177ELF", 4);
    eh->e_ident[ELF_EI_CLASS] = ELF_CLASS64;
    eh->e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
    eh->e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
    eh->e_type = ELF_ET_EXEC;
    eh->e_machine = ELF_EM_X86_64;
    eh->e_version = ELF_EV_CURRENT;
    eh->e_entry = entry;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    eh->e_phnum = 2;

    put_note(buf, &off, XEN_ELFNOTE_GUEST_OS, "libxc-selftest", 15);
    put_note(buf, &off, XEN_ELFNOTE_XEN_VERSION, "xen-3.0", 8);
    put_note(buf, &off, XEN_ELFNOTE_LOADER, "generic", 8);
    put_note(buf, &off, XEN_ELFNOTE_VIRT_BASE, &base, 8);
    put_note(buf, &off, XEN_ELFNOTE_PADDR_OFFSET, &base, 8);
    put_note(buf, &off, XEN_ELFNOTE_ENTRY, &entry, 8);
    put_note(buf, &off, XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, 8);
    notes = off - 0x100;

    ph[0].p_type = ELF_PT_LOAD;
    ph[0].p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X;
    ph[0].p_offset = 0x1000;
    ph[0].p_vaddr = ph[0].p_paddr = base;
    ph[0].p_filesz = sizeof(code);
    ph[0].p_memsz = 0x2000;
    ph[0].p_align = 0x1000;
    ph[1].p_type = ELF_PT_NOTE;
    ph[1].p_flags = ELF_PF_R;
    ph[1].p_offset = 0x100;
    ph[1].p_filesz = ph[1].p_memsz = notes;
    ph[1].p_align = 4;

    memcpy(buf + 0x1000, code, sizeof(code));
    memcpy(buf + 0x1000 + 11, &rel, 4);
    return 0x1000 + sizeof(code);
}

#define MB_TEST_LOAD 0x100000u

/* A multiboot ELF32 kernel: writes "LXC\n" to COM1, then ACPI S5. */
static size_t make_mb_image(uint8_t *buf)
{
    static const uint8_t code[] = {
        0x66, 0xba, 0xf8, 0x03,             /* mov $0x3f8, %dx */
        0xb0, 'L', 0xee,                    /* mov $c, %al; out %al, (%dx) */
        0xb0, 'X', 0xee,
        0xb0, 'C', 0xee,
        0xb0, '\n', 0xee,
        0x66, 0xba, 0x04, 0x06,             /* mov $0x604, %dx */
        0x66, 0xb8, 0x00, 0x20,             /* mov $0x2000, %ax */
        0x66, 0xef,                         /* out %ax, (%dx) */
        0xf4, 0xeb, 0xfd,                   /* 1: hlt; jmp 1b */
    };
    struct elf32_ehdr *eh = (struct elf32_ehdr *)buf;
    struct elf32_phdr *ph = (struct elf32_phdr *)(buf + sizeof(*eh));
    struct mb_header *mh = (struct mb_header *)(buf + 0x80);

    memset(buf, 0, 0x1100);
    memcpy(eh->e_ident, "\177ELF", 4);
    eh->e_ident[ELF_EI_CLASS] = ELF_CLASS32;
    eh->e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
    eh->e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
    eh->e_type = ELF_ET_EXEC;
    eh->e_machine = ELF_EM_386;
    eh->e_version = ELF_EV_CURRENT;
    eh->e_entry = MB_TEST_LOAD;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    eh->e_phnum = 1;
    ph->p_type = ELF_PT_LOAD;
    ph->p_offset = 0x1000;
    ph->p_vaddr = ph->p_paddr = MB_TEST_LOAD;
    ph->p_filesz = ph->p_memsz = sizeof(code);
    ph->p_flags = ELF_PF_R | ELF_PF_X;
    ph->p_align = 0x1000;
    mh->magic = MB_HEADER_MAGIC;
    mh->flags = 0;
    mh->checksum = 0u - MB_HEADER_MAGIC;
    memcpy(buf + 0x1000, code, sizeof(code));
    return 0x1000 + sizeof(code);
}

/* ---- the test ------------------------------------------------------------------- */

static uint64_t free_pages(xc_interface *xch)
{
    xc_physinfo_t pi;

    return xc_physinfo(xch, &pi) ? (uint64_t)-1 : pi.free_pages;
}

/* Waits up to 5 s for domid to shut down; fills *di.  true if it did. */
static bool wait_shutdown(xc_interface *xch, uint32_t domid, xc_dominfo_t *di)
{
    for (int i = 0; i < 500; i++) {
        if (xc_domain_getinfo(xch, domid, 1, di) != 1 || di->domid != domid)
            return false;
        if (di->shutdown || di->crashed)
            return true;
        thread_sleep_ns(10000000);
    }
    return false;
}

/* Creates, builds, runs and destroys one domain.  Returns 0 if all checks
 * passed. */
static int run_domain(xc_interface *xch, bool unmodified, const uint8_t *img, size_t len)
{
    const char *kind = unmodified ? "unmodified" : "pv";
    struct xen_domctl_createdomain cfg = { .max_vcpus = 1,
                                           .flags = unmodified ? XEN_DOMCTL_CDF_hvm : 0 };
    struct dom_build_args a = { .image = img, .image_len = len, .cmdline = "selftest",
                                .nr_pages = 2048, .unmodified = unmodified };
    struct dom_build_info bi;
    xc_dominfo_t di;
    uint32_t domid = 0;
    bool created = false;
    uint64_t free0 = free_pages(xch), free1;
    int start = failures, rc;

    CHECK(free0 != (uint64_t)-1, "%s: physinfo", kind);
    CHECK(xc_domain_create(xch, &domid, &cfg) == 0, "%s: createdomain", kind);
    created = true;
    CHECK(domid != 0 && domid < DOMID_FIRST_RESERVED, "%s: new id %u", kind, domid);
    CHECK(xc_domain_getinfo(xch, domid, 1, &di) == 1 && di.domid == domid,
          "%s: getinfo of d%u", kind, domid);
    CHECK(di.paused && di.nr_pages == 0 && !di.hvm == !unmodified,
          "%s: fresh domain paused=%u nr_pages=%lu hvm=%u", kind, di.paused,
          di.nr_pages, di.hvm);
    CHECK(xc_domain_setmaxmem(xch, domid, 2049 * 4) == 0, "%s: max_mem", kind);

    rc = dom_build(xch, domid, &a, &bi);
    CHECK(rc == 0, "%s: dom_build %d: %s", kind, rc, dom_build_error());
    CHECK(xc_domain_getinfo(xch, domid, 1, &di) == 1 && di.paused &&
          di.nr_pages == 2048UL + unmodified, "%s: built domain paused=%u nr_pages=%lu",
          kind, di.paused, di.nr_pages);
    CHECK(bi.console_mfn != 0 && (unmodified || bi.store_mfn != 0), "%s: ring frames", kind);
    kprintf("libxc-selftest: %s d%u built: store mfn %lx port %u, console mfn %lx port %u\n",
            kind, domid, (unsigned long)bi.store_mfn, bi.store_evtchn,
            (unsigned long)bi.console_mfn, bi.console_evtchn);

    CHECK(xc_domain_unpause(xch, domid) == 0, "%s: unpause", kind);
    CHECK(wait_shutdown(xch, domid, &di), "%s: d%u did not shut down", kind, domid);
    CHECK(!di.crashed && di.shutdown_reason ==
          (unmodified ? SHUTDOWN_poweroff : SHUTDOWN_reboot),
          "%s: shutdown crashed=%u reason %u", kind, di.crashed, di.shutdown_reason);
    if (unmodified) {
        struct xencons_interface *c =
            xc_map_foreign_range(xch, domid, XC_PAGE_SIZE, XC_PROT_READ, bi.console_mfn);
        CHECK(c, "%s: mapping the console ring", kind);
        bool ok = c->out_prod == 4 && !memcmp((const char *)c->out, "LXC\n", 4);
        kprintf("libxc-selftest: console ring out_prod %u\n", c->out_prod);
        CHECK(xc_unmap_foreign(xch, c, XC_PAGE_SIZE) == 0, "%s: unmap", kind);
        CHECK(ok, "%s: console ring does not hold \"LXC\\n\"", kind);
    }
    CHECK(xc_domain_destroy(xch, domid) == 0, "%s: destroy", kind);
    created = false;
    CHECK(xc_domain_getinfo(xch, domid, 1, &di) == 0 || di.domid != domid,
          "%s: d%u still listed after destroy", kind, domid);
    free1 = free_pages(xch);
    CHECK(free1 == free0, "%s: free pages %lu before, %lu after", kind,
          (unsigned long)free0, (unsigned long)free1);
    kprintf("libxc-selftest: %s domain: ok (free pages back to %lu)\n", kind,
            (unsigned long)free1);
out:
    if (created)
        (void)xc_domain_destroy(xch, domid);
    return failures != start;
}

/* Argument and permission checks that need no domain. */
static void run_errors(xc_interface *xch)
{
    struct xen_domctl_createdomain cfg = { .max_vcpus = 2 };
    xc_dominfo_t di[4];
    uint32_t domid = 0;
    int n;

    n = xc_domain_getinfo(xch, 0, 4, di);
    CHECK(n >= 1 && di[0].domid == 0 && !di[0].paused, "getinfo lists dom0 (%d)", n);
    CHECK(xc_domain_create(xch, &domid, &cfg) == -1 && errno == XEN_EINVAL,
          "createdomain with 2 vCPUs refused");
    CHECK(xc_domain_pause(xch, 0) == -1 && errno == XEN_EINVAL, "dom0 cannot be paused");
    CHECK(xc_domain_destroy(xch, 4000) == -1 && errno == XEN_ESRCH, "destroy of no domain");
    CHECK(xc_unmap_foreign(xch, (void *)0x1000, 4096) == -1 && errno == XEN_EINVAL,
          "unmap outside the window");
    kprintf("libxc-selftest: error paths ok\n");
out:
    return;
}

void libxc_selftest(const struct arch_boot_info *bi)
{
    xc_interface *xch;
    xc_physinfo_t pi;
    uint8_t *img = NULL;

    if (!cmdline_has(bi->cmdline, "test=build"))
        return;
    failures = 0;
    xch = xc_interface_open(NULL, NULL, 0);
    CHECK(xch, "xc_interface_open");
    CHECK(xc_physinfo(xch, &pi) == 0, "physinfo");
    kprintf("libxc-selftest: %lu pages, %lu free, %u kHz, %u cpus\n",
            (unsigned long)pi.total_pages, (unsigned long)pi.free_pages, pi.cpu_khz,
            pi.nr_cpus);
    run_errors(xch);
    img = kmalloc(0x2000);
    CHECK(img, "image buffer");
    (void)run_domain(xch, false, img, make_pv_image(img));
    (void)run_domain(xch, true, img, make_mb_image(img));
out:
    kfree(img);
    if (xch)
        xc_interface_close(xch);
    if (failures)
        kprintf("libxc-selftest: FAIL (%d)\n", failures);
    else
        kprintf("libxc-selftest: PASS\n");
}

GUEST_SERVICE("test=build", libxc_selftest, GUEST_STAGE_TEST, GUEST_SVC_CONTROL);
