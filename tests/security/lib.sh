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
