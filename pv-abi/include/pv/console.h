/*
 * pv/console.h - the hypervisor console for PV guests.
 *
 * Runs in a PV guest kernel.  HYPERVISOR_console_io(CONSOLEIO_write) prints
 * to the hypervisor's console (Xen: dom0 always; a domU only with a debug
 * Xen or guest_loglvl; Lamina: every domain).
 */
#ifndef PV_CONSOLE_H
#define PV_CONSOLE_H

#include <stddef.h>

/* Writes n bytes of s through CONSOLEIO_write, in chunks, retrying short
 * writes.  Returns 0, or the negative Xen errno of the failing call. */
int pv_console_write(const char *s, size_t n);

#endif /* PV_CONSOLE_H */
