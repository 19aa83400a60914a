#!/bin/bash
# build.sh OUTDIR - builds the guest programs of the module's tests into
# OUTDIR (called by mkinitramfs.sh with UMFS_BUILD, the meson build
# directory, and UMFS_KVER). The programs link the core library of the
# meson build (libumfs_core.a), which holds the module's user-space client
# (kmod/lib) too, and its CPU flush routines through libpmem
# (libumfs_flush_pmem.a, core/cpuflush.h).
set -euo pipefail

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${UMFS_BUILD:-$src/build}
core=$build/libumfs/libumfs_core.a
flush=$build/libumfs/libumfs_flush_pmem.a
[ -f "$core" ] && [ -f "$flush" ] ||
	{ echo "build.sh: no $core or $flush (build the project first)" >&2; exit 1; }

cflags="-std=gnu11 -O2 -g -Wall -Wextra -Werror -I$src/include -I$src/kmod/lib"
for prog in kmod-func kmod-bench kmod-extend kmod-meta kmod-exchange kmod-create kmod-trees; do
	[ -f "$here/$prog.c" ] || continue
	extra=""
	# kmod-exchange uses the core's internals (core.h) to make its shapes,
	# and hooks the core's ioctl to cut libumfs's own EXCHANGE in a writer
	[ "$prog" = kmod-exchange ] && extra="-I$src/libumfs/core"
	# kmod-create: core.h for the inode and U-Log checksums (umfs_crc32c)
	[ "$prog" = kmod-create ] && extra="-I$src/libumfs/core"
	gcc $cflags $extra -o "$out/$prog" "$here/$prog.c" "$core" "$flush" -lpmem -lpthread
done

# kmod-shim: a plain program run under the shim (no core linked),
# and sqlite3 from the host for the real-program workload, if it has one
gcc $cflags -o "$out/kmod-shim-io" "$here/kmod-shim-io.c"
if command -v sqlite3 >/dev/null; then
	cp "$(command -v sqlite3)" "$out/sqlite3"
fi
