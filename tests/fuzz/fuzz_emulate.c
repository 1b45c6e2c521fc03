/*
 * fuzz_emulate.c - libFuzzer harness for the trap-and-emulate core
 * (hypervisor/emulate.c over x86_decode.c), which acts on instructions
 * and memory an unmodified guest controls.  The input gives the virtual
 * CPU (CPL, mode, control registers, descriptor-table bases inside or
 * outside guest memory), the general registers and then the bytes at rip;
 * guest memory is one 64 KiB window (every access outside it is a #PF) and
 * ports read back garbage.  Runs emulate_insn() and, for the first vector
 * byte, emu_deliver().  Checks: a result is EMU_OK, EMU_FAULT (with a
 * vector below 32 and rip unchanged) or EMU_UNHANDLED; no crash, over-read
 * or undefined behaviour (ASan/UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../hypervisor/unmod/x86_decode.c"
#include "../../hypervisor/unmod/emulate.c"

#define WIN_BASE 0x10000UL
#define WIN_SIZE 0x10000UL
static uint8_t mem[WIN_SIZE];

static int in_win(uint64_t va, unsigned int n, struct emu_fault *f, unsigned int acc)
{
    if (va >= WIN_BASE && n <= WIN_SIZE && va - WIN_BASE <= WIN_SIZE - n)
        return 0;
    f->vector = 14;
    f->has_ec = true;
    f->ec = (acc & EMU_ACC_W) ? 2 : 0;
    f->cr2 = va;
    return -1;
}

static int f_read(void *ctx, uint64_t va, void *buf, unsigned int n, unsigned int acc,
                  struct emu_fault *f)
{
    if (in_win(va, n, f, acc))
        return -1;
    memcpy(buf, mem + (va - WIN_BASE), n);
    return 0;
}

static int f_write(void *ctx, uint64_t va, const void *buf, unsigned int n, unsigned int acc,
                   struct emu_fault *f)
{
    if (in_win(va, n, f, acc | EMU_ACC_W))
        return -1;
    memcpy(mem + (va - WIN_BASE), buf, n);
    return 0;
}

static uint32_t f_in(void *ctx, unsigned int port, unsigned int size) { return 0xdeadbeef; }
static void f_out(void *ctx, unsigned int port, unsigned int size, uint32_t val) { }
static const struct emu_ops ops = { f_read, f_write, f_in, f_out };

/* Takes the next 8 bytes of input (zero when it runs out). */
static uint64_t take(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;

    memcpy(&v, *p, k);
    *p += k;
    *n -= k;
    return v;
}

/* A base either inside the window (low bit of sel set) or as given. */
static uint64_t base_from(uint64_t v)
{
    return (v & 1) ? WIN_BASE + ((v >> 1) % (WIN_SIZE - 4096)) : v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cpu_regs regs;
    struct vcpu_unmod vu;
    const uint8_t *p = data;
    size_t n = size;

    memset(mem, 0, sizeof(mem));
    memset(&regs, 0, sizeof(regs));
    memset(&vu, 0, sizeof(vu));
    uint64_t mode = take(&p, &n);
    vu.cpl = (mode & 1) ? 3 : 0;
    vu.cs64 = !(mode & 2);
    vu.vif = mode & 4;
    vu.sti_shadow = mode & 8;
    vu.cr0 = 0x80000011UL | (take(&p, &n) & 0x6005002eUL);
    vu.cr4 = take(&p, &n) & 0x3727ffUL;
    vu.efer = (mode & 16) ? 0xd01 : 0x501;
    vu.cr3 = WIN_BASE;
    vu.gdtr_base = base_from(take(&p, &n));
    vu.gdtr_limit = (uint16_t)(mode >> 8);
    vu.idtr_base = base_from(take(&p, &n));
    vu.idtr_limit = (uint16_t)(mode >> 24);
    vu.tr_base = base_from(take(&p, &n));
    vu.tr = (uint16_t)(mode >> 40);
    uint64_t *gpr = &regs.r15;
    for (unsigned int i = 0; i < 15; i++)
        gpr[i] = (i & 1) ? base_from(take(&p, &n)) : take(&p, &n);
    regs.rip = WIN_BASE + 0x100;
    regs.rsp = WIN_BASE + 0x8000;
    regs.rflags = 0x202 | (take(&p, &n) & 0xcd5);
    regs.cs = vu.cpl ? 0x33 : 0x10;
    regs.ss = vu.cpl ? 0x2b : 0x18;
    uint8_t vec = n ? *p : 0;
    memcpy(mem + 0x100, p, n < WIN_SIZE - 0x100 ? n : WIN_SIZE - 0x100);

    struct emu_ctxt c = { .regs = &regs, .vu = &vu, .ops = &ops, .ctx = NULL };
    uint64_t rip = regs.rip;
    int rc = emulate_insn(&c);
    if (rc != EMU_OK && rc != EMU_FAULT && rc != EMU_UNHANDLED)
        abort();
    if (rc == EMU_FAULT && (c.fault.vector >= 32 || regs.rip != rip))
        abort();

    struct emu_ctxt d = { .regs = &regs, .vu = &vu, .ops = &ops, .ctx = NULL };
    vu.fault_depth = 0;
    rc = emu_deliver(&d, vec, vec == 13 || vec == 14, 0, mode & 32);
    if (rc != EMU_OK && rc != EMU_FAULT && rc != EMU_UNHANDLED)
        abort();
    return 0;
}
