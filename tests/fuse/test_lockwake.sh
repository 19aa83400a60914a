#!/bin/bash
# SPDX-License-Identifier: MIT
# test_lockwake.sh BUILD_ROOT - a signal ends a client's lock wait on the
# umfs-fuse mount at once, as on tmpfs: lock_eintr waits by F_SETLKW and by
# flock for locks another process holds, ended by SIGALRM without
# SA_RESTART 110 ms in; each wait must end with EINTR, and the median of
# the six within 5 ms of its timer. The kernel sends the daemon an interrupt
# for each, which must wake the waiting thread, not wait for its next look
# at the holder.
set -u
. "$(dirname "$0")/lib.sh"

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
echo "PASS"
