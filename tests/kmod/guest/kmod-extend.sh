#!/bin/sh
# kmod-extend.sh (guest) - EXTEND, the module's allocation for files: a
# fresh pool with empty files (kmod-extend create), MOUNT, growth from empty
# to height 3 with exact page counts, refusals and permissions (check), an
# EXTEND cut short before each of its records and rolled back by MOUNT
# (crash), the pool filled to ENOSPC (enospc); then UNMOUNT and a clean
# fsck: the bitmap the module kept equals the pages the trees reach, and
# every inode's block count is exact. Needs the module (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-extend: $*" >&2; exit 1; }
kt_module kmod-extend
kt_open_to_users

kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-extend create "$dev" || fail "creating the files failed"
kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
kmod-extend check "$dev" || fail "EXTEND checks failed"
kmod-extend crash "$dev" || fail "EXTEND crash points failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean after the crash points"
kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
kmod-extend enospc "$dev" || fail "ENOSPC check failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean on the full pool"
kt_kernel_clean
echo "kmod-extend: ok"
