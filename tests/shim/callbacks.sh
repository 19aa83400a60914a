#!/usr/bin/env bash
# callbacks.sh - the program code a directory walk calls back (scandir's
# filter and comparison, scandirat's filter, nftw's and ftw's function)
# runs on UMFS as between two of the program's own calls: a signal raised
# there has its handler run before raise returns, and a record-lock wait
# made there ends with EINTR at a signal whose handler has no SA_RESTART
# (shim_callbacks.c); a scandir filter that leaves errno set does not make
# scandir fail. The transcript must be the same program's on tmpfs,
# which checks the test itself. A wait no signal ends shows as granted
# after the holder lets the lock go (2 s), not as a hang.
. "$(dirname "$0")/lib.sh"

: "${SHIM_CALLBACKS:=$BUILDDIR/tests/shim/shim_callbacks}"
sites="scandir filter|scandir compar|scandirat filter|nftw fn|ftw fn"

site_line() { # site_line TRANSCRIPT SITE: the line that starts with SITE
	printf '%s\n' "$1" | awk -v p="$2: " 'index($0, p) == 1 { print; exit }'
}

mkdir "$work/ref"
rc=0
ref=$(timeout 30 "$SHIM_CALLBACKS" "$work/ref" 2>&1) || rc=$?
[ "$rc" -eq 124 ] && ref="timed out (hang)"
IFS='|' read -ra names <<<"$sites"
for s in "${names[@]}"; do
	check "tmpfs: $s: the handler runs in raise, the wait ends with EINTR" \
		"$s: raise: handler ran at once; F_SETLKW: -1 EINTR, handler ran" "$(site_line "$ref" "$s")"
done
check "tmpfs: what the walks return" \
	"scandir: 3 entries: a b c|scandirat: 3 entries: a b c|scandir, a filter that leaves errno set: 1 entries: b|nftw: returned 0, 4 entries|ftw: returned 0, 4 entries|done" \
	"$(printf '%s\n' "$ref" | grep -v ': raise: ' | paste -sd'|')"

shim mkdir /umfs/cbdir
rc=0
got=$(timeout 30 env LD_PRELOAD="$SHIM_LIB" "$SHIM_CALLBACKS" /umfs/cbdir 2>&1) || rc=$?
[ "$rc" -eq 124 ] && got="timed out (hang)"
printf '%s\n' "$got" | sed 's/^/# /'
for s in "${names[@]}"; do
	check "UMFS: $s, as on tmpfs" "$(site_line "$ref" "$s")" "$(site_line "$got" "$s")"
done
check "UMFS: the whole transcript, as on tmpfs" "$ref" "$got"
check "UMFS: the program left nothing behind" "" "$(shim ls -A /umfs/cbdir)"
check "the pool is clean after (fsck.umfs -n -f)" "0" "$("$FSCK" -n -f "$pool" >/dev/null 2>&1; echo $?)"
finish
