/*
 * trap.c - native descriptor tables and trap dispatch: GDT with kernel and
 * user segments plus the TSS, the IDT over entry.S's stubs, the syscall
 * MSRs, and the C side of every kernel entry (exceptions, interrupts,
 * system calls, new threads, the drop to user mode).
 * Runs in the guest kernel, ring 0, entered with interrupts off.
 *
 * Nothing here reads IF from rflags or the privilege level from CS: the
 * interrupt state is native_irq_on, "user" comes from the page-fault error
 * code or the half of the address space rip is in.
 */
#include "cpu.h"
#include "kernel.h"
#include "native.h"

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct idt_entry {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry layout");
_Static_assert(sizeof(struct tss64) == 104, "TSS layout");

/* Per-CPU block the syscall entry reaches through the kernel gs base. */
struct native_percpu {
    uint64_t kernel_rsp;        /* offset 0: stack for syscall entry */
    uint64_t user_rsp;          /* offset 8: scratch */
};

bool native_irq_on;
static struct native_percpu percpu;
static struct tss64 tss __attribute__((aligned(16)));
static uint64_t gdt[8] __attribute__((aligned(16)));
static struct idt_entry idt[256] __attribute__((aligned(16)));

void native_trap_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffUL;      /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00cf92000000ffffUL;      /* 0x10 kernel data */
    gdt[3] = 0x00cffa000000ffffUL;      /* 0x18 user code, 32-bit (unused) */
    gdt[4] = 0x00cff2000000ffffUL;      /* 0x20 user data */
    gdt[5] = 0x00affa000000ffffUL;      /* 0x28 user code, 64-bit */
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) |
             ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
    gdt[7] = base >> 32;
    tss.iomap_base = sizeof(tss);

    struct desc_ptr gp = { sizeof(gdt) - 1, (uint64_t)gdt };
    lgdt(&gp);
    load_segments(SEL_KERNEL_CS, SEL_KERNEL_DS);
    ltr(SEL_TSS);

    for (int v = 0; v < NR_TRAP_STUBS; v++) {
        uint64_t a = (uint64_t)(native_trap_stubs + 16 * v);
        idt[v].offset_lo = a & 0xffff;
        idt[v].selector = SEL_KERNEL_CS;
        idt[v].ist = 0;
        idt[v].type_attr = 0x8e;        /* present, DPL 0, interrupt gate */
        idt[v].offset_mid = a >> 16 & 0xffff;
        idt[v].offset_hi = a >> 32;
    }
    struct desc_ptr ip = { sizeof(idt) - 1, (uint64_t)idt };
    lidt(&ip);

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, ((uint64_t)SEL_USER_CS32 << 48) | ((uint64_t)SEL_KERNEL_CS << 32));
    wrmsr(MSR_LSTAR, (uint64_t)native_syscall_entry);
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
    wrmsr(MSR_GS_BASE, 0);
    wrmsr(MSR_KERNEL_GS_BASE, (uint64_t)&percpu);
}

void native_trap(struct trap_frame *f)
{
    bool saved = native_irq_on;
    native_irq_on = false;
    unsigned v = (unsigned)f->vector;

    if (v == VEC_TIMER) {
        native_timer_irq();
    } else if (v > VEC_TIMER) {
        /* Other PIC lines are masked; spurious IRQ7/15 need no EOI. */
    } else if (v == 14) {
        uint64_t addr = read_cr2();
        bool user = f->error_code & 4;
        if (!core_page_fault(addr, f->error_code, user))
            core_fatal_trap(v, f->error_code, f->rip, user);
    } else {
        core_fatal_trap(v, f->error_code, f->rip, f->rip < USER_VA_END);
    }
    native_irq_on = saved;
}

uint64_t native_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    arch_irq_enable();
    uint64_t r = core_syscall(nr, a0, a1, a2);
    arch_irq_disable();
    return r;
}

void native_thread_start(void (*entry)(void *), void *arg)
{
    arch_irq_enable();
    entry(arg);
    panic("native: thread entry returned");
}

void arch_context_init(struct arch_context *ctx, void *stack_top,
                       void (*entry)(void *), void *arg)
{
    uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15UL);
    *--sp = (uint64_t)native_thread_trampoline;    /* ret target */
    *--sp = 0;                                     /* rbp */
    *--sp = 0;                                     /* rbx */
    *--sp = (uint64_t)entry;                       /* r12 */
    *--sp = (uint64_t)arg;                         /* r13 */
    *--sp = 0;                                     /* r14 */
    *--sp = 0;                                     /* r15 */
    ctx->rsp = (uint64_t)sp;
}

void arch_set_kernel_stack(void *stack_top)
{
    uint64_t top = (uint64_t)stack_top & ~15UL;
    tss.rsp[0] = top;
    percpu.kernel_rsp = top;
}

void arch_enter_user(uint64_t rip, uint64_t rsp)
{
    cpu_cli();
    native_irq_on = false;
    native_enter_user(rip, rsp);
}

/* ---- interrupt flag --------------------------------------------------------- */

void arch_irq_disable(void)
{
    cpu_cli();
    native_irq_on = false;
}

void arch_irq_enable(void)
{
    native_irq_on = true;
    cpu_sti();
}

bool arch_irq_save(void)
{
    bool was = native_irq_on;
    cpu_cli();
    native_irq_on = false;
    return was;
}

void arch_irq_restore(bool enabled)
{
    if (enabled)
        arch_irq_enable();
    else
        arch_irq_disable();
}

void arch_idle(void)
{
    native_irq_on = true;
    cpu_sti_hlt();
}
