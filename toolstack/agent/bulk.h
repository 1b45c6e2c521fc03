/*
 * bulk.h - the host -> dom0 bulk ring on the ivshmem-plain device
 * (PCI 1af4:1110, BAR2; docs/toolstack.md section 5) and CRC-32.
 *
 * Runs in dom0 (toolstack agent thread).  The host is the producer, dom0
 * the consumer; io/ring.h's barrier discipline.
 */
#ifndef AGENT_BULK_H
#define AGENT_BULK_H

#include "xenctrl.h"

#define BULK_MAGIC      "LAMBULK1"
#define BULK_DATA_OFF   4096
#define BULK_BAR_ADDR   0xe0000000UL    /* where dom0 puts BAR2 */
#define BULK_PCI_VENDOR 0x1af4
#define BULK_PCI_DEVICE 0x1110

/* The header page at offset 0 of BAR2. */
struct lamina_bulk_hdr {
    char     magic[8];          /* "LAMBULK1", written by the host */
    uint32_t size;              /* data area bytes (a power of two) */
    uint32_t pad;
    volatile uint32_t prod;     /* bytes written by the host, free-running */
    volatile uint32_t cons;     /* bytes consumed by dom0, free-running */
    /* The dom0 -> host ring (save streams): its data area's offset in the
     * BAR and size (a power of two; 0: none), and its indices. */
    uint32_t out_off, out_size;
    volatile uint32_t out_prod; /* bytes written by dom0, free-running */
    volatile uint32_t out_cons; /* bytes consumed by the host, free-running */
    /* Set by the host once the transfer's source has ended (a stream's
     * writer closed it): nothing more follows what prod covers.  Cleared
     * before each transfer starts. */
    volatile uint32_t eof;
};

/* Finds the ivshmem-plain device on PCI bus 0 (configuration mechanism
 * #1), places BAR2 at BULK_BAR_ADDR if the firmware left it unassigned,
 * enables memory decoding and maps the BAR with
 * xc_map_foreign_range(DOMID_IO).  Needs port I/O (set_iopl).  0, or
 * -XEN_ENODEV (no device / not a 64-bit memory BAR), -XEN_ENOMEM/... from
 * the mapping.  Safe to call again after a failure. */
int bulk_init(xc_interface *xch);

/* True when the device is mapped and the host has written a valid header
 * (magic, power-of-two size fitting the BAR); else *why says what is
 * wrong (static text). */
bool bulk_ready(const char **why);

/* Physical address and size of BAR2 (0 before bulk_init succeeded). */
uint64_t bulk_bar_addr(void);
uint64_t bulk_bar_size(void);

/* Consumes exactly n bytes from the ring into dst (dst NULL: discard),
 * updating *crc (CRC-32 of the bytes, running; may be NULL).  Gives up
 * when no byte arrives for idle_ns; idle() (may be NULL) is called while
 * waiting (the agent pumps COM2 output there).  Returns the bytes
 * consumed (< n on timeout, or once the host has set eof and the ring
 * is empty).  *first_ns (may be NULL) gets arch_now_ns()
 * of the first byte seen. */
size_t bulk_read(void *dst, size_t n, uint32_t *crc, uint64_t idle_ns,
                 void (*idle)(void), uint64_t *first_ns);

/* Produces n bytes of src on the dom0 -> host ring, waiting while it is
 * full; gives up when the host consumes nothing for idle_ns (idle() as for
 * bulk_read).  0, -XEN_ENODEV (no out ring), -XEN_ETIMEDOUT. */
int bulk_write(const void *src, size_t n, uint64_t idle_ns, void (*idle)(void));

/* Drops whatever the host has produced so far (cons = prod): used after
 * a transfer that timed out, to resynchronise. */
void bulk_discard(void);

/* CRC-32 (IEEE 802.3, reflected, poly 0xedb88320) of n bytes, continuing
 * from crc (start with 0). */
uint32_t bulk_crc32(uint32_t crc, const void *buf, size_t n);

#endif /* AGENT_BULK_H */
