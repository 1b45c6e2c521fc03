/*
 * vpic.c - a pair of edge-triggered 8259A interrupt controllers (PC wiring:
 * slave INT on master input 2) for unmodified domains.  Fixed priority;
 * rotation commands act only as EOIs.  Contracts are in vdev.h.
 *
 * Runs in ring 0 in any context, pure function of its state and arguments;
 * also compiled on the host by tests/unit/test_vdev.c.
 */
#include "unmod/vdev.h"

#define NO_IRQ 8

/* Highest-priority (lowest-numbered) set bit of mask, or NO_IRQ. */
static unsigned int prio_first(uint8_t mask)
{
    return mask ? (unsigned int)__builtin_ctz(mask) : NO_IRQ;
}

/* Requests of chip c as its priority logic sees them: latched IRR, plus the
 * slave's INT output on the master's cascade input. */
static uint8_t chip_irr(const struct vpic *p, unsigned int c);

/* Input chip c would signal on INT, or NO_IRQ. */
static unsigned int chip_pending(const struct vpic *p, unsigned int c)
{
    const struct vpic_chip *s = &p->chip[c];
    unsigned int req = prio_first(chip_irr(p, c) & (uint8_t)~s->imr);
    uint8_t blocking = s->special_mask ? (uint8_t)(s->isr & ~s->imr) : s->isr;

    if (req == NO_IRQ || req >= prio_first(blocking))
        return NO_IRQ;
    return req;
}

static uint8_t chip_irr(const struct vpic *p, unsigned int c)
{
    uint8_t irr = p->chip[c].irr;

    if (c == 0 && chip_pending(p, 1) != NO_IRQ)
        irr |= 1u << VPIC_CASCADE_IRQ;
    return irr;
}

/* Power-on/ICW1 reset of one chip (IMR cleared, as ICW1 does). */
static void chip_reset(struct vpic_chip *s)
{
    s->irr = s->isr = s->imr = 0;
    s->lines = 0;
    s->read_isr = s->special_mask = s->poll = false;
    s->auto_eoi = false;
}

void vpic_init(struct vpic *p)
{
    static const uint8_t bases[2] = { 0x08, 0x70 };

    for (unsigned int c = 0; c < 2; c++) {
        struct vpic_chip *s = &p->chip[c];

        *s = (struct vpic_chip){ 0 };
        chip_reset(s);
        s->base = bases[c];
        s->icw3 = c ? VPIC_CASCADE_IRQ : 1u << VPIC_CASCADE_IRQ;
        s->imr = c ? 0xff : (uint8_t)~(1u << VPIC_CASCADE_IRQ);
    }
}

/* Takes input irq of chip c into service (INTA or poll). */
static void chip_take(struct vpic_chip *s, unsigned int irq)
{
    s->irr &= (uint8_t)~(1u << irq);
    if (!s->auto_eoi)
        s->isr |= (uint8_t)(1u << irq);
}

static void chip_write_cmd(struct vpic_chip *s, uint8_t val)
{
    if (val & 0x10) {                         /* ICW1 */
        chip_reset(s);
        s->need_icw4 = val & 0x01;
        s->single = val & 0x02;
        s->init_state = 1;
        return;
    }
    if (val & 0x08) {                         /* OCW3 */
        if (val & 0x04)
            s->poll = true;
        if (val & 0x02)
            s->read_isr = val & 0x01;
        if (val & 0x40)
            s->special_mask = val & 0x20;
        return;
    }
    switch (val >> 5) {                       /* OCW2 */
    case 1:                                   /* non-specific EOI */
    case 5:                                   /* rotate on non-specific EOI */
        s->isr &= (uint8_t)(s->isr - 1);      /* clears the highest-priority bit */
        break;
    case 3:                                   /* specific EOI */
    case 7:                                   /* rotate on specific EOI */
        s->isr &= (uint8_t)~(1u << (val & 7));
        break;
    default:                                  /* rotate in AEOI, set priority, no-op */
        break;
    }
}

static void chip_write_data(struct vpic_chip *s, uint8_t val)
{
    switch (s->init_state) {
    case 1:                                   /* ICW2 */
        s->base = val & 0xf8;
        s->init_state = s->single ? (s->need_icw4 ? 3 : 0) : 2;
        break;
    case 2:                                   /* ICW3 */
        s->icw3 = val;
        s->init_state = s->need_icw4 ? 3 : 0;
        break;
    case 3:                                   /* ICW4 (bit 4 SFNM ignored) */
        s->auto_eoi = val & 0x02;
        s->init_state = 0;
        break;
    default:                                  /* OCW1 */
        s->imr = val;
        break;
    }
}

void vpic_write(struct vpic *p, unsigned int port, uint8_t val)
{
    unsigned int c;

    if (port == VPIC_MASTER_CMD || port == VPIC_MASTER_DATA)
        c = 0;
    else if (port == VPIC_SLAVE_CMD || port == VPIC_SLAVE_DATA)
        c = 1;
    else
        return;
    if (port & 1)
        chip_write_data(&p->chip[c], val);
    else
        chip_write_cmd(&p->chip[c], val);
}

uint8_t vpic_read(struct vpic *p, unsigned int port)
{
    unsigned int c;

    if (port == VPIC_MASTER_CMD || port == VPIC_MASTER_DATA)
        c = 0;
    else if (port == VPIC_SLAVE_CMD || port == VPIC_SLAVE_DATA)
        c = 1;
    else
        return 0xff;

    struct vpic_chip *s = &p->chip[c];

    if (s->poll) {
        unsigned int irq = chip_pending(p, c);

        s->poll = false;
        if (irq == NO_IRQ)
            return 0;
        chip_take(s, irq);
        if (c == 0 && irq == VPIC_CASCADE_IRQ) {
            /* Polling the master for a cascaded request takes the slave's
             * request into service too, as an INTA cycle would. */
            unsigned int sirq = chip_pending(p, 1);

            if (sirq != NO_IRQ)
                chip_take(&p->chip[1], sirq);
        }
        return (uint8_t)(0x80 | irq);
    }
    if (port & 1)
        return s->imr;
    return s->read_isr ? s->isr : chip_irr(p, c);
}

void vpic_set_irq(struct vpic *p, unsigned int irq, bool level)
{
    if (irq > 15 || irq == VPIC_CASCADE_IRQ)
        return;

    struct vpic_chip *s = &p->chip[irq >> 3];
    uint8_t bit = (uint8_t)(1u << (irq & 7));

    if (level) {
        if (!(s->lines & bit))
            s->irr |= bit;
        s->lines |= bit;
    } else {
        s->lines &= (uint8_t)~bit;
    }
}

int vpic_pending_vector(const struct vpic *p)
{
    unsigned int irq = chip_pending(p, 0);

    if (irq == NO_IRQ)
        return -1;
    if (irq == VPIC_CASCADE_IRQ) {
        unsigned int sirq = chip_pending(p, 1);

        return p->chip[1].base + (int)sirq;
    }
    return p->chip[0].base + (int)irq;
}

bool vpic_intr(const struct vpic *p)
{
    return chip_pending(p, 0) != NO_IRQ;
}

int vpic_ack(struct vpic *p)
{
    unsigned int irq = chip_pending(p, 0);

    if (irq == NO_IRQ)
        return -1;
    if (irq == VPIC_CASCADE_IRQ) {
        unsigned int sirq = chip_pending(p, 1);

        /* chip_irr() set the cascade bit only because sirq is pending. */
        chip_take(&p->chip[0], irq);
        chip_take(&p->chip[1], sirq);
        return p->chip[1].base + (int)sirq;
    }
    chip_take(&p->chip[0], irq);
    return p->chip[0].base + (int)irq;
}
