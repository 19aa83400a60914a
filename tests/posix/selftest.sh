#!/bin/bash
# SPDX-License-Identifier: MIT
# selftest.sh BUILDDIR - the comparison of run_posix.sh must catch what it
# is there to catch: tmpfs against tmpfs passes; one altered line fails
# exactly that check; a known difference is reported and not counted.
# The whole suite must agree with itself; the altered line is shown in its
# own family (rw), since the comparison is the same for every family.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILDDIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
passed=0

# expect NAME STATUS PATTERN -- COMMAND...
expect() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 4
	"$@" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" = "$want" ] && tail -n 5 "$tmp/out" | grep -q -- "$pat"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name (exit $rc, wanted $want and \"$pat\")"
		sed 's/^/#   /' "$tmp/out" | tail -n 20
		failed=$((failed + 1))
	fi
}

expect "tmpfs against tmpfs agrees" 0 "^posix: [0-9]* passed, 0 failed$" -- \
	bash "$here/run_posix.sh" tmpfs "$build"
expect "an altered line is caught" 1 "^posix: [0-9]* passed, 1 failed$" -- \
	env POSIX_FAMILIES=rw POSIX_SABOTAGE=rw/pread bash "$here/run_posix.sh" tmpfs "$build"
if grep -q "^not ok - rw/pread$" "$tmp/out"; then
	echo "ok - the altered check is named"
	passed=$((passed + 1))
else
	echo "not ok - the altered check is named"
	failed=$((failed + 1))
fi
echo "rw/pread deliberately altered by the self-test" >"$tmp/known"
expect "a known difference is not counted" 0 "^posix: [0-9]* passed, 0 failed$" -- \
	env POSIX_FAMILIES=rw POSIX_SABOTAGE=rw/pread POSIX_KNOWN="$tmp/known" bash "$here/run_posix.sh" tmpfs "$build"
if grep -q "^known - rw/pread: deliberately" "$tmp/out"; then
	echo "ok - the known difference is listed"
	passed=$((passed + 1))
else
	echo "not ok - the known difference is listed"
	failed=$((failed + 1))
fi
echo "posix-selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
