/*
 * fuzz_cfg.c - libFuzzer harness for the xl.cfg-like parser of the `lamina`
 * CLI (toolstack/cli/cfg.c), which reads files users write.  Feeds the
 * input as a whole cfg file and checks the contract of cfg_parse(): 0, or
 * -1 with a non-empty, NUL-terminated one-line message naming the file;
 * never a crash, leak or over-read (ASan/UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../toolstack/cli/cfg.c"
#include "../../toolstack/cli/cfg_vif.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lamina_cfg cfg;
    char err[256];
    char *buf = malloc(size ? size : 1);

    memcpy(buf, data, size);
    memset(err, 'x', sizeof(err));
    int rc = cfg_parse(buf, size, "fuzz.cfg", "/d", &cfg, err, sizeof(err));
    if (rc != 0) {
        if (rc != -1 || memchr(err, '\0', sizeof(err)) == NULL ||
            strncmp(err, "fuzz.cfg", 8) != 0 || strchr(err, '\n'))
            abort();
    }
    free(buf);
    return 0;
}
