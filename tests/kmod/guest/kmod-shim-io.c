/* SPDX-License-Identifier: MIT */
/*
 * kmod-shim-io.c (guest) - the small program kmod-shim.sh runs under the
 * shim, like any unmodified program: plain open/pread/pwrite, nothing of
 * UMFS linked in. Also reads the module's counters and unmounts it.
 *
 *   kmod-shim-io fill FILE MIB            write MIB MiB of a known pattern
 *   kmod-shim-io rand FILE read|write N   N random 4 KiB preads or pwrites;
 *                                         prints "us_per_op X" and a checksum
 *   kmod-shim-io append FILE N            N 4 KiB appends to a new FILE
 *   kmod-shim-io check FILE               FILE made by fill (>= 4 MiB): reads
 *                                         after fork, after truncates by this
 *                                         and another process (REVOKE), and
 *                                         racing a truncating child
 *   kmod-shim-io badread FILE             12 KiB reads into two good pages
 *                                         and one that cannot be stored to:
 *                                         counts and checksums (as on tmpfs)
 *   kmod-shim-io stats                    the module's counters
 *   kmod-shim-io mount DEV                MOUNT, which validates every table;
 *                                         prints what it checked
 *   kmod-shim-io unmount                  UNMOUNT (EINVAL: nothing mounted)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umfs_kmod.h"

#define BLK 4096

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int fill(const char *path, long mib)
{
	static unsigned char buf[1 << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return perror(path), 1;
	for (long m = 0; m < mib; m++) {
		for (size_t i = 0; i < sizeof(buf); i += 8) {
			uint64_t v = (uint64_t)m << 20 | i;

			memcpy(buf + i, &v, 8);
		}
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return perror("write"), 1;
	}
	return close(fd) ? (perror("close"), 1) : 0;
}

static int rand_io(const char *path, int writing, long n)
{
	unsigned char buf[BLK];
	uint64_t sum = 0, blocks;
	struct stat st;
	double t0, t1;
	int fd = open(path, writing ? O_RDWR : O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return perror(path), 1;
	blocks = (uint64_t)st.st_size / BLK;
	if (blocks == 0)
		return fprintf(stderr, "%s: empty\n", path), 1;
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		off_t off = (off_t)(next_rand() % blocks) * BLK;
		ssize_t r;

		if (writing) {
			memcpy(buf, &i, sizeof(i));
			r = pwrite(fd, buf, BLK, off);
		} else {
			r = pread(fd, buf, BLK, off);
			sum += buf[(size_t)i % BLK] + buf[0];
		}
		if (r != BLK)
			return perror(writing ? "pwrite" : "pread"), 1;
	}
	t1 = now_us();
	printf("us_per_op %.2f sum %" PRIu64 "\n", (t1 - t0) / (double)n, sum);
	return close(fd) ? 1 : 0;
}

/* fill's pattern: the 8-byte word at offset o is o. Checks n bytes read
 * at off; returns the bad offset + 1, or 0. */
/* N 4 KiB appends to a new file: in module mode each asks EXTEND for its
 * page. Prints "us_per_op X" and the file's size. */
static int append_io(const char *path, long n)
{
	unsigned char buf[BLK];
	struct stat st;
	double t0, t1;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0644);

	if (fd < 0)
		return perror(path), 1;
	memset(buf, 0xa5, sizeof(buf));
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		memcpy(buf, &i, sizeof(i));
		if (write(fd, buf, BLK) != BLK)
			return perror("write"), 1;
	}
	t1 = now_us();
	if (fstat(fd, &st) < 0 || st.st_size != (off_t)n * BLK)
		return fprintf(stderr, "%s: size %lld after %ld appends\n", path,
			       (long long)st.st_size, n), 1;
	printf("us_per_op %.2f size %lld\n", (t1 - t0) / (double)n, (long long)st.st_size);
	return close(fd) ? 1 : 0;
}

static uint64_t bad_word(const unsigned char *buf, ssize_t n, uint64_t off)
{
	for (ssize_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, buf + i, 8);
		if (v != off + (uint64_t)i)
			return off + (uint64_t)i + 1;
	}
	return 0;
}

#define CHECK(cond, ...)                                                               \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "check: " __VA_ARGS__);                        \
			fputc('\n', stderr);                                           \
			return 1;                                                      \
		}                                                                      \
	} while (0)

static int read_page(int fd, uint64_t off, ssize_t want)
{
	unsigned char buf[BLK];
	ssize_t n = pread(fd, buf, BLK, (off_t)off);
	uint64_t bad;

	CHECK(n == want, "pread at %" PRIu64 ": %zd, expected %zd", off, n, want);
	bad = bad_word(buf, n, off);
	CHECK(!bad, "pread at %" PRIu64 ": wrong word at %" PRIu64, off, bad - 1);
	return 0;
}

static int refill(int fd, uint64_t from, uint64_t to)
{
	unsigned char buf[65536];

	for (uint64_t off = from; off < to; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i += 8) {
			uint64_t v = off + i;

			memcpy(buf + i, &v, 8);
		}
		CHECK(pwrite(fd, buf, sizeof(buf), (off_t)off) == (ssize_t)sizeof(buf), "refill");
	}
	return 0;
}

static int check(const char *path)
{
	int fd = open(path, O_RDWR), status;
	pid_t pid;
	long bad = 0, reads = 0;

	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	CHECK(!read_page(fd, 0, BLK) && !read_page(fd, 3 << 20, BLK), "first reads");
	/* a forked child has no attachment of ours: it makes its own */
	pid = fork();
	if (pid == 0)
		_exit(read_page(fd, 2 << 20, BLK) || read_page(fd, 12288, BLK));
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "reads in a forked child failed");
	CHECK(!read_page(fd, 1 << 20, BLK), "read after fork");
	/* another process truncates: our attachment is revoked under us */
	pid = fork();
	if (pid == 0)
		_exit(ftruncate(fd, 2 << 20) ? 1 : 0);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "ftruncate in a child failed");
	CHECK(!read_page(fd, 1 << 20, BLK) && !read_page(fd, 3 << 20, 0), "reads after truncate");
	CHECK(!refill(fd, 2 << 20, 4 << 20), "refill");
	CHECK(!read_page(fd, 3 << 20, BLK), "read after refill");
	/* this process truncates through another descriptor */
	{
		int fd2 = open(path, O_RDWR);

		CHECK(fd2 >= 0 && ftruncate(fd2, 1 << 20) == 0 && close(fd2) == 0, "ftruncate");
	}
	CHECK(!read_page(fd, 4096, BLK) && !read_page(fd, 2 << 20, 0), "reads after ftruncate");
	CHECK(!refill(fd, 1 << 20, 4 << 20), "refill");
	/* a child truncates to 64 KiB and grows the file back, over and over,
	 * while we read: every byte read must be the pattern */
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 60; i++)
			if (ftruncate(fd, 65536) || refill(fd, 65536, 4 << 20))
				_exit(1);
		_exit(0);
	}
	CHECK(pid > 0, "fork");
	while (waitpid(pid, &status, WNOHANG) == 0) {
		unsigned char buf[BLK];
		uint64_t off = (next_rand() % 1024) * BLK;
		ssize_t n = pread(fd, buf, BLK, (off_t)off);

		reads++;
		if (n < 0 || bad_word(buf, n, off))
			bad++;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the truncating child failed");
	CHECK(bad == 0, "%ld of %ld reads racing truncates were wrong", bad, reads);
	CHECK(!read_page(fd, 4 << 20, 0) && !read_page(fd, (4 << 20) - BLK, BLK), "final reads");
	printf("check: ok (%ld reads raced truncates)\n", reads);
	return close(fd) ? 1 : 0;
}

/* Reads of 12 KiB into two writable pages and a third that is
 * inaccessible, then read-only, the buffer co-aligned with the file
 * offset and not, and into a non-canonical address: each count (errno)
 * and an FNV-1a of the bytes stored. A read stores up to the first byte
 * it cannot, as the kernel's copy does, whatever path serves it. */
static int badread(const char *path)
{
	static const long at[][2] = { { 0, 0 }, { 64, 4096 + 64 }, { 8, 8 }, { 8, 0 }, { 4064, 32 } };
	static const int prots[] = { PROT_NONE, PROT_READ };
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return perror(path), 1;
	for (unsigned p = 0; p < 2; p++) {
		char *b = mmap(NULL, 3 * BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (b == MAP_FAILED || mprotect(b + 2 * BLK, BLK, prots[p]))
			return perror("mmap"), 1;
		for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			uint64_t h = 0xcbf29ce484222325ull;

			memset(b, 0, 2 * BLK);
			n = pread(fd, b + at[i][0], 3 * BLK, at[i][1]);
			for (ssize_t j = 0; j < n; j++)
				h = (h ^ (unsigned char)b[at[i][0] + j]) * 0x100000001b3ull;
			printf("prot %d dst +%ld off %ld: %zd %s %016" PRIx64 "\n", prots[p], at[i][0],
			       at[i][1], n, n < 0 ? strerror(errno) : "", h);
		}
		munmap(b, 3 * BLK);
	}
	n = pread(fd, (char *)0x800000000000ull, 2 * BLK, 0);
	printf("non-canonical: %zd %s\n", n, n < 0 ? strerror(errno) : "");
	return close(fd) ? 1 : 0;
}

static int kmod_fd(void)
{
	int fd = open(UMFS_KMOD_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		perror(UMFS_KMOD_DEVICE);
	return fd;
}

int main(int argc, char **argv)
{
	struct umfs_kmod_stats st;
	int fd;

	if (argc == 4 && !strcmp(argv[1], "fill"))
		return fill(argv[2], atol(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "rand"))
		return rand_io(argv[2], !strcmp(argv[3], "write"), atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "append"))
		return append_io(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "check"))
		return check(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "badread"))
		return badread(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "stats")) {
		fd = kmod_fd();
		memset(&st, 0, sizeof(st));
		if (fd < 0 || ioctl(fd, UMFS_KMOD_IOC_STATS, &st) < 0)
			return perror("STATS"), 1;
		printf("mounted %u live %llu spliced %llu attaches %llu detaches %llu revokes %llu "
		       "poolmaps %llu promoted %llu extends %llu extend_pages %llu setattrs %llu "
		       "frees %llu freed_pages %llu exchanges %llu exchange_pages %llu "
		       "creates %llu releases %llu ulog_pages %llu\n",
		       st.mounted, (unsigned long long)st.live, (unsigned long long)st.spliced,
		       (unsigned long long)st.attaches, (unsigned long long)st.detaches,
		       (unsigned long long)st.revokes, (unsigned long long)st.poolmaps,
		       (unsigned long long)st.promoted, (unsigned long long)st.extends,
		       (unsigned long long)st.extend_pages, (unsigned long long)st.setattrs,
		       (unsigned long long)st.frees, (unsigned long long)st.freed_pages,
		       (unsigned long long)st.exchanges, (unsigned long long)st.exchange_pages,
		       (unsigned long long)st.creates, (unsigned long long)st.releases,
		       (unsigned long long)st.ulog_pages);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "mount")) {
		struct umfs_kmod_mount m;

		memset(&m, 0, sizeof(m));
		if (strlen(argv[2]) >= sizeof(m.path))
			return fprintf(stderr, "%s: path too long\n", argv[2]), 1;
		strcpy(m.path, argv[2]);
		fd = kmod_fd();
		if (fd < 0)
			return 1;
		if (ioctl(fd, UMFS_KMOD_IOC_MOUNT, &m) < 0)
			return fprintf(stderr, "MOUNT %s: %s\n", argv[2], strerror(errno)), 1;
		printf("mounted %s: %llu inodes and %llu table pages checked, %llu entries "
		       "rebased\n",
		       argv[2], (unsigned long long)m.inodes_checked,
		       (unsigned long long)m.tables_checked, (unsigned long long)m.rebased);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "unmount")) {
		fd = kmod_fd();
		if (fd < 0)
			return 1;
		if (ioctl(fd, UMFS_KMOD_IOC_UNMOUNT) < 0 && errno != EINVAL)
			return perror("UNMOUNT"), 1;
		return 0;
	}
	fprintf(stderr, "usage: kmod-shim-io fill FILE MIB | rand FILE read|write N | "
			"append FILE N | check FILE | badread FILE | stats | mount DEV | unmount\n");
	return 2;
}
