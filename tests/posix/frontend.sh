# SPDX-License-Identifier: MIT
# frontend.sh - sourced by the front-end tests (tests/posix/run_posix.sh,
# run_callfuzz.sh, tests/programs, tests/fsx, tests/aio): the system under
# test for a MODE, and the tmpfs reference it is compared with.
#
# MODE is one of
#   fuse   a fresh pool mounted with BUILD/fuse/umfs-fuse (-o allow_other,
#          and dev as root);
#          skipped (exit 77) when /dev/fuse or fusermount3 cannot be used
#   shim   a fresh pool served to each command by the LD_PRELOAD library
#          BUILD/libumfs/libumfs.so under the prefix /umfs-test-PID;
#          skipped when the library has not been built
#   tmpfs  another tmpfs directory: the comparison itself, tested
#
# The reference is a tmpfs mounted for this run alone when we may mount
# (root), else a directory on /dev/shm; other users of /dev/shm then share
# its free-space figures. UMFS_TEST_DIR (default /dev/shm) holds the
# scratch directory: the pool, outputs and daemon logs; FE_KEEP=1 keeps it.

# shellcheck disable=SC2034 # FE_RUN and FE_ROOT are for the sourcing script
FE_MODE=${1:?usage: $0 fuse|shim|tmpfs BUILDDIR}
FE_BUILD=$(cd "${2:?usage: $0 fuse|shim|tmpfs BUILDDIR}" && pwd)
FE_FUSE=$FE_BUILD/fuse/umfs-fuse
FE_MKFS=$FE_BUILD/mkfs/mkfs.umfs
FE_FSCK=$FE_BUILD/fsck/fsck.umfs
FE_SHIM=$FE_BUILD/libumfs/libumfs.so
FE_TMP=$(mktemp -d "${UMFS_TEST_DIR:-/dev/shm}/umfs-frontend.XXXXXX")
chmod 755 "$FE_TMP" # some checks run as nobody
FE_POOL=$FE_TMP/pool
FE_MNT=$FE_TMP/mnt
FE_PID=
FE_MOUNTS=()
FE_RUN=()    # the command prefix that puts a command under test
FE_ROOT=     # where the system under test is seen by such a command
export PMEM_IS_PMEM_FORCE=1

case $FE_MODE in
fuse | shim | tmpfs) ;;
*)
	echo "usage: $0 fuse|shim|tmpfs BUILDDIR" >&2
	exit 2
	;;
esac

fe_log() { echo "# $*"; }

# fe_result STATUS NAME: one "ok"/"not ok" line, counted in FE_PASS or
# FE_FAIL.
FE_PASS=0
FE_FAIL=0
fe_result() {
	if [ "$1" = 0 ]; then
		FE_PASS=$((FE_PASS + 1))
		echo "ok - $2"
	else
		FE_FAIL=$((FE_FAIL + 1))
		echo "not ok - $2"
	fi
}

fe_skip() {
	echo "SKIP: $*"
	exit 77
}

fe_cleanup() {
	local m
	for m in "${FE_MOUNTS[@]}"; do
		if ! mountpoint -q "$m" 2>/dev/null; then
			continue
		elif [ "$m" = "$FE_MNT" ]; then
			fusermount3 -u -z "$m" 2>/dev/null || true
		else
			umount -l "$m" 2>/dev/null || true
		fi
	done
	if [ -n "$FE_PID" ]; then
		kill "$FE_PID" 2>/dev/null || true
		wait "$FE_PID" 2>/dev/null || true
	fi
	if [ -n "${FE_KEEP:-}" ]; then
		echo "# kept $FE_TMP"
	else
		# the runtime directories of its pools, which outlive their
		# users (sharing.md)
		"$(dirname "${BASH_SOURCE[0]}")"/../pool/forget_rundirs.sh "$FE_TMP"
		rm -rf "$FE_TMP"
	fi
}
trap fe_cleanup EXIT

# fe_pool_remove POOL: the pool, and its runtime directory unless a copy
# of the pool is in use (the directory outlives the pool's last user)
fe_pool_remove() {
	[ -f "$1" ] && "$FE_BUILD/pool/umfs-pool" clean "$1" >/dev/null 2>&1
	rm -f "$1"
}

# fe_mkfs POOL SIZE
fe_mkfs() {
	fe_pool_remove "$1"
	"$FE_MKFS" -q -s "$2" "$1"
}

# Skips unless MODE can run here; says why.
fe_require() {
	[ -x "$FE_MKFS" ] || fe_skip "mkfs.umfs was not built ($FE_MKFS)"
	case $FE_MODE in
	fuse)
		[ -x "$FE_FUSE" ] || fe_skip "umfs-fuse was not built ($FE_FUSE; Debian: libfuse3-dev)"
		[ -c /dev/fuse ] || fe_skip "/dev/fuse is missing (no FUSE in this kernel or container)"
		{ [ -r /dev/fuse ] && [ -w /dev/fuse ]; } ||
			fe_skip "/dev/fuse is not readable and writable by $(id -un)"
		command -v fusermount3 >/dev/null || fe_skip "fusermount3 is not installed (Debian: fuse3)"
		[ "$(id -u)" = 0 ] || fe_skip "the checks run as another user, which needs root and allow_other"
		fe_mkfs "$FE_TMP/probe.pool" 16M
		mkdir -p "$FE_TMP/probe"
		if ! "$FE_FUSE" "$FE_TMP/probe.pool" "$FE_TMP/probe" >"$FE_TMP/probe.log" 2>&1; then
			sed 's/^/# /' "$FE_TMP/probe.log"
			fe_skip "a FUSE mount is not permitted here"
		fi
		fusermount3 -u "$FE_TMP/probe"
		local _
		for _ in $(seq 100); do
			flock -n -x "$FE_TMP/probe.pool" true 2>/dev/null && break
			sleep 0.05
		done
		fe_pool_remove "$FE_TMP/probe.pool"
		;;
	shim)
		[ -f "$FE_SHIM" ] || fe_skip "the LD_PRELOAD library was not built yet ($FE_SHIM)"
		;;
	tmpfs) ;;
	esac
}

# fe_tmpfs DIR: a fresh tmpfs at DIR (a private mount if we may).
fe_tmpfs() {
	mkdir -p "$1"
	if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2g,mode=755 umfs-reference "$1" 2>/dev/null; then
		FE_MOUNTS+=("$1")
	fi
	chmod 755 "$1"
}

# fe_start: makes the system under test; sets FE_RUN and FE_ROOT.
fe_start() {
	case $FE_MODE in
	fuse)
		[ -n "${FE_POOL_KEEP:-}" ] || fe_mkfs "$FE_POOL" "${FE_POOL_SIZE:-512M}"
		mkdir -p "$FE_MNT"
		# as mount -t fuse.umfs mounts it (mount.fuse3 adds dev), so that
		# device nodes reach their driver as on tmpfs; only root may
		local opts=allow_other
		[ "$(id -u)" != 0 ] || opts+=,dev
		"$FE_FUSE" "$FE_POOL" "$FE_MNT" -f -o "$opts" >"$FE_TMP/daemon.log" 2>&1 &
		FE_PID=$!
		FE_MOUNTS+=("$FE_MNT")
		local _
		for _ in $(seq 200); do
			mountpoint -q "$FE_MNT" && break
			if ! kill -0 "$FE_PID" 2>/dev/null; then
				sed 's/^/# daemon: /' "$FE_TMP/daemon.log"
				echo "FAIL: umfs-fuse did not mount $FE_POOL"
				exit 1
			fi
			sleep 0.05
		done
		mountpoint -q "$FE_MNT" || { echo "FAIL: umfs-fuse did not mount in 10 s"; exit 1; }
		FE_RUN=()
		FE_ROOT=$FE_MNT
		;;
	shim)
		fe_mkfs "$FE_POOL" "${FE_POOL_SIZE:-512M}"
		FE_ROOT=/umfs-test-$$
		FE_RUN=(env "LD_PRELOAD=$FE_SHIM" "UMFS_POOL=$FE_POOL" "UMFS_MOUNT=$FE_ROOT")
		;;
	tmpfs)
		fe_tmpfs "$FE_TMP/sut"
		FE_RUN=()
		FE_ROOT=$FE_TMP/sut
		;;
	esac
}

# fe_snapshot DIR: what must survive an unmount: every name under DIR with
# its attributes (not directory sizes), and the checksum of every file.
fe_snapshot() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	"${FE_RUN[@]}" bash -c 'cd "$1" && export LC_ALL=C &&
		find . \( -type d -printf "%p %y %m %n %U %G %T@\n" \) -o \( -type l -printf "%p %y %n %U %G %s %l\n" \) \
			-o -printf "%p %y %m %n %U %G %s %T@\n" | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum' _ "$1"
}

# fe_remount: after fe_stop, the same pool served again (fuse: a new
# daemon; shim: every command mounts it anyway).
fe_remount() {
	if [ "$FE_MODE" = fuse ]; then
		FE_POOL_KEEP=1 fe_start
	fi
}

# fe_stop: unmounts; fails (returns 1) if the daemon does not exit with 0.
fe_stop() {
	local rc=0
	if [ "$FE_MODE" = fuse ] && [ -n "$FE_PID" ]; then
		fusermount3 -u "$FE_MNT" || rc=1
		wait "$FE_PID" || rc=$?
		FE_PID=
		if [ "$rc" != 0 ]; then
			sed 's/^/# daemon: /' "$FE_TMP/daemon.log"
			echo "# umfs-fuse exited with $rc"
			return 1
		fi
	fi
	return 0
}

# fe_fsck: fsck.umfs -n -f on the pool; returns its status (0 for tmpfs),
# 1 when it exits 0 with crash state left rather than a clean verdict.
fe_fsck() {
	[ "$FE_MODE" = tmpfs ] && return 0
	local rc=0
	"$FE_FSCK" -n -f "$FE_POOL" >"$FE_TMP/fsck.out" 2>&1 || rc=$?
	sed 's/^/# fsck: /' "$FE_TMP/fsck.out"
	[ "$rc" = 0 ] && ! tail -n 1 "$FE_TMP/fsck.out" | grep -q ': clean$' && rc=1
	return "$rc"
}

# fe_finish NAME: on UMFS, unmounts and has fsck.umfs -n -f find the pool
# clean (one more result); then NAME's count of results, and the status:
# 0 when none failed.
fe_finish() {
	local rc
	if [ "$FE_MODE" != tmpfs ]; then
		fe_stop && fe_fsck >"$FE_TMP/fsck.log" 2>&1 && rc=0 || rc=1
		fe_result "$rc" "fsck.umfs -n -f: clean"
		[ "$rc" = 0 ] || cat "$FE_TMP/fsck.log"
	fi
	fe_stop || true
	echo "$1: $FE_PASS passed, $FE_FAIL failed"
	[ "$FE_FAIL" = 0 ]
}
