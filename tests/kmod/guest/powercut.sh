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
#
# umfs.kmod=1: module mode. The pool is the device itself (umfs.pcpool=dev);
# umfs.ko is loaded, and verify and work run under `umfs-run --kmod on`, so
# libumfs maps the pool through /dev/umfs (the media, flushed as persistent
# memory) and files through attachments. The module holds the pool from its
# MOUNT until an UNMOUNT, and fsck and mkfs read the device's page cache, so
# the pool is unmounted from the module before either runs. In verify the
# MOUNT of the crashed pool, which validates every table, is done on its own
# first (kmod-shim-io mount) so that the log says what it checked.
set -eu

dev=${UMFS_POOL_DEV:-/dev/pmem0}
phase=$(echo "${UMFS_OPT_PHASE:?umfs.phase= missing}" | tr ',' ' ')
round=${UMFS_OPT_ROUND:-0}
kmod=${UMFS_OPT_KMOD:-0}
expect=/etc/umfs/powercut.expect
fail() { echo "powercut: $*" >&2; exit 1; }

# umfs.pcpool=ext4: the pool is a file on ext4 -o dax on the NVDIMM, which
# libpmem maps with MAP_SYNC, so that every store the core fences is on the
# NVDIMM; =dev: the NVDIMM device itself (see powercut.sh --pool-on).
pool=$dev
if [ "${UMFS_OPT_PCPOOL:-dev}" = ext4 ]; then
	# a pool file stays in software mode whatever the module does
	[ "$kmod" = 1 ] && fail "umfs.kmod=1 needs the pool on the device (umfs.pcpool=dev), not on ext4"
	case " $phase " in
	*" format "*) mkfs.ext4 -q -F -b 4096 "$dev" >/tmp/pc-ext4.log 2>&1 ||
		{ cat /tmp/pc-ext4.log; fail "mkfs.ext4 $dev failed"; } ;;
	esac
	mkdir -p /mnt/pc
	mount -t ext4 -o dax=always "$dev" /mnt/pc || fail "mount -o dax=always $dev failed"
	pool=/mnt/pc/pool.umfs
fi

if [ "$kmod" = 1 ]; then
	[ -n "${UMFS_KO:-}" ] || fail "umfs.kmod=1 but no umfs.ko in the initramfs"
	command -v kmod-shim-io >/dev/null || fail "umfs.kmod=1 but no kmod-shim-io (tests/kmod/guest/build.sh)"
	[ -e /dev/umfs ] || insmod "$UMFS_KO" || fail "insmod $UMFS_KO failed"
	[ -c /dev/umfs ] || fail "/dev/umfs did not appear after insmod"
	run() { umfs-run --pool "$pool" --kmod on "$@"; }
else
	run() { umfs-run --pool "$pool" --kmod off "$@"; }
fi

# Before fsck or mkfs: the module must not hold the device (kmod-shim-io
# unmount is quiet when nothing is mounted). Refused while a process still
# has an attachment or the pool mapped: then the test is wrong, say so.
release() {
	[ "$kmod" = 1 ] || return 0
	kmod-shim-io unmount || fail "UNMOUNT of the pool from the module failed (still in use?)"
}

# The mode umfs-run reports must be the one asked for; in module mode also
# shows the module's counters, so that the log says how the pool was used.
check_mode() {
	m=$(run --mode -- true 2>&1) || fail "umfs-run --mode on $pool: $m"
	echo "powercut: $m"
	if [ "$kmod" = 1 ]; then want="kernel module (attach)"; else want="user space (software walk)"; fi
	case "$m" in *"mode: $want"*) ;; *) fail "expected '$want', umfs-run said '$m'" ;; esac
	[ "$kmod" = 1 ] || return 0
	echo "powercut: module counters: $(kmod-shim-io stats)"
}

fsck_clean() {
	release
	# exit 0 alone would allow crash state: the verdict must be clean
	if ! fsck.umfs -n -f "$pool" >/tmp/pc-fsck.log 2>&1 ||
	   ! tail -n 1 /tmp/pc-fsck.log | grep -q ': clean$'; then
		cat /tmp/pc-fsck.log
		fail "fsck.umfs -n -f: $1: not clean"
	fi
}

for step in $phase; do
	case "$step" in
	format)
		release # mkfs must come before the module's first MOUNT
		if [ "$pool" = "$dev" ]; then
			mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
		else
			mkfs.umfs -q -s 1536M "$pool" || fail "mkfs.umfs failed"
		fi
		echo "UMFS-PC FORMATTED"
		if [ "$kmod" = 1 ]; then
			# the first MOUNT rebases the new pool's tables
			out=$(kmod-shim-io mount "$dev" 2>&1) || fail "module MOUNT of the new pool: $out"
			echo "powercut: module $out"
		fi
		;;
	verify)
		[ -f "$expect" ] || fail "no $expect in the initramfs"
		# the crash image itself, for the record: what recovery will do
		# (open files' U-Log chains) fsck -n reports as recoverable crash
		# state; the checks after recovery decide
		release
		fsck.umfs -n -f "$pool" 2>&1 | sed 's/^/before recovery: /' | tail -n 3 || true
		if [ "$kmod" = 1 ]; then
			# the crashed pool, before recovery: every table must pass
			out=$(kmod-shim-io mount "$dev" 2>&1) || fail "module MOUNT of the crashed pool: $out"
			echo "powercut: module $out"
		fi
		check_mode
		[ "$kmod" = 1 ] && a0=$(kmod-shim-io stats | awk '{print $8}')
		# under the shim, whose mount runs recovery first
		run -- pc_work verify "$expect" /umfs/pc || fail "files lost or damaged by the power cut"
		if [ "$kmod" = 1 ]; then
			st=$(kmod-shim-io stats)
			echo "powercut: module counters after verify: $st"
			# shellcheck disable=SC2086 # one word per field
			set -- $st
			[ "$4" = 0 ] || fail "$4 attachments still live after verify"
			# an acknowledged file (one state, not absent) is non-empty, so
			# reading it in module mode attaches it
			if awk 'NF == 2 && $2 != "absent"' "$expect" | grep -q .; then
				[ "$8" -gt "$a0" ] || fail "verify read files without attaching: not in module mode"
			fi
		fi
		fsck_clean "after recovery"
		;;
	work)
		# straight to the console, like pc_work's lines: the host cuts the
		# power soon after, maybe before the log's copy reaches it
		check_mode >/dev/ttyS0
		# the counters as the work goes (attaches, revokes): the last line
		# before the cut shows the module in use
		if [ "$kmod" = 1 ]; then
			while sleep 1; do
				echo "powercut: module counters during work: $(kmod-shim-io stats)"
			done >/dev/ttyS0 &
			ticker=$!
		fi
		# BEGIN and ACK lines straight to the serial console, drained;
		# pc_work works until the power goes, so any return is a failure
		rc=0
		run -- pc_work work "$round" /umfs/pc /dev/ttyS0 || rc=$?
		[ -z "${ticker:-}" ] || kill "$ticker"
		fail "the workload stopped (exit $rc)"
		;;
	*) fail "unknown phase step $step" ;;
	esac
done
[ "$pool" = "$dev" ] || umount /mnt/pc
