#!/bin/sh
# kmod-bench.sh (guest) - measurements of the module: attach time against
# file size (4 KiB to 4 GiB) for ATTACH, the user-space mode's umfs_open and
# mmap with MAP_POPULATE of same-size files on ext4 -o dax on the second
# NVDIMM (tmpfs when there is no DAX: the output says which), and 4 KiB
# random reads and writes through an attachment against the user-space
# path. Prints UMFS-MEASURE lines; fails only if something does not work.
# kmod-test: by name only
# (bench/kmod.sh names it: its figures are the bench's, and attaching files
# of every size is kmod-basic's check.)
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
dax=${UMFS_DAX_DEV:-}
fail() { echo "kmod-bench: $*" >&2; exit 1; }
kt_module kmod-bench

kind=tmpfs
mkdir -p /mnt/dax
if [ -n "$dax" ] && mkfs.ext4 -q -F "$dax" >/tmp/kmod-mkfs.log 2>&1 &&
	mount -t ext4 -o dax=always "$dax" /mnt/dax 2>>/tmp/kmod-mkfs.log; then
	kind=ext4dax
else
	cat /tmp/kmod-mkfs.log 2>/dev/null || true
	echo "kmod-bench: no ext4 -o dax on '${dax:-none}': comparing with tmpfs"
	mount -t tmpfs -o size=1G tmpfs /mnt/dax
fi

# the module may hold the pool from an earlier test
kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-bench create "$dev" /mnt/dax || fail "creating the files failed"
kmod-func mount "$dev" || fail "MOUNT failed"
kmod-bench run "$dev" /mnt/dax "$kind" || fail "measurements failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
umount /mnt/dax
echo "kmod-bench: ok ($kind)"
