#!/bin/bash
# SPDX-License-Identifier: MIT
# test_memclaim.sh BUILD_ROOT - a file mapped MAP_SHARED through one front
# end while another has it open for writing. umfs-fuse's clients store
# into the kernel's page cache, libumfs's into a host file: memories that
# see nothing of each other, in which SQLite's WAL index, say, would split
# in two and lose commits. So the second of the two is refused a shared
# mapping (ENODEV, the kernel's answer for a FUSE file served without its
# cache), and keeps its private mappings, shared mappings through a
# descriptor open only for reading, which cannot store, and its writes:
#  - a process holds the file open and mapped through the mount; a
#    libumfs process is refused a shared mapping of it; not so beside an
#    open for writing with O_DIRECT, which umfs-fuse serves uncached;
#  - a libumfs process holds it mapped, also after an exec that failed
#    (whose later store must reach the file too); a process through the
#    mount is refused a writable shared mapping, its write lands;
#  - two umfs-fuse daemons serve the pool, each with a page cache of its
#    own: a process holds the file mapped through one, a process through
#    the other is refused a writable shared mapping;
#  - once each holder has gone, the other maps it at once (a last close
#    reaches umfs-fuse after close(2) returned), and no claim was left;
#  - SQLite in WAL mode, a writer through each mount and two through
#    libumfs at once: every commit a writer reported is in the database,
#    which stays whole, and writers that cannot share the index fail
#    loudly.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
mc=$UF_BUILD/tests/fuse/mem_claim

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
uf_beside_libumfs "$pool" "$mnt"
pid=$UF_PID
head -c 8192 /dev/zero >"$mnt/f" || uf_fail "create $mnt/f"
head -c 8192 /dev/zero >"$mnt/g" || uf_fail "create $mnt/g"

# expect WHAT GOT WANT
expect() {
	if [ "$2" != "$3" ]; then
		echo "$3" | sed 's/^/# want: /'
		echo "$2" | sed 's/^/# got:  /'
		uf_fail "$1"
	fi
}

# hold_start CMD...: a holder, mapped once it printed "holding"; its input
# is a pipe this shell keeps open until hold_stop
hold_start() {
	# the last holder's "holding" must not pass for this one's: the
	# holder's shell makes the file anew only once it runs
	rm -f "$UF_TMP/hold.out"
	exec {hold_in}> >("$@" >"$UF_TMP/hold.out" 2>&1)
	hold_pid=$!
	for _ in $(seq 200); do
		grep -q holding "$UF_TMP/hold.out" 2>/dev/null && return
		sleep 0.05
	done
	cat "$UF_TMP/hold.out" | sed 's/^/# /'
	uf_fail "the holder ($*) did not map the file"
}
hold_stop() {
	exec {hold_in}>&-
	wait "$hold_pid" || uf_fail "the holder failed"
}

# 1. held through the mount: libumfs may not share the file's memory
hold_start "$mc" hold "$mnt/f"
got=$(uf_shim "$mc" try /umfs/f 2>"$UF_TMP/try.err") || uf_fail "mem_claim try through libumfs"
grep -q 'refused (ENODEV): a process has it open for writing through umfs-fuse' "$UF_TMP/try.err" ||
	{ sed 's/^/# /' "$UF_TMP/try.err"; uf_fail "libumfs did not say why it refused the mapping"; }
expect "a libumfs process beside a writer through the mount" "$got" \
	"shared ENODEV
private ok
ro-shared ok
write ok"
got=$(uf_shim "$mc" try /umfs/g) || uf_fail "mem_claim try of another file"
expect "another file, which nobody holds through the mount" "$got" \
	"shared ok
private ok
ro-shared ok
write ok"
hold_stop
# at once: the holder's last close reaches the daemon a moment later
got=$(uf_shim "$mc" try /umfs/f) || uf_fail "mem_claim try after the holder"
expect "a libumfs process once the writer through the mount has gone" "$got" \
	"shared ok
private ok
ro-shared ok
write ok"

hold_start "$mc" direct "$mnt/f"
got=$(uf_shim "$mc" try /umfs/f) || uf_fail "mem_claim try beside O_DIRECT"
expect "a libumfs process beside an O_DIRECT writer through the mount" "$got" \
	"shared ok
private ok
ro-shared ok
write ok"
hold_stop

# 2. held through libumfs: the mount serves writers without its cache
hold_start uf_shim "$mc" hold /umfs/f
got=$("$mc" try "$mnt/f") || uf_fail "mem_claim try through the mount"
expect "a process through the mount beside a libumfs mapper" "$got" \
	"shared ENODEV
private ok
ro-shared ok
write ok"
hold_stop
# a failed exec lets the mappings go and takes them back: they claim again
hold_start uf_shim "$mc" hold-exec /umfs/f
got=$("$mc" try "$mnt/f") || uf_fail "mem_claim try through the mount, a failed exec"
expect "a process through the mount beside a libumfs mapper whose exec failed" "$got" \
	"shared ENODEV
private ok
ro-shared ok
write ok"
hold_stop
got=$("$mc" try "$mnt/f") || uf_fail "mem_claim try through the mount after the holder"
expect "a process through the mount once the libumfs mapper has gone" "$got" \
	"shared ok
private ok
ro-shared ok
write ok"
# 3. two daemons: each mount's page cache is its own
mnt2=$UF_TMP/mnt2
uf_mount "$pool" "$mnt2"
pid2=$UF_PID
hold_start "$mc" hold "$mnt/f"
got=$("$mc" try "$mnt2/f") || uf_fail "mem_claim try through the second mount"
expect "a process through one mount beside a writer through another" "$got" \
	"shared ENODEV
private ok
ro-shared ok
write ok"
hold_stop
got=$("$mc" try "$mnt2/f") || uf_fail "mem_claim try through the second mount after the holder"
expect "a process through one mount once the writer through another has gone" "$got" \
	"shared ok
private ok
ro-shared ok
write ok"
# both holders' stores and every write are in the file
got=$(od -An -c -j 0 -N 2 "$mnt/f" | tr -d ' '; od -An -c -j 100 -N 1 "$mnt/f" | tr -d ' ')
expect "the stores and writes in the file (E: stored after a failed exec)" "$got" "HE
w"

# 4. SQLite, WAL: writers through both mounts and libumfs at the same time
if python3 -c 'import sqlite3' 2>/dev/null; then
	cat >"$UF_TMP/wal.py" <<'EOF'
import sqlite3, sys, time
path, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = 0
try:
    c = sqlite3.connect(path, timeout=60, isolation_level=None)
    c.execute('pragma busy_timeout=60000')
    for i in range(n):
        c.execute('begin immediate')
        v = c.execute('select coalesce(max(v), 0) from t').fetchone()[0]
        c.execute('insert into t values(?, ?)', (me, v + 1))
        c.execute('commit')
        done += 1
except sqlite3.Error as e:
    print('writer %d: %s after %d commits' % (me, e, done), file=sys.stderr)
print(done)
EOF
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("pragma journal_mode=wal")
c.execute("create table t(p, v)"); c.commit()' "$mnt/db" || uf_fail "sqlite3: create"
	pids=()
	for w in 1 2; do
		m=$mnt
		[ "$w" = 2 ] && m=$mnt2
		python3 "$UF_TMP/wal.py" "$m/db" "$w" 200 >"$UF_TMP/wal.$w" 2>"$UF_TMP/wal.err.$w" &
		pids+=($!)
		uf_shim python3 "$UF_TMP/wal.py" /umfs/db "1$w" 200 >"$UF_TMP/wal.1$w" \
			2>"$UF_TMP/wal.err.1$w" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || uf_fail "a SQLite writer died"
	done
	cat "$UF_TMP"/wal.err.* | grep -v '^umfs\[' | sed 's/^/# /'
	said=$(cat "$UF_TMP"/wal.1 "$UF_TMP"/wal.2 "$UF_TMP"/wal.11 "$UF_TMP"/wal.12 |
		awk '{ n += $1 } END { print n }')
	got=$(python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n, d, hi = c.execute("select count(*), count(distinct v), max(v) from t").fetchone()
print(n, d, hi, c.execute("pragma integrity_check").fetchone()[0])' "$mnt/db") ||
		uf_fail "sqlite3: read the database back"
	expect "the commits the writers reported, all in a whole database (rows, values, max, check)" \
		"$got" "$said $said $said ok"
	[ "$said" -ge 200 ] || uf_fail "not one writer committed all its rows: $said"
	uf_log "SQLite WAL: $said commits of 800, all kept"
else
	uf_log "python3's sqlite3 is missing: the WAL writers are not run"
fi

uf_umount "$mnt2" "$pid2"
uf_umount "$mnt" "$pid"
uf_fsck_clean "$pool"
echo "PASS"
