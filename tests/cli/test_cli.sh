#!/bin/bash
# SPDX-License-Identifier: MIT
# test_cli.sh - the command-line conventions of every UMFS tool (TAP), as
# tools/cli.h states them: --help and -h on stdout with exit 0 and nothing
# on stderr; --version naming the program, the package version and the
# pool format; unknown options, missing arguments and bad values refused
# with one line on stderr and the tool's documented usage exit code.
#   test_cli.sh BUILDDIR VERSION
set -u

build=$1
version=$2
out=$(mktemp)
err=$(mktemp)
n=0
failed=0
trap 'rm -f "$out" "$err"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=1; echo "not ok $n - $1"
	sed 's/^/# stdout: /' "$out"; sed 's/^/# stderr: /' "$err"
}

# run TOOL ARGS...: fills $out, $err, $rc
run() { "$@" >"$out" 2>"$err" </dev/null; rc=$?; }

# help TOOL: --help and -h
help() {
	local tool=$1 name=${1##*/} a
	for a in --help -h; do
		run "$tool" "$a"
		if [ "$rc" -eq 0 ] && [ ! -s "$err" ] && grep -q "^Usage: $name" "$out"; then
			ok "$name $a: usage on stdout, exit 0"
		else
			not_ok "$name $a: usage on stdout, exit 0 (exit $rc)"
		fi
	done
}

# version TOOL
version() {
	local tool=$1 name=${1##*/} a
	for a in --version -V; do
		run "$tool" "$a"
		if [ "$rc" -eq 0 ] && [ ! -s "$err" ] &&
		   grep -qx "$name (UMFS) $version" "$out" && grep -qx "pool format [0-9]*\.[0-9]*" "$out"; then
			ok "$name $a: program, package version and format"
		else
			not_ok "$name $a: program, package version and format (exit $rc)"
		fi
	done
}

# refuse TOOL CODE PATTERN ARGS...: exit CODE, one line matching PATTERN
refuse() {
	local tool=$1 name=${1##*/} code=$2 pattern=$3
	shift 3
	run "$tool" "$@"
	if [ "$rc" -eq "$code" ] && [ "$(wc -l <"$err")" -eq 1 ] && grep -q -- "$pattern" "$err" &&
	   [ ! -s "$out" ]; then
		ok "$name $*: refused with exit $code"
	else
		not_ok "$name $*: refused with exit $code and one line matching '$pattern' (exit $rc)"
	fi
}

echo "1..37"
mkfs=$build/mkfs/mkfs.umfs
fsck=$build/fsck/fsck.umfs
run_=$build/tools/umfs-run

help "$mkfs"; version "$mkfs"
refuse "$mkfs" 1 "unknown option '--bogus'" --bogus
refuse "$mkfs" 1 "unknown option '-Z'" -Z x
refuse "$mkfs" 1 "option '--size' needs an argument" --size
refuse "$mkfs" 1 "invalid size '12Q'" --size=12Q x
refuse "$mkfs" 1 "no POOL given"

help "$fsck"; version "$fsck"
refuse "$fsck" 16 "unknown option '--bogus'" --bogus x
refuse "$fsck" 16 "unknown option '-x'" -x x
refuse "$fsck" 16 "only one of -n, -y and -p" -n -y x
refuse "$fsck" 16 "no POOL given"

help "$run_"; version "$run_"
refuse "$run_" 2 "unknown option '--bogus'" --bogus true
refuse "$run_" 2 "--log 'bogus'" --pool /nonexistent --log bogus true
refuse "$run_" 2 "--kmod 'sometimes'" --kmod sometimes true
refuse "$run_" 2 "option '--pool' needs an argument" --pool
refuse "$run_" 2 "no PROGRAM given" --pool /nonexistent

pool=$build/pool/umfs-pool
help "$pool"; version "$pool"
refuse "$pool" 2 "unknown option '--bogus'" --bogus info x
refuse "$pool" 2 "no command" 
refuse "$pool" 2 "unknown command 'frob'" frob x

fuse=$build/fuse/umfs-fuse
if [ -x "$fuse" ]; then
	# --help goes on with libfuse's own options; --version with libfuse's
	run "$fuse" --help
	if [ "$rc" -eq 0 ] && grep -q "^Usage: umfs-fuse" "$out"; then ok "umfs-fuse --help"; else not_ok "umfs-fuse --help"; fi
	run "$fuse" --version
	if [ "$rc" -eq 0 ] && grep -qx "umfs-fuse (UMFS) $version" "$out" &&
	   grep -qx "pool format [0-9]*\.[0-9]*" "$out"; then
		ok "umfs-fuse --version"
	else
		not_ok "umfs-fuse --version"
	fi
	refuse "$fuse" 1 "unknown option '-x'" -x pool mnt
	refuse "$fuse" 1 "give a POOL and a MOUNTPOINT"
else
	for i in 1 2 3 4; do ok "# SKIP umfs-fuse not built"; done
fi
exit $failed
