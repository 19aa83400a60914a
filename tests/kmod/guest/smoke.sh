#!/bin/sh
# smoke.sh (guest) - proves the harness without the module: mkfs.umfs on
# the pool NVDIMM, unmodified (dynamically linked GNU) programs on it through
# the LD_PRELOAD shim, a remount from another process, fsck clean.
set -eu

dev=${UMFS_POOL_DEV:-/dev/pmem0}
fail() { echo "smoke: $*" >&2; exit 1; }
[ -b "$dev" ] || fail "$dev is not a block device (is the fsdax namespace there?)"

# fsdax namespace with struct pages, as the module needs
ns=${UMFS_POOL_NS:-namespace0.0}
ndctl list -n "$ns" | grep -q '"map":"mem"' || fail "$ns is not fsdax --map=mem"

mkfs.umfs -q -f "$dev" || fail "mkfs.umfs $dev failed"
run() { umfs-run --pool "$dev" -- "$@"; }

# a shell with redirections and a pipeline, GNU coreutils, gzip, tar
run /usr/bin/bash -c '
	set -e
	mkdir -p /umfs/d/sub
	seq 1 20000 > /umfs/d/seq.txt
	sha256sum < /umfs/d/seq.txt > /umfs/d/seq.sum
	gzip -c /umfs/d/seq.txt > /umfs/d/seq.gz
	cp /umfs/d/seq.gz /umfs/d/sub/copy.gz
	gunzip -c /umfs/d/sub/copy.gz | sha256sum | cmp - /umfs/d/seq.sum
	tar -C /umfs -cf /umfs/t.tar d
	mkdir /umfs/x && tar -C /umfs/x -xf /umfs/t.tar
	cmp /umfs/d/seq.txt /umfs/x/d/seq.txt
	dd if=/dev/zero of=/umfs/big bs=1M count=8 status=none
	mv /umfs/big /umfs/d/big
	rm /umfs/t.tar
	sync
' || fail "programs under the shim failed"

# a fresh process sees the same files (nothing is kept in the first one)
got=$(run /usr/bin/bash -c 'wc -l < /umfs/x/d/seq.txt; stat -c %s /umfs/d/big')
[ "$(echo $got)" = "20000 8388608" ] || fail "remount sees '$got', expected '20000 8388608'"
want=$(seq 1 20000 | sha256sum)
got=$(run /usr/bin/sha256sum < /dev/null /umfs/d/seq.txt | cut -d' ' -f1)
[ "$got" = "${want%% *}" ] || fail "seq.txt checksum $got, expected ${want%% *}"

# the pool is on the device itself: the host kernel never saw these files
[ ! -e /umfs/d ] || fail "/umfs/d exists outside the shim"

fsck.umfs -n -f "$dev" >/tmp/smoke-fsck.log 2>&1 && tail -n 1 /tmp/smoke-fsck.log | grep -q ': clean$' ||
	{ cat /tmp/smoke-fsck.log; fail "fsck.umfs -n -f is not clean"; }
echo "smoke: ok ($(tail -n 1 /tmp/smoke-fsck.log))"
