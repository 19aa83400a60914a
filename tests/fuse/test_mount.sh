#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mount.sh BUILD_ROOT - umfs-fuse's command line and mount paths: error
# messages and exit codes, `mount -t fuse.umfs` through mount.fuse3, the
# daemonized default, two daemons sharing one pool, read-only
# mounts, SIGTERM as a clean stop.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
mkdir -p "$mnt" "$UF_TMP/mnt2"
n=0

# expect CODE PATTERN -- umfs-fuse ARGS...: exit code and a message
expect() {
	local code=$1 pattern=$2 rc
	shift 3
	"$UF_FUSE" "$@" >"$UF_TMP/out" 2>&1
	rc=$?
	n=$((n + 1))
	if [ "$rc" != "$code" ] || ! grep -q -- "$pattern" "$UF_TMP/out"; then
		sed 's/^/# /' "$UF_TMP/out"
		uf_fail "umfs-fuse $*: exit $rc (want $code), output should mention \"$pattern\""
	fi
	uf_log "umfs-fuse $* -> $rc: $(head -1 "$UF_TMP/out")"
}

uf_mkfs "$pool" 64M
head -c 16M /dev/zero >"$UF_TMP/zeros"
head -c 4096 /dev/zero >"$UF_TMP/tiny"
touch "$UF_TMP/afile"

expect 1 "give a POOL and a MOUNTPOINT" --
expect 1 "give a POOL and a MOUNTPOINT" -- "$pool"
expect 1 "unknown option '-x'" -- -x "$pool" "$mnt"
expect 0 "Usage:" -- --help
expect 0 "umfs-fuse" -- --version
expect 2 "$UF_TMP/missing.pool" -- "$UF_TMP/missing.pool" "$mnt"
expect 2 "not a UMFS pool" -- "$UF_TMP/zeros" "$mnt"
expect 2 "$UF_TMP/tiny" -- "$UF_TMP/tiny" "$mnt"
expect 3 "mountpoint $UF_TMP/nodir" -- "$pool" "$UF_TMP/nodir"
expect 3 "not a directory" -- "$pool" "$UF_TMP/afile"
expect 1 "unknown option" -- "$pool" "$mnt" -o no_such_option
mountpoint -q "$mnt" && uf_fail "a failed start left something mounted"
uf_fsck_clean "$pool" # the refused start left the pool clean and unlocked

# The default: daemonize once mounted, serve until fusermount3 -u.
"$UF_FUSE" "$pool" "$mnt" || uf_fail "daemonized umfs-fuse exited with $?"
UF_MOUNTS+=("$mnt")
mountpoint -q "$mnt" || uf_fail "not mounted after umfs-fuse returned"
grep -q "^$pool $mnt fuse.umfs " /proc/mounts || uf_fail "/proc/mounts: $(grep "$mnt" /proc/mounts)"
echo "daemon" >"$mnt/file"
# A second daemon on the same mountpoint would hide the first: refused.
expect 3 "mounted there already" -- "$pool" "$mnt"
[ "$(cat "$mnt/file")" = daemon ] || uf_fail "the refused second mount disturbed the first"
# A second daemon for the same pool shares it: each sees the other's
# changes at once (no cached names or attributes).
"$UF_FUSE" "$pool" "$UF_TMP/mnt2" || uf_fail "a second daemon exited with $?"
UF_MOUNTS+=("$UF_TMP/mnt2")
[ "$(cat "$UF_TMP/mnt2/file")" = daemon ] || uf_fail "second mount: file is not shared"
echo two >"$UF_TMP/mnt2/other"
[ "$(cat "$mnt/other" 2>&1)" = two ] || uf_fail "first mount: the second's file: $(cat "$mnt/other" 2>&1)"
echo one >>"$mnt/other"
[ "$(cat "$UF_TMP/mnt2/other")" = $'two\none' ] || uf_fail "second mount: stale data"
rm "$mnt/other"
[ -e "$UF_TMP/mnt2/other" ] && uf_fail "second mount still sees a removed file"
fusermount3 -u "$UF_TMP/mnt2" || uf_fail "fusermount3 -u (second)"
fusermount3 -u "$mnt" || uf_fail "fusermount3 -u"
uf_wait_released "$pool"
uf_fsck_clean "$pool"

# mount -t fuse.umfs: mount(8) runs mount.fuse3, which runs
# "umfs POOL MNT -o OPTIONS" through /bin/sh. mount(8) drops PATH, so the
# shell searches its default PATH: first mount.fuse3 itself with the build
# directory in PATH, then mount(8) for real, in a private mount namespace
# where the build's "umfs" is bound over /usr/local/sbin.
if [ "$(id -u)" != 0 ] || ! command -v mount.fuse3 >/dev/null; then
	uf_log "not root or no mount.fuse3: mount -t fuse.umfs not tried"
else
	PATH=$UF_BUILD/fuse:$PATH mount.fuse3 "$pool" "$mnt" -t fuse.umfs -o rw,noatime ||
		uf_fail "mount.fuse3 -t fuse.umfs exited with $?"
	UF_MOUNTS+=("$mnt")
	grep -q "^$pool $mnt fuse.umfs rw,noatime," /proc/mounts ||
		uf_fail "mount.fuse3: $(grep "$mnt" /proc/mounts)"
	[ "$(cat "$mnt/file")" = daemon ] || uf_fail "mount.fuse3: file lost"
	echo "mount" >>"$mnt/file"
	umount "$mnt" || uf_fail "umount after mount.fuse3"
	uf_wait_released "$pool"
	uf_fsck_clean "$pool"

	mkdir -p "$UF_TMP/sbin"
	ln -s "$(readlink -f "$UF_FUSE")" "$UF_TMP/sbin/umfs"
	unshare --mount --propagation private bash -c '
		set -e
		mount --bind "$1/sbin" /usr/local/sbin
		mount -t fuse.umfs "$2" "$3"
		grep " $3 " /proc/mounts | sed "s/^/# mount -t fuse.umfs: /"
		cat "$3/file" >/dev/null
		umount "$3"' - "$UF_TMP" "$pool" "$mnt" || uf_fail "mount -t fuse.umfs in a namespace"
	uf_wait_released "$pool"
	uf_fsck_clean "$pool"
fi

# Read-only: the kernel refuses writes, the pool file is not written.
before=$(sha256sum <"$pool")
uf_mount "$pool" "$mnt" -o ro
grep -q "^$pool $mnt fuse.umfs ro," /proc/mounts || uf_fail "-o ro: $(grep "$mnt" /proc/mounts)"
cat "$mnt/file" >/dev/null || uf_fail "-o ro: cannot read"
if (echo x >>"$mnt/file") 2>"$UF_TMP/out"; then
	uf_fail "-o ro: a write succeeded"
fi
grep -q "Read-only file system" "$UF_TMP/out" || uf_fail "-o ro: $(cat "$UF_TMP/out")"
uf_umount "$mnt" "$UF_PID"
[ "$(sha256sum <"$pool")" = "$before" ] || uf_fail "-o ro: the pool changed"

# SIGTERM stops a daemon cleanly: unmounted, pool clean, exit 0.
uf_mount "$pool" "$mnt"
echo "term" >>"$mnt/file"
kill -TERM "$UF_PID"
wait "$UF_PID" || uf_fail "SIGTERM: umfs-fuse exited with $?"
mountpoint -q "$mnt" && uf_fail "SIGTERM: still mounted"
uf_fsck_clean "$pool"
uf_mount "$pool" "$mnt" -s
want=$'daemon\nterm'
[ "$(id -u)" = 0 ] && want=$'daemon\nmount\nterm'
[ "$(cat "$mnt/file")" = "$want" ] || uf_fail "contents: $(cat "$mnt/file")"
uf_umount "$mnt" "$UF_PID"
echo "PASS"
