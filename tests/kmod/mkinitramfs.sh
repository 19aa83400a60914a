#!/bin/bash
# mkinitramfs.sh - builds the initramfs the qemu tests boot: busybox, ndctl,
# the kernel's NVDIMM modules, umfs.ko (when built), the project's tools and
# test programs with their shared libraries, the guest tests and /init.
#
#   mkinitramfs.sh [--kver VER] [--module KO] [--tests LIST] [--out FILE] BUILDDIR
#
# BUILDDIR is a meson build directory of this tree. The result is a gzip'd
# newc cpio archive (default: BUILDDIR/tests/kmod/initramfs.gz). LIST is
# the comma-separated guest tests the image is for (default: those run.sh
# runs when none are named); every guest test is in the image, but heavy
# programs (fio) only when one of LIST names them.
#
# Guest layout: busybox applets in /bin and /sbin; GNU programs (dynamically
# linked, so the LD_PRELOAD shim works on them) in /usr/bin; the project in
# /opt/umfs/{bin,lib}; the guest tests in /opt/umfs/tests, what
# tests/kmod/guest/build.sh builds in /opt/umfs/tests/bin.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

kver=""
module=""
out=""
tests=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: mkinitramfs.sh [--kver VER] [--module KO] [--tests LIST] [--out FILE] BUILDDIR"
build=$(cd "$1" && pwd)
[ -n "$kver" ] || kver=$(guest_kver) || die "no Debian 6.1 kernel in /lib/modules (run install-deps.sh)"
[ -n "$module" ] || module="$src/kmod/umfs.ko"
[ -n "$out" ] || out="$build/tests/kmod/initramfs.gz"
[ -n "$tests" ] || tests=$(default_tests "$here")
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep missing"

# The NVDIMM stack (dax itself is built in), ext4 for the DAX comparison on
# the second NVDIMM, device DAX for devdax pools. Order matters only in that
# dependencies come first, which load_order() takes care of.
KMODS="libnvdimm nfit nd_btt nd_pmem dax_pmem device_dax crc32c_generic ext4"

# Host programs copied with their libraries: what the guest tests run under
# the shim, and what the measurements need. Missing ones are skipped.
HOSTPROGS="bash dash cat cp mv rm chmod chgrp ls mkdir rmdir ln stat sha256sum md5sum cmp diff
head tail wc sort dd truncate sync touch seq gzip gunzip tar find xargs grep sed
awk mawk true false env date nproc timeout mke2fs mkfs.ext4 e2fsck tune2fs ${UMFS_GUEST_EXTRA:-}"
# Heavy ones (fio brings ceph and ICU: the image goes from 15 to 44 MB
# gzip'd, and each boot takes seconds longer) only when a test this image
# is for names them, so that the usual image stays small and boots fast.
for prog in $(heavy_progs "$here" "$tests"); do
	HOSTPROGS="$HOSTPROGS $prog"
	echo "initramfs: with $prog"
done

stage=$(mktemp -d /tmp/umfs-initramfs.XXXXXX)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage" # it becomes the guest's /, which mktemp made 0700

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,run,mnt,root} \
	"$stage"/opt/umfs/{bin,lib,tests/bin} "$stage/$moddir"

is_elf() { [ "$(head -c 4 "$1" | tail -c 3)" = ELF ]; }

# Copies an ELF file to DEST and every shared library it needs (ldd) to the
# same path in the image; the dynamic loader comes along as one of them.
copy_elf() {
	local file=$1 dest=$2 lib
	install -D -m 755 "$file" "$stage$dest"
	is_elf "$file" || return 0 # a script (gunzip): copied as it is
	{ ldd "$file" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
		[ -e "$stage$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$stage$lib"
	done
}

for prog in $HOSTPROGS; do
	path=$(PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin type -P "$prog" || true)
	[ -n "$path" ] || continue
	case "$prog" in mke2fs|mkfs.ext4|e2fsck|tune2fs) dest=/usr/sbin/$prog ;; *) dest=/usr/bin/$prog ;; esac
	copy_elf "$(readlink -f "$path")" "$dest"
done
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$stage/etc/"
copy_elf /usr/bin/ndctl /usr/bin/ndctl

# busybox and its applets, as symlinks made here so /init starts at once;
# after the GNU programs, which keep their place
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
# Like Debian's merged /usr: the GNU programs replace busybox's applets in
# /bin too (Debian's gunzip runs /bin/gzip), and /bin/sh is dash, so that
# the scripts a program under the shim runs stay under the shim.
for f in "$stage"/usr/bin/*; do
	[ -L "$f" ] || ln -sf "/usr/bin/${f##*/}" "$stage/bin/${f##*/}"
done
[ -e "$stage/usr/bin/dash" ] && ln -sf /usr/bin/dash "$stage/bin/sh"
mkdir -p "$stage/etc/ndctl.conf.d"

# Kernel modules: the closure of KMODS under modules.dep, each file
# decompressed here (busybox insmod reads plain .ko only), and their load
# order (dependencies first) in /etc/umfs/modules.
mkdir -p "$stage/etc/umfs"
# shellcheck disable=SC2086 # one argument per module
load_order "$moddir" $KMODS | while read -r rel; do
	plain=${rel%.xz}; plain=${plain%.zst}; plain=${plain%.gz}
	install -d "$stage/$moddir/$(dirname "$plain")"
	case "$rel" in
	*.xz) xz -dc "$moddir/$rel" >"$stage/$moddir/$plain" ;;
	*.zst) zstd -qdc "$moddir/$rel" >"$stage/$moddir/$plain" ;;
	*.gz) gzip -dc "$moddir/$rel" >"$stage/$moddir/$plain" ;;
	*) cp "$moddir/$rel" "$stage/$moddir/$plain" ;;
	esac
	echo "$moddir/$plain"
done >"$stage/etc/umfs/modules"
if [ -f "$module" ]; then
	cp "$module" "$stage/opt/umfs/lib/umfs.ko"
fi

# The project: tools, the shim, test programs
need() { [ -f "$build/$1" ] || die "$build/$1 missing: build the tree first (ninja -C $build)"; }
for f in mkfs/mkfs.umfs fsck/fsck.umfs tools/umfs-run libumfs/libumfs.so; do need "$f"; done
copy_elf "$build/mkfs/mkfs.umfs" /opt/umfs/bin/mkfs.umfs
copy_elf "$build/fsck/fsck.umfs" /opt/umfs/bin/fsck.umfs
copy_elf "$build/tools/umfs-run" /opt/umfs/bin/umfs-run
copy_elf "$build/libumfs/libumfs.so" /opt/umfs/lib/libumfs.so
for f in tools/umfs-demo tests/kmod/pc_work tests/posix/posix_test tests/shim/shim_fork tests/shim/shim_calls; do
	[ -f "$build/$f" ] && copy_elf "$build/$f" "/opt/umfs/bin/$(basename "$f")"
done

# The guest tests, and what the module's helper builds for the guest
for f in "$here"/guest/*; do
	[ -f "$f" ] || continue
	case "$f" in */build.sh|*.c|*.h) continue ;; esac # sources: build.sh builds them
	install -m 755 "$f" "$stage/opt/umfs/tests/"
done
# (UMFS_KMOD_NO_GUEST_BUILD=1 leaves them out: for working on the harness
# while the module's tests are being written)
if [ -f "$here/guest/build.sh" ] && [ "${UMFS_KMOD_NO_GUEST_BUILD:-0}" != 1 ]; then
	gout=$(mktemp -d /tmp/umfs-guest-build.XXXXXX)
	trap 'rm -rf "$stage" "$gout"' EXIT
	UMFS_KVER=$kver UMFS_BUILD=$build bash "$here/guest/build.sh" "$gout" \
		|| die "tests/kmod/guest/build.sh failed"
	for f in "$gout"/*; do
		[ -e "$f" ] || continue
		if [ -f "$f" ] && is_elf "$f"; then
			copy_elf "$f" "/opt/umfs/tests/bin/$(basename "$f")"
		else
			cp -a "$f" "$stage/opt/umfs/tests/bin/"
		fi
	done
fi

install -m 755 "$here/init.sh" "$stage/init"
echo "$kver" >"$stage/etc/umfs/kver"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1), kernel $kver)"
