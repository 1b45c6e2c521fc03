/*
 * vuart.c - a 16550A UART (COM1) for unmodified domains: transmission is
 * instant (each THR byte goes straight to a callback), reception is a small
 * FIFO the hypervisor may fill.  Registers, DLAB, scratch, loopback and the
 * interrupt identification follow the 16550A; line speed is stored only.
 * Contracts are in vdev.h.
 *
 * Runs in ring 0 in any context, pure function of its state and arguments;
 * also compiled on the host by tests/unit/test_vdev.c.
 */
#include "unmod/vdev.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define LCR_DLAB      0x80
#define MCR_LOOP      0x10
#define MCR_OUT2      0x08
#define IER_RDA       0x01
#define IER_THRE      0x02
#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02

void vuart_init(struct vuart *u)
{
    *u = (struct vuart){ 0 };
    u->dll = 12;
}

static void rx_push(struct vuart *u, uint8_t c)
{
    if (u->rx_count == VUART_RX_FIFO) {
        u->overrun = true;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % VUART_RX_FIFO] = c;
    u->rx_count++;
}

void vuart_receive(struct vuart *u, char c)
{
    rx_push(u, (uint8_t)c);
}

void vuart_write(struct vuart *u, unsigned int off, uint8_t val,
                 void (*putc)(void *ctx, char c), void *ctx)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (off) {
    case UART_RBR:
        if (dlab) {
            u->dll = val;
        } else {
            if (u->mcr & MCR_LOOP)
                rx_push(u, val);
            else if (putc)
                putc(ctx, (char)val);
            u->thr_irq = true;               /* THR empties at once */
        }
        break;
    case UART_IER:
        if (dlab) {
            u->dlm = val;
        } else {
            /* Enabling the THRE interrupt with THR empty raises it. */
            if ((val & IER_THRE) && !(u->ier & IER_THRE))
                u->thr_irq = true;
            u->ier = val & 0x0f;
        }
        break;
    case UART_IIR:                           /* FCR */
        u->fcr = val & 0xc9;
        if ((val & FCR_CLEAR_RX) || !(val & FCR_ENABLE))
            u->rx_count = u->rx_head = 0;
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR:
        u->mcr = val & 0x1f;
        break;
    case UART_SCR:
        u->scr = val;
        break;
    default:                                 /* LSR, MSR: read-only */
        break;
    }
}

/* Interrupt identification (IIR bits 3:0); 0x01 = none pending. */
static uint8_t iir_id(const struct vuart *u)
{
    if ((u->ier & IER_RDA) && u->rx_count)
        return 0x04;
    if ((u->ier & IER_THRE) && u->thr_irq)
        return 0x02;
    return 0x01;
}

uint8_t vuart_read(struct vuart *u, unsigned int off)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v;

    switch (off) {
    case UART_RBR:
        if (dlab)
            return u->dll;
        if (!u->rx_count)
            return 0;
        v = u->rx[u->rx_head];
        u->rx_head = (uint8_t)((u->rx_head + 1) % VUART_RX_FIFO);
        u->rx_count--;
        return v;
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR:
        v = iir_id(u);
        if (v == 0x02)
            u->thr_irq = false;              /* reading IIR clears THRE */
        return (uint8_t)(v | ((u->fcr & FCR_ENABLE) ? 0xc0 : 0));
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        v = VUART_LSR_THRE | VUART_LSR_TEMT;
        if (u->rx_count)
            v |= VUART_LSR_DR;
        if (u->overrun)
            v |= VUART_LSR_OE;
        u->overrun = false;
        return v;
    case UART_MSR:
        if (u->mcr & MCR_LOOP)                /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
            return (uint8_t)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
                             ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
        return 0xb0;                          /* CTS, DSR, DCD */
    case UART_SCR:
        return u->scr;
    default:
        return 0xff;
    }
}

bool vuart_irq(const struct vuart *u)
{
    return (u->mcr & MCR_OUT2) && iir_id(u) != 0x01;
}
