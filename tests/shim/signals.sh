#!/usr/bin/env bash
# signals.sh - signals at random moments into processes busy with file
# calls on UMFS, with handlers that write, rename, unlink and end the
# process with exit() or _exit() (shim_signals.c): no process may hang,
# every handler's line must be in its log, the pool must be clean after.
# The same program on tmpfs, without the library, checks the test itself.
# And signals at random moments into processes waiting for POSIX, OFD and
# flock locks that others take and drop (shim_lockstorm.c): no two
# holders at once, EINTR only where a handler without SA_RESTART ran.
# And a storm of real-time signals into a thread writing: none lost.
# And a handler that leaves by a jump with a signal recorded behind it.
. "$(dirname "$0")/lib.sh"

: "${SHIM_LOCKSTORM:=$BUILDDIR/tests/shim/shim_lockstorm}"
: "${SHIM_RTQUEUE:=$BUILDDIR/tests/shim/shim_rtqueue}"
: "${SHIM_JUMPS:=$BUILDDIR/tests/shim/shim_jumps}"

rounds=${SIGNALS_ROUNDS:-40}
mkdir "$work/ref"
out=$(timeout 300 "$SHIM_SIGNALS" "$work/ref" 5 2>&1) || true
check "tmpfs: 5 rounds without the library" "ok" "$(printf '%s\n' "$out" | tail -n 1)"

shim mkdir /umfs/sig
rc=0
out=$(timeout 600 env LD_PRELOAD="$SHIM_LIB" "$SHIM_SIGNALS" /umfs/sig "$rounds" 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ "$rc" -eq 124 ] && out="timed out (hang)"
check "$rounds rounds of signals into busy processes: no hang, every handler's work done" \
	"ok" "$(printf '%s\n' "$out" | tail -n 1)"

out=$(timeout 120 "$SHIM_LOCKSTORM" "$work/ref/storm" 3 2>&1) || true
check "tmpfs: signals into lock waits" "ok" "$(printf '%s\n' "$out" | tail -n 1)"
rc=0
out=$(timeout 120 env LD_PRELOAD="$SHIM_LIB" "$SHIM_LOCKSTORM" /umfs/sig/storm 3 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ "$rc" -eq 124 ] && out="timed out (hang)"
check "signals into lock waits: one holder at a time, EINTR only after a handler without SA_RESTART" \
	"ok" "$(printf '%s\n' "$out" | tail -n 1)"

# A storm of queued real-time signals into a thread busy with writes: each
# delivered, with its value, in order (shim_rtqueue.c).
out=$(timeout 120 "$SHIM_RTQUEUE" "$work/ref" 2>&1) || true
check "tmpfs: a storm of real-time signals" "ok" "$(printf '%s\n' "$out" | tail -n 1)"
rc=0
out=$(timeout 120 env LD_PRELOAD="$SHIM_LIB" "$SHIM_RTQUEUE" /umfs/sig 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ "$rc" -eq 124 ] && out="timed out (hang)"
check "20,000 real-time signals into a thread writing on UMFS: all delivered, in order" \
	"ok" "$(printf '%s\n' "$out" | tail -n 1)"

# A handler that leaves by each of the C library's jumps while another
# signal waits behind it: that one's handler runs before the thread waits
# in the kernel, and the mask after the jump is the kernel's
# (shim_jumps.c), as on tmpfs without the library.
want=$(timeout 120 "$SHIM_JUMPS" "$work/ref" 2>&1) || true
rc=0
got=$(timeout 120 env LD_PRELOAD="$SHIM_LIB" "$SHIM_JUMPS" /umfs/sig 2>&1) || rc=$?
[ "$rc" -eq 124 ] && got="timed out (hang)"
check "a handler left by a jump, a signal behind it: that one runs, the mask as the kernel's" \
	"$want" "$got"

# SIGSEGV and SIGBUS ignored from the start stay ignored, for the kernel
# and as the program asks, as without the library; taken by default, the
# program sees the default (the library's wrapper is its own).
dispositions='
import signal
ign = int(next(l for l in open("/proc/self/status") if l.startswith("SigIgn:")).split()[1], 16)
print([(bool(ign >> (s - 1) & 1), signal.getsignal(s) == signal.SIG_IGN,
        signal.getsignal(s) == signal.SIG_DFL) for s in (signal.SIGSEGV, signal.SIGBUS)])'
for how in "trap '' SEGV BUS" ":"; do
	want=$(bash -c "$how; exec python3 -c '$dispositions'" 2>&1)
	got=$(bash -c "$how; LD_PRELOAD=$SHIM_LIB exec python3 -c '$dispositions'" 2>&1)
	check "dispositions at start kept ($how)" "$want" "$got"
done
finish
