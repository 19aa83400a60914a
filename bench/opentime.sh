#!/bin/bash
# opentime.sh - measurement 5: open + read of the last 4 KiB + close of files
# from 4 KiB to OPEN_MAX on UMFS (shim, strict), against the same on tmpfs
# (kernel open) and against mmap(MAP_POPULATE) of the whole file on tmpfs.
# Output: $BENCH_OUT/opentime/opentime.csv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/opentime
mkdir -p "$out"
prog=$BENCH_BUILD/bench/opentime
[ -x "$prog" ] || die "missing $prog"
csv=$out/opentime.csv
echo "system,method,size,median_ns,first_ns,reps" >"$csv"
# room for the largest file plus the pool's own structures
size=$(((OPEN_MAX + OPEN_MAX / 4 + (256 << 20)) >> 20))M

sys_up umfs-strict "$size"
sys_run umfs-strict "$prog" open "$(sys_dir umfs-strict)" umfs-strict "$OPEN_MAX" >>"$csv" ||
	die "opentime failed on umfs-strict"
sys_down umfs-strict

sys_up tmpfs "$size"
for method in open mmap; do
	"$prog" "$method" "$(sys_dir tmpfs)" tmpfs "$OPEN_MAX" >>"$csv" ||
		die "opentime $method failed on tmpfs"
done
sys_down tmpfs
log "opentime: done"
