#!/usr/bin/env bash
# pv_on_xen.sh - Lamina's PV guest kernel (build/guest-pv.elf) as dom0 on
# Debian's real Xen 4.17 under QEMU TCG (tools/xen-boot).  Xen is the oracle
# for the port: the lines checked are those native_boot.sh checks for the
# native build.  Cases: full workload; workload=quick bench;
# test=user-fault (a user process killed by a page fault, the kernel
# survives); test=kernel-fault (fatal report, SHUTDOWN_crash).  Each clean
# case must end in SHUTDOWN_poweroff ("Hardware Dom0 halted").
# Exit: 0 pass, 1 fail, 77 skip (Xen 4.17 or QEMU not available).
set -u
cd "$(dirname "$0")/../.." || exit 1

logdir=build/test-logs
mkdir -p "$logdir"
fail=0

if [ ! -f build/guest-pv.elf ]; then
    make -s build/guest-pv.elf >/dev/null || { echo "FAIL: build"; exit 1; }
fi

check() {   # check LOG LINE WHAT: the exact line must occur
    grep -aqxF -- "$2" "$1" || { echo "FAIL: missing line: $2 ($3)"; fail=1; }
}

boot() {    # boot LOG ARGS...: sets rc; skips the whole test on 77
    local log=$1
    shift
    tools/xen-boot --timeout 240 build/guest-pv.elf "$@" 2>&1 | tr -d '\r' >"$log"
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
    if ! grep -aq '^Lamina guest kernel (arch pv) cmdline "'"$*"'"$' "$log"; then
        echo "FAIL: banner with arch and cmdline missing"
        fail=1
    fi
    for t in 1 2 3; do
        for s in $(seq 1 "$steps"); do
            n=$(grep -ac "^thread $t: step $s sum=[0-9][0-9]*\$" "$log")
            [ "$n" = 1 ] || { echo "FAIL: thread $t step $s printed $n times"; fail=1; }
        done
        n=$(grep -ac "^thread $t: step " "$log")
        [ "$n" = "$steps" ] || { echo "FAIL: thread $t printed $n steps, want $steps"; fail=1; }
        check "$log" "thread $t: done" "worker end"
        check "$log" "init: thread $t exited with code $t" "join"
    done
    # Preemption by the VIRQ_TIMER one-shot timer: threads 1 and 2 never
    # block or yield, yet one prints, the other prints, the first again.
    if ! awk '
        /^thread [12]: step / {
            id = $2; sub(":", "", id)
            if (last != "" && id != last) { switches[last]++ }
            if (id in switches && switches[id] > 0 && id != last) { ok = 1 }
            last = id
        }
        END { exit ok ? 0 : 1 }' "$log"; then
        echo "FAIL: threads 1 and 2 never interleaved (no preemption seen)"
        fail=1
    fi
    check "$log" "user: hello from user mode" "SYS_write"
    check "$log" "user: getpid = 4" "SYS_getpid"
    check "$log" "user: primes below 1000 = 168" "user computation"
    check "$log" "user: yielded 3 times" "SYS_sched_yield"
    check "$log" "user: sum 1..100000 = 5000050000" "user computation"
    check "$log" "user: write(bad pointer) = -14" "SYS_write pointer check (-EFAULT)"
    check "$log" "user: exiting with code 42" "user"
    check "$log" "init: user process exited with code 42" "SYS_exit code reaches the joiner"
    check "$log" "init: workload done" "end of init"
    grep -aq 'Hardware Dom0 halted: halting machine' "$log" ||
        { echo "FAIL: Xen did not see SHUTDOWN_poweroff"; fail=1; }
    if grep -aqE '^(panic|fatal):|^pv: fatal|Dom0 crashed|Panic on CPU' "$log"; then
        echo "FAIL: panic/fatal/crash line in output"
        fail=1
    fi
}

run_case full 6
run_case quick 3 workload=quick bench

run_case user_fault 3 workload=quick test=user-fault
log=$logdir/pv_on_xen_user_fault.log
check "$log" "user: reading address 0x10" "faulting process ran"
check "$log" "user: pid 5 killed: page fault at 10 (error 4)" "core_page_fault, user"
check "$log" "init: faulting process exited with code -14" "killed process reaped"

# A kernel page fault is fatal: reported, then SHUTDOWN_crash (exit 2).
log=$logdir/pv_on_xen_kernel_fault.log
boot "$log" workload=quick test=kernel-fault
echo "== kernel_fault: tools/xen-boot exit $rc, log $log"
[ "$rc" = 2 ] || { echo "FAIL: kernel fault: xen-boot exit $rc, want 2 (dom0 crashed)"; fail=1; }
grep -aq '^fatal: exception 14 error 2 at rip ffffffff8[0-9a-f]* in kernel mode' "$log" ||
    { echo "FAIL: kernel fault not reported"; fail=1; }
if grep -aq 'workload done\|survived' "$log"; then
    echo "FAIL: kernel went on after a fatal fault"
    fail=1
fi

if [ "$fail" = 0 ]; then
    echo "PASS: pv_on_xen"
    exit 0
fi
echo "FAIL: pv_on_xen"
exit 1
