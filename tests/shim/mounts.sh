#!/usr/bin/env bash
# mounts.sh - the mount table a program on the library reads: the kernel's
# lines unchanged, plus the UMFS prefix as a file system of type umfs with
# the pool as its source, which df, findmnt and stat -f then agree on.
. "$(dirname "$0")/lib.sh"

shim mkdir -p /umfs/d
check "df -T: the prefix, type umfs, the pool as source" \
	"$pool umfs /umfs" "$(shim df -T /umfs/d | awk 'NR == 2 {print $1, $2, $7}')"
# the same with a UMFS file open (a /proc path may then be a UMFS
# descriptor's link, and is looked at as one), and after it is closed
shim_sh 'echo x > /umfs/d/f'
check "df -T and mountinfo with a UMFS descriptor open, then after it closed" \
	"$pool umfs /umfs 1 $pool umfs /umfs 1" \
	"$(shim_sh 'exec 3</umfs/d/f; df -T /umfs/d | awk "NR == 2 {print \$1, \$2, \$7}"
		grep -c " /umfs " /proc/self/mountinfo; exec 3<&-
		df -T /umfs/d | awk "NR == 2 {print \$1, \$2, \$7}"
		grep -c " /umfs " /proc/self/mountinfo' | tr '\n' ' ' | sed 's/ $//')"
check "df lists the prefix among all file systems" \
	"1" "$(shim df -a -T 2>/dev/null | awk '$2 == "umfs" && $7 == "/umfs"' | wc -l)"
if command -v findmnt >/dev/null; then
	check "findmnt (libmount, open and read of mountinfo)" \
		"/umfs $pool umfs" "$(shim findmnt -n -o TARGET,SOURCE,FSTYPE /umfs | tr -s ' ')"
fi
# the device in the added mountinfo line is the one stat reports for UMFS paths
dev=$(shim stat -c '%Hd:%Ld' /umfs/d)
check "mountinfo's device is stat's st_dev" \
	"$dev" "$(shim awk '$5 == "/umfs" {print $3}' /proc/self/mountinfo)"
check "/proc/mounts and /etc/mtab carry the line" \
	"$pool /umfs umfs rw 0 0
$pool /umfs umfs rw 0 0" "$(shim cat /proc/mounts /etc/mtab | grep ' /umfs ')"
# every line the kernel has is still there, in order, before the added one
# (read again while other tests mount and unmount: the table must not
# have changed between the kernel's reading before and after the shim's)
for _ in $(seq 20); do
	kernel=$(awk '{print $5}' /proc/self/mountinfo | sort)
	seen=$(shim awk '$5 != "/umfs" {print $5}' /proc/self/mountinfo | sort)
	[ "$kernel" = "$(awk '{print $5}' /proc/self/mountinfo | sort)" ] && break
	sleep 0.1
done
check "the kernel's lines are untouched" "$kernel" "$seen"
# without the library's pool nothing is added
check "a program outside the library sees the kernel's table" \
	"0" "$(grep -c ' /umfs umfs ' /proc/mounts || true)"
finish
