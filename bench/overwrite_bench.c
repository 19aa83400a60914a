/* SPDX-License-Identifier: MIT */
/*
 * overwrite_bench.c - the cost of strict mode on overwrites.
 *
 * Writes a file (256 MiB, -s), then times N random page-aligned overwrites
 * of 4 KiB in strict mode and in relaxed mode (the same pool, mounted with
 * UMFS_MOUNT_STRICT, then UMFS_MOUNT_RELAXED) and prints the ratio. Where
 * the core swaps whole pages (U-Log PAGE records), strict mode is also
 * timed with them off: the undo path, whose byte record copies the old
 * page. -b adds other sizes (unaligned) to see where strict mode moves from
 * U-Log byte records to copy-on-write. -f prints the floors measured in the
 * same run on a file of the same size beside the pool: a 4 KiB memcpy to a
 * random page, and a durable copy (the same, each line flushed, a fence).
 * -m times one mode alone (strict, undo or relaxed), for a profiler. -c
 * prints the 4 KiB figures as CSV lines mode,ns (strict, undo, relaxed),
 * for bench/floor.sh.
 *
 *   overwrite_bench [-n N] [-p POOL] [-s FILE_SIZE] [-f] [-m MODE] [-b SIZE]... [-c]
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "umfs_tools.h" /* the pool is formatted through the core, as mkfs.umfs does */

static uint64_t file_size = 256ull << 20;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xrand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* n overwrites of len bytes at random offsets (page-aligned if len is a
 * page multiple). */
static void overwrite(struct umfs_file *f, const uint8_t *buf, size_t len, unsigned n,
		      uint64_t *seed)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = xrand(seed) % (file_size - len);

		if (len % 4096 == 0)
			off &= ~4095ull;
		if (umfs_pwrite(f, buf, len, (off_t)off) != (ssize_t)len) {
			fprintf(stderr, "bench: pwrite failed\n");
			exit(1);
		}
	}
}

/* Mean nanoseconds per overwrite of len bytes, in steady state: on pages
 * this process has written to, as the floors' are. A page's first store
 * in a process costs more than the copy where the VM's host maps it (1-3
 * us here; pages made present with MADV_POPULATE_WRITE, or stored to
 * before the floors' files were touched, were as slow), and 200,000
 * overwrites of a 256 MiB file meet 62,000 of its 65,536 pages. So the
 * pool stays mapped across runs and each run first stores to every page
 * of it, then makes a tenth as many overwrites as it times, untimed. */
static double run(struct umfs_pmem *pm, unsigned flags, size_t len, unsigned n, uint64_t seed,
		  bool swap)
{
	uint8_t *buf = malloc(len);
	uint64_t warm_seed = seed ^ 0x9e3779b97f4a7c15ull;
	struct umfs_file *f;
	struct umfs_fs *fs;
	double t0, dt;

	memset(buf, (int)seed, len);
	for (size_t pos = 0; pos < pm->len; pos += 4096) /* stores, changing no byte */
		__atomic_fetch_or((uint64_t *)(pm->base + pos), 0, __ATOMIC_RELAXED);
	if (umfs_fs_bind(pm, flags, &fs) || umfs_open(fs, "/big", O_RDWR, 0, &f)) {
		fprintf(stderr, "bench: mount/open failed: %s\n", umfs_mount_error());
		exit(1);
	}
	/* where byte records give way to copy-on-write; the core's default
	 * unless UMFS_BENCH_ULOG_MAX says */
	umfs_fs_set_overwrite(fs, getenv("UMFS_BENCH_ULOG_MAX")
					  ? strtoull(getenv("UMFS_BENCH_ULOG_MAX"), NULL, 0)
					  : UMFS_ULOG_BYTES_DEFAULT, swap);
	overwrite(f, buf, len, n / 10 + 1, &warm_seed);
	t0 = now();
	overwrite(f, buf, len, n, &seed);
	dt = now() - t0;
	umfs_close(f);
	umfs_unmount(fs);
	free(buf);
	return dt * 1e9 / n;
}

/* A size with an optional K, M or G. */
static uint64_t size_arg(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': return v << 30;
	case 'M': return v << 20;
	case 'K': return v << 10;
	default: return v;
	}
}

/* Mean nanoseconds per 4 KiB copy to a random page of a file of file_size
 * beside the pool, plain (durable false) or durable: every line flushed,
 * then a fence, as persist.c does it. */
static double floor_copy(const char *pool, unsigned n, bool durable)
{
	char path[512];
	uint8_t *map, buf[4096];
	uint64_t seed = 3;
	double t0, dt;
	int fd;

	memset(buf, 0x5a, sizeof(buf));
	snprintf(path, sizeof(path), "%s.floor", pool);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)file_size))
		exit(1);
	map = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		exit(1);
	for (uint64_t off = 0; off < file_size; off += 4096) /* every page present */
		map[off] = 1;
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		uint8_t *dst = map + (xrand(&seed) % file_size & ~4095ull);

		memcpy(dst, buf, sizeof(buf));
		if (durable) {
			umfs_flush(dst, sizeof(buf));
			umfs_drain();
		}
	}
	dt = now() - t0;
	munmap(map, file_size);
	close(fd);
	unlink(path);
	return dt * 1e9 / n;
}

int main(int argc, char **argv)
{
	const char *pool = "/dev/shm/umfs-overwrite-bench.pool";
	size_t sizes[16] = { 4096 };
	unsigned n = 200000, nsizes = 1;
	bool floors = false, csv = false;
	const char *only = NULL;
	struct umfs_pmem pm;
	uint8_t *chunk = calloc(1, 1 << 20);
	struct umfs_file *f;
	struct umfs_fs *fs;
	int c;

	while ((c = getopt(argc, argv, "n:p:s:fm:b:c")) != -1) {
		if (c == 'n')
			n = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 'p')
			pool = optarg;
		else if (c == 's')
			file_size = size_arg(optarg) & ~((1ull << 20) - 1);
		else if (c == 'f')
			floors = true;
		else if (c == 'm' && (!strcmp(optarg, "strict") || !strcmp(optarg, "undo") ||
				      !strcmp(optarg, "relaxed")))
			only = optarg;
		else if (c == 'b' && nsizes < 16)
			sizes[nsizes++] = strtoul(optarg, NULL, 0);
		else if (c == 'c')
			csv = true;
		else {
			fprintf(stderr, "usage: overwrite_bench [-n N] [-p POOL] [-s FILE_SIZE] [-f] "
					"[-m strict|undo|relaxed] [-b SIZE]... [-c]\n");
			return 2;
		}
	}
	/* a fresh pool with the file written once */
	{
		struct umfs_format_opts opts = { .label = "bench" };

		unlink(pool);
		if (file_size < (1ull << 20) ||
		    umfs_pmem_map(pool, file_size + file_size / 4 + (64ull << 20), false, &pm) ||
		    umfs_format(&pm, &opts, NULL)) {
			fprintf(stderr, "bench: cannot make %s\n", pool);
			return 1;
		}
		umfs_pmem_unmap(&pm);
	}
	if (umfs_mount(pool, 0, &fs) || umfs_open(fs, "/big", O_CREAT | O_RDWR, 0644, &f)) {
		fprintf(stderr, "bench: cannot set up: %s\n", umfs_mount_error());
		return 1;
	}
	for (uint64_t off = 0; off < file_size; off += 1 << 20)
		if (umfs_pwrite(f, chunk, 1 << 20, (off_t)off) != 1 << 20)
			return 1;
	umfs_close(f);
	umfs_unmount(fs);

	if (umfs_pmem_map(pool, 0, false, &pm)) {
		fprintf(stderr, "bench: cannot map %s\n", pool);
		return 1;
	}
	if (csv) { /* 4 KiB only, every mode */
		only = NULL;
		floors = false;
		nsizes = 1;
	}
	if (floors)
		printf("floor 4096 bytes x %u: memcpy %.0f ns, durable copy %.0f ns\n", n,
		       floor_copy(pool, n, false), floor_copy(pool, n, true));
	for (unsigned i = 0; i < nsizes; i++) {
		size_t len = sizes[i];
		unsigned k = len > 65536 ? n / 16 : n;
		double strict, undo, relaxed;

		if (only) {
			bool strict_mode = strcmp(only, "relaxed") != 0;

			printf("overwrite %7zu bytes x %u: %s %8.0f ns\n", len, k, only,
			       run(&pm, strict_mode ? UMFS_MOUNT_STRICT : UMFS_MOUNT_RELAXED, len, k,
				   1, strcmp(only, "undo") != 0));
			continue;
		}
		strict = run(&pm, UMFS_MOUNT_STRICT, len, k, 1, true);
		undo = run(&pm, UMFS_MOUNT_STRICT, len, k, 4, false);
		relaxed = run(&pm, UMFS_MOUNT_RELAXED, len, k, 2, true);
		if (csv) {
			printf("strict,%.1f\nundo,%.1f\nrelaxed,%.1f\n", strict, undo, relaxed);
			continue;
		}
		printf("overwrite %7zu bytes x %u: strict %8.0f ns, strict undo path %8.0f ns, "
		       "relaxed %8.0f ns, strict/relaxed %.2f\n",
		       len, k, strict, undo, relaxed, strict / relaxed);
	}
	umfs_pmem_unmap(&pm);
	unlink(pool);
	free(chunk);
	return 0;
}
