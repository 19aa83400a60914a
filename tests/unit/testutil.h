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
#include "umfs_tools.h"

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

/* Formats a pool of size bytes with opts and mounts it. */
static inline int test_pool_make_opts(struct test_pool *tp, const char *tag, uint64_t size,
				      const struct umfs_format_opts *opts)
{
	struct umfs_pmem pm;
	int err;

	test_pool_path(tp, tag);
	unlink(tp->path);
	err = umfs_pmem_map(tp->path, size, false, &pm);
	if (err)
		return err;
	err = umfs_format(&pm, opts, NULL);
	umfs_pmem_unmap(&pm);
	if (err)
		return err;
	return umfs_mount(tp->path, 0, &tp->fs);
}

/* Formats a pool of size bytes with inodes inodes (0: default) and mounts it. */
static inline int test_pool_make(struct test_pool *tp, const char *tag, uint64_t size,
				 uint64_t inodes)
{
	const struct umfs_format_opts opts = { .inode_count = inodes, .label = "test" };

	return test_pool_make_opts(tp, tag, size, &opts);
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
	uint8_t uuid[16];

	if (tp->fs)
		umfs_unmount(tp->fs);
	tp->fs = NULL;
	/* the runtime directory its shared mounts left for the next user */
	if (umfs_pool_uuid(tp->path, uuid) == 0)
		(void)umfs_rundir_sweep(uuid, 0, NULL, NULL);
	unlink(tp->path);
}

/* Teardown of a test's pool, also after a failed assertion left it behind. */
static inline void test_pool_reset(struct test_pool *tp)
{
	if (tp->path[0])
		test_pool_destroy(tp);
	memset(tp, 0, sizeof(*tp));
}

/* A transaction under meta_lock, as core callers run them. */
static inline void test_tx_open(struct umfs_fs *fs)
{
	umfs_meta_lock(fs);
	assert_int_equal(umfs_tx_begin(fs), 0);
}

static inline void test_tx_close(struct umfs_fs *fs)
{
	assert_int_equal(umfs_tx_commit(fs), 0);
	umfs_meta_unlock(fs);
}

/* A fresh inode of the given mode in the root directory's care (no name). */
static inline uint64_t test_inode_make(struct umfs_fs *fs, mode_t mode)
{
	uint64_t ino;

	test_tx_open(fs);
	assert_int_equal(umfs_inode_create(fs, mode, 0, 0, 0, UMFS_ROOT_INO, &ino), 0);
	test_tx_close(fs);
	return ino;
}

/* True when the len bytes at p are all zero. */
static inline bool test_all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
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
