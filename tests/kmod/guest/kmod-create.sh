#!/bin/sh
# kmod-create.sh (guest) - CREATE, RELEASE and ULOG, the module's inode and
# U-Log allocation calls (ABI 5). A pool of 200 inodes (so that the inode
# bitmap can be filled), its directories made by the C API (kmod-create
# setup), then phases, each between MOUNT and UNMOUNT and followed by a
# clean fsck; every call is checked against a model of the inode zone,
# both bitmaps and the state page:
#   create   every file type, setgid parents, fsuid, uid 65534 against the
#            kernel's own answers on tmpfs; EACCES, EBUSY
#   refuse   refusals of the three calls leave the pool unchanged
#   ulog     chains grown, kept, dropped; uid 65534 (EACCES, EBUSY)
#   release  orphan list head, middle, tail; U-Log pages; generations
#   crash    each call cut before each record and its commit (tx_stop),
#            MOUNT's rollback exact
#   enospc   the inode bitmap full; the last free inode reused
# Needs the module (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-create: $*" >&2; exit 1; }
kt_module kmod-create
kt_open_to_users

# A phase whose checks fail does not stop the others: one run shows every
# failure (a phase starts with the test hook off, from a fresh MOUNT).
failed=""
phase() {
	t0=$(date +%s)
	echo 0 >/sys/module/umfs/parameters/tx_stop
	kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
	kmod-create "$1" "$dev" || failed="$failed $1"
	echo 0 >/sys/module/umfs/parameters/tx_stop
	kmod-func unmount "$dev" || fail "UNMOUNT failed"
	kt_fsck_clean || failed="$failed $1(fsck)"
	echo "kmod-create: phase $1: $(($(date +%s) - t0)) s"
}

kmod-func unmount "$dev" 2>/dev/null || true
mkfs.umfs -q -f -N 200 "$dev" || fail "mkfs.umfs failed"
kmod-create setup "$dev" || fail "making the directories failed"
# umfs.create_phases=crash,enospc (run.sh --append) runs some only
for p in $(echo "${UMFS_OPT_CREATE_PHASES:-create,refuse,ulog,release,crash,enospc}" | tr ',' ' '); do
	phase "$p"
done
kt_kernel_clean
[ -z "$failed" ] || fail "the checks of:$failed failed (above)"
echo "kmod-create: ok"
