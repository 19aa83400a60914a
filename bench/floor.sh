#!/bin/bash
# floor.sh - the floor beside every 4 KiB write and read figure: what such
# a write or read cannot cost less than on the memory the systems keep data
# in, measured in the same run as the figures (bench/floor, floor.c): a
# memcpy into a mapped file (a kernel tmpfs write's copy), the durable copy
# libumfs.so makes (the core's non-temporal copy and a fence; and memcpy +
# clwb + fence), an undo-logged overwrite (old 4 KiB copied durably and
# fenced, then the new 4 KiB, fenced), and a memcpy out of the mapped file
# (the copy of any read). On both placements of a pool: a file in /dev/shm
# (4 KiB pages) and one on a tmpfs mounted huge=always (2 MiB pages), each
# FILE_MB (fio's file size) allocated and touched before it is timed.
# Beside each floor, the core's own 4 KiB random overwrite of a file of
# that size in a pool at the same placement (bench/overwrite_bench: strict
# with its page swap, strict by the undo path, relaxed), on pages already
# touched, as the floors are.
# Output: $BENCH_OUT/floor/floor.csv      placement,op,pattern,ns
#         $BENCH_OUT/floor/overwrite.csv  placement,mode,ns
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/floor
mkdir -p "$out"
if [ "$BENCH_MODE" = full ]; then rounds=7; else rounds=3; fi
csv=$out/floor.csv
ocsv=$out/overwrite.csv
echo "placement,op,pattern,ns" >"$csv"
echo "placement,mode,ns" >"$ocsv"
for placement in shm huge; do
	if [ "$placement" = shm ]; then
		file=$BENCH_SHM-floor
	else
		# room for overwrite_bench's pool: the file, a quarter more, 64 MiB
		file=$(huge_mount floor "$((FILE_MB * 5 / 4 + 72))M")/floor
	fi
	timeout 300 "$FLOOR" run "$file" "$FILE_MB" "$rounds" >"$BENCH_TMP/floor.out" ||
		die "floor failed on $placement"
	[ "$(wc -l <"$BENCH_TMP/floor.out")" -eq 10 ] || die "floor printed no results on $placement"
	sed "s/^/$placement,/" "$BENCH_TMP/floor.out" >>"$csv"
	rm -f "$file"
	timeout 300 "$OVERWRITE" -c -s "${FILE_MB}M" -p "$file.pool" >"$BENCH_TMP/overwrite.out" ||
		die "overwrite_bench failed on $placement"
	[ "$(grep -Ec '^(strict|undo|relaxed),[0-9.]+$' "$BENCH_TMP/overwrite.out")" -eq 3 ] ||
		die "overwrite_bench printed no results on $placement"
	sed "s/^/$placement,/" "$BENCH_TMP/overwrite.out" >>"$ocsv"
	rm -f "$file.pool"
	log "floor: $placement done"
done
log "floor: done"
