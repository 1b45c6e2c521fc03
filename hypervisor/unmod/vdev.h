/*
 * vdev.h - device models for unmodified (trap-and-emulate) domains: a dual
 * 8259A PIC, an 8254 PIT with the port 0x61 gate/OUT2 bits, and a 16550A
 * UART on COM1.
 *
 * Pure state machines: no hypervisor globals, no printing, no allocation.
 * Time comes in as now_ns (ns since boot, monotonic).  The caller (the
 * in/out emulator) serialises all calls for one domain.  Runs in ring 0
 * (any context); also compiled on the host by tests/unit/test_vdev.c.
 */
#ifndef LAMINA_VDEV_H
#define LAMINA_VDEV_H

#include <stdbool.h>
#include <stdint.h>

/* ---- 8259A PIC pair (master 0x20/0x21, slave 0xa0/0xa1) ---------------- */

#define VPIC_MASTER_CMD   0x20
#define VPIC_MASTER_DATA  0x21
#define VPIC_SLAVE_CMD    0xa0
#define VPIC_SLAVE_DATA   0xa1
#define VPIC_CASCADE_IRQ  2      /* master input the slave is wired to (PC) */

/* One 8259A.  Fixed priority: input 0 highest, 7 lowest. */
struct vpic_chip {
    uint8_t irr;           /* latched requests */
    uint8_t isr;           /* in service */
    uint8_t imr;           /* masked inputs */
    uint8_t lines;         /* current input levels, for edge detection */
    uint8_t base;          /* ICW2 & 0xf8: vector of input 0 */
    uint8_t icw3;
    uint8_t init_state;    /* 0 ready; 1, 2, 3: expecting ICW2, ICW3, ICW4 */
    bool need_icw4;
    bool single;           /* ICW1 SNGL: no ICW3 */
    bool auto_eoi;         /* ICW4 AEOI */
    bool read_isr;         /* OCW3 RR/RIS: command port reads ISR, else IRR */
    bool special_mask;     /* OCW3 SMM: masked ISR bits do not block */
    bool poll;             /* OCW3 P: next read is a poll (acts as INTA) */
};

struct vpic {
    struct vpic_chip chip[2];   /* [0] master, [1] slave */
};

/*
 * Power-on state, as a PC BIOS leaves it: both chips initialised (8086
 * mode, vectors 0x08 and 0x70), all inputs masked except the master's
 * cascade input, nothing requested or in service.
 */
void vpic_init(struct vpic *p);

/* Guest out to port 0x20, 0x21, 0xa0 or 0xa1 (other ports: ignored).
 * ICW1 (command port, bit 4) restarts the chip's initialisation as the
 * 8259A does: IMR, IRR, ISR, special mask and read select cleared, then
 * ICW2 (base), ICW3 unless SNGL, ICW4 if IC4 on the data port.  Otherwise
 * the data port sets IMR (OCW1) and the command port takes OCW2 (EOI:
 * non-specific 0x20, specific 0x60|n; the rotate forms act as their EOI
 * part, priority stays fixed) or OCW3 (read IRR/ISR select, poll, special
 * mask). */
void vpic_write(struct vpic *p, unsigned int port, uint8_t val);

/* Guest in from the same ports: the data port returns IMR; the command
 * port returns IRR or ISR as OCW3 selected (the master's IRR bit 2 shows the
 * slave's INT output).  After an OCW3 poll, the next read of either port
 * returns 0x80 | input (acknowledging it like INTA) or 0 if none. */
uint8_t vpic_read(struct vpic *p, unsigned int port);

/*
 * Drives input line irq (0..15) to level.  Edge-triggered: a rising edge
 * latches the request in IRR; it stays latched when the line drops.  Inputs
 * 8..15 are the slave's, reaching the CPU through master input 2.  irq 2
 * itself (the cascade input) and irq > 15 are ignored.
 */
void vpic_set_irq(struct vpic *p, unsigned int irq, bool level);

/* Vector the CPU would take now if its IF were set: the highest-priority
 * request in IRR & ~IMR that no equal-or-higher in-service input blocks,
 * following the cascade; -1 if none.  No side effect. */
int vpic_pending_vector(const struct vpic *p);

/* INTA: moves the request vpic_pending_vector() names from IRR to ISR (not
 * with auto-EOI; the master's cascade bit too for a slave input) and
 * returns its vector; -1 (never a spurious 7/15 vector) if nothing is
 * pending. */
int vpic_ack(struct vpic *p);

/* True if the CPU's INTR line is asserted (vpic_pending_vector() >= 0). */
bool vpic_intr(const struct vpic *p);

/* ---- 8254 PIT (ports 0x40-0x43) and port 0x61 ------------------------- */

#define VPIT_HZ        1193182ULL   /* input clock, Hz */
#define VPIT_PORT_CH0  0x40
#define VPIT_PORT_CMD  0x43
#define VPIT_PORT_61   0x61

/* One counter.  Counting is modelled from load_ns: ticks elapsed =
 * base_ticks + floor((now - load_ns) * VPIT_HZ / 1e9) while the gate is
 * high; base_ticks holds what was counted before the gate last dropped. */
struct vpit_channel {
    uint32_t count;        /* reload value 1..65536 (0 written = 65536) */
    uint8_t mode;          /* 0..5 (6, 7 stored as 2, 3) */
    uint8_t rw;            /* 1 lsb, 2 msb, 3 lsb then msb */
    bool bcd;              /* stored and reported only; counts are binary */
    bool gate;
    bool counting;         /* a count was loaded since the control word */
    bool null_count;       /* control word written, count not yet loaded */
    bool write_hi;         /* rw 3: next written byte is the msb */
    bool read_hi;          /* rw 3: next unlatched read returns the msb */
    uint8_t write_lo;
    bool count_latched;
    bool latch_hi;         /* rw 3: next latched read returns the msb */
    uint16_t latch;
    bool status_latched;
    uint8_t status;
    uint64_t load_ns;      /* when counting (re)started */
    uint64_t base_ticks;
    uint64_t edge_ticks;   /* tick of the last IRQ edge taken (0: none) */
};

struct vpit {
    struct vpit_channel ch[3];
    uint8_t port61;        /* bits 0-3 as last written */
};

/* Power-on: all counters idle (no count loaded, OUT high), gate 0 and 1
 * high, gate 2 low (port 0x61 = 0). */
void vpit_init(struct vpit *t);

/*
 * Guest out to 0x40-0x42 (count bytes per the channel's access mode; for
 * lsb+msb, counting starts at the msb and, in mode 0, writing the lsb
 * stops counting with OUT low) or 0x43 (control word: mode/access, latch
 * command rw=00, read-back 0xc0-0xff).  A loaded count restarts the counter
 * at once in every mode.  now_ns: time of the access.
 */
void vpit_write(struct vpit *t, unsigned int port, uint8_t val, uint64_t now_ns);

/* Guest in from 0x40-0x42: a latched status byte first, then a latched
 * count, else the live count (per the access mode, lsb/msb alternating for
 * rw 3).  Mode 3 counts down by two, as the 8254 does.  0x43: 0xff. */
uint8_t vpit_read(struct vpit *t, unsigned int port, uint64_t now_ns);

/* Guest out to port 0x61: bit 0 gate of channel 2 (a rising edge restarts
 * modes 2/3 and resumes 0/4), bit 1 speaker data; bits 2-3 are stored. */
void vpit_port61_write(struct vpit *t, uint8_t val, uint64_t now_ns);

/* Guest in from port 0x61: bits 0-3 as written, bit 4 the refresh toggle
 * (flips every 15 us), bit 5 OUT2. */
uint8_t vpit_port61_read(const struct vpit *t, uint64_t now_ns);

/* OUT of channel ch (0..2) at now_ns. */
bool vpit_out(const struct vpit *t, unsigned int ch, uint64_t now_ns);

/* ns (same clock as now_ns) at which channel 0's OUT next rises (an IRQ0
 * edge): mode 0 once per loaded count (count ticks after the load, rounded
 * up to a whole ns), modes 2 and 3 every count ticks, mode 4 at count + 1
 * ticks; 0 if none is due (no count loaded, mode 0/4 already fired, modes
 * 1/5). */
uint64_t vpit_irq0_deadline(const struct vpit *t);

/* Call at or after vpit_irq0_deadline(): true if channel 0's OUT has risen
 * since the last edge taken; the caller then raises IRQ0 (vpic_set_irq 0, 1
 * then 0, 0).  Periodic modes re-arm; several missed periods give one edge.
 * False (nothing changes) if no edge is due by now_ns. */
bool vpit_irq0_expire(struct vpit *t, uint64_t now_ns);

/* ---- 16550A UART (COM1, offsets 0-7 from 0x3f8) ----------------------- */

#define VUART_COM1      0x3f8
#define VUART_RX_FIFO   16

#define VUART_LSR_DR    0x01
#define VUART_LSR_OE    0x02
#define VUART_LSR_THRE  0x20
#define VUART_LSR_TEMT  0x40

struct vuart {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool overrun;          /* a received byte was dropped (LSR OE) */
    bool thr_irq;          /* THR-empty interrupt pending (IIR 0x02) */
    uint8_t rx[VUART_RX_FIFO];
    uint8_t rx_head, rx_count;
};

/* Reset state: divisor 12 (9600 baud), 8n1 off, everything else zero. */
void vuart_init(struct vuart *u);

/* Guest out to COM1 + off (0..7).  A THR write (off 0, DLAB=0) emits the
 * byte through putc(ctx, c) at once (or, in loopback, queues it as input);
 * putc may be NULL (byte dropped).  DLAB=1 writes to 0/1 set the divisor. */
void vuart_write(struct vuart *u, unsigned int off, uint8_t val,
                 void (*putc)(void *ctx, char c), void *ctx);

/* Guest in from COM1 + off.  LSR always has THRE|TEMT (transmission is
 * instant), DR when input is queued, OE once after a dropped byte.  RBR
 * pops the input FIFO (0 when empty).  IIR reports received data, then THR
 * empty (cleared by this read), else 0x01; bits 7:6 set with FIFOs on.
 * MSR: CTS|DSR|DCD, or the MCR bits in loopback. */
uint8_t vuart_read(struct vuart *u, unsigned int off);

/* Queues one input byte (the FIFO holds VUART_RX_FIFO; a byte beyond that
 * is dropped and sets LSR OE). */
void vuart_receive(struct vuart *u, char c);

/* True if the UART's interrupt output (IRQ4 on a PC) is asserted: an
 * enabled IER source is pending and MCR OUT2 is set. */
bool vuart_irq(const struct vuart *u);

#endif /* LAMINA_VDEV_H */
