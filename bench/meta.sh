#!/bin/bash
# meta.sh - measurement 6a: create+close, stat, readdir and unlink of META_N
# files in one directory, then record locks on one file (bench/meta), on
# every system. All systems are up at once and the REPS repetitions go
# round them in turn, one process each: what a process meets (where its
# memory lands, a neighbour's cache use) differs from one process to the
# next, and the report takes medians.
# Output: $BENCH_OUT/meta/meta.csv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/meta
mkdir -p "$out"
prog=$BENCH_BUILD/bench/meta
[ -x "$prog" ] || die "missing $prog"
csv=$out/meta.csv
echo "system,op,n,seconds,ns_per_op" >"$csv"
systems=$(bench_systems "$BASE_SYSTEMS")
for sys in $systems; do
	sys_up "$sys"
done
for rep in $(seq "$REPS"); do
	for sys in $systems; do
		# no target rides on FUSE, and it is slow: one repetition
		[ "$sys" = umfs-fuse ] && [ "$rep" -gt 1 ] && continue
		sys_run "$sys" "$prog" "$(sys_dir "$sys")" "$sys" "$META_N" >>"$csv" ||
			die "meta failed on $sys (repetition $rep)"
	done
done
for sys in $systems; do
	sys_down "$sys"
done
log "meta: done"
