/* SPDX-License-Identifier: MIT */
/*
 * overwrite_bench.c - the cost of strict mode on overwrites.
 *
 * Writes a 256 MiB file, then times N random page-aligned overwrites of
 * 4 KiB in strict mode and in relaxed mode (the same pool, mounted with
 * UMFS_MOUNT_STRICT, then UMFS_MOUNT_RELAXED) and prints the ratio. -b adds
 * other sizes (unaligned) to see where strict mode moves from U-Log byte
 * records to copy-on-write.
 *
 *   overwrite_bench [-n N] [-p POOL] [-b SIZE]...
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h" /* the pool is formatted through the core, as mkfs.umfs does */

#define FILE_SIZE (256ull << 20)
#define POOL_SIZE (320ull << 20)

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

/* Mean nanoseconds per overwrite of len bytes (aligned to 4 KiB if len is
 * a page multiple). */
static double run(const char *pool, unsigned flags, size_t len, unsigned n, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	struct umfs_file *f;
	struct umfs_fs *fs;
	double t0, dt;

	memset(buf, (int)seed, len);
	if (umfs_mount(pool, flags, &fs) || umfs_open(fs, "/big", O_RDWR, 0, &f)) {
		fprintf(stderr, "bench: mount/open failed: %s\n", umfs_mount_error());
		exit(1);
	}
	if (getenv("UMFS_BENCH_ULOG_MAX")) /* where byte records give way to copy-on-write */
		fs->ulog_max = strtoull(getenv("UMFS_BENCH_ULOG_MAX"), NULL, 0);
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = xrand(&seed) % (FILE_SIZE - len);

		if (len % 4096 == 0)
			off &= ~4095ull;
		if (umfs_pwrite(f, buf, len, (off_t)off) != (ssize_t)len) {
			fprintf(stderr, "bench: pwrite failed\n");
			exit(1);
		}
	}
	dt = now() - t0;
	umfs_close(f);
	umfs_unmount(fs);
	free(buf);
	return dt * 1e9 / n;
}

int main(int argc, char **argv)
{
	const char *pool = "/dev/shm/umfs-overwrite-bench.pool";
	size_t sizes[16] = { 4096 };
	unsigned n = 200000, nsizes = 1;
	uint8_t *chunk = calloc(1, 1 << 20);
	struct umfs_file *f;
	struct umfs_fs *fs;
	int c;

	while ((c = getopt(argc, argv, "n:p:b:")) != -1) {
		if (c == 'n')
			n = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 'p')
			pool = optarg;
		else if (c == 'b' && nsizes < 16)
			sizes[nsizes++] = strtoul(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: overwrite_bench [-n N] [-p POOL] [-b SIZE]...\n");
			return 2;
		}
	}
	/* a fresh pool with the file written once */
	{
		struct umfs_format_opts opts = { .label = "bench" };
		struct umfs_pmem pm;

		unlink(pool);
		if (umfs_pmem_map(pool, POOL_SIZE, false, &pm) || umfs_format(&pm, &opts, NULL)) {
			fprintf(stderr, "bench: cannot make %s\n", pool);
			return 1;
		}
		umfs_pmem_unmap(&pm);
	}
	if (umfs_mount(pool, 0, &fs) || umfs_open(fs, "/big", O_CREAT | O_RDWR, 0644, &f)) {
		fprintf(stderr, "bench: cannot set up: %s\n", umfs_mount_error());
		return 1;
	}
	for (uint64_t off = 0; off < FILE_SIZE; off += 1 << 20)
		if (umfs_pwrite(f, chunk, 1 << 20, (off_t)off) != 1 << 20)
			return 1;
	umfs_close(f);
	umfs_unmount(fs);

	for (unsigned i = 0; i < nsizes; i++) {
		size_t len = sizes[i];
		unsigned k = len > 65536 ? n / 16 : n;
		double strict, relaxed;

		run(pool, UMFS_MOUNT_STRICT, len, k / 10 + 1, 7); /* warm up */
		strict = run(pool, UMFS_MOUNT_STRICT, len, k, 1);
		relaxed = run(pool, UMFS_MOUNT_RELAXED, len, k, 2);
		printf("overwrite %7zu bytes x %u: strict %8.0f ns, relaxed %8.0f ns, "
		       "strict/relaxed %.2f\n",
		       len, k, strict, relaxed, strict / relaxed);
	}
	unlink(pool);
	free(chunk);
	return 0;
}
