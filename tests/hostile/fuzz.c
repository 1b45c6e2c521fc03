/*
 * fuzz.c - mode=fuzz of the hostile PV kernel: a seeded in-guest hypercall
 * fuzzer.  Runs in a domU (ring 3, events masked throughout) next to a
 * heartbeat dom0 and a canary domU (tests/scenario/hypfuzz.sh).
 *
 * Command line: mode=fuzz seed=N (default 1) calls=N (default 1000000)
 * self=D (our domain id, default 1) trace_from=K (print every call from
 * index K on, before it is issued: the last line before a crash names it)
 * slow_ms=M (print any call that takes over M ms of wall time, default 50).
 *
 * Each call picks a hypercall number 0..63 (a few above, by raw syscall)
 * and builds its arguments structure-aware: pointers into the hypervisor's
 * range (0xffff800000000000..0xffff87ffffffffff), into unmapped or
 * non-canonical space, into our own scratch memory (the arena, followed by
 * an unmapped guard page) or the victim pages; machine frames of other
 * domains (found through the M2P), of the hypervisor, of our page tables,
 * of our spare frames, huge and garbage ones; counts 0, 1, small, huge and
 * unaligned; batches (mmu_update, mmuext_op, multicall, memory_op
 * reservations) that mix valid and invalid entries.  It prints the seed
 * first, progress every 50,000 calls and at the end exactly one line
 *     fuzz: <N> hypercalls
 * (N: top-level fuzz hypercalls; multicall and batch entries come on top).
 *
 * It must not legitimately kill itself, so these are excluded or
 * neutralised (also listed in tests/hostile/README.md):
 *   - HYPERVISOR_iret (23): never called, and rewritten in multicalls.
 *   - sched_op SCHEDOP_shutdown, SCHEDOP_remote_shutdown of ourselves
 *     (self= and DOMID_SELF), SCHEDOP_watchdog, SCHEDOP_block (would sleep
 *     forever with no timer, or take an event with no callback); the same
 *     commands of sched_op_compat (6).  SCHEDOP_poll always gets a timeout.
 *   - vcpu_op VCPUOP_down, VCPUOP_send_nmi, VCPUOP_register_vcpu_info with
 *     one of our frames (the hypervisor would move our upcall mask into
 *     memory we scribble on).
 *   - set_trap_table, set_callbacks, callback_op, stack_switch,
 *     fpu_taskswitch, set_debugreg: called with garbage, then reset (no
 *     trap table, no callbacks, our stack, TS clear, DR7 = 0) right after;
 *     DR0-3 never get an address of our own image.
 *   - Page-table writes (mmu_update, update_va_mapping[_otherdomain])
 *     aim valid-looking entries only at the victim pages' L1 slots, the
 *     guard page's slot, our arena/victim/spare frames, unused L4 slots
 *     (1..253, 272..510) and unused L2 slots of our image; the victim and
 *     guard PTEs are put back after each call.  A frame of ours that holds
 *     code, data, stack, P2M or start_info ("protected") is never the
 *     target of a write (CLEAR/COPY_PAGE, MMU_MACHPHYS_UPDATE, a writable
 *     mapping, decrease_reservation, set_gdt, update_descriptor): such
 *     frames are replaced by a victim or spare frame.
 *   - MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR with one of our frames only
 *     reload our current L4.
 *   - Lists a batch reads (multicall, mmu_update, mmuext_op, extents,
 *     set_gdt) are ours with a count no larger than what was built, or
 *     unreadable; never victim pages or stale arena, whose contents could
 *     name our own tables.  Multicall buffers are >= 1 KiB each.
 *   - CONSOLEIO_write from valid memory only with count 0 (no console
 *     flood); pointers of our own half only into the arena and victims.
 * After each call the arena's PTEs are checked ("changed arena page").
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include "hostile.h"
#include "fuzz.h"

#define PAGE            4096UL
#define ARENA_PAGES     48
#define VICTIMS         8
#define SPARES          256
#define MAX_FOREIGN     256
#define MAX_PT          64
#define MAX_FRESH       512
#define OWN_BITS        (1UL << 20)         /* frames below 4 GiB */
#define HV_RANGE        0xffff800000000000UL
#define HV_RANGE_LEN    0x0000080000000000UL
#define UNMAPPED_USER   0x00007f0000000000UL  /* L4 slot 254: never mapped */
#define KERNEL_HOLE     (HV_VIRT_BASE + 0x38000000UL)  /* L2 slot 448+: never mapped */
#define FLAT_KSS        0xe02bUL

extern char hostile_stack_top[];

/* The arena: argument structures and hypercall output; its last page is
 * the unmapped guard. */
static uint8_t arena[(ARENA_PAGES + 1) * PAGE] __attribute__((aligned(4096)));
static uint8_t victim[VICTIMS * PAGE] __attribute__((aligned(4096)));
#define ARENA_END ((unsigned long)arena + ARENA_PAGES * PAGE)   /* = the guard */

/* A PTE the fuzzer lets the hypervisor rewrite and puts back after. */
struct slot {
    unsigned long va, ma, orig;
    const volatile uint64_t *cur;   /* our read-only view of the entry */
    bool dead;
};
static struct slot slots[VICTIMS + 1];      /* victims, then the guard */
static const volatile uint64_t *arena_pte[ARENA_PAGES];
static uint64_t arena_orig[ARENA_PAGES], arena_ma[ARENA_PAGES];

static uint8_t protected_bits[OWN_BITS / 8];
static uint8_t owned_bits[OWN_BITS / 8];   /* every frame ever ours */
static unsigned long victim_mfn[VICTIMS], spare_mfn[SPARES], nspare;
static unsigned long fresh[MAX_FRESH], nfresh;
static unsigned long foreign[MAX_FOREIGN], nforeign;
static unsigned long pt_mfn[MAX_PT], npt;
static unsigned long hv_mfn[16], nhv;
static unsigned long l4_mfn, l4_ma, l2_mfn, l2_used, max_mfn, shinfo_mfn;
static unsigned int self_id;

static struct rng R;
static size_t bump;                 /* arena allocation cursor */
static bool nested;                 /* generating multicall entries */

/* Work to undo after the call (bits). */
#define UNDO_SLOTS  1u
#define UNDO_TRAPS  2u
#define UNDO_CB     4u
#define UNDO_STACK  8u
#define UNDO_FPU    16u
#define UNDO_DR     32u
static unsigned int undo;

static unsigned long stat_calls, stat_entries, stat_ok, stat_restore_fail;
static unsigned long stat_by_nr[64];

/* ---- small helpers ------------------------------------------------------------ */

static uint64_t rnd(void) { return rng_next(&R); }
static uint64_t below(uint64_t n) { return rng_below(&R, n); }
static bool chance(unsigned int pct) { return below(100) < pct; }

static bool is_protected(unsigned long mfn)
{
    return mfn < OWN_BITS && (protected_bits[mfn >> 3] & (1u << (mfn & 7)));
}

static void set_protected(unsigned long mfn, bool on)
{
    if (mfn >= OWN_BITS)
        return;
    if (on)
        protected_bits[mfn >> 3] |= (uint8_t)(1u << (mfn & 7));
    else
        protected_bits[mfn >> 3] &= (uint8_t)~(1u << (mfn & 7));
}

static bool is_owned(unsigned long mfn)
{
    return mfn < OWN_BITS && (owned_bits[mfn >> 3] & (1u << (mfn & 7)));
}

static void set_owned(unsigned long mfn)
{
    if (mfn < OWN_BITS)
        owned_bits[mfn >> 3] |= (uint8_t)(1u << (mfn & 7));
}

static bool is_pt(unsigned long mfn)
{
    for (unsigned long i = 0; i < npt; i++)
        if (pt_mfn[i] == mfn)
            return true;
    return false;
}

/* Arena bytes for one argument, 8-aligned and zeroed; NULL when full.  In
 * a multicall each buffer gets at least 1 KiB, so fixed-size outputs stay
 * inside their own buffer. */
static void *a_alloc(size_t n)
{
    uint8_t *p;

    if (nested && n < 1024)
        n = 1024;
    n = (n + 7) & ~7UL;
    if (bump + n > ARENA_PAGES * PAGE)
        return NULL;
    p = arena + bump;
    bump += n;
    for (size_t i = 0; i < n; i += 8)
        *(uint64_t *)(p + i) = 0;
    return p;
}

/* n bytes ending exactly at the guard page (for huge counts: the
 * hypervisor runs into the guard right after our entries); NULL if that
 * overlaps what this call already allocated. */
static void *a_tail(size_t n)
{
    n = (n + 7) & ~7UL;
    if (n > ARENA_PAGES * PAGE || ARENA_PAGES * PAGE - n < bump)
        return NULL;
    bump = ARENA_PAGES * PAGE;
    return (uint8_t *)ARENA_END - n;
}

/* ---- generators ----------------------------------------------------------------- */

/* An address that is not ours to touch: hypervisor range, unmapped,
 * non-canonical, the guard page, or plain garbage (sanitised). */
static uint64_t bad_ptr(void)
{
    switch (below(12)) {
    case 0: return HV_RANGE + (below(HV_RANGE_LEN) & ~7UL);
    case 1: return HV_RANGE + below(HV_RANGE_LEN);                /* unaligned */
    case 2: return 0xffff830000000000UL + below(1UL << 30);
    case 3: return HV_M2P_BASE + below(1UL << 24) * 8;
    case 4: return UNMAPPED_USER + below(1UL << 39);
    case 5: return below(PAGE);                                   /* NULL page */
    case 6: return 0x0000800000000000UL + below(1UL << 46);       /* non-canonical */
    case 7: return ARENA_END + below(PAGE);                       /* the guard */
    case 8: return ARENA_END - 1 - below(64);                     /* straddles it */
    case 9: return KERNEL_HOLE + below(1UL << 26);
    case 10: return ~0UL - below(PAGE);
    default: {
        uint64_t v = rnd();
        /* garbage in our own halves goes to places known to be unmapped */
        if (v < 0x0000800000000000UL)
            v = UNMAPPED_USER | (v & ((1UL << 39) - 1));
        else if (v >= HV_VIRT_BASE)
            v = KERNEL_HOLE + (v & ((1UL << 26) - 1));
        return v;
    }
    }
}

/* bad_ptr() outside the arena and its guard: for addresses that would
 * hurt us if the hypervisor honoured them (DR0-3 breakpoints,
 * update_va_mapping of a VA other than the slots). */
static uint64_t far_ptr(void)
{
    uint64_t p;
    do
        p = bad_ptr();
    while (p >= (uint64_t)arena && p < ARENA_END + PAGE);
    return p;
}

/* A victim page address (its PTE may be anything the fuzzer left). */
static uint64_t victim_ptr(void)
{
    return (uint64_t)victim + below(VICTIMS) * PAGE + (chance(80) ? 0 : below(PAGE));
}

/* The pointer a call gets for a buffer the fuzzer built at p: p itself
 * mostly, else a bad one, a victim page, or (top level only) an offset
 * into the arena. */
static uint64_t ptr_for(void *p)
{
    unsigned int c = (unsigned int)below(100);

    if (p && c < 70)
        return (uint64_t)p;
    if (c < 88 || !p)
        return bad_ptr();
    if (c < 95 || nested)
        return victim_ptr();
    return (uint64_t)arena + below(ARENA_PAGES * PAGE);
}

/* The pointer a batch gets for the list the fuzzer built at p: p, or one
 * that cannot be read.  Never victim pages or stale arena: entries the
 * fuzzer did not build (copies of our own tables, P2M, old output) could
 * name our own frames and tables. */
static uint64_t list_ptr(void *p)
{
    return p && chance(80) ? (uint64_t)p : bad_ptr();
}

static uint64_t gen_count(uint64_t valid)
{
    switch (below(10)) {
    case 0: return 0;
    case 1: return 1;
    case 2: case 3: case 4: case 5: return valid;
    case 6: return valid ? below(valid + 1) : 2;
    case 7: return valid + 1 + below(4);
    default: {
        static const uint64_t huge[] = { 0x7fffffffUL, 0x80000000UL, 0xffffffffUL, 1UL << 20,
                                         0x10000, 0xfffffff, 1UL << 40, ~0UL };
        return huge[below(8)];
    }
    }
}

/* Frame argument classes: what may a frame of ours be used for? */
enum mfn_use {
    USE_WRITE,      /* will be written, freed or retyped: no protected frame */
    USE_PT,         /* pin/unpin/map read-only: our page tables are fine too */
    USE_READ,       /* only read (COPY_PAGE source) */
    USE_BASEPTR,    /* loaded as a base pointer: ours only as the current L4 */
    USE_FOREIGN,    /* never ours (register_vcpu_info) */
};

static unsigned long scratch_mfn(void)
{
    if (nfresh && chance(30))
        return fresh[below(nfresh)];
    if (nspare && chance(60))
        return spare_mfn[below(nspare)];
    return victim_mfn[below(VICTIMS)];
}

static unsigned long sanitise_mfn(unsigned long mfn, enum mfn_use use)
{
    if (use == USE_BASEPTR && (is_owned(mfn) || mfn == shinfo_mfn))
        return l4_mfn;      /* a spare pinned as an empty L4 must never be loaded */
    if (mfn == shinfo_mfn && use != USE_READ && use != USE_PT)
        return scratch_mfn();
    if (!is_protected(mfn))
        return mfn;
    switch (use) {
    case USE_READ: return mfn;
    case USE_PT: return is_pt(mfn) ? mfn : scratch_mfn();
    case USE_BASEPTR: return l4_mfn;
    case USE_FOREIGN: return nforeign ? foreign[below(nforeign)] : ~0UL;
    default: return scratch_mfn();
    }
}

static unsigned long gen_mfn(enum mfn_use use)
{
    unsigned long m;

    switch (below(14)) {
    case 0: case 1: m = scratch_mfn(); break;
    case 2: case 3: m = npt ? pt_mfn[below(npt)] : 0; break;
    case 4: case 5: case 6: m = nforeign ? foreign[below(nforeign)] : 0x100; break;
    case 7: m = nhv ? hv_mfn[below(nhv)] : 0; break;
    case 8: m = max_mfn - 1 + below(3); break;
    case 9: m = below(0x100); break;
    case 10: m = shinfo_mfn; break;
    case 11: m = own_mfn(below(si->nr_pages)); break;
    case 12: m = below(max_mfn + 1); break;
    default: {
        static const unsigned long odd[] = { ~0UL, ~0UL >> 12, 1UL << 40, 1UL << 52,
                                             0xfee00, 0xfec00, 0xb8, 0x7fffffffUL };
        m = odd[below(8)];
    }
    }
    return sanitise_mfn(m, use);
}

static unsigned int gen_domid(void)
{
    switch (below(8)) {
    case 0: case 1: return DOMID_SELF;
    case 2: return 0;
    case 3: return self_id;
    case 4: return 2;
    case 5: return DOMID_IO;
    case 6: return (unsigned int)below(0x10000);
    default: return 3 + (unsigned int)below(8);
    }
}

/* A flags-and-frame PTE value for a slot the fuzzer may rewrite. */
static uint64_t gen_pte(void)
{
    static const uint64_t fl[] = { 0x001, 0x003, 0x023, 0x063, 0x067, 0x005, 0x083, 0x0e3,
                                   0x101, 0x1e7 };
    uint64_t f, v;
    unsigned long m;

    if (chance(8))
        return 0;
    if (chance(5)) {
        v = rnd();
        m = sanitise_mfn((v & HV_PTE_MFN) >> 12, USE_PT);
        return (v & ~HV_PTE_MFN) | ((uint64_t)m << 12);
    }
    m = gen_mfn(USE_PT);
    f = chance(85) ? fl[below(10)] : below(0x1000);
    if (chance(10))
        f |= 1UL << 63;                             /* NX */
    if (chance(5))
        f |= (below(0x7ff) + 1) << 52;              /* software/reserved bits */
    /* our own page tables and shared_info read-only, bar a few attempts
     * the hypervisor must refuse */
    if ((is_pt(m) && chance(90)) || m == shinfo_mfn)
        f &= ~HV_PTE_RW;
    return ((uint64_t)(m & 0xffffffffffUL) << 12) | f;
}

/* A word for a structure the fuzzer does not model. */
static uint64_t gen_word(void)
{
    switch (below(8)) {
    case 0: return 0;
    case 1: return below(64);
    case 2: return rnd() & 0xffffffffUL;
    case 3: return ptr_for(a_alloc(64));
    case 4: return gen_mfn(USE_WRITE);
    case 5: return gen_domid() | (below(0x10000) << 16);
    case 6: return bad_ptr();
    default: return below(0x10000);
    }
}

static void fill_words(void *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8)
        *(uint64_t *)((uint8_t *)p + i) = gen_word();
}

/* A generic pointer argument: a buffer of gen_word()s. */
static uint64_t gen_buf_ptr(size_t n)
{
    void *p = a_alloc(n);
    if (p)
        fill_words(p, n);
    return ptr_for(p);
}

/* ---- one hypercall -------------------------------------------------------------- */

struct call {
    unsigned long nr;
    uint64_t a[6];
};

static uint64_t gen_mmu_list(struct call *c)
{
    unsigned int n = nested ? 1 + (unsigned int)below(8) : 1 + (unsigned int)below(64);
    bool tail = !nested && chance(10);
    struct mmu_update *u = tail ? a_tail(n * sizeof(*u)) : a_alloc(n * sizeof(*u));

    for (unsigned int i = 0; u && i < n; i++) {
        uint64_t ptr, type = chance(85) ? MMU_NORMAL_PT_UPDATE : below(8);
        switch (below(9)) {
        case 0: case 1: case 2: {
            struct slot *s = &slots[below(VICTIMS + 1)];
            ptr = s->ma;
            undo |= UNDO_SLOTS;
            break;
        }
        case 3:     /* an unused L4 slot (not 0, 254, 255 or ours) */
            ptr = l4_ma + (chance(50) ? 1 + below(253) : 272 + below(239)) * 8;
            break;
        case 4:     /* the hypervisor's L4 slots */
            ptr = l4_ma + (256 + below(16)) * 8;
            break;
        case 5:     /* an unused L2 slot of our image's L2 */
            ptr = (l2_mfn << 12) + (l2_used + below(384 - l2_used)) * 8;
            break;
        case 6:
            ptr = ((uint64_t)gen_mfn(USE_WRITE) << 12) + below(512) * 8;
            break;
        default:
            ptr = ((uint64_t)gen_mfn(USE_FOREIGN) << 12) + below(PAGE);
            break;
        }
        if (type == MMU_MACHPHYS_UPDATE) {
            u[i].ptr = ((uint64_t)gen_mfn(USE_WRITE) << 12) | MMU_MACHPHYS_UPDATE;
            u[i].val = chance(50) ? below(si->nr_pages * 2) : rnd();
        } else {
            /* a write outside the slots above only ever lands on scratch,
             * foreign or hypervisor frames */
            u[i].ptr = (ptr & ~7UL) | (type == MMU_MACHPHYS_UPDATE ? 0 : type);
            u[i].val = gen_pte();
        }
    }
    c->a[1] = tail ? gen_count(~0U) : gen_count(n);
    if (!tail && c->a[1] > n && u)
        c->a[1] = n;            /* never run past our entries into stale arena */
    return list_ptr(u);
}

static uint64_t gen_mmuext_list(struct call *c)
{
    unsigned int n = nested ? 1 + (unsigned int)below(8) : 1 + (unsigned int)below(32);
    bool tail = !nested && chance(10);
    struct mmuext_op *o = tail ? a_tail(n * sizeof(*o)) : a_alloc(n * sizeof(*o));

    for (unsigned int i = 0; o && i < n; i++) {
        unsigned int cmd = chance(95) ? (unsigned int)below(22) : (unsigned int)rnd();
        o[i].cmd = cmd;
        switch (cmd) {
        case MMUEXT_PIN_L1_TABLE: case MMUEXT_PIN_L2_TABLE: case MMUEXT_PIN_L3_TABLE:
        case MMUEXT_PIN_L4_TABLE: case MMUEXT_UNPIN_TABLE:
            o[i].arg1.mfn = gen_mfn(USE_PT);
            break;
        case MMUEXT_NEW_BASEPTR: case MMUEXT_NEW_USER_BASEPTR:
            o[i].arg1.mfn = chance(10) ? 0 : gen_mfn(USE_BASEPTR);
            break;
        case MMUEXT_CLEAR_PAGE: case MMUEXT_MARK_SUPER: case MMUEXT_UNMARK_SUPER:
            o[i].arg1.mfn = gen_mfn(USE_WRITE);
            break;
        case MMUEXT_COPY_PAGE:
            o[i].arg1.mfn = gen_mfn(USE_WRITE);
            o[i].arg2.src_mfn = gen_mfn(USE_READ);
            break;
        case MMUEXT_SET_LDT:
            o[i].arg1.linear_addr = chance(50) ? victim_ptr() & ~(PAGE - 1) : bad_ptr();
            o[i].arg2.nr_ents = (unsigned int)gen_count(512);
            break;
        case MMUEXT_TLB_FLUSH_MULTI: case MMUEXT_INVLPG_MULTI:
            o[i].arg1.linear_addr = chance(50) ? victim_ptr() : bad_ptr();
            o[i].arg2.vcpumask.p = (void *)gen_buf_ptr(8);
            break;
        default:
            o[i].arg1.linear_addr = chance(50) ? victim_ptr() : bad_ptr();
            o[i].arg2.nr_ents = (unsigned int)rnd();
            break;
        }
    }
    c->a[1] = tail ? gen_count(~0U) : gen_count(n);
    if (!tail && c->a[1] > n && o)
        c->a[1] = n;
    return list_ptr(o);
}

/* decrease_reservation/populate/increase/exchange lists: spare and fresh
 * frames of ours mixed with invalid ones. */
static uint64_t gen_extents(unsigned int op, unsigned int n)
{
    xen_pfn_t *l = a_alloc(n * sizeof(*l));

    for (unsigned int i = 0; l && i < n; i++) {
        if (op == XENMEM_decrease_reservation || op == XENMEM_exchange)
            l[i] = chance(60) ? scratch_mfn() : gen_mfn(USE_WRITE);
        else
            l[i] = chance(70) ? below(si->nr_pages * 2) : rnd();
    }
    return list_ptr(l);
}

static void gen_reservation(struct xen_memory_reservation *r, unsigned int op)
{
    unsigned int n = nested ? 1 + (unsigned int)below(16) : 1 + (unsigned int)below(128);

    r->nr_extents = gen_count(n);
    if (r->nr_extents > n)          /* big counts point at a list we did not fill */
        set_xen_guest_handle(r->extent_start, (xen_pfn_t *)bad_ptr());
    else
        set_xen_guest_handle(r->extent_start, (xen_pfn_t *)gen_extents(op, n));
    r->extent_order = chance(80) ? 0 : (unsigned int)(chance(50) ? below(20) : rnd());
    r->mem_flags = chance(80) ? 0 : (unsigned int)rnd();
    r->domid = (domid_t)gen_domid();
}

static void gen_memory_op(struct call *c)
{
    static const unsigned int ops[] = {
        XENMEM_increase_reservation, XENMEM_decrease_reservation, XENMEM_populate_physmap,
        XENMEM_populate_physmap, XENMEM_decrease_reservation, XENMEM_maximum_ram_page,
        XENMEM_current_reservation, XENMEM_maximum_reservation, XENMEM_maximum_gpfn,
        XENMEM_machphys_mfn_list, XENMEM_machphys_mapping, XENMEM_memory_map,
        XENMEM_machine_memory_map, XENMEM_exchange, XENMEM_add_to_physmap,
        XENMEM_set_memory_map, 24 /* claim_pages */, XENMEM_get_vnumainfo,
        28 /* acquire_resource */, XENMEM_add_to_physmap_batch, 99,
    };
    unsigned int op = chance(95) ? ops[below(sizeof(ops) / sizeof(ops[0]))] : (unsigned int)below(64);
    uint64_t cmd = op;

    if (chance(5))
        cmd |= below(1UL << 26) << 6;          /* a continuation's start extent */
    c->a[0] = cmd;
    switch (op) {
    case XENMEM_increase_reservation: case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap: {
        struct xen_memory_reservation *r = a_alloc(sizeof(*r));
        if (r)
            gen_reservation(r, op);
        c->a[1] = ptr_for(r);
        break;
    }
    case XENMEM_exchange: {
        struct xen_memory_exchange *x = a_alloc(sizeof(*x));
        if (x) {
            gen_reservation(&x->in, XENMEM_exchange);
            gen_reservation(&x->out, XENMEM_populate_physmap);
            x->nr_exchanged = chance(80) ? 0 : rnd();
        }
        c->a[1] = ptr_for(x);
        break;
    }
    case XENMEM_current_reservation: case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn: {
        struct xen_memory_domain *d = a_alloc(sizeof(*d));
        if (d)
            d->domid = (domid_t)gen_domid();
        c->a[1] = ptr_for(d);
        break;
    }
    case XENMEM_memory_map: case XENMEM_machine_memory_map: case XENMEM_set_memory_map: {
        struct xen_memory_map *m = a_alloc(sizeof(*m));
        if (m) {
            m->nr_entries = (unsigned int)gen_count(4);
            set_xen_guest_handle(m->buffer, (void *)ptr_for(a_alloc(4 * 20)));
        }
        c->a[1] = ptr_for(m);
        break;
    }
    case XENMEM_machphys_mfn_list: {
        struct xen_machphys_mfn_list *m = a_alloc(sizeof(*m));
        if (m) {
            m->max_extents = (unsigned int)gen_count(16);
            set_xen_guest_handle(m->extent_start,
                                 (xen_pfn_t *)ptr_for(a_alloc(16 * sizeof(xen_pfn_t))));
            if (m->max_extents > 16)
                set_xen_guest_handle(m->extent_start, (xen_pfn_t *)bad_ptr());
        }
        c->a[1] = ptr_for(m);
        break;
    }
    default:
        c->a[1] = chance(20) ? 0 : gen_buf_ptr(128);
        break;
    }
}

static void gen_sched_op(struct call *c, bool compat)
{
    unsigned int cmd = chance(90) ? (unsigned int)below(12) : (unsigned int)rnd();

    /* excluded: block (1), shutdown (2), watchdog (6) -> yield */
    if (cmd == SCHEDOP_block || cmd == SCHEDOP_shutdown || cmd == 6)
        cmd = SCHEDOP_yield;
    c->a[0] = cmd;
    if (compat) {                           /* arg is a value, not a pointer */
        if (cmd == SCHEDOP_remote_shutdown || cmd == SCHEDOP_poll)
            c->a[0] = SCHEDOP_yield;
        c->a[1] = rnd();
        return;
    }
    switch (cmd) {
    case SCHEDOP_poll: {
        struct sched_poll *p = a_alloc(sizeof(*p));
        if (p) {
            evtchn_port_t *ports = a_alloc(16 * sizeof(*ports));
            for (unsigned int i = 0; ports && i < 16; i++)
                ports[i] = (evtchn_port_t)(chance(80) ? below(64) : rnd());
            p->nr_ports = (unsigned int)gen_count(16);
            if (p->nr_ports > 16)
                set_xen_guest_handle(p->ports, (evtchn_port_t *)bad_ptr());
            else
                set_xen_guest_handle(p->ports, (evtchn_port_t *)ptr_for(ports));
            /* always a timeout: in the past or within 1 ms */
            p->timeout = chance(50) ? 1 + below(1000) : now_ns() + below(1000000);
            c->a[1] = (uint64_t)p;
        } else {
            c->a[0] = SCHEDOP_yield;
        }
        break;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown *r = a_alloc(sizeof(*r));
        if (r) {
            unsigned int d = gen_domid();
            if (d == DOMID_SELF || d == self_id)
                d = 0;
            r->domain_id = (domid_t)d;
            r->reason = (unsigned int)below(8);
            c->a[1] = (uint64_t)r;
        } else {
            c->a[0] = SCHEDOP_yield;
        }
        break;
    }
    case SCHEDOP_shutdown_code: {
        struct sched_shutdown *s = a_alloc(sizeof(*s));
        if (s)
            s->reason = (unsigned int)rnd();
        c->a[1] = ptr_for(s);
        break;
    }
    default:
        c->a[1] = gen_buf_ptr(32);
        break;
    }
}

static void gen_vcpu_op(struct call *c)
{
    unsigned int cmd = chance(90) ? (unsigned int)below(16) : (unsigned int)rnd();

    if (cmd == VCPUOP_down || cmd == VCPUOP_send_nmi)
        cmd = VCPUOP_is_up;
    c->a[0] = cmd;
    c->a[1] = chance(80) ? 0 : (chance(50) ? below(8) : rnd());
    switch (cmd) {
    case VCPUOP_register_vcpu_info: {
        struct vcpu_register_vcpu_info *v = a_alloc(sizeof(*v));
        if (v) {
            v->mfn = gen_mfn(USE_FOREIGN);
            v->offset = (uint32_t)(chance(50) ? below(PAGE) : rnd());
        }
        c->a[2] = ptr_for(v);
        break;
    }
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer *t = a_alloc(sizeof(*t));
        if (t) {
            t->timeout_abs_ns = chance(50) ? now_ns() + below(20000000) : rnd();
            t->flags = (uint32_t)below(4);
        }
        c->a[2] = ptr_for(t);
        break;
    }
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer *t = a_alloc(sizeof(*t));
        if (t)
            t->period_ns = chance(50) ? below(100000000) : rnd();
        c->a[2] = ptr_for(t);
        break;
    }
    case VCPUOP_register_runstate_memory_area:
    case VCPUOP_register_vcpu_time_memory_area: {
        uint64_t *a = a_alloc(8);
        if (a)
            *a = chance(50) ? ptr_for(a_alloc(64)) : bad_ptr();
        c->a[2] = ptr_for(a);
        break;
    }
    default:
        c->a[2] = gen_buf_ptr(256);
        break;
    }
}

static void gen_evtchn_op(struct call *c)
{
    unsigned int cmd = chance(95) ? (unsigned int)below(16) : (unsigned int)rnd();
    uint32_t *f = a_alloc(64);

    c->a[0] = cmd;
    for (unsigned int i = 0; f && i < 16; i++) {
        switch (below(8)) {
        case 0: case 1: f[i] = (uint32_t)below(64); break;      /* ports, virqs */
        case 2: f[i] = DOMID_SELF | ((uint32_t)below(8) << 16); break;
        case 3: f[i] = (uint32_t)below(4) | ((uint32_t)below(64) << 16); break;
        case 4: f[i] = 0; break;
        case 5: f[i] = (uint32_t)rnd(); break;
        default: f[i] = (uint32_t)below(4096); break;
        }
    }
    if (f && (cmd == EVTCHNOP_init_control || cmd == EVTCHNOP_expand_array))
        *(uint64_t *)f = gen_mfn(USE_FOREIGN);  /* control/array gfn: never ours */
    c->a[1] = ptr_for(f);
}

static void gen_priv_op(struct call *c, uint32_t version)
{
    uint32_t *h = a_alloc(256);

    if (h) {
        fill_words(h, 256);
        h[0] = (uint32_t)(chance(90) ? below(100) : rnd());            /* cmd */
        h[1] = chance(80) ? version : (uint32_t)rnd();                 /* interface */
        h[2] = (uint32_t)(chance(50) ? below(4) : gen_domid());        /* domain */
    }
    c->a[0] = ptr_for(h);
}

static void gen_call(struct call *c);

static void gen_multicall(struct call *c)
{
    unsigned int n = 1 + (unsigned int)below(16);
    struct multicall_entry *m = a_alloc(n * sizeof(*m));
    bool was = nested;

    nested = true;
    for (unsigned int i = 0; m && i < n; i++) {
        struct call sub;
        gen_call(&sub);
        pv_multicall_set(&m[i], sub.nr, sub.a[0], sub.a[1], sub.a[2], sub.a[3], sub.a[4],
                         sub.a[5]);
    }
    nested = was;
    if (m)
        stat_entries += n;
    c->a[0] = list_ptr(m);
    c->a[1] = gen_count(n);
    if (c->a[1] > n && c->a[0] == (uint64_t)m)
        c->a[1] = n;            /* stale arena past the list is not ours to run */
}

/* Picks a hypercall number and fills c with its arguments. */
static void gen_call(struct call *c)
{
    unsigned long nr = chance(97) ? below(64) : 64 + below(chance(50) ? 64 : 0xfffff);

    for (unsigned int i = 0; i < 6; i++)
        c->a[i] = 0;
    if (nr == __HYPERVISOR_iret || (nested && nr == __HYPERVISOR_multicall && chance(80)))
        nr = __HYPERVISOR_xen_version;
    c->nr = nr;
    switch (nr) {
    case __HYPERVISOR_set_trap_table: {
        struct trap_info *t = a_alloc(8 * sizeof(*t));
        for (unsigned int i = 0; t && i < 7; i++) {
            t[i].vector = (uint8_t)rnd();
            t[i].flags = (uint8_t)rnd();
            t[i].cs = (uint16_t)(chance(50) ? 0xe033 : rnd());
            t[i].address = chance(30) ? (unsigned long)hostile_stack_top : bad_ptr();
        }
        c->a[0] = chance(10) ? 0 : ptr_for(t);
        undo |= UNDO_TRAPS;
        break;
    }
    case __HYPERVISOR_mmu_update:
        c->a[0] = gen_mmu_list(c);
        c->a[2] = chance(50) ? 0 : ptr_for(a_alloc(8));
        c->a[3] = chance(70) ? DOMID_SELF : gen_domid() | (chance(20) ? below(8) << 16 : 0);
        break;
    case __HYPERVISOR_set_gdt: {
        unsigned long *f = a_alloc(16 * sizeof(*f));
        for (unsigned int i = 0; f && i < 16; i++)
            f[i] = gen_mfn(USE_WRITE);
        c->a[0] = list_ptr(f);
        c->a[1] = gen_count(16 * 512);
        if (c->a[1] > 16 * 512 && c->a[0] == (uint64_t)f)
            c->a[1] = 16 * 512;
        break;
    }
    case __HYPERVISOR_stack_switch:
        c->a[0] = chance(50) ? FLAT_KSS : rnd() & 0xffff;
        c->a[1] = chance(50) ? bad_ptr() : victim_ptr();
        undo |= UNDO_STACK;
        break;
    case __HYPERVISOR_set_callbacks:
        for (unsigned int i = 0; i < 3; i++)
            c->a[i] = chance(20) ? 0 : bad_ptr();
        undo |= UNDO_CB;
        break;
    case __HYPERVISOR_fpu_taskswitch:
        c->a[0] = chance(50) ? below(2) : rnd();
        undo |= UNDO_FPU;
        break;
    case __HYPERVISOR_sched_op_compat:
        gen_sched_op(c, true);
        break;
    case __HYPERVISOR_set_debugreg:
        c->a[0] = chance(90) ? below(8) : rnd();
        c->a[1] = c->a[0] < 4 ? far_ptr() : rnd() & (chance(50) ? 0xffffffffUL : ~0UL);
        undo |= UNDO_DR;
        break;
    case __HYPERVISOR_get_debugreg:
        c->a[0] = chance(90) ? below(8) : rnd();
        break;
    case __HYPERVISOR_update_descriptor:
        c->a[0] = ((uint64_t)gen_mfn(USE_WRITE) << 12) + (chance(80) ? below(512) * 8 : below(PAGE));
        c->a[1] = rnd();
        break;
    case __HYPERVISOR_memory_op:
        gen_memory_op(c);
        break;
    case __HYPERVISOR_multicall:
        gen_multicall(c);
        break;
    case __HYPERVISOR_update_va_mapping:
    case __HYPERVISOR_update_va_mapping_otherdomain: {
        unsigned int k = (unsigned int)below(VICTIMS + 1);
        c->a[0] = chance(70) ? slots[k].va : far_ptr();
        c->a[1] = gen_pte();
        c->a[2] = chance(80) ? below(3) : (chance(50) ? (ptr_for(a_alloc(8)) | 4) : rnd());
        c->a[3] = gen_domid();
        undo |= UNDO_SLOTS;
        break;
    }
    case __HYPERVISOR_set_timer_op:
        c->a[0] = chance(50) ? now_ns() + below(50000000) : (chance(50) ? 0 : rnd());
        break;
    case __HYPERVISOR_xen_version:
        c->a[0] = chance(90) ? below(16) : rnd();
        c->a[1] = ptr_for(a_alloc(1024));
        break;
    case __HYPERVISOR_console_io:
        c->a[0] = chance(90) ? below(3) : rnd();
        c->a[2] = chance(70) ? bad_ptr() : ptr_for(a_alloc(256));
        c->a[1] = gen_count(256);
        /* no console flood: from memory we can read, nothing is written */
        if (c->a[0] == CONSOLEIO_write && !(c->a[2] >= HV_RANGE && c->a[2] < HV_RANGE + HV_RANGE_LEN))
            c->a[1] = 0;
        break;
    case __HYPERVISOR_vm_assist:
        c->a[0] = chance(90) ? below(3) : rnd();
        c->a[1] = chance(90) ? below(40) : rnd();
        break;
    case __HYPERVISOR_vcpu_op:
        gen_vcpu_op(c);
        break;
    case __HYPERVISOR_set_segment_base:
        c->a[0] = chance(90) ? below(5) : rnd();
        c->a[1] = chance(50) ? bad_ptr() : rnd();
        break;
    case __HYPERVISOR_mmuext_op:
        c->a[0] = gen_mmuext_list(c);
        c->a[2] = chance(50) ? 0 : ptr_for(a_alloc(8));
        c->a[3] = chance(70) ? DOMID_SELF : gen_domid();
        break;
    case __HYPERVISOR_sched_op:
        gen_sched_op(c, false);
        break;
    case __HYPERVISOR_callback_op: {
        struct callback_register *r = a_alloc(sizeof(*r));
        if (r) {
            r->type = (uint16_t)(chance(90) ? below(8) : rnd());
            r->flags = (uint16_t)rnd();
            r->address = chance(20) ? 0 : bad_ptr();
        }
        c->a[0] = chance(90) ? below(3) : rnd();
        c->a[1] = ptr_for(r);
        undo |= UNDO_CB;
        break;
    }
    case __HYPERVISOR_event_channel_op:
        gen_evtchn_op(c);
        break;
    case __HYPERVISOR_domctl:
        gen_priv_op(c, 0x15);
        break;
    case __HYPERVISOR_sysctl:
        gen_priv_op(c, 0x15);
        break;
    case __HYPERVISOR_platform_op:
        gen_priv_op(c, 0x03);
        break;
    case __HYPERVISOR_grant_table_op:
        c->a[0] = chance(90) ? below(16) : rnd();
        c->a[1] = gen_buf_ptr(256);
        c->a[2] = gen_count(4);
        if (c->a[2] > 4 && chance(90))
            c->a[1] = bad_ptr();
        break;
    default:
        /* physdev, hvm, nmi, xsm, kexec, dm_op, hypfs, ...: a small command,
         * a structure of plausible words, a count */
        c->a[0] = chance(60) ? below(32) : (chance(70) ? gen_buf_ptr(256) : rnd());
        c->a[1] = gen_buf_ptr(256);
        c->a[2] = chance(50) ? gen_count(4) : gen_word();
        c->a[3] = gen_word();
        c->a[4] = gen_word();
        c->a[5] = gen_word();
        if (c->a[2] > 4 && c->a[2] < 0x10000)
            c->a[2] = 4;
        break;
    }
}

/* ---- undo ------------------------------------------------------------------------ */

/* Puts every victim and guard PTE back; a slot whose frame is gone or
 * retyped is unpinned once, then given up (left not present). */
static void restore_slots(void)
{
    for (unsigned int k = 0; k <= VICTIMS; k++) {
        struct slot *s = &slots[k];
        uint64_t want = s->dead ? 0 : s->orig;

        if (*s->cur == want)
            continue;
        if (pte_write(s->ma, want) == 0)
            continue;
        if (k < VICTIMS) {
            struct mmuext_op op = { .cmd = MMUEXT_UNPIN_TABLE };
            op.arg1.mfn = victim_mfn[k];
            (void)HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
            if (pte_write(s->ma, want) == 0)
                continue;
        }
        stat_restore_fail++;
        s->dead = true;
        if (pte_write(s->ma, 0)) {
            put_s("fuzz: cannot clear the PTE of slot ");
            put_dec(k);
            put_s(" (it maps ");
            put_hex(*s->cur);
            put_s(")");
            line_end();
        }
    }
}

/* The arena's PTEs must never change: a change is a fuzzer bug (some
 * generator let a write reach them) or a hypervisor bug.  Prints it and
 * puts the PTE back; true if all was well. */
static bool arena_check(unsigned long idx, const struct call *c)
{
    bool ok = true;

    for (unsigned int k = 0; k < ARENA_PAGES; k++) {
        if (*arena_pte[k] == arena_orig[k])
            continue;
        ok = false;
        put_s("fuzz: #");
        put_dec((long)idx);
        put_s(" nr=");
        put_dec((long)c->nr);
        put_s(" changed arena page ");
        put_dec(k);
        put_s(" PTE to ");
        put_hex(*arena_pte[k]);
        line_end();
        (void)pte_write(arena_ma[k], arena_orig[k]);
    }
    return ok;
}

static void undo_all(void)
{
    if (undo & UNDO_SLOTS)
        restore_slots();
    if (undo & UNDO_TRAPS)
        (void)HYPERVISOR_set_trap_table(NULL);
    if (undo & UNDO_CB)
        (void)HYPERVISOR_set_callbacks(0, 0, 0);
    if (undo & UNDO_STACK)
        (void)HYPERVISOR_stack_switch(FLAT_KSS, (unsigned long)hostile_stack_top);
    if (undo & UNDO_FPU)
        (void)HYPERVISOR_fpu_taskswitch(0);
    if (undo & UNDO_DR)
        (void)HYPERVISOR_set_debugreg(7, 0);
    undo = 0;
}

/* Keeps the frames populate_physmap gave us (unprotected, usable). */
static void harvest(const struct call *c, long rc)
{
    const struct xen_memory_reservation *r = (const void *)c->a[1];
    const xen_pfn_t *l;

    if (c->nr != __HYPERVISOR_memory_op || rc <= 0 ||
        ((c->a[0] & 63) != XENMEM_populate_physmap && (c->a[0] & 63) != XENMEM_increase_reservation) ||
        (uint64_t)r < (uint64_t)arena || (uint64_t)r >= ARENA_END - sizeof(*r) ||
        (r->domid != DOMID_SELF && r->domid != self_id))
        return;
    l = r->extent_start.p;
    if ((uint64_t)l < (uint64_t)arena || (uint64_t)l >= ARENA_END)
        return;
    for (long i = 0; i < rc && (uint64_t)&l[i + 1] <= ARENA_END; i++) {
        if (is_protected(l[i]) || is_owned(l[i]) || l[i] >= max_mfn)
            continue;       /* not a frame the hypervisor just gave us */
        set_owned(l[i]);
        if (nfresh < MAX_FRESH)
            fresh[nfresh++] = l[i];
        else
            fresh[below(MAX_FRESH)] = l[i];
    }
}

/* ---- set-up ------------------------------------------------------------------------ */

static const uint64_t *own_table(unsigned long mfn)
{
    const unsigned long *m2p = (const unsigned long *)HV_M2P_BASE;
    unsigned long pfn = m2p[mfn];

    if (pfn >= si->nr_pages || own_mfn(pfn) != mfn)
        return NULL;
    return (const uint64_t *)(HV_VIRT_BASE + (pfn << 12));
}

static void add_pt(unsigned long mfn)
{
    if (npt < MAX_PT && !is_pt(mfn))
        pt_mfn[npt++] = mfn;
}

static bool fuzz_setup(void)
{
    const unsigned long *m2p = (const unsigned long *)HV_M2P_BASE;
    const uint64_t *l4 = (const uint64_t *)si->pt_base, *l3, *l2;
    struct walk w;
    unsigned long i, mfn, seen = 0;
    long rc;

    max_mfn = (unsigned long)HYPERVISOR_memory_op(XENMEM_maximum_ram_page, NULL);
    if ((long)max_mfn <= 0 || max_mfn > OWN_BITS)
        max_mfn = OWN_BITS;
    shinfo_mfn = si->shared_info >> 12;
    for (i = 0; i < si->nr_pages; i++) {
        set_protected(own_mfn(i), true);
        set_owned(own_mfn(i));
    }

    /* Our page tables: L4, the L3 and L2 of our image, every L1 in it. */
    l4_mfn = va_to_mfn(l4);
    l4_ma = l4_mfn << 12;
    add_pt(l4_mfn);
    if (!(l4[511] & HV_PTE_P) || !(l3 = own_table((l4[511] & HV_PTE_MFN) >> 12)))
        return false;
    add_pt((l4[511] & HV_PTE_MFN) >> 12);
    if (!(l3[510] & HV_PTE_P) || !(l2 = own_table((l3[510] & HV_PTE_MFN) >> 12)))
        return false;
    l2_mfn = (l3[510] & HV_PTE_MFN) >> 12;
    add_pt(l2_mfn);
    for (i = 0; i < 512; i++)
        if (l2[i] & HV_PTE_P) {
            add_pt((l2[i] & HV_PTE_MFN) >> 12);
            l2_used = i + 1;
        }
    if (l2_used >= 384)
        return false;

    /* Victim pages and the guard: their PTEs are fair game. */
    for (i = 0; i <= VICTIMS; i++) {
        unsigned long va = i < VICTIMS ? (unsigned long)victim + i * PAGE : ARENA_END;
        const uint64_t *l1;
        if (!pt_walk(va, &w) || !(l1 = own_table(w.l1_mfn)))
            return false;
        slots[i] = (struct slot){ .va = va, .ma = w.l1e_ma, .orig = w.l1e,
                                  .cur = &l1[(va >> 12) & 511] };
        if (i < VICTIMS) {
            victim_mfn[i] = (w.l1e & HV_PTE_MFN) >> 12;
            set_protected(victim_mfn[i], false);
        }
    }
    for (i = 0; i < ARENA_PAGES; i++) {
        unsigned long va = (unsigned long)arena + i * PAGE;
        const uint64_t *l1;
        if (!pt_walk(va, &w) || !(l1 = own_table(w.l1_mfn)))
            return false;
        arena_pte[i] = &l1[(va >> 12) & 511];
        arena_orig[i] = w.l1e;
        arena_ma[i] = w.l1e_ma;
    }
    rc = HYPERVISOR_update_va_mapping(ARENA_END, 0, UVMF_INVLPG);
    if (rc)
        return false;
    slots[VICTIMS].orig = 0;

    /* Spare frames: ours, unmapped, free to be written, pinned or freed. */
    while (nspare < SPARES && (mfn = mem_take()) != ~0UL && !is_pt(own_mfn(mfn))) {
        spare_mfn[nspare] = own_mfn(mfn);
        set_protected(spare_mfn[nspare++], false);
    }

    /* Other domains' frames: the M2P knows them; keep an even spread. */
    for (mfn = 0x100; mfn < max_mfn; mfn++) {
        unsigned long pfn = m2p[mfn];
        if (pfn == ~0UL || is_protected(mfn) || mfn == shinfo_mfn || pfn > (1UL << 24))
            continue;
        for (i = 0; i < nspare && spare_mfn[i] != mfn; i++)
            ;
        if (i < nspare)
            continue;
        seen++;
        if (nforeign < MAX_FOREIGN)
            foreign[nforeign++] = mfn;
        else if (below(seen) < MAX_FOREIGN)
            foreign[below(MAX_FOREIGN)] = mfn;
    }

    /* Hypervisor frames: the M2P's L3, the image at 1 MiB, low memory. */
    if (l4[256] & HV_PTE_P)
        hv_mfn[nhv++] = (l4[256] & HV_PTE_MFN) >> 12;
    hv_mfn[nhv++] = 0x100;
    hv_mfn[nhv++] = 0x101;
    hv_mfn[nhv++] = 0x180;
    hv_mfn[nhv++] = 0x9f;
    hv_mfn[nhv++] = 0;
    return true;
}

/* ---- main loop -------------------------------------------------------------------- */

static void print_call(unsigned long idx, const struct call *c)
{
    put_s("fuzz: #");
    put_dec((long)idx);
    put_s(" nr=");
    put_dec((long)c->nr);
    for (unsigned int i = 0; i < 6; i++) {
        put_s(" ");
        put_hex(c->a[i]);
    }
    line_end();
    /* the entries of a multicall list of ours */
    if (c->nr == __HYPERVISOR_multicall && c->a[0] >= (uint64_t)arena && c->a[0] < ARENA_END) {
        const struct multicall_entry *m = (const void *)c->a[0];
        for (uint64_t k = 0; k < c->a[1] && k < 16; k++) {
            put_s("fuzz:   op ");
            put_dec((long)m[k].op);
            for (unsigned int j = 0; j < 6; j++) {
                put_s(" ");
                put_hex(m[k].args[j]);
            }
            line_end();
        }
    }
    /* the entries of an mmu_update list of ours */
    if (c->nr == __HYPERVISOR_mmu_update && c->a[0] >= (uint64_t)arena && c->a[0] < ARENA_END) {
        const struct mmu_update *u = (const void *)c->a[0];
        for (uint64_t k = 0; k < c->a[1] && k < 64 && (uint64_t)&u[k + 1] <= ARENA_END; k++) {
            put_s("fuzz:   ptr ");
            put_hex(u[k].ptr);
            put_s(" val ");
            put_hex(u[k].val);
            line_end();
        }
    }
}

unsigned int fuzz_main(void)
{
    uint64_t seed = cmdline_num("seed", 1);
    unsigned long calls = cmdline_num("calls", 1000000);
    unsigned long trace_from = cmdline_num("trace_from", ~0UL);
    uint64_t slow_ns = cmdline_num("slow_ms", 50) * 1000000ULL;
    uint64_t t0, t1;

    self_id = (unsigned int)cmdline_num("self", 1);
    rng_seed(&R, seed);
    clock_init();
    put_s("fuzz: seed ");
    put_dec((long)seed);
    put_s(", ");
    put_dec((long)calls);
    put_s(" calls (reproduce with seed=");
    put_dec((long)seed);
    put_s(")");
    line_end();
    if (!fuzz_setup()) {
        put_s("fuzz: setup FAILED");
        line_end();
        return SHUTDOWN_crash;
    }
    put_s("fuzz: ");
    put_dec((long)nforeign);
    put_s(" foreign frames, ");
    put_dec((long)npt);
    put_s(" page tables, ");
    put_dec((long)nspare);
    put_s(" spare frames, max_mfn ");
    put_hex(max_mfn);
    line_end();

    t0 = now_ns();
    for (unsigned long i = 0; i < calls; i++) {
        struct call c;
        long rc;

        bump = 0;
        nested = false;
        gen_call(&c);
        if (i >= trace_from)
            print_call(i, &c);
        t1 = now_ns();
        rc = _hypercall6(c.nr, (long)c.a[0], (long)c.a[1], (long)c.a[2], (long)c.a[3],
                         (long)c.a[4], (long)c.a[5]);
        t1 = now_ns() - t1;
        if (t1 > slow_ns) {
            /* wall time, so preemption by other domains counts too */
            put_s("fuzz: slow call: ");
            line_end();
            print_call(i, &c);
            put_s("fuzz: #");
            put_dec((long)i);
            put_s(" took ");
            put_dec((long)(t1 / 1000));
            put_s(" us, rc=");
            put_dec(rc);
            line_end();
        }
        stat_calls++;
        if (c.nr < 64)
            stat_by_nr[c.nr]++;
        if (rc >= 0)
            stat_ok++;
        harvest(&c, rc);
        undo_all();
        (void)arena_check(i, &c);
        if (i >= trace_from) {
            put_s("fuzz: #");
            put_dec((long)i);
            put_s(" rc=");
            put_dec(rc);
            line_end();
        }
        if ((i + 1) % 50000 == 0) {
            put_s("fuzz: progress ");
            put_dec((long)(i + 1));
            put_s(" calls, ");
            put_dec((long)((now_ns() - t0) / 1000000));
            put_s(" ms, ");
            put_dec((long)stat_ok);
            put_s(" succeeded, ");
            put_dec((long)stat_entries);
            put_s(" multicall entries, ");
            put_dec((long)nfresh);
            put_s(" fresh frames, ");
            put_dec((long)stat_restore_fail);
            put_s(" slots lost");
            line_end();
        }
    }
    put_s("fuzz: done in ");
    put_dec((long)((now_ns() - t0) / 1000000));
    put_s(" ms; calls by number:");
    for (unsigned int n = 0; n < 64; n++)
        if (stat_by_nr[n] && n < 40) {
            put_s(" ");
            put_dec(n);
            put_s(":");
            put_dec((long)stat_by_nr[n]);
        }
    line_end();
    put_s("fuzz: ");
    put_dec((long)stat_calls);
    put_s(" hypercalls");
    line_end();
    return SHUTDOWN_poweroff;
}
