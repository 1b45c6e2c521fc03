# unmod.bash - checks shared by the scenarios that run the native guest
# kernel unmodified on Lamina (tests/scenario/unmod_*.sh).  Runs on the host,
# sourced after tests/lib/scenario.bash.

# unmod_stat DOMID FIELD: a number from the hypervisor's statistics line for
# an unmodified domain, printed when it is destroyed:
#   "(XEN) dN: T traps, E emulated, I injected, S syscalls; shadow: F fills,
#    W page-table writes, P guest #PF, R resets"
# FIELD is the word after the number (traps, emulated, injected, syscalls,
# fills, writes, #PF, resets); prints nothing if the line is missing.
unmod_stat() {
    grep -a -m1 -E "^\\(XEN\\) d$1: [0-9]+ traps" "$SCEN_OUT" |
        grep -o -E "[0-9]+ (page-table )?(guest )?$2" | grep -o -E '^[0-9]+'
}

# need_stat DOMID FIELD MIN: the statistic is at least MIN.
need_stat() {
    local v
    v=$(unmod_stat "$1" "$2")
    if [ -z "$v" ]; then
        fail "no statistics line for unmodified domain $1"
    elif [ "$v" -lt "$3" ]; then
        fail "d$1: $v $2, want at least $3"
    else
        ok "d$1: $v $2 (>= $3)"
    fi
}

# finished_after DOMID LINE_ERE: domain DOMID printed LINE_ERE after the
# first line matching EVENT_ERE ($3): it kept running past the event.
finished_after() {
    local at done_at
    at=$(grep -a -n -m1 -E "$3" "$SCEN_OUT" | cut -d: -f1)
    done_at=$(grep -a -n -E "^\\(d$1\\) $2" "$SCEN_OUT" | tail -n1 | cut -d: -f1)
    if [ -z "$at" ]; then
        fail "event '$3' not seen"
    elif [ -z "$done_at" ]; then
        fail "d$1 never printed '$2'"
    elif [ "$done_at" -lt "$at" ]; then
        fail "d$1 finished before '$3': nothing shows it kept running"
    else
        ok "d$1 ran on after '$3'"
    fi
}
