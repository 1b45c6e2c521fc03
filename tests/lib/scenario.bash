# scenario.bash - helpers shared by the QEMU scenario tests
# (tests/scenario/lamina_*.sh, hostile_*.sh, crash_isolation.sh): console
# capture, line checks and the hostile kernel's result checks.  Runs on the
# host, sourced from a scenario script whose cwd is the repo root.  The guest
# kernel's workload checks are in tests/lib/workload.bash.
#
# Conventions: a scenario prints what it checks, calls fail() for each
# broken expectation and finish() at the end: exit 0 pass, 1 fail, 77 skip.

# Build products are under $B: make's B=, passed as LAMINA_BUILD (default build).
B=${LAMINA_BUILD:-build}
case $B in /*) B_ABS=$B ;; *) B_ABS=$PWD/$B ;; esac

SCEN_NAME=$(basename "$0" .sh)
SCEN_FAILS=0
SCEN_OUT=$B/test-logs/$SCEN_NAME.console
mkdir -p $B/test-logs

fail() { echo "FAIL: $*"; SCEN_FAILS=$((SCEN_FAILS + 1)); }
ok()   { echo "ok: $*"; }
skip() { echo "$*"; exit 77; }   # run.sh shows this last line

# need_file F...: a missing build product is a failure, not a skip.
need_file() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || { echo "FAIL: $f is missing (run make)"; exit 1; }
    done
}

finish() {
    if [ "$SCEN_FAILS" -eq 0 ]; then
        echo "$SCEN_NAME: pass"
        exit 0
    fi
    echo "$SCEN_NAME: $SCEN_FAILS check(s) failed; console in $SCEN_OUT"
    exit 1
}

# run_lamina ARGS...: tools/lamina-boot ARGS with the console in
# $SCEN_OUT (carriage returns stripped); sets LAMINA_RC.  A run is cut
# after LAMINA_TIMEOUT seconds (default 45: a working run takes a few).
run_lamina() {
    echo "+ tools/lamina-boot $*"
    tools/lamina-boot --timeout "${LAMINA_TIMEOUT:-45}" "$@" </dev/null >"$SCEN_OUT.raw" 2>&1
    LAMINA_RC=$?
    tr -d '\r' <"$SCEN_OUT.raw" >"$SCEN_OUT"
    rm -f "$SCEN_OUT.raw"
    echo "lamina-boot exit status: $LAMINA_RC; $(wc -l <"$SCEN_OUT") console lines"
}

# has_line ERE: a console line matches.
has_line() { grep -a -q -E -- "$1" "$SCEN_OUT"; }
count_lines() { grep -a -c -E -- "$1" "$SCEN_OUT"; }

# interleaved A B: some line with prefix B lies between two lines with
# prefix A (prefixes are literal, e.g. "(d0) ").
interleaved() {
    awk -v a="$1" -v b="$2" '
        index($0, a) == 1 { if (seen_b_after_a) found = 1; seen_a = 1; seen_b_after_a = 0 }
        index($0, b) == 1 { if (seen_a) seen_b_after_a = 1 }
        END { exit found ? 0 : 1 }' "$SCEN_OUT"
}

# show_tail N: the last N console lines, for the log.
show_tail() { echo "--- last ${1:-40} console lines ---"; tail -n "${1:-40}" "$SCEN_OUT"; echo "---"; }

# check_hostile_results PREFIX: every "hostile: <case>:" line PASSes, the
# summary line says 0 failed and its count matches the PASS lines.
# PREFIX is the ERE before "hostile: " (e.g. "^\(d1\) " or "^").
check_hostile_results() {
    local pre=$1 npass nfail nlines summary before=$SCEN_FAILS
    summary=$(grep -a -E "${pre}hostile: [0-9]+ passed, [0-9]+ failed" "$SCEN_OUT" | tail -n 1)
    if [ -z "$summary" ]; then
        fail "no 'hostile: N passed, M failed' summary line"
        return
    fi
    npass=$(echo "$summary" | sed -E 's/.*hostile: ([0-9]+) passed.*/\1/')
    nfail=$(echo "$summary" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')
    nlines=$(count_lines "${pre}hostile: [a-z0-9_]+: rc=.* PASS$")
    grep -a -E "${pre}hostile: .*FAIL" "$SCEN_OUT" | sed 's/^/  /'
    [ "$nfail" = 0 ] || fail "hostile reports $nfail failed case(s)"
    [ "$npass" -ge 20 ] || fail "hostile ran only $npass passing cases (want >= 20)"
    [ "$nlines" = "$npass" ] || fail "summary says $npass passed but $nlines PASS lines were printed"
    [ "$SCEN_FAILS" = "$before" ] && ok "$summary"
}

# check_fault_crash WHO PREFIX CRASH_ERE: the hostile kernel run with
# mode=fault (no trap table, then a page fault): its "touching" line (after
# the ERE PREFIX) appears, it never says it is "still alive after the
# fault", and the console has a line matching CRASH_ERE (the hypervisor
# reporting the domain crashed).  WHO names the domain in the messages.
check_fault_crash() {
    local who=$1 pre=$2 crash=$3
    has_line "${pre}hostile: mode=fault: touching" && ok "mode=fault: $who reached its fault" \
        || fail "mode=fault: $who never reached its fault"
    has_line 'still alive after the fault' && fail "mode=fault: $who survived a fault with no trap table"
    if has_line "$crash"; then
        ok "mode=fault: $(grep -a -m1 -E -- "$crash" "$SCEN_OUT")"
    else
        fail "mode=fault: no line matching '$crash' ($who not reported as crashed)"
    fi
}
