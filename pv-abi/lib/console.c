/*
 * console.c - PV guest console: hypervisor console output (CONSOLEIO_write)
 * and the front-end of a domU's console ring (io/console.h).
 *
 * Runs in a PV guest kernel; safe with events masked or not.  The ring's
 * indices are free-running; the producer writes data, then (write barrier)
 * the producer index; the consumer reads the producer index, (read
 * barrier) the data, then (full barrier) publishes its consumer index.
 */
#include <pv/console.h>
#include <pv/evtchn.h>
#include <pv/hypercall.h>
#include <pv/irq.h>
#include <pv/time.h>

int pv_console_write(const char *s, size_t n)
{
    while (n > 0) {
        int chunk = n > 1024 ? 1024 : (int)n;
        int rc = HYPERVISOR_console_io(CONSOLEIO_write, chunk, s);

        if (rc < 0)
            return rc;
        /* Xen returns 0 for a full write; treat a positive count as partial. */
        if (rc > 0 && rc < chunk)
            chunk = rc;
        s += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

/* ---- the console ring ------------------------------------------------- */

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE  sizeof(((struct xencons_interface *)0)->in)
/* Upper bound on yields in one wait, should the clock not advance. */
#define MAX_YIELDS 100000

static volatile struct xencons_interface *ring;
static evtchn_port_t ring_port;
static bool out_stalled;            /* last wait for space timed out */
static uint64_t out_dropped;

static char inbuf[PV_CONS_INBUF];
static unsigned int inbuf_head, inbuf_len;  /* FIFO */

static uint64_t now_ns(void)
{
    return pv_time_system_ns(&pv_vcpu_info()->time);
}

static void notify(void)
{
    (void)pv_evtchn_send(ring_port);
}

/* Moves bytes from `in` into inbuf while it has room.  Events masked. */
static void in_drain(void)
{
    XENCONS_RING_IDX cons = ring->in_cons, prod = ring->in_prod;
    bool moved = false;

    xen_rmb();                      /* data after the producer index */
    if ((XENCONS_RING_IDX)(prod - cons) > IN_SIZE) {
        cons = prod;                /* back-end broke the ring: resync */
        moved = true;
    }
    while (cons != prod && inbuf_len < PV_CONS_INBUF) {
        inbuf[(inbuf_head + inbuf_len) % PV_CONS_INBUF] =
            ring->in[MASK_XENCONS_IDX(cons, ring->in)];
        inbuf_len++;
        cons++;
        moved = true;
    }
    xen_mb();                       /* data read before the slots are freed */
    ring->in_cons = cons;
    if (moved)
        notify();
}

static void cons_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    in_drain();
}

int pv_cons_ring_init(struct xencons_interface *intf, evtchn_port_t port)
{
    int rc;

    if (!intf || port == 0 || port >= PV_EVTCHN_NR_PORTS)
        return -XEN_EINVAL;
    ring = intf;
    ring_port = port;
    rc = pv_evtchn_set_handler(port, cons_event, NULL);
    if (rc) {
        ring = NULL;
        return rc;
    }
    pv_evtchn_unmask(port);
    return 0;
}

int pv_cons_ring_resume(evtchn_port_t port)
{
    return ring ? pv_cons_ring_init((struct xencons_interface *)ring, port) : 0;
}

bool pv_cons_ring_active(void)
{
    return ring != NULL;
}

uint64_t pv_cons_ring_dropped(void)
{
    return out_dropped;
}

size_t pv_cons_ring_write(const char *s, size_t n)
{
    size_t done = 0;
    uint64_t wait_start = 0;
    unsigned int yields = 0;
    bool waiting = false;

    if (!ring)
        return 0;
    while (done < n) {
        XENCONS_RING_IDX cons = ring->out_cons, prod = ring->out_prod;
        XENCONS_RING_IDX used = prod - cons;

        xen_mb();                   /* consumer index before our writes */
        if (used > OUT_SIZE)
            break;                  /* back-end broke the ring: drop */
        if (used == OUT_SIZE) {
            if (out_stalled)
                break;
            if (!waiting) {
                waiting = true;
                wait_start = now_ns();
                notify();           /* make sure the back-end knows */
            } else if (now_ns() - wait_start >= PV_CONS_WAIT_NS ||
                       ++yields >= MAX_YIELDS) {
                out_stalled = true;
                break;
            }
            (void)HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
            continue;
        }
        out_stalled = false;
        while (done < n && used < OUT_SIZE) {
            ring->out[MASK_XENCONS_IDX(prod, ring->out)] = s[done++];
            prod++;
            used++;
        }
        xen_wmb();                  /* data before the producer index */
        ring->out_prod = prod;
    }
    if (done > 0)
        notify();
    out_dropped += n - done;
    return done;
}

size_t pv_cons_ring_read(char *buf, size_t n)
{
    size_t got = 0;
    bool flags;

    if (!ring)
        return 0;
    flags = pv_irq_save();
    in_drain();
    while (got < n && inbuf_len > 0) {
        buf[got++] = inbuf[inbuf_head];
        inbuf_head = (inbuf_head + 1) % PV_CONS_INBUF;
        inbuf_len--;
    }
    if (got > 0)
        in_drain();                 /* room again: take what waited */
    pv_irq_restore(flags);
    return got;
}
