/*
 * hv_stubs.h - stand-ins, shared by the unit tests that compile mm_hcall.c
 * (test_mm, test_domctl), for what the rest of the hypervisor provides:
 * the continuation machinery (hypercall.c) and desc.c's half of
 * MMUEXT_SET_LDT.  Each records what it was given for the tests to check.
 * Included once, after the hypervisor sources.
 */
#ifndef HV_STUBS_H
#define HV_STUBS_H

/* hypercall.c's continuation machinery: test_mm drives preemption with
 * preempt_after (the check answers true from that call on; 0 = never) and
 * reads back the continuation's arguments. */
static unsigned int preempt_after, preempt_calls, cont_nr;
static uint64_t cont_args[5];
bool hypercall_preempt_check(void)
{
    return preempt_after && ++preempt_calls >= preempt_after;
}
void hypercall_create_continuation(unsigned int nr, uint64_t a0, uint64_t a1,
                                   uint64_t a2, uint64_t a3, uint64_t a4)
{
    cont_nr = nr;
    cont_args[0] = a0; cont_args[1] = a1; cont_args[2] = a2;
    cont_args[3] = a3; cont_args[4] = a4;
}

/* desc.c's half of MMUEXT_SET_LDT: records what mm_hcall.c resolved. */
static unsigned long ldt_frames_seen[16];
static unsigned int ldt_ents_seen;
long pv_set_ldt(struct vcpu *v, uint64_t base, const unsigned long *frames,
                unsigned int entries)
{
    (void)v; (void)base;
    ldt_ents_seen = entries;
    for (unsigned int i = 0; i < (entries + 511) / 512; i++)
        ldt_frames_seen[i] = frames[i];
    return 0;
}

#endif
