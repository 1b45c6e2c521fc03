/*
 * fuzz_elf.c - libFuzzer harness for the ELF / Xen-note loader shared by
 * the hypervisor's dom0 builder and the toolstack (toolstack/builder/
 * xen_elf.c), which reads kernel images users bring.  Feeds the input as
 * the image and checks: xen_elf_parse() returns 0, -EINVAL or -ENOEXEC
 * (with a reason), and on 0 every PT_LOAD segment xen_elf_for_each_load()
 * hands out lies inside the image with filesz <= memsz; never an over-read
 * (ASan) or undefined arithmetic (UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../toolstack/builder/xen_elf.c"

struct span { const uint8_t *base; size_t size; };

static int check_seg(void *arg, uint64_t va, const void *src, uint64_t filesz,
                     uint64_t memsz)
{
    const struct span *s = arg;
    const uint8_t *p = src;

    (void)va;
    if (filesz > memsz || (filesz && (p < s->base || filesz > s->size ||
                                      (size_t)(p - s->base) > s->size - filesz)))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xen_elf_info info;
    const char *why = NULL;
    uint8_t *img = malloc(size ? size : 1);

    memcpy(img, data, size);
    int rc = xen_elf_parse(img, size, &info, &why);
    if (rc == 0) {
        struct span s = { img, size };
        if (xen_elf_for_each_load(img, size, &info, check_seg, &s))
            abort();
    } else if ((rc != -XEN_EINVAL && rc != -XEN_ENOEXEC) || !why || !*why) {
        abort();
    }
    free(img);
    return 0;
}
