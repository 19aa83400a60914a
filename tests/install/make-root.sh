#!/bin/bash
# make-root.sh ROOT SCRIPT README DEB... - run in a mount namespace of its
# own (unshare -m): builds ROOT from overlays of this machine's system,
# copies in SCRIPT, README and the packages, and runs SCRIPT chrooted with
# a clean environment (root's default PATH). Every mount goes away with
# the namespace.
set -euo pipefail
root=$1 script=$2 readme=$3
shift 3

mkdir -p "$root"
mount -t tmpfs -o size=2G,mode=0755 scratch "$root"
mkdir -p "$root/.layers"
# the writable layers live on a tmpfs beside the root, hidden from it
mount -t tmpfs -o size=2G layers "$root/.layers"
for d in usr etc var; do
	mkdir -p "$root/.layers/$d/up" "$root/.layers/$d/work" "$root/$d"
	mount -t overlay overlay \
		-o "lowerdir=/$d,upperdir=$root/.layers/$d/up,workdir=$root/.layers/$d/work" "$root/$d"
done
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then
		cp -P "/$d" "$root/$d"
	elif [ -d "/$d" ]; then
		mkdir -p "$root/.layers/$d/up" "$root/.layers/$d/work" "$root/$d"
		mount -t overlay overlay \
			-o "lowerdir=/$d,upperdir=$root/.layers/$d/up,workdir=$root/.layers/$d/work" "$root/$d"
	fi
done
# boot holds the kernels' configs dkms looks at to choose kernels
[ -d /boot ] && mkdir -p "$root/boot" && mount --bind -o ro /boot "$root/boot"
# nothing a `make install` on this machine put in /usr/local may be seen
mount -t tmpfs local "$root/usr/local"
mkdir -p "$root/usr/local/bin" "$root/usr/local/sbin" "$root/usr/local/lib"
for d in tmp root run mnt proc sys dev; do mkdir -p "$root/$d"; done
mount -t tmpfs tmp "$root/tmp"
chmod 1777 "$root/tmp"
mount -t tmpfs run "$root/run"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o size=512M shm "$root/dev/shm"
chmod 1777 "$root/dev/shm"
umount -l "$root/.layers" 2>/dev/null || true # the overlays keep their layers

mkdir -p "$root/tmp/debs"
cp "$@" "$root/tmp/debs/"
cp "$script" "$root/tmp/in-root.sh"
cp "$readme" "$root/tmp/README.md"
chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin UMFS_VERSION="$UMFS_VERSION" \
	/bin/bash /tmp/in-root.sh
