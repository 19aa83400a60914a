#!/bin/bash
# SPDX-License-Identifier: MIT
# join.sh - what a short process pays to carry and to join UMFS: CPU time
# (task-clock) and page faults of `cat` of a 3-byte file, N runs of each
# state in turn (bench/alternate, counted as perf stat counts), for
#   bare       cat of a tmpfs file, no library (the reference);
#   carried    the same under LD_PRELOAD of libumfs.so, the pool named but
#              no UMFS path touched;
#   joined     cat of a 3-byte file in the pool, preloaded.
# With --base DIR, the same for the libumfs.so of another build (before and
# after in one run). The pool is on /dev/shm; --huge puts it on a tmpfs
# mounted huge=always (2 MiB pages) instead.
#
#   bench/join.sh [--build DIR] [--base DIR] [--reps N] [--huge]
set -eu
BUILD=build BASE= REPS=60 HUGE=
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--base) BASE=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--huge) HUGE=1; shift ;;
	*) echo "usage: $0 [--build DIR] [--base DIR] [--reps N] [--huge]" >&2; exit 2 ;;
	esac
done
[ -x "$BUILD/bench/alternate" ] || { echo "join.sh: $BUILD/bench/alternate is missing" >&2; exit 1; }
export PMEM_IS_PMEM_FORCE=1 UMFS_KMOD=0 LC_ALL=C
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT UMFS_LOG UMFS_STATS
D=$(mktemp -d /dev/shm/umfs-join.XXXXXX)
P=$D
cleanup() {
	local pool
	# the pools' runtime directories outlive their users (sharing.md)
	for pool in "$P"/*.pool; do
		[ -e "$pool" ] && "$BUILD/pool/umfs-pool" clean "$pool" >/dev/null 2>&1
	done
	[ -n "$HUGE" ] && umount "$P" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
if [ -n "$HUGE" ]; then
	P=$D/huge
	mkdir "$P"
	mount -t tmpfs -o huge=always,size=512M umfs-join "$P"
fi
printf abc >"$D/t.txt"

builds="new:$BUILD"
[ -n "$BASE" ] && builds="base:$BASE $builds"
for b in $builds; do
	name=${b%%:*} dir=${b#*:}
	"$dir/mkfs/mkfs.umfs" -q -s 64M "$P/$name.pool"
	UMFS_LIB=$dir/libumfs/libumfs.so "$dir/tools/umfs-run" --pool "$P/$name.pool" \
		--mount /umfs -- sh -c 'printf abc >/umfs/f'
done

# Every state in turn, process by process (bench/alternate): medians of
# task-clock and page-faults counted as perf stat counts them.
variants=(bare cat "$D/t.txt")
for b in $builds; do
	name=${b%%:*} dir=${b#*:}
	pre=(LD_PRELOAD="$dir/libumfs/libumfs.so" UMFS_POOL="$P/$name.pool" UMFS_MOUNT=/umfs)
	variants+=(::: "$name-carried" "${pre[@]}" cat "$D/t.txt" ::: "$name-joined" "${pre[@]}" cat /umfs/f)
done
echo "# load $(cut -d' ' -f1-3 /proc/loadavg); cat, $REPS runs of each in turn; pool in $P"
for _ in 1 2; do
	rm -f "$D/res"
	"$BUILD/bench/alternate" "$D/res" "$REPS" "${variants[@]}"
	awk '{ printf "%-28s %8.3f ms %6.0f faults\n", $1, $3, $4 }' "$D/res"
done
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
