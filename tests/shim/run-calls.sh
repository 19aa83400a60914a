#!/usr/bin/env bash
# run-calls.sh - the call transcript (shim_calls) on tmpfs without the shim
# and on UMFS with it must be identical.
. "$(dirname "$0")/lib.sh"

mkdir "$work/ref"
(cd "$work" && "$SHIM_CALLS" "$work/ref" >"$work/tmpfs.txt" 2>&1) || true
shim mkdir /umfs/calls
(cd "$work" && shim "$SHIM_CALLS" /umfs/calls >"$work/umfs.txt" 2>&1) || true
if diff -u "$work/tmpfs.txt" "$work/umfs.txt"; then
	echo "ok   transcript: $(wc -l <"$work/umfs.txt") lines identical"
else
	echo "FAIL transcript differs (- tmpfs, + UMFS)"
	failures=$((failures + 1))
fi
check "transcript complete" "done" "$(tail -n1 "$work/umfs.txt")"
finish
