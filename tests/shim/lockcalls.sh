#!/usr/bin/env bash
# lockcalls.sh - uncontended record locks, OFD locks and flock on a UMFS
# file make no system call: strace counts the calls between the markers
# of shim_lockcalls (1,000 SQLite-like transactions, 14 lock calls each);
# the same program on tmpfs makes one kernel call per lock call.
. "$(dirname "$0")/lib.sh"

: "${SHIM_LOCKCALLS:=$BUILDDIR/tests/shim/shim_lockcalls}"
if ! command -v strace >/dev/null || ! strace -f -qq -o /dev/null true 2>/dev/null; then
	echo "SKIP: strace cannot trace here"
	exit 77
fi

between() { # the calls traced between the two marker writes
	awk '/write\(9, "begin"/ { on = 1; next } /write\(9, "end"/ { on = 0 } on' "$1" | wc -l
}

strace -f -qq -o "$work/ref.trace" "$SHIM_LOCKCALLS" "$work/ref.db" 1000 >"$work/ref.out"
check "tmpfs: the transactions ran" "1000 transactions: ok" "$(cat "$work/ref.out")"
check "tmpfs: one kernel call per lock call" 14000 "$(between "$work/ref.trace")"

strace -f -qq -E LD_PRELOAD="$SHIM_LIB" -o "$work/umfs.trace" \
	"$SHIM_LOCKCALLS" /umfs/db 1000 >"$work/umfs.out"
check "UMFS: the transactions ran" "1000 transactions: ok" "$(cat "$work/umfs.out")"
check "UMFS: no system call for 14,000 uncontended lock calls" 0 "$(between "$work/umfs.trace")"

finish
