#!/usr/bin/env bash
# exit_path.sh - issue 10's attacks on the hypervisor's entry and exit paths,
# from the hostile PV kernel as domU 1 (command line `exit-cases`) next to
# the PV guest kernel as dom0: a call gate in the reset-state LDT aimed at
# the hypervisor's CS, MMUEXT_SET_LDT with a gate, non-canonical %rsp and
# %rip in return frames, HYPERVISOR_iret with ring-0 CS and IOPL 3, guest
# data breakpoints on hypervisor-copied buffers, and an execute breakpoint
# on code dom0 runs.  Every case PASSes, the hypervisor does
# not panic, dom0 finishes its workload and never takes a #DB.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

need_file $B/lamina.elf $B/guest-pv.elf $B/hostile-pv.elf
# An execute breakpoint on dom0's guest scheduler, which it runs all the
# time (the hostile kernel resumes its own hits at that address).
target=0x$(nm $B/guest-pv.elf | awk '$3 == "schedule" { print $1 }')
[ "$target" != 0x ] || fail "no 'schedule' symbol in $B/guest-pv.elf"
run_lamina --dom0 $B/guest-pv.elf --domu $B/hostile-pv.elf \
    --domu-args "exit-cases dr_target=$target"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
check_hostile_results '^\(d1\) '
for c in ldt_call_gate_to_hypervisor_cs set_ldt_with_call_gate set_ldt_valid \
         syscall_with_noncanonical_rsp iret_to_noncanonical_rip \
         iret_with_ring0_cs_lands_in_ring3 iret_with_iopl3_lands_with_iopl0 \
         console_io_from_watched_buffer own_access_to_watched_gets_db \
         breakpoint_on_dom0_address_survived; do
    has_line "^\\(d1\\) hostile: $c: .* PASS$" || fail "case $c did not PASS"
done
grep -a -E '^\(d1\) hostile: ' "$SCEN_OUT" | grep -v -E 'hostile: [a-z0-9_]+: rc=' | sed 's/^/  /'
has_line '^\(d0\) init: workload done$' && ok "dom0 finished its workload" \
    || fail "dom0 did not print 'workload done'"
has_line 'domain 0 crashed' && fail "dom0 crashed"
has_line 'domain 1 crashed' && fail "the hostile domU was crashed instead of getting its exceptions"
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
