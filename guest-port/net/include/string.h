/*
 * string.h - the C string functions lwIP needs, from the guest kernel's
 * library (guest-port/core/lib.c).  Only on lwIP's include path
 * (guest-port/net/include), never the kernel's.
 */
#ifndef LAMINA_LWIP_STRING_H
#define LAMINA_LWIP_STRING_H

#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int strcmp(const char *a, const char *b);          /* these three: guest-port/net/sys_arch.c */
char *strchr(const char *s, int c);
char *strstr(const char *hay, const char *needle);

#endif
