#!/usr/bin/env bash
# lamina_boot.sh - Lamina boots under QEMU TCG with dom0 and one domU, both
# the PV guest kernel: the hypervisor prints "(XEN) " lines, both domains
# print their workload as "(d0) "/"(d1) " lines, the two interleave (each
# domain prints between two lines of the other: both ran, preempted), both
# reach "workload done", and the run exits 0 (dom0 powered off cleanly).
cd "$(dirname "$0")/../.." || exit 1
. tests/hostile/scenario-lib.bash

# What the guest kernel prints when its workload is over (guest-port/core/main.c).
DONE_PATTERN='init: workload done$'

need_file build/lamina.elf build/guest-pv.elf
run_lamina --dom0 build/guest-pv.elf --domu build/guest-pv.elf

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0 (clean dom0 power-off)"
n=$(count_lines '^\(XEN\) ')
[ "$n" -gt 0 ] && ok "$n hypervisor (XEN) lines" || fail "no '(XEN) ' lines"
for d in 0 1; do
    n=$(count_lines "^\\(d$d\\) ")
    [ "$n" -gt 0 ] && ok "$n (d$d) lines" || fail "no '(d$d) ' lines"
    has_line "^\\(d$d\\) $DONE_PATTERN" && ok "d$d: workload done" \
        || fail "d$d never printed 'workload done'"
done
interleaved "(d0) " "(d1) " && ok "a (d1) line lies between two (d0) lines" \
    || fail "no (d1) line between two (d0) lines: the domains did not run concurrently"
interleaved "(d1) " "(d0) " && ok "a (d0) line lies between two (d1) lines" \
    || fail "no (d0) line between two (d1) lines: the domains did not run concurrently"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
