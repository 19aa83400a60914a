#!/bin/bash
# SPDX-License-Identifier: MIT
# test_lockwake.sh BUILD_ROOT - a signal ends a client's lock wait on the
# umfs-fuse mount at once, as on tmpfs: lock_eintr waits by F_SETLKW and by
# flock for locks another process holds, ended by SIGALRM without
# SA_RESTART 110 ms in; each wait must end with EINTR, and the median of
# the six within a second of its timer. The kernel sends the daemon an
# interrupt for each, which must wake the waiting thread, not wait for its
# next look at the holder. And a daemon sent SIGTERM while a client waits
# must end as soon as one with no wait: it wakes its waits to end them
# before it lets the pool go (the medians of five of each, within a
# second; a wait it did not wake would hold it the 5 s it gives them).
#
# The daemon is umfs-fuse-slowlook, umfs-fuse whose waits look at their
# holder once a minute, not every 20 ms: then only a wake ends a wait in
# time, and the bounds are far from a loaded machine's delays.
set -u
. "$(dirname "$0")/lib.sh"
UF_FUSE=$UF_BUILD/tests/fuse/umfs-fuse-slowlook
export UF_TEST_LOCK_LOOK_MS=60000

uf_require_fuse
probe=$UF_BUILD/tests/fuse/lock_eintr
[ -x "$probe" ] || uf_fail "$probe was not built"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
mkdir -p "$UF_TMP/ref"
"$probe" "$UF_TMP/ref/f" >"$UF_TMP/ref.out" 2>&1
sed 's/^/# tmpfs: /' "$UF_TMP/ref.out"
[ "$(tail -n 1 "$UF_TMP/ref.out")" = ok ] || uf_fail "lock_eintr on tmpfs (the test itself)"

uf_mkfs "$pool" 64M
uf_mount "$pool" "$mnt"
timeout 60 "$probe" "$mnt/f" >"$UF_TMP/fuse.out" 2>&1
sed 's/^/# umfs-fuse: /' "$UF_TMP/fuse.out"
[ "$(tail -n 1 "$UF_TMP/fuse.out")" = ok ] ||
	uf_fail "lock waits on the mount did not end with EINTR at once"
uf_log "six lock waits ended by a signal with EINTR at once, as on tmpfs"
uf_umount "$mnt" "$UF_PID"
uf_fsck_clean "$pool"

# the ms from SIGTERM to the daemon's end; $1: "" (a client waits) or idle
stop_ms() {
	local ms rc
	uf_mount "$pool" "$mnt"
	: >"$mnt/f"
	ms=$(timeout 60 "$probe" "$mnt/f" stop "$UF_PID" $1) ||
		uf_fail "lock_eintr stop ${1:-with a wait}: $ms"
	wait "$UF_PID"
	rc=$?
	[ "$rc" = 0 ] || uf_fail "umfs-fuse ended by SIGTERM exited with $rc"
	mountpoint -q "$mnt" && uf_fail "$mnt still mounted after the daemon's end"
	echo "$ms"
}
waited=() idle=()
for i in 1 2 3 4 5; do
	waited+=("$(stop_ms "")")
	idle+=("$(stop_ms idle)")
done
uf_log "SIGTERM to the daemon's end, ms: with a client waiting ${waited[*]}; with none ${idle[*]}"
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
awk -v w="$(median "${waited[@]}")" -v i="$(median "${idle[@]}")" 'BEGIN { exit !(w - i < 1000) }' ||
	uf_fail "a daemon with a client waiting ended $(median "${waited[@]}") ms after SIGTERM, against $(median "${idle[@]}") with none"
uf_log "a daemon going down ends its clients' waits at once"
uf_fsck_clean "$pool"
echo "PASS"
