#!/usr/bin/env bash
# layout.sh - hypervisor/'s layout rules hold (tools/check-layout): no source
# at the top level, other folders reach a folder only through its interface
# header, no include circle between folders.  Then proves the checker can
# fail: a copy of the tree with a top-level .c and a header that includes
# another folder's private header must give two violations.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

if tools/check-layout >"$SCEN_OUT.check" 2>&1; then
    ok "tools/check-layout: $(tail -1 "$SCEN_OUT.check")"
else
    cat "$SCEN_OUT.check"
    fail "hypervisor/ breaks its layout rules"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tools"
cp tools/check-layout "$tmp/tools/"
cp -r hypervisor "$tmp/"
echo 'int stray;' >"$tmp/hypervisor/stray.c"
printf '#include "arch/x86/cpu.h"\n' >>"$tmp/hypervisor/mm/mm.h"
out=$("$tmp/tools/check-layout" 2>&1)
if [ $? -ne 0 ] && grep -q 'stray.c: source file at the top level' <<<"$out" &&
   grep -q 'mm/mm.h:.*includes arch/x86/cpu.h' <<<"$out"; then
    ok "a top-level source and a private cross-folder include are both reported"
else
    echo "$out"
    fail "check-layout missed a planted violation"
fi
finish
