#!/usr/bin/env bash
# maptake.sh - a mapping that takes over the host file of a last unmap cut
# short, crashed at every point: a mapper stores a round's mark on every
# page of a 3 MiB file and is killed (SIGKILL, by strace) at one of its
# pwrite calls, in its copy of the file or amid its write-back; a second
# mapper maps the file, must find the marks whole (the old round's or the
# new's, never a mix) and stores its own on every 7th page. First the
# mapper is cut at each of its pwrites and the second runs whole; then the
# mapper is cut amid its write-back and the second killed at each of its
# system calls in turn. Each time the next lone process must find every
# mark in the file, the second mapper's too when it got to store them, and
# no host file may be left behind. The pool must check clean.
#
# The second mapper is killed at every MAPTAKE_STRIDE-th of its calls (2,
# for CI's time), from call MAPTAKE_PHASE + 1 (drawn at random each run
# and printed, so that the runs cover every call between them; 1 and 0
# for all of them).
. "$(dirname "$0")/lib.sh"

: "${SHIM_MAPTAKE:=$BUILDDIR/tests/shim/shim_maptake}"
MIB=3
PAGES7=$(((MIB * 256 + 6) / 7))

if ! strace -qq -o /dev/null true; then
	echo "FAIL strace does not run here"
	exit 1
fi

# cut_at SYSCALL N CMD...: runs CMD under the library, killed at the N-th
# call of SYSCALL; its exit status (137 when killed)
cut_at() {
	local sc=$1 n=$2 rc=0
	shift 2
	strace -qq -o /dev/null -e "inject=$sc:signal=KILL:when=$n" \
		-E LD_PRELOAD="$SHIM_LIB" "$@" >"$work/out" 2>/dev/null || rc=$?
	echo "$rc"
}
# trace_run OUT CMD...: runs CMD under the library, its calls traced into OUT
trace_run() {
	local out=$1
	shift
	strace -qq -o "$out" -E LD_PRELOAD="$SHIM_LIB" "$@"
}
helper() { ls "$(pool_rundir)/shim" | grep -E '^mapb?-' | tr '\n' ' ' || true; }

# the pwrites of the mapper, over a file that holds marks already
shim "$SHIM_MAPTAKE" store /umfs/dry $MIB 1
trace_run "$work/a.trace" "$SHIM_MAPTAKE" store /umfs/dry $MIB 2
writes=$(grep -c '^pwrite64' "$work/a.trace")
shim rm /umfs/dry

# A process that holds the pool meanwhile, as another user of it would:
# without one, the second mapper would mount the pool alone and write the
# stores back itself, taking nothing over. It goes before the check, whose
# process then mounts alone and recovers what the killed ones left.
holder_start() {
	rm -f "$work/up"
	LD_PRELOAD=$SHIM_LIB bash -c 'exec 3>>/umfs/keep && echo up >"$1" && exec sleep 600' \
		sh "$work/up" >/dev/null 2>&1 &
	holder=$!
	while [ ! -s "$work/up" ]; do sleep 0.01; done
}
holder_stop() {
	kill "$holder"
	wait "$holder" 2>/dev/null || true
}

# round K: the mapper stores round 2 over round 1, cut at its K-th pwrite;
# the second mapper (cut at its N-th call of SYSCALL, or whole: none)
# stores round 3. Says what went wrong, or nothing.
take_round() {
	local k=$1 sc=$2 n=$3 f=/umfs/t rc got want=0
	shim "$SHIM_MAPTAKE" store $f $MIB 1
	holder_start
	rc=$(cut_at pwrite64 "$k" "$SHIM_MAPTAKE" store $f $MIB 2)
	[ "$rc" = 137 ] || { holder_stop; echo "the mapper was not cut at pwrite $k: exit $rc"; return; }
	if [ "$sc" = none ]; then
		shim "$SHIM_MAPTAKE" join $f $MIB 1 2 3 >"$work/out" 2>"$work/err" || rc=$?
	else
		rc=$(cut_at "$sc" "$n" "$SHIM_MAPTAKE" join $f $MIB 1 2 3)
	fi
	joined=$(cat "$work/out")
	holder_stop
	case $rc in
	0) want=$PAGES7 ;;
	137) ;;
	*) echo "the second mapper failed (exit $rc): $(cat "$work/err" 2>/dev/null)"; return ;;
	esac
	got=$(shim "$SHIM_MAPTAKE" check $f $MIB 1 2 3 2>&1) || { echo "the file after: $got"; return; }
	# every 7th page: the second mapper's when it ended well, any count else
	[ "$want" = 0 ] || [ "${got#* }" = "$want" ] ||
		{ echo "the second mapper's marks: ${got#* } of $want"; return; }
	[ -z "$joined" ] || [ "${got% *}" = "${joined% *}" ] ||
		{ echo "the file holds round ${got% *}, the mapping held ${joined% *}"; return; }
	[ -z "$(helper)" ] || { echo "host files left: $(helper)"; return; }
	shim rm $f
	echo "${got% *}" >>"$work/rounds"
}

: >"$work/rounds"
bad=
for k in $(seq 1 "$writes"); do
	why=$(take_round "$k" none 0)
	[ -z "$why" ] || bad="$bad; pwrite $k: $why"
done
cuts=$(grep -c . "$work/rounds" || true)
amid=$(grep -c '^2$' "$work/rounds" || true)
echo "  the mapper cut at each of its $writes pwrites: $amid amid its write-back"
check "each cut mapper's marks whole, taken over" "$writes" "$cuts${bad:+$bad}"
check "some cuts came amid the write-back" yes "$([ "$amid" -ge 3 ] && echo yes || echo "no: $amid")"

# the second mapper killed at each of its calls, the first cut halfway
# through the pwrites of its write-back
k=$((writes - amid / 2))
shim "$SHIM_MAPTAKE" store /umfs/t $MIB 1
holder_start
rc=$(cut_at pwrite64 "$k" "$SHIM_MAPTAKE" store /umfs/t $MIB 2)
trace_run "$work/b.trace" "$SHIM_MAPTAKE" join /umfs/t $MIB 1 2 3 >/dev/null
holder_stop
shim "$SHIM_MAPTAKE" check /umfs/t $MIB 1 2 3 >/dev/null
shim rm /umfs/t
: >"$work/rounds"
stride=${MAPTAKE_STRIDE:-2}
phase=${MAPTAKE_PHASE:-$((RANDOM % stride))}
calls=0 tried=0 bad=
declare -A seen=()
while read -r sc; do
	seen[$sc]=$((${seen[$sc]:-0} + 1))
	calls=$((calls + 1))
	[ $(((calls - 1) % stride)) = "$phase" ] || continue
	tried=$((tried + 1))
	why=$(take_round "$k" "$sc" "${seen[$sc]}")
	[ -z "$why" ] || bad="$bad; $sc ${seen[$sc]}: $why"
done < <(sed -n 's/^\([a-z0-9_]*\)(.*/\1/p' "$work/b.trace")
echo "  the second mapper killed at $tried of its $calls calls (MAPTAKE_STRIDE=$stride MAPTAKE_PHASE=$phase)"
check "every kill of the take-over kept the marks" "$tried" "$(grep -c '^2$' "$work/rounds" || true)${bad:+$bad}"
finish
