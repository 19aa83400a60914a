#!/bin/bash
# SPDX-License-Identifier: MIT
# lockscribble.sh - multi-lockscribble: record lock waits while a hostile
# process writes garbage into the record lock table (multi_lockscribble.c).
# The table is in the lock region, the file "lock" of the pool's runtime
# directory, which every user of the pool may write: the library promises
# to read it as untrusted memory (docs/security.md, "The record lock
# table"; docs/sharing.md, "Advisory locks"). A holder takes an fcntl, an
# OFD and a flock lock, three waiters block on them, and a plain program
# (not under the library) writes into the region meanwhile, one mode per
# run: random bytes, bit flips, 0xff runs past the header page, copies of
# one part over another, the words the lock calls changed ("hot"), and the
# whole file with its header; it leaves out any write that would name a
# live process with an unknown stamp (pid 1, say) as a lock's owner: the
# library rightly waits for such a forged lock, which would outlive the
# run. Then: nothing died of a signal, every wait ended within 15 s of the
# writer's end and the holder's exit, with its lock (seen by a fresh
# process) or a documented errno (listed at the end). Then, on the table as the writer left it, still in use (a keeper
# holds the pool open; with the header damaged it leaves first, as no new
# user may come in before all left), a second round without the writer
# must go as on tmpfs: the waits end at the release, with their locks,
# which others see ("after:" lines). At the end a fresh process takes,
# shows to another and releases every kind within 5 s; the files' bytes
# are intact; fsck is clean.
#  0. the kernel first, on tmpfs without the library and the writer: every
#     wait ends with its lock at the holder's release (the reference); the
#     same under the library on a pool, without the writer;
#  1. a writer of the same user, one mode per seed;
#  2. a writer of another user: uid 65534, a member of the pool's group
#     (the pool chgrp'd to it, mode 0660: the runtime directory is then
#     02770 in that group, docs/security.md), while the library's programs
#     run as root. A user who is not one of the pool's (a private pool,
#     0600, its runtime directory 0700) cannot open the region at all:
#     checked too. Only with root and setpriv; else skipped.
# Each run's writes are logged in the scratch directory (scribble-*.log,
# kept with MULTI_KEEP=1). UMFS_FULL=1 runs 30 seeds instead of 7.
. "$(dirname "$0")/lib.sh"

export UMFS_KMOD=0
LSC=$MULTI_BIN/multi_lockscribble
[ -x "$LSC" ] || { echo "FAIL: $LSC is not built"; exit 1; }
# our pool, named as this suite's pools on /dev/shm are not: lib.sh's
# cleanup removes its runtime directories, we remove the file
pool=$(mktemp /dev/shm/umfs-lsc-XXXXXX)
export UMFS_POOL=$pool
lsc_cleanup() {
	cleanup
	rm -f "$pool"
}
trap lsc_cleanup EXIT
T="timeout -s KILL"
seen_errnos=

# A new pool (its old runtime directories gone) holding f and g, each a
# known pattern of 64 KiB.
fresh_pool() {
	local r
	if [ -s "$pool" ]; then
		for r in $(lock_region); do rm -rf "$r"; done
	fi
	make_pool 64M
	head -c 65536 /dev/urandom >"$work/pat.f"
	head -c 65536 /dev/urandom >"$work/pat.g"
	$T 30 env LD_PRELOAD="$SHIM_LIB" sh -c \
		'cat "$1" >/umfs/f && cat "$2" >/umfs/g' sh "$work/pat.f" "$work/pat.g" ||
		fail "writing the patterns into /umfs/f and /umfs/g"
}

# after LABEL: every kind taken and released, the patterns intact, fsck
after_run() {
	local label=$1 rc=0
	$T 20 env LD_PRELOAD="$SHIM_LIB" "$LSC" take /umfs >"$work/take.out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		pass "$label: a fresh process takes and releases each kind ($(grep -o '([0-9]* ms)' "$work/take.out" | tr -d '()' | tr '\n' ' '))"
	else
		fail "$label: a fresh process cannot take and release every kind within 5 s (exit $rc$([ "$rc" = 137 ] && echo ', killed after 20 s'))"
		sed 's/^/  /' "$work/take.out"
	fi
	rc=0
	$T 30 env LD_PRELOAD="$SHIM_LIB" sh -c 'cmp "$1" /umfs/f && cmp "$2" /umfs/g' sh \
		"$work/pat.f" "$work/pat.g" >"$work/cmp.out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then pass "$label: /umfs/f and /umfs/g hold their patterns"
	else fail "$label: the files' bytes changed (exit $rc): $(head -2 "$work/cmp.out" | tr '\n' ' ')"; fi
	check_fsck
}

# run LABEL MODE SEED HOLD_MS SCRIB_MS [UID]: one run on a fresh pool
run() {
	local label=$1 mode=$2 seed=$3 hold=$4 scrib=$5 uid=${6:-0} rc=0 log
	log=$work/scribble-$label.log
	fresh_pool
	if [ "$uid" != 0 ] && ! { chgrp "$uid" "$pool" && chmod 0660 "$pool"; }; then
		fail "$label: chgrp $uid and chmod 0660 of the pool"
	fi
	$T 150 "$LSC" run /umfs "$SHIM_LIB" "$pool" "$mode" "$seed" "$hold" "$scrib" "$log" "$uid" \
		>"$work/run.out" 2>"$work/run.err" || rc=$?
	sed 's/^/  /' "$work/run.out"
	if [ "$uid" != 0 ]; then
		echo "  # the runtime directory: $(stat -c '%a %U:%G' "$(lock_region | head -1)")"
	fi
	grep -v '^umfs\[[0-9]*\]: warning: the record lock table was rebuilt' "$work/run.err" |
		sort | uniq -c | sort -rn | head -8 | sed 's/^/  stderr: /'
	echo "  # the library logged $(grep -c 'record lock table was rebuilt' "$work/run.err") rebuilds of the table"
	seen_errnos="$seen_errnos $(sed -n "s/^# errno //p" "$work/run.out" | tr ' ' '=' | tr '\n' ' ')"
	if [ "$rc" = 0 ]; then
		pass "$label: mode $mode, seed $seed: no signal, every wait ended as promised"
	else
		fail "$label: mode $mode, seed $seed (exit $rc$([ "$rc" = 137 ] && echo ', killed after 150 s')); the writes (all in $log with MULTI_KEEP=1):"
		[ -f "$log" ] && { head -3 "$log"; echo ...; tail -4 "$log"; } | sed 's/^/  log: /'
	fi
	after_run "$label"
}

# 0. the references
mkdir "$work/ref"
head -c 65536 /dev/urandom >"$work/ref/f"
head -c 65536 /dev/urandom >"$work/ref/g"
rc=0
$T 60 "$LSC" run "$work/ref" - - none 0 1000 0 - 0 >"$work/ref.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then pass "tmpfs (the kernel): every wait ended with its lock at the holder's release"
else fail "the expectations do not hold on tmpfs (exit $rc): a test bug"; sed 's/^/  /' "$work/ref.out"; fi
fresh_pool
rc=0
$T 60 "$LSC" run /umfs "$SHIM_LIB" "$pool" none 0 1000 0 - 0 >"$work/run.out" 2>&1 || rc=$?
sed 's/^/  /' "$work/run.out"
if [ "$rc" = 0 ]; then pass "library, nothing written: every wait ended with its lock at the release, as on tmpfs"
else fail "library, nothing written: the waits do not end as on tmpfs (exit $rc)"; fi
after_run "no writer"

# 1. a writer of the same user: mode, seed, the holder's and the writer's
# milliseconds. The writer starts as the holder's time starts: where it
# writes longer, the holder lets go while it writes; where shorter, the
# waits end after it stopped, and a lock got must be seen by others.
if [ "$FULL" = 1 ]; then
	runs=()
	modes=(random flip ff copy hot whole)
	for seed in $(seq 1 30); do
		runs+=("${modes[$((seed % 6))]} $seed $((seed % 2 ? 2000 : 3000)) $((seed % 2 ? 3000 : 2000))")
	done
else
	runs=("random 1 2000 3000" "flip 2 3000 2000" "ff 3 2000 3000" "copy 4 3000 2000"
		"hot 5 2000 3000" "hot 6 3000 2000" "whole 7 2000 3000")
fi
for r in "${runs[@]}"; do
	# shellcheck disable=SC2086 # a run's words
	set -- $r
	run "seed$2" "$@"
done

# 2. another user
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	fresh_pool
	chmod 0600 "$pool"
	mkfifo "$work/go"
	LD_PRELOAD=$SHIM_LIB bash -c 'exec 3</umfs/f; read -r _ <"$1"' holder "$work/go" &
	bg_pids+=($!)
	region=
	for _ in $(seq 100); do
		region=$(lock_region | head -1)/lock
		[ -f "$region" ] || region=
		[ -n "$region" ] && break
		sleep 0.05
	done
	rc=0
	out=$($T 10 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		sh -c 'exec 3<>"$1"' sh "$region" 2>&1) || rc=$?
	if [ -n "$region" ] && [ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'Permission denied'; then
		pass "an outsider (uid 65534) cannot open the region of a private pool: $(stat -c '%a %U' "$(dirname "$region")")"
	else
		fail "an outsider (uid 65534) and the region of a private pool (\"$region\"): exit $rc, $out"
	fi
	$T 10 sh -c 'echo x >"$1"' sh "$work/go" || true
	wait_bg
	if [ "$FULL" = 1 ]; then
		cross=("hot 101 3000 2000" "whole 102 2000 3000" "random 103 2000 3000" "copy 104 3000 2000")
	else
		cross=("hot 101 3000 2000" "whole 102 2000 3000")
	fi
	for r in "${cross[@]}"; do
		# shellcheck disable=SC2086 # a run's words
		set -- $r
		run "user65534-seed$2" "$@" 65534
	done
else
	echo "SKIP another user: needs root and setpriv"
fi

echo "# errnos the waits ended with:${seen_errnos:- none}" | tr -s ' '
finish
