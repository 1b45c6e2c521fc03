/*
 * serial.h - the host control channel: COM2 (16550A at 0x2f8), polled.
 *
 * Runs in dom0 (toolstack agent, one thread).  No interrupt reaches dom0
 * for COM2, so the agent polls: serial_poll_rx() drains the receive FIFO,
 * serial_pump_tx() feeds the transmitter from a 64 KiB output buffer while
 * the transmit holding register is empty.  Nothing here blocks except
 * serial_flush() and a non-droppable serial_queue() on a full buffer.
 */
#ifndef AGENT_SERIAL_H
#define AGENT_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_TXBUF     (64 * 1024)

/* Programs COM2: 115200 8n1, FIFOs enabled and reset, interrupts off.
 * Port I/O must already be allowed (PHYSDEVOP_set_iopl).  Returns false
 * when no UART answers at the port (scratch register test). */
bool serial_init(void);

/* Reads every byte now in the receive FIFO (at most `max`) into buf;
 * returns how many. */
size_t serial_poll_rx(uint8_t *buf, size_t max);

/* Moves buffered output into the transmitter while it has room; returns
 * the number of bytes sent. */
size_t serial_pump_tx(void);

/* Appends n bytes to the output buffer.  droppable (console data): when
 * the buffer is more than 3/4 full the bytes are dropped whole and false
 * is returned.  Otherwise (responses) waits, pumping the transmitter,
 * until there is room, and returns true. */
bool serial_queue(const void *buf, size_t n, bool droppable);

/* Sends everything buffered and waits until the transmitter is empty. */
void serial_flush(void);

/* Output bytes dropped so far (console data on a full buffer). */
uint64_t serial_dropped(void);

#endif /* AGENT_SERIAL_H */
