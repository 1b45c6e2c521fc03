#!/usr/bin/env bash
# net_basic - the network end to end on a real machine: the guest's
# netfront and lwIP, dom0's netback and bridge xenbr0, the virtio-net NIC
# QEMU gives dom0 on its user network, QEMU's hostfwd.  Checks:
#  - `curl` on the host gets a domU's httpd status page through the vif's
#    forward= (and the page names the domain);
#  - two domUs move 64 MiB over TCP through the bridge; the receiver checks
#    every byte against the pattern and both ends' checksums agree;
#  - network-list shows the vif; network-attach brings a second vif up in
#    the running guest, network-detach takes it down;
#  - bad vif specs (unknown bridge, bad mac, bad rate, forward without
#    ip), a duplicate MAC, a forwarded port already taken (by a domain or
#    by another program on the host): errors that name the fix, nothing
#    started;
#  - destroying a domain in the middle of a transfer leaves no grant
#    mapped, no bridge port, no MAC learnt for it, no forward.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/scenario.bash
. tests/lib/cli.bash
cli_start

DIR=$LAMINA_RUN_DIR/cfg
mkdir -p "$DIR"
KERNEL=$B_ABS/guest-pv.elf
PORT=$((18000 + RANDOM % 1000))

# cfg NAME CMDLINE VIFSPEC...: a PV domain's cfg file, path printed.
cfg() {
    local f=$DIR/$1.cfg name=$1 cmd=$2 v list=""
    shift 2
    for v in "$@"; do list="$list${list:+, }\"$v\""; done
    printf 'name = "%s"\nkernel = "%s"\ncmdline = "%s"\nmemory = 32\nvif = [ %s ]\n' \
        "$name" "$KERNEL" "$cmd" "$list" >"$f"
    echo "$f"
}
ports() { lam network-list Domain-0; echo "$OUT" | grep -c -E '^  (eth0|dom0|vif)'; }

lam up
expect_ok "lamina up"
ports0=$(ports)
[ "$ports0" = 2 ] && ok "the bridge starts with eth0 and dom0" || fail "bridge ports at start: $ports0"

# ---- the host reaches a domU's httpd ------------------------------------------
lam create "$(cfg web 'net httpd service' "mac=00:16:3e:00:00:20, bridge=xenbr0, ip=10.0.2.20, forward=$PORT:80")"
expect_ok "create web (ip 10.0.2.20, forward $PORT:80)"
webid=$(list_field web 2)
wait_for 30 console_has web '^net: (vif0 up|FAIL)'
console_has web '^net: vif0 up mac=00:16:3e:00:00:20 ip=10.0.2.20' && ok "web: vif0 up with its mac and ip" \
    || fail "web: $(echo "$OUT" | grep '^net:')"
page=$(curl -s -m 20 "http://127.0.0.1:$PORT/")
echo "$page" | grep -q "<h1>Lamina PV domain $webid</h1>" && ok "curl 127.0.0.1:$PORT gets web's page (domain $webid)" \
    || fail "curl: '$(echo "$page" | head -c 300)'"
lam network-list web
echo "$OUT" | grep -q -E '^0 +'"$webid"' +00:16:3e:00:00:20 +10\.0\.2\.20 +xenbr0 +Connected' \
    && ok "network-list web: vif 0 Connected" || fail "network-list: $OUT"
lam forward list
out_has "^$PORT +10\.0\.2\.20:80" && ok "forward list shows $PORT -> 10.0.2.20:80" || fail "forward list: $OUT"

# ---- errors: bad specs, a duplicate MAC, a taken port -------------------------
lam create "$(cfg bad1 'net' 'bridge=xenbr1')"
expect_err "an unknown bridge" 'bad1\.cfg:5: vif 1: bridge=xenbr1: no such bridge; dom0 has one bridge, xenbr0'
lam create "$(cfg bad2 'net' 'mac=00:16:3e:00:00')"
expect_err "a short mac" 'vif 1: mac=00:16:3e:00:00 is not a MAC address; write six hex pairs'
lam create "$(cfg bad3 'net' 'rate=fast')"
expect_err "a bad rate" 'rate=fast is not a rate; e.g. rate=100Mb/s'
lam create "$(cfg bad4 'net' 'forward=8081:80')"
expect_err "forward without ip" 'forward= needs the guest.s address: add ip='
lam create "$(cfg bad5 'net' 'mac=00:16:3e:00:00:20, ip=10.0.2.29')"
expect_err "a MAC another domain has" 'MAC 00:16:3e:00:00:20 is in use by another vif; give each vif its own mac='
lam create "$(cfg bad6 'net' "ip=10.0.2.29, forward=$PORT:80")"
expect_err "a host port another domain forwards" "host port $PORT is already forwarded to 10\.0\.2\.20:80; pick another"
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(30)' \
    $((PORT + 1)) &
holder=$!
sleep 0.5
lam create "$(cfg bad7 'net' "ip=10.0.2.29, forward=$((PORT + 1)):80")"
expect_err "a host port another program holds" "host port $((PORT + 1)) is in use by another program on this host"
kill $holder 2>/dev/null
lam list
bad=$(echo "$OUT" | grep -c '^bad')
[ "$bad" = 0 ] && ok "no refused domain was left behind" || fail "left behind: $OUT"

# ---- two domUs through the bridge: 64 MiB, every byte checked -------------------
lam create "$(cfg sink 'net net_sink service' 'ip=10.0.2.21')"
expect_ok "create sink (10.0.2.21)"
wait_for 30 console_has sink '^net: (vif0 up|FAIL)'
lam create "$(cfg send 'net net_send=10.0.2.21 net_mib=64 service' 'ip=10.0.2.22')"
expect_ok "create send (10.0.2.22, 64 MiB to sink)"
wait_for 180 console_has send '^net: (sent|send failed)'
sent=$(echo "$OUT" | sed -n -E 's/^net: sent ([0-9]+) bytes sum=([0-9a-f]+) ms=([0-9]+).*/\1 \2 \3/p')
wait_for 30 console_has sink '^net: received'
recv=$(echo "$OUT" | sed -n -E 's/^net: received ([0-9]+) bytes sum=([0-9a-f]+) (ok|BAD).*/\1 \2 \3/p' | tail -n 1)
set -- $sent
s_bytes=$1 s_sum=$2 s_ms=$3
set -- $recv
if [ "$s_bytes" = 67108864 ] && [ "$1" = 67108864 ] && [ "$2" = "$s_sum" ] && [ "$3" = ok ]; then
    ok "64 MiB domU to domU: every byte as sent, checksum $s_sum both ends ($s_ms ms)"
else
    fail "transfer: sent '$sent' received '$recv'"
fi

# ---- hot attach and detach ----------------------------------------------------------
lam network-attach sink 'ip=10.0.2.23'
expect_ok "network-attach sink ip=10.0.2.23"
wait_for 30 console_has sink '^net: vif1 up'
console_has sink '^net: vif1 up mac=00:16:3e:[0-9a-f:]+ ip=10\.0\.2\.23' && ok "sink brings vif1 up (10.0.2.23)" \
    || fail "sink after attach: $(echo "$OUT" | grep '^net:' | tail -n 3)"
lam network-detach sink 1
expect_ok "network-detach sink 1"
wait_for 30 console_has sink '^net: vif1 down'
console_has sink '^net: vif1 down' && ok "sink takes vif1 down" || fail "sink after detach: $(echo "$OUT" | grep '^net:' | tail -n 3)"
lam network-detach sink 7
expect_err "detaching a vif that is not there" 'has no vif 7'

# ---- destroy in the middle of a transfer ----------------------------------------------
lam create "$(cfg send2 'net net_send=10.0.2.21 net_mib=4096 service' 'ip=10.0.2.24')"
expect_ok "create send2 (4 GiB to sink)"
wait_for 30 console_has send2 '^net: vif0 up'
sleep 3
lam destroy send2
expect_ok "destroy send2 mid-transfer"
wait_for 30 gone send2
for d in web sink send; do lam destroy $d; done
wait_for 30 gone web
wait_for 30 gone sink
wait_for 30 gone send
sleep 1
n=$(ports)
[ "$n" = "$ports0" ] && ok "every vif left the bridge ($n ports)" || fail "bridge ports after destroy: $n (was $ports0)"
lam network-list Domain-0
fdb=$(echo "$OUT" | sed -n -E 's/^bridge xenbr0 \(([0-9]+) learnt MACs\).*/\1/p')
[ "${fdb:-9}" -le 3 ] && ok "no MAC of a destroyed vif is learnt ($fdb left: the NIC's side and dom0)" \
    || fail "fdb after destroy: $fdb"
g=$(grant_maps)
[ "$g" = 0 ] && ok "no grant is mapped after the destroys" || fail "grant_maps after destroy: $g"
lam forward list
out_has 'no port forwards' && ok "web's forward went with it" || fail "forward list: $OUT"
curl -s -m 3 "http://127.0.0.1:$PORT/" >/dev/null && fail "the port still answers" || ok "port $PORT answers no more"
lam down
expect_ok "lamina down"
finish
