#!/usr/bin/env bash
# longsteps.sh - a long change lets other processes' metadata calls in
# between its transactions: one process fallocates 2 GiB (a few seconds
# of zeroing) while another stats a file every 200 µs (shim_statlat). No
# stat may take 1 s (each transaction maps 16 MiB, and a waiting process
# goes first at each unlock: 140 to 250 ms at worst here, with the kernel
# giving the pool's pages their first touch; a fallocate that held the
# lock throughout kept a stat waiting 7.7 s), the file must read as zeros
# of the right size, and the pool must check clean. A third process
# creates and unlinks a file meanwhile, which takes the library's pool
# lock: a fallocate of a file nobody maps leaves that lock alone, so no
# create may wait half as long as the fallocate takes (22-48 ms here; the
# whole fallocate, 1.1-1.6 s, when it held the pool lock). Then again with
# the file mapped by another process: the fallocate then takes the pool
# lock, and lets it go between 16 MiB steps. Last, the first mapping of a
# sparse file, whose reserve of the holes' pages goes in steps too.
POOL_SIZE=3G
. "$(dirname "$0")/lib.sh"

: "${SHIM_STATLAT:=$BUILDDIR/tests/shim/shim_statlat}"

shim touch /umfs/s
shim "$SHIM_STATLAT" /umfs/s 6 >"$work/lat" &
lat=$!
shim "$SHIM_STATLAT" /umfs/c 6 create >"$work/clat" &
clat=$!
sleep 0.5
t0=$(date +%s%N)
shim fallocate -l 2G /umfs/big
took=$((($(date +%s%N) - t0) / 1000000))
wait "$lat" "$clat"
read -r calls worst <"$work/lat"
read -r ccalls cworst <"$work/clat"
echo "  fallocate $took ms; $calls stat calls, the longest $worst ms; $ccalls creates, the longest $cworst ms"
check "no stat waits 1 s for a 2 GiB fallocate" yes "$([ "$worst" -lt 1000 ] && echo yes || echo "no: $worst ms")"
check "the stats went on meanwhile" yes "$([ "$calls" -gt 100 ] && echo yes || echo "no: $calls")"
check_half_wait "no create waits half the fallocate" "$cworst" "$took"
check "the creates went on meanwhile" yes "$([ "$ccalls" -gt 100 ] && echo yes || echo "no: $ccalls")"
check "the fallocated file's size" 2147483648 "$(shim stat -c %s /umfs/big)"
check "its bytes are zeros" "$(head -c 4096 /dev/zero | md5sum)" \
	"$(shim dd if=/umfs/big bs=4096 skip=300000 count=1 status=none | md5sum)"
shim rm /umfs/big

# Again with the file mapped MAP_SHARED by another process: its fallocate
# then takes the pool lock, to keep the host file in step, and lets it go
# between 16 MiB steps, so that no create waits half the fallocate (the
# whole of it when it held the lock throughout). The mapping keeps its
# store, and the file reads as zeros past it, at the new size.
printf 'STORE' | shim dd of=/umfs/m status=none
shim python3 -c '
import mmap, os, sys, time
fd = os.open("/umfs/m", os.O_RDWR)
m = mmap.mmap(fd, 0)
m[0:5] = b"MAPPD"
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
print(m[0:5].decode())' "$work/mapped" "$work/unmap" >"$work/mapper" &
mapper=$!
while [ ! -e "$work/mapped" ] && kill -0 "$mapper" 2>/dev/null; do sleep 0.01; done
shim "$SHIM_STATLAT" /umfs/c 4 create >"$work/clat" &
clat=$!
sleep 0.5
took=$(shim python3 -c '
import os, time
fd = os.open("/umfs/m", os.O_RDWR)
t = time.monotonic()
os.posix_fallocate(fd, 0, 1 << 30)
print(int((time.monotonic() - t) * 1000))')
wait "$clat"
read -r ccalls cworst <"$work/clat"
echo "  fallocate of a mapped file $took ms; $ccalls creates, the longest $cworst ms"
check_half_wait "no create waits half the fallocate of a mapped file" "$cworst" "$took"
check "the mapped file's size and bytes" "1073741824 MAPPD $(head -c 4096 /dev/zero | md5sum)" \
	"$(shim stat -c %s /umfs/m) $(shim head -c 5 /umfs/m) \
$(shim dd if=/umfs/m bs=4096 skip=200000 count=1 status=none | md5sum)"
shim truncate -s 5 /umfs/m

# Killed (SIGKILL) 100 to 310 ms after it starts (its start and a
# fallocate of 256 MiB take 200-300 ms here), a fallocate leaves the file
# as before it or as after it: the size old or new, the store, and zeros
# past it; how much it allocated shows how far it got.
kills=
for i in 0 1 2 3 4 5 6 7; do
	LD_PRELOAD=$SHIM_LIB python3 -c '
import os
fd = os.open("/umfs/m", os.O_RDWR)
os.posix_fallocate(fd, 0, 256 << 20)' &
	falloc=$!
	sleep "0.$((10 + i * 3))"
	kill -9 "$falloc" 2>/dev/null || true
	wait "$falloc" 2>/dev/null || true
	got=$(shim stat -c %s:%b /umfs/m)
	kills="$kills ${got%:*}:$(shim head -c 5 /umfs/m):$(shim tail -c +6 /umfs/m | tr -d '\0' | wc -c)"
	echo "  killed after $((100 + i * 30)) ms: size ${got%:*}, $((${got#*:} / 2048)) MiB allocated"
	shim truncate -s 5 /umfs/m
done
check "a fallocate killed amid its steps leaves before or after" "" \
	"$(tr ' ' '\n' <<<"$kills" | grep -vE '^$|^(5|268435456):MAPPD:0$' || true)"

# A truncate that comes between two steps stands, as one after the call
# would: the steps below the first keep the size.
truncs=
for i in 1 2 3; do
	LD_PRELOAD=$SHIM_LIB python3 -c '
import os
fd = os.open("/umfs/m", os.O_RDWR)
os.posix_fallocate(fd, 0, 256 << 20)' &
	falloc=$!
	until [ "$(shim stat -c %s /umfs/m)" = 268435456 ]; do :; done
	shim truncate -s 5 /umfs/m
	wait "$falloc"
	got=$(shim stat -c %s:%b /umfs/m)
	truncs="$truncs ${got%:*}"
	echo "  truncated amid a fallocate: size ${got%:*}, $((${got#*:} / 2048)) MiB allocated"
done
check "a truncate amid a fallocate's steps stands" " 5 5 5" "$truncs"
touch "$work/unmap"
wait "$mapper"
check "the mapping kept its store" MAPPD "$(cat "$work/mapper")"

# The first MAP_SHARED mapping of a 2 GiB sparse file takes the pages of
# its holes in the host file (80-100 ms a GiB here) and lets the pool
# lock go between 16 MiB steps: no create waits half the mmap (the whole
# of it when the reserve held the lock throughout). A store on its last
# page reads back through read(), the rest as zeros.
shim truncate -s 2G /umfs/sparse
shim "$SHIM_STATLAT" /umfs/c 3 create >"$work/clat" &
clat=$!
sleep 0.5
read -r took back < <(shim python3 -c '
import mmap, os, time
fd = os.open("/umfs/sparse", os.O_RDWR)
t = time.monotonic()
m = mmap.mmap(fd, 2 << 30)
took = int((time.monotonic() - t) * 1000)
m[-5:] = b"LASTP"
m.close()
print(took, os.pread(fd, 5, (2 << 30) - 5).decode())')
wait "$clat"
read -r ccalls cworst <"$work/clat"
echo "  mmap of a 2 GiB sparse file $took ms; $ccalls creates, the longest $cworst ms"
check_half_wait "no create waits half the mmap of a sparse file" "$cworst" "$took"
check "its last page's store, zeros before it" "LASTP $(head -c 4096 /dev/zero | md5sum)" \
	"$back $(shim dd if=/umfs/sparse bs=4096 skip=100000 count=1 status=none | md5sum)"
shim rm /umfs/sparse
finish
