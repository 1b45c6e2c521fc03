/*
 * bulk.c - ivshmem-plain discovery and the bulk ring consumer (dom0).
 *
 * Runs in dom0 (toolstack agent thread).  PCI configuration space is
 * reached with mechanism #1 (0xcf8 address, 0xcfc data, 32-bit accesses),
 * which the hypervisor emulates for dom0.  The firmware (qboot) assigns
 * no BARs, so BAR2 is placed here; the BAR is device memory above RAM,
 * which dom0 may map through DOMID_IO.
 */
#include "xenctrl.h"
#include "kernel.h"
#include "bulk.h"
#include "../common/wire.h"
#include "pio.h"

#define PCI_COMMAND   0x04
#define PCI_CMD_MEM   0x0002
#define PCI_BAR2      0x18
#define PCI_BAR3      0x1c

static struct lamina_bulk_hdr *bulk_hdr;
static uint8_t *bulk_data;
static uint64_t bar_addr, bar_size;

/* Slot of the ivshmem device on bus 0, function 0; -1 if absent. */
static int pci_find_ivshmem(void)
{
    for (unsigned int dev = 0; dev < 32; dev++) {
        uint32_t id = pci_conf_read(dev, 0);
        if ((id & 0xffff) == BULK_PCI_VENDOR && (id >> 16) == BULK_PCI_DEVICE)
            return (int)dev;
    }
    return -1;
}

int bulk_init(xc_interface *xch)
{
    if (bulk_hdr)
        return 0;
    int dev = pci_find_ivshmem();
    if (dev < 0)
        return -XEN_ENODEV;

    uint32_t cmd = pci_conf_read((unsigned int)dev, PCI_COMMAND);
    uint32_t lo = pci_conf_read((unsigned int)dev, PCI_BAR2);
    uint32_t hi = pci_conf_read((unsigned int)dev, PCI_BAR3);
    if ((lo & 1) || ((lo >> 1) & 3) != 2)
        return -XEN_ENODEV;         /* not a 64-bit memory BAR */

    /* Size it with decoding off. */
    pci_conf_write((unsigned int)dev, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
    pci_conf_write((unsigned int)dev, PCI_BAR2, 0xffffffffu);
    pci_conf_write((unsigned int)dev, PCI_BAR3, 0xffffffffu);
    uint64_t mask = (uint64_t)pci_conf_read((unsigned int)dev, PCI_BAR3) << 32 |
                    (pci_conf_read((unsigned int)dev, PCI_BAR2) & ~0xfu);
    uint64_t size = ~mask + 1;

    uint64_t addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
    if (addr == 0)
        addr = BULK_BAR_ADDR;       /* firmware left it unassigned */
    pci_conf_write((unsigned int)dev, PCI_BAR2, (uint32_t)addr);
    pci_conf_write((unsigned int)dev, PCI_BAR3, (uint32_t)(addr >> 32));
    pci_conf_write((unsigned int)dev, PCI_COMMAND, cmd | PCI_CMD_MEM);

    if (size < 2 * XC_PAGE_SIZE || (size & (size - 1)) || size > (1UL << 30) ||
        (addr & (size - 1)))
        return -XEN_ENODEV;

    void *va = xc_map_foreign_range(xch, DOMID_IO, (int)size,
                                    XC_PROT_READ | XC_PROT_WRITE,
                                    (unsigned long)(addr >> XC_PAGE_SHIFT));
    if (!va)
        return -errno;
    bar_addr = addr;
    bar_size = size;
    bulk_data = (uint8_t *)va + BULK_DATA_OFF;
    bulk_hdr = va;
    return 0;
}

uint64_t bulk_bar_addr(void)
{
    return bulk_hdr ? bar_addr : 0;
}

uint64_t bulk_bar_size(void)
{
    return bulk_hdr ? bar_size : 0;
}

bool bulk_ready(const char **why)
{
    if (!bulk_hdr) {
        *why = "no ivshmem bulk device (start QEMU with ivshmem-plain)";
        return false;
    }
    if (memcmp(bulk_hdr->magic, BULK_MAGIC, 8)) {
        *why = "the host has not initialised the bulk ring (no LAMBULK1 header)";
        return false;
    }
    uint32_t size = bulk_hdr->size;
    if (size == 0 || (size & (size - 1)) || size > bar_size - BULK_DATA_OFF) {
        *why = "the bulk ring header has a bad size";
        return false;
    }
    return true;
}

size_t bulk_read(void *dst, size_t n, uint32_t *crc, uint64_t idle_ns,
                 void (*idle)(void), uint64_t *first_ns)
{
    const char *why;
    uint8_t *out = dst;
    size_t done = 0;
    uint64_t last = arch_now_ns();
    bool seen = false;

    if (!bulk_ready(&why))
        return 0;
    uint32_t size = bulk_hdr->size;     /* the host may not change it now */

    while (done < n) {
        uint32_t cons = bulk_hdr->cons;
        uint32_t prod = bulk_hdr->prod;
        xen_rmb();                      /* prod before the data */
        uint32_t avail = prod - cons;
        if (avail > size)               /* the host broke the ring */
            return done;
        if (avail == 0) {
            uint64_t now = arch_now_ns();
            if (now - last > idle_ns)
                return done;
            /* The host sets eof after its last prod: read prod again. */
            if (bulk_hdr->eof) {
                xen_rmb();
                if (bulk_hdr->prod == cons)
                    return done;
                continue;
            }
            if (idle)
                idle();
            if (now - last > 1000000)
                thread_sleep_ns(1000000);
            else
                thread_yield();
            continue;
        }
        if (!seen) {
            seen = true;
            if (first_ns)
                *first_ns = arch_now_ns();
        }
        if (avail > n - done)
            avail = (uint32_t)(n - done);
        while (avail) {
            uint32_t off = cons & (size - 1);
            uint32_t chunk = size - off < avail ? size - off : avail;
            if (out)
                memcpy(out + done, bulk_data + off, chunk);
            if (crc)
                *crc = bulk_crc32(*crc, bulk_data + off, chunk);
            cons += chunk;
            done += chunk;
            avail -= chunk;
        }
        xen_mb();                       /* data read before cons moves */
        bulk_hdr->cons = cons;
        last = arch_now_ns();
    }
    return done;
}

int bulk_write(const void *src, size_t n, uint64_t idle_ns, void (*idle)(void))
{
    const uint8_t *in = src;
    const char *why;
    uint64_t last = arch_now_ns();

    if (!bulk_ready(&why))
        return -XEN_ENODEV;
    uint32_t size = bulk_hdr->out_size, off0 = bulk_hdr->out_off;
    if (!size || (size & (size - 1)) || off0 < BULK_DATA_OFF || off0 > bar_size ||
        size > bar_size - off0)
        return -XEN_ENODEV;
    uint8_t *data = (uint8_t *)bulk_hdr + off0;
    while (n) {
        uint32_t prod = bulk_hdr->out_prod;
        uint32_t cons = bulk_hdr->out_cons;
        xen_mb();                       /* cons before reusing its space */
        uint32_t room = size - (prod - cons);
        if (room > size)                /* the host broke the ring */
            return -XEN_EIO;
        if (room == 0) {
            uint64_t now = arch_now_ns();
            if (now - last > idle_ns)
                return -XEN_ETIMEDOUT;
            if (idle)
                idle();
            thread_yield();
            continue;
        }
        while (room && n) {
            uint32_t off = prod & (size - 1);
            uint32_t chunk = size - off < room ? size - off : room;
            if (chunk > n)
                chunk = (uint32_t)n;
            memcpy(data + off, in, chunk);
            in += chunk;
            n -= chunk;
            prod += chunk;
            room -= chunk;
        }
        xen_wmb();                      /* data before prod */
        bulk_hdr->out_prod = prod;
        last = arch_now_ns();
    }
    return 0;
}

void bulk_discard(void)
{
    const char *why;

    if (!bulk_ready(&why))
        return;
    uint32_t prod = bulk_hdr->prod;
    xen_mb();
    bulk_hdr->cons = prod;
}

uint32_t bulk_crc32(uint32_t crc, const void *buf, size_t n)
{
    return wire_crc32(crc, buf, n);
}
