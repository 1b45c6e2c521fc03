#!/usr/bin/env bash
# hostile_dom0_on_lamina.sh - the hostile PV kernel as dom0 on Lamina (dom0
# has the privileged paths: SIF_INITDOMAIN, I/O memory): every case PASSes
# as on Xen and the run exits 0 (clean power-off); with mode=fault the
# hypervisor destroys dom0 and tools/lamina-boot exits 2 (dom0 crashed).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

need_file $B/lamina.elf $B/hostile-pv.elf
run_lamina --dom0 $B/hostile-pv.elf
[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
has_line '^\(d0\) hostile: start, initial domain' || fail "the hostile kernel did not start as the initial domain"
check_hostile_results '^\(d0\) '
grep -a -E '^\(d0\) hostile: ' "$SCEN_OUT"
[ "$SCEN_FAILS" = 0 ] || show_tail 30

SCEN_OUT=$B/test-logs/$SCEN_NAME.fault.console
run_lamina --dom0 $B/hostile-pv.elf --dom0-args "mode=fault"
[ "$LAMINA_RC" = 2 ] || fail "mode=fault: lamina-boot exit status $LAMINA_RC, want 2 (dom0 crashed)"
check_fault_crash dom0 '^\(d0\) ' '^\(XEN\) domain 0 crashed'
[ "$SCEN_FAILS" = 0 ] || show_tail 20
finish
