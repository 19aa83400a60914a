/* SPDX-License-Identifier: MIT */
/*
 * floor.c - what a 4 KiB write or read cannot cost less than, on memory a
 * file system keeps its data in, and the touching of that memory beforehand.
 *
 *   floor touch FILE         write-touch every 4 KiB of FILE through a
 *                            shared mapping (each byte read and written
 *                            back unchanged), so that its pages are
 *                            allocated and cleared now, as persistent
 *                            memory is, and not at a measured first write
 *   floor run FILE SPAN_MB [ROUNDS]
 *                            make FILE (SPAN_MB plus 1 MiB of undo area),
 *                            allocate and touch it, then time per 4 KiB:
 *
 *   memcpy    memcpy into the mapping: what a kernel tmpfs write copies;
 *   durable   the copy UMFS makes durable: umfs_cpu_memcpy_nodrain (the
 *             core's own routine of libumfs.so, cpuflush_isa.c: non-temporal
 *             stores for whole lines) and one sfence;
 *   clwb      memcpy, a write-back of each line (clwb, else clflushopt, else
 *             clflush, as the core chooses) and one sfence;
 *   undo      the old 4 KiB copied durably into an undo area and fenced,
 *             then the new 4 KiB copied durably and fenced: two fences, the
 *             least an undo-logged overwrite does;
 *   read      memcpy out of the mapping into one 4 KiB buffer in cache: the
 *             copy every 4 KiB read makes, whoever serves it.
 *
 * over two patterns: "rand", 4 KiB-aligned random offsets in SPAN_MB (as
 * fio's random overwrite), and "seq", consecutive 4 KiB blocks wrapping
 * round SPAN_MB (as an append). The source is one 4 KiB buffer in cache.
 * Output, one CSV line per op and pattern: op,pattern,ns (the median over
 * ROUNDS rounds of the mean ns per 4 KiB of a round of about 0.1 s).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpuflush.h"

#define BLK 4096u
#define UNDO (1u << 20) /* the undo area, at the file's start */
#define MAX_ROUNDS 31

enum op { OP_MEMCPY, OP_DURABLE, OP_CLWB, OP_UNDO, OP_READ, OP_N };
static const char *const op_names[OP_N] = { "memcpy", "durable", "clwb", "undo", "read" };
static uint8_t sink[BLK] __attribute__((aligned(64))); /* where a read copies to */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t xrand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* Maps FILE shared, read-write, whole; its size in *len. */
static uint8_t *map_file(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDWR);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	close(fd);
	return p;
}

/* Every 4 KiB of the mapping read and written back unchanged: the page is
 * allocated (if it was not) and cleared now. Safe on a pool no process has
 * mounted: no byte changes. */
static void touch(uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += BLK) {
		volatile uint8_t *b = p + off;

		*b = *b;
	}
}

static void one(enum op op, uint8_t *dst, uint8_t *undo, const uint8_t *src)
{
	switch (op) {
	case OP_MEMCPY:
		memcpy(dst, src, BLK);
		break;
	case OP_DURABLE:
		umfs_cpu_memcpy_nodrain(dst, src, BLK);
		umfs_cpu_drain();
		break;
	case OP_CLWB:
		memcpy(dst, src, BLK);
		umfs_cpu_flush(dst, BLK);
		umfs_cpu_drain();
		break;
	case OP_READ:
		memcpy(sink, dst, BLK);
		__asm__ volatile("" ::"r"(sink) : "memory");
		return;
	default:
		umfs_cpu_memcpy_nodrain(undo, dst, BLK);
		umfs_cpu_drain();
		umfs_cpu_memcpy_nodrain(dst, src, BLK);
		umfs_cpu_drain();
	}
	/* the compiler must not drop the stores of a plain memcpy */
	__asm__ volatile("" ::"r"(dst) : "memory");
}

/* Mean ns per 4 KiB over n operations. */
static double round_ns(enum op op, int rnd, uint8_t *base, size_t span, const uint8_t *src,
		       unsigned n, uint64_t *seed, size_t *pos)
{
	size_t blocks = span / BLK;
	double t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		size_t b = rnd ? (size_t)(xrand(seed) % blocks) : (*pos)++ % blocks;

		one(op, base + UNDO + b * BLK, base + ((b * BLK) % UNDO), src);
	}
	return (now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int run(const char *path, size_t span, int rounds)
{
	uint8_t *src = aligned_alloc(64, BLK), *base;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	size_t len, pos = 0;
	int fd;

	memset(src, 0x5a, BLK);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		die(path);
	/* allocated up front, as mkfs.umfs allocates a pool */
	errno = posix_fallocate(fd, 0, (off_t)(span + UNDO));
	if (errno)
		die("posix_fallocate");
	close(fd);
	base = map_file(path, &len);
	touch(base, len);
	for (int rnd = 1; rnd >= 0; rnd--) {
		for (enum op op = 0; op < OP_N; op++) {
			double ns[MAX_ROUNDS];
			/* about 0.1 s a round, from a short calibration */
			double t = round_ns(op, rnd, base, span, src, 2000, &seed, &pos);
			unsigned n = (unsigned)(1e8 / (t > 1 ? t : 1));

			if (n < 1000)
				n = 1000;
			for (int r = 0; r < rounds; r++)
				ns[r] = round_ns(op, rnd, base, span, src, n, &seed, &pos);
			qsort(ns, (size_t)rounds, sizeof(ns[0]), cmp_double);
			printf("%s,%s,%.1f\n", op_names[op], rnd ? "rand" : "seq", ns[rounds / 2]);
		}
	}
	munmap(base, len);
	free(src);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "touch")) {
		size_t len;
		uint8_t *p = map_file(argv[2], &len);
		double t0 = now_ns();

		touch(p, len);
		fprintf(stderr, "floor: touched %zu MiB of %s in %.2f s\n", len >> 20, argv[2],
			(now_ns() - t0) / 1e9);
		munmap(p, len);
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "run")) {
		size_t mb = strtoul(argv[3], NULL, 10);
		int rounds = argc == 5 ? atoi(argv[4]) : 5;

		if (mb < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
			fprintf(stderr, "floor: SPAN_MB >= 1, 1 <= ROUNDS <= %d\n", MAX_ROUNDS);
			return 2;
		}
		return run(argv[2], mb << 20, rounds);
	}
	fprintf(stderr, "usage: floor touch FILE | floor run FILE SPAN_MB [ROUNDS]\n");
	return 2;
}
