/*
 * pv/time.h - the PV clock (vcpu_time_info in shared_info).
 *
 * Runs in a PV guest kernel.  Xen publishes, per vCPU, a TSC stamp and the
 * system time (ns since the hypervisor's boot) at that stamp, with a fixed
 * point scale:  now = system_time + ((tsc - tsc_timestamp) << / >> tsc_shift)
 * * tsc_to_system_mul / 2^32.  `version` is odd while Xen updates the record;
 * a reader retries until it sees the same even version before and after.
 */
#ifndef PV_TIME_H
#define PV_TIME_H

#include <stdint.h>
#include <lamina/xen.h>

_Static_assert(offsetof(struct vcpu_time_info, tsc_timestamp) == 8, "tsc_timestamp");
_Static_assert(offsetof(struct vcpu_time_info, system_time) == 16, "system_time");
_Static_assert(offsetof(struct vcpu_time_info, tsc_to_system_mul) == 24, "tsc_to_system_mul");
_Static_assert(offsetof(struct vcpu_time_info, tsc_shift) == 28, "tsc_shift");

/* Scales a TSC delta to ns with Xen's (mul, shift) pair. */
uint64_t pv_time_scale_delta(uint64_t delta, uint32_t mul, int8_t shift);

/* Reads the system time in ns (Xen's clock: ns since the hypervisor booted)
 * from t, following the version protocol.  Never fails. */
uint64_t pv_time_system_ns(const volatile struct vcpu_time_info *t);

/* Reads the wall-clock base (seconds, ns) published in shared_info: the
 * UTC time at system time 0.  Follows wc_version. */
void pv_time_wallclock(const volatile struct shared_info *s, uint64_t *sec, uint32_t *nsec);

#endif /* PV_TIME_H */
