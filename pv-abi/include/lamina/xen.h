/*
 * lamina/xen.h - the one place that pulls in Xen 4.17's public headers.
 *
 * Runs everywhere (hypervisor, PV guests, host tests).  The headers come from
 * Debian's libxen-dev, unpacked by `make deps` into build/xen-include; they
 * are never copied into this tree.  Include this file, never <xen/...>
 * directly: Xen's headers silently select the pre-3.0 "_compat" hypercall
 * numbers unless __XEN_INTERFACE_VERSION__ is set first, and io/ring.h needs
 * the xen_mb()/xen_rmb()/xen_wmb() barriers defined.
 */
#ifndef LAMINA_XEN_H
#define LAMINA_XEN_H

#define __XEN_INTERFACE_VERSION__ 0x00040e00

#include <stdint.h>
#include <stddef.h>

#ifndef xen_mb
#define xen_mb()  __asm__ __volatile__("mfence" ::: "memory")
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/features.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/callback.h>
#include <xen/memory.h>
#include <xen/vcpu.h>
#include <xen/event_channel.h>
#include <xen/physdev.h>
#include <xen/elfnote.h>
#include <xen/nmi.h>
#include <xen/grant_table.h>
#include <xen/io/console.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include <xen/io/protocols.h>

/* Layouts the guest and the hypervisor both rely on (x86-64 PV). */
_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info is 32 bytes");
_Static_assert(sizeof(struct trap_info) == 16, "trap_info is 16 bytes");
_Static_assert(sizeof(struct mmu_update) == 16, "mmu_update is 16 bytes");
_Static_assert(sizeof(struct multicall_entry) == 64, "multicall_entry is 64 bytes");
_Static_assert(sizeof(struct shared_info) <= 4096, "shared_info fits a page");
_Static_assert(offsetof(struct shared_info, vcpu_info) == 0, "vcpu_info[0] first");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is 64 bytes");

#endif /* LAMINA_XEN_H */
