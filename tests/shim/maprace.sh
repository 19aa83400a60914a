#!/usr/bin/env bash
# maprace.sh - reads of a file while other processes map it, store to it
# through the mapping, msync, unmap and write it, over and over
# (shim_maprace): every read sees the file's bytes and the latest stores,
# and no mapping loses a store to a write-back, as on tmpfs; then again
# with a second counter written through umfs-fuse (O_DIRECT, which takes
# the mount's page cache from no one), which reads must see at once and
# the mapping from each msync on. Then a write that follows a store
# through a mapping, while the mapping's last unmap writes the store back
# (shim_mapwrite): the write wins, as on tmpfs, and a file nobody maps is
# written beside it throughout. 3 seconds each; UMFS_TEST_FULL=1 races 30.
. "$(dirname "$0")/lib.sh"

: "${SHIM_MAPRACE:=$BUILDDIR/tests/shim/shim_maprace}"
: "${SHIM_MAPWRITE:=$BUILDDIR/tests/shim/shim_mapwrite}"
secs=3
[ -n "${UMFS_TEST_FULL:-}" ] && secs=30

run() { # run WHERE CMD...: the race's verdict and its last lines
	local where=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/  $where: /"
	check "the race on $where" "0" "$rc"
}

run tmpfs "$SHIM_MAPRACE" "$work/ref" "$secs"
run UMFS shim "$SHIM_MAPRACE" /umfs/race "$secs"
run "tmpfs, a write after a store" "$SHIM_MAPWRITE" "$work/mapwrite" "$secs"
run "UMFS, a write after a store" shim "$SHIM_MAPWRITE" /umfs/mapwrite "$secs"

# and with a second counter written through umfs-fuse on the same pool
# (on tmpfs: through the same file)
: "${UMFS_FUSE:=$BUILDDIR/fuse/umfs-fuse}"
mnt=$work/mnt
if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "SKIP the race with umfs-fuse: no /dev/fuse or fusermount3 here"
else
	run "tmpfs, a second writer" "$SHIM_MAPRACE" "$work/ref2" "$secs" "$work/ref2"
	mkdir -p "$mnt"
	"$UMFS_FUSE" "$pool" "$mnt" -f >"$work/daemon.log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do
		mountpoint -q "$mnt" && break
		sleep 0.05
	done
	if mountpoint -q "$mnt"; then
		run "UMFS, a second writer through umfs-fuse" \
			shim "$SHIM_MAPRACE" /umfs/race2 "$secs" "$mnt/race2"
		fusermount3 -u "$mnt" || fusermount3 -u -z "$mnt" || true
	else
		check "umfs-fuse mounts the pool" "mounted" "$(cat "$work/daemon.log")"
	fi
	timeout -s KILL 20 tail --pid="$daemon" -f /dev/null 2>/dev/null || kill -9 "$daemon"
	wait "$daemon" 2>/dev/null || true
fi
finish
