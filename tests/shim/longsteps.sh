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
# whole fallocate, 1.1-1.6 s, when it held the pool lock).
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
finish
