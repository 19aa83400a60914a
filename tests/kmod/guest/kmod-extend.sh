#!/bin/sh
# kmod-extend.sh (guest) - EXTEND, the module's allocation for files: a
# fresh pool with empty files (kmod-extend create), MOUNT, growth from empty
# to height 3 with exact page counts, refusals and permissions (check), an
# EXTEND cut short before each of its records and rolled back by MOUNT
# (crash), the pool filled to ENOSPC (enospc); then UNMOUNT and a clean
# fsck: the bitmap the module kept equals the pages the trees reach, its
# checksums match, and every inode's block count is exact. Last, a bitmap
# damaged behind the module (damage): EXTEND passes the bitmap page over,
# a page in use marked free is refused at MOUNT, and fsck's quick pass
# finds both and repairs them. Needs the module (skip otherwise).
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

mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
kmod-extend create "$dev" || fail "creating the files failed"
kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
said() { dmesg | grep -c "$1" || true; }
before=$(said 'umfs: page bitmap: checksum of its page 0 ')
kmod-extend damage "$dev" || fail "damaged bitmap checks failed"
[ "$(said 'umfs: page bitmap: checksum of its page 0 ')" = $((before + 1)) ] ||
	fail "the damaged bitmap page was not logged once"
dmesg | grep -q "umfs: data page .* is in a file's tree but free in the page bitmap" ||
	fail "MOUNT did not say why it refused the pool"
rc=0
fsck.umfs -n "$dev" >/tmp/ke-fsck.log 2>&1 || rc=$?
[ "$rc" = 4 ] && grep -q "fails its checksum" /tmp/ke-fsck.log &&
	grep -q "damage was refused while serving" /tmp/ke-fsck.log ||
	{ cat /tmp/ke-fsck.log; fail "fsck.umfs -n (quick) did not find the damage (exit $rc)"; }
rc=0
fsck.umfs -y "$dev" >/tmp/ke-fsck.log 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat /tmp/ke-fsck.log; fail "fsck.umfs -y exit $rc"; }
kt_fsck_clean || fail "fsck.umfs is not clean after the repair"
kmod-func mount "$dev" >/dev/null || fail "MOUNT of the repaired pool failed"
kmod-func unmount "$dev" || fail "UNMOUNT failed"
kt_kernel_clean
echo "kmod-extend: ok"
