#!/bin/bash
# SPDX-License-Identifier: MIT
# selftest.sh BUILDDIR - run_programs.sh must catch what it is there to
# catch: tmpfs against tmpfs passes; a file changed on the side under test
# (PROGRAMS_SABOTAGE) fails exactly that test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILDDIR}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=0
passed=0

# expect NAME STATUS PATTERN -- COMMAND...
expect() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 4
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" "$out"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name (exit $rc, wanted $want and \"$pat\")"
		sed 's/^/#   /' "$out" | tail -n 20
		failed=$((failed + 1))
	fi
}

expect "tmpfs against tmpfs agrees" 0 "^programs: 3 passed, 0 failed, 0 skipped$" -- \
	env PROGRAMS_ONLY="cat,tar,cp -a" bash "$here/run_programs.sh" tmpfs "$build"
expect "a changed file is caught" 1 "^programs: 2 passed, 1 failed, 0 skipped$" -- \
	env PROGRAMS_ONLY="cat,tar,cp -a" PROGRAMS_SABOTAGE=tar bash "$here/run_programs.sh" tmpfs "$build"
if grep -q "^not ok - tar: the transcripts differ" "$out"; then
	echo "ok - the failing test is named"
	passed=$((passed + 1))
else
	echo "not ok - the failing test is named"
	failed=$((failed + 1))
fi
echo "programs-selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
