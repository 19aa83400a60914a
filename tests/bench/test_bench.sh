#!/bin/bash
# test_bench.sh - bench/floor, bench/sqlite_bench.py and bench/report.py's
# process, applications and floor sections: each runs and what it prints
# parses. Figures are not judged (benchmarks are not tests). TAP output.
#
#   test_bench.sh SRC BUILD
set -eu
src=$1 build=$2
tmp=$(mktemp -d /tmp/umfs-test-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { # NAME COMMAND...
	local name=$1
	shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n - $name"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name"
		sed 's/^/# /' "$tmp/out"
	fi
}
echo "1..12"

for f in fio.sh floor.sh process.sh apps.sh fallback.sh run.sh; do
	bash -n "$src/bench/$f" || { echo "Bail out! $f does not parse"; exit 1; }
done
ok "the new bench scripts parse" true

floor_touch() {
	head -c 1048576 /dev/urandom >"$tmp/pool"
	cp "$tmp/pool" "$tmp/pool.before"
	"$build/bench/floor" touch "$tmp/pool" && cmp "$tmp/pool" "$tmp/pool.before"
}
ok "floor touch leaves every byte as it was" floor_touch

floor_run() {
	timeout 60 "$build/bench/floor" run "$tmp/floor" 2 1 >"$tmp/floor.out" &&
		[ "$(wc -l <"$tmp/floor.out")" -eq 10 ] &&
		awk -F, 'NF != 3 || $1 !~ /^(memcpy|durable|clwb|undo|read)$/ ||
			$2 !~ /^(rand|seq)$/ || $3 !~ /^[0-9.]+$/ { exit 1 }' "$tmp/floor.out"
}
ok "floor run prints 10 lines op,pattern,ns" floor_run

# The core's overwrite in every mode, on a small pool: three CSV lines,
# and the pool removed after.
overwrite_run() {
	PMEM_IS_PMEM_FORCE=1 timeout 60 "$build/bench/overwrite_bench" -c -n 2000 -s 8M \
		-p "$tmp/ow.pool" >"$tmp/ow.out" &&
		[ "$(cut -d, -f1 "$tmp/ow.out" | tr '\n' ' ')" = "strict undo relaxed " ] &&
		awk -F, 'NF != 2 || $2 !~ /^[0-9.]+$/ || $2 <= 0 { exit 1 }' "$tmp/ow.out" &&
		[ ! -e "$tmp/ow.pool" ]
}
ok "overwrite_bench -c prints strict, undo and relaxed as mode,ns" overwrite_run

sqlite_run() {
	timeout 60 python3 "$src/bench/sqlite_bench.py" "$tmp/t.db" 50 >"$tmp/sql.out" &&
		grep -Eq '^commits,[0-9.]+$' "$tmp/sql.out" && grep -Eq '^selects,[0-9.]+$' "$tmp/sql.out"
}
ok "sqlite_bench.py prints commits and selects" sqlite_run

# A results folder as process.sh, apps.sh and floor.sh write it (figures
# made up, the floor's from the run above).
res=$tmp/results
mkdir -p "$res/process" "$res/apps" "$res/floor"
{
	echo "placement,op,pattern,ns"
	sed 's/^/shm,/' "$tmp/floor.out"
	sed 's/^/huge,/' "$tmp/floor.out"
} >"$res/floor/floor.csv"
{
	echo "placement,state,round,reps,task_ms,faults"
	echo "tmpfs,bare,1,30,1.0,50"
	for p in shm huge; do
		echo "$p,preloaded,1,30,1.05,55"
		echo "$p,carried,1,30,1.1,60"
		echo "$p,mounted,1,30,1.5,90"
		echo "$p,joined,1,30,1.6,100"
	done
} >"$res/process/join.csv"
{
	echo "system,rep,files,seconds,cpu_seconds,minflt,majflt"
	for s in tmpfs umfs-strict umfs-strict-huge; do echo "$s,1,100,0.2,0.2,5000,0"; done
	echo "shell-carried,1,100,0.4,0.4,9000,0"
	echo "tmpfs-preloaded,1,100,0.25,0.25,6000,0"
} >"$res/process/catloop.csv"
{
	echo "system,app,metric,rep,value"
	for s in tmpfs umfs-strict umfs-strict-huge; do
		echo "$s,sqlite,commits/s,1,20000"
		echo "$s,sqlite,selects/s,1,90000"
		echo "$s,make,seconds,1,3.0"
		echo "$s,make,cpu_seconds,1,5.0"
		echo "$s,make,faults,1,120000"
	done
	echo "tmpfs-preloaded,make,seconds,1,3.3"
} >"$res/apps/apps.csv"
printf 'mode=quick\nload_start_process=0.1 0.1 0.1\nothers_cores_process=0.01\n' >"$res/run.txt"

report() {
	python3 "$src/bench/report.py" "$res" --doc "$tmp/perf.md" --plots "$tmp/png" &&
		grep -q '^## 8\. Process' "$tmp/perf.md" &&
		grep -q '^## 9\. Applications' "$tmp/perf.md" &&
		grep -q '^## 10\. The floors of a write and a read' "$tmp/perf.md" &&
		grep -q '^| joined | .* | first open: ' "$tmp/perf.md" &&
		grep -q "^| carried | .* | libumfs.so's loading: +0.050 ms, +5 faults | " "$tmp/perf.md" &&
		grep -q '^| shell-carried | 0.40 s (0.50×) | 0.40 s | 9,000 | 1 |' "$tmp/perf.md" &&
		grep -q 'db_bench was not run' "$tmp/perf.md"
}
ok "report.py renders the process, applications and floor sections" report

targets() {
	grep -q '^| a process that opens and reads a 3-byte file (cat): CPU time, × tmpfs | 1.60× | ≤ 1.50× | \*\*missed\*\* | 1.60×, \*\*missed\*\*' "$tmp/perf.md" &&
		grep -q '^| SQLite, point selects/s | 1.00× | ≥ 1.0× | \*\*met\*\*' "$tmp/perf.md" &&
		grep -q '^| RocksDB db_bench fillrandom, 300k keys, ops/s | not run: db_bench missing' "$tmp/perf.md" &&
		grep -q '^| a shell loop of 100 cats of small files | 1.00× | ≥ 1.0× | \*\*met\*\*' "$tmp/perf.md"
}
ok "report.py judges the new targets on both placements" targets

# The process targets' floor: the same process with an empty library
# preloaded (1.05 ms and 55 faults against bare's 1.0 ms and 50); the
# shell loop's and make's: the loop 0.25 s against 0.2 s, make 3.3 s
# against 3.0 s, on tmpfs with it preloaded.
preload_floor() {
	grep -q '^| a process that opens and reads a 3-byte file (cat): CPU time, × tmpfs | .* | an empty preload: 1.05×; 2 MiB: 1.05× | process: quiet |$' "$tmp/perf.md" &&
		grep -q '^| the same: page faults, × tmpfs | .* | an empty preload: 1.10×; 2 MiB: 1.10× | process: quiet |$' "$tmp/perf.md" &&
		grep -q '^| a preloaded process touching no UMFS path (cat of a tmpfs file): CPU over a bare one | 0.100 ms | .* | an empty preload: +0.050 ms; 2 MiB: +0.050 ms | process: quiet |$' "$tmp/perf.md" &&
		grep -q '^| a shell loop of 100 cats of small files | 1.00× | .* | an empty preload: 0.80× | process: quiet |$' "$tmp/perf.md" &&
		grep -q '^| make -j2 of a C project of 60 sources | 1.00× | .* | an empty preload: 0.91× | ' "$tmp/perf.md" &&
		grep -q '^| tmpfs-preloaded | 0.25 s (0.80×) | 0.25 s | 6,000 | 1 |' "$tmp/perf.md" &&
		grep -q '^| make -j2, 60 sources: wall time | 3.00 s (1.00×) | 3.00 s (1.00×) | 3.00 s (1.00×) | 3.30 s (0.91×) |' "$tmp/perf.md"
}
ok "report.py puts an empty preload beside the process targets, the loop and make" preload_floor

# The floor of a 4 KiB read beside fio's reads: tmpfs 1,000,000 reads/s
# (1,000 ns), the copy 500 ns random and 250 ns in order (half that on
# 2 MiB pages), fio's own 500 ns a request (null engine, 2,000,000/s).
read_floor() {
	local r2=$tmp/results-read
	mkdir -p "$r2/fio" "$r2/floor" "$r2/overhead"
	printf 'placement,op,pattern,ns\nshm,read,rand,500\nshm,read,seq,250\nhuge,read,rand,250\nhuge,read,seq,125\n' \
		>"$r2/floor/floor.csv"
	python3 - "$r2" <<'PY' &&
import json, sys
def job(name, iops):
    s = {"io_bytes": 4096, "iops": iops, "bw": iops * 4,
         "clat_ns": {"mean": 1e9 / iops, "percentile": {"99.000000": 2e9 / iops}}}
    z = {"io_bytes": 0, "iops": 0, "bw": 0, "clat_ns": {"mean": 0}}
    return {"jobname": name, "read": s, "write": z}
for name, iops in (("tmpfs", 1e6), ("umfs-strict", 2e6)):
    json.dump({"jobs": [job("read.1", iops), job("randread.1", iops)]},
              open("%s/fio/%s.1.json" % (sys.argv[1], name), "w"))
json.dump({"jobs": [job("null", 2e6)]}, open("%s/overhead/null.1.json" % sys.argv[1], "w"))
PY
		python3 "$src/bench/report.py" "$r2" --doc "$tmp/perf-read.md" --plots "$tmp/png" &&
		grep -q "^| 4 KiB random read | 2.00× | ≥ 3.0× | \*\*missed\*\* | .* | copy 2.0×, with fio's own 1.0×; 2 MiB: copy 4.0×, with fio's own 1.3× |" "$tmp/perf-read.md" &&
		grep -q "^| 4 KiB sequential read | 2.00× | ≥ 3.0× | \*\*missed\*\* | .* | copy 4.0×, with fio's own 1.3×; 2 MiB: copy 8.0×, with fio's own 1.6× |" "$tmp/perf-read.md"
}
ok "report.py puts the read floor, with and without fio's own cost, beside fio's reads" read_floor

# The core's strict overwrite over the durable-copy floor: clwb 500 ns
# on /dev/shm and 400 on 2 MiB pages; strict 600 ns on both (1.20×, met;
# 1.50×, missed), undo 1,500 and 1,200, relaxed 400 and 300.
overwrite_floor() {
	local r4=$tmp/results-ow
	mkdir -p "$r4/floor" "$r4/fio"
	# a system for the report to be about: tmpfs's random overwrites
	python3 - "$r4" <<'PY' || return 1
import json, sys
s = {"io_bytes": 4096, "iops": 1e6, "bw": 4e6,
     "clat_ns": {"mean": 1000, "percentile": {"99.000000": 2000}}}
z = {"io_bytes": 0, "iops": 0, "bw": 0, "clat_ns": {"mean": 0}}
json.dump({"jobs": [{"jobname": "randwrite.1", "read": z, "write": s}]},
          open("%s/fio/tmpfs.1.json" % sys.argv[1], "w"))
PY
	printf 'placement,op,pattern,ns\nshm,clwb,rand,500\nhuge,clwb,rand,400\n' >"$r4/floor/floor.csv"
	printf 'placement,mode,ns\nshm,strict,600\nshm,undo,1500\nshm,relaxed,400\nhuge,strict,600\nhuge,undo,1200\nhuge,relaxed,300\n' \
		>"$r4/floor/overwrite.csv"
	python3 "$src/bench/report.py" "$r4" --doc "$tmp/perf-ow.md" --plots "$tmp/png" &&
		grep -q '^| strict 4 KiB random overwrite in the core (bench/overwrite_bench), time × the durable-copy floor (memcpy + clwb + sfence) | 1.20× | ≤ 1.30× | \*\*met\*\* | 1.50×, \*\*missed\*\* | undo path 3.00×, relaxed 0.80×; 2 MiB: undo path 3.00×, relaxed 0.75× |' "$tmp/perf-ow.md" &&
		grep -q '^| strict: the new 4 KiB in a spare page, swapped in by a U-Log record | 600 ns (1.20×) | 600 ns (1.50×) |$' "$tmp/perf-ow.md" &&
		grep -q '^| relaxed: written over in place, durable, not failure-atomic | 400 ns (0.80×) | 300 ns (0.75×) |$' "$tmp/perf-ow.md"
}
ok "report.py judges the core's strict overwrite against the durable-copy floor" overwrite_floor

# fallback.sh's fio results: IOPS 100,000 on tmpfs, 400,000 through the
# library and 5,000 through the fallback, every workload.
fallback_report() {
	mkdir -p "$res/fallback"
	python3 - "$res/fallback" <<'PY' &&
import json, sys
for name, iops in (("tmpfs", 1e5), ("umfs-strict", 4e5), ("umfs-fallback", 5e3)):
    jobs = []
    for wl in ("read", "randread", "randwrite"):
        d = "write" if wl == "randwrite" else "read"
        s = {"io_bytes": 4096, "iops": iops, "bw": iops * 4,
             "clat_ns": {"mean": 1e9 / iops, "percentile": {"99.000000": 2e9 / iops}}}
        z = {"io_bytes": 0, "iops": 0, "bw": 0, "clat_ns": {"mean": 0}}
        jobs.append({"jobname": wl + ".1", "read": s if d == "read" else z,
                     "write": s if d == "write" else z})
    json.dump({"jobs": jobs}, open("%s/%s.1.json" % (sys.argv[1], name), "w"))
PY
		python3 "$src/bench/report.py" "$res" --doc "$tmp/perf.md" --plots "$tmp/png" &&
		grep -q '^## 11\. The kernel fallback' "$tmp/perf.md" &&
		grep -q '^| 4 KiB random read | UMFS through the kernel fallback | 5,000 | .* | 0.05× | 0.01× | 1 |' "$tmp/perf.md" &&
		grep -q '^| 4 KiB random overwrite | UMFS, the library (fast path) | 400,000 | .* | 4.00× | 1.00× | 1 |' "$tmp/perf.md"
}
ok "report.py renders the fallback section against tmpfs and the fast path" fallback_report
# db_bench with its bound: tmpfs 100,000 puts/s and 200,000 reads/s,
# UMFS 110,000 and 240,000, tmpfs with the file calls taken out 150,000
# and 300,000.
db_bench_bound() {
	local r3=$tmp/results-db sv sys fill rd
	mkdir -p "$r3/apps"
	{
		echo "system,app,metric,rep,value"
		for sv in tmpfs,100000,200000 umfs-strict,110000,240000 umfs-strict-huge,110000,240000 \
			tmpfs-bound,150000,300000; do
			IFS=, read -r sys fill rd <<<"$sv"
			echo "$sys,db_bench,fillrandom ops/s,1,$fill"
			echo "$sys,db_bench,readrandom ops/s,1,$rd"
		done
	} >"$r3/apps/apps.csv"
	python3 "$src/bench/report.py" "$r3" --doc "$tmp/perf-db.md" --plots "$tmp/png" &&
		grep -q '^| RocksDB db_bench fillrandom, 300k keys, ops/s | 1.10× | ≥ 1.3× | \*\*missed\*\* | .* | bound, file calls taken out (no WAL): 1.50× | ' "$tmp/perf-db.md" &&
		grep -q '^| RocksDB db_bench readrandom, 300k keys, ops/s | 1.20× | ≥ 1.3× | \*\*missed\*\* | .* | bound, file calls taken out (the table in the block cache): 1.50× | ' "$tmp/perf-db.md" &&
		grep -q '^| db_bench fillrandom, ops/s | 100,000 (1.00×) | 110,000 (1.10×) | 110,000 (1.10×) | 150,000 (1.50×) |' "$tmp/perf-db.md"
}
ok "report.py puts tmpfs with the file calls taken out beside db_bench" db_bench_bound
[ $failed -eq 0 ]
