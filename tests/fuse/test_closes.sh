#!/bin/bash
# SPDX-License-Identifier: MIT
# test_closes.sh BUILD_ROOT - what a close or unlink on the umfs-fuse mount
# has done by the time it returns, as on tmpfs. The kernel sends the
# release of a file, and the forget of a removed one, without waiting for
# either, so the daemon must serve them before the requests that follow:
# close_order counts, over 300 rounds each, a file removed, and a file and
# a directory removed while open, whose space and inode are free at the
# next statfs, and flock and OFD locks that the next open takes at once;
# and an O_PATH descriptor that keeps a removed file's space until its own
# close. Its transcript on the mount must be the same as on tmpfs, also
# when the daemon is slow to free a removed file.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
probe=$UF_BUILD/tests/fuse/close_order
[ -x "$probe" ] || uf_fail "$probe was not built"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
ref=$UF_TMP/ref
mkdir -p "$ref"

# every line of a transcript must say N of N: what close_order expects
all_rounds() {
	awk '$(NF-2) != $NF { bad = 1 } END { exit bad || NR != 6 }' "$1"
}

# The reference runs on a tmpfs of its own: statfs of a shared one (as
# /dev/shm) counts what other tests do meanwhile.
if unshare -m sh -c 'mount -t tmpfs -o size=64m none "$1" && exec "$2" "$1" 300' sh \
	"$ref" "$probe" >"$UF_TMP/ref.out" 2>&1 ||
   unshare -rm sh -c 'mount -t tmpfs -o size=64m none "$1" && exec "$2" "$1" 300' sh \
	"$ref" "$probe" >"$UF_TMP/ref.out" 2>&1; then
	sed 's/^/# tmpfs: /' "$UF_TMP/ref.out"
	all_rounds "$UF_TMP/ref.out" || uf_fail "close_order on tmpfs (the test itself)"
else
	uf_log "no tmpfs of our own here (unshare -m): the transcript is checked alone"
	rm -f "$UF_TMP/ref.out"
fi

# closes_on NAME: close_order on a mount served by $UF_FUSE, compared with
# tmpfs's transcript; NAME marks its lines
closes_on() {
	local name=$1
	uf_mkfs "$pool" 64M
	uf_mount "$pool" "$mnt"
	timeout 120 "$probe" "$mnt" 300 >"$UF_TMP/fuse.out" 2>&1 || uf_fail "close_order on $name"
	sed "s/^/# $name: /" "$UF_TMP/fuse.out"
	if [ -f "$UF_TMP/ref.out" ] && ! diff -u "$UF_TMP/ref.out" "$UF_TMP/fuse.out" >"$UF_TMP/diff"; then
		sed 's/^/# /' "$UF_TMP/diff"
		uf_fail "what a close has done differs from tmpfs (- tmpfs, + $name)"
	fi
	all_rounds "$UF_TMP/fuse.out" || uf_fail "a close had not freed what it frees on $name"
	uf_umount "$mnt" "$UF_PID"
	uf_fsck_clean "$pool"
	uf_pool_remove "$pool" # with its runtime directories
}

closes_on umfs-fuse
# The space of a removed file is free once its last close in the daemon
# has returned (a forget's or a release's, served by another worker than
# the statfs): the test daemon's last closes sleep 2 ms before freeing.
UF_FUSE=$UF_BUILD/tests/fuse/umfs-fuse-slowlook
UF_TEST_RECLAIM_DELAY_US=2000 closes_on "umfs-fuse, freeing late"
uf_log "every close had freed the space and locks by the next request, as on tmpfs"
echo "PASS"
