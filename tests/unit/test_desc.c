/*
 * test_desc.c - host unit tests (cmocka) for hypervisor/desc.c: the x86-64
 * PV descriptor check, HYPERVISOR_set_gdt and HYPERVISOR_update_descriptor.
 *
 * Runs on the host: compiles the hypervisor's own desc.c over a small
 * simulated machine (16 frames of malloc'd memory, a frame table, and a
 * minimal model of get_page/get_page_type with Xen's type rules: a frame has
 * one type while its type count is non-zero, and becomes PGT_seg_desc_page
 * only if every descriptor in it passes check_descriptor()).
 */
#include "../../hypervisor/pv/desc.c"

#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

/* ---- simulated machine -------------------------------------------------- */

#define NR_FRAMES 16
static uint8_t (*machine)[PAGE_SIZE];
static struct page_info frames_store[NR_FRAMES];
struct page_info *frame_table = frames_store;
unsigned long max_mfn = NR_FRAMES;
struct vcpu *current;

void *mfn_to_virt(unsigned long mfn)
{
    assert_true(mfn < NR_FRAMES);
    return machine[mfn];
}

/* No domain here is in log-dirty mode (mm/mm.h). */
void paging_mark_dirty_slow(struct domain *d, unsigned long mfn)
{
    (void)d;
    (void)mfn;
    fail_msg("log-dirty marking without log-dirty mode");
}

bool get_page(unsigned long mfn, struct domain *d)
{
    struct page_info *pg;

    if (mfn >= max_mfn)
        return false;
    pg = &frame_table[mfn];
    if (pg->owner != d || !(pg->count_info & PGC_allocated))
        return false;
    pg->count_info++;
    return true;
}

void put_page(unsigned long mfn)
{
    assert_true((frame_table[mfn].count_info & PGC_count_mask) > 0);
    frame_table[mfn].count_info--;
}

int get_page_type(unsigned long mfn, unsigned long type)
{
    struct page_info *pg = &frame_table[mfn];
    unsigned long count = pg->type_info & PGT_count_mask;

    if (count == 0) {
        if (type == PGT_seg_desc_page) {
            const uint64_t *descs = mfn_to_virt(mfn);

            for (unsigned int i = 0; i < 512; i++)
                if (!check_descriptor(pg->owner, descs[i]))
                    return -XEN_EINVAL;
        }
        pg->type_info = type | 1;
        return 0;
    }
    if ((pg->type_info & PGT_type_mask) != type)
        return -XEN_EINVAL;
    pg->type_info++;
    return 0;
}

void put_page_type(unsigned long mfn)
{
    assert_true((frame_table[mfn].type_info & PGT_count_mask) > 0);
    frame_table[mfn].type_info--;
}

static uint64_t bad_guest_addr = 0x0bad0000;

int copy_from_guest(void *dst, uint64_t guest_src, size_t len)
{
    if (guest_src == bad_guest_addr)
        return -XEN_EFAULT;
    memcpy(dst, (const void *)(uintptr_t)guest_src, len);
    return 0;
}

static unsigned int gdt_loads, ldt_loads;

void ldt_load_guest(struct vcpu *v)
{
    assert_ptr_equal(v, current);
    ldt_loads++;
}

void gdt_load_guest(struct vcpu *v)
{
    assert_ptr_equal(v, current);
    gdt_loads++;
}

void panic(const char *fmt, ...)
{
    fail_msg("panic(%s)", fmt);
    abort();
}

/* ---- fixture -------------------------------------------------------------- */

static struct domain doms[2];
static struct vcpu vcpu0;

/* Frames 1-7 belong to doms[0] (the caller), 8-9 to doms[1]; 0 and 10+ are free. */
static int setup(void **state)
{
    machine = calloc(NR_FRAMES, PAGE_SIZE);
    assert_non_null(machine);
    memset(frames_store, 0, sizeof(frames_store));
    memset(doms, 0, sizeof(doms));
    memset(&vcpu0, 0, sizeof(vcpu0));
    doms[0].domain_id = 1;
    doms[1].domain_id = 2;
    vcpu0.domain = &doms[0];
    doms[0].vcpu[0] = &vcpu0;
    current = &vcpu0;
    for (unsigned long m = 1; m <= 9; m++) {
        frame_table[m].owner = m <= 7 ? &doms[0] : &doms[1];
        frame_table[m].count_info = PGC_allocated | 1;
    }
    gdt_loads = 0;
    ldt_loads = 0;
    return 0;
}

static int teardown(void **state)
{
    free(machine);
    machine = NULL;
    current = NULL;
    return 0;
}

static uint64_t *desc_at(unsigned long mfn, unsigned int i)
{
    return (uint64_t *)machine[mfn] + i;
}

static unsigned long gcount(unsigned long mfn) { return frame_table[mfn].count_info & PGC_count_mask; }
static unsigned long tcount(unsigned long mfn) { return frame_table[mfn].type_info & PGT_count_mask; }
static unsigned long ftype(unsigned long mfn)  { return frame_table[mfn].type_info & PGT_type_mask; }

/* ---- check_descriptor / fixup_descriptor table ---------------------------- */

struct desc_case {
    const char *what;
    uint64_t desc;
    bool ok;
    uint64_t stored;    /* fixup_descriptor() result when ok */
};

static const struct desc_case cases[] = {
    { "null",                           0x0000000000000000, true,  0x0000000000000000 },
    { "not present, garbage",           0xffff7fffffffffff, true,  0xffff7fffffffffff },
    { "not present TSS",                0x0000090000000067, true,  0x0000090000000067 },
    { "not present call gate DPL3",     0x00006c0000080000, true,  0x00006c0000080000 },
    { "64-bit code DPL3",               0x00affb000000ffff, true,  0x00affb000000ffff },
    { "64-bit code DPL0 (raised to 3)", 0x00af9b000000ffff, true,  0x00affb000000ffff },
    { "64-bit code DPL1 (raised to 3)", 0x00afbb000000ffff, true,  0x00affb000000ffff },
    { "64-bit code DPL2 (raised to 3)", 0x00afdb000000ffff, true,  0x00affb000000ffff },
    { "conforming code DPL0",           0x00af9f000000ffff, true,  0x00afff000000ffff },
    { "32-bit code DPL3",               0x00cffb000000ffff, true,  0x00cffb000000ffff },
    { "code L and D both set",          0x00effb000000ffff, true,  0x00effb000000ffff },
    { "data DPL3",                      0x00cff3000000ffff, true,  0x00cff3000000ffff },
    { "data DPL0 (raised to 3)",        0x00cf93000000ffff, true,  0x00cff3000000ffff },
    { "data with base in Xen's range",  0xff8ff38000000fff, true,  0xff8ff38000000fff },
    { "upper half of 16-byte desc",     0x0000800000000000, true,  0x0000800000000000 },
    { "upper half, any base bits",      0xffff8000ffffffff, true,  0xffff8000ffffffff },
    { "available 64-bit TSS DPL0",      0x0000890000000067, false, 0 },
    { "available 64-bit TSS DPL3",      0x0000e90000000067, false, 0 },
    { "busy 64-bit TSS",                0x00008b0000000067, false, 0 },
    { "LDT",                            0x0000820000000fff, false, 0 },
    { "LDT DPL3",                       0x0000e20000000fff, false, 0 },
    { "64-bit call gate DPL3 to Xen CS",0x0000ec00e0080000, false, 0 },
    { "64-bit call gate DPL3",          0x0000ec0000100000, false, 0 },
    { "64-bit call gate DPL0",          0x00008c0000100000, false, 0 },
    { "interrupt gate",                 0x0000ee0000100000, false, 0 },
    { "trap gate",                      0x0000ef0000100000, false, 0 },
    { "16-bit TSS",                     0x0000810000000067, false, 0 },
    { "16-bit busy TSS",                0x0000830000000067, false, 0 },
    { "16-bit call gate",               0x0000e40000100000, false, 0 },
    { "task gate",                      0x0000e50000100000, false, 0 },
    { "16-bit interrupt gate",          0x0000e60000100000, false, 0 },
    { "16-bit trap gate",               0x0000e70000100000, false, 0 },
    { "reserved type 8",                0x0000880000000000, false, 0 },
    { "reserved type 10",               0x00008a0000000000, false, 0 },
    { "reserved type 13",               0x00008d0000000000, false, 0 },
};

static void test_descriptor_table(void **state)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct desc_case *c = &cases[i];
        bool ok = check_descriptor(&doms[0], c->desc);

        if (ok != c->ok)
            fail_msg("%s (%#018lx): expected %s", c->what, (unsigned long)c->desc,
                     c->ok ? "accept" : "reject");
        if (ok) {
            uint64_t s = fixup_descriptor(&doms[0], c->desc);

            if (s != c->stored)
                fail_msg("%s: stored %#018lx, expected %#018lx", c->what,
                         (unsigned long)s, (unsigned long)c->stored);
            /* The stored form is accepted and stable. */
            assert_true(check_descriptor(&doms[0], s));
            assert_int_equal(fixup_descriptor(&doms[0], s), s);
            /* Never a DPL below 3 on a present code/data descriptor. */
            if ((s >> 32) & SEG_P && (s >> 32) & SEG_S)
                assert_int_equal(((s >> 32) & SEG_DPL_MASK) >> SEG_DPL_SHIFT, 3);
        }
    }
}

/* Every system type other than 0 is refused when present. */
static void test_all_system_types(void **state)
{
    for (uint64_t type = 0; type < 16; type++)
        for (uint64_t dpl = 0; dpl < 4; dpl++) {
            uint64_t d = ((SEG_P | (dpl << SEG_DPL_SHIFT) | (type << 8)) * 1ULL) << 32;

            assert_int_equal(check_descriptor(&doms[0], d), type == 0);
            assert_true(check_descriptor(&doms[0], d & ~((uint64_t)SEG_P << 32)));
        }
}

/* ---- HYPERVISOR_set_gdt ----------------------------------------------------- */

static long set_gdt(const unsigned long *frames, unsigned int entries)
{
    return do_set_gdt((uintptr_t)frames, entries);
}

static void test_set_gdt_ok_and_replace(void **state)
{
    unsigned long f[2] = { 2, 3 };

    *desc_at(2, 1) = 0x00af9b000000ffff;     /* DPL 0 kernel code, as Linux has */
    *desc_at(2, 2) = 0x00cff3000000ffff;
    *desc_at(3, 511) = 0x00cf93000000ffff;
    assert_int_equal(set_gdt(f, 513), 0);
    assert_int_equal(vcpu0.gdt_ents, 513);
    assert_int_equal(vcpu0.gdt_frames[0], 2);
    assert_int_equal(vcpu0.gdt_frames[1], 3);
    assert_int_equal(gdt_loads, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ftype(f[i]), PGT_seg_desc_page);
        assert_int_equal(tcount(f[i]), 1);
        assert_int_equal(gcount(f[i]), 2);
    }
    /* Stored in Xen's fixed-up form. */
    assert_int_equal(*desc_at(2, 1), 0x00affb000000ffff);
    assert_int_equal(*desc_at(2, 2), 0x00cff3000000ffff);
    assert_int_equal(*desc_at(3, 511), 0x00cff3000000ffff);

    /* Replace with a one-frame GDT that reuses frame 3. */
    unsigned long g[1] = { 3 };
    assert_int_equal(set_gdt(g, 512), 0);
    assert_int_equal(vcpu0.gdt_ents, 512);
    assert_int_equal(vcpu0.gdt_frames[0], 3);
    assert_int_equal(vcpu0.gdt_frames[1], 0);
    assert_int_equal(gdt_loads, 2);
    assert_int_equal(tcount(2), 0);
    assert_int_equal(gcount(2), 1);
    assert_int_equal(tcount(3), 1);
    assert_int_equal(gcount(3), 2);

    /* An empty GDT drops everything. */
    assert_int_equal(set_gdt(g, 0), 0);
    assert_int_equal(vcpu0.gdt_ents, 0);
    assert_int_equal(tcount(3), 0);
    assert_int_equal(gcount(3), 1);
    assert_int_equal(gdt_loads, 3);

    /* The largest GDT allowed: 14 frames.  Only 7 are ours, so reuse them
     * (one frame may back several GDT pages, as in Xen). */
    unsigned long big[14];
    for (int i = 0; i < 14; i++)
        big[i] = 1 + i % 7;
    assert_int_equal(set_gdt(big, FIRST_RESERVED_GDT_ENTRY), 0);
    assert_int_equal(tcount(1), 2);
    assert_int_equal(gcount(1), 3);
    pv_destroy_gdt(&vcpu0);
    for (unsigned long m = 1; m <= 7; m++) {
        assert_int_equal(tcount(m), 0);
        assert_int_equal(gcount(m), 1);
    }
}

/* Every failure leaves the old GDT and all counts exactly as they were. */
static void test_set_gdt_failures(void **state)
{
    unsigned long old[1] = { 4 };

    assert_int_equal(set_gdt(old, 10), 0);
    assert_int_equal(gdt_loads, 1);

    unsigned long f[3] = { 2, 3, 8 };                     /* 8 is not ours */
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    f[2] = 12;                                            /* free frame */
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    f[2] = NR_FRAMES + 100;                               /* no such frame */
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    f[2] = ~0UL;
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);

    *desc_at(5, 7) = 0x0000890000000067;                  /* a TSS */
    f[2] = 5;
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    *desc_at(5, 7) = 0;

    frame_table[6].type_info = PGT_writable_page | 1;     /* mapped writable */
    f[2] = 6;
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    frame_table[6].type_info = PGT_l1_page_table | 1;     /* a page table */
    assert_int_equal(set_gdt(f, 3 * 512), -XEN_EINVAL);
    frame_table[6].type_info = 0;

    assert_int_equal(set_gdt(f, FIRST_RESERVED_GDT_ENTRY + 1), -XEN_EINVAL);
    assert_int_equal(set_gdt(f, 0xffffffffu), -XEN_EINVAL);
    assert_int_equal(do_set_gdt(bad_guest_addr, 16), -XEN_EFAULT);

    for (unsigned long m = 1; m < NR_FRAMES; m++) {
        unsigned long want_g = (m >= 1 && m <= 9) ? 1 : 0;

        if (m == 4) {
            assert_int_equal(tcount(m), 1);
            assert_int_equal(gcount(m), 2);
        } else {
            assert_int_equal(tcount(m), 0);
            assert_int_equal(gcount(m), want_g);
        }
    }
    assert_int_equal(vcpu0.gdt_ents, 10);
    assert_int_equal(vcpu0.gdt_frames[0], 4);
    assert_int_equal(gdt_loads, 1);
}

/* ---- HYPERVISOR_update_descriptor -------------------------------------------- */

static uint64_t maddr(unsigned long mfn, unsigned int idx)
{
    return ((uint64_t)mfn << PAGE_SHIFT) + idx * 8;
}

static void test_update_descriptor_in_gdt(void **state)
{
    unsigned long f[1] = { 2 };

    assert_int_equal(set_gdt(f, 512), 0);
    assert_int_equal(do_update_descriptor(maddr(2, 5), 0x00af9b000000ffff), 0);
    assert_int_equal(*desc_at(2, 5), 0x00affb000000ffff);
    assert_int_equal(gdt_loads, 2);
    /* References balanced. */
    assert_int_equal(tcount(2), 1);
    assert_int_equal(gcount(2), 2);

    /* Rejected descriptor: nothing written, no reload. */
    assert_int_equal(do_update_descriptor(maddr(2, 6), 0x0000ec0000100000), -XEN_EINVAL);
    assert_int_equal(do_update_descriptor(maddr(2, 6), 0x0000890000000067), -XEN_EINVAL);
    assert_int_equal(*desc_at(2, 6), 0);
    assert_int_equal(gdt_loads, 2);
    /* Misaligned. */
    assert_int_equal(do_update_descriptor(maddr(2, 6) + 4, 0), -XEN_EINVAL);
    assert_int_equal(do_update_descriptor(maddr(2, 6) + 1, 0), -XEN_EINVAL);
    assert_int_equal(tcount(2), 1);
    assert_int_equal(gcount(2), 2);
}

static void test_update_descriptor_frames(void **state)
{
    /* An ordinary frame of ours (type none): written, no GDT reload; it
     * passes through PGT_writable_page as in Xen. */
    assert_int_equal(do_update_descriptor(maddr(3, 511), 0x00cf93000000ffff), 0);
    assert_int_equal(*desc_at(3, 511), 0x00cff3000000ffff);
    assert_int_equal(gdt_loads, 0);
    assert_int_equal(tcount(3), 0);
    assert_int_equal(gcount(3), 1);

    /* A frame mapped writable: allowed (it is not a descriptor table). */
    frame_table[4].type_info = PGT_writable_page | 2;
    assert_int_equal(do_update_descriptor(maddr(4, 0), 0x00cff3000000ffff), 0);
    assert_int_equal(tcount(4), 2);

    /* A descriptor page not in the GDT (e.g. an LDT): written, no reload. */
    frame_table[5].type_info = PGT_seg_desc_page | 1;
    assert_int_equal(do_update_descriptor(maddr(5, 1), 0x00af9b000000ffff), 0);
    assert_int_equal(*desc_at(5, 1), 0x00affb000000ffff);
    assert_int_equal(tcount(5), 1);
    assert_int_equal(gdt_loads, 0);

    /* A page-table frame: refused. */
    frame_table[6].type_info = PGT_l1_page_table | 1;
    assert_int_equal(do_update_descriptor(maddr(6, 0), 0), -XEN_EINVAL);
    assert_int_equal(tcount(6), 1);
    assert_int_equal(gcount(6), 1);
    frame_table[7].type_info = PGT_l4_page_table | PGT_pinned | 1;
    assert_int_equal(do_update_descriptor(maddr(7, 0), 0), -XEN_EINVAL);

    /* Someone else's frame, a free frame, no frame at all. */
    assert_int_equal(do_update_descriptor(maddr(8, 0), 0), -XEN_EINVAL);
    assert_int_equal(*desc_at(8, 0), 0);
    assert_int_equal(gcount(8), 1);
    assert_int_equal(do_update_descriptor(maddr(12, 0), 0), -XEN_EINVAL);
    assert_int_equal(do_update_descriptor(maddr(NR_FRAMES, 0), 0), -XEN_EINVAL);
    assert_int_equal(do_update_descriptor(~7ULL, 0), -XEN_EINVAL);
    assert_int_equal(gdt_loads, 0);
}

/* MMUEXT_SET_LDT's frame half (pv_set_ldt): the same descriptor policy as
 * the GDT, so no call gate can enter the LDT (issue 10, item 0), and every
 * failure leaves the old LDT and all counts as they were. */
static void test_set_ldt(void **state)
{
    unsigned long f[2] = { 5, 6 };

    *desc_at(5, 3) = 0x00cf93000000ffff;     /* data DPL 0: raised to 3 */
    assert_int_equal(pv_set_ldt(&vcpu0, 0x10000, f, 600), 0);
    assert_int_equal(vcpu0.ldt_ents, 600);
    assert_int_equal(vcpu0.ldt_base, 0x10000);
    assert_int_equal(ldt_loads, 1);
    assert_int_equal(*desc_at(5, 3), 0x00cff3000000ffff);
    assert_int_equal(ftype(5), PGT_seg_desc_page);
    assert_int_equal(tcount(6), 1);
    assert_int_equal(gcount(6), 2);

    /* A frame holding a call gate to the hypervisor's code segment. */
    unsigned long g[1] = { 7 };
    *desc_at(7, 0x100) = 0x0000ec00e0080000;
    assert_int_equal(pv_set_ldt(&vcpu0, 0x20000, g, 512), -XEN_EINVAL);
    assert_int_equal(tcount(7), 0);
    assert_int_equal(gcount(7), 1);
    /* Another domain's frame; too many entries. */
    g[0] = 8;
    assert_int_equal(pv_set_ldt(&vcpu0, 0x20000, g, 8), -XEN_EINVAL);
    assert_int_equal(gcount(8), 1);
    assert_int_equal(pv_set_ldt(&vcpu0, 0x20000, f, LDT_MAX_ENTRIES + 1), -XEN_EINVAL);
    /* None of those touched the LDT in place. */
    assert_int_equal(vcpu0.ldt_ents, 600);
    assert_int_equal(vcpu0.ldt_frames[0], 5);
    assert_int_equal(ldt_loads, 1);

    /* update_descriptor into a live LDT frame reloads it; a gate is refused. */
    assert_int_equal(do_update_descriptor(maddr(6, 8), 0x00cff3000000ffff), 0);
    assert_int_equal(ldt_loads, 2);
    assert_int_equal(do_update_descriptor(maddr(6, 16), 0x0000ec00e0080000), -XEN_EINVAL);
    assert_int_equal(*desc_at(6, 2), 0);

    /* No LDT drops every reference. */
    assert_int_equal(pv_set_ldt(&vcpu0, 0, NULL, 0), 0);
    assert_int_equal(vcpu0.ldt_ents, 0);
    assert_int_equal(tcount(5), 0);
    assert_int_equal(gcount(5), 1);
    assert_int_equal(gcount(6), 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_descriptor_table),
        T(test_all_system_types),
        T(test_set_gdt_ok_and_replace),
        T(test_set_gdt_failures),
        T(test_update_descriptor_in_gdt),
        T(test_update_descriptor_frames),
        T(test_set_ldt),
    };

    return cmocka_run_group_tests_name("desc", tests, NULL, NULL);
}
