#!/bin/sh
# kmod-meta.sh (guest) - SETATTR and FREE, the module's metadata calls: a
# fresh pool with files made through the C API, two of them of 2 MiB
# leaves (kmod-meta create), MOUNT; chmod and chown against the guest
# kernel's own answers on tmpfs (setattr); holes, exact page counts, trees
# shrinking, 2 MiB leaves split, a fragmented free over several calls
# (free); both calls cut short before each of their records and rolled
# back by MOUNT (crash). UNMOUNT and a clean fsck after each phase: the
# bitmap the module kept equals the pages the trees reach, block counts
# and inode checksums are exact. Needs the module (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-meta: $*" >&2; exit 1; }
kt_module kmod-meta
kt_open_to_users

# Runs one phase between MOUNT and UNMOUNT, then fsck. A phase whose checks
# fail does not stop the others (each starts from a fresh MOUNT, the test
# hook off): one run shows every failure.
failed=""
phase() {
	echo 0 >/sys/module/umfs/parameters/tx_stop
	kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
	kmod-meta "$1" "$dev" || failed="$failed $1"
	kmod-func unmount "$dev" || fail "UNMOUNT failed"
	kt_fsck_clean || fail "fsck.umfs is not clean after the $1 checks"
}

kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-meta create "$dev" || fail "creating the files failed"
phase setattr
phase free
phase crash
kt_kernel_clean
[ -z "$failed" ] || fail "the checks of:$failed failed (above)"
echo "kmod-meta: ok"
