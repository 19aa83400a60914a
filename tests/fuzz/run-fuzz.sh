#!/bin/bash
# SPDX-License-Identifier: MIT
# run-fuzz.sh - builds the libFuzzer harness of fsck.umfs with clang
# (-fsanitize=fuzzer,address,undefined) and runs it on the corpus.
#
#   tests/fuzz/run-fuzz.sh [SECONDS [JOBS]] [-- LIBFUZZER OPTIONS...]
#
# New inputs go to $WORK/corpus (default /tmp/umfs-fuzz); crashes, hangs and
# leaks to $WORK/artifacts. Copy the interesting ones into tests/fuzz/corpus
# (small files) so that the replay test keeps them. Needs clang and
# libclang-rt-14-dev (apt-get install -y clang libclang-rt-14-dev).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-600}
jobs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
work=${WORK:-/tmp/umfs-fuzz}
bin=$work/fsck_fuzz
mkdir -p "$work/corpus" "$work/artifacts"

command -v clang >/dev/null || { echo "run-fuzz.sh: clang is missing (apt-get install -y clang libclang-rt-14-dev)" >&2; exit 1; }

# the test variant of the core (its hooks), flushing through libpmem, and
# the check engine: what fsck_test_dep links in the meson build
srcs=()
for f in "$root"/libumfs/core/*.c "$root"/fsck/*.c; do
	case ${f##*/} in cpuflush_isa.c | fsck.c | claim.c) continue ;; esac
	srcs+=("$f")
done
srcs+=("$root"/kmod/lib/umfs_kmod_client.c "$root"/tests/fsck/fsck_testlib.c
	"$here"/fuzz_target.c "$here"/fsck_fuzz.c)
if [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" "$root"/fsck/*.h "$root"/include -newer "$bin" 2>/dev/null | head -1)" ]; then
	echo "run-fuzz.sh: building $bin"
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -DUMFS_TEST_HOOKS \
		-I"$root/include" -I"$root/libumfs/core" -I"$root/tools" -I"$root/kmod/lib" -I"$root/fsck" -I"$root/tests/fsck" -I"$here" \
		"${srcs[@]}" -lpmem -lpthread -o "$bin"
fi

export PMEM_IS_PMEM_FORCE=1
export UMFS_TEST_DIR=${UMFS_TEST_DIR:-/dev/shm}
cd "$work"
par=()
[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
exec "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len=4096 -len_control=10 \
	"${par[@]}" -dict="$here/fsck.dict" -artifact_prefix="$work/artifacts/" \
	-print_final_stats=1 "$@" "$work/corpus" "$here/corpus"
