#!/bin/bash
# SPDX-License-Identifier: MIT
# test_frontends.sh BUILD_ROOT - one pool served by umfs-fuse and by
# libumfs at once: a file a libumfs process maps MAP_SHARED while a
# program without the library writes other bytes of it through the FUSE
# mount. The stores, msync'd and unmapped or left by a mapper killed with
# SIGKILL (written back by the next lone libumfs process), and the FUSE
# writes must all be in the file, as map_beside's run on tmpfs (one file
# system for both) leaves it.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
mb=$UF_BUILD/tests/fuse/map_beside
lib=$UF_BUILD/libumfs/libumfs.so
[ -f "$lib" ] || uf_skip "libumfs.so was not built"

ref=$UF_TMP/ref
mkdir "$ref"
"$mb" sync "$ref" "$ref" && "$mb" kill "$ref" "$ref" || uf_fail "map_beside on $ref"
want=$("$mb" show "$ref/s" && "$mb" show "$ref/k") || uf_fail "map_beside show on $ref"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
uf_mkfs "$pool" 64M
uf_mount "$pool" "$mnt"
pid=$UF_PID
shim() { env UMFS_POOL="$pool" UMFS_MOUNT=/umfs UMFS_KMOD=0 LD_PRELOAD="$lib" "$@"; }
shim "$mb" sync /umfs "$mnt" || uf_fail "map_beside sync, mapping through libumfs"
shim "$mb" kill /umfs "$mnt" || uf_fail "map_beside kill, mapping through libumfs"
uf_umount "$mnt" "$pid"
# a lone libumfs process: the killed mapper's stores go back first
got=$(shim "$mb" show /umfs/s && shim "$mb" show /umfs/k) || uf_fail "map_beside show"
if [ "$got" != "$want" ]; then
	echo "# tmpfs: $want" | sed '2s/^/# tmpfs: /'
	echo "# UMFS:  $got" | sed '2s/^/# UMFS:  /'
	uf_fail "the file differs from tmpfs's"
fi
uf_log "$got"
uf_fsck_clean "$pool"
echo "PASS"
