#!/bin/sh
# install-bench-deps.sh - the Debian packages only the benchmarks need, on top
# of tools/install-deps.sh (which brings fio, e2fsprogs, fuse3, python3).
# Installs only what is missing; safe to run again; never prompts.
set -eu

PACKAGES="gnuplot-nox postmark dbench linux-perf valgrind e2fsprogs util-linux fio python3"

missing=""
for pkg in $PACKAGES; do
	if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing="$missing $pkg"
	fi
done

if [ -z "$missing" ]; then
	echo "install-bench-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-bench-deps: missing packages:$missing; not root and no sudo" >&2
	exit 1
fi

echo "install-bench-deps: installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
