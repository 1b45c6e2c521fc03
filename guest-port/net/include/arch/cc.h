/*
 * arch/cc.h - lwIP's compiler and platform port for the Lamina guest
 * kernel (lwIP 2.1.3 doc/... "arch/cc.h"): freestanding, x86-64, little
 * endian; diagnostics go to the guest console, an assertion panics the
 * guest kernel.  Included by lwIP's arch.h only.
 */
#ifndef LAMINA_LWIP_ARCH_CC_H
#define LAMINA_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

/* The guest kernel's console and panic (guest-port/include/kernel.h). */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* A 32-bit pseudo-random number for DHCP transaction ids, TCP initial
 * sequence numbers and ports (guest-port/net/sys_arch.c). */
uint32_t lwip_port_rand(void);

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_LIMITS_H   1
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "lu"

#define BYTE_ORDER LITTLE_ENDIAN
#define LWIP_RAND() lwip_port_rand()
#define LWIP_PLATFORM_DIAG(x) do { kprintf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) panic("lwip: assertion \"%s\" failed at %s:%d", x, __FILE__, __LINE__)

#endif
