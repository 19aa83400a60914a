# SPDX-License-Identifier: MIT
# selftest_lib.sh - sourced by the self-tests of the comparisons with
# others' suites (selftest_cpython.sh, selftest_stressng.sh): a run and
# the checks of what it printed, counted; selftest_end NAME says the
# count and gives the status.

out=$(mktemp)
known=$(mktemp)
trap 'rm -f "$out" "$known"' EXIT
failed=0
passed=0

# expect NAME STATUS -- COMMAND... : the run's status, then its lines are
# checked with has; a run that cannot run here (77) skips the self-test
expect() {
	local name=$1 want=$2 rc=0
	shift 3
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" = 77 ]; then
		cat "$out"
		exit 77
	fi
	check "$name (exit $rc, wanted $want)" test "$rc" = "$want"
}

# check NAME COMMAND...: one result, the run's last lines shown on failure
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name"
		sed 's/^/#   /' "$out" | tail -n 20
		failed=$((failed + 1))
	fi
}

has() { grep -q -- "$1" "$out"; }

selftest_end() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}
