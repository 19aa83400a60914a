# lib.sh - shared by the shim tests: a fresh pool, and helpers to run
# commands with and without the shim.
#
# Environment (set by meson): SHIM_LIB MKFS FSCK UMFS_RUN SHIM_CALLS SHIM_FORK
# SHIM_THREADS. Standalone: BUILDDIR=build tests/shim/X.sh
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
: "${SHIM_CALLS:=$BUILDDIR/tests/shim/shim_calls}"
: "${SHIM_FORK:=$BUILDDIR/tests/shim/shim_fork}"
: "${SHIM_CLONE:=$BUILDDIR/tests/shim/shim_clone}"
: "${SHIM_THREADS:=$BUILDDIR/tests/shim/shim_threads}"
: "${SHIM_OFD:=$BUILDDIR/tests/shim/shim_ofd}"
: "${SHIM_SIGNALS:=$BUILDDIR/tests/shim/shim_signals}"
: "${SHIM_FDNUM:=$BUILDDIR/tests/shim/shim_fdnum}"
: "${SHIM_EXEC32:=$BUILDDIR/tests/shim/shim_exec32}"
export PMEM_IS_PMEM_FORCE=1

work=$(mktemp -d /dev/shm/umfs-shimtest.XXXXXX)
pool=$work/pool
export UMFS_POOL=$pool UMFS_MOUNT=/umfs
unset UMFS_CWD UMFS_STATS UMFS_LOG LD_PRELOAD || true

cleanup() {
	# the runtime directories of the pools made here, which outlive
	# their users (sharing.md)
	"$pool_tools"/forget_rundirs.sh "$work"
	rm -rf "$work"
}
pool_uuid_hex() { # the superblock's uuid field, at byte 32
	[ -f "$pool" ] && od -An -tx1 -j32 -N16 "$pool" | tr -d ' \n'
}
rundir_state() { # "idle" when the pool's runtime directories are as a last user leaves them
	local out
	out=$("$pool_tools"/rundir_idle.sh "$(pool_uuid_hex)") &&
		echo idle || echo "$out"
}
pool_rundir() { # the runtime directory the state page names (run_id at 0x1030)
	[ -f "$pool" ] && echo "/dev/shm/umfs-$(pool_uuid_hex)-$(od -An -tx8 -j4144 -N8 "$pool" | tr -d ' \n')"
}
trap cleanup EXIT

"$MKFS" -q -f -s "${POOL_SIZE:-256M}" "$pool"

# Whether 32-bit programs execute here: a kernel built with IA32
# emulation can still have it off (ia32_emulation=0, or a VM's policy),
# and a 32-bit dynamic program needs libc6-i386's ld.so.
runs_32bit() { "$SHIM_EXEC32" /bin/true 2>/dev/null; }

# run CMD... under the shim
shim() {
	LD_PRELOAD=$SHIM_LIB "$@"
}

# a shell under the shim running the script $1
shim_sh() {
	LD_PRELOAD=$SHIM_LIB bash -c "$1"
}

# fuse_mount POOL DIR: the pool mounted through umfs-fuse on DIR, in the
# foreground in fuse_pid (so that the pool is closed once fuse_umount
# returns); fails when it does not mount here
fuse_mount() {
	"${UMFS_FUSE:-$BUILDDIR/fuse/umfs-fuse}" -f "$1" "$2" 2>/dev/null &
	fuse_pid=$!
	for _ in $(seq 50); do
		mountpoint -q "$2" && return 0
		kill -0 "$fuse_pid" 2>/dev/null || break
		sleep 0.1
	done
	mountpoint -q "$2"
}
fuse_umount() { # fuse_umount DIR
	fusermount3 -u "$1" 2>/dev/null || umount "$1"
	wait "$fuse_pid" || true
}

failures=0
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		echo "  expected: $(printf '%s' "$2" | head -c 400)"
		echo "  actual:   $(printf '%s' "$3" | head -c 400)"
		# a long transcript differs past what the lines above show
		if [ ${#2} -gt 400 ] || [ ${#3} -gt 400 ]; then
			echo "  the lines that differ (- expected, + actual):"
			diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' |
				sed 's/^</  -/; s/^>/  +/' | head -n 20
		fi
		failures=$((failures + 1))
	fi
}

# check_half_wait NAME WAIT LONGEST: the longest wait another process had
# (ms) beside a long step must be under half the step's longest (ms), as
# it is when the step lets the pool lock go between its chunks
check_half_wait() {
	check "$1" yes "$([ $(($2 * 2)) -lt "$3" ] && echo yes || echo "no: $2 of $3 ms")"
}

# fsck the pool; adds a failure unless it is clean (exit 0 and, since crash
# state alone exits 0 too, a clean verdict)
check_fsck() {
	local rc=0
	"$FSCK" -n -f "$pool" >"$work/fsck.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! tail -n 1 "$work/fsck.out" | grep -q ': clean$'; then
		echo "FAIL fsck (exit $rc)"
		cat "$work/fsck.out"
		failures=$((failures + 1))
	else
		echo "ok   fsck clean"
	fi
}

finish() {
	check_fsck
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "all passed"
}
