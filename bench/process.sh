#!/bin/bash
# process.sh - what a short process pays to carry and to join UMFS, on both
# placements of the pool (umfs-strict: /dev/shm, 4 KiB pages;
# umfs-strict-huge: tmpfs huge=always, 2 MiB pages), against tmpfs.
#
# One join, broken down by the CPU time (task-clock) and page faults of
# `cat` in five states, counted from its exec as perf stat counts them;
# successive differences give its parts:
#   bare      cat of a 3-byte file on tmpfs, no library (the reference);
#   preloaded the same under LD_PRELOAD of an empty library
#             (preload_floor.c): preloaded - bare is what preloading any
#             library costs, the floor under the next part;
#   carried   the same under LD_PRELOAD of libumfs.so, the pool named, no
#             UMFS path touched: carried - preloaded is the loader's share
#             of libumfs.so beyond that floor (loading it and its
#             start-up);
#   mounted   cat of a missing name in the pool: mounted - carried is the
#             mount (map the pool, join its lock region, one lookup);
#   joined    cat of a 3-byte file in the pool: joined - mounted is the
#             first open (open, read, close).
# The four states take turns process by process (bench/alternate, bare
# again for each placement), PROC_REPS runs each, medians, so that a slow
# spell of the shared machine hits them alike; PROC_ROUNDS such rounds, and
# the report takes medians over rounds of each round's differences and
# ratios.
# Then a shell loop of 100 cats of small files (`sh -c 'for ...; do cat
# DIR/fN; done'`, one new process per file; under the shim for UMFS: the
# shell joins, every cat joins), timed by bench/fresh_run: wall time, CPU
# time, page faults, PROC_REPS_LOOP runs, going round the systems. One more
# row, shell-carried, is the shell's own share: the shell carries the
# library (pool named, never joined) while its cats run bare on tmpfs's
# files, so that what it costs over tmpfs is the carried shell's own
# (its vforks stay real while it has not joined, vfork.c). And
# tmpfs-preloaded: the loop on tmpfs's files with the empty library
# preloaded in the shell and every cat, what carrying any LD_PRELOAD library
# costs it (the floor of the loop's target).
# Output: $BENCH_OUT/process/join.csv
#           placement,state,round,reps,task_ms,faults
#         $BENCH_OUT/process/catloop.csv
#           system,rep,files,seconds,cpu_seconds,minflt,majflt
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/process
mkdir -p "$out"
run=$BENCH_BUILD/bench/fresh_run
alternate=$BENCH_BUILD/bench/alternate
floor_lib=$BENCH_BUILD/bench/libpreload_floor.so
for tool in "$run" "$alternate" "$floor_lib"; do
	[ -x "$tool" ] || die "missing $tool"
done
if [ "$BENCH_MODE" = full ]; then
	PROC_REPS=200 PROC_ROUNDS=5 PROC_REPS_LOOP=5
else
	PROC_REPS=60 PROC_ROUNDS=3 PROC_REPS_LOOP=3
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

# Each state's output is what it should be (the mounted state's cat fails:
# a missing name), so that the figures are of the work meant.
for sys in umfs-strict umfs-strict-huge; do
	dir=$(sys_dir "$sys")
	if [ "$(cat "$ref/t.txt")" != abc ] || [ "$(LD_PRELOAD="$floor_lib" cat "$ref/t.txt")" != abc ] ||
		[ "$(sys_run_t 300 "$sys" cat "$ref/t.txt")" != abc ] ||
		sys_run_t 300 "$sys" cat "$dir/absent" 2>/dev/null ||
		[ "$(sys_run_t 300 "$sys" cat "$dir/t.txt")" != abc ]; then
		die "cat in the join's states reads wrong on $sys"
	fi
done

csv=$out/join.csv
res=$BENCH_TMP/join.res
echo "placement,state,round,reps,task_ms,faults" >"$csv"
for round in $(seq "$PROC_ROUNDS"); do
	for sys in umfs-strict umfs-strict-huge; do
		dir=$(sys_dir "$sys")
		p=shm
		[ "$sys" = umfs-strict-huge ] && p=huge
		rm -f "$res"
		# each placement's own reference, in turn with its states;
		# shellcheck disable=SC2046 # the assignments split into words safely
		timeout 300 "$alternate" "$res" "$PROC_REPS" \
			bare cat "$ref/t.txt" ::: \
			preloaded LD_PRELOAD="$floor_lib" cat "$ref/t.txt" ::: \
			carried $(sys_env "$sys") cat "$ref/t.txt" ::: \
			mounted $(sys_env "$sys") cat "$dir/absent" ::: \
			joined $(sys_env "$sys") cat "$dir/t.txt" ||
			die "the join's states could not be counted on $sys"
		awk -v p="$p" -v r="$round" '{ printf "%s,%s,%s,%s,%s,%s\n", p, $1, r, $2, $3, $4 }' \
			"$res" >>"$csv"
	done
done
log "process: join breakdown done"

csv=$out/catloop.csv
echo "system,rep,files,seconds,cpu_seconds,minflt,majflt" >"$csv"
for rep in $(seq "$PROC_REPS_LOOP"); do
	for sys in $systems shell-carried tmpfs-preloaded; do
		envsys=$sys unset_lib="" res=$BENCH_TMP/loop.res floor_env=()
		if [ "$sys" = shell-carried ]; then
			dir=$ref envsys=umfs-strict unset_lib="unset LD_PRELOAD UMFS_POOL UMFS_MOUNT;"
		elif [ "$sys" = tmpfs-preloaded ]; then
			dir=$ref envsys=tmpfs floor_env=(LD_PRELOAD="$floor_lib")
		else
			dir=$(sys_dir "$sys")
		fi
		rm -f "$res"
		# shellcheck disable=SC2046 # the assignments split into words safely
		timeout 300 "$run" "$res" $(sys_env "$envsys") "${floor_env[@]}" sh -c \
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
