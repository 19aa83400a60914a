#!/usr/bin/env bash
# vfork.sh - vfork children of a process with nothing of UMFS to pass on
# (no UMFS descriptor, whether or not its cwd is in the pool) share its
# memory, as the kernel's do; those that turn out to need UMFS (a program
# stored in the pool, a file of it read before the exec, a cwd changed)
# still get it. The same program and shell scripts on tmpfs are the
# reference.
. "$(dirname "$0")/lib.sh"
: "${SHIM_VFORK:=$BUILDDIR/tests/shim/shim_vfork}"

# DIR's prog.sh and data, made by sh (under the shim for /umfs): fill DIR [CMD...]
fill() {
	local d=$1
	shift
	"$@" sh -c 'printf "#!/bin/sh\necho prog \$1\nexit 3\n" >"$1/prog.sh" &&
		chmod 755 "$1/prog.sh" && printf "vfork data\n" >"$1/data"' sh "$d"
}
ref=$work/ref
mkdir "$ref"
fill "$ref"
shim mkdir /umfs/v
fill /umfs/v shim

out=$("$SHIM_VFORK" "$ref" kernel 2>&1) || true
check "vfork children on tmpfs" "vfork: ok" "$out"
out=$(shim "$SHIM_VFORK" /umfs/v umfs 2>&1) || true
check "vfork children under the library" "vfork: ok" "$out"

# dash starts each command with vfork: a program stored in the pool, a
# kernel one, a missing one, a file of the pool read by a child
script='for i in 1 2 3; do "$1/prog.sh" $i; echo "rc $?"; /bin/echo kernel $i; done
/nonexistent/program 2>/dev/null; echo "rc $?"; cat "$1/data"; x=$(/bin/echo sub); echo "$x"'
want=$(sh -c "$script" sh "$ref" 2>&1) || true
out=$(shim sh -c "$script" sh /umfs/v 2>&1) || true
check "dash's commands" "$want" "$out"

# a shell whose cwd is in the pool has joined it: its commands still
# start with a real vfork, and find the cwd; those that need UMFS before
# their exec (a redirection into the pool, a program named relative to
# the cwd, a cd) start again as forks
script='cd "$1" || exit 1; for i in 1 2; do cat data; ./prog.sh $i; echo "rc $?"; /bin/echo k $i; done
ls; /bin/echo made >made.txt; cat made.txt; rm made.txt; (cd / && /bin/echo out; /bin/pwd)
[ "$(/bin/pwd)" = "$PWD" ] && echo "pwd is the cwd"; x=$(cat data); echo "sub $x"; ls'
want=$(sh -c "$script" sh "$ref" 2>&1) || true
out=$(shim sh -c "$script" sh /umfs/v 2>&1) || true
check "a shell in the directory" "$want" "$out"

# Python's subprocess starts children with vfork; one whose cwd is in the
# pool changes directory in the child before its exec
py='import subprocess, sys
r = subprocess.run(["./prog.sh", "py"], cwd=sys.argv[1], capture_output=True)
print(r.returncode, r.stdout.decode().strip())
r = subprocess.run(["/bin/cat", "data"], cwd=sys.argv[1], capture_output=True)
print(r.returncode, r.stdout.decode().strip())'
want=$(python3 -c "$py" "$ref" 2>&1) || true
out=$(shim python3 -c "$py" /umfs/v 2>&1) || true
check "Python's subprocess" "$want" "$out"
check "the reference itself" "3 prog py
0 vfork data" "$want"

check "the pool's last user leaves it idle" "idle" "$(rundir_state)"
check_fsck
[ "$failures" -eq 0 ]
