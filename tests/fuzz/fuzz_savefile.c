/*
 * fuzz_savefile.c - libFuzzer harness for the save-file check the `lamina`
 * CLI runs before `restore` (toolstack/cli/savefile.c, docs/save-format.md):
 * a save file is input from anywhere.  Feeds the input as a whole file
 * and checks the contract: 0 with a configuration text and a stream no
 * longer than the file, or -1 with a non-empty one-line message; never a
 * crash, leak or over-read (ASan/UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "../../toolstack/cli/savefile.c"

/* proto.c's, without the rest of the CLI. */
uint32_t crc32_ieee(uint32_t crc, const void *buf, size_t n)
{
    return (uint32_t)crc32(crc, buf, (uInt)n);
}

static void check_one(const uint8_t *buf, size_t size)
{
    static struct save_info si;
    char err[256];

    memset(err, 'x', sizeof(err));
    memset(&si, 0, sizeof(si));
    int rc = check_mapped(buf, size, &si, err, sizeof(err));
    if (rc == 0) {
        if (si.stream_bytes > size || !si.config[0] || !si.nr_pfns ||
            !memchr(si.config, '\0', sizeof(si.config)))
            abort();
    } else if (rc != -1 || !memchr(err, '\0', sizeof(err)) || !err[0] || strchr(err, '\n')) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);

    memcpy(buf, data, size);
    check_one(buf, size);
    /* Again with a valid checksum trailer, so the record walk behind the
     * CRC check is explored too (a hostile file can have a right CRC). */
    if (size >= SF_HDR_BYTES + SF_TRAILER) {
        uint8_t *t = buf + size - SF_TRAILER;
        uint32_t type = SF_REC_CHECKSUM, len = 16, crc = crc32_ieee(0, buf, size - SF_TRAILER);
        uint64_t n = size - SF_TRAILER;
        memcpy(t, &type, 4);
        memcpy(t + 4, &len, 4);
        memcpy(t + 8, &crc, 4);
        memcpy(t + 16, &n, 8);
        check_one(buf, size);
    }
    free(buf);
    return 0;
}
