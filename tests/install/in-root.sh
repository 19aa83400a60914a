#!/bin/bash
# in-root.sh - runs inside the scratch root of make-root.sh, with PATH the
# system's own: installs the packages in /tmp/debs with apt, then uses UMFS
# only through what they installed, as README's Usage does.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
say() { echo "in-root: $*"; }
mnt=/mnt/umfs
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && { fusermount3 -u -z "$mnt" || umount -l "$mnt"; }
	return 0
}
trap cleanup EXIT

# The host's own UMFS packages, if any, must not stand in for these.
for p in umfs-tools libumfs0 libumfs-dev umfs-dkms; do
	dpkg -s "$p" >/dev/null 2>&1 && dpkg --purge "$p" >/dev/null
done
for t in mkfs.umfs fsck.umfs umfs-run umfs-fuse umfs; do
	! command -v "$t" >/dev/null || fail "$t found before the packages were installed"
done

# /usr/local as `sudo make install` leaves it (make-root.sh gives an empty
# one): the tools found by mkfs(8), pkg-config and mount(8) there, then
# removed for the packages' turn.
if [ -f /tmp/debs/local.tar ]; then
	say "make install's /usr/local"
	tar -C / -xf /tmp/debs/local.tar
	ldconfig # as make install does
	[ "$(command -v umfs-run)" = /usr/local/bin/umfs-run ] || fail "umfs-run not in /usr/local/bin"
	mkfs -t umfs -s 16M /dev/shm/local.pool
	fsck -t umfs /dev/shm/local.pool -- -n -f >/dev/null || fail "fsck -t umfs (/usr/local)"
	out=$(umfs-run --pool /dev/shm/local.pool -- sh -c 'echo "$LD_PRELOAD"')
	[ "$out" = "$(pkg-config --variable=libdir umfs)/libumfs.so" ] || fail "/usr/local umfs-run preloads '$out'"
	printf '#include <umfs.h>\nint main(void) { struct umfs_fs *fs; return umfs_mount("/dev/shm/local.pool", 0, &fs) || umfs_unmount(fs); }\n' >/tmp/m.c
	# shellcheck disable=SC2046 # pkg-config's flags are meant to split
	cc /tmp/m.c $(pkg-config --cflags --libs umfs) -o /tmp/m && /tmp/m || fail "C API from /usr/local"
	mkdir -p "$mnt"
	env PATH=/usr/bin:/bin mount -t fuse.umfs /dev/shm/local.pool "$mnt" || fail "mount -t fuse.umfs (/usr/local)"
	umount "$mnt"
	man -w umfs-run | grep -q '^/usr/local/' || fail "man does not find /usr/local's umfs-run(1)"
	rm -rf /usr/local/* /dev/shm/local.pool /tmp/debs/local.tar
	ldconfig
	sleep 1 # the FUSE daemon exits after the unmount
fi

say "apt install ./umfs-tools ./libumfs0 ./libumfs-dev ./umfs-dkms"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	/tmp/debs/*.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt install"; }
for p in umfs-tools libumfs0 libumfs-dev umfs-dkms; do
	v=$(dpkg-query -W -f '${Version}' "$p")
	[ "$v" = "$UMFS_VERSION" ] || fail "$p is version '$v', meson says $UMFS_VERSION"
done
for t in /usr/sbin/mkfs.umfs /usr/sbin/fsck.umfs /usr/sbin/umfs-fuse /usr/sbin/umfs /usr/bin/umfs-run; do
	[ "$(command -v "${t##*/}")" = "$t" ] || fail "${t##*/} is not $t"
done
libdir=$(pkg-config --variable=libdir umfs) || fail "pkg-config does not know umfs"
[ -f "$libdir/libumfs.so" ] || fail "no $libdir/libumfs.so"

say "man pages"
for page in umfs-run.1 umfs.3 libumfs.7 mkfs.umfs.8 fsck.umfs.8 umfs-fuse.8 umfs.8 umfs-pool.8; do
	f=$(man -w "${page##*.}" "${page%.*}") || fail "man ${page##*.} ${page%.*}: no page"
	case "$f" in /usr/share/man/*) ;; *) fail "man ${page%.*} found $f" ;; esac
	out=$(MANWIDTH=80 man --warnings "${page##*.}" "${page%.*}" 2>&1 >/dev/null)
	[ -z "$out" ] || fail "man --warnings ${page%.*}: $out"
done
say "man umfs: the overview, and the documents the pages name"
MANWIDTH=200 man umfs 2>/dev/null | grep -q 'persistent-memory file system: overview' ||
	fail "man umfs does not open the overview page"
MANWIDTH=200 man umfs 2>/dev/null | grep -q /usr/share/doc/umfs-tools ||
	fail "umfs(8) does not name /usr/share/doc/umfs-tools"
for d in README.md format.md consistency.md sharing.md security.md shim.md; do
	[ -f "/usr/share/doc/umfs-tools/$d" ] || fail "the packages do not install $d (umfs(8) names it)"
done

say "mkfs.umfs, mkfs -t umfs, fsck.umfs, fsck -t umfs"
pool=/dev/shm/umfs.pool
mkfs.umfs -s 64M -L install "$pool"
mkfs -t umfs -s 16M /dev/shm/small.pool
fsck.umfs -n -f "$pool" >/tmp/fsck.out || { cat /tmp/fsck.out; fail "fsck.umfs -n -f"; }
grep -q clean /tmp/fsck.out || { cat /tmp/fsck.out; fail "fsck.umfs did not say clean"; }
fsck -t umfs /dev/shm/small.pool -- -n -f || fail "fsck -t umfs"
umfs-pool info "$pool" | grep -qx 'label *install' || fail "umfs-pool info does not show the label"

say "umfs-run, LD_PRELOAD with the absolute path"
out=$(umfs-run --pool "$pool" -- sh -c 'echo "$LD_PRELOAD"; echo hello > /umfs/hello; cat /umfs/hello')
[ "$out" = "$libdir/libumfs.so
hello" ] || fail "umfs-run: got '$out'"
mkdir -p /tmp/src/sub && echo data >/tmp/src/sub/f
(cd /tmp && LD_PRELOAD="$libdir/libumfs.so" UMFS_POOL="$pool" UMFS_MOUNT=/umfs cp -a src /umfs/)
out=$(umfs-run --pool "$pool" -- cat /umfs/src/sub/f)
[ "$out" = data ] || fail "cp -a through LD_PRELOAD: read back '$out'"
! ls /umfs >/dev/null 2>&1 || fail "/umfs exists on the host: the copy did not go to UMFS"

say "the C API example of README, built with pkg-config"
awk '/^### The C API/ { api = 1 } api && /^```c$/ { on = 1; next } on && /^```$/ { exit } on' \
	/tmp/README.md >/tmp/hello.c
grep -q umfs_mount /tmp/hello.c || fail "no C example found in README"
# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc /tmp/hello.c $(pkg-config --cflags --libs umfs) -o /tmp/hello
out=$(/tmp/hello)
[ "$out" = "read back 12 bytes: hello, pmem" ] || fail "hello: '$out'"

say "mount -t fuse.umfs with mount(8)'s PATH, not ours"
mkdir -p "$mnt"
env PATH=/usr/bin:/bin mount -t fuse.umfs "$pool" "$mnt"
grep -q " $mnt fuse.umfs " /proc/mounts || fail "$mnt is not a fuse.umfs mount"
out=$(cat "$mnt/logs/hello.txt")
[ "$out" = "hello, pmem" ] || fail "through FUSE: '$out'"
umount "$mnt"
for _ in $(seq 50); do pgrep -x umfs-fuse >/dev/null || pgrep -x umfs >/dev/null || break; sleep 0.2; done
fsck.umfs -n -f "$pool" >/tmp/fsck.out || { cat /tmp/fsck.out; fail "fsck.umfs after the FUSE mount"; }

say "umfs-fuse(8)'s fstab line: mount by the mount point"
echo "$pool  $mnt  fuse.umfs  defaults,allow_other,nofail  0  0" >>/etc/fstab
env PATH=/usr/bin:/bin mount "$mnt" || fail "mount $mnt from the fstab line of umfs-fuse(8)"
grep -q " $mnt fuse.umfs " /proc/mounts || fail "$mnt from fstab is not a fuse.umfs mount"
[ "$(cat "$mnt/logs/hello.txt")" = "hello, pmem" ] || fail "through the fstab mount"
umount "$mnt"
for _ in $(seq 50); do pgrep -x umfs-fuse >/dev/null || pgrep -x umfs >/dev/null || break; sleep 0.2; done
sed -i '\| fuse.umfs |d' /etc/fstab

say "umfs-dkms"
dkms status umfs | grep -q "umfs/$UMFS_VERSION" || fail "dkms does not know umfs/$UMFS_VERSION"
built=0
for kdir in /lib/modules/*/build; do
	[ -e "$kdir/Makefile" ] || continue
	kver=$(basename "$(dirname "$kdir")")
	# what a kernel package's postinst runs for a new kernel
	/etc/kernel/postinst.d/dkms "$kver" >/tmp/dkms.log 2>&1 || true
	ko=$(find "/lib/modules/$kver/updates" -name 'umfs.ko*' 2>/dev/null | head -1)
	[ -n "$ko" ] || { tail -30 /tmp/dkms.log;
		cat "/var/lib/dkms/umfs/$UMFS_VERSION/build/make.log" 2>/dev/null | tail -30;
		fail "no umfs.ko for $kver after the kernel hook"; }
	[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ] || fail "$ko: wrong vermagic"
	say "dkms built $ko"
	built=1
done
[ $built -eq 1 ] || say "no kernel headers installed: umfs-dkms checked as added, not built"
say "all steps passed"
