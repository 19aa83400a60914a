#!/bin/bash
# SPDX-License-Identifier: MIT
# test_compare.sh BUILD_ROOT - the same shell exercise (workload.sh) on a
# umfs-fuse mount and on a tmpfs directory must print the same transcript.
# Then: unmount, fsck.umfs -n -f clean, remount, and the tree must be the
# same as before the unmount (persistence).
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

uf_require_fuse
chmod 755 "$UF_TMP" # the workload runs commands as nobody too

# The staging area: a small tree with the usual suspects, and a big file.
stage=$UF_TMP/stage
mkdir -p "$stage/tree/docs" "$stage/tree/sub/empty" "$stage/tree/deep/1/2/3/4/5/6/7/8"
cp "$here"/../../docs/*.md "$stage/tree/docs/"
echo "one" >"$stage/tree/docs/one.txt"
for n in 0 1 4095 4096 4097 1048579 3145728; do
	head -c "$n" /dev/urandom >"$stage/tree/sub/size-$n"
done
truncate -s 5M "$stage/tree/sub/sparse"
printf 'middle' | dd of="$stage/tree/sub/sparse" bs=1 seek=3000000 conv=notrunc status=none
ln "$stage/tree/sub/size-4096" "$stage/tree/sub/hardlink"
ln -s size-1 "$stage/tree/sub/rel-symlink"
ln -s /etc/hostname "$stage/tree/sub/abs-symlink"
echo private >"$stage/tree/sub/mode-0600" && chmod 600 "$stage/tree/sub/mode-0600"
printf '#!/bin/sh\necho hi\n' >"$stage/tree/sub/run.sh" && chmod 755 "$stage/tree/sub/run.sh"
echo spaces >"$stage/tree/sub/a name with spaces"
echo unicode >"$stage/tree/sub/ünïcødé-名前"
echo long >"$stage/tree/sub/$(printf 'L%.0s' $(seq 255))"
echo deep >"$stage/tree/deep/1/2/3/4/5/6/7/8/file"
touch -d '2001-02-03 04:05:06' "$stage/tree/docs/one.txt"
head -c 100M /dev/urandom >"$stage/big"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
ref=$UF_TMP/ref
uf_mkfs "$pool" 512M
mkdir -p "$ref"
uf_mount "$pool" "$mnt" -o allow_other
pid=$UF_PID

"$here/workload.sh" "$ref" "$stage" >"$UF_TMP/ref.out" 2>&1
t0=$(date +%s.%N)
"$here/workload.sh" "$mnt" "$stage" >"$UF_TMP/fuse.out" 2>&1
t1=$(date +%s.%N)
uf_log "workload on the FUSE mount: $(echo "$t1 - $t0" | bc) s"
if ! diff -u "$UF_TMP/ref.out" "$UF_TMP/fuse.out" >"$UF_TMP/diff"; then
	sed 's/^/# /' "$UF_TMP/diff"
	uf_fail "the FUSE mount and tmpfs differ (- tmpfs, + umfs-fuse)"
fi
uf_log "transcripts agree ($(wc -l <"$UF_TMP/fuse.out") lines)"

# What must survive an unmount: every name with its attributes and contents.
snapshot() {
	(cd "$1" && find . -printf '%y %m %n %U %G %p' -a \( -type d -printf '\n' -o \
		-type l -printf ' -> %l\n' -o -printf ' %s %T@\n' \) | sort -k6 &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
snapshot "$mnt" >"$UF_TMP/before"
uf_umount "$mnt" "$pid"
uf_fsck_clean "$pool"
uf_mount "$pool" "$mnt"
snapshot "$mnt" >"$UF_TMP/after"
if ! diff -u "$UF_TMP/before" "$UF_TMP/after" >"$UF_TMP/diff"; then
	sed 's/^/# /' "$UF_TMP/diff"
	uf_fail "the tree changed across unmount and mount"
fi
uf_log "the tree survived unmount and remount ($(wc -l <"$UF_TMP/after") lines)"
uf_umount "$mnt" "$UF_PID"
uf_fsck_clean "$pool"
echo "PASS"
