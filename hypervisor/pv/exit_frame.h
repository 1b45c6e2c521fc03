/*
 * exit_frame.h - the checks on a guest register frame on its way back to a
 * PV guest (traps.c exit_prepare()), as pure functions so that host unit
 * tests (tests/unit/test_exit_frame.c) can check each one.  Runs in ring 0
 * with interrupts off, and on the host.
 *
 * The frame was built from guest input (HYPERVISOR_iret, bounce frames,
 * saved state of another vCPU); none of it may make IRET or SYSRET fault
 * in ring 0 or return with privilege (Xen's XSA-7 and friends).
 */
#ifndef LAMINA_EXIT_FRAME_H
#define LAMINA_EXIT_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <lamina/xen.h>
#include "common/hv.h"
#include "arch/x86/x86.h"


/* What exit_frame_sanitise() found: the frame can be resumed, or its rip
 * is non-canonical and the guest must get #GP(0) instead (an IRET or
 * SYSRET there would fault in ring 0). */
enum exit_verdict { EXIT_RESUME, EXIT_GP };

/*
 * Forces r into a frame that IRET can resume in guest ring 3 without
 * granting anything: CS is one of the flat ring-3 code selectors (64- or
 * 32-bit; anything else becomes FLAT_RING3_CS64) with RPL 3, SS the flat
 * ring-3 data selector, IOPL 0, IF 1 (the guest's own interrupt flag is its
 * upcall mask) and the fixed bit 1 set.  A non-canonical rsp is left alone:
 * it faults in the guest's own context when used.  Returns EXIT_GP if rip
 * is non-canonical (checked first; the frame is not changed then).
 */
static inline enum exit_verdict exit_frame_sanitise(struct cpu_regs *r)
{
    if (!canonical_addr(r->rip))
        return EXIT_GP;
    if ((r->cs | 3) != FLAT_RING3_CS64 && (r->cs | 3) != FLAT_RING3_CS32)
        r->cs = FLAT_RING3_CS64;
    r->cs |= 3;
    r->ss = FLAT_RING3_SS64;
    r->rflags = (r->rflags & ~X86_EFLAGS_IOPL) | X86_EFLAGS_IF | X86_EFLAGS_FIXED;
    return EXIT_RESUME;
}

/*
 * After exit_frame_sanitise() on the syscall path: may r be resumed with
 * SYSRET instead of IRET?  Only when SYSRET produces exactly the frame:
 * 64-bit flat ring-3 CS/SS, rip in rcx and rflags in r11 (true when a
 * hypercall returns to its caller), canonical rip (Intel's SYSRET #GPs in
 * ring 0 otherwise, XSA-7) and rsp (it would be live in ring 0 before
 * SYSRET), and no TF/RF to honour.
 */
static inline bool exit_sysret_ok(const struct cpu_regs *r)
{
    return r->cs == FLAT_RING3_CS64 && r->ss == FLAT_RING3_SS64 &&
           r->rcx == r->rip && r->r11 == r->rflags &&
           canonical_addr(r->rip) && canonical_addr(r->rsp) &&
           (r->rflags & (X86_EFLAGS_TF | X86_EFLAGS_RF)) == 0;
}

#endif
