#!/usr/bin/env bash
# exports.sh - libumfs.so exports exactly the intercepted calls: the
# SHIM_API functions of libumfs/shim/*.c with their 64-bit twins
# (twins64.list), the list in libumfs.map, and the dynamic symbol table
# agree; each twin is its plain function; nothing of the core leaks out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${SRCDIR:-$here/../..}/libumfs/shim
: "${SHIM_LIB:=${BUILDDIR:-$here/../../build}/libumfs/libumfs.so}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the SHIM_API functions and their 64-bit twins (aliases made at the link)
{
	grep -ho "^SHIM_API [^(]*(" "$src"/*.c | sed -E 's/^SHIM_API .*[ *]([A-Za-z_0-9]+)\($/\1/'
	sed -n 's/^\([A-Za-z_0-9]*\) [A-Za-z_0-9]*$/\1/p' "$src/twins64.list"
} | sort -u >"$tmp/api"
sed -n 's/^    \([A-Za-z_0-9]*\);$/\1/p' "$src/libumfs.map" | sort -u >"$tmp/map"
nm -D --defined-only "$SHIM_LIB" | awk '{print $3}' | sort -u >"$tmp/dyn"
rc=0
diff -u "$tmp/api" "$tmp/map" || { echo "FAIL SHIM_API functions and libumfs.map differ"; rc=1; }
diff -u "$tmp/map" "$tmp/dyn" || { echo "FAIL libumfs.map and the exports differ"; rc=1; }
if grep -q '^umfs_' "$tmp/dyn"; then
	echo "FAIL core symbols exported"
	rc=1
fi
# the names glibc-2.36 programs link must all be there
for s in open open64 openat openat64 __open_2 __open64_2 read write pread64 pwrite64 lseek64 \
	fstat fstat64 stat stat64 lstat64 fstatat64 statx __xstat __fxstat64 fcntl fcntl64 \
	fopen fopen64 opendir readdir readdir64 mmap mmap64 preadv64v2 pwritev64v2 \
	ftruncate64 fallocate64 posix_fadvise64 copy_file_range getdents64 execve posix_spawn; do
	grep -qx "$s" "$tmp/dyn" || { echo "FAIL $s not exported"; rc=1; }
done
# each twin is its plain function: the same address
nm -D --defined-only "$SHIM_LIB" | awk '{print $3, $1}' | sort >"$tmp/addr"
while read -r twin plain; do
	case $twin in '#'*|'') continue ;; esac
	a=$(awk -v n="$twin" '$1 == n {print $2}' "$tmp/addr")
	b=$(awk -v n="$plain" '$1 == n {print $2}' "$tmp/addr")
	[ -n "$a" ] && [ "$a" = "$b" ] || { echo "FAIL $twin is not $plain ($a, $b)"; rc=1; }
done <"$src/twins64.list"
[ "$rc" -eq 0 ] && echo "ok   $(wc -l <"$tmp/dyn") exports, all intercepted calls"
exit $rc
