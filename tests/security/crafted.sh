#!/bin/bash
# SPDX-License-Identifier: MIT
# crafted.sh - the pool as input: crafted pools read and written through
# the C API, the LD_PRELOAD library and umfs-fuse.
#
#   crafted.sh BUILD_ROOT [--trials N] [--seed S] [--fe LIST] [--kind K]
#                         [--jobs N] [--one TSEED FE] [--trace] [--keep]
#
# A pool is populated (sec_craft populate: craft_pool.h's files of one
# page, a few pages, 4 MiB with 2 MiB leaves, a sparse file of height 3, a
# hashed directory of 300 files, a file left open for writing with its
# U-Log page). Each trial copies it, makes one change with the checksums
# that cover it resealed (sec_craft craft, from the trial's seed TSEED =
# S * 100000 + trial; its kind is TSEED % 10: pte, pte-form, root, inode,
# dir, orphan, ulog, journal, super, bitmap; craft_targets.c lists the
# places and forms), runs fsck.umfs -n -f on it, then the workload
# (sec_victim: reads, in-place and copy-on-write overwrites, appends, hole
# writes, truncates, fallocate, create, rename, unlink, readdir, every
# answer checked against a model) in a fresh process under a timeout,
# through one front end: api (sec_victim_api on the C API), shim
# (sec_victim under umfs-run), fuse (sec_victim on a umfs-fuse mount).
#
# Outcomes: refused (EUCLEAN or EIO, or the pool was not mounted), correct
# (every answer as the model), wrong (other bytes, sizes, listings or
# errors), crashed (the program or the daemon died of a signal), hung
# (the timeout). The workload's canaries (a private buffer and a shared
# mapping right after the pool's mapping, filled with the trial's random
# marker) must be unchanged, and the pool must not hold the marker after
# the run (process memory copied into the pool).
#
# A trial fails on: a crash, a hang, a canary changed, the marker in the
# pool, a structural page-table change (an entry or tree root outside the
# data zone, misaligned, of the wrong form for its level, a height past 3)
# that fsck.umfs -n -f does not report, and "wrong" where the change is
# strict: it breaks a rule a reader can check in O(1) (those page-table
# changes, a U-Log page or record, a journal record or a directory index
# value past its bound, a size past 512 GiB, a page-bitmap word changed
# under a checksum left as it was, or any bitmap change on a pool without
# bitmap checksums), or it is a sound state that must be served as sound
# (the no-op U-Log and journal records, superblocks the mount accepts).
# "wrong" after a lenient change (an entry or pointer aimed at another
# valid page of the data zone, a size, an entry naming another inode under
# a resealed check byte, the orphan list naming live files, bitmap words
# changed with their checksum resealed) is counted and shown, not failed:
# no O(1) check can tell it from a pool that says so.
#
# TRIALS (default 1000) and SEED (default: the time) in the environment are
# the defaults of --trials and --seed; the trials go 80% to api, 12% to
# shim, 8% to fuse (--fe api,shim to choose), spread over one worker per
# core (at most 4; --jobs N to choose), each with its own copy of the
# sound pool. --one TSEED FE replays one
# trial; --trace runs a crashed api or shim trial again under gdb and
# prints where it died; --keep keeps the failing pools. Runs as root
# (FUSE); without FUSE the fuse trials are skipped.
set -u

BUILD=${1:?usage: $0 BUILD_ROOT [--trials N] [--seed S] [--fe LIST] [--kind K] [--jobs N] [--one TSEED FE]}
shift
TRIALS=${TRIALS:-1000}
SEED=${SEED:-$(date +%s)}
JOBS=$(nproc); [ "$JOBS" -gt 4 ] && JOBS=4
FES=api,shim,fuse
KIND=
ONE=
TRACE=
KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--trials) TRIALS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--fe) FES=$2; shift 2 ;;
	--kind) KIND=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--one) ONE="$2 $3"; shift 3 ;;
	--trace) TRACE=1; shift ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 BUILD_ROOT [--trials N] [--seed S] [--fe LIST] [--kind K] [--jobs N] [--one TSEED FE] [--trace] [--keep]"; exit 2 ;;
	esac
done

S=$BUILD/tests/security
CRAFT=$S/sec_craft
VAPI=$S/sec_victim_api
VPOSIX=$S/sec_victim
MKFS=$BUILD/mkfs/mkfs.umfs
FSCK=$BUILD/fsck/fsck.umfs
RUN=$BUILD/tools/umfs-run
FUSE=$BUILD/fuse/umfs-fuse
LIB=$BUILD/libumfs/libumfs.so
PREFIX=/umfs-crafted
LIMIT=${LIMIT:-15} # seconds for one workload
KINDS="pte pte-form root inode dir orphan ulog journal super bitmap"
export PMEM_IS_PMEM_FORCE=1 LC_ALL=C
unset UMFS_POOL UMFS_MOUNT UMFS_LOG UMFS_CONSISTENCY LD_PRELOAD

TAG=crafted
. "$(dirname "$0")/pooltrial.sh"

# outcome_of RC OUT: what a workload's end and output say: RESULT, and
# CANARY (the canary line when it says CHANGED).
outcome_of() {
	local rc=$1 out=$2 line res=
	CANARY=
	while IFS= read -r line; do
		case $line in
		"result "*) res=$line ;;
		"canary CHANGED"*) CANARY=$line ;;
		esac
	done <"$out"
	case $rc in
	124|137) RESULT=hung; return ;;
	esac
	if [ "$rc" -gt 128 ]; then RESULT=crashed; return; fi
	if [ -z "$res" ]; then
		RESULT=refused # the pool was not mounted (exit 3; umfs-run: 1)
		[ "$rc" = 3 ] || [ "$rc" = 1 ] || RESULT="failed (exit $rc)"
		return
	fi
	case $res in
	*" wrong=0") case $res in *" refused=0 "*) RESULT=correct ;; *) RESULT=refused ;; esac ;;
	*) RESULT=wrong ;;
	esac
}

run_api() { # POOL OUT
	timeout -k 2 "$LIMIT" "$VAPI" "$1" "$MARKER" >"$2" 2>"$2.err"
	outcome_of $? "$2"
}

run_shim() {
	UMFS_LIB=$LIB timeout -k 2 "$LIMIT" "$RUN" --pool "$1" --mount "$PREFIX" -- \
		"$VPOSIX" "$PREFIX" "$MARKER" "$1" >"$2" 2>"$2.err"
	outcome_of $? "$2"
	regions_remove "$1"
}

run_fuse() {
	local pool=$1 out=$2
	CANARY=
	if ! fuse_up "$pool" "$out.err"; then
		RESULT=refused
		case $DOWN in
		hang) RESULT=hung ;;
		*) [ "$DOWN" -gt 128 ] && RESULT=crashed ;;
		esac
		return
	fi
	timeout -k 2 "$LIMIT" "$VPOSIX" "$MNT" "$MARKER" - >"$out" 2>>"$out.err"
	outcome_of $? "$out"
	fuse_down "$pool" "$LIMIT"
	case $DOWN in
	hang) RESULT=hung ;;
	*) [ "$DOWN" -gt 128 ] && RESULT=crashed ;; # the daemon died of a signal
	esac
}

# Where a crashed api or shim trial dies: its stack under gdb, and its
# site (the first frame of UMFS's own code past the copy and checksum
# helpers that met the bad address), kept in $TMP/sites for the summary.
trace_crash() { # FE POOL TSEED
	local fe=$1 pool=$2 bt site
	command -v gdb >/dev/null || return
	if [ "$fe" = api ]; then
		bt=$(timeout 60 gdb -q -batch -ex run -ex bt --args "$VAPI" "$pool" "$MARKER" 2>&1)
	else
		bt=$(UMFS_LIB=$LIB timeout 60 gdb -q -batch -ex 'set follow-exec-mode same' \
			-ex run -ex bt --args "$RUN" --pool "$pool" --mount "$PREFIX" -- \
			"$VPOSIX" "$PREFIX" "$MARKER" "$pool" 2>&1)
	fi
	regions_remove "$pool"
	bt=$(grep -E '^#[0-9]' <<<"$bt")
	sed -n '1,6s/^/#     /p' <<<"$bt"
	site=$(sed -n 's/^#[0-9]* *\(0x[0-9a-f]* in \)\{0,1\}\([A-Za-z_0-9]*\) (.* at \.\.\/\([a-z/_]*\.c\):[0-9]*$/\3:\2/p' <<<"$bt" |
		grep -vE ':(crc32c_hw_lane|crc32c_hw|umfs_crc32c|umfs_memcpy_nodrain|umfs_memset_nodrain|umfs_flush|umfs_persist)$' | head -1)
	printf '%s\t%s %s\n' "${site:-unknown}" "$fe" "$3" >>"$TMP/sites"
}

fe_on() { case ",$FES," in *",$1,"*) [ "$1" != fuse ] || [ -n "$have_fuse" ] ;; *) false ;; esac; }

# sound_make: the populated pool in TMP that each trial copies, checked by
# fsck and served correctly through each front end. Each worker makes its
# own: copies of one pool share its UUID, and so its runtime directory.
sound_make() {
	local fe
	SOUND=$TMP/sound.pool
	"$MKFS" -q -s 16M "$SOUND" || { echo "FAIL: mkfs.umfs"; exit 1; }
	"$CRAFT" populate "$SOUND" || { echo "FAIL: populate"; exit 1; }
	# with holes where it is zero: each trial copies it
	cp --sparse=always "$SOUND" "$TMP/sparse.pool" && mv "$TMP/sparse.pool" "$SOUND"
	"$FSCK" -n -f "$SOUND" >"$TMP/fsck.sound" 2>&1 ||
		{ cat "$TMP/fsck.sound"; echo "FAIL: fsck.umfs finds damage in the sound pool"; exit 1; }
	for fe in api shim fuse; do
		fe_on $fe || continue
		MARKER=SND0$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
		cp "$SOUND" "$TMP/trial.pool"
		run_$fe "$TMP/trial.pool" "$TMP/out"
		if [ "$RESULT" != correct ] || ! grep -q '^canary unchanged' "$TMP/out"; then
			cat "$TMP/out" "$TMP/out.err" | head -30
			echo "FAIL: the workload on the sound pool through $fe: $RESULT"
			exit 1
		fi
	done
}

declare -A count
fails=0
canary_hits=0
memory_hits=0
fsck_miss=0
fsck_found=0
fsck_must=0
declare -A causes

# trial TSEED FE N: one trial; counts it, and says why when it fails.
trial() {
	local tseed=$1 fe=$2 t=$3 kind strict must what found why=
	MARKER=CNRY$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
	cp "$SOUND" "$TMP/trial.pool"
	IFS=$'\t' read -r kind strict must what < <("$CRAFT" craft "$TMP/trial.pool" "$tseed" $KIND)
	[ -n "$kind" ] || { echo "FAIL: sec_craft craft $tseed"; exit 1; }
	"$FSCK" -n -f "$TMP/trial.pool" >"$TMP/fsck.out" 2>&1
	found=$(( $? != 0 ))
	fsck_found=$((fsck_found + found))
	run_$fe "$TMP/trial.pool" "$TMP/out"
	count[$kind.$fe.$RESULT]=$(( ${count[$kind.$fe.$RESULT]:-0} + 1 ))
	count[$kind.$fe]=$(( ${count[$kind.$fe]:-0} + 1 ))
	case $RESULT in
	crashed|hung|failed*) why="$RESULT" ;;
	wrong) [ "$strict" = 1 ] && why="served wrong" ;;
	esac
	if [ -n "$CANARY" ]; then
		canary_hits=$((canary_hits + 1)); why="${why:+$why, }$CANARY"
	fi
	if ! "$CRAFT" scan "$TMP/trial.pool" "$MARKER" >/dev/null; then
		memory_hits=$((memory_hits + 1)); why="${why:+$why, }process memory in the pool"
	fi
	if [ "$must" = 1 ]; then
		fsck_must=$((fsck_must + 1))
		[ $found = 1 ] || { fsck_miss=$((fsck_miss + 1)); why="${why:+$why, }fsck -n -f misses it"; }
	fi
	if [ "$RESULT" = wrong ] && [ -z "$why" ]; then
		count[lenient.wrong]=$(( ${count[lenient.wrong]:-0} + 1 ))
		echo "# trial $t ($fe, seed $tseed): served wrong (lenient): $what"
		grep -m2 '^wrong ' "$TMP/out" | sed 's/^/#   /'
	fi
	[ -z "$why" ] && return 0
	fails=$((fails + 1))
	causes[$why]=$(( ${causes[$why]:-0} + 1 ))
	echo "# trial $t FAILED ($fe, seed $tseed, replay: $0 $BUILD --one $tseed $fe): $why"
	echo "#   $kind (strict $strict, fsck must $must, fsck found $found): $what"
	{ grep -E '^(wrong|mount)' "$TMP/out" | head -3; grep -E '^refused' "$TMP/out" | head -2; } |
		sed 's/^/#   /'
	grep -v '^$' "$TMP/out.err" 2>/dev/null | head -3 | sed 's/^/#   err: /'
	[ "$must" = 1 ] && [ $found = 0 ] && head -3 "$TMP/fsck.out" | sed 's/^/#   fsck: /'
	# the crafted pool again: crafting is a function of the seed
	if [ -n "$TRACE" ] && [ "$RESULT" = crashed ] && [ "$fe" != fuse ]; then
		cp "$SOUND" "$TMP/trace.pool"
		"$CRAFT" craft "$TMP/trace.pool" "$tseed" $KIND >/dev/null
		trace_crash "$fe" "$TMP/trace.pool" "$tseed"
	fi
	if [ -n "$KEEP" ]; then
		cp "$SOUND" "$TMP/failed-$tseed-$fe.pool"
		"$CRAFT" craft "$TMP/failed-$tseed-$fe.pool" "$tseed" $KIND >/dev/null
	fi
	return 0
}

if [ -n "$ONE" ]; then
	set -- $ONE
	echo "# one trial: seed $1 through $2"
	sound_make
	trial "$1" "$2" 1
	cat "$TMP/out"
	[ $fails = 0 ] && { echo PASS; exit 0; }
	echo FAIL; exit 1
fi

n_api=$((TRIALS * 80 / 100)); n_shim=$((TRIALS * 12 / 100)); n_fuse=$((TRIALS - n_api - n_shim))
echo "# seed $SEED, $TRIALS trials: api $n_api, shim $n_shim, fuse $n_fuse, $JOBS workers (rerun: TRIALS=$TRIALS SEED=$SEED $0 $BUILD)"
start=$SECONDS

# worker W: the trials t with (t - 1) % JOBS == W, in its own TMP/wW with
# its own sound pool and mount point; its counts go to TMP/state.W.
worker() {
	local w=$1 top=$TMP fe n i t=0
	TMP=$top/w$w MNT=$top/w$w/mnt DAEMON=
	mkdir -p "$MNT"
	trap pooltrial_cleanup EXIT
	sound_make
	for fe in api shim fuse; do
		eval n=\$n_$fe
		for i in $(seq 1 $n); do
			t=$((t + 1))
			[ $(((t - 1) % JOBS)) = "$w" ] && fe_on $fe || continue
			trial $((SEED * 100000 + t)) $fe $t
		done
	done
	[ -s "$TMP/sites" ] && cp "$TMP/sites" "$top/sites.$w"
	{ declare -p count causes; for v in $SUMS; do echo "$v=${!v}"; done; } >"$top/state.$w"
}

SUMS="fails canary_hits memory_hits fsck_miss fsck_found fsck_must"
for w in $(seq 0 $((JOBS - 1))); do worker "$w" & done
wait
declare -A all_count=() all_causes=() all_sums=()
for w in $(seq 0 $((JOBS - 1))); do
	[ -s "$TMP/state.$w" ] || { echo "FAIL: worker $w ended before its last trial"; exit 1; }
	. "$TMP/state.$w"
	for k in "${!count[@]}"; do all_count[$k]=$(( ${all_count[$k]:-0} + ${count[$k]} )); done
	for k in "${!causes[@]}"; do all_causes[$k]=$(( ${all_causes[$k]:-0} + ${causes[$k]} )); done
	for v in $SUMS; do all_sums[$v]=$(( ${all_sums[$v]:-0} + ${!v} )); done
	[ -s "$TMP/sites.$w" ] && cat "$TMP/sites.$w" >>"$TMP/sites"
done
count=() causes=()
for k in "${!all_count[@]}"; do count[$k]=${all_count[$k]}; done
for k in "${!all_causes[@]}"; do causes[$k]=${all_causes[$k]}; done
for v in $SUMS; do printf -v "$v" %d "${all_sums[$v]}"; done

echo
echo "crafted-pool test: seed $SEED, $TRIALS trials, $((SECONDS - start)) s"
printf '%-9s %-5s %7s %8s %8s %6s %8s %5s\n' kind fe trials refused correct wrong crashed hung
for kind in $KINDS; do
	for fe in api shim fuse; do
		[ -n "${count[$kind.$fe]:-}" ] || continue
		printf '%-9s %-5s %7d %8d %8d %6d %8d %5d\n' $kind $fe ${count[$kind.$fe]} \
			${count[$kind.$fe.refused]:-0} ${count[$kind.$fe.correct]:-0} \
			${count[$kind.$fe.wrong]:-0} ${count[$kind.$fe.crashed]:-0} ${count[$kind.$fe.hung]:-0}
	done
done
echo "canary hits: $canary_hits; process memory found in the pool: $memory_hits"
echo "fsck -n -f: found $fsck_found of the crafted pools; missed $fsck_miss of $fsck_must structural page-table changes"
echo "served wrong after lenient changes (counted, not failed): ${count[lenient.wrong]:-0}"
if [ -s "$TMP/sites" ]; then
	echo "crashes by site (gdb), with their seeds:"
	sort "$TMP/sites" | awk -F'\t' '$1 != last { if (last != "") print "  " n "  " last ":" seeds; last = $1; n = 0; seeds = "" }
		{ n++; seeds = seeds " " $2 } END { if (last != "") print "  " n "  " last ":" seeds }' | sort -rn
fi
if [ $fails != 0 ]; then
	echo "failing trials by cause:"
	for c in "${!causes[@]}"; do echo "  ${causes[$c]}  $c"; done | sort -rn
	echo "FAIL: $fails trials failed"
	exit 1
fi
echo PASS
