#!/bin/bash
# SPDX-License-Identifier: MIT
# run_programs.sh MODE BUILDDIR - real programs, unmodified, on the system
# under test and on a fresh tmpfs: each program test is a bash script run
# in a directory of its own on both, and their transcripts (outputs,
# checksums, listings, exit statuses) must be the same.
#
#   MODE fuse   inside a umfs-fuse mount of a fresh pool
#   MODE shim   each test as  LD_PRELOAD=libumfs.so UMFS_POOL=... UMFS_MOUNT=... bash -c '...'
#               so that the shell, its pipelines and every program run under the shim
#   MODE tmpfs  in a second tmpfs (tests the comparison itself)
#
# A test whose program is not installed is skipped, saying which package
# brings it. After the tests the pool is unmounted and fsck.umfs -n -f must
# find it clean (one more check). Prints "ok - NAME" or "not ok - NAME: why"
# per test, and last "programs: N passed, M failed, K skipped"; exits 1 when
# M > 0, 77 when MODE cannot run here.
#
# PROGRAMS_ONLY="cp -a,tar" runs only those tests. PROGRAMS_SABOTAGE=NAME
# makes that test change a file on the side under test before it takes
# checksums, so that the comparison can be seen to catch it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../posix/frontend.sh"
fe_require

helpers=$here/helpers.sh
P_NAMES=()
P_REQS=()
P_BODIES=()

# prog NAME "COMMAND:PACKAGE ..." <<'EOF' BODY EOF
prog() {
	P_NAMES+=("$1")
	P_REQS+=("$2")
	P_BODIES+=("$(cat)")
}

# ------------------------------------------------------------------------
# The tests. Each runs with set -eo pipefail in its own empty directory.
# ------------------------------------------------------------------------

prog "shell redirections and pipelines" "bash:bash gzip:gzip" <<'EOF'
echo hello >f
echo world >>f
cat <f
cat f | tr a-z A-Z >g && cat g
sort -r <g | uniq -c
{ echo out; echo err >&2; } >both 2>&1
cat both
{ echo out; echo err >&2; } 2>/dev/null >onlyout
cat onlyout
ls missing-file 2>err || true
cat err
ls missing-file 2>&1 | sed 's/^/piped: /' || true
exec 3>fd3
echo via-fd-3 >&3
echo more >&3
exec 3>&-
cat fd3
exec 4<f
read -r first <&4
read -r second <&4
exec 4<&-
echo "$first/$second"
exec 5<>rw
echo abc >&5
exec 5>&-
cat rw
while read -r l; do echo "[$l]"; done <f
for i in $(seq 100); do echo "line $i"; done >loop
wc -l <loop
cat f f f | wc -l
: >empty
wc -c <empty
cat >heredoc <<'X'
here $document
X
cat heredoc
set -o noclobber
if (echo x >f) 2>/dev/null; then echo clobbered; else echo noclobber refused; fi
set +o noclobber
echo x >|f
cat f
echo appended >>loop
tail -n 2 loop
seq 20000 | gzip -c | gunzip -c | tail -n 1
{ yes || :; } | head -c 100000 >yes.out
wc -c <yes.out
paste <(seq 3) <(seq 4 6)
diff <(seq 5) <(seq 5) && echo same
basename "$PWD"
mkdir sub && cd sub && echo inside >file && cd .. && cat sub/file
(cd sub && cat file && cat ../f)
sh -c 'echo from sh >sh.out; cat sh.out'
echo tee | tee t1 t2 >/dev/null
cat t1 t2
ls
EOF

prog "cp -a" "cp:coreutils" <<'EOF'
cp -a "$STAGE/tree" copy1
cp -a copy1 copy2
say listing copy1
listing_t copy1
say listing copy2
listing_t copy2
say sums
sums copy2
cp -a copy2 "$K/back"
diff -r --no-dereference "$STAGE/tree" "$K/back" && echo "copied back: same"
cp copy1/bin/size-4097 plain && size plain
cp --sparse=always copy1/sparse sparse2 && size sparse2 && cmp copy1/sparse sparse2
cp -r copy1/docs docs-r && listing docs-r
cp -l copy1/bin/size-1 hardlinked && stat -c '%h' hardlinked
cp -s ../copy1/bin/size-1 docs-r/ 2>&1 || true
cp copy1/bin/size-1 copy1/bin/size-1 2>&1 || true
cp -a copy1/links links-again && listing links-again
EOF

prog "mv" "mv:coreutils" <<'EOF'
cp -a "$STAGE/tree" t
mv t/docs/one.txt t/one-moved.txt
mv t/bin t/docs/
mkdir other
mv t/docs other/
mv t/modes/* other/
mv -T t/deep other/deep-renamed
mv t/one-moved.txt t/one-moved.txt 2>&1 || true
echo outside >"$K/outside"
mv "$K/outside" .
cp other/docs/bin/size-4096 "$K/kernel-copy"
mv "$K/kernel-copy" other/
mv other/docs/bin/size-1 "$K/" && (cd "$K" && size size-1)
mv -n other/mode-0600 other/run.sh 2>&1 || true
mv -f other/mode-0600 other/run.sh
say listing
listing .
say sums
sums .
EOF

prog "rm -r" "rm:coreutils" <<'EOF'
cp -a "$STAGE/tree" t
rm -r t/docs
listing t
rm t/bin/size-0
rm -r t/deep
chmod 444 t/bin/size-1
rm -f t/bin/size-1
rm -rf t/modes
listing t
mkdir -p many/sub
for i in $(seq 1000); do : >"many/f$i"; done
: >many/sub/x
rm -r many
rm -rf t
rm -r missing 2>&1 || true
rmdir --ignore-fail-on-non-empty . 2>&1 || true
ls -A
EOF

prog "cat" "cat:coreutils" <<'EOF'
cat "$STAGE"/tree/bin/size-* >all
size all
sha256sum all
cat all all >twice
sha256sum twice
cat -n "$STAGE/lines" | sed -n 1,3p
cat "$STAGE/tree/docs/one.txt" - <<<"stdin" >mixed
cat mixed
cat "$STAGE/big" >big
cat big | sha256sum
cat <big >big2
cmp big big2 && echo same
cat missing 2>&1 || true
EOF

prog "ls -la" "ls:coreutils" <<'EOF'
cp -a "$STAGE/tree" t
# directory sizes and "total" blocks are the file system's business; ".."
# of t is this test's directory, made now
norm() { awk '/^total / || $NF == ".." { next } /^d/ { $5 = "-" } { $1 = $1; print }'; }
ls -la --time-style=+%s t | norm
ls -laR --time-style=+%s t/bin t/links t/modes | norm
ls -1 t
ls -1a t/bin
ls -lS --time-style=+%s t/bin | norm
ls -lt --time-style=+%s t/docs | norm
ls -d t/*/
ls -la --time-style=+%s t/links/abs-symlink t/links/rel-symlink | norm
ls -F t t/modes
ls -i t/bin/size-4096 t/bin/hardlink | awk '{ print $2 }'
[ "$(ls -i t/bin/size-4096 | cut -d' ' -f1)" = "$(ls -i t/bin/hardlink | cut -d' ' -f1)" ] && echo "hard links share an inode"
ls missing 2>&1 || true
EOF

prog "mkdir -p" "mkdir:coreutils" <<'EOF'
mkdir -p a/b/c/d
mkdir -p a/b
mkdir -p -m 700 m/n
mkdir -p "with space/and/ünïcødé"
mkdir a/b 2>&1 || true
mkdir -p a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p
mkdir -pv x/y | sed 's/^/v: /'
: >file
mkdir -p file/x 2>&1 || true
listing .
EOF

prog "touch" "touch:coreutils" <<'EOF'
touch new
size new
touch -d '2010-01-01 00:00:00' new
stat -c '%n %Y %X' new
touch -a -d '2011-01-01 00:00:00' new
stat -c '%n %Y %X' new
touch -m -d '2012-01-01 00:00:01.5' new
stat -c '%n %y %x' new
touch -r new other
stat -c '%n %Y %X' other
ln -s new link
touch -h -d '2013-01-01 00:00:00' link
stat -c '%n %Y' link new
touch -c missing
ls
touch new
stat -c '%n %Y' new | awk '{ print $1, ($2 > 1600000000) ? "now" : $2 }'
mkdir d
touch -d '2014-01-01 00:00:00' d
stat -c '%n %Y' d
touch d/f
stat -c '%n %Y' d | awk '{ print $1, ($2 > 1600000000) ? "changed" : $2 }'
EOF

prog "ln -s" "ln:coreutils" <<'EOF'
echo target >target
ln -s target link
ln -s ../target sub-link 2>/dev/null || true
mkdir sub
ln -s ../target sub/link
ln -s missing dangling
ln -s /etc/hostname absolute
cat link sub/link
readlink link sub/link dangling
realpath --relative-to=. sub/link
ln -sf target2 link
readlink link
ln -sfn sub dirlink
ln -sfn target dirlink
readlink dirlink
ln target hard
stat -c '%n %h' target hard
ln -s target link 2>&1 || true
ln link hardlink-to-symlink
stat -c '%n %F %h' hardlink-to-symlink
ls -l --time-style=+ link dangling absolute | cut -d' ' -f1,9-
test -L dangling && ! test -e dangling && echo "dangling is dangling"
listing .
EOF

prog "stat" "stat:coreutils" <<'EOF'
cp -a "$STAGE/tree" t
stat -c '%n|%F|%a|%h|%s|%U|%G|%Y' t/bin/* t/modes/* t/docs/one.txt
stat -c '%n|%F|%a|%h|%U|%G|%Y' t t/deep t/empty
stat -L -c '%n|%F|%s' t/links/rel-symlink
stat -c '%n|%F|%s|%N' t/links/rel-symlink t/links/dangling
stat -f -c '%l' t
stat missing 2>&1 || true
stat -c '%b' t/sparse | awk '{ print ($1 * 512 < 5 * 1048576) ? "sparse" : "not sparse" }'
EOF

prog "du" "du:coreutils" <<'EOF'
cp -a "$STAGE/tree" t
# apparent sizes of files (-l: every name of a hard-linked file);
# directories' own sizes are left out
du -abl t | while read -r s p; do [ -d "$p" ] || echo "$s $p"; done | sort -k2
du -s --inodes t
du -al --inodes t/bin | sort -k2
du -sb --apparent-size t/bin/size-3145728 t/sparse
du -sk t/sparse | awk '{ print ($1 < 5120) ? "sparse is smaller" : "sparse is not smaller" }'
du -sk t/bin/size-3145728 | awk '{ print ($1 >= 3072) ? "dense is full" : "dense is short" }'
EOF

prog "find" "find:findutils" <<'EOF'
cp -a "$STAGE/tree" t
find t | sort
find t -type f -name '*.md' | sort
find t -type l | sort
find t -xtype l | sort
find t -maxdepth 1 | sort
find t -mindepth 3 -type d | sort
find t -size +100k | sort
find t -empty | sort
find t -perm -u+x -type f | sort
find t -links 2 -type f | sort
find t -iname 'SIZE-40*' | sort
find t -name '*.txt' -exec wc -c {} + | sort
find t -name 'size-4*' -print0 | sort -z | xargs -0 sha256sum
find t -newer t/docs/one.txt | sort
find t -samefile t/bin/hardlink | sort
find t -depth -type d | wc -l
find t/bin -type f -delete
find t -path '*deep*' -prune -o -type d -print | sort
find t | sort
EOF

prog "sha256sum" "sha256sum:coreutils" <<'EOF'
cp -a "$STAGE/tree/bin" bin
(cd bin && sha256sum * >../SUMS)
cat SUMS
(cd bin && sha256sum -c ../SUMS)
sha256sum "$STAGE/big" | cut -d' ' -f1 >stage-sum
cp "$STAGE/big" big
sha256sum big | cut -d' ' -f1 | cmp - stage-sum && echo "big: same"
sha256sum <big
sha256sum - <bin/size-1
EOF

prog "dd" "dd:coreutils" <<'EOF'
dd if="$STAGE/big" of=dd1 bs=1M status=none
sha256sum dd1
dd if=dd1 of=dd2 bs=4096 skip=3 count=100 status=none
sha256sum dd2
dd if=/dev/zero of=dd3 bs=1M count=3 seek=2 status=none
size dd3
sha256sum dd3
dd if="$STAGE/big" of=dd3 bs=1000 count=7 seek=5 conv=notrunc status=none
size dd3
sha256sum dd3
dd if=dd1 of=dd4 bs=64K conv=sparse status=none
cmp dd1 dd4 && echo "dd4: same"
dd if=dd1 bs=1M count=1 status=none | sha256sum
dd if=dd1 of=dd5 bs=4096 count=256 oflag=sync status=none
dd if=dd1 of=dd6 bs=4096 count=256 conv=fdatasync,fsync status=none
cmp dd5 dd6 && echo "dd5 dd6: same"
dd if=dd1 of=dd7 bs=1M count=2 oflag=direct status=none
dd if=dd7 of=dd8 bs=1M iflag=direct status=none
cmp dd7 dd8 && echo "direct: same"
dd if=dd1 of=dd9 bs=1M count=1 oflag=append conv=notrunc status=none
dd if=dd1 of=dd9 bs=1M count=1 oflag=append conv=notrunc status=none
size dd9
dd if=missing of=x status=none 2>&1 || true
EOF

prog "truncate" "truncate:coreutils" <<'EOF'
truncate -s 10M t1
size t1
truncate -s +1K t1
size t1
truncate -s -500 t1
size t1
truncate -s %4096 t1
size t1
truncate -s '<1M' t1
size t1
truncate -s '>2M' t1
size t1
sha256sum t1
cp "$STAGE/tree/bin/size-1048579" t2
truncate -s 100000 t2
truncate -s 1048579 t2
sha256sum t2
truncate -r t2 t3
size t3
truncate -c -s 1 missing
ls
truncate -s 0 t2
size t2
EOF

prog "sort -o" "sort:coreutils" <<'EOF'
cp "$STAGE/lines" lines
sort lines -o sorted
sha256sum sorted
sort -n lines -o lines
sha256sum lines
sort -u -k2 lines -o uniq
wc -l uniq
sort -rn -k1,1 lines -o rev
head -n 3 rev
# a big input with small buffers: temporary files in this directory
for i in 1 2 3 4; do cat lines; done >big
sort -S 64K -T . big -o big-sorted
sha256sum big-sorted
sort -m sorted sorted -o merged
wc -l merged
ls
EOF

prog "tar" "tar:tar gzip:gzip" <<'EOF'
tar -C "$STAGE" -cf t.tar tree
tar -C "$STAGE" -cf - tree | cmp - t.tar && echo "archive: same as on the stage"
mkdir x
tar -C x -xf t.tar
say listing x
listing_t x
say sums x
sums x
tar -tvf t.tar | sort -k6
tar --sort=name -C x -cf t2.tar tree
sha256sum t2.tar
mkdir y
tar -C y -xf t2.tar
diff -r --no-dereference x/tree y/tree && echo "round trip: same"
tar --sort=name -czf t3.tgz -C x tree
gzip -t t3.tgz && echo "gzip ok"
mkdir z
tar -C z -xzf t3.tgz
diff -r --no-dereference x/tree z/tree && echo "gzip round trip: same"
tar --sort=name -C x -cf "$K/out.tar" tree
tar -tf "$K/out.tar" | sort | sha256sum
tar -C x -df t.tar && echo "tar -d: no differences"
tar --sparse -cf s.tar -C "$STAGE/tree" sparse
mkdir s && tar -C s -xf s.tar && cmp s/sparse "$STAGE/tree/sparse" && echo "sparse: same"
EOF

prog "gzip/gunzip" "gzip:gzip" <<'EOF'
cp "$STAGE/big" big
gzip -n -k big
ls
sha256sum big.gz
gunzip -c big.gz | sha256sum
rm big
gunzip big.gz
sha256sum big
gzip -9 -n <big >big9.gz
sha256sum big9.gz
zcat big9.gz | cmp - big && echo "zcat: same"
gzip -t big9.gz && echo "test ok"
cp -a "$STAGE/tree/docs" docs
gzip -r -n docs
listing docs
gunzip -r docs
sums docs
echo broken >bad.gz
gunzip bad.gz 2>&1 || true
EOF

prog "sqlite3" "sqlite3:sqlite3" <<'EOF'
{
	echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, val REAL, blob BLOB);"
	echo "BEGIN;"
	seq 10000 | awk '{ printf "INSERT INTO t VALUES(%d, '\''name %d'\'', %d * 1.5, zeroblob(%d));\n", $1, $1, $1, $1 % 300 }'
	echo "COMMIT;"
	echo "CREATE INDEX t_name ON t(name);"
	echo "PRAGMA integrity_check;"
} | sqlite3 test.db
sqlite3 test.db "SELECT count(*), sum(val), max(name), sum(length(blob)) FROM t;"
sqlite3 test.db "SELECT id, name FROM t WHERE name = 'name 4242';"
sqlite3 test.db "UPDATE t SET val = -val WHERE id % 7 = 0; DELETE FROM t WHERE id % 11 = 0;"
sqlite3 test.db "PRAGMA integrity_check; SELECT count(*), sum(val) FROM t;"
sqlite3 test.db "VACUUM; PRAGMA integrity_check; SELECT count(*) FROM t;"
sqlite3 test.db .dump | sha256sum
# WAL: a shared-memory file mapped by sqlite
sqlite3 wal.db "PRAGMA journal_mode=WAL; CREATE TABLE w(x); BEGIN; $(for i in $(seq 2000); do printf 'INSERT INTO w VALUES(%d);' "$i"; done) COMMIT;"
sqlite3 wal.db "SELECT count(*), sum(x) FROM w; PRAGMA integrity_check; PRAGMA wal_checkpoint(TRUNCATE);"
sqlite3 wal.db "PRAGMA journal_mode=DELETE; SELECT count(*) FROM w;"
# two readers at once
sqlite3 test.db "SELECT count(*) FROM t WHERE id > 5000;" >r1 &
sqlite3 test.db "SELECT count(*) FROM t WHERE id <= 5000;" >r2 &
wait
cat r1 r2
ls
EOF

prog "python3" "python3:python3" <<'EOF'
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" - <<'PY'
import fcntl, hashlib, mmap, os, pathlib, shutil, stat, subprocess, sys, tempfile

def show(*a):
    print(*a, flush=True)

with open("a.txt", "w") as f:
    f.write("hello\n" * 1000)
with open("a.txt") as f:
    show("read", len(f.read()))
with open("a.txt", "a") as f:
    f.write("tail\n")
with open("a.txt", "r+") as f:
    f.seek(2)
    f.write("XX")
    f.seek(0)
    show("r+", repr(f.read(8)))
data = bytes(range(256)) * 4096
with open("b.bin", "wb") as f:
    f.write(data)
with open("b.bin", "rb") as f:
    f.seek(1000)
    show("seek", f.read(4).hex(), f.tell())
show("sha", hashlib.sha256(open("b.bin", "rb").read()).hexdigest())
os.mkdir("sub")
os.makedirs("sub/x/y", exist_ok=True)
show("listdir", sorted(os.listdir(".")))
os.rename("a.txt", "sub/a.txt")
show("rename", sorted(os.listdir(".")), sorted(os.listdir("sub")))
os.replace("b.bin", "sub/b.bin")
shutil.copytree(os.environ["STAGE"] + "/tree", "copy", symlinks=True)
for root, dirs, files in sorted(os.walk("copy")):
    show("walk", root, sorted(dirs), sorted(files))
show("scandir", sorted((e.name, e.is_dir(follow_symlinks=False), e.is_symlink()) for e in os.scandir("copy")))
shutil.copy2("sub/a.txt", "copied.txt")
show("copy2", os.stat("copied.txt").st_size, os.stat("copied.txt").st_mtime == os.stat("sub/a.txt").st_mtime)
fd, path = tempfile.mkstemp(dir=".", prefix="tmp")
os.write(fd, b"x" * 10)
os.close(fd)
st = os.stat(path)
show("mkstemp", os.path.basename(path).startswith("tmp"), st.st_size, oct(st.st_mode))
os.unlink(path)
with tempfile.NamedTemporaryFile(dir=".") as t:
    t.write(b"abc")
    t.flush()
    show("NamedTemporaryFile", os.path.getsize(t.name))
with tempfile.TemporaryDirectory(dir=".") as td:
    with open(os.path.join(td, "f"), "w") as f:
        f.write("x")
    show("TemporaryDirectory", os.listdir(td))
with tempfile.TemporaryFile(dir=".") as t:
    t.write(b"anonymous")
    t.seek(0)
    show("TemporaryFile", t.read())
show("after temp", sorted(os.listdir(".")))
os.symlink("sub/a.txt", "link")
show("readlink", os.readlink("link"), os.path.relpath(os.path.realpath("link")))
os.truncate("sub/a.txt", 10)
os.chmod("sub/a.txt", 0o640)
os.utime("sub/a.txt", (1000, 2000.5))
st = os.stat("sub/a.txt")
show("stat", st.st_size, stat.filemode(st.st_mode), st.st_nlink, st.st_mtime, st.st_atime)
os.link("sub/a.txt", "hard")
show("link", os.stat("hard").st_nlink, os.path.samefile("hard", "sub/a.txt"))
with open("sub/b.bin", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[0:4] = b"MMAP"
    m.flush()
    show("mmap", len(m), m[4:8].hex())
    m.close()
with open("sub/b.bin", "rb") as f:
    show("after mmap", f.read(8))
with open("lock", "w") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    show("locks", "taken")
p = pathlib.Path("p.txt")
p.write_text("pathlib\n")
show("pathlib", p.read_text(), sorted(str(x) for x in pathlib.Path(".").glob("*.txt")))
show("subprocess", subprocess.run(["cat", "p.txt"], capture_output=True).stdout)
with open("p.txt") as f:
    show("child reads the inherited file", subprocess.run(["cat"], stdin=f, capture_output=True).stdout)
try:
    os.rmdir("sub")
except OSError as e:
    show("rmdir", e.errno == 39, e.strerror)
try:
    open("missing")
except FileNotFoundError as e:
    show("missing", e.strerror)
shutil.rmtree("copy")
show("end", sorted(os.listdir(".")))
PY
EOF

prog "git" "git:git" <<'EOF'
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$K"
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=Tester
export GIT_COMMITTER_EMAIL=t@example.org GIT_AUTHOR_DATE='2001-02-03T04:05:06Z'
export GIT_COMMITTER_DATE='2001-02-03T04:05:06Z'
git init -q -b main repo
cd repo
cp -a "$STAGE/tree/docs" "$STAGE/tree/modes" .
git add -A
git commit -q -m first
echo change >>docs/one.txt
git commit -q -am second
git checkout -q -b feature
git mv docs/one.txt one.txt
chmod 755 modes/mode-0600
git add -A
git commit -q -m third
git checkout -q main
git merge -q --no-edit feature
git log --stat --format='%H %s'
git status --porcelain
git fsck --full --strict 2>&1
git gc -q
git count-objects -v | grep -v size
git fsck --full 2>&1
git rev-parse HEAD
git archive --format=tar HEAD | sha256sum
git diff HEAD~2 --stat
cd ..
git clone -q repo clone
cd clone
git log --format='%H %s'
git fsck 2>&1
ls -a
git config core.filemode
git config core.symlinks || echo "core.symlinks not set"
EOF

prog "rsync -a" "rsync:rsync" <<'EOF'
rsync -a "$STAGE/tree/" r1/
rsync -a r1/ r2/
say listing r1
listing_t r1
say listing r2
listing_t r2
say sums r2
sums r2
echo changed >r2/docs/one.txt
: >r2/extra
rsync -a --delete r1/ r2/
diff -r --no-dereference r1 r2 && echo "restored"
rsync -aH r1/ r3/
stat -c '%h' r3/bin/hardlink
rsync -aS --inplace r1/ r4/
cmp r1/sparse r4/sparse && echo "sparse: same"
rsync -ac r1/ r4/ && echo "checksum run"
rsync -a r2/ "$K/back/"
diff -r --no-dereference "$STAGE/tree" "$K/back" && echo "back: same"
rsync -a --itemize-changes --dry-run r1/ r2/ | sort
EOF

prog "fio (psync, verify=crc32c)" "fio:fio" <<'EOF'
run() {
	local name=$1 rc=0
	shift
	fio --name="$name" --filename=fio.dat --ioengine=psync --output="$name.log" "$@" || rc=$?
	echo "$name: exit $rc, $(grep -o 'err= *[0-9]*' "$name.log" | tr -d ' ')"
	grep -q 'verify' "$name.log" && grep -i 'verify.*fail\|bad.*magic\|crc32c' "$name.log" | head -n 3 || true
	return "$rc"
}
run write --rw=write --size=64M --bs=64k --verify=crc32c --do_verify=0
size fio.dat
run verify --rw=read --size=64M --bs=64k --verify=crc32c
run randwrite --rw=randwrite --size=32M --bsrange=4k-64k --randrepeat=1 --randseed=42 \
	--verify=crc32c --do_verify=1 --fsync=32
run verify-4k --rw=write --size=8M --bs=4k --verify=crc32c --do_verify=1 --fdatasync=64
# a corrupted byte must be caught
run write2 --rw=write --size=4M --bs=4k --verify=crc32c --do_verify=0
printf 'X' | dd of=fio.dat bs=1 seek=123456 conv=notrunc status=none
if run verify2 --rw=read --size=4M --bs=4k --verify=crc32c >/dev/null 2>&1; then
	echo "corruption NOT caught"
else
	echo "corruption caught"
fi
EOF

# ------------------------------------------------------------------------
# The staging tree, outside the system under test
# ------------------------------------------------------------------------

stage=$FE_TMP/stage
make_stage() {
	local t=$stage/tree n
	mkdir -p "$t/docs" "$t/bin" "$t/links" "$t/modes" "$t/empty" "$t/deep/1/2/3/4/5/6/7/8"
	cp "$here"/../../docs/*.md "$t/docs/" 2>/dev/null || echo "# docs" >"$t/docs/none.md"
	echo "one" >"$t/docs/one.txt"
	for n in 0 1 4095 4096 4097 65536 1048579 3145728; do
		head -c "$n" /dev/urandom >"$t/bin/size-$n"
	done
	ln "$t/bin/size-4096" "$t/bin/hardlink"
	truncate -s 5M "$t/sparse"
	printf 'middle' | dd of="$t/sparse" bs=1 seek=3000000 conv=notrunc status=none
	ln -s ../bin/size-1 "$t/links/rel-symlink"
	ln -s /etc/hostname "$t/links/abs-symlink"
	ln -s nowhere "$t/links/dangling"
	ln -s ../deep "$t/links/dir-symlink"
	echo private >"$t/modes/mode-0600" && chmod 600 "$t/modes/mode-0600"
	printf '#!/bin/sh\necho hi\n' >"$t/modes/run.sh" && chmod 755 "$t/modes/run.sh"
	echo ro >"$t/modes/read-only" && chmod 444 "$t/modes/read-only"
	echo spaces >"$t/docs/a name with spaces"
	echo unicode >"$t/docs/ünïcødé-名前"
	echo long >"$t/docs/$(printf 'L%.0s' $(seq 255))"
	echo deep >"$t/deep/1/2/3/4/5/6/7/8/file"
	: >"$t/empty-file"
	find "$t" -exec touch -h -d '2001-02-03 04:05:06' {} +
	head -c 8M /dev/urandom >"$stage/big"
	awk 'BEGIN { srand(42); for (i = 0; i < 5000; i++) print int(rand() * 100000), "word" int(rand() * 50), i }' \
		>"$stage/lines"
}
make_stage

# ------------------------------------------------------------------------
# Running and comparing
# ------------------------------------------------------------------------

ref=$FE_TMP/ref
fe_tmpfs "$ref"
fe_start
if ! "${FE_RUN[@]}" mkdir -m 755 "$FE_ROOT/programs"; then
	echo "not ok - mkdir $FE_ROOT/programs on $FE_MODE"
	echo "programs: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
mkdir -p "$FE_TMP/out"

# run_side ref|sut INDEX: the transcript of one test on one side.
run_side() {
	local side=$1 i=$2 slug dir rc=0 sabotage=
	local -a run=()
	slug=$(printf '%s' "${P_NAMES[$i]}" | tr -c 'a-zA-Z0-9\n' '-')
	if [ "$side" = ref ]; then
		dir=$ref/$slug
		mkdir -p "$dir"
	else
		dir=$FE_ROOT/programs/$slug
		run=("${FE_RUN[@]}")
		"${run[@]}" mkdir -p "$dir" >/dev/null
		[ "${PROGRAMS_SABOTAGE:-}" = "${P_NAMES[$i]}" ] && sabotage=1
	fi
	mkdir -p "$FE_TMP/k-$side-$slug"
	D=$dir K=$FE_TMP/k-$side-$slug STAGE=$stage HELPERS=$helpers SABOTAGE=$sabotage \
		timeout 600 "${run[@]}" bash -c "set -eo pipefail; . \"\$HELPERS\"; cd \"\$D\"; ${P_BODIES[$i]}" \
		>"$FE_TMP/out/$side-$slug" 2>&1 </dev/null || rc=$?
	echo "== exit status $rc" >>"$FE_TMP/out/$side-$slug"
	echo "$FE_TMP/out/$side-$slug"
}

pass=0
fail=0
skipped=0
for i in "${!P_NAMES[@]}"; do
	name=${P_NAMES[$i]}
	if [ -n "${PROGRAMS_ONLY:-}" ] && [[ ",$PROGRAMS_ONLY," != *",$name,"* ]]; then
		continue
	fi
	missing=
	for req in ${P_REQS[$i]}; do
		command -v "${req%%:*}" >/dev/null || missing="${missing:+$missing, }${req%%:*} is not installed (Debian: ${req#*:})"
	done
	if [ -n "$missing" ]; then
		echo "ok - $name # SKIP $missing"
		skipped=$((skipped + 1))
		continue
	fi
	t0=$(date +%s.%N)
	r=$(run_side ref "$i")
	t1=$(date +%s.%N)
	s=$(run_side sut "$i")
	t2=$(date +%s.%N)
	times=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "tmpfs %.1f s, %s %.1f s", b - a, "'"$FE_MODE"'", c - b }')
	if [ "$(tail -n 1 "$r")" != "== exit status 0" ]; then
		echo "not ok - $name: fails on tmpfs too, the test is broken ($(tail -n 1 "$r"))"
		tail -n 15 "$r" | sed 's/^/#   /' || :
		fail=$((fail + 1))
	elif cmp -s "$r" "$s"; then
		echo "ok - $name ($times, $(wc -l <"$r") lines)"
		pass=$((pass + 1))
	else
		echo "not ok - $name: the transcripts differ ($times)"
		{ diff -u --label tmpfs --label "$FE_MODE" "$r" "$s" || :; } | sed -n '3,22s/^/#   /p'
		echo "#   the $FE_MODE transcript ends with:"
		tail -n 4 "$s" | sed 's/^/#     /'
		fail=$((fail + 1))
	fi
done

# What must survive: the tree as the programs left it, through an unmount.
fe_snapshot "$FE_ROOT/programs" >"$FE_TMP/before" 2>&1 || true
if ! fe_stop; then
	echo "not ok - unmount"
	fail=$((fail + 1))
elif [ "$FE_MODE" != tmpfs ]; then
	if fe_fsck; then
		echo "ok - fsck.umfs -n -f: clean after the programs"
		pass=$((pass + 1))
	else
		echo "not ok - fsck.umfs -n -f: the pool is not clean after the programs"
		fail=$((fail + 1))
	fi
	fe_remount
	fe_snapshot "$FE_ROOT/programs" >"$FE_TMP/after" 2>&1 || true
	fe_stop || true
	if cmp -s "$FE_TMP/before" "$FE_TMP/after"; then
		echo "ok - the programs' files survived unmount and mount ($(wc -l <"$FE_TMP/after") lines)"
		pass=$((pass + 1))
	else
		echo "not ok - the programs' files changed across unmount and mount"
		{ diff -u --label before --label after "$FE_TMP/before" "$FE_TMP/after" || :; } |
			sed -n '3,22s/^/#   /p'
		fail=$((fail + 1))
	fi
fi
echo "programs: $pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
