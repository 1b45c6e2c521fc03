/*
 * pv.h - pv/'s interface to the rest of the hypervisor: what only
 * paravirtualized vCPUs have.  Descriptor tables (desc.h: HYPERVISOR_set_gdt,
 * update_descriptor, MMUEXT_SET_LDT) and the checks of a frame returned to
 * a PV guest (exit_frame.h).  Other folders include this header only.
 */
#ifndef LAMINA_PV_H
#define LAMINA_PV_H

#include "pv/desc.h"
#include "pv/exit_frame.h"

struct vcpu_ops;
/* PV vCPUs' operations (pv/traps.c): every domain starts with them. */
extern const struct vcpu_ops pv_vcpu_ops;

#endif
