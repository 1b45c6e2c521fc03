#!/usr/bin/env bash
# port-stat.sh - size of Lamina's PV port against the whole PV guest kernel,
# the measure of Table 1 of "Xen and the Art of Virtualization" (SOSP 2003).
# Runs on the host, from any directory; `make port-stat` calls it.
#
#   port      = guest-port/pv + pv-abi            (arch layer + ABI library)
#   PV kernel = guest-port/core + guest-port/include + guest-port/pv + pv-abi
#
# Lines are non-blank, non-comment lines of C, headers, assembly and linker
# scripts, counted by cloc when installed, else by a small awk counter
# (C block and line comments, '#'-comments in assembly).
set -u
cd "$(dirname "$0")/.." || exit 1

if command -v cloc >/dev/null 2>&1 && [ "${PORT_STAT_AWK:-}" != 1 ]; then
    counter=cloc
else
    counter=awk
fi

# count_dir DIR: code lines under DIR (0 when it does not exist).
count_dir() {
    local dir=$1
    [ -d "$dir" ] || { echo 0; return; }
    local files
    files=$(find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' -o -name '*.s' -o -name '*.ld' \) | sort)
    [ -n "$files" ] || { echo 0; return; }
    if [ "$counter" = cloc ]; then
        # shellcheck disable=SC2086
        cloc --quiet --csv --force-lang="C",ld $files 2>/dev/null |
            awk -F, '$2 == "SUM" { print $5; found = 1 } END { if (!found) print 0 }'
        return
    fi
    # shellcheck disable=SC2086
    awk '
        FNR == 1 { inblock = 0; asm = (FILENAME ~ /\.[sS]$/) }
        {
            line = $0; code = ""
            while (length(line) > 0) {
                if (inblock) {
                    e = index(line, "*/")
                    if (e == 0) { line = ""; break }
                    line = substr(line, e + 2); inblock = 0
                    continue
                }
                b = index(line, "/*"); s = index(line, "//")
                if (s > 0 && (b == 0 || s < b)) { code = code substr(line, 1, s - 1); line = ""; break }
                if (b == 0) { code = code line; line = ""; break }
                code = code substr(line, 1, b - 1); line = substr(line, b + 2); inblock = 1
            }
            if (asm && code ~ /^[ \t]*#([ \t]|$)/) next   # "# comment", not "#include"
            gsub(/[ \t\r]/, "", code)
            if (code != "") n++
        }
        END { print n + 0 }' $files
}

core=$(count_dir guest-port/core)
inc=$(count_dir guest-port/include)
pv=$(count_dir guest-port/pv)
abi=$(count_dir pv-abi)
native=$(count_dir guest-port/native)
port=$((pv + abi))
kernel=$((core + inc + pv + abi))

pct() { # pct PART WHOLE: percentage with one decimal
    awk -v p="$1" -v w="$2" 'BEGIN { if (w == 0) print "n/a"; else printf "%.1f%%", 100 * p / w }'
}

echo "Lamina PV port size (non-blank, non-comment lines; counted with $counter)"
printf '  %-44s %6s\n' "area" "lines"
printf '  %-44s %6d\n' "guest-port/core     (portable kernel core)" "$core"
printf '  %-44s %6d\n' "guest-port/include  (core/arch interface)" "$inc"
printf '  %-44s %6d\n' "guest-port/pv       (the PV arch layer)" "$pv"
printf '  %-44s %6d\n' "pv-abi              (hypercall ABI library)" "$abi"
printf '  %-44s %6d\n' "guest-port/native   (native arch layer)" "$native"
echo "port: $port lines ($(pct "$port" "$kernel") of the PV kernel's $kernel lines)"
echo "native arch layer: $native lines ($(pct "$native" $((core + inc + native))) of the native kernel's $((core + inc + native)) lines)"
echo "for comparison, Table 1 of \"Xen and the Art of Virtualization\" (2003):"
echo "  Linux 2.4 port: 2995 lines (1.36% of the x86 code base); Windows XP port: 4620 lines (0.04%)"
