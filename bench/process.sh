#!/bin/bash
# process.sh - what a short process pays to carry and to join UMFS, on both
# placements of the pool (umfs-strict: /dev/shm, 4 KiB pages;
# umfs-strict-huge: tmpfs huge=always, 2 MiB pages), against tmpfs.
#
# One join, broken down by perf stat (-r PROC_REPS, task-clock and
# page-faults) of `cat` in four states; successive differences give its
# parts:
#   bare      cat of a 3-byte file on tmpfs, no library (the reference);
#   carried   the same under LD_PRELOAD of libumfs.so, the pool named, no
#             UMFS path touched: carried - bare is the loader's share
#             (loading libumfs.so and its start-up);
#   mounted   cat of a missing name in the pool: mounted - carried is the
#             mount (map the pool, join its lock region, one lookup);
#   joined    cat of a 3-byte file in the pool: joined - mounted is the
#             first open (open, read, close).
# The four states run back to back for each placement (bare again for
# each), and go round PROC_ROUNDS times, so that a slow spell of the shared
# machine hits them alike; the report takes medians over rounds of each
# round's differences and ratios.
# Then a shell loop of 100 cats of small files (`sh -c 'for ...; do cat
# DIR/fN; done'`, one new process per file; under the shim for UMFS: the
# shell joins, every cat joins), timed by bench/fresh_run: wall time, CPU
# time, page faults, PROC_REPS_LOOP runs, going round the systems. One more
# row, shell-carried, is the shell's own share: the shell carries the
# library (pool named, never joined) while its cats run bare on tmpfs's
# files, so that what it costs over tmpfs is the carried shell's own
# (its vforks stay real while it has not joined, vfork.c).
# Output: $BENCH_OUT/process/join.csv
#           placement,state,round,reps,task_ms,faults
#         $BENCH_OUT/process/catloop.csv
#           system,rep,files,seconds,cpu_seconds,minflt,majflt
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/process
mkdir -p "$out"
command -v perf >/dev/null || die "perf is not installed (bench/install-bench-deps.sh)"
run=$BENCH_BUILD/bench/fresh_run
[ -x "$run" ] || die "missing $run"
if [ "$BENCH_MODE" = full ]; then
	PROC_REPS=100 PROC_ROUNDS=5 PROC_REPS_LOOP=5
else
	PROC_REPS=30 PROC_ROUNDS=3 PROC_REPS_LOOP=3
fi
export UMFS_KMOD=0 LC_ALL=C
unset UMFS_LOG UMFS_STATS UMFS_STATS_FILE
systems="tmpfs umfs-strict umfs-strict-huge"
for sys in $systems; do
	sys_up "$sys" 64M
done
ref=$(sys_dir tmpfs)
printf abc >"$ref/t.txt"
for sys in $systems; do
	dir=$(sys_dir "$sys")
	[ "$sys" = tmpfs ] || sys_run_t 300 "$sys" sh -c "printf abc >'$dir/t.txt'" ||
		die "cannot write $dir/t.txt on $sys"
	sys_run_t 300 "$sys" mkdir "$dir/cats" || die "mkdir on $sys failed"
	sys_run_t 300 "$sys" sh -c "for i in \$(seq 100); do echo small file \$i >'$dir/cats/f'\$i; done" ||
		die "cannot write the small files on $sys"
done

# perf stat of one state: PLACEMENT STATE ROUND SYSTEM-ENV-OF CMD...
stat_one() {
	local placement=$1 state=$2 round=$3 envsys=$4 res=$BENCH_TMP/perf.out
	shift 4
	rm -f "$res"
	# The mounted state's cat fails (a missing name): its status is not checked,
	# its output is.
	sys_run_t 300 "$envsys" perf stat -o "$res" -x, -r "$PROC_REPS" \
		-e task-clock,page-faults "$@" >/dev/null 2>&1 || [ "$state" = mounted ] ||
		die "perf stat of $state failed on $placement: $*"
	awk -F, -v p="$placement" -v s="$state" -v r="$round" -v n="$PROC_REPS" '
		$3 == "task-clock" { t = $1 } $3 == "page-faults" { f = $1 }
		END { if (t == "" || f == "") exit 1
		      printf "%s,%s,%s,%s,%s,%s\n", p, s, r, n, t, f }' "$res" >>"$csv" ||
		die "no perf stat counts for $state on $placement (see $res)"
}

csv=$out/join.csv
echo "placement,state,round,reps,task_ms,faults" >"$csv"
for round in $(seq "$PROC_ROUNDS"); do
	for sys in umfs-strict umfs-strict-huge; do
		dir=$(sys_dir "$sys")
		p=shm
		[ "$sys" = umfs-strict-huge ] && p=huge
		# each placement's own reference, next to its states in time
		stat_one "$p" bare "$round" tmpfs cat "$ref/t.txt"
		stat_one "$p" carried "$round" "$sys" cat "$ref/t.txt"
		stat_one "$p" mounted "$round" "$sys" cat "$dir/absent"
		stat_one "$p" joined "$round" "$sys" cat "$dir/t.txt"
	done
done
log "process: join breakdown done"

csv=$out/catloop.csv
echo "system,rep,files,seconds,cpu_seconds,minflt,majflt" >"$csv"
for rep in $(seq "$PROC_REPS_LOOP"); do
	for sys in $systems shell-carried; do
		envsys=$sys unset_lib="" res=$BENCH_TMP/loop.res
		if [ "$sys" = shell-carried ]; then
			dir=$ref envsys=umfs-strict unset_lib="unset LD_PRELOAD UMFS_POOL UMFS_MOUNT;"
		else
			dir=$(sys_dir "$sys")
		fi
		rm -f "$res"
		# shellcheck disable=SC2046 # the assignments split into words safely
		timeout 300 "$run" "$res" $(sys_env "$envsys") sh -c \
			"$unset_lib for i in \$(seq 100); do cat '$dir/cats/f'\$i; done" >"$BENCH_TMP/loop.out" ||
			die "the cat loop failed on $sys"
		[ "$(wc -l <"$BENCH_TMP/loop.out")" -eq 100 ] || die "the cat loop on $sys read wrong"
		read -r secs minflt majflt cpu <"$res"
		echo "$sys,$rep,100,$secs,$cpu,$minflt,$majflt" >>"$csv"
	done
done
for sys in $systems; do
	sys_down "$sys"
done
log "process: done"
