// SPDX-License-Identifier: MIT
/*
 * fam_openat2.c - the "openat2" family: openat2(2) through syscall(), as
 * glibc 2.36 has no wrapper: the size of struct open_how, its flags and
 * mode, and each RESOLVE_* rule (no symlinks, no magic links, no mount
 * crossing, beneath, in root, cached), relative to a directory descriptor
 * and to the cwd.
 */
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "posix.h"

#define MAGIC_FD 100 /* a fixed number, so that /proc/self/fd/100 prints the same */

/* openat2 with a how of the usual size. With RESOLVE_BENEATH or
 * RESOLVE_IN_ROOT and "..", the kernel says EAGAIN when a rename or a
 * mount anywhere on the machine raced the lookup (other tests run
 * beside this one): asked again, as openat2(2) tells callers to. */
static long o2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
	long r;

	for (int tries = 0;; tries++) {
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (r >= 0 || errno != EAGAIN || tries == 100 ||
		    !(resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)))
			return r;
	}
}

/* openat2 with a how of size bytes; tail is written past struct open_how */
static long o2_size(int dirfd, const char *path, size_t size, unsigned char tail)
{
	static unsigned char buf[8192] __attribute__((aligned(8)));
	struct open_how how = { .flags = O_RDONLY };

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &how, sizeof(how));
	buf[sizeof(how) + 3] = tail;
	return syscall(SYS_openat2, dirfd, path, (void *)buf, size);
}

static void sizes(int d)
{
	RFDC("openat2/size-exact", o2_size(d, "f", sizeof(struct open_how), 0));
	RFDC("openat2/size-0", o2_size(d, "f", 0, 0));
	RFDC("openat2/size-23", o2_size(d, "f", 23, 0));
	RFDC("openat2/size-larger-zero-tail", o2_size(d, "f", sizeof(struct open_how) + 8, 0));
	RFDC("openat2/size-larger-nonzero-tail", o2_size(d, "f", sizeof(struct open_how) + 8, 1));
	RFDC("openat2/size-page", o2_size(d, "f", 4096, 0));
	RFDC("openat2/size-over-page", o2_size(d, "f", 4097, 0));
	RFDC("openat2/size-0-missing", o2_size(d, "missing", 0, 0));
	RFDC("openat2/size-tail-missing", o2_size(d, "missing", sizeof(struct open_how) + 8, 1));
}

static void flags(int d)
{
	RFDC("openat2/plain", o2(d, "f", O_RDONLY, 0, 0));
	RFDC("openat2/unknown-flag", o2(d, "f", O_RDONLY | 0x40000000, 0, 0));
	RFDC("openat2/high-flag", o2(d, "f", O_RDONLY | (1ull << 40), 0, 0));
	RFDC("openat2/mode-without-creat", o2(d, "f", O_RDONLY, 0644, 0));
	RFDC("openat2/mode-too-big", o2(d, "c1", O_WRONLY | O_CREAT, 010644, 0));
	RFDC("openat2/creat", o2(d, "c2", O_WRONLY | O_CREAT, 0640, 0));
	ST("openat2/creat-stat", fstatat(d, "c2", &S, 0));
	RFDC("openat2/creat-mode0", o2(d, "c3", O_WRONLY | O_CREAT, 0, 0));
	RFDC("openat2/creat-directory", o2(d, "c4", O_RDONLY | O_CREAT | O_DIRECTORY, 0644, 0));
	RFDC("openat2/path-rdwr", o2(d, "f", O_PATH | O_RDWR, 0, 0));
	RFDC("openat2/path-nofollow", o2(d, "sl_rel", O_PATH | O_NOFOLLOW, 0, 0));
	RFDC("openat2/path-cloexec", o2(d, "f", O_PATH | O_CLOEXEC, 0, 0));
	RFDC("openat2/noent", o2(d, "missing", O_RDONLY, 0, 0));
	RFDC("openat2/badfd", o2(BADFD, "f", O_RDONLY, 0, 0));
	RFDC("openat2/tmpfile", o2(d, ".", O_TMPFILE | O_RDWR, 0600, 0));
	RFDC("openat2/tmpfile-beneath", o2(d, "sub", O_TMPFILE | O_RDWR, 0600, RESOLVE_BENEATH));
	RFDC("openat2/tmpfile-beneath-out", o2(d, "..", O_TMPFILE | O_RDWR, 0600, RESOLVE_BENEATH));
	RFDC("openat2/unknown-resolve", o2(d, "f", O_RDONLY, 0, 0x40));
	RFDC("openat2/beneath-in-root", o2(d, "f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
	RFDC("openat2/cached", o2(d, "f", O_RDONLY, 0, RESOLVE_CACHED));
	RFDC("openat2/cached-creat", o2(d, "f", O_RDONLY | O_CREAT, 0644, RESOLVE_CACHED));
	RFDC("openat2/cached-trunc", o2(d, "f", O_WRONLY | O_TRUNC, 0, RESOLVE_CACHED));
}

static void no_symlinks(int d)
{
	const uint64_t r = RESOLVE_NO_SYMLINKS;

	RFDC("openat2/nosym-file", o2(d, "f", O_RDONLY, 0, r));
	RFDC("openat2/nosym-dotdot", o2(d, "sub/../f", O_RDONLY, 0, r));
	RFDC("openat2/nosym-last", o2(d, "sl_rel", O_RDONLY, 0, r));
	RFDC("openat2/nosym-last-nofollow", o2(d, "sl_rel", O_RDONLY | O_NOFOLLOW, 0, r));
	RFDC("openat2/nosym-last-path-nofollow", o2(d, "sl_rel", O_PATH | O_NOFOLLOW, 0, r));
	RFDC("openat2/nosym-middle", o2(d, "sl_dir/x", O_RDONLY, 0, r));
	RFDC("openat2/nosym-creat-through", o2(d, "sl_dangle", O_WRONLY | O_CREAT, 0644, r));
	RFDC("openat2/nosym-abs-target", o2(d, "sl_abs", O_RDONLY, 0, r));
	RFDC("openat2/nosym-directory", o2(d, "sl_dir", O_RDONLY | O_DIRECTORY, 0, r));
	RFDC("openat2/nosym-absolute-path", o2(d, P("openat2/d/f"), O_RDONLY, 0, r));
	RFDC("openat2/nosym-absolute-path-link", o2(d, P("openat2/d/sl_rel"), O_RDONLY, 0, r));
	RFDC("openat2/nosym-missing", o2(d, "sl_dir/missing", O_RDONLY, 0, r));
}

static void beneath(int d)
{
	const uint64_t r = RESOLVE_BENEATH;

	RFDC("openat2/beneath-file", o2(d, "f", O_RDONLY, 0, r));
	RFDC("openat2/beneath-dot", o2(d, ".", O_RDONLY, 0, r));
	RFDC("openat2/beneath-sub-dotdot", o2(d, "sub/../f", O_RDONLY, 0, r));
	RFDC("openat2/beneath-dotdot", o2(d, "..", O_RDONLY, 0, r));
	RFDC("openat2/beneath-dotdot-back", o2(d, "../d/f", O_RDONLY, 0, r));
	RFDC("openat2/beneath-sub-dotdot-dotdot", o2(d, "sub/../../d", O_RDONLY, 0, r));
	RFDC("openat2/beneath-absolute", o2(d, P("openat2/d/f"), O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-rel", o2(d, "sl_rel", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-dir", o2(d, "sl_dir/x", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-up", o2(d, "sl_up", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-dotdot", o2(d, "sl_dotdot", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-abs", o2(d, "sl_abs", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-rootabs", o2(d, "sl_rootabs", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-sub-up", o2(d, "sub/sl_back", O_RDONLY, 0, r));
	RFDC("openat2/beneath-link-nofollow", o2(d, "sl_abs", O_PATH | O_NOFOLLOW, 0, r));
	RFDC("openat2/beneath-creat", o2(d, "bn", O_WRONLY | O_CREAT, 0644, r));
	RFDC("openat2/beneath-creat-out", o2(d, "../bn-out", O_WRONLY | O_CREAT, 0644, r));
	RFDC("openat2/beneath-magic", o2(d, "sl_magic", O_RDONLY, 0, r));
	RFDC("openat2/beneath-missing", o2(d, "sub/missing", O_RDONLY, 0, r));
	RFDC("openat2/beneath-from-sub", o2(d, "sub/x", O_RDONLY, 0, r));
}

static void in_root(int d)
{
	const uint64_t r = RESOLVE_IN_ROOT;

	RFDC("openat2/inroot-file", o2(d, "f", O_RDONLY, 0, r));
	RFDC("openat2/inroot-absolute", o2(d, "/f", O_RDONLY, 0, r));
	RFDC("openat2/inroot-absolute-host", o2(d, P("openat2/d/f"), O_RDONLY, 0, r));
	RFDC("openat2/inroot-dotdot", o2(d, "../f", O_RDONLY, 0, r));
	RFDC("openat2/inroot-dotdot-dotdot", o2(d, "sub/../../../f", O_RDONLY, 0, r));
	RFDC("openat2/inroot-link-rootabs", o2(d, "sl_rootabs", O_RDONLY, 0, r));
	RFDC("openat2/inroot-link-abs", o2(d, "sl_abs", O_RDONLY, 0, r));
	RFDC("openat2/inroot-link-up", o2(d, "sl_up", O_RDONLY, 0, r));
	RFDC("openat2/inroot-link-dotdot", o2(d, "sl_dotdot/f", O_RDONLY, 0, r));
	RFDC("openat2/inroot-link-sub-up", o2(d, "sub/sl_back", O_RDONLY, 0, r));
	RFDC("openat2/inroot-magic", o2(d, "sl_magic", O_RDONLY, 0, r));
	RFDC("openat2/inroot-creat-abs", o2(d, "/ir", O_WRONLY | O_CREAT, 0644, r));
	RFDC("openat2/inroot-creat-dotdot", o2(d, "../ir2", O_WRONLY | O_CREAT, 0644, r));
	RFDC("openat2/inroot-root", o2(d, "/", O_RDONLY | O_DIRECTORY, 0, r));
}

static void no_xdev(int d)
{
	const uint64_t r = RESOLVE_NO_XDEV;

	RFDC("openat2/noxdev-file", o2(d, "f", O_RDONLY, 0, r));
	RFDC("openat2/noxdev-link-rel", o2(d, "sl_up", O_RDONLY, 0, r));
	RFDC("openat2/noxdev-up3", o2(d, "../../..", O_RDONLY, 0, r));
	RFDC("openat2/noxdev-up4", o2(d, "../../../..", O_RDONLY, 0, r));
	RFDC("openat2/noxdev-absolute", o2(d, P("openat2/d/f"), O_RDONLY, 0, r));
	RFDC("openat2/noxdev-link-abs", o2(d, "sl_abs", O_RDONLY, 0, r));
	RFDC("openat2/noxdev-magic", o2(d, "sl_magic", O_RDONLY, 0, r));
}

static void magic(int d)
{
	RFDC("openat2/magic-plain", o2(d, "sl_magic", O_RDONLY, 0, 0));
	RFDC("openat2/magic-no-magic", o2(d, "sl_magic", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
	RFDC("openat2/magic-proc-no-magic", o2(d, "/proc/self/fd/100", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
	RFDC("openat2/magic-proc-plain", o2(d, "/proc/self/fd/100", O_RDONLY, 0, 0));
	RFDC("openat2/magic-proc-no-symlinks", o2(d, "/proc/self/fd/100", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	RFDC("openat2/magic-proc-path-nofollow", o2(d, "/proc/self/fd/100", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_MAGICLINKS));
}

static void from_cwd(void)
{
	if (chdir(P("openat2/d"))) {
		setup_fail("chdir", "openat2/d", errno);
		return;
	}
	RFDC("openat2/cwd-beneath-file", o2(AT_FDCWD, "f", O_RDONLY, 0, RESOLVE_BENEATH));
	RFDC("openat2/cwd-beneath-dotdot", o2(AT_FDCWD, "../d/f", O_RDONLY, 0, RESOLVE_BENEATH));
	RFDC("openat2/cwd-inroot-absolute", o2(AT_FDCWD, "/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
	RFDC("openat2/cwd-nosym", o2(AT_FDCWD, "sl_rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	RFDC("openat2/cwd-plain", o2(AT_FDCWD, "sl_rel", O_RDONLY, 0, 0));
}

void t_openat2(void)
{
	char target[PATH_MAX];
	int d, fd;

	mk("openat2");
	mk("openat2/d");
	mk("openat2/d/sub");
	put("openat2/d/f", "f");
	put("openat2/d/sub/x", "x");
	put("openat2/f", "outside");
	sl("f", "openat2/d/sl_rel");
	sl("sub", "openat2/d/sl_dir");
	sl("../d/f", "openat2/d/sl_up");
	sl("..", "openat2/d/sl_dotdot");
	sl("/f", "openat2/d/sl_rootabs");
	sl("../f", "openat2/d/sub/sl_back");
	sl("nothere", "openat2/d/sl_dangle");
	snprintf(target, sizeof(target), "%s", P("openat2/d/f"));
	sl(target, "openat2/d/sl_abs");
	sl("/proc/self/fd/100", "openat2/d/sl_magic");
	fd = open(P("openat2/f"), O_RDONLY);
	if (fd < 0 || dup2(fd, MAGIC_FD) != MAGIC_FD)
		setup_fail("dup2", "openat2/f", errno);
	if (fd >= 0)
		close(fd);
	d = open(P("openat2/d"), O_RDONLY | O_DIRECTORY);
	if (d < 0) {
		setup_fail("open", "openat2/d", errno);
		return;
	}
	sizes(d);
	flags(d);
	no_symlinks(d);
	beneath(d);
	in_root(d);
	no_xdev(d);
	magic(d);
	list("openat2/list", "openat2/d");
	list("openat2/list-up", "openat2");
	close(d);
	from_cwd();
}
