# cli.bash - helpers for the scenario tests that drive the `lamina` CLI
# (tests/scenario/cli_*.sh).  Runs on the host, sourced after scenario.bash
# from the repo root.  Each scenario gets its own machine: LAMINA_RUN_DIR is
# build/test-run/<scenario>, and the machine is taken down on exit whatever
# happens.

LAMINA=$B/lamina
export LAMINA_RUN_DIR=$B_ABS/test-run/$SCEN_NAME
CLI_LOG=$B/test-logs/$SCEN_NAME.cli

cli_cleanup() {
    if [ -f "$LAMINA_RUN_DIR/qemu.pid" ]; then
        "$LAMINA" down >/dev/null 2>&1
        local pid
        pid=$(cat "$LAMINA_RUN_DIR/qemu.pid" 2>/dev/null)
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    fi
    if [ -f "$LAMINA_RUN_DIR/hypervisor.log" ]; then
        tr -d '\r' <"$LAMINA_RUN_DIR/hypervisor.log" >"$SCEN_OUT" 2>/dev/null
    fi
}

cli_start() {
    need_file $B/lamina $B/lamina.elf $B/guest-pv.elf $B/guest-native.elf
    rm -rf "$LAMINA_RUN_DIR"
    mkdir -p "$LAMINA_RUN_DIR"
    : >"$CLI_LOG"
    trap cli_cleanup EXIT
}

# lam ARGS...: runs `lamina ARGS`; its stdout+stderr are in $OUT, its status
# in $RC; everything is also appended to the CLI log.
lam() {
    OUT=$(timeout "${LAM_TIMEOUT:-120}" "$LAMINA" "$@" 2>&1 </dev/null)
    RC=$?
    { echo "\$ lamina $*  [exit $RC]"; echo "$OUT"; } >>"$CLI_LOG"
}

# lam_in INPUT ARGS...: like lam, with INPUT on stdin.
lam_in() {
    local input=$1; shift
    OUT=$(printf '%s' "$input" | timeout "${LAM_TIMEOUT:-120}" "$LAMINA" "$@" 2>&1)
    RC=$?
    { echo "\$ lamina $* <<< $(printf '%q' "$input")  [exit $RC]"; echo "$OUT"; } >>"$CLI_LOG"
}

# expect_ok WHAT: the last command exited 0.
expect_ok() { [ "$RC" = 0 ] && ok "$1" || fail "$1 (exit $RC: $(echo "$OUT" | tail -n 3))"; }
# expect_err WHAT ERE: the last command failed, and its message matches ERE.
expect_err() {
    if [ "$RC" = 0 ]; then
        fail "$1: succeeded, expected an error"
    elif ! echo "$OUT" | grep -q -E -- "$2"; then
        fail "$1: message does not match /$2/: $(echo "$OUT" | head -n 3)"
    else
        ok "$1 (exit $RC: $(echo "$OUT" | head -n 1))"
    fi
}
# out_has ERE: the last output has a matching line.
out_has() { echo "$OUT" | grep -q -E -- "$1"; }

# list_field NAME COLUMN: a column of `lamina list` (Name ID Mem VCPUs State
# Time) for the domain NAME; empty if it is not listed.
list_field() {
    lam list
    echo "$OUT" | awk -v n="$1" -v c="$2" '$1 == n { print $c; exit }'
}

# free_kib: the machine's free memory as `lamina info` reports it.
free_kib() {
    lam info
    echo "$OUT" | sed -n -E 's/^free_memory .*\(([0-9]+) KiB\)$/\1/p'
}

# console_has DOM ERE: DOM's console history has a matching line ($OUT
# keeps the history).
console_has() { lam console --dump "$1"; echo "$OUT" | grep -q -E -- "$2"; }

# grant_maps, maptrack: the hypervisor's grant mappings held and maptrack
# frames, as `lamina info` reports them.
grant_maps() { lam info; echo "$OUT" | sed -n -E 's/^grant_maps +: ([0-9]+)$/\1/p'; }
maptrack() { lam info; echo "$OUT" | sed -n -E 's/^maptrack_frames +: ([0-9]+)$/\1/p'; }

# console_count DOM ERE: matching lines in DOM's console history.
console_count() {
    lam console --dump "$1"
    echo "$OUT" | grep -c -E -- "$2"
}

# wait_for SECONDS CMD...: retries CMD once a second until it succeeds.
wait_for() {
    local n=$1; shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 1
        n=$((n - 1))
    done
    return 1
}

# gone NAME: `lamina list` no longer shows the domain NAME.
gone() { lam list; ! echo "$OUT" | grep -q "^$1 "; }

# web_cfg FILE: a cfg for domain "web" (net httpd service, 32 MiB) at
# 10.0.2.43 with a free host port forwarded to its port 80, left in $PORT;
# page fetches its page into $LAMINA_RUN_DIR/page (true when served), hits
# prints the page counter it reports.
web_cfg() {
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf 'name = "web"\nkernel = "%s"\ncmdline = "net httpd service"\nmemory = 32\nvif = [ "ip=10.0.2.43, forward=%s:80" ]\n' \
        "$B_ABS/guest-pv.elf" "$PORT" >"$1"
}
page() { curl -s -m 5 "http://127.0.0.1:$PORT/" 2>/dev/null >"$LAMINA_RUN_DIR/page"; grep -q 'page served' "$LAMINA_RUN_DIR/page"; }
hits() { sed -n -E 's/.*page served ([0-9]+) times.*/\1/p' "$LAMINA_RUN_DIR/page"; }

# console_log DOM FILE: everything DOM prints from now to its end, through
# an attached console (the command ends when the domain does); conpid.
console_log() {
    (timeout 60 "$LAMINA" console "$1" < <(sleep 60) >"$2" 2>&1) &
    conpid=$!
    sleep 1
}

# two_machines: after cli_start, machine A (this run) and B (`up --name B`)
# up with 256 MiB each; RUN, BRUN set, onb ARGS runs lam on B, and B is
# taken down with A at exit.
onb() { LAMINA_MACHINE=B lam "$@"; }
cli_cleanup_b() {
    LAMINA_MACHINE=B "$LAMINA" down >/dev/null 2>&1
    local pid
    pid=$(cat "$BRUN/qemu.pid" 2>/dev/null)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    cli_cleanup
}
two_machines() {
    RUN=$LAMINA_RUN_DIR
    BRUN=$RUN/machines/B
    trap cli_cleanup_b EXIT
    lam up --memory 256
    expect_ok "up A"
    onb up --name B --memory 256
    expect_ok "up --name B"
}
