#!/usr/bin/env bash
# maprace.sh - reads of a file while other processes map it, store to it
# through the mapping, msync, unmap and write it, over and over
# (shim_maprace): every read sees the file's bytes and the latest stores,
# and no mapping loses a store to a write-back, as on tmpfs. 3 seconds
# each; UMFS_TEST_FULL=1 races 30.
. "$(dirname "$0")/lib.sh"

: "${SHIM_MAPRACE:=$BUILDDIR/tests/shim/shim_maprace}"
secs=3
[ -n "${UMFS_TEST_FULL:-}" ] && secs=30

run() { # run WHERE CMD...: the race's verdict and its last lines
	local where=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/  $where: /"
	check "the race on $where" "0" "$rc"
}

run tmpfs "$SHIM_MAPRACE" "$work/ref" "$secs"
run UMFS shim "$SHIM_MAPRACE" /umfs/race "$secs"
finish
