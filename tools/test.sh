#!/usr/bin/env bash
# test.sh [BUILDDIR] - every test, as `make test` runs it, in two meson
# runs side by side: one of every test but suites kmod and beside, and one
# of the qemu tests (suite kmod) followed by the tests of suite beside.
#
# Why two runs: meson starts a serial test (is_parallel: false) only once
# every running test has ended. In one run the serial tests waited for the
# guest boots, 7 to 16 minutes by the host, with a core idle; and once the
# guest was done, each serial test used one core while the other idled.
# The guest, and the serial tests of suite beside, share nothing the other
# run's serial tests guard (FUSE mounts, the pools' runtime directories,
# kill storms; tests/meson.build says what a test of beside must not do),
# so each runs beside one of them.
#
# The second run's reports are kept in BUILDDIR/meson-logs/kmodlog.* and
# besidelog.* and shown after the first's; the exit status is the first
# failing run's.
set -u
build=${1:-build}
meson=${MESON:-meson}
logs=$build/meson-logs
mkdir -p "$logs"
out=$logs/kmodlog-console.txt
bout=$logs/besidelog-console.txt

second_run() {
	local krc=0 brc=0
	"$meson" test -C "$build" --no-rebuild --print-errorlogs --suite kmod \
		--logbase kmodlog >"$out" 2>&1 </dev/null || krc=$?
	"$meson" test -C "$build" --no-rebuild --print-errorlogs --suite beside \
		--logbase besidelog >"$bout" 2>&1 </dev/null || brc=$?
	[ $krc -ne 0 ] && return $krc
	return $brc
}
second_run &
second=$!
# a background job ignores SIGINT: an interrupted run ends it too
# (its meson with it, in one kill: once the subshell is gone its meson is
# no longer its child to be found, and it must not start the next run)
trap 'kill -TERM "$second" $(pgrep -P "$second") 2>/dev/null; wait "$second"; exit 130' INT TERM
rc=0
"$meson" test -C "$build" --no-rebuild --print-errorlogs --no-suite kmod --no-suite beside \
	--logbase testlog || rc=$?
wait "$second"
second_rc=$?
echo
echo "=== the kmod suite's own run (also in $out):"
cat "$out"
echo
echo "=== the beside suite's own run, after kmod's (also in $bout):"
cat "$bout"
[ $rc -ne 0 ] && exit $rc
exit $second_rc
