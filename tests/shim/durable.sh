#!/bin/bash
# durable.sh - what a call through the library has made durable when it
# returns. The writer runs on libumfs-durable.so (durable.c: the library
# over the core's test variant, keeping the pool as a power cut would leave
# it), makes its calls and is killed at once; the image replaces the pool,
# as after the power cut, and the next user recovers it and reads. On a
# strict and a relaxed pool alike:
#   every write's bytes and the file's new size are there (a write on
#   persistent memory is durable when it returns, O_DSYNC or not: past the
#   end, part of a page, a whole page overwritten);
#   the modification time the writer saw is there where it asked for it
#   (O_SYNC, RWF_SYNC, fsync, close); without that, the time writes leave
#   in the cache is lost (the check that the image keeps only what was
#   made durable);
#   through a MAP_SHARED mapping, what msync wrote back is there, and what
#   was stored after it is not (the power cut takes the runtime directory
#   and the mapping's host file with it);
#   what each other data call wrote (O_APPEND, writev, pwritev, sendfile,
#   copy_file_range, ftruncate, posix_fallocate, stdio): the files are the
#   ones the same calls leave on tmpfs;
#   last, every change of names and attributes (mkdir, create, rename of a
#   file and of a directory, link, symlink, unlink, rmdir, truncate,
#   chmod): the tree is the one the same calls leave on tmpfs.
# The kernel's tmpfs keeps everything and says nothing of this.
# shellcheck source=tests/shim/lib.sh
source "$(dirname "$0")/lib.sh"
: "${SHIM_DURABLE_LIB:=$BUILDDIR/tests/shim/libumfs-durable.so}"

old=1000000000 # the files' modification time before the writes, in seconds
# The tree: made, changed and listed the same way on tmpfs and in UMFS.
ns_py='
import os, sys
def setup(root):
    os.mkdir(root)
    for name, data in (("old", b"old"), ("gone", b"g"), ("short", b"o" * 16384)):
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    os.mkdir(os.path.join(root, "empty"))
def change(root):
    j = lambda *p: os.path.join(root, *p)
    os.mkdir(j("dir"))
    with open(j("dir", "new"), "wb") as f:
        f.write(b"fresh")
    os.rename(j("old"), j("dir", "moved"))
    os.link(j("dir", "moved"), j("hard"))
    os.symlink("dir2/new", j("sym"))
    os.unlink(j("gone"))
    os.rmdir(j("empty"))
    os.truncate(j("short"), 5)
    os.chmod(j("dir", "new"), 0o600)
    os.rename(j("dir"), j("dir2"))
def data_setup(root):
    os.mkdir(root)
    with open(os.path.join(root, "src"), "wb") as f:
        f.write(bytes(range(256)) * 64)
def data_calls(root, host_src):
    """Each way a program writes data, a file each; returns the stdio one, open."""
    j = lambda *p: os.path.join(root, *p)
    def fd(name, flags=0):
        return os.open(j(name), os.O_WRONLY | os.O_CREAT | flags, 0o644)
    f = fd("append", os.O_APPEND)
    os.write(f, b"first ")
    os.write(f, b"second")
    os.writev(fd("writev"), [b"a" * 3000, b"b" * 3000])
    os.pwritev(fd("pwritev"), [b"c" * 5000, b"d" * 100], 7000)
    os.sendfile(fd("sendfile"), os.open(host_src, os.O_RDONLY), 1000, 20000)
    os.copy_file_range(os.open(j("src"), os.O_RDONLY), fd("copy"), 9000, 3000)
    f = fd("ftruncate")
    os.ftruncate(f, 10000)
    os.pwrite(f, b"e" * 10, 5000)
    f = fd("fallocate")
    os.posix_fallocate(f, 0, 8192)
    os.pwrite(f, b"f" * 10, 4000)
    s = open(j("stdio"), "wb")
    s.write(b"g" * 10000)
    s.flush()
    s.write(b"h" * 10)
    s.flush()
    return s
def contents(root):
    import hashlib
    return " | ".join("%s %d %s" % (n, os.path.getsize(os.path.join(root, n)),
                                   hashlib.sha256(open(os.path.join(root, n), "rb").read()).hexdigest()[:16])
                      for n in sorted(os.listdir(root)))
def listing(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            what = "%s %o %d" % (os.path.relpath(p, root), st.st_mode, st.st_nlink)
            if os.path.islink(p):
                what += " -> " + os.readlink(p)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    what += " %r" % f.read()[:40]
            out.append(what)
    return " | ".join(out)
'
mkdir "$work/ref"
want_tree=$(python3 -c "$ns_py"'
setup(sys.argv[1]); change(sys.argv[1]); print(listing(sys.argv[1]))' "$work/ref/ns")
python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(i * 7 % 251 for i in range(32768)))' \
	"$work/host_src"
want_calls=$(python3 -c "$ns_py"'
data_setup(sys.argv[1]); keep = data_calls(sys.argv[1], sys.argv[2]); keep.close()
print(contents(sys.argv[1]))' "$work/ref/calls" "$work/host_src")
# How each file is written: opened with O_DSYNC, O_SYNC or neither, the
# last write with pwritev2's RWF_SYNC, then fsync or close. The ones that
# ask for the times to be durable, and the others.
timed="sync rwfsync fsynced closed"
untimed="dsync plain"
for mode in strict relaxed; do
	opt=()
	[ "$mode" = relaxed ] && opt=(-O relaxed)
	"$MKFS" -q -f -s 64M "${opt[@]}" "$pool"
	shim python3 -c "$ns_py"'
for name in sys.argv[1:] + ["mapped"]:
    with open("/umfs/" + name, "wb") as f:
        f.write(b"o" * 16384)
    os.utime("/umfs/" + name, ('"$old"', '"$old"'))
setup("/umfs/ns")
data_setup("/umfs/calls")' $timed $untimed
	writer=$(HOST_SRC=$work/host_src UMFS_TEST_DURABLE=$work/image LD_PRELOAD=$SHIM_DURABLE_LIB python3 -c "$ns_py"'
import mmap, signal
flags = {"dsync": os.O_DSYNC, "sync": os.O_SYNC}
with open(sys.argv[1], "w") as seen:
    for name in sys.argv[2:]:
        fd = os.open("/umfs/" + name, os.O_WRONLY | flags.get(name, 0))
        os.pwrite(fd, b"a" * 100, 16384)   # past the end (the times go with the size)
        os.pwrite(fd, b"m" * 100, 10000)   # part of a page
        if name == "rwfsync":              # a whole page (strict: the page swap)
            os.pwritev(fd, [b"n" * 4096], 4096, os.RWF_SYNC)
        else:
            os.pwrite(fd, b"n" * 4096, 4096)
        seen.write("%s %d\n" % (name, os.fstat(fd).st_mtime_ns))
        if name == "fsynced":
            os.fsync(fd)
        if name == "closed":
            os.close(fd)
fd = os.open("/umfs/mapped", os.O_RDWR)
m = mmap.mmap(fd, 16384, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[4096:8192] = b"x" * 4096
m.flush()                          # msync(MS_SYNC)
m[8192:12288] = b"y" * 4096        # after it
keep = data_calls("/umfs/calls", os.environ["HOST_SRC"])
change("/umfs/ns")                 # last: nothing after it fences for it
os.kill(os.getpid(), signal.SIGKILL)
' "$work/seen" $timed $untimed 2>&1) || true
	# the power cut: the image for the pool, and no runtime directory
	mv "$work/image" "$pool"
	"$here/../pool/forget_rundirs.sh" "$pool"
	got=$(shim python3 -c "$ns_py"'
want = bytearray(b"o" * 16384)
want[4096:8192] = b"n" * 4096
want[10000:10100] = b"m" * 100
want += b"a" * 100
seen = dict(l.split() for l in open(sys.argv[1]))
timed, untimed = sys.argv[2].split(), sys.argv[3].split()
lost = [n for n in timed + untimed if open("/umfs/" + n, "rb").read() != want]
print("data", "all written" if not lost else "lost: " + " ".join(lost))
t = {n: os.stat("/umfs/" + n).st_mtime_ns for n in timed + untimed}
print("timed", " ".join(n if t[n] == int(seen.get(n, 0)) else "%s:%d/%s" % (n, t[n], seen.get(n))
                        for n in timed))
# the append'"'"'s time, which took the size line with it, and not the
# later overwrites'"'"' time the writer saw
print("untimed", " ".join(n if '"$old"' * 10**9 < t[n] < int(seen.get(n, 0))
                          else "%s:%d/%s" % (n, t[n], seen.get(n)) for n in untimed))
data = open("/umfs/mapped", "rb").read()
print("mapped", " ".join(chr(data[i]) for i in range(0, len(data), 4096)))
print("tree", listing("/umfs/ns"))
print("calls", contents("/umfs/calls"))
' "$work/seen" "$timed" "$untimed" 2>&1) || true
	line() { printf '%s\n' "$got" | sed -n "s/^$1 //p" | grep . || printf '%s' "$writer$got"; }
	check "$mode: every write durable when it returns (O_DSYNC, O_SYNC, RWF_SYNC, neither)" \
		"all written" "$(line data)"
	check "$mode: O_SYNC, RWF_SYNC, fsync and close make the modification time durable" \
		"$timed" "$(line timed)"
	check "$mode: without them the last time stays cached (the image keeps only what was durable)" \
		"$untimed" "$(line untimed)"
	check "$mode: msync wrote the mapping's stores back, the later ones are lost" \
		"o x o o" "$(line mapped)"
	check "$mode: every change of names and attributes durable when it returned" \
		"$want_tree" "$(line tree)"
	check "$mode: every data call durable when it returned (the files as on tmpfs)" \
		"$want_calls" "$(line calls)"
	check_fsck
done
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
