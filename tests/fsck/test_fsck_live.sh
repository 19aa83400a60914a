#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_fsck_live.sh - fsck.umfs and a pool in use (TAP): a pool that a
# live program holds is neither checked nor repaired, with the holder
# named and no advice to repair; and `fusermount3 -u; fsck.umfs -y` works
# every time, although the kernel's unmount returns before umfs-fuse has
# let go of the pool.
#   test_fsck_live.sh BUILD_ROOT
set -u

build=${1:?usage: test_fsck_live.sh BUILD_ROOT}
fsck=$build/fsck/fsck.umfs
mkfs=$build/mkfs/mkfs.umfs
run_=$build/tools/umfs-run
fuse=$build/fuse/umfs-fuse
export PMEM_IS_PMEM_FORCE=1
dir=$(mktemp -d /dev/shm/umfs-fsck-live.XXXXXX) || exit 1
out=$dir/out
n=0
failed=0
holder=
uuid=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	mountpoint -q "$dir/mnt" 2>/dev/null && fusermount3 -u -z "$dir/mnt"
	# the runtime directories the pool's last users left (sharing.md)
	[ -n "$uuid" ] && rm -rf /dev/shm/umfs-"$uuid"-*
	"$(dirname "$0")"/../pool/forget_rundirs.sh "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/# /' "$out"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

pool=$dir/pool
uuid=$("$mkfs" -s 16M "$pool" | sed -n 's/^ *UUID *//p' | tr -d -)
[ -n "$uuid" ] || exit 1

# A program under the shim with a file open for writing, and one written.
"$run_" --pool "$pool" -- bash -c \
	'echo data >/umfs/done; exec 3>/umfs/open; echo partial >&3; exec sleep 30' \
	2>"$dir/holder.err" &
holder=$!
for _ in $(seq 200); do
	[ "$(cat /proc/$holder/comm 2>/dev/null)" = sleep ] &&
		[ -n "$(find /proc/$holder/fd -lname "$pool" 2>/dev/null)" ] && break
	sleep 0.05
done

for mode in -n "" -y -p; do
	"$fsck" $mode "$pool" >"$out" 2>&1
	rc=$?
	verb=checked
	case $mode in -y | -p) verb=repaired ;; esac
	check "fsck.umfs ${mode:-(no mode)} on a pool in use: exit 8" test "$rc" -eq 8
	check "fsck.umfs ${mode:-(no mode)} names the holder and changes nothing" \
		grep -q "the pool is in use by pid $holder (sleep): nothing $verb" "$out"
	check "fsck.umfs ${mode:-(no mode)} reports no damage and advises no -y" \
		bash -c "! grep -qE 'damage|-y|uncorrected' '$out'"
done

kill "$holder"
wait "$holder" 2>/dev/null
holder=
"$fsck" -n -f "$pool" >"$out" 2>&1
rc=$?
check "once the holder is gone, fsck.umfs -n finds no damage" test "$rc" -eq 0
check "and says so" grep -qE ': (clean|no damage: crash state only.*)$' "$out"

# unmount, then repair: the daemon lets go after fusermount3 returns
rounds=30
if [ -x "$fuse" ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null &&
   mkdir "$dir/mnt" && "$fuse" "$pool" "$dir/mnt" 2>"$out"; then
	"$fsck" -n "$pool" >"$out" 2>&1
	daemon=$(pgrep -n -f "^$fuse $pool ")
	check "fsck.umfs on a umfs-fuse mount names the daemon, and only it" \
		grep -qx "fsck.umfs: $pool: the pool is in use by pid $daemon (umfs-fuse): .*" "$out"
	# a daemon slow to let go after its mount is gone is waited for,
	# though the pid that took its lock (before it forked) is gone
	kill -STOP "$daemon"
	fusermount3 -u "$dir/mnt"
	(sleep 1; kill -CONT "$daemon") &
	"$fsck" -y "$pool" >"$out" 2>&1
	check "fsck.umfs -y waits for a daemon whose mount is gone" test $? -eq 0
	wait
	bad=0
	for i in $(seq "$rounds"); do
		if ! "$fuse" "$pool" "$dir/mnt" 2>"$out"; then
			bad=$((bad + 1))
			sleep 0.2
			continue
		fi
		echo "$i" >"$dir/mnt/round$i"
		fusermount3 -u "$dir/mnt"
		"$fsck" -y "$pool" >"$out" 2>&1 || { bad=$((bad + 1)); sed 's/^/# /' "$out"; }
	done
	check "$rounds rounds of fusermount3 -u then fsck.umfs -y: every fsck succeeds" \
		test "$bad" -eq 0
	"$fsck" -n -f "$pool" >"$out" 2>&1
	check "and the pool holds every round's file" \
		bash -c "'$run_' --pool '$pool' ls /umfs | grep -c '^round' | grep -qx $rounds"
else
	skip "fusermount3 -u then fsck.umfs -y" "FUSE cannot be mounted here"
	skip "the pool holds every round's file" "FUSE cannot be mounted here"
fi

echo "1..$n"
exit $failed
