#!/usr/bin/env bash
# hostile_on_xen.sh - the hostile PV kernel as dom0 on Debian's real Xen 4.17
# under QEMU TCG (tools/xen-boot): Xen is the oracle, so every case must
# PASS there and dom0 must power off cleanly; with mode=fault (no trap table,
# then a page fault) Xen must crash the domain.
# Skips only when Xen's hypervisor could not be obtained (make deps).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

XEN=$B/xen/xen-4.17.elf
[ -f "$XEN" ] || skip "Xen 4.17 is not available ($XEN missing: make deps could not download xen-hypervisor-4.17-amd64)"
need_file $B/hostile-pv.elf tools/xen-boot

# xen_run ARGS...: the hostile kernel as dom0 with ARGS; sets XEN_RC
# (tools/xen-boot: 0 clean poweroff, 2 dom0 crashed, 77 no Xen).
xen_run() {
    echo "+ tools/xen-boot $B/hostile-pv.elf $*"
    tools/xen-boot --timeout 120 $B/hostile-pv.elf "$@" </dev/null 2>&1 | tr -d '\r' >"$SCEN_OUT"
    XEN_RC=${PIPESTATUS[0]}
    echo "xen-boot exit status: $XEN_RC"
    [ "$XEN_RC" = 77 ] && skip "tools/xen-boot could not run Xen: $(tail -n 1 "$SCEN_OUT")"
}

xen_run
[ "$XEN_RC" = 0 ] || fail "xen-boot exit status $XEN_RC, want 0 (dom0 powered off cleanly)"
has_line '^hostile: start, initial domain' || fail "the hostile kernel did not start as dom0"
check_hostile_results "^"
grep -a '^hostile: ' "$SCEN_OUT"
[ "$SCEN_FAILS" = 0 ] || show_tail 40

SCEN_OUT=$B/test-logs/$SCEN_NAME.fault.console
xen_run mode=fault
[ "$XEN_RC" = 2 ] || fail "mode=fault: xen-boot exit status $XEN_RC, want 2 (dom0 crashed)"
check_fault_crash dom0 '^' 'Dom0 crashed'
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
