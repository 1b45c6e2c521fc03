/*
 * time.c - PV clock reads (vcpu_time_info / shared_info wallclock).
 * Runs in a PV guest kernel; lock-free readers of hypervisor-written data.
 */
#include <pv/time.h>

static inline uint64_t pv_rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

uint64_t pv_time_scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t pv_time_system_ns(const volatile struct vcpu_time_info *t)
{
    uint32_t version;
    uint64_t tsc_stamp, system_time, tsc;
    uint32_t mul;
    int8_t shift;

    do {
        version = t->version;
        __asm__ __volatile__("" ::: "memory");
        tsc_stamp = t->tsc_timestamp;
        system_time = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = pv_rdtsc();
        __asm__ __volatile__("" ::: "memory");
    } while ((version & 1) || version != t->version);

    return system_time + pv_time_scale_delta(tsc - tsc_stamp, mul, shift);
}

void pv_time_wallclock(const volatile struct shared_info *s, uint64_t *sec, uint32_t *nsec)
{
    uint32_t version;

    do {
        version = s->wc_version;
        __asm__ __volatile__("" ::: "memory");
        *sec = s->wc_sec | ((uint64_t)s->wc_sec_hi << 32);
        *nsec = s->wc_nsec;
        __asm__ __volatile__("" ::: "memory");
    } while ((version & 1) || version != s->wc_version);
}
