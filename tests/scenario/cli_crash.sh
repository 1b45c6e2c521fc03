#!/usr/bin/env bash
# cli_crash - on_crash policies through the CLI: a guest that crashes
# (console input `crash` makes the service mode fault in its kernel) is
# restarted with on_crash = "restart" (same name, a fresh boot, an event in
# events.log), kept as crashed with "preserve" (state c, destroyable), and
# gone with "destroy"; other domains are untouched and every frame comes back.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
kernel=$B_ABS/guest-pv.elf
for p in restart preserve destroy; do
    printf 'name = "c-%s"\nkernel = "%s"\ncmdline = "service"\nmemory = 24\non_crash = "%s"\n' \
        "$p" "$kernel" "$p" >"$LAMINA_RUN_DIR/$p.cfg"
done

lam up
expect_ok "up"
free0=$(free_kib)
lam create examples/pv.cfg;                 expect_ok "create bystander pv-guest"
for p in restart preserve destroy; do
    lam create "$LAMINA_RUN_DIR/$p.cfg";   expect_ok "create c-$p"
done
started() { [ "$(console_count "$1" '^service: started')" -ge 1 ]; }
for g in c-restart c-preserve c-destroy; do
    wait_for 30 started $g || fail "$g never started"
done

for p in restart preserve destroy; do
    lam_in $'crash\n' console c-$p
    if [ $p = preserve ]; then
        expect_ok "crash c-$p through its console (it stays, preserved)"
    else
        # The domain ends while attached: the console says how, exit 1.
        expect_err "crash c-$p through its console" "lamina: domain [0-9]+ \\(c-$p\\) crashed"
    fi
done

# A restarted domain is a new one (its id may be reused) with a fresh console.
restarted() {
    grep -q "c-restart) crashed; restarted as" "$LAMINA_RUN_DIR/events.log" 2>/dev/null &&
        started c-restart && [ "$(console_count c-restart '^service: crashing')" = 0 ]
}
wait_for 30 restarted && ok "c-restart restarted: $(grep c-restart "$LAMINA_RUN_DIR/events.log")" \
    || fail "c-restart was not restarted"
st=$(list_field c-restart 5)
case "$st" in *c*|"") fail "c-restart state '$st' after restart" ;; *) ok "c-restart running again ($st)" ;; esac
crashed() { [[ "$(list_field c-preserve 5)" == *c* ]]; }
wait_for 30 crashed && ok "c-preserve kept in state $(list_field c-preserve 5)" || fail "c-preserve not shown crashed"
gone() { lam list; ! out_has '^c-destroy '; }
wait_for 30 gone && ok "c-destroy gone after its crash" || fail "c-destroy still listed"
lam dmesg
out_has "shut down: crash|crashed" && ok "hypervisor log records the crash" || fail "no crash in dmesg"

ticks() { [ "$(console_count pv-guest '^service: tick')" -ge "$1" ]; }
n=$(console_count pv-guest '^service: tick')
wait_for 20 ticks $((n + 2)) && ok "bystander pv-guest still ticking" || fail "pv-guest stopped"

for g in c-restart c-preserve pv-guest; do
    lam destroy $g; expect_ok "destroy $g"
done
[ "$(free_kib)" = "$free0" ] && ok "free memory back to $free0 KiB" || fail "free memory not back to $free0 KiB"
lam down
expect_ok "down"
finish
