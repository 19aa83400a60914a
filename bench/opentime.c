/* SPDX-License-Identifier: MIT */
/*
 * opentime.c - how the cost of reaching a file's data grows with its size.
 *
 *   opentime open DIR LABEL MAXSIZE [SECONDS]
 *                                     open + read of the last 4 KiB + close
 *   opentime mmap DIR LABEL MAXSIZE [SECONDS]
 *                                     open + mmap(MAP_POPULATE) of the whole
 *                                     file + a load of its last byte +
 *                                     munmap + close
 *
 * For each size from 4 KiB up to MAXSIZE (x4 each step) it writes a file of
 * that size in DIR, times the sequence until SECONDS (default 0.3) have
 * passed (at least 5, at most 1000 times unless SECONDS is given: then as
 * many as fit, for profiling), prints the median and removes the file.
 * Reading the last block, not the first, checks that the whole file is
 * reachable right after open. Run it under the shim for UMFS, plainly for a
 * kernel file system. Output CSV: label,method,size,median_ns,first_ns,reps
 * (first_ns: the first time, right after the file was written).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096u
#define CHUNK (1u << 20)
#define MAX_REPS 1000
#define PROFILE_REPS 10000000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "opentime: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void make_file(const char *path, unsigned long long size)
{
	static char chunk[CHUNK];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		fail(path);
	memset(chunk, 0x5a, sizeof(chunk));
	for (unsigned long long off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		if (write(fd, chunk, n) != (ssize_t)n)
			fail("write");
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		fail("fsync/close");
}

static void once_open(const char *path, unsigned long long size)
{
	char buf[BLK];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		fail("open");
	if (pread(fd, buf, BLK, (off_t)(size - BLK)) != BLK || buf[0] != 0x5a)
		fail("pread of the last block");
	close(fd);
}

static void once_mmap(const char *path, unsigned long long size)
{
	int fd = open(path, O_RDONLY);
	volatile const char *p;

	if (fd < 0)
		fail("open");
	p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	if (p[size - 1] != 0x5a)
		fail("mapped data");
	munmap((void *)p, size);
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static double t[PROFILE_REPS];
	void (*once)(const char *, unsigned long long);
	unsigned long long max;
	char path[4096];
	double secs = 0.3;
	int max_reps = MAX_REPS;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: opentime open|mmap DIR LABEL MAXSIZE [SECONDS]\n");
		return 2;
	}
	if (argc == 6) {
		secs = strtod(argv[5], NULL);
		max_reps = PROFILE_REPS;
	}
	if (strcmp(argv[1], "open") == 0)
		once = once_open;
	else if (strcmp(argv[1], "mmap") == 0)
		once = once_mmap;
	else
		return 2;
	max = strtoull(argv[4], NULL, 0);
	for (unsigned long long size = BLK; size <= max; size *= 4) {
		double start, first;
		int n = 0;

		snprintf(path, sizeof(path), "%s/opentime-%llu", argv[2], size);
		make_file(path, size);
		start = now_ns();
		once(path, size); /* the first open after the file was written */
		first = now_ns() - start;
		start = now_ns();
		while (n < max_reps && (n < 5 || now_ns() - start < secs * 1e9)) {
			double t0 = now_ns();

			once(path, size);
			t[n++] = now_ns() - t0;
		}
		qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
		printf("%s,%s,%llu,%.0f,%.0f,%d\n", argv[3], argv[1], size, t[n / 2], first, n);
		fflush(stdout);
		if (unlink(path) < 0)
			fail("unlink");
	}
	return 0;
}
