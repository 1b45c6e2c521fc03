/*
 * vpit.c - an 8254 programmable interval timer (channels 0-2, modes 0-5
 * with 0, 2, 3 and 4 fully modelled, binary counts) and the PC's port 0x61
 * (channel 2 gate, speaker, OUT2) for unmodified domains.  The counters are
 * computed from the time of the access, never stepped.  Contracts are in
 * vdev.h.
 *
 * Runs in ring 0 in any context, pure function of its state and arguments;
 * also compiled on the host by tests/unit/test_vdev.c.  Uses only 64-bit
 * arithmetic (no libgcc 128-bit division in the hypervisor).
 */
#include "unmod/vdev.h"

#define NS_PER_S 1000000000ULL

/* Whole PIT ticks in ns nanoseconds: floor(ns * HZ / 1e9). */
static uint64_t ns_to_ticks(uint64_t ns)
{
    return (ns / NS_PER_S) * VPIT_HZ + (ns % NS_PER_S) * VPIT_HZ / NS_PER_S;
}

/* Smallest ns with ns_to_ticks(ns) >= ticks: ceil(ticks * 1e9 / HZ). */
static uint64_t ticks_to_ns(uint64_t ticks)
{
    return (ticks / VPIT_HZ) * NS_PER_S +
           ((ticks % VPIT_HZ) * NS_PER_S + VPIT_HZ - 1) / VPIT_HZ;
}

/* Ticks counted since the count was loaded. */
static uint64_t elapsed(const struct vpit_channel *c, uint64_t now)
{
    if (!c->counting || !c->gate || now <= c->load_ns)
        return c->base_ticks;
    return c->base_ticks + ns_to_ticks(now - c->load_ns);
}

static bool periodic(const struct vpit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

static bool chan_out(const struct vpit_channel *c, uint64_t now)
{
    if (!c->counting)
        return c->mode != 0;
    if (periodic(c) && !c->gate)
        return true;

    uint64_t d = elapsed(c, now);

    switch (c->mode) {
    case 0:
        return d >= c->count;
    case 2:
        return d % c->count != c->count - 1;
    case 3:
        return d % c->count < (c->count + 1) / 2;
    case 4:
        return d != c->count;
    default:                     /* 1, 5: no gate trigger modelled */
        return true;
    }
}

/* Current counting element value (16 bits; 65536 reads as 0). */
static uint16_t chan_value(const struct vpit_channel *c, uint64_t now)
{
    if (!c->counting)
        return (uint16_t)c->count;

    uint64_t d = elapsed(c, now);

    switch (c->mode) {
    case 2:
        return (uint16_t)(c->count - d % c->count);
    case 3:
        return (uint16_t)((c->count - (2 * d) % c->count) & ~1u);
    default:
        return (uint16_t)(c->count - d);
    }
}

/* Tick number of the next OUT rising edge after edge_ticks, 0 if none. */
static uint64_t next_edge(const struct vpit_channel *c)
{
    if (!c->counting)
        return 0;
    switch (c->mode) {
    case 0:
        return c->edge_ticks < c->count ? c->count : 0;
    case 4:
        return c->edge_ticks < c->count + 1 ? c->count + 1 : 0;
    case 2:
    case 3:
        return (c->edge_ticks / c->count + 1) * c->count;
    default:
        return 0;
    }
}

void vpit_init(struct vpit *t)
{
    *t = (struct vpit){ 0 };
    for (unsigned int i = 0; i < 3; i++) {
        t->ch[i].count = 65536;
        t->ch[i].rw = 3;
        t->ch[i].mode = 3;          /* OUT high until programmed */
        t->ch[i].gate = i != 2;
    }
}

static void chan_load(struct vpit_channel *c, uint32_t count, uint64_t now)
{
    c->count = count ? count : 65536;
    c->counting = true;
    c->null_count = false;
    c->load_ns = now;
    c->base_ticks = 0;
    c->edge_ticks = 0;
}

static void chan_write(struct vpit_channel *c, uint8_t val, uint64_t now)
{
    switch (c->rw) {
    case 1:
        chan_load(c, val, now);
        break;
    case 2:
        chan_load(c, (uint32_t)val << 8, now);
        break;
    default:
        if (!c->write_hi) {
            c->write_lo = val;
            c->write_hi = true;
            if (c->mode == 0)
                c->counting = false;        /* stops counting, OUT low */
        } else {
            c->write_hi = false;
            chan_load(c, c->write_lo | (uint32_t)val << 8, now);
        }
        break;
    }
}

static void chan_latch_count(struct vpit_channel *c, uint64_t now)
{
    if (c->count_latched)
        return;                              /* first latch wins until read */
    c->latch = chan_value(c, now);
    c->count_latched = true;
    c->latch_hi = false;
}

static void chan_latch_status(struct vpit_channel *c, uint64_t now)
{
    if (c->status_latched)
        return;
    c->status = (uint8_t)((chan_out(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                          c->rw << 4 | c->mode << 1 | (c->bcd ? 1 : 0));
    c->status_latched = true;
}

static void pit_control(struct vpit *t, uint8_t val, uint64_t now)
{
    unsigned int sel = val >> 6;

    if (sel == 3) {                          /* read-back */
        for (unsigned int i = 0; i < 3; i++) {
            if (!(val & (2u << i)))
                continue;
            if (!(val & 0x20))
                chan_latch_count(&t->ch[i], now);
            if (!(val & 0x10))
                chan_latch_status(&t->ch[i], now);
        }
        return;
    }

    struct vpit_channel *c = &t->ch[sel];
    unsigned int rw = (val >> 4) & 3;

    if (rw == 0) {
        chan_latch_count(c, now);
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;
    c->bcd = val & 1;
    c->counting = false;
    c->null_count = true;
    c->write_hi = c->read_hi = false;
    c->count_latched = c->status_latched = false;
    c->base_ticks = 0;
    c->edge_ticks = 0;
}

void vpit_write(struct vpit *t, unsigned int port, uint8_t val, uint64_t now_ns)
{
    if (port == VPIT_PORT_CMD)
        pit_control(t, val, now_ns);
    else if (port >= VPIT_PORT_CH0 && port < VPIT_PORT_CH0 + 3)
        chan_write(&t->ch[port - VPIT_PORT_CH0], val, now_ns);
}

/* Next byte of a 16-bit value for access mode rw; *hi toggles for rw 3.
 * Returns true when the value has been read completely. */
static bool byte_of(uint16_t v, unsigned int rw, bool *hi, uint8_t *out)
{
    if (rw == 1) {
        *out = (uint8_t)v;
        return true;
    }
    if (rw == 2) {
        *out = (uint8_t)(v >> 8);
        return true;
    }
    *out = *hi ? (uint8_t)(v >> 8) : (uint8_t)v;
    *hi = !*hi;
    return !*hi;
}

uint8_t vpit_read(struct vpit *t, unsigned int port, uint64_t now_ns)
{
    if (port < VPIT_PORT_CH0 || port >= VPIT_PORT_CH0 + 3)
        return 0xff;

    struct vpit_channel *c = &t->ch[port - VPIT_PORT_CH0];
    uint8_t b;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        if (byte_of(c->latch, c->rw, &c->latch_hi, &b))
            c->count_latched = false;
        return b;
    }
    byte_of(chan_value(c, now_ns), c->rw, &c->read_hi, &b);
    return b;
}

void vpit_port61_write(struct vpit *t, uint8_t val, uint64_t now_ns)
{
    struct vpit_channel *c = &t->ch[2];
    bool gate = val & 1;

    if (gate != c->gate) {
        if (!gate) {
            c->base_ticks = elapsed(c, now_ns);  /* freeze */
        } else if (periodic(c)) {
            c->base_ticks = 0;                   /* rising edge reloads */
            c->edge_ticks = 0;
        }
        c->load_ns = now_ns;
        c->gate = gate;
    }
    t->port61 = val & 0x0f;
}

uint8_t vpit_port61_read(const struct vpit *t, uint64_t now_ns)
{
    uint8_t v = t->port61 & 0x0f;

    if ((now_ns / 15085) & 1)
        v |= 0x10;
    if (chan_out(&t->ch[2], now_ns))
        v |= 0x20;
    return v;
}

bool vpit_out(const struct vpit *t, unsigned int ch, uint64_t now_ns)
{
    return ch < 3 && chan_out(&t->ch[ch], now_ns);
}

uint64_t vpit_irq0_deadline(const struct vpit *t)
{
    const struct vpit_channel *c = &t->ch[0];
    uint64_t k = next_edge(c);

    if (!k || !c->gate)
        return 0;
    if (k <= c->base_ticks)
        return c->load_ns ? c->load_ns : 1;
    return c->load_ns + ticks_to_ns(k - c->base_ticks);
}

bool vpit_irq0_expire(struct vpit *t, uint64_t now_ns)
{
    struct vpit_channel *c = &t->ch[0];
    uint64_t k = next_edge(c), d;

    if (!k)
        return false;
    d = elapsed(c, now_ns);
    if (d < k)
        return false;
    c->edge_ticks = periodic(c) ? d - d % c->count : k;
    return true;
}
