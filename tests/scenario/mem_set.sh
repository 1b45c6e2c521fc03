#!/usr/bin/env bash
# mem_set - `lamina mem-set` (xl mem-set): the guest's balloon driver
# (guest-port/pv/balloon.c) acts on memory/target:
#  - a 32 MiB domain set to 12 MiB gives 5120 frames back with
#    XENMEM_decrease_reservation: `lamina list` says 12, the machine's free
#    memory grows by 20 MiB, and the domain keeps counting;
#  - set to 32 MiB again it takes them back (XENMEM_populate_physmap) and
#    the machine's free memory is what it was;
#  - a target below what the kernel needs stops where the kernel keeps the
#    rest, and says so;
#  - a ballooned domain saves and restores at its ballooned size (its given
#    back pfns are XTAB in the file) and can grow again afterwards;
#  - targets above the created size, below 1 MiB, malformed sizes,
#    Domain-0 and unmodified domains get clear errors.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
RUN=$LAMINA_RUN_DIR
printf 'name = "bal"\nkernel = "%s"\ncmdline = "service tick_ms=100"\nmemory = 32\n' \
    "$B_ABS/guest-pv.elf" >"$RUN/bal.cfg"
mem_is() { [ "$(list_field bal 3)" = "$1" ]; }
ticks() { console_count bal '^service: tick'; }

lam up
expect_ok "up"
lam create "$RUN/bal.cfg"
expect_ok "create bal (32 MiB)"
sleep 1
free0=$(free_kib)
lam mem-set bal 12
expect_ok "mem-set bal 12"
wait_for 20 mem_is 12 && ok "lamina list: 12 MiB" || fail "list says $(list_field bal 3) MiB, not 12"
wait_for 10 console_has bal '^balloon: target 12288 KiB: gave back 5120 frames, 12288 KiB now$' &&
    ok "the guest gave back 5120 frames" || fail "no balloon line for 12288 KiB"
free1=$(free_kib)
[ $((free1 - free0)) -ge $((20 * 1024 - 64)) ] && ok "the machine's free memory grew by $(((free1 - free0) / 1024)) MiB" \
    || fail "free memory: $free0 -> $free1 KiB"
t0=$(ticks)
wait_for 10 eval '[ "$(ticks)" -gt $((t0 + 5)) ]' && ok "it keeps counting at 12 MiB" || fail "it stopped counting"

lam mem-set bal 32m
expect_ok "mem-set bal 32m"
wait_for 20 mem_is 32 && ok "lamina list: 32 MiB again" || fail "list says $(list_field bal 3) MiB, not 32"
wait_for 10 console_has bal '^balloon: target 32768 KiB: took back 5120 frames, 32768 KiB now$' &&
    ok "the guest took 5120 frames back" || fail "no balloon line for 32768 KiB"
free2=$(free_kib)
[ "$free2" -le $((free0 + 64)) ] && ok "the free memory is back to $((free2 / 1024)) MiB" \
    || fail "free memory: $free0 at first, $free2 KiB after growing back"

lam mem-set bal 1024k
expect_ok "mem-set bal 1024k"
wait_for 10 console_has bal '^balloon: target 1024 KiB: .*\(the kernel keeps the rest\)$' &&
    ok "a target below the kernel's needs: $(echo "$OUT" | grep 'target 1024 KiB' | tail -n 1)" \
    || fail "no 'keeps the rest' line"
m=$(list_field bal 3)
[ -n "$m" ] && [ "$m" -ge 2 ] && [ "$m" -lt 12 ] && ok "it holds $m MiB" || fail "it holds '$m' MiB"
lam mem-set bal 12
expect_ok "mem-set bal 12 again"
wait_for 20 mem_is 12 || fail "not back to 12 MiB"

lam save bal "$RUN/bal.sav"
expect_ok "save the ballooned domain"
lam restore "$RUN/bal.sav"
expect_ok "restore it"
wait_for 20 mem_is 12 && ok "restored at its ballooned 12 MiB" || fail "restored with $(list_field bal 3) MiB"
t0=$(ticks)
wait_for 10 eval '[ "$(ticks)" -gt $((t0 + 5)) ]' && ok "the restored domain counts" || fail "the restored domain does not count"
lam mem-set bal 32
expect_ok "mem-set the restored domain to 32"
wait_for 20 mem_is 32 && ok "the restored domain grows back to 32 MiB" || fail "restored domain at $(list_field bal 3) MiB"

lam mem-set bal 64
expect_err "a target above the created size" "between 1 MiB and the 32 MiB it was created with, not 65536 KiB"
lam mem-set bal 512k
expect_err "a target below 1 MiB" "between 1 MiB and the 32 MiB"
lam mem-set bal 12q
expect_err "a malformed size" "MEM must be a size such as 256, 256m, 262144k or 1g"
lam mem-set Domain-0 32
expect_err "Domain-0" "Domain-0's memory is fixed"
lam mem-set nosuch 32
expect_err "an unknown domain" "nosuch"
printf 'name = "um"\ntype = "unmodified"\nkernel = "%s"\nmemory = 16\n' "$B_ABS/guest-native.elf" >"$RUN/um.cfg"
lam create "$RUN/um.cfg"
expect_ok "create an unmodified domain"
lam mem-set um 8
expect_err "an unmodified domain" "unmodified: it has no balloon driver"
lam down
expect_ok "down"
finish
