/*
 * lib.c - freestanding string and memory helpers for the guest kernel.
 * Runs in the guest kernel, any context.  GCC may emit calls to memset,
 * memcpy, memmove and memcmp itself, so these carry the standard names.
 */
#include "kernel.h"

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

typedef uint64_t __attribute__((may_alias)) u64_alias;

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    /* Quadwords while both can be aligned alike (packets and pages). */
    if (n >= 16 && (((uintptr_t)dp ^ (uintptr_t)sp) & 7) == 0) {
        while ((uintptr_t)dp & 7) {
            *dp++ = *sp++;
            n--;
        }
        for (; n >= 8; n -= 8, dp += 8, sp += 8)
            *(u64_alias *)(void *)dp = *(const u64_alias *)(const void *)sp;
    }
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp) {
        while (n--)
            *dp++ = *sp++;
    } else {
        while (n--)
            dp[n] = sp[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

void strlcpy_k(char *d, const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n && s[i]; i++)
        d[i] = s[i];
    d[i] = '\0';
}

/* The start of the value of the word `key` in cmdline, or NULL. */
static const char *cmdline_value(const char *cmdline, const char *key)
{
    size_t len = strlen(key);
    const char *p = cmdline;

    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!strncmp(p, key, len))
            return p + len;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    return NULL;
}

uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t dflt)
{
    const char *d = cmdline_value(cmdline, key);
    uint64_t v = 0;

    if (!d || *d < '0' || *d > '9')
        return dflt;
    for (; *d >= '0' && *d <= '9'; d++)
        if (v < (1ULL << 63) / 10)
            v = v * 10 + (uint64_t)(*d - '0');
    return v;
}

size_t cmdline_str(const char *cmdline, const char *key, char *buf, size_t n)
{
    const char *d = cmdline_value(cmdline, key);
    size_t i = 0;

    for (; d && *d && *d != ' ' && *d != '\t' && i + 1 < n; d++)
        buf[i++] = *d;
    if (n)
        buf[i] = 0;
    return i;
}

bool cmdline_has(const char *cmdline, const char *opt)
{
    size_t len = strlen(opt);
    const char *p = cmdline;

    if (!p || !len)
        return false;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - w) == len && !strncmp(w, opt, len))
            return true;
        if (opt[len - 1] == '=' && (size_t)(p - w) >= len && !strncmp(w, opt, len))
            return true;
    }
    return false;
}
