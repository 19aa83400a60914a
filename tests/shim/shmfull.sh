#!/usr/bin/env bash
# shmfull.sh - the file system of the pool's runtime directory (/dev/shm)
# filled by another user once the pool is in use. No process of the pool
# dies of SIGBUS or loses a byte: what needs no new memory there works,
# what does fails with an error that says what is full, and a mapping
# shows a write made through umfs-fuse meanwhile once there is room. In a
# mount namespace of its own, on a /dev/shm of 48 MiB.
set -eu
skip() { echo "skip: $*"; exit 77; }
if [ -z "${UMFS_SHMFULL_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (a tmpfs mounted over /dev/shm)"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	unshare --mount true 2>/dev/null || skip "cannot make a private mount namespace"
	UMFS_SHMFULL_INNER=1 exec unshare --mount --propagation private "$0" "$@"
fi
case "${BUILDDIR:-}/:$(cd "$(dirname "$0")" && pwd)/" in
/dev/shm/*) skip "the build or the sources are on /dev/shm, which this test mounts over" ;;
esac
mount -t tmpfs -o mode=1777,size=48M shmfull /dev/shm || skip "cannot mount a tmpfs on /dev/shm"
POOL_SIZE=24M
. "$(dirname "$0")/lib.sh"
: "${UMFS_FUSE:=$BUILDDIR/fuse/umfs-fuse}"
command -v fusermount3 >/dev/null || skip "fusermount3 is missing"

mnt=$work/mnt
mkdir "$mnt"
"$UMFS_FUSE" "$pool" "$mnt" || skip "umfs-fuse cannot mount here"
out=$(mktemp -d /tmp/umfs-shmfull.XXXXXX) # what the programs say: not on /dev/shm
trap 'fusermount3 -u -z "$mnt" 2>/dev/null || true; rm -rf "$out"; cleanup' EXIT
"$MKFS" -q -f -s 8M "$work/pool2"

# another user takes all that is left of /dev/shm, and gives it back
fill() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		dd if=/dev/zero of=/dev/shm/fill bs=64k status=none 2>/dev/null || true
}
unfill() { rm -f /dev/shm/fill; }

shim sh -c 'for i in $(seq 60); do echo "file $i" > /umfs/f$i; done'
want_cat=$(for i in $(seq 60); do echo "file $i"; done)

fill
check "/dev/shm is full" "0" "$(df --output=avail -k /dev/shm | tail -n 1 | tr -d ' ')"
got=$(shim sh -c 'for i in $(seq 60); do cat /umfs/f$i; done' 2>"$out/err") || true
check "a new process reads 60 files while it is full" "$want_cat" "$got"
check "and says nothing" "" "$(cat "$out/err")"

# Descriptions beyond those the arena already holds need memory there:
# refused with ENOMEM, never EIO or SIGBUS, and then given. A refused open
# made no file and cut none, as the kernel refuses before it does either.
open_many() {
	shim python3 -c '
import os, sys
fds = []
try:
    for i in range(300):
        fds.append(os.open("/umfs/g%d" % i, os.O_CREAT | os.O_RDWR, 0o644))
    print("opened", len(fds))
except OSError as e:
    # by stat: reading a directory takes a description too
    made = sum(os.path.exists("/umfs/g%d" % i) for i in range(300))
    try:
        os.open("/umfs/f1", os.O_WRONLY | os.O_TRUNC)
        cut = "opened"
    except OSError as t:
        cut = os.strerror(t.errno)
    print(os.strerror(e.errno), "; files made beyond those opened:", made - len(fds),
          "; O_TRUNC:", cut, "; f1 holds", os.stat("/umfs/f1").st_size, "bytes")' 2>"$out/err"
}
got=$(open_many) || got="died $?"
check "300 open descriptions while it is full: ENOMEM, nothing made or cut" \
	"Cannot allocate memory ; files made beyond those opened: 0 ; O_TRUNC: Cannot allocate memory ; f1 holds 7 bytes" "$got"
grep -q "ofd/arena: no room for another open file description" "$out/err" &&
	said=yes || said=no
check "named what was full" "yes" "$said"
unfill
check "and all 300 once there is room" "opened 300" "$(open_many)"

# What the mappers below begin with: their arguments (the umfs-fuse
# mount, the commands that fill /dev/shm and empty it again), sh() to run
# one without the library, attempt() to print what a call gave.
py_mapper='
import ctypes, mmap, os, subprocess, sys
mnt, fill, unfill = sys.argv[1:]
env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
def sh(cmd):
    subprocess.run(["sh", "-c", cmd], env=env, check=True)
def attempt(what, f):
    try:
        f()
        print(what, "done")
    except OSError as e:
        print(what, os.strerror(e.errno))
'

# A file mapped MAP_SHARED, its host file grown past what it holds, while
# another user fills /dev/shm and umfs-fuse writes into the grown part.
shim python3 -c "$py_mapper"'
fd = os.open("/umfs/m", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"a" * 65536, 0)
os.ftruncate(fd, 131072)
m = mmap.mmap(fd, 131072)
os.ftruncate(fd, 65536)
os.ftruncate(fd, 131072)      # the host file grows with a hole
m[0:1] = b"S"
sh(fill)
os.pwrite(fd, b"X" * 100, 1000)
print("a write within the host file shows", m[1000:1004])
attempt("a write past the host file", lambda: os.pwrite(fd, b"W" * 8192, 131072))
print("size", os.fstat(fd).st_size)
sh("printf FUSE | dd of=%s/m bs=1 seek=100000 conv=notrunc status=none" % mnt)
m.flush()                     # cannot bring it in: the host file has a hole
sh(unfill)
m.flush()
print("after msync with room", m[100000:100004])
m[2:3] = b"T"
m.close()
sh(fill)
attempt("mmap", lambda: mmap.mmap(fd, 4096))
sh(unfill)
' "$mnt" "$(declare -f fill); fill" "rm -f /dev/shm/fill" >"$out/map" 2>"$out/map.err" ||
	echo "mapper exit $?" >>"$out/map"
check "the mapper" "a write within the host file shows b'XXXX'
a write past the host file No space left on device
size 131072
after msync with room b'FUSE'
mmap Cannot allocate memory" "$(cat "$out/map")"
grep -q "shim: its file system is full" "$out/map.err" && said=yes || said=no
check "named what was full" "yes" "$said"

python3 -c '
import sys
b = bytearray(b"a" * 65536 + bytes(65536))
b[0:1] = b"S"; b[2:3] = b"T"; b[1000:1100] = b"X" * 100; b[100000:100004] = b"FUSE"
sys.stdout.buffer.write(b)' >"$out/m.want"
check "the file through umfs-fuse" "$(md5sum <"$out/m.want")" "$(md5sum <"$mnt/m")"
check "the file through the library" "$(md5sum <"$out/m.want")" \
	"$(shim sh -c 'md5sum </umfs/m')"

# A sparse file mapped: its holes read as zeros and take a store. tmpfs
# takes a page at the first fault on a hole, a read's too, so a mapping
# needs its range's pages: with 2 MiB left in /dev/shm the whole of a
# 6 MiB sparse file is refused (ENOMEM), even read-only, rather than
# faulting later; its data alone (three pages) would fit. A 1 MiB window
# of it fits, and reads as zeros; grown by mremap to 4 MiB it would not
# (ENOMEM), and stays as it was. A hole punched in 640 KiB of the file no
# mapping shows takes no room: a second window fits.
# With room it is mapped read-only, a mapping that can store joins it and
# stores into two holes, with an msync after each, and umfs-fuse reads
# the second store before the unmap.
shim python3 -c "$py_mapper"'
size = 6 << 20
mid = 512 << 10
fd = os.open("/umfs/sparse", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"head", 0)
os.pwrite(fd, b"mid", mid)
os.pwrite(fd, b"tail", size - 4)
r = os.open("/umfs/sparse", os.O_RDONLY)
sh(fill + "; truncate -s -2M /dev/shm/fill")
attempt("read-only, nearly full", lambda: mmap.mmap(r, 0, prot=mmap.PROT_READ).close())
attempt("for stores, nearly full", lambda: mmap.mmap(fd, 0).close())
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = libc.mremap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
failed = ctypes.c_void_p(-1).value
def zeros(a, n):
    return a != failed and ctypes.string_at(a, n).count(0) == n
win = libc.mmap(None, 1 << 20, mmap.PROT_READ, mmap.MAP_SHARED, r, 1 << 20)
print("a 1 MiB window, nearly full, reads zeros", zeros(win, 1 << 20))
grown = libc.mremap(win, 1 << 20, 4 << 20, 1)  # MREMAP_MAYMOVE
if grown != failed:
    print("grown to 4 MiB done")
    win = grown
else:
    print("grown to 4 MiB", os.strerror(ctypes.get_errno()), zeros(win, 1 << 20))
# a hole punched where no mapping is takes no room there
print("punch", libc.fallocate(fd, 3, ctypes.c_long(2 << 20), ctypes.c_long(640 << 10)))
attempt("a second window", lambda: mmap.mmap(r, 640 << 10, prot=mmap.PROT_READ).close())
libc.munmap(win, 1 << 20)
sh(unfill)
m = mmap.mmap(r, 0, prot=mmap.PROT_READ)
print("read-only", m[0:4], m[mid:mid + 3], m[size - 4:])
w = mmap.mmap(fd, 0)
w[size // 4:size // 4 + 5] = b"store"
w.flush()
w[3 * size // 4:3 * size // 4 + 6] = b"second"
w.flush()
with open(mnt + "/sparse", "rb") as g:
    g.seek(3 * size // 4)
    print("umfs-fuse reads after the msync", g.read(6))
w.close()
# zeros elsewhere: read only now, as each page read becomes data the base
# of a mapping that can store would copy
print("the read-only mapping shows the store", m[size // 4:size // 4 + 5],
      m[:].count(0) == size - 22)
m.close()
' "$mnt" "$(declare -f fill); fill" "rm -f /dev/shm/fill" >"$out/sparse" 2>"$out/sparse.err" ||
	echo "mapper exit $?" >>"$out/sparse"
check "a sparse file mapped" "read-only, nearly full Cannot allocate memory
for stores, nearly full Cannot allocate memory
a 1 MiB window, nearly full, reads zeros True
grown to 4 MiB Cannot allocate memory True
punch 0
a second window done
read-only b'head' b'mid' b'tail'
umfs-fuse reads after the msync b'second'
the read-only mapping shows the store b'store' True" "$(cat "$out/sparse")"
python3 -c '
import sys
b = bytearray(6 << 20)
b[0:4] = b"head"; b[512 << 10:(512 << 10) + 3] = b"mid"; b[-4:] = b"tail"
s = (6 << 20) // 4; b[s:s + 5] = b"store"; b[3 * s:3 * s + 6] = b"second"
sys.stdout.buffer.write(b)' >"$out/sparse.want"
check "the sparse file through umfs-fuse" "$(md5sum <"$out/sparse.want")" "$(md5sum <"$mnt/sparse")"

# A helper directory on a file system without fallocate (strace makes
# every fallocate fail with EOPNOTSUPP): the holes take their pages at the
# first touch instead; the mapping shows the file and its store reaches
# it.
if strace -qq -o /dev/null true 2>/dev/null; then
	strace -f -qq -o /dev/null -e inject=fallocate:error=EOPNOTSUPP -E LD_PRELOAD="$SHIM_LIB" \
		python3 -c '
import mmap, os
size = 4 << 20
fd = os.open("/umfs/nofalloc", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"head", 0)
os.pwrite(fd, b"tail", size - 4)
m = mmap.mmap(fd, 0)
print("mapped", m[0:4], m[size - 4:], m[:].count(0) == size - 8)
m[size // 2:size // 2 + 5] = b"store"
m.close()
os.close(fd)
' >"$out/nofalloc" 2>&1 || echo "mapper exit $?" >>"$out/nofalloc"
	check "a helper directory without fallocate" "mapped b'head' b'tail' True" "$(cat "$out/nofalloc")"
	python3 -c '
import sys
b = bytearray(4 << 20)
b[0:4] = b"head"; b[-4:] = b"tail"; b[2 << 20:(2 << 20) + 5] = b"store"
sys.stdout.buffer.write(b)' >"$out/nofalloc.want"
	check "its file through umfs-fuse" "$(md5sum <"$out/nofalloc.want")" "$(md5sum <"$mnt/nofalloc")"
else
	echo "skip: strace does not run here (a helper directory without fallocate)"
fi

# twice: what the first left must not fault the second
fill
for n in first second; do
	got=$(UMFS_POOL=$work/pool2 shim cat /umfs/f1 2>&1) || true
	case "$got" in
	*"lock (made by its first user): no room for its "*" bytes: the file system it is on is full"*)
		said=yes ;;
	*) said="no: $got" ;;
	esac
	check "a new pool's $n user while it is full says so" "yes" "$said"
done
unfill
check "and mounts once there is room" "" "$(UMFS_POOL=$work/pool2 shim cat /umfs/f1 2>&1 | grep -v 'No such file')"

fusermount3 -u "$mnt"
finish
