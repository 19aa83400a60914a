#!/bin/bash
# fio.sh - measurement 1: fio psync, one job, 4 KiB: sequential read, random
# read, sequential write to a new file (append) and random overwrite of an
# existing file, on every system. Reads and overwrites are time-based on a
# file laid out afresh for each repetition, and measure the steady state:
# each first runs RUNTIME untimed (fio's ramp_time), so that the first
# touch of each page in a new process (a fault; in UMFS the populate of a
# cold chunk) is left out of a figure meant for a long-running one (the
# fresh-process figures of fresh.sh count it). Append writes a new file from
# empty up to FILE_SIZE (or for RUNTIME seconds on a slow system) and
# removes it. A sequential read of the file after its random overwrites
# (reread.REP) shows what the overwrites did to its layout: a strict UMFS
# overwrite swaps a new page in for the old one, so that the file's pages
# end up out of order in the pool, which a sequential read pays for.
# Runs on every system, the 2 MiB placements included (umfs-*-huge and
# tmpfs-huge beside tmpfs). All systems are up at once and the REPS
# repetitions go round them in turn, so that a slow spell of the shared
# machine hits every system alike; the report takes medians. One fio process per system and repetition, the four
# workloads as stonewalled jobs named WORKLOAD.REP (and an untimed
# warm-append.REP before the append, which the report leaves out).
# Output: $BENCH_OUT/fio/SYSTEM.REP.json
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/fio
systems=$(bench_systems "$ALL_SYSTEMS")
for sys in $systems; do
	sys_up "$sys"
	bench_layout "$sys" "$(sys_dir "$sys")/data" "$FILE_SIZE"
done
for rep in $(seq "$REPS"); do
	for sys in $systems; do
		# no target rides on FUSE, and it is slow: one repetition
		[ "$sys" = umfs-fuse ] && [ "$rep" -gt 1 ] && continue
		dir=$(sys_dir "$sys")
		if [ "$rep" -gt 1 ]; then # laid out afresh, as in the first repetition
			sys_run "$sys" rm -f "$dir/data" || die "cannot remove $dir/data on $sys"
			bench_layout "$sys" "$dir/data" "$FILE_SIZE"
		fi
		jobs=()
		for wl in read randread randwrite reread; do
			rw=$wl
			[ "$wl" = reread ] && rw="read"
			jobs+=(--name="$wl.$rep" --filename="$dir/data" --rw="$rw" --time_based
				--runtime="$RUNTIME" --ramp_time="$RUNTIME" --stonewall --new_group)
		done
		# an untimed append first, the same size, removed: the measured one
		# writes on memory just touched and freed (tmpfs) or reused (UMFS),
		# not on pages the VM may have handed back to its host meanwhile
		jobs+=(--name="warm-append.$rep" --filename="$dir/append" --rw=write
			--runtime="$RUNTIME" --unlink=1 --stonewall --new_group)
		jobs+=(--name="append.$rep" --filename="$dir/append" --rw=write --runtime="$RUNTIME"
			--unlink=1 --stonewall --new_group)
		bench_fio "$sys" "$out/$sys.$rep.json" --bs=4k --size="$FILE_SIZE" --randrepeat=0 \
			"${jobs[@]}"
	done
done
for sys in $systems; do
	sys_down "$sys"
done
log "fio: done"
