#!/usr/bin/env bash
# unmod_isolation.sh - a misbehaving unmodified guest hurts nobody else.
#  1. test=ud: it executes ud2; the #UD reaches its own IDT (its handler
#     prints "fatal: exception 6") and it powers itself off with a crash.
#  2. test=bad-pte: it maps frame 0x100 (where the hypervisor sits in
#     machine memory) and sees only its own memory there; it then maps a
#     frame beyond its RAM and reads it: no access - the hypervisor kills it.
#  3. test=user-privop: its user process executes `cli`; the #GP must reach
#     the guest kernel (which reports it as fatal and powers off with a
#     crash), not be emulated as the guest kernel's own cli would be.
# In both runs dom0 and a PV domU keep running and finish their workloads.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash
. tests/lib/unmod.bash

need_file $B/lamina.elf $B/guest-pv.elf $B/guest-native.elf

run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf --dom0-args "" \
           --domu $B/guest-native.elf --domu-args "workload=quick test=ud"
[ "$LAMINA_RC" = 0 ] || fail "ud run: exit status $LAMINA_RC, want 0"
has_line '^\(d2\) selftest: executing ud2$' || fail "d2 did not reach ud2"
has_line '^\(d2\) fatal: exception 6 error 0 at rip ffffffff8[0-9a-f]+ in kernel mode' ||
    fail "#UD was not delivered through the guest's own IDT"
has_line '^\(d2\) selftest: survived ud2' && fail "ud2 did not fault"
has_line '^\(XEN\) domain 2 shut down: crash' || fail "d2 did not end with its crash code"
finished_after 0 'init: workload done$' '^\(XEN\) domain 2 shut down'
finished_after 1 'init: workload done$' '^\(XEN\) domain 2 shut down'
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked (ud run)"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
cp "$SCEN_OUT" "$SCEN_OUT.ud"

run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf \
           --domu $B/guest-native.elf --domu-args "workload=quick test=bad-pte"
[ "$LAMINA_RC" = 0 ] || fail "bad-pte run: exit status $LAMINA_RC, want 0"
has_line "^\\(d2\\) selftest: frame 100 through a user mapping is this kernel's own memory$" ||
    fail "frame 0x100 did not show the guest's own memory"
has_line '^\(d2\) selftest: reading frame [0-9a-f]+, beyond' || fail "d2 did not try the far frame"
has_line '^\(d2\) selftest: read [0-9a-f]+ from a frame that does not exist' &&
    fail "the guest read a frame it does not own"
has_line '^\(XEN\) domain 2 crashed: .*outside the domain.s memory' ||
    fail "the hypervisor did not stop the access"
finished_after 0 'init: workload done$' '^\(XEN\) domain 2 crashed'
finished_after 1 'init: workload done$' '^\(XEN\) domain 2 crashed'
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked (bad-pte run)"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
cp "$SCEN_OUT" "$SCEN_OUT.bad-pte"

run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf \
           --domu $B/guest-native.elf --domu-args "workload=quick test=user-privop"
[ "$LAMINA_RC" = 0 ] || fail "user-privop run: exit status $LAMINA_RC, want 0"
has_line '^\(d2\) user: executing cli$' || fail "d2's user process did not reach cli"
has_line '^\(d2\) fatal: exception 13 error 0 at rip [0-9a-f]+ in user mode' ||
    fail "the user-mode cli did not reach the guest kernel as a #GP"
has_line '^\(d2\) user: survived cli' && fail "a user-mode cli was emulated"
has_line '^\(XEN\) domain 2 shut down: crash' || fail "d2 did not end with its crash code"
finished_after 0 'init: workload done$' '^\(XEN\) domain 2 shut down'
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked (user-privop run)"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
