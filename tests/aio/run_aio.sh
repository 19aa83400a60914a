#!/bin/bash
# SPDX-License-Identifier: MIT
# run_aio.sh MODE BUILDDIR - aio_exer (POSIX AIO, libaio, io_uring against a
# model) on MODE (tmpfs: the model's own check; shim; fuse), two seeds; the
# second file of each run is the kernel's (on the scratch directory), so
# that batches mix UMFS and kernel requests. After a UMFS run the pool is
# unmounted and fsck.umfs -n -f must find it clean. Under the library, no
# request may be refused: the log must hold no "refused" line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: $0 tmpfs|shim|fuse BUILDDIR}
. "$here/../posix/frontend.sh" "$mode" "${2:?usage: $0 MODE BUILDDIR}"

exer=$FE_BUILD/tests/aio/aio_exer
[ -x "$exer" ] || { echo "FAIL: $exer was not built"; exit 1; }
fe_require

pass=0
fail=0
fe_start
export UMFS_LOG_FILE=$FE_TMP/umfs.log
for seed in ${AIO_SEEDS:-1 2}; do
	what="seed $seed, ${AIO_OPS:-1500} requests per engine"
	if "${FE_RUN[@]}" "$exer" "$FE_ROOT/aio-$seed" "$FE_TMP/kernel-$seed" --seed "$seed" \
		--ops "${AIO_OPS:-1500}" >"$FE_TMP/aio.out" 2>&1; then
		pass=$((pass + 1))
		echo "ok - $what"
		sed 's/^/# /' "$FE_TMP/aio.out"
	else
		fail=$((fail + 1))
		echo "not ok - $what"
		sed 's/^/# /' "$FE_TMP/aio.out"
	fi
done
if [ -s "$UMFS_LOG_FILE" ] && grep -q refused "$UMFS_LOG_FILE"; then
	fail=$((fail + 1))
	echo "not ok - requests refused:"
	sed 's/^/# /' "$UMFS_LOG_FILE"
fi
if [ "$mode" != tmpfs ]; then
	if fe_stop && fe_fsck >"$FE_TMP/fsck.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok - fsck.umfs -n -f: clean"
	else
		fail=$((fail + 1))
		echo "not ok - fsck.umfs -n -f"
		cat "$FE_TMP/fsck.log"
	fi
fi
fe_stop || true
echo "aio: $pass passed, $fail failed"
[ "$fail" = 0 ]
