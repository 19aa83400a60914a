#!/usr/bin/env bash
# ofd.sh - open file descriptions in the shared arena (ofd_slot.c): many
# files created, listed, stat'ed and removed as on tmpfs; a slot shared with
# a child (fork, popen) is never reused while the child holds it; descriptor
# numbers (with parked ones) as the kernel gives them; the slots of holders
# killed with SIGKILL are reclaimed.
. "$(dirname "$0")/lib.sh"

ref=$work/ref
mkdir "$ref"
want=$("$SHIM_OFD" tree "$ref/t" 10000 2>&1) || true
out=$(shim "$SHIM_OFD" tree /umfs/t 10000 2>&1) || true
check "10000 files: create, readdir, stat, read, unlink as on tmpfs" \
	"$(printf '%s' "$want" | md5sum)" "$(printf '%s' "$out" | md5sum)"
check "10000 files: the reference run is sane" "stat 10000 files, 48890 bytes" \
	"$(printf '%s\n' "$want" | grep '^stat 1')"

out=$("$SHIM_OFD" reuse "$ref" 2>&1) || true
check "tmpfs: fork, close, open" "reuse: ok" "$out"
out=$(shim "$SHIM_OFD" reuse /umfs 2>&1) || true
check "a slot a forked child holds is not reused" "reuse: ok" "$out"

out=$("$SHIM_OFD" popen "$ref" 2>&1) || true
check "tmpfs: popen, close, open" "popen: ok" "$out"
out=$(shim "$SHIM_OFD" popen /umfs 2>&1) || true
check "a slot a popen() child holds is not reused" "popen: ok" "$out"

# Descriptor numbers: a closed UMFS number may stay open, parked, for the
# next open; every other maker of descriptors still gets the lowest free
# number, and every use of the closed number answers EBADF, as on tmpfs.
want=$("$SHIM_FDNUM" "$ref" 2>&1) || true
out=$(shim "$SHIM_FDNUM" /umfs 2>&1) || true
check "descriptor numbers and closed descriptors as on tmpfs" "$want" "$out"
out=$(shim "$SHIM_FDNUM" parked /umfs 2>&1) || true
check "a closed number stays open, parked, and 1000 opens take it back" \
	"closed number held by the kernel: yes
opens that took it back: 1000" "$out"
check "descriptor numbers: the reference run is sane" "3 0 3" \
	"$(printf '%s\n' "$want" | awk -F': ' '/^(pipe after a close|socket at the limit|child status)/ {printf "%s ", $2}' | sed 's/ $//')"

# A program that drops privileges after a UMFS close, as a server that
# opens its files as root does: the closed number stays closed, and the
# new credentials judge every open, as on tmpfs. Then the transcript above
# again as uid 65534 on a pool of its own.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# root's 0644 file and 0755 directory in a 0777 directory
	setup='mkdir "$1/d" && chmod 0777 "$1/d" && echo root >"$1/d/rootfile" &&
		chmod 0644 "$1/d/rootfile" && mkdir "$1/d/rootdir" && chmod 0755 "$1/d/rootdir"'
	hdir=$(mktemp -d /dev/shm/umfs-fdnum-h.XXXXXX) # the reference, where 65534 may go
	trap 'rm -rf /dev/shm/umfs-"$(pool=$hdir/pool pool_uuid_hex)"-* "$hdir"; cleanup' EXIT
	chmod 0755 "$hdir"
	bash -c "$setup" _ "$hdir"
	shim bash -c "$setup" _ /umfs
	want=$("$SHIM_FDNUM" drop "$hdir/d" 2>&1) || true
	out=$(shim "$SHIM_FDNUM" drop /umfs/d 2>&1) || true
	check "a program that drops privileges after a close: as on tmpfs" "$want" "$out"
	check "privilege drop: the reference run is sane" "EBADF EACCES 3 65534 EACCES" \
		"$(printf '%s\n' "$want" | awk -F': ' '/^(fstat of the closed|root.s 0644 file, read-write|create in the 0777|create in root|its owner)/ {printf "%s ", $2}' | sed 's/ $//')"

	chown 65534:65534 "$hdir"
	as_h() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	as_h "$MKFS" -q -f -s 64M "$hdir/pool"
	as_h mkdir "$hdir/ref"
	want=$(as_h "$SHIM_FDNUM" "$hdir/ref" 2>&1) || true
	out=$(as_h env LD_PRELOAD="$SHIM_LIB" UMFS_POOL="$hdir/pool" "$SHIM_FDNUM" /umfs 2>&1) || true
	check "uid 65534 on its own pool: descriptor numbers as on tmpfs" "$want" "$out"
	out=$(as_h env LD_PRELOAD="$SHIM_LIB" UMFS_POOL="$hdir/pool" "$SHIM_FDNUM" parked /umfs 2>&1) || true
	check "uid 65534: a closed number stays parked, and 1000 opens take it back" \
		"closed number held by the kernel: yes
opens that took it back: 1000" "$out"
else
	echo "skip privilege drop and uid 65534: needs root and setpriv"
fi

# Holders killed without their exit handlers leave their slots marked
# used; a claim that finds no free slot probes the used ones (once the
# arena has grown past 64 slots) and takes the dead holders' slots back,
# so the tokens stop piling up.
tokens() {
	find "$(pool_rundir)"/shim/ofd -mindepth 1 -maxdepth 1 -type d | wc -l
}
for i in $(seq 1 100); do
	shim_sh "exec 3>/umfs/k$i; echo $i >&3; kill -9 \$\$" >/dev/null 2>&1 || true
done
n=$(tokens)
check "100 holders killed: their slots reclaimed (tokens: $n)" "yes" \
	"$([ "$n" -ge 1 ] && [ "$n" -le 66 ] && echo yes || echo no)"
check "100 holders killed: their files written" "100" "$(shim cat /umfs/k100)"

# An arena of the right size is used without its lock only when its header
# is valid: a damaged one (its version byte, then its magic), with no token
# held, is rebuilt under the lock, and the files read as written.
arena=$(pool_rundir)/shim/ofd/arena
shim_sh 'echo arena >/umfs/arena-file' >/dev/null 2>&1
for what in version:8 magic:0; do
	printf '\x7f' | dd of="$arena" bs=1 seek="${what#*:}" conv=notrunc status=none
	out=$(shim cat /umfs/arena-file 2>"$work/arena.err") || true
	check "an arena with a damaged ${what%:*}: the file reads as written" "arena" "$out"
	check "an arena with a damaged ${what%:*}: rebuilt, and said so" "yes" \
		"$(grep -q 'damaged or of another version, unused: rebuilt' "$work/arena.err" &&
			echo yes || echo no)"
	out=$(shim cat /umfs/arena-file 2>"$work/arena.err") || true
	check "after the rebuild (${what%:*}): read again, nothing said" "arena:" \
		"$out:$(cat "$work/arena.err")"
done

# U-info has an entry for every number under 2^20 (the kernel's default
# fs.nr_open) unless the hard limit was past that at the start. Past it,
# after an administrator raised fs.nr_open and the program its limit, a
# UMFS file is neither duplicated (EMFILE, nothing at the target closed)
# nor taken for one; a kernel file goes there as without the library.
raise_nofile='import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (1050000, 1050000))'
if [ "$(id -u)" = 0 ] && nr_open=$(cat /proc/sys/fs/nr_open) &&
	echo 1100000 >/proc/sys/fs/nr_open 2>/dev/null; then
	if python3 -c "$raise_nofile" 2>/dev/null; then
		out=$(shim python3 -c "$raise_nofile"'
import errno, fcntl, os
fd = os.open("/umfs/past", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"kept")
os.dup2(os.open("/dev/null", os.O_RDONLY), 1048600)
res = []
for name, call in (("dup2", lambda: os.dup2(fd, 1048600)),
                   ("F_DUPFD", lambda: fcntl.fcntl(fd, fcntl.F_DUPFD, 1048601))):
    try:
        call()
        res.append(name + " done")
    except OSError as e:
        res.append(name + " " + errno.errorcode[e.errno])
res.append(os.readlink("/proc/self/fd/1048600"))
res.append("taken" if os.path.exists("/proc/self/fd/1048601") else "free")
res.append(os.pread(fd, 4, 0).decode())
print(" ".join(res))
' 2>&1) || true
		check "past 2^20 descriptors: no UMFS file there, a kernel one as without the library" \
			"dup2 EMFILE F_DUPFD EMFILE /dev/null free kept" "$out"
		# A process whose hard limit was already past 2^20 at its start
		# has a table of fs.nr_open's numbers (the default one lies in
		# the library's BSS, a larger one is mapped): a UMFS file goes
		# past 2^20 there, and reads as itself.
		out=$(shim prlimit --nofile=1050000:1050000 python3 -c '
import os
fd = os.open("/umfs/past", os.O_RDWR)
os.dup2(fd, 1048600)
os.close(fd)
print(os.pread(1048600, 4, 0).decode(), os.fstat(1048600).st_size)
' 2>&1) || true
		check "a hard limit past 2^20 at the start: a UMFS file past 2^20" "kept 4" "$out"
	else
		echo "skip descriptors past 2^20: raising the hard RLIMIT_NOFILE needs CAP_SYS_RESOURCE"
	fi
	echo "$nr_open" >/proc/sys/fs/nr_open
else
	echo "skip descriptors past 2^20: raising fs.nr_open needs root"
fi

# The last user of the pool cleans the arena at its exit: slots hinted used
# whose tokens nobody holds go back to free, those still held stay hinted.
# A last user that never mapped the arena looks at it only when some
# process mapped it since it was last left clean (the flag the shared area
# keeps across idle spells). Here a program without the library holds a
# token it inherited (its hint went back to free at the exec); a later
# claim finds it held and leaves it hinted used, past that claimer's exit;
# once the token is let go, a last user that opened nothing frees the
# slot; after that clean exit, such a user does not open the arena at all.
used_slots() { # slots hinted used in [0, high): the arena's state bytes
	python3 -c '
import struct, sys
with open(sys.argv[1], "rb") as f:
    h = f.read(32)
    high = struct.unpack_from("<I", h, 16)[0]
    print(sum(f.read(high)))' "$(pool_rundir)/shim/ofd/arena"
}
# The holder holds until told to let go (at most 10 s), and is waited
# for: no step hangs on a time the machine may not keep.
shim_sh 'echo held >/umfs/held-file' >/dev/null
holder=$(shim python3 -c '
import os, subprocess, sys
fd = os.open("/umfs/held-file", os.O_RDONLY)
wait = "n=0; while [ ! -e \"$1\" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done"
print(subprocess.Popen(["env", "-u", "LD_PRELOAD", "sh", "-c", wait, "sh", sys.argv[1]],
                       pass_fds=[fd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL).pid)' "$work/let-go" 2>/dev/null)
shim cat /umfs/held-file >/dev/null
check "a token held without the library, found by a claim: hinted used after the last user" \
	"1" "$(used_slots)"
: >"$work/let-go"
for _ in $(seq 100); do # gone, or a zombie (its descriptors closed)
	grep -qs '^State:[[:space:]]*[^Z]' "/proc/$holder/status" || break
	sleep 0.1
done
shim stat /umfs >/dev/null
check "the token let go: a later last user that opened nothing frees the slot" "0" \
	"$(used_slots)"
if command -v strace >/dev/null; then
	strace -f -e trace=openat,faccessat,faccessat2 -o "$work/arena.trace" \
		env LD_PRELOAD="$SHIM_LIB" stat /umfs >/dev/null 2>&1 || true
	check "after a clean exit, a last user that opened nothing leaves the arena alone" "0" \
		"$(grep -c arena "$work/arena.trace")"
else
	echo "skip the arena left alone: no strace"
fi

finish
