#!/bin/bash
# fallback.sh - what the kernel fallback costs: fio psync, one job, 4 KiB
# sequential read, random read and random overwrite of one laid-out file,
# reached three ways in one run:
#   tmpfs          the kernel's baseline;
#   umfs-strict    the library's fast path (LD_PRELOAD, a /dev/shm pool);
#   umfs-fallback  the same pool and file through umfs-run --fallback=on
#                  with the library dropped from fio's environment, so that
#                  every call reaches the kernel and the umfs-fuse mount
#                  umfs-run put at the prefix: what a static program, a Go
#                  program or an io_uring ring the library cannot follow gets.
# The repetitions go round the three in turn. The prefix of the fallback is
# a directory of this run's own (umfs-run mounts on it in a private mount
# namespace; nothing reaches the host's mounts).
# Output: $BENCH_OUT/fallback/SYSTEM.REP.json, jobs named WORKLOAD.REP.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/fallback
mkdir -p "$out"
RUN=$BENCH_BUILD/tools/umfs-run
[ -x "$RUN" ] || die "missing $RUN"
for sys in tmpfs umfs-strict; do
	sys_up "$sys"
	bench_layout "$sys" "$(sys_dir "$sys")/data" "$FILE_SIZE"
done
fb=$BENCH_TMP/fallback-prefix
mkdir -m 0755 "$fb"

# fio's arguments for repetition REP on the file PATH
fio_args() { # PATH REP
	local wl args=(--output-format=json --ioengine=psync --direct=0 --invalidate=0
		--fallocate=none --bs=4k --size="$FILE_SIZE" --randrepeat=0)
	for wl in read randread randwrite; do
		args+=(--name="$wl.$2" --filename="$1" --rw="$wl" --time_based
			--runtime="$RUNTIME" --stonewall --new_group)
	done
	printf '%s\n' "${args[@]}"
}

for rep in $(seq "$REPS"); do
	for sys in tmpfs umfs-strict umfs-fallback; do
		res=$out/$sys.$rep.json
		case $sys in
		umfs-fallback)
			mapfile -t args < <(fio_args "$fb/data" "$rep")
			UMFS_LIB=$SHIM_LIB timeout 600 "$RUN" --pool "${SYS_POOL[umfs-strict]}" \
				--mount "$fb" --fallback=on -- env -u LD_PRELOAD fio --output="$res" \
				"${args[@]}" || die "fio through the fallback failed (see $res)"
			;;
		*)
			mapfile -t args < <(fio_args "$(sys_dir "$sys")/data" "$rep")
			sys_run_t 600 "$sys" fio --output="$res" "${args[@]}" ||
				die "fio failed on $sys (see $res)"
			;;
		esac
		grep -q '"jobs"' "$res" || die "fio wrote no results to $res"
	done
done
for sys in tmpfs umfs-strict; do
	sys_down "$sys"
done
rmdir "$fb"
log "fallback: done"
