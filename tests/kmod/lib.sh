# shellcheck shell=bash
# lib.sh - helpers shared by the qemu test scripts (sourced, not run).

die() {
	echo "kmod-test: $*" >&2
	exit 1
}

# Exit with meson's "skipped" status and the reason.
skip() {
	echo "kmod-test: SKIP: $*" >&2
	exit 77
}

# The kernel the guest boots: Debian's 6.1 (linux-image-amd64), never the
# host's own (uname -r); the newest 6.1 that has an image and modules.
guest_kver() {
	local v best=""
	for v in /lib/modules/6.1.*; do
		v=${v##*/}
		[ -f "/boot/vmlinuz-$v" ] && [ -f "/lib/modules/$v/modules.dep" ] || continue
		best=$v
	done
	[ -n "$best" ] && echo "$best"
}

# Prints the module files (relative to MODDIR) that NAMES need, each after
# its dependencies, each once. Names use '_' or '-' as the kernel does.
load_order() {
	local moddir=$1
	shift
	awk -v want="$*" '
	function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.(xz|zst|gz))?$/, "", p); gsub(/-/, "_", p); return p }
	function visit(m,   n, i, parts) {
		if (m in done) return
		done[m] = 1
		n = split(deps[m], parts, " ")
		for (i = n; i >= 1; i--) visit(parts[i])
		print m
	}
	{
		m = $1; sub(/:$/, "", m)
		path[base(m)] = m
		$1 = ""
		deps[m] = $0
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			k = w[i]; gsub(/-/, "_", k)
			if (!(k in path)) { print "no module " w[i] > "/dev/stderr"; exit 1 }
			visit(path[k])
		}
	}' "$moddir/modules.dep"
}

# Which accelerator to use: KVM only when a tiny boot under it really gets
# as far as the kernel's first messages (here /dev/kvm exists but a guest
# under it never runs); TCG otherwise. UMFS_QEMU_ACCEL=tcg|kvm overrides.
# The verdict is cached per host kernel in CACHE (a file), if given.
pick_accel() {
	local kver=$1 cache=${2:-} out key
	if [ -n "${UMFS_QEMU_ACCEL:-}" ]; then
		echo "$UMFS_QEMU_ACCEL"
		return
	fi
	key="$(uname -r) $(stat -c %i /dev/kvm 2>/dev/null || echo none)"
	if [ -n "$cache" ] && [ -f "$cache" ] && [ "$(head -n 1 "$cache")" = "$key" ]; then
		tail -n 1 "$cache"
		return
	fi
	local verdict=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		out=$(mktemp /tmp/umfs-kvm-probe.XXXXXX)
		# no initrd: the kernel panics quickly after printing; -no-reboot ends qemu
		timeout -k 2 10 qemu-system-x86_64 -accel kvm -cpu host -machine pc -m 128 \
			-display none -monitor none -serial stdio -no-reboot \
			-kernel "/boot/vmlinuz-$kver" -append "console=ttyS0 panic=-1" \
			</dev/null >"$out" 2>&1 || true
		grep -q 'Linux version' "$out" && verdict=kvm
		rm -f "$out"
	fi
	[ -n "$cache" ] && printf '%s\n%s\n' "$key" "$verdict" >"$cache"
	echo "$verdict"
}

# Fills the array QEMU with the command line that boots KVER with INITRD,
# the pool on the first NVDIMM (backing file POOL) and, if DAXPOOL is not
# empty, a second NVDIMM for ext4 -o dax. APPEND is added to the kernel
# command line.
# shellcheck disable=SC2054 # the commas belong to qemu's options
qemu_cmdline() {
	local kver=$1 initrd=$2 accel=$3 smp=$4 pool=$5 daxpool=$6 append=$7
	local psize dsize
	psize=$(stat -c %s "$pool")
	QEMU=(qemu-system-x86_64 -nodefaults -display none -monitor none -serial stdio
		-no-reboot -smp "$smp" -m 4G,slots=2,maxmem=16G)
	if [ "$accel" = kvm ]; then
		QEMU+=(-accel kvm -cpu host -machine pc,nvdimm=on)
	else
		# la57=off: 4-level paging, the layout the module splices into
		QEMU+=(-accel tcg,thread=multi -cpu max,la57=off -machine pc,nvdimm=on)
	fi
	QEMU+=(-object "memory-backend-file,id=mem1,share=on,mem-path=$pool,size=$psize,align=2M"
		-device nvdimm,id=nv1,memdev=mem1)
	if [ -n "$daxpool" ]; then
		dsize=$(stat -c %s "$daxpool")
		QEMU+=(-object "memory-backend-file,id=mem2,share=on,mem-path=$daxpool,size=$dsize,align=2M"
			-device nvdimm,id=nv2,memdev=mem2)
	fi
	QEMU+=(-kernel "/boot/vmlinuz-$kver" -initrd "$initrd"
		-append "console=ttyS0 quiet panic=-1 oops=panic $append")
}

# Checks a console log: prints the guest's result and measurement lines and
# every alarming kernel message; returns non-zero when a test failed, a
# requested test never reported, the guest never finished, or the kernel
# complained. EXPECT is the comma-separated list of tests asked for.
check_console() {
	local log=$1 expect=$2 bad=0 name
	grep -a -o 'UMFS-\(TEST\|MEASURE\) .*' "$log" | tr -d '\r' || true
	for name in ${expect//,/ }; do
		if ! grep -a -q "UMFS-TEST \(PASS\|FAIL\|SKIP\) $name\b" "$log"; then
			echo "kmod-test: FAIL: test $name never reported" >&2
			bad=1
		fi
	done
	if grep -a -q 'UMFS-TEST FAIL' "$log"; then
		# on stderr too, with the failed test's last lines: a harness
		# that keeps only part of stdout (CI's summary) still says why
		grep -a -o 'UMFS-TEST FAIL [^:]*' "$log" | cut -d' ' -f3 | while read -r name; do
			echo "kmod-test: FAIL: $name; its last output lines:" >&2
			sed -n "/umfs-init: running $name\r\?\$/,/UMFS-TEST FAIL $name:/p" "$log" |
				tr -d '\r' | tail -n 40 >&2
		done
		bad=1
	fi
	if ! grep -a -q '^UMFS-DONE' "$log"; then
		echo "kmod-test: FAIL: the guest never finished (crash, panic or timeout); console tail:" >&2
		tail -n 30 "$log" | tr -d '\r' >&2
		bad=1
	fi
	# kernel lines only ("[  1.234567] ..."), from the console (quiet still
	# prints warnings) and from the dmesg dump; test output may say "BUG:"
	if grep -a -n -E '^\[ *[0-9]+\.[0-9]+\] .*(Bad page map|Bad page state|Bad rss-counter|non-zero pgtables_bytes|bad pmd|bad pud|BUG:|Oops|WARNING:|general protection|Kernel panic|Call Trace)' "$log" >"$log.bad"; then
		echo "kmod-test: FAIL: the kernel complained:" >&2
		head -n 20 "$log.bad" >&2
		bad=1
	fi
	rm -f "$log.bad"
	return $bad
}

# The guest tests run when none are named: smoke and every guest/kmod-*.sh
# but those whose header has a line "# kmod-test: by name only" (heavy ones,
# such as kmod-fio, which needs fio in the image: see mkinitramfs.sh).
default_tests() {
	local dir=$1 f list=smoke
	for f in "$dir"/guest/kmod-*.sh; do
		[ -f "$f" ] || continue
		grep -q '^# kmod-test: by name only' "$f" && continue
		list="$list,$(basename "$f" .sh)"
	done
	echo "$list"
}

# The heavy programs (fio, strace, perf) that the comma-separated guest
# TESTS of DIR/guest name, one per line: only these make one image differ
# from another, since every guest test is in every image.
heavy_progs() {
	local dir=$1 tests=$2 prog name
	for prog in fio strace perf; do
		for name in ${tests//,/ }; do
			if grep -qw "$prog" "$dir/guest/$name.sh" 2>/dev/null; then
				echo "$prog"
				break
			fi
		done
	done
}

# Builds what the guest boots, into TMP (per run, so that runs sharing a
# build directory do not trample each other): umfs.ko when kmod/ has a
# Kbuild or Makefile (FAIL loudly if it does not build), and the initramfs
# for the comma-separated guest TESTS. Sets INITRD and MODULE (empty
# without a module). With UMFS_KMOD_GUEST_CACHE naming a private directory
# (meson-test.sh's, for its four boots of one tree), a module and image
# built there for the same kernel and heavy programs are used again: the
# build takes half a minute, and nothing in the tree changes between runs.
prepare_guest() {
	local src=$1 build=$2 kver=$3 tmp=$4 tests=$5 ksrc cache="${UMFS_KMOD_GUEST_CACHE:-}"
	MODULE=""
	if [ -n "$cache" ]; then
		cache="$cache/$kver$(heavy_progs "$(dirname "${BASH_SOURCE[0]}")" "$tests" | sed 's/^/+/' | tr -d '\n')"
		if [ -f "$cache/initramfs.gz" ]; then
			INITRD="$cache/initramfs.gz"
			[ -f "$cache/umfs.ko" ] && MODULE="$cache/umfs.ko"
			echo "kmod-test: the module and image of an earlier run of this tree, in $cache"
			return 0
		fi
	fi
	if [ -f "$src/kmod/Kbuild" ] || [ -f "$src/kmod/Makefile" ]; then
		# built as DKMS builds it (umfs-dkms's source, its MAKE line),
		# from a copy: no objects land in kmod/, and a concurrent edit
		# there cannot break a build half-way
		ksrc="$tmp/ksrc"
		sh "$src/tools/kmod-source.sh" "$src" "$ksrc"
		if ! make -C "$ksrc/kmod" KVER="$kver" KDIR="/lib/modules/$kver/build" -j2 \
			>"$tmp/kbuild.log" 2>&1; then
			tail -n 40 "$tmp/kbuild.log" >&2
			die "FAIL: kmod/ does not build against linux-headers-$kver (log above)"
		fi
		MODULE="$ksrc/kmod/umfs.ko"
		[ -f "$MODULE" ] || die "FAIL: kmod/ built but made no umfs.ko"
		echo "kmod-test: built umfs.ko ($(stat -c %s "$MODULE") bytes)"
	fi
	INITRD="$tmp/initramfs.gz"
	"$(dirname "${BASH_SOURCE[0]}")/mkinitramfs.sh" --kver "$kver" \
		${MODULE:+--module "$MODULE"} --tests "$tests" --out "$INITRD" "$build"
	if [ -n "$cache" ]; then
		mkdir -p "$cache"
		[ -z "$MODULE" ] || { cp "$MODULE" "$cache/umfs.ko.tmp" && mv "$cache/umfs.ko.tmp" "$cache/umfs.ko"; }
		cp "$INITRD" "$cache/initramfs.gz.tmp" && mv "$cache/initramfs.gz.tmp" "$cache/initramfs.gz"
	fi
}

# Appends the files of directory DIR to the initramfs BASE, written to OUT:
# the kernel unpacks concatenated cpio archives one over the other, so
# per-boot data (the power-cut test's expectations) costs no rebuild.
initrd_with() {
	local base=$1 dir=$2 out=$3
	cp "$base" "$out"
	(cd "$dir" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >>"$out"
}
