#!/usr/bin/env bash
# processes.sh - fork shares offsets, exec keeps descriptors, a program
# without the shim gets EBADF, threads, and unlinked files held by children.
. "$(dirname "$0")/lib.sh"

out=$(shim "$SHIM_FORK" offset /umfs/off 2>&1) || true
check "fork shares the offset" "offset: ok" "$out"

out=$(shim "$SHIM_FORK" exec /umfs/exec 2>&1) || true
check "exec keeps descriptors" "exec: ok" "$out"

out=$(shim "$SHIM_FORK" unlinked /umfs/unl 2>&1) || true
check "unlinked file held by a child" "unlinked: ok" "$out"

out=$(shim "$SHIM_FORK" mapshare /umfs/map 2>&1) || true
check "MAP_SHARED coherent between two programs" "mapshare: ok" "$out"

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

finish
