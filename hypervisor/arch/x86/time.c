/*
 * time.c - system time (TSC scaled to ns, calibrated against the PIT), the
 * local APIC one-shot timer, and the PV clock each vCPU reads from its
 * vcpu_time_info (Xen public/xen.h: version, tsc_timestamp, system_time,
 * tsc_to_system_mul, tsc_shift).  Runs in ring 0 with interrupts off.
 */
#include "common/hv.h"
#include "arch/x86/cpu.h"

#define LAPIC_BASE      (DIRECTMAP_VIRT_START + 0xfee00000UL)
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TMICT     0x380
#define LAPIC_TMCCT     0x390
#define LAPIC_TDCR      0x3e0

uint64_t tsc_khz;
static uint64_t apic_khz;
static bool tsc_deadline;       /* LAPIC timer in TSC-deadline mode */
static uint64_t ns_to_tsc_mul;  /* TSC ticks per ns, 32.32 fixed point */
static uint64_t tsc_boot;
static uint32_t scale_mul;      /* ns = ((delta << shift) * mul) >> 32 */
static int8_t scale_shift;

static inline uint32_t lapic_read(unsigned int reg)
{
    return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

static inline void lapic_write(unsigned int reg, uint32_t v)
{
    *(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

/* Chooses (mul, shift) so that ns = ((ticks << shift) * mul) >> 32 for a
 * clock of hz ticks per second: normalise hz into (1e9, 2e9], then mul is
 * the 32-bit fraction 1e9 / normalised hz. */
static void compute_scale(uint64_t hz, uint32_t *mul, int8_t *shift)
{
    int s = 0;
    while (hz > 2000000000ULL) {
        hz >>= 1;
        s--;
    }
    while (hz <= 1000000000ULL) {
        hz <<= 1;
        s++;
    }
    *mul = (uint32_t)((1000000000ULL << 32) / hz);
    *shift = (int8_t)s;
}

static uint64_t scale_delta(uint64_t delta)
{
    if (scale_shift < 0)
        delta >>= -scale_shift;
    else
        delta <<= scale_shift;
    return (uint64_t)(((unsigned __int128)delta * scale_mul) >> 32);
}

uint64_t NOW(void)
{
    return scale_delta(rdtsc() - tsc_boot);
}

/* Measures TSC and APIC-timer rates over 10 ms of PIT channel 2. */
static void calibrate(void)
{
    const uint16_t count = 11932;           /* 1193182 Hz / 100 */
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    lapic_write(LAPIC_TMICT, 0xffffffff);
    uint64_t t0 = rdtsc();
    while (!(inb(0x61) & 0x20))
        ;
    uint64_t t1 = rdtsc();
    uint32_t left = lapic_read(LAPIC_TMCCT);
    tsc_khz = (t1 - t0) / 10;
    apic_khz = (0xffffffffULL - left) / 10;
    if (!apic_khz)
        apic_khz = 1000000;
}

void time_init(void)
{
    /* Mask the legacy PICs; the local APIC timer is our only interrupt. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1UL << 11));
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    lapic_write(LAPIC_TDCR, 0xb);                   /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);     /* one-shot */
    calibrate();
    lapic_write(LAPIC_TMICT, 0);
    compute_scale(tsc_khz * 1000, &scale_mul, &scale_shift);
    tsc_boot = rdtsc();
    ns_to_tsc_mul = (tsc_khz << 32) / 1000000;
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (c & (1u << 24)) {
        tsc_deadline = true;
        lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | (2u << 17));
    }
    printk("time: TSC %lu kHz, APIC timer %lu kHz, %s mode\n",
           (unsigned long)tsc_khz, (unsigned long)apic_khz,
           tsc_deadline ? "TSC-deadline" : "one-shot");
}

static uint64_t timer_deadline;         /* ns; the last timer_program() */

bool timer_expired(void)
{
    return NOW() >= timer_deadline;
}

void timer_program(uint64_t deadline_ns)
{
    timer_deadline = deadline_ns;
    uint64_t now = NOW();
    if (tsc_deadline) {
        if (deadline_ns < now + 1000)
            deadline_ns = now + 1000;
        wrmsr(MSR_TSC_DEADLINE, tsc_boot +
              (uint64_t)(((unsigned __int128)deadline_ns * ns_to_tsc_mul) >> 32));
        return;
    }
    uint64_t delta = deadline_ns > now ? deadline_ns - now : 1000;
    uint64_t ticks = delta * apic_khz / 1000000;
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffULL)
        ticks = 0xffffffffULL;
    lapic_write(LAPIC_TMICT, (uint32_t)ticks);
}

void timer_interrupt(void)
{
    lapic_write(LAPIC_EOI, 0);
    sched_timer_tick();
}

void update_vcpu_time(struct vcpu *v)
{
    struct vcpu_time_info *t = &v->vcpu_info->time;
    t->version++;
    barrier();
    uint64_t tsc = rdtsc();
    t->tsc_timestamp = tsc;
    t->system_time = scale_delta(tsc - tsc_boot);
    t->tsc_to_system_mul = scale_mul;
    t->tsc_shift = scale_shift;
    barrier();
    t->version++;
}
