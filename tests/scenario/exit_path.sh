#!/usr/bin/env bash
# exit_path.sh - issue 10's attacks on the hypervisor's entry and exit paths,
# from the hostile PV kernel as domU 1 (command line `exit-cases`) next to
# the PV guest kernel as dom0: a call gate in the reset-state LDT aimed at
# the hypervisor's CS, MMUEXT_SET_LDT with a gate, non-canonical %rsp and
# %rip in return frames, HYPERVISOR_iret with ring-0 CS and IOPL 3, guest
# data breakpoints on hypervisor-copied buffers, and an execute breakpoint
# on code dom0 runs.  Every case PASSes, the hypervisor does
# not panic, dom0 finishes its workload and never takes a #DB.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

need_file build/lamina.elf build/guest-pv.elf build/hostile-pv.elf
# An execute breakpoint on an address dom0 runs all the time (its guest
# scheduler, its time and event code).  Both kernels are linked at the same
# base, so choose one that falls, in the hostile kernel, inside code it
# never runs (its own hits would be its own #DBs, not dom0's).
hostile_fn_at() { # ADDR: the hostile function containing ADDR
    nm -n build/hostile-pv.elf | awk -v a="$1" '$2 ~ /[tT]/ { if ($1 > a) exit; f = $3 } END { print f }'
}
target=""
for sym in schedule pv_time_system_ns pv_evtchn_do_upcall; do
    addr=$(nm build/guest-pv.elf | awk -v s="$sym" '$3 == s { print $1 }')
    [ -n "$addr" ] || continue
    case $(hostile_fn_at "$addr") in
        pv_cons_ring_*|xenbus_*|pv_evtchn_bind_*|pv_mmu_*|pv_pin_table|pv_unpin_table)
            target=0x$addr; echo "breakpoint on dom0's $sym ($target, in hostile's unused $(hostile_fn_at "$addr"))"; break ;;
    esac
done
[ -n "$target" ] || fail "no dom0 address found that the hostile kernel never executes"
run_lamina --dom0 build/guest-pv.elf --domu build/hostile-pv.elf \
    --domu-args "exit-cases dr_target=$target"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
check_hostile_results '^\(d1\) '
for c in ldt_call_gate_to_hypervisor_cs set_ldt_with_call_gate set_ldt_valid \
         syscall_with_noncanonical_rsp iret_to_noncanonical_rip \
         iret_with_ring0_cs_lands_in_ring3 iret_with_iopl3_lands_with_iopl0 \
         console_io_from_watched_buffer own_access_to_watched_gets_db \
         breakpoint_on_dom0_address_survived; do
    has_line "^\\(d1\\) hostile: $c: .* PASS$" || fail "case $c did not PASS"
done
grep -a -E '^\(d1\) hostile: ' "$SCEN_OUT" | grep -v -E 'hostile: [a-z0-9_]+: rc=' | sed 's/^/  /'
has_line '^\(d0\) init: workload done$' && ok "dom0 finished its workload" \
    || fail "dom0 did not print 'workload done'"
has_line 'domain 0 crashed' && fail "dom0 crashed"
has_line 'domain 1 crashed' && fail "the hostile domU was crashed instead of getting its exceptions"
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 40
finish
