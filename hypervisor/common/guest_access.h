/*
 * guest_access.h - copying to and from guest virtual addresses.
 *
 * Runs in ring 0 while the current vCPU's page tables are loaded.  A guest
 * address range is rejected (-EFAULT) if it is non-canonical, overlaps the
 * hypervisor's range [HV_VIRT_START, HV_VIRT_END), or faults while copying
 * (the fault is caught by the exception-table fixup, never a hypervisor crash).
 * Host unit tests supply their own copy functions; guest_range_ok is shared.
 */
#ifndef LAMINA_GUEST_ACCESS_H
#define LAMINA_GUEST_ACCESS_H

#include "lib/lib.h"
#include "arch/x86/x86.h"

/* entry.S: copies n bytes from src to dst, either of them possibly a guest
 * address (no range check: callers do it); returns how many bytes were NOT
 * copied because an access faulted (0: all). */
size_t raw_copy(void *dst, const void *src, size_t n);
#ifndef LAMINA_HOST_TEST
/* Reads the 4 bytes at src (no range check) into *dst; returns true, or
 * false when the load faulted (*dst unchanged: the #PF/#GP handler resumes
 * at `fault` through __ex_table).  One load, inline: the hot path of an
 * unmodified guest's trapped instruction. */
static inline bool raw_read_u32(uint32_t *dst, const void *src)
{
    uint32_t v;

    __asm__ goto("1: movl (%1), %0\n"
                 ".pushsection .ex_table, \"a\"\n"
                 ".quad 1b, %l[fault]\n"
                 ".popsection"
                 : "=r"(v) : "r"(src) : : fault);
    *dst = v;
    return true;
fault:
    return false;
}

/* raw_copy() of nq quadwords, inline (no call on the system-call bounce
 * and its return): true, or false when an access faulted (the copy stops
 * there; the fault resumes after the rep movsq through __ex_table). */
static inline bool raw_copy_quads(void *dst, const void *src, size_t nq)
{
    __asm__ __volatile__("1: rep movsq\n2:\n"
                         ".pushsection .ex_table, \"a\"\n"
                         ".quad 1b, 2b\n"
                         ".popsection"
                         : "+D"(dst), "+S"(src), "+c"(nq) : : "memory");
    return nq == 0;
}

/* Stores v at the guest address dst (no range check), one instruction
 * inline: true, or false when the store faulted (nothing written).  The
 * bounce frames are written this way, a quadword at a time, straight onto
 * the guest kernel's stack. */
static inline bool raw_put_u64(uint64_t *dst, uint64_t v)
{
    __asm__ goto("1: movq %1, (%0)\n"
                 ".pushsection .ex_table, \"a\"\n"
                 ".quad 1b, %l[fault]\n"
                 ".popsection"
                 : : "r"(dst), "r"(v) : "memory" : fault);
    return true;
fault:
    return false;
}
#else
static inline bool raw_copy_quads(void *dst, const void *src, size_t nq)
{
    return raw_copy(dst, src, nq * 8) == 0;
}

static inline bool raw_put_u64(uint64_t *dst, uint64_t v)
{
    return raw_copy(dst, &v, sizeof(v)) == 0;
}
#endif

/* Both return 0 or -EFAULT. len is in bytes. */
int __must_check copy_from_guest(void *dst, uint64_t guest_src, size_t len);
int __must_check copy_to_guest(uint64_t guest_dst, const void *src, size_t len);
/* True if [va, va+len) is canonical, in one canonical half, and outside
 * the hypervisor range.  Pure arithmetic: the hypervisor and the host unit
 * tests share this one definition. */
static inline bool guest_range_ok(uint64_t va, size_t len)
{
    uint64_t end = va + len;

    if (__builtin_expect(len == 0, 0))
        return canonical_addr(va) && !(va > HV_VIRT_START && va < HV_VIRT_END);
    /* A non-empty range that does not wrap is canonical, in one half and
     * clear of the hypervisor exactly when it lies wholly in the lower half
     * or wholly above HV_VIRT_END (the upper half starts at HV_VIRT_START). */
    return end > va && (end <= (1UL << 47) || va >= HV_VIRT_END);
}

#endif
