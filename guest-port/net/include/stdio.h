/*
 * stdio.h - what lwIP's httpd takes from stdio: snprintf, over the guest
 * kernel's kvsnprintf (guest-port/net/sys_arch.c).  Only on lwIP's
 * include path.
 */
#ifndef LAMINA_LWIP_STDIO_H
#define LAMINA_LWIP_STDIO_H

#include <stddef.h>

int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
