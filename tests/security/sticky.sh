#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sticky.sh - Linux's fs.protected_regular, fs.protected_fifos and
# fs.protected_symlinks in UMFS, the rules against names another user
# plants in a sticky directory:
# * an O_CREAT open (not O_EXCL) of a regular file or a FIFO owned
#   neither by the opener nor by the directory's owner is refused with
#   EACCES when the directory is world-writable (level 1 or 2) or
#   group-writable (level 2), root included: the planted file would take
#   what root writes; a node of any other type (a device, a socket, a
#   symlink opened O_NOFOLLOW) is refused so in a world-writable sticky
#   directory whatever the levels;
# * a symlink that ends a path is not followed out of a sticky
#   world-writable directory unless the follower or the directory's owner
#   owns it (level 1): a planted link would send root's open elsewhere.
#   Links met before the end of a path are followed.
#
# At each level (0, 1, 2; protected_symlinks has 0 and 1; put back however
# the test ends) root opens such names in directories of each kind
# (world-writable sticky, group-writable sticky, world-writable not sticky,
# sticky and owned by the planter): regular files, FIFOs, devices, sockets
# and symlinks (to a file, to a directory, dangling) owned by root and by
# uid 65534, with O_CREAT, O_CREAT | O_EXCL, O_CREAT | O_NOFOLLOW (a
# planted symlink not followed is such a node too) and without O_CREAT.
# The answers on tmpfs (the kernel's) are the reference; through the
# LD_PRELOAD library and through umfs-fuse they must be the same. The test
# runs alone (the sysctls are the machine's).
#
# Standalone: BUILDDIR=build tests/security/sticky.sh
# shellcheck source=tests/security/lib.sh
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (the sysctls, chown)"
old_reg=$(sysctl -n fs.protected_regular 2>/dev/null) || skip "no fs.protected_regular"
old_fifo=$(sysctl -n fs.protected_fifos 2>/dev/null) || skip "no fs.protected_fifos"
old_sym=$(sysctl -n fs.protected_symlinks 2>/dev/null) || skip "no fs.protected_symlinks"
work=$(mktemp -d /tmp/umfs-sticky.XXXXXX)
chmod 0755 "$work"
pool=/dev/shm/umfs-sticky-$$.pool
mnt=$work/mnt
DAEMON=
fuse_mounted() { awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
cleanup() {
	sysctl -qw fs.protected_regular="$old_reg" fs.protected_fifos="$old_fifo" \
		fs.protected_symlinks="$old_sym"
	fuse_mounted && fusermount3 -u -z "$mnt" 2>/dev/null
	[ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null
	mountpoint -q "$work/ref" && umount -l "$work/ref"
	"$(dirname "$0")"/../pool/forget_rundirs.sh "$pool"
	rm -f "$pool"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
sysctl -qw fs.protected_regular=0 fs.protected_fifos=0 fs.protected_symlinks=0 ||
	skip "cannot set the sysctls"

failures=0
passes=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# The cases, in DIR: the levels are set from here, as root.
cat >"$work/cases.py" <<'EOF'
import errno, os, stat, sys

top = sys.argv[1]
H = 65534
dirs = [  # name, mode, owner, group
    ("world-sticky", 0o1777, 0, 0),
    ("group-sticky", 0o1770, 0, H),
    ("world-plain", 0o0777, 0, 0),
    ("planter-sticky", 0o1777, H, H),
]
targets = os.path.join(top, "targets")  # root's, not sticky: where links lead
os.mkdir(targets)
os.chmod(targets, 0o755)
with open(os.path.join(targets, "t"), "w") as t:
    t.write("target")
for name, mode, uid, gid in dirs:
    d = os.path.join(top, name)
    os.mkdir(d)
    os.chown(d, uid, gid)
    os.chmod(d, mode)
    for owner in (0, H):
        f = os.path.join(d, "file-%d" % owner)
        os.close(os.open(f, os.O_CREAT | os.O_WRONLY, 0o666))
        os.chown(f, owner, owner)
        os.chmod(f, 0o666)
        p = os.path.join(d, "fifo-%d" % owner)
        os.mkfifo(p, 0o666)
        os.chown(p, owner, owner)
        # nodes of other types: the rule holds whatever the levels
        for kind, node in (("dev", stat.S_IFCHR), ("sock", stat.S_IFSOCK)):
            p = os.path.join(d, "%s-%d" % (kind, owner))
            os.mknod(p, 0o666 | node, os.makedev(1, 3) if node == stat.S_IFCHR else 0)
            os.chown(p, owner, owner)
        for kind, to in (("link", "t"), ("dirlink", ""), ("dangling", "gone-%s-%d" % (name, owner))):
            link = os.path.join(d, "%s-%d" % (kind, owner))
            os.symlink(os.path.join(targets, to), link)
            os.lchown(link, owner, owner)

def answer(path, flags):
    try:
        fd = os.open(path, flags | os.O_NONBLOCK, 0o666)
        os.close(fd)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

opens = [
    ("creat-wronly", os.O_CREAT | os.O_WRONLY),
    ("creat-rdonly", os.O_CREAT | os.O_RDONLY),
    ("creat-excl", os.O_CREAT | os.O_EXCL | os.O_WRONLY),
    ("creat-nofollow", os.O_CREAT | os.O_NOFOLLOW | os.O_WRONLY),
    ("wronly", os.O_WRONLY),
]
for level in (0, 1, 2):
    for knob, top_level in (("protected_regular", 2), ("protected_fifos", 2),
                            ("protected_symlinks", 1)):
        with open("/proc/sys/fs/" + knob, "w") as k:
            k.write(str(min(level, top_level)))
    for name, _, _, _ in dirs:
        for kind in ("file", "fifo", "dev", "sock", "link", "dirlink/t", "dangling"):
            for owner in (0, H):
                base, _, rest = kind.partition("/")
                path = os.path.join(top, name, "%s-%d" % (base, owner), rest)
                for oname, flags in opens:
                    print(level, name, kind, owner, oname, answer(path.rstrip("/"), flags))
EOF

mkdir -p "$work/ref" "$mnt"
mount -t tmpfs -o mode=0755 umfs-sticky-ref "$work/ref" || skip "cannot mount a tmpfs"
python3 "$work/cases.py" "$work/ref" >"$work/ref.out" 2>&1 || {
	fail "the reference run on tmpfs: $(tail -n 3 "$work/ref.out")"
	exit 1
}
# the reference itself says what the rule is
if grep -q '^1 world-sticky file 65534 creat-wronly EACCES$' "$work/ref.out" &&
	grep -q '^1 group-sticky file 65534 creat-wronly ok$' "$work/ref.out" &&
	grep -q '^2 group-sticky fifo 65534 creat-rdonly EACCES$' "$work/ref.out" &&
	grep -q '^2 planter-sticky file 65534 creat-wronly ok$' "$work/ref.out" &&
	grep -q '^0 world-sticky dev 65534 creat-wronly EACCES$' "$work/ref.out" &&
	grep -q '^0 world-sticky sock 65534 creat-rdonly EACCES$' "$work/ref.out" &&
	grep -q '^2 group-sticky dev 65534 creat-wronly ok$' "$work/ref.out" &&
	grep -q '^0 world-sticky link 65534 creat-nofollow EACCES$' "$work/ref.out" &&
	grep -q '^1 world-sticky link 65534 wronly EACCES$' "$work/ref.out" &&
	grep -q '^1 world-sticky dirlink/t 65534 wronly ok$' "$work/ref.out" &&
	grep -q '^1 planter-sticky link 65534 wronly ok$' "$work/ref.out"; then
	pass "the reference: the kernel refuses as the sysctls say ($(wc -l <"$work/ref.out") opens)"
else
	fail "the reference does not show the kernel's rule:"
	sed 's/^/  /' "$work/ref.out"
fi

sysctl -qw fs.protected_regular=0 fs.protected_fifos=0 fs.protected_symlinks=0
"$MKFS" -q -f -s 64M "$pool" || { fail "mkfs"; exit 1; }
env LD_PRELOAD="$SHIM_LIB" UMFS_POOL="$pool" UMFS_MOUNT=/umfs sh -c \
	'chmod 0755 /umfs && mkdir -m 0755 /umfs/t && python3 "$1" /umfs/t' sh "$work/cases.py" \
	>"$work/shim.out" 2>&1
if diff -u "$work/ref.out" "$work/shim.out" >"$work/shim.diff"; then
	pass "through the library: the kernel's answers"
else
	fail "through the library, answers unlike the kernel's:"
	sed 's/^/  /' "$work/shim.diff"
fi

if ! [ -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "# no usable FUSE here: umfs-fuse not tried"
else
	sysctl -qw fs.protected_regular=0 fs.protected_fifos=0 fs.protected_symlinks=0
	"$UMFS_FUSE" "$pool" "$mnt" -f >"$work/fuse.log" 2>&1 &
	DAEMON=$!
	for _ in $(seq 200); do fuse_mounted && break; sleep 0.05; done
	if ! fuse_mounted; then
		fail "umfs-fuse did not mount: $(cat "$work/fuse.log")"
	else
		mkdir -m 0755 "$mnt/f"
		python3 "$work/cases.py" "$mnt/f" >"$work/fuse.out" 2>&1
		# umfs-fuse mounts nodev (umfs-fuse(8)): its device nodes open
		# to EACCES whatever the directory, so they are not compared
		if diff -u <(grep -v '^[0-9] [a-z-]* dev ' "$work/ref.out") \
			<(grep -v '^[0-9] [a-z-]* dev ' "$work/fuse.out") >"$work/fuse.diff"; then
			pass "through umfs-fuse: the kernel's answers"
		else
			fail "through umfs-fuse, answers unlike the kernel's:"
			sed 's/^/  /' "$work/fuse.diff"
		fi
		fusermount3 -u "$mnt"
		wait "$DAEMON"
		DAEMON=
	fi
fi

echo "sticky: $passes passed, $failures failed"
[ "$failures" = 0 ]
