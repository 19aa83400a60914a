// SPDX-License-Identifier: MIT
/*
 * posix_test.c - the POSIX conformance program for UMFS's front ends.
 *
 *   posix_test DIR [FAMILY...]
 *   posix_test --list
 *
 * Exercises, inside DIR (an existing, empty directory), the calls that the
 * LD_PRELOAD shim serves with their edge cases and errors, and
 * prints one line per check:
 *
 *	NAME: CALL AS WRITTEN = RESULT
 *
 * NAME ("family/what") is unique and is what tests/posix/known-*.txt name.
 * Paths are written relative to DIR (P("x") stands for DIR/x), and nothing
 * that varies from run to run or from one file system to another is
 * printed: no absolute paths, inode numbers, times of day, st_dev,
 * descriptor numbers the kernel chose, block counts or block sizes, only
 * relations between them ("same", "zeros", "now"). So the output on tmpfs
 * (the reference) and on UMFS can be compared line by line; that
 * comparison, in tests/posix/run_posix.sh, is the test. Lines starting
 * with "setup:" report a preparation step that failed.
 *
 * Each family runs in a child process of its own, in a subdirectory of its
 * own, so that a crash or a hang (60 s) in one is reported as a line of its
 * own ("family/exit: ...") and the others still run. The program exits 0
 * unless it cannot start at all.
 */
#include "posix.h"

/* ------------------------------------------------------------------ */
/* open, openat, creat and the O_ flags                                */
/* ------------------------------------------------------------------ */

static void tmpfile_chain(const char *name)
{
	char buf[96], proc[64];
	struct stat st;
	int fd, r;

	errno = 0;
	fd = open(P("open"), O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		emit(name, "open(P(\"open\"), O_TMPFILE | O_RDWR, 0600) = -1 %s", ename(errno));
		return;
	}
	r = snprintf(buf, sizeof(buf), "fd");
	if (write(fd, "tmp", 3) != 3)
		r += snprintf(buf + r, sizeof(buf) - (size_t)r, ", write failed %s", ename(errno));
	if (fstat(fd, &st) == 0)
		r += snprintf(buf + r, sizeof(buf) - (size_t)r, ", nlink=%lu",
			      (unsigned long)st.st_nlink);
	/* F_GETFL keeps O_TMPFILE, as the kernel's */
	r += snprintf(buf + r, sizeof(buf) - (size_t)r, ", getfl=%#x", fcntl(fd, F_GETFL));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, P("open/tmpfile-linked"), AT_SYMLINK_FOLLOW))
		snprintf(buf + r, sizeof(buf) - (size_t)r, ", linkat = -1 %s", ename(errno));
	else
		snprintf(buf + r, sizeof(buf) - (size_t)r, ", linkat = 0");
	close(fd);
	emit(name, "open(P(\"open\"), O_TMPFILE | O_RDWR, 0600) = %s", buf);
}

static void t_open(void)
{
	char name[300], path[PATH_MAX + 600];
	int fd, fd2, i;

	mk("open");
	mk("open/d");
	put("open/content", "hello world");
	sl("nowhere", "open/dangle");
	sl("d", "open/dlink");
	sl("content", "open/flink");
	sl("loop2", "open/loop1");
	sl("loop1", "open/loop2");
	sl("self", "open/self");

	fd = RFD("open/creat", open(P("open/f"), O_WRONLY | O_CREAT, 0666));
	if (fd >= 0) {
		R("open/creat-write", write(fd, "hello", 5));
		close(fd);
	}
	ST("open/creat-stat", stat(P("open/f"), &S));
	RFDC("open/creat-0600", open(P("open/f600"), O_RDWR | O_CREAT, 0600));
	ST("open/creat-0600-stat", stat(P("open/f600"), &S));
	RFDC("open/creat-suid", open(P("open/fsuid"), O_RDWR | O_CREAT, 04755));
	ST("open/creat-suid-stat", stat(P("open/fsuid"), &S));
	RFDC("open/creat-mode0", open(P("open/f000"), O_RDWR | O_CREAT, 0));
	ST("open/creat-mode0-stat", stat(P("open/f000"), &S));
	RFDC("open/creat-mode0-reopen", open(P("open/f000"), O_RDWR));
	RFDC("open/creat-existing", open(P("open/f600"), O_RDWR | O_CREAT, 0777));
	ST("open/creat-existing-stat", stat(P("open/f600"), &S));
	RFDC("open/excl-exists", open(P("open/f"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	RFDC("open/excl-new", open(P("open/g"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	RFDC("open/excl-dangling", open(P("open/dangle"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	RFDC("open/excl-dir", open(P("open/d"), O_RDONLY | O_CREAT | O_EXCL, 0644));
	RFDC("open/excl-no-creat", open(P("open/f"), O_RDONLY | O_EXCL));
	RFDC("open/creat-via-dangling", open(P("open/dangle"), O_WRONLY | O_CREAT, 0644));
	ST("open/creat-via-dangling-target", lstat(P("open/nowhere"), &S));
	RFDC("open/noent", open(P("open/missing"), O_RDONLY));
	RFDC("open/noent-parent", open(P("open/missing/f"), O_WRONLY | O_CREAT, 0644));
	RFDC("open/notdir", open(P("open/f/x"), O_RDONLY));
	RFDC("open/notdir-creat", open(P("open/f/x"), O_WRONLY | O_CREAT, 0644));
	RFDC("open/dir-rdonly", open(P("open/d"), O_RDONLY));
	RFDC("open/dir-wronly", open(P("open/d"), O_WRONLY));
	RFDC("open/dir-rdwr", open(P("open/d"), O_RDWR));
	RFDC("open/dir-creat", open(P("open/d"), O_RDONLY | O_CREAT, 0644));
	RFDC("open/dir-trunc", open(P("open/d"), O_RDONLY | O_TRUNC));
	RFDC("open/directory-file", open(P("open/f"), O_RDONLY | O_DIRECTORY));
	RFDC("open/directory-dir", open(P("open/d"), O_RDONLY | O_DIRECTORY));
	RFDC("open/directory-dirlink", open(P("open/dlink"), O_RDONLY | O_DIRECTORY));
	RFDC("open/directory-nofollow", open(P("open/dlink"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
	RFDC("open/directory-creat-new", open(P("open/newdir"), O_RDONLY | O_DIRECTORY | O_CREAT, 0755));
	ST("open/directory-creat-new-stat", lstat(P("open/newdir"), &S));
	RFDC("open/trailing-slash-file", open(P("open/f/"), O_RDONLY));
	RFDC("open/trailing-slash-dir", open(P("open/d/"), O_RDONLY));
	RFDC("open/trailing-slash-creat", open(P("open/new/"), O_WRONLY | O_CREAT, 0644));
	RFDC("open/dotdot", open(P("open/d/../f"), O_RDONLY));
	RFDC("open/dot", open(P("open/./f"), O_RDONLY));
	RFDC("open/empty-path", openat(topfd, "", O_RDONLY));

	/* O_TRUNC */
	put("open/t1", "hello world");
	RFDC("open/trunc-rdwr", open(P("open/t1"), O_RDWR | O_TRUNC));
	content("open/trunc-rdwr-content", "open/t1");
	put("open/t2", "hello world");
	RFDC("open/trunc-rdonly", open(P("open/t2"), O_RDONLY | O_TRUNC));
	content("open/trunc-rdonly-content", "open/t2");
	RFDC("open/trunc-new", open(P("open/t3"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
	content("open/trunc-new-content", "open/t3");
	put("open/t4", "hello world");
	RFDC("open/trunc-via-symlink", open(P("open/flink"), O_WRONLY | O_TRUNC));
	content("open/trunc-via-symlink-content", "open/content");

	/* O_APPEND */
	put("open/a", "abc");
	fd = RFD("open/append", open(P("open/a"), O_WRONLY | O_APPEND));
	if (fd >= 0) {
		R("open/append-lseek", lseek(fd, 0, SEEK_SET));
		R("open/append-write", write(fd, "def", 3));
		offset("open/append-offset", fd);
		R("open/append-pwrite", pwrite(fd, "X", 1, 0));
		offset("open/append-offset-after-pwrite", fd);
		close(fd);
	}
	content("open/append-content", "open/a");
	fd = RFD("open/append-rdwr", open(P("open/a"), O_RDWR | O_APPEND));
	if (fd >= 0) {
		rd("open/append-rdwr-read", fd, 3);
		R("open/append-rdwr-write", write(fd, "Y", 1));
		offset("open/append-rdwr-offset", fd);
		close(fd);
	}

	/* O_NOFOLLOW */
	RFDC("open/nofollow-symlink", open(P("open/flink"), O_RDONLY | O_NOFOLLOW));
	RFDC("open/nofollow-file", open(P("open/f"), O_RDONLY | O_NOFOLLOW));
	RFDC("open/nofollow-inner-symlink", open(P("open/dlink/../f"), O_RDONLY | O_NOFOLLOW));
	RFDC("open/nofollow-creat-dangling", open(P("open/dangle"), O_WRONLY | O_CREAT | O_NOFOLLOW, 0644));
	fd = RFD("open/nofollow-path", open(P("open/flink"), O_PATH | O_NOFOLLOW));
	if (fd >= 0) {
		ST("open/nofollow-path-fstat", fstat(fd, &S));
		ST("open/nofollow-path-fstatat", fstatat(fd, "", &S, AT_EMPTY_PATH));
		{
			char b[64];
			ssize_t n = readlinkat(fd, "", b, sizeof(b));

			emit("open/nofollow-path-readlinkat", "readlinkat(fd, \"\") = %zd %s", n,
			     n >= 0 ? esc(b, (size_t)n) : ename(errno));
		}
		close(fd);
	}

	/* O_CLOEXEC */
	fd = RFD("open/cloexec", open(P("open/f"), O_RDONLY | O_CLOEXEC));
	if (fd >= 0) {
		cloexec("open/cloexec-getfd", fd);
		close(fd);
	}
	fd = RFD("open/no-cloexec", open(P("open/f"), O_RDONLY));
	if (fd >= 0) {
		cloexec("open/no-cloexec-getfd", fd);
		close(fd);
	}

	/* O_PATH */
	fd = RFD("open/path-file", open(P("open/f"), O_PATH));
	if (fd >= 0) {
		char b[8];

		R("open/path-read", read(fd, b, sizeof(b)));
		R("open/path-write", write(fd, "x", 1));
		ST("open/path-fstat", fstat(fd, &S));
		R("open/path-getfl", fcntl(fd, F_GETFL) & (O_PATH | O_ACCMODE));
		R("open/path-fchmod", fchmod(fd, 0600));
		R("open/path-fsync", fsync(fd));
		R("open/path-ftruncate", ftruncate(fd, 0));
		close(fd);
	}
	fd = RFD("open/path-dir", open(P("open/d"), O_PATH | O_DIRECTORY));
	if (fd >= 0) {
		RFDC("open/path-dir-openat-parent", openat(fd, "../f", O_RDONLY));
		R("open/path-dir-mkdirat", mkdirat(fd, "sub", 0755));
		ST("open/path-dir-fstatat", fstatat(fd, "sub", &S, 0));
		close(fd);
	}
	RFDC("open/path-noent", open(P("open/missing"), O_PATH));
	/* an O_PATH descriptor keeps its file when the last name goes, by
	 * unlink or by a rename over it (umfs-fuse holds the inode for the
	 * kernel's node) */
	put("open/gone", "gone");
	put("open/over", "over");
	fd = RFD("open/path-unlinked", open(P("open/gone"), O_PATH));
	fd2 = RFD("open/path-renamed-over", open(P("open/over"), O_PATH));
	R("open/path-unlink", unlink(P("open/gone")));
	R("open/path-rename-over", rename(P("open/f"), P("open/over")));
	ST("open/path-unlinked-fstat", fstat(fd, &S));
	ST("open/path-renamed-over-fstat", fstat(fd2, &S));
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	R("open/path-rename-back", rename(P("open/over"), P("open/f")));

	/* O_TMPFILE */
	tmpfile_chain("open/tmpfile");
	RFDC("open/tmpfile-rdonly", open(P("open"), O_TMPFILE | O_RDONLY, 0600));
	RFDC("open/tmpfile-on-file", open(P("open/f"), O_TMPFILE | O_RDWR, 0600));
	RFDC("open/tmpfile-creat", open(P("open"), O_TMPFILE | O_CREAT | O_RDWR, 0600));
	RFDC("open/tmpfile-creat-missing", open(P("open/missing"), O_TMPFILE | O_CREAT | O_RDWR, 0600));

	/* O_SYNC, O_DSYNC, O_DIRECT, O_NONBLOCK, O_NOATIME */
	fd = RFD("open/sync", open(P("open/s"), O_WRONLY | O_CREAT | O_SYNC, 0644));
	if (fd >= 0) {
		R("open/sync-write", write(fd, "sync", 4));
		close(fd);
	}
	fd = RFD("open/dsync", open(P("open/s"), O_WRONLY | O_DSYNC | O_APPEND));
	if (fd >= 0) {
		R("open/dsync-write", write(fd, "dsync", 5));
		close(fd);
	}
	content("open/sync-content", "open/s");
	fd = RFD("open/direct", open(P("open/direct"), O_RDWR | O_CREAT | O_DIRECT, 0644));
	if (fd >= 0) {
		void *b = NULL;

		if (posix_memalign(&b, 4096, 4096) == 0) {
			memset(b, 'D', 4096);
			R("open/direct-write", write(fd, b, 4096));
			R("open/direct-pread", pread(fd, b, 4096, 0));
			free(b);
		}
		close(fd);
	}
	RFDC("open/nonblock", open(P("open/f"), O_RDONLY | O_NONBLOCK));
	RFDC("open/noatime", open(P("open/f"), O_RDONLY | O_NOATIME));
	RFDC("open/largefile", open(P("open/f"), O_RDONLY | O_LARGEFILE));

	/* access modes */
	fd = RFD("open/wronly", open(P("open/f"), O_WRONLY));
	if (fd >= 0) {
		rd("open/wronly-read", fd, 4);
		close(fd);
	}
	fd = RFD("open/rdonly", open(P("open/f"), O_RDONLY));
	if (fd >= 0) {
		R("open/rdonly-write", write(fd, "x", 1));
		rd("open/rdonly-read", fd, 16);
		close(fd);
	}

	/* creat */
	put("open/c", "old content");
	fd = RFD("open/creat-call", creat(P("open/c"), 0644));
	if (fd >= 0) {
		rd("open/creat-call-read", fd, 4);
		R("open/creat-call-write", write(fd, "new", 3));
		close(fd);
	}
	content("open/creat-call-content", "open/c");
	RFDC("open/creat-call-dir", creat(P("open/d"), 0644));
	RFDC("open/creat64", creat64(P("open/c64"), 0600));
	ST("open/creat64-stat", stat(P("open/c64"), &S));
	RFDC("open/open64", open64(P("open/f"), O_RDONLY));

	/* openat */
	fd = open(P("open"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		RFDC("open/openat-rel", openat(fd, "f", O_RDONLY));
		RFDC("open/openat-rel-creat", openat(fd, "d/at", O_WRONLY | O_CREAT, 0600));
		ST("open/openat-rel-creat-stat", stat(P("open/d/at"), &S));
		RFDC("open/openat-dotdot", openat(fd, "../open/f", O_RDONLY));
		RFDC("open/openat64", openat64(fd, "f", O_RDONLY));
		RFDC("open/openat-abs-ignores-dirfd", openat(BADFD, P("open/f"), O_RDONLY));
		RFDC("open/openat-cwd-abs", openat(AT_FDCWD, P("open/f"), O_RDONLY));
		RFDC("open/openat-badfd", openat(BADFD, "f", O_RDONLY));
		RFDC("open/openat-noent", openat(fd, "missing", O_RDONLY));
		close(fd);
	}
	fd = open(P("open/f"), O_RDONLY);
	if (fd >= 0) {
		RFDC("open/openat-filefd", openat(fd, "x", O_RDONLY));
		close(fd);
	}

	/* names and paths too long, loops */
	memset(name, 'n', 255);
	name[255] = 0;
	snprintf(path, sizeof(path), "open/%s", name);
	RFDC("open/name-255", open(P(path), O_WRONLY | O_CREAT, 0644));
	ST("open/name-255-stat", stat(P(path), &S));
	memset(name, 'n', 256);
	name[256] = 0;
	snprintf(path, sizeof(path), "open/%s", name);
	RFDC("open/name-256", open(P(path), O_WRONLY | O_CREAT, 0644));
	RFDC("open/name-256-rdonly", open(P(path), O_RDONLY));
	strcpy(path, P("open"));
	for (i = 0; strlen(path) < PATH_MAX + 10; i++)
		strcat(path, "/./d/..");
	RFDC("open/path-max", open(path, O_RDONLY));
	RFDC("open/loop", open(P("open/loop1"), O_RDONLY));
	RFDC("open/loop-self", open(P("open/self"), O_RDONLY));
	RFDC("open/loop-creat", open(P("open/loop1"), O_WRONLY | O_CREAT, 0644));
	RFDC("open/loop-inner", open(P("open/loop1/x"), O_RDONLY));

	/* unknown flags are ignored by open, refused by openat2 (not served) */
	RFDC("open/unknown-flag", open(P("open/f"), O_RDONLY | 0x40000000));

	/* access mode 3 (O_ACCMODE): permission to read and write is checked,
	 * and the descriptor can do neither (an open for ioctls) */
	put("open/acc3", "three");
	fd = RFD("open/acc3", open(P("open/acc3"), O_ACCMODE));
	if (fd >= 0) {
		char b[8];

		R("open/acc3-getfl", fcntl(fd, F_GETFL) & O_ACCMODE);
		R("open/acc3-read", read(fd, b, sizeof(b)));
		R("open/acc3-pread", pread(fd, b, sizeof(b), 0));
		R("open/acc3-write", write(fd, "x", 1));
		R("open/acc3-ftruncate", ftruncate(fd, 1));
		R("open/acc3-fallocate", fallocate(fd, 0, 0, 4096));
		R("open/acc3-fsync", fsync(fd));
		R("open/acc3-mmap", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED
					    ? -1 : 0);
		R("open/acc3-flock-sh", flock(fd, LOCK_SH));
		R("open/acc3-flock-un", flock(fd, LOCK_UN));
		R("open/acc3-flock-bad", flock(fd, 77));
		R("open/acc3-setlk-rd",
		  fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET }));
		R("open/acc3-setlk-wr",
		  fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET }));
		R("open/acc3-sendfile", sendfile(1, fd, NULL, 1));
		ST("open/acc3-fstat", fstat(fd, &S));
		close(fd);
	}
	RFDC("open/acc3-trunc", open(P("open/acc3"), O_ACCMODE | O_TRUNC));
	ST("open/acc3-trunc-stat", stat(P("open/acc3"), &S));
	RFDC("open/acc3-dir", open(P("open/d"), O_ACCMODE));
	RFDC("open/acc3-creat", open(P("open/acc3-new"), O_ACCMODE | O_CREAT, 0644));
	ST("open/acc3-creat-stat", stat(P("open/acc3-new"), &S));
	RFDC("open/acc3-tmpfile", open(P("open"), O_TMPFILE | O_ACCMODE, 0600));
}

/* ------------------------------------------------------------------ */
/* read, write and the vectored and positioned variants                */
/* ------------------------------------------------------------------ */

static void t_rw(void)
{
	static char one;
	static struct iovec many[IOV_MAX + 1];
	char b[64], b1[4], b2[4], b3[8];
	struct iovec iov[3];
	char *big, *back;
	size_t bign = 3 * 1024 * 1024 + 123, n;
	int fd, fd2, dfd, err;
	ssize_t r;

	for (n = 0; n < ARRAY_SIZE(many); n++)
		many[n] = (struct iovec){ &one, 1 };
	mk("rw");
	fd = RFD("rw/open", open(P("rw/a"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	if (fd < 0)
		return;
	R("rw/write", write(fd, "0123456789", 10));
	offset("rw/write-offset", fd);
	rd("rw/read-at-eof", fd, 4);
	prd("rw/pread", fd, 4, 3);
	prd("rw/pread-short", fd, 8, 6);
	prd("rw/pread-past-eof", fd, 4, 100);
	R("rw/pwrite-past-eof", pwrite(fd, "xy", 2, 20));
	offset("rw/pwrite-offset-unchanged", fd);
	prd("rw/pread-hole", fd, 30, 0);
	R("rw/read-zero", read(fd, b, 0));
	R("rw/write-zero", write(fd, b, 0));
	R("rw/pread-negative", pread(fd, b, 4, -1));
	R("rw/pwrite-negative", pwrite(fd, b, 4, -1));
	R("rw/lseek-set", lseek(fd, 2, SEEK_SET));
	rd("rw/read-after-lseek", fd, 3);
	offset("rw/read-offset", fd);
	R("rw/overwrite", write(fd, "AB", 2));
	content("rw/overwrite-content", "rw/a");

	/* readv/writev */
	R("rw/lseek-0", lseek(fd, 0, SEEK_SET));
	iov[0] = (struct iovec){ b1, 3 };
	iov[1] = (struct iovec){ b2, 0 };
	iov[2] = (struct iovec){ b3, 5 };
	R("rw/readv", readv(fd, iov, 3));
	emit("rw/readv-data", "%s %s", esc(b1, 3), esc(b3, 5));
	offset("rw/readv-offset", fd);
	iov[0] = (struct iovec){ "ab", 2 };
	iov[1] = (struct iovec){ "", 0 };
	iov[2] = (struct iovec){ "cde", 3 };
	R("rw/writev", writev(fd, iov, 3));
	offset("rw/writev-offset", fd);
	R("rw/pwritev", pwritev(fd, iov, 3, 1));
	iov[2] = (struct iovec){ b, 3 };
	R("rw/preadv", preadv(fd, iov + 2, 1, 0));
	emit("rw/preadv-data", "%s", esc(b, 3));
	content("rw/vector-content", "rw/a");
	R("rw/readv-zero", readv(fd, iov, 0));
	R("rw/readv-too-many", readv(fd, many, IOV_MAX + 1));
	R("rw/writev-too-many", writev(fd, many, IOV_MAX + 1));

	/* preadv2/pwritev2 */
	{
		char x[6] = { 0 };
		struct iovec v = { x, 5 };
		struct iovec w = { "v2", 2 };

		R("rw/preadv2-lseek", lseek(fd, 4, SEEK_SET));
		R("rw/preadv2-cur", preadv2(fd, &v, 1, -1, 0));
		emit("rw/preadv2-cur-data", "%s", esc(x, 5));
		offset("rw/preadv2-cur-offset", fd);
		R("rw/preadv2-off", preadv2(fd, &v, 1, 0, 0));
		emit("rw/preadv2-off-data", "%s", esc(x, 5));
		offset("rw/preadv2-off-offset", fd);
		R("rw/pwritev2-cur", pwritev2(fd, &w, 1, -1, 0));
		offset("rw/pwritev2-cur-offset", fd);
		R("rw/pwritev2-dsync", pwritev2(fd, &w, 1, 0, RWF_DSYNC));
		R("rw/pwritev2-append", pwritev2(fd, &w, 1, 0, RWF_APPEND));
		offset("rw/pwritev2-append-offset", fd);
		R("rw/pwritev2-badflag", pwritev2(fd, &w, 1, 0, 0x40000000));
		R("rw/preadv2-badflag", preadv2(fd, &v, 1, 0, 0x40000000));
		R("rw/preadv64v2", preadv64v2(fd, &v, 1, 2, 0));
		R("rw/pwritev64v2", pwritev64v2(fd, &w, 1, 2, 0));
		R("rw/preadv64", preadv64(fd, &v, 1, 0));
		R("rw/pwritev64", pwritev64(fd, &w, 1, 6));
		R("rw/pread64", pread64(fd, x, 3, 1));
		R("rw/pwrite64", pwrite64(fd, "P", 1, 0));
		content("rw/v2-content", "rw/a");

		/* RWF_NOAPPEND (Linux 6.9): this write at its offset, O_APPEND
		 * or not; with RWF_APPEND, refused */
		put("rw/na", "0123456789");
		fd2 = open(P("rw/na"), O_RDWR | O_APPEND);
		R("rw/noappend", pwritev2(fd2, &w, 1, 1, 0x20 /* RWF_NOAPPEND */));
		offset("rw/noappend-offset", fd2);
		R("rw/noappend-cur-lseek", lseek(fd2, 3, SEEK_SET));
		R("rw/noappend-cur", pwritev2(fd2, &w, 1, -1, 0x20));
		offset("rw/noappend-cur-offset", fd2);
		R("rw/noappend-after", write(fd2, "E", 1));
		R("rw/noappend-and-append", pwritev2(fd2, &w, 1, 0, 0x20 | RWF_APPEND));
		R("rw/noappend-read", preadv2(fd2, &v, 1, 0, 0x20));
		R("rw/noappend-and-append-read", preadv2(fd2, &v, 1, 0, 0x20 | RWF_APPEND));
		close(fd2);
		content("rw/noappend-content", "rw/na");
	}

	/* RWF_ flags are looked at last: after the position, the access
	 * mode, the vector and the span, and not for a vector of no bytes */
	{
		char x[4];
		struct iovec v = { x, 3 }, z = { x, 0 };
		int ro = open(P("rw/a"), O_RDONLY), wo = open(P("rw/a"), O_WRONLY);
		int dir = open(P("rw"), O_RDONLY | O_DIRECTORY);
		volatile int neg_count = -1; /* not a constant the compiler warns of */

		R("rw/rwf-order-readonly", pwritev2(ro, &v, 1, 0, 0x40000000));
		R("rw/rwf-order-writeonly", preadv2(wo, &v, 1, 0, 0x40000000));
		R("rw/rwf-order-position", pwritev2(wo, &v, 1, -5, 0x40000000));
		R("rw/rwf-order-position-read", preadv2(ro, &v, 1, -5, 0x40000000));
		R("rw/rwf-order-count", pwritev2(wo, &v, neg_count, 0, 0x40000000));
		R("rw/rwf-order-span", pwritev2(wo, &v, 1, INT64_MAX - 1, 0x40000000));
		R("rw/rwf-order-empty-write", pwritev2(wo, &z, 1, 0, 0x40000000));
		R("rw/rwf-order-empty-read", preadv2(ro, &z, 1, 0, 0x40000000));
		R("rw/rwf-order-empty-both", pwritev2(wo, &z, 1, 0, RWF_APPEND | 0x20));
		R("rw/rwf-order-dir", preadv2(dir, &v, 1, 0, 0x40000000));
		R("rw/rwf-order-dir-empty", preadv2(dir, &z, 1, 0, 0));
		R("rw/rwf-order-dir-readv", readv(dir, &v, 1));
		close(ro);
		close(wo);
		close(dir);
	}

	/* a second, independent open file description */
	fd2 = RFD("rw/second-open", open(P("rw/a"), O_RDONLY));
	if (fd2 >= 0) {
		offset("rw/second-offset", fd2);
		R("rw/first-write", pwrite(fd, "SEEN", 4, 0));
		rd("rw/second-sees-write", fd2, 4);
		R("rw/second-write", write(fd2, "x", 1));
		close(fd2);
	}
	close(fd);

	/* errors */
	R("rw/read-badfd", read(BADFD, b, 1));
	R("rw/write-badfd", write(BADFD, b, 1));
	R("rw/pread-badfd", pread(BADFD, b, 1, 0));
	fd = dup(0);
	if (fd >= 0) {
		close(fd);
		R("rw/read-closed", read(fd, b, 1));
	}
	dfd = open(P("rw"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("rw/read-dir", read(dfd, b, 1));
		R("rw/pread-dir", pread(dfd, b, 1, 0));
		R("rw/write-dir", write(dfd, b, 1));
		close(dfd);
	}
	/* a transfer reaching past the largest offset, before any byte moves */
	fd = openp("rw/a", O_RDWR);
	if (fd >= 0) {
		struct iovec span = { b, 2 };

		R("rw/pwrite-past-largest", pwrite(fd, "xy", 2, 0x7fffffffffffffffLL - 1));
		R("rw/pwrite-to-largest", pwrite(fd, "x", 0, 0x7fffffffffffffffLL));
		R("rw/pread-past-largest", pread(fd, b, 2, 0x7fffffffffffffffLL - 1));
		R("rw/pread-to-largest", pread(fd, b, 1, 0x7fffffffffffffffLL - 1));
		R("rw/preadv-past-largest", preadv(fd, &span, 1, 0x7fffffffffffffffLL - 1));
		R("rw/pwritev-past-largest", pwritev(fd, &span, 1, 0x7fffffffffffffffLL - 1));
		R("rw/lseek-largest", lseek(fd, 0x7fffffffffffffffLL, SEEK_SET));
		R("rw/write-past-largest", write(fd, "x", 1));
		R("rw/read-past-largest", read(fd, b, 1));
		/* an unmapped buffer: the span is refused before it is read */
		R("rw/write-bad-buffer-past-largest", write(fd, (void *)(uintptr_t)getpagesize(), 1));
		close(fd);
	}

	/* big: 3 MiB + 123 in one write, read back in odd chunks */
	big = pattern(bign, 1);
	fd = RFD("rw/big-open", open(P("rw/big"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	if (fd >= 0) {
		R("rw/big-write", write(fd, big, bign));
		R("rw/big-lseek", lseek(fd, 0, SEEK_SET));
		back = malloc(bign + 7777);
		n = 0;
		while ((r = read(fd, back + n, 7777)) > 0)
			n += (size_t)r;
		emit("rw/big-read-chunks", "read 7777 at a time = %zu bytes, %s", n,
		     n == bign && !memcmp(back, big, bign) ? "same" : "DIFFERENT");
		/* a write straddling the 2 MiB boundary, one crossing a page */
		R("rw/big-pwrite-2m", pwrite(fd, "0123456789abcdef", 16, 2 * 1024 * 1024 - 8));
		memcpy(big + 2 * 1024 * 1024 - 8, "0123456789abcdef", 16);
		R("rw/big-pwrite-page", pwrite(fd, "PAGE", 4, 4094));
		memcpy(big + 4094, "PAGE", 4);
		prd("rw/big-pread-2m", fd, 16, 2 * 1024 * 1024 - 8);
		free(back);
		close(fd);
		content_is("rw/big-content", "rw/big", big, bign);
	}
	free(big);

	/* sparse: one byte at 1 MiB */
	fd = RFD("rw/sparse-open", open(P("rw/sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	if (fd >= 0) {
		char z[4096];

		R("rw/sparse-pwrite", pwrite(fd, "E", 1, 1024 * 1024));
		r = pread(fd, z, sizeof(z), 4096);
		emit("rw/sparse-hole-zeros", "pread(fd, 4096, 4096) = %zd %s", r,
		     r == 4096 && all_zero(z, 4096) ? "zeros" : "NOT ZEROS");
		ST("rw/sparse-stat", fstat(fd, &S));
		close(fd);
	}

	/* writes through one name are read through another (hard link) */
	if (link(P("rw/a"), P("rw/a-link")) == 0) {
		ST("rw/hardlink-stat-before", stat(P("rw/a-link"), &S));
		put("rw/a", "via first name");
		ST("rw/hardlink-stat-after", stat(P("rw/a-link"), &S));
		content("rw/hardlink-content", "rw/a-link");
		fd = openp("rw/a-link", O_RDONLY);
		if (fd >= 0) {
			put("rw/a", "changed again, longer");
			ST("rw/hardlink-fstat-open", fstat(fd, &S));
			rd("rw/hardlink-read-open", fd, 64);
			close(fd);
		}
		R("rw/hardlink-chmod", chmod(P("rw/a"), 0600));
		ST("rw/hardlink-chmod-other-name", stat(P("rw/a-link"), &S));
	}

	/* 100 small pieces, across pages */
	{
		struct iovec v[100];
		char pieces[100][61];
		char *exp = malloc(6100), *got = malloc(6100);

		for (n = 0; n < 100; n++) {
			memset(pieces[n], 'A' + (int)(n % 26), 61);
			v[n] = (struct iovec){ pieces[n], 61 };
			memcpy(exp + n * 61, pieces[n], 61);
		}
		fd = openp("rw/iov", O_RDWR | O_CREAT | O_TRUNC);
		if (fd >= 0) {
			R("rw/pwritev-100", pwritev(fd, v, 100, 4000));
			for (n = 0; n < 100; n++)
				memset(pieces[n], 0, 61);
			R("rw/preadv-100", preadv(fd, v, 100, 4000));
			for (n = 0; n < 100; n++)
				memcpy(got + n * 61, pieces[n], 61);
			emit("rw/iov-100-data", "100 pieces of 61 bytes at 4000 = %s",
			     memcmp(exp, got, 6100) ? "DIFFERENT" : "read back");
			close(fd);
		}
		free(exp);
		free(got);
	}
	{
		char *c = slurp("rw/a", &n, &err);

		free(c);
		emit("rw/slurp", "slurp(\"rw/a\") = %zu %s", n, ename(err));
	}
}

/* ------------------------------------------------------------------ */
/* lseek, SEEK_DATA, SEEK_HOLE                                         */
/* ------------------------------------------------------------------ */

#define MiB (1024L * 1024)

static void t_seek(void)
{
	char *buf = pattern(100, 2);
	int fd;
	off_t r;

	mk("seek");
	putn("seek/f", buf, 100);
	free(buf);
	fd = openp("seek/f", O_RDWR);
	if (fd < 0)
		return;
	R("seek/set", lseek(fd, 10, SEEK_SET));
	R("seek/cur", lseek(fd, 5, SEEK_CUR));
	R("seek/cur-back", lseek(fd, -3, SEEK_CUR));
	R("seek/end", lseek(fd, -10, SEEK_END));
	R("seek/end-0", lseek(fd, 0, SEEK_END));
	R("seek/set-negative", lseek(fd, -1, SEEK_SET));
	R("seek/cur-negative", lseek(fd, -1000, SEEK_CUR));
	offset("seek/offset-after-error", fd);
	R("seek/bad-whence", lseek(fd, 0, 99));
	R("seek/lseek64", lseek64(fd, 1000, SEEK_SET));
	R("seek/write-past-eof", write(fd, "z", 1));
	ST("seek/write-past-eof-stat", fstat(fd, &S));
	prd("seek/gap-zeros", fd, 8, 100);
	R("seek/data-dense", lseek(fd, 0, SEEK_DATA));
	R("seek/hole-dense", lseek(fd, 0, SEEK_HOLE));
	R("seek/huge", lseek(fd, 0x7fffffffffffffffLL, SEEK_SET));
	R("seek/cur-past-largest", lseek(fd, 10, SEEK_CUR));
	offset("seek/offset-after-past-largest", fd);
	R("seek/end-past-largest", lseek(fd, 0x7fffffffffffffffLL, SEEK_END));
	close(fd);
	R("seek/badfd", lseek(BADFD, 0, SEEK_SET));

	/* empty file */
	fd = openp("seek/empty", O_RDWR | O_CREAT);
	if (fd >= 0) {
		R("seek/empty-data", lseek(fd, 0, SEEK_DATA));
		R("seek/empty-hole", lseek(fd, 0, SEEK_HOLE));
		R("seek/empty-end", lseek(fd, 0, SEEK_END));
		close(fd);
	}

	/* sparse: 4 KiB of data at 0 and at 8 MiB, a hole between */
	fd = openp("seek/sparse", O_RDWR | O_CREAT);
	if (fd < 0)
		return;
	buf = pattern(4096, 3);
	if (pwrite(fd, buf, 4096, 0) != 4096 || pwrite(fd, buf, 4096, 8 * MiB) != 4096)
		setup_fail("pwrite", "seek/sparse", errno);
	free(buf);
	R("seek/sparse-data-0", lseek(fd, 0, SEEK_DATA));
	r = lseek(fd, 0, SEEK_HOLE);
	emit("seek/sparse-hole-0", "lseek(fd, 0, SEEK_HOLE) = %s",
	     r >= 4096 && r <= 8 * MiB ? "in [4096, 8M]" : ename(errno));
	R("seek/sparse-data-4m", lseek(fd, 4 * MiB, SEEK_DATA));
	R("seek/sparse-hole-4m", lseek(fd, 4 * MiB, SEEK_HOLE));
	R("seek/sparse-hole-8m", lseek(fd, 8 * MiB, SEEK_HOLE));
	R("seek/sparse-data-eof", lseek(fd, 8 * MiB + 4096, SEEK_DATA));
	R("seek/sparse-hole-eof", lseek(fd, 8 * MiB + 4096, SEEK_HOLE));
	R("seek/sparse-data-past-eof", lseek(fd, 9 * MiB, SEEK_DATA));
	R("seek/sparse-data-negative", lseek(fd, -1, SEEK_DATA));
	if (ftruncate(fd, 16 * MiB))
		setup_fail("ftruncate", "seek/sparse", errno);
	R("seek/trailing-hole-data", lseek(fd, 9 * MiB, SEEK_DATA));
	R("seek/trailing-hole-hole", lseek(fd, 9 * MiB, SEEK_HOLE));
	R("seek/trailing-hole-data-8m", lseek(fd, 8 * MiB + 100, SEEK_DATA));
	offset("seek/sparse-offset", fd);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* truncate, ftruncate                                                 */
/* ------------------------------------------------------------------ */

/* Writes n bytes of c, cuts the file to cut, grows it back to n: the
 * bytes past cut must read as zeros. */
static void shrink_grow(const char *name, const char *rel, size_t n, size_t cut)
{
	char *b = malloc(n);
	int fd = openp(rel, O_RDWR | O_CREAT | O_TRUNC);
	int ok = 0;

	if (!b)
		abort();
	if (fd >= 0) {
		memset(b, 'C', n);
		if (write(fd, b, n) == (ssize_t)n && ftruncate(fd, (off_t)cut) == 0 &&
		    ftruncate(fd, (off_t)n) == 0 && pread(fd, b, n, 0) == (ssize_t)n) {
			size_t i;

			ok = 1;
			for (i = 0; i < n; i++)
				if (b[i] != (i < cut ? 'C' : 0))
					ok = 0;
		}
		close(fd);
	}
	emit(name, "write %zu, ftruncate %zu, ftruncate %zu = %s", n, cut, n,
	     ok ? "zeros past the cut" : "WRONG");
	free(b);
}

static void t_trunc(void)
{
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	int fd;

	mk("trunc");
	mk("trunc/d");
	put("trunc/f", "0123456789");
	sl("f", "trunc/link");
	fd = openp("trunc/f", O_RDWR);
	if (fd >= 0) {
		R("trunc/shrink", ftruncate(fd, 4));
		content("trunc/shrink-content", "trunc/f");
		R("trunc/grow", ftruncate(fd, 8));
		content("trunc/grow-content", "trunc/f");
		offset("trunc/offset-unchanged", fd);
		R("trunc/negative", ftruncate(fd, -1));
		R("trunc/ftruncate64", ftruncate64(fd, 6));
		ST("trunc/ftruncate64-stat", fstat(fd, &S));
		R("trunc/write-after-shrink", write(fd, "W", 1));
		content("trunc/write-after-shrink-content", "trunc/f");
		close(fd);
	}
	fd = openp("trunc/f", O_RDONLY);
	if (fd >= 0) {
		R("trunc/ftruncate-rdonly", ftruncate(fd, 0));
		close(fd);
	}
	fd = open(P("trunc/d"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		R("trunc/ftruncate-dir", ftruncate(fd, 0));
		close(fd);
	}
	R("trunc/ftruncate-badfd", ftruncate(BADFD, 0));
	R("trunc/path", truncate(P("trunc/f"), 3));
	content("trunc/path-content", "trunc/f");
	R("trunc/path-symlink", truncate(P("trunc/link"), 2));
	content("trunc/path-symlink-content", "trunc/f");
	R("trunc/path-grow", truncate64(P("trunc/f"), 5));
	content("trunc/path-grow-content", "trunc/f");
	R("trunc/path-noent", truncate(P("trunc/missing"), 0));
	R("trunc/path-dir", truncate(P("trunc/d"), 0));
	R("trunc/path-negative", truncate(P("trunc/f"), -1));
	R("trunc/path-notdir", truncate(P("trunc/f/x"), 0));
	shrink_grow("trunc/zero-tail-page", "trunc/z1", 8192, 100);
	shrink_grow("trunc/zero-tail-cross", "trunc/z2", 5000, 4095);
	shrink_grow("trunc/zero-tail-big", "trunc/z3", 3 * MiB, MiB + 1);
	shrink_grow("trunc/zero-tail-all", "trunc/z4", 10000, 0);

	/* a size change updates mtime */
	utimensat(topfd, "trunc/f", old, 0);
	R("trunc/mtime-truncate", truncate(P("trunc/f"), 1));
	show_times("trunc/mtime-truncate-times", "trunc/f", 0);
	utimensat(topfd, "trunc/f", old, 0);
	fd = openp("trunc/f", O_RDWR);
	if (fd >= 0) {
		R("trunc/mtime-ftruncate", ftruncate(fd, 7));
		close(fd);
	}
	show_times("trunc/mtime-ftruncate-times", "trunc/f", 0);
	/* a big sparse size */
	fd = openp("trunc/huge", O_RDWR | O_CREAT);
	if (fd >= 0) {
		char b[16];

		/* UMFS files go up to 512 GiB */
		R("trunc/huge", ftruncate(fd, 1LL << 38));
		ST("trunc/huge-stat", fstat(fd, &S));
		R("trunc/huge-pread", pread(fd, b, sizeof(b), (1LL << 38) - 8));
		R("trunc/huge-pwrite", pwrite(fd, "end", 3, (1LL << 38) - 3));
		prd("trunc/huge-pread-end", fd, 8, (1LL << 38) - 5);
		R("trunc/huge-back", ftruncate(fd, 0));
		close(fd);
	}
}

/* ------------------------------------------------------------------ */
/* fallocate, posix_fallocate, posix_fadvise                           */
/* ------------------------------------------------------------------ */

static void check_range(const char *name, int fd, off_t off, size_t n, char c)
{
	char *b = malloc(n);
	ssize_t r = pread(fd, b, n, off);
	size_t i;
	int ok = r == (ssize_t)n;

	for (i = 0; ok && i < n; i++)
		if (b[i] != c)
			ok = 0;
	if (c)
		emit(name, "bytes [%lld, +%zu) = %s", (long long)off, n, ok ? "all data" : "NOT ALL DATA");
	else
		emit(name, "bytes [%lld, +%zu) = %s", (long long)off, n, ok ? "zeros" : "NOT ZEROS");
	free(b);
}

static void t_falloc(void)
{
	char *b;
	int fd;
	long r;

	mk("falloc");
	fd = openp("falloc/f", O_RDWR | O_CREAT);
	if (fd < 0)
		return;
	R("falloc/plain", fallocate(fd, 0, 0, MiB));
	ST("falloc/plain-stat", fstat(fd, &S));
	check_range("falloc/plain-zeros", fd, 0, MiB, 0);
	R("falloc/keep-size", fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB));
	ST("falloc/keep-size-stat", fstat(fd, &S));
	R("falloc/inside", fallocate(fd, 0, 1000, 1000));
	ST("falloc/inside-stat", fstat(fd, &S));
	R("falloc/fallocate64", fallocate64(fd, 0, 0, 2 * MiB));
	ST("falloc/fallocate64-stat", fstat(fd, &S));
	R("falloc/len-0", fallocate(fd, 0, 0, 0));
	R("falloc/negative-offset", fallocate(fd, 0, -1, 10));
	R("falloc/punch-no-keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	R("falloc/bad-mode", fallocate(fd, 0x100, 0, 4096));
	close(fd);

	/* holes punched in data */
	b = malloc(16384);
	memset(b, 'C', 16384);
	putn("falloc/p", b, 16384);
	free(b);
	fd = openp("falloc/p", O_RDWR);
	if (fd >= 0) {
		R("falloc/punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
		check_range("falloc/punch-before", fd, 0, 4096, 'C');
		check_range("falloc/punch-hole", fd, 4096, 4096, 0);
		check_range("falloc/punch-after", fd, 8192, 8192, 'C');
		R("falloc/punch-unaligned", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10000, 100));
		check_range("falloc/punch-unaligned-before", fd, 8192, 1808, 'C');
		check_range("falloc/punch-unaligned-hole", fd, 10000, 100, 0);
		check_range("falloc/punch-unaligned-after", fd, 10100, 6284, 'C');
		R("falloc/punch-past-eof", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 12288, MiB));
		ST("falloc/punch-stat", fstat(fd, &S));
		check_range("falloc/punch-past-eof-data", fd, 8192, 1808, 'C');
		R("falloc/punch-seek-data", lseek(fd, 4096, SEEK_DATA));
		R("falloc/punch-seek-hole", lseek(fd, 0, SEEK_HOLE));
		/* ZERO_RANGE: tmpfs lacks it; it must either work or say EOPNOTSUPP */
		r = fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100);
		if (r && errno == EOPNOTSUPP) {
			emit("falloc/zero-range", "fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100) = works or EOPNOTSUPP");
		} else if (r) {
			emit("falloc/zero-range", "fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100) = -1 %s", ename(errno));
		} else {
			char z[100];

			emit("falloc/zero-range", "fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 100) = %s",
			     pread(fd, z, 100, 0) == 100 && all_zero(z, 100) ?
			     "works or EOPNOTSUPP" : "SUCCEEDED BUT NOT ZEROED");
		}
		R("falloc/collapse-range", fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096));
		close(fd);
	}
	/* a hole punched inside a file written in one 4 MiB piece (2 MiB leaves) */
	b = pattern(4 * MiB, 11);
	putn("falloc/big", b, 4 * MiB);
	fd = openp("falloc/big", O_RDWR);
	if (fd >= 0) {
		R("falloc/big-punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, 4096));
		R("falloc/big-punch-2", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * MiB - 100, 200));
		memset(b + MiB, 0, 4096);
		memset(b + 3 * MiB - 100, 0, 200);
		R("falloc/big-write-after", pwrite(fd, "W", 1, MiB + 10));
		b[MiB + 10] = 'W';
		R("falloc/big-ftruncate-inside", ftruncate(fd, 3 * MiB + 7));
		R("falloc/big-ftruncate-grow", ftruncate(fd, 4 * MiB));
		memset(b + 3 * MiB + 7, 0, MiB - 7);
		close(fd);
		content_is("falloc/big-content", "falloc/big", b, 4 * MiB);
	}
	free(b);

	fd = openp("falloc/p", O_RDONLY);
	if (fd >= 0) {
		R("falloc/rdonly", fallocate(fd, 0, 0, 4096));
		RE("falloc/posix-rdonly", posix_fallocate(fd, 0, 4096));
		close(fd);
	}
	fd = openp("falloc/p", O_WRONLY | O_APPEND);
	if (fd >= 0) {
		R("falloc/append", fallocate(fd, 0, 0, 4096));
		close(fd);
	}
	R("falloc/badfd", fallocate(BADFD, 0, 0, 4096));

	/* posix_fallocate */
	fd = openp("falloc/q", O_RDWR | O_CREAT);
	if (fd >= 0) {
		RE("falloc/posix", posix_fallocate(fd, 0, 100000));
		ST("falloc/posix-stat", fstat(fd, &S));
		RE("falloc/posix-inside", posix_fallocate(fd, 10, 100));
		ST("falloc/posix-inside-stat", fstat(fd, &S));
		RE("falloc/posix-64", posix_fallocate64(fd, 0, 200000));
		ST("falloc/posix-64-stat", fstat(fd, &S));
		RE("falloc/posix-len-0", posix_fallocate(fd, 0, 0));
		RE("falloc/posix-negative", posix_fallocate(fd, -1, 10));
		check_range("falloc/posix-zeros", fd, 0, 200000, 0);
		RE("falloc/fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
		RE("falloc/fadvise-dontneed", posix_fadvise(fd, 0, 4096, POSIX_FADV_DONTNEED));
		RE("falloc/fadvise64", posix_fadvise64(fd, 0, 0, POSIX_FADV_WILLNEED));
		RE("falloc/fadvise-bad", posix_fadvise(fd, 0, 0, 99));
		close(fd);
	}
	RE("falloc/fadvise-badfd", posix_fadvise(BADFD, 0, 0, POSIX_FADV_NORMAL));
}

/* ------------------------------------------------------------------ */
/* fsync, fdatasync, sync_file_range, syncfs                           */
/* ------------------------------------------------------------------ */

static void t_sync(void)
{
	int fd;

	mk("sync");
	put("sync/f", "data");
	fd = openp("sync/f", O_RDWR);
	if (fd >= 0) {
		R("sync/fsync", fsync(fd));
		R("sync/fdatasync", fdatasync(fd));
		R("sync/range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
		R("sync/range-all-flags", sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WAIT_BEFORE |
			SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
		R("sync/range-bad-flags", sync_file_range(fd, 0, 0, 0x100));
		R("sync/range-negative", sync_file_range(fd, -1, 0, SYNC_FILE_RANGE_WRITE));
		R("sync/syncfs", syncfs(fd));
		close(fd);
	}
	fd = openp("sync/f", O_RDONLY);
	if (fd >= 0) {
		R("sync/fsync-rdonly", fsync(fd));
		close(fd);
	}
	fd = open(P("sync"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		R("sync/fsync-dir", fsync(fd));
		R("sync/fdatasync-dir", fdatasync(fd));
		close(fd);
	}
	fd = open(P("sync/f"), O_PATH);
	if (fd >= 0) {
		R("sync/fsync-opath", fsync(fd));
		close(fd);
	}
	R("sync/fsync-badfd", fsync(BADFD));
	R("sync/fdatasync-badfd", fdatasync(BADFD));
	/* readahead: a descriptor open for reading, of a regular file */
	{
		static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_PATH };
		static const char *const names[] = { "sync/readahead-rdonly", "sync/readahead-wronly",
						     "sync/readahead-rdwr", "sync/readahead-acc3",
						     "sync/readahead-opath" };

		for (int i = 0; i < 5; i++) {
			fd = open(P("sync/f"), modes[i]);
			R(names[i], readahead(fd, 0, 4096));
			close(fd);
		}
		fd = open(P("sync"), O_RDONLY | O_DIRECTORY);
		R("sync/readahead-dir", readahead(fd, 0, 4096));
		close(fd);
		R("sync/readahead-badfd", readahead(BADFD, 0, 4096));
	}
	content("sync/content", "sync/f");
}

/* ------------------------------------------------------------------ */
/* copy_file_range, sendfile                                           */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t alarms; /* timer signals taken: a call that waited saw one */

static void on_alarm_quiet(int sig)
{
	(void)sig;
	alarms++;
}

static void t_copy(void)
{
	char *src = pattern(10000, 4);
	int in, out, fd;
	loff_t oi, oo;
	off_t so;

	mk("copy");
	mk("copy/d");
	putn("copy/src", src, 10000);
	in = openp("copy/src", O_RDONLY);
	out = openp("copy/dst", O_RDWR | O_CREAT | O_TRUNC);
	if (in < 0 || out < 0)
		goto out;
	oi = 100;
	oo = 0;
	R("copy/offsets", copy_file_range(in, &oi, out, &oo, 5000, 0));
	emit("copy/offsets-after", "off_in=%lld off_out=%lld", (long long)oi, (long long)oo);
	offset("copy/offsets-src-offset", in);
	offset("copy/offsets-dst-offset", out);
	content_is("copy/offsets-content", "copy/dst", src + 100, 5000);
	R("copy/no-offsets-lseek", lseek(in, 9000, SEEK_SET));
	R("copy/no-offsets", copy_file_range(in, NULL, out, NULL, 5000, 0));
	offset("copy/no-offsets-src-offset", in);
	offset("copy/no-offsets-dst-offset", out);
	oi = 9990;
	oo = 0;
	R("copy/short", copy_file_range(in, &oi, out, &oo, 100, 0));
	oi = 20000;
	R("copy/past-eof", copy_file_range(in, &oi, out, &oo, 100, 0));
	oi = 0;
	oo = MiB;
	R("copy/into-hole", copy_file_range(in, &oi, out, &oo, 10, 0));
	ST("copy/into-hole-stat", fstat(out, &S));
	oi = 0;
	oo = 0;
	R("copy/flags", copy_file_range(in, &oi, out, &oo, 10, 1));
	fd = openp("copy/wo", O_WRONLY | O_CREAT);
	if (fd >= 0) {
		R("copy/from-wronly", copy_file_range(fd, NULL, out, NULL, 10, 0));
		close(fd);
	}
	oi = 0;
	oo = 10;
	R("copy/same-overlap", copy_file_range(out, &oi, out, &oo, 100, 0));
	oi = 0;
	oo = 20000;
	R("copy/same-apart", copy_file_range(out, &oi, out, &oo, 100, 0));
	R("copy/to-rdonly", copy_file_range(out, NULL, in, NULL, 10, 0));
	R("copy/badfd", copy_file_range(BADFD, NULL, out, NULL, 10, 0));
	fd = open(P("copy/d"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		R("copy/from-dir", copy_file_range(fd, NULL, out, NULL, 10, 0));
		close(fd);
	}
	fd = openp("copy/app", O_WRONLY | O_CREAT | O_APPEND);
	if (fd >= 0) {
		R("copy/to-append", copy_file_range(in, NULL, fd, NULL, 10, 0));
		close(fd);
	}
	close(out);
	/* copying a range of holes gives zeros */
	fd = openp("copy/holes", O_RDWR | O_CREAT | O_TRUNC);
	out = openp("copy/from-holes", O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0 && out >= 0 && pwrite(fd, "end", 3, 3 * MiB) == 3 && pwrite(out, src, 10000, 0) == 10000) {
		char z[10000];

		oi = MiB;
		oo = 0;
		R("copy/from-holes", copy_file_range(fd, &oi, out, &oo, 10000, 0));
		R("copy/from-holes-pread", pread(out, z, sizeof(z), 0));
		emit("copy/from-holes-zeros", "bytes [0, 10000) = %s", all_zero(z, 10000) ? "zeros" : "NOT ZEROS");
	}
	if (fd >= 0)
		close(fd);
	if (out >= 0)
		close(out);

	/* sendfile */
	out = openp("copy/sent", O_RDWR | O_CREAT | O_TRUNC);
	if (out < 0)
		goto out;
	so = 0;
	R("copy/sendfile-offset", sendfile(out, in, &so, 4000));
	emit("copy/sendfile-offset-after", "offset=%lld", (long long)so);
	R("copy/sendfile-lseek", lseek(in, 1000, SEEK_SET));
	R("copy/sendfile-no-offset", sendfile(out, in, NULL, 3000));
	offset("copy/sendfile-src-offset", in);
	offset("copy/sendfile-dst-offset", out);
	so = 9000;
	R("copy/sendfile-short", sendfile64(out, in, &so, 5000));
	so = 10000;
	R("copy/sendfile-eof", sendfile(out, in, &so, 5000));
	R("copy/sendfile-from-wronly", sendfile(in, out, NULL, 10));
	R("copy/sendfile-badfd", sendfile(out, BADFD, NULL, 10));
	close(out);
	/* one description both source and destination: read from where its
	 * offset stood, written there (the same bytes), the offset moved once */
	fd = openp("copy/self", O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0 && write(fd, src, 10000) == 10000) {
		R("copy/sendfile-self-lseek", lseek(fd, 1000, SEEK_SET));
		R("copy/sendfile-self", sendfile(fd, fd, NULL, 3000));
		offset("copy/sendfile-self-offset", fd);
		content("copy/sendfile-self-content", "copy/self");
	}
	if (fd >= 0)
		close(fd);
	{
		char *exp = malloc(8000);

		memcpy(exp, src, 4000);
		memcpy(exp + 4000, src + 1000, 3000);
		memcpy(exp + 7000, src + 9000, 1000);
		content_is("copy/sendfile-content", "copy/sent", exp, 8000);
		free(exp);
	}

	/* the kernel's checks of sendfile, splice and copy_file_range's
	 * arguments: O_APPEND, a directory, no pipe, flags, offsets */
	{
		int ap = open(P("copy/sent"), O_WRONLY | O_APPEND), d = open(P("copy"), O_RDONLY);
		int p[2] = { -1, -1 }, w = open(P("copy/sent"), O_RDWR);
		off64_t o;

		R("copy/sendfile-to-append", sendfile(ap, in, NULL, 1));
		R("copy/sendfile-from-dir", sendfile(w, d, NULL, 1));
		if (pipe(p) == 0) {
			R("copy/splice-to-pipe", splice(in, NULL, p[1], NULL, 3, 0));
			R("copy/splice-pipe-to-append", splice(p[0], NULL, ap, NULL, 1, 0));
			R("copy/splice-file-to-file", splice(in, NULL, w, NULL, 1, 0));
			R("copy/splice-bad-flags", splice(in, NULL, p[1], NULL, 1, 0x100));
			R("copy/splice-empty-bad-flags", splice(in, NULL, p[1], NULL, 0, 0x100));
			R("copy/splice-from-dir", splice(d, NULL, p[1], NULL, 1, 0));
			o = 0;
			R("copy/splice-pipe-offset", splice(p[0], &o, w, NULL, 1, 0));
			R("copy/splice-pipe-offset-out", splice(in, NULL, p[1], &o, 1, 0));
			o = -1;
			R("copy/splice-offset-minus-1", splice(in, &o, p[1], NULL, 1, 0));
			R("copy/splice-to-offset-minus-1", splice(p[0], NULL, w, &o, 1, 0));
			o = INT64_MAX - 10;
			R("copy/splice-to-past-max", splice(p[0], NULL, w, &o, 100, 0));
			R("copy/splice-from-past-max", splice(in, &o, p[1], NULL, 100, 0));
			R("copy/splice-len-huge", splice(in, NULL, p[1], NULL, SIZE_MAX, 0));
			R("copy/splice-to-len-huge", splice(p[0], NULL, w, NULL, SIZE_MAX, 0));
			o = 2;
			R("copy/splice-offset-moves", splice(in, &o, p[1], NULL, 3, 0));
			emit("copy/splice-offset-moved", "offset=%lld", (long long)o);
			so = INT64_MAX - 10;
			R("copy/sendfile-past-max", sendfile(w, in, &so, 100));
			emit("copy/sendfile-past-max-offset", "offset=%lld", (long long)so);
			R("copy/sendfile-count-huge", sendfile(w, in, NULL, SIZE_MAX));
			R("copy/sendfile-from-pipe", sendfile(w, p[0], NULL, 1));
			close(p[0]);
			close(p[1]);
		}
		o = -1;
		R("copy/cfr-in-minus-1", copy_file_range(in, &o, w, NULL, 1, 0));
		o = -1;
		R("copy/cfr-in-minus-1-empty", copy_file_range(in, &o, w, NULL, 0, 0));
		o = -5;
		R("copy/cfr-out-minus-5-short", copy_file_range(in, NULL, w, &o, 3, 0));
		o = -1;
		R("copy/cfr-badfd-minus-1", copy_file_range(BADFD, &o, w, NULL, 1, 0));
		close(ap);
		close(d);
		close(w);
	}

	/* a descriptor of access mode 3 neither reads nor writes: EBADF
	 * before the other checks; SPLICE_F_NONBLOCK never waits on the pipe
	 * (a wait is cut by a timer's signal, EINTR, so that it fails the check) */
	{
		struct sigaction sa = { .sa_handler = on_alarm_quiet }, old_sa;
		int m3 = open(P("copy/src"), 3), w = open(P("copy/sent"), O_RDWR);
		int ap = open(P("copy/sent"), O_WRONLY | O_APPEND), p[2] = { -1, -1 };
		char buf[4096] = { 0 };
		off64_t o;

		struct itimerval every = { { 2, 0 }, { 2, 0 } }, off = { { 0, 0 }, { 0, 0 } };

		sigaction(SIGALRM, &sa, &old_sa);
		setitimer(ITIMER_REAL, &every, NULL);
		if (m3 >= 0 && w >= 0 && ap >= 0 && pipe(p) == 0) {
			R("copy/m3-cfr-from", copy_file_range(m3, NULL, w, NULL, 4, 0));
			R("copy/m3-cfr-to", copy_file_range(in, NULL, m3, NULL, 4, 0));
			o = -1;
			R("copy/m3-cfr-from-wrapping", copy_file_range(m3, &o, w, NULL, 4, 0));
			R("copy/m3-sendfile-from", sendfile(w, m3, NULL, 4));
			R("copy/m3-sendfile-to", sendfile(m3, in, NULL, 4));
			R("copy/m3-sendfile-to-append", sendfile(ap, m3, NULL, 4));
			R("copy/m3-splice-to-pipe", splice(m3, NULL, p[1], NULL, 4, 0));
			R("copy/m3-splice-from-pipe", splice(p[0], NULL, m3, NULL, 4, SPLICE_F_NONBLOCK));
			R("copy/m3-splice-to-file", splice(m3, NULL, w, NULL, 4, 0));
			R("copy/nb-from-empty-pipe", splice(p[0], NULL, w, NULL, 4, SPLICE_F_NONBLOCK));
			/* the pipe full: nothing moves, the offset stays */
			R("copy/nb-lseek", lseek(in, 0, SEEK_SET));
			fcntl(p[1], F_SETFL, O_NONBLOCK);
			while (write(p[1], buf, sizeof(buf)) > 0)
				;
			fcntl(p[1], F_SETFL, 0);
			R("copy/nb-to-full-pipe", splice(in, NULL, p[1], NULL, 4, SPLICE_F_NONBLOCK));
			offset("copy/nb-to-full-pipe-offset", in);
			/* room for two buffers: what fits moves, in order */
			R("copy/nb-drain-two", read(p[0], buf, sizeof(buf)) + read(p[0], buf, sizeof(buf)));
			R("copy/nb-to-pipe-room", splice(in, NULL, p[1], NULL, 10000, SPLICE_F_NONBLOCK));
			offset("copy/nb-to-pipe-room-offset", in);
			{
				/* 14 buffers of the zeros that filled it, then the file's 8192 */
				static char got[16 * 4096];
				ssize_t n, all = 0;

				fcntl(p[0], F_SETFL, O_NONBLOCK);
				while ((n = read(p[0], got + all, sizeof(got) - (size_t)all)) > 0)
					all += n;
				emit("copy/nb-to-pipe-room-bytes", "%zd bytes in the pipe, the last 8192 %s the file's first",
				     all, all >= 8192 && !memcmp(got + all - 8192, src, 8192) ? "are" : "are NOT");
			}
			fcntl(p[0], F_SETFL, 0);
			/* bytes waiting in the pipe go into the file at once */
			R("copy/nb-pipe-write", write(p[1], "piped", 5));
			R("copy/nb-from-pipe", splice(p[0], NULL, w, NULL, 100, SPLICE_F_NONBLOCK));
			R("copy/nb-from-pipe-empty-again", splice(p[0], NULL, w, NULL, 100, SPLICE_F_NONBLOCK));
			close(p[1]);
			R("copy/nb-from-pipe-closed", splice(p[0], NULL, w, NULL, 100, SPLICE_F_NONBLOCK));
			close(p[0]);
		}
		/* a blocking splice into a pipe moves what the pipe takes and
		 * returns: the caller, its only reader, drains it after */
		if (pipe(p) == 0) {
			int big = openp("copy/big", O_RDWR | O_CREAT | O_TRUNC);
			static char chunk[256 << 10];
			ssize_t got = 0, n;

			if (big >= 0 && pwrite(big, chunk, sizeof(chunk), 0) == (ssize_t)sizeof(chunk)) {
				sig_atomic_t before = alarms;

				R("copy/to-pipe-past-its-size", splice(big, NULL, p[1], NULL, sizeof(chunk), 0));
				emit("copy/to-pipe-past-its-size-waited", "it waited for the timer: %s",
				     alarms != before ? "yes" : "no");
				offset("copy/to-pipe-past-its-size-offset", big);
				fcntl(p[0], F_SETFL, O_NONBLOCK);
				while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
					got += n;
				emit("copy/to-pipe-past-its-size-held", "the pipe held %zd bytes", got);
				/* bytes waiting: a blocking splice out takes them, waits for no more */
				R("copy/from-pipe-waiting", write(p[1], "abc", 3));
				fcntl(p[0], F_SETFL, 0);
				R("copy/from-pipe-more-than-held", splice(p[0], NULL, big, NULL, 100000, 0));
			}
			if (big >= 0)
				close(big);
			close(p[0]);
			close(p[1]);
		}
		setitimer(ITIMER_REAL, &off, NULL);
		sigaction(SIGALRM, &old_sa, NULL);
		if (m3 >= 0)
			close(m3);
		if (w >= 0)
			close(w);
		if (ap >= 0)
			close(ap);
		content("copy/nb-content", "copy/sent");
	}
out:
	if (in >= 0)
		close(in);
	free(src);
}

/* ------------------------------------------------------------------ */
/* stat, lstat, fstat, fstatat, statx, the __xstat family              */
/* ------------------------------------------------------------------ */

static void show_statx(const char *name, const char *call, int r, int e, const struct statx *sx)
{
	if (r) {
		emit(name, "%s = %d %s", call, r, ename(e));
		return;
	}
	emit(name, "%s = basic=%s %s mode=%04o nlink=%u uid=%u gid=%u size=%llu", call,
	     (sx->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS ? "all" : "PARTIAL",
	     ftype(sx->stx_mode), sx->stx_mode & 07777, sx->stx_nlink, sx->stx_uid, sx->stx_gid,
	     S_ISDIR(sx->stx_mode) ? 0ULL : (unsigned long long)sx->stx_size);
}

#define STX(name, expr) ({						\
	int rx_, ex_;							\
	errno = 0;							\
	rx_ = (expr);							\
	ex_ = errno;							\
	show_statx(name, #expr, rx_, ex_, &sx);				\
})

/*
 * The pre-2.33 entry points that older binaries link, referenced by their
 * version as such a binary does (.symver), so that the dynamic linker
 * resolves them as it would for it: an interposer's unversioned definition
 * wins. (dlvsym() would not do: it wants the exact version, and skips
 * interposers.)
 */
extern int old_xstat(int ver, const char *path, struct stat *st);
extern int old_lxstat(int ver, const char *path, struct stat *st);
extern int old_xstat64(int ver, const char *path, struct stat *st);
extern int old_fxstat(int ver, int fd, struct stat *st);
extern int old_fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
__asm__(".symver old_xstat, __xstat@GLIBC_2.2.5");
__asm__(".symver old_lxstat, __lxstat@GLIBC_2.2.5");
__asm__(".symver old_xstat64, __xstat64@GLIBC_2.2.5");
__asm__(".symver old_fxstat, __fxstat@GLIBC_2.2.5");
__asm__(".symver old_fxstatat, __fxstatat@GLIBC_2.4");

static void t_xstat(void)
{
	int fd;

	ST("stat/xstat", old_xstat(1, P("stat/l"), &S));
	ST("stat/xstat-noent", old_xstat(1, P("stat/missing"), &S));
	ST("stat/lxstat", old_lxstat(1, P("stat/l"), &S));
	ST("stat/xstat64", old_xstat64(1, P("stat/f"), &S));
	fd = open(P("stat/f"), O_RDONLY);
	if (fd >= 0) {
		ST("stat/fxstat", old_fxstat(1, fd, &S));
		close(fd);
	}
	ST("stat/fxstat-badfd", old_fxstat(1, BADFD, &S));
	ST("stat/fxstatat", old_fxstatat(1, topfd, "stat/l", &S, AT_SYMLINK_NOFOLLOW));
	ST("stat/xstat-badver", old_xstat(99, P("stat/f"), &S));
}

/* name_to_handle_at: the lookup's errors as the kernel's. A file system
 * may give out no handles (EOPNOTSUPP): UMFS gives none, tmpfs does, so a
 * handle had and EOPNOTSUPP read alike here. */
static void handle_check(const char *name, int dirfd, const char *path, int flags)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id, r;

	h->handle_bytes = MAX_HANDLE_SZ;
	errno = 0;
	r = name_to_handle_at(dirfd, path, h, &mount_id, flags);
	emit(name, "name_to_handle_at = %s",
	     r == 0 || errno == EOPNOTSUPP ? "a handle, or none given (EOPNOTSUPP)" : ename(errno));
	free(h);
}

/* ftok: the key of the file's inode and device, as glibc makes it. */
static void ftok_check(const char *name, const char *rel, int id)
{
	key_t k;

	errno = 0;
	k = ftok(P(rel), id);
	if (k == (key_t)-1) {
		emit(name, "ftok = -1 %s", ename(errno));
		return;
	}
	if (stat(P(rel), &S))
		setup_fail("stat", rel, errno);
	emit(name, "ftok = %s", k == (key_t)((S.st_ino & 0xffff) | ((S.st_dev & 0xff) << 16) |
					    (((unsigned)id & 0xff) << 24))
				     ? "the key of stat's inode and device"
				     : "NOT the key of stat's inode and device");
}

static void t_handles(void)
{
	int fd = open(P("stat/f"), O_RDONLY);

	ftok_check("stat/ftok", "stat/f", 0x1234);
	ftok_check("stat/ftok-link", "stat/l", 7);
	ftok_check("stat/ftok-missing", "stat/missing", 7);
	ftok_check("stat/ftok-dangling", "stat/dangle", 7);
	handle_check("stat/handle-file", topfd, "stat/f", 0);
	handle_check("stat/handle-missing", topfd, "stat/missing", 0);
	handle_check("stat/handle-dangling", topfd, "stat/dangle", 0);
	handle_check("stat/handle-dangling-follow", topfd, "stat/dangle", AT_SYMLINK_FOLLOW);
	handle_check("stat/handle-loop-follow", topfd, "stat/sl1", AT_SYMLINK_FOLLOW);
	handle_check("stat/handle-notdir", topfd, "stat/f/x", 0);
	handle_check("stat/handle-bad-flags", topfd, "stat/f", 0x8000);
	handle_check("stat/handle-empty-path", fd, "", AT_EMPTY_PATH);
	handle_check("stat/handle-empty-path-no-flag", fd, "", 0);
	if (fd >= 0)
		close(fd);
}

static void t_stat(void)
{
	struct statx sx;
	struct stat a, b;
	char *data = pattern(10000, 5);
	char name[300];
	int fd, dfd;

	mk("stat");
	mk("stat/d");
	putn("stat/f", data, 10);
	putn("stat/dense", data, 10000);
	free(data);
	sl("f", "stat/l");
	sl("d", "stat/dl");
	sl("nowhere", "stat/dangle");
	sl("sl1", "stat/sl2");
	sl("sl2", "stat/sl1");
	if (link(P("stat/f"), P("stat/h")))
		setup_fail("link", "stat/h", errno);
	fd = openp("stat/sparse", O_RDWR | O_CREAT);
	if (fd >= 0) {
		if (pwrite(fd, "x", 1, 64 * MiB) != 1)
			setup_fail("pwrite", "stat/sparse", errno);
		close(fd);
	}
	fd = openp("stat/empty", O_RDWR | O_CREAT);
	if (fd >= 0)
		close(fd);

	ST("stat/stat-file", stat(P("stat/f"), &S));
	ST("stat/lstat-file", lstat(P("stat/f"), &S));
	ST("stat/stat-symlink", stat(P("stat/l"), &S));
	ST("stat/lstat-symlink", lstat(P("stat/l"), &S));
	ST("stat/stat-dir", stat(P("stat/d"), &S));
	ST("stat/stat-dirlink", stat(P("stat/dl"), &S));
	ST("stat/lstat-dirlink", lstat(P("stat/dl"), &S));
	ST("stat/stat-dangling", stat(P("stat/dangle"), &S));
	ST("stat/lstat-dangling", lstat(P("stat/dangle"), &S));
	ST("stat/stat-noent", stat(P("stat/missing"), &S));
	ST("stat/stat-notdir", stat(P("stat/f/x"), &S));
	ST("stat/stat-loop", stat(P("stat/sl1"), &S));
	ST("stat/lstat-loop", lstat(P("stat/sl1"), &S));
	ST("stat/stat-trailing-slash-file", stat(P("stat/f/"), &S));
	ST("stat/stat-trailing-slash-dir", stat(P("stat/d/"), &S));
	ST("stat/stat-trailing-slash-symlink", stat(P("stat/l/"), &S));
	ST("stat/lstat-trailing-slash-dirlink", lstat(P("stat/dl/"), &S));
	ST("stat/stat-top", stat(P("."), &S));
	ST("stat/stat64", stat64(P("stat/f"), (struct stat64 *)&S));
	ST("stat/lstat64", lstat64(P("stat/l"), (struct stat64 *)&S));
	memset(name, 'x', 256);
	name[256] = 0;
	ST("stat/stat-name-256", stat(P(name), &S));
	R("stat/stat-empty", stat("", &S));
	ST("stat/stat-empty-file", stat(P("stat/empty"), &S));

	/* fstat, fstatat */
	fd = open(P("stat/f"), O_RDONLY);
	if (fd >= 0) {
		ST("stat/fstat", fstat(fd, &S));
		ST("stat/fstat64", fstat64(fd, (struct stat64 *)&S));
		ST("stat/fstatat-empty-path", fstatat(fd, "", &S, AT_EMPTY_PATH));
		ST("stat/fstatat-empty-no-flag", fstatat(fd, "", &S, 0));
		ST("stat/fstatat-filefd-rel", fstatat(fd, "x", &S, 0));
		close(fd);
	}
	ST("stat/fstat-badfd", fstat(BADFD, &S));
	dfd = open(P("stat"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		ST("stat/fstatat", fstatat(dfd, "l", &S, 0));
		ST("stat/fstatat-nofollow", fstatat(dfd, "l", &S, AT_SYMLINK_NOFOLLOW));
		ST("stat/fstatat-dotdot", fstatat(dfd, "../stat/d", &S, 0));
		ST("stat/fstatat-dir-empty-path", fstatat(dfd, "", &S, AT_EMPTY_PATH));
		ST("stat/fstatat-bad-flag", fstatat(dfd, "f", &S, 0x1));
		ST("stat/fstatat64", fstatat64(dfd, "dl", (struct stat64 *)&S, AT_SYMLINK_NOFOLLOW));
		ST("stat/fstatat-noautomount", fstatat(dfd, "f", &S, AT_NO_AUTOMOUNT));
		close(dfd);
	}
	ST("stat/fstatat-badfd", fstatat(BADFD, "f", &S, 0));
	ST("stat/fstatat-cwd-abs", fstatat(AT_FDCWD, P("stat/f"), &S, 0));
	ST("stat/fstatat-badfd-abs", fstatat(BADFD, P("stat/f"), &S, 0));

	/* identity and sizes */
	same_ino("stat/ino-hardlink", "stat/f", "stat/h");
	same_ino("stat/ino-symlink", "stat/f", "stat/l");
	same_ino("stat/ino-distinct", "stat/f", "stat/d");
	same_ino("stat/ino-dotdot", "stat/d/..", "stat");
	fd = open(P("stat/f"), O_RDONLY);
	if (fd >= 0 && fstat(fd, &a) == 0 && stat(P("stat/f"), &b) == 0)
		emit("stat/ino-fstat", "fstat(fd) vs stat(\"stat/f\") = %s",
		     a.st_ino == b.st_ino && a.st_dev == b.st_dev ? "same" : "different");
	if (fd >= 0)
		close(fd);
	if (stat(P("stat/dense"), &a) == 0)
		emit("stat/blocks-dense", "st_blocks * 512 >= st_size = %s, st_blksize > 0 = %s",
		     a.st_blocks * 512 >= a.st_size ? "yes" : "no", a.st_blksize > 0 ? "yes" : "no");
	if (stat(P("stat/sparse"), &a) == 0)
		emit("stat/blocks-sparse", "st_blocks * 512 < st_size = %s",
		     a.st_blocks * 512 < a.st_size ? "yes" : "no");
	if (stat(P("stat/empty"), &a) == 0)
		emit("stat/blocks-empty", "st_blocks = %lld", (long long)a.st_blocks);
	if (mkdir(P("stat/d/sub"), 0755) == 0)
		ST("stat/dir-nlink-sub", stat(P("stat/d"), &S));

	/* statx */
	STX("stat/statx", statx(topfd, "stat/f", 0, STATX_BASIC_STATS, &sx));
	STX("stat/statx-symlink", statx(topfd, "stat/l", 0, STATX_BASIC_STATS, &sx));
	STX("stat/statx-nofollow", statx(topfd, "stat/l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
	STX("stat/statx-dir", statx(topfd, "stat/d", 0, STATX_BASIC_STATS, &sx));
	STX("stat/statx-noent", statx(topfd, "stat/missing", 0, STATX_BASIC_STATS, &sx));
	STX("stat/statx-abs", statx(AT_FDCWD, P("stat/h"), 0, STATX_BASIC_STATS, &sx));
	STX("stat/statx-bad-flags", statx(topfd, "stat/f", 0x40000000, STATX_BASIC_STATS, &sx));
	STX("stat/statx-reserved-mask", statx(topfd, "stat/f", 0, STATX__RESERVED, &sx));
	STX("stat/statx-sync", statx(topfd, "stat/f", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx));
	memset(&sx, 0, sizeof(sx));
	R("stat/statx-size-only", statx(topfd, "stat/dense", AT_STATX_DONT_SYNC, STATX_SIZE, &sx) ?:
	  (long)sx.stx_size);
	fd = open(P("stat/f"), O_RDONLY);
	if (fd >= 0) {
		STX("stat/statx-empty-path", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
		if (fstat(fd, &a) == 0)
			emit("stat/statx-ino", "statx ino vs fstat ino = %s",
			     sx.stx_ino == a.st_ino ? "same" : "different");
		close(fd);
	}
	t_xstat();
	t_handles();
}

/* ------------------------------------------------------------------ */
/* access, faccessat                                                   */
/* ------------------------------------------------------------------ */

static void t_access(void)
{
	mk("access");
	mk("access/d");
	put("access/f", "x");
	put("access/x", "x");
	put("access/n", "x");
	chmod(P("access/x"), 0755);
	chmod(P("access/n"), 0);
	sl("nowhere", "access/dangle");
	sl("f", "access/l");

	R("access/f-ok", access(P("access/f"), F_OK));
	R("access/rw", access(P("access/f"), R_OK | W_OK));
	R("access/x-on-0644", access(P("access/f"), X_OK));
	R("access/x-on-0755", access(P("access/x"), X_OK));
	R("access/rw-on-0000", access(P("access/n"), R_OK | W_OK));
	R("access/x-on-0000", access(P("access/n"), X_OK));
	R("access/x-dir", access(P("access/d"), X_OK));
	R("access/noent", access(P("access/missing"), F_OK));
	R("access/dangling", access(P("access/dangle"), F_OK));
	R("access/symlink", access(P("access/l"), R_OK));
	R("access/notdir", access(P("access/f/x"), F_OK));
	R("access/bad-mode", access(P("access/f"), 0100));
	R("access/faccessat", faccessat(topfd, "access/f", R_OK, 0));
	R("access/faccessat-nofollow", faccessat(topfd, "access/dangle", F_OK, AT_SYMLINK_NOFOLLOW));
	R("access/faccessat-eaccess", faccessat(topfd, "access/x", X_OK, AT_EACCESS));
	R("access/faccessat-bad-flag", faccessat(topfd, "access/f", F_OK, 0x1));
	R("access/faccessat-badfd", faccessat(BADFD, "access/f", F_OK, 0));
	R("access/euidaccess", euidaccess(P("access/f"), W_OK));
}

/* ------------------------------------------------------------------ */
/* statfs, fstatfs, statvfs, fstatvfs                                  */
/* ------------------------------------------------------------------ */

static void t_statfs(void)
{
	struct statfs a, b;
	struct statvfs v;
	char *buf;
	int fd;

	mk("statfs");
	put("statfs/f", "x");
	if (statfs(P("statfs"), &a) == 0)
		emit("statfs/statfs", "statfs(\"statfs\") = namelen=%ld bsize>0=%d blocks>0=%d "
		     "bfree<=blocks=%d bavail<=bfree=%d", (long)a.f_namelen, a.f_bsize > 0,
		     a.f_blocks > 0, a.f_bfree <= a.f_blocks, a.f_bavail <= a.f_bfree);
	else
		emit("statfs/statfs", "statfs = -1 %s", ename(errno));
	R("statfs/statfs-noent", statfs(P("statfs/missing"), &a));
	R("statfs/statfs-file", statfs(P("statfs/f"), &a));
	fd = open(P("statfs/f"), O_RDONLY);
	if (fd >= 0) {
		if (fstatfs(fd, &b) == 0 && statfs(P("statfs"), &a) == 0)
			emit("statfs/fstatfs", "fstatfs(fd) = namelen=%ld, blocks same as statfs = %s",
			     (long)b.f_namelen, a.f_blocks == b.f_blocks ? "yes" : "no");
		else
			emit("statfs/fstatfs", "fstatfs(fd) = -1 %s", ename(errno));
		if (fstatvfs(fd, &v) == 0)
			emit("statfs/fstatvfs", "fstatvfs(fd) = namemax=%lu rdonly=%d",
			     v.f_namemax, !!(v.f_flag & ST_RDONLY));
		else
			emit("statfs/fstatvfs", "fstatvfs(fd) = -1 %s", ename(errno));
		close(fd);
	}
	R("statfs/fstatfs-badfd", fstatfs(BADFD, &a));
	if (statvfs(P("statfs"), &v) == 0)
		emit("statfs/statvfs", "statvfs(\"statfs\") = namemax=%lu rdonly=%d frsize>0=%d "
		     "bfree<=blocks=%d", v.f_namemax, !!(v.f_flag & ST_RDONLY), v.f_frsize > 0,
		     v.f_bfree <= v.f_blocks);
	else
		emit("statfs/statvfs", "statvfs = -1 %s", ename(errno));
	R("statfs/statvfs-noent", statvfs(P("statfs/missing"), &v));

	/* free space goes down by about what is written, and back */
	buf = pattern(8 * MiB, 6);
	if (statfs(P("statfs"), &a) == 0 && putn("statfs/big", buf, 8 * MiB) == 0 &&
	    statfs(P("statfs"), &b) == 0) {
		long long used = ((long long)a.f_bfree - (long long)b.f_bfree) * (long long)a.f_bsize;

		emit("statfs/bfree-write", "8 MiB written: free space down by [8M, 12M] = %s",
		     used >= 8 * MiB && used <= 12 * MiB ? "yes" : "no");
		if (unlink(P("statfs/big")) == 0 && statfs(P("statfs"), &b) == 0)
			emit("statfs/bfree-unlink", "unlinked: free space back = %s",
			     b.f_bfree >= a.f_bfree ? "yes" : "no");
	}
	/* a file unlinked while open keeps its space until closed */
	if (statfs(P("statfs"), &a) == 0 && putn("statfs/big2", buf, 8 * MiB) == 0) {
		fd = open(P("statfs/big2"), O_RDONLY);
		if (fd >= 0 && unlink(P("statfs/big2")) == 0 && statfs(P("statfs"), &b) == 0) {
			emit("statfs/bfree-unlinked-open", "unlinked while open: free space back = %s",
			     b.f_bfree >= a.f_bfree ? "yes" : "no");
			close(fd);
			fd = -1;
			if (statfs(P("statfs"), &b) == 0)
				emit("statfs/bfree-unlinked-closed", "then closed: free space back = %s",
				     b.f_bfree >= a.f_bfree ? "yes" : "no");
		}
		if (fd >= 0)
			close(fd);
	}
	free(buf);
}

/* ------------------------------------------------------------------ */
/* mkdir, rmdir, unlink, unlinkat                                      */
/* ------------------------------------------------------------------ */

static void nlink_of(const char *name, const char *rel)
{
	struct stat st;

	if (stat(P(rel), &st))
		emit(name, "nlink(\"%s\") = -1 %s", rel, ename(errno));
	else
		emit(name, "nlink(\"%s\") = %lu", rel, (unsigned long)st.st_nlink);
}

static void t_mkdir(void)
{
	int dfd;

	mk("mkdir");
	put("mkdir/f", "x");
	sl("nowhere", "mkdir/dangle");
	nlink_of("mkdir/nlink-0", "mkdir");
	R("mkdir/new", mkdir(P("mkdir/d"), 0750));
	ST("mkdir/new-stat", stat(P("mkdir/d"), &S));
	nlink_of("mkdir/nlink-1", "mkdir");
	R("mkdir/exists", mkdir(P("mkdir/d"), 0755));
	R("mkdir/over-file", mkdir(P("mkdir/f"), 0755));
	R("mkdir/over-dangling", mkdir(P("mkdir/dangle"), 0755));
	R("mkdir/noent", mkdir(P("mkdir/missing/d"), 0755));
	R("mkdir/notdir", mkdir(P("mkdir/f/d"), 0755));
	R("mkdir/trailing-slash", mkdir(P("mkdir/d2/"), 0755));
	R("mkdir/sticky", mkdir(P("mkdir/sticky"), 01777));
	ST("mkdir/sticky-stat", stat(P("mkdir/sticky"), &S));
	R("mkdir/setgid", mkdir(P("mkdir/sgid"), 02775));
	ST("mkdir/setgid-stat", stat(P("mkdir/sgid"), &S));
	R("mkdir/mode-0", mkdir(P("mkdir/m0"), 0));
	ST("mkdir/mode-0-stat", stat(P("mkdir/m0"), &S));
	R("mkdir/in-mode-0-as-root", mkdir(P("mkdir/m0/sub"), 0755));
	R("mkdir/dot", mkdir(P("mkdir/d/."), 0755));
	R("mkdir/dotdot", mkdir(P("mkdir/d/.."), 0755));
	dfd = open(P("mkdir"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("mkdir/mkdirat", mkdirat(dfd, "d3", 0700));
		ST("mkdir/mkdirat-stat", stat(P("mkdir/d3"), &S));
		R("mkdir/mkdirat-exists", mkdirat(dfd, "d3", 0700));
		close(dfd);
	}
	R("mkdir/mkdirat-badfd", mkdirat(BADFD, "x", 0700));
	R("mkdir/mkdirat-abs", mkdirat(BADFD, P("mkdir/d4"), 0700));
	ST("mkdir/new-empty-nlink", stat(P("mkdir/d3"), &S));

	/* rmdir */
	mk("mkdir/full");
	put("mkdir/full/x", "x");
	sl("d", "mkdir/dlink");
	R("mkdir/rmdir-nonempty", rmdir(P("mkdir/full")));
	R("mkdir/rmdir-file", rmdir(P("mkdir/f")));
	R("mkdir/rmdir-dot", rmdir(P("mkdir/d/.")));
	R("mkdir/rmdir-dotdot", rmdir(P("mkdir/d/..")));
	R("mkdir/rmdir-noent", rmdir(P("mkdir/missing")));
	R("mkdir/rmdir-symlink", rmdir(P("mkdir/dlink")));
	R("mkdir/rmdir-trailing-slash", rmdir(P("mkdir/d2/")));
	R("mkdir/rmdir", rmdir(P("mkdir/d")));
	ST("mkdir/rmdir-gone", stat(P("mkdir/d"), &S));
	nlink_of("mkdir/nlink-after-rmdir", "mkdir");
	R("mkdir/rmdir-again", rmdir(P("mkdir/d")));

	/* unlink */
	put("mkdir/u", "x");
	if (link(P("mkdir/u"), P("mkdir/u2")))
		setup_fail("link", "mkdir/u2", errno);
	sl("u", "mkdir/ul");
	R("mkdir/unlink-dir", unlink(P("mkdir/d3")));
	R("mkdir/unlink-noent", unlink(P("mkdir/missing")));
	R("mkdir/unlink-trailing-slash", unlink(P("mkdir/u/")));
	R("mkdir/unlink-symlink", unlink(P("mkdir/ul")));
	ST("mkdir/unlink-symlink-target", stat(P("mkdir/u"), &S));
	R("mkdir/unlink-hardlink", unlink(P("mkdir/u2")));
	ST("mkdir/unlink-hardlink-nlink", stat(P("mkdir/u"), &S));
	R("mkdir/unlink", unlink(P("mkdir/u")));
	ST("mkdir/unlink-gone", lstat(P("mkdir/u"), &S));
	R("mkdir/unlink-dangling", unlink(P("mkdir/dangle")));
	dfd = open(P("mkdir"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		put("mkdir/v", "x");
		mk("mkdir/e");
		R("mkdir/unlinkat-removedir-file", unlinkat(dfd, "v", AT_REMOVEDIR));
		R("mkdir/unlinkat-dir", unlinkat(dfd, "e", 0));
		R("mkdir/unlinkat-bad-flag", unlinkat(dfd, "v", 0x1));
		R("mkdir/unlinkat-removedir", unlinkat(dfd, "e", AT_REMOVEDIR));
		R("mkdir/unlinkat", unlinkat(dfd, "v", 0));
		R("mkdir/unlinkat-removedir-nonempty", unlinkat(dfd, "full", AT_REMOVEDIR));
		close(dfd);
	}
	R("mkdir/unlinkat-badfd", unlinkat(BADFD, "x", 0));
	list("mkdir/list", "mkdir");
}

/* ------------------------------------------------------------------ */
/* rename, renameat, renameat2                                         */
/* ------------------------------------------------------------------ */

static void t_rename(void)
{
	int d1, d2;

	mk("rename");
	mk("rename/d1");
	mk("rename/d2");
	mk("rename/full");
	put("rename/full/x", "x");
	mk("rename/empty");
	put("rename/a", "A");
	put("rename/b", "B");
	put("rename/f", "F");

	R("rename/new", rename(P("rename/a"), P("rename/a2")));
	ST("rename/new-old-gone", stat(P("rename/a"), &S));
	content("rename/new-content", "rename/a2");
	R("rename/replace", rename(P("rename/a2"), P("rename/b")));
	content("rename/replace-content", "rename/b");
	put("rename/c", "C");
	R("rename/file-over-dir", rename(P("rename/c"), P("rename/empty")));
	R("rename/dir-over-file", rename(P("rename/empty"), P("rename/c")));
	R("rename/dir-over-nonempty", rename(P("rename/d1"), P("rename/full")));
	R("rename/dir-into-self", rename(P("rename/d1"), P("rename/d1/sub")));
	R("rename/dir-over-empty", rename(P("rename/d1"), P("rename/empty")));
	ST("rename/dir-over-empty-stat", stat(P("rename/empty"), &S));
	ST("rename/dir-over-empty-old", stat(P("rename/d1"), &S));
	R("rename/same", rename(P("rename/f"), P("rename/f")));
	R("rename/same-via-dotdot", rename(P("rename/full/../f"), P("rename/f")));
	content("rename/same-content", "rename/f");
	if (link(P("rename/f"), P("rename/f-link")))
		setup_fail("link", "rename/f-link", errno);
	R("rename/hardlinks", rename(P("rename/f"), P("rename/f-link")));
	ST("rename/hardlinks-both-stay", stat(P("rename/f"), &S));
	R("rename/noent", rename(P("rename/missing"), P("rename/x")));
	R("rename/noent-parent", rename(P("rename/c"), P("rename/missing/x")));
	R("rename/notdir-parent", rename(P("rename/c"), P("rename/c/x")));
	R("rename/dot", rename(P("rename/d2/."), P("rename/x")));
	R("rename/to-dot", rename(P("rename/c"), P("rename/d2/.")));
	R("rename/trailing-slash-file", rename(P("rename/c/"), P("rename/c2")));
	R("rename/trailing-slash-dir", rename(P("rename/d2/"), P("rename/d3/")));
	R("rename/onto-ancestor", rename(P("rename/full/x"), P("rename/full")));

	/* a directory moved to another parent: link counts and ".." */
	mk("rename/p1");
	mk("rename/p2");
	mk("rename/p1/moved");
	mk("rename/p1/moved/inner");
	R("rename/cross-dir", rename(P("rename/p1/moved"), P("rename/p2/moved")));
	nlink_of("rename/cross-dir-src-nlink", "rename/p1");
	nlink_of("rename/cross-dir-dst-nlink", "rename/p2");
	same_ino("rename/cross-dir-dotdot", "rename/p2/moved/..", "rename/p2");
	same_ino("rename/cross-dir-inner-dotdot", "rename/p2/moved/inner/..", "rename/p2/moved");
	put("rename/p1/file", "file");
	R("rename/cross-dir-file", rename(P("rename/p1/file"), P("rename/p2/file")));
	list("rename/cross-dir-list-p1", "rename/p1");
	list("rename/cross-dir-list-p2", "rename/p2");

	/* symlinks are renamed, not followed */
	sl("b", "rename/sl");
	put("rename/over-sl", "over");
	R("rename/symlink", rename(P("rename/sl"), P("rename/sl2")));
	ST("rename/symlink-stat", lstat(P("rename/sl2"), &S));
	R("rename/over-symlink", rename(P("rename/over-sl"), P("rename/sl2")));
	ST("rename/over-symlink-stat", lstat(P("rename/sl2"), &S));
	content("rename/over-symlink-target", "rename/b");

	/* open files keep working across a rename */
	put("rename/open", "still here");
	{
		int fd = openp("rename/open", O_RDWR);

		if (fd >= 0) {
			R("rename/open-file", rename(P("rename/open"), P("rename/d3/open")));
			rd("rename/open-file-read", fd, 32);
			R("rename/open-file-write", write(fd, "!", 1));
			ST("rename/open-file-fstat", fstat(fd, &S));
			close(fd);
			content("rename/open-file-content", "rename/d3/open");
		}
	}

	/* renameat and renameat2 */
	d1 = open(P("rename/p1"), O_RDONLY | O_DIRECTORY);
	d2 = open(P("rename/p2"), O_RDONLY | O_DIRECTORY);
	if (d1 >= 0 && d2 >= 0) {
		put("rename/p1/r", "R");
		put("rename/p2/s", "S");
		put("rename/p1/t", "T");
		mk("rename/p2/dir");
		put("rename/p2/dir/in", "in");
		R("rename/renameat", renameat(d1, "r", d2, "r"));
		R("rename/renameat-badfd", renameat(BADFD, "r", d2, "r2"));
		R("rename/noreplace-exists", renameat2(d2, "r", d2, "s", RENAME_NOREPLACE));
		R("rename/noreplace-new", renameat2(d2, "r", d1, "r", RENAME_NOREPLACE));
		R("rename/exchange", renameat2(d1, "r", d2, "s", RENAME_EXCHANGE));
		content("rename/exchange-content-1", "rename/p1/r");
		content("rename/exchange-content-2", "rename/p2/s");
		R("rename/exchange-file-dir", renameat2(d1, "t", d2, "dir", RENAME_EXCHANGE));
		ST("rename/exchange-file-dir-1", lstat(P("rename/p1/t"), &S));
		ST("rename/exchange-file-dir-2", lstat(P("rename/p2/dir"), &S));
		content("rename/exchange-file-dir-in", "rename/p1/t/in");
		nlink_of("rename/exchange-file-dir-nlink-1", "rename/p1");
		nlink_of("rename/exchange-file-dir-nlink-2", "rename/p2");
		same_ino("rename/exchange-dotdot", "rename/p1/t/..", "rename/p1");
		R("rename/exchange-missing", renameat2(d1, "r", d2, "missing", RENAME_EXCHANGE));
		R("rename/exchange-noreplace", renameat2(d1, "r", d2, "s", RENAME_EXCHANGE | RENAME_NOREPLACE));
		R("rename/bad-flag", renameat2(d1, "r", d2, "s", 0x80));
		R("rename/exchange-into-self", renameat2(d1, "t", d1, "t/sub", RENAME_EXCHANGE));
		R("rename/exchange-same", renameat2(d1, "r", d1, "r", RENAME_EXCHANGE));
		R("rename/renameat2-plain", renameat2(d1, "r", d1, "r3", 0));
		list("rename/renameat-list-p1", "rename/p1");
		list("rename/renameat-list-p2", "rename/p2");
	}
	if (d1 >= 0)
		close(d1);
	if (d2 >= 0)
		close(d2);
	/* a directory descriptor follows its directory across a rename */
	mk("rename/q");
	d1 = open(P("rename/q"), O_RDONLY | O_DIRECTORY);
	if (d1 >= 0) {
		R("rename/open-dir", rename(P("rename/q"), P("rename/p2/q-moved")));
		RFDC("rename/open-dir-openat", openat(d1, "new", O_WRONLY | O_CREAT, 0644));
		ST("rename/open-dir-new-stat", stat(P("rename/p2/q-moved/new"), &S));
		R("rename/open-dir-mkdirat", mkdirat(d1, "sub", 0755));
		ST("rename/open-dir-fstat", fstat(d1, &S));
		R("rename/open-dir-fchdir", fchdir(d1));
		cwd_is("rename/open-dir-getcwd");
		R("rename/open-dir-back", fchdir(topfd));
		close(d1);
	}
	list("rename/list", "rename");
}

/* ------------------------------------------------------------------ */
/* link, linkat, symlink, symlinkat, readlink, readlinkat, realpath    */
/* ------------------------------------------------------------------ */

static void t_link(void)
{
	char buf[PATH_MAX + 16], target[4200], name[64];
	char *rp;
	ssize_t n;
	int fd, dfd, i;

	mk("link");
	mk("link/d");
	put("link/f", "F");
	sl("f", "link/sf");

	R("link/link", link(P("link/f"), P("link/g")));
	ST("link/link-nlink", stat(P("link/f"), &S));
	same_ino("link/link-ino", "link/f", "link/g");
	R("link/exists", link(P("link/f"), P("link/g")));
	R("link/dir", link(P("link/d"), P("link/d2")));
	R("link/noent", link(P("link/missing"), P("link/x")));
	R("link/noent-parent", link(P("link/f"), P("link/missing/x")));
	R("link/symlink-not-followed", link(P("link/sf"), P("link/sf-link")));
	ST("link/symlink-not-followed-stat", lstat(P("link/sf-link"), &S));
	R("link/linkat-follow", linkat(topfd, "link/sf", topfd, "link/sf-follow", AT_SYMLINK_FOLLOW));
	ST("link/linkat-follow-stat", lstat(P("link/sf-follow"), &S));
	R("link/linkat-bad-flag", linkat(topfd, "link/f", topfd, "link/x", 0x1));
	fd = open(P("link/f"), O_RDONLY);
	if (fd >= 0) {
		R("link/linkat-empty-path", linkat(fd, "", topfd, "link/from-fd", AT_EMPTY_PATH));
		ST("link/linkat-empty-path-stat", stat(P("link/from-fd"), &S));
		close(fd);
	}
	R("link/unlink-first", unlink(P("link/f")));
	content("link/survivor-content", "link/g");
	ST("link/survivor-nlink", stat(P("link/g"), &S));

	/* symlink and readlink */
	R("link/symlink", symlink("target", P("link/s")));
	ST("link/symlink-lstat", lstat(P("link/s"), &S));
	n = readlink(P("link/s"), buf, sizeof(buf));
	emit("link/readlink", "readlink(\"link/s\") = %zd %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	n = readlink(P("link/s"), buf, 3);
	emit("link/readlink-short", "readlink(\"link/s\", 3) = %zd %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	R("link/readlink-file", readlink(P("link/g"), buf, sizeof(buf)));
	R("link/readlink-dir", readlink(P("link/d"), buf, sizeof(buf)));
	R("link/readlink-noent", readlink(P("link/missing"), buf, sizeof(buf)));
	R("link/readlink-zero", readlink(P("link/s"), buf, 0));
	R("link/symlink-exists", symlink("x", P("link/s")));
	R("link/symlink-over-dir", symlink("x", P("link/d")));
	R("link/symlink-empty", symlink("", P("link/s-empty")));
	R("link/symlink-noent-parent", symlink("x", P("link/missing/s")));
	R("link/symlink-trailing-slash", symlink("x", P("link/s-slash/")));
	memset(target, 't', 4095);
	target[4095] = 0;
	R("link/symlink-4095", symlink(target, P("link/s-long")));
	n = readlink(P("link/s-long"), buf, sizeof(buf));
	emit("link/readlink-4095", "readlink(\"link/s-long\") = %zd %s", n,
	     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	ST("link/symlink-4095-lstat", lstat(P("link/s-long"), &S));
	target[4095] = 't';
	target[4096] = 0;
	R("link/symlink-4096", symlink(target, P("link/s-toolong")));
	memset(target, 'u', 1000);
	target[1000] = 0;
	R("link/symlink-1000", symlink(target, P("link/s-1000")));
	n = readlink(P("link/s-1000"), buf, sizeof(buf));
	emit("link/readlink-1000", "readlink(\"link/s-1000\") = %zd %s", n,
	     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	R("link/symlink-abs", symlink(P("link/g"), P("link/s-abs")));
	ST("link/symlink-abs-stat", stat(P("link/s-abs"), &S));
	R("link/symlink-dotdot", symlink("../g", P("link/d/s-up")));
	ST("link/symlink-dotdot-stat", stat(P("link/d/s-up"), &S));
	R("link/symlink-to-dir", symlink("d", P("link/s-dir")));
	R("link/symlink-to-dir-creat", close(open(P("link/s-dir/new"), O_WRONLY | O_CREAT, 0644)));
	ST("link/symlink-to-dir-creat-stat", stat(P("link/d/new"), &S));
	dfd = open(P("link"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("link/symlinkat", symlinkat("g", dfd, "s-at"));
		n = readlinkat(dfd, "s-at", buf, sizeof(buf));
		emit("link/readlinkat", "readlinkat(dfd, \"s-at\") = %zd %s", n,
		     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
		R("link/symlinkat-badfd", symlinkat("g", BADFD, "x"));
		R("link/readlinkat-badfd", readlinkat(BADFD, "s-at", buf, sizeof(buf)));
		R("link/readlinkat-empty-dirfd", readlinkat(dfd, "", buf, sizeof(buf)));
		close(dfd);
	}
	/* targets of many lengths read back exactly (inline and out-of-line) */
	{
		static const int lens[] = { 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 55, 56, 57, 59, 60, 61,
					    63, 64, 65, 100, 127, 128, 129, 255, 256, 511, 512, 1023, 1024,
					    2047, 2048, 4000, 4095 };
		char lname[32], got[4200];
		unsigned int k;
		int bad = 0;

		for (k = 0; k < ARRAY_SIZE(lens); k++) {
			for (i = 0; i < lens[k]; i++)
				target[i] = (char)('a' + (i + k) % 26);
			target[lens[k]] = 0;
			snprintf(lname, sizeof(lname), "link/len-%d", lens[k]);
			n = symlink(target, P(lname)) ? -1 : readlink(P(lname), got, sizeof(got));
			if (n != lens[k] || memcmp(got, target, (size_t)n)) {
				emit("link/symlink-lengths", "length %d: readlink = %zd %s", lens[k], n,
				     n < 0 ? ename(errno) : "");
				bad = 1;
				break;
			}
		}
		if (!bad)
			emit("link/symlink-lengths", "symlink and readlink of %zu lengths, 1 to 4095 = exact",
			     ARRAY_SIZE(lens));
	}

	/* chains: 40 links are followed, the 41st is too many */
	put("link/chain-end", "end");
	for (i = 0; i <= 40; i++) {
		char t[64], l[64];

		snprintf(l, sizeof(l), "link/chain%02d", i);
		if (i == 40)
			snprintf(t, sizeof(t), "chain-end");
		else
			snprintf(t, sizeof(t), "chain%02d", i + 1);
		sl(t, l);
	}
	ST("link/chain-40", stat(P("link/chain01"), &S));
	ST("link/chain-41", stat(P("link/chain00"), &S));

	/* realpath */
	mk("link/d/sub");
	sl("d", "link/rd");
	sl("d/sub/..", "link/rd2");
	sl("rl2", "link/rl1");
	sl("rl1", "link/rl2");
	rp = realpath(P("link/d/../g"), NULL);
	emit("link/realpath-dotdot", "realpath(\"link/d/../g\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/rd/sub/./"), NULL);
	emit("link/realpath-symlink", "realpath(\"link/rd/sub/./\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/rd2"), NULL);
	emit("link/realpath-symlink-dotdot", "realpath(\"link/rd2\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/s-abs"), buf);
	emit("link/realpath-abs-symlink", "realpath(\"link/s-abs\") = %s", rp ? relpath(rp) : ename(errno));
	rp = realpath(P("link/missing"), NULL);
	emit("link/realpath-noent", "realpath(\"link/missing\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/rl1"), NULL);
	emit("link/realpath-loop", "realpath(\"link/rl1\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/g/x"), NULL);
	emit("link/realpath-notdir", "realpath(\"link/g/x\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("link/s"), NULL);
	emit("link/realpath-dangling", "realpath(\"link/s\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = canonicalize_file_name(P("link/rd/sub/../s-up"));
	emit("link/canonicalize", "canonicalize_file_name(\"link/rd/sub/../s-up\") = %s",
	     rp ? relpath(rp) : ename(errno));
	free(rp);
	rp = realpath(P("."), NULL);
	emit("link/realpath-top", "realpath(\".\") = %s", rp ? relpath(rp) : ename(errno));
	free(rp);
	snprintf(name, sizeof(name), "link/chain00");
	rp = realpath(P(name), NULL);
	emit("link/realpath-chain-41", "realpath(\"%s\") = %s", name, rp ? relpath(rp) : ename(errno));
	free(rp);
	list("link/list-d", "link/d");
}

/* ------------------------------------------------------------------ */
/* chmod, fchmod, fchmodat, chown, fchown, lchown, fchownat            */
/* ------------------------------------------------------------------ */

static void t_chmod(void)
{
	int fd, dfd;

	mk("chmod");
	mk("chmod/d");
	put("chmod/f", "x");
	sl("f", "chmod/l");

	R("chmod/chmod", chmod(P("chmod/f"), 0600));
	ST("chmod/chmod-stat", stat(P("chmod/f"), &S));
	R("chmod/suid", chmod(P("chmod/f"), 04755));
	ST("chmod/suid-stat", stat(P("chmod/f"), &S));
	R("chmod/all-bits", chmod(P("chmod/f"), 07777));
	ST("chmod/all-bits-stat", stat(P("chmod/f"), &S));
	R("chmod/type-bits-ignored", chmod(P("chmod/f"), S_IFDIR | 0644));
	ST("chmod/type-bits-ignored-stat", stat(P("chmod/f"), &S));
	R("chmod/via-symlink", chmod(P("chmod/l"), 0640));
	ST("chmod/via-symlink-target", stat(P("chmod/f"), &S));
	ST("chmod/via-symlink-link", lstat(P("chmod/l"), &S));
	R("chmod/dir", chmod(P("chmod/d"), 01700));
	ST("chmod/dir-stat", stat(P("chmod/d"), &S));
	R("chmod/noent", chmod(P("chmod/missing"), 0644));
	R("chmod/notdir", chmod(P("chmod/f/x"), 0644));
	fd = open(P("chmod/f"), O_RDONLY);
	if (fd >= 0) {
		R("chmod/fchmod", fchmod(fd, 0604));
		ST("chmod/fchmod-stat", fstat(fd, &S));
		close(fd);
	}
	R("chmod/fchmod-badfd", fchmod(BADFD, 0644));
	dfd = open(P("chmod"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("chmod/fchmodat", fchmodat(dfd, "f", 0444, 0));
		ST("chmod/fchmodat-stat", stat(P("chmod/f"), &S));
		R("chmod/fchmodat-nofollow-file", fchmodat(dfd, "f", 0644, AT_SYMLINK_NOFOLLOW));
		ST("chmod/fchmodat-nofollow-file-stat", stat(P("chmod/f"), &S));
		R("chmod/fchmodat-nofollow-symlink", fchmodat(dfd, "l", 0600, AT_SYMLINK_NOFOLLOW));
		R("chmod/fchmodat-bad-flag", fchmodat(dfd, "f", 0644, 0x1));
		R("chmod/fchmodat-noent", fchmodat(dfd, "missing", 0644, 0));
		close(dfd);
	}

	/* ownership (we are root) */
	R("chmod/chown", chown(P("chmod/f"), 1234, 5678));
	ST("chmod/chown-stat", stat(P("chmod/f"), &S));
	R("chmod/chown-group-only", chown(P("chmod/f"), (uid_t)-1, 42));
	ST("chmod/chown-group-only-stat", stat(P("chmod/f"), &S));
	R("chmod/chown-none", chown(P("chmod/f"), (uid_t)-1, (gid_t)-1));
	ST("chmod/chown-none-stat", stat(P("chmod/f"), &S));
	R("chmod/chown-via-symlink", chown(P("chmod/l"), 7, 8));
	ST("chmod/chown-via-symlink-target", stat(P("chmod/f"), &S));
	ST("chmod/chown-via-symlink-link", lstat(P("chmod/l"), &S));
	R("chmod/lchown", lchown(P("chmod/l"), 1, 2));
	ST("chmod/lchown-link", lstat(P("chmod/l"), &S));
	ST("chmod/lchown-target", stat(P("chmod/f"), &S));
	R("chmod/chown-noent", chown(P("chmod/missing"), 0, 0));
	fd = open(P("chmod/f"), O_RDONLY);
	if (fd >= 0) {
		R("chmod/fchown", fchown(fd, 0, 0));
		ST("chmod/fchown-stat", fstat(fd, &S));
		R("chmod/fchownat-empty-path", fchownat(fd, "", 11, 12, AT_EMPTY_PATH));
		ST("chmod/fchownat-empty-path-stat", fstat(fd, &S));
		close(fd);
	}
	R("chmod/fchown-badfd", fchown(BADFD, 0, 0));
	dfd = open(P("chmod"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("chmod/fchownat-nofollow", fchownat(dfd, "l", 3, 4, AT_SYMLINK_NOFOLLOW));
		ST("chmod/fchownat-nofollow-link", lstat(P("chmod/l"), &S));
		R("chmod/fchownat-follow", fchownat(dfd, "l", 5, 6, 0));
		ST("chmod/fchownat-follow-target", stat(P("chmod/f"), &S));
		R("chmod/fchownat-bad-flag", fchownat(dfd, "l", 5, 6, 0x1));
		close(dfd);
	}

	/* chown clears set-user-ID and set-group-ID on files, not on directories */
	R("chmod/kill-suid-setup", chmod(P("chmod/f"), 06755));
	R("chmod/kill-suid-chown", chown(P("chmod/f"), 9, 9));
	ST("chmod/kill-suid-stat", stat(P("chmod/f"), &S));
	R("chmod/kill-suid-none-setup", chmod(P("chmod/f"), 06755));
	R("chmod/kill-suid-none-chown", chown(P("chmod/f"), (uid_t)-1, (gid_t)-1));
	ST("chmod/kill-suid-none-stat", stat(P("chmod/f"), &S));
	R("chmod/kill-sgid-noexec-setup", chmod(P("chmod/f"), 02644));
	R("chmod/kill-sgid-noexec-chown", chown(P("chmod/f"), 10, 10));
	ST("chmod/kill-sgid-noexec-stat", stat(P("chmod/f"), &S));
	R("chmod/dir-keeps-sgid-setup", chmod(P("chmod/d"), 02755));
	R("chmod/dir-keeps-sgid-chown", chown(P("chmod/d"), 9, 9));
	ST("chmod/dir-keeps-sgid-stat", stat(P("chmod/d"), &S));
}

/* ------------------------------------------------------------------ */
/* utime, utimes, utimensat, futimens, and which calls change times    */
/* ------------------------------------------------------------------ */

static void ctime_changes(const char *name, const char *rel, const char *what, int (*op)(void))
{
	struct stat a, b;
	int r;

	if (stat(P(rel), &a)) {
		emit(name, "%s: stat = -1 %s", what, ename(errno));
		return;
	}
	usleep(20000);
	r = op();
	if (stat(P(rel), &b))
		emit(name, "%s = %d: stat = -1 %s", what, r, ename(errno));
	else
		emit(name, "%s = %d: ctime of \"%s\" %s", what, r, rel,
		     b.st_ctim.tv_sec != a.st_ctim.tv_sec || b.st_ctim.tv_nsec != a.st_ctim.tv_nsec ?
		     "changed" : "unchanged");
}

static int op_chmod(void) { return chmod(P("utime/c"), 0600); }
static int op_link(void) { return link(P("utime/c"), P("utime/c-link")); }
static int op_rename(void) { return rename(P("utime/c"), P("utime/c2")); }
static int op_write(void)
{
	int fd = open(P("utime/c2"), O_WRONLY), r;

	r = fd < 0 ? -1 : (int)write(fd, "w", 1);
	close(fd);
	return r;
}
static int op_utime(void)
{
	struct timespec t[2] = { { 5, 0 }, { 5, 0 } };

	return utimensat(topfd, "utime/c2", t, 0);
}

/* Sets the mtime of dir to 1000, runs op, reports whether it changed. */
static void dir_mtime(const char *name, const char *dir, const char *what, int r0)
{
	struct stat st;

	if (stat(P(dir), &st))
		emit(name, "%s: stat = -1 %s", what, ename(errno));
	else
		emit(name, "%s = %d: mtime of \"%s\" %s", what, r0, dir,
		     st.st_mtim.tv_sec == 1000 ? "unchanged" : "changed");
}

/* Whether a one-byte read of rel moves its atime (name NULL: the read
 * alone, unreported). */
static void atime_after_read(const char *name, const char *rel)
{
	struct stat a, b;
	char c;
	int fd = open(P(rel), O_RDONLY), r;

	if (fd < 0 || fstat(fd, &a)) {
		if (name)
			emit(name, "open or fstat = -1 %s", ename(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	r = (int)read(fd, &c, 1);
	if (name && fstat(fd, &b))
		emit(name, "read = %d: fstat = -1 %s", r, ename(errno));
	else if (name)
		emit(name, "read = %d: atime %s", r,
		     a.st_atim.tv_sec != b.st_atim.tv_sec || a.st_atim.tv_nsec != b.st_atim.tv_nsec ?
		     "moved" : "kept");
	close(fd);
}

static void t_utime(void)
{
	struct timespec ts[2];
	struct timeval tv[2];
	struct utimbuf ub;
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	int fd, r;

	mk("utime");
	mk("utime/d");
	put("utime/f", "x");
	put("utime/c", "x");
	sl("f", "utime/l");

	ub.actime = 1000;
	ub.modtime = 2000;
	R("utime/utime", utime(P("utime/f"), &ub));
	show_times("utime/utime-times", "utime/f", 0);
	R("utime/utime-null", utime(P("utime/f"), NULL));
	show_times("utime/utime-null-times", "utime/f", 0);
	tv[0] = (struct timeval){ 3000, 500000 };
	tv[1] = (struct timeval){ 4000, 250 };
	R("utime/utimes", utimes(P("utime/f"), tv));
	show_times("utime/utimes-times", "utime/f", 0);
	tv[1].tv_usec = 1000000;
	R("utime/utimes-bad-usec", utimes(P("utime/f"), tv));
	ts[0] = (struct timespec){ 5000, 123456789 };
	ts[1] = (struct timespec){ 6000, 987654321 };
	R("utime/utimensat", utimensat(topfd, "utime/f", ts, 0));
	show_times("utime/utimensat-times", "utime/f", 0);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = (struct timespec){ 7000, 0 };
	R("utime/utimensat-omit", utimensat(topfd, "utime/f", ts, 0));
	show_times("utime/utimensat-omit-times", "utime/f", 0);
	ts[0] = (struct timespec){ 0, UTIME_OMIT };
	ts[1] = (struct timespec){ 0, UTIME_NOW };
	R("utime/utimensat-now", utimensat(topfd, "utime/f", ts, 0));
	show_times("utime/utimensat-now-times", "utime/f", 0);
	ts[0] = (struct timespec){ 0, UTIME_OMIT };
	ts[1] = (struct timespec){ 0, UTIME_OMIT };
	R("utime/utimensat-omit-both", utimensat(topfd, "utime/f", ts, 0));
	ts[0] = (struct timespec){ 100, 0 };
	ts[1] = (struct timespec){ 200, 1000000000 };
	R("utime/utimensat-bad-nsec", utimensat(topfd, "utime/f", ts, 0));
	ts[1] = (struct timespec){ 200, -1 };
	R("utime/utimensat-negative-nsec", utimensat(topfd, "utime/f", ts, 0));
	ts[0] = (struct timespec){ -1000, 0 };
	ts[1] = (struct timespec){ 8000, 0 };
	R("utime/utimensat-pre-epoch", utimensat(topfd, "utime/f", ts, 0));
	show_times("utime/utimensat-pre-epoch-times", "utime/f", 0);
	ts[0] = (struct timespec){ 8000, 0 };
	ts[1] = (struct timespec){ 9000, 0 };
	R("utime/utimensat-bad-flag", utimensat(topfd, "utime/f", ts, 0x1));
	R("utime/utimensat-noent", utimensat(topfd, "utime/missing", ts, 0));
	R("utime/utimensat-nofollow", utimensat(topfd, "utime/l", ts, AT_SYMLINK_NOFOLLOW));
	show_times("utime/utimensat-nofollow-link", "utime/l", 1);
	show_times("utime/utimensat-nofollow-target", "utime/f", 0);
	R("utime/utimensat-follow", utimensat(topfd, "utime/l", ts, 0));
	show_times("utime/utimensat-follow-target", "utime/f", 0);
	R("utime/utimensat-dir", utimensat(topfd, "utime/d", ts, 0));
	show_times("utime/utimensat-dir-times", "utime/d", 0);
	fd = open(P("utime/f"), O_RDONLY);
	if (fd >= 0) {
		ts[0] = (struct timespec){ 11000, 1 };
		ts[1] = (struct timespec){ 12000, 2 };
		R("utime/futimens", futimens(fd, ts));
		show_times("utime/futimens-times", "utime/f", 0);
		R("utime/futimens-null", futimens(fd, NULL));
		show_times("utime/futimens-null-times", "utime/f", 0);
		R("utime/utimensat-empty-path", utimensat(fd, "", ts, AT_EMPTY_PATH));
		show_times("utime/utimensat-empty-path-times", "utime/f", 0);
		close(fd);
	}
	R("utime/futimens-badfd", futimens(BADFD, ts));

	/* which calls change times */
	ctime_changes("utime/ctime-chmod", "utime/c", "chmod", op_chmod);
	ctime_changes("utime/ctime-link", "utime/c", "link", op_link);
	ctime_changes("utime/ctime-rename", "utime/c-link", "rename", op_rename);
	ctime_changes("utime/ctime-write", "utime/c2", "write", op_write);
	ctime_changes("utime/ctime-utimensat", "utime/c2", "utimensat", op_utime);
	utimensat(topfd, "utime/c2", old, 0);
	fd = open(P("utime/c2"), O_WRONLY);
	if (fd >= 0) {
		R("utime/mtime-write", write(fd, "data", 4));
		close(fd);
	}
	show_times("utime/mtime-write-times", "utime/c2", 0);
	utimensat(topfd, "utime/c2", old, 0);
	fd = open(P("utime/c2"), O_RDONLY);
	if (fd >= 0) {
		char b[4];

		R("utime/mtime-read", read(fd, b, 4));
		close(fd);
	}
	show_times("utime/mtime-read-times", "utime/c2", 0);
	/* relatime: a read moves atime past mtime and ctime, so a read after
	 * it keeps it (a day has not passed), and so does a read of a file
	 * whose atime is ahead of the clock. The kernel stamps atime from its
	 * tick, which may lag a ctime just set: the read after two ticks
	 * moves it past on tmpfs too. */
	usleep(20000);
	atime_after_read(NULL, "utime/c2");
	atime_after_read("utime/relatime-again", "utime/c2");
	ts[0] = (struct timespec){ time(NULL) + 3600, 0 };
	ts[1] = (struct timespec){ 0, UTIME_OMIT };
	utimensat(topfd, "utime/c2", ts, 0);
	atime_after_read("utime/relatime-future", "utime/c2");
	utimensat(topfd, "utime/c2", old, 0);
	atime_after_read("utime/relatime-old", "utime/c2");
	utimensat(topfd, "utime/d", old, 0);
	r = close(open(P("utime/d/new"), O_WRONLY | O_CREAT, 0644));
	dir_mtime("utime/dir-mtime-create", "utime/d", "create", r);
	utimensat(topfd, "utime/d", old, 0);
	r = rename(P("utime/d/new"), P("utime/d/new2"));
	dir_mtime("utime/dir-mtime-rename", "utime/d", "rename", r);
	utimensat(topfd, "utime/d", old, 0);
	r = unlink(P("utime/d/new2"));
	dir_mtime("utime/dir-mtime-unlink", "utime/d", "unlink", r);
	utimensat(topfd, "utime/d", old, 0);
	r = mkdir(P("utime/d/sub"), 0755);
	dir_mtime("utime/dir-mtime-mkdir", "utime/d", "mkdir", r);
	utimensat(topfd, "utime/d", old, 0);
	r = symlink("x", P("utime/d/sym"));
	dir_mtime("utime/dir-mtime-symlink", "utime/d", "symlink", r);
	utimensat(topfd, "utime/d", old, 0);
	r = open(P("utime/d/sym"), O_RDONLY);
	dir_mtime("utime/dir-mtime-failed-open", "utime/d", "open of a dangling symlink", r);
	utimensat(topfd, "utime/d", old, 0);
	r = chmod(P("utime/d/sub"), 0700);
	dir_mtime("utime/dir-mtime-chmod-child", "utime/d", "chmod of a child", r);
}

/* ------------------------------------------------------------------ */
/* opendir, fdopendir, readdir, readdir_r, rewinddir, telldir,         */
/* seekdir, closedir, dirfd, scandir, getdents64                       */
/* ------------------------------------------------------------------ */

static int no_dots(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static void rest_of(DIR *d, struct strs *s)
{
	struct dirent *de;

	while ((de = readdir(d)))
		strs_add(s, "%s", de->d_name);
}

static void t_dir(void)
{
	struct strs s = { 0 }, s2 = { 0 };
	struct dirent *de, ent, *res;
	struct dirent **nl;
	DIR *d;
	char name[64];
	int fd, i, n;
	long pos;

	mk("dir");
	mk("dir/t");
	put("dir/t/a", "a");
	mk("dir/t/b");
	sl("a", "dir/t/c");
	if (mkfifo(P("dir/t/p"), 0644))
		setup_fail("mkfifo", "dir/t/p", errno);
	put("dir/t/e e", "space");
	put("dir/t/.hidden", "h");
	put("dir/t/f", "f");

	list("dir/readdir", "dir/t");
	d = RP("dir/opendir", opendir(P("dir/t")));
	if (d) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		while (readdir_r(d, &ent, &res) == 0 && res)
			strs_add(&s, "%s:%s", ent.d_name, dtype(ent.d_type));
#pragma GCC diagnostic pop
		emit("dir/readdir_r", "readdir_r = %s", strs_join(&s, 1));
		strs_free(&s);
		errno = 0;
		de = readdir(d);
		emit("dir/readdir-at-end", "readdir = %s errno=%s", de ? "entry" : "NULL", ename(errno));
		rewinddir(d);
		n = 0;
		while (readdir(d))
			n++;
		emit("dir/rewinddir", "entries after rewinddir = %d", n);
		rewinddir(d);
		readdir(d);
		readdir(d);
		readdir(d);
		pos = telldir(d);
		rest_of(d, &s);
		seekdir(d, pos);
		rest_of(d, &s2);
		emit("dir/telldir-seekdir", "entries after seekdir(telldir()) = %s",
		     !strcmp(strs_join(&s, 1), strs_join(&s2, 1)) ? "the same" : "DIFFERENT");
		emit("dir/telldir-count", "entries after the 3rd = %zu", s.n);
		strs_free(&s);
		strs_free(&s2);
		seekdir(d, 0);
		n = 0;
		while (readdir(d))
			n++;
		emit("dir/seekdir-0", "entries after seekdir(0) = %d", n);
		fd = dirfd(d);
		ST("dir/dirfd-fstat", fstat(fd, &S));
		/* a name made after opendir is seen after rewinddir */
		put("dir/t/late", "late");
		rewinddir(d);
		n = 0;
		while ((de = readdir(d)))
			if (!strcmp(de->d_name, "late"))
				n++;
		emit("dir/rewinddir-sees-new", "\"late\" after rewinddir = %d", n);
		R("dir/closedir", closedir(d));
	}
	d = RP("dir/opendir-file", opendir(P("dir/t/a")));
	if (d)
		closedir(d);
	d = RP("dir/opendir-noent", opendir(P("dir/missing")));
	if (d)
		closedir(d);
	d = RP("dir/opendir-symlink", opendir(P("dir/t/c")));
	if (d)
		closedir(d);
	sl("t", "dir/tl");
	d = RP("dir/opendir-dirlink", opendir(P("dir/tl")));
	if (d)
		closedir(d);

	/* fdopendir */
	fd = open(P("dir/t"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		d = RP("dir/fdopendir", fdopendir(fd));
		if (d) {
			n = 0;
			while (readdir64(d))
				n++;
			emit("dir/fdopendir-readdir64", "entries = %d", n);
			R("dir/fdopendir-dirfd", dirfd(d) == fd);
			closedir(d);
			R("dir/closedir-closes-fd", fcntl(fd, F_GETFD));
		}
	}
	fd = open(P("dir/t/a"), O_RDONLY);
	if (fd >= 0) {
		d = RP("dir/fdopendir-file", fdopendir(fd));
		if (d)
			closedir(d);
		close(fd);
	}
	d = RP("dir/fdopendir-badfd", fdopendir(BADFD));
	if (d)
		closedir(d);
	fd = open(P("dir/t"), O_PATH);
	if (fd >= 0) {
		d = RP("dir/fdopendir-opath", fdopendir(fd));
		if (d)
			closedir(d);
		close(fd);
	}

	/* scandir */
	n = scandir(P("dir/t"), &nl, no_dots, alphasort);
	if (n < 0) {
		emit("dir/scandir", "scandir(\"dir/t\", no_dots, alphasort) = -1 %s", ename(errno));
	} else {
		for (i = 0; i < n; i++) {
			strs_add(&s, "%s", nl[i]->d_name);
			free(nl[i]);
		}
		free(nl);
		emit("dir/scandir", "scandir(\"dir/t\", no_dots, alphasort) = %d: %s", n, strs_join(&s, 0));
		strs_free(&s);
	}
	n = scandir(P("dir/missing"), &nl, NULL, alphasort);
	emit("dir/scandir-noent", "scandir(\"dir/missing\") = %d %s", n, n < 0 ? ename(errno) : "");
	n = scandirat(topfd, "dir/t", &nl, NULL, alphasort);
	if (n >= 0) {
		for (i = 0; i < n; i++)
			free(nl[i]);
		free(nl);
	}
	emit("dir/scandirat", "scandirat(topfd, \"dir/t\") = %d %s", n, n < 0 ? ename(errno) : "");

	/* getdents64 */
	fd = open(P("dir/t"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		char buf[4096];
		ssize_t got;
		size_t off;

		while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
			for (off = 0; off < (size_t)got;) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);

				strs_add(&s, "%s:%s", e->d_name, dtype(e->d_type));
				off += e->d_reclen;
			}
		}
		emit("dir/getdents64", "getdents64 = %s; last = %zd %s", strs_join(&s, 1), got,
		     got < 0 ? ename(errno) : "");
		strs_free(&s);
		R("dir/getdents64-small-buf", (lseek(fd, 0, SEEK_SET), getdents64(fd, buf, 8)));
		close(fd);
	}
	fd = open(P("dir/t/a"), O_RDONLY);
	if (fd >= 0) {
		char buf[256];

		R("dir/getdents64-file", getdents64(fd, buf, sizeof(buf)));
		close(fd);
	}

	/* a big directory, then half of it removed */
	mk("dir/big");
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "dir/big/f%04d", i);
		if (i % 10 == 0)
			mk(name);
		else
			put(name, "x");
	}
	d = opendir(P("dir/big"));
	if (d) {
		while ((de = readdir(d)))
			strs_add(&s, "%s", de->d_name);
		closedir(d);
		strs_sort(&s);
		n = s.n == 1002;
		for (i = 0; n && i < 1000; i++) {
			snprintf(name, sizeof(name), "f%04d", i);
			n = !strcmp(s.v[i + 2], name);
		}
		emit("dir/big-readdir", "1000 names + . and .. = %zu entries, %s", s.n,
		     n ? "all there once" : "WRONG");
		strs_free(&s);
	}
	nlink_of("dir/big-nlink", "dir/big");
	/* half read, telldir, a third of those read removed, seekdir: the rest comes once */
	d = opendir(P("dir/big"));
	if (d) {
		struct strs first = { 0 }, rest = { 0 }, again = { 0 };
		size_t k;

		for (k = 0; k < 500 && (de = readdir(d)); k++)
			strs_add(&first, "%s", de->d_name);
		pos = telldir(d);
		rest_of(d, &rest);
		for (k = 0; k < first.n; k += 3) {
			if (first.v[k][0] == '.')
				continue;
			snprintf(name, sizeof(name), "dir/big/%s", first.v[k]);
			if (unlink(P(name)) && rmdir(P(name)))
				setup_fail("unlink", name, errno);
		}
		seekdir(d, pos);
		rest_of(d, &again);
		emit("dir/seekdir-after-unlink", "entries after seekdir(telldir()) with earlier ones removed = %s",
		     rest.n + first.n == 1002 && !strcmp(strs_join(&rest, 1), strs_join(&again, 1)) ?
		     "the same" : "DIFFERENT");
		closedir(d);
		/* put them back */
		for (k = 0; k < first.n; k += 3) {
			if (first.v[k][0] == '.')
				continue;
			snprintf(name, sizeof(name), "dir/big/%s", first.v[k]);
			if (atoi(first.v[k] + 1) % 10 == 0)
				mk(name);
			else
				put(name, "x");
		}
		strs_free(&first);
		strs_free(&rest);
		strs_free(&again);
	}
	for (i = 0; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "dir/big/f%04d", i);
		if (i % 10 == 0 ? rmdir(P(name)) : unlink(P(name)))
			setup_fail("unlink", name, errno);
	}
	d = opendir(P("dir/big"));
	if (d) {
		while ((de = readdir(d)))
			strs_add(&s, "%s", de->d_name);
		closedir(d);
		emit("dir/big-half-removed", "entries = %zu, hash=%016llx", s.n,
		     (unsigned long long)fnv(strs_join(&s, 1), strlen(strs_join(&s, 0))));
		strs_free(&s);
	}

	/* removing each entry while reading (what rm -r does) */
	mk("dir/rm");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "dir/rm/entry-%d", i);
		put(name, "x");
	}
	fd = open(P("dir/rm"), O_RDONLY | O_DIRECTORY);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		n = 0;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				n++;
		}
		closedir(d);
		emit("dir/unlink-while-reading", "unlinked %d of 300", n);
	}
	R("dir/unlink-while-reading-rmdir", rmdir(P("dir/rm")));

	/* reading a directory that was removed */
	mk("dir/gone");
	d = opendir(P("dir/gone"));
	if (d) {
		R("dir/removed-rmdir", rmdir(P("dir/gone")));
		errno = 0;
		de = readdir(d);
		emit("dir/removed-readdir", "readdir = %s errno=%s", de ? de->d_name : "NULL", ename(errno));
		closedir(d);
	}
}

/* ------------------------------------------------------------------ */
/* chdir, fchdir, getcwd                                               */
/* ------------------------------------------------------------------ */

static void t_cwd(void)
{
	char buf[PATH_MAX], *p;
	struct stat a, b;
	int orig, fd;

	mk("cwd");
	mk("cwd/a");
	mk("cwd/a/b");
	put("cwd/f", "f");
	sl("a/b", "cwd/lb");
	orig = open(".", O_RDONLY | O_DIRECTORY);
	if (orig < 0) {
		setup_fail("open", ".", errno);
		return;
	}
	R("cwd/chdir", chdir(P("cwd/a")));
	cwd_is("cwd/chdir-getcwd");
	{
		/* found at run time: the linker warns of every reference to getwd */
		char *(*getwd_fn)(char *) = (char *(*)(char *))dlsym(RTLD_DEFAULT, "getwd");
		char wd[PATH_MAX], cwd[PATH_MAX];
		char *w = getwd_fn ? getwd_fn(wd) : NULL, *c = getcwd(cwd, sizeof(cwd));

		emit("cwd/chdir-getwd", "getwd() = %s",
		     !w ? ename(errno) : c && !strcmp(w, c) ? "getcwd's" : "NOT getcwd's");
	}
	RFDC("cwd/relative-creat", open("file", O_WRONLY | O_CREAT, 0644));
	ST("cwd/relative-creat-stat", stat(P("cwd/a/file"), &S));
	ST("cwd/relative-stat", stat("file", &S));
	R("cwd/relative-mkdir", mkdir("m", 0755));
	R("cwd/relative-symlink", symlink("file", "s"));
	{
		ssize_t n = readlink("s", buf, sizeof(buf));

		emit("cwd/relative-readlink", "readlink(\"s\") = %zd %s", n,
		     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	}
	R("cwd/relative-rename", rename("file", "m/file"));
	R("cwd/relative-link", link("m/file", "hard"));
	R("cwd/relative-unlink", unlink("hard"));
	R("cwd/relative-access", access("m/file", R_OK));
	R("cwd/relative-chmod", chmod("m/file", 0600));
	R("cwd/relative-truncate", truncate("m/file", 3));
	ST("cwd/relative-fstatat", fstatat(AT_FDCWD, "m/file", &S, 0));
	RFDC("cwd/relative-openat", openat(AT_FDCWD, "m/file", O_RDONLY));
	p = realpath("m/../s", NULL);
	emit("cwd/relative-realpath", "realpath(\"m/../s\") = %s", p ? relpath(p) : ename(errno));
	free(p);
	{
		DIR *d = opendir(".");
		int n = 0;

		if (d) {
			while (readdir(d))
				n++;
			closedir(d);
		}
		emit("cwd/relative-opendir", "entries of \".\" = %d", n);
	}
	R("cwd/relative-unlink-m", unlink("m/file"));
	R("cwd/relative-rmdir", rmdir("m"));
	R("cwd/chdir-relative", chdir("b"));
	cwd_is("cwd/chdir-relative-getcwd");
	R("cwd/chdir-dotdot", chdir(".."));
	cwd_is("cwd/chdir-dotdot-getcwd");
	R("cwd/chdir-dotdot-2", chdir("../.."));
	cwd_is("cwd/chdir-dotdot-2-getcwd");
	ST("cwd/stat-dot", stat(".", &S));
	if (stat("..", &a) == 0 && stat(P(".."), &b) == 0)
		emit("cwd/stat-dotdot-above", "stat(\"..\") from DIR = %s, %s", ftype(a.st_mode),
		     a.st_ino == b.st_ino ? "the parent" : "NOT THE PARENT");
	else
		emit("cwd/stat-dotdot-above", "stat(\"..\") = -1 %s", ename(errno));
	R("cwd/chdir-symlink", chdir(P("cwd/lb")));
	cwd_is("cwd/chdir-symlink-getcwd");
	R("cwd/chdir-noent", chdir(P("cwd/missing")));
	R("cwd/chdir-file", chdir(P("cwd/f")));
	cwd_is("cwd/chdir-failed-getcwd");
	fd = open(P("cwd/a/b"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		R("cwd/fchdir", fchdir(fd));
		cwd_is("cwd/fchdir-getcwd");
		close(fd);
	}
	fd = open(P("cwd/a"), O_PATH | O_DIRECTORY);
	if (fd >= 0) {
		R("cwd/fchdir-opath", fchdir(fd));
		cwd_is("cwd/fchdir-opath-getcwd");
		close(fd);
	}
	fd = open(P("cwd/f"), O_RDONLY);
	if (fd >= 0) {
		R("cwd/fchdir-file", fchdir(fd));
		close(fd);
	}
	R("cwd/fchdir-badfd", fchdir(BADFD));
	p = getcwd(buf, 2);
	emit("cwd/getcwd-small", "getcwd(buf, 2) = %s", p ? "ok" : ename(errno));
	p = getcwd(NULL, 0);
	emit("cwd/getcwd-alloc", "getcwd(NULL, 0) = %s", p ? relpath(p) : ename(errno));
	free(p);
	p = get_current_dir_name();
	emit("cwd/get_current_dir_name", "get_current_dir_name() = %s", p ? relpath(p) : ename(errno));
	free(p);

	/* the working directory is removed */
	mk("cwd/doomed");
	R("cwd/doomed-chdir", chdir(P("cwd/doomed")));
	R("cwd/doomed-rmdir", rmdir(P("cwd/doomed")));
	cwd_is("cwd/doomed-getcwd");
	RFDC("cwd/doomed-creat", open("x", O_WRONLY | O_CREAT, 0644));
	RFDC("cwd/doomed-open-dot", open(".", O_RDONLY));
	R("cwd/doomed-chdir-dotdot", chdir(".."));
	R("cwd/back", fchdir(orig));
	close(orig);
}

/* ------------------------------------------------------------------ */
/* dup, dup2, dup3, fcntl, record locks, flock, ioctl                  */
/* ------------------------------------------------------------------ */

static void getfl(const char *name, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	char b[128] = "";

	if (fl < 0) {
		emit(name, "fcntl(fd, F_GETFL) = -1 %s", ename(errno));
		return;
	}
	strcat(b, (fl & O_PATH) ? "O_PATH" : (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY" :
	       (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR");
	if (fl & O_APPEND)
		strcat(b, "|O_APPEND");
	if (fl & O_NONBLOCK)
		strcat(b, "|O_NONBLOCK");
	if (fl & O_DIRECT)
		strcat(b, "|O_DIRECT");
	if (fl & O_NOATIME)
		strcat(b, "|O_NOATIME");
	if ((fl & O_SYNC) == O_SYNC)
		strcat(b, "|O_SYNC");
	else if (fl & O_DSYNC)
		strcat(b, "|O_DSYNC");
	emit(name, "fcntl(fd, F_GETFL) = %s", b);
}

static void getlk(const char *name, int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, F_GETLK, &fl))
		emit(name, "F_GETLK [%lld, +%lld) = -1 %s", (long long)start, (long long)len, ename(errno));
	else if (fl.l_type == F_UNLCK)
		emit(name, "F_GETLK [%lld, +%lld) = F_UNLCK", (long long)start, (long long)len);
	else
		emit(name, "F_GETLK [%lld, +%lld) = %s [%lld, +%lld) by %s", (long long)start,
		     (long long)len, fl.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK",
		     (long long)fl.l_start, (long long)fl.l_len,
		     fl.l_pid == getppid() ? "the parent" : fl.l_pid == getpid() ? "me" : "another");
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

static void lock_child_1(void)
{
	int fd = open(P("fd/lock"), O_RDWR);

	getlk("fd/lock-child-getlk", fd, F_WRLCK, 50, 10);
	getlk("fd/lock-child-getlk-free", fd, F_WRLCK, 200, 10);
	getlk("fd/lock-child-getlk-read-on-read", fd, F_RDLCK, 300, 10);
	R("fd/lock-child-setlk-conflict", setlk(fd, F_SETLK, F_WRLCK, 50, 10));
	R("fd/lock-child-setlk-read-conflict", setlk(fd, F_SETLK, F_RDLCK, 0, 1));
	R("fd/lock-child-setlk-free", setlk(fd, F_SETLK, F_WRLCK, 200, 10));
	R("fd/lock-child-setlk-shared", setlk(fd, F_SETLK, F_RDLCK, 300, 10));
	close(fd);
}

static void lock_child_2(void)
{
	int fd = open(P("fd/lock"), O_RDWR);

	getlk("fd/lock-child-after-close", fd, F_WRLCK, 0, 100);
	R("fd/lock-child-setlkw", setlk(fd, F_SETLKW, F_WRLCK, 0, 100));
	close(fd);
}

static void flock_child(void)
{
	int fd = open(P("fd/lock"), O_RDONLY);

	R("fd/flock-child-ex", flock(fd, LOCK_EX | LOCK_NB));
	R("fd/flock-child-sh", flock(fd, LOCK_SH | LOCK_NB));
	close(fd);
}

static void flock_child_2(void)
{
	int fd = open(P("fd/lock"), O_RDONLY);

	R("fd/flock-child-after-unlock", flock(fd, LOCK_EX | LOCK_NB));
	close(fd);
}

static void t_fd(void)
{
	int fd, fd2, fd3, r, other;
	char b[16];

	mk("fd");
	put("fd/f", "0123456789");
	put("fd/g", "ghijk");
	fd = openp("fd/f", O_RDWR);
	if (fd < 0)
		return;
	fd2 = RFD("fd/dup", dup(fd));
	rd("fd/dup-read-first", fd, 3);
	offset("fd/dup-shared-offset", fd2);
	getfl("fd/dup-getfl", fd2);
	cloexec("fd/dup-cloexec", fd2);
	R("fd/dup-badfd", dup(BADFD));
	R("fd/dup2-same", dup2(fd, fd) == fd);
	R("fd/dup2-badfd-same", dup2(BADFD, BADFD));
	R("fd/dup2-100", dup2(fd, 100));
	rd("fd/dup2-100-read", 100, 2);
	other = openp("fd/g", O_RDONLY);
	if (other >= 0) {
		R("fd/dup2-over-open", dup2(fd, other) == other);
		rd("fd/dup2-over-open-read", other, 2);
		close(other);
	}
	R("fd/dup2-badfd", dup2(BADFD, 101));
	R("fd/dup3-same", dup3(fd, fd, 0));
	R("fd/dup3-cloexec", dup3(fd, 102, O_CLOEXEC));
	cloexec("fd/dup3-cloexec-getfd", 102);
	R("fd/dup3-bad-flag", dup3(fd, 103, 0x1));
	R("fd/dupfd", fcntl(fd, F_DUPFD, 200));
	cloexec("fd/dupfd-getfd", 200);
	R("fd/dupfd-cloexec", fcntl(fd, F_DUPFD_CLOEXEC, 210));
	cloexec("fd/dupfd-cloexec-getfd", 210);
	R("fd/dupfd-taken", fcntl(fd, F_DUPFD, 200));
	R("fd/dupfd-negative", fcntl(fd, F_DUPFD, -1));
	R("fd/setfd", fcntl(fd2, F_SETFD, FD_CLOEXEC));
	cloexec("fd/setfd-getfd", fd2);
	cloexec("fd/setfd-not-shared", fd);
	R("fd/setfd-clear", fcntl(fd2, F_SETFD, 0));
	cloexec("fd/setfd-clear-getfd", fd2);
	getfl("fd/getfl", fd);
	R("fd/setfl-append", fcntl(fd, F_SETFL, O_APPEND));
	getfl("fd/setfl-append-getfl", fd);
	getfl("fd/setfl-shared-by-dup", fd2);
	R("fd/setfl-append-lseek", lseek(fd, 0, SEEK_SET));
	R("fd/setfl-append-write", write(fd, "A", 1));
	content("fd/setfl-append-content", "fd/f");
	R("fd/setfl-accmode-ignored", fcntl(fd, F_SETFL, O_WRONLY | O_NONBLOCK));
	getfl("fd/setfl-accmode-getfl", fd);
	R("fd/setfl-clear", fcntl(fd, F_SETFL, 0));
	getfl("fd/setfl-clear-getfl", fd);
	/* O_APPEND given at the open, then taken away: writes land at the
	 * offset (umfs-fuse learns of it from each write's flags) */
	r = open(P("fd/app"), O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
	R("fd/open-append-write", write(r, "hello", 5));
	R("fd/open-append-clear", fcntl(r, F_SETFL, 0));
	R("fd/open-append-cleared-pwrite", pwrite(r, "J", 1, 0));
	R("fd/open-append-cleared-lseek", lseek(r, 1, SEEK_SET));
	R("fd/open-append-cleared-write", write(r, "E", 1));
	R("fd/open-append-again", fcntl(r, F_SETFL, O_APPEND));
	R("fd/open-append-again-write", write(r, "!", 1));
	close(r);
	content("fd/open-append-content", "fd/app");
	R("fd/bad-cmd", fcntl(fd, 9999));

	/* F_GETFL's whole word, as the kernel has it (O_LARGEFILE: 0100000 on
	 * a 64-bit open, none on O_PATH), and what the description keeps */
	R("fd/getfl-raw", fcntl(fd, F_GETFL));
	r = open(P("fd/g"), O_WRONLY | O_APPEND | O_SYNC);
	R("fd/getfl-raw-sync", fcntl(r, F_GETFL));
	close(r);
	r = open(P("fd/g"), O_PATH);
	R("fd/getfl-raw-path", fcntl(r, F_GETFL));
	R("fd/path-getown", fcntl(r, F_GETOWN));
	R("fd/path-setsig", fcntl(r, F_SETSIG, SIGUSR1));
	R("fd/path-getlk", fcntl(r, F_GETLK, &(struct flock){ .l_type = F_RDLCK }));
	R("fd/path-dupfd-query", fcntl(r, 1027 /* F_DUPFD_QUERY */, r));
	close(r);
	r = open(P("fd"), O_RDONLY | O_DIRECTORY);
	R("fd/getfl-raw-dir", fcntl(r, F_GETFL));
	close(r);
	R("fd/setown", fcntl(fd, F_SETOWN, getpid()));
	R("fd/getown-is-pid", fcntl(fd, F_GETOWN) == getpid());
	R("fd/getown-dup-shares", fcntl(fd2, F_GETOWN) == getpid());
	{
		struct f_owner_ex ox = { 0 };

		R("fd/getown-ex", fcntl(fd, F_GETOWN_EX, &ox));
		R("fd/getown-ex-type", ox.type);
		R("fd/getown-ex-pid", ox.pid == getpid());
		R("fd/setown-ex-bad-type", fcntl(fd, F_SETOWN_EX, &(struct f_owner_ex){ 99, 1 }));
	}
	R("fd/setsig", fcntl(fd, F_SETSIG, SIGUSR1));
	R("fd/getsig", fcntl(fd, F_GETSIG));
	R("fd/setsig-bad", fcntl(fd, F_SETSIG, 1000));
	R("fd/setsig-clear", fcntl(fd, F_SETSIG, 0));
	R("fd/setown-clear", fcntl(fd, F_SETOWN, 0));
	/* F_DUPFD_QUERY (Linux 6.10): the same open file description? */
	r = openp("fd/f", O_RDONLY);
	R("fd/dupfd-query-dup", fcntl(fd, 1027, fd2));
	R("fd/dupfd-query-other-open", fcntl(fd, 1027, r));
	R("fd/dupfd-query-kernel-fd", fcntl(fd, 1027, 0));
	R("fd/dupfd-query-kernel-to-umfs", fcntl(0, 1027, fd));
	R("fd/dupfd-query-badfd", fcntl(fd, 1027, BADFD));
	close(r);
	R("fd/dupfd-query-closed", fcntl(fd, 1027, r));
	R("fd/fcntl-badfd", fcntl(BADFD, F_GETFD));
	R("fd/fcntl64", fcntl64(fd, F_GETFD));
	fd3 = openp("fd/f", O_WRONLY | O_APPEND);
	if (fd3 >= 0) {
		getfl("fd/getfl-wronly-append", fd3);
		close(fd3);
	}
	fd3 = open(P("fd/f"), O_PATH);
	if (fd3 >= 0) {
		getfl("fd/getfl-opath", fd3);
		close(fd3);
	}
	R("fd/close-dup", close(fd2));
	rd("fd/after-close-dup", fd, 2);
	R("fd/close-100", close(100));
	R("fd/close-again", close(100));
	R("fd/close-badfd", close(BADFD));
	R("fd/close-negative", close(-1));
	close(102);
	close(200);
	close(210);

	/* ioctl */
	R("fd/fionread-lseek", lseek(fd, 3, SEEK_SET));
	{
		int avail = -1;

		R("fd/fionread", ioctl(fd, FIONREAD, &avail));
		emit("fd/fionread-value", "FIONREAD = %d", avail);
		/* the size less the offset, cut to an int, as the kernel */
		R("fd/fionread-past-eof-lseek", lseek(fd, 100, SEEK_SET));
		R("fd/fionread-past-eof", ioctl(fd, FIONREAD, &avail));
		emit("fd/fionread-past-eof-value", "FIONREAD = %d", avail);
		R("fd/figetbsz", ioctl(fd, FIGETBSZ, &avail));
		emit("fd/figetbsz-value", "FIGETBSZ = %d", avail);
		avail = 1;
		R("fd/fioasync-on", ioctl(fd, FIOASYNC, &avail));
		avail = 0;
		R("fd/fioasync-off", ioctl(fd, FIOASYNC, &avail));
		avail = 1;
		R("fd/fionbio-on", ioctl(fd, FIONBIO, &avail));
		R("fd/fionbio-on-getfl", fcntl(fd, F_GETFL) & O_NONBLOCK);
		avail = 0;
		R("fd/fionbio-off", ioctl(fd, FIONBIO, &avail));
		R("fd/fionbio-off-getfl", fcntl(fd, F_GETFL) & O_NONBLOCK);
		/* a clone: no source, one of another mount, one of this file system */
		R("fd/ficlone-badfd", ioctl(fd, FICLONE, BADFD));
		R("fd/ficlone-self", ioctl(fd, FICLONE, fd));
		avail = open("/proc/self/status", O_RDONLY);
		R("fd/ficlone-other-mount", ioctl(fd, FICLONE, avail));
		close(avail);
		{
			struct file_clone_range cr = { .src_fd = BADFD };

			R("fd/ficlonerange-badfd", ioctl(fd, FICLONERANGE, &cr));
		}
		/* the VFS's own: the bytes the file takes, a freeze the file
		 * system cannot make (EPERM first without CAP_SYS_ADMIN), no
		 * extent map, no block map (EPERM without CAP_SYS_RAWIO) */
		{
			struct stat qs;
			loff_t q = -1;
			int blk = 0, dfd = openp("fd", O_RDONLY | O_DIRECTORY);

			R("fd/fioqsize", ioctl(fd, FIOQSIZE, &q));
			emit("fd/fioqsize-value", "FIOQSIZE %s st_blocks * 512",
			     fstat(fd, &qs) == 0 && q == (loff_t)qs.st_blocks * 512 ? "==" : "!=");
			R("fd/fioqsize-dir", ioctl(dfd, FIOQSIZE, &q));
			emit("fd/fioqsize-dir-value", "FIOQSIZE %s st_blocks * 512",
			     fstat(dfd, &qs) == 0 && q == (loff_t)qs.st_blocks * 512 ? "==" : "!=");
			R("fd/fifreeze", ioctl(fd, FIFREEZE, 0));
			R("fd/fithaw", ioctl(fd, FITHAW, 0));
			R("fd/fiemap", ioctl(fd, FS_IOC_FIEMAP, b));
			R("fd/fibmap", ioctl(fd, FIBMAP, &blk));
			R("fd/fibmap-dir", ioctl(dfd, FIBMAP, &blk));
			R("fd/fiemap-dir", ioctl(dfd, FS_IOC_FIEMAP, b));
			close(dfd);
		}
	}
	R("fd/ioctl-unknown", ioctl(fd, 0x5401 + 0x7000, b));
	close(fd);

	/* record locks: a child sees the parent's */
	put("fd/lock", "lock file");
	fd = openp("fd/lock", O_RDWR);
	if (fd < 0)
		return;
	R("fd/lock-setlk", setlk(fd, F_SETLK, F_WRLCK, 0, 100));
	R("fd/lock-setlk-read", setlk(fd, F_SETLK, F_RDLCK, 300, 10));
	getlk("fd/lock-getlk-own", fd, F_WRLCK, 0, 10);
	in_child("fd/lock-child-1", "child", lock_child_1);
	/* closing any descriptor of the file drops the process's locks */
	fd2 = openp("fd/lock", O_RDONLY);
	if (fd2 >= 0)
		close(fd2);
	in_child("fd/lock-child-2", "child", lock_child_2);
	R("fd/lock-unlock", setlk(fd, F_SETLK, F_UNLCK, 0, 0));
	fd2 = openp("fd/lock", O_RDONLY);
	if (fd2 >= 0) {
		R("fd/lock-write-on-rdonly", setlk(fd2, F_SETLK, F_WRLCK, 0, 1));
		R("fd/lock-bad-type", setlk(fd2, F_SETLK, 99, 0, 1));
		close(fd2);
	}
	/* open file description locks */
	fd2 = openp("fd/lock", O_RDWR);
	if (fd2 >= 0) {
		R("fd/ofd-setlk", setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 10));
		R("fd/ofd-setlk-conflict", setlk(fd2, F_OFD_SETLK, F_WRLCK, 5, 10));
		{
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 };

			r = fcntl(fd2, F_OFD_GETLK, &fl);
			emit("fd/ofd-getlk", "F_OFD_GETLK = %d %s pid=%d", r,
			     fl.l_type == F_WRLCK ? "F_WRLCK" : fl.l_type == F_UNLCK ? "F_UNLCK" : "?", fl.l_pid);
		}
		R("fd/ofd-unlock", setlk(fd, F_OFD_SETLK, F_UNLCK, 0, 10));
		R("fd/ofd-setlk-after", setlk(fd2, F_OFD_SETLK, F_WRLCK, 5, 10));
		close(fd2);
	}

	/* flock */
	R("fd/flock-ex", flock(fd, LOCK_EX));
	in_child("fd/flock-child", "child", flock_child);
	R("fd/flock-un", flock(fd, LOCK_UN));
	in_child("fd/flock-child-2", "child", flock_child_2);
	R("fd/flock-sh", flock(fd, LOCK_SH | LOCK_NB));
	R("fd/flock-bad-op", flock(fd, 0));
	R("fd/flock-badfd", flock(BADFD, LOCK_SH));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* stdio                                                               */
/* ------------------------------------------------------------------ */

static void t_stdio(void)
{
	char line[128], *gl = NULL, *big, *back;
	size_t cap = 0, n;
	FILE *f, *g;
	ssize_t len;
	int fd, i;

	mk("stdio");
	mk("stdio/d");
	f = RP("stdio/fopen-w", fopen(P("stdio/a"), "w"));
	if (f) {
		for (i = 1; i <= 3; i++)
			fprintf(f, "line %d\n", i);
		R("stdio/fputs", fputs("line 4\n", f));
		R("stdio/ftell-w", ftell(f));
		R("stdio/fclose-w", fclose(f));
	}
	content("stdio/fopen-w-content", "stdio/a");
	f = RP("stdio/fopen-r", fopen(P("stdio/a"), "r"));
	if (f) {
		struct strs s = { 0 };

		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			strs_add(&s, "[%s]", line);
		}
		emit("stdio/fgets", "fgets lines = %s, feof=%d", strs_join(&s, 0), feof(f));
		strs_free(&s);
		R("stdio/rewind-ftell", (rewind(f), ftell(f)));
		i = 0;
		while ((len = getline(&gl, &cap, f)) > 0)
			i++;
		emit("stdio/getline", "getline lines = %d, last = %zd", i, len);
		R("stdio/fseek", fseek(f, 5, SEEK_SET));
		R("stdio/fgetc", fgetc(f));
		R("stdio/ftell", ftell(f));
		R("stdio/fseek-end", fseek(f, -3, SEEK_END));
		R("stdio/ftell-end", ftell(f));
		R("stdio/fseek-negative", fseek(f, -100, SEEK_SET));
		R("stdio/fileno-fstat", (fstat(fileno(f), &S), S.st_size));
		R("stdio/fwrite-on-r", (long)fwrite("x", 1, 1, f));
		R("stdio/ferror-after", ferror(f) != 0);
		fclose(f);
	}
	f = RP("stdio/fopen-a", fopen(P("stdio/a"), "a"));
	if (f) {
		R("stdio/ftell-a-before", ftell(f));
		fprintf(f, "line 5\n");
		R("stdio/ftell-a", ftell(f));
		fclose(f);
	}
	f = RP("stdio/fopen-r+", fopen(P("stdio/a"), "r+"));
	if (f) {
		R("stdio/r+-fseek", fseek(f, 5, SEEK_SET));
		R("stdio/r+-fputc", fputc('X', f));
		R("stdio/r+-fflush", fflush(f));
		content("stdio/r+-content-after-fflush", "stdio/a");
		R("stdio/r+-fseek-past-end", fseek(f, 100, SEEK_END));
		R("stdio/r+-fputc-past-end", fputc('Z', f));
		fclose(f);
	}
	ST("stdio/r+-stat", stat(P("stdio/a"), &S));
	f = RP("stdio/fopen-a+", fopen(P("stdio/a"), "a+"));
	if (f) {
		R("stdio/a+-fgetc", fgetc(f));
		fprintf(f, "END");
		R("stdio/a+-fflush", fflush(f));
		R("stdio/a+-ftell", ftell(f));
		fclose(f);
	}
	f = RP("stdio/fopen-w+", fopen(P("stdio/b"), "w+"));
	if (f) {
		char rb[16] = { 0 };

		fwrite("binary\0data", 1, 11, f);
		rewind(f);
		n = fread(rb, 1, sizeof(rb), f);
		emit("stdio/w+-fread", "fread = %zu %s feof=%d", n, esc(rb, n), feof(f));
		fclose(f);
	}
	f = RP("stdio/fopen-wx-exists", fopen(P("stdio/b"), "wx"));
	if (f)
		fclose(f);
	f = RP("stdio/fopen-wx-new", fopen(P("stdio/c"), "wx"));
	if (f)
		fclose(f);
	f = RP("stdio/fopen-noent", fopen(P("stdio/missing"), "r"));
	if (f)
		fclose(f);
	f = RP("stdio/fopen-dir-w", fopen(P("stdio/d"), "w"));
	if (f)
		fclose(f);
	f = RP("stdio/fopen-dir-r", fopen(P("stdio/d"), "r"));
	if (f) {
		R("stdio/fread-dir", (long)fread(line, 1, 10, f));
		R("stdio/fread-dir-ferror", ferror(f) != 0);
		fclose(f);
	}
	f = RP("stdio/fopen-e", fopen(P("stdio/b"), "re"));
	if (f) {
		cloexec("stdio/fopen-e-cloexec", fileno(f));
		fclose(f);
	}
	f = RP("stdio/fopen64", fopen64(P("stdio/b"), "r"));
	if (f)
		fclose(f);
	f = RP("stdio/fopen-bad-mode", fopen(P("stdio/b"), "q"));
	if (f)
		fclose(f);

	/* fdopen */
	fd = openp("stdio/b", O_RDONLY);
	if (fd >= 0) {
		f = RP("stdio/fdopen", fdopen(fd, "r"));
		if (f) {
			n = fread(line, 1, 6, f);
			emit("stdio/fdopen-fread", "fread = %zu %s", n, esc(line, n));
			fclose(f);
		} else {
			close(fd);
		}
	}
	fd = openp("stdio/b", O_RDONLY);
	if (fd >= 0) {
		f = RP("stdio/fdopen-wrong-mode", fdopen(fd, "w"));
		if (f)
			fclose(f);
		close(fd);
	}
	fd = openp("stdio/b", O_RDWR);
	if (fd >= 0) {
		f = RP("stdio/fdopen-a", fdopen(fd, "a"));
		if (f) {
			fputs("+app", f);
			fclose(f);
		}
		content("stdio/fdopen-a-content", "stdio/b");
	}
	R("stdio/dprintf", ({
		int dfd = open(P("stdio/dp"), O_WRONLY | O_CREAT | O_TRUNC, 0644), r_dp;

		r_dp = dprintf(dfd, "%s-%d", "dprintf", 42);
		close(dfd);
		r_dp;
	}));
	content("stdio/dprintf-content", "stdio/dp");

	/* freopen */
	f = fopen(P("stdio/c"), "w");
	if (f) {
		g = RP("stdio/freopen", freopen(P("stdio/e"), "w", f));
		if (g) {
			fputs("reopened", g);
			fclose(g);
		}
		content("stdio/freopen-content", "stdio/e");
	}
	f = fopen(P("stdio/e"), "r");
	if (f) {
		g = RP("stdio/freopen-null-path", freopen(NULL, "a", f));
		if (g) {
			fputs("+more", g);
			fclose(g);
		}
		content("stdio/freopen-null-content", "stdio/e");
	}

	/* big binary data through stdio */
	big = pattern(100000, 7);
	back = malloc(100000 + 4096);
	f = fopen(P("stdio/big"), "wb");
	if (f) {
		R("stdio/fwrite-big", (long)fwrite(big, 1, 100000, f));
		R("stdio/fclose-big", fclose(f));
	}
	f = fopen(P("stdio/big"), "rb");
	if (f) {
		size_t got = 0;

		while ((n = fread(back + got, 1, 4096, f)) > 0)
			got += n;
		emit("stdio/fread-big", "fread 4096 at a time = %zu bytes, %s", got,
		     got == 100000 && !memcmp(big, back, 100000) ? "same" : "DIFFERENT");
		fclose(f);
	}
	free(big);
	free(back);
	f = fopen(P("stdio/unbuf"), "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		fputs("unbuffered", f);
		content("stdio/unbuffered-before-fclose", "stdio/unbuf");
		fclose(f);
	}
	f = fopen(P("stdio/linebuf"), "w");
	if (f) {
		setvbuf(f, NULL, _IOLBF, 0);
		fputs("line\npartial", f);
		content("stdio/linebuffered-before-fclose", "stdio/linebuf");
		fclose(f);
	}
	R("stdio/fflush-all", fflush(NULL));
	f = tmpfile();
	if (f) {
		fputs("tmpfile data", f);
		rewind(f);
		n = fread(line, 1, sizeof(line), f);
		emit("stdio/tmpfile", "tmpfile() = ok, read back %s", esc(line, n));
		fclose(f);
	} else {
		emit("stdio/tmpfile", "tmpfile() = NULL %s", ename(errno));
	}
	free(gl);
}

/* ------------------------------------------------------------------ */
/* mmap, munmap, msync, mprotect, mremap                               */
/* ------------------------------------------------------------------ */

static volatile char *mm_p;
static size_t mm_off;

static void mm_load(void)
{
	char c = mm_p[mm_off];

	(void)c;
}

static void mm_store(void)
{
	mm_p[mm_off] = 'S';
}

static void t_mmap(void)
{
	char *file = pattern(8192, 8), *p, *q, *r2, c;
	size_t bign = 4 * MiB + 4096;
	int fd, ro, wo;

	mk("mmap");
	putn("mmap/f", file, 8192);
	fd = openp("mmap/f", O_RDWR);
	if (fd < 0)
		goto out;
	p = RMAP("mmap/shared", mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	if (p) {
		emit("mmap/shared-load", "p[0], p[4097] = %s", esc((char []){ p[0], p[4097] }, 2));
		p[10] = 'Z';
		p[5000] = 'Y';
		R("mmap/msync", msync(p, 8192, MS_SYNC));
		prd("mmap/store-reaches-file", fd, 1, 10);
		prd("mmap/store-reaches-file-2", fd, 1, 5000);
		R("mmap/pwrite", pwrite(fd, "Q", 1, 100));
		emit("mmap/pwrite-reaches-map", "p[100] = %s", esc(&p[100], 1));
		R("mmap/msync-async", msync(p, 4096, MS_ASYNC));
		R("mmap/msync-invalidate", msync(p, 4096, MS_INVALIDATE));
		R("mmap/msync-unaligned", msync(p + 1, 4096, MS_SYNC));
		R("mmap/msync-bad-flags", msync(p, 4096, MS_SYNC | MS_ASYNC));

		/* MAP_PRIVATE is copy-on-write */
		q = RMAP("mmap/private", mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
		if (q) {
			emit("mmap/private-sees-file", "q[10] = %s", esc(&q[10], 1));
			q[20] = 'P';
			prd("mmap/private-store-not-in-file", fd, 1, 20);
			emit("mmap/private-store-not-in-shared", "p[20] = %s", esc(&p[20], 1));
			emit("mmap/private-store-visible", "q[20] = %s", esc(&q[20], 1));
			R("mmap/munmap-private", munmap(q, 8192));
		}
		/* a child's stores through an inherited shared mapping */
		mm_p = p;
		mm_off = 30;
		in_child("mmap/shared-child-store", "child stores p[30]", mm_store);
		emit("mmap/shared-child-store-seen", "p[30] = %s", esc(&p[30], 1));
		/* mprotect */
		R("mmap/mprotect-ro", mprotect(p, 4096, PROT_READ));
		mm_off = 40;
		in_child("mmap/mprotect-ro-store", "store into a PROT_READ page", mm_store);
		in_child("mmap/mprotect-ro-load", "load from a PROT_READ page", mm_load);
		R("mmap/mprotect-rw", mprotect(p, 4096, PROT_READ | PROT_WRITE));
		in_child("mmap/mprotect-rw-store", "store after PROT_READ|PROT_WRITE", mm_store);
		R("mmap/mprotect-unaligned", mprotect(p + 1, 4096, PROT_READ));
		/* mremap */
		r2 = mremap(p, 8192, 4096, 0);
		emit("mmap/mremap-shrink", "mremap(p, 8192, 4096, 0) = %s",
		     r2 == MAP_FAILED ? ename(errno) : r2 == p ? "same address" : "moved");
		if (r2 != MAP_FAILED) {
			r2 = mremap(p, 4096, 8192, MREMAP_MAYMOVE);
			if (r2 == MAP_FAILED) {
				emit("mmap/mremap-grow", "mremap(p, 4096, 8192, MREMAP_MAYMOVE) = %s", ename(errno));
			} else {
				emit("mmap/mremap-grow", "mremap(p, 4096, 8192, MREMAP_MAYMOVE) = ok, p[5000] = %s",
				     esc(&r2[5000], 1));
				p = r2;
			}
		}
		R("mmap/munmap", munmap(p, 8192));
	}
	content("mmap/content-after-munmap", "mmap/f");

	/* offsets and errors */
	p = RMAP("mmap/offset", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096));
	if (p) {
		emit("mmap/offset-load", "p[0] = %s (file[4096] = %s)", esc(p, 1), esc(file + 4096, 1));
		munmap(p, 4096);
	}
	p = RMAP("mmap/offset-unaligned", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 100));
	if (p)
		munmap(p, 4096);
	p = RMAP("mmap/len-0", mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0));
	p = RMAP("mmap/badfd", mmap(NULL, 4096, PROT_READ, MAP_SHARED, BADFD, 0));
	p = RMAP("mmap/mmap64", mmap64(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0));
	if (p)
		munmap(p, 4096);
	ro = openp("mmap/f", O_RDONLY);
	if (ro >= 0) {
		p = RMAP("mmap/shared-write-on-rdonly", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
		if (p)
			munmap(p, 4096);
		p = RMAP("mmap/private-write-on-rdonly", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));
		if (p) {
			p[0] = 'w';
			munmap(p, 4096);
		}
		p = RMAP("mmap/shared-read-on-rdonly", mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0));
		if (p) {
			R("mmap/mprotect-write-on-rdonly", mprotect(p, 4096, PROT_READ | PROT_WRITE));
			munmap(p, 4096);
		}
		close(ro);
	}
	wo = openp("mmap/f", O_WRONLY);
	if (wo >= 0) {
		p = RMAP("mmap/read-on-wronly", mmap(NULL, 4096, PROT_READ, MAP_SHARED, wo, 0));
		if (p)
			munmap(p, 4096);
		close(wo);
	}
	wo = open(P("mmap"), O_RDONLY | O_DIRECTORY);
	if (wo >= 0) {
		p = RMAP("mmap/dir", mmap(NULL, 4096, PROT_READ, MAP_SHARED, wo, 0));
		if (p)
			munmap(p, 4096);
		close(wo);
	}
	wo = open(P("mmap/f"), O_PATH);
	if (wo >= 0) {
		p = RMAP("mmap/opath", mmap(NULL, 4096, PROT_READ, MAP_SHARED, wo, 0));
		if (p)
			munmap(p, 4096);
		close(wo);
	}
	close(fd);

	/* past the end of the file */
	put("mmap/short", "short file");
	fd = openp("mmap/short", O_RDWR);
	if (fd >= 0) {
		p = RMAP("mmap/past-eof", mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
		if (p) {
			emit("mmap/past-eof-same-page", "p[4000] = %s", esc(&p[4000], 1));
			mm_p = p;
			mm_off = 4096 + 10;
			in_child("mmap/past-eof-next-page", "load from the page past EOF", mm_load);
			p[20] = 'T';
			R("mmap/past-eof-msync", msync(p, 4096, MS_SYNC));
			ST("mmap/past-eof-store-size", fstat(fd, &S));
			R("mmap/grow", ftruncate(fd, 8192));
			in_child("mmap/grow-next-page", "load from the page after ftruncate", mm_load);
			emit("mmap/grow-zeros", "p[5000] = %s", esc(&p[5000], 1));
			R("mmap/shrink", ftruncate(fd, 100));
			mm_off = 5000;
			in_child("mmap/shrink-next-page", "load after shrinking", mm_load);
			munmap(p, 8192);
		}
		close(fd);
	}

	/* 4 MiB written through a mapping, read back with read() */
	fd = openp("mmap/big", O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0 && ftruncate(fd, (off_t)bign) == 0) {
		char *exp = pattern(bign, 9);

		p = RMAP("mmap/big", mmap(NULL, bign, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
		if (p) {
			memcpy(p, exp, bign);
			R("mmap/big-munmap", munmap(p, bign));
		}
		close(fd);
		content_is("mmap/big-content", "mmap/big", exp, bign);
		free(exp);
	}
	/* a mapping outlives its descriptor */
	fd = openp("mmap/f", O_RDWR);
	if (fd >= 0) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (p != MAP_FAILED) {
			c = p[0];
			p[1] = '!';
			msync(p, 4096, MS_SYNC);
			munmap(p, 4096);
			emit("mmap/after-close", "p[0] = %s", esc(&c, 1));
		}
		prd("mmap/after-close-content", (fd = openp("mmap/f", O_RDONLY)), 2, 0);
		close(fd);
	}
out:
	free(file);
}

/* ------------------------------------------------------------------ */
/* fork, exec, threads                                                 */
/* ------------------------------------------------------------------ */

/* The exec'd side: posix_test --exec-child FD CLOEXEC_FD. */
static int exec_child(int fd, int cfd)
{
	char b[16];
	ssize_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	offset("proc/exec-inherited-offset", fd);
	n = pread(fd, b, 5, 0);
	emit("proc/exec-inherited-pread", "pread(fd, 5, 0) = %zd %s", n, n >= 0 ? esc(b, (size_t)n) : ename(errno));
	ST("proc/exec-inherited-fstat", fstat(fd, &S));
	getfl("proc/exec-inherited-getfl", fd);
	R("proc/exec-inherited-write", write(fd, " world", 6));
	R("proc/exec-cloexec-closed", fcntl(cfd, F_GETFD));
	return 0;
}

static int shared_fd = -1;

static void fork_writer(void)
{
	if (write(shared_fd, "def", 3) != 3)
		_exit(2);
}

static void fork_seeker(void)
{
	lseek(shared_fd, 1, SEEK_SET);
}

static void fork_closer(void)
{
	close(shared_fd);
}

struct thr {
	int n;
	int shared;
	int ok;
};

static void *thread_fn(void *arg)
{
	struct thr *t = arg;
	char name[64], block[4096], line[64];
	int fd, i;

	snprintf(name, sizeof(name), "proc/thread-%d", t->n);
	fd = open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return NULL;
	t->ok = 1;
	for (i = 0; i < 500; i++) {
		int len = snprintf(line, sizeof(line), "thread %d line %d\n", t->n, i);

		if (write(fd, line, (size_t)len) != len)
			t->ok = 0;
	}
	memset(block, 'a' + t->n, sizeof(block));
	for (i = 0; i < 16; i++)
		if (pwrite(t->shared, block, sizeof(block), ((off_t)i * 4 + t->n) * 4096) != 4096)
			t->ok = 0;
	close(fd);
	return NULL;
}

static void t_proc(void)
{
	char fdarg[16], cfdarg[16], buf[256];
	struct thr th[4];
	pthread_t tid[4];
	int fd, cfd, st, i, ok, pipefd[2];
	pid_t pid;
	ssize_t n;

	mk("proc");

	/* fork: parent and child share the open file description */
	fd = openp("proc/shared", O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0) {
		shared_fd = fd;
		R("proc/fork-parent-write", write(fd, "abc", 3));
		in_child("proc/fork-child-write", "child writes \"def\"", fork_writer);
		offset("proc/fork-offset-after-child", fd);
		R("proc/fork-parent-write-2", write(fd, "ghi", 3));
		content("proc/fork-content", "proc/shared");
		in_child("proc/fork-child-lseek", "child lseeks to 1", fork_seeker);
		offset("proc/fork-offset-after-child-lseek", fd);
		in_child("proc/fork-child-close", "child closes", fork_closer);
		R("proc/fork-after-child-close", write(fd, "J", 1));
		content("proc/fork-content-2", "proc/shared");
		close(fd);
	}

	/* two processes appending through their own descriptors */
	{
		pid_t kids[2];
		int k, lines = 0, good = 1;
		char *c;
		size_t len;
		int err;

		fd = openp("proc/appended", O_WRONLY | O_CREAT | O_TRUNC);
		if (fd >= 0)
			close(fd);
		fflush(stdout);
		for (k = 0; k < 2; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				int afd = open(P("proc/appended"), O_WRONLY | O_APPEND);

				for (i = 0; i < 500; i++) {
					char l[32];
					int ln = snprintf(l, sizeof(l), "process %d line %03d\n", k, i);

					if (write(afd, l, (size_t)ln) != ln)
						_exit(1);
				}
				_exit(0);
			}
		}
		for (k = 0; k < 2; k++)
			if (kids[k] > 0)
				waitpid(kids[k], &st, 0);
		c = slurp("proc/appended", &len, &err);
		if (c) {
			for (size_t j = 0; j < len; j++)
				if (c[j] == '\n')
					lines++;
			if (len != 1000 * 19)
				good = 0;
			for (size_t j = 0; good && j + 19 <= len; j += 19)
				if (strncmp(c + j, "process ", 8) || c[j + 18] != '\n')
					good = 0;
		}
		emit("proc/append-two-processes", "2 x 500 appended lines = %d lines, %s", lines,
		     good ? "whole" : "TORN OR LOST");
		free(c);
	}

	/* exec: a descriptor without FD_CLOEXEC is still the same open file */
	fd = openp("proc/exec", O_RDWR | O_CREAT | O_TRUNC);
	cfd = openp("proc/exec", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && cfd >= 0) {
		R("proc/exec-write", write(fd, "hello", 5));
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(cfdarg, sizeof(cfdarg), "%d", cfd);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			execl(self_exe, self_exe, "--exec-child", fdarg, cfdarg, (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		emit("proc/exec-child", "exec'd child = %s", how_ended(st));
		offset("proc/exec-offset-after", fd);
		content("proc/exec-content", "proc/exec");
	}
	if (fd >= 0)
		close(fd);
	if (cfd >= 0)
		close(cfd);

	/* exec with a descriptor as standard output: `echo > file` */
	fd = openp("proc/redirect", O_WRONLY | O_CREAT | O_TRUNC);
	if (fd >= 0) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			dup2(fd, 1);
			close(fd);
			execlp("echo", "echo", "redirected", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		emit("proc/redirect-child", "echo redirected > proc/redirect = %s", how_ended(st));
		close(fd);
		content("proc/redirect-content", "proc/redirect");
	}
	/* standard input from a file: `cat < file` */
	fd = openp("proc/redirect", O_RDONLY);
	if (fd >= 0 && pipe(pipefd) == 0) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			dup2(fd, 0);
			dup2(pipefd[1], 1);
			close(fd);
			close(pipefd[0]);
			close(pipefd[1]);
			execlp("cat", "cat", (char *)NULL);
			_exit(127);
		}
		close(pipefd[1]);
		n = read(pipefd[0], buf, sizeof(buf));
		close(pipefd[0]);
		waitpid(pid, &st, 0);
		emit("proc/redirect-stdin", "cat < proc/redirect = %s, %s", how_ended(st),
		     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	}
	if (fd >= 0)
		close(fd);

	/* executing a script that lives in DIR */
	put("proc/script.sh", "#!/bin/sh\necho script ran with \"$1\"\n");
	chmod(P("proc/script.sh"), 0755);
	if (pipe(pipefd) == 0) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			dup2(pipefd[1], 1);
			close(pipefd[0]);
			close(pipefd[1]);
			execl(P("proc/script.sh"), "script.sh", "arg", (char *)NULL);
			printf("execl = -1 %s\n", ename(errno));
			fflush(stdout);
			_exit(127);
		}
		close(pipefd[1]);
		n = read(pipefd[0], buf, sizeof(buf));
		close(pipefd[0]);
		waitpid(pid, &st, 0);
		emit("proc/exec-script", "execl(\"proc/script.sh\") = %s, %s", how_ended(st),
		     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	}

	/* threads: each its own file, and blocks of a shared one */
	fd = openp("proc/threads", O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0) {
		for (i = 0; i < 4; i++) {
			th[i] = (struct thr){ .n = i, .shared = fd };
			if (pthread_create(&tid[i], NULL, thread_fn, &th[i]))
				th[i].ok = -1;
		}
		ok = 1;
		for (i = 0; i < 4; i++) {
			if (th[i].ok != -1)
				pthread_join(tid[i], NULL);
			if (th[i].ok != 1)
				ok = 0;
		}
		emit("proc/threads", "4 threads writing = %s", ok ? "ok" : "FAILED");
		ST("proc/threads-stat", fstat(fd, &S));
		for (i = 0; i < 64; i++) {
			char blk[4096];

			if (pread(fd, blk, sizeof(blk), (off_t)i * 4096) != 4096 ||
			    blk[0] != 'a' + i % 4 || blk[4095] != 'a' + i % 4)
				ok = 0;
		}
		emit("proc/threads-shared", "blocks of the shared file = %s", ok ? "right" : "WRONG");
		close(fd);
		for (i = 0; i < 4; i++) {
			char name[32];

			snprintf(name, sizeof(name), "proc/thread-%d", i);
			ST(i == 0 ? "proc/thread-0-stat" : i == 1 ? "proc/thread-1-stat" :
			   i == 2 ? "proc/thread-2-stat" : "proc/thread-3-stat", stat(P(name), &S));
		}
	}
}

/* ------------------------------------------------------------------ */
/* mkstemp, mkostemp, mkostemps, mkdtemp, tmpfile                      */
/* ------------------------------------------------------------------ */

static void name_shape(const char *name, const char *path, const char *prefix, const char *suffix)
{
	const char *base = strrchr(path, '/');
	size_t pl = strlen(prefix), sl_ = strlen(suffix), bl;
	struct stat st;

	base = base ? base + 1 : path;
	bl = strlen(base);
	if (stat(path, &st))
		emit(name, "name = ?, stat = -1 %s", ename(errno));
	else
		emit(name, "name = %s%s, %s", prefix,
		     bl == pl + 6 + sl_ && !strncmp(base, prefix, pl) && !strcmp(base + bl - sl_, suffix) &&
		     strncmp(base + pl, "XXXXXX", 6) ? "<6 chars>" : "<WRONG>", fmt_stat(&st));
}

static void t_tmp(void)
{
	char tmpl[PATH_MAX + 64];
	char *d;
	int fd;

	mk("tmp");
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/fooXXXXXX"));
	fd = RFD("tmp/mkstemp", mkstemp(tmpl));
	if (fd >= 0) {
		name_shape("tmp/mkstemp-name", tmpl, "foo", "");
		cloexec("tmp/mkstemp-cloexec", fd);
		getfl("tmp/mkstemp-getfl", fd);
		R("tmp/mkstemp-write", write(fd, "temp", 4));
		close(fd);
		R("tmp/mkstemp-unlink", unlink(tmpl));
	}
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/barXXXXXX"));
	fd = RFD("tmp/mkostemp", mkostemp(tmpl, O_CLOEXEC | O_APPEND));
	if (fd >= 0) {
		name_shape("tmp/mkostemp-name", tmpl, "bar", "");
		cloexec("tmp/mkostemp-cloexec", fd);
		getfl("tmp/mkostemp-getfl", fd);
		close(fd);
	}
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/bazXXXXXX.txt"));
	fd = RFD("tmp/mkostemps", mkostemps(tmpl, 4, 0));
	if (fd >= 0) {
		name_shape("tmp/mkostemps-name", tmpl, "baz", ".txt");
		close(fd);
	}
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/quxXXXXXX"));
	fd = RFD("tmp/mkstemp64", mkstemp64(tmpl));
	if (fd >= 0)
		close(fd);
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/dirXXXXXX"));
	d = RP("tmp/mkdtemp", mkdtemp(tmpl));
	if (d)
		name_shape("tmp/mkdtemp-name", tmpl, "dir", "");
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/bad"));
	R("tmp/mkstemp-bad-template", mkstemp(tmpl));
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/badXXXXX"));
	R("tmp/mkstemp-5-x", mkstemp(tmpl));
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/missing/fooXXXXXX"));
	R("tmp/mkstemp-noent", mkstemp(tmpl));
	snprintf(tmpl, sizeof(tmpl), "%s", P("tmp/missing/dirXXXXXX"));
	d = RP("tmp/mkdtemp-noent", mkdtemp(tmpl));
	{
		FILE *f = tmpfile64();
		char b[8];
		size_t n = 0;

		if (f) {
			fputs("tmp64", f);
			rewind(f);
			n = fread(b, 1, sizeof(b), f);
			fclose(f);
		}
		emit("tmp/tmpfile64", "tmpfile64() = %s %s", f ? "ok" : ename(errno), esc(b, n));
	}
	{
		DIR *dd = opendir(P("tmp"));
		struct dirent *de;
		int n = 0;

		if (dd) {
			while ((de = readdir(dd)))
				n++;
			closedir(dd);
		}
		emit("tmp/entries", "entries in tmp = %d", n);
	}
}

/* ------------------------------------------------------------------ */
/* nftw, ftw, glob                                                     */
/* ------------------------------------------------------------------ */

static struct strs walk_seen;
static int walk_stop_at_x;
static int walk_postorder_ok;

static const char *ftw_flag(int flag)
{
	switch (flag) {
	case FTW_F: return "F";
	case FTW_D: return "D";
	case FTW_DNR: return "DNR";
	case FTW_DP: return "DP";
	case FTW_NS: return "NS";
	case FTW_SL: return "SL";
	case FTW_SLN: return "SLN";
	}
	return "?";
}

static int walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + strlen(top) + 1;

	(void)st;
	if (walk_stop_at_x && !strcmp(path + ftw->base, "x.txt"))
		return 7;
	strs_add(&walk_seen, "%s:%s:%d", rel, ftw_flag(flag), ftw->level);
	return 0;
}

/* With FTW_DEPTH, every directory comes after everything inside it. */
static int walk_depth_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	strs_add(&walk_seen, "%s", path);
	if (flag == FTW_DP) {
		DIR *d = opendir(path);
		struct dirent *de;

		if (d) {
			while ((de = readdir(d))) {
				char child[PATH_MAX + 300];
				size_t j;
				int found = 0;

				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
				for (j = 0; j < walk_seen.n; j++)
					if (!strcmp(walk_seen.v[j], child))
						found = 1;
				if (!found)
					walk_postorder_ok = 0;
			}
			closedir(d);
		}
	}
	return 0;
}

static int ftw_cb(const char *path, const struct stat *st, int flag)
{
	strs_add(&walk_seen, "%s:%s:%s", path + strlen(top) + 1, ftw_flag(flag),
		 flag == FTW_NS ? "-" : ftype(st->st_mode));
	return 0;
}

static void show_glob(const char *name, const char *pat, int flags)
{
	glob_t g;
	struct strs s = { 0 };
	size_t i;
	int r = glob(P(pat), flags, NULL, &g);

	if (r == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			strs_add(&s, "%s", g.gl_pathv[i] + (strncmp(g.gl_pathv[i], top, strlen(top)) ?
							      0 : strlen(top) + 1));
		/* GLOB_NOSORT leaves the order of readdir: sorted here */
		emit(name, "glob(\"%s\", %#x) = %s", pat, flags, strs_join(&s, flags & GLOB_NOSORT));
		strs_free(&s);
		globfree(&g);
	} else {
		emit(name, "glob(\"%s\", %#x) = %s", pat, flags,
		     r == GLOB_NOMATCH ? "GLOB_NOMATCH" : r == GLOB_ABORTED ? "GLOB_ABORTED" : "error");
		if (r != GLOB_NOMATCH)
			globfree(&g);
	}
}

static void t_walk(void)
{
	int r;

	mk("walk");
	mk("walk/a");
	mk("walk/a/b");
	mk("walk/a/b/c");
	mk("walk/empty");
	put("walk/a/b/c/file1", "1");
	put("walk/a/file2", "2");
	put("walk/x.txt", "x");
	put("walk/y.txt", "y");
	put("walk/z.dat", "z");
	put("walk/.dot.txt", "dot");
	sl("a", "walk/link");
	sl("nowhere", "walk/a/dangle");

	r = nftw(P("walk"), walk_cb, 16, FTW_PHYS);
	emit("walk/nftw-phys", "nftw(\"walk\", FTW_PHYS) = %d: %s", r, strs_join(&walk_seen, 1));
	strs_free(&walk_seen);
	r = nftw(P("walk"), walk_cb, 2, FTW_PHYS | FTW_MOUNT | FTW_CHDIR);
	emit("walk/nftw-chdir", "nftw(\"walk\", FTW_PHYS|FTW_MOUNT|FTW_CHDIR, 2 fds) = %d: %s", r,
	     strs_join(&walk_seen, 1));
	strs_free(&walk_seen);
	walk_postorder_ok = 1;
	r = nftw(P("walk"), walk_depth_cb, 16, FTW_PHYS | FTW_DEPTH);
	emit("walk/nftw-depth", "nftw(\"walk\", FTW_PHYS|FTW_DEPTH) = %d: %zu entries, directories after their contents = %s",
	     r, walk_seen.n, walk_postorder_ok ? "yes" : "NO");
	strs_free(&walk_seen);
	walk_stop_at_x = 1;
	r = nftw(P("walk"), walk_cb, 16, FTW_PHYS);
	emit("walk/nftw-stop", "nftw returns the callback's non-zero value = %d", r);
	walk_stop_at_x = 0;
	strs_free(&walk_seen);
	r = nftw(P("walk/missing"), walk_cb, 16, FTW_PHYS);
	emit("walk/nftw-noent", "nftw(\"walk/missing\") = %d %s", r, r < 0 ? ename(errno) : "");
	strs_free(&walk_seen);
	r = nftw(P("walk/x.txt"), walk_cb, 16, FTW_PHYS);
	emit("walk/nftw-file", "nftw(\"walk/x.txt\") = %d: %s", r, strs_join(&walk_seen, 1));
	strs_free(&walk_seen);
	r = nftw64(P("walk/a/b"), (int (*)(const char *, const struct stat64 *, int, struct FTW *))walk_cb,
		   16, FTW_PHYS);
	emit("walk/nftw64", "nftw64(\"walk/a/b\") = %d: %s", r, strs_join(&walk_seen, 1));
	strs_free(&walk_seen);
	/* ftw follows symbolic links: a tree without them */
	r = ftw(P("walk/a/b"), ftw_cb, 8);
	emit("walk/ftw", "ftw(\"walk/a/b\") = %d: %s", r, strs_join(&walk_seen, 1));
	strs_free(&walk_seen);
	/* nftw without FTW_PHYS on a dangling link */
	r = nftw(P("walk/a"), walk_cb, 16, 0);
	emit("walk/nftw-follow", "nftw(\"walk/a\", 0) = %d: %s", r, strs_join(&walk_seen, 1));
	strs_free(&walk_seen);

	show_glob("walk/glob-txt", "walk/*.txt", 0);
	show_glob("walk/glob-all", "walk/*", 0);
	show_glob("walk/glob-mark", "walk/*", GLOB_MARK);
	show_glob("walk/glob-period", "walk/.*.txt", 0);
	show_glob("walk/glob-period-flag", "walk/*", GLOB_PERIOD);
	show_glob("walk/glob-nomatch", "walk/*.none", 0);
	show_glob("walk/glob-nocheck", "walk/*.none", GLOB_NOCHECK);
	show_glob("walk/glob-nested", "walk/*/*", 0);
	show_glob("walk/glob-deep", "walk/a/*/*/file?", 0);
	show_glob("walk/glob-onlydir", "walk/*", GLOB_ONLYDIR | GLOB_MARK);
	show_glob("walk/glob-brace", "walk/{x,y,q}.txt", GLOB_BRACE);
	show_glob("walk/glob-class", "walk/[xz].*", 0);
	show_glob("walk/glob-nosort", "walk/a/*", GLOB_NOSORT | GLOB_MARK);
	show_glob("walk/glob-through-symlink", "walk/link/*", 0);
	show_glob("walk/glob-literal", "walk/x.txt", 0);
	show_glob("walk/glob-literal-missing", "walk/none.txt", 0);
	show_glob("walk/glob-dangling", "walk/a/dangl*", 0);
}

/* ------------------------------------------------------------------ */
/* mknod, mkfifo: node types, and a FIFO between processes             */
/* ------------------------------------------------------------------ */

static void fifo_writer(void)
{
	int fd = open(P("special/fifo"), O_WRONLY);

	if (fd < 0 || write(fd, "ping", 4) != 4)
		_exit(1);
	close(fd);
}

static void t_special(void)
{
	struct pollfd pfd;
	char buf[16];
	int fd, dfd;
	ssize_t n;

	mk("special");
	R("special/mkfifo", mkfifo(P("special/fifo"), 0644));
	ST("special/mkfifo-stat", stat(P("special/fifo"), &S));
	R("special/mkfifo-exists", mkfifo(P("special/fifo"), 0644));
	R("special/mkfifo-noent", mkfifo(P("special/missing/fifo"), 0644));
	R("special/mknod-reg", mknod(P("special/reg"), S_IFREG | 0600, 0));
	ST("special/mknod-reg-stat", stat(P("special/reg"), &S));
	R("special/mknod-zero-type", mknod(P("special/reg0"), 0600, 0));
	ST("special/mknod-zero-type-stat", stat(P("special/reg0"), &S));
	R("special/mknod-chr", mknod(P("special/chr"), S_IFCHR | 0600, makedev(1, 3)));
	ST("special/mknod-chr-stat", stat(P("special/chr"), &S));
	R("special/mknod-blk", mknod(P("special/blk"), S_IFBLK | 0600, makedev(7, 0)));
	ST("special/mknod-blk-stat", stat(P("special/blk"), &S));
	R("special/mknod-big-dev", mknod(P("special/chr2"), S_IFCHR | 0600, makedev(300, 70000)));
	ST("special/mknod-big-dev-stat", stat(P("special/chr2"), &S));
	R("special/mknod-sock", mknod(P("special/sock"), S_IFSOCK | 0600, 0));
	ST("special/mknod-sock-stat", stat(P("special/sock"), &S));
	R("special/mknod-dir", mknod(P("special/dir"), S_IFDIR | 0755, 0));
	R("special/mknod-bad-type", mknod(P("special/bad"), 0170000 | 0600, 0));
	R("special/mknod-exists", mknod(P("special/reg"), S_IFREG | 0600, 0));
	dfd = open(P("special"), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		R("special/mknodat", mknodat(dfd, "fifo2", S_IFIFO | 0600, 0));
		ST("special/mknodat-stat", fstatat(dfd, "fifo2", &S, 0));
		R("special/mkfifoat", mkfifoat(dfd, "fifo3", 0640));
		ST("special/mkfifoat-stat", fstatat(dfd, "fifo3", &S, 0));
		close(dfd);
	}
	RFDC("special/open-sock", open(P("special/sock"), O_RDONLY));
	RFDC("special/open-fifo-nonblock-writer", open(P("special/fifo"), O_WRONLY | O_NONBLOCK));
	list("special/list", "special");

	/* a FIFO carries data between two processes */
	fd = RFD("special/fifo-open-reader", open(P("special/fifo"), O_RDONLY | O_NONBLOCK));
	if (fd >= 0) {
		in_child("special/fifo-writer", "child writes \"ping\"", fifo_writer);
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, 5000);
		n = read(fd, buf, sizeof(buf));
		emit("special/fifo-read", "read = %zd %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno));
		close(fd);
	}
	R("special/unlink-fifo", unlink(P("special/fifo")));
	R("special/unlink-chr", unlink(P("special/chr")));
	R("special/unlink-sock", unlink(P("special/sock")));
}

/* ------------------------------------------------------------------ */
/* errno across calls: ENAMETOOLONG, ELOOP, EBADF, ENOTDIR...          */
/* ------------------------------------------------------------------ */

static void t_err(void)
{
	char n255[300], n256[300], buf[64], longp[PATH_MAX + 600];
	struct stat st;
	struct statfs sfs;
	int i;

	mk("err");
	mk("err/d");
	put("err/f", "f");
	sl("loop-b", "err/loop-a");
	sl("loop-a", "err/loop-b");
	memset(buf, 0, sizeof(buf));
	strcpy(n255, "err/");
	memset(n255 + 4, 'a', 255);
	n255[259] = 0;
	strcpy(n256, "err/");
	memset(n256 + 4, 'b', 256);
	n256[260] = 0;

	/* a 255-byte name works everywhere */
	R("err/255-creat", close(open(P(n255), O_WRONLY | O_CREAT, 0644)));
	ST("err/255-stat", stat(P(n255), &S));
	R("err/255-rename", rename(P(n255), P("err/short")));
	R("err/255-rename-back", rename(P("err/short"), P(n255)));
	list("err/255-list", "err");
	R("err/255-unlink", unlink(P(n255)));
	R("err/255-mkdir", mkdir(P(n255), 0755));
	R("err/255-rmdir", rmdir(P(n255)));
	R("err/255-symlink", symlink("f", P(n255)));
	R("err/255-unlink-symlink", unlink(P(n255)));

	/* names with unusual bytes */
	{
		static const char *const odd[] = { "err/new\nline", "err/tab\there", "err/back\\slash",
						   "err/...", "err/ trailing ", "err/-dash", "err/\x01\x7f\xff",
						   "err/\xc3\xa9t\xc3\xa9", "err/*?[", "err/a:b" };
		struct strs s = { 0 };
		DIR *d;
		struct dirent *de;
		unsigned int k;

		mk("err/odd");
		for (k = 0; k < ARRAY_SIZE(odd); k++) {
			char p2[64];

			snprintf(p2, sizeof(p2), "err/odd/%s", odd[k] + 4);
			if (put(p2, odd[k]) == 0 && stat(P(p2), &st) == 0)
				strs_add(&s, "%s", esc(odd[k] + 4, strlen(odd[k] + 4)));
			else
				strs_add(&s, "FAILED:%s", esc(odd[k] + 4, strlen(odd[k] + 4)));
		}
		emit("err/odd-names-create", "create and stat = %s", strs_join(&s, 1));
		strs_free(&s);
		d = opendir(P("err/odd"));
		while (d && (de = readdir(d)))
			strs_add(&s, "%s", esc(de->d_name, strlen(de->d_name)));
		if (d)
			closedir(d);
		emit("err/odd-names-readdir", "readdir = %s", strs_join(&s, 1));
		strs_free(&s);
		/* a 255-byte name of two-byte characters */
		strcpy(n256, "err/odd/");
		for (k = 0; k < 127; k++)
			strcat(n256, "\xc3\xa9");
		strcat(n256, "x");
		R("err/255-utf8", close(open(P(n256), O_WRONLY | O_CREAT, 0644)));
		strcat(n256, "y");
		R("err/256-utf8", open(P(n256), O_WRONLY | O_CREAT, 0644));
		strcpy(n256, "err/");
		memset(n256 + 4, 'b', 256);
		n256[260] = 0;
	}

	/* ENAMETOOLONG for 256 */
	RFDC("err/256-open", open(P(n256), O_WRONLY | O_CREAT, 0644));
	R("err/256-mkdir", mkdir(P(n256), 0755));
	R("err/256-stat", stat(P(n256), &st));
	R("err/256-lstat", lstat(P(n256), &st));
	R("err/256-unlink", unlink(P(n256)));
	R("err/256-rmdir", rmdir(P(n256)));
	R("err/256-rename-to", rename(P("err/f"), P(n256)));
	R("err/256-rename-from", rename(P(n256), P("err/g")));
	R("err/256-link", link(P("err/f"), P(n256)));
	R("err/256-symlink", symlink("f", P(n256)));
	R("err/256-readlink", readlink(P(n256), buf, sizeof(buf)));
	R("err/256-chmod", chmod(P(n256), 0644));
	R("err/256-chown", chown(P(n256), 0, 0));
	R("err/256-access", access(P(n256), F_OK));
	R("err/256-truncate", truncate(P(n256), 0));
	R("err/256-utimensat", utimensat(AT_FDCWD, P(n256), NULL, 0));
	R("err/256-chdir", chdir(P(n256)));
	R("err/256-mkfifo", mkfifo(P(n256), 0644));
	R("err/256-statfs", statfs(P(n256), &sfs));
	snprintf(longp, sizeof(longp), "%s/x", n256);
	R("err/256-inner", stat(P(longp), &st));
	{
		DIR *d = RP("err/256-opendir", opendir(P(n256)));

		if (d)
			closedir(d);
	}
	/* a path of PATH_MAX bytes or more */
	strcpy(longp, P("err"));
	for (i = 0; strlen(longp) < PATH_MAX + 2; i++)
		strcat(longp, "/d/..");
	R("err/pathmax-stat", stat(longp, &st));
	R("err/pathmax-mkdir", mkdir(longp, 0755));
	R("err/pathmax-unlink", unlink(longp));

	/* ELOOP */
	R("err/loop-stat", stat(P("err/loop-a"), &st));
	R("err/loop-inner", stat(P("err/loop-a/x"), &st));
	R("err/loop-chdir", chdir(P("err/loop-a")));
	R("err/loop-access", access(P("err/loop-a"), F_OK));
	R("err/loop-truncate", truncate(P("err/loop-a"), 0));
	R("err/loop-chmod", chmod(P("err/loop-a"), 0644));
	R("err/loop-mkdir-inside", mkdir(P("err/loop-a/x"), 0755));
	R("err/loop-lstat", lstat(P("err/loop-a"), &st));
	R("err/loop-unlink", unlink(P("err/loop-b")));
	R("err/loop-dangling-now", stat(P("err/loop-a"), &st));

	/* EBADF */
	R("err/badfd-fstat", fstat(BADFD, &st));
	R("err/badfd-fchdir", fchdir(BADFD));
	R("err/badfd-fsync", fsync(BADFD));
	R("err/badfd-ftruncate", ftruncate(BADFD, 0));
	R("err/badfd-fchmod", fchmod(BADFD, 0));
	R("err/badfd-getdents64", getdents64(BADFD, buf, sizeof(buf)));
	R("err/badfd-fstatfs", fstatfs(BADFD, &sfs));
	R("err/badfd-mkdirat", mkdirat(BADFD, "x", 0755));
	R("err/badfd-readlinkat", readlinkat(BADFD, "x", buf, sizeof(buf)));
	R("err/badfd-renameat", renameat(BADFD, "x", topfd, "y"));
	R("err/badfd-linkat", linkat(topfd, "err/f", BADFD, "y", 0));
	R("err/badfd-ioctl", ioctl(BADFD, FIONREAD, &i));
	R("err/badfd-lseek", lseek(BADFD, 0, SEEK_CUR));
	R("err/negative-fd-fstat", fstat(-5, &st));

	/* ENOTDIR through a regular file in the middle */
	R("err/notdir-stat", stat(P("err/f/x"), &st));
	R("err/notdir-mkdir", mkdir(P("err/f/x"), 0755));
	R("err/notdir-unlink", unlink(P("err/f/x")));
	R("err/notdir-rename", rename(P("err/f/x"), P("err/y")));
	R("err/notdir-chdir", chdir(P("err/f")));
	R("err/notdir-rmdir", rmdir(P("err/f")));
	R("err/notdir-symlink", symlink("x", P("err/f/x")));
	R("err/notdir-fstatat", fstatat(topfd, "err/f/.", &st, 0));
	R("err/notdir-dotdot", stat(P("err/f/.."), &st));

	/* ENOENT in the middle, and EEXIST */
	R("err/noent-middle", stat(P("err/missing/x/y"), &st));
	R("err/noent-link-src", link(P("err/missing"), P("err/y")));
	R("err/exist-link", link(P("err/f"), P("err/d")));
	R("err/exist-mkfifo", mkfifo(P("err/d"), 0644));
	R("err/exist-symlink-dir", symlink("x", P("err/d")));

	/* errno survives a successful call */
	errno = 12345;
	i = stat(P("err/f"), &st);
	emit("err/errno-kept-stat", "stat = %d, then errno = %d", i, errno);
	errno = 12345;
	i = open(P("err/f"), O_RDONLY);
	emit("err/errno-kept-open", "open = %s, then errno = %d", i >= 0 ? "fd" : "-1", errno);
	if (i >= 0)
		close(i);
	errno = 12345;
	i = access(P("err/f"), F_OK);
	emit("err/errno-kept-access", "access = %d, then errno = %d", i, errno);
}

/* ------------------------------------------------------------------ */
/* permission checks as another user                                   */
/* ------------------------------------------------------------------ */

/* Whether the host's fs.protected_hardlinks is on. */
static int protected_hardlinks(void)
{
	char c = '0';
	int fd = open("/proc/sys/fs/protected_hardlinks", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}

static void perm_nobody(void)
{
	struct timespec ts[2] = { { 100, 0 }, { 200, 0 } };
	char buf[16];
	DIR *d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	RFDC("perm/rootfile-read", open(P("perm/rootfile"), O_RDONLY));
	R("perm/rootfile-access", access(P("perm/rootfile"), R_OK));
	ST("perm/rootfile-stat", stat(P("perm/rootfile"), &S));
	RFDC("perm/rootro-read", open(P("perm/rootro"), O_RDONLY));
	RFDC("perm/rootro-write", open(P("perm/rootro"), O_WRONLY));
	RFDC("perm/rootro-trunc", open(P("perm/rootro"), O_RDONLY | O_TRUNC));
	RFDC("perm/rootro-acc3", open(P("perm/rootro"), O_ACCMODE));
	RFDC("perm/rootfile-acc3", open(P("perm/rootfile"), O_ACCMODE));
	RFDC("perm/rootrw-acc3", open(P("perm/rootrw"), O_ACCMODE));
	R("perm/rootro-truncate", truncate(P("perm/rootro"), 0));
	R("perm/rootro-access-w", access(P("perm/rootro"), W_OK));
	R("perm/rootro-access-x", access(P("perm/rootro"), X_OK));
	RFDC("perm/rootrw-rdwr", open(P("perm/rootrw"), O_RDWR));
	R("perm/create", close(open(P("perm/mine"), O_WRONLY | O_CREAT, 0666)));
	ST("perm/create-stat", stat(P("perm/mine"), &S));
	R("perm/mkdir", mkdir(P("perm/mydir"), 0777));
	ST("perm/mkdir-stat", stat(P("perm/mydir"), &S));
	RFDC("perm/closed-create", open(P("perm/closed/new"), O_WRONLY | O_CREAT, 0644));
	R("perm/closed-stat", stat(P("perm/closed/file"), &S));
	d = RP("perm/closed-opendir", opendir(P("perm/closed")));
	if (d)
		closedir(d);
	R("perm/closed-chdir", chdir(P("perm/closed")));
	R("perm/noexec-stat", stat(P("perm/noexec/file"), &S));
	R("perm/noexec-open", open(P("perm/noexec/file"), O_RDONLY));
	list("perm/noexec-list", "perm/noexec");
	R("perm/sticky-unlink-other", unlink(P("perm/sticky/rootfile")));
	R("perm/sticky-rename-other", rename(P("perm/sticky/rootfile"), P("perm/sticky/x")));
	R("perm/sticky-create-own", close(open(P("perm/sticky/own"), O_WRONLY | O_CREAT, 0644)));
	R("perm/sticky-unlink-own", unlink(P("perm/sticky/own")));
	R("perm/sticky-write-other", close(open(P("perm/sticky/rootfile"), O_WRONLY)));
	R("perm/chmod-other", chmod(P("perm/rootro"), 0777));
	R("perm/chmod-own", chmod(P("perm/mine"), 0600));
	R("perm/chown-own-to-root", chown(P("perm/mine"), 0, 0));
	R("perm/chown-own-same", chown(P("perm/mine"), NOBODY, NOBODY));
	R("perm/chgrp-own-not-member", chown(P("perm/mine"), (uid_t)-1, 1234));
	R("perm/chown-other", chown(P("perm/rootrw"), NOBODY, NOBODY));
	R("perm/utimes-now-writable", utimensat(AT_FDCWD, P("perm/rootrw"), NULL, 0));
	R("perm/utimes-set-writable", utimensat(AT_FDCWD, P("perm/rootrw"), ts, 0));
	R("perm/utimes-now-readonly", utimensat(AT_FDCWD, P("perm/rootro"), NULL, 0));
	R("perm/utimes-set-own", utimensat(AT_FDCWD, P("perm/mine"), ts, 0));
	/* "now" for both is a touch, which write access allows; "now" beside
	 * "omit" is a change of one time, which takes ownership */
	R("perm/utimes-now-now-writable",
	  utimensat(AT_FDCWD, P("perm/rootrw"),
		    (struct timespec[2]){ { 0, UTIME_NOW }, { 0, UTIME_NOW } }, 0));
	R("perm/utimes-now-omit-writable",
	  utimensat(AT_FDCWD, P("perm/rootrw"),
		    (struct timespec[2]){ { 0, UTIME_NOW }, { 0, UTIME_OMIT } }, 0));
	R("perm/utimes-omit-now-writable",
	  utimensat(AT_FDCWD, P("perm/rootrw"),
		    (struct timespec[2]){ { 0, UTIME_OMIT }, { 0, UTIME_NOW } }, 0));
	R("perm/utimes-omit-omit-readonly",
	  utimensat(AT_FDCWD, P("perm/rootro"),
		    (struct timespec[2]){ { 0, UTIME_OMIT }, { 0, UTIME_OMIT } }, 0));
	/* fs.protected_hardlinks (UMFS applies it always; the kernel's
	 * answer is compared only where the host has it on) */
	if (protected_hardlinks()) {
		R("perm/hardlink-other-rw", link(P("perm/rootrw"), P("perm/l-rootrw")));
		R("perm/hardlink-other-ro", link(P("perm/rootro"), P("perm/l-rootro")));
		R("perm/hardlink-other-unreadable", link(P("perm/rootfile"), P("perm/l-rootfile")));
		R("perm/hardlink-other-setuid", link(P("perm/rootsuid"), P("perm/l-rootsuid")));
		R("perm/hardlink-other-setgid-exec", link(P("perm/rootsgid"), P("perm/l-rootsgid")));
		R("perm/hardlink-own", link(P("perm/mine"), P("perm/l-mine")));
	} else {
		emit("perm/hardlink-other-rw", "fs.protected_hardlinks is off on this host: not compared");
	}
	RFDC("perm/rodir-create", open(P("perm/rodir/new"), O_WRONLY | O_CREAT, 0644));
	R("perm/rodir-unlink", unlink(P("perm/rodir/file")));
	R("perm/rodir-mkdir", mkdir(P("perm/rodir/sub"), 0755));
	R("perm/rodir-rename-out", rename(P("perm/rodir/file"), P("perm/moved")));
	R("perm/rodir-write-file", close(open(P("perm/rodir/file"), O_WRONLY)));
	R("perm/rename-into-closed", rename(P("perm/mine"), P("perm/closed/mine")));
	R("perm/link-into-closed", link(P("perm/mine"), P("perm/closed/mine")));
	R("perm/sgid-create", close(open(P("perm/sgid/file"), O_WRONLY | O_CREAT, 0666)));
	ST("perm/sgid-create-stat", stat(P("perm/sgid/file"), &S));
	R("perm/sgid-mkdir", mkdir(P("perm/sgid/sub"), 0777));
	ST("perm/sgid-mkdir-stat", stat(P("perm/sgid/sub"), &S));
	RFDC("perm/grp-read-not-member", open(P("perm/grp"), O_RDONLY));
	R("perm/setuid-bit-cleared-by-write-setup", chmod(P("perm/mine"), 06755));
	ST("perm/setuid-bit-own-stat", stat(P("perm/mine"), &S));
	{
		int fd = open(P("perm/mine"), O_WRONLY);

		R("perm/setuid-bit-write", write(fd, "w", 1));
		close(fd);
	}
	ST("perm/setuid-bit-after-write", stat(P("perm/mine"), &S));
	umask(077);
	R("perm/umask-077", close(open(P("perm/private"), O_WRONLY | O_CREAT, 0666)));
	ST("perm/umask-077-stat", stat(P("perm/private"), &S));
	R("perm/rootfile-readlink-dir", (int)readlink(P("perm/closed/file"), buf, sizeof(buf)));
}

/* rename's checks as uid 65534, in the kernel's order: the names, the
 * source's existence, the ancestries and two names of one inode before
 * any permission; a directory that changes parent needs write permission
 * of its own (its ".." changes), and so does one it is exchanged with */
static void perm_rename(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	R("perm/rename-rootdir-across", rename(P("perm/ra/rootdir"), P("perm/rb/rootdir")));
	R("perm/rename-xchg-rootdirs-across",
	  renameat2(AT_FDCWD, P("perm/ra/rootdir"), AT_FDCWD, P("perm/rb/rootdir2"), RENAME_EXCHANGE));
	R("perm/rename-xchg-open-with-rootdir",
	  renameat2(AT_FDCWD, P("perm/ra/opendir"), AT_FDCWD, P("perm/rb/rootdir2"), RENAME_EXCHANGE));
	R("perm/rename-xchg-open-dirs",
	  renameat2(AT_FDCWD, P("perm/ra/opendir"), AT_FDCWD, P("perm/rb/opendir2"), RENAME_EXCHANGE));
	R("perm/rename-rootdir-within", rename(P("perm/ra/rootdir"), P("perm/ra/rootdir-moved")));
	R("perm/rename-open-rootdir-across", rename(P("perm/ra/opendir2"), P("perm/rb/opendir3")));
	R("perm/rename-links-in-rodir", rename(P("perm/ro2/f"), P("perm/ro2/g")));
	R("perm/rename-under-itself-rodir", rename(P("perm/ro2/sub"), P("perm/ro2/sub/in/x")));
	R("perm/rename-over-ancestor-rodir", rename(P("perm/ro2/sub/in"), P("perm/ro2")));
	R("perm/rename-in-rodir", rename(P("perm/ro2/f"), P("perm/ro2/h")));
	R("perm/rename-missing-to-dot", rename(P("perm/ra/missing"), P("perm/ra/.")));
	R("perm/rename-missing-to-dot-noreplace",
	  renameat2(AT_FDCWD, P("perm/ra/missing"), AT_FDCWD, P("perm/ra/."), RENAME_NOREPLACE));
	R("perm/rename-missing-noreplace-existing",
	  renameat2(AT_FDCWD, P("perm/ra/missing"), AT_FDCWD, P("perm/rb/opendir3"), RENAME_NOREPLACE));
	list("perm/rename-after-ra", "perm/ra");
	list("perm/rename-after-rb", "perm/rb");
}

/* unlink's and rmdir's checks as uid 65534 in a directory it cannot
 * write, in the kernel's order: what the name says ("." and "..", a
 * trailing slash) before the permission, the victim's type and contents
 * after it */
static void perm_remove(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	R("perm/unlink-dir-rodir", unlink(P("perm/ro3/d")));
	R("perm/unlink-file-rodir", unlink(P("perm/ro3/f")));
	R("perm/unlink-file-slash-rodir", unlink(P("perm/ro3/f/")));
	R("perm/unlink-dir-slash-rodir", unlink(P("perm/ro3/d/")));
	R("perm/unlink-dot-rodir", unlink(P("perm/ro3/d/.")));
	R("perm/unlink-dotdot-rodir", unlink(P("perm/ro3/d/..")));
	R("perm/unlink-missing-rodir", unlink(P("perm/ro3/missing")));
	R("perm/rmdir-file-rodir", rmdir(P("perm/ro3/f")));
	R("perm/rmdir-nonempty-rodir", rmdir(P("perm/ro3/d")));
	R("perm/rmdir-empty-rodir", rmdir(P("perm/ro3/e")));
	R("perm/rmdir-dot-rodir", rmdir(P("perm/ro3/d/.")));
	R("perm/rmdir-dotdot-rodir", rmdir(P("perm/ro3/d/..")));
	R("perm/rmdir-missing-rodir", rmdir(P("perm/ro3/missing")));
	/* a new name: an existing one first, then a trailing slash, then
	 * the permission, then what the inode is */
	R("perm/link-own-dir-setup", mkdir(P("perm/hdir"), 0755));
	R("perm/link-own-file-setup", close(open(P("perm/hfile"), O_WRONLY | O_CREAT, 0644)));
	R("perm/link-existing-rodir", link(P("perm/hfile"), P("perm/ro3/f")));
	R("perm/link-own-dir-rodir", link(P("perm/hdir"), P("perm/ro3/nd")));
	R("perm/link-own-dir", link(P("perm/hdir"), P("perm/nd")));
	R("perm/link-own-dir-slash", link(P("perm/hdir"), P("perm/nd/")));
	R("perm/link-own-file-rodir", link(P("perm/hfile"), P("perm/ro3/nf")));
	R("perm/link-missing-rodir", link(P("perm/missing"), P("perm/ro3/nf")));
	R("perm/mkdir-existing-rodir", mkdir(P("perm/ro3/d"), 0755));
	R("perm/symlink-existing-rodir", symlink("x", P("perm/ro3/d")));
	R("perm/mkfifo-existing-rodir", mkfifo(P("perm/ro3/d"), 0644));
	RFDC("perm/creat-excl-existing-rodir", open(P("perm/ro3/f"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	list("perm/remove-after-ro3", "perm/ro3");
}

/* As a user: a change of a file's contents takes set-user-ID and
 * set-group-ID (with group execute) away, as the kernel's
 * file_remove_privs: a write, a truncation, an fallocate of any mode;
 * not a store through a shared mapping (how 4). */
static void perm_setid_kept(const char *name, int how)
{
	int fd = open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	int r = fd < 0 || (how == 4 && ftruncate(fd, 4096)) || fchmod(fd, 06755) ? -1 : 0;

	if (!r && how == 4) {
		/* stores through a shared mapping are no write(2): the bits stay */
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		r = m == MAP_FAILED ? -1 : 0;
		if (!r) {
			m[7] = 'x';
			r = msync(m, 4096, MS_SYNC) || munmap(m, 4096) || fsync(fd);
		}
	} else if (!r) {
		r = how == 0 ? (int)write(fd, "x", 1) - 1
		  : how == 1 ? ftruncate(fd, 10)
		  : fallocate(fd, how == 2 ? 0 : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 100);
	}
	if (!r && fstat(fd, &S) == 0)
		emit(name, "mode after = %04o", (unsigned)(S.st_mode & 07777));
	else
		emit(name, "setup or change failed: %s", ename(errno));
	if (fd >= 0)
		close(fd);
}

static void perm_setid(void)
{
	perm_setid_kept("perm/ra/opendir/setid-write", 0);
	perm_setid_kept("perm/ra/opendir/setid-truncate", 1);
	perm_setid_kept("perm/ra/opendir/setid-fallocate", 2);
	perm_setid_kept("perm/ra/opendir/setid-punch", 3);
	perm_setid_kept("perm/ra/opendir/setid-mmap-store", 4);
}

static void perm_member(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RFDC("perm/grp-read-member", open(P("perm/grp"), O_RDONLY));
	RFDC("perm/grp-write-member", open(P("perm/grp"), O_WRONLY));
	R("perm/grp-access-member", access(P("perm/grp"), R_OK));
	R("perm/chgrp-member", chown(P("perm/sgid/file"), (uid_t)-1, 1234));
	ST("perm/chgrp-member-stat", stat(P("perm/sgid/file"), &S));
}

static void t_perm(void)
{
	gid_t grp = 1234;

	mk("perm");
	chmod(P("perm"), 0777);
	put("perm/rootfile", "secret");
	chmod(P("perm/rootfile"), 0600);
	put("perm/rootro", "ro");
	put("perm/rootrw", "rw");
	chmod(P("perm/rootrw"), 0666);
	put("perm/rootsuid", "s");
	chmod(P("perm/rootsuid"), 04766);
	put("perm/rootsgid", "g");
	chmod(P("perm/rootsgid"), 02776);
	mk("perm/closed");
	put("perm/closed/file", "f");
	chmod(P("perm/closed"), 0700);
	mk("perm/noexec");
	put("perm/noexec/file", "f");
	chmod(P("perm/noexec"), 0666);
	mk("perm/sticky");
	chmod(P("perm/sticky"), 01777);
	put("perm/sticky/rootfile", "r");
	chmod(P("perm/sticky/rootfile"), 0666);
	put("perm/grp", "group");
	chown(P("perm/grp"), 0, 1234);
	chmod(P("perm/grp"), 0640);
	mk("perm/rodir");
	put("perm/rodir/file", "f");
	chmod(P("perm/rodir/file"), 0666);
	chmod(P("perm/rodir"), 0555);
	mk("perm/sgid");
	chown(P("perm/sgid"), 0, 1234);
	chmod(P("perm/sgid"), 02777);

	mk("perm/ra");
	chmod(P("perm/ra"), 0777);
	mk("perm/rb");
	chmod(P("perm/rb"), 0777);
	mk("perm/ra/rootdir");
	mk("perm/rb/rootdir2");
	mk("perm/ra/opendir");
	chmod(P("perm/ra/opendir"), 0777);
	mk("perm/rb/opendir2");
	chmod(P("perm/rb/opendir2"), 0777);
	mk("perm/ra/opendir2");
	chmod(P("perm/ra/opendir2"), 0777);
	mk("perm/ro2");
	put("perm/ro2/f", "f");
	link(P("perm/ro2/f"), P("perm/ro2/g"));
	mk("perm/ro2/sub");
	chmod(P("perm/ro2/sub"), 0777);
	mk("perm/ro2/sub/in");
	chmod(P("perm/ro2/sub/in"), 0777);

	mk("perm/ro3");
	put("perm/ro3/f", "f");
	mk("perm/ro3/d");
	put("perm/ro3/d/x", "x");
	mk("perm/ro3/e");

	/* root's override */
	RFDC("perm/root-reads-0600", open(P("perm/rootfile"), O_RDONLY));
	RFDC("perm/root-creates-in-0555", open(P("perm/rodir/root"), O_WRONLY | O_CREAT, 0644));
	ST("perm/root-stat-in-0700", stat(P("perm/closed/file"), &S));

	as_user(NOBODY, NOBODY, NULL, 0, perm_nobody);
	as_user(NOBODY, NOBODY, &grp, 1, perm_member);
	as_user(NOBODY, NOBODY, NULL, 0, perm_rename);
	as_user(NOBODY, NOBODY, NULL, 0, perm_remove);
	as_user(NOBODY, NOBODY, NULL, 0, perm_setid);
	ST("perm/after-stat-mine", stat(P("perm/mine"), &S));
	list("perm/after-list", "perm");
}

/* ------------------------------------------------------------------ */
/* files unlinked or replaced while open                               */
/* ------------------------------------------------------------------ */

static void t_orphan(void)
{
	int fd, fd2;

	mk("orphan");
	mk("orphan/d");
	put("orphan/d/f", "data");
	fd = openp("orphan/d/f", O_RDWR);
	if (fd >= 0) {
		R("orphan/unlink-open", unlink(P("orphan/d/f")));
		ST("orphan/unlink-open-fstat", fstat(fd, &S));
		prd("orphan/unlink-open-pread", fd, 16, 0);
		R("orphan/unlink-open-write", pwrite(fd, "more", 4, 4));
		prd("orphan/unlink-open-pread-2", fd, 16, 0);
		R("orphan/unlink-open-ftruncate", ftruncate(fd, 2));
		ST("orphan/unlink-open-fstat-2", fstat(fd, &S));
		list("orphan/unlink-open-list", "orphan/d");
		RFDC("orphan/unlink-open-reopen", open(P("orphan/d/f"), O_RDONLY));
		R("orphan/unlink-open-recreate", close(open(P("orphan/d/f"), O_WRONLY | O_CREAT, 0644)));
		prd("orphan/unlink-open-old-data", fd, 16, 0);
		R("orphan/unlink-open-unlink-new", unlink(P("orphan/d/f")));
		R("orphan/rmdir-parent", rmdir(P("orphan/d")));
		prd("orphan/after-rmdir-pread", fd, 16, 0);
		R("orphan/close", close(fd));
	}
	/* a name replaced by rename while the old file is open */
	put("orphan/old", "old contents");
	put("orphan/new", "new contents");
	fd = openp("orphan/old", O_RDONLY);
	fd2 = openp("orphan/new", O_RDONLY);
	if (fd >= 0 && fd2 >= 0) {
		R("orphan/rename-over-open", rename(P("orphan/new"), P("orphan/old")));
		prd("orphan/rename-over-open-old-fd", fd, 32, 0);
		ST("orphan/rename-over-open-old-fstat", fstat(fd, &S));
		prd("orphan/rename-over-open-new-fd", fd2, 32, 0);
		content("orphan/rename-over-open-content", "orphan/old");
		list("orphan/rename-over-open-list", "orphan");
	}
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	/* a directory removed while open */
	mk("orphan/e");
	fd = open(P("orphan/e"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		R("orphan/rmdir-open-dir", rmdir(P("orphan/e")));
		ST("orphan/rmdir-open-dir-fstat", fstat(fd, &S));
		RFDC("orphan/rmdir-open-dir-openat", openat(fd, "x", O_WRONLY | O_CREAT, 0644));
		R("orphan/rmdir-open-dir-mkdirat", mkdirat(fd, "x", 0755));
		close(fd);
	}
	list("orphan/list", "orphan");
}

/* ------------------------------------------------------------------ */
/* paths that cross into DIR from outside, and calls across file       */
/* systems (POSIX_OUTSIDE: a directory on another file system)         */
/* ------------------------------------------------------------------ */

/* DIR/rel as a path relative to "/". */
static char *FROMROOT(const char *rel)
{
	static char buf[4][2 * PATH_MAX];
	static unsigned int n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", toprp + 1, rel);
	return b;
}

/* DIR/rel as a path relative to the parent of DIR. */
static char *FROMPARENT(const char *rel)
{
	static char buf[4][2 * PATH_MAX];
	static unsigned int n;
	char *b = buf[n++ % 4];
	const char *base = strrchr(toprp, '/');

	snprintf(b, sizeof(buf[0]), "%s/%s", base ? base + 1 : toprp, rel);
	return b;
}

static void t_cross(void)
{
	const char *outside = getenv("POSIX_OUTSIDE");
	char ob[PATH_MAX + 64], ob2[PATH_MAX + 64], obx[PATH_MAX + 64], obm[PATH_MAX + 64], buf[16];
	int rootfd, fd, ffd, out, orig;
	ssize_t n;

	mk("cross");
	mk("cross/d");
	put("cross/f", "cross");
	rootfd = open("/", O_PATH | O_DIRECTORY);
	orig = open(".", O_RDONLY | O_DIRECTORY);
	if (rootfd < 0 || orig < 0) {
		setup_fail("open", "/", errno);
		return;
	}
	/* through a descriptor of "/" */
	ST("cross/root-fstatat", fstatat(rootfd, FROMROOT("cross/f"), &S, 0));
	ST("cross/root-fstatat-dir", fstatat(rootfd, FROMROOT("cross/d"), &S, AT_SYMLINK_NOFOLLOW));
	fd = RFD("cross/root-openat", openat(rootfd, FROMROOT("cross/f"), O_RDONLY));
	if (fd >= 0) {
		rd("cross/root-openat-read", fd, 16);
		close(fd);
	}
	RFDC("cross/root-openat-creat", openat(rootfd, FROMROOT("cross/new"), O_WRONLY | O_CREAT, 0644));
	ST("cross/root-openat-creat-stat", stat(P("cross/new"), &S));
	R("cross/root-mkdirat", mkdirat(rootfd, FROMROOT("cross/d2"), 0755));
	ST("cross/root-mkdirat-stat", stat(P("cross/d2"), &S));
	R("cross/root-renameat", renameat(rootfd, FROMROOT("cross/new"), topfd, "cross/new2"));
	R("cross/root-unlinkat", unlinkat(rootfd, FROMROOT("cross/new2"), 0));
	R("cross/root-faccessat", faccessat(rootfd, FROMROOT("cross/f"), R_OK, 0));
	R("cross/root-symlinkat", symlinkat("f", rootfd, FROMROOT("cross/sl")));
	n = readlinkat(rootfd, FROMROOT("cross/sl"), buf, sizeof(buf));
	emit("cross/root-readlinkat", "readlinkat(rootfd, FROMROOT(\"cross/sl\")) = %zd %s", n,
	     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	fd = openat(rootfd, FROMROOT("cross/d"), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		RFDC("cross/root-openat-then-relative", openat(fd, "../f", O_RDONLY));
		close(fd);
	} else {
		emit("cross/root-openat-then-relative", "openat(rootfd, dir) = -1 %s", ename(errno));
	}
	/* relative to a working directory outside DIR */
	R("cross/chdir-root", chdir("/"));
	ST("cross/cwd-root-stat", stat(FROMROOT("cross/f"), &S));
	RFDC("cross/cwd-root-open", open(FROMROOT("cross/f"), O_RDONLY));
	R("cross/cwd-root-chdir-in", chdir(FROMROOT("cross/d")));
	cwd_is("cross/cwd-root-chdir-in-getcwd");
	R("cross/chdir-parent", chdir(P(".")) || chdir(".."));
	ST("cross/cwd-parent-stat", stat(FROMPARENT("cross/f"), &S));
	R("cross/cwd-parent-access", access(FROMPARENT("cross/f"), R_OK));
	/* from inside DIR, ".." out of it and back in */
	{
		/* from DIR/cross/d up to "/" and down again */
		char up_to_root[2 * PATH_MAX] = "../../";
		const char *c;

		for (c = toprp; *c; c++)
			if (*c == '/')
				strcat(up_to_root, "../");
		strcat(up_to_root, FROMROOT("cross/f"));
		R("cross/chdir-in", chdir(P("cross/d")));
		ST("cross/dotdot-to-root-and-in", stat(up_to_root, &S));
		RFDC("cross/dotdot-to-root-and-in-open", open(up_to_root, O_RDONLY));
	}
	R("cross/back", fchdir(orig));
	ST("cross/abs-dotdot", stat(P("cross/d/../../cross/f"), &S));

	/* across file systems */
	if (!outside) {
		emit("cross/outside", "POSIX_OUTSIDE not set: skipped");
		goto out;
	}
	snprintf(ob, sizeof(ob), "%s/file", outside);
	snprintf(ob2, sizeof(ob2), "%s/file2", outside);
	fd = open(ob, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "outside data", 12) != 12) {
		setup_fail("open", "POSIX_OUTSIDE/file", errno);
		goto out;
	}
	R("cross/rename-in", rename(ob, P("cross/moved-in")));
	R("cross/rename-out", rename(P("cross/f"), ob2));
	R("cross/link-in", link(ob, P("cross/linked-in")));
	R("cross/link-out", link(P("cross/f"), ob2));
	/* what the lookups of either name find comes before EXDEV */
	snprintf(obx, sizeof(obx), "%s/file/x", outside);
	snprintf(obm, sizeof(obm), "%s/missing/x", outside);
	ffd = open(P("cross/f"), O_RDONLY);
	R("cross/link-out-old-notdir", link(P("cross/f/x"), ob2));
	R("cross/link-out-old-trailing-slash", link(P("cross/f/"), ob2));
	R("cross/link-out-new-notdir", link(P("cross/f"), obx));
	R("cross/link-in-old-notdir", link(obx, P("cross/n")));
	R("cross/link-in-new-notdir", link(ob, P("cross/f/n")));
	R("cross/link-out-old-noent", link(P("cross/missing"), ob2));
	R("cross/link-out-new-noent", link(P("cross/f"), obm));
	R("cross/link-in-old-noent", link(obm, P("cross/n")));
	R("cross/link-in-new-noent", link(ob, P("cross/missing/n")));
	R("cross/link-out-exists", link(P("cross/f"), ob));
	R("cross/link-in-exists", link(ob, P("cross/f")));
	R("cross/link-out-dir", link(P("cross/d"), ob2));
	R("cross/linkat-out-olddirfd-file", linkat(ffd, "x", AT_FDCWD, ob2, 0));
	R("cross/linkat-in-newdirfd-file", linkat(AT_FDCWD, ob, ffd, "x", 0));
	R("cross/linkat-out-empty-path", linkat(ffd, "", AT_FDCWD, ob2, AT_EMPTY_PATH));
	R("cross/rename-out-old-notdir", rename(P("cross/f/x"), ob2));
	R("cross/rename-out-old-noent", rename(P("cross/missing"), ob2));
	R("cross/rename-in-new-notdir", rename(ob, P("cross/f/n")));
	R("cross/rename-in-new-noent", rename(ob, P("cross/missing/n")));
	if (ffd >= 0)
		close(ffd);
	R("cross/renameat2-exchange", renameat2(AT_FDCWD, ob, topfd, "cross/f", RENAME_EXCHANGE));
	out = openp("cross/copied", O_RDWR | O_CREAT | O_TRUNC);
	if (out >= 0) {
		loff_t oi = 0;

		R("cross/copy_file_range-in", copy_file_range(fd, &oi, out, NULL, 12, 0));
		R("cross/sendfile-in", sendfile(out, fd, &oi, 12));
		close(out);
		content("cross/sendfile-in-content", "cross/copied");
	}
	out = openp("cross/f", O_RDONLY);
	if (out >= 0) {
		off_t so = 0;

		R("cross/sendfile-out", sendfile(fd, out, &so, 5));
		close(out);
	}
	R("cross/symlink-out", symlink(ob, P("cross/to-outside")));
	ST("cross/symlink-out-stat", stat(P("cross/to-outside"), &S));
	R("cross/symlink-in", symlink(P("cross/f"), ob2));
	ST("cross/symlink-in-stat", stat(ob2, &S));
	unlink(ob2);
	close(fd);
	unlink(ob);
out:
	close(rootfd);
	close(orig);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static const struct family {
	const char *name;
	void (*fn)(void);
} families[] = {
	{ .name = "open", .fn = t_open },
	{ .name = "rw", .fn = t_rw },
	{ .name = "seek", .fn = t_seek },
	{ .name = "trunc", .fn = t_trunc },
	{ .name = "falloc", .fn = t_falloc },
	{ .name = "sync", .fn = t_sync },
	{ .name = "copy", .fn = t_copy },
	{ .name = "stat", .fn = t_stat },
	{ .name = "access", .fn = t_access },
	{ .name = "statfs", .fn = t_statfs },
	{ .name = "mkdir", .fn = t_mkdir },
	{ .name = "rename", .fn = t_rename },
	{ .name = "link", .fn = t_link },
	{ .name = "chmod", .fn = t_chmod },
	{ .name = "utime", .fn = t_utime },
	{ .name = "dir", .fn = t_dir },
	{ .name = "cwd", .fn = t_cwd },
	{ .name = "fd", .fn = t_fd },
	{ .name = "stdio", .fn = t_stdio },
	{ .name = "mmap", .fn = t_mmap },
	{ .name = "proc", .fn = t_proc },
	{ .name = "tmp", .fn = t_tmp },
	{ .name = "walk", .fn = t_walk },
	{ .name = "special", .fn = t_special },
	{ .name = "err", .fn = t_err },
	{ .name = "perm", .fn = t_perm },
	{ .name = "orphan", .fn = t_orphan },
	{ .name = "cross", .fn = t_cross },
	{ .name = "locks2", .fn = t_locks2 },
	{ .name = "locks3", .fn = t_locks3 },
	{ .name = "nofile", .fn = t_nofile },
	{ .name = "txtbsy", .fn = t_txtbsy },
	{ .name = "fsize", .fn = t_fsize },
	{ .name = "args", .fn = t_args },
	{ .name = "openat2", .fn = t_openat2 },
	{ .name = "modes", .fn = t_modes },
	{ .name = "longpath", .fn = t_longpath },
	{ .name = "signal", .fn = t_signal },
	{ .name = "efault", .fn = t_efault },
	{ .name = "socket", .fn = t_socket },
	{ .name = "ident", .fn = t_ident },
	{ .name = "fdsem", .fn = t_fdsem },
	{ .name = "nodes", .fn = t_nodes },
	{ .name = "fdcalls", .fn = t_fdcalls },
	{ .name = "fortify", .fn = t_fortify },
};

static void run_family(const struct family *f)
{
	char name[64];
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("%s/exit: fork = -1 %s\n", f->name, ename(errno));
		return;
	}
	if (pid == 0) {
		alarm(FAMILY_TIMEOUT);
		f->fn();
		fflush(stdout);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	snprintf(name, sizeof(name), "%s/exit", f->name);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		printf("%s: family ended with %s\n", name, how_ended(st));
}

static void usage(void)
{
	fprintf(stderr, "usage: posix_test DIR [FAMILY...]\n       posix_test --list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t i;
	int j, found;
	ssize_t n;

	if (argc == 4 && !strcmp(argv[1], "--exec-child"))
		return exec_child(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "--locks3-exec"))
		return locks3_exec_child(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "--nofile-exec"))
		return nofile_exec_child(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "--ident-exec"))
		return ident_exec(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "--nodes-exec"))
		return nodes_exec(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < ARRAY_SIZE(families); i++)
			printf("%s\n", families[i].name);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		usage();
	top = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n < 0) {
		perror("posix_test: /proc/self/exe");
		return 2;
	}
	self_exe[n] = 0;
	topfd = open(top, O_RDONLY | O_DIRECTORY);
	if (topfd < 0 || !realpath(top, toprp)) {
		fprintf(stderr, "posix_test: %s: %s\n", top, strerror(errno));
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(families); i++) {
		found = argc == 2;
		for (j = 2; j < argc; j++)
			if (!strcmp(argv[j], families[i].name))
				found = 1;
		if (found)
			run_family(&families[i]);
	}
	return 0;
}
