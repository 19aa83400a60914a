#!/bin/bash
# SPDX-License-Identifier: MIT
# run_callfuzz.sh MODE BUILDDIR - callfuzz (a seeded random sequence of
# file calls, each result printed) on a fresh tmpfs and on MODE (shim,
# fuse; tmpfs: the comparison itself), seed by seed in a fresh directory:
# the two transcripts must be equal line by line. A seed that differs is
# run again on both with --trace, and the first line where the traces
# part is shown with the calls before it. After a UMFS run the pool is
# unmounted and fsck.umfs -n -f must find it clean.
# Then, as root, seeds as uid 65534 among root's files (callfuzz --nobody).
# CALLFUZZ_SEEDS (default "1 .. 24"), CALLFUZZ_NOBODY_SEEDS ("1 .. 12")
# and CALLFUZZ_COUNT (3000) set the work.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: $0 tmpfs|shim|fuse BUILDDIR}
. "$here/frontend.sh" "$mode" "${2:?usage: $0 MODE BUILDDIR}"

fuzz=$FE_BUILD/tests/posix/callfuzz
[ -x "$fuzz" ] || { echo "FAIL: $fuzz was not built"; exit 1; }
fe_require

fe_start
fe_tmpfs "$FE_TMP/ref"
count=${CALLFUZZ_COUNT:-3000}
opts=()
[ "$mode" = fuse ] && opts=(--no-tmpfile) # FUSE cannot express it (umfs-fuse(8))
# the seeds as root, then (as root only) as uid 65534 among root's files
runs=()
for seed in ${CALLFUZZ_SEEDS:-$(seq 1 24)}; do
	runs+=("$seed")
done
if [ "$(id -u)" = 0 ]; then
	for seed in ${CALLFUZZ_NOBODY_SEEDS:-$(seq 1 12)}; do
		runs+=("$seed:nobody")
	done
fi
for run in "${runs[@]}"; do
	seed=${run%%:*} as=() who=
	if [ "$run" != "$seed" ]; then
		as=(--nobody) who=" as uid 65534"
	fi
	dir=${run/:/-}
	mkdir "$FE_TMP/ref/$dir"
	"${FE_RUN[@]}" mkdir "$FE_ROOT/$dir"
	"$fuzz" "$FE_TMP/ref/$dir" "$seed" "$count" "${opts[@]}" "${as[@]}" >"$FE_TMP/ref.out" 2>&1 &&
		rc=0 || rc=$?
	[ "$rc" = 0 ] || { echo "FAIL: callfuzz exited with $rc on tmpfs"; exit 1; }
	"${FE_RUN[@]}" "$fuzz" "$FE_ROOT/$dir" "$seed" "$count" "${opts[@]}" "${as[@]}" \
		>"$FE_TMP/got.out" 2>&1 && rc=0 || rc=$?
	if [ "$rc" = 0 ] && cmp -s "$FE_TMP/ref.out" "$FE_TMP/got.out"; then
		fe_result 0 "seed $seed$who: $count calls as on tmpfs"
		continue
	fi
	fe_result 1 "seed $seed$who: $count calls as on tmpfs (exit $rc)"
	(diff "$FE_TMP/ref.out" "$FE_TMP/got.out" || true) | head -8 | sed 's/^/# /'
	# where the two part: the traces, in fresh directories
	mkdir "$FE_TMP/ref/$dir.t"
	"${FE_RUN[@]}" mkdir "$FE_ROOT/$dir.t"
	"$fuzz" "$FE_TMP/ref/$dir.t" "$seed" "$count" --trace "${opts[@]}" "${as[@]}" \
		>"$FE_TMP/ref.trace" 2>&1 || true
	"${FE_RUN[@]}" "$fuzz" "$FE_ROOT/$dir.t" "$seed" "$count" --trace "${opts[@]}" "${as[@]}" \
		>"$FE_TMP/got.trace" 2>&1 || true
	line=$( (cmp "$FE_TMP/ref.trace" "$FE_TMP/got.trace" 2>/dev/null || true) |
		sed -n 's/.* line \([0-9]*\)$/\1/p')
	if [ -n "$line" ]; then
		echo "# tmpfs, up to line $line of the trace:"
		sed -n "$((line > 12 ? line - 12 : 1)),${line}p" "$FE_TMP/ref.trace" | sed 's/^/#   /'
		echo "# $mode, line $line:"
		sed -n "${line}p" "$FE_TMP/got.trace" | sed 's/^/#   /'
	fi
done
fe_finish callfuzz
