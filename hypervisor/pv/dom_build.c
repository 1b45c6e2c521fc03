/*
 * dom_build.c - the hypervisor's builder for the domains it starts at boot
 * (dom0 and, until the toolstack builds them, the PV domUs given as further
 * multiboot modules).  The ELF parsing and start-of-day layout are the
 * toolstack's shared code (toolstack/builder/); this file only supplies the
 * frames and the machine-specific callbacks.  Runs in ring 0 at boot.
 */
#include "common/hv.h"
#include "xen_elf.h"
#include "pv_build.h"
#include "mb_build.h"
#include "unmod/unmod.h"
#include "pv/pv.h"

/* The domain's P2M while it is built (ctx of the builder's callbacks):
 * heap memory sized to the domain, freed once the domain runs. */
static void *map_pfn(void *ctx, uint64_t pfn)
{
    const uint64_t *p2m = ctx;

    return mfn_to_virt(p2m[pfn]);
}

static void hcall_page(void *ctx, void *page)
{
    (void)ctx;
    write_hypercall_page(page);
}

static void init_l4(void *ctx, void *l4)
{
    (void)ctx;
    for (unsigned int i = HV_FIRST_L4_SLOT; i <= HV_LAST_L4_SLOT; i++)
        ((uint64_t *)l4)[i] = idle_pg_table[i];
}

struct domain *build_pv_domain(domid_t id, const void *elf, size_t size,
                               const char *cmdline, unsigned long nr_pages,
                               bool privileged)
{
    struct xen_elf_info info;
    struct pv_build_result r;
    const char *why = "";
    uint64_t *p2m;
    int rc;

    if ((rc = xen_elf_parse(elf, size, &info, &why))) {
        printk("d%u: not a usable PV kernel (%d): %s\n", id, rc, why);
        return NULL;
    }
    if (privileged && !info.dom0_capable) {
        printk("d%u: kernel does not support dom0 operation (no XENFEAT_dom0)\n", id);
        return NULL;
    }
    p2m = vzalloc(nr_pages * sizeof(*p2m));
    if (!p2m) {
        printk("d%u: no memory for a %lu-frame P2M\n", id, nr_pages);
        return NULL;
    }
    struct domain *d = domain_create(id, privileged, nr_pages);
    if (!d) {
        printk("d%u: cannot create domain\n", id);
        vfree(p2m);
        return NULL;
    }
    for (unsigned long pfn = 0; pfn < nr_pages; pfn++) {
        unsigned long mfn;
        if (alloc_domain_frame(d, &mfn)) {
            printk("d%u: out of memory after %lu of %lu frames\n", id, pfn, nr_pages);
            goto fail;
        }
        p2m[pfn] = mfn;
        m2p_table[mfn] = pfn;
    }

    struct pv_build_params p = {
        .nr_pages = nr_pages,
        .p2m = p2m,
        .cmdline = cmdline,
        .flags = privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0,
        .shared_info_maddr = (uint64_t)d->shared_info_mfn << PAGE_SHIFT,
    };
    struct pv_build_ops ops = {
        .ctx = p2m,
        .map_pfn = map_pfn,
        .write_hypercall_page = hcall_page,
        .init_l4 = init_l4,
    };
    if ((rc = pv_build(elf, size, &info, &p, &ops, &r, &why))) {
        printk("d%u: build failed (%d): %s\n", id, rc, why);
        goto fail;
    }

    struct vcpu *v = d->vcpu[0];
    if ((rc = mm_pin_l4(d, r.l4_mfn)) || (rc = mm_set_baseptr(v, r.l4_mfn, false))) {
        printk("d%u: initial page tables rejected (%d)\n", id, rc);
        goto fail;
    }
    strncpy(d->cmdline, cmdline ? cmdline : "", sizeof(d->cmdline) - 1);
    d->start_info_mfn = p2m[r.start_info_pfn];
    vfree(p2m);
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rip = r.entry;
    v->regs.rsp = r.stack_top;
    v->regs.rsi = r.start_info_va;
    v->regs.cs = FLAT_KERNEL_CS;
    v->regs.ss = FLAT_KERNEL_SS;
    v->regs.rflags = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    v->kernel_mode = true;
    pv_update_hypercall_fast(v);
    v->state = VCPU_RUNNABLE;
    printk("d%u: %s kernel \"%s\", %lu MiB, entry %lx, cmdline \"%s\"\n", id,
           privileged ? "dom0" : "domU", info.guest_os, nr_pages >> 8,
           (unsigned long)r.entry, d->cmdline);
    return d;

fail:
    domain_destroy(d);
    vfree(p2m);
    return NULL;
}

struct domain *build_domain(domid_t id, const void *image, size_t size, const char *modstr,
                            const char *cmdline, unsigned long nr_pages, bool privileged)
{
    struct xen_elf_info info;
    const char *why = "";

    /* A Xen PV kernel carries Xen ELF notes; a kernel for bare metal carries
     * a multiboot header instead and runs unmodified. */
    if (xen_elf_parse(image, size, &info, &why) && mb_is_multiboot(image, size)) {
        if (privileged) {
            printk("d%u: dom0 must be a Xen PV kernel; this is a bare-metal "
                   "(multiboot) kernel: pass it as a domU\n", id);
            return NULL;
        }
        return build_unmod_domain(id, image, size, modstr, nr_pages);
    }
    return build_pv_domain(id, image, size, cmdline, nr_pages, privileged);
}
