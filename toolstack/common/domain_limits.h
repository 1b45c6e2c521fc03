/*
 * domain_limits.h - the smallest memory each kind of domain can be built
 * with, checked by both ends of the toolstack (the CLI's config parser,
 * toolstack/cli/cfg.c, and dom0's agent, toolstack/agent/cmds.c) so that
 * a config below it is refused at create with the minimum named, not
 * built into a domain that dies at boot.
 *
 * Header-only; used by hosted and freestanding code alike.
 */
#ifndef LAMINA_DOMAIN_LIMITS_H
#define LAMINA_DOMAIN_LIMITS_H

/* PV: the kernel image, its page tables and P2M, start_info, xenstore and
 * console rings, and room for the guest kernel's own heap. */
#define LAMINA_PV_MIN_MIB     4
/* Unmodified: what the native guest kernel (guest-port/native) needs
 * below its direct map and heap; it stops with "less than 16 MiB of RAM"
 * below this. */
#define LAMINA_UNMOD_MIN_MIB  16

#endif
