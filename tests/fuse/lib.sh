# SPDX-License-Identifier: MIT
# lib.sh - shared by the umfs-fuse tests (sourced): skip checks, pools,
# mounting and unmounting with a daemon we can wait for, cleanup.
#
# Each test is run as  test_X.sh BUILD_ROOT  (meson passes the build root);
# binaries come from there. Exit 77 means "skipped" to meson. UF_KEEP=1
# keeps the scratch directory (pools, transcripts, daemon logs).

# tests/pool/ (absolute: a test may change directory before cleanup)
pool_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../pool" && pwd)
UF_BUILD=${1:?usage: $0 BUILD_ROOT}
UF_FUSE=$UF_BUILD/fuse/umfs-fuse
UF_MKFS=$UF_BUILD/mkfs/mkfs.umfs
UF_FSCK=$UF_BUILD/fsck/fsck.umfs
UF_TMP=$(mktemp -d "${UMFS_TEST_DIR:-/dev/shm}/umfs-fuse-test.XXXXXX")
export PMEM_IS_PMEM_FORCE=1
UF_PIDS=()
UF_MOUNTS=()

uf_log() { echo "# $*"; }
uf_fail() { echo "FAIL: $*"; exit 1; }

uf_cleanup() {
	local m p
	for m in "${UF_MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
	done
	for p in "${UF_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${UF_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${UF_KEEP:-}" ]; then
		echo "# kept $UF_TMP"
	else
		# the runtime directories of its pools, which outlive their
		# users (sharing.md)
		"$pool_tools"/forget_rundirs.sh "$UF_TMP"
		rm -rf "$UF_TMP"
	fi
}
trap uf_cleanup EXIT

uf_skip() { echo "SKIP: $*"; exit 77; }

# Skips unless the kernel's FUSE can be used here.
uf_require_fuse() {
	[ -x "$UF_FUSE" ] || uf_skip "umfs-fuse was not built ($UF_FUSE)"
	[ -c /dev/fuse ] || uf_skip "/dev/fuse is missing (no FUSE in this kernel or container)"
	[ -r /dev/fuse ] && [ -w /dev/fuse ] || uf_skip "/dev/fuse is not readable and writable by $(id -un)"
	command -v fusermount3 >/dev/null || uf_skip "fusermount3 is not installed (Debian: apt-get install fuse3)"
	grep -qw fuse /proc/filesystems || uf_skip "the kernel does not list fuse in /proc/filesystems"
	if [ "$(id -u)" != 0 ] && ! [ -u "$(command -v fusermount3)" ]; then
		uf_skip "fusermount3 is not setuid root and we are not root"
	fi
	# A trial mount settles what the checks above cannot (a container
	# without CAP_SYS_ADMIN, a seccomp filter...).
	uf_mkfs "$UF_TMP/probe.pool" 16M
	mkdir -p "$UF_TMP/probe"
	if ! "$UF_FUSE" "$UF_TMP/probe.pool" "$UF_TMP/probe" >"$UF_TMP/probe.log" 2>&1; then
		sed 's/^/# /' "$UF_TMP/probe.log"
		uf_skip "a FUSE mount is not permitted here"
	fi
	fusermount3 -u "$UF_TMP/probe"
	uf_wait_released "$UF_TMP/probe.pool"
	uf_pool_remove "$UF_TMP/probe.pool"
}

# uf_pool_remove POOL: the pool, and its runtime directory unless a copy
# of the pool is in use (the directory outlives the pool's last user)
uf_pool_remove() {
	[ -f "$1" ] && "$UF_BUILD/pool/umfs-pool" clean "$1" >/dev/null 2>&1
	rm -f "$1"
}

# uf_mkfs POOL SIZE
uf_mkfs() {
	uf_pool_remove "$1"
	"$UF_MKFS" -q -s "$2" "$1" || uf_fail "mkfs.umfs -s $2 $1"
}

# uf_mount POOL MNT [umfs-fuse options...]: a foreground daemon in the
# background, so that we know its pid; returns once the mount is up.
# The daemon's pid is left in UF_PID, its output in MNT.log.
uf_mount() {
	local pool=$1 mnt=$2 i
	shift 2
	mkdir -p "$mnt"
	"$UF_FUSE" "$pool" "$mnt" -f "$@" >"$mnt.log" 2>&1 &
	UF_PID=$!
	UF_PIDS+=("$UF_PID")
	UF_MOUNTS+=("$mnt")
	for i in $(seq 100); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$UF_PID" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/# daemon: /' "$mnt.log"
	uf_fail "mounting $pool at $mnt"
}

# uf_umount MNT PID: fusermount3 -u, then waits for the daemon to unmount
# the pool and exit; fails unless it exits with 0.
uf_umount() {
	local mnt=$1 pid=$2 rc
	fusermount3 -u "$mnt" || uf_fail "fusermount3 -u $mnt"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || { sed 's/^/# daemon: /' "$mnt.log"; uf_fail "umfs-fuse exited with $rc"; }
}

# Waits until no process holds the pool's lock (a daemon started through
# mount(8) is not our child, so we cannot wait for it).
uf_wait_released() {
	local i
	for i in $(seq 200); do
		flock -n -x "$1" true 2>/dev/null && return 0
		sleep 0.05
	done
	uf_fail "the pool $1 is still in use"
}

# uf_fsck_clean POOL: fsck.umfs -n -f must report a clean pool: exit 0,
# and not even crash state (which exits 0 too) left for a mount to repair.
uf_fsck_clean() {
	"$UF_FSCK" -n -f "$1" >"$UF_TMP/fsck.out" 2>&1
	local rc=$?
	sed 's/^/# fsck: /' "$UF_TMP/fsck.out"
	[ "$rc" = 0 ] || uf_fail "fsck.umfs -n -f $1 exited with $rc"
	tail -n 1 "$UF_TMP/fsck.out" | grep -q ': clean$' ||
		uf_fail "fsck.umfs -n -f $1 finds crash state"
}

# uf_beside_libumfs POOL MNT: a fresh 64 MiB pool mounted at MNT (UF_PID
# its daemon), which uf_shim CMD... runs CMD on through libumfs at once,
# its paths under /umfs
uf_beside_libumfs() {
	UF_LIB=$UF_BUILD/libumfs/libumfs.so
	[ -f "$UF_LIB" ] || uf_skip "libumfs.so was not built"
	UF_SHIM_POOL=$1
	uf_mkfs "$1" 64M
	uf_mount "$1" "$2"
}
uf_shim() { env UMFS_POOL="$UF_SHIM_POOL" UMFS_MOUNT=/umfs UMFS_KMOD=0 LD_PRELOAD="$UF_LIB" "$@"; }
