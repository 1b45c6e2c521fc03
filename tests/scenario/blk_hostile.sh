#!/usr/bin/env bash
# blk_hostile - a hostile block front-end (tests/guest/hostile_blk.c, the
# PV guest kernel with disk=hostile) against dom0's blkback while another
# domU writes and verifies its own disk: every bad request (a grant never
# made, a frame not the guest's, sectors past the end, too many segments,
# offsets past the page, an unknown op, a request rewritten after posting)
# gets an error response, a producer index past the ring disconnects the
# hostile vbd; the other domU's data stays intact (checked in its image
# on the host), blkback still serves a new domain afterwards, and nothing
# stays mapped.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

IMG=$LAMINA_RUN_DIR/img
mkdir -p "$IMG"
truncate -s 64M "$IMG/good.img" "$IMG/evil.img" "$IMG/after.img"
KERNEL=$B_ABS/guest-pv.elf
cfg() {
    printf 'name = "%s"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\ndisk = [ "%s" ]\n' \
        "$1" "$KERNEL" "$2" "$3" >"$IMG/$1.cfg"
    echo "$IMG/$1.cfg"
}

lam up
expect_ok "lamina up"
lam create "$(cfg good 'disk=integrity disk_seed=3 disk_mib=24 idle' "$IMG/good.img,raw,xvda,rw")"
expect_ok "create good (24 MiB integrity run)"
lam create "$(cfg evil 'disk=hostile idle' "$IMG/evil.img,raw,xvda,rw")"
expect_ok "create evil (disk=hostile)"

wait_for 90 console_has evil '^hostile-blk: (done|FAIL cannot)'
lam console --dump evil
for c in sane-read bad-gref foreign-frame past-end past-end-partial too-many-segs \
         too-many-indirect-segs offset-past-page first-after-last bad-op double-fetch \
         end-access-unmapped end-access-while-mapped ring-overflow; do
    line=$(echo "$OUT" | grep -E "^hostile-blk: $c " | head -n 1)
    case "$line" in
        *" ok "*|*" ok") ok "$line" ;;
        "") fail "hostile-blk: no result for $c" ;;
        *) fail "$line" ;;
    esac
done
echo "$OUT" | grep -q '^hostile-blk: done' || fail "the hostile front-end did not finish: $(echo "$OUT" | tail -n 3)"

wait_for 120 console_has good '^disk: (integrity OK|FAIL)'
console_has good '^disk: integrity OK' && ok "good: $(echo "$OUT" | grep '^disk: integrity OK')" \
    || fail "good: $(echo "$OUT" | grep '^disk:' | tail -n 2)"
lam dmesg
echo "$OUT" | grep -q 'blkback: d[0-9]* vbd 51712: producer index .* disconnecting' \
    && ok "blkback logged the broken ring and disconnected it" || fail "no disconnect in the log"
lam destroy good
lam destroy evil
r=$(python3 tests/lib/disk_check.py integrity "$IMG/good.img" 3 8192 49152) \
    && ok "good.img holds all 24 MiB ($r)" || fail "good.img: $r"

lam create "$(cfg after 'disk=persist idle' "$IMG/after.img,raw,xvda,rw")"
expect_ok "create after"
wait_for 60 console_has after '^disk: (wrote boot|FAIL)'
console_has after '^disk: wrote boot 1 ' && ok "blkback still serves a new domain" \
    || fail "after: $(echo "$OUT" | grep '^disk:')"
lam destroy after
nomaps() { [ "$(grant_maps)" = 0 ]; }
wait_for 30 nomaps && ok "no grant mapping is left" || fail "grant_maps $(grant_maps)"
finish
