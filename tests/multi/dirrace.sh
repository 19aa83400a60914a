#!/bin/bash
# SPDX-License-Identifier: MIT
# dirrace.sh - multi-dirrace: readers of a directory (readdir + fstatat,
# getdents64, scandir + stat + open, stat/lstat/open/access of changing
# names) in three processes while two others create, rename and unlink in
# it (multi_dirrace.c): on tmpfs, under the library, and through umfs-fuse
# with one changer under the library beside it. No reader meets an errno
# the kernel would not give (ENOENT for a name that went away is one it
# gives). Quick: 2 s on tmpfs, 4 s under the library; full: 60 s each, and
# the umfs-fuse run. That run is left out of the quick mode (make test)
# while umfs-fuse has an open defect it finds: an open of a name another
# process just replaced answers ESTALE (each 60-second run tried, with
# today's code and the code before it), and once in 13 quick runs a
# rename under the library beside the mount left the old name behind
# (fsck: a link count one short). UMFS_FULL=1 runs it.
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

if [ "$FULL" = 1 ] && fuse_usable; then
	if mount_fuse; then
		# readers and one changer through the mount, the other changer
		# under the library: the daemon waits for another process's locks
		run fuse shim "$MULTI_BIN/multi_dirrace" -w /umfs/f "$mnt/f" "$secs"
		unmount_fuse
		check_fsck
	else
		fail "umfs-fuse did not mount the pool"
		sed 's/^/  daemon: /' "$work/daemon.log" | head -5
	fi
fi
finish
