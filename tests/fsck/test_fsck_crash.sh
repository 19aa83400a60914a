#!/bin/bash
# SPDX-License-Identifier: MIT
# test_fsck_crash.sh - fsck.umfs on pools left by real processes (TAP):
# programs under the LD_PRELOAD library killed with SIGKILL in the middle
# of overwrites, truncates and unlinks of open files, and programs leaving
# through _exit all at the same moment. fsck -n must find crash state only
# (exit 0, "recoverable" lines, no "damage" line); the mount's recovery
# (through the C API) or fsck -y must then leave a pool fsck -n -f calls
# clean. A real corruption on top of crash state gives exit 4 with both.
#   test_fsck_crash.sh FSCK MKFS LIBUMFS REMOUNT
set -u

fsck=$1 mkfs=$2 shim=$3 remount=$4
work=$(mktemp -d "${UMFS_TEST_DIR:-/dev/shm}/umfs-fsck-crash.XXXXXX")
pool=$work/pool
out=$work/out
n=0
failed=0

pool_uuid_hex() { od -An -tx1 -j32 -N16 "$pool" 2>/dev/null | tr -d ' \n'; }
cleanup() {
	# the runtime directory (lock region, helper directory) the killed
	# users leave behind
	local uuid
	uuid=$(pool_uuid_hex)
	[ -n "$uuid" ] && rm -rf /dev/shm/umfs-"$uuid"-*
	"$(dirname "$0")"/../pool/forget_rundirs.sh "$work"
	rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/# /' "$out"; }

# under_shim CMD...: runs CMD (in place of the shell) with the pool at /umfs
under_shim() { LD_PRELOAD=$shim UMFS_POOL=$pool UMFS_MOUNT=/umfs exec "$@"; }

# A writer that never ends: overwrites (U-Log records and copy-on-write),
# truncates down and up, and files unlinked while open, kept open. It says
# when it is under way in $work/ready.
writer() {
	under_shim python3 - "$1" "$work/ready" <<'PY'
import os, random, sys
rnd = random.Random(int(sys.argv[1]))
os.makedirs("/umfs/w", exist_ok=True)
fd = os.open("/umfs/w/data", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, os.urandom(3 << 20), 0)
open(sys.argv[2], "w").close()
held = []
while True:
    op = rnd.randrange(4)
    if op == 0:
        os.pwrite(fd, os.urandom(rnd.randrange(1, 200000)), rnd.randrange(3 << 20))
    elif op == 1:
        os.ftruncate(fd, rnd.randrange(1, 3 << 20))
        os.ftruncate(fd, 3 << 20)
    elif op == 2:
        path = "/umfs/w/tmp%d" % rnd.randrange(1000000)
        t = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        os.pwrite(t, os.urandom(rnd.randrange(1, 100000)), 0)
        os.unlink(path)
        held.append(t)
        if len(held) > 4:
            os.close(held.pop(0))
    else:
        os.pwrite(fd, os.urandom(rnd.randrange(1, 4096)), rnd.randrange(3 << 20))
PY
}

# expect_crash_only DESC [need-recoverable]: fsck -n finds crash state only
expect_crash_only() {
	local rc=0
	"$fsck" -n "$pool" >"$out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		echo "exit $rc, want 0" >>"$out"
		not_ok "$1: fsck -n exits 0"
	elif grep -q '^damage: ' "$out"; then
		not_ok "$1: fsck -n reports no damage"
	elif [ -n "${2:-}" ] && ! grep -q '^recoverable: ' "$out"; then
		not_ok "$1: fsck -n reports the crash state as recoverable"
	else
		ok "$1: fsck -n: crash state only ($(grep -c '^recoverable: ' "$out") recoverable line(s))"
	fi
}

# expect_clean DESC: fsck -n -f exits 0 with a clean verdict
expect_clean() {
	local rc=0
	"$fsck" -n -f "$pool" >"$out" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && tail -n 1 "$out" | grep -q ': clean$'; then
		ok "$1: fsck -n -f clean"
	else
		echo "exit $rc" >>"$out"
		not_ok "$1: fsck -n -f clean"
	fi
}

# kill_writer ROUND: a writer killed a while of some length after it began
kill_writer() {
	rm -f "$work/ready"
	writer "$1" &
	local pid=$! i
	for i in $(seq 500); do
		[ -e "$work/ready" ] && break
		sleep 0.02
	done
	sleep "0.$((1 + $1 % 7))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

echo "1..20"
"$mkfs" -q -f -s 128M "$pool" || exit 1

# Killed writers: the mount's recovery, or fsck -y, repairs what they left.
for round in 1 2 3 4; do
	kill_writer "$round"
	expect_crash_only "kill -9 round $round" need-recoverable
	if [ $((round % 2)) = 1 ]; then
		if "$remount" "$pool" >"$out" 2>&1; then
			ok "kill -9 round $round: mount through the C API: $(cat "$out")"
		else
			not_ok "kill -9 round $round: mount through the C API"
		fi
	else
		rc=0
		"$fsck" -y "$pool" >"$out" 2>&1 || rc=$?
		if [ "$rc" = 1 ] && grep -q ': recovered$' "$out" && ! grep -q '^damage: ' "$out"; then
			ok "kill -9 round $round: fsck -y recovers the crash state (exit 1)"
		else
			echo "exit $rc, want 1" >>"$out"
			not_ok "kill -9 round $round: fsck -y recovers the crash state (exit 1)"
		fi
	fi
	expect_clean "kill -9 round $round"
done

# Programs leaving through _exit at the same moment, each holding a file
# unlinked while open and one it overwrote.
for i in 1 2 3 4; do
	(under_shim python3 - "$i" "$work/go" <<'PY') &
import os, sys, time
i, go = sys.argv[1], sys.argv[2]
os.makedirs("/umfs/x", exist_ok=True)
t = os.open("/umfs/x/gone" + i, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(t, b"x" * 50000, 0)
os.unlink("/umfs/x/gone" + i)
f = os.open("/umfs/x/kept" + i, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(f, b"y" * 50000, 0)
os.pwrite(f, b"z" * 1000, 100)
while not os.path.exists(go):
    time.sleep(0.01)
os._exit(0)
PY
done
sleep 1
touch "$work/go"
wait
expect_crash_only "_exit of four programs at once"
if "$remount" "$pool" >"$out" 2>&1; then
	ok "_exit: mount through the C API: $(cat "$out")"
else
	not_ok "_exit: mount through the C API"
fi
expect_clean "_exit"

# Crash state and a damaged backup superblock: exit 4, both kinds shown.
kill_writer 5
size=$(stat -c %s "$pool")
printf 'XXXXXXXX' | dd of="$pool" bs=1 seek=$((size - 4096)) conv=notrunc status=none
rc=0
"$fsck" -n "$pool" >"$out" 2>&1 || rc=$?
if [ "$rc" = 4 ]; then ok "crash state and damage: fsck -n exits 4"; else not_ok "crash state and damage: fsck -n exits 4 (got $rc)"; fi
if grep -q '^recoverable: ' "$out" && grep -q '^damage: backup superblock' "$out"; then
	ok "crash state and damage: both kinds reported"
else
	not_ok "crash state and damage: both kinds reported"
fi
if tail -n 1 "$out" | grep -q 'left uncorrected'; then ok "crash state and damage: the verdict says uncorrected"; else not_ok "crash state and damage: the verdict says uncorrected"; fi
rc=0
"$fsck" -y "$pool" >"$out" 2>&1 || rc=$?
if [ "$rc" = 1 ]; then ok "crash state and damage: fsck -y corrects both (exit 1)"; else not_ok "crash state and damage: fsck -y exits 1 (got $rc)"; fi
expect_clean "after fsck -y"
exit $failed
