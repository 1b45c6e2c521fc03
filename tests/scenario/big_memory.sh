#!/usr/bin/env bash
# big_memory.sh - Lamina uses all the memory QEMU gives it and a domain sees
# all it was given (issue 11): an 8 GiB machine reports at least 7900 MiB
# free after boot (RAM above 4 GiB is used, the PCI hole is not counted),
# and a PV dom0 of 900 MiB - more than the 512 MiB the guest's direct map
# once held - sees 230400 frames, has nearly all of them free for its own
# allocator (so they are mapped), runs its workload and powers off cleanly.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/workload.bash

need_file $B/lamina.elf $B/guest-pv.elf
LAMINA_TIMEOUT=120 run_lamina --mem 8192 --hv-args "console=com1 dom0_mem=900M" \
    --dom0 $B/guest-pv.elf --dom0-args "workload=quick"

[ "$LAMINA_RC" = 0 ] || fail "lamina-boot exit status $LAMINA_RC, want 0 (clean dom0 power-off)"
mib=$(sed -n 's/^(XEN) memory: [0-9]* free frames (\([0-9]*\) MiB)$/\1/p' "$SCEN_OUT" | head -n 1)
if [ -n "$mib" ] && [ "$mib" -ge 7900 ]; then
    ok "the hypervisor has $mib MiB free of 8192"
else
    fail "free memory after boot '${mib:-none}' MiB, want >= 7900 of 8192"
fi
line=$(grep -a -m1 -E '^\(d0\) init: [0-9]+ frames, [0-9]+ free$' "$SCEN_OUT")
frames=$(echo "$line" | sed -n 's/^(d0) init: \([0-9]*\) frames.*/\1/p')
free=$(echo "$line" | sed -n 's/.* \([0-9]*\) free$/\1/p')
[ "$frames" = 230400 ] && ok "dom0 sees 230400 frames (900 MiB)" ||
    fail "dom0 sees '${frames:-none}' frames, want 230400"
if [ -n "$free" ] && [ "$free" -gt 225000 ]; then
    ok "$free of them free for dom0's allocator (beyond 512 MiB = 131072)"
else
    fail "dom0 has '${free:-none}' frames free, want > 225000"
fi
has_line '^\(XEN\) .*[Pp]anic' && fail "the hypervisor panicked"
[ "$SCEN_FAILS" = 0 ] || show_tail 30
finish
