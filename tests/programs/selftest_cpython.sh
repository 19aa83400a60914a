#!/bin/bash
# SPDX-License-Identifier: MIT
# selftest_cpython.sh BUILDDIR - run_cpython.sh must catch what it is there
# to catch, on two small modules, tmpfs against tmpfs: the same runs agree;
# a case made to fail on the side under test (CPYTHON_SABOTAGE) fails its
# module and is named; listed as known, it passes, and a listed case that
# does not differ is reported without failing. Exits 77 where run_cpython.sh
# cannot run (no Python test package).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILDDIR}
. "$here/selftest_lib.sh"
case=test.test_filecmp.FileCompareTestCase.test_matching
export CPYTHON_ONLY=test_genericpath,test_filecmp

expect "tmpfs against tmpfs agrees" 0 -- bash "$here/run_cpython.sh" tmpfs "$build"
check "both modules pass" has "^cpython: 2 passed, 0 failed, 0 skipped$"

expect "a case failing on one side is caught" 1 -- \
	env CPYTHON_SABOTAGE=$case bash "$here/run_cpython.sh" tmpfs "$build"
check "its module fails" has "^not ok - test_filecmp: 1 of [0-9]* cases differ"
check "the case is named" has "^#   $case: tmpfs ok, tmpfs failure: AssertionError: sabotaged$"
check "the other module passes" has "^ok - test_genericpath "
check "the count" has "^cpython: 1 passed, 1 failed, 0 skipped$"

cat >"$known" <<EOF
# for the selftest
$case tmpfs,shim failure sabotaged on purpose
test.test_genericpath.TestGenericTest.test_exists tmpfs ok listed, yet the same on both
test.test_os.FileTests.test_access tmpfs failure a module not run: not judged
EOF
expect "a known difference passes" 0 -- \
	env CPYTHON_SABOTAGE=$case CPYTHON_KNOWN="$known" bash "$here/run_cpython.sh" tmpfs "$build"
check "it is reported as known" \
	has "^#   known: $case: tmpfs ok, tmpfs failure: sabotaged on purpose$"
check "a listed case that no longer differs is reported" \
	has "^#   known difference no longer seen: test.test_genericpath.TestGenericTest.test_exists "
check "the count" has "^# 1 known differences seen, 1 listed no longer seen$"

echo "$case tmpfs skipped listed as skipped, but it fails" >"$known"
expect "a known case that differs otherwise fails" 1 -- \
	env CPYTHON_SABOTAGE=$case CPYTHON_KNOWN="$known" bash "$here/run_cpython.sh" tmpfs "$build"
check "the case is named" has "^#   $case: tmpfs ok, tmpfs failure"

selftest_end cpython-selftest
