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

static inline uint16_t pio_inw(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void pio_outw(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

/* PCI configuration space of bus 0, function 0 of slot dev (0-31), by
 * mechanism #1 (0xcf8 address, 0xcfc data), 32-bit registers. */
#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc
static inline uint32_t pci_conf_read(unsigned int dev, unsigned int reg)
{
    pio_outl(PCI_CONF_ADDR, 0x80000000u | dev << 11 | (reg & 0xfc));
    return pio_inl(PCI_CONF_DATA);
}

static inline void pci_conf_write(unsigned int dev, unsigned int reg, uint32_t v)
{
    pio_outl(PCI_CONF_ADDR, 0x80000000u | dev << 11 | (reg & 0xfc));
    pio_outl(PCI_CONF_DATA, v);
}

#endif /* AGENT_PIO_H */
