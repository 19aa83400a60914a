#!/bin/bash
# SPDX-License-Identifier: MIT
# test_privs.sh BUILD_ROOT - a write, fallocate or ftruncate through
# umfs-fuse keeps or drops set-user-ID and set-group-ID by the writer's
# credentials, as on tmpfs, whoever the serving thread served before.
#
# Each case: one user opens a set-id file, another user's request is
# served, then the first writes to, fallocates or truncates the open file.
# The daemon serves with one thread (-s), so the request between is always
# the last that thread served before the change: a change served with a
# stale caller's credentials shows here every time. Then once more on a
# mount served by many threads. Each transcript must equal tmpfs's.
set -u
. "$(dirname "$0")/lib.sh"

uf_require_fuse
command -v setpriv >/dev/null || uf_skip "setpriv is not installed"
[ "$(id -u)" = 0 ] || uf_skip "needs root (files of two owners, a second user)"
py=/usr/bin/python3
[ -x "$py" ] || uf_skip "$py is not installed"
chmod 755 "$UF_TMP"

GRP=1234
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
as_member() { setpriv --reuid=65534 --regid=65534 --groups=$GRP -- "$@"; }
as_root() { "$@"; }

# The actor: opens the file, says so on the ready FIFO, waits on the go
# FIFO, then writes one byte at 0, fallocates 8 KiB or truncates to 1.
actor=$UF_TMP/actor.py
cat >"$actor" <<'EOF'
import os, sys
path, op, ready, go = sys.argv[1:5]
fd = os.open(path, os.O_RDWR)
with open(ready, "w") as f:
    f.write("open\n")
with open(go) as f:
    f.read()
if op == "write":
    os.pwrite(fd, b"w", 0)
elif op == "truncate":
    os.ftruncate(fd, 1)
else:
    os.posix_fallocate(fd, 0, 8192)
EOF
chmod 644 "$actor"

# one_case DIR NAME OWNER:GROUP MODE ACTOR OP BETWEEN: prints the mode
# after ACTOR's OP on a file of MODE, with BETWEEN's stat in between.
one_case() {
	local dir=$1 name=$2 owner=$3 mode=$4 who=$5 op=$6 between=$7 f pid
	f=$dir/$name
	echo data >"$f" && chown "$owner" "$f" && chmod "$mode" "$f" || uf_fail "setting up $f"
	rm -f "$UF_TMP/ready" "$UF_TMP/go"
	mkfifo -m 666 "$UF_TMP/ready" "$UF_TMP/go"
	"$who" "$py" "$actor" "$f" "$op" "$UF_TMP/ready" "$UF_TMP/go" &
	pid=$!
	# bounded: an actor that failed to open never opens the FIFOs
	timeout 30 cat "$UF_TMP/ready" >/dev/null || uf_fail "$name: the actor did not open $f"
	"$between" stat -c %a "$dir" >/dev/null
	timeout 30 sh -c 'echo go >"$1"' sh "$UF_TMP/go" || uf_fail "$name: the actor went away"
	wait "$pid" || uf_fail "$name: the actor failed"
	echo "$name: $(stat -c '%a %u:%g' "$f")"
}

transcript() {
	local d=$1
	one_case "$d" nobody-write-sgid root:root 2767 as_nobody write as_root
	one_case "$d" nobody-fallocate-sgid root:root 2767 as_nobody fallocate as_root
	one_case "$d" nobody-write-suid root:root 4767 as_nobody write as_root
	one_case "$d" nobody-truncate-sgid root:root 2767 as_nobody truncate as_root
	one_case "$d" root-truncate-sgid root:root 2767 as_root truncate as_nobody
	one_case "$d" root-write-sgid root:root 2767 as_root write as_nobody
	one_case "$d" root-fallocate-sgid root:root 2767 as_root fallocate as_nobody
	one_case "$d" member-write-sgid root:$GRP 2767 as_member write as_root
	one_case "$d" member-write-sgid-gx root:$GRP 2777 as_member write as_root
}

ref=$UF_TMP/ref
mkdir -p "$ref" && chmod 777 "$ref"
transcript "$ref" >"$UF_TMP/ref.out"

pool=$UF_TMP/pool
mnt=$UF_TMP/mnt
uf_mkfs "$pool" 64M
for how in single many; do
	opts=(-o allow_other)
	[ "$how" = single ] && opts+=(-s)
	uf_mount "$pool" "$mnt" "${opts[@]}"
	mkdir -p "$mnt/$how" && chmod 777 "$mnt/$how"
	transcript "$mnt/$how" >"$UF_TMP/$how.out"
	uf_umount "$mnt" "$UF_PID"
	if ! diff -u "$UF_TMP/ref.out" "$UF_TMP/$how.out" >"$UF_TMP/diff"; then
		sed 's/^/# /' "$UF_TMP/diff"
		uf_fail "$how thread(s): the FUSE mount and tmpfs differ (- tmpfs, + umfs-fuse)"
	fi
	uf_log "$how thread(s): the set-id bits after each write agree with tmpfs ($(wc -l <"$UF_TMP/$how.out") cases)"
done
uf_fsck_clean "$pool"
echo "PASS"
