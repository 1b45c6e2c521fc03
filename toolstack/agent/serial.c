/*
 * serial.c - COM2 16550A driver for the agent's host channel (polled).
 *
 * Runs in dom0 (toolstack agent thread).  Port I/O is emulated by the
 * hypervisor for dom0 after PHYSDEVOP_set_iopl(1).  QEMU's 16550 holds
 * back the host's bytes while the receive FIFO is full, so polling loses
 * nothing; it only limits throughput to one FIFO per poll.
 */
#include "kernel.h"
#include "pio.h"
#include "serial.h"

#define UART_RBR 0      /* receive buffer (read, DLAB=0) */
#define UART_THR 0      /* transmit holding (write, DLAB=0) */
#define UART_DLL 0      /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1      /* divisor high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LSR_DR   0x01   /* data ready */
#define LSR_THRE 0x20   /* transmit holding register empty */
#define LSR_TEMT 0x40   /* transmitter empty */
#define UART_FIFO_DEPTH 16
#define WAIT_NS 200000ULL  /* back-off while the transmitter is full */

static uint8_t txbuf[SERIAL_TXBUF];
static size_t tx_head, tx_tail;     /* free-running: bytes queued / sent */
static uint64_t tx_dropped;

static inline uint8_t uart_in(unsigned int reg)
{
    return pio_inb((uint16_t)(SERIAL_COM2_BASE + reg));
}

static inline void uart_out(unsigned int reg, uint8_t v)
{
    pio_outb((uint16_t)(SERIAL_COM2_BASE + reg), v);
}

bool serial_init(void)
{
    uart_out(UART_SCR, 0x5a);
    if (uart_in(UART_SCR) != 0x5a)
        return false;
    uart_out(UART_IER, 0x00);           /* polled */
    uart_out(UART_LCR, 0x80);           /* DLAB */
    uart_out(UART_DLL, 1);              /* 115200 = 1843200 / 16 / 1 */
    uart_out(UART_DLM, 0);
    uart_out(UART_LCR, 0x03);           /* 8n1 */
    uart_out(UART_FCR, 0x07);           /* FIFO on, both FIFOs reset */
    uart_out(UART_MCR, 0x03);           /* DTR, RTS; OUT2 off: no IRQ */
    while (uart_in(UART_LSR) & LSR_DR)  /* stale bytes */
        (void)uart_in(UART_RBR);
    tx_head = tx_tail = 0;
    return true;
}

size_t serial_poll_rx(uint8_t *buf, size_t max)
{
    size_t n = 0;

    while (n < max && (uart_in(UART_LSR) & LSR_DR))
        buf[n++] = uart_in(UART_RBR);
    return n;
}

size_t serial_pump_tx(void)
{
    size_t sent = 0;

    while (tx_tail != tx_head) {
        if (!(uart_in(UART_LSR) & LSR_THRE))
            break;
        /* THRE: the whole FIFO is free. */
        for (int i = 0; i < UART_FIFO_DEPTH && tx_tail != tx_head; i++) {
            uart_out(UART_THR, txbuf[tx_tail % SERIAL_TXBUF]);
            tx_tail++;
            sent++;
        }
    }
    return sent;
}

bool serial_queue(const void *buf, size_t n, bool droppable)
{
    const uint8_t *p = buf;

    if (droppable && (tx_head - tx_tail) + n > SERIAL_TXBUF * 3 / 4) {
        tx_dropped += n;
        return false;
    }
    while (n) {
        size_t room = SERIAL_TXBUF - (tx_head - tx_tail);

        if (room == 0) {
            if (!serial_pump_tx())
                thread_sleep_ns(WAIT_NS);   /* the host is slow */
            continue;
        }
        size_t chunk = n < room ? n : room;
        for (size_t i = 0; i < chunk; i++)
            txbuf[(tx_head + i) % SERIAL_TXBUF] = p[i];
        tx_head += chunk;
        p += chunk;
        n -= chunk;
    }
    return true;
}

void serial_flush(void)
{
    while (tx_tail != tx_head)
        if (!serial_pump_tx())
            thread_sleep_ns(WAIT_NS);
    while (!(uart_in(UART_LSR) & LSR_TEMT))
        thread_sleep_ns(WAIT_NS);
}

uint64_t serial_dropped(void)
{
    return tx_dropped;
}
