#!/usr/bin/env bash
# pv_on_xen.sh - Lamina's PV guest kernel (build/guest-pv.elf) as dom0 on
# Debian's real Xen 4.17 under QEMU TCG (tools/xen-boot).  Xen is the oracle
# for the port: the lines checked are those native_boot.sh checks for the
# native build.  Cases: full workload; workload=quick;
# test=user-fault (a user process killed by a page fault, the kernel
# survives); test=kernel-fault (fatal report, SHUTDOWN_crash).  Each clean
# case must end in SHUTDOWN_poweroff ("Hardware Dom0 halted").
# Exit: 0 pass, 1 fail, 77 skip (Xen 4.17 or QEMU not available).
set -u
cd "$(dirname "$0")/../.." || exit 1
# Build products are under $B: make's B=, passed as LAMINA_BUILD (default build).
B=${LAMINA_BUILD:-build}
. tests/lib/workload.bash

logdir=$B/test-logs
mkdir -p "$logdir"
fail=0

if [ ! -f $B/guest-pv.elf ]; then
    make -s B="$B" $B/guest-pv.elf >/dev/null || { echo "FAIL: build"; exit 1; }
fi

boot() {    # boot LOG ARGS...: sets rc; skips the whole test on 77
    local log=$1
    shift
    tools/xen-boot --timeout 240 $B/guest-pv.elf "$@" 2>&1 | tr -d '\r' >"$log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" = 77 ]; then
        echo "SKIP: $(grep -a 'xen-boot:' "$log" | tail -n 1)"
        exit 77
    fi
}

run_case() {  # run_case NAME STEPS CMDLINE...
    local name=$1 steps=$2
    shift 2
    local log=$logdir/pv_on_xen_$name.log
    boot "$log" "$@"
    echo "== $name: tools/xen-boot exit $rc, log $log"
    if [ "$rc" != 0 ]; then
        echo "FAIL: xen-boot exit status $rc (want 0: SHUTDOWN_poweroff)"
        grep -av '^(XEN)' "$log" | tail -n 20
        fail=1
    fi
    # (preemption there is by the VIRQ_TIMER one-shot timer)
    check_workload "$log" "$steps" pv "$*" || fail=1
    grep -aq 'Hardware Dom0 halted: halting machine' "$log" ||
        { echo "FAIL: Xen did not see SHUTDOWN_poweroff"; fail=1; }
    if grep -aqE 'Dom0 crashed|Panic on CPU' "$log"; then
        echo "FAIL: Xen crash/panic line in output"
        fail=1
    fi
}

run_case full 6
run_case quick 3 workload=quick

run_case user_fault 3 workload=quick test=user-fault
log=$logdir/pv_on_xen_user_fault.log
check_user_fault "$log" || fail=1

# A kernel page fault is fatal: reported, then SHUTDOWN_crash (exit 2).
log=$logdir/pv_on_xen_kernel_fault.log
boot "$log" workload=quick test=kernel-fault
echo "== kernel_fault: tools/xen-boot exit $rc, log $log"
[ "$rc" = 2 ] || { echo "FAIL: kernel fault: xen-boot exit $rc, want 2 (dom0 crashed)"; fail=1; }
check_kernel_fault "$log" || fail=1

if [ "$fail" = 0 ]; then
    echo "PASS: pv_on_xen"
    exit 0
fi
echo "FAIL: pv_on_xen"
exit 1
