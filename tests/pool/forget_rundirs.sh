#!/bin/bash
# SPDX-License-Identifier: MIT
# forget_rundirs.sh PATH... - removes the runtime directories
# (/dev/shm/umfs-UUID-*, /tmp/umfs-UUID-*) of every UMFS pool found at
# PATH (a pool file, or a directory searched for them), which outlive the
# pool's users and would stay once a test removes its pools. For the
# suites' clean-ups: call it before the pools are removed.
for p in "$@"; do
	[ -e "$p" ] || continue
	find "$p" -xdev -type f -size +4k 2>/dev/null | while read -r f; do
		[ "$(od -An -tx8 -N8 "$f" 2>/dev/null | tr -d ' ')" = 4c4f4f5053464d55 ] || continue
		uuid=$(od -An -tx1 -j32 -N16 "$f" | tr -d ' \n')
		[ ${#uuid} = 32 ] && rm -rf /dev/shm/umfs-"$uuid"-* /tmp/umfs-"$uuid"-*
	done
done
exit 0
