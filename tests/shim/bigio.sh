#!/usr/bin/env bash
# bigio.sh - file data from fresh processes (coldio.c): every step below runs
# in a new process on tmpfs and on UMFS, with the pool on 4 KiB pages, once
# as the library chooses (the kernel copies through the pool's descriptor
# for chunks the process has not mapped, and maps a chunk it keeps coming
# back to) and once with UMFS_COLDIO=0 (the mapping only); what the
# processes read back must be the same bytes. Large writes cross 2 MiB
# chunks unaligned, overwrite (copy-on-write and U-Log records), leave
# holes, fill holes below EOF and end mid-page; small ones make a chunk
# warm. Bad buffers get EFAULT or a short transfer, as on tmpfs, whichever
# path the read takes. The same steps again with the pool on 2 MiB pages (a
# tmpfs mounted huge=always, where small writes map their chunk at once
# and a stream of reads of 512 KiB or more stays on the descriptor as on
# 4 KiB pages), and
# under an RLIMIT_FSIZE below the pool offsets, set before the process
# starts and by the process itself: the kernel must never see a write to
# the pool file past it. Then the page faults of a new process reading or writing
# 64 MiB, per GiB: few with the descriptor, many through the mapping, and
# few for an append in 4 KiB writes, which stays on the descriptor.
POOL_SIZE=512M
. "$(dirname "$0")/lib.sh"

: "${SHIM_BIGIO:=$BUILDDIR/tests/shim/shim_bigio}"
ref=$work/ref
mkdir "$ref"
M=$((1 << 20))

steps() { # F: the file; prints what every read-back step prints
	local f=$1
	run write "$f" 0 $((24 * M)) $M 1
	run sum "$f" 0 $((64 * M)) $M
	run write "$f" $((3 * M + 123)) $((5 * M)) $((700 * 1024)) 2 # large overwrite
	run write "$f" $((6 * M - 5)) 3000 3000 3                  # small overwrite
	run write "$f" $((40 * M + 4095)) $((3 * M)) $M 4           # past EOF: a hole
	run write "$f" $((30 * M + 5)) 10000 10000 5                # into the hole
	run trunc "$f" $((41 * M + 77))
	run sum "$f" 0 $((64 * M)) $M
	run sum "$f" $((M - 3)) $((37 * M + 11)) $((128 * 1024))
	run sum "$f" $((2 * M - 4096)) $((3 * M)) 4096              # small reads: warm
	run write "$f" $((8 * M + 100)) $M 4096 6                   # small writes: warm
	run write "$f" $((41 * M)) $((5 * M + 1)) $((256 * 1024)) 7 # across old EOF
	run sum "$f" 0 $((64 * M)) $((64 * 1024))
	run sum "$f" $((30 * M)) $((M)) 512
	# one process reads a region until it is mapped for reading, writes
	# into it and reads it again
	run sum "$f" $((16 * M)) $((2 * M)) 4096 + write "$f" $((17 * M + 5)) 4096 4096 8 + \
		sum "$f" $((16 * M)) $((2 * M)) 4096 + sum "$f" $((17 * M)) 8192 512
	# bad buffers (EFAULT, or a short transfer) on every path a read takes:
	# a chunk the process has not mapped, a hole, a chunk mapped for reading
	run badbuf "$f" $((10 * M + 4096))
	run badbuf "$f" $((26 * M))
	run sum "$f" $((20 * M)) $((2 * M)) 4096 + badbuf "$f" $((21 * M + 8192))
	run sum "$f" 0 $((64 * M)) $M
}

run() { "$SHIM_BIGIO" "$@"; }
want=$(steps "$ref/f" 2>&1)
want_steps=$want
run() { shim "$SHIM_BIGIO" "$@"; }
got=$(steps /umfs/f 2>&1)
check "fresh processes read back what they wrote, as on tmpfs" "$want" "$got"
shim rm -f /umfs/f
got=$(UMFS_COLDIO=0 steps /umfs/f 2>&1)
check "the same through the mapping only (UMFS_COLDIO=0)" "$want" "$got"
check "the reference run read the sizes it should" \
	"25165824 42991693 38797323 3145728 48234497 1048576 2097152 2097152 8192 2097152 48234497" \
	"$(printf '%s\n' "$want" | awk '/^sum/ {printf "%s%s", s, $3; s = " "}')"
shim rm -f /umfs/f
check_fsck

# RLIMIT_FSIZE of 8 MiB: the file stays below it, the pool offsets and the
# library's own runtime files (made by each first process) do not.
lim_steps() {
	local f=$1
	(ulimit -S -f 8192 && run write "$f" 0 $((6 * M)) 4096 9) || echo "write under ulimit -f failed"
	run limit $((8 * M)) write "$f" $((6 * M)) $M 4096 10 || echo "write after setrlimit failed"
	run sum "$f" 0 $((8 * M)) $M
}
run() { "$SHIM_BIGIO" "$@"; }
want=$(lim_steps "$ref/lim" 2>&1)
run() { shim "$SHIM_BIGIO" "$@"; }
check "writes under RLIMIT_FSIZE below the pool offsets, as on tmpfs" "$want" \
	"$(lim_steps /umfs/lim 2>&1)"
# A hard limit below the runtime files: a clear error, never SIGXFSZ.
rc=0
(ulimit -f 8192 && shim "$SHIM_BIGIO" write /umfs/lim2 0 $M 4096 9) 2>"$work/lim.err" || rc=$?
check "under a hard RLIMIT_FSIZE below the runtime files: done, or EFBIG without a signal" yes \
	"$([ "$rc" = 0 ] || { [ "$rc" = 1 ] && grep -q 'File too large' "$work/lim.err"; } && echo yes)"
shim rm -f /umfs/lim /umfs/lim2

# The pool on 2 MiB pages, where that can be mounted (root).
hmnt=$work/huge
mkdir "$hmnt"
if mount -t tmpfs -o huge=always,size=600M,mode=700 umfs-bigio "$hmnt" 2>/dev/null; then
	trap '{ "$(dirname "$0")"/../pool/forget_rundirs.sh "$hmnt"; umount "$hmnt" 2>/dev/null || true; }; cleanup' EXIT
	"$MKFS" -q -f -s "$POOL_SIZE" "$hmnt/pool"
	got=$(UMFS_POOL=$hmnt/pool steps /umfs/f 2>&1)
	check "the same on a pool on 2 MiB pages" "$want_steps" "$got"
	# placed by the kernel (no reservation around it): on a 2 MiB
	# boundary, its pages mapped whole
	got=$(UMFS_POOL=$hmnt/pool shim python3 -c '
import os
os.pread(os.open("/umfs/f", os.O_RDONLY), 4096, 0)
lines = open("/proc/self/smaps").read().split("\n")
for i, l in enumerate(lines):
    if l.endswith("'"$hmnt/pool"'"):
        pmd = next(int(x.split()[1]) for x in lines[i:] if x.startswith("ShmemPmdMapped:"))
        print(int(l.split("-")[0], 16) % (2 << 20) == 0, pmd > 0)
        break
' 2>&1)
	check "the pool is mapped on a 2 MiB boundary, with 2 MiB pages" "True True" "$got"
	# a stream in 1 MiB reads: one pass maps none of a file written in
	# one stream, the fourth maps its chunks (MiB of the pool mapped with
	# 2 MiB pages; the chunks at either end hold less of the file, and
	# count less)
	UMFS_POOL=$hmnt/pool shim "$SHIM_BIGIO" write /umfs/seq 0 $((16 * M)) $M 12
	got=$(UMFS_POOL=$hmnt/pool shim python3 -c '
import os
def mapped():
    lines = open("/proc/self/smaps").read().split("\n")
    i = next(i for i, l in enumerate(lines) if l.endswith("'"$hmnt/pool"'"))
    return next(int(x.split()[1]) for x in lines[i:] if x.startswith("ShmemPmdMapped:")) >> 10
fd = os.open("/umfs/seq", os.O_RDONLY)
size, seen = os.fstat(fd).st_size, [mapped()]
for p in range(4):
    off = 0
    while off < size:
        off += len(os.pread(fd, 1 << 20, off))
    seen.append(mapped())
print(seen[1] - seen[0] <= 2, seen[4] - seen[0] >= (size >> 20) - 4, seen)
' 2>&1)
	check "one pass of 1 MiB reads stays on the descriptor, a fourth maps the file" \
		"True True" "${got% \[*}"
	UMFS_POOL=$hmnt/pool shim "$SHIM_BIGIO" write /umfs/app 0 $((16 * M)) 4096 11
	"$SHIM_BIGIO" write "$ref/app" 0 $((16 * M)) 4096 11
	check "a 4 KiB-write append on 2 MiB pages reads back" \
		"$("$SHIM_BIGIO" sum "$ref/app" 0 $((16 * M)) $M)" \
		"$(UMFS_POOL=$hmnt/pool shim "$SHIM_BIGIO" sum /umfs/app 0 $((16 * M)) $M)"
	"$FSCK" -n -f "$hmnt/pool" >"$work/fsck-huge.out" 2>&1 &&
		tail -n 1 "$work/fsck-huge.out" | grep -q ': clean$' ||
		{ echo "FAIL fsck of the 2 MiB-page pool"; cat "$work/fsck-huge.out"; failures=$((failures + 1)); }
	"$(dirname "$0")"/../pool/forget_rundirs.sh "$hmnt"
	rm -f "$hmnt/pool"
	umount "$hmnt"
else
	echo "skip the pool on 2 MiB pages: mounting a tmpfs needs root"
fi

# Faults are counted, not timed: the budget is 1,000 per GiB.
shim "$SHIM_BIGIO" write /umfs/big 0 $((64 * M)) $M 8
w=$(shim "$SHIM_BIGIO" wfaults /umfs/new $((64 * M)) $M)
r=$(shim "$SHIM_BIGIO" faults /umfs/big $M)
check "a new process writing 64 MiB: $w faults per GiB" yes "$([ "$w" -le 1000 ] && echo yes)"
check "a new process reading 64 MiB: $r faults per GiB" yes "$([ "$r" -le 1000 ] && echo yes)"
a=$(shim "$SHIM_BIGIO" wfaults /umfs/app4k $((64 * M)) 4096)
check "a new process appending 64 MiB in 4 KiB writes: $a faults per GiB" yes \
	"$([ "$a" -le 1000 ] && echo yes)"
m=$(UMFS_COLDIO=0 shim "$SHIM_BIGIO" faults /umfs/big $M)
check "through the mapping the count shows the faults ($m per GiB)" yes \
	"$([ "$m" -gt 10000 ] && echo yes)"
check_fsck

[ "$failures" -eq 0 ]
