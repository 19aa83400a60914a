#!/bin/bash
# sweep.sh - measurement 2, the paper's figure 5: request size swept over
# SWEEP_SIZES for sequential read (of a laid-out file, time-based) and
# sequential write (to a new file, until FILE_SIZE or SWEEP_RUNTIME), psync,
# one job, on every system; one fio process per system, stonewalled jobs
# named read-BS and write-BS. Output: $BENCH_OUT/sweep/SYSTEM.json
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/sweep
for sys in $(bench_systems); do
	sys_up "$sys"
	dir=$(sys_dir "$sys")
	bench_layout "$sys" "$dir/data" "$FILE_SIZE"
	jobs=()
	for bs in $SWEEP_SIZES; do
		jobs+=(--name="read-$bs" --filename="$dir/data" --rw=read --bs="$bs" --time_based
			--runtime="$SWEEP_RUNTIME" --stonewall --new_group)
		jobs+=(--name="write-$bs" --filename="$dir/new" --rw=write --bs="$bs"
			--runtime="$SWEEP_RUNTIME" --unlink=1 --stonewall --new_group)
	done
	bench_fio "$sys" "$out/$sys.json" --size="$FILE_SIZE" "${jobs[@]}"
	sys_down "$sys"
done
log "sweep: done"
