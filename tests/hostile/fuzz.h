/*
 * fuzz.h - the long-running modes of the hostile PV kernel (issue 10) and
 * what they share: mode=fuzz (fuzz.c), mode=canary and mode=heartbeat
 * (watch.c), mode=stall (stall.c), and the environment of henv.c (command
 * line numbers, a seeded PRNG, the PV clock, a timed sleep, mapping more of
 * our own memory).  Runs in the PV guest kernel, ring 3, events masked.
 */
#ifndef HOSTILE_FUZZ_H
#define HOSTILE_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <lamina/xen.h>

#define HV_VIRT_BASE  0xffffffff80000000UL    /* our image, pseudo-physical frame 0 */
#define HV_M2P_BASE   0xffff800000000000UL    /* the read-only M2P */
#define HV_PTE_P      0x001UL
#define HV_PTE_RW     0x002UL
#define HV_PTE_A      0x020UL
#define HV_PTE_D      0x040UL
#define HV_PTE_PSE    0x080UL
#define HV_PTE_MFN    0x000ffffffffff000UL

/* ---- the modes: each returns the SHUTDOWN_* reason to end with --------- */

/* Runs the mode the command line names (mode=fuzz|canary|heartbeat|stall):
 * true, with *reason set, if it named one of these; false otherwise. */
bool modes_run(unsigned int *reason);

/* mode=fuzz seed=N calls=N: the hypercall fuzzer (fuzz.c). */
unsigned int fuzz_main(void);
/* mode=canary seed=N mib=N period_ms=N: memory pattern checker (watch.c). */
unsigned int canary_main(void);
/* mode=heartbeat watch=D limit=S idle_ms=N: dom0's 10 ms timer loop (watch.c). */
unsigned int heartbeat_main(void);
/* mode=stall rounds=N: huge non-preemptible batches (stall.c). */
unsigned int stall_main(void);

/* ---- henv.c ------------------------------------------------------------ */

/* The number after "key=" on the command line (decimal or 0x-hex), or dflt
 * when key is absent or has no digits. */
uint64_t cmdline_num(const char *key, uint64_t dflt);

/* splitmix64 step: the next value of the sequence seeded by *state. */
uint64_t splitmix64(uint64_t *state);

/* xorshift64* generator; seed it with rng_seed(), never state 0. */
struct rng { uint64_t s; };
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n) { return rng_next(r) % n; }

/* Maps shared_info read-only (once); then now_ns() reads the PV clock:
 * system time in ns. */
void clock_init(void);
uint64_t now_ns(void);
/* Blocks (SCHEDOP_poll, no ports) until system time deadline_ns. */
void sleep_until(uint64_t deadline_ns);

/* Our own M2P view: the MFN of pseudo-physical frame pfn. */
unsigned long own_mfn(unsigned long pfn);

/*
 * Maps npages fresh virtual pages above our image to the frames
 * mfn_of(ctx, i), writable, building L1 tables from our unused frames.
 * Returns the base VA (2 MiB aligned), or 0 when we run out of frames or
 * a hypercall fails (printed).  Frames for L1 tables and for mem_take() come
 * from the same pool: pseudo-physical frames the boot mapping leaves out.
 */
unsigned long mem_map(unsigned long npages, unsigned long (*mfn_of)(void *ctx, unsigned long i),
                      void *ctx);
/* Takes one unused, unmapped frame of ours: its pfn, or ~0UL when none. */
unsigned long mem_take(void);
/* Frames left in the pool. */
unsigned long mem_left(void);

#endif /* HOSTILE_FUZZ_H */
