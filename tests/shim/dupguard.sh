#!/usr/bin/env bash
# dupguard.sh - a program's thread dup2s its own file onto the numbers 3
# to 11 (and closes them again) while the process joins the pool and
# opens a file (shim_dupguard): the library opens its own files at the
# kernel's lowest free numbers before it moves them to its range, and a
# dup2 onto one of them in that moment would put the program's file in
# its place. Each run must mount, write and read its file, see every
# dup2 succeed, and leave the program's file as it wrote it; then the
# pool checks clean. RUNS processes in turn (300; UMFS_TEST_FULL=1: 2000),
# each starting its open after a different delay; on tmpfs first, as
# the reference. Then threads wait in the library (an F_SETLKW on a byte
# another process holds, the open of a FIFO, the process's first) while
# the main thread dup2s: none may take over 200 ms or fail.
. "$(dirname "$0")/lib.sh"

: "${SHIM_DUPGUARD:=$BUILDDIR/tests/shim/shim_dupguard}"
runs=300
[ -n "${UMFS_TEST_FULL:-}" ] && runs=2000

# run_all WHERE FILE [shim]: the runs that failed, and their first words
run_all() {
	local where=$1 file=$2 pre=${3:-} failed=0 out i first=""
	for i in $(seq "$runs"); do
		if ! out=$($pre "$SHIM_DUPGUARD" "$work/own" "$file.$i" $(( (i * 37) % 1500 )) 2>&1); then
			failed=$((failed + 1))
			[ -n "$first" ] || first="run $i: $out"
			[ -z "${DUPGUARD_VERBOSE:-}" ] || echo "run $i: $out"
		fi
	done
	echo "  $where: $failed of $runs runs failed${first:+; $first}"
	check "dup2 onto free numbers while $where" 0 "$failed"
}

run_all "on tmpfs" "$work/ref"
run_all "joining UMFS" /umfs/f shim

mkdir "$work/waits"
out=$("$SHIM_DUPGUARD" waits "$work/waits" 2>&1) && rc=0 || rc=$?
check "dup2 while threads wait in the kernel, on tmpfs" "0 " "$rc $out"
shim mkdir /umfs/waits
out=$(shim "$SHIM_DUPGUARD" waits /umfs/waits 2>&1) && rc=0 || rc=$?
check "dup2 while threads wait in the library" "0 " "$rc $out"
out=$("$FSCK" -n "$pool" 2>&1) && rc=0 || rc=$?
check "the pool checks clean after the runs" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -n 5
finish
