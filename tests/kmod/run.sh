#!/bin/bash
# run.sh - boots Debian's 6.1 kernel in qemu with emulated NVDIMMs and runs
# guest tests in it; the one command for every guest test.
#
#   run.sh [--smp N] [--pti] [--tests LIST] [--keep] [--build DIR]
#          [--timeout SECS] [--append WORDS] [--pool FILE] [--pool-size S]
#          [--dax-size S] [--console]
#
#   --tests LIST   comma-separated guest tests (tests/kmod/guest/NAME.sh);
#                  default: smoke and every kmod-*.sh present but those
#                  marked "by name only" (kmod-fio: fio makes the image 3x)
#   --pti          boot with pti=on (page-table isolation)
#   --keep         keep the NVDIMM backing files and the console log
#   --build DIR    meson build directory (default: build/ in the tree)
#   --pool FILE    use (and keep) this backing file for the pool NVDIMM
#   --pool-size S  size of a new pool NVDIMM (default 2G; sparse on /dev/shm)
#   --dax-size S   size of the second NVDIMM, for ext4 -o dax (default 1G)
#   --append WORDS more kernel command line (umfs.KEY=VALUE reaches tests)
#   --console      copy the guest console to stdout as it runs
#
# Builds kmod/umfs.ko first when kmod/ has a Kbuild or Makefile, then the
# initramfs. Exit status: 0 all passed, 1 a failure, 77 (skip) when qemu or
# the kernel image is missing and cannot be installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

smp=2 pti="" tests="" keep=0 build="$src/build" timeout=900 append="" pool="" console=0
pool_size=${UMFS_KMOD_POOL_SIZE:-2G} dax_size=${UMFS_KMOD_DAX_SIZE:-1G}
while [ $# -gt 0 ]; do
	case "$1" in
	--smp) smp=$2; shift 2 ;;
	--pti) pti="pti=on"; shift ;;
	--tests) tests=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--build) build=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--pool) pool=$2; shift 2 ;;
	--pool-size) pool_size=$2; shift 2 ;;
	--dax-size) dax_size=$2; shift 2 ;;
	--console) console=1; shift ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -d "$build" ] || die "no build directory $build (meson setup it, or pass --build)"
build=$(cd "$build" && pwd)

if ! "$here/install-deps.sh"; then
	command -v qemu-system-x86_64 >/dev/null && guest_kver >/dev/null ||
		skip "qemu-system-x86_64 or Debian's 6.1 kernel is missing and could not be installed"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
kver=$(guest_kver) || skip "no Debian 6.1 kernel image in /boot with modules in /lib/modules"

[ -n "$tests" ] || tests=$(default_tests "$here")

work="$build/tests/kmod"
mkdir -p "$work"
tmp=$(mktemp -d /tmp/umfs-kmod-run.XXXXXX)
shm=/dev/shm/qemu-run-$$
mkdir -p "$shm"
own_pool=0
qpid=""
cleanup() {
	# qpid is timeout(1), which passes the TERM on to qemu
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
	if [ $keep -eq 0 ]; then
		[ $own_pool -eq 1 ] && rm -f "$shm/pool.img"
		rm -f "$shm/dax.img"
		rmdir "$shm" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
t0=$(date +%s.%N)

prepare_guest "$src" "$build" "$kver" "$tmp" "$tests"
initrd=$INITRD

if [ -z "$pool" ]; then
	pool="$shm/pool.img"
	own_pool=1
	truncate -s "$pool_size" "$pool"
fi
[ -f "$pool" ] || die "no pool backing file $pool"
truncate -s "$dax_size" "$shm/dax.img"

accel=$(pick_accel "$kver" "$work/accel")
echo "kmod-test: kernel $kver, accel $accel, smp $smp${pti:+, $pti}, tests $tests"
qemu_cmdline "$kver" "$initrd" "$accel" "$smp" "$pool" "$shm/dax.img" \
	"umfs.tests=$tests $pti $append"

log="$tmp/console.log"
tb=$(date +%s.%N)
timeout -k 5 "$timeout" "${QEMU[@]}" </dev/null >"$log" 2>&1 &
qpid=$!
if [ $console -eq 1 ]; then
	tail -n +1 -f --pid=$qpid "$log" &
fi
rc=0
wait $qpid || rc=$?
qpid=""
te=$(date +%s.%N)
[ $rc -eq 124 ] && echo "kmod-test: FAIL: qemu timed out after ${timeout}s" >&2

if [ $keep -eq 1 ]; then
	cp "$log" "$work/console.log"
	echo "kmod-test: kept $pool, $shm/dax.img and $work/console.log"
fi
ready=$(grep -a -o 'umfs-init: ready at [0-9.]*' "$log" | grep -o '[0-9.]*$' || echo "?")
status=0
check_console "$log" "$tests" || status=1
[ $rc -eq 124 ] && status=1
awk -v r="$ready" -v t0="$t0" -v tb="$tb" -v te="$te" 'BEGIN {
	printf "kmod-test: guest ready at %s s of its uptime; qemu ran %.1f s; total %.1f s\n", r, te - tb, te - t0 }'
if [ $status -ne 0 ]; then
	cp "$log" "$work/console-failed.log"
	echo "kmod-test: FAILED (console in $work/console-failed.log)" >&2
	exit 1
fi
echo "kmod-test: all passed"
