# workload.bash - checks of the guest kernel's console output (the workload
# of guest-port/core/main.c and the user program guest-port/core/user_prog.S),
# shared by the scenario tests that boot it: natively (native_boot.sh), as
# dom0 on Xen (pv_on_xen.sh) and on Lamina (lamina_boot.sh,
# lamina_syscalls.sh).  Runs on the host, sourced by a scenario script.
#
# Every function takes the console log and a PREFIX: the literal text that
# starts each of the kernel's lines ("" for a native or Xen dom0 console,
# "(d0) " / "(d1) " on Lamina).  Only lines starting with PREFIX are looked
# at, with PREFIX removed.  A function prints one "FAIL: ..." line per broken
# expectation and returns 1 if there was any, 0 (silently) otherwise; the
# caller records the failure in its own way (fail=1, or fail "...").

# workload_lines LOG PREFIX: the lines of LOG that start with PREFIX, PREFIX
# removed (all lines when PREFIX is empty).
workload_lines() {
    awk -v p="$2" 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$1"
}

# _wl_need_lines TEXT LINE|WHAT...: each LINE must be a whole line of TEXT
# (fixed string); prints "FAIL: missing line: LINE (WHAT)" otherwise.
_wl_need_lines() {
    local text=$1 item rc=0
    shift
    for item in "$@"; do
        grep -aqxF -- "${item%%|*}" <<<"$text" ||
            { echo "FAIL: missing line: ${WL_PREFIX}${item%%|*} (${item#*|})"; rc=1; }
    done
    return $rc
}

# The user process's lines, "LINE|what it shows" (user_prog.S; pid 4 is the
# first process after init's three threads).
WORKLOAD_USER_LINES=(
    'user: hello from user mode|SYS_write'
    'user: getpid = 4|SYS_getpid'
    'user: primes below 1000 = 168|user computation'
    'user: yielded 3 times|SYS_sched_yield'
    'user: sum 1..100000 = 5000050000|user computation'
    'user: write(bad pointer) = -14|SYS_write pointer check (-EFAULT)'
    'user: exiting with code 42|user'
    'init: user process exited with code 42|SYS_exit code reaches the joiner'
)

# check_user_process LOG [PREFIX]: every line of WORKLOAD_USER_LINES occurs.
check_user_process() {
    local WL_PREFIX=${2:-}
    _wl_need_lines "$(workload_lines "$1" "$WL_PREFIX")" "${WORKLOAD_USER_LINES[@]}"
}

# check_workload LOG STEPS ARCH [CMDLINE] [PREFIX]: a complete workload run:
# the banner 'Lamina guest kernel (arch ARCH) cmdline "CMDLINE"'; for threads
# 1-3 each "thread T: step S sum=N" line exactly once for S = 1..STEPS and no
# other step line, "thread T: done" and "init: thread T exited with code T";
# preemption (threads 1 and 2 never block or yield, yet one prints, the other
# prints, then the first again); the user process's lines; "init: workload
# done"; no "panic:", "fatal:" or "pv: fatal" line.
check_workload() {
    local log=$1 steps=$2 arch=$3 cmdline=${4:-} WL_PREFIX=${5:-}
    local text t s n rc=0
    text=$(workload_lines "$log" "$WL_PREFIX")
    grep -aqxF -- "Lamina guest kernel (arch $arch) cmdline \"$cmdline\"" <<<"$text" ||
        { echo "FAIL: banner with arch and cmdline missing"; rc=1; }
    for t in 1 2 3; do
        for s in $(seq 1 "$steps"); do
            n=$(grep -ac "^thread $t: step $s sum=[0-9][0-9]*\$" <<<"$text")
            [ "$n" = 1 ] || { echo "FAIL: ${WL_PREFIX}thread $t step $s printed $n times"; rc=1; }
        done
        n=$(grep -ac "^thread $t: step " <<<"$text")
        [ "$n" = "$steps" ] || { echo "FAIL: ${WL_PREFIX}thread $t printed $n steps, want $steps"; rc=1; }
        _wl_need_lines "$text" "thread $t: done|worker end" \
            "init: thread $t exited with code $t|join" || rc=1
    done
    # Preemption: some thread of 1 and 2 prints, the other prints, then the
    # first prints again.
    if ! awk '
        /^thread [12]: step / {
            id = $2; sub(":", "", id)
            if (last != "" && id != last) { switches[last]++ }
            if (id in switches && switches[id] > 0 && id != last) { ok = 1 }
            last = id
        }
        END { exit ok ? 0 : 1 }' <<<"$text"; then
        echo "FAIL: ${WL_PREFIX}threads 1 and 2 never interleaved (no preemption seen)"
        rc=1
    fi
    _wl_need_lines "$text" "${WORKLOAD_USER_LINES[@]}" "init: workload done|end of init" || rc=1
    if grep -aqE '^(panic|fatal):|^pv: fatal' <<<"$text"; then
        echo "FAIL: ${WL_PREFIX}panic/fatal line in output"
        rc=1
    fi
    return $rc
}

# check_user_fault LOG [PREFIX]: test=user-fault: the faulting user process
# ran, was killed by its page fault and reaped by init.
check_user_fault() {
    local WL_PREFIX=${2:-}
    _wl_need_lines "$(workload_lines "$1" "$WL_PREFIX")" \
        "user: reading address 0x10|faulting process ran" \
        "user: pid 5 killed: page fault at 10 (error 4)|core_page_fault, user" \
        "init: faulting process exited with code -14|killed process reaped"
}

# check_kernel_fault LOG [PREFIX]: test=kernel-fault: the fatal report of a
# kernel-mode page fault, and nothing after it ("workload done", "survived").
check_kernel_fault() {
    local text rc=0
    text=$(workload_lines "$1" "${2:-}")
    grep -aq '^fatal: exception 14 error 2 at rip ffffffff8[0-9a-f]* in kernel mode' <<<"$text" ||
        { echo "FAIL: kernel fault not reported"; rc=1; }
    if grep -aq 'workload done\|survived' <<<"$text"; then
        echo "FAIL: kernel went on after a fatal fault"
        rc=1
    fi
    return $rc
}
