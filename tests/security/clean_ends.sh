#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clean_ends.sh - programs on the library that end at the same moment,
# through exit, _exit, or a kill, leave nothing that someone must clean by
# hand: processes that exit (either way) together leave the pool clean and
# its runtime directory idle for the next user (its region retired,
# nothing of a process's own in it); processes killed together leave both
# to the next user, whose first program recovers and, as the last to
# leave, cleans up.
#
# Standalone: BUILDDIR=build tests/security/clean_ends.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 is missing"

work=$(mktemp -d /dev/shm/umfs-ends.XXXXXX)
pool=$work/pool
trap '"$(dirname "$0")"/../pool/forget_rundirs.sh "$work"; rm -rf "$work"' EXIT
"$MKFS" -q -s 128M "$pool" || exit 1
uuid() { od -An -tx1 -j32 -N16 "$pool" 2>/dev/null | tr -d ' \n'; }
state() { od -An -tu8 -j$((4096 + 8)) -N8 "$pool" | tr -d ' '; } # 1 clean, 2 dirty
rundirs() { ls -d /dev/shm/umfs-"$(uuid)"-* 2>/dev/null | wc -l; }
export UMFS_POOL=$pool UMFS_MOUNT=/umfs

failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# N processes under the library, each holding an open file (and one an
# unlinked one), released together by the file go; each ends as $1 says.
together() { # exit|_exit|kill N
	local how=$1 n=$2 i t pids=()
	rm -f "$work"/go*
	for i in $(seq 1 "$n"); do
		LD_PRELOAD=$SHIM_LIB python3 - "$i" "$how" "$work/go" <<'EOF' &
import os, sys, time
i, how, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
f = open("/umfs/f%d" % i, "w")
f.write("x" * 100 * i)
f.flush()
if i == 1:
    g = open("/umfs/gone", "w"); g.write("y" * 100000); g.flush(); os.unlink("/umfs/gone")
open("%s.ready%d" % (go, i), "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
if how == "_exit":
    os._exit(0)
if how == "kill":
    time.sleep(60)
sys.exit(0)
EOF
		pids+=($!)
	done
	for t in $(seq 1 600); do # all of them up, with their files open
		[ "$(ls "$work"/go.ready* 2>/dev/null | wc -l)" = "$n" ] && break
		sleep 0.1
	done
	touch "$work/go"
	[ "$how" = kill ] && { sleep 0.3; kill -9 "${pids[@]}" 2>/dev/null; }
	wait "${pids[@]}" 2>/dev/null
}

check_clean() { # NAME
	local out
	out=$("$FSCK" -n -f "$pool" 2>&1)
	if [ $? = 0 ] && [ "$(echo "$out" | tail -1 | grep -c ': clean$')" = 1 ]; then
		ok "$1: fsck -n -f says clean"
	else
		fail "$1: fsck -n -f: $(echo "$out" | tail -4 | tr '\n' '|')"
	fi
	[ "$(state)" = 1 ] && ok "$1: the pool is marked clean" || fail "$1: the state page says $(state)"
	[ "$(rundirs)" -le 1 ] && idle=$("$(dirname "$0")"/../pool/rundir_idle.sh "$(uuid)") &&
		ok "$1: the runtime directory is left idle" ||
		fail "$1: runtime directories left: $(ls -d /dev/shm/umfs-"$(uuid)"-* | tr '\n' ' ') $idle"
}

for round in 1 2 3; do
	together exit 12
	check_clean "12 programs exit together (round $round)"
	together _exit 12
	check_clean "12 programs _exit together (round $round)"
done

together kill 12
[ "$(state)" = 2 ] && ok "12 programs killed together: the pool is left dirty" ||
	fail "12 programs killed together: the state page says $(state)"
out=$("$FSCK" -n -f "$pool" 2>&1)
[ $? = 0 ] && echo "$out" | grep -q '^recoverable:' && ! echo "$out" | grep -q '^damage:' &&
	ok "12 programs killed together: fsck -n finds crash state only" ||
	fail "12 programs killed together: fsck -n: $(echo "$out" | tail -4 | tr '\n' '|')"
# What a crash leaves beside the pool is swept by the first user that
# recovers: a runtime directory of this UUID that no process uses goes, one
# a live copy of the pool (same UUID, another run id) uses stays.
cp "$pool" "$work/copy"
dd if=/dev/zero of="$work/copy" bs=1 seek=4144 count=8 conv=notrunc status=none # no run id
UMFS_POOL=$work/copy LD_PRELOAD=$SHIM_LIB bash -c \
	'exec 3</umfs/f1; touch "$1.up"; sleep 2; cat <&3 >"$1"' _ "$work/held" &
holder=$!
for _ in $(seq 100); do [ -e "$work/held.up" ] && break; sleep 0.05; done
stale=/dev/shm/umfs-$(uuid)-0123456789abcdef
mkdir -m 700 "$stale" && : >"$stale/lock"
live=$(ls -d /dev/shm/umfs-"$(uuid)"-* | grep -v -e "$stale" -e "$(od -An -tx8 -j4144 -N8 "$pool" | tr -d ' ')")
LD_PRELOAD=$SHIM_LIB ls /umfs >/dev/null || fail "the next program could not list the pool"
[ ! -e "$stale" ] && ok "the first user after a crash removes a stale runtime directory" ||
	fail "a stale runtime directory stayed: $stale"
[ -n "$live" ] && [ -d "$live" ] && ok "and leaves the one a live copy of the pool uses" ||
	fail "the live copy's runtime directory ($live) is gone"
wait "$holder"
"$(dirname "$0")"/../pool/rundir_idle.sh "$(uuid)" >/dev/null && rm -rf "$live" # the copy's, left idle
[ "$(cat "$work/held" 2>/dev/null)" = "$(printf 'x%.0s' $(seq 100))" ] &&
	ok "the copy's program read its file after the sweep" || fail "the copy's program read: $(head -c 80 "$work/held")"
check_clean "the next program after a kill"
[ "$(LD_PRELOAD=$SHIM_LIB cat /umfs/f12 | wc -c)" = 1200 ] && ok "files intact" || fail "files changed"

echo "# $failures failure(s)"
[ "$failures" = 0 ]
