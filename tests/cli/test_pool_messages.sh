#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_pool_messages.sh - what the tools say about a pool that is not there,
# not a pool, or write-protected (TAP). A missing pool gets the mkfs.umfs
# line that makes one; a directory is named as one; LD_PRELOAD with
# UMFS_MOUNT but no UMFS_POOL says so once, and the library with no UMFS_
# variable says nothing; a pool this user may not write (chmod 0444, a
# read-only bind mount) is served read-only with a warning, as mount(8)
# does, by umfs-run and umfs-fuse; one in use by a process that may change
# it is refused read-only as in use, not as needing recovery.
#   test_pool_messages.sh BUILD_ROOT
set -u

build=${1:?usage: test_pool_messages.sh BUILD_ROOT}
mkfs=$build/mkfs/mkfs.umfs
run_=$build/tools/umfs-run
fuse=$build/fuse/umfs-fuse
lib=$build/libumfs/libumfs.so
export PMEM_IS_PMEM_FORCE=1
dir=$(mktemp -d /dev/shm/umfs-cli-msg.XXXXXX) || exit 1
chmod 0755 "$dir"
out=$dir/out
err=$dir/err
n=0
failed=0
cleanup() {
	local m
	# by mountinfo: stat of another user's FUSE mount is refused to root too
	for m in "$dir"/mnt* "$dir/robind"; do
		awk -v m="$m" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo &&
			{ fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"; }
	done
	# the runtime directories the pools' last users left (sharing.md)
	"$(dirname "$0")"/../pool/forget_rundirs.sh "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=1; echo "not ok $n - $1"
	sed 's/^/# stdout: /' "$out"; sed 's/^/# stderr: /' "$err"
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
run() { "$@" >"$out" 2>"$err" </dev/null; rc=$?; }
said() { grep -qE -- "$1" "$err"; }

# --- no pool, or not a pool -------------------------------------------------------

run "$run_" --pool "$dir" true
check "umfs-run --pool DIR: exit 1, named a directory" \
	bash -c "[ $rc = 1 ] && grep -q '$dir is a directory, not a pool' '$err' && ! grep -q 'No such device' '$err'"
run "$run_" --pool "$dir/missing" true
check "umfs-run, a missing pool: the mkfs.umfs line that makes one" \
	bash -c "[ $rc = 1 ] && grep -q 'no such pool; make one with mkfs.umfs -s SIZE $dir/missing' '$err'"
fuse_ok=false
[ -x "$fuse" ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && fuse_ok=true
if $fuse_ok; then
	mkdir "$dir/mnt0"
	run "$fuse" "$dir/missing" "$dir/mnt0"
	check "umfs-fuse, a missing pool: the mkfs.umfs line that makes one" \
		bash -c "[ $rc != 0 ] && grep -q 'make one with mkfs.umfs -s SIZE $dir/missing' '$err'"
	run "$fuse" "$dir" "$dir/mnt0"
	check "umfs-fuse, a directory as pool: named a directory" \
		bash -c "[ $rc != 0 ] && grep -q 'is a directory: give the pool file or device' '$err'"
else
	skip "umfs-fuse, a missing pool" "umfs-fuse or FUSE missing"
	skip "umfs-fuse, a directory as pool" "umfs-fuse or FUSE missing"
fi

# --- the library without a pool ------------------------------------------------------

run env -u UMFS_POOL -u UMFS_NO_POOL_SAID LD_PRELOAD="$lib" UMFS_MOUNT=/umfs \
	bash -c 'sh -c true; true'
check "LD_PRELOAD with UMFS_MOUNT but no UMFS_POOL: one warning for the process tree" \
	bash -c "[ \"\$(grep -c 'UMFS_MOUNT=/umfs is set but UMFS_POOL is not' '$err')\" = 1 ]"
run env -u UMFS_POOL -u UMFS_MOUNT -u UMFS_RDONLY -u UMFS_LOG LD_PRELOAD="$lib" bash -c 'sh -c true'
check "LD_PRELOAD with no UMFS_ variable: silent" test ! -s "$err"

# --- a write-protected pool --------------------------------------------------------------

pool=$dir/pool
"$mkfs" -q -s 16M "$pool" || exit 1
"$run_" --pool "$pool" sh -c 'echo kept >/umfs/hello' || exit 1

# ro_checks WHO: umfs-run and umfs-fuse serve the pool read-only, saying so
# ($as runs a command as the user concerned)
ro_checks() {
	local who=$1 m=$dir/mnt-$2
	run $as "$run_" --pool "$pool" cat /umfs/hello
	check "$who: umfs-run reads, with a warning naming --readonly" \
		bash -c "[ $rc = 0 ] && [ \"\$(cat '$out')\" = kept ] && grep -q 'is write-protected (.*): serving it read-only, as with --readonly' '$err'"
	run $as "$run_" --pool "$pool" sh -c 'echo x >/umfs/new'
	check "$who: umfs-run refuses a write: Read-only file system" said "Read-only file system"
	if ! $fuse_ok; then
		skip "$who: umfs-fuse mounts read-only" "umfs-fuse or FUSE missing"
		return
	fi
	mkdir "$m" && chmod 0777 "$m"
	# libfuse opens /dev/fuse as the user (a machine without udev's rule
	# leaves it 0600 to root)
	if ! $as test -r /dev/fuse -a -w /dev/fuse; then
		skip "$who: umfs-fuse mounts read-only" "/dev/fuse is not readable and writable by $2"
		return
	fi
	run $as "$fuse" "$pool" "$m"
	check "$who: umfs-fuse mounts read-only, with a warning naming -o ro" \
		bash -c "[ $rc = 0 ] && grep -q 'is write-protected (.*): mounted read-only (-o ro)' '$err' &&
			 [ \"\$($as cat '$m/hello')\" = kept ] &&
			 awk '\$5 == \"$m\" { print \$6 }' /proc/self/mountinfo | grep -q '^ro'"
	[ "$rc" = 0 ] && $as fusermount3 -u "$m"
}

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0444 "$pool"
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	ro_checks "chmod 0444, another user" nobody
	# a pool in use by a process that may change it is not left clean: a
	# read-only mount says it is in use, not that it needs recovery
	chmod 0600 "$pool"
	"$run_" --pool "$pool" sh -c "exec 3</umfs/hello; : >'$dir/held'; exec sleep 60" &
	holder=$!
	for i in $(seq 100); do [ -e "$dir/held" ] && break; sleep 0.1; done
	chmod 0444 "$pool"
	run $as "$run_" --pool "$pool" cat /umfs/hello
	check "nobody, a write-protected pool in use: umfs-run says in use, not needing recovery" \
		bash -c "[ $rc = 1 ] && grep -q 'in use by another process' '$err' &&
			 ! grep -q 'needs recovery' '$err'"
	run $as env LD_PRELOAD="$lib" UMFS_POOL="$pool" UMFS_MOUNT=/umfs UMFS_RDONLY=1 \
		cat /umfs/hello
	check "nobody, UMFS_RDONLY, a pool in use: EBUSY, and why" \
		bash -c "[ $rc = 1 ] && grep -q 'hello: Device or resource busy' '$err' &&
			 grep -q 'in use by another process' '$err'"
	kill "$holder"
	wait "$holder" 2>/dev/null
	# a pool whose last user died needs recovery, which read-only cannot do
	chmod 0600 "$pool"
	{ "$run_" --pool "$pool" sh -c 'echo x >/umfs/dirty; kill -9 $$'; } 2>/dev/null
	chmod 0444 "$pool"
	run $as "$run_" --pool "$pool" cat /umfs/hello
	check "nobody, a dirty write-protected pool: umfs-run points to fsck.umfs -y" \
		bash -c "[ $rc = 1 ] && grep -q 'needs recovery.*fsck.umfs -y recovers it' '$err'"
	if $fuse_ok; then
		run $as "$fuse" "$pool" "$dir/mnt-nobody"
		check "nobody, a dirty write-protected pool: umfs-fuse says why not read-only" \
			bash -c "[ $rc = 2 ] && grep -q 'cannot be mounted read-only either: .*needs recovery' '$err'"
	else
		skip "a dirty write-protected pool: umfs-fuse" "umfs-fuse or FUSE missing"
	fi
	chmod 0600 "$pool"
	"$run_" --pool "$pool" ls /umfs >/dev/null || exit 1 # recovers it
else
	for i in 1 2 3 4 5 6 7; do skip "chmod 0444 pool as another user" "needs root and setpriv"; done
fi

mkdir "$dir/robind"
if [ "$(id -u)" = 0 ] && mount --bind "$dir" "$dir/robind" 2>/dev/null &&
   mount -o remount,bind,ro "$dir/robind" 2>/dev/null; then
	as=
	pool=$dir/robind/pool
	ro_checks "a read-only bind mount" bind
	umount "$dir/robind"
else
	umount "$dir/robind" 2>/dev/null
	for i in 1 2 3; do skip "a pool on a read-only bind mount" "cannot bind-mount (not root?)"; done
fi

echo "1..$n"
exit $failed
