#!/usr/bin/env bash
# demo.sh - the main job for now: make a pool with mkfs.umfs, drive it through
# the UMFS core with umfs-demo, then check it with fsck.umfs.
#
#   BUILDDIR=build tools/demo.sh
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

for bin in "$mkfs_bin" "$demo_bin" "$fsck_bin"; do
	if [ ! -x "$bin" ]; then
		echo "demo: $bin is missing; build first (make build)" >&2
		exit 1
	fi
done

# /dev/shm is tmpfs: UMFS treats it as emulated persistent memory.
if [ -z "${UMFS_DEMO_POOL:-}" ]; then
	shmdir=/dev/shm
	[ -d "$shmdir" ] && [ -w "$shmdir" ] || shmdir=${TMPDIR:-/tmp}
	UMFS_DEMO_POOL=$shmdir/umfs-demo-$$.pool
fi
pool=$UMFS_DEMO_POOL
size=${UMFS_DEMO_SIZE:-256M}
big=${UMFS_DEMO_BIG_MIB:-64}
export PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-1}

cleanup() {
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

step "2. umfs-demo -b $big $pool"
"$demo_bin" -b "$big" "$pool"

step "3. fsck.umfs -n -f $pool"
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
step "demo passed: format, core, fsck"
