#!/usr/bin/env bash
# gdb_attach.sh - `make gdb` works: tools/lamina-gdb boots Lamina stopped
# under QEMU's gdb stub, gdb attaches with both symbol files, a hardware
# breakpoint on the hypervisor's start_hv and one on the guest kernel's
# kernel_main are hit by name, and a backtrace names the function.
# Exit: 0 pass, 1 fail, 77 skip (no gdb or qemu).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

command -v gdb >/dev/null 2>&1 || skip "SKIP: gdb not installed"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "SKIP: qemu-system-x86_64 not installed"
need_file $B/lamina.elf $B/lamina.elf64 $B/guest-pv.elf

cmds=$B/test-logs/gdb_attach.cmds
mkdir -p $B/test-logs
cat >"$cmds" <<'GDB'
hbreak start_hv
continue
bt 1
hbreak kernel_main
continue
bt 1
kill
GDB
timeout 120 tools/lamina-gdb --port $((20000 + RANDOM % 20000)) --batch "$cmds" >"$SCEN_OUT" 2>&1
echo "lamina-gdb exit status $?"
cat "$SCEN_OUT" | sed 's/^/    /' | head -30
has_line "Breakpoint 1, start_hv" || fail "the hypervisor breakpoint (start_hv) was not hit by name"
has_line "Breakpoint 2, kernel_main" || fail "the guest breakpoint (kernel_main) was not hit by name"
has_line "^#0 +.*kernel_main" || fail "no backtrace naming kernel_main"
finish
