#!/bin/bash
# meta.sh - measurement 6a: create+close, stat, readdir and unlink of META_N
# files in one directory, then record locks on one file (bench/meta), on
# every system.
# Output: $BENCH_OUT/meta/meta.csv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/meta
mkdir -p "$out"
prog=$BENCH_BUILD/bench/meta
[ -x "$prog" ] || die "missing $prog"
csv=$out/meta.csv
echo "system,op,n,seconds,ns_per_op" >"$csv"
for sys in $(bench_systems); do
	sys_up "$sys"
	sys_run "$sys" "$prog" "$(sys_dir "$sys")" "$sys" "$META_N" >>"$csv" ||
		die "meta failed on $sys"
	sys_down "$sys"
done
log "meta: done"
