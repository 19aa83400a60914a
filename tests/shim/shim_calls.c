/* SPDX-License-Identifier: MIT */
/*
 * shim_calls.c - exercises the call families the shim serves, in a given
 * directory, and prints a transcript: one line per check, with results and
 * errno names, and nothing that legitimately differs between file systems
 * (inode numbers, devices, block counts, directory sizes, times not set
 * explicitly). run-calls.sh runs it on tmpfs without the shim and on UMFS
 * with it, and compares the two transcripts.
 *
 *   shim_calls DIR     (DIR must exist and be empty)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

static const char *root;
static char pbuf[8][4096];
static int pslot;

/* root/name */
static const char *P(const char *name)
{
	char *b = pbuf[pslot++ % 8];

	snprintf(b, 4096, "%s/%s", root, name);
	return b;
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* R(label, call): the result, and errno's name when it failed */
#define R(label, expr)                                                              \
	do {                                                                        \
		errno = 0;                                                          \
		long r_ = (long)(expr);                                             \
		int e_ = errno;                                                     \
		if (r_ < 0)                                                         \
			out("%s: %ld %s", label, r_, ename(e_));                    \
		else                                                                \
			out("%s: %ld", label, r_);                                  \
	} while (0)

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return strcpy(buf, "(open failed)");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void put_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror("write");
		close(fd);
	}
}

static void show_stat(const char *label, const struct stat *st)
{
	out("%s: mode %o nlink %lu size %lld", label, (unsigned)st->st_mode,
	    S_ISDIR(st->st_mode) ? 0ul : (unsigned long)st->st_nlink,
	    S_ISDIR(st->st_mode) ? 0ll : (long long)st->st_size);
}

/* ------------------------------------------------------------------ */

static void t_open(void)
{
	int fd;

	umask(022);
	R("open creat excl", fd = open(P("f1"), O_CREAT | O_EXCL | O_WRONLY, 0666));
	close(fd);
	R("open creat excl again", open(P("f1"), O_CREAT | O_EXCL | O_WRONLY, 0666));
	R("open missing", open(P("nope"), O_RDONLY));
	R("open creat missing dir", open(P("nodir/x"), O_CREAT | O_WRONLY, 0644));
	R("open dir for write", open(root, O_WRONLY));
	R("open file O_DIRECTORY", open(P("f1"), O_RDONLY | O_DIRECTORY));
	R("symlink", symlink("f1", P("l1")));
	R("open symlink O_NOFOLLOW", open(P("l1"), O_RDONLY | O_NOFOLLOW));
	fd = open(P("l1"), O_RDONLY);
	R("open via symlink", fd >= 0);
	close(fd);
	fd = open(P("f1"), O_PATH);
	R("O_PATH open", fd >= 0);
	{
		char c;
		struct stat st;

		R("O_PATH read", read(fd, &c, 1));
		R("O_PATH fstat", fstat(fd, &st));
		show_stat("O_PATH fstat", &st);
	}
	close(fd);
	fd = open(P("f1"), O_RDONLY);
	R("write on O_RDONLY", write(fd, "x", 1));
	close(fd);
	fd = open(P("f1"), O_WRONLY);
	{
		char c;

		R("read on O_WRONLY", read(fd, &c, 1));
	}
	close(fd);
	{
		struct stat st;

		stat(P("f1"), &st);
		out("umask applied: %o", (unsigned)(st.st_mode & 0777));
	}
	put_file(P("f2"), "0123456789");
	fd = open(P("f2"), O_RDWR | O_TRUNC);
	{
		struct stat st;

		fstat(fd, &st);
		out("O_TRUNC size: %lld", (long long)st.st_size);
	}
	close(fd);
	R("creat", fd = creat(P("f3"), 0600));
	close(fd);
	fd = open(root, O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) {
		char buf[8] = { 0 };

		R("tmpfile write", write(fd, "tmp", 3));
		R("tmpfile pread", pread(fd, buf, 3, 0));
		out("tmpfile data: %s", buf);
		close(fd);
	} else {
		out("tmpfile: %s", ename(errno));
	}
	R("open empty path", open("", O_RDONLY));
}

static void t_rw(void)
{
	char buf[64] = { 0 };
	struct iovec iov[3];
	int fd;

	fd = open(P("rw"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	R("write", write(fd, "hello world", 11));
	R("lseek cur", lseek(fd, 0, SEEK_CUR));
	R("lseek set", lseek(fd, 6, SEEK_SET));
	R("read", read(fd, buf, sizeof(buf)));
	out("read data: %s", buf);
	R("read at eof", read(fd, buf, sizeof(buf)));
	R("pwrite", pwrite(fd, "HELLO", 5, 0));
	R("lseek after pwrite", lseek(fd, 0, SEEK_CUR));
	memset(buf, 0, sizeof(buf));
	R("pread", pread(fd, buf, 5, 0));
	out("pread data: %s", buf);
	R("pread negative", pread(fd, buf, 1, -1));
	R("lseek end", lseek(fd, 0, SEEK_END));
	R("lseek negative", lseek(fd, -100, SEEK_SET));
	R("lseek bad whence", lseek(fd, 0, 77));
	iov[0] = (struct iovec){ "ab", 2 };
	iov[1] = (struct iovec){ "", 0 };
	iov[2] = (struct iovec){ "cde", 3 };
	R("writev", writev(fd, iov, 3));
	R("pwritev", pwritev(fd, iov, 3, 100));
	R("size after pwritev", lseek(fd, 0, SEEK_END));
	{
		char a[4] = { 0 }, b[20] = { 0 };
		struct iovec r[2] = { { a, 3 }, { b, 19 } };

		lseek(fd, 0, SEEK_SET);
		R("readv", readv(fd, r, 2));
		out("readv data: %s|%s", a, b);
		memset(b, 0, sizeof(b));
		R("preadv", preadv(fd, r, 2, 6));
		out("preadv data: %s|%s", a, b);
		R("preadv2 -1", preadv2(fd, r, 2, -1, 0));
		R("pwritev2 append", pwritev2(fd, iov, 1, 0, RWF_APPEND));
		R("size after RWF_APPEND", lseek(fd, 0, SEEK_END));
		R("preadv2 bad flags", preadv2(fd, r, 1, 0, 0x4000));
	}
	{
		volatile int bad = -1; /* the compiler must not see the error coming */

		R("writev bad count", writev(fd, iov, bad));
	}
	close(fd);
	/* O_APPEND */
	fd = open(P("rw"), O_WRONLY | O_APPEND);
	R("append lseek 0", lseek(fd, 0, SEEK_SET));
	R("append write", write(fd, "END", 3));
	R("append pos", lseek(fd, 0, SEEK_CUR));
	R("append pwrite", pwrite(fd, "P", 1, 0));
	R("append size", lseek(fd, 0, SEEK_END));
	R("F_GETFL append", fcntl(fd, F_GETFL) & (O_APPEND | O_ACCMODE));
	R("F_SETFL no append", fcntl(fd, F_SETFL, 0));
	R("F_GETFL after", fcntl(fd, F_GETFL) & (O_APPEND | O_ACCMODE));
	lseek(fd, 0, SEEK_SET);
	R("write after no append", write(fd, "Z", 1));
	close(fd);
	out("content: %s", slurp(P("rw")));
	/* a big write and read back */
	{
		size_t n = 3 << 20;
		char *a = malloc(n), *b = malloc(n);

		for (size_t i = 0; i < n; i++)
			a[i] = (char)(i * 7 + i / 4096);
		fd = open(P("big"), O_CREAT | O_RDWR | O_TRUNC, 0644);
		R("big write", write(fd, a, n));
		R("big pread", pread(fd, b, n, 0));
		out("big equal: %d", memcmp(a, b, n) == 0);
		R("ftruncate shrink", ftruncate(fd, 5000));
		R("size", lseek(fd, 0, SEEK_END));
		R("ftruncate grow", ftruncate(fd, 100000));
		memset(b, 1, 200);
		R("pread grown", pread(fd, b, 100, 6000));
		out("grown zeros: %d", b[0] == 0 && b[99] == 0);
		R("ftruncate negative", ftruncate(fd, -1));
		close(fd);
		free(a);
		free(b);
	}
	fd = open(P("big"), O_RDONLY);
	R("ftruncate rdonly", ftruncate(fd, 0));
	close(fd);
	R("truncate path", truncate(P("big"), 10));
	R("truncate missing", truncate(P("nope"), 10));
	R("truncate dir", truncate(root, 10));
	{
		struct stat st;

		stat(P("big"), &st);
		out("truncated size: %lld", (long long)st.st_size);
	}
}

static void t_space(void)
{
	struct stat st;
	char b[8];
	int fd = open(P("sp"), O_CREAT | O_RDWR | O_TRUNC, 0644);

	R("fallocate", fallocate(fd, 0, 0, 8192));
	fstat(fd, &st);
	out("fallocate size: %lld", (long long)st.st_size);
	R("fallocate keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
	fstat(fd, &st);
	out("keep size: %lld", (long long)st.st_size);
	pwrite(fd, "abcdefgh", 8, 4096);
	R("punch hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
	pread(fd, b, 8, 4096);
	out("punched zero: %d", b[0] == 0 && b[7] == 0);
	R("punch without keep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	R("fallocate bad len", fallocate(fd, 0, 0, 0));
	R("posix_fallocate", posix_fallocate(fd, 0, 20000));
	fstat(fd, &st);
	out("posix_fallocate size: %lld", (long long)st.st_size);
	R("posix_fallocate bad", posix_fallocate(fd, -1, 10));
	R("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
	R("posix_fadvise bad", posix_fadvise(fd, 0, 0, 99));
	R("fsync", fsync(fd));
	R("fdatasync", fdatasync(fd));
	R("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	close(fd);
	/* sparse: SEEK_DATA / SEEK_HOLE */
	fd = open(P("sparse"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	pwrite(fd, "x", 1, 0);
	pwrite(fd, "y", 1, 1 << 20);
	R("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	R("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	R("SEEK_DATA 8192", lseek(fd, 8192, SEEK_DATA));
	R("SEEK_HOLE after", lseek(fd, (1 << 20) + 1, SEEK_HOLE));
	R("SEEK_DATA past end", lseek(fd, 2 << 20, SEEK_DATA));
	close(fd);
	R("fsync bad fd", fsync(-1));
}

static void t_copy(void)
{
	int in, outfd;
	off64_t oi = 2, oo = 0;
	off_t so = 1;

	put_file(P("src"), "copy me please");
	in = open(P("src"), O_RDONLY);
	outfd = open(P("dst"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	R("copy_file_range", copy_file_range(in, &oi, outfd, &oo, 100, 0));
	out("offsets: %lld %lld", (long long)oi, (long long)oo);
	R("copy_file_range flags", copy_file_range(in, NULL, outfd, NULL, 10, 1));
	close(outfd);
	out("dst: %s", slurp(P("dst")));
	outfd = open(P("dst2"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	R("sendfile", sendfile(outfd, in, &so, 4));
	out("sendfile offset: %lld", (long long)so);
	R("sendfile cur", sendfile(outfd, in, NULL, 3));
	close(outfd);
	close(in);
	out("dst2: %s", slurp(P("dst2")));
	/* within one file: the count is cut at EOF first (14 bytes), so these
	 * ranges do not overlap, and the copy stops there though the file grew */
	put_file(P("self"), "copy me please");
	outfd = open(P("self"), O_RDWR);
	oi = 0;
	oo = 20;
	R("copy_file_range within, cut at EOF", copy_file_range(outfd, &oi, outfd, &oo, 100, 0));
	out("offsets: %lld %lld, size %lld", (long long)oi, (long long)oo,
	    (long long)lseek(outfd, 0, SEEK_END));
	oi = 0;
	oo = 200;
	R("copy_file_range within, growing its source", copy_file_range(outfd, &oi, outfd, &oo, 300, 0));
	out("size %lld", (long long)lseek(outfd, 0, SEEK_END));
	oi = 0;
	oo = 10;
	R("copy_file_range within, overlapping", copy_file_range(outfd, &oi, outfd, &oo, 100, 0));
	close(outfd);
	/* between a kernel file and this directory */
	in = open("/proc/self/exe", O_RDONLY);
	outfd = open(P("exe"), O_CREAT | O_WRONLY | O_TRUNC, 0755);
	R("copy from kernel file", copy_file_range(in, NULL, outfd, NULL, 5000, 0) == 5000);
	close(in);
	close(outfd);
}

static void t_stat(void)
{
	struct stat st;
	struct statx sx;
	int fd;

	put_file(P("st"), "12345");
	R("stat", stat(P("st"), &st));
	show_stat("stat st", &st);
	R("lstat link", lstat(P("l1"), &st));
	show_stat("lstat l1", &st);
	R("stat link", stat(P("l1"), &st));
	show_stat("stat l1", &st);
	R("stat missing", stat(P("nope"), &st));
	R("stat trailing slash on file", stat(P("st/"), &st));
	R("stat through file", stat(P("st/x"), &st));
	fd = open(root, O_RDONLY | O_DIRECTORY);
	R("fstatat rel", fstatat(fd, "st", &st, 0));
	show_stat("fstatat st", &st);
	R("fstatat nofollow", fstatat(fd, "l1", &st, AT_SYMLINK_NOFOLLOW));
	show_stat("fstatat l1", &st);
	R("fstatat empty", fstatat(fd, "", &st, AT_EMPTY_PATH));
	out("fstatat empty dir: %d", S_ISDIR(st.st_mode));
	R("fstatat empty no flag", fstatat(fd, "", &st, 0));
	R("fstatat bad flags", fstatat(fd, "st", &st, 0x12345678));
	R("statx", statx(fd, "st", 0, STATX_BASIC_STATS, &sx));
	out("statx: mode %o size %llu nlink %u mask-basic %d", (unsigned)sx.stx_mode,
	    (unsigned long long)sx.stx_size, sx.stx_nlink,
	    (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	R("statx missing", statx(fd, "nope", 0, STATX_BASIC_STATS, &sx));
	R("statx empty path", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	close(fd);
	R("access F_OK", access(P("st"), F_OK));
	R("access R|W", access(P("st"), R_OK | W_OK));
	R("access X on 644", access(P("st"), X_OK));
	R("access missing", access(P("nope"), F_OK));
	R("access bad mode", access(P("st"), 0100));
	R("faccessat eaccess", faccessat(AT_FDCWD, P("st"), R_OK, AT_EACCESS));
	R("euidaccess", euidaccess(P("st"), W_OK));
	{
		struct statfs sf;
		struct statvfs sv;

		R("statfs", statfs(root, &sf));
		out("statfs namelen: %ld", (long)sf.f_namelen);
		R("statvfs", statvfs(P("st"), &sv));
		out("statvfs namemax: %lu", sv.f_namemax);
		R("statfs missing", statfs(P("nope"), &sf));
		fd = open(P("st"), O_RDONLY);
		R("fstatfs", fstatfs(fd, &sf));
		R("fstatvfs", fstatvfs(fd, &sv));
		close(fd);
	}
	R("pathconf name_max", pathconf(root, _PC_NAME_MAX));
}

static void t_attr(void)
{
	struct stat st;
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };
	struct timeval tv[2] = { { 1200000000, 5 }, { 1300000000, 6 } };
	int fd;

	put_file(P("at"), "x");
	R("chmod", chmod(P("at"), 0600));
	stat(P("at"), &st);
	out("mode: %o", (unsigned)(st.st_mode & 07777));
	R("fchmodat nofollow on link", fchmodat(AT_FDCWD, P("l1"), 0600, AT_SYMLINK_NOFOLLOW));
	R("fchmodat nofollow on file", fchmodat(AT_FDCWD, P("at"), 0640, AT_SYMLINK_NOFOLLOW));
	R("fchmodat bad flag", fchmodat(AT_FDCWD, P("at"), 0640, 0x4000));
	fd = open(P("at"), O_RDWR);
	R("fchmod", fchmod(fd, 0604));
	fstat(fd, &st);
	out("mode: %o", (unsigned)(st.st_mode & 07777));
	R("fchown", fchown(fd, 1234, 5678));
	fstat(fd, &st);
	out("owner: %u %u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	R("futimens", futimens(fd, ts));
	fstat(fd, &st);
	out("times: %ld.%09ld %ld.%09ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	    (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	close(fd);
	R("chown", chown(P("at"), 0, 0));
	R("lchown", lchown(P("l1"), 42, 43));
	lstat(P("l1"), &st);
	out("link owner: %u %u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	R("utimensat", utimensat(AT_FDCWD, P("at"), ts, 0));
	R("utimes", utimes(P("at"), tv));
	stat(P("at"), &st);
	out("utimes: %ld.%06ld", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec / 1000);
	{
		struct utimbuf ub = { 1400000000, 1500000000 };

		R("utime", utime(P("at"), &ub));
		stat(P("at"), &st);
		out("utime: %ld %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	}
	{
		struct timespec omit[2] = { { 0, UTIME_OMIT }, { 7, 0 } };

		R("utimensat omit", utimensat(AT_FDCWD, P("at"), omit, 0));
		stat(P("at"), &st);
		out("omit: %ld %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	}
	R("utimensat bad nsec", utimensat(AT_FDCWD, P("at"), (struct timespec[2]){ { 0, 2000000000 }, { 0, 0 } }, 0));
	R("utimensat missing", utimensat(AT_FDCWD, P("nope"), NULL, 0));
	R("getxattr missing file", getxattr(P("nope"), "user.x", NULL, 0));
}

static void t_names(void)
{
	char buf[256];
	struct stat st;
	ssize_t n;

	R("mkdir", mkdir(P("d"), 0755));
	R("mkdir again", mkdir(P("d"), 0755));
	R("mkdir missing parent", mkdir(P("no/d"), 0755));
	R("mkdir sub", mkdir(P("d/s"), 0700));
	stat(P("d"), &st);
	out("dir nlink: %lu", (unsigned long)st.st_nlink);
	put_file(P("d/s/f"), "in sub");
	R("rmdir not empty", rmdir(P("d")));
	R("rmdir file", rmdir(P("d/s/f")));
	R("unlink dir", unlink(P("d/s")));
	R("rmdir dot", rmdir(P("d/.")));
	R("rename file", rename(P("d/s/f"), P("d/g")));
	R("rename missing", rename(P("d/nope"), P("d/x")));
	R("rename dir over file", rename(P("d/s"), P("d/g")));
	R("rename file over dir", rename(P("d/g"), P("d/s")));
	R("rename into own subdir", rename(P("d"), P("d/s/d")));
	put_file(P("d/h"), "h");
	R("renameat2 noreplace", renameat2(AT_FDCWD, P("d/g"), AT_FDCWD, P("d/h"), RENAME_NOREPLACE));
	R("renameat2 exchange", renameat2(AT_FDCWD, P("d/g"), AT_FDCWD, P("d/h"), RENAME_EXCHANGE));
	out("after exchange: g=%s", slurp(P("d/g")));
	R("renameat2 bad flags", renameat2(AT_FDCWD, P("d/g"), AT_FDCWD, P("d/h"), 0x80));
	R("rename over file", rename(P("d/g"), P("d/h")));
	out("h: %s", slurp(P("d/h")));
	R("link", link(P("d/h"), P("d/h2")));
	stat(P("d/h"), &st);
	out("link nlink: %lu", (unsigned long)st.st_nlink);
	R("link exists", link(P("d/h"), P("d/h2")));
	R("link dir", link(P("d/s"), P("d/s2")));
	R("symlink exists", symlink("x", P("d/h")));
	R("symlink", symlink("s/../h", P("d/ln")));
	n = readlink(P("d/ln"), buf, sizeof(buf));
	out("readlink: %zd %.*s", n, (int)(n > 0 ? n : 0), buf);
	R("readlink short", readlink(P("d/ln"), buf, 3));
	R("readlink file", readlink(P("d/h"), buf, sizeof(buf)));
	R("readlink missing", readlink(P("d/nope"), buf, sizeof(buf)));
	out("through link: %s", slurp(P("d/ln")));
	R("linkat follow", linkat(AT_FDCWD, P("d/ln"), AT_FDCWD, P("d/viafollow"), AT_SYMLINK_FOLLOW));
	lstat(P("d/viafollow"), &st);
	out("linkat follow made: %s", S_ISREG(st.st_mode) ? "file" : "link");
	R("linkat nofollow", linkat(AT_FDCWD, P("d/ln"), AT_FDCWD, P("d/viasym"), 0));
	lstat(P("d/viasym"), &st);
	out("linkat made: %s", S_ISLNK(st.st_mode) ? "link" : "file");
	{
		char *r = realpath(P("d/ln"), NULL);
		const char *tail = r ? r + strlen(root) : "(null)";

		out("realpath: %s", r ? tail : ename(errno));
		free(r);
		r = realpath(P("d/s/../nope"), NULL);
		out("realpath missing: %s", r ? "found" : ename(errno));
		free(r);
		r = realpath(P("d/h/x"), NULL);
		out("realpath through file: %s", r ? "found" : ename(errno));
		free(r);
	}
	R("unlinkat", unlinkat(AT_FDCWD, P("d/h2"), 0));
	R("unlinkat removedir on file", unlinkat(AT_FDCWD, P("d/h"), AT_REMOVEDIR));
	R("unlinkat bad flag", unlinkat(AT_FDCWD, P("d/h"), 0x4000));
	R("mknod fifo", mknod(P("d/fifo"), S_IFIFO | 0644, 0));
	stat(P("d/fifo"), &st);
	out("fifo type: %d", S_ISFIFO(st.st_mode));
	R("mkfifo exists", mkfifo(P("d/fifo"), 0644));
	R("mknod reg", mknod(P("d/reg"), S_IFREG | 0600, 0));
	R("remove file", remove(P("d/reg")));
	R("remove dir", remove(P("d/s/f")));
	R("mkdir s2", mkdir(P("d/e"), 0755));
	R("remove empty dir", remove(P("d/e")));
	R("dotdot walk", stat(P("d/s/../h"), &st));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *label, DIR *d)
{
	char *names[64];
	int n = 0;
	struct dirent *e;
	char line[2048] = "";

	while ((e = readdir(d)) != NULL && n < 64)
		names[n++] = strdup(e->d_name);
	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	for (int i = 0; i < n; i++) {
		strncat(line, names[i], sizeof(line) - strlen(line) - 2);
		strcat(line, " ");
		free(names[i]);
	}
	out("%s: %s", label, line);
}

static int nftw_count;
static int nftw_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)p;
	(void)st;
	nftw_count += type == FTW_DP ? 100 : 1;
	(void)f;
	return 0;
}

static void t_dirs(void)
{
	struct dirent **list;
	char cwd[4096];
	DIR *d;
	long pos;
	int fd, n;

	mkdir(P("ls"), 0755);
	put_file(P("ls/a"), "a");
	put_file(P("ls/b"), "b");
	mkdir(P("ls/c"), 0755);
	d = opendir(P("ls"));
	R("opendir", d != NULL);
	list_dir("readdir", d);
	rewinddir(d);
	list_dir("after rewind", d);
	rewinddir(d);
	readdir(d);
	pos = telldir(d);
	{
		struct dirent *e1 = readdir(d);
		char first[256];

		snprintf(first, sizeof(first), "%s", e1 ? e1->d_name : "-");
		seekdir(d, pos);
		e1 = readdir(d);
		out("seekdir same: %d", e1 && strcmp(first, e1->d_name) == 0);
	}
	fd = dirfd(d);
	{
		struct stat st;

		R("dirfd fstat", fstat(fd, &st));
		R("openat via dirfd", openat(fd, "a", O_RDONLY) >= 0);
	}
	closedir(d);
	R("opendir file", opendir(P("ls/a")) != NULL);
	R("opendir missing", opendir(P("nope")) != NULL);
	fd = open(P("ls"), O_RDONLY | O_DIRECTORY);
	d = fdopendir(fd);
	R("fdopendir", d != NULL);
	list_dir("fdopendir", d);
	closedir(d);
	n = scandir(P("ls"), &list, NULL, alphasort);
	R("scandir", n);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	fd = open(P("ls"), O_RDONLY | O_DIRECTORY);
	{
		char buf[4096];
		ssize_t got, total = 0;
		int count = 0;

		while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t off = 0; off < got;) {
				unsigned short reclen = *(unsigned short *)(buf + off + 16);

				count++;
				off += reclen;
			}
			total += got;
		}
		out("getdents64 entries: %d", count);
		R("getdents64 small buf", (lseek(fd, 0, SEEK_SET), getdents64(fd, buf, 10)));
	}
	close(fd);
	/* cwd */
	getcwd(cwd, sizeof(cwd));
	R("chdir", chdir(P("ls")));
	{
		char here[4096];

		getcwd(here, sizeof(here));
		out("getcwd tail: %s", here + strlen(root));
		out("relative read: %s", slurp("a"));
		R("relative mkdir", mkdir("rel", 0755));
		R("relative stat up", access("../ls/rel", F_OK));
		R("chdir file", chdir("a"));
		R("chdir missing", chdir("nope"));
		fd = open("c", O_RDONLY | O_DIRECTORY);
		R("fchdir", fchdir(fd));
		close(fd);
		getcwd(here, sizeof(here));
		out("after fchdir: %s", here + strlen(root));
		R("chdir ..", chdir(".."));
		getcwd(here, sizeof(here));
		out("after ..: %s", here + strlen(root));
		R("getcwd small", getcwd(here, 2) != NULL);
	}
	R("chdir back", chdir(cwd));
	{
		glob_t g;

		R("glob", glob(P("ls/?"), 0, NULL, &g));
		out("glob count: %zu", g.gl_pathc);
		globfree(&g);
		R("glob none", glob(P("ls/zz*"), 0, NULL, &g));
	}
	nftw_count = 0;
	R("nftw", nftw(P("ls"), nftw_cb, 8, FTW_PHYS | FTW_DEPTH));
	out("nftw count: %d", nftw_count);
	R("nftw missing", nftw(P("nope"), nftw_cb, 8, 0));
}

static void t_fd(void)
{
	int fd, fd2, r;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };

	put_file(P("fd"), "0123456789");
	fd = open(P("fd"), O_RDWR);
	lseek(fd, 3, SEEK_SET);
	fd2 = dup(fd);
	R("dup shares offset", lseek(fd2, 0, SEEK_CUR));
	R("dup2", dup2(fd, 50));
	R("dup2 offset", lseek(50, 0, SEEK_CUR));
	R("dup2 same", dup2(fd, fd));
	R("dup3 same", dup3(fd, fd, 0));
	R("dup3 cloexec", dup3(fd, 51, O_CLOEXEC));
	R("F_GETFD", fcntl(51, F_GETFD));
	R("F_SETFD", fcntl(51, F_SETFD, 0));
	R("F_GETFD after", fcntl(51, F_GETFD));
	R("F_DUPFD", fcntl(fd, F_DUPFD, 60) >= 60);
	R("F_DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 70) >= 70);
	{
		char c;

		read(50, &c, 1);
		out("read through dup2: %c", c);
		R("shared offset moved", lseek(fd, 0, SEEK_CUR));
	}
	R("close dup", close(50));
	R("close again", close(50));
	R("ioctl FIONREAD", (ioctl(fd, FIONREAD, &r), r));
	R("ioctl tty", ioctl(fd, TCGETS, &r));
	R("isatty", isatty(fd));
	R("F_SETLK", fcntl(fd, F_SETLK, &fl));
	{
		pid_t pid = fork();

		if (pid == 0) {
			struct flock g = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 };
			int cfd = open(P("fd"), O_RDWR);

			if (fcntl(cfd, F_GETLK, &g) < 0)
				_exit(1);
			_exit(g.l_type == F_WRLCK ? (fcntl(cfd, F_SETLK, &g) < 0 && (errno == EAGAIN || errno == EACCES) ? 42 : 2) : 3);
		}
		waitpid(pid, &r, 0);
		out("child sees lock: %d", WEXITSTATUS(r));
	}
	fl.l_type = F_UNLCK;
	R("F_SETLK unlock", fcntl(fd, F_SETLK, &fl));
	fl.l_type = F_RDLCK;
	R("F_OFD_SETLK", fcntl(fd, F_OFD_SETLK, &fl));
	R("flock ex", flock(fd, LOCK_EX | LOCK_NB));
	fd2 = open(P("fd"), O_RDONLY);
	R("flock other open", flock(fd2, LOCK_EX | LOCK_NB));
	R("flock unlock", flock(fd, LOCK_UN));
	R("flock other now", flock(fd2, LOCK_SH | LOCK_NB));
	close(fd2);
	R("lockf", lockf(fd, F_TLOCK, 0));
	close(fd);
	R("fcntl bad fd", fcntl(-1, F_GETFD));
}

static void t_stdio(void)
{
	char line[128];
	FILE *f;
	int fd;

	f = fopen(P("io"), "w");
	R("fopen w", f != NULL);
	R("fprintf", fprintf(f, "one %d\ntwo\n", 1));
	R("fileno valid", fileno(f) >= 0);
	R("fclose", fclose(f));
	f = fopen(P("io"), "r");
	R("fgets", fgets(line, sizeof(line), f) != NULL);
	out("fgets data: %s", strtok(line, "\n"));
	R("ftell", ftell(f));
	R("fseek", fseek(f, 4, SEEK_SET));
	{
		char *l = NULL;
		size_t cap = 0;

		R("getline", getline(&l, &cap, f));
		out("getline data: %s", strtok(l, "\n"));
		free(l);
	}
	fclose(f);
	f = fopen(P("io"), "a+");
	fputs("three\n", f);
	rewind(f);
	R("a+ read back", fread(line, 1, sizeof(line), f));
	fclose(f);
	f = fopen(P("nope/io"), "r");
	out("fopen missing: %s", f ? "opened" : ename(errno));
	f = fopen(P("io"), "wx");
	out("fopen x: %s", f ? "opened" : ename(errno));
	f = fopen(P("io"), "q");
	out("fopen bad mode: %s", f ? "opened" : ename(errno));
	fd = open(P("io"), O_RDONLY);
	f = fdopen(fd, "r");
	R("fdopen", f != NULL);
	R("fread", fread(line, 1, 5, f));
	f = freopen(P("io2"), "w", f);
	R("freopen", f != NULL);
	fputs("reopened\n", f);
	fclose(f);
	out("io2: %s", slurp(P("io2")));
	{
		int pfd = open(P("dp"), O_CREAT | O_WRONLY | O_TRUNC, 0644);

		R("dprintf", dprintf(pfd, "n=%d", 42));
		close(pfd);
		out("dprintf data: %s", slurp(P("dp")));
	}
}

static void t_mmap(void)
{
	char *p;
	int fd;

	put_file(P("mm"), "abcdefghij");
	fd = open(P("mm"), O_RDWR);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	R("mmap shared", p != MAP_FAILED);
	out("mapped: %.10s", p);
	memcpy(p, "ABC", 3);
	R("msync", msync(p, 4096, MS_SYNC));
	{
		char b[11] = { 0 };

		pread(fd, b, 10, 0);
		out("after msync: %s", b);
	}
	R("pwrite into mapped", pwrite(fd, "xy", 2, 8));
	out("map sees write: %.10s", p);
	R("munmap", munmap(p, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	memcpy(p, "ZZZ", 3);
	munmap(p, 4096);
	out("private not written: %s", slurp(P("mm")));
	R("mmap bad offset", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1) != MAP_FAILED);
	close(fd);
	fd = open(P("mm"), O_RDONLY);
	R("mmap shared write on rdonly", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	R("mprotect write on rdonly", mprotect(p, 4096, PROT_READ | PROT_WRITE));
	munmap(p, 4096);
	close(fd);
	fd = open(P("mm"), O_WRONLY);
	R("mmap wronly", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) != MAP_FAILED);
	close(fd);
	/* shared across fork */
	fd = open(P("mm"), O_RDWR);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fork() == 0) {
		p[0] = 'K';
		_exit(0);
	}
	wait(NULL);
	out("fork shares map: %c", p[0]);
	munmap(p, 4096);
	close(fd);
	out("after munmap: %s", slurp(P("mm")));
}

/* The process's anonymous resident memory, in KiB (-1 if unknown). */
static long rss_anon_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* A sparse file of 32 MiB mapped MAP_PRIVATE: its data where it was
 * written, zeros elsewhere, a store that stays private. Mapping it takes
 * no memory for its holes until they are touched, as the kernel's (a copy
 * of the whole file would take 32 MiB). */
static void t_mmap_sparse_private(void)
{
	const size_t size = 32u << 20;
	uint64_t sum = 1469598103934665603ull;
	size_t nonzero = 0;
	long before, grew;
	unsigned char *p;
	int fd = open(P("sparse"), O_CREAT | O_RDWR | O_TRUNC, 0644);

	R("pwrite head", pwrite(fd, "head", 4, 0));
	R("pwrite mid", pwrite(fd, "middle", 6, (5u << 20) + 100));
	R("pwrite tail", pwrite(fd, "tail", 4, size - 4));
	before = rss_anon_kib();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	R("mmap private sparse", p != MAP_FAILED);
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	grew = rss_anon_kib() - before;
	out("private sparse: holes took memory: %s", before < 0 ? "unknown" :
	    grew < 1024 ? "no" : "yes");
	if (grew >= 1024)
		fprintf(stderr, "RssAnon grew %ld KiB\n", grew);
	for (size_t i = 0; i < size; i++) {
		sum = (sum ^ p[i]) * 1099511628211ull;
		nonzero += p[i] != 0;
	}
	out("private sparse: %zu bytes not zero, sum %016llx, %.6s", nonzero,
	    (unsigned long long)sum, (const char *)p + (5u << 20) + 100);
	memcpy(p + (9u << 20), "private", 7);
	R("munmap private sparse", munmap(p, size));
	{
		char b[8] = { 0 };

		pread(fd, b, 7, 9u << 20);
		out("private sparse store not in the file: %d", b[0] == 0);
	}
	close(fd);
	unlink(P("sparse"));
	/* no data at all: the map still reads it, for its atime */
	{
		struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
		struct stat st;

		fd = open(P("hollow"), O_CREAT | O_RDWR | O_TRUNC, 0644);
		R("ftruncate hollow", ftruncate(fd, 1 << 20));
		R("futimens hollow", futimens(fd, old));
		p = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, fd, 0);
		R("mmap private hollow", p != MAP_FAILED);
		if (p != MAP_FAILED)
			munmap(p, 1 << 20);
		fstat(fd, &st);
		out("private hollow: atime moved %d, mtime moved %d", st.st_atime != old[0].tv_sec,
		    st.st_mtime != old[1].tv_sec);
		close(fd);
		unlink(P("hollow"));
	}
}

/*
 * Nearly as many files mapped shared at once as UMFS's registry of mapped
 * inodes holds (256), which every process's reads and writes consult, and
 * unmapped and mapped again out of order: each mapping must see a write()
 * to its file and each read() a store through a mapping, in this process
 * and in a child.
 */
#define MM_FILES 250

static unsigned mm_check(char **map, const int *fd, const bool *live, char tag)
{
	unsigned bad = 0;

	for (int i = 0; i < MM_FILES; i++) {
		char b[2] = { 0 };

		if (!live[i])
			continue;
		b[0] = tag;
		b[1] = (char)('a' + i % 26);
		if (pwrite(fd[i], b, 2, 16) != 2 || map[i][16] != tag || map[i][17] != b[1])
			bad++;
		map[i][24] = tag;
		if (pread(fd[i], b, 1, 24) != 1 || b[0] != tag)
			bad++;
	}
	return bad;
}

static void mm_map(char **map, const int *fd, bool *live, int i)
{
	map[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd[i], 0);
	live[i] = map[i] != MAP_FAILED;
}

static void t_mmap_many(void)
{
	static char *map[MM_FILES];
	static int fd[MM_FILES];
	static bool live[MM_FILES];
	unsigned bad = 0;
	pid_t pid;
	int status = -1;

	for (int i = 0; i < MM_FILES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "mmany%03d", i);
		fd[i] = open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd[i] < 0 || ftruncate(fd[i], 4096) < 0)
			bad++;
	}
	out("mmap many: %u files not made", bad);
	for (int step = 0; step < 3; step++) /* every third file first */
		for (int i = step; i < MM_FILES; i += 3)
			mm_map(map, fd, live, i);
	out("mmap many: all mapped, %u disagree", mm_check(map, fd, live, 'A'));
	for (int i = 0; i < MM_FILES; i += 2) {
		munmap(map[i], 4096);
		live[i] = false;
	}
	out("mmap many: half unmapped, %u disagree", mm_check(map, fd, live, 'B'));
	for (int i = MM_FILES - 2; i >= 0; i -= 2)
		mm_map(map, fd, live, i);
	out("mmap many: mapped again, %u disagree", mm_check(map, fd, live, 'C'));
	pid = fork();
	if (pid == 0)
		_exit(mm_check(map, fd, live, 'D') ? 1 : 0);
	waitpid(pid, &status, 0);
	out("mmap many: a child's check: status %d", status);
	bad = 0;
	for (int i = 0; i < MM_FILES; i++)
		if (live[i] && map[i][24] != 'D')
			bad++;
	out("mmap many: the child's stores seen: %u disagree", bad);
	for (int i = 0; i < MM_FILES; i++) {
		if (live[i])
			munmap(map[i], 4096);
		live[i] = false;
	}
	mm_map(map, fd, live, 7);
	out("mmap many: all unmapped, one again, %u disagree", mm_check(map, fd, live, 'E'));
	if (live[7])
		munmap(map[7], 4096);
	for (int i = 0; i < MM_FILES; i++)
		close(fd[i]);
	out("mmany007: %.2s %.1s", slurp(P("mmany007")) + 16, slurp(P("mmany007")) + 24);
}

/*
 * Processes mapping and unmapping a few files shared at once, so that the
 * registry of mapped inodes changes under readers in other processes (a
 * file mapped by some while others let go, slots freed and taken again):
 * each process writes and stores in its own bytes of each file and checks
 * that its mapping, its reads and the file after its unmap agree.
 */
#define MS_PROCS 4
#define MS_FILES 8
#define MS_ROUNDS 1500

static unsigned ms_child(int k)
{
	unsigned bad = 0, seed = 2463534242u + (unsigned)k;

	for (int r = 0; r < MS_ROUNDS; r++) {
		char name[32], b[2], *m;
		int f, fd;

		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		f = (int)(seed % MS_FILES);
		snprintf(name, sizeof(name), "mstress%02d", f);
		fd = open(P(name), O_RDWR);
		if (fd < 0)
			return 1000;
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return 1000;
		}
		b[0] = (char)('a' + r % 26);
		b[1] = (char)('A' + r % 26);
		if (pwrite(fd, b, 1, 64 * k) != 1 || m[64 * k] != b[0])
			bad++;
		m[64 * k + 32] = b[1];
		if (pread(fd, b, 1, 64 * k + 32) != 1 || b[0] != m[64 * k + 32])
			bad++;
		munmap(m, 4096);
		if (pread(fd, b, 1, 64 * k + 32) != 1 || b[0] != (char)('A' + r % 26))
			bad++;
		close(fd);
	}
	return bad;
}

static void t_mmap_stress(void)
{
	pid_t pid[MS_PROCS];
	unsigned bad = 0;

	for (int f = 0; f < MS_FILES; f++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "mstress%02d", f);
		fd = open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 4096) < 0)
			bad++;
		close(fd);
	}
	for (int k = 0; k < MS_PROCS; k++) {
		pid[k] = fork();
		if (pid[k] == 0)
			_exit(ms_child(k) ? 1 : 0);
	}
	for (int k = 0; k < MS_PROCS; k++) {
		int st = -1;

		if (pid[k] < 0 || waitpid(pid[k], &st, 0) != pid[k] || st != 0)
			bad++;
	}
	out("mmap stress: %d processes, %u failed", MS_PROCS, bad);
}

/*
 * A first mapping made while another process writes the file: the writer
 * is stopped with SIGSTOP wherever it is, the file is mapped (by a thread,
 * since the mapping may wait for a write the writer was in), and the
 * writer goes on. Every write it finished before its pause must be in the
 * file after the unmap has written the mapping back: a write that was on
 * its way when the mapping copied the file, and landed after, must reach
 * the copy too; and while the writer is paused the mapping must hold the
 * file's bytes. The writer writes value v at slot v % MF_SLOTS, so that a
 * lost write stays visible until that slot is written again. Writes go
 * as one buffer and as a vector in turn. In the second run every third
 * value is a fallocate instead, which punches a hole at its slot: it
 * changes the bytes as a write does, without write(2).
 */
#define MF_ROUNDS 2000
#define MF_SLOTS 512

struct mf_shared {
	_Atomic uint64_t done;  /* the last value the writer's pwrite returned */
	_Atomic uint64_t pause; /* a round number: the writer stops between writes */
	_Atomic uint64_t ack;   /* the round the writer stopped for */
	_Atomic uint64_t quit;
};

struct mf_map {
	int fd;
	char *m;
	_Atomic uint64_t mapped;
};

/* What slot v % MF_SLOTS holds once value v went to it. */
static uint64_t mf_expect(uint64_t v, bool punch)
{
	return punch && v % 3 == 0 ? 0 : v;
}

static void mf_writer(struct mf_shared *sh, int fd, bool punch)
{
	for (uint64_t v = 1;; v++) {
		uint64_t p = atomic_load(&sh->pause);

		if (p && atomic_load(&sh->ack) != p) {
			atomic_store(&sh->ack, p);
			while (atomic_load(&sh->pause) == p)
				sched_yield();
		}
		if (atomic_load(&sh->quit))
			_exit(0);
		off_t at = (off_t)(sizeof(v) * (v % MF_SLOTS));
		struct iovec halves[2] = { { &v, 4 }, { (char *)&v + 4, 4 } };

		if (mf_expect(v, punch) == 0) {
			/* tmpfs, the reference, has no FALLOC_FL_ZERO_RANGE */
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, sizeof(v)))
				_exit(1);
		} else if ((v & 1 ? pwritev(fd, halves, 2, at) : pwrite(fd, &v, sizeof(v), at)) !=
			   sizeof(v)) { /* both ways a write goes: one buffer and a vector */
			_exit(1);
		}
		atomic_store(&sh->done, v);
	}
}

static void *mf_map_thread(void *arg)
{
	struct mf_map *a = arg;

	a->m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	atomic_store(&a->mapped, 1);
	return NULL;
}

/* Waits until *p reaches want, or ms milliseconds pass: whether it did. */
static bool mf_reached(_Atomic uint64_t *p, uint64_t want, long ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (atomic_load(p) >= want)
			return true;
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	return atomic_load(p) >= want;
}

/* Values in (from, to] missing from the file once the mapping was
 * written back (to - from <= MF_SLOTS). */
static unsigned mf_missing(int fd, uint64_t from, uint64_t to, bool punch)
{
	uint64_t slot[MF_SLOTS];
	unsigned n = 0;

	if (pread(fd, slot, sizeof(slot), 0) != (ssize_t)sizeof(slot))
		return 1;
	for (uint64_t v = from + 1; v <= to; v++)
		n += slot[v % MF_SLOTS] != mf_expect(v, punch);
	return n;
}

/* Whether the mapping m holds the file's first page. */
static bool mf_coherent(int fd, const char *m)
{
	char page[4096];

	return pread(fd, page, sizeof(page), 0) == (ssize_t)sizeof(page) &&
	       memcmp(page, m, sizeof(page)) == 0;
}

static void t_mmap_first(bool punch)
{
	struct mf_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned lost = 0, stale = 0, failed = 0;
	uint64_t checked = 0;
	int fd = open(P("mfirst"), O_RDWR | O_CREAT | O_TRUNC, 0644), st;
	const char *what = punch ? "mmap under a writer and fallocate" : "mmap under a writer";
	pid_t w;

	if (sh == MAP_FAILED || fd < 0 || ftruncate(fd, 4096) < 0) {
		out("%s: setup failed", what);
		return;
	}
	w = fork();
	if (w == 0)
		mf_writer(sh, fd, punch);
	for (uint64_t r = 1; r <= MF_ROUNDS; r++) {
		struct mf_map a = { .fd = fd, .m = MAP_FAILED };
		pthread_t t;
		uint64_t d;

		if (kill(w, SIGSTOP) < 0 || waitpid(w, &st, WUNTRACED) != w) {
			failed++;
			break;
		}
		d = atomic_load(&sh->done);
		if (pthread_create(&t, NULL, mf_map_thread, &a) != 0) {
			kill(w, SIGCONT);
			failed++;
			break;
		}
		/* a mapping that waits for the stopped writer gets it back */
		mf_reached(&a.mapped, 1, 2);
		kill(w, SIGCONT);
		pthread_join(t, NULL);
		/* the write it was in, if any, is over once the next is done */
		if (a.m == MAP_FAILED || !mf_reached(&sh->done, d + 2, 5000)) {
			failed++;
			break;
		}
		atomic_store(&sh->pause, r);
		if (!mf_reached(&sh->ack, r, 5000)) {
			failed++;
			break;
		}
		d = atomic_load(&sh->done);
		stale += !mf_coherent(fd, a.m);
		munmap(a.m, 4096);
		if (d - checked > MF_SLOTS)
			checked = d - MF_SLOTS;
		lost += mf_missing(fd, checked, d, punch);
		checked = d;
		atomic_store(&sh->pause, 0);
	}
	atomic_store(&sh->quit, 1);
	atomic_store(&sh->pause, 0);
	kill(w, SIGCONT);
	if (waitpid(w, &st, 0) != w || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failed++;
	close(fd);
	munmap(sh, sizeof(*sh));
	out("%s: %u writes lost, %u pauses with the mapping unlike the file, %u failed", what,
	    lost, stale, failed);
}

/* The last process to let go of a mapping of the file has it open
 * read-only: another's stores through its writable mapping still reach
 * the file, as the kernel writes back a shared page whoever unmaps it. */
static void t_mmap_ro_last(void)
{
	int rfd, st;
	char *r, b[8] = { 0 };
	pid_t pid;

	put_file(P("mrolast"), "-----");
	rfd = open(P("mrolast"), O_RDONLY);
	r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rfd, 0);
	R("mmap read-only, shared", r != MAP_FAILED);
	pid = fork();
	if (pid == 0) {
		int w = open(P("mrolast"), O_RDWR);
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w, 0);

		if (m == MAP_FAILED)
			_exit(1);
		memcpy(m, "STORE", 5);
		munmap(m, 4096);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	out("mmap read-only: the writer's status %d, the reader sees %.5s", st,
	    r != MAP_FAILED ? r : "?????");
	if (r != MAP_FAILED)
		munmap(r, 4096);
	close(rfd);
	rfd = open(P("mrolast"), O_RDONLY);
	pread(rfd, b, 5, 0);
	close(rfd);
	out("mmap read-only, let go last: the file holds %.5s", b);
}

static void t_temp(void)
{
	char t[4096];
	int fd;

	snprintf(t, sizeof(t), "%s/tmpXXXXXX", root);
	fd = mkstemp(t);
	R("mkstemp", fd >= 0);
	R("mkstemp write", write(fd, "t", 1));
	close(fd);
	snprintf(t, sizeof(t), "%s/tmpXXXXXX.sfx", root);
	R("mkstemps", (fd = mkstemps(t, 4)) >= 0);
	close(fd);
	out("mkstemps suffix: %s", strstr(t, ".sfx") ? "kept" : "lost");
	snprintf(t, sizeof(t), "%s/dtmpXXXXXX", root);
	R("mkdtemp", mkdtemp(t) != NULL);
	{
		struct stat st;

		stat(t, &st);
		out("mkdtemp mode: %o", (unsigned)(st.st_mode & 0777));
	}
	snprintf(t, sizeof(t), "%s/bad", root);
	R("mkstemp bad template", mkstemp(t));
}

static void t_fifo(void)
{
	char buf[16] = { 0 };
	int fd, st;
	pid_t pid;

	mkfifo(P("pipe"), 0644);
	pid = fork();
	if (pid == 0) {
		int w = open(P("pipe"), O_WRONLY);

		write(w, "through fifo", 12);
		_exit(0);
	}
	fd = open(P("pipe"), O_RDONLY);
	R("fifo open", fd >= 0);
	R("fifo read", read(fd, buf, 12));
	out("fifo data: %s", buf);
	close(fd);
	waitpid(pid, &st, 0);
}

static void t_errno(void)
{
	struct stat st;
	char b[4];
	int fd, kept = 1;

	put_file(P("en"), "abc");
	errno = 4321;
	fd = open(P("en"), O_RDONLY);
	kept &= errno == 4321;
	read(fd, b, 3);
	kept &= errno == 4321;
	fstat(fd, &st);
	stat(P("en"), &st);
	lseek(fd, 0, SEEK_SET);
	close(fd);
	kept &= errno == 4321;
	stat("/", &st);
	getpid();
	fd = open("/dev/null", O_RDONLY);
	close(fd);
	kept &= errno == 4321;
	out("errno kept on success: %d", kept);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: shim_calls DIR\n");
		return 2;
	}
	root = argv[1];
	t_open();
	t_rw();
	t_space();
	t_copy();
	t_stat();
	t_attr();
	t_names();
	t_dirs();
	t_fd();
	t_stdio();
	t_mmap();
	t_mmap_sparse_private();
	t_mmap_many();
	t_mmap_stress();
	t_mmap_first(false);
	t_mmap_first(true);
	t_mmap_ro_last();
	t_temp();
	t_fifo();
	t_errno();
	out("done");
	return 0;
}
