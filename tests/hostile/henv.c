/*
 * henv.c - the environment the long-running modes of the hostile PV kernel
 * share (fuzz.h): mode dispatch, command-line numbers, a seeded PRNG, the
 * PV clock and a timed sleep, and mapping more of our own memory than the
 * boot mapping covers.  Runs in the PV guest kernel, ring 3, events masked
 * (nothing here unmasks them).
 */
#include <stdbool.h>
#include <stdint.h>
#include <pv/hypercall.h>
#include <pv/time.h>
#include "hostile.h"
#include "fuzz.h"

#define PAGE 4096UL

bool modes_run(unsigned int *reason)
{
    if (cmdline_has("mode=fuzz"))
        *reason = fuzz_main();
    else if (cmdline_has("mode=canary"))
        *reason = canary_main();
    else if (cmdline_has("mode=heartbeat"))
        *reason = heartbeat_main();
    else if (cmdline_has("mode=stall"))
        *reason = stall_main();
    else
        return false;
    return true;
}

/* ---- command line ------------------------------------------------------ */

uint64_t cmdline_num(const char *key, uint64_t dflt)
{
    const char *s = (const char *)si->cmd_line;
    size_t n = 0, i;

    while (key[n])
        n++;
    for (i = 0; i + n < sizeof(si->cmd_line) && s[i]; i++) {
        size_t k = 0;
        uint64_t v = 0;
        bool any = false;
        const char *p;

        if (i && s[i - 1] != ' ')
            continue;
        while (k < n && s[i + k] == key[k])
            k++;
        if (k != n || s[i + n] != '=')
            continue;
        p = s + i + n + 1;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            for (p += 2;; p++, any = true) {
                if (*p >= '0' && *p <= '9')
                    v = v * 16 + (uint64_t)(*p - '0');
                else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
                    v = v * 16 + (uint64_t)((*p | 0x20) - 'a' + 10);
                else
                    break;
            }
        } else {
            for (; *p >= '0' && *p <= '9'; p++, any = true)
                v = v * 10 + (uint64_t)(*p - '0');
        }
        return any ? v : dflt;
    }
    return dflt;
}

/* ---- PRNG ---------------------------------------------------------------- */

uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t st = seed;
    r->s = splitmix64(&st);
    if (!r->s)
        r->s = 1;
}

uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* ---- page tables and the frame pool ------------------------------------- */

static const unsigned long *const m2p = (const unsigned long *)HV_M2P_BASE;
static unsigned long pool_lo, pool_hi;      /* unused pfns: [pool_lo, pool_hi) */
static unsigned long map_next;              /* next VA mem_map() may use */
static bool mem_ready;
static uint8_t window[PAGE] __attribute__((aligned(4096)));
static uint8_t shinfo_slot[PAGE] __attribute__((aligned(4096)));
static volatile struct shared_info *shinfo;

unsigned long own_mfn(unsigned long pfn)
{
    return ((const unsigned long *)si->mfn_list)[pfn];
}

/* Our VA of one of our mapped table frames, or NULL. */
static const uint64_t *table_va(unsigned long mfn)
{
    unsigned long pfn = m2p[mfn];

    if (pfn >= si->nr_pages || own_mfn(pfn) != mfn)
        return NULL;
    return (const uint64_t *)(HV_VIRT_BASE + (pfn << 12));
}

/* The entry of level (1..4) that translates va, and its table's MFN in
 * *mfn; NULL if a level above is absent or a superpage. */
static const uint64_t *pt_entry(unsigned long va, int level, unsigned long *mfn)
{
    const uint64_t *t = (const uint64_t *)si->pt_base;
    unsigned long tm = va_to_mfn(t);
    int l;

    for (l = 4;; l--) {
        const uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
        if (l == level) {
            *mfn = tm;
            return e;
        }
        if (!(*e & HV_PTE_P) || (*e & HV_PTE_PSE))
            return NULL;
        tm = (*e & HV_PTE_MFN) >> 12;
        if (!(t = table_va(tm)))
            return NULL;
    }
}

static bool va_mapped(unsigned long va)
{
    unsigned long m;
    const uint64_t *e = pt_entry(va, 1, &m);
    return e && (*e & HV_PTE_P);
}

static void mem_init(void)
{
    unsigned long pfn, end = 0;

    if (mem_ready)
        return;
    /* The boot mapping may have holes: the pool starts above its last page. */
    for (pfn = 0; pfn < si->nr_pages; pfn++)
        if (va_mapped(HV_VIRT_BASE + (pfn << 12)))
            end = pfn + 1;
    pfn = end;
    pool_lo = pfn;
    pool_hi = si->nr_pages;
    map_next = (HV_VIRT_BASE + (pfn << 12) + (2UL << 20) - 1) & ~((2UL << 20) - 1);
    mem_ready = true;
}

unsigned long mem_take(void)
{
    mem_init();
    return pool_lo < pool_hi ? pool_lo++ : ~0UL;
}

unsigned long mem_left(void)
{
    mem_init();
    return pool_hi - pool_lo;
}

static void mem_fail(const char *what, long rc)
{
    put_s("hostile: mem_map: ");
    put_s(what);
    put_s(" rc=");
    put_dec(rc);
    line_end();
}

unsigned long mem_map(unsigned long npages, unsigned long (*mfn_of)(void *ctx, unsigned long i),
                      void *ctx)
{
    struct walk w;
    unsigned long base, va, done = 0, l2mfn, m;
    const uint64_t *l2e;
    uint64_t l1flags, l2flags;
    long rc;

    mem_init();
    if (!pt_walk((unsigned long)window, &w) ||
        !(l2e = pt_entry(HV_VIRT_BASE, 2, &m))) {
        mem_fail("walk of our own tables", -1);
        return 0;
    }
    l1flags = w.l1e & 0xfffUL;
    l2flags = *l2e & 0xfffUL & ~HV_PTE_PSE;
    /* Start at a 2 MiB boundary whose L2 slot is free. */
    while ((l2e = pt_entry(map_next, 2, &l2mfn)) && (*l2e & HV_PTE_P))
        map_next += 2UL << 20;
    base = va = map_next;
    while (done < npages) {
        unsigned long l1pfn, l1mfn, j;
        uint64_t *t = (uint64_t *)window;

        l2e = pt_entry(va, 2, &l2mfn);
        if (!l2e || (*l2e & HV_PTE_P) || ((va >> 30) != (base >> 30))) {
            mem_fail("no room in the L2 of our image", -1);
            return 0;
        }
        if (pool_hi <= pool_lo) {
            mem_fail("out of frames for L1 tables", -1);
            return 0;
        }
        l1pfn = --pool_hi;
        l1mfn = own_mfn(l1pfn);
        rc = HYPERVISOR_update_va_mapping((unsigned long)window,
                                          (l1mfn << 12) | l1flags | HV_PTE_RW, UVMF_INVLPG);
        if (rc) {
            mem_fail("mapping an L1 frame in the window", rc);
            return 0;
        }
        for (j = 0; j < 512; j++, done++)
            t[j] = done < npages ? (mfn_of(ctx, done) << 12) | l1flags | HV_PTE_RW : 0;
        rc = HYPERVISOR_update_va_mapping((unsigned long)window, w.l1e, UVMF_INVLPG);
        if (rc) {
            mem_fail("restoring the window", rc);
            return 0;
        }
        rc = pte_write((l2mfn << 12) + ((va >> 21) & 511) * 8, (l1mfn << 12) | l2flags);
        if (rc) {
            mem_fail("hooking a new L1 into the L2", rc);
            return 0;
        }
        va += 2UL << 20;
    }
    map_next = va;
    return base;
}

/* ---- clock --------------------------------------------------------------- */

void clock_init(void)
{
    struct walk w;
    long rc;

    if (shinfo)
        return;
    if (!pt_walk((unsigned long)shinfo_slot, &w)) {
        setup_fail("walk of the shared_info slot");
        return;
    }
    rc = HYPERVISOR_update_va_mapping((unsigned long)shinfo_slot,
                                      (si->shared_info & HV_PTE_MFN) |
                                      (w.l1e & 0xfffUL & ~(HV_PTE_RW | HV_PTE_D)),
                                      UVMF_INVLPG);
    if (rc) {
        put_s("hostile: mapping shared_info rc=");
        put_dec(rc);
        line_end();
        return;
    }
    shinfo = (volatile struct shared_info *)shinfo_slot;
}

uint64_t now_ns(void)
{
    return shinfo ? pv_time_system_ns(&shinfo->vcpu_info[0].time) : 0;
}

void sleep_until(uint64_t deadline_ns)
{
    struct sched_poll p = { .nr_ports = 0, .timeout = deadline_ns ? deadline_ns : 1 };

    set_xen_guest_handle(p.ports, NULL);
    (void)HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}
