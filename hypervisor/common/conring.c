/*
 * conring.c - the hypervisor's console log ring (Xen's conring): the last
 * 64 KiB of everything written to the hypervisor console ("(XEN) " lines
 * and each domain's "(dN) " lines), read by dom0 through
 * XEN_SYSCTL_readconsole.  Runs in ring 0 with interrupts off; also
 * compiled on the host by tests/unit/test_domctl.c.
 */
#include "common/hv.h"
#include "common/guest_access.h"

#define CONRING_SIZE 65536u                     /* a power of two */
#define CONRING_IDX(i) ((i) & (CONRING_SIZE - 1))

static char conring[CONRING_SIZE];
/* Free-running indices: conring_prod counts every byte ever written;
 * conring_cons is the oldest byte still held (or kept after a clear). */
static uint32_t conring_prod, conring_cons;

void conring_putc(char c)
{
    conring[CONRING_IDX(conring_prod)] = c;
    conring_prod++;
    if (conring_prod - conring_cons > CONRING_SIZE)
        conring_cons = conring_prod - CONRING_SIZE;
}

int conring_read(uint64_t buf, uint32_t *count, uint32_t *index, bool clear, bool incremental)
{
    uint32_t c = conring_cons, p = conring_prod, max = *count, sofar = 0;

    /* An incremental read resumes at *index if it is still within the ring. */
    if (incremental && (uint32_t)(*index - c) <= (uint32_t)(p - c))
        c = *index;
    while (c != p && sofar < max) {
        uint32_t idx = CONRING_IDX(c), len = p - c;
        if (idx + len > CONRING_SIZE)
            len = CONRING_SIZE - idx;
        if (len > max - sofar)
            len = max - sofar;
        if (copy_to_guest(buf + sofar, &conring[idx], len))
            return -XEN_EFAULT;
        sofar += len;
        c += len;
    }
    if (clear)
        conring_cons = c;
    *count = sofar;
    *index = c;
    return 0;
}
