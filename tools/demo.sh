#!/usr/bin/env bash
# demo.sh - the main job: make a pool with mkfs.umfs, run unmodified
# programs on it through the LD_PRELOAD shim (umfs-run), print the shim's
# UMFS_STATS summary, then check the pool with fsck.umfs.
#
#   BUILDDIR=build tools/demo.sh
#
# Steps: mkfs.umfs; umfs-demo (the C API); a shell pipeline under the shim
# whose sha256 must equal the same pipeline's on tmpfs; sqlite3 under the
# shim (10,000 inserts in a transaction, an index, integrity check, a
# reopen and a query) with its UMFS_STATS summary; fsck.umfs -n -f.
#
# Environment: BUILDDIR (default build), UMFS_DEMO_POOL (default a new file on
# /dev/shm), UMFS_DEMO_SIZE (default 256M), UMFS_DEMO_BIG_MIB (default 64),
# UMFS_DEMO_KEEP=1 to keep the pool afterwards.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-build}
case $builddir in /*) ;; *) builddir=$here/$builddir ;; esac

mkfs_bin=$builddir/mkfs/mkfs.umfs
demo_bin=$builddir/tools/umfs-demo
fsck_bin=$builddir/fsck/fsck.umfs
run_bin=$builddir/tools/umfs-run
shim_lib=$builddir/libumfs/libumfs.so

for bin in "$mkfs_bin" "$demo_bin" "$fsck_bin" "$run_bin" "$shim_lib"; do
	if [ ! -e "$bin" ]; then
		echo "demo: $bin is missing; build first (make build)" >&2
		exit 1
	fi
done
for prog in sqlite3 sha256sum gzip; do
	if ! command -v "$prog" >/dev/null; then
		echo "demo: $prog is missing; run tools/install-deps.sh" >&2
		exit 1
	fi
done

# /dev/shm is tmpfs: UMFS treats it as emulated persistent memory.
shmdir=/dev/shm
[ -d "$shmdir" ] && [ -w "$shmdir" ] || shmdir=${TMPDIR:-/tmp}
if [ -z "${UMFS_DEMO_POOL:-}" ]; then
	UMFS_DEMO_POOL=$shmdir/umfs-demo-$$.pool
fi
pool=$UMFS_DEMO_POOL
size=${UMFS_DEMO_SIZE:-256M}
big=${UMFS_DEMO_BIG_MIB:-64}
ref=$(mktemp -d "$shmdir/umfs-demo-ref.XXXXXX")
export PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-1}
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT UMFS_STATS UMFS_LOG UMFS_CWD

cleanup() {
	rm -rf "$ref"
	if [ "${UMFS_DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: pool kept at $pool"
	else
		rm -f "$pool"
	fi
}
trap cleanup EXIT

step() {
	printf '\n== %s\n' "$*"
}

step "1. mkfs.umfs -f -s $size -L demo $pool"
"$mkfs_bin" -f -s "$size" -L demo "$pool"

step "2. umfs-demo -b $big $pool (the C API)"
"$demo_bin" -b "$big" "$pool"

# The same pipeline on tmpfs and, unmodified, on UMFS through the shim.
pipeline='
set -euo pipefail
cd "$D"
mkdir -p logs/2024
seq 1 200000 | awk "{ print \"event\", \$1, \$1 * 7 % 1000 }" > logs/2024/events.txt
sort -k3,3n -k2,2n logs/2024/events.txt | gzip -6 > logs/2024/sorted.gz
gunzip -c logs/2024/sorted.gz | grep " 7$" | wc -l > logs/count
cp -a logs logs-copy && mv logs-copy/2024 logs-copy/archive
cat logs/count logs-copy/archive/events.txt | sha256sum | cut -d" " -f1
ls -la logs-copy/archive | awk "NR > 1 && !/^d/ { print \$1, \$5, \$NF }"
'
step "3. a shell pipeline (seq, awk, sort, gzip, grep, cp -a, mv, sha256sum), unmodified, under the shim"
echo "umfs-run --pool $pool -- bash -c '...' (in /umfs/demo)"
"$run_bin" --pool "$pool" -- mkdir -p /umfs/demo
got=$(D=/umfs/demo "$run_bin" --pool "$pool" -- bash -c "$pipeline")
want=$(D=$ref bash -c "$pipeline")
printf '%s\n' "$got"
if [ "$got" != "$want" ]; then
	echo "demo: the pipeline's output on UMFS differs from the same run on tmpfs:" >&2
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
	exit 1
fi
echo "pipeline: same output as the run on tmpfs"

step "4. sqlite3, unmodified, under the shim, with UMFS_STATS"
sql="
create table events(id integer primary key, name text, value integer);
begin;
with recursive c(x) as (select 1 union all select x + 1 from c where x < 10000)
insert into events select x, printf('event-%05d', x), x * 7 % 1000 from c;
commit;
create index events_value on events(value);
pragma integrity_check;
select count(*), sum(value) from events;"
echo "umfs-run --pool $pool --stats -- sqlite3 /umfs/demo/events.db"
printf '%s\n' "$sql" | "$run_bin" --pool "$pool" --stats -- sqlite3 /umfs/demo/events.db
echo "reopened: $("$run_bin" --pool "$pool" -- sqlite3 /umfs/demo/events.db \
	"select name from events where value = 999 order by id limit 1")"

step "5. fsck.umfs -n -f $pool"
set +e
"$fsck_bin" -n -f "$pool"
rc=$?
set -e
case $rc in
0) verdict="clean: no errors found" ;;
1) verdict="errors found and corrected (should not happen with -n)" ;;
4) verdict="errors left uncorrected" ;;
8) verdict="operational error: fsck could not check the pool" ;;
*) verdict="unexpected exit status" ;;
esac
echo "fsck verdict: $verdict (exit $rc)"

if [ "$rc" -ne 0 ]; then
	step "demo FAILED"
	exit 1
fi
step "demo passed: format, C API, unmodified programs under the shim, fsck"
