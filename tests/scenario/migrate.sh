#!/usr/bin/env bash
# migrate - `lamina migrate DOM MACHINE` between two Lamina machines on this
# host (this scenario's default machine A and `up --name B`):
#  - a PV domain that counts every 20 ms and dirties 20 pages a tick (each
#    page checked against the stamp it was last given) moves in pre-copy
#    rounds: the count goes on in the new machine with no value lost or
#    repeated, no page lost a write, it is gone from the source and the
#    source gets its memory back; it moves back the same way;
#  - a domain writing a shared disk image every 20 ms moves with its disk:
#    the records go on in order and each reads back from the image;
#  - a domain's forwarded host port moves with it: the same port reaches
#    its httpd on the target, whose page counter goes on;
#  - a target without the memory refuses, and the domain runs on at the
#    source; a machine that is not up, the source itself, Domain-0 and an
#    unknown domain are refused with what to do.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
kernel=$B_ABS/guest-pv.elf
two_machines
[ -S "$BRUN/lamina.sock" ] && ok "machine B's files are in machines/B" || fail "no $BRUN/lamina.sock"

printf 'name = "counter"\nkernel = "%s"\ncmdline = "service tick_ms=20 dirty_pages=20 dirty_ws=512"\nmemory = 16\n' \
    "$kernel" >"$RUN/counter.cfg"
free_a=$(free_kib)
lam create "$RUN/counter.cfg"
expect_ok "create counter (dirtying 20 pages every 20 ms)"
ticks() { sed -n -E 's/^service: tick ([0-9]+)\r?$/\1/p'; }
ticking() { [ "$(console_count counter '^service: tick')" -ge "$1" ]; }
wait_for 30 ticking 20 || fail "counter does not count"

# Refusals first: nothing may move.
lam migrate counter C
expect_err "a machine that is not up" "machine C is not up .*lamina up --name C"
lam migrate counter "$RUN"
expect_err "the source machine itself" "is this machine"
lam migrate Domain-0 B
expect_err "Domain-0" "not created by the toolstack"
lam migrate nosuch B
expect_err "an unknown domain" "nosuch"
lam migrate counter 'x y'
expect_err "a bad machine name" "MACHINE is a name"

console_log counter "$RUN/a.log"
lam migrate counter B
expect_ok "migrate counter B"
echo "$OUT" | grep -E '^Migrated' >&2
rounds=$(echo "$OUT" | sed -n -E 's/.* ([0-9]+) rounds, pages per round ([0-9,]+)$/\1/p')
per=$(echo "$OUT" | sed -n -E 's/.*pages per round ([0-9,]+)$/\1/p')
first_round=${per%%,*}
if [ -n "$rounds" ] && [ "$rounds" -ge 2 ] && [ "$first_round" -ge 4000 ] && [ "${per##*,}" -lt "$first_round" ]; then
    ok "pre-copy: $rounds rounds, pages per round $per (all pages first, a few at the stop)"
else
    fail "rounds/pages per round: $OUT"
fi
wait "$conpid" 2>/dev/null
gone counter && ok "counter is gone from A" || fail "counter still on A"
grep -q 'saved\]' "$RUN/a.log" || fail "A's console did not end: $(tail -n 2 "$RUN/a.log")"
last=$(tr -d '\r' <"$RUN/a.log" | ticks | tail -n 1)
bticking() { onb console --dump counter; [ "$(echo "$OUT" | grep -c '^service: tick')" -ge "$1" ]; }
wait_for 30 bticking 100 || fail "counter does not count on B"
onb console --dump counter
con=$(echo "$OUT" | tr -d '\r')
bfirst=$(echo "$con" | ticks | head -n 1)
[ -n "$last" ] && [ "$bfirst" = $((last + 1)) ] \
    && ok "the count goes on on B: last tick on A $last, first on B $bfirst" \
    || fail "tick on A '$last', first on B '$bfirst'"
gaps=$(echo "$con" | ticks | awk 'NR > 1 && $1 != p + 1 { n++ } { p = $1 } END { print n + 0 }')
[ "$gaps" = 0 ] && ok "no tick lost or repeated on B" || fail "$gaps gaps in B's ticks"
echo "$con" | grep -q 'memory check failed' && fail "a page lost a write: $(echo "$con" | grep -m1 'memory check')" \
    || ok "every dirtied page held its last stamp after the move"
echo "$con" | grep -q '^suspend: resumed in a new domain' && ok "the guest saw a suspend and a resume" \
    || fail "no resume line on B"
wait_for 10 eval '[ "$(free_kib)" = "$free_a" ]' && ok "A has its memory back ($free_a KiB free)" \
    || fail "A's free memory $(free_kib) KiB, was $free_a"

# And back, the same way.
LAMINA_MACHINE=B lam migrate counter "$RUN"
expect_ok "migrate counter back from B to A (by run directory)"
wait_for 30 ticking 20 || fail "counter does not count on A again"
lam console --dump counter
echo "$OUT" | grep -q 'memory check failed' && fail "a page lost a write on the way back" \
    || ok "back on A, counting, every page intact"

# A domain writing a shared disk image moves with it.
truncate -s 8M "$RUN/d.img"
printf 'name = "disklog"\nkernel = "%s"\ncmdline = "disk=log disk_ms=20 service"\nmemory = 16\ndisk = [ "%s,raw,xvda,rw" ]\n' \
    "$kernel" "$RUN/d.img" >"$RUN/disklog.cfg"
lam create "$RUN/disklog.cfg"
expect_ok "create disklog (a disk record every 20 ms)"
logs() { sed -n -E 's/^disk: log ([0-9]+) ok\r?$/\1/p'; }
nlogs() { [ "$(console_count disklog '^disk: log [0-9]+ ok')" -ge "$1" ]; }
record() { [ "$(dd if="$1" bs=512 skip=$((8 + $2 % 1024)) count=1 2>/dev/null | head -c 16 | LC_ALL=C tr '\0' '\n' | head -n 1)" = "LOG $2" ]; }
wait_for 30 nlogs 20 || fail "disklog does not log"
lam migrate disklog B
expect_ok "migrate disklog B (its image shared by both machines)"
bnlogs() { onb console --dump disklog; [ "$(echo "$OUT" | grep -c '^disk: log [0-9]* ok')" -ge "$1" ]; }
wait_for 30 bnlogs 50 || fail "disklog does not log on B"
onb console --dump disklog
dcon=$(echo "$OUT" | tr -d '\r')
dgaps=$(echo "$dcon" | logs | awk 'NR > 1 && $1 != p + 1 { n++ } { p = $1 } END { print n + 0 }')
dlast=$(echo "$dcon" | logs | tail -n 1)
[ "$dgaps" = 0 ] && record "$RUN/d.img" "$dlast" \
    && ok "disk records go on in order on B; record $dlast is in the image" \
    || fail "disk records on B: $dgaps gaps, record $dlast $(record "$RUN/d.img" "$dlast" && echo present || echo missing)"
echo "$dcon" | grep -q -E '^disk: .*(FAIL|mismatch)' && fail "disk errors on B: $(echo "$dcon" | grep -m1 -E 'FAIL|mismatch')"
onb destroy disklog

# The forwarded host port follows the domain.
web_cfg "$RUN/web.cfg"
lam create "$RUN/web.cfg"
expect_ok "create web (forward $PORT:80)"
wait_for 30 page && ok "curl reaches web on A ($(hits) pages served)" || fail "no page from web"
before=$(hits)
lam migrate web B
expect_ok "migrate web B"
echo "$OUT" | grep -q "Host port $PORT now forwards to 10.0.2.43:80 on B" || fail "no forward line: $OUT"
wid=$(echo "$OUT" | sed -n -E 's/.* as domain ([0-9]+): .*/\1/p')
if wait_for 30 page && grep -q "Lamina PV domain $wid<" "$RUN/page" && [ "$(hits)" -gt "$before" ]; then
    ok "after the move the same port reaches web on B (domain $wid), its counter on at $(hits)"
else
    fail "after the move (domain $wid, $before pages before): $(head -n 3 "$RUN/page")"
fi
onb destroy web

# A target without the memory: the domain runs on at the source.
onb info
bfree=$(echo "$OUT" | sed -n -E 's/^free_memory .*\(([0-9]+) KiB\)$/\1/p')
fill=$(( bfree / 1024 - 8 ))
printf 'name = "filler"\nkernel = "%s"\ncmdline = "idle"\nmemory = %d\n' "$kernel" "$fill" >"$RUN/filler.cfg"
onb create "$RUN/filler.cfg"
expect_ok "fill B ($fill of its $((bfree / 1024)) MiB free)"
onb info
bfree2=$(echo "$OUT" | sed -n -E 's/^free_memory .*\(([0-9]+) KiB\)$/\1/p')
lam console --dump counter
n0=$(echo "$OUT" | tr -d '\r' | ticks | tail -n 1)
lam migrate counter B
expect_err "a target out of memory" "the target: .*memory.*(runs on|was resumed) here"
cticking() { lam console --dump counter; [ "$(echo "$OUT" | tr -d '\r' | ticks | tail -n 1)" -ge $((n0 + 50)) ]; }
wait_for 30 cticking && ok "counter counts on at A" || fail "counter stopped at A after the failed move"
lam console --dump counter
echo "$OUT" | grep -q 'memory check failed' && fail "a page lost a write after the failed move"
onb list
echo "$OUT" | grep -q '^counter ' && fail "B kept a counter" || ok "B has no counter"
onb info
bfree3=$(echo "$OUT" | sed -n -E 's/^free_memory .*\(([0-9]+) KiB\)$/\1/p')
[ "$bfree3" = "$bfree2" ] && ok "B lost no frame ($bfree3 KiB free)" || fail "B free $bfree3 KiB, was $bfree2"
onb down
lam down
expect_ok "down"
finish
