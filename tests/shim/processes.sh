#!/usr/bin/env bash
# processes.sh - fork shares offsets, exec keeps descriptors, a program
# without the shim gets EBADF, threads, and unlinked files held by children.
. "$(dirname "$0")/lib.sh"

: "${SHIM_STATIC:=$BUILDDIR/tests/shim/shim_static}"

out=$(shim "$SHIM_FORK" offset /umfs/off 2>&1) || true
check "fork shares the offset" "offset: ok" "$out"

out=$(shim "$SHIM_FORK" exec /umfs/exec 2>&1) || true
check "exec keeps descriptors" "exec: ok" "$out"

out=$(shim "$SHIM_FORK" unlinked /umfs/unl 2>&1) || true
check "unlinked file held by a child" "unlinked: ok" "$out"

# Children started without fork(): _Fork, clone, raw clone system calls
# (one made by an inline instruction, which the library cannot see),
# ending by exit, _exit or exec. The parent's files outlive each, as on
# tmpfs; the pool's last user is the parent, which leaves it clean.
mkdir "$work/clones"
out=$("$SHIM_CLONE" "$work/clones" 2>&1) || true
check "children without fork() on tmpfs" "clones: ok" "$out"
mkdir_rc=0
shim mkdir /umfs/clones || mkdir_rc=$?
out=$(shim "$SHIM_CLONE" /umfs/clones 2>&1) || true
check "children without fork() leave the parent's files alone" "clones: ok" "$out"
check "the parent of such children leaves as last user" "$mkdir_rc idle" "$mkdir_rc $(rundir_state)"

# A child that exits without closing what it inherited (and storing
# through a shared mapping of it) lets go of it: the parent's close then
# frees the unlinked file at once, as the kernel would.
out=$(shim python3 -c '
import mmap, os
before = os.statvfs("/umfs").f_bfree
fd = os.open("/umfs/held", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"x" * (1 << 20))
os.pwrite(fd, b"y" * 10, 0)
m = mmap.mmap(fd, 4096)
os.unlink("/umfs/held")
for how in ("_exit", "exit"):
    pid = os.fork()
    if pid == 0:
        m[0] = ord("K")
        os._exit(0) if how == "_exit" else exit(0)
    os.waitpid(pid, 0)
m.close()
os.close(fd)
print("freed", before - os.statvfs("/umfs").f_bfree)
' 2>&1) || true
check "a child leaving without closing lets go" "freed 0" "$out"

# exec hands the old image's holds to the new one: a file the new image
# keeps stays readable after its parent let go, and is freed when the new
# image exits; one it does not keep (close-on-exec) is freed at the
# parent's close once the new image used the pool; a failed exec keeps
# holding it. Kernel: freed 0 each.
out=$(shim python3 -c '
import os
def freed(before):
    return before - os.statvfs("/umfs").f_bfree
def held_file(name):
    fd = os.open(name, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b"x" * (1 << 20))
    os.unlink(name)
    return fd
before = os.statvfs("/umfs").f_bfree
# kept across exec: the new image reads it after the parent let go
fd = held_file("/umfs/kept")
os.lseek(fd, 0, 0)
os.set_inheritable(fd, True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 1)
    os.execv("/bin/sh", ["sh", "-c", "sleep 0.3; head -c 3 <&%d" % fd])
os.close(w)
os.close(fd)
got = os.read(r, 16)
os.waitpid(pid, 0)
print("kept", got.decode(), "freed", freed(before))
# close-on-exec: the new image keeps nothing, and lets go of the old
# image holds when it uses the pool (one that never does leaves them)
fd = held_file("/umfs/dropped")
pid = os.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "test -d /umfs"])
os.waitpid(pid, 0)
os.close(fd)
print("cloexec freed", freed(before))
# a failed exec takes back what it handed on
fd = held_file("/umfs/failed")
for prog in ("/nonexistent/prog", "/etc/hostname"):
    try:
        os.execv(prog, ["x"])
    except OSError:
        pass
print("failed exec keeps", os.pread(fd, 3, 0).decode(), "in use" if freed(before) >= 256 else "freed")
os.close(fd)
print("then freed", freed(before))
' 2>&1) || true
check "exec: the new image keeps the file, then lets go" "kept xxx freed 0" "$(printf '%s\n' "$out" | grep -m1 '^kept ' || printf '%s' "$out")"
check "exec: a close-on-exec file is freed at the last close" "cloexec freed 0" "$(printf '%s\n' "$out" | grep -m1 '^cloexec ' || printf '%s' "$out")"
check "a failed exec keeps the file held" "failed exec keeps xxx in use" "$(printf '%s\n' "$out" | grep -m1 '^failed ' || printf '%s' "$out")"
check "and its close frees it" "then freed 0" "$(printf '%s\n' "$out" | grep -m1 '^then ' || printf '%s' "$out")"

# The pool's only user executes another program: the new image takes over
# its predecessor's place (no second first user, no recovery of a pool in
# use), and the pool is left clean. The kernel's view: one mount.
mounts() { "$BUILDDIR/pool/umfs-pool" info "$pool" | awk '$1 == "mounts" { print $2 + 0 }'; }
m0=$(mounts)
out=$(UMFS_LOG=info shim_sh "echo hi > /umfs/only; cd /umfs && exec cat only" 2>&1) || true
check "exec by the only user: the new image joins its predecessor" \
	"shared with other processes" \
	"$(printf '%s\n' "$out" | grep 'mounted' | sed -n '2s/.*(\(.*\))$/\1/p')"
check "exec by the only user: one mount, the pool left clean" "1 clean" \
	"$(($(mounts) - m0)) $("$BUILDDIR/pool/umfs-pool" info "$pool" | awk '$1 == "state" { print $2 }')"

# A shell that used the pool and holds nothing of it runs commands: each
# forked child leaves the pool as its exec starts (a failed one joins
# again), so that none is taken for dead, whether its program uses the
# pool, fails to start, or never names a UMFS path. The last user then
# parks the lock region (a child taken for dead would have it cut) and
# marks the pool clean, as after a shell that ran no command. (The last
# command is a builtin: bash executes a last external one in place of
# itself.)
pool_state() { "$BUILDDIR/pool/umfs-pool" info "$pool" | awk '$1 == "state" { print $2 }'; }
out=$(shim_sh "echo cmds > /umfs/cmds; /bin/true; /nonexistent/cmd 2>/dev/null; cat /umfs/cmds; /bin/true; true" 2>&1) || true
check "a shell's commands after it used the pool: none taken for dead" "cmds UMPARKED idle clean" \
	"$out $(head -c 8 "$(pool_rundir)/lock") $(rundir_state) $(pool_state)"

# The same shell, the pool's only user, executing its last command in
# place of itself: it does the last user's work before the exec, so that
# the pool is clean while that program runs and after it, and the next
# user takes it without recovery and parks the region.
out=$(shim_sh "echo last > /umfs/cmds; exec sleep 0.2" 2>&1) || true
check "a last command executed in the shell's place: the pool left clean" "clean" "$out$(pool_state)"
out=$(shim cat /umfs/cmds 2>&1) || true
check "and the next user parks the region" "last UMPARKED idle clean" \
	"$out $(head -c 8 "$(pool_rundir)/lock") $(rundir_state) $(pool_state)"

# The only user, holding nothing, executes a program that uses the pool:
# it did the last user's work before the exec and passed no descriptor
# on, so the new image mounts a pool left clean, as its first user.
out=$(shim_sh "echo again > /umfs/only2; exec cat /umfs/only2" 2>&1) || true
check "exec by the only user holding nothing: the new image uses the pool" \
	"again UMPARKED idle clean" "$out $(head -c 8 "$(pool_rundir)/lock") $(rundir_state) $(pool_state)"

# The same for a process that ran threads: glibc keeps calling it
# multi-threaded after they end, and in the child of its fork, which has
# one thread. The library asks the kernel, and the child leaves the pool
# as its exec starts.
out=$(shim python3 -c '
import os, threading
with open("/umfs/cmds") as f:
    got = f.read().strip()
t = threading.Thread(target=lambda: None)
t.start()
t.join()
for prog in ("/bin/true", "/nonexistent/cmd"):
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(prog, [prog])
        except OSError:
            os._exit(3)
    os.waitpid(pid, 0)
print(got)
' 2>&1) || true
check "the children of a process that ran threads: none taken for dead" "last UMPARKED idle clean" \
	"$out $(head -c 8 "$(pool_rundir)/lock") $(rundir_state) $(pool_state)"

# The gate descriptions a spawned child is given lie with the library's
# other descriptors, not at numbers the child's file actions may take (a
# child that inherits a UMFS descriptor is given them).
out=$(shim python3 -c '
import os
held = open("/umfs/only")
r, w = os.pipe()
pid = os.posix_spawn("/bin/sh", ["sh", "-c", "tr \"\\0\" \"\\n\" < /proc/$$/environ"],
                     dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
os.close(w)
env = open(r, "rb").read().decode()  # to its end: tr writes 4 KiB at a time
os.waitpid(pid, 0)
fds = dict(kv.split("=") for kv in [l for l in env.split("\n") if l.startswith("UMFS_FDS=")][0][9:].split(","))
print("high" if min(int(fds["lock"]), int(fds["shared"])) >= int(fds["pool"]) - 64 else "low: %s" % fds)
' 2>&1) || true
check "a spawned child's gate descriptions lie in the library's range" "high" "$out"

# One that inherits nothing of UMFS is given no descriptors of the pool:
# it mounts by name, and finds its cwd in the pool.
out=$(shim python3 -c '
import os
os.chdir("/umfs")
open("only").read()
r, w = os.pipe()
pid = os.posix_spawn("/bin/sh", ["sh", "-c", "grep -c ^UMFS_FDS= /proc/$$/environ; cat only"],
                     dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
os.close(w)
out = open(r, "rb").read()
print(os.waitpid(pid, 0)[1], out.decode().replace("\n", " "))
' 2>&1) || true
check "a spawned child that inherits nothing is given no pool descriptors" "0 0 hi " "$out"

out=$(shim "$SHIM_FORK" mapshare /umfs/map 2>&1) || true
check "MAP_SHARED coherent between two programs" "mapshare: ok" "$out"

# An exec writes back the stores of its mappings, each once: a mapping of
# a file another process still maps, its own range, which a reader of the
# pool without the library (through umfs-fuse) then finds; the last
# mapping, the whole file, and its host file goes.
mkdir "$work/mnt"
fuse_mount "$pool" "$work/mnt" && mounted=yes || mounted=no
check "umfs-fuse mounts the pool beside the library" yes "$mounted"
shim dd if=/dev/zero of=/umfs/ex bs=1M count=4 status=none
map_exec() { # map_exec TEXT: maps /umfs/ex, stores TEXT at 3000000, execs
	shim python3 -c '
import mmap, os, sys
fd = os.open("/umfs/ex", os.O_RDWR)
m = mmap.mmap(fd, 0)
m[3000000:3000000 + len(sys.argv[1])] = sys.argv[1].encode()
os.execv("/bin/true", ["true"])' "$1"
}
at3m() { dd if="$1" bs=1 skip=3000000 count=4 status=none; }
rm -f "$work/unmap"
shim python3 -c '
import mmap, os, sys, time
m = mmap.mmap(os.open("/umfs/ex", os.O_RDONLY), 0, prot=mmap.PROT_READ)
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)' "$work/mapped" "$work/unmap" &
holder=$!
while [ ! -e "$work/mapped" ] && kill -0 "$holder" 2>/dev/null; do sleep 0.01; done
map_exec EXEC
ours=$(at3m "$work/mnt/ex")
touch "$work/unmap"
wait "$holder"
map_exec LAST
check "an exec writes its stores back, mapped elsewhere too, and last" \
	"EXEC LAST " "$ours $(at3m "$work/mnt/ex") $(ls "$(pool_rundir)/shim" | grep -E '^mapb?-' || true)"
fuse_umount "$work/mnt"

out=$(shim_sh "echo secret > /umfs/s; exec 3</umfs/s; env -u LD_PRELOAD $SHIM_FORK ebadf 3" 2>&1) || true
check "without the shim: EBADF" "ebadf: ok" "$out"

out=$(shim_sh "echo secret > /umfs/s; env -u LD_PRELOAD cat < /umfs/s" 2>&1) || true
check "without the shim: cat fails cleanly" "cat: -: Is a directory" "$out"

shim mkdir /umfs/threads
out=$(shim "$SHIM_THREADS" /umfs/threads 8 2>&1) || true
check "threads" "threads: 8 threads, 0 failures" "$out"

out=$(shim_sh 'echo "#!/bin/sh
echo from-umfs-script \$1" > /umfs/script.sh; chmod +x /umfs/script.sh; /umfs/script.sh arg' 2>&1) || true
check "exec a script stored in UMFS" "from-umfs-script arg" "$out"

out=$(shim_sh 'cp /bin/echo /umfs/echo && /umfs/echo from-umfs-binary' 2>&1) || true
check "exec a binary stored in UMFS" "from-umfs-binary" "$out"

out=$(shim_sh 'cd /umfs && PATH=/umfs:$PATH echo.sh 2>/dev/null; cp /umfs/script.sh /umfs/s2; PATH=/umfs:$PATH s2 p' 2>&1) || true
check "PATH search into UMFS" "from-umfs-script p" "$out"

# execvp's own PATH search (env runs its command with it): names the
# kernel has not (a missing directory, a file as a directory) are passed
# over before the exec's preparation; what is found, and the error when
# nothing is (ENOENT, or EACCES remembered from a file that may not be
# executed), are those of the C library's execvp without the shim.
mkdir -p "$work/noexec" "$work/exec"
printf '#!/bin/sh\necho not-run\n' >"$work/noexec/prog"
chmod 644 "$work/noexec/prog"
printf '#!/bin/sh\necho run-from-exec\n' >"$work/exec/prog"
chmod 755 "$work/exec/prog"
for case in "/nonexistent:/etc/passwd:/umfs s2 p" "/nonexistent:/umfs:/usr/bin echo found" \
	"/nonexistent:/umfs nosuch" "$work/noexec:/nonexistent prog" \
	"/nonexistent:$work/noexec:$work/exec prog"; do
	# shellcheck disable=SC2086 # the words of a case, split on purpose
	set -- $case
	want=$(env PATH="$1" "${@:2}" 2>&1; echo "exit $?")
	[ "$2" = s2 ] && want="from-umfs-script p
exit 0"
	out=$(shim env PATH="$1" "${@:2}" 2>&1; echo "exit $?")
	check "execvp over PATH=${1//$work/WORK}: ${*:2}" "$want" "$out"
done
# Another user, to whom a directory of PATH cannot be searched (EACCES
# from the lookup: not passed over, the exec says it, and the search goes
# on as the C library's does); no UMFS path is touched, so the pool,
# which this user may not open, is never mounted.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$work/locked"
	chmod 700 "$work/locked"
	cp /bin/echo "$work/locked/echo"
	for case in "$work/locked:/usr/bin echo found" "$work/locked echo found"; do
		# shellcheck disable=SC2086 # the words of a case, split on purpose
		set -- $case
		want=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			env PATH="$1" "${@:2}" 2>&1; echo "exit $?")
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			env LD_PRELOAD="$SHIM_LIB" PATH="$1" "${@:2}" 2>&1; echo "exit $?")
		check "uid 65534, execvp over PATH=${1//$work/WORK}: ${*:2}" "$want" "$out"
	done
else
	echo "skip execvp as another user: needs root and setpriv"
fi

# What one process makes in the helper directory for all (here the
# directory of host FIFOs) stays when it exits, and goes with the pool's
# last user, another process that never used it: the shared area says
# that something was made, and that user looks.
out=$(shim python3 -c '
import os, subprocess
os.listdir("/umfs")
subprocess.run(["sh", "-c", "mkfifo /umfs/ff && exec 3<>/umfs/ff"], check=True)
print(sorted(n for n in os.listdir("'"$(pool_rundir)"'/shim") if n in ("fifo", "sock")))
' 2>&1) || true
check "a FIFO user leaves the directory of host FIFOs to the last user" "['fifo']" "$out"
check "and goes with the pool's last user" "idle" "$(rundir_state)"

out=$(shim python3 -c '
import subprocess, os
os.chdir("/umfs")
print(subprocess.run(["cat", "s"], capture_output=True, text=True).stdout.strip())
with open("/umfs/sp", "w") as f:
    subprocess.run(["echo", "to-file"], stdout=f)
print(open("/umfs/sp").read().strip())
' 2>&1) || true
check "python subprocess (cwd and stdout in UMFS)" "secret
to-file" "$out"

# A cwd deeper than PATH_MAX passes to a child by its inode; the child's
# first call to the library, getcwd (as /bin/pwd's), mounts the pool
# and must then find the path, as the kernel's robust walk does on tmpfs.
out=$(shim python3 -c '
import os, subprocess
os.chdir("/umfs")
name = "d" * 200
for i in range(25):
    os.makedirs(name, exist_ok=True)
    os.chdir(name)
r = subprocess.run(["/bin/pwd"], capture_output=True, text=True)
want = "/umfs/" + "/".join([name] * 25)
print(r.returncode, "the path" if r.stdout.strip() == want else "not the path: %d bytes" % len(r.stdout))
' 2>&1) || true
check "pwd in a child, cwd deeper than PATH_MAX" "0 the path" "$out"

# errno is left alone by calls passed through to the kernel
out=$(shim python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
ctypes.set_errno(77)
fd = libc.open(b"/dev/null", 0)
libc.close(fd)
print(ctypes.get_errno())
' 2>&1) || true
check "errno kept on pass-through" "77" "$out"

# A process that names no UMFS path joins nothing: no pool, lock region or
# runtime file mapped or open (what it maps it lists itself).
printf abc >"$work/plain.txt"
out=$(shim sh -c "cat $work/plain.txt; grep -c -e \"$pool\" -e '/umfs-' /proc/self/maps; ls -l /proc/self/fd | grep -c -e \"$pool\" -e '/umfs-'" 2>&1) || true
check "carried, not joined: nothing of UMFS mapped or open" "abc0
0" "$out"

# Inherited descriptors are found through an intermediate without the
# library (it passes UMFS_ADOPT on with the rest of the environment).
out=$(shim_sh "echo passed-on > /umfs/adopt; exec 3</umfs/adopt; env -u LD_PRELOAD sh -c 'LD_PRELOAD=$SHIM_LIB cat <&3'" 2>&1) || true
check "adopted through a process without the library" "passed-on" "$out"
show='env -u LD_PRELOAD env' # the library takes UMFS_ADOPT out of its own process's environment
out=$(shim_sh "exec 3</umfs/adopt; $show | grep -c '^UMFS_ADOPT='; exec 3<&-; $show | grep -c '^UMFS_ADOPT='" 2>&1) || true
check "UMFS_ADOPT given while UMFS descriptors are open only" "1
0" "$out"

# A static image cannot load the library, nor can a 32-bit one: however a
# process under it starts one (exec, posix_spawn, posix_spawnp, fexecve, a
# program stored in UMFS, a script whose interpreter is static, on the host
# or in UMFS, a 32-bit program $X that executes $S), it gets none of the
# library's descriptors and no UMFS_FDS. Compared with the same starts on
# tmpfs; $S prints what it holds (shim_static.c).
cat >"$work/starts.py" <<'EOF'
import os, sys
prog = sys.argv[1]
fd = os.open("f", os.O_RDONLY)
os.set_inheritable(fd, True)
os.environ["PATH"] = os.path.dirname(prog) + ":" + os.environ["PATH"] # spawnp's search
env = dict(os.environ)
for how, spawn, name in (("posix_spawn", os.posix_spawn, prog),
                         ("posix_spawnp", os.posix_spawnp, os.path.basename(prog))):
    os.waitpid(spawn(name, [name, how], env), 0)
sys.stdout.flush()
os.execve(os.open(prog, os.O_RDONLY), [prog, "fexecve"], env)
EOF
printf '#!%s host-script\n' "$SHIM_STATIC" >"$work/static-script"
chmod +x "$work/static-script"
static_starts='
set -e
mkdir "$D"
cd "$D"
echo x >f
exec 3<f
"$S" exec
cp "$S" static
./static stored
printf "#!%s script-stored\n" "$S" >script
chmod +x script
./script
"$W/static-script"
[ -z "$X" ] || "$X" "$S" exec-32-bit 2>/dev/null
python3 "$W/starts.py" "$S"'
x32=$SHIM_EXEC32
runs_32bit || { x32=; echo "SKIP a 32-bit image's start: no 32-bit program executes here (kernel or 32-bit ld.so)"; }
expected=$(D=$work/static S=$SHIM_STATIC X=$x32 W=$work bash -c "$static_starts" 2>&1)
out=$(D=/umfs/static S=$SHIM_STATIC X=$x32 W=$work shim bash -c "$static_starts" 2>&1) || true
check "a static image gets no library descriptor, no UMFS_FDS" "$expected" "$out"

# A prefix that cannot be one: an error naming it, programs run untouched.
for m in relative / /a/../b; do
	out=$(UMFS_MOUNT=$m shim cat "$work/plain.txt" 2>"$work/err") || out="exit $?"
	check "UMFS_MOUNT=$m: the program runs" "abc" "$out"
	check "UMFS_MOUNT=$m: said" "1" "$(grep -c "UMFS_MOUNT=$m: the prefix must be" "$work/err")"
done

# Prefixes and pool paths of every length the configuration keeps: short,
# longer together than its small room (300 bytes each), and a pool named
# relative to the cwd. Each serves the same file.
long=$(printf 'x%.0s' $(seq 150))/$(printf 'y%.0s' $(seq 150))
mkdir -p "$work/$long"
ln -s "$pool" "$work/$long/pool"
for m in "/umfs-short" "/$long" ; do
	for p in "$pool" "$work/$long/pool" "rel"; do
		[ "$p" = rel ] && p=$(basename "$pool")
		out=$(cd "$(dirname "$pool")" && UMFS_MOUNT=$m UMFS_POOL=$p shim \
			sh -c 'echo prefix >"$1/pfx" && cat "$1/pfx"' _ "$m" 2>&1) || true
		check "UMFS_MOUNT of ${#m} bytes, UMFS_POOL of ${#p}: served" "prefix" "$out"
	done
done

# A read's buffer is checked only as far as the file fills it: a 3-byte
# file read into a 1 MiB buffer whose last page is not mapped.
out=$(shim python3 -c '
import mmap, os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
m = mmap.mmap(-1, 1 << 20)
buf = ctypes.addressof(ctypes.c_char.from_buffer(m))
libc.mprotect(ctypes.c_void_p(buf + (1 << 20) - 4096), 4096, 0)
for path in ("/umfs/rd3", "'"$work"'/rd3"):
    with open(path, "wb") as f: f.write(b"xyz")
    fd = os.open(path, os.O_RDONLY)
    n = libc.read(fd, ctypes.c_void_p(buf), 1 << 20)
    print(n, ctypes.get_errno() if n < 0 else m[:n])
    os.close(fd)
' 2>&1) || true
check "small file, large partly bad buffer: as the kernel" "3 b'xyz'
3 b'xyz'" "$out"

# A shell whose directory is in the pool passes the pool's descriptors to
# each program it runs (it holds the directory). The new image takes them
# once it has checked each by identity, against the pool and the runtime
# directory the pool names, not by its /proc link, whose first reading
# costs a new process about 25 us: no readlink at all, and the programs
# work in that directory.
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
	shim_sh "mkdir -p /umfs/indir && echo here > /umfs/indir/f"
	out=$(strace -f -qq -e trace=readlink,readlinkat,pread64 -o "$work/indir.trace" \
		-E LD_PRELOAD="$SHIM_LIB" bash -c 'cd /umfs/indir && cat f && cat ./f; true' 2>&1) || true
	check "programs run by a shell in a pool directory read there" "here
here" "$out"
	check "... and check what they inherit without /proc" "0 2" \
		"$(grep -c 'readlink' "$work/indir.trace") $(grep -c 'pread64([0-9]*, "UMFSPOOL' "$work/indir.trace")"

	# A shell that carries the library (the pool named, never mounted)
	# forks each command: its children make, between the fork and the
	# exec, the calls they make without the library, and at most a
	# getpid or a look at RLIMIT_NOFILE of the library's; nothing of a
	# pool (no thread id, stamp, descriptor or lock) in any of them.
	# (the first pid after the shell's, whose clone line strace may split)
	child_calls() { # TRACE: the names of the first child's calls up to its exec
		awk 'NR == 1 { root = $1 } $1 != root && !child { child = $1 }
			child && $1 == child { n = $2; sub(/\(.*/, "", n); if (n != "<...") print n
				if (n == "execve") exit }' "$1" | sort -u
	}
	strace -f -qq -o "$work/carried-bare.trace" bash -c "cd '$work' && /bin/true && /bin/true"
	strace -f -qq -E LD_PRELOAD="$SHIM_LIB" -o "$work/carried.trace" \
		bash -c "cd '$work' && /bin/true && /bin/true"
	extra=$(comm -13 <(child_calls "$work/carried-bare.trace") <(child_calls "$work/carried.trace") |
		grep -vx -e getpid -e prlimit64 | tr '\n' ' ')
	check "a carried shell's forked children ask nothing of a pool before their exec" "" "$extra"
	check "... and the trace saw them" "execve" "$(child_calls "$work/carried.trace" | grep -x execve)"
fi

finish
