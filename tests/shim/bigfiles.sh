#!/usr/bin/env bash
# bigfiles.sh - files past 512 GiB (level-4 tables): on a 64 MiB pool,
# truncate -s 1T, dd writes at 600 GiB and 2 TiB, and the bytes read back
# past 512 GiB, the sizes, du and the SEEK_DATA map must match the same
# commands on tmpfs; truncating back below 512 GiB shrinks the tree and
# fsck finds the pool clean after each step. The same through umfs-fuse
# when FUSE is usable. A pool made with -O nolevel4 stops at 512 GiB with
# EFBIG, as before.
POOL_SIZE=64M
. "$(dirname "$0")/lib.sh"

if [ "$(stat -f -c %T "$work")" != tmpfs ]; then
	echo "skip: $work is not on tmpfs"
	exit 77
fi
ref=$work/ref
mkdir "$ref"
head -c 12288 /dev/urandom >"$work/data"

# the same script on tmpfs ($1 = $ref) and under the shim ($1 = /umfs)
steps='d=$1; src=$2
truncate -s 1T "$d/big"
stat -c "%s" "$d/big"
dd if="$src" of="$d/big" bs=4096 seek=$((600 << 18)) conv=notrunc status=none
dd if="$src" of="$d/big" bs=4096 seek=$((2 << 28)) count=2 conv=notrunc status=none
stat -c "%s" "$d/big"
dd if="$d/big" bs=4096 skip=$((600 << 18)) count=3 status=none | md5sum
dd if="$d/big" bs=4096 skip=$((2 << 28)) count=2 status=none | md5sum
dd if="$d/big" bs=4096 skip=$((700 << 18)) count=1 status=none | md5sum
truncate -s 601G "$d/big"
dd if="$d/big" bs=4096 skip=$((600 << 18)) count=3 status=none | md5sum
truncate -s 100G "$d/big"
stat -c "%s" "$d/big"
du -B4096 "$d/big" | cut -f1'

bash -c "$steps" sh "$ref" "$work/data" >"$work/tmpfs.out" 2>&1
shim bash -c "$steps" sh /umfs "$work/data" >"$work/umfs.out" 2>&1 || true
check "past 512 GiB the pool reads as tmpfs" "$(cat "$work/tmpfs.out")" "$(cat "$work/umfs.out")"
diff "$work/tmpfs.out" "$work/umfs.out" >&2 || true
"$FSCK" -n -f "$pool" >"$work/fsck.out" 2>&1 && fsck_rc=0 || fsck_rc=$?
check "fsck finds the pool clean" 0 "$fsck_rc"
rm -f "$ref/big"

# the file stays sparse: the two regions written (2 MiB leaves each, as
# a write into an empty region takes) and their tables, not 2 TiB
shim truncate -s 3T /umfs/sparse
shim dd if="$work/data" of=/umfs/sparse bs=4096 seek=$((2 << 28)) conv=notrunc status=none
shim dd if="$work/data" of=/umfs/sparse bs=4096 seek=$((600 << 18)) conv=notrunc status=none
pages=$(shim du -B4096 /umfs/sparse | cut -f1)
check "a file at 2 TiB and 600 GiB takes 2 regions and tables" yes \
	"$([ "$pages" -ge 6 ] && [ "$pages" -le $((2 * 512 + 8)) ] && echo yes || echo "no: $pages")"
out=$(shim python3 -c 'import os; f = os.open("/umfs/sparse", os.O_RDONLY)
d = os.lseek(f, 0, os.SEEK_DATA); h = os.lseek(f, d, os.SEEK_HOLE)
d2 = os.lseek(f, h, os.SEEK_DATA)
print(d >> 30, d2 >> 30, (os.lseek(f, 2 << 40, os.SEEK_HOLE) - (2 << 40)) >> 20)')
# (the hole after 2 TiB starts where its 2 MiB leaf ends)
check "SEEK_DATA finds 600 GiB then 2 TiB, SEEK_HOLE the leaf's end" "600 2048 2" "$out"
shim truncate -s 0 /umfs/sparse
check "truncate to 0 frees it all" 0 "$(shim du -B4096 /umfs/sparse | cut -f1)"
"$FSCK" -n -f "$pool" >/dev/null 2>&1 && fsck_rc=0 || fsck_rc=$?
check "fsck after the shrink to nothing" 0 "$fsck_rc"

# the same commands through umfs-fuse
mkdir "$work/mnt"
"$MKFS" -q -f -s "$POOL_SIZE" "$work/pool3"
if fuse_mount "$work/pool3" "$work/mnt"; then
	bash -c "$steps" sh "$work/mnt" "$work/data" >"$work/fuse.out" 2>&1 || true
	fuse_umount "$work/mnt"
	check "through umfs-fuse: past 512 GiB as tmpfs" "$(cat "$work/tmpfs.out")" \
		"$(cat "$work/fuse.out")"
	"$FSCK" -n -f "$work/pool3" >/dev/null 2>&1 && fsck_rc=0 || fsck_rc=$?
	check "fsck after umfs-fuse" 0 "$fsck_rc"
else
	echo "skip: umfs-fuse cannot mount here"
fi

# a pool without the feature keeps the old limit
"$MKFS" -q -f -O nolevel4 -s "$POOL_SIZE" "$work/pool2"
out=$(UMFS_POOL=$work/pool2 shim truncate -s 1T /umfs/big 2>&1 || true)
check "without level4: truncate -s 1T is refused" yes \
	"$(echo "$out" | grep -q "File too large" && echo yes || echo "no: $out")"
out=$(UMFS_POOL=$work/pool2 shim truncate -s 512G /umfs/big 2>&1 && echo fine || true)
check "without level4: 512 GiB is allowed" fine "$out"
finish
