#!/bin/bash
# jobs.sh - measurement 3, the paper's figure 6: 1 and 2 fio jobs (processes),
# each on its own laid-out file of FILE_SIZE, 4 KiB random read and random
# overwrite, aggregate throughput (group_reporting), on every system. The
# machine has 2 cores. One fio invocation per system, one group per case,
# named WORKLOAD-NJ. Output: $BENCH_OUT/jobs/SYSTEM.json
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/jobs
for sys in $(bench_systems); do
	sys_up "$sys"
	dir=$(sys_dir "$sys")
	bench_layout "$sys" "$dir/job.0" "$FILE_SIZE"
	bench_layout "$sys" "$dir/job.1" "$FILE_SIZE"
	jobs=()
	for wl in randread randwrite; do
		for j in 1 2; do
			# job N of a case works on file job.N: its own file
			jobs+=(--name="$wl-${j}j" --numjobs="$j" --rw="$wl" --time_based
				--runtime="$RUNTIME" --stonewall --new_group)
		done
	done
	# fio expands $jobnum itself
	# shellcheck disable=SC2016
	bench_fio "$sys" "$out/$sys.json" --directory="$dir" --filename_format='job.$jobnum' \
		--group_reporting --bs=4k --size="$FILE_SIZE" --randrepeat=0 "${jobs[@]}"
	sys_down "$sys"
done
log "jobs: done"
