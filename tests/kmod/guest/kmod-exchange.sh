#!/bin/sh
# kmod-exchange.sh (guest) - EXCHANGE, the module's copy-on-write call
# (ABI 4). Three phases, each on a fresh pool: its files made in software
# mode by libumfs's core (kmod-exchange create-PHASE), MOUNT, the phase,
# then a module-mode mount of libumfs whose recovery frees the shadows and
# U-Logs left (tidy), UNMOUNT and a clean fsck:
#   direct   every shape forward and back, exact contents, counts, bitmap;
#            refusals, cut 2 MiB leaves, bad entries, revocation, uid 65534
#   crash    EXCHANGE and BACK cut before each record and commit (tx_stop),
#            MOUNT's rollback exact; ENODEV, EOPNOTSUPP
#   libumfs  large overwrites, punch, zero range in module mode against
#            tmpfs; an overwrite's EXCHANGE cut short, rolled back by
#            libumfs's recovery
# Needs the module (skip otherwise).
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { kmod-func unmount "$dev" 2>/dev/null || true; echo "kmod-exchange: $*" >&2; exit 1; }
kt_module kmod-exchange
kt_open_to_users

# A phase on a fresh pool. The first MOUNT rebases the new pool, which
# needs it clean; the pools the create steps leave hold orphans (the
# shadows), so that MOUNT comes first. A phase whose checks fail does not
# stop the others: one run shows every failure.
failed=""
phase() {
	t0=$(date +%s)
	echo 0 >/sys/module/umfs/parameters/tx_stop
	kmod-func unmount "$dev" 2>/dev/null || true
	mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
	kmod-func mount "$dev" >/dev/null || fail "the first MOUNT failed"
	kmod-func unmount "$dev" || fail "UNMOUNT failed"
	if ! kmod-exchange "create-$1" "$dev"; then
		failed="$failed $1"
		return
	fi
	kmod-func mount "$dev" >/dev/null || fail "MOUNT failed"
	kmod-exchange "$1" "$dev" || failed="$failed $1"
	echo 0 >/sys/module/umfs/parameters/tx_stop
	kmod-exchange tidy "$dev" || failed="$failed $1(tidy)"
	if ! kmod-func unmount "$dev"; then
		failed="$failed $1(unmount)"
		return
	fi
	kt_fsck_clean || failed="$failed $1(fsck)"
	echo "kmod-exchange: phase $1: $(($(date +%s) - t0)) s"
}

# umfs.exchange_phases=crash,libumfs (run.sh --append) runs some only
for p in $(echo "${UMFS_OPT_EXCHANGE_PHASES:-direct,crash,libumfs}" | tr ',' ' '); do
	phase "$p"
done
kmod-func unmount "$dev" 2>/dev/null || true
kt_kernel_clean
[ -z "$failed" ] || fail "the checks of:$failed failed (above)"
echo "kmod-exchange: ok"
