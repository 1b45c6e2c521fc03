#!/usr/bin/env bash
# hypfuzz.sh - the in-guest hypercall fuzzer against Lamina (issue 10).
# dom0 is the hostile kernel in mode=heartbeat (a 10 ms timer loop that
# measures its wake-up gaps, ends the run when domU 1 is gone), domU 1 the
# hostile kernel in mode=fuzz (HYPFUZZ_CALLS hypercalls, default 3,000,000,
# seed HYPFUZZ_SEED, default fixed), domU 2 the hostile kernel in
# mode=canary (4 MiB of seeded pattern re-checked every 50 ms).  Prints
#   fuzz: <N> hypercalls, <P> hypervisor panics, <C> canary mismatches, <S> dom0 stalls over 100 ms
# and passes only if N >= 1000000, P = C = S = 0 and the fuzzer was alive
# to print its own summary.  10^6 calls take about 8 s under TCG here; the
# whole run is well under the default 180 s test timeout.
# Reproduce a failure: HYPFUZZ_SEED=<seed> tests/run.sh hypfuzz, then
# bisect with the fuzzer's calls= and trace_from= (tests/hostile/README.md).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

seed=${HYPFUZZ_SEED:-20261205}
calls=${HYPFUZZ_CALLS:-3000000}

need_file $B/lamina.elf $B/hostile-pv.elf
echo "seed $seed, $calls calls (override with HYPFUZZ_SEED / HYPFUZZ_CALLS)"
LAMINA_TIMEOUT=${LAMINA_TIMEOUT:-150} run_lamina \
    --hv-args "console=com1 dom0_mem=32M domu_mem=32M" \
    --dom0 $B/hostile-pv.elf --dom0-args "mode=heartbeat watch=1 limit=140" \
    --domu $B/hostile-pv.elf --domu-args "mode=fuzz seed=$seed calls=$calls" \
    --domu $B/hostile-pv.elf --domu-args "mode=canary seed=$seed mib=4"

summary=$(grep -a -E '^\(d1\) fuzz: [0-9]+ hypercalls$' "$SCEN_OUT" | tail -n 1)
N=$(echo "$summary" | sed -n -E 's/.*fuzz: ([0-9]+) hypercalls$/\1/p')
N=${N:-0}
P=$(grep -a -c -i -E '^\(XEN\) .*panic' "$SCEN_OUT")
C=$(grep -a -c -E '^\(d2\) canary: MISMATCH' "$SCEN_OUT")
hb=$(grep -a -E '^\(d0\) heartbeat: run: ' "$SCEN_OUT" | tail -n 1)
S=$(echo "$hb" | sed -n -E 's/.* ([0-9]+) gaps over 100 ms$/\1/p')

grep -a -E '^\(d1\) fuzz: (seed|[0-9]+ foreign|progress [0-9]*00000 |done)' "$SCEN_OUT" | sed 's/^/  /'
[ -n "$hb" ] && echo "  $hb"
grep -a -E '^\(XEN\) .*(panic|PANIC|crashed)|^\(d1\) fuzz: .*(changed arena|cannot clear)' "$SCEN_OUT" | head -n 20 | sed 's/^/  /'

echo "fuzz: $N hypercalls, $P hypervisor panics, $C canary mismatches, ${S:-?} dom0 stalls over 100 ms"

[ -n "$summary" ] || fail "the fuzzer domU did not live to print its summary (seed $seed)"
[ "$N" -ge 1000000 ] || fail "only $N hypercalls (want >= 1000000)"
[ "$P" = 0 ] || fail "the hypervisor panicked (seed $seed)"
[ "$C" = 0 ] || fail "$C canary mismatches: another domain's memory changed (seed $seed)"
[ -n "$S" ] || fail "dom0's heartbeat printed no final line"
[ "${S:-1}" = 0 ] || fail "dom0 stalled over 100 ms $S time(s) (seed $seed)"
has_line '^\(d2\) canary: ok [0-9]+' || fail "the canary domU never reported"
has_line '^\(XEN\) domain 2 crashed' && fail "the canary domU crashed"
has_line '^\(d1\) fuzz: .*changed arena page' && fail "a hypercall changed the fuzzer's arena mapping (seed $seed)"
[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
