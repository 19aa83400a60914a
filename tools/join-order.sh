#!/bin/bash
# SPDX-License-Identifier: MIT
# join-order.sh - writes libumfs/join.ld, the linker script that places the
# code a short preloaded process runs side by side in libumfs.so.
#
#   tools/join-order.sh [--build DIR] [--check]
#
# Every page of the library's code that a process touches costs it a page
# fault (the kernel maps 64 KiB of cached file pages around each), and a
# process that joins UMFS runs a few hundred of the library's functions
# spread over all of its text. With each function in a section of its own
# (-ffunction-sections), join.ld puts the ones that the programs below
# run, under valgrind's callgrind, first in .text.
#
# --check writes nothing: it fails, naming them, when the programs run a
# function that join.ld does not place, when the library has more than
# one .text or executable read-only data, and when its .bss (the small
# variables, written as a process joins) reaches more than one page past
# .data's last (the meson test shim-join-order). Exit 77 (skip) without
# valgrind.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build check=0
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--check) check=1; shift ;;
	*) echo "usage: $0 [--build DIR] [--check]" >&2; exit 2 ;;
	esac
done
[ -d "$build" ] || { echo "join-order: no build directory $build" >&2; exit 1; }
build=$(cd "$build" && pwd)
lib=$build/libumfs/libumfs.so
script=$src/libumfs/join.ld
command -v valgrind >/dev/null || { echo "join-order: valgrind is missing" >&2; exit 77; }
[ -f "$lib" ] || { echo "join-order: no $lib (build first)" >&2; exit 1; }

export PMEM_IS_PMEM_FORCE=1 UMFS_KMOD=0 LC_ALL=C
unset LD_PRELOAD UMFS_POOL UMFS_MOUNT UMFS_LOG UMFS_STATS
work=$(mktemp -d "${TMPDIR:-/tmp}/umfs-join-order.XXXXXX")
# the pools' runtime directories outlive their users (sharing.md)
trap '"$here"/../tests/pool/forget_rundirs.sh "$work"; rm -rf "$work"' EXIT
# Root runs the programs as itself, then as another user (a user's first
# join takes other paths: its own runtime directory, no capabilities), in
# a directory of that user's, with a pool of its own.
who=() users="$work/me"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$work"
	mkdir "$work/other"
	chown 65534:65534 "$work/other"
	users="$users $work/other"
fi
mkdir -p "$work/me"
for dir in $users; do
	[ "$dir" = "$work/other" ] && who=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${who[@]}" "$build/mkfs/mkfs.umfs" -q -s 64M "$dir/pool"
	"${who[@]}" env UMFS_LIB="$lib" "$build/tools/umfs-run" --pool "$dir/pool" --mount /umfs -- \
		sh -c 'printf abc >/umfs/f && mkdir /umfs/d && printf xyz >/umfs/d/g'
	"${who[@]}" sh -c 'printf abc >"$1/plain"' sh "$dir"
done

# A shell script's usual commands, each once: carried (no UMFS path), then
# joined, reading, writing, listing, naming. Each writes its own profile.
n=0
# callgrind OUT [OPTION...] -- CMD...: CMD preloaded under callgrind (the
# options go to valgrind), its profile in OUT. Its output goes through a
# pipe, as a pipeline's or a command substitution's does: into a file cat
# would copy (copy_file_range) rather than write.
callgrind() {
	local out=$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	n=$((n + 1))
	"${who[@]}" env UMFS_POOL="$dir/pool" UMFS_MOUNT=/umfs LD_PRELOAD="$lib" \
		valgrind -q --tool=callgrind "${opts[@]}" --callgrind-out-file="$out" "$@" \
		2>"$dir/err.$n" </dev/null | cat >"$dir/out.$n" ||
		{ cat "$dir/err.$n" >&2; echo "join-order: $* failed under valgrind" >&2; exit 1; }
}
profile() {
	callgrind "$dir/cg.$((n + 1))" -- "$@"
	profiles="$profiles $dir/cg.$n"
}
# A preloaded shell's children on their way to exec: each execs a program
# that is not there, so that it exits under valgrind (which makes every
# vfork a fork). profile_child FN SCRIPT takes the profiles of the
# processes that ran FN, with costs from there on. Their functions come
# after a carried and a joined cat's: a vfork child faults pages of its
# parent's memory, once for all of a shell's children, while every joined
# process faults its own (a fork child does too, and is the rarer).
profile_child() {
	local f found=
	callgrind "$dir/cg.$((n + 1)).%p" --zero-before="$1" -- sh -c "$2"
	# callgrind names a function where it first writes it, as a caller
	# (fn=) or a callee (cfn=), in an order that moves with addresses
	for f in $(grep -lE "^c?fn=\([0-9]+\) $1\$" "$dir"/cg.$n.* || true); do
		profiles="$profiles $f" found=1
	done
	[ -n "$found" ] || { cat "$dir/err.$n" >&2; echo "join-order: no $1 profiled" >&2; exit 1; }
}
profiles="" who=() dir=$work/me
profile cat "$dir/plain"
profile true
profile cat /umfs/f
# a shell keeps its vforks (the child and the parent from the vfork on),
# joined or not; a child that redirects into the pool forks
profile_child vfork "$work/none/umfs-join-order 2>/dev/null; :"
profile_child vfork "cd /umfs && $work/none/umfs-join-order 2>/dev/null; :"
profile_child shim_fork_child "cd /umfs && $work/none/umfs-join-order >/umfs/jo 2>/dev/null; :"
profile cp /umfs/f "$dir/copy"
profile cp /umfs/f /umfs/f2
profile ls -l /umfs /umfs/d
profile stat /umfs/f
profile head -c 2 /umfs/d/g
profile sh -c 'echo x >/umfs/h; echo y >>/umfs/h; read -r l </umfs/h'
profile touch /umfs/t
profile mkdir /umfs/e
profile mv /umfs/f2 /umfs/e/f3
profile rm -r /umfs/e /umfs/t
profile find /umfs -type f
if [ "$users" != "$work/me" ]; then
	who=(setpriv --reuid=65534 --regid=65534 --clear-groups) dir=$work/other
	profile cat "$dir/plain"
	profile cat /umfs/f
	profile sh -c 'echo x >/umfs/h; ls /umfs >/dev/null; rm /umfs/h'
fi

# The library's functions the profiles ran (valgrind names those it knows;
# the probe's code, crt's and libc_nonshared's go in by file below).
# shellcheck disable=SC2086 # one argument per profile
python3 - "$lib" $profiles >"$work/ran" <<'EOF'
import re, sys
lib = sys.argv[1]
order = []  # by the first profile that ran them: the commonest first
for path in sys.argv[2:]:
    names = set()
    objs, fns, cur = {}, {}, None
    for line in open(path, errors='replace'):
        m = re.match(r'^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$', line.rstrip('\n'))
        if not m:
            continue
        kind, ident, name = m.groups()
        table = objs if kind.endswith('ob') else fns
        if name is not None:
            table[ident] = name
        if kind == 'ob':
            cur = objs.get(ident)
        elif kind == 'fn' and cur == lib:
            name = fns[ident]
            if not name.startswith('0x'):
                names.add(name.split("'")[0])
    seen = set(order)
    order += sorted(names - seen)
for n in order:
    print(n)
EOF
[ -s "$work/ran" ] || { echo "join-order: no function of $lib ran (not preloaded?)" >&2; exit 1; }

if [ $check -eq 1 ]; then
	# the layout the script keeps: one .text, .rodata in a segment of its own
	readelf -lSW "$lib" | python3 -c '
import re, sys
out = sys.stdin.read()
texts = re.findall(r"\] \.text\s", out)
heads = [l.split() for l in out.split("Program Headers:")[1].splitlines() if re.match(r"^\s+[A-Z_]+\s+0x", l)]
maps = re.findall(r"^\s+(\d\d)\s+(.*)$", out.split("Section to Segment mapping")[1], re.M)
ro = [heads[int(i)] for i, secs in maps if ".rodata" in secs.split() and int(i) < len(heads)]
if len(texts) != 1 or len(ro) != 1 or "E" in ro[0][6:-1]:
    sys.exit("join-order: FAIL: %s must have one .text and .rodata in a segment that is not executable" % sys.argv[1])
sec = {m[0]: (int(m[1], 16), int(m[2], 16))
       for m in re.findall(r"\] (\.data|\.bss)\s+\w+\s+([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+)", out)}
if ".data" in sec and ".bss" in sec:
    data_last = (sum(sec[".data"]) - 1) // 4096
    bss_last = (sum(sec[".bss"]) - 1) // 4096
    if bss_last > data_last + 1:
        sys.exit("join-order: FAIL: %s: .bss (%d bytes) reaches %d pages past .data: each is a fault "
                 "for a process that writes a variable there; move large or rarely used ones to "
                 "UMFS_BSS_LARGE" % (sys.argv[1], sec[".bss"][1], bss_last - data_last))
' "$lib" || exit 1
	missing=$(sed -n 's/^    \*(\.text\.\([^ ]*\) .*/\1/p' "$script" | sort | comm -23 <(sort "$work/ran") -)
	if [ -n "$missing" ]; then
		echo "join-order: FAIL: a short process runs functions that libumfs/join.ld does not place:" >&2
		echo "$missing" | sed 's/^/  /' >&2
		echo "join-order: run tools/join-order.sh to write it again" >&2
		exit 1
	fi
	echo "join-order: the $(wc -l <"$work/ran") functions $n short processes run are all placed"
	exit 0
fi

{
	cat <<'EOF'
/* libumfs/join.ld: written by tools/join-order.sh, do not edit. The
 * functions of libumfs.so that short preloaded processes run (carried,
 * joined, reading, writing, listing) first in .text, so that they share
 * a few pages: each page of code a process touches is a fault. The
 * commonest come first: a carried process's, a joined cat's, then a
 * preloaded shell's fork child's on its way to exec.
 * crc32c's and the flushes' code goes whole (valgrind's CPU takes other
 * paths than the machine's); so do the probe's and what crt and
 * libc_nonshared add. .fini, which every process runs as it exits, moves
 * from after .text to before it. In .rodata the names given to dlsym
 * and getenv (the merged strings), the merged constants, and crc32c's
 * and strjoin.c's tables come first. These .fini, .text and .rodata take
 * every input section of their kind, so that the default ones are left
 * empty and dropped: debuggers and valgrind expect one .text. */
SECTIONS
{
  .fini :
  {
    KEEP (*(SORT_NONE(.fini)))
  }
  .text :
  {
    *crtbeginS.o(.text .text.*)
    *libc_nonshared.a:*(.text .text.*)
    *crc32c.c.o(.text .text.*)
    *cpuflush_isa.c.o(.text .text.*)
    *(.text.shim_probe)
EOF
	# constructors are compiled into .text.startup.*, destructors into
	# .text.exit.*
	sed 's/.*/    *(.text.& .text.startup.& .text.exit.&)/' "$work/ran"
	cat <<'EOF'
    *(.text.unlikely .text.unlikely.*)
    *(.text .text.*)
  }
}
INSERT BEFORE .text;
SECTIONS
{
  /* a page of its own, as the default script's separate-code layout
     keeps it: read-only data is not executable */
  . = ALIGN(CONSTANT (MAXPAGESIZE));
  .rodata :
  {
    *(.rodata.str1.1)
    *(.rodata.str1.8)
    *(.rodata.cst*)
    *crc32c.c.o(.rodata .rodata.*)
    *strjoin.c.o(.rodata .rodata.*)
    *(.rodata .rodata.*)
  }
}
INSERT BEFORE .rodata;
EOF
} >"$script.tmp"
mv "$script.tmp" "$script"
echo "join-order: $(wc -l <"$work/ran") functions from $n processes in $script"
