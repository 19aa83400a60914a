#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# hostile.sh - a second, unprivileged user (uid 65534) against root's
# private pool: for every name UMFS creates outside the pool, the other
# user plants it first (a symlink to a root-only sentinel, a directory or
# file of their own with symlinks inside, a lock held on it, a hard link),
# then root uses the pool: writes, mmap, flock, a FIFO, readdir through
# the shim, a FUSE mount, fsck, mkfs -f. Every run must end within a bound,
# the sentinel must be unchanged, nothing of it may appear in the pools,
# nothing of root's may appear in the other user's files, and an error,
# when there is one, must name the file.
#
# It runs as root in a private mount namespace whose /dev/shm is a fresh
# tmpfs mount with mode 1777, as on a stock system (this machine's /dev/shm
# may be closed to other users).
#
# Standalone: BUILDDIR=build tests/security/hostile.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 is missing"
sec_private_shm umfs-sec-shm 2g "$@"

BOUND=90 # seconds any one run may take

root=/dev/shm/sec-root # root's, 0700: the sentinel and the expected outputs
mkdir -m 0700 "$root"
pool=/dev/shm/umfs-sec.pool
pool2=/dev/shm/umfs-sec2.pool
mnt=$root/mnt
mkdir "$mnt"
sentinel=$root/sentinel
marker="UMFS-SENTINEL-$$-$RANDOM$RANDOM"
for _ in $(seq 1 2048); do echo "$marker"; done >"$sentinel"
chmod 0600 "$sentinel"
sentinel_sum=$(sha256sum <"$sentinel")
victim=$root/victimdir # a root-only directory a symlink may lead to
mkdir -m 0700 "$victim"
echo "$marker" >"$victim/keep"

failures=0
passes=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

"$MKFS" -q -s 128M "$pool" || { echo "FAIL: mkfs"; exit 1; }
chmod 0600 "$pool"
uuid=$(od -An -tx1 -j32 -N16 "$pool" | tr -d ' \n')
run_id() { od -An -tx8 -j4144 -N8 "$pool" | tr -d ' \n'; }

cleanup() {
	fusermount3 -u -z "$mnt" 2>/dev/null
	pkill -u $HUID -f umfs-sec-hold 2>/dev/null
	umount -l /dev/shm 2>/dev/null
}
trap cleanup EXIT

# What root's workload must print (from tmpfs: the same programs, no UMFS).
workload='set -e
cd "$M"
echo "root data $$" > f
cat f > /dev/null
mkdir -p d && echo x > d/y && ls d > /dev/null
python3 - <<EOF
import mmap, os
fd = os.open("mm", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[0:9] = b"mmapped!\n"
m.flush(); m.close(); os.close(fd)
EOF
head -c 9 mm
flock f true
rm -f fifo && mkfifo fifo && { echo through-fifo > fifo & cat fifo; wait; }
ls -la . | wc -l > /dev/null
echo done'

expect=$(M=$root/ref && mkdir -p "$M" && M=$M bash -c "$workload" 2>&1)

# The checks after every run: sentinel, pools, the other user's files.
check_after() { # NAME
	local name=$1 p
	if [ "$(sha256sum <"$sentinel")" != "$sentinel_sum" ] ||
	   [ "$(stat -c %U:%a "$sentinel")" != root:600 ]; then
		fail "$name: the root-only sentinel changed"
		sha256sum <"$sentinel" >"$sentinel.sum"
		sentinel_sum=$(cat "$sentinel.sum")
	fi
	if [ "$(cat "$victim/keep")" != "$marker" ] || [ "$(ls "$victim")" != keep ]; then
		fail "$name: the root-only directory a symlink led to changed: $(ls "$victim" | tr '\n' ' ')"
		rm -rf "${victim:?}"/* && echo "$marker" >"$victim/keep"
	fi
	for p in "$pool" "$pool2"; do
		[ -f "$p" ] || continue
		if grep -qa "$marker" "$p"; then
			fail "$name: the sentinel's bytes are in $p"
		fi
	done
	# nothing of root's in what the other user owns
	if [ -n "$(find /dev/shm -user $HUID -type f -size +0 2>/dev/null |
		   xargs -r grep -la "root data\|mmapped\|through-fifo\|$marker" 2>/dev/null)" ]; then
		fail "$name: root's data reached a file of uid $HUID"
	fi
}

# root's workload through the shim, bounded; prints what it printed.
root_shim() { # [ENV=VAL...]
	env "$@" timeout -k 5 $BOUND "$UMFS_RUN" --pool "$pool" -- env M=/umfs bash -c "$workload" 2>&1
	echo "rc=$?"
}

# root's workload through umfs-fuse, bounded.
root_fuse() {
	local out rc
	timeout -k 5 $BOUND "$UMFS_FUSE" "$pool" "$mnt" 2>&1 || { echo "umfs-fuse failed: rc=$?"; return; }
	out=$(M=$mnt timeout -k 5 $BOUND bash -c "$workload" 2>&1)
	rc=$?
	timeout -k 5 30 fusermount3 -u "$mnt" 2>&1
	# the daemon unmounts the pool once the kernel lets go: wait for it
	for _ in $(seq 1 100); do pgrep -f "umfs-fuse $pool" >/dev/null || break; sleep 0.1; done
	echo "$out"
	echo "rc=$rc"
}

# Runs everything root does with its pool and checks it all. NAME NOTE
# (NOTE: a file the error must name, when a run fails)
root_uses_pool() {
	local name=$1 out t0
	t0=$(date +%s)
	out=$(root_shim)
	if [ "$out" = "$expect"$'\n'"rc=0" ] ||
	   [ "$(echo "$out" | grep -v '^umfs\[' )" = "$expect"$'\n'"rc=0" ]; then
		pass "$name: shim workload as on tmpfs"
	else
		fail "$name: shim workload: $(echo "$out" | tail -5 | tr '\n' '|')"
	fi
	out=$(root_fuse)
	if [ "$(echo "$out" | grep -v '^umfs\[' | tail -n +1)" = "$expect"$'\n'"rc=0" ]; then
		pass "$name: FUSE workload as on tmpfs"
	else
		fail "$name: FUSE workload: $(echo "$out" | tail -5 | tr '\n' '|')"
	fi
	out=$(timeout -k 5 $BOUND "$FSCK" -n -f "$pool" 2>&1)
	case $? in
	0) pass "$name: fsck -n clean" ;;
	*) fail "$name: fsck -n: $(echo "$out" | tail -3 | tr '\n' '|')" ;;
	esac
	out=$(timeout -k 5 $BOUND "$FSCK" -y "$pool" 2>&1)
	case $? in
	0 | 1) pass "$name: fsck -y" ;;
	*) fail "$name: fsck -y: $(echo "$out" | tail -3 | tr '\n' '|')" ;;
	esac
	out=$(timeout -k 5 $BOUND "$MKFS" -q -f -s 64M "$pool2" 2>&1)
	[ $? = 0 ] && pass "$name: mkfs -f" || fail "$name: mkfs -f: $out"
	[ $(($(date +%s) - t0)) -le $((5 * BOUND)) ] || fail "$name: took $(($(date +%s) - t0)) s"
	check_after "$name"
}

# What the other user can learn: the names in /dev/shm and /tmp while
# root's programs run.
spy_names() {
	local pid
	timeout 20 "$UMFS_RUN" --pool "$pool" -- bash -c 'echo > /umfs/spy; sleep 2; :' >/dev/null 2>&1 &
	pid=$!
	sleep 1
	as_h ls /dev/shm /tmp 2>/dev/null | grep -o "umfs-$uuid-[0-9a-f]*" | sort -u
	wait $pid
}

# The other user plants NAME as KIND. Kinds: symlink-file (to the
# sentinel), symlink-dir (to a root-only directory), dir (theirs, 0777,
# with symlinks to the sentinel at every name UMFS uses inside), file
# (theirs, 0666), held (their file with a lock held on bytes 0 and 1),
# hardlink (to the sentinel, where the kernel allows it).
plant() { # NAME KIND
	local n=$1 kind=$2 sub
	case $kind in
	symlink-file) as_h ln -s "$sentinel" "$n" || return 1 ;;
	symlink-dir) as_h ln -s "$victim" "$n" || return 1 ;;
	dir)
		as_h mkdir -m 0777 "$n" || return 1
		for sub in lock shared shim shim/shared shim/lk-1-1 shim/fifo-1-0 shim/map-2-1-1 \
			   shim/ofd shim/ofd/arena shim/ofd/0; do
			case $sub in
			shim | shim/ofd) as_h mkdir -m 0777 "$n/$sub" ;;
			*) as_h ln -s "$sentinel" "$n/$sub" ;;
			esac
		done
		;;
	file) as_h sh -c "umask 0; echo planted > '$n'" || return 1 ;;
	held)
		as_h sh -c "umask 0; echo planted > '$n'" || return 1
		as_h python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 2, 0)
time.sleep(600)
' "$n" umfs-sec-hold &
		sleep 0.5
		;;
	hardlink) as_h ln "$sentinel" "$n" 2>/dev/null || return 1 ;;
	esac
	return 0
}

unplant() { # NAME
	pkill -u $HUID -f umfs-sec-hold 2>/dev/null
	rm -rf "$1"
}

echo "# protected_symlinks=$(cat /proc/sys/fs/protected_symlinks) protected_hardlinks=$(cat /proc/sys/fs/protected_hardlinks) protected_regular=$(cat /proc/sys/fs/protected_regular)"
root_uses_pool "nothing planted"

# 1. The names older versions used, from the uuid the other user saw.
for kind in symlink-file symlink-dir dir file held; do
	plant "/dev/shm/umfs-$uuid.lock" "$kind" || fail "could not plant $kind at umfs-$uuid.lock"
	plant "/dev/shm/umfs-$uuid.shim" "$( [ "$kind" = held ] && echo dir || echo "$kind")"
	root_uses_pool "old names planted ($kind)"
	unplant "/dev/shm/umfs-$uuid.lock"
	unplant "/dev/shm/umfs-$uuid.shim"
done

# 2. The runtime directory's name, as the other user saw it while root's
# programs ran, planted once the directory is gone (the state page still
# names it). Root's programs leave it idle, root's and 0700, which the
# other user can neither remove nor replace; it goes with a reboot or
# `umfs-pool clean`, after which the name is free to plant.
seen=$(spy_names)
[ -n "$seen" ] && pass "the other user saw the runtime directory's name ($seen)" ||
	fail "the other user saw no runtime directory while root used the pool"
for kind in symlink-file symlink-dir dir file held hardlink; do
	seen=$(spy_names | head -1)
	[ -n "$seen" ] || { fail "no name seen before planting $kind"; continue; }
	[ "umfs-$uuid-$(run_id)" = "$seen" ] || fail "the state page names umfs-$uuid-$(run_id), not the $seen seen"
	if [ -e "/dev/shm/$seen" ]; then
		as_h rm -rf "/dev/shm/$seen" 2>/dev/null
		as_h mv "/dev/shm/$seen" "/dev/shm/$seen.moved" 2>/dev/null
		[ -d "/dev/shm/$seen" ] && [ ! -L "/dev/shm/$seen" ] &&
			[ "$(stat -c %U:%a "/dev/shm/$seen")" = root:700 ] &&
			[ ! -e "/dev/shm/$seen.moved" ] &&
			pass "left idle ($kind round): root's, 0700, the other user can neither remove nor move it" ||
			fail "the idle runtime directory $seen: $(ls -ld "/dev/shm/$seen"* 2>&1 | tr '\n' ' ')"
		"$BUILDDIR/pool/umfs-pool" clean "$pool" >/dev/null 2>&1 # as a reboot would
		[ ! -e "/dev/shm/$seen" ] || fail "umfs-pool clean left $seen"
	fi
	if ! plant "/dev/shm/$seen" "$kind"; then
		[ "$kind" = hardlink ] || fail "could not plant $kind at $seen"
		[ "$kind" != hardlink ] || echo "# hardlink: the kernel refused it (protected_hardlinks)"
		continue
	fi
	before=$(ls -la "/dev/shm/$seen" 2>/dev/null | grep -v " \.\.$" | md5sum)
	root_uses_pool "runtime directory's name planted ($kind)"
	[ "$(ls -la "/dev/shm/$seen" 2>/dev/null | grep -v " \.\.$" | md5sum)" = "$before" ] ||
		fail "runtime directory's name planted ($kind): root changed the planted name"
	[ "umfs-$uuid-$(run_id)" != "$seen" ] &&
		pass "runtime directory's name planted ($kind): root moved to a new name" ||
		fail "runtime directory's name planted ($kind): the state page still names it"
	unplant "/dev/shm/$seen"
done

# 3. Inside a runtime directory in use: nothing to see, nothing to plant.
timeout 60 "$UMFS_RUN" --pool "$pool" -- bash -c 'exec 3>/umfs/held; flock 3; sleep 4' &
bgpid=$!
sleep 1.5
rd=/dev/shm/umfs-$uuid-$(run_id)
if [ -d "$rd" ]; then
	[ "$(stat -c %U:%a "$rd")" = root:700 ] && pass "runtime directory is root's, 0700" ||
		fail "runtime directory is $(stat -c %U:%a "$rd")"
	for try in "ls $rd" "cat $rd/lock" "touch $rd/x" "ln -s $sentinel $rd/shim/lk-9-9" \
		   "mkdir $rd/shim/ofd/99" "ls $rd/shim/ofd"; do
		if as_h sh -c "$try" >/dev/null 2>&1; then
			fail "the other user could: $try"
		else
			pass "the other user cannot: ${try%% *} inside the runtime directory"
		fi
	done
else
	fail "no runtime directory at $rd while a program uses the pool"
fi
wait $bgpid
check_after "inside the runtime directory"

# 4. Log and statistics files the user names: a symlink or a file of the
# other user's there is refused, named, and the run goes on.
for var in UMFS_LOG_FILE UMFS_STATS_FILE; do
	for kind in symlink-file file; do
		plant /dev/shm/umfs-sec.out "$kind"
		out=$(root_shim "$var=/dev/shm/umfs-sec.out" UMFS_LOG=info UMFS_STATS=1)
		echo "$out" | grep -q "^rc=0" && echo "$out" | grep -q "/dev/shm/umfs-sec.out" &&
			pass "$var planted ($kind): refused and named, the run went on" ||
			fail "$var planted ($kind): $(echo "$out" | tail -3 | tr '\n' '|')"
		[ "$kind" != file ] || [ "$(cat /dev/shm/umfs-sec.out)" = planted ] ||
			fail "$var planted ($kind): root wrote into the other user's file"
		check_after "$var planted ($kind)"
		unplant /dev/shm/umfs-sec.out
	done
done

# 5. mkfs at a name the other user planted.
for kind in symlink-file file; do
	plant /dev/shm/newpool "$kind"
	out=$(timeout $BOUND "$MKFS" -s 64M /dev/shm/newpool 2>&1)
	rc=$?
	[ $rc != 0 ] && echo "$out" | grep -q /dev/shm/newpool &&
		pass "mkfs at a name planted ($kind): refused, naming it" ||
		fail "mkfs at a name planted ($kind): rc=$rc $out"
	check_after "mkfs at a name planted ($kind)"
	unplant /dev/shm/newpool
done

# 6. A pool others may read: said once, by the first process.
chmod 0644 "$pool"
out=$("$UMFS_RUN" --pool "$pool" -- bash -c 'cat /umfs/f | cat | cat >/dev/null; ls /umfs >/dev/null' 2>&1)
n=$(echo "$out" | grep -c "readable by every user")
[ "$n" = 1 ] && pass "a pool readable by others: said once" || fail "a pool readable by others: said $n times: $out"
chmod 0600 "$pool"

echo "# $passes passed, $failures failed"
[ "$failures" = 0 ]
