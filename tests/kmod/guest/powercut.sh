#!/bin/sh
# powercut.sh (guest) - one boot of the power-cut test (tests/kmod/powercut.sh
# drives the rounds and kills qemu). umfs.phase= lists the steps:
#   format  mkfs.umfs on the pool
#   verify  mount the pool through the shim (recovery), check every file
#           against /etc/umfs/powercut.expect, then fsck: clean
#   work    write, replace, append, overwrite and delete files under the
#           shim until the host pulls the plug
# pc_work (tests/kmod/pc_work.c) does the work and the checks; it prints
# BEGIN and ACK lines for each operation, of which the host keeps the last
# of each file and hands them to the next boot as powercut.expect.
# UMFS_OPT_KMOD=1 is the hook for the module's mode: load umfs.ko first.
set -eu

dev=${UMFS_POOL_DEV:-/dev/pmem0}
phase=$(echo "${UMFS_OPT_PHASE:?umfs.phase= missing}" | tr ',' ' ')
round=${UMFS_OPT_ROUND:-0}
expect=/etc/umfs/powercut.expect
fail() { echo "powercut: $*" >&2; exit 1; }

# umfs.pcpool=ext4: the pool is a file on ext4 -o dax on the NVDIMM, which
# libpmem maps with MAP_SYNC, so that every store the core fences is on the
# NVDIMM; =dev: the NVDIMM device itself (see powercut.sh --pool-on).
pool=$dev
if [ "${UMFS_OPT_PCPOOL:-dev}" = ext4 ]; then
	case " $phase " in
	*" format "*) mkfs.ext4 -q -F -b 4096 "$dev" >/tmp/pc-ext4.log 2>&1 ||
		{ cat /tmp/pc-ext4.log; fail "mkfs.ext4 $dev failed"; } ;;
	esac
	mkdir -p /mnt/pc
	mount -t ext4 -o dax=always "$dev" /mnt/pc || fail "mount -o dax=always $dev failed"
	pool=/mnt/pc/pool.umfs
fi

if [ "${UMFS_OPT_KMOD:-0}" = 1 ]; then
	[ -n "${UMFS_KO:-}" ] || fail "umfs.kmod=1 but no umfs.ko in the initramfs"
	# with /dev/umfs present, libumfs (and so pc_work under the shim) takes
	# the module's path
	[ -e /dev/umfs ] || insmod "$UMFS_KO" || fail "insmod umfs.ko failed"
fi

fsck_clean() {
	if ! fsck.umfs -n -f "$pool" >/tmp/pc-fsck.log 2>&1; then
		cat /tmp/pc-fsck.log
		fail "fsck.umfs -n -f: $1: not clean"
	fi
}

for step in $phase; do
	case "$step" in
	format)
		if [ "$pool" = "$dev" ]; then
			mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
		else
			mkfs.umfs -q -s 1536M "$pool" || fail "mkfs.umfs failed"
		fi
		echo "UMFS-PC FORMATTED"
		;;
	verify)
		[ -f "$expect" ] || fail "no $expect in the initramfs"
		# the crash image itself: fsck -n counts what recovery will do (open
		# files' U-Log chains) as problems, so this is for the record only
		fsck.umfs -n -f "$pool" 2>&1 | sed 's/^/before recovery: /' | tail -n 3 || true
		# under the shim, whose mount runs recovery first
		umfs-run --pool "$pool" -- pc_work verify "$expect" /umfs/pc ||
			fail "files lost or damaged by the power cut"
		fsck_clean "after recovery"
		;;
	work)
		# BEGIN and ACK lines straight to the serial console, drained
		umfs-run --pool "$pool" -- pc_work work "$round" /umfs/pc /dev/ttyS0 ||
			fail "the workload failed"
		;;
	*) fail "unknown phase step $step" ;;
	esac
done
[ "$pool" = "$dev" ] || umount /mnt/pc
