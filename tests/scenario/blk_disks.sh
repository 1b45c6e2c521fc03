#!/usr/bin/env bash
# blk_disks - virtual disks end to end on a real machine: the guest's
# blkfront, dom0's blkback over a virtio-blk disk QEMU hot-plugs for each
# image, grant tables beneath.  Checks, with the image files read on the
# host (tests/lib/disk_check.py):
#  - integrity: random-sized writes in random order from a domU are in the
#    image file, sector for sector, after the domain is destroyed;
#  - two domUs on two disks at once, both intact;
#  - persistence: what one boot wrote, the next boot of a new domain reads
#    back (disk=persist), and the image holds it; closing and connecting
#    again in the same domain (xenbus reconnect);
#  - one image shared read-only by two domUs; a read-write user beside a
#    reader is refused, naming the cfg line;
#  - a missing image, a bad vdev, a qcow2 format: errors naming the line;
#  - block-list; block-attach / block-detach on a running domain;
#  - destroying a domain with I/O in flight leaves no grant mapped and
#    every frame free (`lamina info`).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

IMG=$LAMINA_RUN_DIR/img
mkdir -p "$IMG"
truncate -s 64M "$IMG/a.img" "$IMG/b.img"
truncate -s 300M "$IMG/bench.img"
KERNEL=$B_ABS/guest-pv.elf
CHECK="python3 tests/lib/disk_check.py"

# cfg NAME CMDLINE DISKSPEC...: a PV domain's cfg file, path printed.
cfg() {
    local f=$IMG/$1.cfg name=$1 cmd=$2 d list=""
    shift 2
    for d in "$@"; do list="$list${list:+, }\"$d\""; done
    printf 'name = "%s"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\ndisk = [ %s ]\n' \
        "$name" "$KERNEL" "$cmd" "$list" >"$f"
    echo "$f"
}

lam up
expect_ok "lamina up"
free0=$(free_kib)
mt0=$(maptrack)

# ---- integrity, two domUs on two disks at once -----------------------------
lam create "$(cfg ia 'disk=integrity disk_seed=7 disk_mib=16 idle' "format=raw, vdev=xvda, access=rw, target=$IMG/a.img")"
expect_ok "create ia (disk a, seed 7)"
lam create "$(cfg ib 'disk=integrity disk_seed=9 disk_mib=16 idle' "$IMG/b.img,raw,xvda,rw")"
expect_ok "create ib (disk b, seed 9, positional spec)"
for d in ia ib; do
    wait_for 120 console_has $d '^disk: (integrity OK|FAIL)' || true
    if console_has $d '^disk: integrity OK'; then
        ok "$d: $(echo "$OUT" | grep '^disk: integrity OK')"
    else
        fail "$d: no integrity result: $(echo "$OUT" | grep '^disk:' | tail -n 3)"
    fi
done
lam block-list ia
expect_ok "block-list ia"
echo "$OUT" | grep -q -E '^xvda +51712 +w .* [1-9][0-9]* +0 ' && ok "block-list shows xvda, requests, no errors" \
    || fail "block-list: $OUT"
lam destroy ia
lam destroy ib
r=$($CHECK integrity "$IMG/a.img" 7 8192 32768) && ok "a.img holds seed 7's 16 MiB ($r)" || fail "a.img: $r"
r=$($CHECK integrity "$IMG/b.img" 9 8192 32768) && ok "b.img holds seed 9's 16 MiB ($r)" || fail "b.img: $r"
r=$($CHECK integrity "$IMG/a.img" 9 8192 32768) && fail "the checker accepts the wrong seed" \
    || ok "the checker refuses the wrong seed ($r)"

# ---- persistence across destroy and create -------------------------------------
p=$(cfg pers 'disk=persist disk_reopen idle' "format=raw, vdev=xvda, access=rw, target=$IMG/a.img")
lam create "$p"
expect_ok "create pers"
wait_for 60 console_has pers '^disk: (wrote boot|FAIL)'
console_has pers '^disk: no earlier boot' && console_has pers '^disk: wrote boot 1 ' \
    && ok "first boot wrote boot 1" || fail "first boot: $(echo "$OUT" | grep '^disk:')"
lam destroy pers
wait_for 30 gone pers
r=$($CHECK persist "$IMG/a.img" 1) && ok "a.img holds boot 1 after destroy ($r)" || fail "a.img after boot 1: $r"
lam create "$p"
expect_ok "create pers again"
wait_for 60 console_has pers '^disk: (wrote boot|FAIL)'
console_has pers '^disk: boot 1 verified' && console_has pers '^disk: wrote boot 2 ' \
    && ok "second boot read boot 1 back and wrote boot 2" || fail "second boot: $(echo "$OUT" | grep '^disk:')"
wait_for 30 console_has pers '^disk: reopened'
console_has pers '^disk: reopened: ok .*boot 2\)' && ok "closed and connected again (xenbus reconnect), read boot 2" \
    || fail "reconnect: $(echo "$OUT" | grep '^disk: reopened')"
lam destroy pers
wait_for 30 gone pers
r=$($CHECK persist "$IMG/a.img" 2) && ok "a.img holds boot 2 ($r)" || fail "a.img after boot 2: $r"

# ---- sharing ------------------------------------------------------------------------
lam create "$(cfg ro1 'disk=persist idle' "$IMG/a.img,raw,xvda,ro")"
expect_ok "create ro1 (a.img read-only)"
lam create "$(cfg ro2 'disk=persist idle' "$IMG/a.img,raw,xvda,ro")"
expect_ok "create ro2 (a.img read-only too)"
for d in ro1 ro2; do
    wait_for 60 console_has $d '^disk: (done|FAIL)'
    console_has $d '^disk: boot 2 verified' && console_has $d 'read-only, nothing written' \
        && ok "$d reads boot 2 from the shared image" || fail "$d: $(echo "$OUT" | grep '^disk:')"
done
rw=$(cfg rw1 'idle' "$IMG/a.img,raw,xvda,rw")
lam create "$rw"
expect_err "create rw1 beside two readers" "$rw:5: disk xvda: .*in use read-only"
lam destroy ro1
lam destroy ro2

# ---- errors name the line and the fix -------------------------------------------------
bad=$(cfg bad1 'idle' "$IMG/missing.img,raw,xvda,rw")
lam create "$bad"
expect_err "a missing image" "$bad:5: disk xvda: cannot find image .*missing.img.*truncate"
bad=$(cfg bad2 'idle' "$IMG/b.img,raw,sda,rw")
lam create "$bad"
expect_err "a bad vdev" "$bad:5: disk 1: vdev 'sda' is not supported; use xvda"
bad=$(cfg bad3 'idle' "format=qcow2, vdev=xvda, target=$IMG/b.img")
lam create "$bad"
expect_err "a qcow2 image" "$bad:5: disk 1: format=qcow2 is not supported"

# ---- block-attach / block-detach on a running domain --------------------------------------
lam create "$(cfg hot 'service' "$IMG/b.img,raw,xvda,ro")"
expect_ok "create hot"
lam block-attach hot "format=raw, vdev=xvdb, access=ro, target=$IMG/a.img"
expect_ok "block-attach hot xvdb"
lam block-list hot
echo "$OUT" | grep -q '^xvdb ' && echo "$OUT" | grep -q '^xvda ' && ok "block-list hot shows xvda and xvdb" \
    || fail "block-list after attach: $OUT"
lam block-attach hot "format=raw, vdev=xvdb, access=ro, target=$IMG/a.img"
expect_err "attaching xvdb twice" "has a disk 51728 already"
lam block-detach hot xvdb
expect_ok "block-detach hot xvdb"
detached() { lam block-list hot; ! echo "$OUT" | grep -q '^xvdb '; }
wait_for 20 detached && ok "xvdb is gone from block-list" || fail "xvdb still listed: $OUT"
lam block-detach hot xvdc
expect_err "detaching a disk that is not there" "has no disk 51744"
lam destroy hot

# ---- destroy with I/O in flight: no grant left mapped, no frame lost -------------------------
lam create "$(cfg busy 'disk=bench idle' "$IMG/bench.img,raw,xvda,rw")"
expect_ok "create busy (disk=bench)"
wait_for 60 console_has busy '^disk: xvda connected'
sleep 1
inflight() { lam block-list busy; echo "$OUT" | grep -q -E '^xvda .* [1-9][0-9]* +0 '; }
wait_for 20 inflight && ok "busy is doing I/O" || fail "busy never did I/O: $OUT"
lam destroy busy
expect_ok "destroy busy mid-transfer"
nomaps() { [ "$(grant_maps)" = 0 ]; }
wait_for 30 nomaps && ok "no grant mapping is left" || fail "grant_maps is $(grant_maps) after destroy"
# dom0's maptrack keeps the frames it grew to (as Xen's does): those are
# the only frames not back.
mt=$(maptrack)
want=$((free0 - (mt - mt0) * 4))
freed() { [ "$(free_kib)" = "$want" ]; }
wait_for 60 freed && ok "free memory is back to $free0 KiB less dom0's maptrack growth ($mt0 -> $mt frames)" \
    || fail "free memory $(free_kib) KiB, want $want ($free0 at start, maptrack $mt0 -> $mt frames)"
lam list
echo "$OUT" | grep -q -E '^(ia|ib|pers|ro1|ro2|hot|busy) ' && fail "domains left: $OUT" || ok "no test domain is left"

finish
