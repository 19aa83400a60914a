#!/bin/sh
# kmod-rebase.sh (guest) - the rebase survives being cut short. The module's
# test hook rebase_stop=N stops a rebase after N rewritten entries, as a
# crash would (the superblock is not updated). A new pool (phys_base 0)
# needs 2 x 1118 rewrites (one per entry and pass): with the stop at 500,
# the first MOUNT stops in pass 1; at 1000, the second stops in pass 2
# (phys_base parked); the third finishes. Then every file must
# read back exactly through attachments (the 64 KiB file's inline entries,
# rewritten in its inode, too), and fsck must be clean.
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
param=/sys/module/umfs/parameters/rebase_stop
fail() { echo 0 >"$param" 2>/dev/null || true; kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-rebase: $*" >&2; exit 1; }
kt_module kmod-rebase

kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-func create "$dev" || fail "creating the files failed"
echo 500 >"$param"
kmod-func mount-interrupted "$dev" || fail "first MOUNT was not interrupted"
echo 1000 >"$param"
kmod-func mount-interrupted "$dev" || fail "second MOUNT was not interrupted"
echo 0 >"$param"
kmod-func mount "$dev" | tee /tmp/kmod-rebase.log || fail "MOUNT after two cut rebases failed"
grep -q " 0 entries rebased" /tmp/kmod-rebase.log && fail "the third MOUNT had nothing left to do"
kmod-func contents "$dev" || fail "contents differ after the resumed rebase"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean"

mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
echo "kmod-rebase: ok"
