#!/bin/bash
# SPDX-License-Identifier: MIT
# selftest_stressng.sh BUILDDIR - run_stressng.sh must catch what it is
# there to catch, on one group, tmpfs against tmpfs: the same runs agree; a
# stressor made to fail on the side under test (STRESSNG_SABOTAGE) fails
# and is named; listed as known, it passes, and a listed stressor that
# does not differ is reported without failing; one idle on that side
# (STRESSNG_IDLE) has its group run again, and fails when idle again,
# while a failure of the first run stays one.
# Exits 77 where run_stressng.sh cannot run (no stress-ng). Each group
# runs 3 s: in 1 s, beside the qemu tests and another test, a stressor on
# one side could start no round and read as idle.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILDDIR}
. "$here/selftest_lib.sh"
export STRESSNG_ONLY=dir STRESSNG_SECONDS=3

expect "tmpfs against tmpfs agrees" 0 -- bash "$here/run_stressng.sh" tmpfs "$build"
check "the group's stressors pass" has "^ok - rename (group 5): tmpfs passed, tmpfs passed"

# rename fails in the first run only, which a run again for dentry, idle
# in the first run only, must not hide
expect "a stressor failing on one side is caught" 1 -- \
	env STRESSNG_SABOTAGE=rename:1 STRESSNG_IDLE=dentry:1 bash "$here/run_stressng.sh" tmpfs "$build"
check "it is named" has "^not ok - rename (group 5): tmpfs passed, tmpfs failed"
check "what it said is shown" has "^#   .*rename: verification failed (sabotaged)"
check "the others pass" has "^ok - dir (group 5): tmpfs passed, tmpfs passed"
check "a stressor idle on one side has its group run again" \
	has "^# group 5: dentry counted no work on tmpfs in 3 s: the group runs again for 6 s"
check "whose verdict counts for it" has "^ok - dentry (group 5): tmpfs passed, tmpfs passed"

cat >"$known" <<EOF2
# for the selftest
rename tmpfs,shim failed sabotaged on purpose
dentry tmpfs skipped listed, yet the same on both
EOF2
expect "a known difference passes" 0 -- \
	env STRESSNG_SABOTAGE=rename STRESSNG_KNOWN="$known" bash "$here/run_stressng.sh" tmpfs "$build"
check "it is reported as known" has "^ok - rename (group 5): tmpfs passed, tmpfs failed (known: sabotaged on purpose)"
check "a listed stressor that no longer differs is reported" \
	has "^# known difference no longer seen: dentry skipped"

echo "rename tmpfs skipped listed as skipped, but it fails" >"$known"
expect "a known stressor that differs otherwise fails" 1 -- \
	env STRESSNG_SABOTAGE=rename STRESSNG_IDLE=dentry:2 STRESSNG_KNOWN="$known" \
	bash "$here/run_stressng.sh" tmpfs "$build"
check "a stressor idle again fails" has "^not ok - dentry (group 5): tmpfs passed, tmpfs idle"

selftest_end stressng-selftest
