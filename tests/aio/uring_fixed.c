/* SPDX-License-Identifier: MIT */
/*
 * uring_fixed - io_uring's fixed files, and what the library refuses.
 *
 *   uring_fixed DIR KFILE             fixed files: a transcript on stdout
 *   uring_fixed DIR KFILE --refusals  the refusals (under the library only)
 *
 * DIR is where the files under test are made (a, b, c), KFILE a kernel
 * file. The first form registers a, KFILE, an empty slot and b; reads and
 * writes through each slot; closes a before its SQE is submitted; reuses
 * a's number for c; updates slots (a file, -1, IORING_REGISTER_FILES_SKIP);
 * closes a slot with CLOSE's file_index; unregisters (then the kernel's
 * error); registers with tags and sparse tables; lets the kernel pick the
 * slots of a FILES_UPDATE (IORING_FILE_INDEX_ALLOC), one of them equal to
 * the descriptor's number. Each result is printed
 * with whose bytes it read, so that the run on tmpfs is the reference the
 * run on UMFS is compared with (run_aio.sh).
 *
 * The second form submits what the library refuses on a UMFS descriptor
 * (and a FILES_UPDATE letting the kernel pick a UMFS file's slot later)
 * and checks each CQE: -EOPNOTSUPP (never -EISDIR, never the token's or
 * another file's bytes, the file untouched), a chain after a refusal
 * cancelled, kernel requests around them served. Exit 1 at the first
 * mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSIZE 4096
#define RLEN 64
#define SENTINEL 0xee
#define TAG 1000 /* tags of registered files: the kernel posts one when a file leaves */

static struct io_uring ring;
static unsigned char pat[3][FSIZE]; /* a, b, kernel file; c is pat[0] reversed */
static const char *const pname[] = { "a", "b", "k", "c" };
static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "uring_fixed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static unsigned char pat_byte(int who, size_t i)
{
	return who == 3 ? pat[0][FSIZE - 1 - i] : pat[who][i];
}

/* Whose bytes buf holds at offset off: a name, "untouched" or "other". */
static const char *whose(const unsigned char *buf, size_t len, size_t off)
{
	for (int w = 0; w < 4; w++) {
		size_t i;

		for (i = 0; i < len && buf[i] == pat_byte(w, off + i); i++)
			;
		if (i == len)
			return pname[w];
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] != SENTINEL)
			return "other";
	return "untouched";
}

static int make(const char *dir, const char *name, int who)
{
	char path[4096];
	unsigned char buf[FSIZE];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (size_t i = 0; i < FSIZE; i++)
		buf[i] = pat_byte(who, i);
	if (fd < 0 || pwrite(fd, buf, FSIZE, 0) != FSIZE) {
		perror(path);
		exit(1);
	}
	return fd;
}

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		fprintf(stderr, "uring_fixed: no SQE\n");
		exit(1);
	}
	return sqe;
}

/* After the prep (which clears the SQE): its flags and user_data. */
static void mark(struct io_uring_sqe *sqe, unsigned flags, uint64_t data)
{
	sqe->flags |= (uint8_t)flags;
	sqe->user_data = data;
}

/* Submits what is queued and reaps n CQEs into res[user_data]; the CQEs of
 * tags (a tagged file left the table) come when the kernel is done with
 * the file, and are skipped. */
static void submit_reap(int n, int *res)
{
	int r = io_uring_submit(&ring);

	if (r != n)
		fail("io_uring_submit: %d, expected %d", r, n);
	for (int got = 0; got < n; got++) {
		struct io_uring_cqe *cqe;

		if ((r = io_uring_wait_cqe(&ring, &cqe)) < 0) {
			fprintf(stderr, "uring_fixed: io_uring_wait_cqe: %s\n", strerror(-r));
			exit(1);
		}
		if (cqe->user_data >= TAG)
			got--;
		else if (cqe->user_data < (uint64_t)n)
			res[cqe->user_data] = cqe->res;
		else
			fail("a CQE with user_data %llu", (unsigned long long)cqe->user_data);
		io_uring_cqe_seen(&ring, cqe);
	}
}

/* One READ through fixed slot (or descriptor) fd at off: prints its result
 * and whose bytes it read. */
static void read_one(const char *what, int fd, bool fixed, size_t off)
{
	unsigned char buf[RLEN];
	struct io_uring_sqe *sqe = sqe_get();
	int res;

	memset(buf, SENTINEL, sizeof(buf));
	io_uring_prep_read(sqe, fd, buf, RLEN, off);
	mark(sqe, fixed ? IOSQE_FIXED_FILE : 0, 0);
	submit_reap(1, &res);
	printf("%s: %d %s\n", what, res, whose(buf, RLEN, off));
}

static void write_one(const char *what, int slot, const void *data, size_t len, size_t off)
{
	struct io_uring_sqe *sqe = sqe_get();
	int res;

	io_uring_prep_write(sqe, slot, data, (unsigned)len, off);
	mark(sqe, IOSQE_FIXED_FILE, 0);
	submit_reap(1, &res);
	printf("%s: %d\n", what, res);
}

/* The whole file at path, as a sum and its size. */
static void print_file(const char *dir, const char *name)
{
	char path[4096];
	unsigned char buf[2 * FSIZE];
	uint32_t h = 2166136261u;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -errno : read(fd, buf, sizeof(buf));
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 16777619u;
	printf("file %s: %zd bytes, fnv %08x\n", name, n, h);
	if (fd >= 0)
		close(fd);
}

static void fixed_files(const char *dir, const char *kfile)
{
	int a = make(dir, "a", 0), b = make(dir, "b", 1), k, c, r, res[2];
	int files[4], upd[2], alloc[3];
	__u64 tags[2] = { TAG, TAG + 1 };
	static const char msg[] = "written through slot 0";
	struct io_uring_sqe *sqe;
	unsigned char buf[RLEN];

	k = open(kfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (k < 0 || pwrite(k, pat[2], FSIZE, 0) != FSIZE) {
		perror(kfile);
		exit(1);
	}
	files[0] = a, files[1] = k, files[2] = -1, files[3] = b;
	printf("register [a, k, -1, b]: %d\n", io_uring_register_files(&ring, files, 4));
	read_one("read slot 0", 0, true, 200);
	read_one("read slot 1", 1, true, 300);
	read_one("read slot 2 (empty)", 2, true, 0);
	read_one("read slot 3", 3, true, 400);
	write_one("write slot 0 at 100", 0, msg, sizeof(msg) - 1, 100);
	memset(buf, SENTINEL, sizeof(buf));
	r = (int)pread(a, buf, sizeof(msg) - 1, 100);
	printf("pread a at 100: %d %s\n", r, r > 0 && !memcmp(buf, msg, sizeof(msg) - 1) ? "the write" : "other");

	/* the descriptor closed between the SQE and its submission: the table
	 * holds the file; a's number, reused, is another file's */
	sqe = sqe_get();
	memset(buf, SENTINEL, sizeof(buf));
	io_uring_prep_read(sqe, 0, buf, RLEN, 500);
	mark(sqe, IOSQE_FIXED_FILE, 0);
	close(a);
	submit_reap(1, &res[0]);
	printf("read slot 0, a closed before submission: %d %s\n", res[0], whose(buf, RLEN, 500));
	c = make(dir, "c", 3);
	printf("c got a's number: %s\n", c == a ? "yes" : "no");
	read_one("read slot 0, a's number now c's", 0, true, 600);
	read_one("read c's descriptor", c, false, 600);

	/* updates: a file, -1, SKIP; a vectored write and an fsync on a slot */
	upd[0] = c;
	printf("update slot 0 = c: %d\n", io_uring_register_files_update(&ring, 0, upd, 1));
	read_one("read slot 0", 0, true, 700);
	upd[0] = -1;
	printf("update slot 3 = -1: %d\n", io_uring_register_files_update(&ring, 3, upd, 1));
	read_one("read slot 3 (emptied)", 3, true, 0);
	upd[0] = IORING_REGISTER_FILES_SKIP, upd[1] = b;
	printf("update slots 0, 1 = SKIP, b: %d\n", io_uring_register_files_update(&ring, 0, upd, 2));
	read_one("read slot 0 (skipped)", 0, true, 800);
	read_one("read slot 1", 1, true, 800);
	{
		struct iovec iov[2] = { { (void *)msg, 4 }, { (void *)(msg + 4), 6 } };

		sqe = sqe_get();
		io_uring_prep_writev(sqe, 1, iov, 2, 1000);
		mark(sqe, IOSQE_FIXED_FILE | IOSQE_IO_LINK, 0);
		sqe = sqe_get();
		io_uring_prep_fsync(sqe, 1, 0);
		mark(sqe, IOSQE_FIXED_FILE, 1);
		submit_reap(2, res);
		printf("writev slot 1 at 1000, linked fsync: %d %d\n", res[0], res[1]);
	}
	upd[0] = c;
	printf("update slot 2 = c: %d\n", io_uring_register_files_update(&ring, 2, upd, 1));
	sqe = sqe_get();
	io_uring_prep_close_direct(sqe, 2);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	printf("close slot 2 (file_index): %d\n", res[0]);
	read_one("read slot 2 (closed)", 2, true, 0);

	printf("unregister: %d\n", io_uring_unregister_files(&ring));
	read_one("read slot 0 (unregistered)", 0, true, 0);
	read_one("read slot 1 (unregistered)", 1, true, 0);

	files[0] = b, files[1] = k;
	printf("register with tags [b, k]: %d\n", io_uring_register_files_tags(&ring, files, tags, 2));
	read_one("read slot 0", 0, true, 900);
	upd[0] = c;
	printf("update with tag slot 1 = c: %d\n",
	       io_uring_register_files_update_tag(&ring, 1, upd, tags, 1));
	read_one("read slot 1", 1, true, 900);
	printf("unregister: %d\n", io_uring_unregister_files(&ring));

	printf("register sparse 4: %d\n", io_uring_register_files_sparse(&ring, 4));
	read_one("read slot 2 (sparse)", 2, true, 0);
	upd[0] = b;
	printf("update slot 2 = b: %d\n", io_uring_register_files_update(&ring, 2, upd, 1));
	read_one("read slot 2", 2, true, 1100);

	/* FILES_UPDATE SQEs letting the kernel pick empty slots: it writes
	 * them over the descriptors, and stops at the first it cannot take */
	alloc[0] = c, alloc[1] = k, alloc[2] = -1;
	sqe = sqe_get();
	io_uring_prep_files_update(sqe, alloc, 3, IORING_FILE_INDEX_ALLOC);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	printf("update [c, k, -1] into slots the kernel picks: %d, slots %d %d %d\n", res[0],
	       alloc[0], alloc[1], alloc[2]);
	read_one("read c's slot", alloc[0], true, 1200);
	read_one("read k's slot", alloc[1], true, 1200);
	printf("unregister: %d\n", io_uring_unregister_files(&ring));
	/* a slot the kernel picks may be the descriptor's own number */
	printf("register sparse c + 1: %d\n", io_uring_register_files_sparse(&ring, (unsigned)c + 1));
	printf("allocate from slot c only: %d\n", io_uring_register_file_alloc_range(&ring, (unsigned)c, 1));
	alloc[0] = c;
	sqe = sqe_get();
	io_uring_prep_files_update(sqe, alloc, 1, IORING_FILE_INDEX_ALLOC);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	printf("update [c] into the slot the kernel picks: %d, c's own number: %s\n", res[0],
	       alloc[0] == c ? "yes" : "no");
	read_one("read slot c", c, true, 1300);
	printf("unregister: %d\n", io_uring_unregister_files(&ring));
	close(b);
	close(c);
	close(k);
	print_file(dir, "a");
	print_file(dir, "b");
	print_file(dir, "c");
}

/* ------------------------------------------------------------------ */
/* Refusals                                                             */
/* ------------------------------------------------------------------ */

static void expect(const char *what, int got, int want)
{
	if (got == -EISDIR)
		fail("%s: -EISDIR: the token reached the kernel", what);
	else if (got != want)
		fail("%s: %d (%s), expected %d (%s)", what, got, strerror(-got), want,
		     strerror(-want));
	else
		printf("ok - %s: %d\n", what, got);
}

static void untouched(const char *what, const unsigned char *buf, size_t len)
{
	const char *w = whose(buf, len, 0);

	if (strcmp(w, "untouched") != 0)
		fail("%s: the buffer holds %s's bytes", what, w);
}

/* The file's bytes are still its pattern (a is pat 0) and its size FSIZE. */
static void file_intact(const char *what, int fd)
{
	unsigned char buf[FSIZE + 1];
	struct stat st;

	if (fstat(fd, &st) != 0 || st.st_size != FSIZE || st.st_blocks > (FSIZE / 512) * 2)
		fail("%s: the file's size or blocks changed (%lld, %lld)", what,
		     (long long)st.st_size, (long long)st.st_blocks);
	if (pread(fd, buf, sizeof(buf), 0) != FSIZE || memcmp(buf, pat[0], FSIZE) != 0)
		fail("%s: the file's bytes changed", what);
}

static void refusals(const char *dir, const char *kfile)
{
	int a = make(dir, "a", 0), k, d, p[2], res[3];
	unsigned char buf[RLEN], kbuf[RLEN];
	struct statx stx;
	struct io_uring_sqe *sqe;

	k = open(kfile, O_RDWR | O_CREAT | O_TRUNC, 0644);
	d = open(dir, O_RDONLY | O_DIRECTORY);
	if (k < 0 || d < 0 || pwrite(k, pat[2], FSIZE, 0) != FSIZE || pipe(p) != 0) {
		perror("uring_fixed: setup");
		exit(1);
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);

	/* a UMFS read linked after a kernel read: the kernel's served */
	memset(buf, SENTINEL, sizeof(buf));
	memset(kbuf, SENTINEL, sizeof(kbuf));
	sqe = sqe_get();
	io_uring_prep_read(sqe, k, kbuf, RLEN, 0);
	mark(sqe, IOSQE_IO_LINK, 0);
	sqe = sqe_get();
	io_uring_prep_read(sqe, a, buf, RLEN, 0);
	mark(sqe, 0, 1);
	submit_reap(2, res);
	expect("kernel read heading a chain", res[0], RLEN);
	expect("UMFS read linked after it", res[1], -EOPNOTSUPP);
	untouched("UMFS read linked after a kernel read", buf, RLEN);
	if (strcmp(whose(kbuf, RLEN, 0), "k") != 0)
		fail("the kernel read got %s", whose(kbuf, RLEN, 0));

	/* the ring carried a kernel request: a drain cannot be honoured */
	sqe = sqe_get();
	io_uring_prep_read(sqe, a, buf, RLEN, 0);
	mark(sqe, IOSQE_IO_DRAIN, 0);
	submit_reap(1, res);
	expect("UMFS read with IOSQE_IO_DRAIN", res[0], -EOPNOTSUPP);
	untouched("drained read", buf, RLEN);

	/* the kernel would pick the buffer */
	sqe = sqe_get();
	io_uring_prep_read(sqe, a, NULL, RLEN, 0);
	sqe->buf_group = 0;
	mark(sqe, IOSQE_BUFFER_SELECT, 0);
	submit_reap(1, res);
	expect("UMFS read with IOSQE_BUFFER_SELECT", res[0], -EOPNOTSUPP);

	/* other operations on a UMFS descriptor; a refusal breaks its chain */
	memset(&stx, SENTINEL, sizeof(stx));
	sqe = sqe_get();
	io_uring_prep_statx(sqe, a, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx);
	mark(sqe, IOSQE_IO_LINK, 0);
	sqe = sqe_get();
	io_uring_prep_read(sqe, a, buf, RLEN, 0);
	mark(sqe, 0, 1);
	submit_reap(2, res);
	expect("STATX on a UMFS descriptor", res[0], -EOPNOTSUPP);
	expect("a UMFS read linked after it", res[1], -ECANCELED);
	untouched("statx", (const unsigned char *)&stx, sizeof(stx));
	untouched("the read after a refused STATX", buf, RLEN);

	sqe = sqe_get();
	io_uring_prep_fallocate(sqe, a, 0, 0, 1 << 20);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	expect("FALLOCATE on a UMFS descriptor", res[0], -EOPNOTSUPP);

	sqe = sqe_get();
	io_uring_prep_splice(sqe, a, 0, p[1], -1, RLEN, 0);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	expect("SPLICE from a UMFS descriptor", res[0], -EOPNOTSUPP);
	memset(buf, SENTINEL, sizeof(buf));
	if (read(p[0], buf, RLEN) != -1 || errno != EAGAIN)
		fail("SPLICE from a UMFS descriptor: the pipe holds %s's bytes", whose(buf, RLEN, 0));

	if (write(p[1], pat[2], RLEN) != RLEN)
		fail("pipe write");
	sqe = sqe_get();
	io_uring_prep_splice(sqe, p[0], -1, a, 0, RLEN, 0);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	expect("SPLICE into a UMFS descriptor", res[0], -EOPNOTSUPP);
	(void)!read(p[0], buf, RLEN);

	sqe = sqe_get();
	io_uring_prep_openat(sqe, d, "a", O_RDONLY, 0);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	expect("OPENAT relative to a UMFS directory", res[0], -EOPNOTSUPP);

	/* the same through a fixed slot */
	if (io_uring_register_files(&ring, &a, 1) != 0)
		fail("register a");
	sqe = sqe_get();
	io_uring_prep_fallocate(sqe, 0, 0, 0, 1 << 20);
	mark(sqe, IOSQE_FIXED_FILE, 0);
	submit_reap(1, res);
	expect("FALLOCATE on a fixed UMFS file", res[0], -EOPNOTSUPP);
	sqe = sqe_get();
	io_uring_prep_splice(sqe, 0, 0, p[1], -1, RLEN, SPLICE_F_FD_IN_FIXED);
	mark(sqe, 0, 0);
	submit_reap(1, res);
	expect("SPLICE from a fixed UMFS file", res[0], -EOPNOTSUPP);
	if (read(p[0], buf, RLEN) != -1 || errno != EAGAIN)
		fail("SPLICE from a fixed UMFS file: the pipe holds bytes");
	io_uring_unregister_files(&ring);

	/* the kernel would pick a slot for a UMFS file where the library
	 * cannot see which: on its worker after the submission returned
	 * (IOSQE_ASYNC), or behind a kernel request of its chain */
	if (io_uring_register_files_sparse(&ring, 4) != 0)
		fail("register sparse 4");
	for (int i = 0; i < 2; i++) {
		int upd[1] = { a };

		if (i == 1) {
			if (write(p[1], "x", 1) != 1)
				fail("pipe write");
			sqe = sqe_get();
			io_uring_prep_read(sqe, p[0], kbuf, 1, -1);
			mark(sqe, IOSQE_IO_LINK, 1);
		}
		sqe = sqe_get();
		io_uring_prep_files_update(sqe, upd, 1, IORING_FILE_INDEX_ALLOC);
		mark(sqe, i == 0 ? IOSQE_ASYNC : 0, 0);
		submit_reap(i + 1, res);
		expect(i == 0 ? "FILES_UPDATE picking a UMFS file's slot, IOSQE_ASYNC"
			      : "FILES_UPDATE picking a UMFS file's slot, linked after a read",
		       res[0], -EOPNOTSUPP);
		if (upd[0] != a)
			fail("FILES_UPDATE refused: the array says slot %d", upd[0]);
	}
	io_uring_unregister_files(&ring);
	file_intact("after the refusals", a);
	close(a);
	close(d);
	close(k);
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: uring_fixed DIR KFILE [--refusals]\n");
		return 2;
	}
	for (int w = 0; w < 3; w++)
		for (size_t i = 0; i < FSIZE; i++)
			pat[w][i] = (unsigned char)(i * (2 * w + 3) + w + 1 + i / 251);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((r = io_uring_queue_init(16, &ring, 0)) != 0) {
		fprintf(stderr, "uring_fixed: io_uring_queue_init: %s\n", strerror(-r));
		return 1;
	}
	if (argc > 3 && !strcmp(argv[3], "--refusals"))
		refusals(argv[1], argv[2]);
	else
		fixed_files(argv[1], argv[2]);
	io_uring_queue_exit(&ring);
	return failures ? 1 : 0;
}
