#!/bin/bash
# SPDX-License-Identifier: MIT
# test_pool_rundir.sh BUILDDIR - what a pool's users leave in /dev/shm.
# Processes that use a pool and exit cleanly (together, one after the
# other, a child still holding an inherited descriptor when its parent
# leaves) leave one runtime directory of the pool's UUID, idle (its region
# retired, nothing of a process's own in it), which the next user takes
# up; one made for the pool's former permissions is replaced, and the old
# one removed. A directory a SIGKILLed process left, and an idle one, are
# removed by `umfs-pool clean`, while the one a
# live process of a copy of the pool (same UUID) uses is kept and keeps
# working; a token another process holds keeps its directory; a symlink
# with a runtime directory's name is not followed. Exit 0 passed, 1 failed.
set -u
B=$1
MKFS=$B/mkfs/mkfs.umfs RUN=$B/tools/umfs-run POOLT=$B/pool/umfs-pool
IDLE=$(dirname "$0")/rundir_idle.sh
export PMEM_IS_PMEM_FORCE=1
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT
D=$(mktemp -d /dev/shm/umfs-rundirtest.XXXXXX)
P=$D/p.pool
PIDS=()
failed=0
fail() { echo "FAIL: $*"; failed=1; }
on() { local pool=$1; shift; "$RUN" --kmod=off --pool "$pool" --mount /umfs -- "$@"; }

"$MKFS" -q -s 16M "$P" || { echo "FAIL: mkfs"; exit 1; }
hex=$("$POOLT" info --json "$P" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"].replace("-",""))')
dirs() { ls -d /dev/shm/umfs-"$hex"-* /tmp/umfs-"$hex"-* 2>/dev/null; }
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	# this test's pool UUID only
	for d in $(dirs); do rm -rf "$d"; done
	rm -rf "$D"
}
trap cleanup EXIT

# clean exits, in the orders that used to leave ofd/arena behind
on "$P" sh -c 'echo hello >/umfs/f' || fail "write"
on "$P" sh -c 'exec 5</umfs/f; cat /umfs/f >/dev/null; sleep 0.2; exit 0' || fail "fg child"
on "$P" sh -c 'exec 5</umfs/f; exec cat /umfs/f' >/dev/null || fail "exec"
on "$P" sh -c 'exec 5</umfs/f; sleep 0.3 & exit 0' || fail "bg child"
for i in 1 2 3; do on "$P" sh -c 'cat /umfs/f; exec 4</umfs/f; sleep 0.2' >/dev/null & done
wait
for _ in $(seq 50); do "$IDLE" "$hex" >/dev/null && break; sleep 0.1; done
[ "$(dirs | wc -l)" = 1 ] && "$IDLE" "$hex" >"$D/idle.out" ||
	fail "clean exits left: $(find $(dirs) | tr '\n' ' '): $(cat "$D/idle.out")"
kept=$(dirs)
[ "$(stat -c %a "$kept")" = 700 ] || fail "the kept directory has mode $(stat -c %a "$kept")"
on "$P" cat /umfs/f >/dev/null || fail "the next user"
[ "$(dirs)" = "$kept" ] && "$IDLE" "$hex" >"$D/idle.out" ||
	fail "the next user did not take up $kept: $(dirs): $(cat "$D/idle.out")"

# the pool's permissions changed: a directory with the new ones replaces
# the old, which nobody uses and which goes
chgrp nogroup "$P" && chmod 660 "$P" && chmod 711 "$D"
on "$P" cat /umfs/f >/dev/null || fail "a user after chmod g+w"
[ "$(dirs | wc -l)" = 1 ] && [ "$(dirs)" != "$kept" ] &&
	[ "$(stat -c %a:%G "$(dirs)")" = 2770:nogroup ] ||
	fail "after chmod g+w: $(for d in $(dirs); do stat -c '%n %a:%G' "$d"; done | tr '\n' ' ')"
setpriv --reuid=65534 --regid=65534 --groups "$(getent group nogroup | cut -d: -f3)" \
	"$RUN" --kmod=off --pool "$P" --mount /umfs -- cat /umfs/f >"$D/member.out" 2>&1 &&
	grep -qx hello "$D/member.out" || fail "a member of the pool's group: $(cat "$D/member.out")"
chmod 600 "$P"
on "$P" cat /umfs/f >"$D/narrow.out" 2>&1 && grep -qx hello "$D/narrow.out" &&
	! grep -q warning "$D/narrow.out" || fail "a user after chmod g-w: $(cat "$D/narrow.out")"
[ "$(dirs | wc -l)" = 1 ] && [ "$(stat -c %a "$(dirs)")" = 700 ] ||
	fail "after chmod g-w: $(for d in $(dirs); do stat -c '%n %a' "$d"; done | tr '\n' ' ')"
chgrp root "$P"

# a SIGKILLed user leaves its directory behind
mkfifo "$D/ready"
# (umfs-run itself in the background: its pid is the one killed)
"$RUN" --kmod=off --pool "$P" --mount /umfs -- sh -c 'exec 3</umfs/f; echo >"$1"; exec sleep 60' sh "$D/ready" &
victim=$!
PIDS+=("$victim")
read -r _ <"$D/ready"
stale=$(dirs)
kill -9 "$victim"; wait "$victim" 2>/dev/null
[ -n "$stale" ] && [ -d "$stale/shim/ofd" ] || fail "no directory left by the killed process"

# a copy of the pool (same UUID) in use by a live process
cp --sparse=always "$P" "$D/copy.pool"
# a copy takes the run id with it: give it a new directory
mv "$stale" "$stale.hidden"
mkfifo "$D/go"
on "$D/copy.pool" sh -c 'exec 3</umfs/f; echo >"$1"; read -r x <"$2"; cat /umfs/f' sh "$D/ready" "$D/go" >"$D/live.out" &
live=$!
PIDS+=("$live")
read -r _ <"$D/ready"
mv "$stale.hidden" "$stale"
livedir=$(dirs | grep -vx "$stale")
[ -n "$livedir" ] && [ "$livedir" != "$stale" ] || fail "the live copy has no directory of its own: $(dirs)"

# a held token (a process without the library holding a description)
held=/dev/shm/umfs-$hex-00000000000000aa
mkdir -p "$held/shim/ofd/7" && : >"$held/shim/ofd/arena"
(exec 9<"$held/shim/ofd/7" && flock -x 9 && exec sleep 60) &
holder=$!
PIDS+=("$holder")
# a symlink with a runtime directory's name, and what it points to
mkdir "$D/target" && : >"$D/target/keep"
ln -s "$D/target" "/dev/shm/umfs-$hex-00000000000000bb"
sleep 0.3

"$POOLT" clean "$P" >"$D/clean.out" 2>&1 || fail "clean: exit $?: $(cat "$D/clean.out")"
[ ! -e "$stale" ] || fail "the killed process's directory stayed: $(cat "$D/clean.out")"
grep -q "removed $stale" "$D/clean.out" || fail "clean does not say it removed $stale"
[ -d "$livedir" ] || fail "the live copy's directory was removed"
grep -q "kept $livedir: in use" "$D/clean.out" || fail "clean does not name the live one kept"
[ -d "$held/shim/ofd/7" ] || fail "a held token was removed"
[ -e "$D/target/keep" ] || fail "clean followed a symlink"
[ -L "/dev/shm/umfs-$hex-00000000000000bb" ] || fail "clean removed a symlink it does not own as a directory"
rm -f "/dev/shm/umfs-$hex-00000000000000bb"
echo >"$D/go"
wait "$live" || fail "the live copy's user failed after clean"
grep -qx hello "$D/live.out" || fail "the live copy's user read '$(cat "$D/live.out")'"

# once its holder is gone, the held one goes too
kill "$holder"; wait "$holder" 2>/dev/null
"$POOLT" clean "$P" >"$D/clean.out" 2>&1 || fail "second clean"
[ ! -e "$held" ] || fail "a directory nobody holds any more stayed: $(cat "$D/clean.out")"
[ -z "$(dirs)" ] || fail "left after the second clean: $(dirs)"
[ $failed = 0 ] && echo "runtime directories: pass"
exit $failed
