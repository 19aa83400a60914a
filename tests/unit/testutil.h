/* SPDX-License-Identifier: MIT */
/* testutil.h - shared helpers for the cmocka unit tests: scratch pools on /dev/shm. */
#ifndef UMFS_TESTUTIL_H
#define UMFS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"

/* A scratch pool file, formatted and mounted; removed at teardown. */
struct test_pool {
	char path[256];
	struct umfs_fs *fs;
};

static inline void test_pool_path(struct test_pool *tp, const char *tag)
{
	const char *dir = getenv("UMFS_TEST_DIR");
	static unsigned counter;

	snprintf(tp->path, sizeof(tp->path), "%s/umfs-test-%s-%d-%u.pool", dir ? dir : "/dev/shm",
		 tag, (int)getpid(), counter++);
}

/* Formats a pool of size bytes with inodes inodes (0: default) and mounts it. */
static inline int test_pool_make(struct test_pool *tp, const char *tag, uint64_t size,
				 uint64_t inodes)
{
	struct umfs_format_opts opts = { .inode_count = inodes, .label = "test" };
	struct umfs_pmem pm;
	int err;

	test_pool_path(tp, tag);
	unlink(tp->path);
	err = umfs_pmem_map(tp->path, size, false, &pm);
	if (err)
		return err;
	err = umfs_format(&pm, &opts, NULL);
	umfs_pmem_unmap(&pm);
	if (err)
		return err;
	return umfs_mount(tp->path, 0, &tp->fs);
}

static inline int test_pool_remount(struct test_pool *tp)
{
	int err = umfs_unmount(tp->fs);

	tp->fs = NULL;
	if (err)
		return err;
	return umfs_mount(tp->path, 0, &tp->fs);
}

static inline void test_pool_destroy(struct test_pool *tp)
{
	if (tp->fs)
		umfs_unmount(tp->fs);
	tp->fs = NULL;
	unlink(tp->path);
}

/* Deterministic pseudo-random bytes (xorshift64*), so failures reproduce. */
static inline uint64_t test_rand_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static inline void test_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(test_rand_next(&s) >> 56);
}

#endif
