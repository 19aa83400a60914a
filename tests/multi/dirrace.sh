#!/bin/bash
# SPDX-License-Identifier: MIT
# dirrace.sh - multi-dirrace: a directory listed (readdir, fstatat of each
# name, getdents64, stat) by one process while two others create, rename
# and unlink in it (multi_dirrace.c), on tmpfs and under the library: the
# lister meets no errno, as the kernel gives none. Quick: 5 s each; full:
# 60 s.
. "$(dirname "$0")/lib.sh"

if [ "$FULL" = 1 ]; then secs=60; else secs=5; fi
make_pool 128M

"$MULTI_BIN/multi_dirrace" "$work/tmpfs-d" "$secs" >"$work/tmpfs.out" 2>&1 ||
	{ cat "$work/tmpfs.out"; fail "the reference run on tmpfs"; finish; }
check "tmpfs: no errno in $(sed -n 's/^listings //p' "$work/tmpfs.out") listings" "" \
	"$(grep '^errno' "$work/tmpfs.out" || true)"

rc=0
shim "$MULTI_BIN/multi_dirrace" /umfs/d "$secs" >"$work/umfs.out" 2>&1 || rc=$?
check "umfs: no errno in $(sed -n 's/^listings //p' "$work/umfs.out") listings (exit $rc)" "" \
	"$(grep -v '^listings' "$work/umfs.out" || true)"
check_fsck
finish
