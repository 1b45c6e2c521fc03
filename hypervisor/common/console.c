/*
 * console.c - the hypervisor's COM1 console (16550 at 0x3f8, 115200 8N1).
 *
 * Runs in ring 0 with interrupts off.  Hypervisor lines carry "(XEN) ";
 * each domain's console_io output is collected into whole lines and printed
 * with "(dN) ", so lines from different domains never tear.  Everything
 * printed is also kept in the log ring (conring.c, XEN_SYSCTL_readconsole).
 */
#include "lib/lib.h"
#include "arch/x86/x86.h"
#include "common/sched.h"
#include "common/hv.h"

#define COM1 0x3f8

static bool at_line_start = true;

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* no interrupts */
    outb(COM1 + 3, 0x80);   /* DLAB */
    outb(COM1 + 0, 0x01);   /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0xc7);   /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);
}

static void serial_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    if (c != '\r')
        conring_putc(c);
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, (uint8_t)c);
}

static void serial_puts(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}

void vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n > (int)sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    for (int i = 0; i < n; i++) {
        if (at_line_start)
            serial_puts("(XEN) ", 6);
        serial_putc(buf[i]);
        at_line_start = buf[i] == '\n';
    }
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    cli();
    printk("\n**** PANIC: ");
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    machine_poweroff(POWEROFF_PANIC);
}

static void con_flush(struct domain *d)
{
    char pfx[12];
    int n = snprintf(pfx, sizeof(pfx), "(d%u) ", d->domain_id);
    if (!at_line_start)
        serial_putc('\n');
    serial_puts(pfx, n);
    serial_puts(d->con_buf, d->con_len);
    serial_putc('\n');
    at_line_start = true;
    d->con_len = 0;
}

void domain_console_write(struct domain *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n') {
            con_flush(d);
            continue;
        }
        if (c == '\r')
            continue;
        if ((unsigned char)c < 0x20 && c != '\t')
            c = '.';
        d->con_buf[d->con_len++] = c;
        if (d->con_len == sizeof(d->con_buf))
            con_flush(d);
    }
}

void domain_console_flush(struct domain *d)
{
    if (d->con_len)
        con_flush(d);
}
