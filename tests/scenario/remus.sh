#!/usr/bin/env bash
# remus - `lamina remus DOM MACHINE`: continuous checkpoints to a backup
# machine (this scenario's machine A, and `up --name B`):
#  - a PV domain that counts every 20 ms and dirties 20 pages a tick is
#    checkpointed every 100 ms; Ctrl-C stops the replication: it counts on
#    at A, B drops its copy and gets its memory back;
#  - replicated again, A's QEMU is killed: B resumes the domain from the
#    last acknowledged checkpoint and it counts on there.  No tick that A
#    let out (held output is released only once B has acknowledged the
#    checkpoint that covers it) is repeated or undone on B;
#  - Domain-0, an unknown domain, a machine that is not up and a bad
#    interval are refused.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
kernel=$B_ABS/guest-pv.elf
two_machines
printf 'name = "counter"\nkernel = "%s"\ncmdline = "service tick_ms=20 dirty_pages=20 dirty_ws=512"\nmemory = 16\n' \
    "$kernel" >"$RUN/counter.cfg"
lam create "$RUN/counter.cfg"
expect_ok "create counter"
ticks() { sed -n -E 's/^service: tick ([0-9]+)\r?$/\1/p'; }
ticking() { [ "$(console_count counter '^service: tick')" -ge "$1" ]; }
wait_for 30 ticking 20 || fail "counter does not count"

lam remus Domain-0 B
expect_err "Domain-0" "not created by the toolstack"
lam remus nosuch B
expect_err "an unknown domain" "nosuch"
lam remus counter C
expect_err "a machine that is not up" "machine C is not up"
lam remus --interval-ms 5 counter B
expect_err "an interval under 20 ms" "interval-ms"

# 1. Replicate, then stop: the domain stays at A, B lets go.
free_b=$(LAMINA_MACHINE=B free_kib)
"$LAMINA" remus counter B >"$RUN/remus1.out" 2>&1 &
rpid=$!
wait_for 60 grep -q '^Replicating domain counter' "$RUN/remus1.out" ||
    fail "remus did not start: $(cat "$RUN/remus1.out")"
sleep 3
kill -INT "$rpid"
wait "$rpid"
rc=$?
cat "$RUN/remus1.out" >&2
[ "$rc" = 0 ] && grep -q 'stopped; it runs on here' "$RUN/remus1.out" &&
    ok "Ctrl-C stops the replication" || fail "stop: rc $rc: $(cat "$RUN/remus1.out")"
n=$(sed -n -E 's/^([0-9]+) checkpoints sent, ([0-9]+) acknowledged.*/\1/p' "$RUN/remus1.out")
[ -n "$n" ] && [ "$n" -ge 10 ] && ok "$n checkpoints in about 3 s" || fail "checkpoints: $n"
onb list
echo "$OUT" | grep -q counter && fail "B kept a copy: $OUT" || ok "B dropped its copy"
wait_for 10 eval '[ "$(LAMINA_MACHINE=B free_kib)" = "$free_b" ]' &&
    ok "B has its memory back" || fail "B's free memory: $(LAMINA_MACHINE=B free_kib), was $free_b"
c0=$(console_count counter '^service: tick')
wait_for 10 ticking $((c0 + 20)) && ok "counter counts on at A" || fail "counter stopped at A"

# 2. Replicate, kill A: B takes over.
console_log counter "$RUN/a.log"
"$LAMINA" remus counter B >"$RUN/remus2.out" 2>&1 &
rpid=$!
wait_for 60 grep -q '^Replicating domain counter' "$RUN/remus2.out" ||
    fail "remus did not start: $(cat "$RUN/remus2.out")"
sleep 3
kill -9 "$(cat "$RUN/qemu.pid")"
wait "$rpid"
rc=$?
cat "$RUN/remus2.out" >&2
[ "$rc" = 0 ] && grep -q '^The primary is gone: domain counter resumed on B' "$RUN/remus2.out" &&
    ok "B resumed the domain when A died" || fail "failover: rc $rc: $(cat "$RUN/remus2.out")"
bticking() { onb console --dump counter; [ "$(echo "$OUT" | grep -c '^service: tick')" -ge "$1" ]; }
wait_for 30 bticking 20 && ok "counter counts on B" || fail "counter does not count on B"
wait "$conpid" 2>/dev/null
last=$(tr -d '\r' <"$RUN/a.log" | ticks | tail -n 1)
onb console --dump counter
first=$(echo "$OUT" | tr -d '\r' | ticks | head -n 1)
echo "last tick A let out: $last; first on B: $first" >&2
if [ -n "$last" ] && [ -n "$first" ] && [ "$first" -gt "$last" ]; then
    ok "no tick A showed is repeated on B (A: $last, B from $first)"
else
    fail "A showed tick $last, B starts at $first: output A let out was undone"
fi
echo "$OUT" | grep -q 'memory check failed' && fail "a page lost a write on B" ||
    ok "no page lost a write"
finish
