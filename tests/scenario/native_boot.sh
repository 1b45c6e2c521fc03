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
# a crash exit status), and with words no service registered (one line
# naming each and listing the registered services; the workload runs).
# Exit: 0 pass, 1 fail, 77 skip (no qemu-system-x86_64).
set -u
cd "$(dirname "$0")/../.." || exit 1
# Build products are under $B: make's B=, passed as LAMINA_BUILD (default build).
B=${LAMINA_BUILD:-build}
. tests/lib/workload.bash

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "SKIP: qemu-system-x86_64 not installed"
    exit 77
fi
if [ ! -f $B/guest-native.elf ]; then
    make -s B="$B" $B/guest-native.elf >/dev/null || { echo "FAIL: build"; exit 1; }
fi

logdir=$B/test-logs
mkdir -p "$logdir"
fail=0

run_case() {  # run_case NAME STEPS CMDLINE...
    local name=$1 steps=$2
    shift 2
    local log=$logdir/native_boot_$name.log
    LAMINA_TIMEOUT=120 tools/native-boot $B/guest-native.elf "$@" 2>&1 | tr -d '\r' >"$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: tools/native-boot exit $rc, log $log"
    if [ "$rc" != 0 ]; then
        echo "FAIL: native-boot exit status $rc (want 0: clean power-off)"
        tail -n 20 "$log"
        fail=1
    fi
    check_workload "$log" "$steps" native "$*" || fail=1
}

run_case full 6
run_case quick 3 workload=quick

# A user process that dies of a page fault must not take the kernel down.
run_case user_fault 3 workload=quick test=user-fault
log=$logdir/native_boot_user_fault.log
check_user_fault "$log" || fail=1

# Services are composed by registration (guest_service.h): a request no
# registration names gets one line listing the registered words, and init
# carries on.  The native kernel links no toolstack, so `agent` is unknown
# here, while its own services (bench, service, test=ud...) are listed.
run_case unknown_request 3 workload=quick no-such-service agent
log=$logdir/native_boot_unknown_request.log
for w in no-such-service agent; do
    line=$(grep -F "init: unknown request \"$w\" on the command line; this kernel has:" "$log")
    if [ -z "$line" ]; then
        echo "FAIL: no unknown-request line for $w"; fail=1
    else
        for svc in bench service test=ud test=bad-pte test=user-fault; do
            case " ${line#*has:} " in
            *" $svc "*) ;;
            *) echo "FAIL: unknown-request line does not list $svc: $line"; fail=1 ;;
            esac
        done
        case " ${line#*has:} " in
        *" agent "*|*" test=build "*) echo "FAIL: native kernel lists a toolstack service: $line"; fail=1 ;;
        esac
    fi
done
if grep -q "unknown request \"workload=quick\"" "$log"; then
    echo "FAIL: a KEY=VALUE parameter was reported as an unknown request"; fail=1
fi

# A kernel page fault is fatal: reported, then a crash power-off (exit 1).
log=$logdir/native_boot_kernel_fault.log
LAMINA_TIMEOUT=60 tools/native-boot $B/guest-native.elf workload=quick test=kernel-fault 2>&1 |
    tr -d '\r' >"$log"
rc=${PIPESTATUS[0]}
echo "== kernel_fault: tools/native-boot exit $rc, log $log"
[ "$rc" = 1 ] || { echo "FAIL: kernel fault: exit $rc, want 1 (crash)"; fail=1; }
check_kernel_fault "$log" || fail=1

if [ "$fail" = 0 ]; then
    echo "PASS: native_boot"
    exit 0
fi
echo "FAIL: native_boot"
exit 1
