/* SPDX-License-Identifier: MIT */
/*
 * fam_efault.c - the "efault" family: a NULL pointer and a pointer into an
 * unmapped page, in each pointer argument of the file calls, give -1 with
 * EFAULT (or what the kernel checks first), never a dead process. Each
 * group runs in a child, so that a crash shows as one line.
 */
#include "posix.h"

#include <sys/syscall.h>

static char *bad;     /* a page that was mapped, then unmapped */
static char *ro;      /* a read-only page */
static int efd;       /* efault/f, read-write, 8 KiB of data */
/* NULL that the compiler cannot see (no -Wnonnull) */
static void *volatile null_ptr;
#define NUL ((void *)null_ptr)

static void data_calls(void)
{
	struct iovec iov_bad[1] = { { bad, 16 } }, iov_null[1] = { { NULL, 16 } };
	struct iovec iov_ro[1] = { { ro, 16 } };

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
	content("efault/data-unchanged", "efault/f");
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
	list("efault/names-unchanged", "efault");
}

void t_efault(void)
{
	mk("efault");
	putn("efault/f", pattern(8192, 11), 8192);
	sl("f", "efault/l");
	bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED || ro == MAP_FAILED) {
		setup_fail("mmap", "efault", errno);
		return;
	}
	munmap(bad, 4096);
	efd = open(P("efault/f"), O_RDWR);
	if (efd < 0) {
		setup_fail("open", "efault/f", errno);
		return;
	}
	in_child("efault/data", "data calls", data_calls);
	in_child("efault/stat", "stat calls", stat_calls);
	in_child("efault/names", "name calls", name_calls);
	close(efd);
}
