#!/bin/bash
# smallfile.sh - measurement 6b: small-file workloads from Debian's packages,
# run unmodified (under the shim for UMFS): postmark (files of 500 B..10 KB,
# create/read/append/delete transactions; timed here, as postmark's own clock
# has one-second resolution) and dbench (one client, its NetBench load).
# Output: $BENCH_OUT/smallfile/smallfile.csv, the tools' output beside it.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/smallfile
mkdir -p "$out"
command -v postmark >/dev/null || die "postmark is not installed (bench/install-bench-deps.sh)"
command -v dbench >/dev/null || die "dbench is not installed (bench/install-bench-deps.sh)"
if [ "$BENCH_MODE" = full ]; then
	pm_files=20000 pm_tx=100000 db_time=10
else
	pm_files=2000 pm_tx=10000 db_time=3
fi
csv=$out/smallfile.csv
echo "system,tool,metric,value" >"$csv"
for sys in $(bench_systems); do
	sys_up "$sys"
	dir=$(sys_dir "$sys")
	# REPS runs each (dbench's throughput falls in one of two bands from
	# run to run on a shared machine); FUSE, which no target rides on, once
	for rep in $(seq "$REPS"); do
		[ "$sys" = umfs-fuse ] && [ "$rep" -gt 1 ] && continue
		sys_run "$sys" mkdir "$dir/pm$rep" "$dir/db$rep" || die "mkdir on $sys failed"
		cfg=$BENCH_TMP/postmark.cfg
		printf 'set location %s\nset number %d\nset transactions %d\nset buffering false\nrun\nquit\n' \
			"$dir/pm$rep" "$pm_files" "$pm_tx" >"$cfg"
		pm_out=$out/postmark-$sys.$rep.txt db_out=$out/dbench-$sys.$rep.txt
		t0=$(date +%s.%N)
		sys_run "$sys" postmark "$cfg" >"$pm_out" 2>&1 || die "postmark failed on $sys"
		t1=$(date +%s.%N)
		grep -q 'Deleting files...Done' "$pm_out" || die "postmark did not finish on $sys"
		awk -v s="$sys" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s,postmark,seconds,%.3f\n", s, b - a }' >>"$csv"
		sys_run "$sys" dbench -D "$dir/db$rep" -t "$db_time" 1 >"$db_out" 2>&1 ||
			die "dbench failed on $sys"
		mbs=$(sed -n 's/^Throughput \([0-9.]*\) MB\/sec.*/\1/p' "$db_out")
		[ -n "$mbs" ] || die "no throughput in dbench output on $sys"
		echo "$sys,dbench,MB/s,$mbs" >>"$csv"
	done
	sys_down "$sys"
done
log "smallfile: done"
