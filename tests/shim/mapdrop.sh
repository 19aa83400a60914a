#!/usr/bin/env bash
# mapdrop.sh - the last unmap of a large shared mapping lets other
# processes in between the chunks of its write-back, and loses nothing:
# shim_mapdrop maps 256 MiB, stores a mark on every page and unmaps, eight
# rounds, while a joiner maps the file over and over (each mapping must
# hold the marks already stored, written back or not) and stores values
# into it, and a reader preads its pages (no page may go back); at the end
# the file must hold every last mark and value. Beside it another process
# creates and unlinks a file throughout, which takes the library's pool
# lock: no create may wait half as long as the longest unmap (one whose
# write-back held the lock throughout kept a create waiting for all of
# it). Then again, the unmapper and a mapper stopped in turn amid their
# write-backs (shim_mapdrop's stop). The pool must check clean.
POOL_SIZE=1G
. "$(dirname "$0")/lib.sh"

: "${SHIM_MAPDROP:=$BUILDDIR/tests/shim/shim_mapdrop}"
: "${SHIM_STATLAT:=$BUILDDIR/tests/shim/shim_statlat}"

shim "$SHIM_STATLAT" /umfs/c 12 create >"$work/clat" &
clat=$!
out=$(shim "$SHIM_MAPDROP" /umfs/m 256 8 2>"$work/err") && rc=0 || rc=$?
wait "$clat"
read -r rounds slowest joins <<<"$out"
read -r calls cworst <"$work/clat"
echo "  $rounds rounds, the longest unmap $slowest ms, $joins joins; $calls creates, the longest $cworst ms"
sed 's/^/  /' "$work/err"
check "marks and stores kept through the unmaps" "0 8" "$rc $rounds"
check "the joiner mapped meanwhile" yes "$([ "${joins:-0}" -ge 6 ] && echo yes || echo "no: $joins")"
check_half_wait "no create waits half an unmap" "$cworst" "$slowest"
check "the creates went on meanwhile" yes "$([ "$calls" -gt 100 ] && echo yes || echo "no: $calls")"

# Again with the unmapper and a mapper of the joiner's stopped in turn amid
# their write-backs, so that each write-back meets the other's half done.
out=$(shim "$SHIM_MAPDROP" /umfs/m2 256 12 stop 2>"$work/err") && rc=0 || rc=$?
read -r rounds slowest joins <<<"$out"
echo "  stopped in turn: $rounds rounds, $joins joins"
sed 's/^/  /' "$work/err"
check "marks and stores kept, write-backs stopped in turn" "0 12" "$rc $rounds"
finish
