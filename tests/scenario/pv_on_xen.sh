#!/usr/bin/env bash
# pv_on_xen.sh - Lamina's PV guest kernel (build/guest-pv.elf) as dom0 on
# Debian's real Xen 4.17 under QEMU TCG.  Xen is the oracle for the port:
# the workload must produce the same lines as on the native build (banner,
# threads preempted and interleaved, a user process's system calls, clean
# SHUTDOWN_poweroff).  Exit 0 pass, 1 fail, 77 skip (no Xen or QEMU).
cd "$(dirname "$0")/../.." || exit 1

name=pv_on_xen
logdir=build/test-logs
mkdir -p "$logdir"
out=$logdir/$name.console
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

[ -f build/guest-pv.elf ] || { echo "FAIL: build/guest-pv.elf missing (run make)"; exit 1; }

tools/xen-boot --timeout 240 --log "$out" build/guest-pv.elf >/dev/null 2>&1
rc=$?
if [ "$rc" = 77 ]; then
    echo "SKIP: Xen 4.17 or QEMU not available (tools/xen-boot exit 77)"
    exit 77
fi
[ -f "$out" ] || { echo "FAIL: no console log"; exit 1; }
tr -d '\r' <"$out" >"$out.tmp" && mv "$out.tmp" "$out"

has() { grep -aqE -- "$1" "$out"; }
need() { if has "$1"; then ok "$2"; else fail "$2 (no line matching /$1/)"; fi; }

[ "$rc" = 0 ] && ok "xen-boot: dom0 powered off cleanly" || fail "xen-boot exit status $rc (0 = clean poweroff)"
need '^Lamina guest kernel \(arch pv\)' "banner"
for t in 1 2 3; do
    need "^thread $t: step 6 sum=[0-9]+\$" "thread $t ran all steps"
    need "^thread $t: done\$" "thread $t done"
    need "^init: thread $t exited with code $t\$" "thread $t exit code"
done
# Interleaving: in the order of the step lines, the thread id must change
# more often than a run-to-completion order (2 changes for 3 threads).
changes=$(grep -aE '^thread [0-9]+: step' "$out" | awk '{print $2}' |
          awk 'NR > 1 && $0 != prev {n++} {prev = $0} END {print n + 0}')
[ "$changes" -gt 2 ] && ok "threads interleaved ($changes switches between step lines)" \
                     || fail "threads not interleaved ($changes switches)"
pre=$(grep -aoE 'init: elapsed [0-9]+ ms, [0-9]+ preemptions' "$out" | awk '{print $5}')
[ -n "$pre" ] && [ "$pre" -gt 0 ] && ok "timer preemption ($pre preemptions)" \
                                  || fail "no timer preemption reported (${pre:-none})"
need '^user: hello from user mode$' "user mode write()"
need '^user: getpid = [0-9]+$' "user getpid()"
need '^user: primes below 1000 = 168$' "user computation"
need '^user: yielded 3 times$' "user sched_yield()"
need '^user: sum 1\.\.100000 = 5000050000$' "user loop result"
need '^user: write\(bad pointer\) = -14$' "write() with a bad pointer returns -EFAULT"
need '^init: user process exited with code 42$' "user exit code"
need '^init: workload done$' "workload done"
need 'Hardware Dom0 halted: halting machine' "SHUTDOWN_poweroff reached Xen"
has 'Dom0 crashed|Panic on CPU|pv: fatal' && fail "crash/fatal line in the log"

if [ "$fails" -gt 0 ]; then
    echo "--- last 40 console lines ($out) ---"
    tail -n 40 "$out"
    echo "$name: FAIL ($fails)"
    exit 1
fi
echo "$name: PASS"
exit 0
