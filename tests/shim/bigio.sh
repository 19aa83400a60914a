#!/usr/bin/env bash
# bigio.sh - file data from fresh processes (coldio.c): every step below runs
# in a new process on tmpfs and on UMFS, with the pool on 4 KiB pages, once
# as the library chooses (the kernel copies through the pool's descriptor
# for chunks the process has not mapped, and maps a chunk it keeps coming
# back to) and once with UMFS_COLDIO=0 (the mapping only); what the
# processes read back must be the same bytes. Large writes cross 2 MiB
# chunks unaligned, overwrite (copy-on-write and U-Log records), leave
# holes, fill holes below EOF and end mid-page; small ones make a chunk
# warm. Then the page faults of a new process reading or writing 64 MiB,
# per GiB: few with the descriptor, many through the mapping.
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
}

run() { "$SHIM_BIGIO" "$@"; }
want=$(steps "$ref/f" 2>&1)
run() { shim "$SHIM_BIGIO" "$@"; }
got=$(steps /umfs/f 2>&1)
check "fresh processes read back what they wrote, as on tmpfs" "$want" "$got"
shim rm -f /umfs/f
got=$(UMFS_COLDIO=0 steps /umfs/f 2>&1)
check "the same through the mapping only (UMFS_COLDIO=0)" "$want" "$got"
check "the reference run read the sizes it should" \
	"25165824 42991693 38797323 3145728 48234497 1048576" \
	"$(printf '%s\n' "$want" | awk '/^sum/ {printf "%s%s", s, $3; s = " "}')"
shim rm -f /umfs/f
check_fsck

# Faults are counted, not timed: the budget is 1,000 per GiB.
shim "$SHIM_BIGIO" write /umfs/big 0 $((64 * M)) $M 8
w=$(shim "$SHIM_BIGIO" wfaults /umfs/new $((64 * M)) $M)
r=$(shim "$SHIM_BIGIO" faults /umfs/big $M)
check "a new process writing 64 MiB: $w faults per GiB" yes "$([ "$w" -le 1000 ] && echo yes)"
check "a new process reading 64 MiB: $r faults per GiB" yes "$([ "$r" -le 1000 ] && echo yes)"
m=$(UMFS_COLDIO=0 shim "$SHIM_BIGIO" faults /umfs/big $M)
check "through the mapping the count shows the faults ($m per GiB)" yes \
	"$([ "$m" -gt 10000 ] && echo yes)"
check_fsck

[ "$failures" -eq 0 ]
