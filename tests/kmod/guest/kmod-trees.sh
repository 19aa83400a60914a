#!/bin/sh
# kmod-trees.sh (guest) - the module on a pool as mkfs.umfs makes one for a
# device, with level-4 and inline tables: files made in software mode
# before the first MOUNT, whose rebase rewrites inline entries and a
# level-4 tree (rebased); a sparse file past 512 GiB in module mode, grown
# from 3 levels to 4 and cut back (big); files of 1 to 17 pages inline,
# grown past 17 and cut back, an attachment that sees new pages,
# copy-on-write (inline); EXTEND and FREE cut before each record in those
# conversions (crash). UNMOUNT, a clean fsck and a MOUNT that validates
# the trees after each phase. Last, a pool made without the features keeps
# 512 GiB and table pages (l3). Needs the module (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-trees: $*" >&2; exit 1; }
kt_module kmod-trees

kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-trees create "$dev" || fail "creating the files failed"
kmod-func mount "$dev" || fail "MOUNT of a pool with level-4 and inline tables failed"
for phase in rebased big inline crash; do
	kmod-trees "$phase" "$dev" || fail "phase $phase failed"
	kmod-func unmount "$dev" || fail "UNMOUNT after $phase failed"
	kt_fsck_clean || fail "fsck.umfs is not clean after $phase"
	kmod-func mount "$dev" >/dev/null || fail "MOUNT after $phase failed"
done
kmod-func unmount "$dev" || fail "UNMOUNT failed"

# a pool made for older code keeps the old limits
mkfs.umfs -q -f -O noinline -O nolevel4 "$dev" || fail "mkfs.umfs -O noinline -O nolevel4 failed"
kmod-func mount "$dev" >/dev/null || fail "MOUNT of a pool without the features failed"
kmod-trees l3 "$dev" || fail "phase l3 failed"
kmod-func unmount "$dev" || fail "UNMOUNT after l3 failed"
kt_fsck_clean || fail "fsck.umfs is not clean after l3"
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kt_kernel_clean
echo "kmod-trees: ok"
