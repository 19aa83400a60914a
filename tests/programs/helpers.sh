# SPDX-License-Identifier: MIT
# helpers.sh - sourced by every program test of run_programs.sh, in the
# shell that runs under test (so that, in shim mode, these commands run
# under the LD_PRELOAD library too). Everything printed must be the same on
# tmpfs and on UMFS: relative names, no inode numbers, no times of day,
# no directory sizes (they are the file system's own business).
#
# The environment: D (this test's directory, the working directory), K (a
# scratch directory outside the system under test), STAGE (a tree to copy
# from, outside it too), SABOTAGE (set on the side under test by the
# self-test: sums then changes a file first).

export LC_ALL=C TZ=UTC

# listing DIR: every entry under DIR, sorted by name: type, mode, links,
# size (not for directories) and the target of symbolic links.
listing() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p %y %m %n\n' \) -o \
		\( -type l -printf '%p %y %m %n %s -> %l\n' \) -o -printf '%p %y %m %n %s\n' | sort)
}

# listing_t DIR: the same with the modification times, for copies that
# keep them (cp -a, tar, rsync -a).
listing_t() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p %y %m %n %T@\n' \) -o \
		\( -type l -printf '%p %y %m %n %s %T@ -> %l\n' \) -o -printf '%p %y %m %n %s %T@\n' | sort)
}

# sums DIR: the SHA-256 of every regular file under DIR.
sums() {
	if [ -n "${SABOTAGE:-}" ]; then
		local f
		f=$(cd "$1" && find . -type f | sort | sed -n 1p)
		[ -n "$f" ] && printf 'x' >>"$1/$f"
	fi
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# size FILE...: name and size of each file.
size() {
	stat -c '%n %s' "$@"
}

# say WORDS: a marker in the transcript, so that a difference is easy to place.
say() {
	echo "== $*"
}
