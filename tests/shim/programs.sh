#!/usr/bin/env bash
# programs.sh - a smoke run of real programs on UMFS, compared with the same
# run on tmpfs (the full real-program suite lives in tests/programs/).
. "$(dirname "$0")/lib.sh"

# The script runs in directory $D; its output must not depend on where D is.
script='
set -e
cd "$D"
mkdir -p a/b/c && echo hello > a/b/c/f && cp -a a a2 && mv a2 a3
ls -la a3/b/c | awk "{print \$1, (\$1 ~ /^d/ ? \"-\" : \$5), \$NF}" | tail -n +2
ln -s a3/b/c/f sym && cat sym && stat -c "%F %s" sym a3/b/c/f
find . | sort
du -s --apparent-size --block-size=1 a3/b/c/f | cut -f1
seq 1 5000 > nums && sort -rn -o sorted nums && head -n 2 sorted && sha256sum nums | cut -d" " -f1
dd if=nums of=part bs=100 skip=3 count=2 status=none && wc -c < part
truncate -s 12345 part && stat -c %s part
touch -d "2001-02-03 04:05:06" part && stat -c %Y part
tar cf t.tar a3 nums && mkdir x && tar -C x -xf t.tar && diff -r a3 x/a3 && echo tar-ok
gzip -k nums && gunzip -c nums.gz | cmp - nums && echo gzip-ok
rm -r a a3 x && ls
'
mkdir "$work/ref"
ref=$(D=$work/ref bash -c "$script" 2>&1) || true
shim mkdir /umfs/p
got=$(D=/umfs/p shim bash -c "$script" 2>&1) || true
check "coreutils, tar, gzip: same as tmpfs" "$ref" "$got"

if command -v sqlite3 >/dev/null; then
	sql='create table t(a integer primary key, b text);
begin;
with recursive c(x) as (select 1 union all select x+1 from c where x < 10000)
insert into t select x, printf("row %d", x) from c;
commit;
create index tb on t(b);
pragma integrity_check;
select count(*), sum(a) from t;'
	ref=$(echo "$sql" | sqlite3 "$work/ref.db" 2>&1; sqlite3 "$work/ref.db" 'select b from t where a = 4242' 2>&1)
	got=$(echo "$sql" | shim sqlite3 /umfs/db 2>&1; shim sqlite3 /umfs/db 'select b from t where a = 4242' 2>&1)
	check "sqlite3: 10000 inserts, index, integrity, reopen" "$ref" "$got"
fi

if command -v sqlite3 >/dev/null; then
	# WAL mode: the -shm index is a MAP_SHARED mapping that concurrent
	# processes must see coherently, or commits get lost
	walpy='
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=60)
c.execute("pragma journal_mode=wal")
c.execute("create table if not exists w(tag, i)"); c.commit()
for i in range(200):
    c.execute("insert into w values(?, ?)", (int(sys.argv[2]), i)); c.commit()
'
	got=$(shim_sh "python3 -c '$walpy' /umfs/wal.db 1 & python3 -c '$walpy' /umfs/wal.db 2 &
		python3 -c '$walpy' /umfs/wal.db 3 & wait
		sqlite3 /umfs/wal.db 'select tag, count(*) from w group by tag; pragma integrity_check'" 2>&1)
	check "sqlite3 WAL: three processes writing at once" "1|200
2|200
3|200
ok" "$got"
fi

pyscript='
import os, shutil, tempfile, sys
d = sys.argv[1]
os.makedirs(os.path.join(d, "t/u"))
with open(os.path.join(d, "t/u/f"), "w") as f: f.write("x" * 10000)
shutil.copytree(os.path.join(d, "t"), os.path.join(d, "t2"))
os.rename(os.path.join(d, "t2/u/f"), os.path.join(d, "t2/u/g"))
print(sorted(os.listdir(os.path.join(d, "t2/u"))), os.path.getsize(os.path.join(d, "t2/u/g")))
with tempfile.NamedTemporaryFile(dir=d) as t:
    t.write(b"abc"); t.flush(); print(os.path.getsize(t.name))
shutil.rmtree(os.path.join(d, "t")); print(sorted(os.listdir(d)))
'
mkdir "$work/pyref"
ref=$(python3 -c "$pyscript" "$work/pyref" 2>&1)
shim mkdir /umfs/py
got=$(shim python3 -c "$pyscript" /umfs/py 2>&1)
check "python3: files, copytree, rename, tempfile" "$ref" "$got"

if command -v git >/dev/null; then
	got=$(shim_sh 'mkdir /umfs/g && cd /umfs/g && git init -q . && git config user.email t@t && git config user.name t &&
		echo hi > f && git add f && git commit -qm one && echo more >> f && git commit -qam two &&
		git log --format=%s && git fsck --no-progress 2>&1 && git status --short | wc -l' 2>&1)
	check "git init, add, commit, log, fsck" "two
one
0" "$got"
fi

# build tools: make, cc (cc1, as, ld are separate programs), sed -i, patch
# (GNU patch renames through syscall(SYS_renameat2))
got=$(shim_sh 'mkdir /umfs/build && cd /umfs/build &&
	printf "#include <stdio.h>\nint main(void) { puts(\"built on umfs\"); return 0; }\n" > hello.c &&
	printf "hello: hello.c\n\tcc -O2 -o hello hello.c\n" > Makefile && make -s && ./hello &&
	printf "a\nb\nc\n" > o && printf "a\nB\nc\n" > n && { diff -u o n > d || true; } &&
	patch -s o < d && cat o && sed -i s/B/Q/ n && cat n' 2>&1)
check "make, cc, patch, sed -i" "built on umfs
a
B
c
a
Q
c" "$got"

# a loop device backed by a UMFS file cannot work (the kernel would read
# the token): a clear error, never a device bound to the token
if command -v losetup >/dev/null && [ -w /dev/loop-control ]; then
	out=$(shim_sh 'head -c 1M /dev/zero > /umfs/loopimg; losetup -f --show /umfs/loopimg' 2>&1) || true
	check "losetup of a UMFS file: EOPNOTSUPP, said once" "umfs[PID]: warning: a loop device cannot be backed by a UMFS file (descriptor N): the kernel would read it without this library; use umfs-fuse
losetup: /umfs/loopimg: failed to set up loop device: Operation not supported" "$(printf '%s\n' "$out" | sed 's/^umfs\[[0-9]*\]/umfs[PID]/; s/descriptor [0-9]*/descriptor N/' | sort -r)"
fi

out=$(UMFS_STATS=1 UMFS_STATS_FILE=$work/stats shim cat /umfs/db > /dev/null; grep -c "read" "$work/stats")
check "UMFS_STATS report written" "1" "$out"

out=$("$UMFS_RUN" --pool "$pool" -- cat /umfs/p/nums 2>&1 | head -n 1)
check "umfs-run" "1" "$out"
out=$("$UMFS_RUN" --pool "$work/missing" -- true 2>&1) || true
check "umfs-run: missing pool" "umfs-run: $work/missing: no such pool; make one with mkfs.umfs -s SIZE $work/missing" "$out"
head -c 16M /dev/zero > "$work/zero"
out=$("$UMFS_RUN" --pool "$work/zero" -- true 2>&1) || true
check "umfs-run: not a pool" "umfs-run: $work/zero is not a usable UMFS pool: superblock: bad magic: not a UMFS pool" "$out"
# a char device that is not a device DAX: sysfs has no size for it
out=$("$UMFS_RUN" --pool /dev/null -- true 2>&1) || true
check "umfs-run: not a device DAX" "umfs-run: /dev/null is not a usable UMFS pool: /dev/null: No such device" "$out"
out=$("$UMFS_RUN" --pool "$pool" --kmod on -- true 2>&1) || true
case "$out" in *"module mode (UMFS_KMOD=1): "*) out=module ;; esac
check "umfs-run --kmod on without the module" "module" "$out"

finish
