#!/bin/bash
# native_boot.sh - scenario: the native guest kernel boots directly on QEMU
# (TCG), runs its workload and powers off cleanly.
#
# Checks: the banner; every worker thread's step lines; preemption (two
# worker threads that never block or yield - threads 1 and 2 - have their
# lines interleaved: one prints, the other prints, the first prints again
# before it is done); the user process's system-call results; the join
# results; "init: workload done"; exit status 0 from tools/native-boot
# (clean isa-debug-exit power-off).  Then the same with workload=quick
# (3 steps per thread), with test=user-fault (a user process killed by a
# page fault, the kernel survives) and test=kernel-fault (fatal report and
# a crash exit status).
# Exit: 0 pass, 1 fail, 77 skip (no qemu-system-x86_64).
set -u
cd "$(dirname "$0")/../.." || exit 1

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "SKIP: qemu-system-x86_64 not installed"
    exit 77
fi
if [ ! -f build/guest-native.elf ]; then
    make -s build/guest-native.elf >/dev/null || { echo "FAIL: build"; exit 1; }
fi

logdir=build/test-logs
mkdir -p "$logdir"
fail=0

check() {   # check LOG PATTERN WHAT : fixed-string line must occur
    if grep -qxF -- "$2" "$1"; then
        :
    else
        echo "FAIL: missing line: $2 ($3)"
        fail=1
    fi
}

run_case() {  # run_case NAME STEPS CMDLINE...
    local name=$1 steps=$2
    shift 2
    local log=$logdir/native_boot_$name.log
    LAMINA_TIMEOUT=120 tools/native-boot build/guest-native.elf "$@" 2>&1 | tr -d '\r' >"$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: tools/native-boot exit $rc, log $log"
    if [ "$rc" != 0 ]; then
        echo "FAIL: native-boot exit status $rc (want 0: clean power-off)"
        tail -n 20 "$log"
        fail=1
    fi
    if ! grep -q '^Lamina guest kernel (arch native) cmdline "'"$*"'"$' "$log"; then
        echo "FAIL: banner with arch and cmdline missing"
        fail=1
    fi
    for t in 1 2 3; do
        for s in $(seq 1 "$steps"); do
            n=$(grep -c "^thread $t: step $s sum=[0-9][0-9]*\$" "$log")
            [ "$n" = 1 ] || { echo "FAIL: thread $t step $s printed $n times"; fail=1; }
        done
        n=$(grep -c "^thread $t: step " "$log")
        [ "$n" = "$steps" ] || { echo "FAIL: thread $t printed $n steps, want $steps"; fail=1; }
        check "$log" "thread $t: done" "worker end"
        check "$log" "init: thread $t exited with code $t" "join"
    done
    # Preemption: among threads 1 and 2 (pure computation), some thread
    # prints, the other prints, then the first prints again before "done".
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
    if grep -qE '^(panic|fatal):' "$log"; then
        echo "FAIL: panic/fatal line in output"
        fail=1
    fi
}

run_case full 6
run_case quick 3 workload=quick bench

# A user process that dies of a page fault must not take the kernel down.
run_case user_fault 3 workload=quick test=user-fault
log=$logdir/native_boot_user_fault.log
check "$log" "user: reading address 0x10" "faulting process ran"
check "$log" "user: pid 5 killed: page fault at 10 (error 4)" "core_page_fault, user"
check "$log" "init: faulting process exited with code -14" "killed process reaped"

# A kernel page fault is fatal: reported, then a crash power-off (exit 1).
log=$logdir/native_boot_kernel_fault.log
LAMINA_TIMEOUT=60 tools/native-boot build/guest-native.elf workload=quick test=kernel-fault 2>&1 |
    tr -d '\r' >"$log"
rc=${PIPESTATUS[0]}
echo "== kernel_fault: tools/native-boot exit $rc, log $log"
[ "$rc" = 1 ] || { echo "FAIL: kernel fault: exit $rc, want 1 (crash)"; fail=1; }
grep -q '^fatal: exception 14 error 2 at rip ffffffff8[0-9a-f]* in kernel mode' "$log" ||
    { echo "FAIL: kernel fault not reported"; fail=1; }
if grep -q 'workload done\|survived' "$log"; then
    echo "FAIL: kernel went on after a fatal fault"
    fail=1
fi

if [ "$fail" = 0 ]; then
    echo "PASS: native_boot"
    exit 0
fi
echo "FAIL: native_boot"
exit 1
