/* SPDX-License-Identifier: MIT */
/*
 * shim_bigio.c - large and small transfers from a fresh process, for
 * bigio.sh, which runs every step once on tmpfs and once on UMFS and
 * compares what they print.
 *
 *   shim_bigio write PATH OFF LEN BS SEED  pwrite LEN bytes from OFF in BS
 *                                          pieces; byte at p is pat(SEED, p)
 *   shim_bigio trunc PATH SIZE
 *   shim_bigio sum PATH OFF LEN BS         pread in BS pieces: checksum, count
 *   shim_bigio faults PATH BS              reads the file whole; prints the
 *                                          page faults the reading took, per GiB
 *   shim_bigio wfaults PATH SIZE BS        the same for writing a new file
 *   shim_bigio badbuf PATH OFF             pread and pwrite at OFF with bad
 *                                          buffers; prints each result
 *   shim_bigio limit BYTES STEP...         sets RLIMIT_FSIZE to BYTES in this
 *                                          process (setrlimit), then runs STEP
 *   shim_bigio STEP + STEP...              the steps one after another in one
 *                                          process
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t pat(uint64_t seed, uint64_t p)
{
	uint64_t x = (p + 1) * 0x9e3779b97f4a7c15ull ^ seed * 0xbf58476d1ce4e5b9ull;

	return (uint8_t)(x >> 29 ^ x >> 47);
}

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static int die(const char *what)
{
	perror(what);
	return 1;
}

static int do_write(const char *path, uint64_t off, uint64_t len, size_t bs, uint64_t seed)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	uint8_t *buf = malloc(bs);

	if (fd < 0 || !buf)
		return die("open");
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < bs ? (size_t)(len - done) : bs;

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(seed, off + done + i);
		if (pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			return die("pwrite");
		done += n;
	}
	free(buf);
	return close(fd) ? die("close") : 0;
}

static int do_sum(const char *path, uint64_t off, uint64_t len, size_t bs)
{
	int fd = open(path, O_RDONLY);
	uint8_t *buf = malloc(bs);
	uint64_t h = 0xcbf29ce484222325ull, total = 0;

	if (fd < 0 || !buf)
		return die("open");
	while (total < len) {
		size_t want = len - total < bs ? (size_t)(len - total) : bs;
		ssize_t n = pread(fd, buf, want, (off_t)(off + total));

		if (n < 0)
			return die("pread");
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
		total += (uint64_t)n;
	}
	printf("sum %016llx %llu\n", (unsigned long long)h, (unsigned long long)total);
	free(buf);
	close(fd);
	return 0;
}

static int do_faults(const char *path, size_t bs, uint64_t wsize)
{
	int fd = open(path, wsize ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
	uint8_t *buf = malloc(bs);
	uint64_t total = 0;
	struct stat st;
	long f0;

	if (fd < 0 || !buf || fstat(fd, &st))
		return die("open");
	memset(buf, 0x5a, bs); /* the buffer's own faults come before */
	f0 = faults();
	for (;;) {
		ssize_t n = wsize ? (total < wsize ? pwrite(fd, buf, bs, (off_t)total) : 0)
				  : pread(fd, buf, bs, (off_t)total);

		if (n < 0)
			return die("transfer");
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	if (total == 0)
		return die("empty file");
	printf("%lld\n", (long long)((faults() - f0) * (1ll << 30) / (long long)total));
	free(buf);
	close(fd);
	return 0;
}

/* Transfers at off with buffers the kernel answers EFAULT to, whole or in
 * part: address 8, a read-only page, and 1,000 good bytes that run into a
 * page with no access (a short transfer). Prints each result and errno. */
static int do_badbuf(const char *path, uint64_t off)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 3 * (size_t)pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(path, O_RDWR);
	const struct {
		const char *what;
		void *buf;
	} cases[] = {
		{"address 8", (void *)8},
		{"a read-only page", m + 2 * pg},
		{"a buffer running into a page with no access", m + pg - 1000},
	};

	if (fd < 0 || m == MAP_FAILED)
		return die("badbuf setup");
	memset(m, 0x33, (size_t)pg);
	/* page 0 writable, page 1 no access, page 2 read-only */
	if (mprotect(m + pg, (size_t)pg, PROT_NONE) || mprotect(m + 2 * pg, (size_t)pg, PROT_READ))
		return die("mprotect");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t n;

		errno = 0;
		n = pread(fd, cases[i].buf, 4096, (off_t)off);
		printf("badbuf pread into %s: %zd %s\n", cases[i].what, n, n < 0 ? strerror(errno) : "");
	}
	/* writes from address 8 and from the buffer that runs into no
	 * access (a read-only page is a good source) */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i += 2) {
		ssize_t n;

		errno = 0;
		n = pwrite(fd, cases[i].buf, 4096, (off_t)off);
		printf("badbuf pwrite from %s: %zd %s\n", cases[i].what, n, n < 0 ? strerror(errno) : "");
	}
	munmap(m, 3 * (size_t)pg);
	return close(fd) ? die("close") : 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "+")) {
			int r;

			argv[i] = NULL;
			if ((r = main(i, argv)) != 0)
				return r;
			argv[i] = argv[0];
			return main(argc - i, argv + i);
		}
	}
	if (argc > 3 && !strcmp(argv[1], "limit")) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_FSIZE, &rl))
			return die("getrlimit");
		rl.rlim_cur = strtoull(argv[2], NULL, 0);
		if (setrlimit(RLIMIT_FSIZE, &rl))
			return die("setrlimit");
		argv[2] = argv[0];
		return main(argc - 2, argv + 2);
	}
	if (argc == 7 && !strcmp(argv[1], "write"))
		return do_write(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
				strtoul(argv[5], NULL, 0), strtoull(argv[6], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "trunc"))
		return truncate(argv[2], (off_t)strtoull(argv[3], NULL, 0)) ? die("truncate") : 0;
	if (argc == 6 && !strcmp(argv[1], "sum"))
		return do_sum(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
			      strtoul(argv[5], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "badbuf"))
		return do_badbuf(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "faults"))
		return do_faults(argv[2], strtoul(argv[3], NULL, 0), 0);
	if (argc == 5 && !strcmp(argv[1], "wfaults"))
		return do_faults(argv[2], strtoul(argv[4], NULL, 0), strtoull(argv[3], NULL, 0));
	fprintf(stderr, "usage: see the comment at the top of shim_bigio.c\n");
	return 2;
}
