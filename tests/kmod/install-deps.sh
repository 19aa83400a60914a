#!/bin/bash
# install-deps.sh - installs what the qemu tests need: qemu, Debian's 6.1
# kernel image and headers (the module is built against them; the host's own
# kernel is irrelevant), busybox-static and ndctl for the initramfs.
# Idempotent and quiet: apt-get runs only when a package is missing, and
# waits for the dpkg lock (other jobs may be installing at the same time).
set -euo pipefail

PACKAGES="qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static ndctl
make gcc cpio gzip xz-utils kmod"

missing=""
for pkg in $PACKAGES; do
	if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing="$missing $pkg"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo -n)
else
	echo "kmod/install-deps: missing:$missing; not root and no sudo" >&2
	exit 1
fi

log=$(mktemp /tmp/umfs-kmod-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
echo "kmod/install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # the list is meant to split into words
if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q &&
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "kmod/install-deps: apt-get failed" >&2
	exit 1
fi
