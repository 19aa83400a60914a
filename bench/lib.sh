# lib.sh - sourced by the bench/*.sh scripts: the systems under comparison,
# their setup and teardown, and the common parameters.
#
# A system is one of
#   umfs-strict   a fresh pool (mkfs.umfs default) in /dev/shm, programs under
#                 LD_PRELOAD
#   umfs-relaxed  the same with a pool made with -O relaxed
#   umfs-strict-huge, umfs-relaxed-huge
#                 the same with the pool on a private tmpfs mounted
#                 huge=always: 2 MiB pages, as device DAX maps real
#                 persistent memory (mkfs.umfs's `pages` line says which
#                 pages a pool got; it is kept in $BENCH_OUT/pages/)
#   umfs-fuse     a fresh pool served by umfs-fuse on a private mount point
#   tmpfs         a private tmpfs mount (4 KiB pages)
#   tmpfs-huge    a private tmpfs mounted huge=always (2 MiB pages)
#   ext4          ext4 on a loop device backed by a file in /dev/shm
# Everything lives in DRAM. After `sys_up NAME SIZE`, `sys_dir NAME` prints the
# directory to work in and `sys_run NAME CMD...` runs CMD on that system (under
# the shim for the LD_PRELOAD systems). `sys_down NAME` undoes it; an EXIT trap
# undoes whatever is still up, so a failing script leaves no mount, loop
# device or pool behind.
#
# Environment: BENCH_BUILD (build dir), BENCH_OUT (results dir), BENCH_MODE
# (quick|full). Every script can also run alone with those set.

set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$BENCH_SRC/build}
[ -d "$BENCH_BUILD" ] || { echo "bench: no build directory $BENCH_BUILD (build first)" >&2; exit 1; }
BENCH_BUILD=$(cd "$BENCH_BUILD" && pwd)
BENCH_MODE=${BENCH_MODE:-quick}
BENCH_OUT=${BENCH_OUT:-$BENCH_SRC/results/manual}
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
export BENCH_BUILD BENCH_MODE BENCH_OUT
export PMEM_IS_PMEM_FORCE=1

# Private scratch: mount points here, images and pools in a directory of
# /dev/shm (DRAM) made for this run, mode 0700: no other user plants a
# file or link at a name the bench is about to create.
BENCH_TMP=$(mktemp -d /tmp/umfs-bench.XXXXXX)
BENCH_SHM_DIR=$(mktemp -d /dev/shm/umfs-bench.XXXXXX)
BENCH_SHM=$BENCH_SHM_DIR/b # a prefix: $BENCH_SHM-NAME
BENCH_PREFIX=/umfs-bench-$$ # UMFS_MOUNT for the shim systems; never exists on the host

SHIM_LIB=$BENCH_BUILD/libumfs/libumfs.so
MKFS=$BENCH_BUILD/mkfs/mkfs.umfs
FUSE=$BENCH_BUILD/fuse/umfs-fuse
FLOOR=$BENCH_BUILD/bench/floor
OVERWRITE=$BENCH_BUILD/bench/overwrite_bench

# Every system (teardown goes over all of them) and the ones a step runs
# unless it names its own (fio.sh and fresh.sh add the 2 MiB placements).
ALL_SYSTEMS="umfs-strict umfs-relaxed umfs-strict-huge umfs-relaxed-huge umfs-fuse
	tmpfs tmpfs-huge ext4"
BASE_SYSTEMS="umfs-strict umfs-relaxed umfs-fuse tmpfs ext4"

die() {
	echo "bench: $*" >&2
	exit 1
}

log() {
	printf '[%s] %s\n' "$(date +%T)" "$*" >&2
}

for f in "$SHIM_LIB" "$MKFS" "$FUSE" "$FLOOR" "$OVERWRITE"; do
	[ -e "$f" ] || die "missing $f: build first (ninja -C $BENCH_BUILD)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (tmpfs and loop mounts)"
command -v fio >/dev/null || die "fio is not installed (bench/install-bench-deps.sh)"

# Parameters per mode. Quick keeps the whole run under 6 minutes on 2 quiet
# cores, full under 40.
# (The scripts that source this file use them.)
# shellcheck disable=SC2034
if [ "$BENCH_MODE" = full ]; then
	FILE_MB=1024; RUNTIME=10; REPS=3
	SWEEP_SIZES="512 1k 2k 4k 8k 16k 32k 64k 128k 256k 512k 1m"
	SWEEP_RUNTIME=5
	META_N=100000
	OPEN_MAX=$((4 << 30))
	FRESH_MB=1024; FRESH_REPS=3; FRESH_TREE_REPS=3
	FRESH_SYSTEMS="umfs-strict umfs-relaxed umfs-strict-huge umfs-relaxed-huge tmpfs tmpfs-huge ext4"
elif [ "$BENCH_MODE" = quick ]; then
	FILE_MB=256; RUNTIME=1; REPS=3
	SWEEP_SIZES="512 4k 64k 1m"
	SWEEP_RUNTIME=500ms
	META_N=10000
	OPEN_MAX=$((1 << 30))
	FRESH_MB=1024; FRESH_REPS=3; FRESH_TREE_REPS=3
	FRESH_SYSTEMS="umfs-strict umfs-strict-huge tmpfs tmpfs-huge ext4"
else
	die "unknown mode '$BENCH_MODE' (quick or full)"
fi
# shellcheck disable=SC2034
FILE_SIZE=${FILE_MB}M
# Every system gets room for two files of FILE_SIZE and the pool's own needs.
POOL_SIZE=$((FILE_MB * 2 + 256))M

# State of the systems that are up: NAME -> pool, mount point, loop device, pid.
declare -A SYS_POOL=() SYS_MNT=() SYS_LOOP=() SYS_PID=() SYS_SHIMDIR=() SYS_POOLMNT=()

# The prefix of a pool's runtime directories (/dev/shm/umfs-HEX-RUNID).
shim_dir_of() {
	local uuid
	uuid=$(grep -o 'UUID *[0-9a-f-]*' "$1" | awk '{print $2}' | tr -d -)
	[ -n "$uuid" ] && echo "/dev/shm/umfs-$uuid-"
}

# A private tmpfs on 2 MiB pages for NAME's pool or files; prints its path.
huge_mount() { # NAME SIZE (in MiB, with the M suffix)
	local mnt=$BENCH_TMP/huge-$1 mb=${2%M}
	[[ $mb =~ ^[0-9]+$ ]] || die "huge_mount: size '$2' is not in MiB"
	mkdir -p "$mnt"
	# a whole number of 2 MiB pages, and room for the pool's rounding
	mount -t tmpfs -o "huge=always,size=$(((mb + 5) / 2 * 2))M" umfs-bench-huge "$mnt" ||
		die "tmpfs huge=always mount failed"
	echo "$mnt"
}

umfs_pool_make() { # NAME SIZE DIR [mkfs options...]
	local name=$1 size=$2 pool=$3/umfs-bench-$$-$1.pool
	shift 3
	mkdir -p "$BENCH_TMP/$name" "$BENCH_OUT/pages"
	"$MKFS" -s "$size" "$@" "$pool" >"$BENCH_TMP/$name/mkfs.out" 2>&1 ||
		die "mkfs.umfs $* $pool failed: $(cat "$BENCH_TMP/$name/mkfs.out")"
	SYS_POOL[$name]=$pool
	SYS_SHIMDIR[$name]=$(shim_dir_of "$BENCH_TMP/$name/mkfs.out") || die "no UUID in mkfs.umfs output"
	# the pages mkfs.umfs says the pool got, for the report
	sed -n 's/^ *pages *//p' "$BENCH_TMP/$name/mkfs.out" | head -n 1 >"$BENCH_OUT/pages/$name.txt"
	# mkfs.umfs allocates the pool's blocks (posix_fallocate), but tmpfs
	# clears a page only at its first touch, and this VM hands freed
	# memory back to its host: touch every page now, before any process
	# mounts the pool, as persistent memory is there from the start, so
	# that no measured write pays for the clearing
	"$FLOOR" touch "$pool" 2>>"$BENCH_TMP/$name/mkfs.out" || die "touching $pool failed"
}

sys_up() { # NAME [SIZE]
	local name=$1 size=${2:-$POOL_SIZE} mnt=$BENCH_TMP/mnt-$1
	case $name in
	umfs-strict) umfs_pool_make "$name" "$size" "$BENCH_SHM_DIR" ;;
	umfs-relaxed) umfs_pool_make "$name" "$size" "$BENCH_SHM_DIR" -O relaxed ;;
	umfs-strict-huge | umfs-relaxed-huge)
		SYS_POOLMNT[$name]=$(huge_mount "$name" "$size")
		if [ "$name" = umfs-relaxed-huge ]; then
			umfs_pool_make "$name" "$size" "${SYS_POOLMNT[$name]}" -O relaxed
		else
			umfs_pool_make "$name" "$size" "${SYS_POOLMNT[$name]}"
		fi
		;;
	umfs-fuse)
		umfs_pool_make "$name" "$size" "$BENCH_SHM_DIR"
		mkdir -p "$mnt"
		# In the foreground, in the background of this shell: its pid is ours to wait for.
		"$FUSE" -f "${SYS_POOL[$name]}" "$mnt" 2>"$BENCH_TMP/$name/fuse.err" &
		SYS_PID[$name]=$!
		SYS_MNT[$name]=$mnt
		local _
		for _ in $(seq 100); do
			mountpoint -q "$mnt" && break
			kill -0 "${SYS_PID[$name]}" 2>/dev/null || die "umfs-fuse exited: $(cat "$BENCH_TMP/$name/fuse.err")"
			sleep 0.05
		done
		mountpoint -q "$mnt" || die "umfs-fuse did not mount $mnt"
		;;
	tmpfs)
		mkdir -p "$mnt"
		mount -t tmpfs -o "size=$size" umfs-bench-tmpfs "$mnt" || die "tmpfs mount failed"
		SYS_MNT[$name]=$mnt
		;;
	tmpfs-huge)
		SYS_MNT[$name]=$(huge_mount "$name" "$size")
		;;
	ext4)
		local img=$BENCH_SHM-ext4.img loop
		mkdir -p "$mnt"
		truncate -s "$size" "$img"
		SYS_POOL[$name]=$img
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img" || die "mkfs.ext4 failed"
		loop=$(losetup -f --show "$img") || die "losetup failed (no loop devices?)"
		SYS_LOOP[$name]=$loop
		mount -t ext4 "$loop" "$mnt" || die "ext4 mount of $loop failed"
		SYS_MNT[$name]=$mnt
		;;
	*) die "unknown system '$name'" ;;
	esac
	log "up: $name ($size)"
}

sys_dir() { # NAME: the directory benchmarks work in
	case $1 in
	umfs-strict* | umfs-relaxed*) echo "$BENCH_PREFIX" ;;
	*) echo "${SYS_MNT[$1]}" ;;
	esac
}

sys_env() { # NAME: the environment assignments that put a program on NAME
	case $1 in
	umfs-strict* | umfs-relaxed*)
		echo "LD_PRELOAD=$SHIM_LIB UMFS_POOL=${SYS_POOL[$1]} UMFS_MOUNT=$BENCH_PREFIX"
		;;
	esac
}

sys_run() { # NAME CMD...: CMD on the system
	local name=$1
	shift
	# our paths have no spaces: the assignments split into words safely
	# shellcheck disable=SC2046
	env $(sys_env "$name") "$@"
}

sys_run_t() { # SECONDS NAME CMD...: sys_run, killed after SECONDS
	local t=$1 name=$2
	shift 2
	# shellcheck disable=SC2046 # the assignments split into words safely
	timeout "$t" env $(sys_env "$name") "$@"
}

sys_down() { # NAME: undo sys_up, tolerating a half-done setup
	local name=$1 mnt=${SYS_MNT[$1]:-} rc=0
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		case $name in
		umfs-fuse) fusermount3 -u "$mnt" || umount -l "$mnt" || rc=1 ;;
		*) umount "$mnt" || umount -l "$mnt" || rc=1 ;;
		esac
	fi
	if [ -n "${SYS_PID[$name]:-}" ]; then
		# The daemon unmounts the pool after fusermount3 returns: wait for it.
		wait "${SYS_PID[$name]}" 2>/dev/null || true
	fi
	[ -n "${SYS_LOOP[$name]:-}" ] && { losetup -d "${SYS_LOOP[$name]}" || rc=1; }
	[ -n "${SYS_POOL[$name]:-}" ] && rm -f "${SYS_POOL[$name]}"
	[ -n "${SYS_SHIMDIR[$name]:-}" ] && rm -rf "${SYS_SHIMDIR[$name]}"*
	[ -n "$mnt" ] && rmdir "$mnt" 2>/dev/null
	mnt=${SYS_POOLMNT[$name]:-}
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		umount "$mnt" || umount -l "$mnt" || rc=1
	fi
	[ -n "$mnt" ] && rmdir "$mnt" 2>/dev/null
	unset "SYS_POOL[$name]" "SYS_MNT[$name]" "SYS_LOOP[$name]" "SYS_PID[$name]" \
		"SYS_SHIMDIR[$name]" "SYS_POOLMNT[$name]"
	return $rc
}

# A private kernel tmpfs (4 KiB pages) for a step's own files, outside the
# systems under test; unmounted on exit. Prints its path.
bench_tmpfs() { # NAME SIZE
	local mnt=$BENCH_TMP/$1
	mkdir -p "$mnt"
	mount -t tmpfs -o "size=$2" "umfs-bench-$1" "$mnt" || die "tmpfs mount of $mnt failed"
	echo "$mnt"
}

bench_cleanup() {
	local rc=$? name mnt
	set +e
	for name in $ALL_SYSTEMS; do
		if [ -n "${SYS_POOL[$name]:-}${SYS_MNT[$name]:-}${SYS_POOLMNT[$name]:-}" ]; then
			sys_down "$name"
		fi
	done
	# private mounts made in command substitutions are not in any table: find them
	while read -r mnt; do
		umount "$mnt" || umount -l "$mnt"
	done < <(awk -v t="$BENCH_TMP/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts)
	rm -rf "$BENCH_TMP"
	rm -rf "$BENCH_SHM_DIR"
	[ $rc -ne 0 ] && echo "bench: $(basename "$0") failed (exit $rc); systems torn down" >&2
	exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Systems to run: BENCH_SYSTEMS if set, else the step's own list (default
# BASE_SYSTEMS), in a fixed order.
bench_systems() { # [DEFAULT-LIST]
	echo "${BENCH_SYSTEMS:-${1:-$BASE_SYSTEMS}}"
}

# fio with the options every run shares; the rest comes from the caller.
bench_fio() { # NAME OUTPUT.json FIO-ARGS...
	local name=$1 out=$2
	shift 2
	mkdir -p "$(dirname "$out")"
	sys_run "$name" fio --output-format=json --output="$out" --ioengine=psync \
		--direct=0 --invalidate=0 --fallocate=none "$@" ||
		die "fio failed on $name: $* (see $out)"
	grep -q '"jobs"' "$out" || die "fio wrote no results to $out"
}

# Lay out a file of SIZE with real data (so reads and overwrites hit blocks).
bench_layout() { # NAME PATH SIZE
	sys_run "$1" fio --name=layout --filename="$2" --ioengine=psync --rw=write --bs=1m \
		--size="$3" --fallocate=none --end_fsync=1 --output=/dev/null ||
		die "layout of $2 on $1 failed"
}
