/*
 * desc.h - guest segment descriptors for x86-64 PV: the descriptor check
 * shared by HYPERVISOR_set_gdt, HYPERVISOR_update_descriptor and the
 * validation of PGT_seg_desc_page frames (GDT and LDT pages).
 *
 * Runs in ring 0 with interrupts off; desc.c is also compiled on the host by
 * tests/unit/test_desc.c.
 *
 * Policy (Xen's check_descriptor() for 64-bit PV guests, minus gates):
 *  - a descriptor with P clear (including the null descriptor) is accepted:
 *    loading it always faults;
 *  - code and data descriptors (S set) are accepted with any base, limit,
 *    type and L/D bits; a DPL below 3 is accepted but rewritten to 3 in the
 *    stored copy (fixup_descriptor()), as Xen does for 64-bit guests whose
 *    kernel runs in ring 3;
 *  - a system descriptor of type 0 is accepted: it is the upper half of a
 *    16-byte system descriptor and faults if loaded;
 *  - every other system descriptor is rejected: LDT, TSS, and all gates.
 *    Xen accepts call gates (rewriting them to DPL 0 and emulating their use
 *    on #GP); Lamina does not emulate gates, so it rejects them.
 * Since no accepted descriptor is a gate or a TSS/LDT, no guest descriptor can
 * ever move the CPU to ring 0-2, whatever its DPL.
 */
#ifndef LAMINA_DESC_H
#define LAMINA_DESC_H

#include "lib/lib.h"

struct domain;
struct vcpu;

/* Descriptor high-dword bits (bits 32-63 of the 8-byte descriptor). */
#define SEG_TYPE_MASK   (15u << 8)
#define SEG_S           (1u << 12)      /* code/data (1) vs system (0) */
#define SEG_DPL_MASK    (3u << 13)
#define SEG_DPL_SHIFT   13
#define SEG_P           (1u << 15)
#define SEG_L           (1u << 21)
#define SEG_DB          (1u << 22)
#define SEG_G           (1u << 23)

/* True if the 8-byte descriptor desc may appear in a GDT or LDT of domain d
 * (policy above).  Pure: no side effects. */
bool check_descriptor(const struct domain *d, uint64_t desc);

/* The form in which an accepted descriptor is stored: DPL raised to 3 on a
 * present code/data descriptor, otherwise desc unchanged.  Only meaningful
 * when check_descriptor(d, desc) is true.  mm's PGT_seg_desc_page validation
 * should write it back over each descriptor, as Xen's does. */
uint64_t fixup_descriptor(const struct domain *d, uint64_t desc);

/*
 * HYPERVISOR_set_gdt (Xen public/xen.h, __HYPERVISOR_set_gdt) for current:
 * frame_list is a guest pointer to ceil(entries / 512) MFNs (8 bytes each);
 * entries <= FIRST_RESERVED_GDT_ENTRY.  Takes a general and a
 * PGT_seg_desc_page type reference on every new frame, stores the fixed-up
 * descriptors back into them, drops the references of the old GDT frames,
 * records the frames in current->gdt_frames/gdt_ents and calls
 * gdt_load_guest(current).  Errors: -EINVAL (too many entries, a frame not
 * owned by the caller or not usable as a descriptor page), -EFAULT (bad
 * frame_list).  On error the old GDT stays in place.
 */
long do_set_gdt(uint64_t frame_list, unsigned int entries);

/* do_set_gdt's work for vCPU v (current, or one the toolstack is setting
 * up through XEN_DOMCTL_setvcpucontext) with frames[0..] MFNs of v's
 * domain already in hypervisor memory.  Same rules and errors; the CPU's
 * GDT is reloaded only when v is current. */
int pv_set_gdt(struct vcpu *v, const unsigned long *frames, unsigned int entries);

/*
 * HYPERVISOR_update_descriptor (__HYPERVISOR_update_descriptor): writes desc
 * at machine address maddr, which must be 8-byte aligned and lie in a frame
 * owned by the caller.  The frame must be a descriptor page
 * (PGT_seg_desc_page) or able to take PGT_writable_page (i.e. not a page
 * table); if it is one of current's GDT frames, gdt_load_guest(current) is
 * called afterwards.  Errors: -EINVAL for any violation (as Xen).
 */
long do_update_descriptor(uint64_t maddr, uint64_t desc);

/* Drops v's GDT frame references and empties its GDT (gdt_ents = 0); for
 * vCPU teardown (Xen's pv_destroy_gdt()).  Does not reload the CPU's GDT. */
void pv_destroy_gdt(struct vcpu *v);

/* An LDT holds at most 8192 descriptors (16 frames), as Xen's SET_LDT. */
#define LDT_MAX_ENTRIES 8192

/*
 * MMUEXT_SET_LDT (Xen public/xen.h) for v, once the caller has translated
 * the guest linear address base (page aligned) into the machine frames that
 * back it: frames[] holds ceil(entries / 512) MFNs.  Each frame must be v's
 * domain's and able to take PGT_seg_desc_page (not mapped writable; every
 * descriptor passes check_descriptor(), so no gate, TSS or LDT descriptor).
 * Xen maps LDT frames lazily on first use; Lamina validates them all here.
 * Takes a general and a type reference per frame, stores fixed-up
 * descriptors, drops the old LDT's references, records base/frames/entries
 * in v and calls ldt_load_guest(v).  entries == 0 removes the LDT.
 * Errors: -EINVAL (more than LDT_MAX_ENTRIES, a frame that is not the
 * domain's or not usable as a descriptor page); the old LDT then stays.
 */
long pv_set_ldt(struct vcpu *v, uint64_t base, const unsigned long *frames,
                unsigned int entries);

/* Drops v's LDT frame references and empties its LDT (ldt_ents = 0); for
 * vCPU teardown (Xen's pv_destroy_ldt()).  Does not reload LDTR. */
void pv_destroy_ldt(struct vcpu *v);

/*
 * Provided by the integrator (not desc.c): makes v's LDT (v->ldt_frames,
 * v->ldt_ents descriptors) the CPU's LDT, or loads a null LDTR when v has
 * none (or v is NULL).  Called by pv_set_ldt/do_update_descriptor for
 * current and on every switch to v.
 */
void ldt_load_guest(struct vcpu *v);

/*
 * Provided by the integrator (not desc.c): copies v's first gdt_ents guest
 * descriptors (from v->gdt_frames) into this CPU's GDT below
 * FIRST_RESERVED_GDT_ENTRY and clears the rest of that range, then reloads
 * whatever is needed.  Called by do_set_gdt/do_update_descriptor for current;
 * must also be called on every switch to v.
 */
void gdt_load_guest(struct vcpu *v);

#endif
