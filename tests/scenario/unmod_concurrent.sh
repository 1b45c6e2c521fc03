#!/usr/bin/env bash
# unmod_concurrent.sh - two unmodified guests (the native kernel, twice) and
# one PV guest (dom0) run concurrently: each unmodified domain has its own
# shadow tables, virtual CPU and devices; both complete their workloads and
# their consoles interleave.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash
. tests/lib/unmod.bash

need_file $B/lamina.elf $B/guest-pv.elf $B/guest-native.elf
run_lamina --dom0 $B/guest-pv.elf --dom0-args "workload=quick" \
           --domu $B/guest-native.elf --domu-args "workload=quick" \
           --domu $B/guest-native.elf --domu-args "workload=quick"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
check_workload "$SCEN_OUT" 3 pv "workload=quick" "(d0) " || fail "dom0 workload"
check_workload "$SCEN_OUT" 3 native "workload=quick" "(d1) " || fail "d1 workload"
check_workload "$SCEN_OUT" 3 native "workload=quick" "(d2) " || fail "d2 workload"
interleaved "(d1) " "(d2) " && interleaved "(d2) " "(d1) " || fail "the two unmodified domains did not run concurrently"
need_stat 1 emulated 500
need_stat 2 emulated 500
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
