#!/usr/bin/env bash
# cli_lifecycle - the `lamina` CLI against a real machine (QEMU TCG,
# hypervisor, dom0 agent): up; create a PV and an unmodified guest from
# examples/*.cfg; list shows them running; pause stops console progress and
# unpause resumes it; console input reaches the guest; reboot restarts the
# guest; shutdown is clean; destroy returns every frame (`lamina info`'s free
# memory back at its starting value, to the KiB); down.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

lam up
expect_ok "lamina up"
out_has "machine up in" || fail "up does not say how long it took: $OUT"
free0=$(free_kib)
[ -n "$free0" ] && ok "free memory at start: $free0 KiB" || fail "lamina info shows no free_memory"

lam create examples/pv.cfg
expect_ok "create examples/pv.cfg"
out_has "Created domain [0-9]+ \(pv-guest\)" || fail "create did not report the new domain: $OUT"
lam create examples/unmodified.cfg
expect_ok "create examples/unmodified.cfg"
out_has "Created domain [0-9]+ \(native-guest\)" || fail "create did not report the new domain: $OUT"

# Both guests print a heartbeat once a second.
has_ticks() { [ "$(console_count "$1" '^service: tick [0-9]+')" -ge "$2" ]; }
wait_for 30 has_ticks pv-guest 2 && ok "pv-guest console shows ticks" || fail "no ticks on pv-guest's console"
wait_for 60 has_ticks native-guest 2 && ok "native-guest console shows ticks" || fail "no ticks on native-guest's console"

lam list
expect_ok "list"
for g in pv-guest native-guest; do
    st=$(list_field $g 5)
    mem=$(list_field $g 3)
    case "$st" in
        *p*|*s*|*c*|*d*|"") fail "$g state is '$st', want running/blocked" ;;
        *) ok "$g listed, state $st" ;;
    esac
    [ "$mem" = 32 ] && ok "$g has 32 MiB" || fail "$g memory is '$mem' MiB, want 32"
done
lam list --json
expect_ok "list --json"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); names={x["name"] for x in d}; assert {"Domain-0","pv-guest","native-guest"} <= names, names' "$OUT" \
    && ok "list --json parses and names all three domains" || fail "list --json: $OUT"

# Pause stops console progress, unpause resumes it.
lam pause pv-guest
expect_ok "pause pv-guest"
[[ "$(list_field pv-guest 5)" == *p* ]] && ok "pv-guest listed as paused" || fail "pv-guest not shown paused"
sleep 1
n1=$(console_count pv-guest '^service: tick')
sleep 3
n2=$(console_count pv-guest '^service: tick')
[ "$n1" = "$n2" ] && ok "no console progress while paused ($n1 ticks)" || fail "ticks went from $n1 to $n2 while paused"
lam unpause pv-guest
expect_ok "unpause pv-guest"
wait_for 20 has_ticks pv-guest $((n2 + 2)) && ok "console progresses again after unpause" || fail "no ticks after unpause"

# Console input reaches the guest (the service echoes each line).
lam_in $'hello-lamina\n' console pv-guest
expect_ok "console with piped input"
got() { [ "$(console_count pv-guest '^service: got hello-lamina$')" -ge 1 ]; }
wait_for 10 got && ok "typed input reached the guest" || fail "the guest never echoed the input"

# Reboot: the guest goes down and comes back (a fresh boot, same name).
lam reboot pv-guest
expect_ok "reboot pv-guest"
rebooted() {
    lam list; out_has '^pv-guest ' || return 1
    [ "$(console_count pv-guest '^service: got hello-lamina$')" = 0 ] &&
        [ "$(console_count pv-guest '^service: started')" -ge 1 ]
}
wait_for 30 rebooted && ok "pv-guest rebooted (fresh console, still listed)" || fail "pv-guest did not come back after reboot"
grep -q "rebooted" "$LAMINA_RUN_DIR/events.log" 2>/dev/null && ok "events.log records the reboot" || fail "no reboot event in events.log"

# Shutdown is clean: the guest powers itself off and is gone.
lam shutdown pv-guest
expect_ok "shutdown pv-guest"
gone() { lam list; ! out_has '^pv-guest '; }
wait_for 30 gone && ok "pv-guest shut down and left the list" || fail "pv-guest still listed after shutdown"
lam dmesg
out_has "shut down: poweroff" && ok "hypervisor log: clean poweroff" || fail "no clean poweroff in dmesg"

# Unmodified guests have no PV shutdown protocol: a clear error.
lam shutdown native-guest
expect_err "shutdown of an unmodified guest" "destroy"

lam destroy native-guest
expect_ok "destroy native-guest"
lam list
out_has '^native-guest ' && fail "native-guest still listed after destroy" || ok "native-guest gone"
free1=$(free_kib)
[ -n "$free0" ] && [ "$free1" = "$free0" ] && ok "free memory back to $free0 KiB" \
    || fail "free memory $free1 KiB after destroy, $free0 KiB at start"

# The bulk channel moves data intact (dom0 checks every byte's CRC on the
# way; the speed is reported, not asserted: see make bench / README).
lam bench-channel --size 16
expect_ok "bench-channel"
out_has "16777216 bytes" && ok "16 MiB over the bulk ring: $OUT" || fail "bench-channel: $OUT"

lam down
expect_ok "lamina down"
lam list
expect_err "list after down" "not up"
finish
