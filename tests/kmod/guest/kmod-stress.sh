#!/bin/sh
# kmod-stress.sh (guest) - concurrency: N processes (umfs.workers=N, default
# 4) attach, write through, read back, detach or munmap, and fork children
# that attach and are killed -9, while the parent REVOKEs the file every
# 2 ms, for umfs.secs=S seconds (default 20); their attaches of a second
# file, never revoked, are never sent back. Then: counters at zero, every
# worker's data intact through the user-space path, fsck clean, dmesg quiet.
#
# Power cut with the module in use (umfs.kmodpc=, driven from the host by
# booting twice on one --pool file, the first boot killed mid-run):
#   umfs.kmodpc=work    new pool, then the stress above until qemu dies
#   umfs.kmodpc=verify  MOUNT the crashed pool (tables validated), each
#                       stress region old or new word by word, fsck clean
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
workers=${UMFS_OPT_WORKERS:-4}
secs=${UMFS_OPT_SECS:-20}
mode=${UMFS_OPT_KMODPC:-}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-stress: $*" >&2; exit 1; }
kt_module kmod-stress
kmod-func unmount "$dev" 2>/dev/null || true

if [ "$mode" = verify ]; then
	kmod-func mount "$dev" || fail "MOUNT of the crashed pool failed"
	kmod-func stress-verify "$dev" "$workers" || fail "data damaged by the power cut"
	kmod-func unmount "$dev" || fail "UNMOUNT failed"
	kt_fsck_clean || fail "fsck.umfs is not clean"
	echo "kmod-stress: power cut with the module in use: pool clean"
	exit 0
fi

mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-func create "$dev" || fail "creating the files failed"
kmod-func mount "$dev" || fail "MOUNT failed"
if [ "$mode" = work ]; then
	sync
	echo "kmod-stress: working until the power cut"
	kmod-func stress "$dev" "$workers" 0
	fail "stress ended before the power cut"
fi
kmod-func stress "$dev" "$workers" "$secs" || fail "stress failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean"
kt_kernel_clean
echo "kmod-stress: ok"
