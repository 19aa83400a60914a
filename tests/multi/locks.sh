#!/bin/bash
# SPDX-License-Identifier: MIT
# locks.sh - multi-locks: fcntl record locks, OFD locks and flock between
# two processes (multi_locks.c): first on tmpfs without the library (the
# kernel is the reference: the program's expectations must hold there),
# then on /umfs under it. Then fsck.
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
check_fsck
finish
