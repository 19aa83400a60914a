#!/bin/sh
# SPDX-License-Identifier: MIT
# kmod-source.sh SRCDIR DESTDIR - the module's source as DKMS builds it:
# kmod/'s Kbuild, Makefile, sources and headers, beside the headers of
# include/ that it shares with user space (kmod/Kbuild: -I../include).
# debian/rules stages umfs-dkms's /usr/src/umfs-VERSION with it, and the
# qemu tests build the module they boot from it (tests/kmod/lib.sh), so
# that they test what DKMS builds. Then `make -C DESTDIR/kmod KVER=...
# KDIR=...` builds umfs.ko, as debian/umfs-dkms.dkms's MAKE does.
set -eu
[ $# -eq 2 ] || { echo "usage: kmod-source.sh SRCDIR DESTDIR" >&2; exit 2; }
src=$1 dest=$2
mkdir -p "$dest/kmod" "$dest/include"
cp -p "$src"/kmod/Kbuild "$src"/kmod/Makefile "$src"/kmod/*.c "$src"/kmod/*.h "$dest/kmod/"
cp -p "$src"/include/umfs_format.h "$src"/include/umfs_rules.h "$src"/include/umfs_ptwalk.h \
	"$src"/include/umfs_journal.h "$src"/include/umfs_ulog.h "$src"/include/umfs_grow.h \
	"$src"/include/umfs_kmod.h "$dest/include/"
