# common.sh (guest) - sourced by the kmod-* guest tests after they define
# fail(): the steps each of them repeated. Not a test itself (run.sh picks
# kmod-*.sh only).

# kt_module NAME: skips the test (77) when the initramfs has no module,
# else loads it (an earlier test may have) and checks /dev/umfs.
kt_module() {
	[ -n "${UMFS_KO:-}" ] || { echo "$1: no umfs.ko in the initramfs"; exit 77; }
	[ -e /dev/umfs ] || insmod "$UMFS_KO" || fail "insmod $UMFS_KO failed"
	[ -c /dev/umfs ] || fail "/dev/umfs did not appear"
}

# kt_open_to_users: for the unprivileged checks. The module asks for 0666
# (ATTACH checks each file's own permissions), which a device manager may
# not give; the initramfs root may come out 0700 (a mktemp -d staging
# directory).
kt_open_to_users() {
	chmod 0666 /dev/umfs
	chmod 0755 /
}

# kt_kernel_clean: fails the test on any kernel line the module must never
# cause (run.sh checks the whole console again at the end).
kt_kernel_clean() {
	if dmesg | grep -E "Bad page map|Bad page state|Bad rss-counter|non-zero pgtables_bytes|bad pmd|bad pud|BUG:|Oops|WARNING:"; then
		fail "the kernel complained (above)"
	fi
}

# kt_fsck_clean [DEV]: fsck.umfs -n -f of DEV (default $dev, the pool) must
# be clean: exit 0, and not even crash state (which exits 0 too) left for a
# mount to repair; when it is not, prints fsck's report and returns 1 (the
# caller fails or notes it).
kt_fsck_clean() {
	fsck.umfs -n -f "${1:-$dev}" >/tmp/kt-fsck.log 2>&1 &&
		tail -n 1 /tmp/kt-fsck.log | grep -q ': clean$' && return 0
	cat /tmp/kt-fsck.log
	return 1
}
