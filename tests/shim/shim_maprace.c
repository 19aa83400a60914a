/* SPDX-License-Identifier: MIT */
/*
 * shim_maprace.c - reads of a file while other processes map it and let
 * it go, over and over, and write it: every read must see the file's
 * bytes. Under libumfs a read takes no lock and puts a mapping's stores
 * (where the host file differs from its base) over the file's bytes,
 * while the host file and base are made, joined, written back and
 * removed; a read that met one of those half done must not return it.
 *
 *   shim_maprace FILE SECONDS [OTHER]
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
 * reads a count below one it read before. With OTHER, the same file
 * through another front end (umfs-fuse), one more process counts a second
 * counter up through it (opened O_DIRECT): every read sees that count
 * never go back either, the mapping sees at least what a read saw before
 * each msync (which brings such writes into the mapping), and the last
 * read sees the last count. Prints the rounds and exits 1 at the first read that differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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
#define OTHER 12288 /* the other front end's counter: 8 bytes */
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

/* Whether byte i of the file is a counter's. */
static bool counter_byte(size_t i)
{
	return (i >= COUNT && i < COUNT + 8) || (i >= OTHER && i < OTHER + 8);
}

/* Whether buf holds the pattern at off (the flipped byte either way). */
static int check(const char *who, const unsigned char *buf, size_t len, size_t off)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == pattern[off + i] || (off + i == FLIP && buf[i] == 0xff) ||
		    counter_byte(off + i))
			continue;
		fprintf(stderr, "shim_maprace: %s read 0x%02x at %zu, the file has 0x%02x\n", who,
			buf[i], off + i, pattern[off + i]);
		return 1;
	}
	return 0;
}

/* Whether the count at off in buf (the whole file) is at least *last; it
 * becomes *last. */
static int count_check(const char *who, const unsigned char *buf, size_t off, uint64_t *last)
{
	uint64_t c;

	memcpy(&c, buf + off, sizeof(c));
	if (c < *last) {
		fprintf(stderr, "shim_maprace: %s read count %llu at %zu after %llu\n", who,
			(unsigned long long)c, off, (unsigned long long)*last);
		return 1;
	}
	*last = c;
	return 0;
}

static int reader(const char *path, double end, unsigned seed)
{
	static unsigned char buf[SIZE];
	int fd = open(path, O_RDONLY);
	uint64_t last = 0, other = 0;
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
		    count_check("a whole read", buf, COUNT, &last) ||
		    count_check("a whole read", buf, OTHER, &other))
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
			if (!counter_byte(i))
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
		if (rounds % 4 == 0) {
			uint64_t seen, mapped;

			if (pread(rfd, &seen, sizeof(seen), OTHER) != sizeof(seen))
				die("pread");
			if (msync(w, SIZE, MS_SYNC) < 0)
				die("msync");
			memcpy(&mapped, r + OTHER, sizeof(mapped));
			if (mapped < seen) {
				fprintf(stderr, "shim_maprace: after msync the mapping has the "
					"other's count %llu, a read before it %llu\n",
					(unsigned long long)mapped, (unsigned long long)seen);
				return 1;
			}
		}
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

/* The other front end's writer: counts OTHER up through path; its last
 * count in *count. */
static int other_writer(const char *path, double end, uint64_t *count)
{
	/* O_DIRECT: umfs-fuse serves it without its page cache, which would
	 * keep the mapper from mapping the file (docs/shim.md, "mmap") */
	int fd = open(path, O_WRONLY | O_DIRECT);

	if (fd < 0 && errno == EINVAL) /* a file system without O_DIRECT */
		fd = open(path, O_WRONLY);

	if (fd < 0)
		die(path);
	while (now() < end) {
		uint64_t next = *count + 1;

		if (pwrite(fd, &next, sizeof(next), OTHER) != sizeof(next))
			die("pwrite through the other front end");
		*count = next;
		usleep(100);
	}
	close(fd);
	printf("other writer: count %llu\n", (unsigned long long)*count);
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[5];
	int kids = argc == 4 ? 5 : 4;
	uint64_t *other;
	double end;
	int fd, st, bad = 0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: shim_maprace FILE SECONDS [OTHER]\n");
		return 2;
	}
	other = mmap(NULL, sizeof(*other), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		     0);
	if (other == MAP_FAILED)
		die("mmap");
	*other = 0;
	for (size_t i = 0; i < SIZE; i++)
		pattern[i] = (unsigned char)('a' + (i * 7 + i / 4096) % 26);
	memset(pattern + COUNT, 0, 8); /* the counts start at 0 */
	memset(pattern + OTHER, 0, 8);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, pattern, SIZE) != SIZE || close(fd) < 0)
		die(argv[1]);
	end = now() + atof(argv[2]);
	for (int k = 0; k < kids; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			die("fork");
		if (pids[k] == 0) {
			int r;

			alarm((unsigned)atof(argv[2]) + 60); /* a hang fails */
			if (k < 2)
				r = reader(argv[1], end, (unsigned)k + 1);
			else if (k == 2)
				r = mapper(argv[1], end);
			else if (k == 3)
				r = writer(argv[1], end);
			else
				r = other_writer(argv[3], end, other);
			fflush(stdout);
			_exit(r);
		}
	}
	for (int k = 0; k < kids; k++)
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	fd = open(argv[1], O_RDONLY);
	if (fd >= 0) {
		static unsigned char buf[SIZE];
		uint64_t last;

		if (read(fd, buf, SIZE) != SIZE || check("the last", buf, SIZE, 0))
			bad = 1;
		memcpy(&last, buf + OTHER, sizeof(last));
		if (last != *other) {
			fprintf(stderr, "shim_maprace: the last read has the other's count %llu, "
				"it wrote %llu\n", (unsigned long long)last,
				(unsigned long long)*other);
			bad = 1;
		}
		close(fd);
	}
	return bad;
}
