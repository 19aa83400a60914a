#!/bin/bash
# run.sh SRCDIR BUILDDIR - installs UMFS the two ways README gives and runs
# it from the installed paths only.
#
# 1. `meson install --destdir`: every file lands where mount(8), mkfs(8),
#    fsck(8), man(1) and pkg-config look, and the staged umfs-run finds the
#    staged libumfs.so.
#    Under the default prefix, /usr/local, the staged tree is also tried in
#    the scratch root below, as `sudo make install` leaves it.
# 2. tools/make-deb.sh builds the packages and fails on lintian errors and
#    warnings; they are installed with apt into a scratch root: overlays of
#    this machine's /usr, /etc and /var (with an empty /usr/local and a
#    private /dev/shm) in a mount namespace of its own, so that nothing of
#    the build tree is reachable and nothing leaks out. in-root.sh runs the
#    tools there (see it for the steps).
#
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or no overlayfs,
# unshare or /dev/fuse; the packaging tools missing and not installable).
set -euo pipefail

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
here="$src/tests/install"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root: mounts and a chroot"
for tool in dpkg-buildpackage dh dh_dkms lintian dkms; do
	command -v "$tool" >/dev/null && continue
	sh "$src/tools/install-deps.sh" >/dev/null ||
		skip "$tool is missing and tools/install-deps.sh could not install it"
	command -v "$tool" >/dev/null || skip "$tool is missing"
done
command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
[ -c /dev/fuse ] || skip "no /dev/fuse: the FUSE mount cannot be tested"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	skip "no overlayfs for the scratch root"

work="$build/tests/install"
rm -rf "$work"
mkdir -p "$work"
t0=$(date +%s)
step() { echo "install-test: [$(($(date +%s) - t0))s] $*"; }

# 1. meson install into a staging directory.
step "meson install --destdir"
stage="$work/stage"
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null
opt() {
	meson introspect --buildoptions "$build" |
		python3 -c "import json, sys; print([o['value'] for o in json.load(sys.stdin) if o['name'] == '$1'][0])"
}
prefix=$(opt prefix)
sbin="$stage$prefix/$(opt sbindir)" bin="$stage$prefix/$(opt bindir)"
lib="$stage$prefix/$(opt libdir)" man="$stage$prefix/$(opt mandir)"
for f in "$sbin/mkfs.umfs" "$sbin/fsck.umfs" "$sbin/umfs-fuse" "$sbin/umfs" "$sbin/umfs-pool" "$bin/umfs-run" \
	 "$lib/libumfs.so" "$lib/libumfs-api.so.0" "$lib/libumfs-api.so" "$lib/pkgconfig/umfs.pc" \
	 "$stage$prefix/$(opt includedir)/umfs/umfs.h" "$man/man1/umfs-run.1" "$man/man3/umfs.3" \
	 "$man/man7/libumfs.7" "$man/man8/mkfs.umfs.8" "$man/man8/fsck.umfs.8" \
	 "$man/man8/umfs-fuse.8" "$man/man8/umfs.8" "$man/man8/umfs-pool.8"; do
	[ -e "$f" ] || fail "meson install did not install ${f#"$stage"}"
done
# each installed header compiles alone, as a program includes it
# (the include path umfs.pc gives: the headers' own directory)
grep -q '^Cflags: -I${includedir}/umfs$' "$lib/pkgconfig/umfs.pc" || fail "umfs.pc: Cflags do not name includedir/umfs"
for h in umfs.h umfs_format.h; do
	printf '#include <%s>\nint main(void) { return 0; }\n' "$h" |
		cc -x c -std=gnu11 -Wall -Werror -fsyntax-only -I"$stage$prefix/$(opt includedir)/umfs" - ||
		fail "the installed $h does not compile"
done
for h in umfs.h umfs_format.h umfs_rules.h; do
	[ ! -e "$stage$prefix/$(opt includedir)/$h" ] || fail "$h installed straight into includedir"
done
[ "$(readlink "$sbin/umfs")" = umfs-fuse ] || fail "$prefix/sbin/umfs does not point to umfs-fuse"
grep -q "^libdir=\${prefix}/$(opt libdir)\$" "$lib/pkgconfig/umfs.pc" || fail "umfs.pc: wrong libdir"
# the staged umfs-run, away from the build tree, must load the staged library
pool=/dev/shm/umfs-install-$$.pool
trap 'rm -f "$pool"' EXIT
"$sbin/mkfs.umfs" -q -s 16M "$pool"
got=$(env -u UMFS_LIB "$bin/umfs-run" --pool "$pool" -- sh -c 'echo "$LD_PRELOAD"')
[ "$got" = "$lib/libumfs.so" ] || fail "staged umfs-run preloads '$got', not $lib/libumfs.so"
rm -f "$pool"
# what `sudo make install` puts in /usr/local, for in-root.sh to try there
local_tar=""
if [ "$prefix" = /usr/local ]; then
	local_tar="$work/local.tar"
	tar -C "$stage" -cf "$local_tar" usr/local
fi
# `make uninstall` takes back every file the install put there, and only those
step "make uninstall"
echo mine >"$stage$prefix/not-umfs"
make -C "$src" -s uninstall BUILDDIR="$build" >/dev/null
left=$(find "$stage" -type f -o -type l)
[ "$left" = "$stage$prefix/not-umfs" ] || fail "make uninstall left or removed: $left"

# 2. the packages
step "make-deb.sh (dpkg-buildpackage, lintian)"
# what is tested is the packaging, not the compiler: no optimisation and no
# debug symbol packages keep the build short on a busy machine
DEB_BUILD_OPTIONS="noopt noautodbgsym nocheck" \
	"$src/tools/make-deb.sh" "$work/deb" >"$work/make-deb.log" 2>&1 || {
	tail -40 "$work/make-deb.log"; fail "make-deb.sh failed (log: $work/make-deb.log)"; }
grep -E '^[EWI]: ' "$work/make-deb.log" || true
version=$(meson introspect --projectinfo "$build" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
debs=""
for p in umfs-tools libumfs0 libumfs-dev; do
	f="$work/deb/${p}_${version}_amd64.deb"
	[ -f "$f" ] || fail "no package $f"
	debs="$debs $f"
done
f="$work/deb/umfs-dkms_${version}_all.deb"
[ -f "$f" ] || fail "no package $f"
debs="$debs $f"

step "scratch root: apt install of the packages, the tools from there"
UMFS_VERSION=$version unshare -m --propagation private \
	bash "$here/make-root.sh" "$work/root" "$here/in-root.sh" "$src/README.md" $debs $local_tar
step "passed"
