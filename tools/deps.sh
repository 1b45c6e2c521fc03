#!/bin/sh
# make deps: install what Lamina needs on a fresh Debian machine.
#  - Debian packages (qemu-system-x86, cmocka, gnuplot, gdb) via apt-get, as root;
#  - Xen 4.17's public headers, unpacked from Debian's libxen-dev .deb into
#    build/xen-include (downloaded, never installed or committed);
#  - Debian's Xen 4.17 hypervisor (the conformance oracle), unpacked into
#    build/xen;
#  - lwIP 2.1.3, the guests' TCP/IP stack: Debian's `lwip` source package,
#    fetched by `apt-get source` through a deb-src list of the build's own
#    (build/apt: no change to the machine's apt configuration) and
#    unpacked with Debian's patches into build/lwip (never committed).
# Idempotent: a second run does nothing but check.
set -e
BUILD=${1:-build}
mkdir -p "$BUILD/debs"

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
command -v clang >/dev/null 2>&1 || need="$need clang"      # host fuzzers (tests/fuzz)
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v objcopy >/dev/null 2>&1 || need="$need binutils"
command -v gdb >/dev/null 2>&1 || need="$need gdb"          # make gdb, tests/scenario/gdb_attach.sh
command -v make >/dev/null 2>&1 || need="$need make"
command -v python3 >/dev/null 2>&1 || need="$need python3"  # tests/lib/*.py, the bench drivers
[ -f /usr/include/stdio.h ] || need="$need libc6-dev"
[ -f /usr/include/zlib.h ] || need="$need zlib1g-dev"      # the CLI's CRC-32 (save files)
command -v curl >/dev/null 2>&1 || need="$need curl"        # tests/scenario/net_*.sh, the tour
command -v iperf >/dev/null 2>&1 || need="$need iperf"      # make bench: iperf 2 against lwiperf
command -v dpkg-source >/dev/null 2>&1 || need="$need dpkg-dev"  # apt-get source lwip
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
[ -f /usr/share/qemu/qboot.rom ] || [ -f /usr/share/seabios/qboot.rom ] || need="$need qemu-system-data"
updated=""
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$need; run 'make deps' as root or apt-get install them" >&2
        exit 1
    fi
    echo "deps: installing$need"
    apt-get update -q >/dev/null
    updated=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
fi

fetch_deb() { # $1 package, $2 destination dir, $3 file that proves it is there
    [ -e "$2/$3" ] && return 0
    ( cd "$BUILD/debs" && ls $1_*.deb >/dev/null 2>&1 ) || {
        if [ -z "$updated" ]; then apt-get update -q >/dev/null || true; updated=1; fi
        ( cd "$BUILD/debs" && apt-get download "$1" >/dev/null 2>&1 ) || return 1
    }
    rm -rf "$2.tmp" && mkdir -p "$2.tmp"
    dpkg -x "$BUILD"/debs/$1_*.deb "$2.tmp"
    rm -rf "$2" && mv "$2.tmp" "$2"
}

if ! fetch_deb libxen-dev "$BUILD/xen-dev" usr/include/xen/xen.h; then
    echo "deps: cannot download Debian's libxen-dev (needed for Xen's public headers)" >&2
    exit 1
fi
mkdir -p "$BUILD/xen-include"
[ -e "$BUILD/xen-include/xen" ] || ln -s ../xen-dev/usr/include/xen "$BUILD/xen-include/xen"

if fetch_deb xen-hypervisor-4.17-amd64 "$BUILD/xen" boot; then
    if [ ! -f "$BUILD/xen/xen-4.17.elf" ]; then
        gz=$(ls "$BUILD"/xen/boot/xen-4.17*-amd64.gz 2>/dev/null | head -n 1)
        [ -n "$gz" ] && gunzip -c "$gz" > "$BUILD/xen/xen-4.17.elf"
    fi
else
    echo "deps: note: Debian's xen-hypervisor-4.17-amd64 could not be downloaded; Xen oracle tests will skip" >&2
fi
# lwIP from Debian's source package.  apt-get runs on private lists and
# cache under build/apt, with one deb-src line for the release this
# machine runs, so nothing outside build/ changes.
fetch_lwip() {
    [ -f "$BUILD/lwip/src/core/tcp.c" ] && return 0
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    apt="$BUILD/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
    echo "deb-src http://deb.debian.org/debian $suite main" > "$apt/sources.list"
    aptopts="-q -o Dir::Etc::SourceList=$(pwd)/$apt/sources.list -o Dir::Etc::SourceParts=/dev/null \
 -o Dir::State::Lists=$(pwd)/$apt/lists -o Dir::Cache=$(pwd)/$apt/cache -o APT::Sandbox::User=root"
    apt-get $aptopts update >/dev/null 2>&1 || return 1
    rm -rf "$apt/src" && mkdir -p "$apt/src"
    ( cd "$apt/src" && apt-get $aptopts source lwip >/dev/null 2>&1 ) || return 1
    dir=$(ls -d "$apt"/src/lwip-*/ 2>/dev/null | head -n 1)
    [ -n "$dir" ] && [ -f "$dir/src/core/tcp.c" ] || return 1
    grep -Eq 'LWIP_VERSION_MINOR +1\b' "$dir/src/include/lwip/init.h" &&
        grep -Eq 'LWIP_VERSION_REVISION +3\b' "$dir/src/include/lwip/init.h" || return 1
    rm -rf "$BUILD/lwip" && mv "$dir" "$BUILD/lwip"
}
if ! fetch_lwip; then
    echo "deps: cannot fetch lwIP 2.1.3 (Debian source package 'lwip'); needs deb.debian.org" >&2
    exit 1
fi
touch "$BUILD/.deps-done"
