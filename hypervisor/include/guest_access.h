/*
 * guest_access.h - copying to and from guest virtual addresses.
 *
 * Runs in ring 0 while the current vCPU's page tables are loaded.  A guest
 * address range is rejected (-EFAULT) if it is non-canonical, overlaps the
 * hypervisor's range [HV_VIRT_START, HV_VIRT_END), or faults while copying
 * (the fault is caught by the exception-table fixup, never a hypervisor crash).
 * Host unit tests link their own implementation (tests/unit/hv_stubs.c).
 */
#ifndef LAMINA_GUEST_ACCESS_H
#define LAMINA_GUEST_ACCESS_H

#include "lib.h"

/* Both return 0 or -EFAULT. len is in bytes. */
int __must_check copy_from_guest(void *dst, uint64_t guest_src, size_t len);
int __must_check copy_to_guest(uint64_t guest_dst, const void *src, size_t len);
/* True if [va, va+len) is canonical and outside the hypervisor range. */
bool guest_range_ok(uint64_t va, size_t len);

#endif
