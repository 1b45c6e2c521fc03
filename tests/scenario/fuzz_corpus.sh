#!/usr/bin/env bash
# fuzz_corpus.sh - replays every host fuzzer's committed corpus
# (tests/fuzz/corpus/<name>/, plus the kernels the build just made for the
# ELF loader) once under ASan and UBSan; any crash, sanitizer report or
# broken contract fails.  `make fuzz` is the long run.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

make -s fuzz-build >/dev/null 2>"$SCEN_OUT.build" || { cat "$SCEN_OUT.build"; fail "make fuzz-build failed"; finish; }
extra=$B/fuzz/extra-elf
mkdir -p "$extra"
for k in $B/guest-pv.elf $B/hostile-pv.elf $B/guest-native.elf64; do
    [ -f "$k" ] && strip -o "$extra/$(basename "$k")" "$k" 2>/dev/null
done
n=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c); name=${name#fuzz_}
    inputs=(tests/fuzz/corpus/"$name"/*)
    [ "$name" = elf ] && inputs+=("$extra"/*)
    if $B/fuzz/fuzz_"$name" -runs=0 "${inputs[@]}" >"$SCEN_OUT.$name" 2>&1; then
        ok "fuzz_$name: ${#inputs[@]} corpus inputs replayed"
    else
        grep -a -E 'ERROR|runtime error|==[0-9]+==' "$SCEN_OUT.$name" | head -5
        fail "fuzz_$name crashed on its corpus (log $SCEN_OUT.$name)"
    fi
    n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n fuzz harnesses found"
finish
