#!/bin/bash
# kmod-fio.sh (guest) - fio psync, 4 KiB random reads and writes of a
# 64 MiB file under umfs-run on /dev/pmemN, in module mode (--kmod on:
# attachments) against software mode (--kmod off: the software walk).
# fio is unmodified and its psync engine's pread/pwrite go through the
# shim. Prints IOPS and mean latency per mode and their ratio, as
# UMFS-MEASURE lines. Under TCG the figures show the shape, not the speed.
#
# kmod-test: by name only
# (run.sh --tests kmod-fio: fio and its libraries make the initramfs three
# times larger, which every boot would pay for.)
#
# umfs.fio_secs=S  seconds per fio run (default 8, after 2 s of ramp: a
#                  software-mode process starts with the device's page
#                  cache empty, as the last close of /dev/pmemN drops it)
# umfs.fio_reps=N  rounds (default 2); each round runs both modes, in turns
#                  of order (module first in odd rounds), so that a slow
#                  spell of the host does not fall on one mode only
set -eu
. "$(dirname "$0")/common.sh"

dev=${UMFS_POOL_DEV:-/dev/pmem0}
secs=${UMFS_OPT_FIO_SECS:-8}
reps=${UMFS_OPT_FIO_REPS:-2}
file=/umfs/fio/data
T=/tmp/kfio
fail() { echo "kmod-fio: $*" >&2; exit 1; }
kt_module kmod-fio
command -v fio >/dev/null || fail "no fio in the initramfs (mkinitramfs.sh adds it for a test that names it)"
command -v kmod-shim-io >/dev/null || fail "kmod-shim-io not built (tests/kmod/guest/build.sh)"

# mkfs reads the device's page cache: the module must not hold the pool
kmod-shim-io unmount || fail "UNMOUNT of an earlier pool failed"
mkfs.umfs -q -f "$dev" || fail "mkfs.umfs failed"
rm -rf "$T" && mkdir -p "$T"

km() { umfs-run --pool "$dev" --kmod on "$@"; }
sw() { umfs-run --pool "$dev" --kmod off "$@"; }
attaches() { kmod-shim-io stats | awk '{print $8}'; }

for mode in km sw; do
	want="kernel module (attach)"
	[ $mode = km ] || want="user space (software walk)"
	m=$($mode --mode -- true 2>&1) || fail "umfs-run --mode ($mode): $m"
	echo "kmod-fio: $mode: $m"
	case "$m" in *"mode: $want"*) ;; *) fail "$mode: expected '$want', got '$m'" ;; esac
done

# psync, one thread in fio's own process (--thread: the shim's --stats of
# that process count its preads and pwrites), no page-cache tricks that
# mean nothing on UMFS
common=(--thread --ioengine=psync --bs=4k --size=64m "--filename=$file" --direct=0
	--invalidate=0 --fallocate=none --norandommap --output-format=terse --terse-version=3)

# the file, written by fio in module mode, must be on UMFS: 64 MiB seen
# through the shim, and nothing at that path on the guest's own root
km -- mkdir -p /umfs/fio || fail "mkdir /umfs/fio failed"
km -- fio --name=layout --thread --ioengine=psync --rw=write --bs=1m --size=64m \
	--filename=$file --fallocate=none --end_fsync=1 --output=$T/layout.out ||
	{ cat $T/layout.out; fail "fio layout of $file failed"; }
size=$(km -- stat -c %s $file) || fail "stat $file under the shim failed"
[ "$size" = 67108864 ] || fail "$file is $size bytes under the shim, not 64 MiB"
[ ! -e $file ] || fail "$file exists outside the shim: fio wrote to the guest's root, not UMFS"
echo "kmod-fio: $file: $size bytes on UMFS, absent from the guest's root"

# Field of fio's terse v3 line: 8 read IOPS, 40 read mean latency (us);
# 49 write IOPS, 81 write mean latency; 6 and 47 KiB read and written.
field() { cut -d';' -f"$1" "$2"; }

# Each mode's I/O must go through the shim as pread/pwrite, and in module
# mode through attachments: a short run with the shim's statistics. Its
# first second of reads is also the cold start: a new software-mode
# process reads the device through its page cache, empty at first.
served() { awk -v c="$1" '$1 == c { print $2; exit }' $T/chk.err; }
for mode in km sw; do
	a0=$(attaches)
	$mode --stats -- fio "${common[@]}" --name=chk-read --rw=randread --time_based --runtime=1 \
		--name=chk-write --stonewall --rw=randwrite --time_based --runtime=1 \
		>$T/chk.out 2>$T/chk.err || { cat $T/chk.err $T/chk.out; fail "fio check run ($mode) failed"; }
	a1=$(attaches)
	[ "$(grep -c '^3;' $T/chk.out)" = 2 ] || { cat $T/chk.out; fail "fio check run ($mode): no terse results"; }
	reads=$(($(sed -n 1p $T/chk.out | cut -d';' -f6) / 4))
	writes=$(($(sed -n 2p $T/chk.out | cut -d';' -f47) / 4))
	preads=$(served pread) pwrites=$(served pwrite)
	echo "kmod-fio: check ($mode): fio $reads reads, $writes writes; shim served ${preads:-no} pread, ${pwrites:-no} pwrite; $((a1 - a0)) attaches"
	[ "${preads:-0}" -ge "$reads" ] && [ "$reads" -gt 0 ] ||
		{ cat $T/chk.err; fail "$mode: fio's reads did not go through the shim's pread"; }
	[ "${pwrites:-0}" -ge "$writes" ] && [ "$writes" -gt 0 ] ||
		{ cat $T/chk.err; fail "$mode: fio's writes did not go through the shim's pwrite"; }
	eval "cold_$mode=$reads"
	if [ $mode = km ]; then
		[ $((a1 - a0)) -gt 0 ] || fail "module mode made no attachment"
	else
		[ $((a1 - a0)) -eq 0 ] || fail "software mode made $((a1 - a0)) attachments"
	fi
done

# shellcheck disable=SC2154 # set by the eval above
echo "UMFS-MEASURE kmod-fio randread-4k-first-second module_reads=$cold_km software_reads=$cold_sw"

# The measurement: per round, randread then randwrite, each in both modes
for rep in $(seq "$reps"); do
	order="km sw"
	[ $((rep % 2)) -eq 1 ] || order="sw km"
	for rw in randread randwrite; do
		for mode in $order; do
			out=$T/$rw.$mode.$rep
			$mode -- fio "${common[@]}" --name="$rw" --rw=$rw --time_based \
				--ramp_time=2 --runtime="$secs" >$out 2>$out.err ||
				{ cat $out.err $out; fail "fio $rw ($mode, round $rep) failed"; }
			if [ $rw = randread ]; then f_iops=8 f_lat=40; else f_iops=49 f_lat=81; fi
			[ "$(field 5 $out)" = 0 ] || fail "fio $rw ($mode): error $(field 5 $out)"
			echo "kmod-fio: round $rep $rw $mode: $(field $f_iops $out) IOPS, $(field $f_lat $out) us mean"
			echo "$rw $mode $(field $f_iops $out) $(field $f_lat $out)" >>$T/results
		done
	done
done

# means over the rounds, and module mode against software mode
for rw in randread randwrite; do
	awk -v rw=$rw '$1 == rw { n[$2]++; iops[$2] += $3; lat[$2] += $4 }
	END {
		if (!n["km"] || !n["sw"] || iops["sw"] <= 0) exit 1
		ki = iops["km"] / n["km"]; si = iops["sw"] / n["sw"]
		printf "UMFS-MEASURE kmod-fio %s-4k module_iops=%.0f software_iops=%.0f " \
			"module_lat_us=%.2f software_lat_us=%.2f ratio=%.2f\n",
			rw, ki, si, lat["km"] / n["km"], lat["sw"] / n["sw"], ki / si
	}' $T/results || fail "no results for $rw"
done

st=$(kmod-shim-io stats)
echo "kmod-fio: module counters: $st"
# shellcheck disable=SC2086 # one word per field
set -- $st
[ "$4" = 0 ] || fail "$4 attachments still live"
kmod-shim-io unmount || fail "UNMOUNT failed"
kt_fsck_clean || fail "fsck.umfs is not clean"
rm -rf "$T"
echo "kmod-fio: ok"
