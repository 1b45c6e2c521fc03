/*
 * pio.h - x86 port I/O for dom0's toolstack agent.
 *
 * Runs in dom0 (the PV guest kernel, ring 3).  Each in/out faults into the
 * hypervisor, which emulates it once dom0 has PHYSDEVOP_set_iopl(1)
 * (docs/toolstack.md section 1); the hypervisor's own ports give #GP.
 */
#ifndef AGENT_PIO_H
#define AGENT_PIO_H

#include <stdint.h>

static inline uint8_t pio_inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void pio_outb(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t pio_inl(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void pio_outl(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

#endif /* AGENT_PIO_H */
