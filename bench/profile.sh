#!/bin/bash
# profile.sh - where UMFS spends its time in the workloads whose targets it
# tends to miss: perf record (sampling, all of user and kernel) of the UMFS
# run, then its top functions by self time. Not a measurement: perf slows
# the run down; the figures come from the other scripts.
#
#   bench/profile.sh [WORKLOAD...]    default: all of them
#
# Workloads (UMFS strict through the shim unless named): append, randwrite,
# randwrite-relaxed, jobs-randwrite (2 fio processes), meta (create, stat,
# readdir, unlink), open (open + read + close of one file), pread-seq.
# Output: $BENCH_OUT/profile/WORKLOAD.txt (top 10 of `perf report`, then the
# top 5 objects). fio's own timing (clock_gettime, about 20% of a 4 KiB run
# on this VM) shows up on every file system alike.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

command -v perf >/dev/null || die "perf is not installed (bench/install-bench-deps.sh)"
out=$BENCH_OUT/profile
mkdir -p "$out"
workloads=${*:-append randwrite randwrite-relaxed jobs-randwrite meta open pread-seq}

# perf record of CMD on SYSTEM, top 10 (dso, symbol) by self time into OUT.
profile() { # NAME SYSTEM CMD...
	local name=$1 sys=$2 data=$BENCH_TMP/$1.perf
	shift 2
	# perf itself stays off the shim; only the workload runs on UMFS
	# shellcheck disable=SC2046
	perf record -q -F 2999 -o "$data" -- env $(sys_env "$sys") "$@" >"$BENCH_TMP/$name.log" 2>&1 ||
		die "perf record of $name failed: $(tail -n 3 "$BENCH_TMP/$name.log")"
	{
		echo "# $name: perf record -F 2999 of: $*"
		echo "# self%  dso  symbol"
		perf report -i "$data" --stdio --no-children --sort dso,symbol 2>/dev/null |
			awk '/^ *[0-9.]+%/ && n < 10 { n++; $1 = $1; sub(/( -)+$/, ""); print }'
		echo "# by object: $(perf report -i "$data" --stdio --no-children --sort dso 2>/dev/null |
			awk '/^ *[0-9.]+%/ && n < 5 { n++; printf "%s %s; ", $1, $2 }')"
	} >"$out/$name.txt"
	grep -q '%' "$out/$name.txt" || die "perf report of $name is empty"
	log "profile: $name"
}

rt=$RUNTIME
for wl in $workloads; do
	sys=umfs-strict
	[ "$wl" = randwrite-relaxed ] && sys=umfs-relaxed
	sys_up "$sys"
	dir=$(sys_dir "$sys")
	case $wl in
	append)
		profile "$wl" "$sys" fio --name=append --filename="$dir/append" --ioengine=psync \
			--rw=write --bs=4k --size="$FILE_SIZE" --fallocate=none --output=/dev/null
		;;
	randwrite | randwrite-relaxed)
		bench_layout "$sys" "$dir/data" "$FILE_SIZE"
		profile "$wl" "$sys" fio --name=randwrite --filename="$dir/data" --ioengine=psync \
			--rw=randwrite --bs=4k --size="$FILE_SIZE" --time_based --runtime="$rt" \
			--output=/dev/null
		;;
	jobs-randwrite)
		bench_layout "$sys" "$dir/job.0" "$FILE_SIZE"
		bench_layout "$sys" "$dir/job.1" "$FILE_SIZE"
		# shellcheck disable=SC2016 # fio expands $jobnum itself
		profile "$wl" "$sys" fio --name=randwrite --directory="$dir" --filename_format='job.$jobnum' \
			--numjobs=2 --ioengine=psync --rw=randwrite --bs=4k --size="$FILE_SIZE" \
			--time_based --runtime="$rt" --output=/dev/null
		;;
	meta)
		profile "$wl" "$sys" "$BENCH_BUILD/bench/meta" "$dir" "$sys" "$META_N"
		;;
	open)
		profile "$wl" "$sys" "$BENCH_BUILD/bench/opentime" open "$dir" "$sys" 4096 "$rt"
		;;
	pread-seq)
		profile "$wl" "$sys" "$BENCH_BUILD/bench/pread_overhead" posix "$dir/overhead" \
			"${SYS_POOL[$sys]}" shim
		;;
	*) die "unknown workload '$wl'" ;;
	esac
	sys_down "$sys"
done
log "profile: done"
