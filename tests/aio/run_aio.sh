#!/bin/bash
# SPDX-License-Identifier: MIT
# run_aio.sh MODE BUILDDIR - aio_exer (POSIX AIO, libaio, io_uring against a
# model) on MODE (tmpfs: the model's own check; shim; fuse), two seeds; the
# second file of each run is the kernel's (on the scratch directory), so
# that batches mix UMFS and kernel requests. Then uring_fixed: io_uring's
# fixed files, whose transcript must equal the one on a tmpfs reference;
# under the library also the refusals (uring_fixed checks each CQE), with
# exactly one warn line per reason in the log, naming the program. After a
# UMFS run the pool is unmounted and fsck.umfs -n -f must find it clean.
# Under the library, no other request may be refused: the log must hold no
# "refused" line before the refusals.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: $0 tmpfs|shim|fuse BUILDDIR}
. "$here/../posix/frontend.sh" "$mode" "${2:?usage: $0 MODE BUILDDIR}"

exer=$FE_BUILD/tests/aio/aio_exer
fixed=$FE_BUILD/tests/aio/uring_fixed
for p in "$exer" "$fixed"; do
	[ -x "$p" ] || { echo "FAIL: $p was not built"; exit 1; }
done
fe_require

fe_start
export UMFS_LOG_FILE=$FE_TMP/umfs.log
for seed in ${AIO_SEEDS:-1 2}; do
	what="seed $seed, ${AIO_OPS:-1500} requests per engine"
	# a FUSE write carries no RWF_NOAPPEND: umfs-fuse appends (umfs-fuse(8))
	noappend=1
	[ "$mode" = fuse ] && noappend=0
	"${FE_RUN[@]}" "$exer" "$FE_ROOT/aio-$seed" "$FE_TMP/kernel-$seed" --seed "$seed" \
		--ops "${AIO_OPS:-1500}" --noappend "$noappend" >"$FE_TMP/aio.out" 2>&1 && rc=0 || rc=1
	fe_result "$rc" "$what"
	sed 's/^/# /' "$FE_TMP/aio.out"
done

fe_tmpfs "$FE_TMP/ref"
"$fixed" "$FE_TMP/ref" "$FE_TMP/kernel-ref" >"$FE_TMP/ref.out" 2>&1 || true
"${FE_RUN[@]}" "$fixed" "$FE_ROOT" "$FE_TMP/kernel" >"$FE_TMP/got.out" 2>&1 || true
diff -u "$FE_TMP/ref.out" "$FE_TMP/got.out" >"$FE_TMP/diff" && rc=0 || rc=1
fe_result "$rc" "fixed files: the transcript is the kernel's on tmpfs ($(wc -l <"$FE_TMP/ref.out") lines)"
sed 's/^/# /' "$FE_TMP/diff"
# the reference itself: a slot keeps its file, errors are the kernel's
grep -q '^read slot 0, a closed before submission: 64 a$' "$FE_TMP/ref.out" &&
	grep -q '^read slot 0 (unregistered): -9 untouched$' "$FE_TMP/ref.out" && rc=0 || rc=1
fe_result "$rc" "fixed files: the reference says what the kernel does"
[ "$rc" = 0 ] || sed 's/^/# /' "$FE_TMP/ref.out"

if [ -s "$UMFS_LOG_FILE" ] && grep -q refused "$UMFS_LOG_FILE"; then
	fe_result 1 "requests refused:"
	sed 's/^/# /' "$UMFS_LOG_FILE"
fi
if [ "$mode" = shim ]; then
	: >"$UMFS_LOG_FILE"
	"${FE_RUN[@]}" "$fixed" "$FE_ROOT" "$FE_TMP/kernel" --refusals >"$FE_TMP/refuse.out" 2>&1 &&
		rc=0 || rc=1
	fe_result "$rc" "refusals: -EOPNOTSUPP, nothing read or written"
	sed 's/^/# /' "$FE_TMP/refuse.out"
	lines=$(grep -c 'refused' "$UMFS_LOG_FILE" || true)
	named=$(grep -c 'warning: io_uring: uring_fixed: opcode [0-9]* refused (EOPNOTSUPP)' \
		"$UMFS_LOG_FILE" || true)
	reasons=$(grep 'refused' "$UMFS_LOG_FILE" | sed 's/.*refused (EOPNOTSUPP): //' | sort -u | wc -l)
	[ "$lines" = 5 ] && [ "$named" = 5 ] && [ "$reasons" = 5 ] && rc=0 || rc=1
	fe_result "$rc" "refusals: one warn line per reason, naming the program ($lines lines, $reasons reasons)"
	sed 's/^/# log: /' "$UMFS_LOG_FILE"
fi
fe_finish aio
