/*
 * xen_tools.h - Xen's tools-only public headers (domctl, sysctl, HVM ops)
 * for the hypervisor's control operations.  They need __XEN_TOOLS__ when
 * xen.h is first read, so this header comes before any other include in
 * the files that use it (domctl.c, sysctl.c); xen-compat.h then selects the
 * latest interface version, which is the one lamina/xen.h asks for.
 * Declarations only; runs in ring 0 and in host unit tests.
 */
#ifndef LAMINA_XEN_TOOLS_H
#define LAMINA_XEN_TOOLS_H

#if defined(LAMINA_XEN_H) && !defined(__XEN_TOOLS__)
#error "include xen_tools.h before anything that includes <lamina/xen.h>"
#endif
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
#include <xen/xen-compat.h>
#undef __XEN_INTERFACE_VERSION__
#include <lamina/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

#endif
