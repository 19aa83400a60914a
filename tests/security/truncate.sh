#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# truncate.sh - a pool that shrinks under its users never kills them.
#
# A writer (sec_fault) loops writing and reading a UMFS file while another
# process truncates the pool file (to half, and to nothing), the lock
# region of the pool's runtime directory (to nothing, and to its first
# page), or the library's own shared files there (shim/shared and
# shim/ofd/arena). Through the LD_PRELOAD library, through the C API and through
# umfs-fuse, the writer must get EIO, not a signal: it prints the error,
# sees EIO again on its next call, still uses a file outside UMFS, and
# exits 0 on its own. Through umfs-fuse the daemon must live on, its mount
# answering EIO (not ENOTCONN), and unmount with fusermount3 -u. On a
# library that does not catch the fault, the writer dies of SIGBUS.
#
# Standalone: BUILDDIR=build tests/security/truncate.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

: "${SEC_FAULT:=$BUILDDIR/tests/security/sec_fault}"
: "${SEC_FAULT_API:=$BUILDDIR/tests/security/sec_fault_api}"
LIMIT=60 # seconds a writer may take, far above what it needs

work=$(mktemp -d /dev/shm/umfs-trunc.XXXXXX)
pool=$work/pool
mnt=$work/mnt
DAEMON=
uuid() { od -An -tx1 -j32 -N16 "$pool" 2>/dev/null | tr -d ' \n'; }
made= # the UUID of the pool fresh_pool made: a pool cut to nothing has none
forget() { [ -n "$made" ] && rm -rf /dev/shm/umfs-"$made"-*; }
fuse_mounted() { awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
cleanup() {
	fuse_mounted && fusermount3 -u -z "$mnt" 2>/dev/null
	[ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null
	forget
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mnt"

failures=0 passes=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

fresh_pool() {
	forget
	rm -f "$pool"
	"$MKFS" -q -s 64M "$pool" || exit 1
	made=$(uuid)
}

# damage WHAT: truncates the pool or the lock region while the writer runs.
damage() {
	local lock
	case $1 in
	pool-half) truncate -s $(($(stat -c %s "$pool") / 2)) "$pool" ;;
	pool-zero) truncate -s 0 "$pool" ;;
	lock-zero|lock-page)
		lock=$(ls /dev/shm/umfs-"$(uuid)"-*/lock 2>/dev/null | head -n 1)
		[ -n "$lock" ] || { echo "no lock region found"; return 1; }
		truncate -s "$([ "$1" = lock-zero ] && echo 0 || echo 4096)" "$lock" ;;
	shim-shared|shim-arena) # the library's own shared files there
		lock=$(ls /dev/shm/umfs-"$(uuid)"-*/shim/"$([ "$1" = shim-shared ] && echo shared ||
			echo ofd/arena)" 2>/dev/null | head -n 1)
		[ -n "$lock" ] || { echo "no $1 found"; return 1; }
		truncate -s 0 "$lock" ;;
	esac
}

# wait_ready FILE PID: the writer made its file and started looping.
wait_ready() {
	for _ in $(seq 400); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# judge NAME RC OUT: the writer saw EIO twice, kept its other files, and
# exited 0 on its own.
judge() {
	local name=$1 rc=$2 out=$3
	if [ "$rc" -gt 128 ] && [ "$rc" != 137 ]; then
		fail "$name: the writer was killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$name: the writer did not end within ${LIMIT}s"
	elif [ "$rc" != 0 ]; then
		fail "$name: the writer exited $rc: $(tr '\n' ' ' <"$out")"
	elif ! grep -qx 'errno=EIO' "$out" || ! grep -qx 'again=EIO' "$out" ||
	     ! grep -qx 'local=ok' "$out"; then
		fail "$name: unexpected output: $(tr '\n' ' ' <"$out")"
	else
		pass "$name: $(tr '\n' ' ' <"$out")"
	fi
}

# run_writer NAME DAMAGE N CMD...: starts N writers (@N in CMD: the
# writer's number), damages the pool once they run, and judges how each
# ended. WRITER_MODE: a last argument for the writers (sec_fault.c).
run_writer() {
	local name=$1 what=$2 n=$3 pids=() i rc
	shift 3
	for i in $(seq "$n"); do
		rm -f "$work/ready$i"
		timeout -s KILL $LIMIT "${@//@N/$i}" "$work/local$i" "$work/ready$i" 30 \
			${WRITER_MODE:-} >"$work/out$i" 2>"$work/err$i" &
		pids+=($!)
	done
	for i in $(seq "$n"); do
		if ! wait_ready "$work/ready$i" "${pids[i - 1]}"; then
			kill -9 "${pids[@]}" 2>/dev/null
			wait "${pids[@]}"
			fail "$name: writer $i did not start: $(cat "$work/out$i" "$work/err$i")"
			return
		fi
	done
	sleep 0.3
	damage "$what"
	for i in $(seq "$n"); do
		wait "${pids[i - 1]}"
		rc=$?
		judge "$name$([ "$n" = 1 ] || echo ", writer $i")" $rc "$work/out$i"
	done
}

# after_lock NAME: the pool itself was sound when its lock region went:
# what the writers left is crash state only, which the next program's
# mount repairs, and their file is whole.
after_lock() {
	local size
	if ! "$FSCK" -n "$pool" >"$work/fsck" 2>&1 || ! grep -q 'no damage\|clean$' "$work/fsck"; then
		fail "$1: fsck -n after the writer: $(tr '\n' ' ' <"$work/fsck")"
		return
	fi
	size=$(UMFS_LIB="$SHIM_LIB" timeout 30 "$UMFS_RUN" --pool "$pool" --mount /umfs -- \
		sh -c 'wc -c </umfs/fault1' 2>&1)
	if [ "$size" = 8388608 ] && "$FSCK" -n "$pool" 2>&1 | grep -q ': clean$'; then
		pass "$1: crash state only; the next program recovered the pool and read the file"
	else
		fail "$1: after recovery: size '$size', $("$FSCK" -n "$pool" 2>&1 | tr '\n' ' ')"
	fi
}

# --- the LD_PRELOAD library ---
for what in pool-half pool-zero lock-zero lock-page shim-shared shim-arena; do
	fresh_pool
	run_writer "shim, $what" $what 1 env UMFS_LIB="$SHIM_LIB" "$UMFS_RUN" --pool "$pool" \
		--mount /umfs -- "$SEC_FAULT" /umfs/fault@N
	case $what in lock-*) after_lock "shim, $what" ;; esac
done
# three programs on one pool lose its lock region: each stops with EIO,
# none waits for a lock another one holds
fresh_pool
run_writer "shim, lock-zero" lock-zero 3 env UMFS_LIB="$SHIM_LIB" "$UMFS_RUN" --pool "$pool" \
	--mount /umfs -- "$SEC_FAULT" /umfs/fault@N
after_lock "shim, lock-zero, 3 writers"

# --- the C API ---
for what in pool-half lock-zero; do
	fresh_pool
	run_writer "C API, $what" $what 1 "$SEC_FAULT_API" "$pool"
	case $what in lock-*) after_lock "C API, $what" ;; esac
done

# a machine check on a page of the pool (the SIGBUS of BUS_MCEERR_AR,
# sent by the writer to itself at an address of its pool mapping)
fresh_pool
rm -f "$work/ready1"
timeout -s KILL $LIMIT "$SEC_FAULT_API" "$pool" "$work/local1" "$work/ready1" 30 mce \
	>"$work/out1" 2>"$work/err1"
judge "C API, machine check" $? "$work/out1"

# a program with a SIGBUS handler of its own, set before mounting: a fault
# on its own memory still reaches it; one on the pool's fails the mount
fresh_pool
WRITER_MODE=own run_writer "C API, own handler, pool-half" pool-half 1 "$SEC_FAULT_API" "$pool"
if grep -qx 'own=handled' "$work/out1"; then
	pass "C API, own handler: the program's handler saw its own fault"
else
	fail "C API, own handler: $(tr '\n' ' ' <"$work/out1")"
fi

# --- umfs-fuse ---
if ! [ -c /dev/fuse ] || ! command -v fusermount3 >/dev/null || ! grep -qw fuse /proc/filesystems; then
	echo "# no usable FUSE here: umfs-fuse not tried"
else
	for what in pool-half lock-zero; do
		fresh_pool
		"$UMFS_FUSE" "$pool" "$mnt" -f >"$work/fuse.log" 2>&1 &
		DAEMON=$!
		for _ in $(seq 200); do fuse_mounted && break; sleep 0.05; done
		if ! fuse_mounted; then
			fail "fuse, $what: umfs-fuse did not mount: $(cat "$work/fuse.log")"
			kill -9 $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null; DAEMON=
			continue
		fi
		run_writer "fuse, $what" $what 1 "$SEC_FAULT" "$mnt/fault@N"
		if ! kill -0 $DAEMON 2>/dev/null; then
			wait $DAEMON
			fail "fuse, $what: the daemon died (rc $?): $(tail -n 3 "$work/fuse.log")"
			DAEMON=
			fusermount3 -u -z "$mnt" 2>/dev/null
			continue
		fi
		err=$(stat "$mnt/fault1" 2>&1 >/dev/null)
		case $err in
		*"Input/output error"*) pass "fuse, $what: the mount answers EIO" ;;
		*) fail "fuse, $what: a stat on the mount said: ${err:-nothing (it worked)}" ;;
		esac
		if timeout 30 fusermount3 -u "$mnt"; then
			for _ in $(seq 200); do kill -0 $DAEMON 2>/dev/null || break; sleep 0.05; done
			if kill -0 $DAEMON 2>/dev/null; then
				fail "fuse, $what: the daemon did not end after fusermount3 -u"
				kill -9 $DAEMON 2>/dev/null
			fi
			wait $DAEMON
			rc=$?
			if [ $rc -gt 128 ]; then
				fail "fuse, $what: the daemon ended with signal $((rc - 128))"
			else
				pass "fuse, $what: fusermount3 -u, the daemon exited $rc"
			fi
			case $what in lock-*) after_lock "fuse, $what" ;; esac
		else
			fail "fuse, $what: fusermount3 -u failed"
			fusermount3 -u -z "$mnt" 2>/dev/null
			kill -9 $DAEMON 2>/dev/null
		fi
		DAEMON=
	done
fi

echo "$passes passed, $failures failed"
[ $failures = 0 ]
