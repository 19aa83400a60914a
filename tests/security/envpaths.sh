#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# envpaths.sh - the host paths the library takes from the environment
# (UMFS_LOG_FILE, UMFS_STATS_FILE, UMFS_RDONLY_DIR) against a second,
# unprivileged user (uid 65534) who plants names in /dev/shm first:
#
# * a FIFO of its own at the log or statistics file's name, with nobody
#   reading (root's program must not hang: each run is bounded by
#   `timeout`), and with the planter reading (nothing of root's may reach
#   it); with fs.protected_fifos=0, so that the kernel itself does not
#   refuse root's open;
# * a symlink of its own early in UMFS_RDONLY_DIR, or as its last
#   component followed by a trailing slash, leading to a private directory
#   of root's that holds files named as the library's: a read-only
#   program's clean-up must not remove or touch any of them (a checksum
#   listing of the directory before and after); with
#   fs.protected_symlinks=0.
#
# Each refusal must name the variable, and root's program must go on.
# What must keep working: a log file, a root-owned symlink in a path (as
# /var/run -> /run), /dev/stderr, a read-only program's own directory
# passed on to its child. Every case runs twice: as the kernel is, and with
# openat2 answered by ENOSYS (no_openat2), so that the library's walk one
# component at a time is what resolves the paths. The sysctls are put back
# however the test ends.
#
# Standalone: BUILDDIR=build tests/security/envpaths.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

: "${NO_OPENAT2:=$BUILDDIR/tests/security/no_openat2}"
sec_private_shm umfs-sec-env 512m "$@"

BOUND=10 # seconds a root run may take (they take well under one)

old_fifos=$(sysctl -n fs.protected_fifos) || skip "no fs.protected_fifos"
old_links=$(sysctl -n fs.protected_symlinks) || skip "no fs.protected_symlinks"
bg=
cleanup() {
	[ -z "$bg" ] || kill "$bg" 2>/dev/null
	sysctl -qw fs.protected_fifos="$old_fifos" fs.protected_symlinks="$old_links"
	umount -l /dev/shm 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
sysctl -qw fs.protected_fifos=0 fs.protected_symlinks=0 || skip "cannot set the sysctls"

failures=0
passes=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
tail3() { echo "$1" | tail -3 | tr '\n' '|'; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

pool=/dev/shm/umfs-env.pool
"$MKFS" -q -s 64M "$pool" || { echo "FAIL: mkfs"; exit 1; }
chmod 0600 "$pool"
marker="ROOT-SECRET-$$-$RANDOM"
root=/dev/shm/env-root # root's: the victim directory, expected outputs
mkdir -m 0755 "$root"
hdir=/dev/shm/env-other # the other user's: what it read
mkdir -m 0700 "$hdir"
chown $HUID:$HUID "$hdir"

# root_run [VAR=VALUE]... -- [UMFS-RUN OPTION]...: a program on the pool
# that writes (unless --readonly) and reads a file named after the marker,
# in the shell and in two programs it starts; $rc and $err (its stderr).
root_run() {
	local vars=() work="echo x > /umfs/$marker; "

	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	[ "${1:-}" != --readonly ] || work=
	err=$(timeout $BOUND env "${vars[@]}" $wrap "$UMFS_RUN" --pool "$pool" "$@" -- \
		sh -c "${work}read x < /umfs/$marker; cat /umfs/$marker; ls /umfs" 2>&1 >/dev/null)
	rc=$?
}

# 1. A FIFO planted at the log or statistics file's name.
fifo_cases() {
	local var=$1 fifo=/dev/shm/umfs-env.out out=$hdir/read

	as_h mkfifo -m 0666 "$fifo"
	root_run "$var=$fifo" UMFS_LOG=debug UMFS_STATS=1 --
	[ $rc = 0 ] && echo "$err" | grep -q "$var=$fifo" &&
		pass "$var, a planted FIFO nobody reads$how: refused, named, no hang" ||
		fail "$var, a planted FIFO nobody reads$how: rc=$rc (124: hung) $(tail3 "$err")"

	# setpriv itself in the background: $! is the reader's pid
	setpriv --reuid=$HUID --regid=$HUID --clear-groups -- sh -c "exec cat '$fifo' > '$out'" &
	bg=$!
	sleep 0.3
	root_run "$var=$fifo" UMFS_LOG=debug UMFS_STATS=1 --
	sleep 0.3
	kill $bg 2>/dev/null
	wait $bg 2>/dev/null
	bg=
	[ $rc = 0 ] && echo "$err" | grep -q "$var=$fifo" &&
		pass "$var, a planted FIFO being read$how: refused, named, no hang" ||
		fail "$var, a planted FIFO being read$how: rc=$rc $(tail3 "$err")"
	[ ! -s "$out" ] && pass "$var, a planted FIFO being read$how: the planter read nothing" ||
		fail "$var, a planted FIFO being read$how: the planter read $(wc -c <"$out") bytes:" \
			"$(grep -c "$marker" "$out") naming root's file; $(head -c 160 "$out" | tr '\n' '|')"
	rm -f "$fifo" "$out"
}

# 2. UMFS_RDONLY_DIR through another user's symlink.
victim=$root/umfs-rdonly-victim # root's, 0700, named as the library names them
fill_victim() {
	rm -rf "$victim"
	mkdir -m 0700 "$victim"
	for f in lk-1-1 fifo-2-0 tx-3-3 map-4-4-1 keep; do
		(umask 077 && echo "$f $marker" >"$victim/$f")
	done
}
listing() { (cd "$victim" && ls -la --time-style=+%s . && sha256sum -- *) 2>&1; }

rdonly_case() {
	local what=$1 dir=$2 before

	root_run -- # a pool left to recover (a run killed before) is recovered
	fill_victim
	before=$(listing)
	root_run UMFS_RDONLY_DIR="$dir" -- --readonly
	[ "$(listing)" = "$before" ] && pass "UMFS_RDONLY_DIR $what$how: the directory is untouched" ||
		fail "UMFS_RDONLY_DIR $what$how: the directory changed; left in it: $(ls "$victim" | tr "\n" " ")"
	[ $rc = 0 ] && echo "$err" | grep -q "UMFS_RDONLY_DIR=$dir" &&
		pass "UMFS_RDONLY_DIR $what$how: refused, named, the run went on" ||
		fail "UMFS_RDONLY_DIR $what$how: rc=$rc $(tail3 "$err")"
}

# 3. What must keep working.
working_cases() {
	local log=$root/root.log

	rm -f "$log"
	ln -sfn "$root" /dev/shm/env-rootlink # root's link in a sticky directory
	root_run UMFS_LOG=debug UMFS_LOG_FILE=/dev/shm/env-rootlink//root.log/ --
	[ $rc = 0 ] && [ -z "$err" ] && grep -q "$marker" "$log" &&
		[ "$(stat -c %U:%a "$log")" = root:600 ] &&
		pass "a log file through root's own symlink$how: written, 0600" ||
		fail "a log file through root's own symlink$how: rc=$rc $(tail3 "$err")"
	root_run UMFS_LOG=debug UMFS_LOG_FILE=/dev/stderr --
	[ $rc = 0 ] && echo "$err" | grep -q "$marker" && ! echo "$err" | grep -q warning &&
		pass "UMFS_LOG_FILE=/dev/stderr$how: the log on stderr" ||
		fail "UMFS_LOG_FILE=/dev/stderr$how: rc=$rc $(tail3 "$err")"
	out=$(timeout $BOUND $wrap "$UMFS_RUN" --pool "$pool" --readonly -- sh -c \
		"read a < /umfs/$marker; sh -c 'read b < /umfs/$marker; echo \$UMFS_RDONLY_DIR'" 2>&1)
	rc=$?
	left=$(find /dev/shm -maxdepth 1 -type d -name 'umfs-rdonly-*')
	case "$rc:$out" in
	0:/dev/shm/umfs-rdonly-??????)
		[ -z "$left" ] && pass "a read-only program's directory$how: passed to its child, removed" ||
			fail "a read-only program's directory$how: left behind: $left" ;;
	*) fail "a read-only program's directory$how: rc=$rc $out" ;;
	esac
	rm -f /dev/shm/env-rootlink
}

as_h ln -s "$root" /dev/shm/env-evil
as_h ln -s "$victim" /dev/shm/umfs-rdonly-evil
for wrap in "" "$NO_OPENAT2"; do
	how=
	if [ -n "$wrap" ]; then
		"$wrap" true 2>/dev/null || { echo "# no seccomp: the walk without openat2 not run"; break; }
		how=" (no openat2)"
	fi
	fifo_cases UMFS_LOG_FILE
	fifo_cases UMFS_STATS_FILE
	rdonly_case "through a symlink early in the path" /dev/shm/env-evil/umfs-rdonly-victim
	rdonly_case "naming a symlink with a trailing slash" /dev/shm/umfs-rdonly-evil/
	working_cases
done

echo "# $passes passed, $failures failed"
[ "$failures" = 0 ]
