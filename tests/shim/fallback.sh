#!/bin/bash
# fallback.sh - umfs-run's kernel fallback: what bypasses libumfs.so (ld.so's
# opens for dlopen, LD_LIBRARY_PATH and RPATH, a #! interpreter stored in
# UMFS, a static busybox, a child started without the library) reaches the
# pool through the umfs-fuse mount umfs-run makes at the prefix. Each case
# runs the same commands on tmpfs (no umfs-run) and on UMFS; the transcripts
# must be identical. Then as an unprivileged user (user namespace), if the
# kernel allows one here.
. "$(dirname "$0")/lib.sh"
: "${UMFS_FUSE:=$BUILDDIR/fuse/umfs-fuse}"
export UMFS_FUSE

for p in cc busybox; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
busybox=$(command -v busybox)
ref=$work/ref
mnt=$work/umfs
mkdir "$ref" "$mnt"
cat >"$work/fb.c" <<'EOF'
const char *fb_value(void) { return "value from libfb"; }
EOF
cat >"$work/dl.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW);
	const char *(*f)(void);

	if (!h) {
		printf("dlopen failed\n");
		return 1;
	}
	f = (const char *(*)(void))dlsym(h, "fb_value");
	printf("dlopen: %s\n", f ? f() : "no symbol");
	return 0;
}
EOF
cat >"$work/use.c" <<'EOF'
#include <stdio.h>
const char *fb_value(void);
int main(void) { printf("linked: %s\n", fb_value()); return 0; }
EOF
head -c 200000 /dev/urandom >"$work/data"
# programs built once (the shared object is built into UMFS by the script);
# an RPATH names its directory, so one program per directory
mkdir "$work/prog"
cc -o "$work/prog/dl" "$work/dl.c" -ldl
cc -shared -fPIC -o "$work/prog/libfb.so" "$work/fb.c"
cc -o "$work/prog/use" "$work/use.c" -L"$work/prog" -lfb
rpath_for() { cc -o "$work/prog/rpath-$2" "$work/use.c" -L"$work/prog" -lfb -Wl,-rpath,"$1/lib"; }
rpath_for "$ref" ref
rpath_for "$mnt" umfs

# The script, with $P the directory it works in and $R its RPATH program.
script='
set -e
mkdir $P/lib $P/bin $P/dir
cp $W/fb.c $W/data $W/prog/dl $W/prog/use $P/
cp $R $P/bin/rpath
cd $P
cc -shared -fPIC -o lib/libfb.so fb.c
$P/dl $P/lib/libfb.so
LD_LIBRARY_PATH=$P/lib $P/use
$P/bin/rpath
if command -v python3 >/dev/null; then
	python3 -c "import ctypes; f = ctypes.CDLL(\"$P/lib/libfb.so\").fb_value; f.restype = ctypes.c_char_p; print(\"ctypes:\", f().decode())"
fi
cp /bin/sh bin/sh
printf "#!$P/bin/sh\necho script: interpreter in UMFS\n" >bin/script
chmod +x bin/script
$P/bin/script
echo one >dir/a; echo two >dir/b; mkdir dir/sub
echo busybox: $($B ls $P/dir) $($B cat $P/dir/a $P/dir/b)
echo child: $(env -u LD_PRELOAD sha256sum $P/data | cut -c1-64) $(sha256sum $P/data | cut -c1-64)
for i in 1 2 3 4 5 6 7 8 9 10; do
	printf "%06d" $i | dd of=$P/count conv=notrunc status=none
	[ "$(env -u LD_PRELOAD cat $P/count)" = "$(printf "%06d" $i)" ] || echo "stale at $i"
done
echo overwrites seen: $(env -u LD_PRELOAD cat $P/count)
'
run_ref() { P=$ref R=$work/prog/rpath-ref W=$work B=$busybox bash -c "$script" 2>&1 | sed "s|$ref|P|g"; }
run_umfs() { # run_umfs [umfs-run option]...
	P=$mnt R=$work/prog/rpath-umfs W=$work B=$busybox "$UMFS_RUN" --mount "$mnt" "$@" -- bash -c "$script" 2>&1 |
		sed "s|$mnt|P|g"
}

expected=$(run_ref)
echo "$expected" | grep -q '^dlopen: value' || { echo "FAIL reference run"; echo "$expected"; exit 1; }
check "fallback: root, by default (ld.so, #!, busybox, child without the library)" \
	"$expected" "$(run_umfs)"
check "fallback: no daemon left once umfs-run returned" "" "$(pgrep -f "umfs-fuse.*$pool" || true)"
check "fallback: no mount left on the host" "" "$(grep " $mnt " /proc/self/mountinfo || true)"

# umfs-run under the fallback (a program it starts) uses that mount
check "fallback: nested umfs-run reuses the mount" "one" \
	"$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c \
	   "'$UMFS_RUN' --mount '$mnt' --fallback=on -- env -u LD_PRELOAD cat '$mnt/dir/a'" 2>&1)"

# a program that outlives umfs-run keeps the mount; its end takes it down
"$UMFS_RUN" --mount "$mnt" -- sh -c "(sleep 1; env -u LD_PRELOAD cat $mnt/dir/b >$work/late) &"
for _ in $(seq 50); do [ -s "$work/late" ] && ! pgrep -f "umfs-fuse.*$pool" >/dev/null && break; sleep 0.2; done
check "fallback: a descendant outliving umfs-run is served, then the daemon ends" \
	"two:" "$(cat "$work/late" 2>&1):$(pgrep -f "umfs-fuse.*$pool" || true)"

# a static program's record locks go through the mount to umfs-fuse, which
# keeps them in the table the library's are in: each sees the other's
cat >"$work/lk.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
	int fd = open(argv[2], O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		return 2;
	if (!strcmp(argv[1], "hold")) { /* hold [0,10) until stdin closes */
		if (fcntl(fd, F_SETLK, &fl))
			return 3;
		printf("held\n");
		fflush(stdout);
		return read(0, &fl, 1) < 0;
	}
	if (!fcntl(fd, F_SETLK, &fl)) {
		printf("granted\n");
		return 0;
	}
	fl.l_type = F_WRLCK;
	fcntl(fd, F_GETLK, &fl);
	printf("refused, held by %s\n", fl.l_pid == atoi(argv[3]) ? "the holder" : "another");
	return 0;
}
EOF
cc -o "$work/prog/lk" "$work/lk.c"
cc -static -o "$work/prog/lk-static" "$work/lk.c" 2>/dev/null || rm -f "$work/prog/lk-static"
if [ -x "$work/prog/lk-static" ]; then
	check "fallback: a static program meets a library program's record lock" \
		"held refused, held by the holder" \
		"$("$UMFS_RUN" --mount "$mnt" -- bash -c "coproc H { exec $work/prog/lk hold $mnt/lk; }
			read -r line <&\${H[0]}
			echo \$line \$($work/prog/lk-static try $mnt/lk \$H_PID)
			kill \$H_PID" 2>&1)"
else
	echo "SKIP a static program's record lock: no static C library"
fi

# the program's end is umfs-run's: exit code and signal
"$UMFS_RUN" --mount "$mnt" -- sh -c 'exit 7' && rc=0 || rc=$?
check "fallback: exit status passed on" 7 "$rc"
"$UMFS_RUN" --mount "$mnt" -- sh -c 'kill -TERM $$' && rc=0 || rc=$?
check "fallback: death by signal passed on" 143 "$rc"

# UMFS descriptors handed to what runs without the library (a static
# busybox, a program whose environment drops LD_PRELOAD, the receiver of an
# SCM_RIGHTS message) are the mount's files: the same bytes, offsets and
# flags as on tmpfs, and what they wrote is what the library reads after
cat >"$work/rights.py" <<'EOF'
import os, socket, subprocess, sys
RECV = """
import os, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
msg, fds, flags, addr = socket.recv_fds(s, 1, 1)
print("received at 6:", os.read(fds[0], 100))
os.lseek(fds[0], 0, 0)
os.write(fds[0], b"HELLO")
"""
a, b = socket.socketpair()
p = subprocess.Popen(["env", "-u", "LD_PRELOAD", sys.executable, "-c", RECV, str(b.fileno())],
                     pass_fds=[b.fileno()])
b.close()
fd = os.open(sys.argv[1], os.O_RDWR)
os.lseek(fd, 6, 0)
socket.send_fds(a, [b"x"], [fd])
sys.exit(p.wait())
EOF
inherit_script='
set -e
cd $P
printf "hello world\n" >f
exec 3<f
$B cat <&3
{ read -n 2 x; echo "bash read $x, static reads on:"; $B cat; } <f
$B sh -c "echo written by a static shell" >out
echo "out: $(cat out)"
printf abcdef >g
exec 5<>g
read -n 1 y <&5
$B printf XY >&5
echo "g: $(cat g)"
exec 4>>log
echo one >&4; $B echo two >&4; echo three >&4
echo "log:" $(cat log)
exec 6>big
$B cat $W/data >&6
exec 6>&-
echo "big: $(cmp $W/data big && echo same)"
exec 7<$W/data 8>big2
env -u LD_PRELOAD sh -c "head -c 1000 >/dev/null; cat" <&7 >&8
echo "big2: $(tail -c +1001 $W/data | cmp - big2 && echo same)"
mkdir d && : >d/x && : >d/y
cd d
exec 9<.
echo "dir:" $($B ls /proc/self/fd/9/)
cd ..
if command -v python3 >/dev/null; then
	python3 $W/rights.py $P/f
	echo "f after the receiver wrote: $(cat f)"
fi
'
inherit_ref() {
	mkdir "$ref/inherit"
	P=$ref/inherit W=$work B=$busybox bash -c "$inherit_script" 2>&1 | sed "s|$ref|P|g"
}
inherit_umfs() { # inherit_umfs DIR [umfs-run option]...
	local d=$1
	shift
	P=$mnt/$d W=$work B=$busybox "$UMFS_RUN" --mount "$mnt" "$@" -- \
		bash -c "mkdir $mnt/$d && $inherit_script" 2>&1 | sed "s|$mnt|P|g"
}
expected=$(inherit_ref)
echo "$expected" | grep -q '^big: same' || { echo "FAIL reference run"; echo "$expected"; exit 1; }
check "fallback: UMFS descriptors given to static programs, to a child without the library, by SCM_RIGHTS" \
	"$expected" "$(inherit_umfs inherit --fallback=on)"
check "no fallback: a static program still meets the token" yes \
	"$(inherit_umfs inherit-off --fallback=off | grep -q 'Is a directory' && echo yes)"
out=$("$UMFS_RUN" --mount "$mnt" --fallback=on -- bash -c "
shopt -s execfail
exec 3<$mnt/inherit/f
exec $busybox true \$(head -c 200000 /dev/zero | tr '\\0' x) 2>/dev/null
env -u LD_PRELOAD readlink /proc/\$\$/fd/3 | sed 's|.*/ofd/[0-9]*\$|token|'
read -r line <&3; echo \"\$line\"" 2>&1)
check "fallback: a failed exec (E2BIG) puts the token back" "token
$(head -n 1 "$ref/inherit/f")" "$out"

# a static program gets none of the library's own descriptors (pool, lock
# region, runtime directory...), which a shell under the library would
# otherwise pass on as to a program that loads it
out=$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c "exec 3<$mnt/inherit/f
$busybox sh -c 'for f in /proc/\$\$/fd/*; do readlink \$f; done'" 2>&1 || true)
check "fallback: a static program holds none of the library's descriptors" "0 1" \
	"$(printf '%s\n' "$out" | grep -cE "umfs-[0-9a-f]{32}-|^$pool\$") $(printf '%s\n' "$out" | grep -c "^$mnt/inherit/f\$")"

# posix_spawn, posix_spawnp, system and popen: the C library's child
# executes without the library's execve, so the parent gives the mount's
# files (and none of the library's own descriptors) before it starts
cc -o "$work/prog/spawn" "$here/fallback_spawn.c" -lpthread
mkdir "$ref/spawn"
expected=$("$work/prog/spawn" "$ref/spawn" "$busybox" 2>&1 | sed "s|$ref|P|g")
echo "$expected" | grep -q '^popen read: 456789' || { echo "FAIL reference run"; echo "$expected"; exit 1; }
check "fallback: posix_spawn, posix_spawnp, system, popen of what runs without the library" \
	"$expected" \
	"$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c \
	   "mkdir $mnt/spawn && '$work/prog/spawn' $mnt/spawn $busybox" 2>&1 | sed "s|$mnt|P|g")"
check "fallback: the spawning process holds its tokens again" token \
	"$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c \
	   "'$work/prog/spawn' $mnt/spawn $busybox links" 2>&1 | tail -n 1 | sed 's|.*/ofd/[0-9]*$|token|')"
out=$("$UMFS_RUN" --mount "$mnt" --fallback=off -- sh -c "'$work/prog/spawn' $mnt/spawn $busybox" 2>&1)
check "no fallback: a spawned static program still meets the token" yes \
	"$(printf '%s\n' "$out" | grep -q 'Is a directory' && echo yes)"

# sendmmsg: SCM_RIGHTS in any of its messages carry the mount's files, as
# sendmsg's; bad pointers give the kernel's EFAULT (or the count sent)
cc -o "$work/prog/rights" "$here/fallback_rights.c"
mkdir "$ref/rights"
expected=$("$work/prog/rights" "$ref/rights" 2>&1)
echo "$expected" | grep -q '^  descriptor 1 reads: 6789' || { echo "FAIL reference run"; echo "$expected"; exit 1; }
check "fallback: sendmmsg with SCM_RIGHTS, and bad pointers" "$expected" \
	"$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c \
	   "mkdir $mnt/rights && '$work/prog/rights' $mnt/rights" 2>&1)"

# without the fallback a static program gets one line saying what serves it
out=$("$UMFS_RUN" --mount "$mnt" --fallback=off -- busybox true 2>&1)
check "static program named once without the fallback" 1 \
	"$(printf '%s\n' "$out" | grep -c 'busybox is a static program.*--fallback=on')"
# a 32-bit program cannot load the library either: named once without the
# fallback; through it, what it starts reads the mount's file it was
# handed (a static busybox that the 32-bit image executes)
if runs_32bit; then
	out=$("$UMFS_RUN" --mount "$mnt" --fallback=off -- "$SHIM_EXEC32" /bin/true 2>&1) || true
	check "32-bit program named once without the fallback" 1 \
		"$(printf '%s\n' "$out" | grep -c 'shim_exec32 is a 32-bit or foreign program.*--fallback=on')"
	check "fallback: a 32-bit image reads a redirected file" "thirty-two" \
		"$("$UMFS_RUN" --mount "$mnt" --fallback=on -- sh -c \
		   "echo thirty-two >$mnt/f32 && '$SHIM_EXEC32' '$(command -v busybox)' cat <$mnt/f32" 2>/dev/null)"
else
	echo "SKIP 32-bit programs: none executes here (kernel or 32-bit ld.so)"
fi
check "no such line for a dynamic program" "" \
	"$("$UMFS_RUN" --mount "$mnt" --fallback=off -- true 2>&1)"
out=$("$UMFS_RUN" --mount "$work/none" --fallback=on -- true 2>&1) && rc=0 || rc=$?
check "--fallback=on on a missing prefix fails clearly" \
	"1 umfs-run: kernel fallback: $work/none: No such file or directory (the fallback mounts on an existing directory)" \
	"$rc $out"
check_fsck

# An unprivileged user: a user namespace mapping only that user.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null; then
	echo "SKIP unprivileged: no user namespace for uid 65534 here"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/fuse -a -w /dev/fuse; then
	# a machine without udev's rule leaves it 0600 to root
	echo "SKIP unprivileged: /dev/fuse is not readable and writable by uid 65534 here"
else
	upool=$work/user/pool
	mkdir -p "$work/user/ref" "$work/user/umfs"
	chmod 711 "$work"
	chmod 755 "$work/user"
	"$MKFS" -q -f -s 64M "$upool"
	UMFS_POOL=$upool "$UMFS_RUN" --mount /umfs --fallback=off -- chown 65534:65534 /umfs
	chmod 644 "$work/fb.c" "$work/dl.c" "$work/use.c" "$work/data"
	chmod 755 "$work/prog"
	rpath_for "$work/user/ref" user-ref
	rpath_for "$work/user/umfs" user-umfs
	chown -R 65534:65534 "$work/user"
	user_run() { # user_run DIR NAME [umfs-run...]: the script as nobody in DIR
		local d=$1 r=$work/prog/rpath-$2
		shift 2
		setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/user" \
			UMFS_POOL="$upool" P="$d" R="$r" W="$work" B="$busybox" "$@" bash -c "$script" 2>&1 |
			sed "s|$d|P|g"
	}
	check "fallback: unprivileged user, --fallback=on (user namespace)" \
		"$(user_run "$work/user/ref" user-ref)" \
		"$(user_run "$work/user/umfs" user-umfs "$UMFS_RUN" --mount "$work/user/umfs" --fallback=on --)"
	# Images the user may execute but not read (mode 0111, root's): the
	# library cannot tell whether they load it, so the fallback gives them
	# the mount's files, which a static one (busybox) and a dynamic one
	# (cat) both read.
	mkdir -m 711 "$work/xo"
	install -m 0111 "$busybox" "$work/xo/busybox"
	install -m 0111 "$(command -v cat)" "$work/xo/cat"
	check "fallback: execute-only images read a redirected file" "xo xo" \
		"$(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/user" \
			UMFS_POOL="$upool" "$UMFS_RUN" --mount "$work/user/umfs" --fallback=on -- \
			sh -c "echo xo >$work/user/umfs/xo && echo \$($work/xo/busybox cat \
			<$work/user/umfs/xo) \$($work/xo/cat <$work/user/umfs/xo)" 2>&1)"
	check "unprivileged: no daemon left" "" "$(pgrep -f "umfs-fuse.*$upool" || true)"
	pool=$upool check_fsck
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
