#!/usr/bin/env bash
# stall.sh - does one huge hypercall stall every other domain?  dom0 is the
# hostile kernel in mode=heartbeat: it pauses the domUs for an idle phase
# (idle_ms, 3 s) and measures its 10 ms timer's wake-up gaps alone, then
# unpauses them and measures again while domU 1, the hostile kernel in
# mode=stall, issues mmu_update with 10^6 entries, multicall with 10^6
# entries and memory_op reservations of ~15,000 extents.  Prints
#   stall: idle <x> ms, loaded <y> ms (limit 2x)
# with x the idle median gap and y the loaded maximum gap, and passes only
# if y <= 2x.  The loaded phase ends when the stall domU blocks after its
# last round (heartbeat until_idle=1); the gaps of its teardown are shown
# apart and not judged.  Without hypercall continuations (Xen's preemption of long
# hypercalls) the hypervisor runs each batch to the end with interrupts
# off and this test fails.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

need_file $B/lamina.elf $B/hostile-pv.elf
LAMINA_TIMEOUT=${LAMINA_TIMEOUT:-120} run_lamina \
    --hv-args "console=com1 dom0_mem=32M domu_mem=64M" \
    --dom0 $B/hostile-pv.elf --dom0-args "mode=heartbeat watch=1 limit=100 idle_ms=3000 until_idle=1" \
    --domu $B/hostile-pv.elf --domu-args "mode=stall rounds=3"

grep -a -E '^\(d1\) stall: ' "$SCEN_OUT" | sed 's/^/  /'
idle=$(grep -a -E '^\(d0\) heartbeat: idle: ' "$SCEN_OUT" | tail -n 1)
loaded=$(grep -a -E '^\(d0\) heartbeat: loaded: ' "$SCEN_OUT" | tail -n 1)
teardown=$(grep -a -E '^\(d0\) heartbeat: teardown: ' "$SCEN_OUT" | tail -n 1)
echo "  $idle"
echo "  $loaded"
[ -n "$teardown" ] && echo "  $teardown (the stall domU's shutdown and destruction; not judged)"
idle_us=$(echo "$idle" | sed -n -E 's/.* median ([0-9]+) us.*/\1/p')
loaded_us=$(echo "$loaded" | sed -n -E 's/.* max gap ([0-9]+) us.*/\1/p')
if [ -z "$idle_us" ] || [ -z "$loaded_us" ]; then
    fail "dom0's heartbeat did not report both phases"
else
    echo "stall: idle $(awk -v u="$idle_us" 'BEGIN { printf "%.1f", u / 1000 }') ms," \
         "loaded $(awk -v u="$loaded_us" 'BEGIN { printf "%.1f", u / 1000 }') ms (limit 2x)"
    [ "$loaded_us" -le $((2 * idle_us)) ] ||
        fail "dom0's longest gap under load is more than twice its idle period"
fi
has_line '^\(d1\) stall: done$' || fail "the stall domU did not finish its rounds"
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
