#!/bin/bash
# SPDX-License-Identifier: MIT
# model.sh - multi-model: N processes under the library doing random
# operations on shared files and directories, checked continuously against
# the ack log of multi_model.c; then fsck. Prints N vs 1 throughput.
. "$(dirname "$0")/lib.sh"

# model.sh --break BUG: the self-test; a bug injected into the workers
# (multi_model -B) must make the check fail.
if [ "${1:-}" = --break ]; then
	make_pool 256M
	rc=0
	"$MULTI_BIN/multi_model" -l "$SHIM_LIB" -p "$pool" -t 2 -B "$2" >"$work/out" 2>&1 || rc=$?
	grep -m3 FAIL "$work/out" || true
	if [ "$rc" = 1 ] && grep -q '^FAIL' "$work/out"; then pass "injected bug '$2' caught"
	else fail "injected bug '$2' not caught (exit $rc)"; tail -5 "$work/out"; fi
	finish
fi

if [ "$FULL" = 1 ]; then n=8 secs=30; else n=4 secs=4; fi
make_pool 512M
rc=0
"$MULTI_BIN/multi_model" -l "$SHIM_LIB" -p "$pool" -n "$n" -t "$secs" \
	${MULTI_SEED:+-s "$MULTI_SEED"} || rc=$?
if [ "$rc" = 0 ]; then pass "multi_model: $n processes, reference kept"; else fail "multi_model (exit $rc)"; fi
check_fsck
finish
