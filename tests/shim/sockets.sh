#!/usr/bin/env bash
# sockets.sh - Unix sockets named inside UMFS, between programs: a server
# and its clients in separate processes (exec'd, not forked), datagrams
# naming their sender, an inherited listener after exec, a path longer
# than the host would fit, nothing made in the kernel's working directory
# or on the host, a program without the shim, and the host side gone once
# the last program leaves.
. "$(dirname "$0")/lib.sh"

kcwd=$work/kcwd
mkdir "$kcwd"
shim mkdir -p /umfs/sk

# a server in its own program: binds "srv" relative to a UMFS cwd, says
# "ready", answers each of two clients, each a program of its own
cat >"$work/server.py" <<'EOF'
import os, socket, sys
os.chdir("/umfs/sk")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("srv")
s.listen(4)
print("ready", flush=True)
for _ in range(2):
    c, _ = s.accept()
    c.sendall(b"echo:" + c.recv(64))
    c.close()
print("name", s.getsockname(), flush=True)
EOF
cat >"$work/client.py" <<'EOF'
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
c.sendall(sys.argv[2].encode())
print(c.recv(64).decode(), c.getpeername())
EOF
out=$(cd "$kcwd" && shim python3 -c '
import subprocess, sys
w = sys.argv[1]
srv = subprocess.Popen(["python3", w + "/server.py"], stdout=subprocess.PIPE, text=True)
print(srv.stdout.readline().strip())
for path, msg in (("/umfs/sk/srv", "one"), ("/umfs/sk/../sk/srv", "two")):
    print(subprocess.run(["python3", w + "/client.py", path, msg], capture_output=True,
                         text=True).stdout.strip())
print(srv.stdout.read().strip())
srv.wait()
' "$work" 2>&1) || true
check "server and clients in separate programs" "ready
echo:one srv
echo:two srv
name srv" "$out"
check "nothing made in the kernel's working directory" "" "$(ls -A "$kcwd")"
check "nothing made on the host at the UMFS path" "no" "$([ -e /umfs/sk/srv ] && echo yes || echo no)"
out=$(shim stat -c %F /umfs/sk/srv 2>&1) || true
check "the name stays, a socket" "socket" "$out"

# nobody listens any more: refused; the usual restart (unlink, bind) works
out=$(shim python3 -c '
import os, socket
c = socket.socket(socket.AF_UNIX)
try:
    c.connect("/umfs/sk/srv")
except OSError as e:
    print(os.strerror(e.errno))
s = socket.socket(socket.AF_UNIX)
try:
    s.bind("/umfs/sk/srv")
except OSError as e:
    print(os.strerror(e.errno))
os.unlink("/umfs/sk/srv")
s.bind("/umfs/sk/srv")
s.listen(1)
c = socket.socket(socket.AF_UNIX)
c.connect("/umfs/sk/srv")
print("restarted")
' 2>&1) || true
check "a stale name: refused, and rebound after unlink" "Connection refused
Address already in use
restarted" "$out"

# a program without the shim does not see UMFS: the path is not the kernel's
out=$(python3 -c '
import os, socket
c = socket.socket(socket.AF_UNIX)
try:
    c.connect("/umfs/sk/srv")
    print("connected")
except OSError as e:
    print(os.strerror(e.errno))
' 2>&1) || true
check "without the shim: no such file" "No such file or directory" "$out"

# datagrams between two programs name their sender as it was bound
out=$(shim python3 -c '
import socket, subprocess
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r.bind("/umfs/sk/dg-recv")
subprocess.run(["python3", "-c", """
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/umfs/sk/dg-send")
s.sendto(b"hi", "/umfs/sk/dg-recv")
"""])
print(r.recvfrom(16))
' 2>&1) || true
check "datagram from another program, sender named" "(b'hi', '/umfs/sk/dg-send')" "$out"

# a listener inherited across exec still shows the name it was bound to
out=$(shim python3 -c '
import os, socket
s = socket.socket(socket.AF_UNIX)
s.bind("/umfs/sk/inh")
os.set_inheritable(s.fileno(), True)
os.execvp("python3", ["python3", "-c",
    "import socket, sys; print(socket.socket(fileno=int(sys.argv[1])).getsockname())",
    str(s.fileno())])
' 2>&1) || true
check "getsockname after exec" "/umfs/sk/inh" "$out"

# a path longer than sun_path could hold with the host prefix in front
long=/umfs/sk/$(printf 'd%.0s' {1..45})/$(printf 'e%.0s' {1..45})
shim mkdir -p "$long"
out=$(shim python3 -c '
import socket, sys
p = sys.argv[1] + "/s"
s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect(p)
print(len(p), c.getpeername() == p)
' "$long" 2>&1) || true
check "a 102-byte UMFS path" "102 True" "$out"

# the last program gone, so is the host side
check "the runtime directory is left idle" "idle" "$(rundir_state)"

finish
