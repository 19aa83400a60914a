#!/bin/bash
# SPDX-License-Identifier: MIT
# joins.sh - multi-joins: short processes joining one pool and leaving it
# at once, as the commands of parallel shell scripts do. Each one is often
# the pool's first or last user, so the lock region and the shim's shared
# area are parked by one process while others wait at their gates, and
# several of those find them parked together. Every process must come in:
# its answer is the same as on tmpfs (the same commands on a copy of the
# tree), its error output empty, every append there; fsck clean after.
. "$(dirname "$0")/lib.sh"

if [ "$FULL" = 1 ]; then rounds=600; else rounds=80; fi
nw=8
make_pool 64M
shim_sh 'mkdir /umfs/d && printf "hello\n" >/umfs/d/a' || { fail "setup"; finish; }
ref=$work/ref
mkdir -p "$ref/d"
printf 'hello\n' >"$ref/d/a"

# worker ROOT K: stat, cat, an append and an ls, each a new process under
# the library; prints what each answered, and FAIL with its status
worker() {
	local root=$1 k=$2 i
	for i in $(seq "$rounds"); do
		shim stat -c %s "$root/d/a" || echo "FAIL stat $?"
		shim cat "$root/d/a" || echo "FAIL cat $?"
		shim sh -c 'echo "$1" >>"$2"' sh "$i" "$root/d/w$k" || echo "FAIL append $?"
		if [ $((i % 10)) = 0 ]; then shim ls "$root/d" >/dev/null || echo "FAIL ls $?"; fi
	done
}

run_all() { # ROOT TAG
	local k pids=()
	for k in $(seq "$nw"); do
		worker "$1" "$k" >"$work/$2.$k.out" 2>"$work/$2.$k.err" &
		pids+=($!)
		bg_pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k"; done
	bg_pids=()
}

run_all /umfs umfs
run_all "$ref" ref
for k in $(seq "$nw"); do
	if ! cmp -s "$work/umfs.$k.out" "$work/ref.$k.out"; then
		fail "worker $k answered otherwise than on tmpfs:"
		diff "$work/ref.$k.out" "$work/umfs.$k.out" | head -5 | sed 's/^/  /'
	fi
	if [ -s "$work/umfs.$k.err" ]; then
		fail "worker $k's processes said:"
		sort "$work/umfs.$k.err" | uniq -c | sort -rn | head -5 | sed 's/^/  /'
	fi
	got=$(shim cat "/umfs/d/w$k" | cksum)
	want=$(cksum <"$ref/d/w$k")
	[ "$got" = "$want" ] || fail "worker $k's appends differ from tmpfs's"
done
joins=$((nw * rounds * 3 + nw * rounds / 10))
fsck_out=$("$FSCK" -n "$pool" 2>&1) || fail "fsck after $joins joins: $fsck_out"
[ "$failures" = 0 ] && pass "$joins short processes joined and left, $nw at once"
finish
