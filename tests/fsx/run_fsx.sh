#!/bin/bash
# SPDX-License-Identifier: MIT
# run_fsx.sh MODE BUILDDIR [strict|relaxed] - umfs_fsx, several seeds, on
#
#   MODE tmpfs  a tmpfs: the check that the model is right (ZERO_RANGE is
#               refused there, and done as a punch and an extension)
#   MODE shim   a fresh pool under the LD_PRELOAD library
#   MODE fuse   a fresh pool mounted with umfs-fuse (77 without /dev/fuse)
#
# in the consistency mode given (UMFS_CONSISTENCY; the pool's default
# without one). Each seed runs once with files up to 256 KiB and once with
# files up to 8 MiB, whose operations cross 2 MiB regions; after each, the
# pool is unmounted and fsck.umfs -n -f must find it clean. 20,000
# operations a seed (2,000 of 8 MiB), 10,000 (1,000) on umfs-fuse.
# UMFS_TEST_FULL=1
# makes it a million operations (and 100,000 of 8 MiB) on one seed;
# FSX_SEEDS="S..." and FSX_OPS=N choose other seeds and counts. The last
# line is "fsx: N passed, M failed"; exit 1 when M > 0.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: $0 tmpfs|shim|fuse BUILDDIR [strict|relaxed]}
consistency=${3:-}
. "$here/../posix/frontend.sh" "$mode" "${2:?usage: $0 MODE BUILDDIR}"

fsx=$FE_BUILD/tests/fsx/umfs_fsx
[ -x "$fsx" ] || { echo "FAIL: $fsx was not built"; exit 1; }
fe_require
[ -z "$consistency" ] || export UMFS_CONSISTENCY=$consistency

if [ -n "${UMFS_TEST_FULL:-}" ]; then
	seeds=${FSX_SEEDS:-20261122}
	ops=${FSX_OPS:-1000000}
	ops_large=${FSX_OPS:-100000}
else
	seeds=${FSX_SEEDS:-1 2 3}
	# umfs-fuse's runs are half as long: each call is a request, two
	# context switches, and under them the core runs the shim's paths,
	# which the shim's runs take at full length
	n=20000
	[ "$mode" = fuse ] && n=10000
	ops=${FSX_OPS:-$n}
	ops_large=${FSX_OPS:-$((n / 10))}
fi
refuse=collapse,insert
[ "$mode" = tmpfs ] && refuse=zero,collapse,insert

pass=0
fail=0
fe_start
for seed in $seeds; do
	for size in 256K 8M; do
		n=$ops
		[ "$size" = 8M ] && n=$ops_large
		what="seed $seed, $n operations, files up to $size"
		if "${FE_RUN[@]}" "$fsx" "$FE_ROOT/fsx-$seed-$size" --seed "$seed" --ops "$n" \
			--size "$size" --mmap --refuse "$refuse" >"$FE_TMP/fsx.out" 2>&1; then
			pass=$((pass + 1))
			echo "ok - $what: $(sed -n 's/.*: ok in /ok in /p' "$FE_TMP/fsx.out")"
		else
			fail=$((fail + 1))
			echo "not ok - $what"
			sed 's/^/# /' "$FE_TMP/fsx.out"
		fi
		[ "$mode" = tmpfs ] && continue
		if fe_stop && fe_fsck >"$FE_TMP/fsck.log" 2>&1; then
			pass=$((pass + 1))
			echo "ok - fsck.umfs -n -f: clean"
		else
			fail=$((fail + 1))
			echo "not ok - fsck.umfs -n -f after $what"
			cat "$FE_TMP/fsck.log"
		fi
		fe_remount
	done
done
fe_stop || true
echo "fsx: $pass passed, $fail failed"
[ "$fail" = 0 ]
