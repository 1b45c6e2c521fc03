/*
 * test_decode.c - host unit tests (cmocka) of hypervisor/x86_decode.c, the
 * x86-64 instruction decoder of the trap-and-emulate path.
 *
 * Runs on the host.  One table of encodings with the expected length,
 * class, operand size and key fields (prefixes, REX, ModRM/SIB,
 * displacement, immediate); malformed encodings that must give -1; and,
 * for every valid entry, every shorter prefix of its bytes must give -2
 * (decoded from an exactly-sized heap buffer, so ASan catches any read past
 * avail), while trailing bytes after it must not change the result.
 * The expected lengths were cross-checked with GNU objdump -M intel64
 * (which, like this decoder, reads 66 E8 as call rel32).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../hypervisor/unmod/x86_decode.c"

#define B(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })

struct tcase {
    const char *name;
    uint8_t bytes[24];
    uint8_t n;              /* bytes given to the decoder */
    int rc;                 /* expected result */
    /* checked when rc == 0 */
    uint8_t len, cls, op, map, prefixes, seg, rex;
    uint8_t imm_size, disp_size, imm2, addr;   /* addr 0 means 8 */
    uint64_t imm;
    int64_t disp;
    bool rip, sib;
    bool chk_reg;           /* check x86_insn_reg()/x86_insn_rm() */
    uint8_t reg, rm;
    bool chk_sib;           /* check SIB base/index (with REX) */
    int sib_base, sib_index;
    bool chk_opcode;
    uint8_t opcode;
};

#define P_66 X86_PFX_OPSIZE
#define P_67 X86_PFX_ADDRSIZE
#define P_F3 X86_PFX_REP
#define P_F2 X86_PFX_REPNE
#define P_LK X86_PFX_LOCK
#define P_SG X86_PFX_SEG
#define C(x) X86_CLS_##x
#define M0F X86_MAP_0F

static const struct tcase cases[] = {
    /* ---- privileged and sensitive instructions ---- */
    { "cli", B(0xfa), .len = 1, .cls = C(CLI), .op = 4 },
    { "sti", B(0xfb), .len = 1, .cls = C(STI), .op = 4 },
    { "hlt", B(0xf4), .len = 1, .cls = C(HLT), .op = 4 },
    { "mov %rax,%cr3", B(0x0f, 0x22, 0xd8), .len = 3, .cls = C(MOV_TO_CR), .op = 8,
      .map = M0F, .chk_reg = 1, .reg = 3, .rm = 0 },
    { "mov %cr2,%rax", B(0x0f, 0x20, 0xd0), .len = 3, .cls = C(MOV_FROM_CR), .op = 8,
      .map = M0F, .chk_reg = 1, .reg = 2, .rm = 0 },
    { "mov %cr0,%rcx", B(0x0f, 0x20, 0xc1), .len = 3, .cls = C(MOV_FROM_CR), .op = 8,
      .map = M0F, .chk_reg = 1, .reg = 0, .rm = 1 },
    { "mov %rax,%cr8", B(0x44, 0x0f, 0x22, 0xc0), .len = 4, .cls = C(MOV_TO_CR), .op = 8,
      .map = M0F, .rex = 0x44, .chk_reg = 1, .reg = 8, .rm = 0 },
    { "mov %r8,%cr4", B(0x41, 0x0f, 0x22, 0xe0), .len = 4, .cls = C(MOV_TO_CR), .op = 8,
      .map = M0F, .rex = 0x41, .chk_reg = 1, .reg = 4, .rm = 8 },
    { "mov %cr3,%rax (mod=00 ignored)", B(0x0f, 0x20, 0x18), .len = 3,
      .cls = C(MOV_FROM_CR), .op = 8, .map = M0F, .chk_reg = 1, .reg = 3, .rm = 0 },
    { "mov %db7,%rax", B(0x0f, 0x21, 0xf8), .len = 3, .cls = C(MOV_FROM_DR), .op = 8,
      .map = M0F, .chk_reg = 1, .reg = 7, .rm = 0 },
    { "mov %rcx,%db0", B(0x0f, 0x23, 0xc1), .len = 3, .cls = C(MOV_TO_DR), .op = 8,
      .map = M0F, .chk_reg = 1, .reg = 0, .rm = 1 },
    { "invlpg (%rax)", B(0x0f, 0x01, 0x38), .len = 3, .cls = C(INVLPG), .op = 4, .map = M0F },
    { "invlpg 0x10(%rax,%rbx,4)", B(0x0f, 0x01, 0x7c, 0x98, 0x10), .len = 5,
      .cls = C(INVLPG), .op = 4, .map = M0F, .sib = 1, .disp_size = 1, .disp = 0x10,
      .chk_sib = 1, .sib_base = 0, .sib_index = 3 },
    { "swapgs", B(0x0f, 0x01, 0xf8), .len = 3, .cls = C(SWAPGS), .op = 4, .map = M0F },
    { "rdtscp", B(0x0f, 0x01, 0xf9), .len = 3, .cls = C(RDTSCP), .op = 4, .map = M0F },
    { "lgdt (%rax)", B(0x0f, 0x01, 0x10), .len = 3, .cls = C(LGDT), .op = 8, .map = M0F },
    { "lidt (%rax)", B(0x0f, 0x01, 0x18), .len = 3, .cls = C(LIDT), .op = 8, .map = M0F },
    { "sgdt (%rax)", B(0x0f, 0x01, 0x00), .len = 3, .cls = C(SGDT), .op = 8, .map = M0F },
    { "sidt 0x12345678(%rip)", B(0x0f, 0x01, 0x0d, 0x78, 0x56, 0x34, 0x12), .len = 7,
      .cls = C(SIDT), .op = 8, .map = M0F, .rip = 1, .disp_size = 4, .disp = 0x12345678 },
    { "ltr %ax", B(0x0f, 0x00, 0xd8), .len = 3, .cls = C(LTR), .op = 2, .map = M0F },
    { "lldt %ax", B(0x0f, 0x00, 0xd0), .len = 3, .cls = C(LLDT), .op = 2, .map = M0F },
    { "sldt %eax", B(0x0f, 0x00, 0xc0), .len = 3, .cls = C(SLDT), .op = 4, .map = M0F },
    { "str %eax", B(0x0f, 0x00, 0xc8), .len = 3, .cls = C(STR), .op = 4, .map = M0F },
    { "lmsw %ax", B(0x0f, 0x01, 0xf0), .len = 3, .cls = C(LMSW), .op = 2, .map = M0F },
    { "smsw %eax", B(0x0f, 0x01, 0xe0), .len = 3, .cls = C(SMSW), .op = 4, .map = M0F },
    { "out %al,$0x80", B(0xe6, 0x80), .len = 2, .cls = C(OUT), .op = 1,
      .imm_size = 1, .imm = 0x80 },
    { "out %eax,$0x71", B(0xe7, 0x71), .len = 2, .cls = C(OUT), .op = 4,
      .imm_size = 1, .imm = 0x71 },
    { "in $0x60,%al", B(0xe4, 0x60), .len = 2, .cls = C(IN), .op = 1,
      .imm_size = 1, .imm = 0x60 },
    { "in (%dx),%al", B(0xec), .len = 1, .cls = C(IN), .op = 1 },
    { "in (%dx),%ax", B(0x66, 0xed), .len = 2, .cls = C(IN), .op = 2, .prefixes = P_66 },
    { "in (%dx),%eax", B(0xed), .len = 1, .cls = C(IN), .op = 4 },
    { "rex.W in (%dx),%eax", B(0x48, 0xed), .len = 2, .cls = C(IN), .op = 4, .rex = 0x48 },
    { "out %al,(%dx)", B(0xee), .len = 1, .cls = C(OUT), .op = 1 },
    { "out %ax,(%dx)", B(0x66, 0xef), .len = 2, .cls = C(OUT), .op = 2, .prefixes = P_66 },
    { "insb", B(0x6c), .len = 1, .cls = C(INS), .op = 1 },
    { "rep insl", B(0xf3, 0x6d), .len = 2, .cls = C(INS), .op = 4, .prefixes = P_F3 },
    { "rep outsw", B(0xf3, 0x66, 0x6f), .len = 3, .cls = C(OUTS), .op = 2,
      .prefixes = P_F3 | P_66 },
    { "rdmsr", B(0x0f, 0x32), .len = 2, .cls = C(RDMSR), .op = 4, .map = M0F },
    { "wrmsr", B(0x0f, 0x30), .len = 2, .cls = C(WRMSR), .op = 4, .map = M0F },
    { "rdtsc", B(0x0f, 0x31), .len = 2, .cls = C(RDTSC), .op = 4, .map = M0F },
    { "rdpmc", B(0x0f, 0x33), .len = 2, .cls = C(RDPMC), .op = 4, .map = M0F },
    { "cpuid", B(0x0f, 0xa2), .len = 2, .cls = C(CPUID), .op = 4, .map = M0F },
    { "iretq", B(0x48, 0xcf), .len = 2, .cls = C(IRET), .op = 8, .rex = 0x48 },
    { "iret", B(0xcf), .len = 1, .cls = C(IRET), .op = 4 },
    { "iretw", B(0x66, 0xcf), .len = 2, .cls = C(IRET), .op = 2, .prefixes = P_66 },
    { "sysretq", B(0x48, 0x0f, 0x07), .len = 3, .cls = C(SYSRET), .op = 8, .map = M0F,
      .rex = 0x48 },
    { "sysretl", B(0x0f, 0x07), .len = 2, .cls = C(SYSRET), .op = 4, .map = M0F },
    { "syscall", B(0x0f, 0x05), .len = 2, .cls = C(SYSCALL), .op = 4, .map = M0F },
    { "wbinvd", B(0x0f, 0x09), .len = 2, .cls = C(WBINVD), .op = 4, .map = M0F },
    { "invd", B(0x0f, 0x08), .len = 2, .cls = C(INVD), .op = 4, .map = M0F },
    { "clts", B(0x0f, 0x06), .len = 2, .cls = C(CLTS), .op = 4, .map = M0F },
    { "int $0x80", B(0xcd, 0x80), .len = 2, .cls = C(INT), .op = 4, .imm_size = 1, .imm = 0x80 },
    { "int3", B(0xcc), .len = 1, .cls = C(INT3), .op = 4 },
    { "pushf", B(0x9c), .len = 1, .cls = C(PUSHF), .op = 8 },
    { "popf", B(0x9d), .len = 1, .cls = C(POPF), .op = 8 },
    { "pushfw", B(0x66, 0x9c), .len = 2, .cls = C(PUSHF), .op = 2, .prefixes = P_66 },
    { "mov %eax,%ds", B(0x8e, 0xd8), .len = 2, .cls = C(MOV_TO_SEG), .op = 2,
      .chk_reg = 1, .reg = 3, .rm = 0 },
    { "mov (%rax),%ss", B(0x8e, 0x10), .len = 2, .cls = C(MOV_TO_SEG), .op = 2 },
    { "mov %ds,%eax", B(0x8c, 0xd8), .len = 2, .cls = C(MOV_FROM_SEG), .op = 4 },
    { "mov %gs,(%rax)", B(0x8c, 0x28), .len = 2, .cls = C(MOV_FROM_SEG), .op = 2 },
    { "ud2", B(0x0f, 0x0b), .len = 2, .cls = C(UD2), .op = 4, .map = M0F },
    { "xgetbv (other)", B(0x0f, 0x01, 0xd0), .len = 3, .cls = C(OTHER), .op = 4, .map = M0F },
    { "clac (other)", B(0x0f, 0x01, 0xca), .len = 3, .cls = C(OTHER), .op = 4, .map = M0F },

    /* ---- ordinary code: mov, ModRM/SIB/displacement forms ---- */
    { "nop", B(0x90), .len = 1, .op = 4 },
    { "mov %rsp,%rbp", B(0x48, 0x89, 0xe5), .len = 3, .op = 8, .rex = 0x48,
      .chk_reg = 1, .reg = 4, .rm = 5 },
    { "mov %eax,%eax", B(0x89, 0xc0), .len = 2, .op = 4 },
    { "mov %ax,%ax", B(0x66, 0x89, 0xc0), .len = 3, .op = 2, .prefixes = P_66 },
    { "mov %al,%al", B(0x88, 0xc0), .len = 2, .op = 1 },
    { "mov %al,%sil", B(0x40, 0x88, 0xc6), .len = 3, .op = 1, .rex = 0x40 },
    { "mov %r9,%r10", B(0x4d, 0x89, 0xca), .len = 3, .op = 8, .rex = 0x4d,
      .chk_reg = 1, .reg = 9, .rm = 10 },
    { "rex then 66: rex ignored", B(0x48, 0x66, 0x89, 0xc0), .len = 4, .op = 2,
      .prefixes = P_66, .rex = 0 },
    { "mov 0x12345678(%rip),%rax", B(0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), .len = 7,
      .op = 8, .rex = 0x48, .rip = 1, .disp_size = 4, .disp = 0x12345678 },
    { "mov -0x10(%rip),%eax", B(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), .len = 6, .op = 4,
      .rip = 1, .disp_size = 4, .disp = -0x10 },
    { "mov 0x12345678,%rax (SIB no base)", B(0x48, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
      .len = 8, .op = 8, .rex = 0x48, .sib = 1, .disp_size = 4, .disp = 0x12345678,
      .chk_sib = 1, .sib_base = -1, .sib_index = -1 },
    { "mov 0x0(,%r13,1),%eax", B(0x42, 0x8b, 0x04, 0x2d, 0, 0, 0, 0), .len = 8, .op = 4,
      .rex = 0x42, .sib = 1, .disp_size = 4, .chk_sib = 1, .sib_base = -1, .sib_index = 13 },
    { "mov 0x8(%rsp),%eax", B(0x8b, 0x44, 0x24, 0x08), .len = 4, .op = 4, .sib = 1,
      .disp_size = 1, .disp = 8, .chk_sib = 1, .sib_base = 4, .sib_index = -1 },
    { "mov -0x8(%rbp),%eax", B(0x8b, 0x45, 0xf8), .len = 3, .op = 4,
      .disp_size = 1, .disp = -8 },
    { "mov 0x100(%rax),%eax", B(0x8b, 0x80, 0x00, 0x01, 0x00, 0x00), .len = 6, .op = 4,
      .disp_size = 4, .disp = 0x100 },
    { "mov -0x80000000(%rax),%eax", B(0x8b, 0x80, 0x00, 0x00, 0x00, 0x80), .len = 6, .op = 4,
      .disp_size = 4, .disp = -0x80000000LL },
    { "mov (%rax,%rcx,8),%eax", B(0x8b, 0x04, 0xc8), .len = 3, .op = 4, .sib = 1,
      .chk_sib = 1, .sib_base = 0, .sib_index = 1 },
    { "mov (%rax,%r12,8),%rax", B(0x4a, 0x8b, 0x04, 0xe0), .len = 4, .op = 8, .rex = 0x4a,
      .sib = 1, .chk_sib = 1, .sib_base = 0, .sib_index = 12 },
    { "mov (%r13,%rax,1),%eax (mod=00 base=r13)", B(0x41, 0x8b, 0x44, 0x05, 0x00), .len = 5,
      .op = 4, .rex = 0x41, .sib = 1, .disp_size = 1, .chk_sib = 1, .sib_base = 13,
      .sib_index = 0 },
    { "mov 0x0(%r13),%eax", B(0x41, 0x8b, 0x45, 0x00), .len = 4, .op = 4, .rex = 0x41,
      .disp_size = 1 },
    { "mov (%eax),%eax (addr32)", B(0x67, 0x8b, 0x00), .len = 3, .op = 4, .prefixes = P_67,
      .addr = 4 },
    { "mov %gs:0x28,%rax", B(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), .len = 9, .op = 8,
      .prefixes = P_SG, .seg = X86_SEG_GS, .rex = 0x48, .sib = 1, .disp_size = 4, .disp = 0x28 },
    { "mov %fs:(%rax),%eax", B(0x64, 0x8b, 0x00), .len = 3, .op = 4, .prefixes = P_SG,
      .seg = X86_SEG_FS },

    /* ---- immediates of every size ---- */
    { "movabs $imm64,%rax", B(0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      .len = 10, .op = 8, .rex = 0x48, .imm_size = 8, .imm = 0x1122334455667788ULL },
    { "mov $imm32,%eax", B(0xb8, 0x78, 0x56, 0x34, 0x12), .len = 5, .op = 4,
      .imm_size = 4, .imm = 0x12345678 },
    { "mov $imm16,%ax", B(0x66, 0xb8, 0x34, 0x12), .len = 4, .op = 2, .prefixes = P_66,
      .imm_size = 2, .imm = 0x1234 },
    { "mov $0x12,%al", B(0xb0, 0x12), .len = 2, .op = 1, .imm_size = 1, .imm = 0x12 },
    { "mov $imm32,%r15d", B(0x41, 0xbf, 1, 2, 3, 4), .len = 6, .op = 4, .rex = 0x41,
      .imm_size = 4, .imm = 0x04030201 },
    { "movb $0x12,(%rax)", B(0xc6, 0x00, 0x12), .len = 3, .op = 1, .imm_size = 1, .imm = 0x12 },
    { "movl $imm32,(%rax)", B(0xc7, 0x00, 1, 2, 3, 4), .len = 6, .op = 4,
      .imm_size = 4, .imm = 0x04030201 },
    { "mov $-1,%rax", B(0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff), .len = 7, .op = 8,
      .rex = 0x48, .imm_size = 4, .imm = 0xffffffff },
    { "movw $0x1234,(%rax)", B(0x66, 0xc7, 0x00, 0x34, 0x12), .len = 5, .op = 2,
      .prefixes = P_66, .imm_size = 2, .imm = 0x1234 },
    { "movq $imm32,disp32(%rip)", B(0x48, 0xc7, 0x05, 0x10, 0, 0, 0, 1, 0, 0, 0), .len = 11,
      .op = 8, .rex = 0x48, .rip = 1, .disp_size = 4, .disp = 0x10, .imm_size = 4, .imm = 1 },
    { "movabs moffs64,%al", B(0xa0, 1, 2, 3, 4, 5, 6, 7, 8), .len = 9, .op = 1,
      .disp_size = 8, .disp = 0x0807060504030201LL },
    { "movabs moffs64,%rax", B(0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), .len = 10, .op = 8,
      .rex = 0x48, .disp_size = 8, .disp = 0x0807060504030201LL },
    { "mov %eax,moffs32 (addr32)", B(0x67, 0xa3, 1, 2, 3, 4), .len = 6, .op = 4,
      .prefixes = P_67, .addr = 4, .disp_size = 4, .disp = 0x04030201 },
    { "add $8,%rax", B(0x48, 0x83, 0xc0, 0x08), .len = 4, .op = 8, .rex = 0x48,
      .imm_size = 1, .imm = 8 },
    { "sub $0x1000,%rsp", B(0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00), .len = 7, .op = 8,
      .rex = 0x48, .imm_size = 4, .imm = 0x1000 },
    { "cmpb $0,(%rax)", B(0x80, 0x38, 0x00), .len = 3, .op = 1, .imm_size = 1 },
    { "cmpw $0x1234,(%rax)", B(0x66, 0x81, 0x38, 0x34, 0x12), .len = 5, .op = 2,
      .prefixes = P_66, .imm_size = 2, .imm = 0x1234 },
    { "add $0x12345678,%eax", B(0x05, 0x78, 0x56, 0x34, 0x12), .len = 5, .op = 4,
      .imm_size = 4, .imm = 0x12345678 },
    { "xor %eax,%eax", B(0x31, 0xc0), .len = 2, .op = 4 },
    { "lea (%rax,%rcx,1),%rax", B(0x48, 0x8d, 0x04, 0x08), .len = 4, .op = 8, .rex = 0x48,
      .sib = 1 },
    { "test %eax,%eax", B(0x85, 0xc0), .len = 2, .op = 4 },
    { "test $1,%al", B(0xa8, 0x01), .len = 2, .op = 1, .imm_size = 1, .imm = 1 },
    { "test $1,%cl (F6 /0)", B(0xf6, 0xc1, 0x01), .len = 3, .op = 1, .imm_size = 1, .imm = 1 },
    { "test $imm32,%ecx (F7 /0)", B(0xf7, 0xc1, 1, 2, 3, 4), .len = 6, .op = 4,
      .imm_size = 4, .imm = 0x04030201 },
    { "neg %eax (F7 /3, no imm)", B(0xf7, 0xd8), .len = 2, .op = 4 },
    { "mul %cl (F6 /4, no imm)", B(0xf6, 0xe1), .len = 2, .op = 1 },
    { "shl $4,%eax", B(0xc1, 0xe0, 0x04), .len = 3, .op = 4, .imm_size = 1, .imm = 4 },
    { "shl %eax", B(0xd1, 0xe0), .len = 2, .op = 4 },
    { "shl %cl,%rax", B(0x48, 0xd3, 0xe0), .len = 3, .op = 8, .rex = 0x48 },
    { "imul %ecx,%eax", B(0x0f, 0xaf, 0xc1), .len = 3, .op = 4, .map = M0F },
    { "imul $imm32,%eax,%eax", B(0x69, 0xc0, 1, 2, 3, 4), .len = 6, .op = 4,
      .imm_size = 4, .imm = 0x04030201 },
    { "imul $5,%eax,%eax", B(0x6b, 0xc0, 0x05), .len = 3, .op = 4, .imm_size = 1, .imm = 5 },
    { "enter $0x10,$1", B(0xc8, 0x10, 0x00, 0x01), .len = 4, .op = 8, .imm_size = 2,
      .imm = 0x10, .imm2 = 1 },
    { "leave", B(0xc9), .len = 1, .op = 8 },
    { "ret", B(0xc3), .len = 1, .op = 8 },
    { "ret $8", B(0xc2, 0x08, 0x00), .len = 3, .op = 8, .imm_size = 2, .imm = 8 },
    { "lret", B(0xcb), .len = 1, .op = 4 },

    /* ---- branches, push/pop ---- */
    { "je .", B(0x74, 0xfe), .len = 2, .op = 8, .imm_size = 1, .imm = 0xfe },
    { "je rel32", B(0x0f, 0x84, 0x00, 0x01, 0x00, 0x00), .len = 6, .op = 8, .map = M0F,
      .imm_size = 4, .imm = 0x100 },
    { "call rel32", B(0xe8, 0xfb, 0xff, 0xff, 0xff), .len = 5, .op = 8,
      .imm_size = 4, .imm = 0xfffffffb },
    { "data16 call rel32 (Intel)", B(0x66, 0xe8, 1, 2, 3, 4), .len = 6, .op = 8,
      .prefixes = P_66, .imm_size = 4, .imm = 0x04030201 },
    { "jmp rel32", B(0xe9, 1, 2, 3, 4), .len = 5, .op = 8, .imm_size = 4, .imm = 0x04030201 },
    { "jmp rel8", B(0xeb, 0x00), .len = 2, .op = 8, .imm_size = 1 },
    { "jrcxz", B(0xe3, 0x05), .len = 2, .op = 8, .imm_size = 1, .imm = 5 },
    { "call *%rax", B(0xff, 0xd0), .len = 2, .op = 8 },
    { "jmp *disp32(%rip)", B(0xff, 0x25, 1, 2, 3, 4), .len = 6, .op = 8, .rip = 1,
      .disp_size = 4, .disp = 0x04030201 },
    { "push (%rax)", B(0xff, 0x30), .len = 2, .op = 8 },
    { "inc %eax", B(0xff, 0xc0), .len = 2, .op = 4 },
    { "lcall *(%rax)", B(0xff, 0x18), .len = 2, .op = 4 },
    { "push %rax", B(0x50), .len = 1, .op = 8 },
    { "push %r15", B(0x41, 0x57), .len = 2, .op = 8, .rex = 0x41 },
    { "pushw %ax", B(0x66, 0x50), .len = 2, .op = 2, .prefixes = P_66 },
    { "pop %rbx", B(0x5b), .len = 1, .op = 8 },
    { "pop %rax (8F /0)", B(0x8f, 0xc0), .len = 2, .op = 8 },
    { "push $imm32", B(0x68, 1, 2, 3, 4), .len = 5, .op = 8, .imm_size = 4, .imm = 0x04030201 },
    { "pushw $imm16", B(0x66, 0x68, 1, 2), .len = 4, .op = 2, .prefixes = P_66,
      .imm_size = 2, .imm = 0x0201 },
    { "push $1", B(0x6a, 0x01), .len = 2, .op = 8, .imm_size = 1, .imm = 1 },
    { "pop %fs", B(0x0f, 0xa1), .len = 2, .op = 8, .map = M0F },
    { "push %gs", B(0x0f, 0xa8), .len = 2, .op = 8, .map = M0F },

    /* ---- 0F map integer ops ---- */
    { "movzbl %al,%eax", B(0x0f, 0xb6, 0xc0), .len = 3, .op = 4, .map = M0F,
      .chk_opcode = 1, .opcode = 0xb6 },
    { "movswq %ax,%rax", B(0x48, 0x0f, 0xbf, 0xc0), .len = 4, .op = 8, .map = M0F, .rex = 0x48 },
    { "movslq %edi,%rax", B(0x48, 0x63, 0xc7), .len = 3, .op = 8, .rex = 0x48 },
    { "cmove %ecx,%eax", B(0x0f, 0x44, 0xc1), .len = 3, .op = 4, .map = M0F },
    { "sete %al", B(0x0f, 0x94, 0xc0), .len = 3, .op = 1, .map = M0F },
    { "bt %ecx,%eax", B(0x0f, 0xa3, 0xc8), .len = 3, .op = 4, .map = M0F },
    { "bt $5,%eax", B(0x0f, 0xba, 0xe0, 0x05), .len = 4, .op = 4, .map = M0F,
      .imm_size = 1, .imm = 5 },
    { "lock btsl $5,(%rax)", B(0xf0, 0x0f, 0xba, 0x28, 0x05), .len = 5, .op = 4, .map = M0F,
      .prefixes = P_LK, .imm_size = 1, .imm = 5 },
    { "bsf %eax,%eax", B(0x0f, 0xbc, 0xc0), .len = 3, .op = 4, .map = M0F },
    { "bsr %eax,%eax", B(0x0f, 0xbd, 0xc0), .len = 3, .op = 4, .map = M0F },
    { "popcnt %eax,%eax", B(0xf3, 0x0f, 0xb8, 0xc0), .len = 4, .op = 4, .map = M0F,
      .prefixes = P_F3 },
    { "xchg %ecx,%eax", B(0x87, 0xc8), .len = 2, .op = 4 },
    { "lock xchg %eax,(%rdx)", B(0xf0, 0x87, 0x02), .len = 3, .op = 4, .prefixes = P_LK },
    { "lock cmpxchg %ecx,(%rdx)", B(0xf0, 0x0f, 0xb1, 0x0a), .len = 4, .op = 4, .map = M0F,
      .prefixes = P_LK },
    { "lock xadd %eax,(%rdx)", B(0xf0, 0x0f, 0xc1, 0x02), .len = 4, .op = 4, .map = M0F,
      .prefixes = P_LK },
    { "lock cmpxchg16b (%rsi)", B(0xf0, 0x48, 0x0f, 0xc7, 0x0e), .len = 5, .op = 8, .map = M0F,
      .prefixes = P_LK, .rex = 0x48 },
    { "lock incl (%rax)", B(0xf0, 0xff, 0x00), .len = 3, .op = 4, .prefixes = P_LK },
    { "lock addl $1,(%rax)", B(0xf0, 0x83, 0x00, 0x01), .len = 4, .op = 4, .prefixes = P_LK,
      .imm_size = 1, .imm = 1 },
    { "lock orq %rax,0x8(%rdi)", B(0xf0, 0x48, 0x09, 0x47, 0x08), .len = 5, .op = 8,
      .prefixes = P_LK, .rex = 0x48, .disp_size = 1, .disp = 8 },
    { "nopl (%rax)", B(0x0f, 0x1f, 0x00), .len = 3, .op = 4, .map = M0F },
    { "nopl 0x0(%rax,%rax,1)", B(0x0f, 0x1f, 0x44, 0x00, 0x00), .len = 5, .op = 4, .map = M0F,
      .sib = 1, .disp_size = 1 },
    { "nopw 0x0(%rax,%rax,1)", B(0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0), .len = 9, .op = 2,
      .map = M0F, .prefixes = P_66, .sib = 1, .disp_size = 4 },
    { "cs nopw 0x0(%rax,%rax,1)", B(0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0),
      .len = 10, .op = 2, .map = M0F, .prefixes = P_66 | P_SG, .seg = X86_SEG_CS,
      .sib = 1, .disp_size = 4 },
    { "bswap %eax", B(0x0f, 0xc8), .len = 2, .op = 4, .map = M0F },
    { "rdrand %rax", B(0x48, 0x0f, 0xc7, 0xf0), .len = 4, .op = 8, .map = M0F, .rex = 0x48 },
    { "cltq", B(0x48, 0x98), .len = 2, .op = 8, .rex = 0x48 },
    { "cqto", B(0x48, 0x99), .len = 2, .op = 8, .rex = 0x48 },
    { "rep movsb", B(0xf3, 0xa4), .len = 2, .op = 1, .prefixes = P_F3 },
    { "rep stos %rax", B(0xf3, 0x48, 0xab), .len = 3, .op = 8, .prefixes = P_F3, .rex = 0x48 },
    { "repnz scasb", B(0xf2, 0xae), .len = 2, .op = 1, .prefixes = P_F2 },
    { "pause", B(0xf3, 0x90), .len = 2, .op = 4, .prefixes = P_F3 },
    { "endbr64", B(0xf3, 0x0f, 0x1e, 0xfa), .len = 4, .op = 4, .map = M0F, .prefixes = P_F3 },
    { "xabort $5", B(0xc6, 0xf8, 0x05), .len = 3, .op = 1, .imm_size = 1, .imm = 5 },
    { "xbegin rel32", B(0xc7, 0xf8, 1, 2, 3, 4), .len = 6, .op = 4, .imm_size = 4,
      .imm = 0x04030201 },
    { "14 prefixes + nop = 15 bytes", B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90), .len = 15, .op = 2, .prefixes = P_66 },

    /* ---- SSE / x87 / 3-byte maps (length only) ---- */
    { "movups (%rax),%xmm0", B(0x0f, 0x10, 0x00), .len = 3, .op = 4, .map = M0F },
    { "movdqa 0x10(%rsp),%xmm0", B(0x66, 0x0f, 0x6f, 0x44, 0x24, 0x10), .len = 6, .op = 2,
      .map = M0F, .prefixes = P_66, .sib = 1, .disp_size = 1, .disp = 0x10 },
    { "pshufd $0x1b,%xmm0,%xmm0", B(0x66, 0x0f, 0x70, 0xc0, 0x1b), .len = 5, .op = 2,
      .map = M0F, .prefixes = P_66, .imm_size = 1, .imm = 0x1b },
    { "mfence", B(0x0f, 0xae, 0xf0), .len = 3, .op = 4, .map = M0F },
    { "clflush (%rax)", B(0x0f, 0xae, 0x38), .len = 3, .op = 4, .map = M0F },
    { "crc32l %ecx,%eax", B(0xf2, 0x0f, 0x38, 0xf1, 0xc1), .len = 5, .op = 4,
      .map = X86_MAP_0F38, .prefixes = P_F2, .chk_opcode = 1, .opcode = 0xf1 },
    { "palignr $8,%xmm1,%xmm0", B(0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08), .len = 6, .op = 2,
      .map = X86_MAP_0F3A, .prefixes = P_66, .imm_size = 1, .imm = 8,
      .chk_opcode = 1, .opcode = 0x0f },
    { "extrq $2,$1,%xmm0 (AMD, two imm8)", B(0x66, 0x0f, 0x78, 0xc0, 0x01, 0x02), .len = 6,
      .op = 2, .map = M0F, .prefixes = P_66, .imm_size = 2, .imm = 0x0201 },
    { "fldz", B(0xd9, 0xee), .len = 2, .op = 4 },
    { "fldl (%rsp)", B(0xdd, 0x04, 0x24), .len = 3, .op = 4, .sib = 1 },

    /* ---- malformed: -1 ---- */
    { "push %es (06)", B(0x06), .rc = -1 },
    { "pop %es (07)", B(0x07), .rc = -1 },
    { "push %cs (0E)", B(0x0e), .rc = -1 },
    { "push %ss (16)", B(0x16), .rc = -1 },
    { "pop %ss (17)", B(0x17), .rc = -1 },
    { "push %ds (1E)", B(0x1e), .rc = -1 },
    { "pop %ds (1F)", B(0x1f), .rc = -1 },
    { "daa (27)", B(0x27), .rc = -1 },
    { "das (2F)", B(0x2f), .rc = -1 },
    { "aaa (37)", B(0x37), .rc = -1 },
    { "aas (3F)", B(0x3f), .rc = -1 },
    { "pusha (60)", B(0x60), .rc = -1 },
    { "popa (61)", B(0x61), .rc = -1 },
    { "EVEX (62)", B(0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00), .rc = -1 },
    { "82 /0", B(0x82, 0xc0, 0x01), .rc = -1 },
    { "lcall ptr16:32 (9A)", B(0x9a, 1, 2, 3, 4, 5, 6), .rc = -1 },
    { "VEX3 (C4)", B(0xc4, 0xe2, 0x79, 0x18, 0x00), .rc = -1 },
    { "VEX2 (C5)", B(0xc5, 0xf8, 0x77), .rc = -1 },
    { "into (CE)", B(0xce), .rc = -1 },
    { "aam (D4)", B(0xd4, 0x0a), .rc = -1 },
    { "aad (D5)", B(0xd5, 0x0a), .rc = -1 },
    { "salc (D6)", B(0xd6), .rc = -1 },
    { "ljmp ptr16:32 (EA)", B(0xea, 1, 2, 3, 4, 5, 6), .rc = -1 },
    { "15 prefixes + nop = 16 bytes", B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90), .rc = -3 },
    { "15 prefixes, only 15 bytes available", B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66), .rc = -3 },
    { "9 prefixes + 11-byte movq = 20 bytes", B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
      0x2e, 0x2e, 0x48, 0xc7, 0x05, 0, 0, 0, 0, 1, 0, 0, 0), .rc = -3 },
    { "lock mov %eax,%eax", B(0xf0, 0x89, 0xc0), .rc = -1 },
    { "lock mov %eax,(%rax)", B(0xf0, 0x89, 0x00), .rc = -1 },
    { "lock add %eax,%eax (reg dest)", B(0xf0, 0x01, 0xc0), .rc = -1 },
    { "lock add (%rax),%eax (02 form)", B(0xf0, 0x03, 0x00), .rc = -1 },
    { "lock cmpl $1,(%rax)", B(0xf0, 0x83, 0x38, 0x01), .rc = -1 },
    { "lock nop", B(0xf0, 0x90), .rc = -1 },
    { "lock mov %cr0,%rax", B(0xf0, 0x0f, 0x20, 0xc0), .rc = -1 },
    { "mov %rax,%cr5", B(0x0f, 0x22, 0xe8), .rc = -1 },
    { "mov %rax,%cr1", B(0x0f, 0x22, 0xc8), .rc = -1 },
    { "mov %cr7,%rax", B(0x0f, 0x20, 0xf8), .rc = -1 },
    { "mov %rax,%cr9", B(0x44, 0x0f, 0x22, 0xc8), .rc = -1 },
    { "mov %cr15,%rax", B(0x44, 0x0f, 0x20, 0xf8), .rc = -1 },
    { "mov %db8,%rax", B(0x44, 0x0f, 0x21, 0xc0), .rc = -1 },
    { "mov %eax,%cs", B(0x8e, 0xc8), .rc = -1 },
    { "mov %eax,%sreg6", B(0x8e, 0xf0), .rc = -1 },
    { "mov %sreg7,%eax", B(0x8c, 0xf8), .rc = -1 },
    { "lea %eax,%eax", B(0x8d, 0xc0), .rc = -1 },
    { "FF /7", B(0xff, 0xf8), .rc = -1 },
    { "lcall *%rax", B(0xff, 0xd8), .rc = -1 },
    { "FE /2", B(0xfe, 0xd0), .rc = -1 },
    { "C6 /1", B(0xc6, 0xc8, 0x00), .rc = -1 },
    { "8F /1 (XOP)", B(0x8f, 0xc8, 0x00), .rc = -1 },
    { "0F 04", B(0x0f, 0x04), .rc = -1 },
    { "0F 0F (3DNow!)", B(0x0f, 0x0f, 0xc1, 0x9e), .rc = -1 },
    { "0F 24", B(0x0f, 0x24, 0xc0), .rc = -1 },
    { "0F 00 /6", B(0x0f, 0x00, 0xf0), .rc = -1 },
    { "0F BA /0", B(0x0f, 0xba, 0xc0, 0x00), .rc = -1 },
    { "0F B8 without F3", B(0x0f, 0xb8, 0xc0), .rc = -1 },
};

/* Decodes the first n bytes of c from an exactly-sized heap copy. */
static int decode_n(const struct tcase *c, size_t n, struct x86_insn *x)
{
    uint8_t *buf = malloc(n ? n : 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf, c->bytes, n);
    rc = x86_decode(buf, n, x);
    free(buf);
    return rc;
}

static void check_fields(const struct tcase *c, const struct x86_insn *x)
{
    assert_int_equal(x->len, c->len);
    assert_int_equal(x->cls, c->cls);
    assert_int_equal(x->op_size, c->op);
    assert_int_equal(x->map, c->map);
    assert_int_equal(x->prefixes, c->prefixes);
    assert_int_equal(x->seg, (c->prefixes & P_SG) ? c->seg : X86_SEG_NONE);
    assert_int_equal(x->rex, c->rex);
    assert_int_equal(x->rex_w, (c->rex >> 3) & 1);
    assert_int_equal(x->addr_size, c->addr ? c->addr : 8);
    assert_int_equal(x->imm_size, c->imm_size);
    assert_int_equal(x->imm, c->imm);
    assert_int_equal(x->imm2, c->imm2);
    assert_int_equal(x->disp_size, c->disp_size);
    assert_true(x->disp == c->disp);
    assert_int_equal(x->rip_rel, c->rip);
    assert_int_equal(x->has_sib, c->sib);
    if (c->chk_reg) {
        assert_int_equal(x86_insn_reg(x), c->reg);
        assert_int_equal(x86_insn_rm(x), c->rm);
    }
    if (c->chk_sib) {
        assert_int_equal(x86_insn_sib_base(x), c->sib_base);
        assert_int_equal(x86_insn_sib_index(x), c->sib_index);
    }
    if (c->chk_opcode)
        assert_int_equal(x->opcode, c->opcode);
}

/* Every entry: the expected result from exactly its bytes, and the same
 * result with 0xCC padding after them (up to 24 bytes). */
static void test_table(void **state)
{
    unsigned int i, nvalid = 0, ninvalid = 0;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct tcase *c = &cases[i];
        struct x86_insn x;
        uint8_t pad[24];
        int rc;

        print_message("  %-45s\n", c->name);
        rc = decode_n(c, c->n, &x);
        assert_int_equal(rc, c->rc);
        if (rc == 0) {
            assert_int_equal(c->n, c->len);   /* the table itself is consistent */
            check_fields(c, &x);
            nvalid++;
        } else {
            ninvalid++;
        }
        memset(pad, 0xcc, sizeof(pad));
        memcpy(pad, c->bytes, c->n);
        rc = x86_decode(pad, sizeof(pad), &x);
        assert_int_equal(rc, c->rc);
        if (rc == 0)
            check_fields(c, &x);
    }
    print_message("  %u valid, %u invalid encodings\n", nvalid, ninvalid);
    assert_true(nvalid >= 60);
}

/* Every proper prefix of every valid encoding is truncated (-2), and the
 * decoder reads no byte past avail (ASan on the exact-size buffer). */
static void test_truncated(void **state)
{
    unsigned int i, k, n = 0;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct tcase *c = &cases[i];
        struct x86_insn x;

        if (c->rc != 0)
            continue;
        for (k = 0; k < c->len; k++) {
            if (decode_n(c, k, &x) != X86_DECODE_TRUNCATED)
                fail_msg("%s: %u of %u bytes not reported truncated", c->name, k, c->len);
            n++;
        }
    }
    print_message("  %u truncated prefixes\n", n);
}

/* The 15-byte limit takes precedence over truncation; avail beyond 15 is
 * never read. */
static void test_limits(void **state)
{
    uint8_t buf[32];
    struct x86_insn x;

    memset(buf, 0x66, sizeof(buf));
    assert_int_equal(x86_decode(buf, sizeof(buf), &x), X86_DECODE_TOO_LONG);
    assert_int_equal(x86_decode(buf, 14, &x), X86_DECODE_TRUNCATED);
    assert_int_equal(x86_decode(buf, 15, &x), X86_DECODE_TOO_LONG);
    assert_int_equal(x86_decode(NULL, 0, &x), X86_DECODE_TRUNCATED);
}

/* Every single opcode byte in each map either decodes (with ModRM 0xC0 and
 * padding after it) or is invalid, never crashes or runs past 15 bytes. */
static void test_sweep(void **state)
{
    static const uint8_t esc[][3] = { {0}, {0x0f}, {0x0f, 0x38}, {0x0f, 0x3a} };
    static const uint8_t esc_len[] = { 0, 1, 2, 2 };
    unsigned int m, op, modrm;

    for (m = 0; m < 4; m++) {
        for (op = 0; op < 256; op++) {
            for (modrm = 0; modrm < 256; modrm += 7) {
                uint8_t buf[X86_MAX_INSN_LEN];
                struct x86_insn x;
                int rc;

                memset(buf, 0, sizeof(buf));
                memcpy(buf, esc[m], esc_len[m]);
                buf[esc_len[m]] = op;
                buf[esc_len[m] + 1] = modrm;
                rc = x86_decode(buf, sizeof(buf), &x);
                assert_true(rc == 0 || rc == X86_DECODE_INVALID);
                if (rc == 0) {
                    assert_in_range(x.len, 1, X86_MAX_INSN_LEN);
                    assert_in_range(x.cls, 0, X86_CLS_NR - 1);
                    assert_true(x.op_size == 1 || x.op_size == 2 ||
                                x.op_size == 4 || x.op_size == 8);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sweep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
