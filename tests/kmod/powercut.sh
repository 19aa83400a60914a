#!/bin/bash
# powercut.sh - the power-cut test: a guest writes and fsyncs files on the
# pool NVDIMM under the shim; the host kills qemu after a random delay, boots
# again, and the guest checks that recovery and fsck leave a clean pool in
# which every acknowledged operation is present and intact (and every
# operation in flight all there or not at all).
#
#   powercut.sh [--rounds N] [--smp N] [--seed S] [--build DIR] [--keep] [--kmod]
#               [--pool-on ext4-dax|fsdax|devdax]
#
#   --rounds N  power cuts (default 3); N+1 boots in all
#   --seed S    seed of the random delays (default: random; printed)
#   --kmod      module mode: umfs.ko loaded, the pool on /dev/pmemN (the
#               default; or devdax), work and verify under
#               `umfs-run --kmod on`, so libumfs maps the pool through
#               /dev/umfs (the media, flushed as persistent memory) and files
#               through attachments; each verify MOUNTs the crashed pool in
#               the module, which validates every table. Skipped (77) when
#               kmod/ has nothing to build.
#   --pool-on P where the pool lives (default ext4-dax; fsdax with --kmod):
#               ext4-dax  a file on ext4 -o dax on the NVDIMM (fsdax): libpmem
#                         maps it with MAP_SYNC, stores reach the NVDIMM
#               fsdax     /dev/pmemN itself: in software mode a mapping of a
#                         block device goes through the guest's page cache,
#                         and msync writes pages back in any order, which no
#                         undo log survives (expected to fail without --kmod)
#               devdax    /dev/daxN.0, the NVDIMM as a device DAX (4 KiB
#                         aligned): mapped directly, in both modes
#
# Each boot gets the expectations gathered so far in a small cpio appended to
# the initramfs (/etc/umfs/powercut.expect). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

rounds=3 smp=2 seed="" build="$src/build" keep=0 kmod=0 pool_on=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--kmod) kmod=1; shift ;;
	--pool-on) pool_on=$2; shift 2 ;;
	-h|--help) sed -n '2,31p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
build=$(cd "$build" && pwd) || die "no build directory"
"$here/install-deps.sh" || true
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
kver=$(guest_kver) || skip "no Debian 6.1 kernel image in /boot with modules in /lib/modules"
[ -n "$seed" ] || seed=$(( $(od -An -N2 -tu2 /dev/urandom) ))
RANDOM=$seed
# Module mode maps only pmem devices through /dev/umfs; a pool file
# on ext4 would quietly stay in software mode and test nothing of it.
if [ $kmod -eq 1 ]; then
	[ "$pool_on" != ext4-dax ] ||
		die "--kmod needs the pool on the device: module mode maps /dev/pmemN through /dev/umfs, a pool file on ext4-dax stays in software mode (drop --pool-on or give --pool-on fsdax or devdax)"
	[ "$pool_on" = devdax ] || pool_on=fsdax
fi
case "${pool_on:=ext4-dax}" in
ext4-dax) guest_args="umfs.ndmode=fsdax umfs.pcpool=ext4" ;;
fsdax) guest_args="umfs.ndmode=fsdax umfs.pcpool=dev" ;;
devdax) guest_args="umfs.ndmode=devdax umfs.pcpool=dev" ;;
*) die "--pool-on: ext4-dax, fsdax or devdax" ;;
esac

work="$build/tests/kmod"
mkdir -p "$work"
tmp=$(mktemp -d /tmp/umfs-kmod-pc.XXXXXX)
shm=/dev/shm/qemu-pc-$$
mkdir -p "$shm"
pool=$shm/pool.img
qpid=""
cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null || true
	if [ $keep -eq 1 ]; then
		cp "$tmp"/console-*.log "$work/" 2>/dev/null || true
		echo "kmod-test: kept $pool and $work/console-N.log"
	else
		rm -rf "$shm"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
t0=$(date +%s)

[ $kmod -eq 0 ] || [ -f "$src/kmod/Kbuild" ] || [ -f "$src/kmod/Makefile" ] ||
	skip "--kmod: kmod/ has no Kbuild or Makefile, no module to test"
prepare_guest "$src" "$build" "$kver" "$tmp" powercut
[ $kmod -eq 0 ] || [ -n "$MODULE" ] || die "FAIL: --kmod but no umfs.ko was built"
truncate -s 2G "$pool"
accel=$(pick_accel "$kver" "$work/accel")
mode="software mode"
[ $kmod -eq 0 ] || mode="module mode"
echo "kmod-test: power cut, kernel $kver, accel $accel, smp $smp, pool on $pool_on, $mode, $rounds rounds, seed $seed"

: >"$tmp/state"
failed() {
	cp "$1" "$work/console-powercut-failed.log"
	echo "kmod-test: FAIL: $2 (console in $work/console-powercut-failed.log)" >&2
	exit 1
}

# The mode the guest's umfs-run reported: it must be the one asked for (the
# guest checks too; this keeps a wrong guest from passing quietly).
check_mode() {
	local want="user space (software walk)"
	[ $kmod -eq 0 ] || want="kernel module (attach)"
	# (grep the file: grep -q behind a pipe ends early, and pipefail would
	# count the writer's SIGPIPE as a miss)
	grep -a -q "^powercut: umfs-run: mode: $want" "$1" ||
		failed "$1" "boot $2: the guest's umfs-run never said 'mode: $want'"
	[ $kmod -eq 0 ] && return 0
	# for the record: what the module's MOUNT checked, and its counters at
	# the cut (work boots: attaches and revokes made by the workload)
	tr -d '\r' <"$1" | sed -n "s/^powercut: module mounted /kmod-test: boot $2: MOUNT of /p"
	tr -d '\r' <"$1" | sed -n "s/^powercut: module counters during work: /kmod-test: boot $2: module at the cut: /p" | tail -n 1
}

# Folds a console log's complete BEGIN/ACK lines into the state: the last
# line of each file wins. A line cut short by the kill has no END: ignored.
fold_state() {
	{ cat "$tmp/state"; tr -d '\r' <"$1" |
		sed -n 's/^UMFS-PC \(BEGIN\|ACK\) \([^ ]*\) \(.*\) END$/\2 \3/p'; } |
		awk '{ last[$1] = $0; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
		END { for (i = 1; i <= n; i++) print last[order[i]] }' >"$tmp/state.new"
	mv "$tmp/state.new" "$tmp/state"
}

for boot in $(seq 0 "$rounds"); do
	if [ "$boot" -eq 0 ]; then phase=format,work
	elif [ "$boot" -lt "$rounds" ]; then phase=verify,work
	else phase=verify
	fi
	mkdir -p "$tmp/extra/etc/umfs"
	cp "$tmp/state" "$tmp/extra/etc/umfs/powercut.expect"
	initrd_with "$INITRD" "$tmp/extra" "$tmp/boot.gz"
	qemu_cmdline "$kver" "$tmp/boot.gz" "$accel" "$smp" "$pool" "" \
		"umfs.tests=powercut umfs.phase=$phase umfs.round=$boot umfs.kmod=$kmod $guest_args"
	log="$tmp/console-$boot.log"
	: >"$log" # there before the loop below greps it
	"${QEMU[@]}" </dev/null >"$log" 2>&1 &
	qpid=$!
	deadline=$(($(date +%s) + 600))

	if [ "$phase" = verify ]; then
		while kill -0 "$qpid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
		kill -9 "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
		qpid=""
		check_console "$log" powercut || failed "$log" "final verification"
		check_mode "$log" "$boot"
		break
	fi

	# wait for the workload, then pull the plug after 1 to 6 s
	while ! grep -a -q '^UMFS-PC WORKING' "$log"; do
		kill -0 "$qpid" 2>/dev/null || { check_console "$log" powercut || true; failed "$log" "boot $boot ended before its workload started"; }
		[ "$(date +%s)" -lt "$deadline" ] || failed "$log" "boot $boot: no workload after 600 s"
		sleep 0.2
	done
	delay=$((RANDOM % 5000 + 1000))
	sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
	kill -9 "$qpid"
	wait "$qpid" 2>/dev/null || true
	qpid=""
	# the kernel must not have complained before the cut
	if grep -a -E '^\[ *[0-9]+\.[0-9]+\] .*(Bad page|Bad rss|BUG:|Oops|WARNING:|general protection|Kernel panic)' "$log"; then
		failed "$log" "boot $boot: the kernel complained"
	fi
	[ "$boot" -eq 0 ] || grep -a -q '^UMFS-PC VERIFIED' "$log" || failed "$log" "boot $boot: no verification"
	check_mode "$log" "$boot"
	fold_state "$log"
	acks=$(tr -d '\r' <"$log" | grep -c '^UMFS-PC ACK .* END$' || true)
	verified=$(tr -d '\r' <"$log" | sed -n 's/^UMFS-PC VERIFIED \([0-9]*\).*/\1/p')
	echo "kmod-test: boot $boot: ${verified:+$verified files verified, }$acks operations acknowledged, cut after ${delay} ms"
done

verified=$(tr -d '\r' <"$log" | sed -n 's/^UMFS-PC VERIFIED \([0-9]*\).*/\1/p')
echo "kmod-test: power cut ($mode): $rounds cuts survived, $verified files verified at the end, $(($(date +%s) - t0)) s"
