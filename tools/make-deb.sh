#!/bin/sh
# make-deb.sh OUTDIR - builds UMFS's Debian packages (debian/) and checks
# them with lintian. dpkg-buildpackage writes beside the tree it builds, so
# it builds a copy of this tree made in OUTDIR/umfs-VERSION; the .deb,
# .changes and .buildinfo files are left in OUTDIR.
#
# Exit status: 0 built and lintian-clean (errors and warnings; what remains
# is explained in debian/README.source and debian/*.lintian-overrides),
# non-zero otherwise.
set -eu

[ $# -eq 1 ] || { echo "usage: make-deb.sh OUTDIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(meson introspect --projectinfo "$src/meson.build" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
tree="$out/umfs-$version"

rm -rf "$tree"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$tree"
# The files of the source tree without build directories: those git knows,
# or, outside a git checkout, all but build output.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$tree" -xf -
else
	set -- --exclude=./.git --exclude=./results --exclude="./obj-*"
	for d in $(cd "$src" && find . -maxdepth 2 -name meson-private -printf '%h\n'); do
		set -- "$@" --exclude="$d"
	done
	tar -C "$src" "$@" -cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian/.debhelper"

echo "make-deb: building umfs $version in $tree"
(cd "$tree" && nice dpkg-buildpackage -b -us -uc -j"$(nproc)")
rm -rf "$tree"

changes="$out/umfs_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes"
echo "make-deb: lintian $changes"
lintian --fail-on error,warning --display-info "$changes"
echo "make-deb: packages in $out:"
ls -l "$out"/*.deb
