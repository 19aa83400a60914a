/* SPDX-License-Identifier: MIT */
/*
 * fam_efault.c - the "efault" family: a NULL pointer and a pointer into an
 * unmapped page, in each pointer argument of the file calls, give -1 with
 * EFAULT (or what the kernel checks first), never a dead process. Each
 * group runs in a child, so that a crash shows as one line.
 */
#include "posix.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

extern char **environ;

static char *bad;     /* a page that was mapped, then unmapped */
static char *ro;      /* a read-only page */
static char *tail;    /* the end of a page whose next page is unmapped */
static int efd;       /* efault/f, read-write, 8 KiB of data */
static int efd_dir;   /* efault, a directory descriptor */
/* NULL that the compiler cannot see (no -Wnonnull) */
static void *volatile null_ptr;
#define NUL ((void *)null_ptr)

static void data_calls(void)
{
	struct iovec iov_bad[1] = { { bad, 16 } }, iov_null[1] = { { NULL, 16 } };
	struct iovec iov_ro[1] = { { ro, 16 } };
	struct iovec iov_two[2] = { { tail - 10, 10 }, { bad, 16 } };

	R("efault/read-null", read(efd, NUL, 16));
	R("efault/read-bad", read(efd, bad, 16));
	R("efault/read-ro", pread(efd, ro, 16, 0));
	R("efault/pread-null", pread(efd, NUL, 16, 0));
	R("efault/pread-bad", pread(efd, bad, 16, 0));
	R("efault/pread-zero-len", pread(efd, bad, 0, 0));
	R("efault/write-null", write(efd, NUL, 16));
	R("efault/write-bad", write(efd, bad, 16));
	R("efault/pwrite-null", pwrite(efd, NUL, 16, 0));
	R("efault/pwrite-bad", pwrite(efd, bad, 16, 0));
	R("efault/readv-array-null", readv(efd, NUL, 1));
	R("efault/readv-array-bad", readv(efd, (struct iovec *)bad, 1));
	R("efault/readv-base-null", preadv(efd, iov_null, 1, 0));
	R("efault/readv-base-bad", preadv(efd, iov_bad, 1, 0));
	R("efault/readv-base-ro", preadv(efd, iov_ro, 1, 0));
	R("efault/writev-array-null", writev(efd, NUL, 1));
	R("efault/writev-array-bad", pwritev(efd, (struct iovec *)bad, 1, 0));
	R("efault/writev-base-null", pwritev(efd, iov_null, 1, 0));
	R("efault/writev-base-bad", pwritev(efd, iov_bad, 1, 0));
	R("efault/preadv2-bad", preadv2(efd, iov_bad, 1, 0, 0));
	R("efault/pwritev2-bad", pwritev2(efd, iov_bad, 1, 0, 0));
	R("efault/pread-tail-bad", pread(efd, tail - 100, 200, 0));
	R("efault/pread-eof-bad", pread(efd, bad, 16, 1 << 20));
	R("efault/preadv-second-bad", preadv(efd, iov_two, 2, 0));
	R("efault/pwrite-tail-bad", pwrite(efd, tail - 100, 200, 8192));
	R("efault/pwritev-second-bad", pwritev(efd, iov_two, 2, 8292));
	R("efault/pwritev-first-bad", pwritev(efd, iov_bad, 1, 8292));
	R("efault/write-zero-len-bad", write(efd, bad, 0));
	content("efault/data-unchanged", "efault/f");
}

/* Three pages: two writable, then one inaccessible (PROT_NONE: unlike an
 * unmapped page, no later mapping can land there) or read-only. */
static char *pages_then(int prot)
{
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + 8192, 4096, prot))
		return NULL;
	return p;
}

/* One large read into dst: its result, then whether the bytes it stored
 * are the file's (want: the file's bytes from the read's offset). */
static void large_read(const char *name, int fd, char *dst, size_t len, off_t off,
		       const char *want)
{
	char *what = malloc(strlen(name) + 8);
	ssize_t n;

	if (!what)
		abort();
	sprintf(what, "%s-bytes", name); /* check names are kept, not copied */
	n = pread(fd, dst, len, off);
	emit(strdup(name), "pread = %zd%s%s", n, n < 0 ? " " : "", n < 0 ? ename(errno) : "");
	emit(what, "%s", n <= 0 || memcmp(dst, want + off, (size_t)n) == 0 ? "the file's" : "differ");
}

/* Reads of 2 KiB and more, which the library stores without probing the
 * buffer first: the kernel's copy of a pool chunk this process has not
 * mapped checks it itself, a copy from the mapping stops at the first
 * byte it cannot store. Each case runs on a cold chunk (a forked child
 * has every chunk cold), then again once reads warmed it; holes too. */
static void large_calls(void)
{
	char *bad2 = pages_then(PROT_NONE), *ro2 = pages_then(PROT_READ), *warm = malloc(4096);
	char *data = pattern(65536, 17), *holed = calloc(1, 65536), *tail_data = pattern(4096, 19);
	int fd = open(P("efault/big"), O_RDONLY), hfd = open(P("efault/hole"), O_RDONLY);

	if (!bad2 || !ro2 || !warm || !data || !holed || !tail_data || fd < 0 || hfd < 0) {
		setup_fail("setup", "efault/large", errno);
		return;
	}
	memcpy(holed + 61440, tail_data, 4096);
	for (int round = 0; round < 2; round++) {
		char name[64];

#define LARGE(what, fd, dst, len, off, want)                                         \
	do {                                                                          \
		snprintf(name, sizeof(name), "efault/large-%s-%s", round ? "warm" : "cold", \
			 what);                                                       \
		large_read(name, fd, dst, len, off, want);                            \
	} while (0)
		LARGE("tail", fd, bad2, 3 * 4096, 0, data);
		LARGE("tail-aligned-64", fd, bad2 + 64, 3 * 4096, 4096 + 64, data);
		LARGE("tail-co-aligned-8", fd, bad2 + 8, 3 * 4096, 8, data);
		LARGE("tail-misaligned", fd, bad2 + 8, 3 * 4096, 0, data);
		LARGE("ro", fd, ro2, 3 * 4096, 0, data);
		LARGE("ro-misaligned", fd, ro2 + 24, 3 * 4096, 8, data);
		LARGE("first-bad", fd, bad, 8192, 0, data);
		LARGE("non-canonical", fd, (char *)0x0000800000000000ull, 8192, 0, data);
		LARGE("kernel", fd, (char *)0xffff888000000000ull, 8192, 0, data);
		LARGE("wrap", fd, (char *)-4096, 8192, 0, data);
		LARGE("at-eof-bad", fd, bad, 8192, 65536, data);
		LARGE("hole-tail", hfd, bad2, 3 * 4096, 0, holed);
		LARGE("hole-ro-misaligned", hfd, ro2 + 8, 3 * 4096, 0, holed);
		LARGE("hole-then-data", hfd, bad2, 3 * 4096, 61440 - 4096, holed);
		LARGE("hole-then-data-ro", hfd, ro2 + 64, 3 * 4096, 61440 - 4096 + 64, holed);
#undef LARGE
		/* reads of the chunk until the library maps it (the same on tmpfs) */
		for (int i = 0; i < 2048; i++)
			if (pread(fd, warm, 4096, (i % 16) * 4096) != 4096 ||
			    pread(hfd, warm, 4096, (i % 16) * 4096) != 4096)
				break;
	}
	content("efault/large-unchanged", "efault/big");
}

static void stat_calls(void)
{
	R("efault/stat-path-null", stat(NUL, &S));
	R("efault/stat-path-bad", stat(bad, &S));
	R("efault/stat-buf-null", stat(P("efault/f"), NUL));
	R("efault/stat-buf-bad", stat(P("efault/f"), (struct stat *)bad));
	R("efault/stat-buf-ro", stat(P("efault/f"), (struct stat *)ro));
	R("efault/stat-missing-buf-bad", stat(P("efault/missing"), (struct stat *)bad));
	R("efault/lstat-buf-bad", lstat(P("efault/f"), (struct stat *)bad));
	R("efault/fstat-buf-null", fstat(efd, NUL));
	R("efault/fstat-buf-bad", fstat(efd, (struct stat *)bad));
	R("efault/fstatat-buf-bad", fstatat(AT_FDCWD, P("efault/f"), (struct stat *)bad, 0));
	R("efault/statx-buf-bad", statx(AT_FDCWD, P("efault/f"), 0, STATX_BASIC_STATS,
					(struct statx *)bad));
	R("efault/statx-path-bad", statx(AT_FDCWD, bad, 0, STATX_BASIC_STATS, (struct statx *)ro));
	R("efault/access-null", access(NUL, F_OK));
	R("efault/access-bad", access(bad, F_OK));
}

static void name_calls(void)
{
	R("efault/open-null", open(NUL, O_RDONLY));
	R("efault/open-bad", open(bad, O_RDONLY));
	R("efault/openat-bad", openat(AT_FDCWD, bad, O_RDONLY));
	R("efault/creat-bad", creat(bad, 0644));
	R("efault/unlink-null", unlink(NUL));
	R("efault/unlink-bad", unlink(bad));
	R("efault/rmdir-bad", rmdir(bad));
	R("efault/mkdir-null", mkdir(NUL, 0755));
	R("efault/mkdir-bad", mkdir(bad, 0755));
	R("efault/rename-from-bad", rename(bad, P("efault/g")));
	R("efault/rename-to-null", rename(P("efault/f"), NUL));
	R("efault/rename-to-bad", rename(P("efault/f"), bad));
	R("efault/link-from-bad", link(bad, P("efault/g")));
	R("efault/link-to-bad", link(P("efault/f"), bad));
	R("efault/symlink-link-bad", symlink("f", bad));
	R("efault/chmod-bad", chmod(bad, 0600));
	R("efault/chown-bad", chown(bad, 0, 0));
	R("efault/truncate-null", truncate(NUL, 0));
	R("efault/truncate-bad", truncate(bad, 0));
	R("efault/readlink-path-bad", readlink(bad, (char *)ro, 16));
	R("efault/utimensat-path-bad", utimensat(AT_FDCWD, bad, NULL, 0));
	R("efault/symlink-target-bad", symlink(bad, P("efault/s")));
	R("efault/symlink-target-null", symlink(NUL, P("efault/s")));
	R("efault/symlinkat-link-bad", symlinkat("f", efd_dir, bad));
	R("efault/openat-dirfd-bad", openat(efd_dir, bad, O_RDONLY));
	R("efault/fstatat-dirfd-path-bad", fstatat(efd_dir, bad, &S, 0));
	R("efault/fstatat-dirfd-buf-bad", fstatat(efd_dir, "f", (struct stat *)bad, 0));
	R("efault/mkdirat-bad", mkdirat(efd_dir, bad, 0755));
	R("efault/unlinkat-bad", unlinkat(efd_dir, bad, 0));
	R("efault/renameat-bad", renameat(efd_dir, "f", efd_dir, bad));
	R("efault/renameat2-bad", renameat2(efd_dir, bad, efd_dir, "g", 0));
	R("efault/linkat-bad", linkat(efd_dir, "f", efd_dir, bad, 0));
	R("efault/readlinkat-buf-bad", readlinkat(efd_dir, "l", bad, 16));
	R("efault/faccessat-bad", faccessat(efd_dir, bad, F_OK, 0));
	R("efault/fchmodat-bad", fchmodat(efd_dir, bad, 0600, 0));
	R("efault/fchownat-bad", fchownat(efd_dir, bad, 0, 0, 0));
	R("efault/mknod-bad", mknod(bad, S_IFIFO | 0644, 0));
	R("efault/mkfifo-bad", mkfifo(bad, 0644));
	R("efault/chmod-null", chmod(NUL, 0600));
	R("efault/lchown-bad", lchown(bad, 0, 0));
	R("efault/chdir-bad", chdir(bad));
	R("efault/statx-dirfd-bad", statx(efd_dir, bad, 0, STATX_BASIC_STATS, (struct statx *)ro));
	errno = 0;
	emit("efault/opendir-bad", "opendir(bad) = %s", opendir(bad) ? "ok" : ename(errno));
	list("efault/names-unchanged", "efault");
}

/* Pointers the calls read or fill besides paths and data buffers. */
static void struct_calls(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	char cwd[PATH_MAX];
	int dfd, out, sv[2];

	R("efault/readlink-buf-bad", readlink(P("efault/l"), bad, 16));
	R("efault/readlink-buf-ro", readlink(P("efault/l"), ro, 16));
	R("efault/readlink-missing-buf-bad", readlink(P("efault/missing"), bad, 16));
	R("efault/utimensat-times-bad", utimensat(AT_FDCWD, P("efault/f"), (struct timespec *)bad, 0));
	R("efault/utimensat-times-ok", utimensat(AT_FDCWD, P("efault/f"), ts, 0));
	R("efault/futimens-times-bad", futimens(efd, (struct timespec *)bad));
	R("efault/fcntl-setlk-null", fcntl(efd, F_SETLK, NUL));
	R("efault/fcntl-setlk-bad", fcntl(efd, F_SETLK, bad));
	R("efault/fcntl-getlk-ro", fcntl(efd, F_GETLK, (struct flock *)ro));
	R("efault/fcntl-setlk-ok", fcntl(efd, F_SETLK, &fl));
	R("efault/ioctl-fionread-bad", ioctl(efd, FIONREAD, bad));
	R("efault/ioctl-fionread-ro", ioctl(efd, FIONREAD, ro));
	R("efault/ioctl-fionbio-bad", ioctl(efd, FIONBIO, bad));
	R("efault/ioctl-fioasync-bad", ioctl(efd, FIOASYNC, bad));
	R("efault/ioctl-figetbsz-bad", ioctl(efd, FIGETBSZ, bad));
	R("efault/ioctl-fioqsize-bad", ioctl(efd, FIOQSIZE, bad));
	R("efault/ioctl-fibmap-bad", ioctl(efd, FIBMAP, bad));
	R("efault/ioctl-fiemap-bad", ioctl(efd, FS_IOC_FIEMAP, bad));
	R("efault/ioctl-ficlonerange-bad", ioctl(efd, FICLONERANGE, bad));
	R("efault/ioctl-ficlonerange-null", ioctl(efd, FICLONERANGE, NUL));
	R("efault/statfs-buf-bad", statfs(P("efault/f"), (struct statfs *)bad));
	R("efault/fstatfs-buf-bad", fstatfs(efd, (struct statfs *)bad));
	R("efault/getxattr-name-bad", getxattr(P("efault/f"), bad, cwd, sizeof(cwd)));
	R("efault/setxattr-name-bad", setxattr(P("efault/f"), bad, "v", 1, 0));
	dfd = open(P("efault"), O_RDONLY | O_DIRECTORY);
	R("efault/getdents64-buf-bad", syscall(SYS_getdents64, dfd, bad, 4096));
	R("efault/getdents64-buf-ro", syscall(SYS_getdents64, dfd, ro, 4096));
	close(dfd);
	out = open(P("efault/out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	R("efault/sendfile-off-bad", sendfile(out, efd, (off_t *)bad, 16));
	R("efault/copy_file_range-off-bad", copy_file_range(efd, (off64_t *)bad, out, NULL, 16, 0));
	close(out);
	if (chdir(P("efault")) == 0) {
		errno = 0;
		emit("efault/getcwd-bad", "getcwd(bad, sizeof(cwd)) = %s",
		     getcwd(bad, sizeof(cwd)) ? "ok" : ename(errno));
		R("efault/chdir-back", chdir("/"));
	}
	content("efault/out-unchanged", "efault/out");
	/* with a UMFS descriptor open, the library looks for descriptors to
	 * carry in a message before the kernel reads it */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) {
		R("efault/sendmsg-msg-null", sendmsg(sv[0], NUL, 0));
		R("efault/sendmsg-msg-bad", sendmsg(sv[0], (struct msghdr *)bad, 0));
		close(sv[0]);
		close(sv[1]);
	}
}

/* The limit calls the library answers itself (RLIMIT_NOFILE, whose view
 * it keeps): each argument as the kernel reads or writes it. */
static void limit_calls(void)
{
	struct rlimit rl;

	R("efault/getrlimit-bad", getrlimit(RLIMIT_NOFILE, (struct rlimit *)bad));
	R("efault/getrlimit-ro", getrlimit(RLIMIT_NOFILE, (struct rlimit *)ro));
	R("efault/setrlimit-null", setrlimit(RLIMIT_NOFILE, NUL));
	R("efault/setrlimit-bad", setrlimit(RLIMIT_NOFILE, (struct rlimit *)bad));
	R("efault/prlimit-new-bad", prlimit(0, RLIMIT_NOFILE, (struct rlimit *)bad, NULL));
	R("efault/prlimit-old-bad", prlimit(0, RLIMIT_NOFILE, NULL, (struct rlimit *)bad));
	R("efault/prlimit-old-ro", prlimit(0, RLIMIT_NOFILE, NULL, (struct rlimit *)ro));
	R("efault/getrlimit-after", getrlimit(RLIMIT_NOFILE, &rl));
}

/* An LD_PRELOAD value longer than 1 MiB that runs, with no end, into an
 * unmapped page: the kernel refuses it (E2BIG, past MAX_ARG_STRLEN)
 * without reading it all, and the library, which looks for itself in
 * the value, must read no further than it checked. */
static void exec_long_preload(char *argv[])
{
	size_t len = (1u << 20) + 8192;
	char *v = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	char *env[] = { v, NULL };

	if (v == MAP_FAILED) {
		setup_fail("mmap", "efault/execve-env-long", errno);
		return;
	}
	munmap(v + len, 4096);
	memset(v, 'x', len);
	memcpy(v, "LD_PRELOAD=", 11);
	R("efault/execve-env-long", execve("/bin/true", argv, env));
	munmap(v, len);
}

/* execve with a bad environment, from a cwd in the file system (whose
 * name the library adds to the environment): the kernel answers EFAULT
 * before it replaces anything, and so must the library. */
/* Bytes waiting in pipe end fd (FIONREAD), for the record. */
static void pipe_holds(const char *name, int fd)
{
	int n = -1;

	ioctl(fd, FIONREAD, &n);
	emit(name, "the pipe holds %d bytes", n);
}

/* The offset arguments of splice, copy_file_range and sendfile, read
 * before the transfer and stored back after it: an unreadable one gives
 * EFAULT before anything moves, one that cannot be stored gives EFAULT
 * after the bytes moved (the file's offset stays), and EFAULT ranks where
 * the kernel reads them among the other checks. */
static void offset_calls(void)
{
	loff_t *ro_off = (loff_t *)ro, *bad_off = (loff_t *)bad; /* ro reads as 0 */
	int out = open(P("efault/copied"), O_RDWR | O_CREAT | O_TRUNC, 0644), p[2];

	if (out < 0 || pipe(p)) {
		setup_fail("open", "efault/copied", errno);
		return;
	}
	R("efault/splice-off-in-bad", splice(efd, bad_off, p[1], NULL, 100, 0));
	R("efault/splice-off-in-ro", splice(efd, ro_off, p[1], NULL, 100, 0));
	pipe_holds("efault/splice-off-in-ro-moved", p[0]);
	offset("efault/splice-off-in-ro-offset", efd);
	R("efault/splice-off-out-bad", splice(p[0], NULL, out, bad_off, 100, 0));
	pipe_holds("efault/splice-off-out-bad-kept", p[0]);
	R("efault/splice-off-out-ro", splice(p[0], NULL, out, ro_off, 100, 0));
	pipe_holds("efault/splice-off-out-ro-moved", p[0]);
	offset("efault/splice-off-out-ro-offset", out);
	R("efault/splice-off-on-pipe-bad", splice(p[0], bad_off, out, NULL, 100, 0));
	R("efault/splice-badfd-off-bad", splice(BADFD, bad_off, p[1], NULL, 100, 0));
	R("efault/splice-len0-off-bad", splice(efd, bad_off, p[1], NULL, 0, 0));
	R("efault/cfr-off-in-ro", copy_file_range(efd, ro_off, out, NULL, 100, 0));
	R("efault/cfr-off-out-ro", copy_file_range(efd, NULL, out, ro_off, 100, 0));
	offset("efault/cfr-off-out-ro-in-offset", efd);
	R("efault/cfr-off-in-bad-flags", copy_file_range(efd, bad_off, out, NULL, 100, 1));
	R("efault/cfr-badfd-off-bad", copy_file_range(BADFD, bad_off, out, NULL, 100, 0));
	{
		loff_t at_eof = 8192;

		R("efault/cfr-nothing-off-out-ro", copy_file_range(efd, &at_eof, out, ro_off, 100, 0));
	}
	R("efault/sendfile-off-ro", sendfile(out, efd, (off_t *)ro_off, 100));
	R("efault/sendfile-off-bad-badfd", sendfile(out, BADFD, (off_t *)bad_off, 100));
	R("efault/sendfile-off-ro-badfd", sendfile(out, BADFD, (off_t *)ro_off, 100));
	close(p[0]);
	close(p[1]);
	close(out);
	content("efault/copied-content", "efault/copied");
	content("efault/offsets-unchanged", "efault/f");
}

static void exec_calls(void)
{
	char *argv[] = { "true", NULL }, *env_bad_entry[] = { bad, NULL };

	if (chdir(P("efault")))
		setup_fail("chdir", "efault", errno);
	/* an array whose first entry is the last word of its page */
	*(const char **)(tail - sizeof(char *)) = "A=1";
	R("efault/execve-env-bad", execve("/bin/true", argv, (char **)bad));
	R("efault/execve-env-entry-bad", execve("/bin/true", argv, env_bad_entry));
	R("efault/execve-env-tail", execve("/bin/true", argv, (char **)(tail - sizeof(char *))));
	R("efault/execve-argv-bad", execve("/bin/true", (char **)bad, environ));
	exec_long_preload(argv);
}

void t_efault(void)
{
	mk("efault");
	putn("efault/f", pattern(8192, 11), 8192);
	putn("efault/big", pattern(65536, 17), 65536);
	{ /* 60 KiB of hole, then 4 KiB of data */
		int h = open(P("efault/hole"), O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (h < 0 || pwrite(h, pattern(4096, 19), 4096, 61440) != 4096)
			setup_fail("hole", "efault/hole", errno);
		close(h);
	}
	sl("f", "efault/l");
	bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED || ro == MAP_FAILED) {
		setup_fail("mmap", "efault", errno);
		return;
	}
	munmap(bad, 4096);
	tail = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tail == MAP_FAILED) {
		setup_fail("mmap", "efault", errno);
		return;
	}
	munmap(tail + 4096, 4096);
	tail += 4096;
	efd_dir = open(P("efault"), O_RDONLY | O_DIRECTORY);
	efd = open(P("efault/f"), O_RDWR);
	if (efd < 0) {
		setup_fail("open", "efault/f", errno);
		return;
	}
	in_child("efault/data", "data calls", data_calls);
	in_child("efault/large", "large reads", large_calls);
	in_child("efault/stat", "stat calls", stat_calls);
	in_child("efault/names", "name calls", name_calls);
	in_child("efault/structs", "struct calls", struct_calls);
	in_child("efault/offsets", "offset calls", offset_calls);
	in_child("efault/limits", "limit calls", limit_calls);
	in_child("efault/exec", "exec calls", exec_calls);
	close(efd);
}
