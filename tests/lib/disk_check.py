#!/usr/bin/env python3
"""disk_check.py - checks on the host what the guest kernel's disk workloads
(guest-port/pv/disk.c) wrote into a raw image file.

  disk_check.py integrity IMAGE SEED FIRST COUNT
      every sector in [FIRST, FIRST+COUNT) holds the pattern of SEED
  disk_check.py persist IMAGE BOOT
      sector 0 is a valid header of boot BOOT and the 1 MiB data area after
      it holds that boot's pattern

Exit 0 when it holds, 1 (with the first bad sector) when not.
"""
import struct
import sys
import zlib

M = (1 << 64) - 1
SECT = 512


def sector(seed, s):
    x = (seed * 0x9E3779B97F4A7C15 + s * 0xBF58476D1CE4E5B9 + 1) & M
    out = []
    for _ in range(SECT // 8):
        x ^= (x << 13) & M
        x ^= x >> 7
        x ^= (x << 17) & M
        out.append(x)
    return struct.pack("<64Q", *out)


def check_range(img, seed, first, count, base=0):
    with open(img, "rb") as f:
        f.seek(first * SECT)
        data = f.read(count * SECT)
    if len(data) != count * SECT:
        return "image too short: %d bytes from sector %d" % (len(data), first)
    for i in range(count):
        if data[i * SECT:(i + 1) * SECT] != sector(seed, base + i):
            return "sector %d does not hold seed %d's pattern" % (first + i, seed)
    return None


def main(argv):
    if len(argv) == 6 and argv[1] == "integrity":
        img, seed, first, count = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
        why = check_range(img, seed, first, count, base=first)
    elif len(argv) == 4 and argv[1] == "persist":
        img, boot = argv[2], int(argv[3])
        with open(img, "rb") as f:
            hdr = f.read(24)
        magic, version, hboot, dcrc, hcrc = struct.unpack("<8sIIII", hdr)
        if magic != b"LAMINADK" or version != 1 or zlib.crc32(hdr[:20]) != hcrc:
            why = "no valid header in sector 0"
        elif hboot != boot:
            why = "the header is of boot %d, not %d" % (hboot, boot)
        else:
            why = check_range(img, boot, 8, 2048)
            if not why:
                with open(img, "rb") as f:
                    f.seek(8 * SECT)
                    if zlib.crc32(f.read(1 << 20)) != dcrc:
                        why = "the data's CRC differs from the header's"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if why:
        print("disk_check: FAIL: " + why)
        return 1
    print("disk_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
