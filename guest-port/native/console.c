/*
 * console.c - the native console (16550 UART on COM1, polled) and
 * power-off through QEMU's isa-debug-exit device.
 * Runs in the guest kernel, any context.
 */
#include "cpu.h"
#include "kernel.h"
#include "native.h"

#define COM1        0x3f8
#define UART_THR    0       /* transmit holding register */
#define UART_IER    1
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define LSR_DR      0x01    /* receiver data ready */
#define LSR_THRE    0x20    /* transmitter holding register empty */

/* QEMU: -device isa-debug-exit,iobase=0x501,iosize=2 exits with status
 * (value << 1) | 1.  Clean power-off writes 0x10 (status 33), a crash
 * writes 0x11 (status 35); tools/native-boot maps them to 0 and 1. */
#define DEBUG_EXIT_PORT   0x501
#define DEBUG_EXIT_CLEAN  0x10
#define DEBUG_EXIT_CRASH  0x11

void native_serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80);        /* DLAB */
    outb(COM1 + 0, 0x01);               /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + UART_LCR, 0x03);        /* 8n1 */
    outb(COM1 + UART_FCR, 0xc7);
    outb(COM1 + UART_MCR, 0x03);
}

static void serial_putc(char c)
{
    for (unsigned spins = 0; !(inb(COM1 + UART_LSR) & LSR_THRE) && spins < 100000; spins++)
        cpu_pause();
    outb(COM1 + UART_THR, (uint8_t)c);
}

void arch_console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

/* Console input (kernel.h): polls COM1's receive register; no interrupt. */
size_t arch_console_read(char *buf, size_t n)
{
    size_t got = 0;

    while (got < n && (inb(COM1 + UART_LSR) & LSR_DR))
        buf[got++] = (char)inb(COM1 + UART_THR);    /* RBR: same offset */
    return got;
}

void native_puts(const char *s)
{
    arch_console_write(s, strlen(s));
}

void arch_poweroff(int code)
{
    cpu_cli();
    native_irq_on = false;
    outw(DEBUG_EXIT_PORT, code ? DEBUG_EXIT_CRASH : DEBUG_EXIT_CLEAN);
    /* No debug-exit device (real hardware, or a hypervisor without one). */
    native_puts(code ? "native: halted after a crash\n" : "native: halted\n");
    for (;;)
        cpu_hlt();
}
