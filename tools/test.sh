#!/usr/bin/env bash
# test.sh [BUILDDIR] - every test, as `make test` runs it: the qemu tests
# (suite kmod) in a meson run of their own, beside the run of the rest.
#
# Why two runs: meson starts a serial test (is_parallel: false) only once
# every running test has ended, the qemu tests included. In one run the
# serial tests therefore waited for the guest boots, 7 to 16 minutes by
# the host, with a core idle. The guest shares nothing the serial tests
# guard (FUSE mounts, the pools' runtime directories under /dev/shm, kill
# storms on the host), so it may run while they do.
#
# The kmod run's report is kept in BUILDDIR/meson-logs/kmodlog.* and shown
# after the other's; the exit status is the first failing run's.
set -u
build=${1:-build}
meson=${MESON:-meson}
logs=$build/meson-logs
mkdir -p "$logs"
out=$logs/kmodlog-console.txt

"$meson" test -C "$build" --no-rebuild --print-errorlogs --suite kmod \
	--logbase kmodlog >"$out" 2>&1 </dev/null &
kmod=$!
# a background job ignores SIGINT: an interrupted run ends it too
trap 'kill -TERM "$kmod" 2>/dev/null; wait "$kmod"; exit 130' INT TERM
rc=0
"$meson" test -C "$build" --no-rebuild --print-errorlogs --no-suite kmod --logbase testlog || rc=$?
wait "$kmod"
krc=$?
echo
echo "=== the kmod suite's own run (also in $out):"
cat "$out"
[ $rc -ne 0 ] && exit $rc
exit $krc
