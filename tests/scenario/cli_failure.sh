#!/usr/bin/env bash
# cli_failure - the CLI when something dies, tried as a new user would:
#  - an attached console whose domain is destroyed, or crashes, prints the
#    last output (the crash text) and how the domain ended, and exits 1;
#  - after hostd is killed, commands say QEMU runs without its hostd, `up`
#    says the same (not "already up"), `down` stops QEMU at once;
#  - after QEMU is killed, commands say the machine is gone and `up` cleans
#    up and starts afresh;
#  - Ctrl-C (SIGINT) during `up` leaves nothing running;
#  - the Domain-0 messages name `lamina down`, a command that exists.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
kernel=$B_ABS/guest-pv.elf
RUN=$LAMINA_RUN_DIR
printf 'name = "victim"\nkernel = "%s"\ncmdline = "service"\nmemory = 16\n' "$kernel" >"$RUN/victim.cfg"
printf 'name = "crasher"\nkernel = "%s"\ncmdline = "service"\nmemory = 16\n' "$kernel" >"$RUN/crasher.cfg"
qemu_running() { pgrep -f "qemu-system.*$RUN" >/dev/null; }

lam up
expect_ok "up"
lam create "$RUN/victim.cfg";  expect_ok "create victim"
lam create "$RUN/crasher.cfg"; expect_ok "create crasher"
wait_for 30 console_has victim '^service: tick 1' || fail "victim does not run"
wait_for 30 console_has crasher '^service: tick 1' || fail "crasher does not run"

# A console attached while its domain is destroyed.
(timeout 40 "$LAMINA" console victim < <(sleep 30) >"$RUN/c1.out" 2>"$RUN/c1.err"; echo $? >"$RUN/c1.rc") &
sleep 2
lam destroy victim
expect_ok "destroy victim"
wait_for 15 test -s "$RUN/c1.rc"
rc=$(cat "$RUN/c1.rc" 2>/dev/null)
if [ "$rc" = 1 ] && grep -q 'lamina: domain [0-9]* (victim) destroyed' "$RUN/c1.err"; then
    ok "the console of a destroyed domain says so and exits 1"
else
    fail "console of a destroyed domain: exit '$rc', stderr '$(cat "$RUN/c1.err")'"
fi

# A console attached while its domain crashes: the crash text, then the end.
(timeout 40 "$LAMINA" console crasher < <(sleep 30) >"$RUN/c2.out" 2>"$RUN/c2.err"; echo $? >"$RUN/c2.rc") &
sleep 2
lam_in $'crash\n' console crasher
wait_for 15 test -s "$RUN/c2.rc"
rc=$(cat "$RUN/c2.rc" 2>/dev/null)
if [ "$rc" = 1 ] && grep -q 'lamina: domain [0-9]* (crasher) crashed; destroyed' "$RUN/c2.err" &&
   grep -q '^service: crashing' "$RUN/c2.out" && grep -q 'fatal: exception 14' "$RUN/c2.out"; then
    ok "the console of a crashing domain shows its last words and why it ended, exit 1"
else
    fail "console of a crash: exit '$rc', out '$(tail -n 2 "$RUN/c2.out")', err '$(cat "$RUN/c2.err")'"
fi

lam destroy Domain-0
expect_err "destroy Domain-0 names an existing command" 'lamina down'
lam shutdown Domain-0
expect_err "shutdown Domain-0 names an existing command" 'lamina down'
out_has 'use poweroff' && fail "advice names a poweroff command" || ok "no advice names a poweroff command"

# hostd dies.
pkill -f "lamina hostd $RUN" || pkill -f "lamina hostd"
sleep 1
lam list
expect_err "list without hostd says what was found" "QEMU \(pid [0-9]+\) runs, but its lamina hostd is gone"
lam up
expect_err "up without hostd does not claim 'already up'" "still runs, but its lamina hostd is gone"
out_has 'already up' && fail "up says already up" || ok "up does not say 'already up'"
t0=$(date +%s%N)
lam down
expect_ok "down without hostd"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] && ok "down stopped QEMU at once ($ms ms)" || fail "down took $ms ms"
qemu_running && fail "QEMU still runs after down" || ok "no QEMU left"

# QEMU dies.
lam up
expect_ok "up again"
pkill -9 -f "qemu-system.*$RUN"
sleep 1
lam list
expect_err "list after QEMU died" "is not up"
lam up
expect_ok "up after QEMU died"
out_has 'died' && ok "up said it found a dead machine and cleaned it" || fail "up did not say what it found: $OUT"
lam list
expect_ok "the new machine answers"
lam down
expect_ok "down"

# Ctrl-C during up.
"$LAMINA" up >"$RUN/up.out" 2>&1 &
uppid=$!
sleep 0.6
kill -INT $uppid
wait $uppid
rc=$?
sleep 1
if [ "$rc" = 130 ] && ! qemu_running && grep -q 'interrupted' "$RUN/up.out"; then
    ok "Ctrl-C during up stops what it started ($(grep interrupted "$RUN/up.out"))"
else
    fail "Ctrl-C during up: exit $rc, QEMU $(qemu_running && echo runs || echo gone), '$(cat "$RUN/up.out")'"
fi
lam list
expect_err "nothing is up after the interrupted up" "is not up"
finish
