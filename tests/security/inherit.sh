#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# inherit.sh - programs that change identity keep the pool their parent
# opened, and nobody else gets it. Root's private pool (0600): a program
# that root starts through setpriv as uid 65534 (an exec after the change,
# as su -c or a daemon does) reads, writes and creates through what root's
# process passed it; a shell of that user started by it does too (exec of
# exec). Meanwhile an unrelated process of uid 65534, which never had the
# pool, cannot read the pool, cannot mount it through the library (a
# one-line error naming the pool), cannot be handed it by a forged
# UMFS_FDS, cannot reach the runtime directory, cannot read the
# descriptors of the dropped program through /proc, cannot take a lock
# that would hang root's programs. Ends with fsck.umfs -n -f clean.
#
# It runs as root in a private mount namespace whose /dev/shm is a fresh
# tmpfs mount with mode 1777, as on a stock system.
#
# Standalone: BUILDDIR=build tests/security/inherit.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # the system one: uid 65534 runs it too
[ -x "$PY" ] || skip "$PY is missing"
sec_private_shm umfs-inherit-shm 1g "$@"
pool=/dev/shm/umfs-inherit.pool
root=/dev/shm/inherit-root # root's own, 0700
mkdir -m 0700 "$root"
lib=(env LD_PRELOAD="$SHIM_LIB" UMFS_POOL="$pool" UMFS_MOUNT=/umfs)

failures=0
passes=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { # check WHAT EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
cleanup() {
	[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null
	wait 2>/dev/null
	umount -l /dev/shm 2>/dev/null
}
trap cleanup EXIT

"$MKFS" -q -s 64M "$pool" || { echo "FAIL: mkfs"; exit 1; }
chmod 0600 "$pool"
"${lib[@]}" sh -c 'echo public > /umfs/f && echo secret > /umfs/s && chmod 600 /umfs/s &&
	mkdir -m 1777 /umfs/pub' || fail "root's setup"

# 1. A program started as uid 65534 after the change reaches the pool.
out=$("${lib[@]}" setpriv --reuid=$HUID --regid=$HUID --clear-groups -- sh -c '
	id -u; cat /umfs/f; cat /umfs/s 2>/dev/null || echo "s: denied"
	echo mine > /umfs/pub/mine; cat /umfs/pub/mine
	sh -c "echo again >> /umfs/pub/mine"; cat /umfs/pub/mine' 2>&1 | tr '\n' ' ')
check "a program exec'd as uid $HUID reads, is refused, creates, and so does its child" \
	"$HUID public s: denied mine mine again " "$out"
out=$("${lib[@]}" stat -c '%u:%g %a' /umfs/pub/mine 2>&1)
check "what it created is uid $HUID's" "$HUID:$HUID 644" "$out"

# 2. The same user, without the pool's descriptors, gets nothing.
out=$(as_h head -c 16 "$pool" 2>&1 >/dev/null | grep -c 'Permission denied')
check "uid $HUID cannot read the pool file" 1 "$out"
msg=$(as_h "${lib[@]}" cat /umfs/f 2>&1 >/dev/null)
case $msg in
*"UMFS_POOL=$pool: Permission denied: uid $HUID may not open the pool"*) pass "uid $HUID through the library: refused, the pool named" ;;
*) fail "uid $HUID through the library: [$msg]" ;;
esac
[ "$(printf '%s\n' "$msg" | grep -c 'UMFS_POOL=')" = 1 ] && pass "one line says so" ||
	fail "the refusal is not one line: [$msg]"
as_h sh -c "echo forged > /dev/shm/forged-pool"
mkdir -m 0777 /dev/shm/forged-run
msg=$(as_h "${lib[@]}" UMFS_FDS=pool=7,run=8,lock=9 sh -c \
	'exec cat /umfs/f 7</dev/shm/forged-pool 8</dev/shm/forged-run 9</dev/shm/forged-pool' 2>&1)
case $msg in
*"may not open the pool"*) pass "a forged UMFS_FDS naming other files is ignored" ;;
*) fail "a forged UMFS_FDS: [$msg]" ;;
esac

# 3. While a dropped program holds the pool, its user's other processes
# can neither take the descriptors from it nor reach what it reaches.
"${lib[@]}" setpriv --reuid=$HUID --regid=$HUID --clear-groups -- sh -c \
	'exec 3</umfs/f; echo ready > /umfs/pub/ready; exec sleep 60' &
holder=$!
for _ in $(seq 100); do
	[ "$("${lib[@]}" cat /umfs/pub/ready 2>/dev/null)" = ready ] && break
	sleep 0.1
done
pid=$(pgrep -u $HUID -x sleep | head -1)
if [ -z "$pid" ]; then
	fail "the dropped program did not start"
else
	rundir=$(ls -d /dev/shm/umfs-*-* 2>/dev/null | head -1)
	[ -n "$rundir" ] && pass "the runtime directory is there ($(stat -c %a "$rundir"))" ||
		fail "no runtime directory while the pool is in use"
	out=$(as_h ls "$rundir" 2>&1 | grep -c 'Permission denied')
	check "uid $HUID cannot list the runtime directory" 1 "$out"
	out=$(as_h sh -c "echo x > '$rundir/planted'" 2>&1 | grep -c 'Permission denied')
	check "uid $HUID cannot plant in it" 1 "$out"
	out=$(as_h ls "/proc/$pid/fd" 2>&1 | grep -c 'Permission denied')
	check "uid $HUID cannot list the dropped program's descriptors" 1 "$out"
	poolfd=$(ls -l "/proc/$pid/fd" | awk -v p="$pool" '$NF == p { print $9 }' | head -1)
	[ -n "$poolfd" ] && pass "the dropped program holds the pool (fd $poolfd)" ||
		fail "the dropped program holds no pool descriptor"
	out=$(as_h head -c 16 "/proc/$pid/fd/${poolfd:-0}" 2>&1 >/dev/null | grep -c 'Permission denied')
	check "uid $HUID cannot open the pool through /proc/PID/fd" 1 "$out"
	out=$(as_h "$PY" -c "open('/proc/$pid/mem','rb')" 2>&1 | grep -c 'PermissionError')
	check "uid $HUID cannot read the dropped program's memory" 1 "$out"
	out=$(as_h "$PY" -c "
import fcntl, os, sys
n = 0
for f in ['$pool', '$rundir/lock', '$rundir/shim/shared']:
    try:
        fd = os.open(f, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); n += 1
    except OSError:
        pass
print(n)" 2>&1)
	check "uid $HUID can take no lock on the pool, the lock region or the shared area" 0 "$out"
	# root's programs go on meanwhile, within a bound
	out=$(timeout 20 "${lib[@]}" sh -c 'echo more >> /umfs/f; cat /umfs/f' 2>&1 | tr '\n' ' ')
	check "root's programs go on while it runs" "public more " "$out"
	kill "$holder" "$pid" 2>/dev/null
	wait "$holder" 2>/dev/null
	holder=
fi

# 4. Nothing was left that fsck calls damage; the pool is as root left it.
sleep 0.5
"${lib[@]}" true
out=$("$FSCK" -n -f "$pool" 2>&1)
case $out in
*"0 problem(s) of damage"*) pass "fsck.umfs -n -f finds no damage" ;;
*) fail "fsck: $out" ;;
esac
check "the pool is still root's, 0600" "0:0 600" "$(stat -c '%u:%g %a' "$pool")"

echo "inherit: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
