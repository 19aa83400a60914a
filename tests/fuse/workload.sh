#!/bin/bash
# SPDX-License-Identifier: MIT
# workload.sh DIR STAGING - file system exercise for the FUSE/tmpfs comparison.
#
# Runs everyday commands in DIR and prints a transcript that must come out
# the same on any POSIX file system: names, types, modes, link counts, file
# sizes, contents (checksums) and the errors of failing calls. Directory
# sizes and unset times differ between file systems and are left out.
# STAGING holds the source tree and the big file (prepared by the caller).
set -u
cd "$1" || exit 1
src=$2/tree
big=$2/big

say() { echo "== $*"; }
# run CMD...: prints the command's exit status and output
run() { local out rc; out=$("$@" 2>&1); rc=$?; echo "\$ $* -> $rc"; [ -n "$out" ] && echo "$out" | sed "s|$PWD|DIR|g"; return 0; }
# one line per name: type, mode, links, size (not for directories), target
listing() {
	find "$@" -printf '%y %m %n %p' -a \( -type d -printf '\n' -o -type l -printf ' -> %l\n' -o -printf ' %s\n' \) | sort -k4
}
sums() { find "$@" -type f -print0 | sort -z | xargs -0 -r sha256sum; }

say "cp -a of a small tree"
cp -a "$src" tree || echo "cp -a failed"
listing tree
sums tree

say "mkdir -p, mv, rm -r"
run mkdir -p a/b/c/d/e
run mkdir -p a/b/c
run mv tree/docs a/b/c/d/
run mv a/b/c a/c2
run mv a/c2/d/docs/one.txt a/one-moved.txt
run rm -r a/c2/d/e
run rm -r a/b
run rmdir a/c2
run rm a/c2
listing a

say "links"
echo "linked content" >l1
run ln l1 l2
run ln l1 a/l3
run stat -c '%s %a %h %F' l1 l2 a/l3
echo "more" >>l2
run stat -c '%s %a %h %F' l1 l2 a/l3
run cat a/l3
run rm l1
run stat -c '%s %a %h %F' l2 a/l3
run ln -s l2 s1
run ln -s a/c2/d s2
run ln -s /nonexistent/target dangling
run readlink s1 s2 dangling
run stat -c '%s %a %h %F' s1 s2 dangling
run stat -L -c '%s %a %h %F' s1
run cat s1
run ls s2/
run ln a a-link
run ln -s . self

say "attributes"
echo "0123456789" >f
run chmod 640 f
run stat -c '%s %a %h %F' f
run touch -d '2020-01-02 03:04:05.123456789' f
run stat -c '%X %Y %y' f
run touch -m -d '@1000000000' f
run stat -c '%X %Y' f
run touch -h -d '@1234567890' s1
run stat -c '%Y' s1
run chmod 4755 f
run stat -c '%a' f
run mkfifo fifo
run stat -c '%a %h %F' fifo
(echo through-fifo >fifo &) ; run cat fifo
run mknod chr c 1 3
run stat -c '%a %h %F %t %T' chr

run tree/sub/run.sh
cp /bin/true bin-true
run ./bin-true
run sh -c 'cat tree/sub/run.sh | sh'

say "truncate, dd conv=notrunc, cat"
run truncate -s 10000 f
run stat -c '%s' f
run truncate -s 5 f
run cat f
run truncate -s 3000000 sparse
printf 'XYZ' | dd of=f bs=1 seek=2 conv=notrunc status=none
run cat f
seq 1 20000 >numbers
dd if=/dev/zero of=numbers bs=4096 seek=3 count=2 conv=notrunc status=none
run stat -c '%s' numbers
run sha256sum numbers
dd if=numbers of=numbers-tail bs=1000 skip=100 status=none
run sha256sum numbers-tail
printf 'appended\n' >>numbers
run tail -c 30 numbers

say "ls -la names, find, du -b"
ls -la | awk 'NR > 1 && $NF != ".." { print $1, $NF }'
ls -a a
listing .
# -l: every name of a hard-linked file (which name du -a keeps otherwise
# depends on the readdir order); directory sizes are the file system's own
du -abl . | while read -r s p; do [ -d "$p" ] && ! [ -L "$p" ] && s=dir; echo "$s $p"; done | sort -k2
# each inode once: hard links are recognised by st_ino
run du -s --inodes . tree

say "a 100 MiB file"
cp "$big" big
run stat -c '%s' big  # st_blocks differ: umfs counts page-table pages
cmp "$big" big && echo "big: same bytes"
sha256sum <big
dd if=big bs=1M skip=50 count=3 status=none | sha256sum

say "tar round trip"
tar cf t.tar tree a
tar tf t.tar | sort  # archive order is readdir order
mkdir untar && tar xf t.tar -C untar && diff -r --no-dereference tree untar/tree && echo "tar: same tree"
listing untar
sums untar
rm -f t.tar

say "many names (readdir in several calls, removal while listing)"
mkdir many
for i in $(seq 1 1500); do : >"many/entry-with-a-long-name-$i"; done
ls many | wc -l
ls -U many | sort | md5sum
find many -name '*-7*' | wc -l
rm -r many
run ls -A many

say "python os and shutil"
python3 - <<'PY'
import ctypes, errno, os, shutil, stat

def err(f, *a):
    try:
        f(*a)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

os.makedirs("py/x/y/z")
print("makedirs again", err(os.makedirs, "py/x/y/z"))
print("mkdir exists", err(os.mkdir, "py/x"))
print("rmdir nonempty", err(os.rmdir, "py/x"))
print("unlink dir", err(os.unlink, "py/x"))
print("open missing", err(os.open, "py/missing", os.O_RDONLY))
print("rename into own subdir", err(os.rename, "py/x", "py/x/y/in"))
print("open dir for write", err(os.open, "py/x", os.O_WRONLY))
print("mkdir under file", err(os.mkdir, "f/sub"))

fd = os.open("py/data", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
print("O_EXCL again", err(os.open, "py/data", os.O_CREAT | os.O_EXCL | os.O_RDWR))
os.pwrite(fd, b"hello world", 0)
os.pwrite(fd, b"W", 6)
print("pread", os.pread(fd, 100, 0))
os.fsync(fd)
os.ftruncate(fd, 5)
print("fstat size", os.fstat(fd).st_size)
os.unlink("py/data")
os.pwrite(fd, b"!!", 5)
print("unlinked open file", os.pread(fd, 100, 0), os.fstat(fd).st_nlink)
os.close(fd)
print("listed after unlink", sorted(os.listdir("py")))

import tempfile
with tempfile.TemporaryFile(dir="py") as t:  # mkstemp, unlink, fstat
    t.write(b"t" * 10000)
    t.seek(0)
    print("TemporaryFile", len(t.read()), os.fstat(t.fileno()).st_nlink, os.listdir("py"))
fd = os.open("py/x/y/held", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"abc")
os.link("py/x/y/held", "py/held2")
os.unlink("py/x/y/held")
os.fchmod(fd, 0o640)
print("unlinked, other name", os.fstat(fd).st_nlink, oct(os.stat("py/held2").st_mode))
os.unlink("py/held2")
print("unlinked, no name", os.fstat(fd).st_nlink, os.fstat(fd).st_size)
os.rename("py/x/y/z", "py/z")
fd2 = os.open("py/z/f", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd2, b"in a removed directory")
shutil.rmtree("py/z")
print("rmtree with an open file", os.path.exists("py/z"), os.pread(fd2, 100, 0))
os.close(fd2)
os.close(fd)

fd = os.open("py/sparse", os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"d" * 4096, 8 << 20)
os.pwrite(fd, b"e" * 100, 0)
# Where data and holes start depends on the allocation unit (umfs gives a
# large file whole 2 MiB groups): check what POSIX promises.
hole = os.lseek(fd, 0, os.SEEK_HOLE)
data = os.lseek(fd, 1 << 20, os.SEEK_DATA)
print("SEEK_DATA 0", os.lseek(fd, 0, os.SEEK_DATA))
print("SEEK_HOLE 0 in [4K, 8M]", 4096 <= hole <= 8 << 20 and hole % 4096 == 0)
print("SEEK_DATA 1M in [1M, 8M]", 1 << 20 <= data <= 8 << 20)
print("SEEK_DATA 8M", os.lseek(fd, 8 << 20, os.SEEK_DATA))
print("SEEK_HOLE 8M", os.lseek(fd, 8 << 20, os.SEEK_HOLE))
print("SEEK_DATA past end", err(os.lseek, fd, 9 << 20, os.SEEK_DATA))
print("sparse: under 4 MiB allocated", os.fstat(fd).st_blocks * 512 < (4 << 20))
os.posix_fallocate(fd, 0, 3 << 20)
print("fallocate size", os.fstat(fd).st_size)
os.close(fd)

fd = os.open("py/app", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
os.write(fd, b"one\n")
os.pwrite(fd, b"two\n", 0)  # Linux: appends anyway
os.close(fd)
print("append", open("py/app", "rb").read())

shutil.copytree("tree", "py/copy", symlinks=True)
print("copytree", sorted(os.listdir("py/copy")))
shutil.move("py/copy", "py/moved")
os.replace("py/app", "py/moved/app")
print("scandir", sorted((e.name, e.is_dir(follow_symlinks=False), e.is_symlink())
                        for e in os.scandir("py/moved")))
os.link("py/moved/app", "py/applink")
os.symlink("moved/app", "py/appsym")
print("readlink", os.readlink("py/appsym"), os.stat("py/applink").st_nlink)
os.utime("py/applink", ns=(1500000000123456789, 1600000000987654321))
st = os.stat("py/moved/app")
print("utime ns", st.st_atime_ns, st.st_mtime_ns)
os.truncate("py/moved/app", 2)
print("truncate by path", open("py/applink", "rb").read())
os.chmod("py/moved/app", 0o604)
print("chmod", oct(stat.S_IMODE(os.stat("py/applink").st_mode)))

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        return errno.errorcode[ctypes.get_errno()]
    return "ok"
open("py/ra", "w").write("A")
open("py/rb", "w").write("B")
print("NOREPLACE", renameat2("py/ra", "py/rb", 1))
print("EXCHANGE", renameat2("py/ra", "py/rb", 2), open("py/ra").read(), open("py/rb").read())
print("EXCHANGE missing", renameat2("py/ra", "py/rc", 2))
print("NOREPLACE new", renameat2("py/ra", "py/rc", 1), sorted(os.listdir("py")))
os.mkdir("py/d1")
print("EXCHANGE dir/file", renameat2("py/d1", "py/rc", 2),
      stat.S_ISDIR(os.lstat("py/rc").st_mode))
import mmap
with open("py/mapped", "wb") as f:
    f.truncate(3 * 4096)
with open("py/mapped", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[4000:4010] = b"0123456789"
    m[-1:] = b"!"
    m.flush()
    m.close()
data = open("py/mapped", "rb").read()
print("mmap", len(data), data[4000:4010], data[-1:], data.count(0))

import sqlite3
db = sqlite3.connect("py/db.sqlite")
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t values (?, ?)", ((i, "v%d" % i) for i in range(2000)))
with db:
    db.execute("delete from t where k % 3 = 0")
print("sqlite", db.execute("select count(*), sum(k) from t").fetchone(),
      db.execute("pragma integrity_check").fetchone())
db.close()
# telldir/seekdir: the offsets the kernel passes back are umfs's cookies
class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = libc.telldir.argtypes = libc.closedir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
os.mkdir("py/dir")
for i in range(300):
    open("py/dir/n%03d" % i, "w").close()
def names(d, n=None):
    out = []
    while n is None or len(out) < n:
        e = libc.readdir(d)
        if not e:
            break
        out.append(e.contents.d_name.decode())
    return out
d = libc.opendir(b"py/dir")
head = names(d, 120)
pos = libc.telldir(d)
tail = names(d)
for i in range(0, 300, 7):  # remove some, add some, then go back to pos
    os.unlink("py/dir/n%03d" % i)
for i in range(40):
    open("py/dir/new%02d" % i, "w").close()
libc.seekdir(d, pos)
again = names(d)
libc.closedir(d)
gone = {"n%03d" % i for i in range(0, 300, 7)}
kept = [n for n in tail if n not in gone]
print("readdir", len(head) + len(tail), sorted(head + tail) == sorted([".", ".."] + ["n%03d" % i for i in range(300)]))
print("seekdir back: kept entries once, in order",
      [n for n in again if n in set(kept)] == kept,
      len(again) == len(set(again)), not (set(again) & set(head)))
shutil.rmtree("py/moved")
print("rmtree", sorted(os.listdir("py")))
PY

say "permissions as another user"
mkdir -m 0700 private
mkdir -m 1777 public
echo secret >private/file
echo mine >public/roots
chmod 644 public/roots
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
run as_nobody ls private
run as_nobody cat private/file
run as_nobody sh -c 'echo x >public/nobodys'
run stat -c '%U %G %a' public/nobodys
run as_nobody rm public/roots
run as_nobody sh -c 'echo x >>public/roots'
run as_nobody mkdir public/nd
run stat -c '%U %G %a' public/nd
run as_nobody chmod 777 public/roots
run as_nobody chown nobody public/nobodys
run as_nobody touch -d '@5' public/roots
run as_nobody touch public/nobodys
run as_nobody rm public/nobodys
echo setid >public/setid
chmod 6777 public/setid
run as_nobody touch public/setid
run as_nobody sh -c 'echo x >>public/setid'
run stat -c '%a %s' public/setid
run as_nobody chmod 4777 public/setid
chmod 6777 public/setid
run as_nobody truncate -s 1 public/setid
run stat -c '%a %s' public/setid
mkdir -m 0770 groupdir
echo grouped >groupdir/file
chmod 660 groupdir/file
chgrp -R 100 groupdir
as_member() { setpriv --reuid=65534 --regid=65534 --groups=100 -- "$@"; }
run as_member cat groupdir/file
run as_nobody cat groupdir/file
run as_member sh -c 'echo more >>groupdir/file'
run as_member chgrp 100 public/nd
run stat -c '%U %G' public/nd
# an owner outside the group may "change" to the file's current group
run as_nobody chgrp 100 public/nd
run as_nobody chgrp nogroup public/nd
run stat -c '%U %G' public/nd
run ls public

say "edges"
run touch "$(printf 'N%.0s' $(seq 256))"
python3 - <<'PY'
import errno, os
def err(f, *a):
    try:
        f(*a)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
os.makedirs("e/d1/sub")
os.makedirs("e/d2/x")
os.mkdir("e/empty")
open("e/file", "w").close()
print("dir over non-empty dir", err(os.rename, "e/d1", "e/d2"))
print("file over dir", err(os.rename, "e/file", "e/empty"))
print("dir over file", err(os.rename, "e/empty", "e/file"))
print("dir over empty dir", err(os.rename, "e/d1", "e/empty"), sorted(os.listdir("e")))
print("onto itself", err(os.rename, "e/file", "e/file"))
print("rmdir .", err(os.rmdir, "e/d2/."))
print("mkdir with a slash", err(os.mkdir, "e/new/"), os.path.isdir("e/new"))
print("symlink with a slash", err(os.symlink, "target", "e/sl/"))
print("file with a slash", err(os.open, "e/file/", os.O_RDONLY))
print("link to a dir", err(os.link, "e/d2", "e/d2link"))
print("nlink", os.stat("e").st_nlink, os.stat("e/empty").st_nlink, os.stat("e/d2").st_nlink)
PY
mkdir e/sg
chgrp 100 e/sg
chmod 2775 e/sg
mkdir e/sg/child
touch e/sg/file
run stat -c '%a %G' e/sg/child e/sg/file
exec 9>e/held && rm e/held && run ls -A e && exec 9>&-

say "the end"
listing . | md5sum
