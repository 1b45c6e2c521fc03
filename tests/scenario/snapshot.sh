#!/usr/bin/env bash
# snapshot - `lamina snapshot DOM NAME`, `snapshot-list`, `snapshot-revert`,
# `snapshot-delete` of a PV domain that writes its disk every 20 ms
# (disk=log: record N to sector 8 + N):
#  - the snapshot leaves it running, and memory and disk are of one
#    instant: the snapshot's disk copy holds the last record the guest had
#    printed when it suspended, and not the one after the next;
#  - snapshot-revert destroys the running domain, puts the snapshot's disk
#    back (a record written after the snapshot is gone from the image) and
#    restores its memory: the guest goes on from the record after the
#    snapshot's;
#  - a taken name, an unknown snapshot, a bad name get clear errors;
#    snapshot-delete removes it from the list.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
RUN=$LAMINA_RUN_DIR
rm -rf "$RUN/snapshots"
truncate -s 8M "$RUN/s.img"
printf 'name = "snap"\nkernel = "%s"\ncmdline = "disk=log disk_ms=20 service"\nmemory = 16\ndisk = [ "%s,raw,xvda,rw" ]\n' \
    "$B_ABS/guest-pv.elf" "$RUN/s.img" >"$RUN/snap.cfg"
logs() { sed -n -E 's/^disk: log ([0-9]+) ok$/\1/p'; }
nlogs() { [ "$(console_count snap '^disk: log [0-9]+ ok')" -ge "$1" ]; }
# record IMAGE N: true when IMAGE's sector for record N holds "LOG N".
record() { [ "$(dd if="$1" bs=512 skip=$((8 + $2 % 1024)) count=1 2>/dev/null | head -c 16 | LC_ALL=C tr '\0' '\n' | head -n 1)" = "LOG $2" ]; }

lam up
expect_ok "up"
lam create "$RUN/snap.cfg"
expect_ok "create snap (a disk record every 20 ms)"
wait_for 30 nlogs 20 || fail "snap does not log"
lam snapshot snap s1
expect_ok "snapshot snap s1"
echo "$OUT" | grep -q "it keeps running" || fail "snapshot output: $OUT"
wait_for 30 nlogs 150 || fail "snap stopped logging after the snapshot"
lam console --dump snap
con=$(echo "$OUT" | tr -d '\r')
n=$(echo "$con" | sed -n '/^suspend: suspending/q;p' | logs | tail -n 1)
later=$(echo "$con" | logs | tail -n 1)
echo "$con" | grep -q '^suspend: cancelled, running on' && ok "the domain ran on after the snapshot" \
    || fail "no 'cancelled' line"
copy=$RUN/snapshots/snap/s1/disk0.img
# Record n+1 may be on the disk already: written, not yet printed when the
# guest suspended (the revert then prints it first); n+2 cannot be.
if [ -n "$n" ] && record "$copy" "$n" && ! record "$copy" $((n + 2)); then
    ok "memory and disk of one instant: the copy has record $n, the guest's last printed before the snapshot, and not $((n + 2))"
else
    fail "snapshot disk copy: record '$n' $(record "$copy" "$n" && echo present || echo missing), n+2 $(record "$copy" $((n + 2)) && echo present || echo missing)"
fi
record "$RUN/s.img" "$later" && ok "the live image has record $later" || fail "live image lacks record $later"
lam snapshot-list
expect_ok "snapshot-list"
echo "$OUT" | grep -q -E '^snap +s1 ' && ok "snapshot-list shows snap s1" || fail "snapshot-list: $OUT"
lam snapshot snap s1
expect_err "a snapshot name taken" "has a snapshot 's1' already; .lamina snapshot-delete snap s1. first"
lam snapshot snap ../x
expect_err "a bad snapshot name" "letters, digits and -_. only"
lam snapshot-revert snap nosuch
expect_err "an unknown snapshot" "snap has no snapshot 'nosuch'"

oldid=$(list_field snap 2)
lam snapshot-revert snap s1
expect_ok "snapshot-revert snap s1"
if ! record "$RUN/s.img" "$later"; then
    ok "the image is the snapshot's again: record $later is gone"
else
    fail "record $later still in the image after the revert"
fi
wait_for 30 nlogs 10 || fail "the reverted domain does not log"
[ "$(list_field snap 2)" != "$oldid" ] && ok "a new domain ($oldid -> $(list_field snap 2))" || fail "same domain id"
lam console --dump snap
first=$(echo "$OUT" | tr -d '\r' | logs | head -n 1)
[ "$first" = $((n + 1)) ] && ok "the guest goes on from record $first, the one after the snapshot's" \
    || fail "after the revert the first record is '$first', not $((n + 1))"
console_has snap 'disk: FAIL' && fail "a disk record failed after the revert" || ok "every record reads back"

lam snapshot-delete snap s1
expect_ok "snapshot-delete snap s1"
lam snapshot-list snap
echo "$OUT" | grep -q "no snapshots of snap" && ok "the list is empty" || fail "snapshot-list after delete: $OUT"
lam destroy snap
lam down
expect_ok "down"
finish
