/* SPDX-License-Identifier: MIT */
/*
 * meta.c - metadata operations on N files in one directory.
 *
 *   meta DIR LABEL N
 *
 * In a new directory DIR/meta it times, one phase after the other:
 *   create   open(O_CREAT|O_EXCL|O_WRONLY) + close of N empty files
 *   stat     stat() of each, in passes repeated for >= 0.2 s (at least 3);
 *            the fastest pass counts. One pass of a quick run lasts about
 *            10 ms, so a single preemption on a loaded machine, or the cache
 *            misses of the first pass after strict mode flushed every line
 *            the creates wrote, could swing it several-fold between runs.
 *   readdir  opendir + readdir to the end + closedir, repeated for >= 0.2 s
 *            (per entry)
 *   unlink   unlink() of each
 *   lock     fcntl(F_SETLK) on one file, N rounds of the cycle SQLite's
 *            WAL makes for each transaction on its shared-memory file:
 *            read-lock a byte, write-lock another, unlock both; per call,
 *            the fastest of passes repeated for >= 0.2 s (at least 3)
 * create and unlink then repeat as rounds (create all, unlink all) until
 * at least 3 rounds and 0.2 s, and the fastest round of each counts, as
 * for stat: one pass of a quick run lasts 50-150 ms, within reach of a
 * preemption on the shared machine, and the kernel's own figures swung
 * 1.5-fold between runs.
 * The N paths are formatted before anything is timed: a snprintf of one
 * costs about 1,200 instructions, as much as a stat through libumfs, and
 * would be counted for every system alike, pressing their ratios toward 1.
 * It checks what it can on the way (every stat says size 0 and a regular
 * file, readdir returns exactly the N names plus . and ..), failing loudly
 * otherwise. Run it under the shim for UMFS, plainly for kernel systems.
 * Output CSV: label,op,n,seconds,ns_per_op
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, const char *path)
{
	fprintf(stderr, "meta: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* DIR/fNNNNNNN for i < n, made once (see the head of the file). */
static char **names;

static void names_make(const char *dir, unsigned n)
{
	size_t len = strlen(dir) + sizeof("/f4294967295");
	char *buf = malloc((size_t)n * len);

	names = malloc((size_t)n * sizeof(*names));
	if (!buf || !names) {
		fprintf(stderr, "meta: out of memory for %u names\n", n);
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		names[i] = buf + (size_t)i * len;
		snprintf(names[i], len, "%s/f%07u", dir, i);
	}
}

static void report(const char *label, const char *op, unsigned long n, double s)
{
	printf("%s,%s,%lu,%.6f,%.1f\n", label, op, n, s, s * 1e9 / (double)n);
	fflush(stdout);
}

/* stat() of each of the n files, checking what it says. */
static void stat_pass(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) < 0)
			fail("stat", names[i]);
		if (!S_ISREG(st.st_mode) || st.st_size != 0) {
			errno = EINVAL;
			fail("stat: not an empty regular file:", names[i]);
		}
	}
}

/* open(O_CREAT|O_EXCL) + close of the n files: the seconds it took. */
static double create_pass(unsigned n)
{
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++) {
		int fd = open(names[i], O_CREAT | O_EXCL | O_WRONLY, 0644);

		if (fd < 0 || close(fd) < 0)
			fail("create", names[i]);
	}
	return now_s() - t0;
}

static int setlk(int fd, short type, off_t start)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 1 };

	return fcntl(fd, F_SETLK, &fl);
}

/* What an open file description's lock on bytes 120-123 would meet: the
 * type of the lock in the way, F_UNLCK for none. */
static short ofd_meets(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 120, .l_len = 4 };

	return fcntl(fd, F_OFD_GETLK, &fl) < 0 ? -1 : fl.l_type;
}

/* n rounds of the lock cycle on fd: the seconds it took. The locks are
 * checked once around the timed rounds: held, they are in the way of an
 * OFD lock (the process's own POSIX locks are not, for F_GETLK); released,
 * nothing is. */
static double lock_pass(int fd, const char *path, unsigned n)
{
	double t0;

	if (setlk(fd, F_RDLCK, 123) < 0 || setlk(fd, F_WRLCK, 120) < 0)
		fail("fcntl F_SETLK", path);
	if (ofd_meets(fd) != F_WRLCK) {
		errno = EINVAL;
		fail("F_OFD_GETLK: no lock in the way of", path);
	}
	if (setlk(fd, F_UNLCK, 120) < 0 || setlk(fd, F_UNLCK, 123) < 0)
		fail("fcntl F_SETLK", path);
	t0 = now_s();
	for (unsigned i = 0; i < n; i++)
		if (setlk(fd, F_RDLCK, 123) < 0 || setlk(fd, F_WRLCK, 120) < 0 ||
		    setlk(fd, F_UNLCK, 120) < 0 || setlk(fd, F_UNLCK, 123) < 0)
			fail("fcntl F_SETLK", path);
	t0 = now_s() - t0;
	if (ofd_meets(fd) != F_UNLCK) {
		errno = EINVAL;
		fail("F_OFD_GETLK: a lock left in the way of", path);
	}
	return t0;
}

/* unlink() of the n files: the seconds it took. */
static double unlink_pass(unsigned n)
{
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++)
		if (unlink(names[i]) < 0)
			fail("unlink", names[i]);
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	char dir[4096];
	double t0, best_create, best_unlink;
	unsigned n;

	if (argc != 4) {
		fprintf(stderr, "usage: meta DIR LABEL N\n");
		return 2;
	}
	n = (unsigned)strtoul(argv[3], NULL, 0);
	snprintf(dir, sizeof(dir), "%s/meta", argv[1]);
	if (mkdir(dir, 0755) < 0)
		fail("mkdir", dir);
	names_make(dir, n);

	best_create = create_pass(n);

	{
		double best = 0;
		unsigned passes = 0;

		t0 = now_s();
		do {
			double t1 = now_s(), s;

			stat_pass(n);
			s = now_s() - t1;
			if (!passes++ || s < best)
				best = s;
		} while (passes < 3 || now_s() - t0 < 0.2);
		report(argv[2], "stat", n, best);
	}

	{
		unsigned long entries = 0;
		unsigned passes = 0;

		t0 = now_s();
		do {
			DIR *d = opendir(dir);
			struct dirent *e;
			unsigned long seen = 0;

			if (!d)
				fail("opendir", dir);
			errno = 0;
			while ((e = readdir(d)) != NULL)
				seen++;
			if (errno)
				fail("readdir", dir);
			closedir(d);
			if (seen != (unsigned long)n + 2) {
				fprintf(stderr, "meta: readdir saw %lu entries, expected %u\n", seen, n + 2);
				return 1;
			}
			entries += seen;
			passes++;
		} while (now_s() - t0 < 0.2);
		report(argv[2], "readdir", entries, now_s() - t0);
	}

	best_unlink = unlink_pass(n);
	t0 = now_s();
	for (unsigned rounds = 1; rounds < 3 || now_s() - t0 < 0.2; rounds++) {
		double c = create_pass(n), u = unlink_pass(n);

		best_create = c < best_create ? c : best_create;
		best_unlink = u < best_unlink ? u : best_unlink;
	}
	report(argv[2], "create", n, best_create);
	report(argv[2], "unlink", n, best_unlink);

	{
		char path[4200];
		double best = 0;
		unsigned passes = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/locks", dir);
		fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
		if (fd < 0)
			fail("create", path);
		t0 = now_s();
		do {
			double s = lock_pass(fd, path, n);

			if (!passes++ || s < best)
				best = s;
		} while (passes < 3 || now_s() - t0 < 0.2);
		report(argv[2], "lock", 4ul * n, best);
		if (close(fd) < 0 || unlink(path) < 0)
			fail("close or unlink", path);
	}
	if (rmdir(dir) < 0)
		fail("rmdir (not empty after unlink?)", dir);
	return 0;
}
