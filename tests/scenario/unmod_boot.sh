#!/usr/bin/env bash
# unmod_boot.sh - the three kinds of domain side by side (what `make run`
# shows): dom0 (the PV guest kernel), a PV domU (the same kernel) and an
# unmodified domU (build/guest-native.elf, the very binary native_boot.sh
# boots on bare QEMU) all run the full workload.  The unmodified one also
# runs a user process that dies of a page fault delivered through its own
# IDT.  Checks every workload line of each, that the consoles interleave,
# and the hypervisor's trap-and-emulate statistics for d2.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash
. tests/lib/unmod.bash

need_file $B/lamina.elf $B/guest-pv.elf $B/guest-native.elf
run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf \
           --domu $B/guest-native.elf --domu-args "test=user-fault"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
has_line '^\(XEN\) d2: unmodified \(trap-and-emulate, shadow paging\) kernel' ||
    fail "d2 was not built as an unmodified domain"
check_workload "$SCEN_OUT" 6 pv "" "(d0) " || fail "dom0 workload"
check_workload "$SCEN_OUT" 6 pv "" "(d1) " || fail "PV domU workload"
check_workload "$SCEN_OUT" 6 native "test=user-fault" "(d2) " || fail "unmodified domU workload"
check_user_fault "$SCEN_OUT" "(d2) " || fail "unmodified domU: user page fault not delivered/survived"
interleaved "(d0) " "(d2) " && interleaved "(d2) " "(d0) " || fail "dom0 and the unmodified domU did not run side by side"
interleaved "(d1) " "(d2) " || fail "PV domU and the unmodified domU did not run side by side"
has_line '^\(XEN\) domain 2 shut down: poweroff' || fail "d2 did not power itself off cleanly"
need_stat 2 emulated 1000          # cli/sti, port I/O, CR3 loads, iretq ...
need_stat 2 syscalls 10            # the user process's system calls
need_stat 2 fills 20               # shadow entries built on demand
need_stat 2 '#PF' 1                # the user process's fault, through its IDT
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
