#!/usr/bin/env bash
# lamina_syscalls.sh - on Lamina, the PV guest kernel's user process runs in
# user mode and its system calls (write, getpid, sched_yield, exit, and a
# write from a kernel pointer that must fail with EFAULT) work in both dom0
# and a domU: the results the user program prints appear as (d0) and (d1)
# lines.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash

need_file $B/lamina.elf $B/guest-pv.elf
run_lamina --dom0 $B/guest-pv.elf --domu $B/guest-pv.elf

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
# The user program's lines (WORKLOAD_USER_LINES, tests/lib/workload.bash).
for d in 0 1; do
    if check_user_process "$SCEN_OUT" "(d$d) "; then
        ok "d$d: all ${#WORKLOAD_USER_LINES[@]} user-process lines:"
        grep -a -E "^\\(d$d\\) (user: |init: user process)" "$SCEN_OUT" | sed 's/^/    /'
    else
        fail "d$d: user-process lines missing (above)"
    fi
done
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
