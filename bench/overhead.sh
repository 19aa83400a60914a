#!/bin/bash
# overhead.sh - measurement 4: per-call overhead.
#  - fio's null engine (no I/O at all): the floor of fio's own cost per I/O;
#  - bench/pread_overhead: a 4 KiB read minus a bare 4 KiB memcpy from the
#    mapped backing store, through the UMFS C API, through the shim (strict
#    and relaxed pools) and through the kernel (tmpfs, ext4).
# Output: $BENCH_OUT/overhead/null.json, $BENCH_OUT/overhead/pread.csv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

out=$BENCH_OUT/overhead
mkdir -p "$out"
prog=$BENCH_BUILD/bench/pread_overhead
[ -x "$prog" ] || die "missing $prog"

nulljobs=()
for rep in $(seq "$REPS"); do
	nulljobs+=(--name="null.$rep" --stonewall --new_group)
done
fio --output-format=json --output="$out/null.json" --ioengine=null --rw=randread --bs=4k \
	--size="$FILE_SIZE" --time_based --runtime="$RUNTIME" "${nulljobs[@]}" ||
	die "fio null engine failed"

csv=$out/pread.csv
echo "system,interface,pattern,read_ns,memcpy_ns,overhead_ns" >"$csv"
for sys in umfs-strict umfs-relaxed tmpfs ext4; do
	case " $(bench_systems) " in *" $sys "*) ;; *) continue ;; esac
	sys_up "$sys"
	dir=$(sys_dir "$sys")
	tmp=$BENCH_TMP/pread.out
	: >"$tmp"
	case $sys in
	umfs-*)
		if [ "$sys" = umfs-strict ]; then
			"$prog" api "${SYS_POOL[$sys]}" >>"$tmp" || die "pread_overhead api failed"
		fi
		sys_run "$sys" "$prog" posix "$dir/overhead" "${SYS_POOL[$sys]}" shim >>"$tmp" ||
			die "pread_overhead failed on $sys"
		;;
	*)
		"$prog" posix "$dir/overhead" "$dir/overhead" kernel >>"$tmp" ||
			die "pread_overhead failed on $sys"
		;;
	esac
	sed "s/^/$sys,/" "$tmp" >>"$csv"
	sys_down "$sys"
done
log "overhead: done"
