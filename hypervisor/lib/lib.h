/*
 * lib.h - the hypervisor's small C library: console output, string helpers,
 * assertions.  Runs in ring 0; host unit tests provide their own versions of
 * printk()/panic() (tests/unit/hv_stubs.c).
 */
#ifndef LAMINA_LIB_H
#define LAMINA_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bitops.h"

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* Compiler barrier: no memory access moves across it. */
#define barrier()   __asm__ __volatile__("" ::: "memory")

/* Formats to the hypervisor console with a "(XEN) " prefix at line starts.
 * Supports %d %i %u %x %lx %llx %ld %lu %p %s %c %%, width and '0' flag. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap);
/* vsnprintf into buf (size bytes, always NUL-terminated); returns the length
 * the full output would have had. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints the message, then halts the machine (powers QEMU off with status 1). */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define BUG_ON(c) do { if (unlikely(c)) panic("BUG_ON(%s) at %s:%d", #c, __FILE__, __LINE__); } while (0)
#define ASSERT(c) BUG_ON(!(c))

#ifndef LAMINA_HOST_TEST
void *memset(void *s, int c, size_t n);
/* Zeroes one page-aligned 4 KiB frame, 8 bytes a store (Xen's clear_page). */
void clear_page(void *page);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strncpy(char *d, const char *s, size_t n);
#else
#include <string.h>
#include <stdio.h>
#endif

#endif
