#!/usr/bin/env bash
# cli_errors - bad input to the `lamina` CLI gets a clear message and a
# non-zero exit status, and loses nothing: commands while the machine is
# down, a second `up`, malformed and unknown-key cfg files (with their line
# numbers), unknown domains and commands, a domain too big for the free
# memory.  The machine keeps working afterwards.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start
cfg=$LAMINA_RUN_DIR/cfg
mkdir -p "$cfg"
kernel=$B_ABS/guest-pv.elf

# While the machine is down.
for c in list info "pause x" "create examples/pv.cfg" dmesg "console --dump x"; do
    lam $c
    expect_err "'$c' while down" "not up.*lamina up"
done
lam frobnicate
expect_err "unknown command" "unknown command 'frobnicate'"
[ "$RC" = 2 ] && ok "usage error exits 2" || fail "unknown command exit status $RC, want 2"
lam help
expect_ok "lamina help"
for c in up down create list pause unpause shutdown reboot destroy console dmesg info top; do
    echo "$OUT" | grep -q -E "^ +$c( |$)" || fail "lamina help does not list '$c'"
done
lam create --help
expect_ok "lamina create --help"
out_has "on_crash" || fail "create --help does not describe the cfg keys"

# Config files: each error names FILE:LINE and what to do.
printf 'name = "a"\nkernel = "%s"\nkernal = "x"\n' "$kernel" >"$cfg/unknown.cfg"
printf 'name = "a"\nkernel = "%s"\nmemory = "lots"\n' "$kernel" >"$cfg/type.cfg"
printf 'name = "a\nkernel = "%s"\n' "$kernel" >"$cfg/unterminated.cfg"
printf 'kernel = "%s"\n' "$kernel" >"$cfg/noname.cfg"
printf 'name = "a"\nkernel = "/nonexistent/kernel.elf"\n' >"$cfg/nokernel.cfg"
printf 'name = "a"\nkernel = "%s"\non_crash = "explode"\n' "$kernel" >"$cfg/oncrash.cfg"
printf 'name = "a"\n= 3\n' >"$cfg/syntax.cfg"
lam up
expect_ok "up"
lam up
expect_err "second up" "already up.*lamina down"
lam create "$cfg/unknown.cfg";      expect_err "unknown key" "unknown.cfg:3: unknown key 'kernal'.*did you mean 'kernel'"
lam create "$cfg/type.cfg";         expect_err "mistyped value" "type.cfg:3: .*memory"
lam create "$cfg/unterminated.cfg"; expect_err "unterminated string" "unterminated.cfg:1: unterminated string"
lam create "$cfg/noname.cfg";       expect_err "missing name" "noname.cfg.*name"
lam create "$cfg/nokernel.cfg";     expect_err "missing kernel file" "nokernel.cfg.*/nonexistent/kernel.elf"
lam create "$cfg/oncrash.cfg";      expect_err "bad on_crash" "oncrash.cfg:3: .*(destroy|restart|preserve)"
lam create "$cfg/syntax.cfg";       expect_err "syntax error" "syntax.cfg:2:"
lam create "$cfg/absent.cfg";       expect_err "missing cfg file" "absent.cfg"
printf 'name = "huge"\nkernel = "%s"\nmemory = 60000\n' "$kernel" >"$cfg/huge.cfg"
lam create "$cfg/huge.cfg";         expect_err "out of memory" "not enough free memory"

# Unknown domains.
lam pause nosuch;   expect_err "pause unknown domain" "no domain 'nosuch'.*lamina list"
lam destroy 42;     expect_err "destroy unknown id" "no domain '42'"
lam console --dump nosuch; expect_err "console of unknown domain" "nosuch"
lam pause Domain-0; expect_err "pause dom0" "."

# Nothing was lost: the machine still creates and lists a guest, and the
# failed creates left no domain or memory behind.
lam list
[ "$(echo "$OUT" | grep -c -v -E '^(Name|Domain-0) ')" = 0 ] && ok "failed creates left no domain" || fail "stray domains: $OUT"
free0=$(free_kib)
lam create examples/pv.cfg
expect_ok "create after the errors"
lam destroy pv-guest
expect_ok "destroy"
[ "$(free_kib)" = "$free0" ] && ok "free memory unchanged ($free0 KiB)" || fail "free memory changed"
lam down
expect_ok "down"
finish
