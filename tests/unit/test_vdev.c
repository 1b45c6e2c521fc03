/*
 * test_vdev.c - host unit tests (cmocka) for the device models of
 * unmodified domains: hypervisor/vpic.c (8259A pair), hypervisor/vpit.c
 * (8254 + port 0x61) and hypervisor/vuart.c (16550A).  The guest-side
 * sequences are the ones guest-port/native/time.c and console.c execute.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../hypervisor/unmod/vpic.c"
#include "../../hypervisor/unmod/vpit.c"
#include "../../hypervisor/unmod/vuart.c"

/* ---- PIC -------------------------------------------------------------- */

/* pic_init() of guest-port/native/time.c, byte for byte. */
static void native_pic_init(struct vpic *p)
{
    vpic_write(p, 0x20, 0x11);
    vpic_write(p, 0xa0, 0x11);
    vpic_write(p, 0x21, 32);
    vpic_write(p, 0xa1, 40);
    vpic_write(p, 0x21, 4);
    vpic_write(p, 0xa1, 2);
    vpic_write(p, 0x21, 1);
    vpic_write(p, 0xa1, 1);
    vpic_write(p, 0x21, 0xfe);
    vpic_write(p, 0xa1, 0xff);
}

static void pulse(struct vpic *p, unsigned int irq)
{
    vpic_set_irq(p, irq, true);
    vpic_set_irq(p, irq, false);
}

static void test_pic_power_on(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    assert_int_equal(vpic_read(&p, 0x21), 0xfb);
    assert_int_equal(vpic_read(&p, 0xa1), 0xff);
    pulse(&p, 0);
    pulse(&p, 8);
    assert_int_equal(vpic_pending_vector(&p), -1);
    assert_false(vpic_intr(&p));
}

static void test_pic_native_irq0(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    assert_int_equal(vpic_read(&p, 0x21), 0xfe);
    assert_int_equal(vpic_read(&p, 0xa1), 0xff);
    assert_int_equal(vpic_pending_vector(&p), -1);
    pulse(&p, 0);
    assert_true(vpic_intr(&p));
    assert_int_equal(vpic_pending_vector(&p), 32);
    assert_int_equal(vpic_ack(&p), 32);
    assert_int_equal(vpic_pending_vector(&p), -1);
    assert_int_equal(vpic_ack(&p), -1);
    /* native_timer_irq's EOI, then the next shot. */
    vpic_write(&p, 0x20, 0x20);
    pulse(&p, 0);
    assert_int_equal(vpic_ack(&p), 32);
}

static void test_pic_mask_and_edge(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    pulse(&p, 1);                        /* masked: latched, not delivered */
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_write(&p, 0x21, 0xfc);          /* unmask IRQ1: the latched request shows */
    assert_int_equal(vpic_pending_vector(&p), 33);
    assert_int_equal(vpic_ack(&p), 33);
    vpic_write(&p, 0x20, 0x20);
    /* A line held high gives one request, not one per call. */
    vpic_set_irq(&p, 1, true);
    assert_int_equal(vpic_ack(&p), 33);
    vpic_write(&p, 0x20, 0x20);
    vpic_set_irq(&p, 1, true);
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_set_irq(&p, 1, false);
    vpic_set_irq(&p, 1, true);
    assert_int_equal(vpic_pending_vector(&p), 33);
}

static void test_pic_priority_eoi(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    vpic_write(&p, 0x21, 0x00);
    pulse(&p, 3);
    assert_int_equal(vpic_ack(&p), 35);
    pulse(&p, 3);                        /* equal priority: blocked */
    pulse(&p, 5);                        /* lower priority: blocked */
    assert_int_equal(vpic_pending_vector(&p), -1);
    pulse(&p, 1);                        /* higher priority nests */
    assert_int_equal(vpic_ack(&p), 33);
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_write(&p, 0x20, 0x20);          /* non-specific EOI ends IRQ1 */
    assert_int_equal(vpic_pending_vector(&p), -1);  /* IRQ3 still in service */
    vpic_write(&p, 0x20, 0x60 | 3);      /* specific EOI for IRQ3 */
    assert_int_equal(vpic_ack(&p), 35);
    vpic_write(&p, 0x20, 0x20);
    assert_int_equal(vpic_ack(&p), 37);
    vpic_write(&p, 0x20, 0x20);
    assert_int_equal(vpic_pending_vector(&p), -1);
}

static void test_pic_cascade(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    vpic_write(&p, 0xa1, 0x00);
    pulse(&p, 12);                       /* master IRQ2 still masked */
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_write(&p, 0x21, 0xfa);          /* unmask IRQ0 and the cascade */
    assert_int_equal(vpic_pending_vector(&p), 44);
    pulse(&p, 0);                        /* IRQ0 beats the cascade */
    assert_int_equal(vpic_ack(&p), 32);
    vpic_write(&p, 0x20, 0x20);
    assert_int_equal(vpic_ack(&p), 44);
    /* Master ISR bit 2 and slave ISR bit 4 are set. */
    vpic_write(&p, 0x20, 0x0b);
    assert_int_equal(vpic_read(&p, 0x20), 0x04);
    vpic_write(&p, 0xa0, 0x0b);
    assert_int_equal(vpic_read(&p, 0xa0), 0x10);
    pulse(&p, 8);                        /* blocked by the master's ISR bit 2 */
    assert_int_equal(vpic_pending_vector(&p), -1);
    pulse(&p, 0);                        /* higher priority than the cascade */
    assert_int_equal(vpic_pending_vector(&p), 32);
    assert_int_equal(vpic_ack(&p), 32);
    vpic_write(&p, 0x20, 0x20);          /* ends IRQ0 */
    assert_int_equal(vpic_pending_vector(&p), -1);
    vpic_write(&p, 0xa0, 0x20);
    vpic_write(&p, 0x20, 0x20);
    assert_int_equal(vpic_ack(&p), 40);
    /* irq 2 and out-of-range irqs are not inputs. */
    vpic_write(&p, 0xa0, 0x20);
    vpic_write(&p, 0x20, 0x20);
    pulse(&p, 2);
    pulse(&p, 16);
    assert_int_equal(vpic_pending_vector(&p), -1);
}

static void test_pic_ocw3_reads(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    pulse(&p, 0);
    pulse(&p, 6);                        /* masked, but visible in IRR */
    assert_int_equal(vpic_read(&p, 0x20), 0x41);     /* default: IRR */
    vpic_write(&p, 0x20, 0x0b);                      /* read ISR */
    assert_int_equal(vpic_read(&p, 0x20), 0x00);
    assert_int_equal(vpic_ack(&p), 32);
    assert_int_equal(vpic_read(&p, 0x20), 0x01);
    vpic_write(&p, 0x20, 0x0a);                      /* read IRR */
    assert_int_equal(vpic_read(&p, 0x20), 0x40);
    assert_int_equal(vpic_read(&p, 0x21), 0xfe);     /* data port: IMR */
    vpic_write(&p, 0x20, 0x20);
    /* Poll: the next read acknowledges. */
    pulse(&p, 0);
    vpic_write(&p, 0x20, 0x0c);
    assert_int_equal(vpic_read(&p, 0x20), 0x80);
    vpic_write(&p, 0x20, 0x0b);
    assert_int_equal(vpic_read(&p, 0x20), 0x01);
}

static void test_pic_icw1_resets_aeoi(void **state)
{
    struct vpic p;

    (void)state;
    vpic_init(&p);
    native_pic_init(&p);
    pulse(&p, 0);
    assert_int_equal(vpic_ack(&p), 32);
    pulse(&p, 0);
    /* ICW1 clears IRR, ISR and IMR. */
    vpic_write(&p, 0x20, 0x11);
    vpic_write(&p, 0x20, 0x0a);          /* harmless in init: OCW3 */
    vpic_write(&p, 0x21, 0x50);
    vpic_write(&p, 0x21, 4);
    vpic_write(&p, 0x21, 0x03);          /* ICW4: 8086, auto-EOI */
    assert_int_equal(vpic_read(&p, 0x21), 0x00);
    assert_int_equal(vpic_read(&p, 0x20), 0x00);
    assert_int_equal(vpic_pending_vector(&p), -1);
    pulse(&p, 1);
    assert_int_equal(vpic_ack(&p), 0x51);
    vpic_write(&p, 0x20, 0x0b);
    assert_int_equal(vpic_read(&p, 0x20), 0x00);     /* AEOI: no ISR */
    pulse(&p, 1);
    assert_int_equal(vpic_ack(&p), 0x51);            /* not blocked */
}

/* ---- PIT -------------------------------------------------------------- */

#define MS 1000000ULL

static void test_pit_ns_ticks(void **state)
{
    (void)state;
    assert_int_equal(ticks_to_ns(VPIT_HZ), 1000000000ULL);
    assert_int_equal(ns_to_ticks(1000000000ULL), VPIT_HZ);
    assert_int_equal(ticks_to_ns(1), 839);        /* 838.095 rounded up */
    for (uint64_t k = 1; k < 200000; k += 997) {
        uint64_t ns = ticks_to_ns(k);
        assert_true(ns_to_ticks(ns) >= k);
        assert_true(ns_to_ticks(ns - 1) < k);
    }
    /* No overflow after a day. */
    assert_int_equal(ns_to_ticks(86400ULL * 1000000000ULL), 86400ULL * VPIT_HZ);
}

/* pit_shot() of guest-port/native/time.c. */
static void native_pit_shot(struct vpit *t, uint16_t ticks, uint64_t now)
{
    vpit_write(t, 0x43, 0x30, now);
    vpit_write(t, 0x40, ticks & 0xff, now);
    vpit_write(t, 0x40, ticks >> 8, now + 100);
}

static void test_pit_mode0_deadline(void **state)
{
    struct vpit t;
    uint64_t t0 = 5 * MS, want = t0 + 100 + (11932ULL * 1000000000ULL + VPIT_HZ - 1) / VPIT_HZ;

    (void)state;
    vpit_init(&t);
    assert_int_equal(vpit_irq0_deadline(&t), 0);
    vpit_write(&t, 0x43, 0x30, t0);
    assert_int_equal(vpit_irq0_deadline(&t), 0);
    assert_false(vpit_out(&t, 0, t0));
    vpit_write(&t, 0x40, 11932 & 0xff, t0);
    assert_int_equal(vpit_irq0_deadline(&t), 0);     /* waits for the msb */
    vpit_write(&t, 0x40, 11932 >> 8, t0 + 100);
    assert_int_equal(vpit_irq0_deadline(&t), want);
    assert_in_range(want - t0, 10 * MS - 20000, 10 * MS + 20000);
    assert_false(vpit_irq0_expire(&t, want - 1));
    assert_false(vpit_out(&t, 0, want - 1));
    assert_true(vpit_irq0_expire(&t, want));
    assert_true(vpit_out(&t, 0, want));
    /* One shot per count write. */
    assert_int_equal(vpit_irq0_deadline(&t), 0);
    assert_false(vpit_irq0_expire(&t, want + 100 * MS));
    /* Writing the lsb of a new count stops a running mode-0 count. */
    native_pit_shot(&t, 1000, 150 * MS);
    assert_true(vpit_irq0_deadline(&t) != 0);
    vpit_write(&t, 0x40, 0x10, 150 * MS + 200);
    assert_int_equal(vpit_irq0_deadline(&t), 0);
    assert_false(vpit_out(&t, 0, 150 * MS + 200));
    assert_false(vpit_irq0_expire(&t, 190 * MS));
    vpit_write(&t, 0x40, 0x00, 190 * MS);
    assert_int_equal(vpit_irq0_deadline(&t), 190 * MS + ticks_to_ns(16));
    /* Count 0 is 65536. */
    native_pit_shot(&t, 0, 200 * MS);
    assert_int_equal(vpit_irq0_deadline(&t), 200 * MS + 100 + ticks_to_ns(65536));
    /* The smallest shot the kernel programs. */
    native_pit_shot(&t, 2, 300 * MS);
    assert_int_equal(vpit_irq0_deadline(&t), 300 * MS + 100 + 1677);
}

static void test_pit_periodic(void **state)
{
    struct vpit t;
    uint64_t t0 = 1000, period = ticks_to_ns(1193);   /* ~1 ms */

    (void)state;
    vpit_init(&t);
    vpit_write(&t, 0x43, 0x34, t0);                  /* ch0 lohi mode 2 */
    vpit_write(&t, 0x40, 1193 & 0xff, t0);
    vpit_write(&t, 0x40, 1193 >> 8, t0);
    assert_int_equal(vpit_irq0_deadline(&t), t0 + period);
    assert_true(vpit_out(&t, 0, t0));
    assert_true(vpit_irq0_expire(&t, t0 + period));
    assert_int_equal(vpit_irq0_deadline(&t), t0 + ticks_to_ns(2 * 1193));
    assert_false(vpit_irq0_expire(&t, t0 + period + 10));
    /* Three periods late: one edge, re-armed after now. */
    assert_true(vpit_irq0_expire(&t, t0 + ticks_to_ns(4 * 1193) + 5));
    assert_int_equal(vpit_irq0_deadline(&t), t0 + ticks_to_ns(5 * 1193));
    /* OUT low during the last tick of a period. */
    assert_false(vpit_out(&t, 0, t0 + ticks_to_ns(1192)));
    assert_true(vpit_out(&t, 0, t0 + ticks_to_ns(1193)));

    /* Mode 3, lsb only: square wave, rising every count ticks. */
    vpit_write(&t, 0x43, 0x16, t0);                  /* ch0 lsb mode 3 */
    assert_int_equal(vpit_irq0_deadline(&t), 0);
    vpit_write(&t, 0x40, 100, t0);
    assert_int_equal(vpit_irq0_deadline(&t), t0 + ticks_to_ns(100));
    assert_true(vpit_out(&t, 0, t0 + ticks_to_ns(49)));
    assert_false(vpit_out(&t, 0, t0 + ticks_to_ns(50)));
    assert_true(vpit_irq0_expire(&t, t0 + ticks_to_ns(100)));
    assert_int_equal(vpit_irq0_deadline(&t), t0 + ticks_to_ns(200));

    /* Mode 4: one strobe, OUT rises a tick after the count. */
    vpit_write(&t, 0x43, 0x18, t0);                  /* ch0 lsb mode 4 */
    vpit_write(&t, 0x40, 10, t0);
    assert_int_equal(vpit_irq0_deadline(&t), t0 + ticks_to_ns(11));
    assert_false(vpit_out(&t, 0, t0 + ticks_to_ns(10)));
    assert_true(vpit_irq0_expire(&t, t0 + ticks_to_ns(11)));
    assert_int_equal(vpit_irq0_deadline(&t), 0);
}

static uint16_t read16(struct vpit *t, unsigned int port, uint64_t now)
{
    uint8_t lo = vpit_read(t, port, now);

    return (uint16_t)(lo | vpit_read(t, port, now) << 8);
}

static void test_pit_latch_readback(void **state)
{
    struct vpit t;
    uint64_t t0 = 7 * MS;

    (void)state;
    vpit_init(&t);
    native_pit_shot(&t, 10000, t0);
    t0 += 100;
    /* Live read: 1000 ticks in. */
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(1000)), 9000);
    /* Latch at 2500 ticks, read later: still the latched value. */
    vpit_write(&t, 0x43, 0x00, t0 + ticks_to_ns(2500));
    vpit_write(&t, 0x43, 0x00, t0 + ticks_to_ns(2600));   /* ignored until read */
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(4000)), 7500);
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(4000)), 6000);
    /* Past the terminal count the counter wraps, OUT stays high. */
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(10001)), 0xffff);
    /* Read-back: status then count of channel 0. */
    vpit_write(&t, 0x43, 0xc2, t0 + ticks_to_ns(3000));
    assert_int_equal(vpit_read(&t, 0x40, t0 + ticks_to_ns(9000)), 0x30);  /* OUT low, lohi, mode 0 */
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(9000)), 7000);
    /* Status after a control word: null count. */
    vpit_write(&t, 0x43, 0x34, t0);
    vpit_write(&t, 0x43, 0xe2, t0);
    assert_int_equal(vpit_read(&t, 0x40, t0), 0xf4);
    /* Mode 2 counts count..1. */
    vpit_write(&t, 0x40, 100, t0);
    vpit_write(&t, 0x40, 0, t0);
    assert_int_equal(read16(&t, 0x40, t0 + ticks_to_ns(130)), 70);
}

/* tsc_calibrate() of guest-port/native/time.c. */
static void test_pit_port61_channel2(void **state)
{
    struct vpit t;
    uint64_t t0 = 3 * MS, end;

    (void)state;
    vpit_init(&t);
    uint8_t gate = vpit_port61_read(&t, t0);
    assert_int_equal(gate & 0x01, 0);
    vpit_port61_write(&t, (gate & ~0x02) | 0x01, t0);
    vpit_write(&t, 0x43, 0xb0, t0);
    vpit_write(&t, 0x42, 11932 & 0xff, t0);
    assert_int_equal(vpit_port61_read(&t, t0) & 0x20, 0);
    vpit_write(&t, 0x42, 11932 >> 8, t0);
    end = t0 + ticks_to_ns(11932);
    assert_int_equal(vpit_port61_read(&t, t0) & 0x21, 0x01);
    assert_int_equal(vpit_port61_read(&t, end - 1) & 0x20, 0);
    assert_int_equal(vpit_port61_read(&t, end) & 0x20, 0x20);
    assert_int_equal(vpit_port61_read(&t, end + 50 * MS) & 0x20, 0x20);
    vpit_port61_write(&t, gate, end + 50 * MS);
    assert_int_equal(vpit_port61_read(&t, end + 50 * MS) & 0x0f, gate & 0x0f);
    /* Channel 2 never drives IRQ0. */
    assert_int_equal(vpit_irq0_deadline(&t), 0);

    /* Gate off: the count does not run. */
    vpit_port61_write(&t, 0x00, t0);
    vpit_write(&t, 0x43, 0xb0, t0);
    vpit_write(&t, 0x42, 100, t0);
    vpit_write(&t, 0x42, 0, t0);
    assert_int_equal(vpit_port61_read(&t, t0 + 10 * MS) & 0x20, 0);
    vpit_port61_write(&t, 0x01, t0 + 10 * MS);
    assert_int_equal(vpit_port61_read(&t, t0 + 10 * MS + ticks_to_ns(99)) & 0x20, 0);
    assert_int_equal(vpit_port61_read(&t, t0 + 10 * MS + ticks_to_ns(100)) & 0x20, 0x20);
}

/* ---- UART ------------------------------------------------------------- */

struct sink {
    char buf[64];
    size_t n;
};

static void sink_putc(void *ctx, char c)
{
    struct sink *s = ctx;

    if (s->n < sizeof(s->buf))
        s->buf[s->n++] = c;
}

static void test_uart_native_console(void **state)
{
    struct vuart u;
    struct sink s = { .n = 0 };
    const char *msg = "Lamina\r\n";

    (void)state;
    vuart_init(&u);
    /* native_serial_init() of guest-port/native/console.c. */
    vuart_write(&u, 1, 0x00, sink_putc, &s);
    vuart_write(&u, 3, 0x80, sink_putc, &s);
    vuart_write(&u, 0, 0x01, sink_putc, &s);
    vuart_write(&u, 1, 0x00, sink_putc, &s);
    vuart_write(&u, 3, 0x03, sink_putc, &s);
    vuart_write(&u, 2, 0xc7, sink_putc, &s);
    vuart_write(&u, 4, 0x03, sink_putc, &s);
    assert_int_equal(s.n, 0);                 /* divisor writes emit nothing */
    assert_int_equal(vuart_read(&u, 3), 0x03);
    assert_int_equal(vuart_read(&u, 4), 0x03);
    assert_int_equal(vuart_read(&u, 2), 0xc1);  /* FIFOs on, no interrupt */
    /* serial_putc(): poll LSR, write THR. */
    for (const char *p = msg; *p; p++) {
        assert_int_equal(vuart_read(&u, 5) & 0x60, 0x60);
        vuart_write(&u, 0, (uint8_t)*p, sink_putc, &s);
    }
    assert_int_equal(s.n, strlen(msg));
    assert_memory_equal(s.buf, msg, strlen(msg));
    assert_false(vuart_irq(&u));
    /* Divisor latch round trip. */
    vuart_write(&u, 3, 0x83, sink_putc, &s);
    assert_int_equal(vuart_read(&u, 0), 0x01);
    assert_int_equal(vuart_read(&u, 1), 0x00);
    vuart_write(&u, 0, 0x0c, sink_putc, &s);
    assert_int_equal(vuart_read(&u, 0), 0x0c);
    vuart_write(&u, 3, 0x03, sink_putc, &s);
    assert_int_equal(s.n, strlen(msg));
}

static void test_uart_scratch_rx(void **state)
{
    struct vuart u;
    struct sink s = { .n = 0 };

    (void)state;
    vuart_init(&u);
    vuart_write(&u, 7, 0x5a, sink_putc, &s);
    assert_int_equal(vuart_read(&u, 7), 0x5a);
    vuart_write(&u, 7, 0xa5, sink_putc, &s);
    assert_int_equal(vuart_read(&u, 7), 0xa5);
    assert_int_equal(vuart_read(&u, 5), 0x60);
    vuart_receive(&u, 'x');
    vuart_receive(&u, 'y');
    assert_int_equal(vuart_read(&u, 5), 0x61);
    assert_int_equal(vuart_read(&u, 0), 'x');
    assert_int_equal(vuart_read(&u, 0), 'y');
    assert_int_equal(vuart_read(&u, 5), 0x60);
    for (int i = 0; i < VUART_RX_FIFO + 3; i++)
        vuart_receive(&u, (char)('a' + i));
    assert_int_equal(vuart_read(&u, 5), 0x63);       /* DR + OE once */
    assert_int_equal(vuart_read(&u, 5), 0x61);
    for (int i = 0; i < VUART_RX_FIFO; i++)
        assert_int_equal(vuart_read(&u, 0), 'a' + i);
    assert_int_equal(vuart_read(&u, 5) & 1, 0);
    /* Interrupts: received data, gated by OUT2. */
    vuart_write(&u, 1, 0x01, sink_putc, &s);
    vuart_receive(&u, 'z');
    assert_false(vuart_irq(&u));
    vuart_write(&u, 4, 0x08, sink_putc, &s);
    assert_true(vuart_irq(&u));
    assert_int_equal(vuart_read(&u, 2) & 0x0f, 0x04);
    /* Loopback: THR comes back as input, not through putc. */
    vuart_write(&u, 4, 0x1b, sink_putc, &s);
    assert_int_equal(vuart_read(&u, 6), 0xb0);
    vuart_write(&u, 0, 'q', sink_putc, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(vuart_read(&u, 0), 'z');
    assert_int_equal(vuart_read(&u, 0), 'q');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pic_power_on),
        cmocka_unit_test(test_pic_native_irq0),
        cmocka_unit_test(test_pic_mask_and_edge),
        cmocka_unit_test(test_pic_priority_eoi),
        cmocka_unit_test(test_pic_cascade),
        cmocka_unit_test(test_pic_ocw3_reads),
        cmocka_unit_test(test_pic_icw1_resets_aeoi),
        cmocka_unit_test(test_pit_ns_ticks),
        cmocka_unit_test(test_pit_mode0_deadline),
        cmocka_unit_test(test_pit_periodic),
        cmocka_unit_test(test_pit_latch_readback),
        cmocka_unit_test(test_pit_port61_channel2),
        cmocka_unit_test(test_uart_native_console),
        cmocka_unit_test(test_uart_scratch_rx),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
