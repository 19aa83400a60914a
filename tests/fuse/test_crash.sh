#!/bin/bash
# SPDX-License-Identifier: MIT
# test_crash.sh BUILD_ROOT - kill -9 of the daemon in the middle of writes
# and namespace changes; the dead mount is lazily unmounted, the pool mounted
# again (the core recovers it), and everything that was fsynced (or closed)
# before the kill must be there. Before that mount fsck.umfs -n must find
# crash state only (exit 0, "recoverable" lines, no damage); after a clean
# unmount, a clean pool. Three rounds on the same pool.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
uf_mkfs "$pool" 256M
head -c 8M /dev/urandom >"$UF_TMP/payload"
want=$(sha256sum <"$UF_TMP/payload")

for round in 1 2 3; do
	uf_mount "$pool" "$mnt"
	pid=$UF_PID
	# Durable before the kill: an fsynced file, a directory made and
	# fsynced, a file renamed over another, then fsynced.
	python3 - "$mnt" "$round" "$UF_TMP/payload" <<'PY' || uf_fail "round $round: preparing"
import os, sys
mnt, rnd, payload = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
d = os.path.join(mnt, "round" + rnd)
os.makedirs(d)
fd = os.open(os.path.join(d, "synced"), os.O_CREAT | os.O_WRONLY, 0o644)
for off in range(0, len(payload), 1 << 16):
    os.pwrite(fd, payload[off:off + (1 << 16)], off)
os.fsync(fd)
os.close(fd)
with open(os.path.join(d, "tmp"), "wb") as f:
    f.write(b"replacement " + rnd.encode())
    f.flush()
    os.fsync(f.fileno())
os.rename(os.path.join(d, "tmp"), os.path.join(d, "synced-small"))
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dfd)
os.close(dfd)
PY
	# In flight at the kill: a stream of writes and a churn of names.
	dd if=/dev/urandom of="$mnt/round$round/inflight" bs=64k count=100000 status=none \
		2>"$UF_TMP/dd.err" &
	writer=$!
	(
		cd "$mnt/round$round" || exit
		for i in $(seq 100000); do
			echo "$i" >"churn-$i" && mv "churn-$i" "moved-$i" && rm -f "moved-$((i - 1))" || exit
		done
	) 2>/dev/null &
	churn=$!
	# the stream under way before the kill is timed (a loaded machine may
	# take a while to start dd): its first bytes written, 5 s at most
	for _ in $(seq 200); do
		[ -s "$mnt/round$round/inflight" ] && break
		sleep 0.025
	done
	[ -s "$mnt/round$round/inflight" ] ||
		uf_fail "round $round: the stream wrote nothing in 5 s: $(cat "$UF_TMP/dd.err")"
	sleep 0.4
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	wait "$writer" "$churn" 2>/dev/null
	uf_log "round $round: daemon killed; the mount says: $(ls "$mnt" 2>&1 | head -1)"
	fusermount3 -u -z "$mnt" || uf_fail "round $round: fusermount3 -u -z"
	uf_wait_released "$pool"
	"$UF_FSCK" -n "$pool" >"$UF_TMP/fsck.crashed" 2>&1
	rc=$?
	uf_log "round $round: fsck.umfs -n before recovery: exit $rc"
	sed 's/^/#   /' "$UF_TMP/fsck.crashed"
	# What a kill leaves is crash state the next mount repairs, not damage.
	[ "$rc" = 0 ] || uf_fail "round $round: fsck.umfs -n of the killed daemon's pool exited with $rc"
	grep -q '^recoverable: ' "$UF_TMP/fsck.crashed" ||
		uf_fail "round $round: fsck.umfs -n reports no crash state after the kill"
	! grep -q '^damage: ' "$UF_TMP/fsck.crashed" ||
		uf_fail "round $round: fsck.umfs -n reports damage after the kill"

	uf_mount "$pool" "$mnt"
	pid=$UF_PID
	for r in $(seq 1 "$round"); do
		got=$(sha256sum <"$mnt/round$r/synced") || uf_fail "round $round: round$r/synced is missing"
		[ "$got" = "$want" ] || uf_fail "round $round: round$r/synced has other contents"
		[ "$(cat "$mnt/round$r/synced-small")" = "replacement $r" ] ||
			uf_fail "round $round: round$r/synced-small is wrong"
	done
	ls "$mnt/round$round" | grep -c moved- >"$UF_TMP/moved"
	uf_log "round $round: fsynced data intact; $(stat -c %s "$mnt/round$round/inflight") bytes of the stream and $(cat "$UF_TMP/moved") churn name(s) survived"
	# the stream runs as fast as the daemon writes: its file goes, so
	# that the next round's durable files always fit in the pool
	rm "$mnt/round$round/inflight" || uf_fail "round $round: removing the stream's file"
	uf_umount "$mnt" "$pid"
	uf_fsck_clean "$pool"
done
echo "PASS"
