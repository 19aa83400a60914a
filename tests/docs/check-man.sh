#!/bin/sh
# check-man.sh BUILDDIR PAGE... - fails when a page makes man(1) or groff
# warn (bad macros, unknown escapes, lines that cannot be broken), or when
# something the build installs in bindir, sbindir or libdir has no page
# among those installed.
set -eu
build=$1
shift
command -v man >/dev/null || { echo "SKIP: man(1) is not installed (man-db)"; exit 77; }
command -v groff >/dev/null || { echo "SKIP: groff is not installed (groff-base)"; exit 77; }
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for page in "$@"; do
	# man: its own warnings and groff's, at the width a terminal has
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >/dev/null 2>"$out" ||
	   [ -s "$out" ]; then
		echo "FAIL: man --warnings $page:"; cat "$out"; fail=1
	fi
	if ! groff -ww -z -man "$page" 2>"$out" || [ -s "$out" ]; then
		echo "FAIL: groff -ww $page:"; cat "$out"; fail=1
	fi
	# the NAME line is what whatis(1) and apropos(1) index
	if ! lexgrog "$page" >"$out" 2>&1; then
		echo "FAIL: lexgrog $page:"; cat "$out"; fail=1
	fi
done

# Each installed program needs a page named after it in section 1 or 8,
# and the libraries need libumfs(7) and umfs(3).
installed=$(meson introspect "$build" --installed | python3 -c '
import json, sys
for dest in json.load(sys.stdin).values():
    print(dest)')
want=""
for dest in $installed; do
	case "$dest" in
	*/bin/*) want="$want $(basename "$dest").1" ;;
	*/sbin/*) want="$want $(basename "$dest").8" ;;
	*/libumfs.so) want="$want libumfs.7" ;;
	*/libumfs-api.so*) want="$want umfs.3" ;;
	esac
done
want=$(echo "$want" | tr ' ' '\n' | sort -u | tr '\n' ' ')
for page in $want; do
	if ! printf '%s\n' "$installed" | grep -q "/man/man${page##*.}/$page\$"; then
		echo "FAIL: no installed man page $page"; fail=1
	fi
done
[ $fail -eq 0 ] && echo "ok: $# pages clean; every installed program and library has its page: $want"
exit $fail
