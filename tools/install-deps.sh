#!/bin/sh
# install-deps.sh - installs the Debian packages UMFS needs to build, test and
# run its demo, and only those that are missing. Safe to run again: when all
# are present it changes nothing and needs no network.
#
# Works as root or through sudo; never prompts (CI has no stdin).
#
#   install-deps.sh            the project's packages
#   install-deps.sh PKG...     these instead (bench/install-bench-deps.sh)
set -eu

# man-db to kmod: the man-page check (suite 'docs'), `make deb` and the
# install test (suite 'install'); liburing-dev: libumfs.so reads liburing's
# rings; libaio-dev: the asynchronous I/O exerciser (suite 'aio');
# libc6-i386: the 32-bit ld.so a 32-bit test program names, busybox-static:
# the static program the kernel fallback serves (suite 'shim'); valgrind:
# what short processes run of libumfs.so (tools/join-order.sh);
# libpython3.11-testsuite: CPython's own tests, run on UMFS (cpython-shim);
# stress-ng: its file-system stressors, run on UMFS (stressng-shim)
PACKAGES="build-essential meson ninja-build pkg-config libpmem-dev libfuse3-dev fuse3
libcmocka-dev libblkid-dev fio clang libclang-rt-14-dev libc6-i386 busybox-static e2fsprogs strace valgrind
sqlite3 git rsync python3 libpython3.11-testsuite stress-ng gzip tar util-linux libaio-dev liburing-dev
man-db groff-base dpkg-dev debhelper dh-dkms dkms lintian kmod"
[ $# -gt 0 ] && PACKAGES="$*"

missing=""
for pkg in $PACKAGES; do
	# dpkg -s also knows removed-but-configured packages: check the status line
	if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing="$missing $pkg"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: not root and sudo is not available; install them as root" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
