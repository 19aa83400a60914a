/* SPDX-License-Identifier: MIT */
/*
 * shim_maprace.c - reads of a file while other processes map it and let
 * it go, over and over, and write it: every read must see the file's
 * bytes. Under libumfs a read takes no lock and puts a mapping's stores
 * (where the host file differs from its base) over the file's bytes,
 * while the host file and base are made, joined, written back and
 * removed; a read that met one of those half done must not return it.
 *
 *   shim_maprace FILE SECONDS
 *
 * The file holds a pattern throughout, and a counter. Two readers read
 * all of it and pieces of it, through read and through private mappings;
 * a mapper maps it read-only, then writable beside that (the base is
 * made), stores into it, counts one up through the mapping, and unmaps
 * both (the last unmap writes back); a writer writes pieces of the
 * pattern. Each store and write puts back the pattern's bytes, except for
 * a moment in which a store holds another byte and puts the pattern's
 * back: that byte may be seen either way. The counter never goes back:
 * the mapper finds its last count at each new mapping, a reader never
 * reads a count below one it read before. Prints the rounds and exits 1
 * at the first read that differs.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE (64 * 1024)
#define FLIP 1000 /* the byte a store changes for a moment */
#define COUNT 8192 /* the counter: 8 bytes, stored through the mapping */
#define WRITES 16384 /* the writer writes from here on */

static unsigned char pattern[SIZE];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Whether buf holds the pattern at off (the flipped byte either way). */
static int check(const char *who, const unsigned char *buf, size_t len, size_t off)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == pattern[off + i] || (off + i == FLIP && buf[i] == 0xff) ||
		    (off + i >= COUNT && off + i < COUNT + 8))
			continue;
		fprintf(stderr, "shim_maprace: %s read 0x%02x at %zu, the file has 0x%02x\n", who,
			buf[i], off + i, pattern[off + i]);
		return 1;
	}
	return 0;
}

/* Whether the count in buf (the whole file) is at least *last; it
 * becomes *last. */
static int count_check(const char *who, const unsigned char *buf, uint64_t *last)
{
	uint64_t c;

	memcpy(&c, buf + COUNT, sizeof(c));
	if (c < *last) {
		fprintf(stderr, "shim_maprace: %s read count %llu after %llu\n", who,
			(unsigned long long)c, (unsigned long long)*last);
		return 1;
	}
	*last = c;
	return 0;
}

static int reader(const char *path, double end, unsigned seed)
{
	static unsigned char buf[SIZE];
	int fd = open(path, O_RDONLY);
	uint64_t last = 0;
	long rounds = 0;

	if (fd < 0)
		die(path);
	srand(seed);
	while (now() < end) {
		size_t off = (size_t)rand() % SIZE, len = 1 + (size_t)rand() % 8192;
		void *p;

		if (off + len > SIZE)
			len = SIZE - off;
		if (pread(fd, buf, SIZE, 0) != SIZE || check("a whole read", buf, SIZE, 0) ||
		    count_check("a whole read", buf, &last))
			return 1;
		if (pread(fd, buf, len, (off_t)off) != (ssize_t)len ||
		    check("a piece read", buf, len, off))
			return 1;
		if (rounds % 16 == 0) {
			p = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED)
				die("mmap private");
			if (check("a private mapping", p, SIZE, 0))
				return 1;
			munmap(p, SIZE);
		}
		rounds++;
	}
	printf("reader: %ld rounds, last count %llu\n", rounds, (unsigned long long)last);
	return 0;
}

static int mapper(const char *path, double end)
{
	int rfd = open(path, O_RDONLY), wfd = open(path, O_RDWR);
	uint64_t count = 0, was;
	long rounds = 0;

	if (rfd < 0 || wfd < 0)
		die(path);
	while (now() < end) {
		unsigned char *r = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, rfd, 0), *w;

		if (r == MAP_FAILED)
			die("mmap read-only");
		w = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
		if (w == MAP_FAILED)
			die("mmap writable");
		for (size_t i = (size_t)rounds % 4096; i < SIZE; i += 4096)
			if (i < COUNT || i >= COUNT + 8)
				w[i] = pattern[i];
		w[FLIP] = 0xff;
		w[FLIP] = pattern[FLIP];
		memcpy(&was, w + COUNT, sizeof(was));
		if (was != count) {
			fprintf(stderr, "shim_maprace: a new mapping has count %llu, the last "
				"stored %llu\n", (unsigned long long)was,
				(unsigned long long)count);
			return 1;
		}
		count++;
		memcpy(w + COUNT, &count, sizeof(count));
		if (rounds % 4 == 0 && msync(w, SIZE, MS_SYNC) < 0)
			die("msync");
		if (check("the mapping", r, SIZE, 0))
			return 1;
		munmap(w, SIZE);
		munmap(r, SIZE);
		rounds++;
	}
	printf("mapper: %ld rounds, count %llu\n", rounds, (unsigned long long)count);
	return 0;
}

static int writer(const char *path, double end)
{
	int fd = open(path, O_WRONLY);
	long rounds = 0;

	if (fd < 0)
		die(path);
	srand(7);
	while (now() < end) {
		size_t off = WRITES + (size_t)rand() % (SIZE - WRITES);
		size_t len = 1 + (size_t)rand() % 4096;

		if (off + len > SIZE)
			len = SIZE - off;
		if (pwrite(fd, pattern + off, len, (off_t)off) != (ssize_t)len)
			die("pwrite");
		rounds++;
		usleep(200);
	}
	printf("writer: %ld rounds\n", rounds);
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[4];
	double end;
	int fd, st, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: shim_maprace FILE SECONDS\n");
		return 2;
	}
	for (size_t i = 0; i < SIZE; i++)
		pattern[i] = (unsigned char)('a' + (i * 7 + i / 4096) % 26);
	memset(pattern + COUNT, 0, 8); /* the count starts at 0 */
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, pattern, SIZE) != SIZE || close(fd) < 0)
		die(argv[1]);
	end = now() + atof(argv[2]);
	for (int k = 0; k < 4; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			die("fork");
		if (pids[k] == 0) {
			int r;

			alarm((unsigned)atof(argv[2]) + 60); /* a hang fails */
			r = k < 2 ? reader(argv[1], end, (unsigned)k + 1)
				  : k == 2 ? mapper(argv[1], end) : writer(argv[1], end);
			fflush(stdout);
			_exit(r);
		}
	}
	for (int k = 0; k < 4; k++)
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	fd = open(argv[1], O_RDONLY);
	if (fd >= 0) {
		static unsigned char buf[SIZE];

		if (read(fd, buf, SIZE) != SIZE || check("the last", buf, SIZE, 0))
			bad = 1;
		close(fd);
	}
	return bad;
}
