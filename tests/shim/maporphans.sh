#!/usr/bin/env bash
# maporphans.sh - host files behind MAP_SHARED mappings that a process
# killed with SIGKILL left: the next lone process writes their stores
# back, once, from the difference to their base; a host file without a
# base is one no mapping could store to, and is not written back, unless
# an older library (shared area of an older version) left it, which made
# no bases: then all of it goes back.
. "$(dirname "$0")/lib.sh"

# map_and_die NAME MODE TEXT: a process under the library maps /umfs/NAME
# (MODE rw: stores TEXT at byte 100; ro: read-only), then is killed
map_and_die() {
	rm -f "$work/ready"
	LD_PRELOAD=$SHIM_LIB python3 -c '
import mmap, os, sys, time
name, mode, text, ready = sys.argv[1:]
if mode == "rw":
    fd = os.open("/umfs/" + name, os.O_RDWR)
    m = mmap.mmap(fd, 8192)
    m[100:100 + len(text)] = text.encode()
else:
    fd = os.open("/umfs/" + name, os.O_RDONLY)
    m = mmap.mmap(fd, 8192, prot=mmap.PROT_READ)
open(ready, "w").close()
time.sleep(60)' "$1" "$2" "$3" "$work/ready" &
	local pid=$! i
	for i in $(seq 200); do
		[ -e "$work/ready" ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
}

at100() { shim dd if="/umfs/$1" bs=1 skip=100 count=5 status=none; }
helper() { ls "$(pool_rundir)/shim" | grep -E '^mapb?-' | sort | tr '\n' ' '; }

for f in a b c; do
	shim dd if=/dev/zero of="/umfs/$f" bs=8192 count=1 status=none
done

map_and_die a rw STORE
check "a killed mapper left its host file and its base" "2" "$(helper | wc -w)"
check "its stores go back at the next lone process" "STORE" "$(at100 a)"
check "and its host file and base go" "" "$(helper)"

map_and_die b ro ""
check "a killed read-only mapper left a host file, no base" "1" "$(helper | wc -w)"
host=$(pool_rundir)/shim/$(helper | tr -d ' ')
printf PLANT | dd of="$host" bs=1 seek=100 conv=notrunc status=none
check "a host file no mapping could store to is not written back" \
	"$(printf '\0\0\0\0\0' | od -An -c)" "$(at100 b | od -An -c)"
check "and goes" "" "$(helper)"

# as an older library leaves it: no base, the area's version before 10
map_and_die c rw OLDER
rm -f "$(pool_rundir)"/shim/mapb-*
printf '\011\000\000\000' | dd of="$(pool_rundir)/shim/shared" bs=1 seek=8 conv=notrunc status=none
check "an older library's host file goes back whole" "OLDER" "$(at100 c)"
check "and goes" "" "$(helper)"

finish
