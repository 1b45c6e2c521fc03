#!/usr/bin/env bash
# net_hostile - a hostile netfront (tests/guest/hostile_net.c, net=hostile)
# against dom0's netback while two honest domUs move data through the
# bridge.  Checks:
#  - each malformed request gets what netback promises: an error response
#    (bad grant, short frame), a safe answer (a request rewritten after
#    posting), or a disconnect for the fatal ones, each for its own reason
#    in dom0's log (a frame longer than its first slot says, a slot
#    crossing its page, more than 18 slots, a producer index past the
#    ring); the hostile domain connects again after each;
#  - during its flood of broadcast frames, the honest pair's 32 MiB
#    transfer still arrives intact at >= 50% of its undisturbed rate;
#  - netback serves a new domain afterwards and nothing leaks.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

DIR=$LAMINA_RUN_DIR/cfg
mkdir -p "$DIR"
KERNEL=$B_ABS/guest-pv.elf
cfg() {
    printf 'name = "%s"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\nvif = [ "%s" ]\n' \
        "$1" "$KERNEL" "$2" "$3" >"$DIR/$1.cfg"
    echo "$DIR/$1.cfg"
}
# send NAME IP: a 32 MiB transfer to sink; prints the sender's ms.
send() {
    lam create "$(cfg "$1" "net net_send=10.0.2.21 net_mib=32 service" "ip=$2")"
    [ "$RC" = 0 ] || { fail "create $1: $OUT"; return 1; }
    wait_for 240 console_has "$1" '^net: (sent|send failed)'
    local ms
    ms=$(echo "$OUT" | sed -n -E 's/^net: sent 33554432 bytes sum=[0-9a-f]+ ms=([0-9]+).*/\1/p')
    wait_for 30 console_has sink '^net: received 33554432 bytes .* ok'
    local n
    n=$(echo "$OUT" | grep -c -E '^net: received 33554432 bytes sum=[0-9a-f]+ ok')
    [ -n "$ms" ] && [ "$n" -ge "$3" ] || { fail "$1: transfer '$ms' ms, $n intact receipts"; return 1; }
    echo "$ms"
}

lam up
expect_ok "lamina up"
lam create "$(cfg sink 'net net_sink service' 'ip=10.0.2.21')"
expect_ok "create sink"
wait_for 30 console_has sink '^net: vif0 up'

t0=$(send quiet 10.0.2.22 1) && ok "undisturbed: 32 MiB in $t0 ms, intact"

lam create "$(cfg hostile 'net=hostile flood_s=60 service' 'ip=10.0.2.66')"
expect_ok "create hostile (flood for 60 s after the cases)"
wait_for 60 console_has hostile '^hostile-net: (ring-overflow|FAIL)'
# TCG time on a shared 2-core host moves one transfer by up to 2x either
# way (1.7 s to 3.3 s undisturbed, seen here), so a slow first transfer
# under the flood is measured once more and the faster one counts: a flood
# that really halves the rate halves both.
receipts=2
t1=$(send busy 10.0.2.23 $receipts) && ok "under the flood: 32 MiB in $t1 ms, intact"
if [ -n "$t0" ] && [ -n "$t1" ] && [ $((t1)) -gt $((2 * t0)) ]; then
    receipts=3
    t1b=$(send busy2 10.0.2.25 $receipts) && ok "under the flood, again: 32 MiB in $t1b ms, intact"
    [ -n "$t1b" ] && [ $((t1b)) -lt $((t1)) ] && t1=$t1b
    [ -n "$t1b" ] || t1=
fi
if [ -n "$t0" ] && [ -n "$t1" ]; then
    [ $((t1)) -le $((2 * t0)) ] && ok "the flood left the pair >= 50% of its rate ($t0 ms -> $t1 ms)" \
        || fail "the flood cut the pair below 50%: $t0 ms -> $t1 ms"
fi
wait_for 110 console_has hostile '^hostile-net: done'
for c in bad-gref short-frame double-fetch over-65535 bad-offset too-many-slots ring-overflow flood; do
    line=$(echo "$OUT" | grep -E "^hostile-net: $c " | head -n 1)
    case "$line" in
    *" ok "*) ok "$line" ;;
    *) fail "hostile case $c: '${line:-no line}'" ;;
    esac
done
log=$(tr -d '\r' <"$LAMINA_RUN_DIR/hypervisor.log")
for why in "tx frame longer than its first slot says" "tx slot crosses its page" \
           "more tx slots in a frame than allowed" "tx producer index past the ring"; do
    echo "$log" | grep -q "netback: vif[0-9]*\.0: $why: disconnecting" && ok "netback disconnected it: $why" \
        || fail "dom0's log lacks '$why'"
done
for d in hostile quiet busy; do lam destroy $d; done
[ "$receipts" = 3 ] && lam destroy busy2
t2=$(send after 10.0.2.24 $((receipts + 1))) && ok "netback serves a new domain afterwards ($t2 ms)"
for d in after sink; do lam destroy $d; done
wait_for 30 gone sink
wait_for 30 gone after
g=$(grant_maps)
[ "$g" = 0 ] && ok "no grant is mapped at the end" || fail "grant_maps at the end: $g"
lam down
expect_ok "lamina down"
finish
