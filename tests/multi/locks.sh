#!/bin/bash
# SPDX-License-Identifier: MIT
# locks.sh - multi-locks: fcntl record locks, OFD locks and flock between
# two processes (multi_locks.c): first on tmpfs without the library (the
# kernel is the reference: the program's expectations must hold there),
# then on /umfs under it, then through umfs-fuse, then across front ends:
# a program under the library against one reaching the same file through
# umfs-fuse, each way round. Three processes' non-blocking lock calls in
# lockstep from a seed (multi_lockfuzz.c) are compared with the kernel's,
# through each front end and through both at once. Then fsck.
. "$(dirname "$0")/lib.sh"

make_pool 64M
T="timeout -s KILL 60"
rc=0
$T "$MULTI_BIN/multi_locks" "$work/ref-locks" >"$work/ref.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then pass "locks on tmpfs (the kernel: the reference)"
else fail "the lock expectations do not hold on tmpfs (exit $rc): a test bug"; grep -v '^ok' "$work/ref.out"; fi
rc=0
$T env LD_PRELOAD="$SHIM_LIB" "$MULTI_BIN/multi_locks" /umfs/locks >"$work/umfs.out" 2>&1 || rc=$?
sed 's/^/  /' "$work/umfs.out"
if [ "$rc" = 0 ]; then pass "locks between processes on /umfs"
else fail "locks between processes on /umfs (exit $rc$([ "$rc" = 137 ] && echo ', killed after 60 s: a wait never ended'))"; fi
# Three processes' locks in lockstep from a seed (multi_lockfuzz.c): the
# transcript under the library must be the kernel's, line for line.
lockfuzz() { # lockfuzz NAME PREFIX_CMD FILE SEED [FILE2]: compares with tmpfs
	local name=$1 pre=$2 file=$3 seed=$4 rc=0
	shift 4
	$T "$MULTI_BIN/multi_lockfuzz" "$work/lfz-ref" "$seed" 1500 >"$work/lfz.ref" 2>&1 || rc=$?
	# shellcheck disable=SC2086 # the prefix splits into words
	$T $pre "$MULTI_BIN/multi_lockfuzz" "$file" "$seed" 1500 "$@" >"$work/lfz.out" 2>&1 || rc=$?
	if [ "$name" != library ]; then
		# through FUSE the kernel names OFD and POSIX owners its own way
		# (known-fuse.txt, locks2/getlk-sees-ofd): the owner is left out
		sed -i 's/ by .*//' "$work/lfz.ref" "$work/lfz.out"
	fi
	if [ "$rc" = 0 ] && cmp -s "$work/lfz.ref" "$work/lfz.out"; then
		pass "lock fuzz, seed $seed, $name: 1500 calls as on tmpfs"
	else
		fail "lock fuzz, seed $seed, $name: differs from tmpfs (exit $rc)"
		diff "$work/lfz.ref" "$work/lfz.out" | head -8 | sed 's/^/  /'
	fi
}
for seed in 1 2 3 4; do
	lockfuzz library "env LD_PRELOAD=$SHIM_LIB" /umfs/lockfuzz "$seed"
done
# Descriptions a forked child opens are owners apart from those its parent
# opens after the fork, for flock and for OFD locks: the child does not go
# on with its parent's ids. As on tmpfs.
forked='
import fcntl, os, struct, sys, time
path, kind = sys.argv[1], sys.argv[2]
def lock(fd, op):
    if kind == "flock":
        fcntl.flock(fd, op)
    else: # F_OFD_SETLK 37
        t = {fcntl.LOCK_SH: fcntl.F_RDLCK, fcntl.LOCK_UN: fcntl.F_UNLCK}.get(op & ~fcntl.LOCK_NB, fcntl.F_WRLCK)
        fcntl.fcntl(fd, 37, struct.pack("hhqqi", t, 0, 0, 0, 0))
a = os.open(path, os.O_RDWR)
lock(a, fcntl.LOCK_SH)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    b = os.open(path, os.O_RDWR)
    lock(b, fcntl.LOCK_SH)
    os.write(w, b"x")
    time.sleep(2)
    os._exit(0)
os.read(r, 1)
lock(a, fcntl.LOCK_UN)
c = os.open(path, os.O_RDWR)
try:
    lock(c, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print(kind, "granted beside the child")
except OSError as e:
    print(kind, "refused beside the child:", e.errno)
os.waitpid(pid, 0)'
for kind in flock ofd; do
	echo x >"$work/forked"
	shim_sh 'echo x >/umfs/forked'
	want=$($T python3 -c "$forked" "$work/forked" "$kind" 2>&1)
	got=$($T env LD_PRELOAD="$SHIM_LIB" python3 -c "$forked" /umfs/forked "$kind" 2>&1)
	check "$kind: a forked child's new description is an owner apart from its parent's, as on tmpfs" "$want" "$got"
done
if fuse_usable && mount_fuse; then
	for seed in 5 6; do
		lockfuzz fuse "" "$mnt/lockfuzz" "$seed"
	done
	# one process under the library, two through umfs-fuse, one file
	for seed in 7 8; do
		lockfuzz "library and fuse" "env LD_PRELOAD=$SHIM_LIB" /umfs/lockcross "$seed" "$mnt/lockcross"
	done
	rc=0
	$T "$MULTI_BIN/multi_locks" "$mnt/locks" >"$work/fuse.out" 2>&1 || rc=$?
	sed 's/^/  /' "$work/fuse.out"
	if [ "$rc" = 0 ]; then pass "locks between processes through umfs-fuse"
	else fail "locks between processes through umfs-fuse (exit $rc)"; fi
	for prober in library fuse; do
		holder=fuse
		[ "$prober" = fuse ] && holder=library
		rc=0
		if [ "$prober" = library ]; then
			$T env LD_PRELOAD="$SHIM_LIB" "$MULTI_BIN/multi_locks" /umfs/cross1 "$mnt/cross1" - \
				>"$work/cross.out" 2>&1 || rc=$?
		else
			$T "$MULTI_BIN/multi_locks" "$mnt/cross2" /umfs/cross2 "$SHIM_LIB" \
				>"$work/cross.out" 2>&1 || rc=$?
		fi
		sed 's/^/  /' "$work/cross.out"
		if [ "$rc" = 0 ]; then pass "locks: a $prober prober against a $holder holder"
		else fail "locks: a $prober prober against a $holder holder (exit $rc)"; fi
	done
	# More FUSE clients waiting for one lock than libfuse has workers (10):
	# the holder's unlock, a request too, must still be served. Were it
	# not, every client would hang in the kernel (even killed: its close
	# waits for a worker), so a watchdog kills the daemon after 30 s.
	echo x >"$mnt/queue"
	for kind in lockf flock; do
		(sleep 30 && kill -9 "$daemon") 2>/dev/null &
		watchdog=$!
		$T python3 -c "
import fcntl, time
f = open('$mnt/queue', 'r+')
lk = fcntl.$kind
lk(f, fcntl.LOCK_EX)
time.sleep(1)
lk(f, fcntl.LOCK_UN)" &
		hold=$!
		sleep 0.3
		pids=()
		for _ in $(seq 16); do
			$T python3 -c "
import fcntl
f = open('$mnt/queue', 'r+')
fcntl.$kind(f, fcntl.LOCK_EX)
fcntl.$kind(f, fcntl.LOCK_UN)" &
			pids+=($!)
		done
		got=0
		for p in "${pids[@]}"; do wait "$p" && got=$((got + 1)); done
		wait "$hold" || fail "$kind: the holder through FUSE (exit $?)"
		pkill -P "$watchdog" sleep 2>/dev/null || true
		kill "$watchdog" 2>/dev/null || true
		check "$kind: 16 FUSE clients waiting at once all got the lock" 16 "$got"
		mountpoint -q "$mnt" || break
	done
	# A cycle of F_SETLKW waits across front ends: one side hears EDEADLK
	# (the second to wait, whichever front end it is on) and the other then
	# gets its lock. Each side takes its first byte, says so in a marker
	# file and waits for the other's marker before asking for the other
	# byte, so that the cycle forms however late a side starts.
	echo xx >"$mnt/cycle"
	cycle='
import errno, fcntl, os, sys, time
f = open(sys.argv[1], "r+")
me = int(sys.argv[2])
fcntl.lockf(f, fcntl.LOCK_EX, 1, me)
open(sys.argv[3] + str(me), "w").close()
end = time.monotonic() + 30
while not os.path.exists(sys.argv[3] + str(1 - me)) and time.monotonic() < end:
    time.sleep(0.01)
time.sleep(0.2 * me)
try:
    fcntl.lockf(f, fcntl.LOCK_EX, 1, 1 - me)
    print("got")
except OSError as e:
    print("EDEADLK" if e.errno == errno.EDEADLK else errno.errorcode[e.errno])
time.sleep(0.3)'
	for first in library fuse; do
		lib=(env LD_PRELOAD="$SHIM_LIB") fuse=(env)
		if [ "$first" = library ]; then a=("${lib[@]}") b=("${fuse[@]}") pa=/umfs pb=$mnt
		else a=("${fuse[@]}") b=("${lib[@]}") pa=$mnt pb=/umfs; fi
		rm -f "$work/cycle-ready"*
		$T "${a[@]}" python3 -c "$cycle" "$pa/cycle" 0 "$work/cycle-ready" >"$work/cycle.a" 2>&1 &
		pid=$!
		$T "${b[@]}" python3 -c "$cycle" "$pb/cycle" 1 "$work/cycle-ready" >"$work/cycle.b" 2>&1 || true
		wait "$pid" || true
		got=$(sort "$work/cycle.a" "$work/cycle.b" | tr '\n' ' ')
		check "a cycle of waits, $first asking first: one gets the lock, the other EDEADLK" \
			"EDEADLK got " "$got"
	done
	unmount_fuse
else
	echo "SKIP umfs-fuse: FUSE is not usable here"
fi
check_fsck
finish
