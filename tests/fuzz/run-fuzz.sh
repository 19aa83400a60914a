#!/bin/bash
# SPDX-License-Identifier: MIT
# run-fuzz.sh - builds the libFuzzer harness of fsck.umfs with clang
# (-fsanitize=fuzzer,address,undefined) in $WORK/build and runs it on the
# corpus.
#
#   tests/fuzz/run-fuzz.sh [SECONDS [JOBS]] [-- LIBFUZZER OPTIONS...]
#
# New inputs go to $WORK/corpus, crashes, hangs and leaks to
# $WORK/artifacts; WORK (default ~/.cache/umfs-fuzz) must be the caller's
# and writable by it alone. Copy the interesting inputs into
# tests/fuzz/corpus (small files) so that the replay test keeps them.
# Needs clang and libclang-rt-14-dev (apt-get install -y clang
# libclang-rt-14-dev).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-600}
jobs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
work=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/umfs-fuzz}
# the build there is run: it must be the caller's own, shut to others
mkdir -p -m 0700 "$work"
if [ "$(stat -c %u "$work")" != "$(id -u)" ] || [ -L "$work" ] ||
	[ $(( 0$(stat -c %a "$work") & 022 )) -ne 0 ]; then
	echo "run-fuzz.sh: $work is not a directory of this user's that only it may write" >&2
	exit 1
fi
mkdir -p "$work/corpus" "$work/artifacts"

command -v clang >/dev/null || { echo "run-fuzz.sh: clang is missing (apt-get install -y clang libclang-rt-14-dev)" >&2; exit 1; }
command -v meson >/dev/null || { echo "run-fuzz.sh: meson is missing (sh tools/install-deps.sh)" >&2; exit 1; }

# A build of the tree of its own, with clang, the sanitizers and coverage
# in every source; tests/fuzz/meson.build has the harness's target, which
# links what the replay test does (the core's test variant, the check
# engine), so the list of sources is meson's alone.
build=$work/build
if [ ! -f "$build/build.ninja" ]; then
	echo "run-fuzz.sh: configuring $build"
	CC=clang meson setup "$build" "$root" -Dbuildtype=debug -Doptimization=1 \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer" >/dev/null
fi
ninja -C "$build" tests/fuzz/fsck_fuzz >/dev/null
bin=$build/tests/fuzz/fsck_fuzz

export PMEM_IS_PMEM_FORCE=1
export UMFS_TEST_DIR=${UMFS_TEST_DIR:-/dev/shm}
cd "$work"
par=()
[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
exec "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len=4096 -len_control=10 \
	"${par[@]}" -dict="$here/fsck.dict" -artifact_prefix="$work/artifacts/" \
	-print_final_stats=1 "$@" "$work/corpus" "$here/corpus"
