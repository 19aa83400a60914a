#!/usr/bin/env bash
# check-os-calls.sh STAMP MAP OS_H CORE_LIB SHIM_LIB - fails the build when
# a kernel call of the core could reach the shim's interposers:
#  - no object of the core (CORE_LIB, a static library) names a function
#    libumfs.so intercepts (MAP, the version script) or one of the core's
#    table (OS_H, OS_CALLS): the core calls them only as OS(fn);
#  - the only libpmem functions the core imports are pure CPU work
#    (flushes, fences, copies, the is-pmem answer): pmem_map_file,
#    pmem_msync and the like make kernel calls of their own;
#  - libumfs.so imports no libpmem at all, and needs no library but the C
#    library's own: every preloaded process loads it (core/cpuflush.h);
#  - libumfs.so has no dynamic relocation against an intercepted name: its
#    own calls bind inside it (-Bsymbolic-functions);
#  - libumfs.so reaches its thread-local variables without __tls_get_addr
#    (the initial-exec model, libumfs/meson.build);
#  - neither holds the test hooks (core/testhooks.c): they belong to the
#    test variant of the core only.
set -eu
stamp=$1 map=$2 os_h=$3 core=$4 shim=$5
pure='pmem_flush pmem_drain pmem_persist pmem_memcpy_nodrain pmem_memset_nodrain pmem_is_pmem'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

sed -n 's/^    \([A-Za-z_0-9]*\);$/\1/p' "$map" | sort -u >"$tmp/intercepted"
# X(name, "sym"), X(name, OS_LFS(plain, lfs)) or K(name): every name and symbol
sed -n -e 's/^[[:space:]]*X(\([a-z_0-9]*\), *\(.*\)).*/\1 \2/p' \
	-e 's/^[[:space:]]*K(\([a-z_0-9]*\)).*/\1/p' "$os_h" |
	tr -c 'A-Za-z_0-9\n' ' ' | tr ' ' '\n' | grep -v -e '^$' -e '^OS_LFS$' >"$tmp/table"
[ -s "$tmp/table" ] || { echo "FAIL no OS_CALLS entries found in $os_h" >&2; exit 1; }
sort -u "$tmp/intercepted" "$tmp/table" >"$tmp/forbidden"

# nm on an archive: "member.o:" lines, then "U sym" lines
nm -u "$core" | awk '/:$/ { obj = substr($0, 1, length($0) - 1); next }
	NF == 2 && $1 == "U" { print obj, $2 }' >"$tmp/core-undef"
awk 'NR == FNR { bad[$1] = 1; next } ($2 in bad) { print }' "$tmp/forbidden" "$tmp/core-undef" \
	>"$tmp/direct"
if [ -s "$tmp/direct" ]; then
	echo "FAIL the core calls these directly; call them as OS(fn) (libumfs/core/os.h):" >&2
	sed 's/^/  /' "$tmp/direct" >&2
	rc=1
fi

for lib in "$core" "$shim"; do
	nm -u "$lib" 2>/dev/null | awk '{ sub(/@.*/, "", $NF); print $NF }' | grep '^pmem_' |
		sort -u | while read -r f; do
		case " $pure " in
		*" $f "*) ;;
		*) echo "FAIL $(basename "$lib") imports $f, which makes kernel calls of its own" >&2
		   echo x >>"$tmp/pmem" ;;
		esac
	done
done
[ -e "$tmp/pmem" ] && rc=1

objdump -p "$shim" | awk '$1 == "NEEDED" { print $2 }' |
	grep -vE '^(libc|libm|libdl|libpthread|librt|ld-linux-x86-64)\.so' >"$tmp/needed" || true
if [ -s "$tmp/needed" ]; then
	echo "FAIL $(basename "$shim") needs libraries every preloaded process would load:" >&2
	sed 's/^/  /' "$tmp/needed" >&2
	rc=1
fi

objdump -R "$shim" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u |
	grep -xFf "$tmp/intercepted" >"$tmp/relocs" || true
if [ -s "$tmp/relocs" ]; then
	echo "FAIL $(basename "$shim") relocates intercepted names (calls that leave the library):" >&2
	sed 's/^/  /' "$tmp/relocs" >&2
	rc=1
fi

if nm -D "$shim" | grep -q '__tls_get_addr'; then
	echo "FAIL $(basename "$shim") calls __tls_get_addr: build its objects with -ftls-model=initial-exec" >&2
	rc=1
fi

for lib in "$core" "$shim"; do
	if nm "$lib" 2>/dev/null | grep -qwE 'umfs_persist_hook|umfs_fault'; then
		echo "FAIL $(basename "$lib") holds the test hooks (core/testhooks.c)" >&2
		rc=1
	fi
done

[ "$rc" -eq 0 ] && : >"$stamp"
exit $rc
