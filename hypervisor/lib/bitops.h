/*
 * bitops.h - locked bit operations on 64-bit words shared with guests
 * (event-channel bitmaps): atomic with respect to a guest writing the same
 * words at the same time.  Not privileged; x86-64 only (inline assembly in
 * the hypervisor and in host unit tests alike).
 */
#ifndef LAMINA_BITOPS_H
#define LAMINA_BITOPS_H

#include <stdbool.h>
#include <stdint.h>


/* Atomically sets bit nr of the bitmap at base; returns its old value. */
static inline bool guest_test_and_set_bit(unsigned int nr, volatile uint64_t *base)
{
    volatile uint64_t *w = base + nr / 64;
    bool old;

    __asm__ __volatile__("lock btsq %2, %1"
                         : "=@ccc"(old), "+m"(*w)
                         : "r"((uint64_t)(nr % 64))
                         : "memory");
    return old;
}

/* Atomically clears bit nr of the bitmap at base; returns its old value. */
static inline bool guest_test_and_clear_bit(unsigned int nr, volatile uint64_t *base)
{
    volatile uint64_t *w = base + nr / 64;
    bool old;

    __asm__ __volatile__("lock btrq %2, %1"
                         : "=@ccc"(old), "+m"(*w)
                         : "r"((uint64_t)(nr % 64))
                         : "memory");
    return old;
}

/* Bit nr of the bitmap at base (a plain read). */
static inline bool guest_test_bit(unsigned int nr, const volatile uint64_t *base)
{
    return (base[nr / 64] >> (nr % 64)) & 1;
}

#endif
