#!/usr/bin/env bash
# save_restore - `lamina save` and `lamina restore` of a PV domain that
# counts (service tick_ms=20: a line every 20 ms):
#  - the count goes on after the restore with no value lost or repeated, in
#    a new domain on new frames; the guest saw a suspend and a resume;
#  - `save --checkpoint` leaves the domain running (its suspend is
#    cancelled: SCHEDOP_shutdown returns 1) and the file restores;
#  - a truncated, corrupt or wrong-version file is refused by the CLI, and
#    a file with a valid checksum whose page table names a pfn past the
#    domain, or maps its L4 writable, is refused by dom0 and by the
#    hypervisor: nothing starts, no frame is lost;
#  - too little free memory gets a clear error and starts nothing;
#  - a domain writing its disk every 20 ms is saved and restored: its
#    blkfront reconnects, every record is in order and reads back intact;
#  - a TCP transfer between two domUs survives the sender's save/restore:
#    every byte arrives, both checksums agree;
#  - a vif's host forward is kept in the file and comes back with it;
#  - a file hostd cannot write (a full disk) fails the save with the
#    reason and the domain resumes.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
need_file tests/lib/savefile.py
kernel=$B_ABS/guest-pv.elf
RUN=$LAMINA_RUN_DIR
printf 'name = "counter"\nkernel = "%s"\ncmdline = "service tick_ms=20"\nmemory = 16\n' \
    "$kernel" >"$RUN/counter.cfg"

lam up
expect_ok "up"
free0=$(free_kib)
lam create "$RUN/counter.cfg"
expect_ok "create counter"
ticking() { [ "$(console_count counter '^service: tick')" -ge "$1" ]; }
wait_for 30 ticking 20 || fail "counter does not count"

console_log counter "$RUN/old.log"
lam save counter "$RUN/c.sav"
expect_ok "save counter"
echo "$OUT" | grep -E '^Saved' >&2
gone counter && ok "the saved domain is gone" || fail "counter still listed after save"
[ -s "$RUN/c.sav" ] && [ ! -e "$RUN/c.sav.tmp" ] && ok "save file written ($(stat -c %s "$RUN/c.sav") bytes)" \
    || fail "no save file"
sleep 2
kill $conpid 2>/dev/null; wait $conpid 2>/dev/null
tr -d '\r' <"$RUN/old.log" >"$RUN/old.txt"
grep -q '^suspend: suspending' "$RUN/old.txt" && ok "the guest suspended itself" \
    || fail "no suspend line on the old console"
last=$(sed -n -E 's/^service: tick ([0-9]+)$/\1/p' "$RUN/old.txt" | tail -n 1)

lam restore "$RUN/c.sav"
expect_ok "restore"
echo "$OUT" | grep -E '^Restored' >&2
newid=$(echo "$OUT" | sed -n -E 's/.* as ([0-9]+) from .*/\1/p')
wait_for 30 ticking 10 || fail "restored counter does not count"
lam console --dump counter
echo "$OUT" | tr -d '\r' >"$RUN/new.txt"
grep -q '^suspend: resumed in a new domain' "$RUN/new.txt" && ok "the guest resumed in domain $newid" \
    || fail "no resume line on the new console"
first=$(sed -n -E 's/^service: tick ([0-9]+)$/\1/p' "$RUN/new.txt" | head -n 1)
if [ -n "$last" ] && [ "$first" = $((last + 1)) ]; then
    ok "no tick lost or repeated: $last before the save, $first after the restore"
else
    fail "ticks jump from '$last' to '$first'"
fi
# Every tick of each side in order, each exactly once.
cat "$RUN/old.txt" "$RUN/new.txt" | sed -n -E 's/^service: tick ([0-9]+)$/\1/p' >"$RUN/ticks"
if awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$RUN/ticks"; then
    ok "$(wc -l <"$RUN/ticks") ticks consecutive across save and restore"
else
    fail "ticks not consecutive: $(awk 'NR > 1 && $1 != prev + 1 { print prev "->" $1 } { prev = $1 }' "$RUN/ticks" | head -n 3)"
fi

# A checkpoint: the domain runs on; its file is a second, restorable copy.
lam save --checkpoint counter "$RUN/k.sav"
expect_ok "save --checkpoint"
n=$(console_count counter '^service: tick')
wait_for 20 ticking $((n + 10)) && ok "counter runs on after the checkpoint" || fail "counter stopped after the checkpoint"
console_has counter '^suspend: cancelled' && ok "the guest saw its suspend cancelled" || fail "no cancel line"
lam destroy counter
expect_ok "destroy counter"

# Damaged files: refused before anything starts.
python3 tests/lib/savefile.py flip "$RUN/k.sav" "$RUN/flip.sav"
python3 tests/lib/savefile.py version "$RUN/k.sav" "$RUN/ver.sav" 2
python3 tests/lib/savefile.py pte-beyond "$RUN/k.sav" "$RUN/beyond.sav"
python3 tests/lib/savefile.py pte-l4 "$RUN/k.sav" "$RUN/l4.sav"
head -c $(( $(stat -c %s "$RUN/k.sav") / 2 )) "$RUN/k.sav" >"$RUN/trunc.sav"
lam restore "$RUN/trunc.sav";  expect_err "truncated file refused" 'truncated.*nothing was started'
lam restore "$RUN/flip.sav";   expect_err "corrupt file refused" 'corrupt: CRC-32.*nothing was started'
lam restore "$RUN/ver.sav";    expect_err "wrong version refused" 'version 2; this lamina reads version 1'
lam restore "$RUN/beyond.sav"; expect_err "PTE past the domain refused by dom0" 'names pfn [0-9a-f]+, beyond the domain'
lam restore "$RUN/l4.sav";     expect_err "writable L4 mapping refused by the hypervisor" 'hypervisor refused a pinned L4'
lam list
out_has '^counter ' && fail "a refused restore left a domain" || ok "no refused restore left a domain"
[ "$(free_kib)" = "$free0" ] && ok "free memory back to $free0 KiB" || fail "free memory $(free_kib), not $free0 KiB"

# Too little memory: the rest of the machine is taken by a filler domain.
fill=$(( $(free_kib) / 1024 - 8 ))
printf 'name = "filler"\nkernel = "%s"\ncmdline = "idle"\nmemory = %d\n' "$kernel" "$fill" >"$RUN/filler.cfg"
lam create "$RUN/filler.cfg"
expect_ok "create a $fill MiB filler"
lam restore "$RUN/k.sav";      expect_err "restore without memory refused" 'not enough free memory for 16 MiB'
lam list
out_has '^counter ' && fail "a restore without memory left a domain" || ok "nothing started without memory"
lam destroy filler
expect_ok "destroy filler"
lam restore "$RUN/k.sav"
expect_ok "the checkpoint restores once memory is free"
wait_for 30 ticking 10 && ok "the restored checkpoint counts" || fail "the restored checkpoint does not count"
lam destroy counter

# A disk in use: the guest logs a record every 20 ms (written, read back);
# its blkfront quiesces at the suspend and reconnects to the new blkback.
truncate -s 8M "$RUN/d.img"
printf 'name = "dlog"\nkernel = "%s"\ncmdline = "disk=log disk_ms=20 service"\nmemory = 16\ndisk = [ "%s,raw,xvda,rw" ]\n' \
    "$kernel" "$RUN/d.img" >"$RUN/disk.cfg"
lam create "$RUN/disk.cfg"
expect_ok "create dlog (a disk written every 20 ms)"
logs() { [ "$(console_count dlog '^disk: log [0-9]+ ok')" -ge "$1" ]; }
wait_for 30 logs 10 || fail "dlog does not log"
console_log dlog "$RUN/dold.log"
lam save dlog "$RUN/d.sav"
expect_ok "save dlog with its disk in use"
sleep 1
kill $conpid 2>/dev/null; wait $conpid 2>/dev/null
lam restore "$RUN/d.sav"
expect_ok "restore dlog (its image plugged again at once)"
wait_for 30 logs 20 || fail "restored dlog does not log"
lam console --dump dlog
{ tr -d '\r' <"$RUN/dold.log"; echo "$OUT" | tr -d '\r'; } | sed -n -E 's/^disk: log ([0-9]+) ok$/\1/p' >"$RUN/dlogs"
console_has dlog '^suspend: devices reconnected' && ok "blkfront reconnected after the restore" \
    || fail "no reconnect line"
if awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad || NR < 20 }' "$RUN/dlogs" &&
   ! grep -q 'disk: FAIL' "$RUN/dold.log" && ! console_has dlog 'disk: FAIL'; then
    ok "$(wc -l <"$RUN/dlogs") disk records in order across save and restore, each read back intact"
else
    fail "disk records not in order or a FAIL: $(awk 'NR > 1 && $1 != prev + 1 { print prev "->" $1 } { prev = $1 }' "$RUN/dlogs" | head -n 3)"
fi
lam destroy dlog

# A TCP connection across the restore: send pushes 256 MiB to sink through
# xenbr0 and is saved and restored in the middle; every byte arrives, the
# checksums agree.
netcfg() { printf 'name = "%s"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\nvif = [ "ip=%s" ]\n' \
    "$1" "$kernel" "$2" "$3" >"$RUN/$1.cfg"; echo "$RUN/$1.cfg"; }
lam create "$(netcfg sink 'net net_sink service' 10.0.2.41)"
expect_ok "create sink"
wait_for 30 console_has sink '^net: (vif0 up|FAIL)'
lam create "$(netcfg send 'net net_send=10.0.2.41 net_mib=256 service' 10.0.2.42)"
expect_ok "create send (256 MiB to sink)"
wait_for 30 console_has send '^net: vif0 up'
sleep 3
console_has send '^net: sent' && fail "the transfer ended before the save (too short a test)"
lam save send "$RUN/s.sav"
expect_ok "save send in the middle of its transfer"
lam restore "$RUN/s.sav"
expect_ok "restore send"
wait_for 120 console_has send '^net: (sent|send failed)'
sent=$(echo "$OUT" | sed -n -E 's/^net: sent ([0-9]+) bytes sum=([0-9a-f]+).*/\1 \2/p')
wait_for 30 console_has sink '^net: received'
recv=$(echo "$OUT" | sed -n -E 's/^net: received ([0-9]+) bytes sum=([0-9a-f]+) (ok|BAD).*/\1 \2 \3/p' | tail -n 1)
set -- $sent
s_bytes=$1 s_sum=$2
set -- $recv
if [ "$s_bytes" = 268435456 ] && [ "$1" = 268435456 ] && [ "$2" = "$s_sum" ] && [ "$3" = ok ]; then
    ok "the TCP connection survived the restore: 256 MiB, checksum $s_sum both ends"
else
    fail "transfer across the restore: sent '$sent' received '$recv'"
fi
lam destroy send
lam destroy sink

# The host's forward follows the domain: curl reaches the restored httpd
# through the same port, and the guest's own state (its page counter) is
# the one it had.
web_cfg "$RUN/web.cfg"
lam create "$RUN/web.cfg"
expect_ok "create web (forward $PORT:80)"
wait_for 30 page && ok "curl reaches web before the save ($(hits) pages served)" || fail "no page from web"
before=$(hits)
lam save web "$RUN/w.sav"
expect_ok "save web"
lam restore "$RUN/w.sav"
expect_ok "restore web"
wid=$(echo "$OUT" | sed -n -E 's/.* as ([0-9]+) from .*/\1/p')
if wait_for 30 page && grep -q "Lamina PV domain $wid<" "$RUN/page" && [ "$(hits)" -gt "$before" ]; then
    ok "after the restore the same port reaches web, now domain $wid, its counter on at $(hits)"
else
    fail "after the restore (domain $wid, $before pages before): $(head -n 3 "$RUN/page")"
fi
lam destroy web

# hostd cannot write the file (the disk is full: FILE.tmp is /dev/full):
# the save fails with the reason, the domain resumes and counts on.
printf 'name = "full"\nkernel = "%s"\ncmdline = "service tick_ms=20"\nmemory = 16\n' \
    "$kernel" >"$RUN/full.cfg"
lam create "$RUN/full.cfg"
expect_ok "create full"
fticks() { console_count full '^service: tick'; }
wait_for 30 eval '[ "$(fticks)" -ge 5 ]' || fail "full does not count"
ln -sf /dev/full "$RUN/full.sav.tmp"
lam save full "$RUN/full.sav"
expect_err "a save onto a full disk" "writing .*full.sav.tmp failed: No space left on device; the domain was resumed"
[ ! -e "$RUN/full.sav" ] && [ ! -L "$RUN/full.sav.tmp" ] && ok "no file and no .tmp left" \
    || fail "a file is left after the failed save: $(ls "$RUN"/full.sav* 2>&1)"
t0=$(fticks)
wait_for 10 eval '[ "$(fticks)" -gt $((t0 + 10)) ]' && ok "the domain resumed and counts on" \
    || fail "full stopped counting after the failed save"
lam destroy full
lam down
expect_ok "down"
finish
