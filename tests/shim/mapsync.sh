#!/usr/bin/env bash
# mapsync.sh - msync of a large shared mapping lets other processes in
# between its chunks, and loses nothing: shim_mapsync maps 256 MiB, stores
# a mark on every page and msyncs it, three rounds, while a writer pwrites
# into its pages and a reader preads them (no page may go back, and after
# the unmap every mark and every last write must be in the file); beside
# it another process creates and unlinks a file throughout, which takes
# the library's pool lock: no create may wait half as long as the longest
# msync (an msync that held the lock throughout kept a create waiting for
# all of it). The pool must check clean.
POOL_SIZE=1G
. "$(dirname "$0")/lib.sh"

: "${SHIM_MAPSYNC:=$BUILDDIR/tests/shim/shim_mapsync}"
: "${SHIM_STATLAT:=$BUILDDIR/tests/shim/shim_statlat}"

shim "$SHIM_STATLAT" /umfs/c 12 create >"$work/clat" &
clat=$!
out=$(shim "$SHIM_MAPSYNC" /umfs/m 256 3 2>&1) && rc=0 || rc=$?
wait "$clat"
read -r rounds slowest <<<"$out"
read -r calls cworst <"$work/clat"
echo "  $rounds rounds, the longest msync $slowest ms; $calls creates, the longest $cworst ms"
check "marks and writes kept through the msyncs" "0 3" "$rc $rounds"
check_half_wait "no create waits half an msync" "$cworst" "$slowest"
check "the creates went on meanwhile" yes "$([ "$calls" -gt 100 ] && echo yes || echo "no: $calls")"
finish
