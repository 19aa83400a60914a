#!/bin/bash
# kmod-devdax.sh (guest) - a pool on a device DAX (/dev/daxX.Y) instead of a
# pmem block device. The pool NVDIMM's namespace is made a device DAX with
# 4 KiB alignment, and the whole kmod-shim workload runs on it: in module
# mode (MOUNT of the char device, attachments, EXTEND, FREE, ...) and in
# software mode (libumfs maps the device itself), against tmpfs, with fsck
# (its -n copy of a device DAX) clean at the end. Then the namespace is
# recreated with 2 MiB alignment: MOUNT must refuse it (EOPNOTSUPP, the
# reason in the kernel log), umfs-run must fall back to the software walk,
# and --kmod on must fail naming module mode. The namespace is put back in
# fsdax mode on the way out, for the tests after this one.
set -eu
. "$(dirname "$0")/common.sh"

ns=${UMFS_POOL_NS:-}
pooldev=${UMFS_POOL_DEV:-/dev/pmem0}
T=/tmp/kdevdax
fail() { echo "kmod-devdax: $*" >&2; exit 1; }
kt_module kmod-devdax
[ -n "$ns" ] || { echo "kmod-devdax: no pool namespace (UMFS_POOL_NS)"; exit 77; }
case "$pooldev" in /dev/pmem*) ;; *) echo "kmod-devdax: the pool is $pooldev, not fsdax"; exit 77 ;; esac

# ndctl create-namespace -f -e NS MODE-ARGS...; prints the new device node
reconfigure() {
	local json dev i=0
	json=$(ndctl create-namespace -f -e "$ns" "$@" 2>&1) || { echo "$json" >&2; return 1; }
	dev=/dev/$(echo "$json" | tr -d ' \n' |
		sed -n 's/.*"\(blockdev\|chardev\)":"\([^"]*\)".*/\2/p' | head -n 1)
	while [ ! -e "$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$dev" ] || { echo "no $dev after: $json" >&2; return 1; }
	echo "$dev"
}
# UNMOUNT, retried while the last processes of a killed workload exit
unmount() {
	local i=0
	until kmod-shim-io unmount 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || return 1
		sleep 0.2
	done
}
restore() {
	# a disable waits for UNMOUNT (the module holds the device's pages)
	unmount || { echo "kmod-devdax: the pool is still mounted; namespace left as it is" >&2; return; }
	dev=$(reconfigure --mode=fsdax --map=mem) || { echo "kmod-devdax: could not restore fsdax" >&2; return; }
	[ "$dev" = "$pooldev" ] || echo "kmod-devdax: fsdax came back as $dev, not $pooldev" >&2
}
trap restore EXIT

kmod-shim-io unmount || fail "UNMOUNT of an earlier pool failed"
dax=$(reconfigure --mode=devdax --align=4K --map=mem) || fail "device DAX with --align=4K failed"
echo "kmod-devdax: $dax, $(cat /sys/bus/dax/devices/${dax#/dev/}/size) bytes, align 4K"
rm -rf "$T" && mkdir -p "$T"

# The whole module-mode and software-mode workload of kmod-shim (it runs
# mkfs, both modes, the counters' checks and fsck -n).
before=$(dmesg | grep -c "umfs: mounted $dax" || true)
UMFS_POOL_DEV=$dax UMFS_SHIM_LABEL=kmod-devdax "$UMFS_TESTS/kmod-shim.sh" ||
	fail "the kmod-shim workload failed on $dax"
after=$(dmesg | grep -c "umfs: mounted $dax" || true)
[ "$after" -gt "$before" ] || fail "the module never mounted $dax"

# fsck repairs on the device (a shared mapping of it), and recovery after
# an unclean end: a writer killed mid-way leaves the pool for fsck
mkfs.umfs -q -f "$dax" || fail "mkfs.umfs on $dax failed"
rm -f $T/wrote
umfs-run --pool "$dax" -- /usr/bin/bash -c '
	mkdir -p /umfs/k && i=0
	while :; do
		head -c 20000 /dev/urandom >/umfs/k/f$((i % 50)); i=$((i + 1))
		[ $i = 1 ] && : >'"$T"'/wrote
	done' &
# killed once it writes (a slow guest may take seconds to get there)
for _ in $(seq 1 300); do [ -e $T/wrote ] && break; sleep 0.2; done
sleep 2
kill -9 $! 2>/dev/null || true
wait 2>/dev/null || true
unmount || fail "UNMOUNT after the killed writer failed: $(kmod-shim-io stats; ps)"
fsck.umfs -y "$dax" >$T/fsck-y.log 2>&1 || [ $? -le 1 ] || { cat $T/fsck-y.log; fail "fsck.umfs -y failed"; }
kt_fsck_clean "$dax" || fail "fsck.umfs not clean after -y"
n=$(umfs-run --pool "$dax" -- ls /umfs/k | wc -l)
if [ "$n" -lt 1 ]; then
	cat $T/fsck-y.log
	umfs-run --pool "$dax" -- ls -la /umfs /umfs/k
	fail "the killed writer's files are gone"
fi
kmod-shim-io unmount || fail "UNMOUNT failed"

# 2 MiB alignment: compound pages, refused with the reason in the log
dax=$(reconfigure --mode=devdax --align=2M --map=mem) || fail "device DAX with --align=2M failed"
mkfs.umfs -q -f "$dax" || fail "mkfs.umfs on $dax (2M) failed"
kmod-func mount-refused "$dax" || fail "MOUNT of a 2 MiB-aligned device DAX was not refused"
dmesg | grep -q "umfs: $dax: alignment above 4 KiB" || fail "no reason for the refusal in the kernel log"
m=$(umfs-run --pool "$dax" --mode -- true 2>&1) || fail "umfs-run --mode: $m"
case "$m" in *"user space (software walk)"*) ;; *) fail "expected the software walk, got '$m'" ;; esac
head -c 3000000 /dev/urandom >$T/ref
umfs-run --pool "$dax" -- cp $T/ref /umfs/ref || fail "cp in software mode failed"
umfs-run --pool "$dax" -- cmp $T/ref /umfs/ref || fail "the copy differs"
m=$(umfs-run --pool "$dax" --kmod on -- true 2>&1) && fail "--kmod on did not fail: $m"
case "$m" in *"module mode"*"Operation not supported"*) ;; *) fail "--kmod on said: $m" ;; esac
kt_fsck_clean "$dax" || fail "fsck.umfs not clean (2M)"

kt_kernel_clean
rm -rf "$T"
echo "kmod-devdax: ok"
