#!/usr/bin/env bash
# cli_xl - xl's commands and habits a user brings: a real xl.cfg with keys
# Lamina does not act on (one warning listing them all), create with
# KEY=VALUE overrides, list DOMAIN and list -l, domid, domname, uptime,
# vcpu-list, sched-credit's explanation, shutdown -w and reboot -w, and
# `help CMD` / `CMD --help` for every command; an unmodified guest's
# heartbeat stays out of the hypervisor log.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
kernel=$B_ABS/guest-pv.elf
RUN=$LAMINA_RUN_DIR
cat >"$RUN/xl.cfg" <<EOF
# as xl would take it
name = "xlguest"
uuid = "6e5c2b8a-5a41-4a55-9a3c-0b5b8e3d7f11"
kernel = "$kernel"
memory = 16
maxmem = 32
vcpus = 1
cpus = "0-3"
on_poweroff = "destroy"
on_reboot = "restart"
vfb = [ "vnc=1" ]
extra = "service"
EOF

for c in $("$LAMINA" help 2>&1 | awk '/^  [a-z]/ { print $1 }'); do
    [ "$c" = hostd ] && continue
    lam help "$c"
    [ "$RC" = 0 ] && out_has "usage: lamina $c" || fail "help $c (exit $RC)"
    lam "$c" --help
    [ "$RC" = 0 ] && out_has "usage: lamina $c" || fail "$c --help (exit $RC)"
done
ok "help CMD and CMD --help answer for every command"

lam up
expect_ok "up"
lam create "$RUN/xl.cfg"
expect_ok "create from a real xl.cfg"
out_has 'warning: Lamina does not act on these xl keys: uuid \(line 3\), maxmem \(line 6\), cpus \(line 8\), vfb \(line 11\)' \
    && ok "one warning lists every key Lamina does not act on" || fail "warning: $OUT"
lam create "$RUN/xl.cfg" 'name="xl2"' memory=24 'extra="service tick_ms=100"'
expect_ok "create with KEY=VALUE overrides"
lam list xl2
echo "$OUT" | grep -qE '^xl2 +[0-9]+ +24 ' && ok "the overrides took effect: $(echo "$OUT" | tail -n 1)" \
    || fail "list xl2: $OUT"
lam create "$RUN/xl.cfg" memroy=24
expect_err "a mistyped override" "command line argument 1: unknown key 'memroy'; did you mean 'memory'"

lam list xlguest Domain-0
[ "$(echo "$OUT" | grep -c -E '^(xlguest|Domain-0) ')" = 2 ] && ! out_has '^xl2 ' \
    && ok "list DOMAIN... shows just those" || fail "list xlguest Domain-0: $OUT"
lam list nosuch
expect_err "list of an unknown domain" "no domain 'nosuch'"
lam list -l xl2
out_has '"name": "xl2"' && out_has '"uptime_s": ' && ok "list -l gives everything, as JSON" || fail "list -l: $OUT"
lam domid xl2
id=$OUT
[[ "$id" =~ ^[0-9]+$ ]] && ok "domid xl2 = $id" || fail "domid: $OUT"
lam domname "$id"
[ "$OUT" = xl2 ] && ok "domname $id = xl2" || fail "domname: $OUT"
lam domname xl2
expect_err "domname wants an id" "not a domain id"
sleep 2
lam uptime xl2
echo "$OUT" | grep -qE '^xl2 +[0-9]+ +0:00:0[1-9]' && ok "uptime: $(echo "$OUT" | tail -n 1)" || fail "uptime: $OUT"
lam vcpu-list
[ "$(echo "$OUT" | grep -c -E '^(Domain-0|xlguest|xl2) +[0-9]+ +0 +0 ')" = 3 ] \
    && ok "vcpu-list: one vCPU per domain on CPU 0" || fail "vcpu-list: $OUT"
lam sched-credit
expect_err "sched-credit explains" "no weights or caps"

lam reboot -w xl2
expect_ok "reboot -w"
lam domid xl2
[ "$OUT" != "$id" ] && [[ "$OUT" =~ ^[0-9]+$ ]] && ok "reboot -w returned with xl2 running as $OUT" \
    || fail "after reboot -w: domid '$OUT' (was $id)"
lam shutdown -w xl2
expect_ok "shutdown -w"
lam list xl2
expect_err "shutdown -w returned after the domain was gone" "no domain 'xl2'"
lam destroy xlguest
expect_ok "destroy xlguest"

# An unmodified guest's heartbeat goes to its console, not dom0's log.
lam create examples/unmodified.cfg
expect_ok "create an unmodified guest"
beats() { [ "$(console_count native-guest '^service: tick')" -ge 3 ]; }
wait_for 30 beats && ok "its heartbeat is on its console" || fail "no heartbeat on its console"
lam dmesg
out_has '\(d[0-9]+\) service: tick' && fail "the heartbeat floods the hypervisor log" \
    || ok "the hypervisor log has none of its heartbeat"
lam destroy native-guest
lam down
expect_ok "down"
finish
