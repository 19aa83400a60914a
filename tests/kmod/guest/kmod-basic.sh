#!/bin/sh
# kmod-basic.sh (guest) - the module's functional test: a fresh pool with
# files of 4 KiB to 5 GiB (sparse) made through the C API, MOUNT (with the
# rebase from phys_base 0), every attach behaviour (kmod-func check), then
# attach/detach cycles with PageTables flat and counters back at zero
# (umfs.cycles=N on the kernel command line, default 30000), UNMOUNT, and
# a clean fsck. Needs the module in the initramfs (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
cycles=${UMFS_OPT_CYCLES:-30000}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-basic: $*" >&2; exit 1; }
kt_module kmod-basic
echo "kmod-basic: $(ls -l /dev/umfs); / is $(stat -c %a /)"
kt_open_to_users

# the module may hold the pool from an earlier test
kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-func create "$dev" || fail "creating the files failed"
kmod-func mount "$dev" || fail "MOUNT failed"
kmod-func check "$dev" || fail "functional checks failed"
kmod-func cycles "$dev" "$cycles" || fail "attach/detach cycles failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
# a second MOUNT finds the tables already at the device's address
kmod-func mount "$dev" | tee /tmp/kmod-remount.log || fail "second MOUNT failed"
grep -q " 0 entries rebased" /tmp/kmod-remount.log || fail "second MOUNT rebased again"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean"
kt_kernel_clean
echo "kmod-basic: ok"
