/*
 * sys_arch.c - what lwIP 2.1.3 needs of its platform with NO_SYS=1
 * (lwIP's doc/NO_SYS_SampleCode.c: sys_now only) and the few C library
 * functions its core and apps call beyond the guest kernel's library:
 * atoi, strcmp, strchr, strstr, snprintf; lwip_port_rand for LWIP_RAND.
 *
 * Runs in the guest kernel, in the thread that drives lwIP.
 */
#include "kernel.h"
#include "lwip/sys.h"

/* Milliseconds since boot (lwIP's timers). */
u32_t sys_now(void)
{
    return (u32_t)(arch_now_ns() / 1000000ULL);
}

/* xorshift64*, seeded from the clock on first use: DHCP xids, TCP initial
 * sequence numbers and ephemeral ports, not cryptography. */
uint32_t lwip_port_rand(void)
{
    static uint64_t x;

    if (!x)
        x = arch_now_ns() * 0x9E3779B97F4A7C15ULL | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

int atoi(const char *s)
{
    int v = 0, neg = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

int strcmp(const char *a, const char *b)
{
    for (; *a && *a == *b; a++, b++)
        ;
    return (unsigned char)*a - (unsigned char)*b;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strstr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (!strncmp(hay, needle, n))
            return (char *)hay;
    return n ? NULL : (char *)hay;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
