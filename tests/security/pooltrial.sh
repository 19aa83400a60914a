# SPDX-License-Identifier: MIT
# pooltrial.sh - sourced by corruption.sh and crafted.sh: trials on copies
# of a damaged pool through umfs-fuse. The caller sets FUSE (umfs-fuse),
# KEEP (keep the trials' directory) and TAG, then sources this file, which
# makes TMP (the trials' directory, on UMFS_TEST_DIR or /dev/shm) and MNT,
# removes both at exit, and sets have_fuse.

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (owners, FUSE)"; exit 77; }
TMP=$(mktemp -d "${UMFS_TEST_DIR:-/dev/shm}/umfs-$TAG.XXXXXX")
MNT=$TMP/mnt
mkdir -p "$MNT"
DAEMON=

# The runtime directories of a pool (security.md), which a killed program
# or daemon leaves.
regions_remove() {
	local uuid
	uuid=$(od -An -tx1 -j32 -N16 "$1" 2>/dev/null | tr -d ' \n')
	[ -n "$uuid" ] && rm -rf /dev/shm/umfs-"$uuid"-*
}

# Whether the FUSE mount is there (from the mount table: a stat of the
# mountpoint would meet a damaged root).
mounted() {
	awk -v m="$MNT" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

pooltrial_cleanup() {
	mounted && fusermount3 -u -z "$MNT" 2>/dev/null
	[ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null
	for p in "$TMP"/*.pool; do [ -f "$p" ] && regions_remove "$p"; done
	if [ -n "$KEEP" ]; then echo "# kept $TMP"; else "$(dirname "${BASH_SOURCE[0]}")"/../pool/forget_rundirs.sh "$TMP"; rm -rf "$TMP"; fi
}
trap pooltrial_cleanup EXIT

have_fuse=1
if ! [ -x "$FUSE" ] || ! [ -c /dev/fuse ] || ! command -v fusermount3 >/dev/null ||
   ! grep -qw fuse /proc/filesystems; then
	have_fuse=
	echo "# no usable FUSE here: no FUSE trials"
fi

# fuse_up POOL LOG: umfs-fuse serves POOL at MNT (0, DAEMON its pid), or
# it did not mount within 10 s (1): DOWN is hang (it was killed) or its
# exit status.
fuse_up() {
	local i
	"$FUSE" "$1" "$MNT" -f >"$2" 2>&1 &
	DAEMON=$!
	for i in $(seq 500); do
		mounted && return 0
		kill -0 $DAEMON 2>/dev/null || break
		sleep 0.02
	done
	mounted && return 0
	if kill -0 $DAEMON 2>/dev/null; then
		kill -9 $DAEMON; wait $DAEMON 2>/dev/null
		fusermount3 -u -z "$MNT" 2>/dev/null # if it came up meanwhile
		DOWN=hang
	else
		wait $DAEMON; DOWN=$?
	fi
	DAEMON=
	regions_remove "$1"
	return 1
}

# fuse_down POOL SECONDS: unmounts MNT and waits that long for the daemon
# to end; DOWN is hang (it was killed) or its exit status.
fuse_down() {
	local i
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
	for i in $(seq $(($2 * 50))); do
		kill -0 $DAEMON 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 $DAEMON 2>/dev/null; then
		kill -9 $DAEMON; wait $DAEMON 2>/dev/null
		fusermount3 -u -z "$MNT" 2>/dev/null
		DOWN=hang
	else
		wait $DAEMON; DOWN=$?
	fi
	DAEMON=
	regions_remove "$1"
}
