#!/bin/bash
# SPDX-License-Identifier: MIT
# test_gaps.sh BUILD_ROOT - what the kernel holds of a removed name, and
# the lookup counts behind it.
#   1. removed_cwd (a current directory removed by the process itself or
#      by another, an O_PATH descriptor of an unlinked file) prints the
#      same on the umfs-fuse mount as on tmpfs, with and without the
#      kernel caching entries (the second mount serves readdirplus).
#   2. The lookup counts: 2,000 names created, listed with ls -l five times
#      (each readdirplus counts a lookup per name), removed; every inode
#      must come back free once the kernel forgets them (a count too high
#      keeps a removed inode held), and the daemon must report no FORGET
#      of more than it counted nor a hold left at unmount.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
probe=$UF_BUILD/tests/fuse/removed_cwd
[ -x "$probe" ] || uf_fail "$probe was not built"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
ref=$UF_TMP/ref
uf_mkfs "$pool" 64M
mkdir -p "$ref/t"
"$probe" "$ref/t" >"$UF_TMP/ref.out" 2>&1 || uf_fail "removed_cwd on tmpfs"

# compare_probe LABEL: removed_cwd in a fresh directory of the mount
compare_probe() {
	mkdir "$mnt/$1" || uf_fail "mkdir $mnt/$1"
	"$probe" "$mnt/$1" >"$UF_TMP/$1.out" 2>&1
	if ! diff -u "$UF_TMP/ref.out" "$UF_TMP/$1.out" >"$UF_TMP/diff"; then
		sed 's/^/# /' "$UF_TMP/diff"
		uf_fail "$1: the FUSE mount and tmpfs differ (- tmpfs, + umfs-fuse)"
	fi
	rm -r "$mnt/$1" "$ref/t" && mkdir "$ref/t"
	uf_log "$1: removed_cwd agrees with tmpfs ($(wc -l <"$UF_TMP/$1.out") lines)"
}

free_inodes() { stat -f -c %d "$mnt"; }

# the daemon's report at unmount: nothing amiss
check_report() {
	if grep -q 'nodes at unmount' "$mnt.log"; then
		sed 's/^/# daemon: /' "$mnt.log"
		uf_fail "$1: the daemon's lookup counts went wrong"
	fi
}

uf_mount "$pool" "$mnt"
compare_probe default
uf_umount "$mnt" "$UF_PID"
check_report default

uf_mount "$pool" "$mnt" -o entry_timeout=1,attr_timeout=1
pid=$UF_PID
compare_probe cached
base=$(free_inodes)
t0=$(date +%s.%N)
mkdir "$mnt/big" "$ref/big"
(cd "$mnt/big" && seq -f 'file-%g' 2000 | xargs touch) || uf_fail "creating 2000 files"
(cd "$ref/big" && seq -f 'file-%g' 2000 | xargs touch)
for i in 1 2 3 4 5; do
	ls -ln "$mnt/big" >"$UF_TMP/ls.out" || uf_fail "ls -l"
done
t1=$(date +%s.%N)
uf_log "2000 files made and listed 5 times with ls -l: $(echo "$t1 - $t0" | bc) s"
# what ls -l shows, times aside, as on tmpfs
lsl() { ls -ln "$1" | awk '{print $1, $2, $3, $4, $5, $NF}'; }
diff <(lsl "$ref/big") <(lsl "$mnt/big") >"$UF_TMP/diff" ||
	{ sed 's/^/# /' "$UF_TMP/diff"; uf_fail "ls -l differs from tmpfs"; }
# a current directory inside, removed from outside while ls -l runs on
# its parent: held until its last user leaves
mkdir "$mnt/big/cwd"
(cd "$mnt/big/cwd" && rmdir "$mnt/big/cwd" && ls -l "$mnt/big" >/dev/null &&
	[ -d . ] && stat . >/dev/null) || uf_fail "a removed current directory"
rm -r "$mnt/big" || uf_fail "rm -r big"
for i in $(seq 60); do
	[ "$(free_inodes)" = "$base" ] && break
	sleep 0.05
done
[ "$(free_inodes)" = "$base" ] ||
	uf_fail "free inodes $(free_inodes) after removing everything, $base before: a removed inode is still held"
uf_umount "$mnt" "$pid"
check_report cached
uf_fsck_clean "$pool"
echo "PASS"
