#!/usr/bin/env bash
# tests/run.sh - Lamina's test runner.  Runs on the host, from any directory.
#
#   tests/run.sh            run every build/unit/test_* and tests/scenario/*.sh
#   tests/run.sh NAME...    run only those (test_pte, lamina_boot, lamina_boot.sh)
#   tests/run.sh --list     list the tests
#
# Each test runs with a timeout (TEST_TIMEOUT seconds, default 180) and its
# output goes to build/test-logs/<name>.log.  Exit status of a test: 0 pass,
# 77 skip, anything else fail.  The last line is "N passed, M failed" (plus
# ", K skipped" when some were skipped); the exit status is 1 if any failed.
set -u
cd "$(dirname "$0")/.." || exit 1

# Build products are under $B: make's B=, passed as LAMINA_BUILD (default
# build); the scenarios get it the same way.
export LAMINA_BUILD=${LAMINA_BUILD:-build}
B=$LAMINA_BUILD

logdir=$B/test-logs
per_test_timeout=${TEST_TIMEOUT:-180}

# all_tests: one "kind path name" line per test, unit tests first.
all_tests() {
    local f
    for f in $B/unit/test_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        echo "unit $f $(basename "$f")"
    done
    for f in $(ls tests/scenario/*.sh 2>/dev/null | sort); do
        echo "scenario $f $(basename "$f" .sh)"
    done
}

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
if [ "${1:-}" = "--list" ]; then
    all_tests | awk '{print $3 " (" $1 ")"}'
    exit 0
fi

selected=$(all_tests)
if [ $# -gt 0 ]; then
    want=""
    for n in "$@"; do
        n=$(basename "$n"); n=${n%.sh}
        line=$(printf '%s\n' "$selected" | awk -v n="$n" '$3 == n')
        if [ -z "$line" ]; then
            echo "no such test: $n (tests/run.sh --list)" >&2
            exit 1
        fi
        want+="$line"$'\n'
    done
    selected=$want
fi

mkdir -p "$logdir"
pass=0 fail=0 skip=0
while read -r kind path name; do
    [ -n "${kind:-}" ] || continue
    log=$logdir/$name.log
    start=$(date +%s)
    if [ "$kind" = unit ]; then
        case $path in /*) exe=$path ;; *) exe=./$path ;; esac
        timeout -k 5 "$per_test_timeout" "$exe" >"$log" 2>&1 </dev/null
    else
        timeout -k 5 "$per_test_timeout" bash "$path" >"$log" 2>&1 </dev/null
    fi
    rc=$?
    secs=$(( $(date +%s) - start ))
    case "$rc" in
        0) echo "PASS $name (${secs}s)"; pass=$((pass + 1)) ;;
        77)
            reason=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
            echo "SKIP $name: ${reason:-no reason given}"; skip=$((skip + 1)) ;;
        *)
            [ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "(timed out after ${per_test_timeout}s)" >>"$log"
            echo "FAIL $name (see $log)"
            tail -n 30 "$log" | sed 's/^/    | /'
            fail=$((fail + 1)) ;;
    esac
done <<<"$selected"

summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary+=", $skip skipped"
echo "$summary"
[ "$fail" -eq 0 ]
