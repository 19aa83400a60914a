#!/bin/bash
# SPDX-License-Identifier: MIT
# corruption.sh - damaged pools served through the shim and through umfs-fuse.
#
#   corruption.sh BUILD_ROOT [--trials N] [--seed S] [--keep]
#
# A pool is populated (sec_tool populate: directories four levels deep,
# setuid, setgid and sticky modes, five owners, symlinks, a FIFO, a socket,
# device nodes, hard links, a 6 MiB file, a hashed directory of 300
# entries) and listed whole (sec_walk: type, mode, uid, gid, size of every
# path) through the LD_PRELOAD library and through a umfs-fuse mount: the
# sound listings. Then each trial damages a copy (sec_tool corrupt, seeded
# from S and the trial number: rerun one with --seed S --trials N) and
# lists it again through both, each under a timeout. sec_tool judge sorts
# each listing into refused (the damage answered EUCLEAN or EIO, or the
# mount was refused), correct, incomplete (sound paths missing without an
# error), redirected (an entry names another sound inode of its type, shown
# as it is, which the entries' check byte should have refused), or wrong (a
# path shown with a type, mode or owner the sound pool does not give it, or
# a name it does not have; a size that differs while fsck.umfs calls it
# wrong). A signal death of the lister or the daemon is a crash, a timeout
# a hang. Any wrong or redirected listing, crash or hang fails the test;
# the totals are printed either way.
#
# TRIALS and SEED in the environment are the defaults of --trials and
# --seed (200, and the time). Runs as root (owners, FUSE); without FUSE
# only the shim is tried.
set -u

BUILD=${1:?usage: $0 BUILD_ROOT [--trials N] [--seed S] [--keep]}
shift
TRIALS=${TRIALS:-200}
SEED=${SEED:-$(date +%s)}
KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--trials) TRIALS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 BUILD_ROOT [--trials N] [--seed S] [--keep]"; exit 2 ;;
	esac
done

TOOL=$BUILD/tests/security/sec_tool
WALK=$BUILD/tests/security/sec_walk
MKFS=$BUILD/mkfs/mkfs.umfs
FSCK=$BUILD/fsck/fsck.umfs
RUN=$BUILD/tools/umfs-run
FUSE=$BUILD/fuse/umfs-fuse
LIB=$BUILD/libumfs/libumfs.so
PREFIX=/umfs-sec
LIMIT=30 # seconds for one listing
export PMEM_IS_PMEM_FORCE=1

TAG=sec
. "$(dirname "$0")/pooltrial.sh"

# status_kind RC: how a listing ended (timeout's 124, or its KILL: 137).
status_kind() {
	case $1 in
	0) echo ok ;;
	124|137) echo hang ;;
	*) if [ "$1" -gt 128 ]; then echo crash; else echo "exit $1"; fi ;;
	esac
}

# shim_list POOL OUT: sets RESULT to ok, refused (the pool was not
# mounted), crash or hang.
shim_list() {
	local rc
	UMFS_LIB=$LIB timeout -k 5 $LIMIT "$RUN" --pool "$1" --mount "$PREFIX" -- \
		"$WALK" "$PREFIX" >"$2" 2>"$2.log"
	rc=$?
	RESULT=$(status_kind $rc)
	case $RESULT in
	"exit 1"|"exit 2") RESULT=refused ;; # umfs-run: the pool cannot be mounted
	esac
	regions_remove "$1"
}

# fuse_list POOL OUT: the same through a umfs-fuse mount.
fuse_list() {
	local pool=$1 out=$2
	if ! fuse_up "$pool" "$out.log"; then
		RESULT="hang (mount)"
		if [ "$DOWN" != hang ]; then
			RESULT=$(status_kind $DOWN)
			[ "$RESULT" = "exit 2" ] && RESULT=refused # the pool cannot be mounted
		fi
		return
	fi
	timeout -k 5 $LIMIT "$WALK" "$MNT" >"$out" 2>"$out.walk"
	RESULT=$(status_kind $?)
	[ "$RESULT" = hang ] && RESULT="hang (listing)"
	[ "$RESULT" = "exit 2" ] && RESULT=lister-failed
	fuse_down "$pool" $LIMIT
	if [ "$DOWN" = hang ]; then
		[ "$RESULT" = ok ] && RESULT="hang (unmount)"
	else
		# 4: the pool did not unmount cleanly (damage met at unmount)
		[ "$DOWN" -gt 128 ] && RESULT=crash
	fi
}

echo "# seed $SEED, $TRIALS trials (rerun: TRIALS=$TRIALS SEED=$SEED $0 $BUILD)"
SOUND=$TMP/sound.pool
"$MKFS" -q -s 32M "$SOUND" || { echo "FAIL: mkfs.umfs"; exit 1; }
"$TOOL" populate "$SOUND" || { echo "FAIL: populate"; exit 1; }
"$FSCK" -n -f "$SOUND" >"$TMP/fsck.sound" 2>&1 ||
	{ cat "$TMP/fsck.sound"; echo "FAIL: the sound pool is not clean"; exit 1; }
cp "$SOUND" "$TMP/ref.pool"
shim_list "$TMP/ref.pool" "$TMP/sound.shim"
[ "$RESULT" = ok ] || { cat "$TMP/sound.shim.log"; echo "FAIL: sound listing (shim): $RESULT"; exit 1; }
echo "# sound pool: $(wc -l <"$TMP/sound.shim") paths"
if [ -n "$have_fuse" ]; then
	cp "$SOUND" "$TMP/ref.pool"
	fuse_list "$TMP/ref.pool" "$TMP/sound.fuse"
	[ "$RESULT" = ok ] || { cat "$TMP/sound.fuse.log"; echo "FAIL: sound listing (FUSE): $RESULT"; exit 1; }
	# the two front ends agree on the sound pool
	"$TOOL" judge "$TMP/sound.shim" "$TMP/sound.fuse" /dev/null >"$TMP/agree"
	grep -q '^verdict: correct ' "$TMP/agree" ||
		{ cat "$TMP/agree"; echo "FAIL: the sound listings differ between shim and FUSE"; exit 1; }
fi

declare -A count
fails=0
for fe in shim fuse; do
	for k in refused correct incomplete redirected wrong crash hang; do count[$fe.$k]=0; done
	count[$fe.mount]=0
	count[$fe.sizes]=0
done

# judge_trial FE RESULT OUT: counts the trial, returns 1 when it fails.
judge_trial() {
	local fe=$1 result=$2 out=$3 verdict
	case $result in
	refused) count[$fe.refused]=$((count[$fe.refused] + 1)); count[$fe.mount]=$((count[$fe.mount] + 1)); VERDICT="refused (mount)"; return 0 ;;
	crash|hang*) count[$fe.${result%% *}]=$((count[$fe.${result%% *}] + 1)); VERDICT=$result; return 1 ;;
	ok) ;;
	*) count[$fe.crash]=$((count[$fe.crash] + 1)); VERDICT="failed: $result"; return 1 ;;
	esac
	"$TOOL" judge "$TMP/sound.$fe" "$out" "$TMP/fsck.trial" >"$out.judge"
	verdict=$(sed -n 's/^verdict: \([a-z]*\).*/\1/p' "$out.judge")
	grep -q '^size: ' "$out.judge" && count[$fe.sizes]=$((count[$fe.sizes] + 1))
	count[$fe.$verdict]=$((count[$fe.$verdict] + 1))
	VERDICT=$verdict
	[ "$verdict" != wrong ] && [ "$verdict" != redirected ]
}

for t in $(seq 1 "$TRIALS"); do
	tseed=$((SEED * 1000 + t))
	cp "$SOUND" "$TMP/damaged.pool"
	"$TOOL" corrupt "$TMP/damaged.pool" $tseed >"$TMP/what" || { echo "FAIL: corrupt"; exit 1; }
	"$FSCK" -n -f "$TMP/damaged.pool" >"$TMP/fsck.trial" 2>&1
	line="trial $t:"
	bad=
	cp "$TMP/damaged.pool" "$TMP/trial.pool"
	shim_list "$TMP/trial.pool" "$TMP/trial.shim"
	judge_trial shim "$RESULT" "$TMP/trial.shim" || bad=1
	line="$line shim $VERDICT"
	if [ -n "$have_fuse" ]; then
		cp "$TMP/damaged.pool" "$TMP/trial.pool"
		fuse_list "$TMP/trial.pool" "$TMP/trial.fuse"
		judge_trial fuse "$RESULT" "$TMP/trial.fuse" || bad=1
		line="$line, fuse $VERDICT"
	fi
	echo "$line; $(paste -sd';' "$TMP/what")"
	# what was lost from view or redirected: a few lines of the judge's
	for f in "$TMP"/trial.shim.judge "$TMP"/trial.fuse.judge; do
		[ -f "$f" ] && grep -E '^(missing|redirected): ' "$f" | head -3 |
			sed "s|^|#   $(basename "$f" .judge): |"
	done
	if [ -n "$bad" ]; then
		fails=$((fails + 1))
		echo "# trial $t failed (seed $tseed): what the judge, the front ends and fsck said:"
		for f in "$TMP"/trial.shim.judge "$TMP"/trial.fuse.judge "$TMP"/trial.shim.log \
			 "$TMP"/trial.fuse.log "$TMP/fsck.trial"; do
			[ -s "$f" ] && sed "s|^|#   $(basename "$f"): |" "$f" | grep -v ': note: ' | head -20
		done
		[ -n "$KEEP" ] && cp "$TMP/damaged.pool" "$TMP/failed-$t.pool"
	fi
	rm -f "$TMP"/trial.shim* "$TMP"/trial.fuse*
done

echo
echo "corruption test: seed $SEED, $TRIALS trials of the metadata zone"
printf '%-10s %8s %8s %8s %11s %11s %6s %8s %6s\n' "" refused "(mount)" correct "(incompl.)" \
	redirected wrong crashes hangs
for fe in shim fuse; do
	[ $fe = fuse ] && [ -z "$have_fuse" ] && continue
	printf '%-10s %8d %8d %8d %11d %11d %6d %8d %6d\n' $fe ${count[$fe.refused]} \
		${count[$fe.mount]} $((count[$fe.correct] + count[$fe.incomplete])) \
		${count[$fe.incomplete]} ${count[$fe.redirected]} ${count[$fe.wrong]} \
		${count[$fe.crash]} ${count[$fe.hang]}
done
echo "(correct includes incomplete: sound paths missing without an error; redirected:"
echo " an entry naming another inode of its type under its check byte;"
echo " sizes that differ where fsck.umfs finds nothing wrong: shim ${count[shim.sizes]},"
echo " fuse ${count[fuse.sizes]} trials)"
[ $fails = 0 ] || { echo "FAIL: $fails trials served wrong or redirected, crashed or hung"; exit 1; }
echo "PASS"
