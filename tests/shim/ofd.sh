#!/usr/bin/env bash
# ofd.sh - open file descriptions in the shared arena (ofd_slot.c): many
# files created, listed, stat'ed and removed as on tmpfs; a slot shared with
# a child (fork, popen) is never reused while the child holds it; descriptor
# numbers (with parked ones) as the kernel gives them; the slots of holders
# killed with SIGKILL are reclaimed.
. "$(dirname "$0")/lib.sh"

ref=$work/ref
mkdir "$ref"
want=$("$SHIM_OFD" tree "$ref/t" 10000 2>&1) || true
out=$(shim "$SHIM_OFD" tree /umfs/t 10000 2>&1) || true
check "10000 files: create, readdir, stat, read, unlink as on tmpfs" \
	"$(printf '%s' "$want" | md5sum)" "$(printf '%s' "$out" | md5sum)"
check "10000 files: the reference run is sane" "stat 10000 files, 48890 bytes" \
	"$(printf '%s\n' "$want" | grep '^stat 1')"

out=$("$SHIM_OFD" reuse "$ref" 2>&1) || true
check "tmpfs: fork, close, open" "reuse: ok" "$out"
out=$(shim "$SHIM_OFD" reuse /umfs 2>&1) || true
check "a slot a forked child holds is not reused" "reuse: ok" "$out"

out=$("$SHIM_OFD" popen "$ref" 2>&1) || true
check "tmpfs: popen, close, open" "popen: ok" "$out"
out=$(shim "$SHIM_OFD" popen /umfs 2>&1) || true
check "a slot a popen() child holds is not reused" "popen: ok" "$out"

# Descriptor numbers: a closed UMFS number may stay open, parked, for the
# next open; every other maker of descriptors still gets the lowest free
# number, and every use of the closed number answers EBADF, as on tmpfs.
want=$("$SHIM_FDNUM" "$ref" 2>&1) || true
out=$(shim "$SHIM_FDNUM" /umfs 2>&1) || true
check "descriptor numbers and closed descriptors as on tmpfs" "$want" "$out"
out=$(shim "$SHIM_FDNUM" parked /umfs 2>&1) || true
check "a closed number stays open, parked, and 1000 opens take it back" \
	"closed number held by the kernel: yes
opens that took it back: 1000" "$out"
check "descriptor numbers: the reference run is sane" "3 0 3" \
	"$(printf '%s\n' "$want" | awk -F': ' '/^(pipe after a close|socket at the limit|child status)/ {printf "%s ", $2}' | sed 's/ $//')"

# Holders killed without their exit handlers leave their slots marked
# used; a claim that finds no free slot probes the used ones (once the
# arena has grown past 64 slots) and takes the dead holders' slots back,
# so the tokens stop piling up.
tokens() {
	find "$(pool_rundir)"/shim/ofd -mindepth 1 -maxdepth 1 -type d | wc -l
}
for i in $(seq 1 100); do
	shim_sh "exec 3>/umfs/k$i; echo $i >&3; kill -9 \$\$" >/dev/null 2>&1 || true
done
n=$(tokens)
check "100 holders killed: their slots reclaimed (tokens: $n)" "yes" \
	"$([ "$n" -ge 1 ] && [ "$n" -le 66 ] && echo yes || echo no)"
check "100 holders killed: their files written" "100" "$(shim cat /umfs/k100)"

finish
