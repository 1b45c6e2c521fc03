#!/usr/bin/env bash
# lamina_boot.sh - Lamina boots under QEMU TCG with dom0 and one domU, both
# the PV guest kernel: the hypervisor prints "(XEN) " lines, both domains
# print their workload as "(d0) "/"(d1) " lines, the two interleave (each
# domain prints between two lines of the other: both ran, preempted), both
# run the whole workload (tests/lib/workload.bash: banner, 6 steps per
# thread, preemption, user process, "workload done", no panic/fatal), and the
# run exits 0 (dom0 powered off cleanly).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash

need_file $B/lamina.elf $B/guest-pv.elf
run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0 (clean dom0 power-off)"
n=$(count_lines '^\(XEN\) ')
[ "$n" -gt 0 ] && ok "$n hypervisor (XEN) lines" || fail "no '(XEN) ' lines"
for d in 0 1; do
    n=$(count_lines "^\\(d$d\\) ")
    [ "$n" -gt 0 ] && ok "$n (d$d) lines" || fail "no '(d$d) ' lines"
    check_workload "$SCEN_OUT" 6 pv "" "(d$d) " && ok "d$d: full workload, through 'workload done'" \
        || fail "d$d: workload checks failed (above)"
done
interleaved "(d0) " "(d1) " && ok "a (d1) line lies between two (d0) lines" \
    || fail "no (d1) line between two (d0) lines: the domains did not run concurrently"
interleaved "(d1) " "(d0) " && ok "a (d0) line lies between two (d1) lines" \
    || fail "no (d0) line between two (d1) lines: the domains did not run concurrently"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
