#!/bin/busybox sh
# /init of the qemu test guest (busybox sh). Loads the NVDIMM stack, puts the
# namespaces in fsdax mode with struct pages (once: on later boots the info
# block is already there, and the pool must survive), runs the guest tests
# named by umfs.tests= on the kernel command line, prints one result line
# per test and then dmesg, and powers off.
#
# /bin/sh in the guest is dash, as on Debian (dynamic, so the shim sees the
# scripts programs start); this runs under busybox.
#
# Result lines, parsed by run.sh:
#   UMFS-TEST PASS name | UMFS-TEST FAIL name: why | UMFS-TEST SKIP name: why
# Every umfs.KEY=VALUE on the command line reaches the tests as
# UMFS_OPT_KEY=VALUE (upper case, '.' and '-' become '_').

export PATH=/opt/umfs/tests/bin:/opt/umfs/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /umfs /mnt/dax
# fsck.umfs -n maps the whole pool copy-on-write: as large as guest RAM
echo 1 >/proc/sys/vm/overcommit_memory

say() { echo "umfs-init: $*"; }

tests=""
test_timeout=600
for word in $(cat /proc/cmdline); do
	case "$word" in
	umfs.*=*)
		key=${word%%=*}
		key=$(echo "${key#umfs.}" | tr 'a-z.-' 'A-Z__')
		export "UMFS_OPT_$key=${word#*=}"
		;;
	esac
done
tests=$(echo "${UMFS_OPT_TESTS:-}" | tr ',' ' ')
[ -n "${UMFS_OPT_TIMEOUT:-}" ] && test_timeout=$UMFS_OPT_TIMEOUT

while read -r ko; do
	insmod "$ko" || say "insmod $ko failed"
done </etc/umfs/modules

# Region probing is asynchronous: wait for the namespaces to appear.
i=0
while [ ! -e /sys/bus/nd/devices/namespace0.0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

# fsdax with the memmap in RAM (--map=mem): the module needs struct pages
# in the direct map. umfs.ndmode=devdax makes the pool NVDIMM (the first)
# a device DAX instead (4 KiB aligned, as the module needs): user space
# then maps the NVDIMM itself, where a mapping of /dev/pmemN goes through
# the page cache. Reconfigure only a namespace not yet in its mode: doing it
# again would wipe the pool.
first_ns=""
first_addr=""
for ns in /sys/bus/nd/devices/namespace*.0; do
	[ -e "$ns" ] || continue
	name=${ns##*/}
	region=${name#namespace}
	addr=$(($(cat "/sys/bus/nd/devices/region${region%.0}/resource")))
	if [ -z "$first_addr" ] || [ "$addr" -lt "$first_addr" ]; then
		first_ns=$name first_addr=$addr
	fi
done
for ns in /sys/bus/nd/devices/namespace*.0; do
	[ -e "$ns" ] || continue
	name=${ns##*/}
	mode=fsdax
	[ "$name" = "$first_ns" ] && mode=${UMFS_OPT_NDMODE:-fsdax}
	if ! ndctl list -n "$name" 2>/dev/null | grep -q "\"mode\":\"$mode\""; then
		say "$name: creating the $mode namespace"
		align=""
		[ "$mode" = devdax ] && align=--align=4K
		ndctl create-namespace -f -e "$name" --mode="$mode" --map=mem $align >/tmp/ndctl.log 2>&1 ||
			{ say "$name: ndctl create-namespace failed"; cat /tmp/ndctl.log; }
	fi
done
mdev -s 2>/dev/null || true

# The pool is on the first NVDIMM (lowest physical address, qemu's nv1);
# the second, if any, is for ext4 -o dax. The kernel's numbering of regions
# does not follow qemu's order, hence the addresses.
for ns in /sys/bus/nd/devices/namespace*.0; do
	[ -e "$ns" ] || continue
	name=${ns##*/}
	json=$(ndctl list -n "$name")
	dev=/dev/$(echo "$json" | sed -n 's/.*"\(blockdev\|chardev\)":"\([^"]*\)".*/\2/p' | head -n 1)
	if [ "$name" = "$first_ns" ]; then
		export UMFS_POOL_DEV=$dev UMFS_POOL_NS=$name
	else
		export UMFS_DAX_DEV=$dev
	fi
done
[ -f /opt/umfs/lib/umfs.ko ] && export UMFS_KO=/opt/umfs/lib/umfs.ko
export UMFS_TESTS=/opt/umfs/tests UMFS_LIB=/opt/umfs/lib/libumfs.so
say "pool ${UMFS_POOL_DEV:-none} (${UMFS_POOL_NS:-}, ${UMFS_OPT_NDMODE:-fsdax})," \
	"dax ${UMFS_DAX_DEV:-none}, module ${UMFS_KO:-none}, $(nproc) cpus"
say "ready at $(cut -d' ' -f1 /proc/uptime)"

for name in $tests; do
	script=$UMFS_TESTS/$name.sh
	if [ ! -f "$script" ]; then
		echo "UMFS-TEST FAIL $name: no test $script in the initramfs"
		continue
	fi
	say "running $name"
	start=$(date +%s)
	# In its own session, so that a time-out kills everything it started;
	# its output goes to a file, copied to the console as it grows (a pipe
	# would keep the loop waiting on any child still holding it).
	log=/tmp/$name.log
	: >"$log"
	(cd /tmp && exec setsid "$script") >"$log" 2>&1 </dev/null &
	pid=$!
	# GNU tail (busybox sh would run its own applet): with --pid it reads
	# the log once more after the test is gone, then exits. Busybox's tail
	# polls every second and had to be killed, which lost the test's last
	# lines (its results) when they came in that second.
	gnutail=0
	if [ -x /usr/bin/tail ]; then
		/usr/bin/tail -f -s 0.2 --pid="$pid" "$log" &
		gnutail=1
	else
		tail -f "$log" &
	fi
	tailpid=$!
	# the watchdog kills the test's whole session when time is up
	rm -f /tmp/timed-out
	(sleep "$test_timeout"; touch /tmp/timed-out; kill -9 -- "-$pid") 2>/dev/null &
	wdpid=$!
	rc=0
	wait "$pid" || rc=$?
	kill "$wdpid" 2>/dev/null || true
	[ -e /tmp/timed-out ] && rc=124
	if [ $gnutail -eq 1 ]; then
		# it exits by itself within 0.2 s; the kill only guards a hang
		(sleep 5; kill "$tailpid") 2>/dev/null &
		guard=$!
		wait "$tailpid" 2>/dev/null || true
		kill "$guard" 2>/dev/null || true
	else
		sleep 1.2 # one poll of busybox's tail
		kill "$tailpid" 2>/dev/null || true
		wait "$tailpid" 2>/dev/null || true
	fi
	why=$(grep -v '^UMFS-MEASURE' "$log" | grep . | tail -n 1 | cut -c1-200)
	secs=$(($(date +%s) - start))
	case "$rc" in
	0) echo "UMFS-TEST PASS $name (${secs}s)" ;;
	77) echo "UMFS-TEST SKIP $name: $why" ;;
	124) echo "UMFS-TEST FAIL $name: timed out after ${test_timeout}s" ;;
	*) echo "UMFS-TEST FAIL $name: exit $rc: $why" ;;
	esac
done

echo "UMFS-DMESG-BEGIN"
dmesg
echo "UMFS-DMESG-END"
echo "UMFS-DONE"
sync
poweroff -f
