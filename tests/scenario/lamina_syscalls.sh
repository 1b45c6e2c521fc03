#!/usr/bin/env bash
# lamina_syscalls.sh - on Lamina, the PV guest kernel's user process runs in
# user mode and its system calls (write, getpid, sched_yield, exit, and a
# write from a kernel pointer that must fail with EFAULT) work in both dom0
# and a domU: the results the user program prints appear as (d0) and (d1)
# lines.
cd "$(dirname "$0")/../.." || exit 1
. tests/hostile/scenario-lib.bash

# Lines of the built-in user program (guest-port/core/user_prog.S) and of
# init (guest-port/core/main.c), after the "(dN) " prefix.
SYSCALL_PATTERNS=(
    'user: hello from user mode$'
    'user: getpid = [0-9]+$'
    'user: primes below 1000 = 168$'
    'user: yielded 3 times$'
    'user: sum 1\.\.100000 = 5000050000$'
    'user: write\(bad pointer\) = -14$'
    'user: exiting with code 42$'
    'init: user process exited with code 42$'
)

need_file build/lamina.elf build/guest-pv.elf
run_lamina --dom0 build/guest-pv.elf --domu build/guest-pv.elf

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
for d in 0 1; do
    for p in "${SYSCALL_PATTERNS[@]}"; do
        if has_line "^\\(d$d\\) $p"; then
            ok "d$d: $(grep -a -m1 -E "^\\(d$d\\) $p" "$SCEN_OUT")"
        else
            fail "d$d: no line matching '(d$d) $p'"
        fi
    done
done
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
