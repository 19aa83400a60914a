#!/bin/bash
# SPDX-License-Identifier: MIT
# test_pool_grow.sh BUILDDIR - umfs-pool grow against independent
# references: fsck.umfs finds the grown pool clean, umfs-pool info and the
# file's size say the new size, files written before read back with the
# same md5 as before, and a file larger than the old pool's whole size
# reads back with the md5 of its source. Then every refusal, each naming
# what is wrong and leaving the pool's first page and size as they were.
# Exit 0 passed, 1 failed.
set -u
B=$1
MKFS=$B/mkfs/mkfs.umfs FSCK=$B/fsck/fsck.umfs RUN=$B/tools/umfs-run POOLT=$B/pool/umfs-pool
export PMEM_IS_PMEM_FORCE=1
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT
D=$(mktemp -d /dev/shm/umfs-poolgrow.XXXXXX)
P=$D/p.pool
HOLDER= LOOP=
cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	wait 2>/dev/null
	"$(dirname "$0")"/forget_rundirs.sh "$D"
	rm -rf "$D"
}
trap cleanup EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
field() { "$POOLT" info "$P" | sed -n "s/^$1 *//p"; }
on_pool() { "$RUN" --pool "$P" --mount /umfs -- "$@"; }
snap() { { stat -c %s "$P"; head -c 4096 "$P" | md5sum; } >"$D/snap"; }
unchanged() { cmp -s "$D/snap" <({ stat -c %s "$P"; head -c 4096 "$P" | md5sum; }) || fail "$1 changed the pool"; }
# refused CODE PATTERN SIZE: grow to SIZE exits CODE naming PATTERN, writes nothing
refused() {
	snap
	"$POOLT" grow "$P" "$3" >/dev/null 2>"$D/err"
	local rc=$?
	[ $rc = "$1" ] && grep -q -- "$2" "$D/err" || fail "grow to $3: exit $rc, $(cat "$D/err")"
	unchanged "grow to $3"
}

"$MKFS" -q -s 16M -G 64M "$P" || fail "mkfs"
[ "$(field 'max size')" = "67108864 bytes (set by mkfs.umfs -G)" ] || fail "max size: $(field 'max size')"
on_pool sh -c 'for i in 1 2 3; do head -c 300000 /dev/urandom >/umfs/f$i; done' || fail "writing"
sum=$(on_pool cat /umfs/f1 /umfs/f2 /umfs/f3 | md5sum)

"$POOLT" grow "$P" 48M >"$D/out" || fail "grow to 48M: $(cat "$D/out")"
grep -q "grown from 16 MiB to 48 MiB" "$D/out" || fail "grow says: $(cat "$D/out")"
[ "$(stat -c %s "$P")" = $((48 << 20)) ] || fail "file size $(stat -c %s "$P")"
[ "$(field size)" = "$((48 << 20)) bytes" ] || fail "info size: $(field size)"
[ "$(field backup)" = "matches the superblock" ] || fail "backup: $(field backup)"
"$FSCK" -n -f "$P" >"$D/fsck" || { cat "$D/fsck"; fail "fsck -n -f after the grow"; }
# more than the old pool held in all: its pages lie past the old end
head -c $((24 << 20)) /dev/urandom >"$D/big"
on_pool sh -c "cat '$D/big' >/umfs/big" || fail "writing 24 MiB into the grown pool"
[ "$(on_pool cat /umfs/big | md5sum)" = "$(md5sum <"$D/big")" ] || fail "the 24 MiB file read back"
[ "$(on_pool cat /umfs/f1 /umfs/f2 /umfs/f3 | md5sum)" = "$sum" ] || fail "the old files after the grow"
"$FSCK" -n -f "$P" >"$D/fsck" || { cat "$D/fsck"; fail "fsck -n -f after the fill"; }

# refusals
refused 2 "invalid size '12x'" 12x
refused 1 "cannot shrink to 16 MiB" 16M
refused 1 "is past the largest size this pool can take, 64 MiB (67108864 bytes): its maximum size, set by mkfs.umfs -G" 65M
refused 1 "not a multiple of the 4096-byte page size" 50000001
snap
"$POOLT" grow "$P" 48M >"$D/out" 2>&1 && grep -q "already 48 MiB" "$D/out" || fail "grow to its size: $(cat "$D/out")"
unchanged "grow to its own size"
on_pool sh -c 'echo x >/umfs/g; kill -9 $$' 2>/dev/null
refused 1 "run fsck.umfs on it first" 56M
"$FSCK" -y "$P" >/dev/null; [ $? -le 1 ] || fail "fsck -y of the dirty pool"
mkfifo "$D/go"
"$RUN" --pool "$P" --mount /umfs -- sh -c 'exec 3</umfs/f1; echo >"$2"; read -r x <"$1"' sh "$D/go" "$D/ready" &
HOLDER=$!
for _ in $(seq 600); do [ -e "$D/ready" ] && break; sleep 0.05; done
refused 3 "pid $HOLDER" 60M
echo >"$D/go"; wait "$HOLDER" || fail "the holder"; HOLDER=
"$POOLT" grow "$P" 64M >/dev/null || fail "grow to the maximum"
"$FSCK" -n -f "$P" >"$D/fsck" || { cat "$D/fsck"; fail "fsck -n -f at the maximum"; }
[ "$(on_pool cat /umfs/big | md5sum)" = "$(md5sum <"$D/big")" ] || fail "the 24 MiB file at the maximum"

# a device cannot grow (a loop device, where root may make one)
if [ "$(id -u)" = 0 ] && truncate -s 16M "$D/dev.img" && LOOP=$(losetup -f --show "$D/dev.img" 2>/dev/null); then
	"$MKFS" -q "$LOOP" || fail "mkfs on $LOOP"
	"$POOLT" grow "$LOOP" 32M 2>"$D/err"; [ $? = 1 ] && grep -q "a device cannot grow" "$D/err" ||
		fail "grow of a device: $(cat "$D/err")"
	losetup -d "$LOOP"; LOOP=
else
	echo "SKIP: no loop device for the device refusal"
fi

[ $failed = 0 ] && echo PASS
exit $failed
