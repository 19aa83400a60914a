#!/usr/bin/env bash
# cancel.sh - threads cancelled with pthread_cancel() in the middle of
# file calls on UMFS (shim_cancel.c): in the call that mounts the pool,
# at random moments in loops of creates, writes, reads, syncs, record
# locks and closes, while they wait for a lock another process holds
# (or leave that wait by siglongjmp from a handler), in asynchronous
# mode inside signal handlers the library runs, and in a FIFO's open or
# a splice's wait for its pipe. The process must go on
# working, no wait may hang, and the pool must be clean after. The
# same program on tmpfs, without the library, checks the test itself.
# And which of 24 calls on a UMFS file act on a pending cancellation must
# be those that do on tmpfs.
. "$(dirname "$0")/lib.sh"

rounds=${CANCEL_ROUNDS:-200}
: "${SHIM_CANCEL:=$BUILDDIR/tests/shim/shim_cancel}"
mkdir "$work/ref"
for mode in mount busy waiting async fifo splice; do
	out=$(timeout 120 "$SHIM_CANCEL" "$work/ref" "$mode" "$rounds" 2>&1) || true
	check "tmpfs: cancelled threads ($mode)" "ok" "$(printf '%s\n' "$out" | tail -n 1)"
done

shim mkdir /umfs/cancel
# out: the last line shim_cancel printed under the library, given SECONDS
# at most, for MODE [ROUNDS]; "timed out (hang)" if it never ended
umfs_run() { # umfs_run SECONDS MODE [ROUNDS]
	local secs=$1 rc=0
	shift
	out=$(timeout "$secs" env LD_PRELOAD="$SHIM_LIB" "$SHIM_CANCEL" /umfs/cancel "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 142 ]; then
		out="timed out (hang)"
	fi
}
last() { printf '%s\n' "$out" | tail -n 1; }

# a process of its own each time: the first call mounts the pool
for i in 1 2 3 4 5 6 7 8; do
	umfs_run 120 mount
	check "a thread cancelled in the call that mounts the pool, run $i" "ok" "$(last)"
done
want=$(timeout 60 "$SHIM_CANCEL" "$work/ref" points 2>&1) || true
got=$(timeout 60 env LD_PRELOAD="$SHIM_LIB" "$SHIM_CANCEL" /umfs/cancel points 2>&1) || true
check "tmpfs: open, read, close and the others are cancellation points, fstat is not" \
	"open point|fstat not" "$(printf '%s\n' "$want" | grep -E '^(open|fstat) ' | paste -sd'|')"
check "the calls that act on a pending cancellation, as on tmpfs" "$want" "$got"
umfs_run 300 busy "$rounds"
check "$rounds busy threads cancelled at random moments: the process goes on" "ok" "$(last)"
umfs_run 120 waiting
printf '%s\n' "$out" | grep 'after' | sed 's/^/# /'
check "threads waiting for locks (F_SETLKW, F_OFD_SETLKW, lockf, flock) cancelled, or left by siglongjmp" \
	"ok" "$(last)"
umfs_run 120 async
check "threads in asynchronous mode cancelled in handlers (SA_RESETHAND, a write): nothing left taken" \
	"ok" "$(last)"
umfs_run 120 fifo
check "a FIFO's open: a cancellation point, and ended by a signal without SA_RESTART" "ok" "$(last)"
umfs_run 120 splice
check "splice's and sendfile's pipe waits: cancellation points and signals as the kernel's" \
	"ok" "$(last)"
check "the pool is clean after (fsck.umfs -n -f)" "0" "$("$FSCK" -n -f "$pool" >/dev/null 2>&1; echo $?)"
finish
