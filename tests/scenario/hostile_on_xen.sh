#!/usr/bin/env bash
# hostile_on_xen.sh - the hostile PV kernel as dom0 on Debian's real Xen 4.17
# under QEMU TCG: Xen is the oracle, so every case must PASS there; and with
# mode=fault (no trap table, then a page fault) Xen must crash the domain.
# Skips only when Xen's hypervisor could not be obtained (make deps).
cd "$(dirname "$0")/../.." || exit 1
. tests/hostile/scenario-lib.bash

XEN=build/xen/xen-4.17.elf
[ -f "$XEN" ] || skip "Xen 4.17 is not available ($XEN missing: make deps could not download xen-hypervisor-4.17-amd64)"
need_file build/hostile-pv.elf

# xen_run ARGS: boot the hostile kernel as dom0 with ARGS; dom0 reboots the
# machine at the end and -no-reboot makes QEMU exit.
xen_run() {
    echo "+ xen 4.17 dom0=build/hostile-pv.elf args=\"$1\""
    timeout -k 5 120 qemu-system-x86_64 -M pc -accel tcg -cpu max -m 512 -nographic -no-reboot \
        -kernel "$XEN" \
        -append "console=com1 com1=115200,8n1 dom0_mem=256M,max:256M dom0_max_vcpus=1 bootscrub=0" \
        -initrd "build/hostile-pv.elf $1" </dev/null 2>&1 | tr -d '\r' >"$SCEN_OUT"
    XEN_RC=${PIPESTATUS[0]}
    echo "qemu exit status: $XEN_RC"
}

xen_run "reboot"
[ "$XEN_RC" = 0 ] || fail "QEMU/Xen exit status $XEN_RC (timeout or crash)"
has_line '^hostile: start, initial domain' || fail "the hostile kernel did not start as dom0"
check_hostile_results "^"
has_line 'Hardware Dom0 shutdown: rebooting' || fail "dom0 did not shut down cleanly"
grep -a '^hostile: ' "$SCEN_OUT"
[ "$SCEN_FAILS" = 0 ] || show_tail 40

SCEN_OUT=build/test-logs/$SCEN_NAME.fault.console
xen_run "mode=fault"
has_line '^hostile: mode=fault: touching' || fail "mode=fault: the kernel did not reach its fault"
has_line 'still alive after the fault' && fail "mode=fault: the domain survived a fault with no trap table"
has_line 'Dom0 crashed' || fail "mode=fault: Xen did not report the domain as crashed"
has_line 'Dom0 crashed' && ok "mode=fault: Xen crashed the domain: $(grep -a -m1 'Dom0 crashed' "$SCEN_OUT")"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
