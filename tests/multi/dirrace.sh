#!/bin/bash
# SPDX-License-Identifier: MIT
# dirrace.sh - multi-dirrace: readers of a directory (readdir + fstatat,
# getdents64, scandir + stat + open, stat/lstat/open/access of changing
# names) in three processes while two others create, rename and unlink in
# it (multi_dirrace.c): on tmpfs, under the library, and through umfs-fuse
# with both changers under the library beside it (the daemon's opens and
# closes racing the library's renames and unlinks: fsck must find every
# name and link count right after it), then with one changer through the
# mount (a rename through the mount while a reader opens: the kernel's
# node must still name the inode it looked up). No reader meets an errno
# the kernel would not give (ENOENT for a name that went away is one it
# gives; ESTALE is not). Quick: 2 s on tmpfs, 4 s under the library, 4 s
# each through umfs-fuse; full: 60 s each.
. "$(dirname "$0")/lib.sh"

if [ "$FULL" = 1 ]; then ref=60 secs=60; else ref=2 secs=4; fi
make_pool 128M

# run NAME COMMAND...: one run, its verdict and its figures
run() {
	local name=$1 rc=0 out=$work/$1.out
	shift
	"$@" >"$out" 2>&1 || rc=$?
	check "$name: no errno the kernel would not give in $(sed -n 's/^listings //p' "$out") listings, $(sed -n 's/^calls //p' "$out") calls (exit $rc)" \
		"" "$(grep -v '^listings\|^calls\|^enoent' "$out" || true)"
	[ "$(sed -n 's/^listings //p' "$out")" -gt 0 ] 2>/dev/null || fail "$name: no listing at all"
}

run tmpfs "$MULTI_BIN/multi_dirrace" "$work/tmpfs-d" "$ref"
run shim shim "$MULTI_BIN/multi_dirrace" /umfs/d "$secs"
check_fsck

if fuse_usable; then
	if mount_fuse; then
		# readers through the mount; the changers under the library
		run fuse shim "$MULTI_BIN/multi_dirrace" -b -w /umfs/f "$mnt/f" "$secs"
		# one changer through the mount too
		run fuse-mixed shim "$MULTI_BIN/multi_dirrace" -w /umfs/g "$mnt/g" "$secs"
		unmount_fuse
		check_fsck
	else
		fail "umfs-fuse did not mount the pool"
		sed 's/^/  daemon: /' "$work/daemon.log" | head -5
	fi
fi
finish
