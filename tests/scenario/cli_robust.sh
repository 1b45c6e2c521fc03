#!/usr/bin/env bash
# cli_robust - hostile domUs do not stall dom0 or the other domains
# (issue 4): up; create a normal PV guest (`service`), one that floods its
# console (`service flood`) and one that feeds xenstore garbage, huge and
# unread messages (`service xs-garbage`, guest-port/core/hostile_svc.c);
# for ~10 s the normal guest keeps ticking (>= 5 ticks) and echoing,
# `lamina list` and `lamina info` answer within LAM_MAX_S seconds each;
# the flooder's console history is readable, the garbage guest finished
# its steps, dom0 is still listed; the normal guest still shuts down
# cleanly through xenstore; destroy the hostile two; free memory back to
# its start value; down.
#
# ROBUST_BREAK=normal leaves the normal guest paused: the test must fail
# (a check of the test itself).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

LAM_MAX_S=${LAM_MAX_S:-10}
KERNEL=$B_ABS/guest-pv.elf

# mkcfg NAME CMDLINE: a PV guest's cfg in the run directory; prints its path.
mkcfg() {
    local f=$LAMINA_RUN_DIR/$1.cfg
    printf 'name = "%s"\ntype = "pv"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\nvcpus = 1\n' \
        "$1" "$KERNEL" "$2" >"$f"
    echo "$f"
}

# timed_lam ARGS...: lam, and ELAPSED_MS = its wall time.
timed_lam() {
    local t0 t1
    t0=$(date +%s%N)
    LAM_TIMEOUT=$((LAM_MAX_S + 5)) lam "$@"
    t1=$(date +%s%N)
    ELAPSED_MS=$(((t1 - t0) / 1000000))
}

ticks() { console_count "$1" '^service: tick [0-9]+'; }
has_ticks() { [ "$(ticks "$1")" -ge "$2" ]; }

lam up
expect_ok "lamina up"
free0=$(free_kib)
[ -n "$free0" ] && ok "free memory at start: $free0 KiB" || fail "lamina info shows no free memory"

for g in "robust-normal:service" "robust-flood:service flood" "robust-xsg:service xs-garbage"; do
    name=${g%%:*}
    lam create "$(mkcfg "$name" "${g#*:}")"
    expect_ok "create $name (${g#*:})"
done
wait_for 30 has_ticks robust-normal 1 && ok "robust-normal ticks" || fail "robust-normal never ticked"
[ "${ROBUST_BREAK:-}" = normal ] && { lam pause robust-normal; echo "ROBUST_BREAK: robust-normal paused"; }

# ~10 s under attack: the normal guest keeps ticking, the CLI keeps answering.
n0=$(ticks robust-normal)
t_end=$(($(date +%s) + 10))
slow=0 rounds=0
while [ "$(date +%s)" -lt "$t_end" ]; do
    for cmd in list info; do
        timed_lam $cmd
        rounds=$((rounds + 1))
        if [ "$RC" != 0 ] || [ "$ELAPSED_MS" -gt $((LAM_MAX_S * 1000)) ]; then
            fail "lamina $cmd took $ELAPSED_MS ms (exit $RC), limit ${LAM_MAX_S} s"
            slow=$((slow + 1))
        else
            echo "lamina $cmd: $ELAPSED_MS ms"
        fi
    done
    sleep 1
done
[ "$slow" = 0 ] && ok "lamina list/info answered $rounds times, each within ${LAM_MAX_S} s"
n1=$(ticks robust-normal)
[ "$((n1 - n0))" -ge 5 ] && ok "robust-normal ticked $((n1 - n0)) times in ~10 s" \
    || fail "robust-normal ticked $((n1 - n0)) times in ~10 s (want >= 5)"

lam_in $'still-here\n' console robust-normal
expect_ok "console input to robust-normal"
echoed() { [ "$(console_count robust-normal '^service: got still-here$')" -ge 1 ]; }
wait_for 10 echoed && ok "robust-normal echoed input under attack" || fail "robust-normal never echoed the input"

nf=$(console_count robust-flood '^flood: line [0-9]+ x+$')
[ "$nf" -ge 10 ] && ok "flooder's console readable: $nf flood lines in its history" \
    || fail "flooder's console shows $nf flood lines"
# The flooder keeps going and its console keeps moving (its ticks are soon
# pushed out of the bounded history, so the line numbers are the measure).
last_flood() { lam console --dump robust-flood; echo "$OUT" | sed -n -E 's/^flood: line ([0-9]+) x+$/\1/p' | tail -n 1; }
f1=$(last_flood); sleep 2; f2=$(last_flood)
[ -n "$f1" ] && [ -n "$f2" ] && [ "$f2" -gt "$f1" ] && ok "flood goes on: line $f1, then $f2 two seconds later" \
    || fail "flood console not moving: last line '$f1', then '$f2'"

xs_done() { [ "$(console_count robust-xsg '^xs-garbage: done$')" -ge 1 ]; }
wait_for 30 xs_done && ok "xs-garbage guest finished its steps" || fail "no 'xs-garbage: done' from robust-xsg"
lam console --dump robust-xsg
echo "$OUT" | grep -E '^xs-garbage:' | sed 's/^/  /'
xsg_line() { echo "$OUT" | grep -E "^xs-garbage: $1" >/dev/null; }
xsg_line 'unknown type: wrote 20 of 20 ' && ok "xenstored took the unknown-type message" \
    || fail "unknown-type message not consumed"
xsg_line '4 KiB write: wrote 4112 of 4112 ' && ok "xenstored took the 4 KiB write" \
    || fail "4 KiB write not consumed"
if xsg_line '[0-9]+ unread requests: wrote ([0-9]+) of ([0-9]+) bytes, ring error 0$'; then
    w=$(echo "$OUT" | sed -n -E 's/^xs-garbage: [0-9]+ unread requests: wrote ([0-9]+) of ([0-9]+) .*/\1 \2/p')
    [ "${w% *}" -lt "${w#* }" ] && ok "xenstored pushed back on unread replies (took ${w% *} of ${w#* } bytes)" \
        || fail "xenstored took all unread requests (${w}): no push-back"
else
    fail "no result of the unread-requests step"
fi
xsg_line 'huge len: wrote 16 of 16 bytes, ring error [1-9]' && ok "xenstored marked the ring broken on a huge len" \
    || fail "huge-len message not consumed or ring not marked broken"
has_ticks robust-xsg 1 && ok "the xs-garbage guest still ticks" || fail "the xs-garbage guest never ticked"

timed_lam list
expect_ok "list after the attack (${ELAPSED_MS} ms)"
out_has '^Domain-0 ' && ok "dom0 listed" || fail "Domain-0 missing from list: $OUT"

# xenstore still serves the others: the normal guest shuts down through it.
lam shutdown robust-normal
expect_ok "shutdown robust-normal"
gone() { lam list; ! out_has "^$1 "; }
wait_for 30 gone robust-normal && ok "robust-normal shut down through xenstore" \
    || { fail "robust-normal still listed after shutdown"; lam destroy robust-normal; }
for g in robust-flood robust-xsg; do
    lam destroy $g
    expect_ok "destroy $g"
    gone $g && ok "$g gone" || fail "$g still listed after destroy"
done
free1=$(free_kib)
[ -n "$free0" ] && [ "$free1" = "$free0" ] && ok "free memory back to $free0 KiB" \
    || fail "free memory $free1 KiB after destroy, $free0 KiB at start"

lam down
expect_ok "lamina down"
finish
