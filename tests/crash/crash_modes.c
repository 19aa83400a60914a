/* SPDX-License-Identifier: MIT */
/*
 * crash_modes.c - how the consistency mode is chosen: a mount flag, then
 * UMFS_CONSISTENCY, then the pool's default (mkfs.umfs -O relaxed); and
 * that relaxed and strict mode keep the same data for the same writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_lib.h"

static int failures;

#define EXPECT(cond)                                                                    \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "FAIL: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                     \
		}                                                                       \
	} while (0)

/* Mounts with flags and env, returns the mode (or -errno). */
static long mode_of(const char *pool, unsigned flags, const char *env)
{
	struct umfs_fs *fs;
	long mode;
	int err;

	if (env)
		setenv("UMFS_CONSISTENCY", env, 1);
	else
		unsetenv("UMFS_CONSISTENCY");
	err = umfs_mount(pool, flags, &fs);
	if (err)
		return err;
	mode = umfs_consistency(fs);
	umfs_unmount(fs);
	return mode;
}

/* The same mixed writes in both modes give the same file. */
static uint32_t workload_crc(const char *pool, unsigned flags)
{
	static uint8_t buf[300 << 10], out[1 << 20];
	struct umfs_file *f;
	struct umfs_fs *fs;
	uint64_t rnd = 42;
	struct stat st;

	if (umfs_mount(pool, flags, &fs) ||
	    umfs_open(fs, "/w", O_CREAT | O_TRUNC | O_RDWR, 0644, &f))
		return 0;
	for (int i = 0; i < 300; i++) {
		size_t len = 1 + xrand(&rnd) % (i % 10 ? 9000 : sizeof(buf));
		uint64_t off = xrand(&rnd) % (600 << 10);

		fill_pattern(buf, len, (uint64_t)i);
		if (umfs_pwrite(f, buf, len, (off_t)off) != (ssize_t)len)
			failures++;
		if (i % 37 == 0)
			umfs_ftruncate(f, (off_t)(xrand(&rnd) % (700 << 10)));
	}
	umfs_fstat(f, &st);
	umfs_pread(f, out, (size_t)st.st_size, 0);
	umfs_close(f);
	umfs_unmount(fs);
	return umfs_crc32c(0, out, (size_t)st.st_size) ^ (uint32_t)st.st_size;
}

int main(void)
{
	char strict[256], relaxed[256];

	if (pool_create(strict, sizeof(strict), "modes", 16 << 20, 0) ||
	    pool_create(relaxed, sizeof(relaxed), "modes", 16 << 20, UMFS_SBF_RELAXED))
		return 2;
	EXPECT(mode_of(strict, 0, NULL) == UMFS_MOUNT_STRICT);
	EXPECT(mode_of(relaxed, 0, NULL) == UMFS_MOUNT_RELAXED);
	EXPECT(mode_of(strict, 0, "relaxed") == UMFS_MOUNT_RELAXED);
	EXPECT(mode_of(relaxed, 0, "strict") == UMFS_MOUNT_STRICT);
	EXPECT(mode_of(relaxed, UMFS_MOUNT_STRICT, "relaxed") == UMFS_MOUNT_STRICT);
	EXPECT(mode_of(strict, UMFS_MOUNT_RELAXED, "strict") == UMFS_MOUNT_RELAXED);
	EXPECT(mode_of(strict, 0, "") == UMFS_MOUNT_STRICT);
	EXPECT(mode_of(strict, 0, "fast") == -EINVAL);
	EXPECT(mode_of(strict, UMFS_MOUNT_STRICT | UMFS_MOUNT_RELAXED, NULL) == -EINVAL);
	unsetenv("UMFS_CONSISTENCY");
	EXPECT(workload_crc(strict, 0) == workload_crc(relaxed, 0));
	unlink(strict);
	unlink(relaxed);
	printf("modes: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
