/*
 * asm-offsets.c - the structure offsets and constants entry.S needs, as
 * Linux and Xen generate them: compiled to assembly only (never linked),
 * each DEFINE() leaves a line `->NAME value` that the Makefile turns into
 * build/hv/include/asm-offsets.h.  A layout change in C then moves the
 * assembly with it.
 */
#include "common/hv.h"

#define DEFINE(sym, val) \
    __asm__ volatile("\n.ascii \"->" #sym " %c0\"" : : "i"(val))
#define OFFSET(sym, str, mem) DEFINE(sym, offsetof(struct str, mem))

void asm_offsets(void);
void asm_offsets(void)
{
    /* struct cpu_regs: the guest frame (Xen's cpu_user_regs order). */
    OFFSET(UREGS_r11, cpu_regs, r11);
    OFFSET(UREGS_rax, cpu_regs, rax);
    OFFSET(UREGS_rcx, cpu_regs, rcx);
    OFFSET(UREGS_error_code, cpu_regs, error_code);
    OFFSET(UREGS_entry_vector, cpu_regs, entry_vector);
    OFFSET(UREGS_rip, cpu_regs, rip);
    OFFSET(UREGS_cs, cpu_regs, cs);
    OFFSET(UREGS_rflags, cpu_regs, rflags);
    OFFSET(UREGS_rsp, cpu_regs, rsp);
    OFFSET(UREGS_ss, cpu_regs, ss);
    DEFINE(UREGS_SIZE, sizeof(struct cpu_regs));
    /* struct vcpu */
    OFFSET(VCPU_hypercall_fast, vcpu, hypercall_fast);
    OFFSET(VCPU_syscall_fast, vcpu, syscall_fast);
    /* the hypercall fast path */
    DEFINE(NR_HYPERCALLS_ASM, NR_HYPERCALLS);
    DEFINE(EXIT_WORK_SIZE, sizeof(union exit_work));
    DEFINE(EXIT_WORK_frame, offsetof(union exit_work, frame));
    DEFINE(EXIT_WORK_IRET_ONLY_ASM, EXIT_WORK_IRET_ONLY);
}
