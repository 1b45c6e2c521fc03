#!/usr/bin/env bash
# crash_isolation.sh - a domU that faults with no trap table registered
# (the hostile kernel with mode=fault) is destroyed by the hypervisor, which
# says "(XEN) domain 1 crashed", while dom0 (the PV guest kernel) keeps
# running, finishes its workload, and the run exits 0.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

DONE_PATTERN='init: workload done$'

need_file $B/lamina.elf $B/guest-pv.elf $B/hostile-pv.elf
run_lamina --dom0 $B/guest-pv.elf --domu $B/hostile-pv.elf --domu-args "mode=fault"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
check_fault_crash "domU 1" '^\(d1\) ' '^\(XEN\) domain 1 crashed'
# dom0 must go on after the crash: its workload ends later.
crash_at=$(grep -a -n -m1 -E '^\(XEN\) domain 1 crashed' "$SCEN_OUT" | cut -d: -f1)
done_at=$(grep -a -n -m1 -E "^\\(d0\\) $DONE_PATTERN" "$SCEN_OUT" | cut -d: -f1)
if [ -n "$done_at" ]; then
    ok "dom0 finished its workload"
    [ -n "$crash_at" ] && [ "$done_at" -lt "$crash_at" ] && \
        fail "dom0 finished before domU 1 crashed (line $done_at < $crash_at): isolation not shown"
else
    fail "dom0 did not print 'workload done' after the crash"
fi
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
