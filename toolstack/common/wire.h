/*
 * wire.h - pieces of the host <-> dom0 wire format (docs/toolstack.md
 * sections 4 and 5) that both ends need: the hex digits of percent-encoding
 * and the CRC-32 that guards bulk transfers.
 *
 * Header-only, so the same code is compiled into the host CLI (hosted C)
 * and into dom0's agent (freestanding): it uses no library function.
 */
#ifndef LAMINA_WIRE_H
#define LAMINA_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
static inline int wire_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320) of buf[0..n),
 * continuing from crc (0 to start): wire_crc32(wire_crc32(0, a, x), b, y)
 * equals the CRC of a followed by b.  The `crc=` of a `create` request.
 */
static inline uint32_t wire_crc32(uint32_t crc, const void *buf, size_t n)
{
    static uint32_t table[256];
    const uint8_t *p = buf;

    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#endif
