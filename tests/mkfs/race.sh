#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# race.sh - mkfs.umfs on a name another user keeps changing under it.
#
#   race.sh MKFS_UMFS
#
# In a sticky, world-writable directory (as /tmp and /dev/shm are), the
# user 65534 makes the target name, over and over and as fast as it can, a
# symlink to a root-only file, nothing, a file of its own, nothing; with
# fs.protected_symlinks=0, so that the kernel itself does not refuse to
# follow that link for root. Meanwhile root runs mkfs.umfs -s 8M on the
# name ATTEMPTS times (300) or for LIMIT seconds (20). The root-only file
# must stay byte for byte as it was. The sysctl is put back however the
# test ends. Needs root, setpriv and python3 (skipped, 77, without them).
set -uo pipefail

mkfs_bin=${1:?usage: race.sh MKFS_UMFS}
ATTEMPTS=${ATTEMPTS:-300}
LIMIT=${LIMIT:-20}
HUID=65534
export PMEM_IS_PMEM_FORCE=1

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (and a second user through setpriv)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
as_other() { setpriv --reuid=$HUID --regid=$HUID --clear-groups -- "$@"; }
py=
for p in /usr/bin/python3 "$(command -v python3)"; do
	[ -n "$p" ] && as_other "$p" -c pass 2>/dev/null && { py=$p; break; }
done
[ -n "$py" ] || skip "no python3 that uid $HUID may run"
old=$(sysctl -n fs.protected_symlinks 2>/dev/null) || skip "no fs.protected_symlinks"

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/umfs-mkfs-race.XXXXXX") || exit 1
apid=
restore() {
	[ -z "$apid" ] || kill "$apid" 2>/dev/null
	[ -z "$apid" ] || wait "$apid" 2>/dev/null
	sysctl -qw fs.protected_symlinks="$old"
	rm -rf "$dir"
}
trap restore EXIT
trap 'exit 1' INT TERM HUP

chmod 0711 "$dir"                # the other user may pass, not list
mkdir -m 1777 "$dir/sticky"      # as /tmp
victim=$dir/victim               # root's, 0600, known bytes
for i in $(seq 1 2048); do echo "root-only line $i of $$"; done >"$victim"
chmod 0600 "$victim"
sum=$(sha256sum <"$victim")
target=$dir/sticky/pool

sysctl -qw fs.protected_symlinks=0 || skip "cannot set fs.protected_symlinks"

# The other user: symlink, nothing, a file of its own, nothing; again.
# (setpriv itself in the background, so that $! is the loop's pid.)
setpriv --reuid=$HUID --regid=$HUID --clear-groups -- "$py" -c '
import os, sys, time
target, victim, deadline = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
def step(call, *args):
    try:
        call(*args)
    except OSError:
        pass
def plant_file():
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
while time.time() < deadline:  # ends by itself should nobody stop it
    for _ in range(1000):
        step(os.symlink, victim, target)
        step(os.unlink, target)
        step(plant_file)
        step(os.unlink, target)
' "$target" "$victim" $((LIMIT + 60)) &
apid=$!
sleep 0.2
kill -0 "$apid" 2>/dev/null || { echo "FAIL: the other user's loop did not start"; exit 1; }

attempts=0 made=0 refused=0 start=$SECONDS
while [ $attempts -lt "$ATTEMPTS" ] && [ $((SECONDS - start)) -lt "$LIMIT" ]; do
	attempts=$((attempts + 1))
	if timeout 30 "$mkfs_bin" -q -s 8M "$target" >/dev/null 2>&1; then
		made=$((made + 1))
	else
		refused=$((refused + 1))
	fi
	if [ "$(sha256sum <"$victim")" != "$sum" ]; then
		echo "FAIL: attempt $attempts formatted the root-only file a symlink led to" \
			"($(stat -c %s "$victim") bytes now)"
		exit 1
	fi
	rm -f "$target" # a pool root made there, which the other user cannot remove
done
echo "ok: $attempts attempts in $((SECONDS - start)) s ($made made a pool, $refused refused);" \
	"the root-only file is unchanged"
