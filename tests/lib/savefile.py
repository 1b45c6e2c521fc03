#!/usr/bin/env python3
"""savefile.py - reads and damages Lamina save files (docs/save-format.md)
for tests/scenario/save_restore.sh.  Runs on the host.

  savefile.py info FILE            records and page types, one line each
  savefile.py flip FILE OUT        one byte of page data flipped (checksum kept)
  savefile.py version FILE OUT V   the header's version set to V
  savefile.py pte-beyond FILE OUT  an L1 entry names a pfn past the domain,
                                   checksum recomputed (only dom0's checks stop it)
  savefile.py pte-l4 FILE OUT      an L1 entry maps the L4 writable, checksum
                                   recomputed (only the hypervisor's pin stops it)
"""
import struct
import sys
import zlib

PAGE = 4096
XTAB = 0xF
XALLOC = 0xE                 # a page of zeros: no bytes in the file
TRAILER = 24


def records(buf):
    """(type, body offset, length) of each record up to END."""
    off = 32
    while off + 8 <= len(buf):
        rtype, length = struct.unpack_from("<II", buf, off)
        yield rtype, off + 8, length
        if rtype == 0:
            return
        off += 8 + ((length + 7) & ~7)


def pages(buf):
    """(pfn, type nibble, offset of the page's bytes) of every page."""
    for rtype, body, _ in records(buf):
        if rtype != 4:
            continue
        count = struct.unpack_from("<I", buf, body)[0]
        data = body + 8 + 8 * count
        for i in range(count):
            pt = struct.unpack_from("<Q", buf, body + 8 + 8 * i)[0]
            ty = pt >> 60
            if ty in (XTAB, XALLOC):
                continue
            yield pt & ((1 << 52) - 1), ty, data
            data += PAGE


def nr_pfns(buf):
    for rtype, body, _ in records(buf):
        if rtype == 1:
            return struct.unpack_from("<Q", buf, body + 8)[0]
    raise SystemExit("no DOMAIN record")


def reseal(buf):
    """Recomputes the checksum trailer over everything before it."""
    n = len(buf) - TRAILER
    struct.pack_into("<I", buf, n + 8, zlib.crc32(bytes(buf[:n])) & 0xFFFFFFFF)


def first_l1_entry(buf):
    for pfn, ty, off in pages(buf):
        if ty & 7 == 1:
            for i in range(512):
                e = struct.unpack_from("<Q", buf, off + 8 * i)[0]
                if e & 1:
                    return pfn, i, off + 8 * i
    raise SystemExit("no present L1 entry")


def main(argv):
    cmd, src = argv[1], argv[2]
    buf = bytearray(open(src, "rb").read())
    if cmd == "info":
        for rtype, body, length in records(buf):
            print("record %u at %u, %u bytes" % (rtype, body - 8, length))
        kinds = {}
        for _, ty, _ in pages(buf):
            kinds[ty] = kinds.get(ty, 0) + 1
        print("page types:", " ".join("%x:%d" % kv for kv in sorted(kinds.items())))
        return 0
    out = argv[3]
    if cmd == "flip":
        plist = list(pages(buf))
        _, _, off = plist[len(plist) // 2]
        buf[off + 100] ^= 0x5A
    elif cmd == "version":
        struct.pack_into("<I", buf, 8, int(argv[4]))
    elif cmd == "pte-beyond":
        pfn, i, off = first_l1_entry(buf)
        e = struct.unpack_from("<Q", buf, off)[0]
        e = (e & ~0x000FFFFFFFFFF000) | ((nr_pfns(buf) + 100) << 12)
        struct.pack_into("<Q", buf, off, e)
        reseal(buf)
    elif cmd == "pte-l4":
        l4 = next(pfn for pfn, ty, _ in pages(buf) if ty & 7 == 4)
        pfn, i, off = first_l1_entry(buf)
        struct.pack_into("<Q", buf, off, (l4 << 12) | 0x67)   # P RW US A D
        reseal(buf)
    else:
        raise SystemExit(__doc__)
    open(out, "wb").write(buf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
