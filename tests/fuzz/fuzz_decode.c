/*
 * fuzz_decode.c - libFuzzer harness for the hypervisor's x86-64 instruction
 * decoder (hypervisor/x86_decode.c), which reads bytes an unmodified guest
 * chose.  Feeds the input as the instruction stream (at most 15 bytes are
 * an instruction; the rest tests the `avail` bound) and checks the
 * decoder's own contract: it never reads past avail (ASan), a success has
 * 1 <= len <= min(avail, 15), and the same bytes decode the same way twice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../hypervisor/unmod/x86_decode.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct x86_insn a, b;
    /* A private copy exactly avail bytes long, so ASan sees any over-read. */
    uint8_t *buf = malloc(size ? size : 1);

    memcpy(buf, data, size);
    int rc = x86_decode(buf, size, &a);
    if (rc == 0) {
        if (a.len == 0 || a.len > 15 || a.len > size)
            abort();
        if (x86_decode(buf, size, &b) != 0 || memcmp(&a, &b, sizeof(a)))
            abort();
    }
    free(buf);
    return 0;
}
