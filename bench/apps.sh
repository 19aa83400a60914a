#!/bin/bash
# apps.sh - applications, run unmodified (under the shim for UMFS), on the
# pool in /dev/shm (umfs-strict), on 2 MiB pages (umfs-strict-huge) and on
# tmpfs, the reference:
#   sqlite    python3's sqlite3 module (bench/sqlite_bench.py): WAL,
#             synchronous=FULL, APPS_SQL_N single-row commits, then as many
#             point selects; commits/s and selects/s
#   db_bench  RocksDB's db_bench (Debian's rocksdb-tools): fillrandom of
#             300,000 keys (100-byte values, no compression), the memtable
#             flushed and the table compacted, then readrandom; ops/s of
#             each. All 300,000 keys fit in the 64 MiB memtable: without the
#             flush, readrandom reads no file at all. After it, a read that
#             misses the 8 MiB block cache (about two in three) is a pread
#             of the 23 MB table
#   make      make -j2 of a generated C project: 60 sources and a header,
#             objects and the program in the file system (gcc -O0); wall time,
#             CPU time and page faults from bench/fresh_run, after an
#             untimed build and clean. Once more on tmpfs with an empty
#             library preloaded in every process (preload_floor.c), as
#             system tmpfs-preloaded: what carrying any LD_PRELOAD library
#             costs the build, the floor of the target
#   tmpfs-bound db_bench once more on tmpfs with the file calls of its timed
#             phases taken out: fillrandom without its WAL (RocksDB's
#             --disable_wal: no write per key) and readrandom with a block
#             cache that holds the whole table (a block is read from the
#             file once at most). What a file system whose calls cost
#             nothing could reach at most: the bound of the db_bench targets
# All systems are up at once; in each of the APPS_REPS repetitions every
# application runs on every system back to back. Every run is checked (row
# counts, db_bench's "found" count (over half the reads), the built
# program's output). (git status, tar -x and find + stat are fresh.sh's.)
# Output: $BENCH_OUT/apps/apps.csv  system,app,metric,rep,value
#         and the tools' output beside it
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/apps
mkdir -p "$out"
run=$BENCH_BUILD/bench/fresh_run
floor_lib=$BENCH_BUILD/bench/libpreload_floor.so
for f in "$run" "$floor_lib"; do
	[ -x "$f" ] || die "missing $f"
done
command -v gcc >/dev/null || die "gcc is not installed (tools/install-deps.sh)"
command -v make >/dev/null || die "make is not installed (tools/install-deps.sh)"
python3 -c 'import sqlite3' || die "python3 has no sqlite3 module"
# Every application's figure swings by a tenth or more from run to run
# on this VM (SQLite's commits/s on tmpfs, five runs of 10,000: 67k-84k),
# so even quick mode takes the median of three rounds going round the
# systems, with enough commits for each to last a while.
if [ "$BENCH_MODE" = full ]; then
	APPS_REPS=5 APPS_SQL_N=10000 APPS_DB_READS=300000
else
	APPS_REPS=3 APPS_SQL_N=5000 APPS_DB_READS=100000
fi
APPS_DB_KEYS=300000
have_db_bench=1
command -v db_bench >/dev/null || have_db_bench=0
systems="tmpfs umfs-strict umfs-strict-huge"
csv=$out/apps.csv
echo "system,app,metric,rep,value" >"$csv"
[ $have_db_bench -eq 1 ] ||
	log "apps: db_bench is not installed (rocksdb-tools, bench/install-bench-deps.sh): no db_bench rows"

# The C project, made on the host once: 60 sources of 20 functions, a
# header every one includes, and a Makefile that puts objects in obj/.
proj=$BENCH_TMP/proj
mkdir -p "$proj/src"
{
	echo '#include <stdio.h>'
	for i in $(seq 60); do echo "long m$i(long x);"; done
} >"$proj/src/all.h"
for i in $(seq 60); do
	{
		echo '#include "all.h"'
		for j in $(seq 20); do
			echo "static long f$j(long x) { long s = x; for (int i = 0; i < $j; i++) s = s * 31 + i; return s; }"
		done
		printf 'long m%d(long x) { return %s; }\n' "$i" \
			"$(for j in $(seq 20); do printf 'f%d(x) ^ ' "$j"; done)$i"
	} >"$proj/src/m$i.c"
done
{
	echo '#include "all.h"'
	echo 'int main(void) { long s = 0;'
	for i in $(seq 60); do echo "s += m$i($i);"; done
	printf '%s\n' 'printf("%ld\n", s); return 0; }'
} >"$proj/src/main.c"
cat >"$proj/Makefile" <<'MK'
SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=obj/%.o)
prog: $(OBJS)
	$(CC) -o $@ $(OBJS)
obj/%.o: src/%.c src/all.h | obj
	$(CC) -O0 -c -o $@ $<
obj:
	mkdir -p obj
clean:
	rm -rf obj prog
MK
(cd "$proj" && timeout 300 make -s -j2 >/dev/null && timeout 10 ./prog >"$BENCH_TMP/prog.expect" &&
	make -s clean) || die "the C project does not build on the host"

for sys in $systems; do
	sys_up "$sys" 1024M
	dir=$(sys_dir "$sys")
	sys_run_t 300 "$sys" cp -r "$proj" "$dir/proj" || die "cannot copy the project to $sys"
	# untimed: the first build brings gcc's files into the page cache
	sys_run_t 600 "$sys" make -s -j2 -C "$dir/proj" >/dev/null ||
		die "make failed on $sys"
	sys_run_t 300 "$sys" make -s -C "$dir/proj" clean || die "make clean failed on $sys"
done

# make -j2 of the project on SYS, with the NAME=VALUE assignments added to
# its environment; its figures go to the table as LABEL's, once the program
# it built prints the right sum; then make clean.
make_timed() { # LABEL SYS REP [NAME=VALUE...]
	local label=$1 sys=$2 rep=$3 dir r=$BENCH_TMP/make.res secs minflt majflt cpu
	shift 3
	dir=$(sys_dir "$sys")
	rm -f "$r"
	# shellcheck disable=SC2046 # the assignments split into words safely
	timeout 600 "$run" "$r" $(sys_env "$sys") "$@" make -s -j2 -C "$dir/proj" >/dev/null ||
		die "make -j2 failed on $label"
	# the program, copied out and run on the host
	sys_run_t 300 "$sys" cat "$dir/proj/prog" >"$BENCH_TMP/prog" || die "cannot read prog on $label"
	chmod +x "$BENCH_TMP/prog"
	timeout 10 "$BENCH_TMP/prog" | cmp -s - "$BENCH_TMP/prog.expect" ||
		die "the program make built on $label prints the wrong sum"
	read -r secs minflt majflt cpu <"$r"
	{
		echo "$label,make,seconds,$rep,$secs"
		echo "$label,make,cpu_seconds,$rep,$cpu"
		echo "$label,make,faults,$rep,$((minflt + majflt))"
	} >>"$csv"
	sys_run_t 300 "$sys" make -s -C "$dir/proj" clean || die "make clean failed on $label"
}

# SQLite on SYS, run REP: its commits/s and selects/s to the table.
sqlite_timed() { # SYS REP
	local sys=$1 rep=$2 dir res m v
	dir=$(sys_dir "$sys") res=$out/sqlite-$sys.$rep.txt
	sys_run_t 600 "$sys" python3 "$BENCH_SRC/bench/sqlite_bench.py" \
		"$dir/sql$rep.db" "$APPS_SQL_N" >"$res" 2>&1 || die "sqlite failed on $sys: $(tail -n 3 "$res")"
	for m in commits selects; do
		v=$(sed -n "s/^$m,//p" "$res")
		[ -n "$v" ] || die "no $m figure from sqlite on $sys"
		echo "$sys,sqlite,$m/s,$rep,$v" >>"$csv"
	done
	sys_run_t 300 "$sys" rm -f "$dir/sql$rep.db" "$dir/sql$rep.db-wal" "$dir/sql$rep.db-shm"
}

# db_bench on SYS, run REP, with the options added; its fillrandom and
# readrandom ops/s go to the table as LABEL's, once readrandom found over
# half its keys.
db_bench_timed() { # LABEL SYS REP [OPTION...]
	local label=$1 sys=$2 rep=$3 dir res found b v
	shift 3
	dir=$(sys_dir "$sys") res=$out/db_bench-$label.$rep.txt
	sys_run_t 900 "$sys" db_bench --db="$dir/rocks$rep" \
		--benchmarks=fillrandom,flush,compactall,readrandom --num="$APPS_DB_KEYS" \
		--reads="$APPS_DB_READS" --value_size=100 --compression_type=none \
		--threads=1 --histogram=0 "$@" >"$res" 2>&1 ||
		die "db_bench failed on $label: $(tail -n 3 "$res")"
	# fillrandom draws its keys at random: about 63% of them are
	# distinct, and readrandom finds as many
	found=$(sed -n "s/.*(\([0-9]*\) of $APPS_DB_READS found).*/\1/p" "$res")
	if [ -z "$found" ] || [ "$found" -le $((APPS_DB_READS / 2)) ]; then
		die "db_bench readrandom on $label found ${found:-no} keys (see $res)"
	fi
	for b in fillrandom readrandom; do
		v=$(awk -v b="$b" '$1 == b && $2 == ":" { for (i = 3; i < NF; i++)
			if ($(i + 1) == "ops/sec;" || $(i + 1) == "ops/sec") print $i }' "$res")
		[ -n "$v" ] || die "no $b figure from db_bench on $label (see $res)"
		echo "$label,db_bench,$b ops/s,$rep,$v" >>"$csv"
	done
	sys_run_t 300 "$sys" rm -rf "$dir/rocks$rep"
}

# Each application runs on every system back to back, so that a slow
# spell of the shared machine (they last seconds) falls on all of them.
for rep in $(seq "$APPS_REPS"); do
	for sys in $systems; do
		sqlite_timed "$sys" "$rep"
	done
	if [ $have_db_bench -eq 1 ]; then
		for sys in $systems; do
			db_bench_timed "$sys" "$sys" "$rep"
		done
		# tmpfs-bound: the same on tmpfs with the timed phases' file calls
		# taken out (no WAL; a block cache that holds the whole table):
		# what a file system whose calls cost nothing could reach at most
		db_bench_timed tmpfs-bound tmpfs "$rep" --disable_wal=1 --cache_size=1073741824
	fi
	for sys in $systems; do
		make_timed "$sys" "$sys" "$rep"
	done
	make_timed tmpfs-preloaded tmpfs "$rep" LD_PRELOAD="$floor_lib"
	log "apps: run $rep done"
done
for sys in $systems; do
	sys_down "$sys"
done
log "apps: done"
