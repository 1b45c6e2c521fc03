/*
 * lamina/sysctl_ext.h - Lamina's one addition to Xen's sysctl interface
 * (public/sysctl.h): the hypervisor's resource counters, for the
 * toolstack's `lamina info` and the leak checks of the tests.
 *
 * The number is outside the range Xen assigns (XEN_SYSCTL_* are below
 * 0x100); the result lives in the xen_sysctl union's 128-byte pad.
 * Privileged callers only (-EPERM otherwise, as every sysctl).
 */
#ifndef LAMINA_SYSCTL_EXT_H
#define LAMINA_SYSCTL_EXT_H

#include <stdint.h>

#define LAMINA_SYSCTL_counters 0x4c41

struct lamina_sysctl_counters {
    uint64_t grant_maps;        /* grant mappings held, all domains (maptrack entries) */
    uint64_t grant_frames;      /* grant-table frames allocated, all domains */
    uint64_t maptrack_frames;   /* maptrack frames, all domains (kept at their
                                 * high-water mark while the domain lives) */
    uint64_t free_pages;        /* free machine frames */
    uint64_t domains;           /* live domains */
};

#endif
