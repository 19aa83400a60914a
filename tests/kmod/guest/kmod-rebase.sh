#!/bin/sh
# kmod-rebase.sh (guest) - the rebase survives being cut short. The module's
# test hook rebase_stop=N stops a rebase after N rewritten entries, as a
# crash would (the superblock is not updated). A new pool (phys_base 0)
# needs 2 x 1086 rewrites (one per entry and pass): with the stop at 500,
# the first MOUNT stops in pass 1; at 1000, the second stops in pass 2
# (phys_base parked); the third finishes. Then every file must
# read back exactly through attachments, and fsck must be clean. Last,
# pools made with inline tables and with level-4 tables, which the module
# refuses, naming the feature.
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

# a pool with inline tables is served without the module: MOUNT refuses
# it and the kernel log names the feature
mkfs.umfs -q -f -O inline "$dev" || fail "mkfs.umfs -O inline failed"
before=$(dmesg | grep -c "feature inline_table" || true)
kmod-func mount "$dev" >/dev/null 2>&1 && fail "MOUNT took a pool with inline tables"
after=$(dmesg | grep -c "feature inline_table" || true)
[ "$after" -gt "$before" ] || fail "no reason for the inline-table refusal in the kernel log"

# so is a pool with level-4 tables (files past 512 GiB)
mkfs.umfs -q -f -O level4 "$dev" || fail "mkfs.umfs -O level4 failed"
before=$(dmesg | grep -c "feature level4_table" || true)
kmod-func mount "$dev" >/dev/null 2>&1 && fail "MOUNT took a pool with level-4 tables"
after=$(dmesg | grep -c "feature level4_table" || true)
[ "$after" -gt "$before" ] || fail "no reason for the level-4 refusal in the kernel log"
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
echo "kmod-rebase: ok"
