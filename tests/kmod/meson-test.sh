#!/bin/bash
# meson-test.sh BUILDDIR - the meson test `kmod`: every guest test at
# -smp 2 (but those run by name only: kmod-fio and the measurements,
# kmod-bench, which bench/kmod.sh runs); again at -smp 4 with page-table
# isolation on, the tests whose work PTI changes: the page tables spliced
# into a process and taken out again (kmod-basic, kmod-stress with 20,000
# attach/detach cycles instead of 30,000) and the library's I/O through
# them (kmod-shim); the metadata ioctls (create, exchange, extend, meta,
# rebase) run once, as does the device DAX run (kmod-devdax: only its
# MOUNT differs from the rest); then the power-cut test, in
# software mode (pool on ext4 -o dax) and in module mode (pool on
# /dev/pmemN), one cut each at a point of a new seed each run
# (powercut.sh --rounds N by hand for more).
# Skips (77) as a whole when qemu or the kernel is missing; the module-mode
# power cut alone is skipped when kmod/ has no module to build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$1
start=$(date +%s)
# one module and image for the four boots (prepare_guest)
UMFS_KMOD_GUEST_CACHE=$(mktemp -d /tmp/umfs-kmod-guest.XXXXXX)
export UMFS_KMOD_GUEST_CACHE
trap 'rm -rf "$UMFS_KMOD_GUEST_CACHE"' EXIT
step() {
	local rc=0 t0
	t0=$(date +%s)
	echo "=== $*"
	"$@" || rc=$?
	[ $rc -eq 0 ] || { echo "=== failed ($rc): $*"; exit $rc; }
	echo "=== $(($(date +%s) - t0)) s"
}
# A step whose skip (77) does not skip the steps that passed before it.
step_or_skip() {
	local rc=0
	(step "$@") || rc=$?
	[ $rc -eq 77 ] && { echo "=== skipped: $*"; return 0; }
	[ $rc -eq 0 ] || exit $rc
}
again=smoke,kmod-basic,kmod-shim,kmod-stress
step "$here/run.sh" --build "$build" --smp 2
step "$here/run.sh" --build "$build" --smp 4 --pti --tests "$again" --append umfs.cycles=20000
step "$here/powercut.sh" --build "$build" --rounds 1
step_or_skip "$here/powercut.sh" --build "$build" --rounds 1 --kmod
echo "=== kmod tests passed in $(($(date +%s) - start)) s"
