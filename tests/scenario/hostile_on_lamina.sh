#!/usr/bin/env bash
# hostile_on_lamina.sh - the hostile PV kernel as domU 1 next to the PV guest
# kernel as dom0: every attack fails with the errno real Xen 4.17 returns
# (each case prints PASS; hostile_on_xen.sh checks the same kernel on Xen),
# the hypervisor survives, dom0 still finishes its workload and the run
# exits 0.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

DONE_PATTERN='init: workload done$'

need_file $B/lamina.elf $B/guest-pv.elf $B/hostile-pv.elf
run_lamina --dom0 $B/guest-pv.elf --domu $B/hostile-pv.elf

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
has_line '^\(d1\) hostile: start' || fail "the hostile domU never started"
check_hostile_results '^\(d1\) '
grep -a -E '^\(d1\) hostile: ' "$SCEN_OUT"
has_line "^\\(d0\\) $DONE_PATTERN" && ok "dom0 finished its workload" \
    || fail "dom0 did not print 'workload done'"
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
