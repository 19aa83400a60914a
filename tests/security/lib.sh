# SPDX-License-Identifier: MIT
# lib.sh - sourced by the security suite's scripts: the built tools (meson
# sets BUILDDIR, SHIM_LIB, MKFS, FSCK, UMFS_RUN, UMFS_FUSE; standalone:
# BUILDDIR=build tests/security/X.sh), a clean environment, skip.
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${BUILDDIR:=$here/../../build}"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
: "${SHIM_LIB:=$BUILDDIR/libumfs/libumfs.so}"
: "${MKFS:=$BUILDDIR/mkfs/mkfs.umfs}"
: "${FSCK:=$BUILDDIR/fsck/fsck.umfs}"
: "${UMFS_RUN:=$BUILDDIR/tools/umfs-run}"
: "${UMFS_FUSE:=$BUILDDIR/fuse/umfs-fuse}"
export PMEM_IS_PMEM_FORCE=1 LC_ALL=C
unset UMFS_POOL UMFS_MOUNT UMFS_CWD UMFS_STATS UMFS_LOG UMFS_LOG_FILE UMFS_RDONLY LD_PRELOAD || true

skip() { echo "SKIP: $*"; exit 77; }

# The hostile user, and a command run as it.
HUID=65534
as_h() { setpriv --reuid=$HUID --regid=$HUID --clear-groups -- "$@"; }

# sec_private_shm NAME SIZE "$@": root and setpriv are needed; the script
# runs again in a mount namespace of its own, where /dev/shm is a fresh
# tmpfs (NAME, SIZE) that nothing else on the machine shares.
sec_private_shm() {
	local name=$1 size=$2

	shift 2
	[ "$(id -u)" = 0 ] || skip "needs root (and a second user through setpriv)"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	if [ -z "${UMFS_SEC_INNER:-}" ]; then
		unshare --mount true 2>/dev/null ||
			skip "cannot make a private mount namespace (unshare --mount)"
		UMFS_SEC_INNER=1 exec unshare --mount --propagation private "$0" "$@"
	fi
	case "$BUILDDIR/:$here/" in
	/dev/shm/*) skip "the build or the sources are on /dev/shm, which this test mounts over" ;;
	esac
	mount -t tmpfs -o mode=1777,size="$size" "$name" /dev/shm ||
		skip "cannot mount a tmpfs on /dev/shm"
}
