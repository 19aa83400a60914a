/* SPDX-License-Identifier: MIT */
/*
 * pread_overhead.c - what a 4 KiB read costs on top of copying the 4 KiB.
 *
 * The floor for any read is a memcpy of the bytes from where they live; for
 * UMFS that is the mapped pool. This program times, per call,
 *   - a 4 KiB read of a file (umfs_pread() through the C API, or pread()
 *     through whatever serves the path: the LD_PRELOAD shim or the kernel),
 *   - a bare 4 KiB memcpy from a MAP_POPULATE mapping of the backing file
 *     (the pool for UMFS, the file itself for a kernel file system),
 * over the same access pattern and working set, and prints the difference.
 *
 *   pread_overhead api POOL            C API on POOL (not under the shim)
 *   pread_overhead posix FILE BACKING LABEL
 *                                      pread() on FILE, memcpy from BACKING
 *
 * Patterns: "hot" reads one 4 KiB block again and again (pure software
 * cost, data in L1), "seq" walks a 64 MiB file (data streams from DRAM).
 * Output, one CSV line per pattern:
 *   interface,pattern,read_ns,memcpy_ns,overhead_ns
 * Each figure is the median of ROUNDS rounds; the overhead is the median of
 * the per-round differences, so that a noisy round does not skew it.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "umfs.h"

#define BLK 4096u
#define WSET (64u << 20) /* the "seq" working set: far larger than the LLC */
#define ROUNDS 7

/* One read of BLK bytes at off into buf; returns bytes or -errno. */
typedef long (*read_fn)(void *ctx, void *buf, off_t off);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "pread_overhead: %s: %s\n", what, strerror(err));
	exit(1);
}

static long api_read(void *ctx, void *buf, off_t off)
{
	return (long)umfs_pread(ctx, buf, BLK, off);
}

static long posix_read(void *ctx, void *buf, off_t off)
{
	long n = (long)pread(*(int *)ctx, buf, BLK, off);

	return n < 0 ? -errno : n;
}

/* Mean ns per read over n calls; offsets walk [0, span) by BLK. */
static double time_reads(read_fn fn, void *ctx, void *buf, size_t span, unsigned n)
{
	off_t off = 0;
	double t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		long r = fn(ctx, buf, off);

		if (r != BLK)
			fail("short or failed read", r < 0 ? (int)-r : EIO);
		off += BLK;
		if ((size_t)off >= span)
			off = 0;
	}
	return (now_ns() - t0) / n;
}

/* Mean ns per memcpy of BLK from src over the same walk. */
static double time_copies(const char *src, void *buf, size_t span, unsigned n)
{
	size_t off = 0;
	double t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		memcpy(buf, src + off, BLK);
		/* the copy must happen: the compiler may not drop it */
		__asm__ volatile("" : : "r"(buf) : "memory");
		off += BLK;
		if (off >= span)
			off = 0;
	}
	return (now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void measure(const char *iface, const char *pattern, read_fn fn, void *ctx,
		    const char *src, size_t span, unsigned n)
{
	double rd[ROUNDS], cp[ROUNDS], diff[ROUNDS];
	void *buf;

	if (posix_memalign(&buf, BLK, BLK))
		fail("posix_memalign", ENOMEM);
	time_reads(fn, ctx, buf, span, n / 4); /* warm up both paths */
	time_copies(src, buf, span, n / 4);
	for (int r = 0; r < ROUNDS; r++) {
		rd[r] = time_reads(fn, ctx, buf, span, n);
		cp[r] = time_copies(src, buf, span, n);
		diff[r] = rd[r] - cp[r];
	}
	printf("%s,%s,%.1f,%.1f,%.1f\n", iface, pattern, median(rd, ROUNDS), median(cp, ROUNDS),
	       median(diff, ROUNDS));
	fflush(stdout);
	free(buf);
}

/* A read-only MAP_POPULATE mapping of a whole file (the memcpy source). */
static const char *map_backing(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail(path, errno);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap backing file", errno);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* The source region of the pool: WSET bytes from the middle of the pool, so
 * that it is neither the superblock nor past the end. */
static const char *pool_region(const char *pool)
{
	size_t len;
	const char *p = map_backing(pool, &len);

	if (len < 2 * (size_t)WSET)
		fail("pool smaller than 128 MiB", EINVAL);
	return p + (len / 2 & ~((size_t)(2u << 20) - 1));
}

static void fill(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 7 + 1);
}

static int run_api(const char *pool)
{
	struct umfs_fs *fs;
	struct umfs_file *f;
	char *chunk = malloc(1u << 20);
	const char *src;
	int err;

	err = umfs_mount(pool, 0, &fs);
	if (err) {
		fprintf(stderr, "pread_overhead: mount %s: %s\n", pool, umfs_mount_error());
		return 1;
	}
	err = umfs_open(fs, "/overhead", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);
	if (err)
		fail("umfs_open", -err);
	fill(chunk, 1u << 20);
	for (size_t off = 0; off < WSET; off += 1u << 20)
		if (umfs_pwrite(f, chunk, 1u << 20, (off_t)off) != 1 << 20)
			fail("umfs_pwrite", EIO);
	src = pool_region(pool);
	measure("api", "hot", api_read, f, src, BLK, 1u << 19);
	measure("api", "seq", api_read, f, src, WSET, 1u << 17);
	umfs_close(f);
	umfs_unlink(fs, "/overhead");
	umfs_unmount(fs);
	free(chunk);
	return 0;
}

static int run_posix(const char *iface, const char *file, const char *backing)
{
	char *chunk = malloc(1u << 20);
	const char *src;
	size_t len;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		fail(file, errno);
	fill(chunk, 1u << 20);
	for (size_t off = 0; off < WSET; off += 1u << 20)
		if (pwrite(fd, chunk, 1u << 20, (off_t)off) != 1 << 20)
			fail("pwrite", errno);
	fsync(fd);
	if (strcmp(file, backing) == 0) {
		src = map_backing(backing, &len); /* a kernel file: copy from itself */
	} else {
		src = pool_region(backing);
	}
	measure(iface, "hot", posix_read, &fd, src, BLK, 1u << 19);
	measure(iface, "seq", posix_read, &fd, src, WSET, 1u << 17);
	close(fd);
	unlink(file);
	free(chunk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "api") == 0)
		return run_api(argv[2]);
	if (argc == 5 && strcmp(argv[1], "posix") == 0)
		return run_posix(argv[4], argv[2], argv[3]);
	fprintf(stderr, "usage: pread_overhead api POOL\n"
			"       pread_overhead posix FILE BACKING LABEL\n");
	return 2;
}
