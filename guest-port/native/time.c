/*
 * time.c - native time: the TSC as the clock (calibrated once against PIT
 * channel 2) and PIT channel 0 in one-shot mode (mode 0) behind the 8259
 * PIC as the timer.  The PIT counts at most ~54.9 ms per shot, so a later
 * deadline takes several shots; only the shot that reaches the deadline
 * calls core_timer_interrupt().
 * Runs in the guest kernel, ring 0; the IRQ path runs with interrupts off.
 */
#include "cpu.h"
#include "kernel.h"
#include "native.h"

#define PIT_HZ        1193182UL
#define PIT_CH0       0x40
#define PIT_CH2       0x42
#define PIT_CMD       0x43
#define PIT_GATE_PORT 0x61
#define PIC1_CMD      0x20
#define PIC1_DATA     0x21
#define PIC2_CMD      0xa0
#define PIC2_DATA     0xa1
#define PIC_EOI       0x20
#define CALIB_TICKS   11932         /* 10 ms of PIT input clock */

static uint64_t tsc_at_boot;
static uint64_t tsc_hz;
static uint64_t ns_per_tsc_32;      /* ns per TSC tick, 32.32 fixed point */
static uint64_t timer_deadline;

static void pic_init(void)
{
    outb(PIC1_CMD, 0x11);           /* ICW1: edge, cascade, ICW4 */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, VEC_IRQ_BASE);  /* ICW2: vectors 32..47 */
    outb(PIC2_DATA, VEC_IRQ_BASE + 8);
    outb(PIC1_DATA, 4);             /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 1);             /* ICW4: 8086 mode */
    outb(PIC2_DATA, 1);
    outb(PIC1_DATA, 0xfe);          /* only IRQ0 (PIT) */
    outb(PIC2_DATA, 0xff);
}

/* TSC ticks per second, measured over CALIB_TICKS of PIT channel 2. */
static uint64_t tsc_calibrate(void)
{
    uint8_t gate = inb(PIT_GATE_PORT);
    outb(PIT_GATE_PORT, (gate & ~0x02) | 0x01);     /* speaker off, gate on */
    outb(PIT_CMD, 0xb0);            /* ch2, lo/hi byte, mode 0, binary */
    outb(PIT_CH2, CALIB_TICKS & 0xff);
    outb(PIT_CH2, CALIB_TICKS >> 8);
    uint64_t t0 = rdtsc();
    for (unsigned long spins = 0; !(inb(PIT_GATE_PORT) & 0x20); spins++)
        if (spins > 100000000UL)
            panic("native: PIT channel 2 never reached its count");
    uint64_t t1 = rdtsc();
    outb(PIT_GATE_PORT, gate);
    return (t1 - t0) * PIT_HZ / CALIB_TICKS;
}

void native_time_init(void)
{
    pic_init();
    tsc_hz = tsc_calibrate();
    if (tsc_hz < 1000000)
        panic("native: TSC calibration failed (%lu Hz)", (unsigned long)tsc_hz);
    ns_per_tsc_32 = (1000000000UL << 32) / tsc_hz;
    tsc_at_boot = rdtsc();
    kprintf("native: TSC %lu kHz, timer PIT one-shot\n", (unsigned long)(tsc_hz / 1000));
}

uint64_t arch_now_ns(void)
{
    unsigned __int128 d = rdtsc() - tsc_at_boot;
    return (uint64_t)((d * ns_per_tsc_32) >> 32);
}

/* Starts one PIT shot that fires delta_ns from now, or after ~54.9 ms. */
static void pit_shot(uint64_t delta_ns)
{
    uint64_t ticks = delta_ns > 60000000UL ? 65535 : delta_ns * PIT_HZ / 1000000000UL;
    if (ticks < 2)
        ticks = 2;
    if (ticks > 65535)
        ticks = 65535;
    outb(PIT_CMD, 0x30);            /* ch0, lo/hi byte, mode 0 */
    outb(PIT_CH0, ticks & 0xff);
    outb(PIT_CH0, ticks >> 8);
}

void arch_timer_set(uint64_t deadline_ns)
{
    timer_deadline = deadline_ns;
    uint64_t now = arch_now_ns();
    pit_shot(deadline_ns > now ? deadline_ns - now : 0);
}

void native_timer_irq(void)
{
    outb(PIC1_CMD, PIC_EOI);
    uint64_t now = arch_now_ns();
    if (now + 20000 < timer_deadline) {     /* early by more than 20 us */
        pit_shot(timer_deadline - now);
        return;
    }
    core_timer_interrupt();
}
