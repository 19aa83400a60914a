# SPDX-License-Identifier: MIT
# lib.sh - sourced by the multi-process tests: a fresh pool on
# /dev/shm with a unique name, the built tools, shim helpers, checks, and a
# cleanup that removes the pool, the lock region beside it and our scratch.
#
# Environment (set by meson): BUILDDIR, SHIM_LIB, MKFS, FSCK, UMFS_RUN,
# MULTI_BIN (the directory of this suite's C helpers). UMFS_FULL=1 selects
# the full mode. Standalone: BUILDDIR=/tmp/build tests/multi/X.sh
set -eu

# tests/pool/ (absolute: a test may change directory before cleanup)
pool_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../pool" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILDDIR:=$here/../../build}"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
: "${SHIM_LIB:=$BUILDDIR/libumfs/libumfs.so}"
: "${MKFS:=$BUILDDIR/mkfs/mkfs.umfs}"
: "${FSCK:=$BUILDDIR/fsck/fsck.umfs}"
: "${UMFS_RUN:=$BUILDDIR/tools/umfs-run}"
: "${UMFS_FUSE:=$BUILDDIR/fuse/umfs-fuse}"
: "${MULTI_BIN:=$BUILDDIR/tests/multi}"
export PMEM_IS_PMEM_FORCE=1 LC_ALL=C TZ=UTC
for f in "$SHIM_LIB" "$MKFS" "$FSCK"; do
	[ -e "$f" ] || { echo "FAIL: $f is not built (set BUILDDIR)"; exit 1; }
done
FULL=${UMFS_FULL:-0}

work=$(mktemp -d /dev/shm/multi-XXXXXX)
pool=$work/pool
cd "$work" # our scratch is the working directory of everything we start
export UMFS_POOL=$pool UMFS_MOUNT=/umfs
unset UMFS_CWD UMFS_STATS UMFS_LOG UMFS_RDONLY LD_PRELOAD || true
bg_pids=()

pool_uuid_hex() { # the superblock's uuid field, at byte 32
	[ -f "$pool" ] && od -An -tx1 -j32 -N16 "$pool" | tr -d ' \n'
}

# The runtime directories of the pool's users (the lock region, the
# shim's helper directory): /dev/shm/umfs-UUID-RUNID.
lock_region() {
	local uuid
	uuid=$(pool_uuid_hex)
	[ -n "$uuid" ] && ls -d /dev/shm/umfs-"$uuid"* 2>/dev/null || true
}

cleanup() {
	local p
	unmount_fuse
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	local r
	for r in $(lock_region); do
		rm -rf "$r"
	done
	if [ -n "${MULTI_KEEP:-}" ]; then
		echo "# kept $work"
	else
		"$pool_tools"/forget_rundirs.sh "$work"
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_pool() { # make_pool [SIZE]
	"$MKFS" -q -f -s "${1:-256M}" "$pool"
}

shim() { LD_PRELOAD=$SHIM_LIB "$@"; }
shim_sh() { LD_PRELOAD=$SHIM_LIB bash -c "$1"; }

# umfs-fuse serving the pool at $mnt, unmounted by the cleanup. fuse_usable
# says why not (for a skip) when it cannot be run here.
mnt=$work/mnt
daemon=
fuse_usable() {
	[ -x "$UMFS_FUSE" ] || { echo "SKIP: umfs-fuse was not built"; return 1; }
	[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; return 1; }
	command -v fusermount3 >/dev/null || { echo "SKIP: fusermount3 is not installed"; return 1; }
}

unmount_fuse() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
	fi
	[ -n "$daemon" ] && {
		timeout -s KILL 20 tail --pid="$daemon" -f /dev/null 2>/dev/null ||
			kill -9 "$daemon" 2>/dev/null
	}
	daemon=
}

mount_fuse() { # starts the daemon; false when it does not come up
	mkdir -p "$mnt"
	"$UMFS_FUSE" "$pool" "$mnt" -f >"$work/daemon.log" 2>&1 &
	daemon=$!
	bg_pids+=($!)
	for _ in $(seq 100); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

failures=0
pass() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1"
		echo "  expected: $(printf '%s' "$2" | head -c 600)"
		echo "  actual:   $(printf '%s' "$3" | head -c 600)"
	fi
}

# fsck -n -f of the pool; a failure unless it is clean (exit 0 and, since
# crash state alone exits 0 too, a clean verdict). Nobody may use the pool
# at that moment.
check_fsck() {
	local rc=0
	"$FSCK" -n -f "$pool" >"$work/fsck.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! tail -n 1 "$work/fsck.out" | grep -q ': clean$'; then
		fail "fsck.umfs -n -f clean (exit $rc)"
		sed 's/^/  fsck: /' "$work/fsck.out" | head -40
	else
		pass "fsck.umfs -n -f clean"
	fi
}

# Waits until every process we started in the background is gone.
wait_bg() {
	local p
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	bg_pids=()
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "all passed"
	exit 0
}
