#!/bin/bash
# kmod.sh - the kernel module's measurements, in the qemu guest:
# attach time against file size next to mmap(MAP_POPULATE) on ext4-DAX
# (kmod-bench) and fio psync 4 KiB random reads and writes in module mode
# against software mode (kmod-fio). Opt-in (`run.sh --only kmod`): it boots
# qemu under TCG for some minutes, and its figures are ratios within one
# guest run, not speeds (docs/kmod.md). Needs what tests/kmod/run.sh needs.
# Output: $BENCH_OUT/kmod/measure.txt (the guest's UMFS-MEASURE lines) and
# console.log.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/kmod
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
log "kmod: booting qemu for kmod-bench and kmod-fio"
rc=0
bash "$src/tests/kmod/run.sh" --build "$BENCH_BUILD" --tests kmod-bench,kmod-fio --keep \
	>"$out/run.log" 2>&1 || rc=$?
cp "$BENCH_BUILD/tests/kmod/console.log" "$out/console.log" 2>/dev/null || true
grep -a '^UMFS-MEASURE' "$out/run.log" >"$out/measure.txt" || true
[ $rc -eq 0 ] || { tail -n 20 "$out/run.log" >&2; die "kmod: the guest run failed ($rc)"; }
[ -s "$out/measure.txt" ] || die "kmod: the guest printed no measurements"
cat "$out/measure.txt" >&2
log "kmod: done"
