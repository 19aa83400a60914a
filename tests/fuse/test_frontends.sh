#!/bin/bash
# SPDX-License-Identifier: MIT
# test_frontends.sh BUILD_ROOT - one pool served by umfs-fuse and by
# libumfs at once: a file a libumfs process maps MAP_SHARED while a
# program without the library writes other bytes of it through the FUSE
# mount. The stores, msync'd and unmapped, left by a mapper killed with
# SIGKILL (written back by the next lone libumfs process), made by a
# writable mapping that joined a read-only one or by read-only mappings
# that mprotect turned writable, and the FUSE writes must
# all be in the file, as map_beside's run on tmpfs (one file system for
# both) leaves it. While the file is mapped, the mapper's reads (read, a
# private mapping) must see both the stores and the FUSE writes, and so
# must the mapping itself after msync and a read through the mount then,
# as on tmpfs. A read-only mapping must show, after each fsync, the
# writes of its own process and of FUSE, and after an open with O_TRUNC
# by its process, no old bytes in the hole between new ones.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
mb=$UF_BUILD/tests/fuse/map_beside

ref=$UF_TMP/ref
mkdir "$ref"
for mode in sync kill join protect; do
	"$mb" $mode "$ref" "$ref" || uf_fail "map_beside $mode on $ref"
done
want=$("$mb" show "$ref/s" && "$mb" show "$ref/k" && "$mb" show "$ref/j" &&
	"$mb" show "$ref/p") ||
	uf_fail "map_beside show on $ref"
want_reads=$("$mb" read "$ref" "$ref") || uf_fail "map_beside read on $ref"
want_fsync=$("$mb" fsync "$ref" "$ref") || uf_fail "map_beside fsync on $ref"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
uf_beside_libumfs "$pool" "$mnt"
pid=$UF_PID
uf_shim "$mb" sync /umfs "$mnt" || uf_fail "map_beside sync, mapping through libumfs"
uf_shim "$mb" kill /umfs "$mnt" || uf_fail "map_beside kill, mapping through libumfs"
uf_shim "$mb" join /umfs "$mnt" || uf_fail "map_beside join, mapping through libumfs"
uf_shim "$mb" protect /umfs "$mnt" || uf_fail "map_beside protect, mapping through libumfs"
got_reads=$(uf_shim "$mb" read /umfs "$mnt") || uf_fail "map_beside read, mapping through libumfs"
if [ "$got_reads" != "$want_reads" ]; then
	diff <(echo "$want_reads") <(echo "$got_reads") | sed 's/^/# /'
	uf_fail "reads of a mapped file written through FUSE differ from tmpfs's (< tmpfs, > UMFS)"
fi
got_fsync=$(uf_shim "$mb" fsync /umfs "$mnt") || uf_fail "map_beside fsync, mapping through libumfs"
if [ "$got_fsync" != "$want_fsync" ]; then
	diff <(echo "$want_fsync") <(echo "$got_fsync") | sed 's/^/# /'
	uf_fail "a mapping after fsync differs from tmpfs's (< tmpfs, > UMFS)"
fi
uf_umount "$mnt" "$pid"
# a lone libumfs process: the killed mapper's stores go back first
got=$(uf_shim "$mb" show /umfs/s && uf_shim "$mb" show /umfs/k && uf_shim "$mb" show /umfs/j &&
	uf_shim "$mb" show /umfs/p) ||
	uf_fail "map_beside show"
if [ "$got" != "$want" ]; then
	echo "$want" | sed 's/^/# tmpfs: /'
	echo "$got" | sed 's/^/# UMFS:  /'
	uf_fail "the files differ from tmpfs's"
fi
echo "$got" | sed "s/^/# /"
uf_fsck_clean "$pool"
echo "PASS"
