#!/usr/bin/env bash
# crash_restore - on_crash = "restore": a crashed domain comes back from its
# last checkpoint (`lamina save -c`, or the file it was restored from).
#  - with no checkpoint it is destroyed, and the message says how to take one;
#  - after a checkpoint, a crash brings back the domain as it was at the
#    checkpoint: its count goes on from the checkpoint's tick (later ticks
#    are rolled back), in a new domain, and a second crash of the restored
#    domain restores the same file again;
#  - a checkpoint file that is gone gets hostd's restore error in its log
#    and starts nothing;
#  - a domain that crashes within seconds of every restore is given up
#    after 5 tries instead of being restored for ever.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
RUN=$LAMINA_RUN_DIR
printf 'name = "cr"\nkernel = "%s"\ncmdline = "service tick_ms=20"\nmemory = 16\non_crash = "restore"\n' \
    "$B_ABS/guest-pv.elf" >"$RUN/cr.cfg"
ticks() { sed -n -E 's/^service: tick ([0-9]+)$/\1/p'; }
ticking() { [ "$(console_count cr '^service: tick')" -ge "$1" ]; }
listed() { lam list; echo "$OUT" | grep -q "^cr "; }
crash() { lam_in $'crash\n' console cr; }
hostd_has() { grep -q -- "$1" "$RUN/hostd.log" 2>/dev/null; }

lam up
expect_ok "up"
lam create "$RUN/cr.cfg"
expect_ok "create cr (on_crash = \"restore\")"
wait_for 30 ticking 5 || fail "cr does not count"
crash
expect_err "crash with no checkpoint" "crashed; no checkpoint to restore \(take one with lamina save -c\); destroyed"
wait_for 10 gone cr && ok "cr is gone" || fail "cr still listed"

lam create "$RUN/cr.cfg"
expect_ok "create cr again"
wait_for 30 ticking 20 || fail "cr does not count"
lam save -c cr "$RUN/ck.sav"
expect_ok "checkpoint cr"
wait_for 30 ticking 60 || fail "cr stopped counting after its checkpoint"
lam console --dump cr
old=$(echo "$OUT" | tr -d '\r')
ck=$(echo "$old" | sed -n '/^suspend: suspending/q;p' | ticks | tail -n 1)
later=$(echo "$old" | ticks | tail -n 1)
oldid=$(list_field cr 2)
crash
expect_err "crash after the checkpoint" "crashed; restoring its last checkpoint from $RUN/ck.sav"
wait_for 30 listed && wait_for 30 ticking 5 && ok "cr restored and counting (was domain $oldid, now $(list_field cr 2))" \
    || fail "cr not back after its crash"
lam console --dump cr
new=$(echo "$OUT" | tr -d '\r')
first=$(echo "$new" | ticks | head -n 1)
echo "$new" | grep -q '^suspend: resumed in a new domain' && ok "the guest resumed from the checkpoint" \
    || fail "no resume line on the restored console"
if [ -n "$ck" ] && [ "$first" = $((ck + 1)) ] && [ "$later" -gt "$ck" ]; then
    ok "the count goes on from the checkpoint: tick $ck at the checkpoint, $later at the crash, $first after it"
else
    fail "ticks: checkpoint '$ck', crash '$later', after the restore '$first'"
fi
[ "$(list_field cr 2)" != "$oldid" ] && ok "a new domain id" || fail "same domain id $oldid"

# The restored domain's checkpoint is the file it came from.
wait_for 30 ticking 300 || true     # past the quick-crash window (5 s)
crash
expect_err "crash the restored domain" "restoring its last checkpoint from $RUN/ck.sav"
wait_for 30 listed && wait_for 30 ticking 5 || fail "cr not back after its second crash"
lam console --dump cr
first2=$(echo "$OUT" | tr -d '\r' | ticks | head -n 1)
[ "$first2" = "$first" ] && ok "restored from the same checkpoint again (tick $first2)" \
    || fail "second restore starts at tick '$first2', the first at '$first'"

# Quick crashes: restored within seconds every time, given up at the fifth.
n=0
for i in 1 2 3 4 5 6; do
    wait_for 30 listed && wait_for 10 ticking 1 || break
    crash
    n=$((n + 1))
    echo "$OUT" | grep -q "destroyed instead of restored" && break
done
echo "$OUT" | grep -q "crashed 5 times within seconds of its restore; destroyed instead of restored" &&
    ok "given up after $n quick crashes" || fail "quick crashes: after $n, '$OUT'"
sleep 2
gone cr && ok "nothing restored after giving up" || fail "cr still listed after giving up"

# A checkpoint file that is gone: hostd's restore says so, nothing starts.
lam create "$RUN/cr.cfg"
expect_ok "create cr a third time"
wait_for 30 ticking 5 || fail "cr does not count"
lam save -c cr "$RUN/ck2.sav"
expect_ok "checkpoint cr into ck2.sav"
rm -f "$RUN/ck2.sav"
wait_for 30 ticking 300 || true
crash
expect_err "crash with its checkpoint deleted" "restoring its last checkpoint from $RUN/ck2.sav"
wait_for 20 hostd_has "restore: cannot read $RUN/ck2.sav" && ok "hostd's log: $(grep -m1 "restore: cannot read" "$RUN/hostd.log")" \
    || fail "hostd's log lacks the restore error"
sleep 2
gone cr && ok "nothing started from a missing checkpoint" || fail "cr listed without its checkpoint"
lam down
expect_ok "down"
finish
