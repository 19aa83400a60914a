#!/bin/bash
# SPDX-License-Identifier: MIT
# rundir_idle.sh UUID - whether every runtime directory of the pool with
# this UUID (32 hex digits) is as its last user leaves it: the lock region
# and the library's shared area parked ("UMPARKED" in their first eight
# bytes) or retired (empty files), the helper
# directory holding nothing but them and ofd/ (the arena and tokens no
# process holds). Prints what is not so and exits 1; exits 0 when all are
# idle or there is none. Used by the suites that end a pool's users.
set -u
uuid=$1
bad=0
say() { echo "$*"; bad=1; }
# parked or retired by a last user, not in use nor left by the dead
idle() { [ ! -s "$1" ] || [ "$(head -c 8 "$1")" = UMPARKED ]; }
for d in /dev/shm/umfs-"$uuid"-* /tmp/umfs-"$uuid"-*; do
	[ -e "$d" ] || continue
	[ -d "$d" ] && [ ! -L "$d" ] || { say "$d: not a directory"; continue; }
	[ -f "$d/lock" ] && idle "$d/lock" || say "$d/lock: not parked (a user is present, or one died)"
	for e in "$d"/* "$d"/shim/* "$d"/shim/ofd/*; do
		[ -e "$e" ] || continue
		case ${e#"$d"/} in
		lock | shim | shim/ofd | shim/ofd/arena) ;;
		shim/shared) idle "$e" || say "$e: not parked" ;;
		shim/ofd/[0-9]*)
			flock -n -x "$e" true 2>/dev/null || say "$e: a token some process holds" ;;
		*) say "$e: left behind" ;;
		esac
	done
done
exit $bad
