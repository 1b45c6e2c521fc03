/*
 * console.c - hypervisor console output for PV guests (CONSOLEIO_write).
 * Runs in a PV guest kernel; safe with events masked or not.
 */
#include <pv/console.h>
#include <pv/hypercall.h>

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
