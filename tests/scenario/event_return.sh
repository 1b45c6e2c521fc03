#!/usr/bin/env bash
# event_return.sh - an event a PV domain sends itself is delivered on the
# return of the hypercall that made it pending, with events enabled, and on
# the return of pv_irq_enable()'s null hypercall when they were masked
# (guest-port/pv/event_selftest.c, `test=event-self`).  Guards the
# hypervisor's hypercall fast path (entry.S), whose fast return must see
# exit_work.event in both cases; then the same on Xen 4.17 when installed,
# which must agree.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash

need_file $B/lamina.elf $B/guest-pv.elf
run_lamina --dom0 $B/guest-pv.elf --dom0-args "workload=quick test=event-self"
[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0"
for c in unmasked masked; do
    if has_line "^\\(d0\\) event-self: $c: .*: PASS"; then
        ok "$(grep -a -E "event-self: $c:" "$SCEN_OUT" | head -1)"
    else
        fail "event-self $c: $(grep -a -E "event-self: $c:" "$SCEN_OUT" | head -1)"
    fi
done
has_line "event-self: done" || fail "no 'event-self: done' line"
if [ -f $B/xen/xen-4.17.elf ]; then
    xen_out=$B/test-logs/event_return.xen.console
    tools/xen-boot --timeout 90 $B/guest-pv.elf "workload=quick test=event-self" \
        </dev/null 2>&1 | tr -d '\r' >"$xen_out"
    for c in unmasked masked; do
        if grep -a -q -E "event-self: $c: .*: PASS" "$xen_out"; then
            ok "Xen 4.17 agrees: $(grep -a -E "event-self: $c:" "$xen_out" | head -1)"
        else
            fail "Xen 4.17, event-self $c: $(grep -a -E "event-self: $c:" "$xen_out" | head -1) (see $xen_out)"
        fi
    done
else
    echo "note: $B/xen/xen-4.17.elf missing (make deps): the Xen comparison is not run"
fi
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
