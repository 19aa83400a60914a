#!/bin/bash
# SPDX-License-Identifier: MIT
# build.sh - multi-build: a small C project written here (a dozen .c files,
# a Makefile) built with make -j2 inside /umfs under the library, and the
# same on tmpfs: same commands, same objects, same program output, the
# same incremental rebuild after a touch; then git (init, add, commit,
# branch, log, status, gc, fsck), which forks many children, on both:
# same commit and tree hashes, git fsck clean. Then fsck.umfs.
. "$(dirname "$0")/lib.sh"

# run by `make test`, the outer make's MAKEFLAGS/MAKELEVEL would make the
# inner one print "Entering directory" lines with the (different) paths
unset MAKEFLAGS MAKELEVEL MFLAGS
for p in make cc git; do
	command -v $p >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
if [ "$FULL" = 1 ]; then nfiles=60; else nfiles=12; fi
make_pool 256M

# gen DIR: the project
gen() {
	local d=$1 i
	mkdir -p "$d/src"
	{
		echo '#include <stdio.h>'
		echo '#include "parts.h"'
		echo 'int main(void) {'
		echo '	unsigned long v = 1;'
		for i in $(seq 1 "$nfiles"); do echo "	v = part$i(v); printf(\"part$i %lu\\n\", v);"; done
		echo '	return 0;'
		echo '}'
	} >"$d/src/main.c"
	for i in $(seq 1 "$nfiles"); do
		echo "unsigned long part$i(unsigned long v);"
		cat >"$d/src/part$i.c" <<C
#include "parts.h"
/* part $i: a few rounds of a multiplicative hash */
unsigned long part$i(unsigned long v)
{
	for (int k = 0; k < $((i * 7 + 3)); k++)
		v = (v ^ (v >> 17)) * 0x9E3779B97F4A7C15ul + $i;
	return v;
}
C
	done >"$d/src/parts.h"
	cat >"$d/Makefile" <<'M'
SRCS := $(sort $(wildcard src/*.c))
OBJS := $(SRCS:src/%.c=obj/%.o)
CFLAGS := -O2 -Wall
prog: $(OBJS)
	$(CC) -o $@ $(OBJS)
obj/%.o: src/%.c src/parts.h | obj
	$(CC) $(CFLAGS) -c -o $@ $<
obj:
	mkdir -p obj
clean:
	rm -rf obj prog
M
}

# build DIR: what make says (sorted: -j2 interleaves), the program's
# output, the objects' sums, an incremental rebuild
build_script='
set -e
cd "$1"
make -j2 2>&1 | sort
./prog
sha256sum obj/*.o
touch src/part3.c
sleep 0.01
make -j2 2>&1 | sort
make -j2 2>&1
./prog | tail -1
make clean >/dev/null && make -j2 >/dev/null 2>&1 && ./prog | md5sum
'
ref=$work/ref
gen "$ref/proj"
bash -c "$build_script" build "$ref/proj" >"$work/build.ref" 2>&1 || fail "the build on tmpfs failed"
shim_sh "$(declare -f gen); nfiles=$nfiles; gen /umfs/proj" || fail "writing the project into /umfs"
shim bash -c "$build_script" build /umfs/proj >"$work/build.umfs" 2>&1 || fail "the build in /umfs failed"
if cmp -s "$work/build.ref" "$work/build.umfs"; then
	pass "make -j2: $nfiles files, same commands, objects, output and rebuild as on tmpfs"
else
	fail "make -j2 in /umfs differs from tmpfs"
	diff "$work/build.ref" "$work/build.umfs" | head -20
fi

# git: fixed identities and dates, so the hashes must match tmpfs's
git_script='
set -e
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e
export GIT_AUTHOR_DATE="2020-01-01T00:00:00Z" GIT_COMMITTER_DATE="2020-01-01T00:00:00Z"
export GIT_CONFIG_NOSYSTEM=1 HOME=$2
cd "$1"
git init -q -b main .
git add src Makefile
git commit -q -m "first"
for i in 1 2 3 4 5; do echo "/* edit $i */" >>src/part$i.c; git commit -q -am "edit $i"; done
git checkout -q -b side
git mv src/part1.c src/part1b.c
git rm -q src/part2.c
git commit -q -m "rename and remove"
git checkout -q main
echo junk >untracked
git status --porcelain
git log --oneline --all --graph
git rev-parse HEAD "HEAD^{tree}" side "side^{tree}"
git gc -q --aggressive
git count-objects -v | grep -E "^(count|in-pack|packs)"
git fsck --full --strict 2>&1
git log --stat side | md5sum
git diff main side --stat
'
mkdir -p "$work/home-ref"
bash -c "$git_script" git "$ref/proj" "$work/home-ref" >"$work/git.ref" 2>&1 || { fail "git on tmpfs failed"; tail -5 "$work/git.ref"; }
shim bash -c "$git_script" git /umfs/proj "$work/home-ref" >"$work/git.umfs" 2>&1 || fail "git in /umfs failed"
if cmp -s "$work/git.ref" "$work/git.umfs"; then
	pass "git init/add/commit/branch/mv/status/log/gc/fsck: same hashes and output as on tmpfs"
else
	fail "git in /umfs differs from tmpfs"
	diff "$work/git.ref" "$work/git.umfs" | head -20
fi
check_fsck
finish
