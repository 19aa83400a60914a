/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the public API of include/umfs.h, one behaviour per test,
 * error paths included.
 *
 * The expected values are what Linux gives on a local file system (tmpfs,
 * ext4): the LD_PRELOAD shim and the FUSE daemon hand these results to
 * unmodified programs, which rely on Linux's errno choices. Where POSIX
 * allows two answers and Linux picks one, the comment says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "testutil.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static const char *err_name(long long v)
{
	const char *n;

	if (v >= 0)
		return "ok";
	n = strerrorname_np((int)-v);
	return n ? n : "unknown errno";
}

/* Asserts that expr returns want, naming both errnos when it does not. */
#define CHECK(expr, want)                                                              \
	do {                                                                           \
		long long got_ = (long long)(expr);                                    \
		long long want_ = (long long)(want);                                   \
		if (got_ != want_)                                                     \
			fail_msg("%s:%d: %s = %lld (%s), want %lld (%s)", __FILE__,    \
				 __LINE__, #expr, got_, err_name(got_), want_,         \
				 err_name(want_));                                     \
	} while (0)

/* For the few cases where POSIX and Linux give different errnos. */
#define CHECK_ONE_OF(expr, want1, want2)                                               \
	do {                                                                           \
		long long got_ = (long long)(expr);                                    \
		if (got_ != (want1) && got_ != (want2))                                \
			fail_msg("%s:%d: %s = %lld (%s), want %s or %s", __FILE__,     \
				 __LINE__, #expr, got_, err_name(got_), err_name(want1), \
				 err_name(want2));                                     \
	} while (0)

static struct umfs_fs *pool_fs(void **state)
{
	return ((struct test_pool *)*state)->fs;
}

static struct test_pool *pool_of(void **state)
{
	return *state;
}

static int pool_make_sized(void **state, const char *tag, uint64_t size, uint64_t inodes)
{
	struct test_pool *tp = calloc(1, sizeof(*tp));

	if (!tp)
		return -1;
	if (test_pool_make(tp, tag, size, inodes)) {
		unlink(tp->path);
		free(tp);
		return -1;
	}
	*state = tp;
	return 0;
}

/* The default scratch pool: 64 MiB, default inode count. */
static int pool_setup(void **state)
{
	return pool_make_sized(state, "api", 64 * MiB, 0);
}

static int pool_teardown(void **state)
{
	struct test_pool *tp = *state;

	umfs_cred_set_thread(NULL);
	if (tp) {
		test_pool_destroy(tp);
		free(tp);
	}
	return 0;
}

static struct umfs_file *open_ok(struct umfs_fs *fs, const char *path, int flags, mode_t mode)
{
	struct umfs_file *f = NULL;

	CHECK(umfs_open(fs, path, flags, mode, &f), 0);
	assert_non_null(f);
	return f;
}

/* Returns the error of an open that is expected to fail (0 if it did not). */
static int open_err(struct umfs_fs *fs, const char *path, int flags)
{
	struct umfs_file *f = NULL;
	int err = umfs_open(fs, path, flags, 0644, &f);

	if (err == 0) {
		umfs_close(f);
		return 0;
	}
	return err;
}

static void put_file(struct umfs_fs *fs, const char *path, const void *data, size_t len,
		     mode_t mode)
{
	struct umfs_file *f = open_ok(fs, path, O_CREAT | O_TRUNC | O_WRONLY, mode);

	CHECK(umfs_write(f, data, len), len);
	CHECK(umfs_close(f), 0);
}

static void put_str(struct umfs_fs *fs, const char *path, const char *s)
{
	put_file(fs, path, s, strlen(s), 0644);
}

/* Asserts that path holds exactly len bytes equal to data. */
static void expect_content(struct umfs_fs *fs, const char *path, const void *data, size_t len)
{
	struct umfs_file *f = open_ok(fs, path, O_RDONLY, 0);
	uint8_t *buf = malloc(len + 16);
	struct stat st;

	assert_non_null(buf);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_size, len);
	CHECK(umfs_pread(f, buf, len + 16, 0), len);
	if (memcmp(buf, data, len) != 0)
		fail_msg("%s: content differs", path);
	free(buf);
	CHECK(umfs_close(f), 0);
}

static void expect_str(struct umfs_fs *fs, const char *path, const char *s)
{
	expect_content(fs, path, s, strlen(s));
}

static struct stat stat_ok(struct umfs_fs *fs, const char *path)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	CHECK(umfs_stat(fs, path, &st, 0), 0);
	return st;
}

static struct stat lstat_ok(struct umfs_fs *fs, const char *path)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	CHECK(umfs_stat(fs, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st;
}

static struct statvfs statfs_ok(struct umfs_fs *fs)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	CHECK(umfs_statfs(fs, &sv), 0);
	return sv;
}

/* Free pages, counting those the root directory holds as free: a directory
 * keeps the entry blocks it grew, so tests that create and then remove
 * names in the root compare this rather than f_bfree. */
static uint64_t free_pages(struct umfs_fs *fs)
{
	return statfs_ok(fs).f_bfree + (uint64_t)stat_ok(fs, "/").st_blocks / 8;
}

static int64_t ts_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts);
}

/* Long enough for a coarse clock to tick, so that "time moved" is visible. */
static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* A directory listing read with umfs_readdir. */
struct dlist {
	size_t n, cap;
	struct umfs_dirent *ent;
};

static void list_dir(struct umfs_fs *fs, const char *path, struct dlist *dl)
{
	struct umfs_dir *d = NULL;
	struct umfs_dirent ent;
	int ret;

	dl->n = 0;
	CHECK(umfs_opendir(fs, path, &d), 0);
	while ((ret = umfs_readdir(d, &ent)) == 1) {
		if (dl->n == dl->cap) {
			dl->cap = dl->cap ? dl->cap * 2 : 64;
			dl->ent = realloc(dl->ent, dl->cap * sizeof(*dl->ent));
			assert_non_null(dl->ent);
		}
		dl->ent[dl->n++] = ent;
	}
	CHECK(ret, 0);
	CHECK(umfs_closedir(d), 0);
}

static void dl_free(struct dlist *dl)
{
	free(dl->ent);
	memset(dl, 0, sizeof(*dl));
}

/* Number of times name appears in the listing. */
static int dl_count(const struct dlist *dl, const char *name)
{
	int c = 0;

	for (size_t i = 0; i < dl->n; i++)
		c += strcmp(dl->ent[i].name, name) == 0;
	return c;
}

static const struct umfs_dirent *dl_find(const struct dlist *dl, const char *name)
{
	for (size_t i = 0; i < dl->n; i++)
		if (strcmp(dl->ent[i].name, name) == 0)
			return &dl->ent[i];
	return NULL;
}

/* Asserts that the listing is exactly ".", ".." and names[0..n), each once. */
static void dl_expect(const struct dlist *dl, const char *const *names, size_t n)
{
	CHECK(dl_count(dl, "."), 1);
	CHECK(dl_count(dl, ".."), 1);
	for (size_t i = 0; i < n; i++)
		if (dl_count(dl, names[i]) != 1)
			fail_msg("entry %s seen %d times", names[i], dl_count(dl, names[i]));
	CHECK(dl->n, n + 2);
}

static char *long_name(size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memset(s, 'n', len);
	s[len] = '\0';
	return s;
}

/* ------------------------------------------------------------------ */
/* Mount and the root                                                    */
/* ------------------------------------------------------------------ */

static void test_root(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat root = stat_ok(fs, "/");
	struct stat st;
	struct dlist dl = { 0 };

	assert_true(S_ISDIR(root.st_mode));
	CHECK(root.st_nlink, 2);
	CHECK(root.st_uid, 0);
	/* "" and "/" and "." and "/.." all name the root */
	st = stat_ok(fs, ".");
	CHECK(st.st_ino, root.st_ino);
	st = stat_ok(fs, "/..");
	CHECK(st.st_ino, root.st_ino);
	st = stat_ok(fs, "//./");
	CHECK(st.st_ino, root.st_ino);

	list_dir(fs, "/", &dl);
	dl_expect(&dl, NULL, 0);
	CHECK(dl_find(&dl, ".")->type, DT_DIR);
	CHECK(dl_find(&dl, ".")->ino, root.st_ino);
	CHECK(dl_find(&dl, "..")->ino, root.st_ino);
	dl_free(&dl);
}

static void test_mount_errors(void **state)
{
	struct umfs_fs *fs = NULL;
	char path[300];
	FILE *f;

	(void)state;
	CHECK(umfs_mount("/dev/shm/umfs-test-no-such-pool", 0, &fs), -ENOENT);

	/* a file of zeros is no pool */
	snprintf(path, sizeof(path), "/dev/shm/umfs-test-zeros-%d.pool", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 16 * MiB), 0);
	fclose(f);
	assert_true(umfs_mount(path, 0, &fs) < 0);
	unlink(path);
}

static void test_mount_rdonly(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_file *f;
	char buf[8];

	put_str(tp->fs, "f", "hello");
	CHECK(umfs_mkdir(tp->fs, "d", 0755), 0);
	CHECK(umfs_unmount(tp->fs), 0);
	tp->fs = NULL;
	CHECK(umfs_mount(tp->path, UMFS_MOUNT_RDONLY, &tp->fs), 0);

	expect_str(tp->fs, "f", "hello");
	CHECK(open_err(tp->fs, "f", O_WRONLY), -EROFS);
	CHECK(open_err(tp->fs, "g", O_CREAT | O_RDWR), -EROFS);
	CHECK(umfs_mkdir(tp->fs, "e", 0755), -EROFS);
	CHECK(umfs_unlink(tp->fs, "f"), -EROFS);
	CHECK(umfs_rmdir(tp->fs, "d"), -EROFS);
	CHECK(umfs_rename(tp->fs, "f", "g", 0), -EROFS);
	CHECK(umfs_chmod(tp->fs, "f", 0600, 0), -EROFS);
	CHECK(umfs_symlink(tp->fs, "f", "l"), -EROFS);
	CHECK(umfs_truncate(tp->fs, "f", 0), -EROFS);
	f = open_ok(tp->fs, "f", O_RDONLY, 0);
	CHECK(umfs_read(f, buf, sizeof(buf)), 5);
	CHECK(umfs_close(f), 0);

	CHECK(test_pool_remount(tp), 0);
	expect_str(tp->fs, "f", "hello");
	CHECK(umfs_unlink(tp->fs, "f"), 0);
}

/* ------------------------------------------------------------------ */
/* Files: open flags, read, write, seek                                  */
/* ------------------------------------------------------------------ */

static void test_create_write_read(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	char buf[64];
	struct stat st;

	f = open_ok(fs, "file", O_CREAT | O_RDWR, 0640);
	CHECK(umfs_file_flags(f) & O_ACCMODE, O_RDWR);
	CHECK(umfs_write(f, "hello, ", 7), 7);
	CHECK(umfs_write(f, "world", 5), 5);
	CHECK(umfs_lseek(f, 0, SEEK_CUR), 12);
	CHECK(umfs_read(f, buf, sizeof(buf)), 0); /* at EOF */
	CHECK(umfs_lseek(f, 0, SEEK_SET), 0);
	memset(buf, 0, sizeof(buf));
	CHECK(umfs_read(f, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	CHECK(umfs_lseek(f, 0, SEEK_CUR), 5);
	/* pread/pwrite leave the file offset alone */
	CHECK(umfs_pwrite(f, "W", 1, 7), 1);
	CHECK(umfs_pread(f, buf, 64, 0), 12);
	assert_memory_equal(buf, "hello, World", 12);
	CHECK(umfs_lseek(f, 0, SEEK_CUR), 5);
	CHECK(umfs_pread(f, buf, 4, 100), 0);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_size, 12);
	CHECK(st.st_mode, S_IFREG | 0640);
	CHECK(umfs_fsync(f, 0), 0);
	CHECK(umfs_fsync(f, 1), 0);
	CHECK(umfs_close(f), 0);
	expect_str(fs, "file", "hello, World");

	/* zero-length operations */
	f = open_ok(fs, "file", O_RDWR, 0);
	CHECK(umfs_write(f, buf, 0), 0);
	CHECK(umfs_read(f, buf, 0), 0);
	CHECK(umfs_close(f), 0);
	CHECK(stat_ok(fs, "file").st_size, 12);
}

/* Flushes and fences the persistence layer is asked for, in order (a
 * fence as addr NULL). */
static struct {
	const void *addr;
	size_t len;
} tflush[1 << 12];
static size_t ntflush;

static void times_rec_flush(void *arg, const void *addr, size_t len)
{
	if (ntflush < UMFS_ARRAY_SIZE(tflush)) {
		tflush[ntflush].addr = addr;
		tflush[ntflush++].len = len;
	}
}

static void times_rec_drain(void *arg)
{
	if (ntflush < UMFS_ARRAY_SIZE(tflush))
		tflush[ntflush++].addr = NULL;
}

/* Runs fn(f) with the persistence layer watched; true when a flush of
 * in's times came, and a fence after it. */
static bool times_persisted_by(struct umfs_inode *in, int (*fn)(struct umfs_file *, int),
			       struct umfs_file *f, int arg)
{
	static const struct umfs_persist_hook hook = { times_rec_flush, times_rec_drain, NULL };
	const uint8_t *m = (const uint8_t *)&in->mtime_ns, *c = (const uint8_t *)&in->ctime_ns;
	bool flushed = false, fenced = false;

	ntflush = 0;
	umfs_persist_hook_set(&hook);
	CHECK(fn(f, arg), 0);
	umfs_persist_hook_set(NULL);
	assert_true(ntflush < UMFS_ARRAY_SIZE(tflush));
	for (size_t i = 0; i < ntflush; i++) {
		const uint8_t *a = tflush[i].addr;

		if (!a)
			fenced = flushed;
		else if (a <= m && a + tflush[i].len >= c + sizeof(in->ctime_ns))
			flushed = true, fenced = false;
	}
	return flushed && fenced;
}

static int overwrite_page(struct umfs_file *f, int page)
{
	static uint8_t buf[4096];

	memset(buf, page + 1, sizeof(buf));
	return umfs_pwrite(f, buf, sizeof(buf), (off_t)page * 4096) == 4096 ? 0 : -EIO;
}

static int close_file(struct umfs_file *f, int unused)
{
	return umfs_close(f);
}

/* A write leaves the times in the cache (they are best effort across a
 * crash); fsync, not fdatasync, and the close of a file written through
 * make them durable; a close that wrote nothing does not touch them. */
static void test_times_durable_at_fsync(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f = open_ok(fs, "t", O_CREAT | O_RDWR, 0644);
	static uint8_t two[8192];
	struct umfs_inode *in;
	struct stat st;

	CHECK(umfs_write(f, two, sizeof(two)), sizeof(two));
	CHECK(umfs_fstat(f, &st), 0);
	in = umfs_inode(fs, st.st_ino);
	CHECK(overwrite_page(f, 0), 0); /* the first makes the U-Log, in a transaction */
	assert_false(times_persisted_by(in, overwrite_page, f, 0));
	assert_false(times_persisted_by(in, umfs_fsync, f, 1));
	assert_true(times_persisted_by(in, umfs_fsync, f, 0));
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec, in->mtime_ns);
	assert_false(times_persisted_by(in, overwrite_page, f, 1));
	assert_true(times_persisted_by(in, close_file, f, 0));
	f = open_ok(fs, "t", O_RDONLY, 0);
	assert_false(times_persisted_by(in, close_file, f, 0));
	f = open_ok(fs, "t", O_RDWR, 0);
	assert_false(times_persisted_by(in, close_file, f, 0));
}

static void test_open_errors(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	char *n255 = long_name(255), *n256 = long_name(256);
	char path[600];

	put_str(fs, "file", "x");
	CHECK(umfs_mkdir(fs, "dir", 0755), 0);

	CHECK(open_err(fs, "missing", O_RDONLY), -ENOENT);
	CHECK(open_err(fs, "nodir/x", O_CREAT | O_RDWR), -ENOENT);
	CHECK(open_err(fs, "file/x", O_RDONLY), -ENOTDIR);
	CHECK(open_err(fs, "file/x", O_CREAT | O_RDWR), -ENOTDIR);
	CHECK(open_err(fs, "file/", O_RDONLY), -ENOTDIR);
	CHECK(open_err(fs, "dir", O_WRONLY), -EISDIR);
	CHECK(open_err(fs, "dir", O_RDWR), -EISDIR);
	CHECK(open_err(fs, "dir", O_CREAT | O_RDONLY), -EISDIR);
	CHECK(open_err(fs, "file", O_CREAT | O_EXCL | O_RDWR), -EEXIST);
	CHECK(open_err(fs, "dir", O_CREAT | O_EXCL | O_RDWR), -EEXIST);
	CHECK(open_err(fs, "file", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	CHECK(open_err(fs, "dir", O_RDONLY | O_DIRECTORY), 0);
	CHECK(open_err(fs, "dir/", O_RDONLY), 0);

	/* names: 255 bytes is the limit, in any component */
	CHECK(open_err(fs, n255, O_CREAT | O_EXCL | O_RDWR), 0);
	CHECK(open_err(fs, n256, O_CREAT | O_RDWR), -ENAMETOOLONG);
	CHECK(open_err(fs, n256, O_RDONLY), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "dir/%s/x", n256);
	CHECK(open_err(fs, path, O_CREAT | O_RDWR), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "dir/%s", n255);
	CHECK(open_err(fs, path, O_CREAT | O_RDWR), 0);
	CHECK(stat_ok(fs, path).st_size, 0);
	free(n255);
	free(n256);
}

static void test_open_excl_trunc(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	struct stat before, after;
	char buf[16];

	f = open_ok(fs, "x", O_CREAT | O_EXCL | O_WRONLY, 0600);
	CHECK(umfs_write(f, "0123456789", 10), 10);
	CHECK(umfs_close(f), 0);
	CHECK(open_err(fs, "x", O_CREAT | O_EXCL | O_WRONLY), -EEXIST);

	/* O_CREAT on an existing file opens it unchanged, mode ignored */
	f = open_ok(fs, "x", O_CREAT | O_RDWR, 0777);
	CHECK(umfs_read(f, buf, sizeof(buf)), 10);
	CHECK(umfs_close(f), 0);
	CHECK(stat_ok(fs, "x").st_mode, S_IFREG | 0600);

	before = stat_ok(fs, "x");
	nap();
	f = open_ok(fs, "x", O_TRUNC | O_WRONLY, 0);
	CHECK(umfs_fstat(f, &after), 0);
	CHECK(after.st_size, 0);
	/* POSIX: O_TRUNC of an existing file marks mtime and ctime */
	assert_true(ts_ns(after.st_mtim) > ts_ns(before.st_mtim));
	assert_true(ts_ns(after.st_ctim) > ts_ns(before.st_ctim));
	CHECK(umfs_write(f, "ab", 2), 2);
	CHECK(umfs_close(f), 0);
	expect_str(fs, "x", "ab");
	/* the truncated bytes do not come back when the file grows again */
	CHECK(umfs_truncate(fs, "x", 10), 0);
	expect_content(fs, "x", "ab\0\0\0\0\0\0\0\0", 10);

	/* ... also when the file is already empty */
	CHECK(umfs_truncate(fs, "x", 0), 0);
	CHECK(umfs_utimens(fs, "x", (struct timespec[2]){ { 5, 0 }, { 5, 0 } }, 0), 0);
	before = stat_ok(fs, "x");
	f = open_ok(fs, "x", O_TRUNC | O_WRONLY, 0);
	CHECK(umfs_close(f), 0);
	after = stat_ok(fs, "x");
	assert_true(ts_ns(after.st_mtim) > ts_ns(before.st_mtim));
	assert_true(ts_ns(after.st_ctim) > ts_ns(before.st_ctim));

	/* O_CREAT | O_TRUNC creates when absent */
	f = open_ok(fs, "y", O_CREAT | O_TRUNC | O_RDWR, 0644);
	CHECK(umfs_close(f), 0);
	CHECK(stat_ok(fs, "y").st_size, 0);
}

static void test_o_append(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *a, *w;
	char buf[32];

	put_str(fs, "log", "start");
	a = open_ok(fs, "log", O_WRONLY | O_APPEND, 0);
	CHECK(umfs_file_flags(a) & O_APPEND, O_APPEND);
	w = open_ok(fs, "log", O_RDWR, 0);

	CHECK(umfs_lseek(a, 0, SEEK_SET), 0);
	CHECK(umfs_write(a, "+one", 4), 4);
	CHECK(umfs_lseek(a, 0, SEEK_CUR), 9); /* offset moves to the new end */
	/* another writer extends the file: the next append still lands at the end */
	CHECK(umfs_pwrite(w, "XXXXXXXXXXXX", 12, 9), 12);
	CHECK(umfs_write(a, "+two", 4), 4);
	CHECK(umfs_pread(w, buf, sizeof(buf), 0), 25);
	assert_memory_equal(buf, "start+oneXXXXXXXXXXXX+two", 25);
	CHECK(umfs_close(w), 0);

	/* a zero-length write has no effect, not even on the offset (POSIX) */
	CHECK(umfs_lseek(a, 3, SEEK_SET), 3);
	CHECK(umfs_write(a, "", 0), 0);
	CHECK(umfs_lseek(a, 0, SEEK_CUR), 3);

	/* clearing O_APPEND with set_flags makes writes positional again */
	CHECK(umfs_file_set_flags(a, umfs_file_flags(a) & ~O_APPEND), 0);
	CHECK(umfs_lseek(a, 0, SEEK_SET), 0);
	CHECK(umfs_write(a, "S", 1), 1);
	CHECK(umfs_close(a), 0);
	expect_str(fs, "log", "Start+oneXXXXXXXXXXXX+two");
}

static void test_o_directory_nofollow(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	struct umfs_dir *d;
	struct umfs_dirent ent;
	char buf[8];
	int seen = 0, ret;

	CHECK(umfs_mkdir(fs, "dir", 0755), 0);
	put_str(fs, "dir/inner", "i");
	put_str(fs, "file", "f");
	CHECK(umfs_symlink(fs, "dir", "ldir"), 0);
	CHECK(umfs_symlink(fs, "file", "lfile"), 0);

	f = open_ok(fs, "dir", O_RDONLY | O_DIRECTORY, 0);
	CHECK(umfs_read(f, buf, sizeof(buf)), -EISDIR);
	CHECK(umfs_write(f, "x", 1), -EBADF);
	CHECK(umfs_fopendir(f, &d), 0);
	while ((ret = umfs_readdir(d, &ent)) == 1)
		seen += strcmp(ent.name, "inner") == 0;
	CHECK(ret, 0);
	CHECK(seen, 1);
	CHECK(umfs_closedir(d), 0);
	CHECK(umfs_close(f), 0);

	CHECK(open_err(fs, "ldir", O_RDONLY | O_DIRECTORY), 0);
	CHECK(open_err(fs, "lfile", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	CHECK(open_err(fs, "lfile", O_RDONLY | O_NOFOLLOW), -ELOOP);
	/* both apply; Linux checks O_DIRECTORY first */
	CHECK_ONE_OF(open_err(fs, "ldir", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), -ELOOP, -ENOTDIR);
	/* O_NOFOLLOW only concerns the last component */
	CHECK(open_err(fs, "ldir/inner", O_RDONLY | O_NOFOLLOW), 0);
	CHECK(open_err(fs, "file", O_RDONLY | O_NOFOLLOW), 0);
}

static void test_ebadf(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *r, *w;
	char buf[8];
	int err;

	put_str(fs, "f", "content");
	r = open_ok(fs, "f", O_RDONLY, 0);
	w = open_ok(fs, "f", O_WRONLY, 0);

	CHECK(umfs_write(r, "x", 1), -EBADF);
	CHECK(umfs_pwrite(r, "x", 1, 0), -EBADF);
	CHECK(umfs_read(w, buf, sizeof(buf)), -EBADF);
	CHECK(umfs_pread(w, buf, sizeof(buf), 0), -EBADF);
	CHECK(umfs_fallocate(r, 0, 0, 4096), -EBADF);
	/* fallocate(2) is Linux's: it checks the mode before the access mode */
	CHECK(umfs_fallocate(r, FALLOC_FL_PUNCH_HOLE, 0, 4096), -EOPNOTSUPP);
	/* ftruncate(2) of a descriptor not open for writing: POSIX allows
	 * EBADF or EINVAL; Linux says EINVAL */
	err = umfs_ftruncate(r, 0);
	if (err != -EINVAL && err != -EBADF)
		fail_msg("ftruncate on O_RDONLY = %d (%s)", err, err_name(err));
	CHECK(umfs_read(r, buf, sizeof(buf)), 7);
	CHECK(umfs_write(w, "C", 1), 1);
	CHECK(umfs_close(r), 0);
	CHECK(umfs_close(w), 0);
	expect_str(fs, "f", "Content");

	/* negative offsets */
	w = open_ok(fs, "f", O_RDWR, 0);
	CHECK(umfs_pwrite(w, "x", 1, -1), -EINVAL);
	CHECK(umfs_pread(w, buf, 1, -1), -EINVAL);
	CHECK(umfs_ftruncate(w, -1), -EINVAL);
	CHECK(umfs_close(w), 0);
	CHECK(umfs_truncate(fs, "f", -1), -EINVAL);
}

static void test_lseek(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f = open_ok(fs, "f", O_CREAT | O_RDWR, 0644);
	char buf[16];

	CHECK(umfs_write(f, "0123456789", 10), 10);
	CHECK(umfs_lseek(f, 3, SEEK_SET), 3);
	CHECK(umfs_lseek(f, 2, SEEK_CUR), 5);
	CHECK(umfs_lseek(f, -2, SEEK_CUR), 3);
	CHECK(umfs_lseek(f, -1, SEEK_END), 9);
	CHECK(umfs_read(f, buf, 16), 1);
	CHECK(buf[0], '9');
	CHECK(umfs_lseek(f, -1, SEEK_SET), -EINVAL);
	CHECK(umfs_lseek(f, -11, SEEK_END), -EINVAL);
	CHECK(umfs_lseek(f, -100, SEEK_CUR), -EINVAL);
	CHECK(umfs_lseek(f, 0, 42), -EINVAL);
	CHECK(umfs_lseek(f, 0, -1), -EINVAL);
	/* a failed seek leaves the offset where it was */
	CHECK(umfs_lseek(f, 0, SEEK_CUR), 10);

	/* seeking past the end and writing leaves a hole of zeros */
	CHECK(umfs_lseek(f, 5000, SEEK_SET), 5000);
	CHECK(umfs_read(f, buf, 16), 0);
	CHECK(umfs_write(f, "end", 3), 3);
	CHECK(umfs_lseek(f, 0, SEEK_END), 5003);
	CHECK(umfs_pread(f, buf, 16, 10), 16);
	for (int i = 0; i < 16; i++)
		CHECK(buf[i], 0);
	CHECK(umfs_pread(f, buf, 16, 4999), 4);
	assert_memory_equal(buf, "\0end", 4);
	CHECK(umfs_close(f), 0);
}

/* Writes and reads at offsets that cross 4 KiB pages and 2 MiB leaves,
 * against an in-memory copy of the file. */
static void test_unaligned_io(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	const size_t span = 6 * MiB + 12345;
	uint8_t *model = calloc(1, span), *buf = malloc(3 * MiB), *got = malloc(span);
	struct umfs_file *f = open_ok(fs, "f", O_CREAT | O_RDWR, 0644);
	uint64_t rng = 42;
	size_t size = 0;

	assert_non_null(model);
	assert_non_null(buf);
	assert_non_null(got);
	for (int i = 0; i < 300; i++) {
		uint64_t r = test_rand_next(&rng);
		size_t len, off;

		switch (i % 4) {
		case 0: /* around a page boundary */
			off = (r % 1500) * 4096 - (r >> 40) % 64;
			len = 1 + (r >> 20) % 8192;
			break;
		case 1: /* around a 2 MiB boundary */
			off = (1 + (r % 2)) * 2 * MiB - (r >> 32) % 5000;
			len = 1 + (r >> 16) % (3 * MiB);
			break;
		case 2: /* small and anywhere */
			off = (r >> 8) % (span - 4096);
			len = 1 + (r >> 50) % 300;
			break;
		default: /* a whole aligned 2 MiB region */
			off = 2 * MiB * ((r >> 3) % 2);
			len = 2 * MiB;
			break;
		}
		if (off >= span)
			off = span - 1;
		if (off + len > span)
			len = span - off;
		test_fill(buf, len, r);
		CHECK(umfs_pwrite(f, buf, len, off), len);
		memcpy(model + off, buf, len);
		if (off + len > size)
			size = off + len;
		if (i % 25 == 24) {
			CHECK(umfs_pread(f, got, span, 0), size);
			if (memcmp(got, model, size) != 0)
				fail_msg("content differs after %d writes", i + 1);
		}
	}
	/* odd-sized reads that straddle everything */
	for (size_t off = 0; off < size; off += 777777) {
		size_t len = UMFS_MIN(size - off, 3 * MiB - 1);

		CHECK(umfs_pread(f, got, len, off), len);
		assert_memory_equal(got, model + off, len);
	}
	CHECK(umfs_close(f), 0);
	CHECK(test_pool_remount(pool_of(state)), 0);
	expect_content(pool_fs(state), "f", model, size);
	free(model);
	free(buf);
	free(got);
}

static void test_holes_and_seek_data(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f = open_ok(fs, "sparse", O_CREAT | O_RDWR, 0644);
	uint8_t page[4096], zero[4096] = { 0 };
	struct stat st;
	off_t hole;

	memset(page, 0xab, sizeof(page));
	/* empty file: no data anywhere */
	CHECK(umfs_lseek(f, 0, SEEK_DATA), -ENXIO);
	CHECK(umfs_lseek(f, 0, SEEK_HOLE), -ENXIO);

	CHECK(umfs_pwrite(f, page, 4096, 0), 4096);
	CHECK(umfs_pwrite(f, page, 100, 64 * MiB), 100);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_size, 64 * MiB + 100);
	/* far fewer blocks than the size: the middle is a hole */
	assert_true((uint64_t)st.st_blocks * 512 < 8 * MiB);
	assert_true((uint64_t)st.st_blocks * 512 >= 8192);

	CHECK(umfs_pread(f, page, 4096, 32 * MiB), 4096);
	assert_memory_equal(page, zero, 4096);

	CHECK(umfs_lseek(f, 0, SEEK_DATA), 0);
	CHECK(umfs_lseek(f, 100, SEEK_DATA), 100);
	hole = umfs_lseek(f, 0, SEEK_HOLE);
	/* page granularity, or a 2 MiB leaf at most */
	assert_true(hole >= 4096 && hole <= (off_t)(2 * MiB) && hole % 4096 == 0);
	CHECK(umfs_lseek(f, 0, SEEK_CUR), hole); /* SEEK_HOLE moved the offset */
	CHECK(umfs_lseek(f, hole, SEEK_DATA), 64 * MiB);
	CHECK(umfs_lseek(f, 8 * MiB, SEEK_DATA), 64 * MiB);
	CHECK(umfs_lseek(f, 64 * MiB + 50, SEEK_DATA), 64 * MiB + 50);
	CHECK(umfs_lseek(f, 64 * MiB, SEEK_HOLE), 64 * MiB + 100); /* EOF is a hole */
	CHECK(umfs_lseek(f, 64 * MiB + 100, SEEK_DATA), -ENXIO);
	CHECK(umfs_lseek(f, 64 * MiB + 100, SEEK_HOLE), -ENXIO);
	CHECK(umfs_lseek(f, -1, SEEK_DATA), -ENXIO);
	CHECK(umfs_lseek(f, 10 * MiB, SEEK_HOLE), 10 * MiB);

	/* a hole past a truncate-extension */
	CHECK(umfs_ftruncate(f, 100 * MiB), 0);
	CHECK(umfs_lseek(f, 65 * MiB, SEEK_DATA), -ENXIO);
	CHECK(umfs_lseek(f, 65 * MiB, SEEK_HOLE), 65 * MiB);
	CHECK(umfs_close(f), 0);
}

static void test_truncate(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	uint8_t *data = malloc(3 * MiB), *buf = malloc(3 * MiB);
	uint64_t free0 = free_pages(fs);
	struct umfs_file *f = open_ok(fs, "t", O_CREAT | O_RDWR, 0644);
	struct stat st0, st1;

	assert_non_null(data);
	assert_non_null(buf);
	test_fill(data, 3 * MiB, 7);
	CHECK(umfs_pwrite(f, data, 3 * MiB, 0), 3 * MiB);

	/* shrink into the middle of a page, then grow: the cut bytes read 0 */
	CHECK(umfs_ftruncate(f, 5000), 0);
	CHECK(umfs_ftruncate(f, 3 * MiB), 0);
	CHECK(umfs_pread(f, buf, 3 * MiB, 0), 3 * MiB);
	assert_memory_equal(buf, data, 5000);
	for (size_t i = 5000; i < 3 * MiB; i++)
		if (buf[i] != 0)
			fail_msg("byte %zu is %#x after shrink+grow", i, buf[i]);

	/* shrink across a 2 MiB leaf */
	CHECK(umfs_pwrite(f, data, 3 * MiB, 0), 3 * MiB);
	CHECK(umfs_ftruncate(f, 2 * MiB + 1), 0);
	CHECK(umfs_ftruncate(f, 2 * MiB + 8192), 0);
	CHECK(umfs_pread(f, buf, 3 * MiB, 0), 2 * MiB + 8192);
	assert_memory_equal(buf, data, 2 * MiB + 1);
	for (size_t i = 2 * MiB + 1; i < 2 * MiB + 8192; i++)
		if (buf[i] != 0)
			fail_msg("byte %zu is %#x after shrink+grow", i, buf[i]);

	/* truncation frees pages and changes times */
	CHECK(umfs_fstat(f, &st0), 0);
	nap();
	CHECK(umfs_ftruncate(f, 0), 0);
	CHECK(umfs_fstat(f, &st1), 0);
	CHECK(st1.st_size, 0);
	CHECK(st1.st_blocks, 0);
	assert_true(ts_ns(st1.st_mtim) > ts_ns(st0.st_mtim));
	assert_true(ts_ns(st1.st_ctim) > ts_ns(st0.st_ctim));
	CHECK(umfs_close(f), 0);
	CHECK(umfs_unlink(fs, "t"), 0);
	CHECK(free_pages(fs), free0);

	/* truncate by path */
	put_str(fs, "t", "");
	CHECK(umfs_truncate(fs, "t", 12345), 0);
	CHECK(stat_ok(fs, "t").st_size, 12345);
	CHECK(umfs_truncate(fs, "missing", 0), -ENOENT);
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_truncate(fs, "d", 0), -EISDIR);
	CHECK(umfs_truncate(fs, "t/x", 0), -ENOTDIR);
	free(data);
	free(buf);
}

static void test_efbig(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	const off_t max = (off_t)UMFS_MAX_FILE_SIZE; /* 256 TiB: level-4 tables */
	struct statvfs sv0 = statfs_ok(fs), sv1;
	uint64_t free0 = free_pages(fs);
	struct umfs_file *f = open_ok(fs, "big", O_CREAT | O_RDWR, 0644);
	char buf[16];

	CHECK(max, 256 * 1024 * GiB);
	CHECK(umfs_pwrite(f, "x", 1, max), -EFBIG);
	CHECK(umfs_pwrite(f, "x", 1, max + 4096), -EFBIG);
	/* a write that crosses the limit is cut short at it */
	CHECK(umfs_pwrite(f, "0123456789", 10, max - 4), 4);
	CHECK(stat_ok(fs, "big").st_size, max);
	CHECK(umfs_pread(f, buf, 16, max - 4), 4);
	assert_memory_equal(buf, "0123", 4);
	CHECK(umfs_pread(f, buf, 16, 100 * GiB), 16);
	CHECK(buf[0] | buf[15], 0);

	CHECK(umfs_ftruncate(f, max + 1), -EFBIG);
	CHECK(umfs_ftruncate(f, max), 0);
	CHECK(umfs_fallocate(f, 0, max - 4096, 8192), -EFBIG);
	CHECK(stat_ok(fs, "big").st_size, max);

	/* a write through the file offset at the limit */
	CHECK(umfs_lseek(f, max, SEEK_SET), max);
	CHECK(umfs_write(f, "x", 1), -EFBIG);

	/* the huge sparse file costs a few table pages, not 512 GiB */
	sv1 = statfs_ok(fs);
	assert_true(sv0.f_bfree - sv1.f_bfree < 16);
	CHECK(umfs_ftruncate(f, 0), 0);
	CHECK(umfs_close(f), 0);
	CHECK(umfs_unlink(fs, "big"), 0);
	CHECK(free_pages(fs), free0);
}

static void test_fallocate(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct statvfs sv0 = statfs_ok(fs);
	uint64_t free0 = free_pages(fs);
	struct umfs_file *f = open_ok(fs, "fa", O_CREAT | O_RDWR, 0644);
	uint8_t buf[8192], ones[8192];
	struct stat st;

	memset(ones, 1, sizeof(ones));
	CHECK(umfs_fallocate(f, 0, 0, 1 * MiB), 0);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_size, 1 * MiB);
	assert_true((uint64_t)st.st_blocks * 512 >= 1 * MiB);
	assert_true(sv0.f_bfree - statfs_ok(fs).f_bfree >= 256);
	CHECK(umfs_pread(f, buf, sizeof(buf), 12345), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK(buf[i], 0);

	/* KEEP_SIZE reserves beyond EOF without changing the size */
	CHECK(umfs_fallocate(f, FALLOC_FL_KEEP_SIZE, 1 * MiB, 1 * MiB), 0);
	CHECK(stat_ok(fs, "fa").st_size, 1 * MiB);
	/* an allocation inside the file changes nothing visible */
	CHECK(umfs_pwrite(f, ones, sizeof(ones), 4096), sizeof(ones));
	CHECK(umfs_fallocate(f, 0, 0, 8192), 0);
	CHECK(umfs_pread(f, buf, sizeof(buf), 4096), sizeof(buf));
	assert_memory_equal(buf, ones, sizeof(buf));

	/* punching a hole: zeros, fewer blocks, same size */
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096 + 100, 4096),
	      0);
	CHECK(umfs_pread(f, buf, sizeof(buf), 4096), sizeof(buf));
	assert_memory_equal(buf, ones, 100);
	for (size_t i = 100; i < 4196; i++)
		CHECK(buf[i], 0);
	assert_memory_equal(buf + 4196, ones, sizeof(buf) - 4196);
	CHECK(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 * MiB), 0);
	CHECK(stat_ok(fs, "fa").st_size, 1 * MiB);
	CHECK(umfs_lseek(f, 0, SEEK_HOLE), 0);

	/* a hole punched into the middle of a 2 MiB leaf */
	{
		uint8_t *big = malloc(4 * MiB), *got = malloc(4 * MiB);

		assert_non_null(big);
		assert_non_null(got);
		test_fill(big, 4 * MiB, 21);
		CHECK(umfs_pwrite(f, big, 4 * MiB, 0), 4 * MiB);
		CHECK(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB + 100,
				     3 * 4096), 0);
		memset(big + MiB + 100, 0, 3 * 4096);
		CHECK(umfs_pread(f, got, 4 * MiB, 0), 4 * MiB);
		assert_memory_equal(got, big, 4 * MiB);
		/* and truncation into the middle of the other leaf */
		CHECK(umfs_ftruncate(f, 3 * MiB + 5), 0);
		CHECK(umfs_ftruncate(f, 4 * MiB), 0);
		memset(big + 3 * MiB + 5, 0, MiB - 5);
		CHECK(umfs_pread(f, got, 4 * MiB, 0), 4 * MiB);
		assert_memory_equal(got, big, 4 * MiB);
		CHECK(umfs_ftruncate(f, 1 * MiB), 0);
		free(big);
		free(got);
	}

	/* errors, as vfs_fallocate orders them */
	CHECK(umfs_fallocate(f, 0, 0, 0), -EINVAL);
	CHECK(umfs_fallocate(f, 0, -1, 4096), -EINVAL);
	CHECK(umfs_fallocate(f, 0, 0, -4096), -EINVAL);
	CHECK(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4096), -EOPNOTSUPP);
	CHECK(umfs_fallocate(f, 0x4000, 0, 4096), -EOPNOTSUPP);
	CHECK(umfs_close(f), 0);
	CHECK(umfs_unlink(fs, "fa"), 0);
	CHECK(free_pages(fs), free0);
}

/* ------------------------------------------------------------------ */
/* Namespace                                                             */
/* ------------------------------------------------------------------ */

static void test_mkdir_rmdir(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	char *n256 = long_name(256);
	struct stat st;

	CHECK(umfs_mkdir(fs, "a", 0750), 0);
	st = stat_ok(fs, "a");
	CHECK(st.st_mode, S_IFDIR | 0750);
	CHECK(st.st_nlink, 2);
	CHECK(stat_ok(fs, "/").st_nlink, 3);
	CHECK(umfs_mkdir(fs, "a/b", 0755), 0);
	CHECK(stat_ok(fs, "a").st_nlink, 3);
	CHECK(stat_ok(fs, "a/b/..").st_ino, stat_ok(fs, "a").st_ino);
	put_str(fs, "file", "x");

	CHECK(umfs_mkdir(fs, "a", 0755), -EEXIST);
	CHECK(umfs_mkdir(fs, "file", 0755), -EEXIST);
	CHECK(umfs_mkdir(fs, "/", 0755), -EEXIST);
	CHECK(umfs_mkdir(fs, "nope/x", 0755), -ENOENT);
	CHECK(umfs_mkdir(fs, "file/x", 0755), -ENOTDIR);
	CHECK(umfs_mkdir(fs, n256, 0755), -ENAMETOOLONG);
	CHECK(umfs_mkdir(fs, "a/c/", 0755), 0); /* trailing slash is fine for mkdir */
	CHECK(umfs_rmdir(fs, "a/c/"), 0);

	CHECK(umfs_rmdir(fs, "a"), -ENOTEMPTY);
	CHECK(umfs_rmdir(fs, "file"), -ENOTDIR);
	CHECK(umfs_rmdir(fs, "missing"), -ENOENT);
	CHECK(umfs_rmdir(fs, "a/b/."), -EINVAL);
	CHECK(umfs_rmdir(fs, "a/b/.."), -ENOTEMPTY);
	CHECK(umfs_unlink(fs, "a"), -EISDIR);
	CHECK(umfs_rmdir(fs, "a/b"), 0);
	CHECK(stat_ok(fs, "a").st_nlink, 2);
	CHECK(umfs_rmdir(fs, "a"), 0);
	CHECK(stat_ok(fs, "/").st_nlink, 2);
	CHECK(umfs_stat(fs, "a", &st, 0), -ENOENT);
	free(n256);
}

static void test_unlink(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct statvfs sv0 = statfs_ok(fs), sv1;
	uint64_t free0 = free_pages(fs);
	struct stat st;

	put_str(fs, "f", "data");
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_unlink(fs, "missing"), -ENOENT);
	CHECK(umfs_unlink(fs, "d"), -EISDIR);
	CHECK(umfs_unlink(fs, "f/x"), -ENOTDIR);
	CHECK(umfs_unlink(fs, "nodir/x"), -ENOENT);
	CHECK(umfs_unlink(fs, "f"), 0);
	CHECK(umfs_stat(fs, "f", &st, 0), -ENOENT);
	CHECK(umfs_unlink(fs, "f"), -ENOENT);
	CHECK(umfs_rmdir(fs, "d"), 0);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree);
	CHECK(free_pages(fs), free0);
}

static void test_rename_basic(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat st, before;
	ino_t ino;

	put_str(fs, "f", "payload");
	CHECK(umfs_mkdir(fs, "d1", 0755), 0);
	CHECK(umfs_mkdir(fs, "d2", 0755), 0);
	ino = stat_ok(fs, "f").st_ino;

	CHECK(umfs_rename(fs, "f", "g", 0), 0);
	CHECK(umfs_stat(fs, "f", &st, 0), -ENOENT);
	CHECK(stat_ok(fs, "g").st_ino, ino);
	CHECK(umfs_rename(fs, "g", "d1/h", 0), 0);
	expect_str(fs, "d1/h", "payload");

	/* a directory move updates "..", and both parents' link counts */
	before = stat_ok(fs, "d1");
	CHECK(umfs_rename(fs, "d1", "d2/d1moved", 0), 0);
	CHECK(stat_ok(fs, "d2/d1moved/..").st_ino, stat_ok(fs, "d2").st_ino);
	CHECK(stat_ok(fs, "d2").st_nlink, 3);
	CHECK(stat_ok(fs, "/").st_nlink, 3);
	expect_str(fs, "d2/d1moved/h", "payload");
	/* (whether the moved inode's ctime changes is up to the implementation) */
	CHECK(stat_ok(fs, "d2/d1moved").st_ino, before.st_ino);

	/* renaming to itself is a successful no-op */
	CHECK(umfs_rename(fs, "d2", "d2", 0), 0);
	CHECK(umfs_rename(fs, "d2/d1moved/h", "d2/d1moved/h", 0), 0);
	expect_str(fs, "d2/d1moved/h", "payload");

	/* errors */
	CHECK(umfs_rename(fs, "missing", "x", 0), -ENOENT);
	CHECK(umfs_rename(fs, "d2", "nodir/x", 0), -ENOENT);
	CHECK(umfs_rename(fs, "d2/d1moved/h/x", "x", 0), -ENOTDIR);
	CHECK(umfs_rename(fs, "d2", "d2/d1moved/inside", 0), -EINVAL);
	CHECK(umfs_rename(fs, "d2", "d2/x", 0), -EINVAL);
	CHECK(umfs_rename(fs, "d2/d1moved/h", "d2/d1moved/h", 0x80), -EINVAL);
	CHECK(umfs_rename(fs, "d2", "e", RENAME_NOREPLACE | RENAME_EXCHANGE), -EINVAL);
	CHECK(umfs_rename(fs, "/", "e", 0), -EBUSY);

	/* the failed renames changed nothing */
	expect_str(fs, "d2/d1moved/h", "payload");
	CHECK(stat_ok(fs, "d2").st_nlink, 3);
}

static void test_rename_over_file(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	uint8_t *big = malloc(1 * MiB);
	struct statvfs sv0, sv1;
	struct umfs_file *f;
	char buf[16];

	assert_non_null(big);
	test_fill(big, 1 * MiB, 3);
	put_str(fs, "src", "new");
	put_file(fs, "dst", big, 1 * MiB, 0644);
	sv0 = statfs_ok(fs);

	/* the target is replaced and its inode and pages are freed */
	CHECK(umfs_rename(fs, "src", "dst", 0), 0);
	expect_str(fs, "dst", "new");
	CHECK(umfs_stat(fs, "src", &(struct stat){ 0 }, 0), -ENOENT);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree + 1);
	assert_true(sv1.f_bfree >= sv0.f_bfree + 256);

	/* a target with a second name survives under that name */
	put_file(fs, "victim", big, 1 * MiB, 0644);
	CHECK(umfs_link(fs, "victim", "victim2"), 0);
	put_str(fs, "src", "newer");
	CHECK(umfs_rename(fs, "src", "victim", 0), 0);
	expect_str(fs, "victim", "newer");
	expect_content(fs, "victim2", big, 1 * MiB);
	CHECK(stat_ok(fs, "victim2").st_nlink, 1);

	/* an open target stays readable until closed, then it is freed */
	f = open_ok(fs, "victim2", O_RDONLY, 0);
	put_str(fs, "src", "newest");
	sv0 = statfs_ok(fs);
	CHECK(umfs_rename(fs, "src", "victim2", 0), 0);
	CHECK(umfs_pread(f, buf, 16, 0), 16);
	assert_memory_equal(buf, big, 16);
	CHECK(umfs_close(f), 0);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree + 1);
	assert_true(sv1.f_bfree >= sv0.f_bfree + 256);
	expect_str(fs, "victim2", "newest");

	/* two names of one inode: rename does nothing and succeeds */
	CHECK(umfs_link(fs, "victim2", "alias"), 0);
	CHECK(umfs_rename(fs, "alias", "victim2", 0), 0);
	CHECK(stat_ok(fs, "alias").st_nlink, 2);
	expect_str(fs, "alias", "newest");
	free(big);
}

static void test_rename_noreplace(void **state)
{
	struct umfs_fs *fs = pool_fs(state);

	put_str(fs, "a", "A");
	put_str(fs, "b", "B");
	CHECK(umfs_rename(fs, "a", "b", RENAME_NOREPLACE), -EEXIST);
	expect_str(fs, "a", "A");
	expect_str(fs, "b", "B");
	CHECK(umfs_rename(fs, "a", "c", RENAME_NOREPLACE), 0);
	expect_str(fs, "c", "A");
	CHECK(umfs_rename(fs, "missing", "z", RENAME_NOREPLACE), -ENOENT);
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_rename(fs, "c", "d", RENAME_NOREPLACE), -EEXIST);
}

static void test_rename_exchange(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat sa, sd;

	put_str(fs, "a", "A");
	CHECK(umfs_mkdir(fs, "p", 0755), 0);
	CHECK(umfs_mkdir(fs, "p/d", 0755), 0);
	put_str(fs, "p/d/inner", "I");
	sa = stat_ok(fs, "a");
	sd = stat_ok(fs, "p/d");

	/* a file and a directory in different parents swap places */
	CHECK(umfs_rename(fs, "a", "p/d", RENAME_EXCHANGE), 0);
	CHECK(stat_ok(fs, "a").st_ino, sd.st_ino);
	CHECK(stat_ok(fs, "p/d").st_ino, sa.st_ino);
	expect_str(fs, "a/inner", "I");
	expect_str(fs, "p/d", "A");
	/* ".." of the moved directory and the parents' link counts follow */
	CHECK(stat_ok(fs, "a/..").st_ino, stat_ok(fs, "/").st_ino);
	CHECK(stat_ok(fs, "p").st_nlink, 2);
	CHECK(stat_ok(fs, "/").st_nlink, 4);

	CHECK(umfs_rename(fs, "a", "missing", RENAME_EXCHANGE), -ENOENT);
	CHECK(umfs_rename(fs, "missing", "a", RENAME_EXCHANGE), -ENOENT);
	/* exchanging with an ancestor or descendant is refused */
	CHECK(umfs_mkdir(fs, "a/sub", 0755), 0);
	CHECK(umfs_rename(fs, "a", "a/sub", RENAME_EXCHANGE), -EINVAL);
	CHECK(umfs_rename(fs, "a/sub", "a", RENAME_EXCHANGE), -EINVAL);
	/* exchanging a name with itself */
	CHECK(umfs_rename(fs, "p/d", "p/d", RENAME_EXCHANGE), 0);
	expect_str(fs, "p/d", "A");
}

static void test_rename_dirs(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct statvfs sv0, sv1;
	ino_t ino;

	CHECK(umfs_mkdir(fs, "src", 0755), 0);
	put_str(fs, "src/f", "x");
	CHECK(umfs_mkdir(fs, "empty", 0755), 0);
	CHECK(umfs_mkdir(fs, "full", 0755), 0);
	put_str(fs, "full/g", "y");
	put_str(fs, "file", "z");
	ino = stat_ok(fs, "src").st_ino;

	CHECK(umfs_rename(fs, "src", "full", 0), -ENOTEMPTY);
	CHECK(umfs_rename(fs, "src", "file", 0), -ENOTDIR);
	CHECK(umfs_rename(fs, "file", "empty", 0), -EISDIR);
	/* a file onto its own parent directory: POSIX says EISDIR, Linux
	 * checks ancestry first and says ENOTEMPTY */
	CHECK_ONE_OF(umfs_rename(fs, "full/g", "full", 0), -EISDIR, -ENOTEMPTY);
	CHECK(umfs_rename(fs, "full/g", "/", 0), -EBUSY);

	sv0 = statfs_ok(fs);
	CHECK(umfs_rename(fs, "src", "empty", 0), 0);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree + 1); /* the replaced directory is freed */
	CHECK(stat_ok(fs, "empty").st_ino, ino);
	expect_str(fs, "empty/f", "x");
	CHECK(stat_ok(fs, "/").st_nlink, 4); /* 2 + "empty" and "full" */

	/* a directory with a subdirectory moves with its subtree */
	CHECK(umfs_mkdir(fs, "empty/sub", 0755), 0);
	put_str(fs, "empty/sub/deep", "deep");
	CHECK(umfs_rename(fs, "empty", "full/moved", 0), 0);
	expect_str(fs, "full/moved/sub/deep", "deep");
	CHECK(stat_ok(fs, "full").st_nlink, 3);
	CHECK(stat_ok(fs, "full/moved/sub/../..").st_ino, stat_ok(fs, "full").st_ino);
	CHECK(umfs_rename(fs, "full", "full/moved/sub/x", 0), -EINVAL);
	CHECK(umfs_rename(fs, "full/moved", "full/moved/sub", 0), -EINVAL);
	CHECK(umfs_rename(fs, "full/moved/sub", "full", 0), -ENOTEMPTY);
}

static void test_link(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat st0, st1;

	put_str(fs, "f", "shared");
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	st0 = stat_ok(fs, "f");
	CHECK(st0.st_nlink, 1);
	nap();
	CHECK(umfs_link(fs, "f", "d/g"), 0);
	st1 = stat_ok(fs, "d/g");
	CHECK(st1.st_ino, st0.st_ino);
	CHECK(st1.st_nlink, 2);
	assert_true(ts_ns(st1.st_ctim) > ts_ns(st0.st_ctim));
	CHECK(umfs_link(fs, "d/g", "h"), 0);
	CHECK(stat_ok(fs, "f").st_nlink, 3);

	/* writes through one name are seen through the others */
	put_str(fs, "h", "changed");
	expect_str(fs, "f", "changed");
	expect_str(fs, "d/g", "changed");

	CHECK(umfs_link(fs, "f", "h"), -EEXIST);
	CHECK(umfs_link(fs, "missing", "x"), -ENOENT);
	CHECK(umfs_link(fs, "f", "nodir/x"), -ENOENT);
	CHECK(umfs_link(fs, "d", "dirlink"), -EPERM);
	CHECK(umfs_link(fs, "f", "f/x"), -ENOTDIR);

	CHECK(umfs_unlink(fs, "f"), 0);
	CHECK(stat_ok(fs, "h").st_nlink, 2);
	CHECK(umfs_unlink(fs, "h"), 0);
	CHECK(stat_ok(fs, "d/g").st_nlink, 1);
	expect_str(fs, "d/g", "changed");

	/* link() does not follow a symlink: the new name is the link itself */
	CHECK(umfs_symlink(fs, "d/g", "sl"), 0);
	CHECK(umfs_link(fs, "sl", "sl2"), 0);
	assert_true(S_ISLNK(lstat_ok(fs, "sl2").st_mode));
	CHECK(lstat_ok(fs, "sl").st_nlink, 2);
	CHECK(stat_ok(fs, "d/g").st_nlink, 1);
}

static void test_unlink_open_file(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	uint8_t *data = malloc(2 * MiB), *buf = malloc(2 * MiB);
	struct statvfs sv0, sv1;
	uint64_t free0;
	struct umfs_file *f;
	struct stat st;

	assert_non_null(data);
	assert_non_null(buf);
	test_fill(data, 2 * MiB, 11);
	sv0 = statfs_ok(fs);
	free0 = free_pages(fs);
	put_file(fs, "f", data, 2 * MiB, 0644);
	f = open_ok(fs, "f", O_RDWR, 0);
	CHECK(umfs_unlink(fs, "f"), 0);
	CHECK(umfs_stat(fs, "f", &st, 0), -ENOENT);

	/* still readable and writable through the open file */
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_nlink, 0);
	CHECK(st.st_size, 2 * MiB);
	CHECK(umfs_pread(f, buf, 2 * MiB, 0), 2 * MiB);
	assert_memory_equal(buf, data, 2 * MiB);
	CHECK(umfs_pwrite(f, data, 4096, 2 * MiB), 4096);
	CHECK(umfs_pread(f, buf, 4096, 2 * MiB), 4096);
	assert_memory_equal(buf, data, 4096);
	/* the name can be reused meanwhile */
	put_str(fs, "f", "other");
	CHECK(umfs_pread(f, buf, 16, 0), 16);
	assert_memory_equal(buf, data, 16);
	CHECK(umfs_unlink(fs, "f"), 0);

	sv1 = statfs_ok(fs);
	assert_true(sv1.f_bfree + 512 <= sv0.f_bfree); /* not freed yet */
	CHECK(umfs_close(f), 0);
	sv1 = statfs_ok(fs);
	CHECK(free_pages(fs), free0);
	CHECK(sv1.f_ffree, sv0.f_ffree);

	/* the same after a remount */
	CHECK(test_pool_remount(pool_of(state)), 0);
	fs = pool_fs(state);
	sv1 = statfs_ok(fs);
	CHECK(free_pages(fs), free0);
	CHECK(sv1.f_ffree, sv0.f_ffree);
	free(data);
	free(buf);
}

static void test_symlink_readlink(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	char buf[UMFS_SYMLINK_MAX + 2];
	char *target = long_name(UMFS_SYMLINK_MAX + 1);
	struct stat st;

	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_mkdir(fs, "d/e", 0755), 0);
	put_str(fs, "d/e/file", "target data");

	CHECK(umfs_symlink(fs, "e/file", "d/rel"), 0);
	CHECK(umfs_symlink(fs, "/d/e/file", "abs"), 0);
	CHECK(umfs_symlink(fs, "../d/e", "d/updir"), 0);
	CHECK(umfs_symlink(fs, "d/e", "dirlink"), 0);

	CHECK(umfs_readlink(fs, "d/rel", buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "e/file", 6);
	CHECK(umfs_readlink(fs, "abs", buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "/d/e/file", 9);
	/* a short buffer gets the first bytes, no NUL */
	memset(buf, '#', 8);
	CHECK(umfs_readlink(fs, "abs", buf, 4), 4);
	assert_memory_equal(buf, "/d/e#", 5);

	expect_str(fs, "d/rel", "target data");
	expect_str(fs, "abs", "target data");
	expect_str(fs, "d/updir/file", "target data");
	expect_str(fs, "dirlink/file", "target data");

	st = lstat_ok(fs, "abs");
	assert_true(S_ISLNK(st.st_mode));
	CHECK(st.st_size, 9);
	CHECK(st.st_mode & 07777, 0777);
	st = stat_ok(fs, "abs");
	assert_true(S_ISREG(st.st_mode));
	CHECK(st.st_ino, stat_ok(fs, "d/e/file").st_ino);

	/* errors */
	CHECK(umfs_symlink(fs, "x", "abs"), -EEXIST);
	CHECK(umfs_symlink(fs, "x", "d"), -EEXIST);
	CHECK(umfs_symlink(fs, "x", "nodir/l"), -ENOENT);
	CHECK(umfs_readlink(fs, "d/e/file", buf, sizeof(buf)), -EINVAL);
	CHECK(umfs_readlink(fs, "d", buf, sizeof(buf)), -EINVAL);
	CHECK(umfs_readlink(fs, "missing", buf, sizeof(buf)), -ENOENT);
	/* the intermediate symlink is followed, the last one is not */
	CHECK(umfs_readlink(fs, "dirlink/../rel", buf, sizeof(buf)), 6);

	/* a target of UMFS_SYMLINK_MAX bytes is the limit */
	CHECK(umfs_symlink(fs, target, "toolong"), -ENAMETOOLONG);
	target[UMFS_SYMLINK_MAX] = '\0';
	CHECK(umfs_symlink(fs, target, "longest"), 0);
	CHECK(umfs_readlink(fs, "longest", buf, sizeof(buf)), UMFS_SYMLINK_MAX);
	assert_memory_equal(buf, target, UMFS_SYMLINK_MAX);

	/* dangling links */
	CHECK(umfs_symlink(fs, "nowhere", "dangling"), 0);
	CHECK(umfs_stat(fs, "dangling", &st, 0), -ENOENT);
	assert_true(S_ISLNK(lstat_ok(fs, "dangling").st_mode));
	CHECK(open_err(fs, "dangling", O_CREAT | O_EXCL | O_WRONLY), -EEXIST);
	/* O_CREAT through a dangling link creates its target */
	CHECK(open_err(fs, "dangling", O_CREAT | O_WRONLY), 0);
	assert_true(S_ISREG(stat_ok(fs, "nowhere").st_mode));

	/* two walks at once whose last names lie in expanded links: each
	 * keeps its own */
	CHECK(umfs_symlink(fs, "d", "ld"), 0);
	put_str(fs, "dirlink/ra", "moved");
	CHECK(umfs_rename(fs, "dirlink/ra", "ld/rb", 0), 0);
	expect_str(fs, "d/rb", "moved");
	CHECK(umfs_stat(fs, "d/e/ra", &st, 0), -ENOENT);
	CHECK(umfs_stat(fs, "d/e/rb", &st, 0), -ENOENT);
	CHECK(umfs_link(fs, "ld/rb", "dirlink/rc"), 0);
	expect_str(fs, "d/e/rc", "moved");
	CHECK(umfs_stat(fs, "d/rc", &st, 0), -ENOENT);

	/* persistence */
	CHECK(test_pool_remount(pool_of(state)), 0);
	fs = pool_fs(state);
	CHECK(umfs_readlink(fs, "d/rel", buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "e/file", 6);
	CHECK(umfs_readlink(fs, "longest", buf, sizeof(buf)), UMFS_SYMLINK_MAX);
	assert_memory_equal(buf, target, UMFS_SYMLINK_MAX);
	expect_str(fs, "abs", "target data");
	free(target);
}

static void test_symlink_loops(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	char from[32], to[32];
	struct stat st;

	CHECK(umfs_symlink(fs, "b", "a"), 0);
	CHECK(umfs_symlink(fs, "a", "b"), 0);
	CHECK(umfs_symlink(fs, "self", "self"), 0);
	CHECK(umfs_symlink(fs, "self/x", "through"), 0);

	CHECK(open_err(fs, "a", O_RDONLY), -ELOOP);
	CHECK(open_err(fs, "a", O_CREAT | O_RDWR), -ELOOP);
	CHECK(umfs_stat(fs, "self", &st, 0), -ELOOP);
	CHECK(umfs_stat(fs, "through", &st, 0), -ELOOP);
	CHECK(umfs_stat(fs, "a/x", &st, 0), -ELOOP);
	CHECK(umfs_mkdir(fs, "self/x", 0755), -ELOOP);
	assert_true(S_ISLNK(lstat_ok(fs, "self").st_mode));
	/* removing or renaming a loop does not follow it */
	CHECK(umfs_rename(fs, "a", "c", 0), 0);
	CHECK(umfs_unlink(fs, "c"), 0);
	CHECK(open_err(fs, "b", O_RDONLY), -ENOENT);

	/* a chain of 30 links resolves; one of 45 exceeds the limit of 40 */
	put_str(fs, "end", "reached");
	for (int i = 0; i < 45; i++) {
		snprintf(to, sizeof(to), i ? "c%d" : "end", i - 1);
		snprintf(from, sizeof(from), "c%d", i);
		CHECK(umfs_symlink(fs, to, from), 0);
	}
	expect_str(fs, "c29", "reached");
	CHECK(umfs_stat(fs, "c44", &st, 0), -ELOOP);
}

static void test_dot_and_dotdot(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat st;

	CHECK(umfs_mkdir(fs, "a", 0755), 0);
	CHECK(umfs_mkdir(fs, "a/b", 0755), 0);
	put_str(fs, "a/b/f", "f");
	expect_str(fs, "a/./b/../b//f", "f");
	expect_str(fs, "/a/b/../../a/b/f", "f");
	expect_str(fs, "a/b/../../../../a/b/f", "f"); /* ".." at the root stays there */
	CHECK(umfs_stat(fs, "a/missing/../b", &st, 0), -ENOENT);
	CHECK(umfs_stat(fs, "a/b/f/..", &st, 0), -ENOTDIR);
	CHECK(umfs_stat(fs, "a/b/f/.", &st, 0), -ENOTDIR);
	CHECK(umfs_mkdir(fs, "a/b/.", 0755), -EEXIST);
	CHECK(umfs_mkdir(fs, "a/b/..", 0755), -EEXIST);
	CHECK(umfs_unlink(fs, "a/b/.."), -EISDIR);
	/* a last component of "." or "..": POSIX says EINVAL, Linux EBUSY */
	CHECK_ONE_OF(umfs_rename(fs, "a/b/.", "x", 0), -EINVAL, -EBUSY);
	CHECK_ONE_OF(umfs_rename(fs, "a/b/f", "a/b/..", 0), -EINVAL, -EBUSY);
	CHECK(umfs_stat(fs, "a/b/x/", &st, 0), -ENOENT);
}

/* ------------------------------------------------------------------ */
/* Attributes                                                            */
/* ------------------------------------------------------------------ */

static void test_stat_fields(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	uint8_t data[10000];
	struct umfs_file *f;
	struct stat st, st2, dst0, dst1;
	int64_t t0 = now_ns();

	memset(data, 'x', sizeof(data));
	nap();
	dst0 = stat_ok(fs, "/");
	f = open_ok(fs, "f", O_CREAT | O_EXCL | O_RDWR, 0640);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_mode, S_IFREG | 0640);
	CHECK(st.st_nlink, 1);
	CHECK(st.st_size, 0);
	CHECK(st.st_blocks, 0);
	CHECK(st.st_uid, geteuid());
	CHECK(st.st_gid, getegid());
	assert_true(st.st_blksize >= 4096);
	assert_true(st.st_ino != 0);
	assert_true(ts_ns(st.st_mtim) > t0 && ts_ns(st.st_mtim) <= now_ns());
	assert_true(ts_ns(st.st_ctim) > t0 && ts_ns(st.st_ctim) <= now_ns());
	/* creating a name changes the parent's mtime and ctime */
	dst1 = stat_ok(fs, "/");
	assert_true(ts_ns(dst1.st_mtim) > ts_ns(dst0.st_mtim));
	assert_true(ts_ns(dst1.st_ctim) > ts_ns(dst0.st_ctim));

	/* a write moves mtime and ctime, and blocks cover the data */
	nap();
	CHECK(umfs_write(f, data, sizeof(data)), sizeof(data));
	CHECK(umfs_fstat(f, &st2), 0);
	CHECK(st2.st_size, sizeof(data));
	assert_true(st2.st_blocks >= 24); /* 3 pages of 512-byte blocks */
	assert_true(st2.st_blocks <= 24 + 64);
	assert_true(ts_ns(st2.st_mtim) > ts_ns(st.st_mtim));
	assert_true(ts_ns(st2.st_ctim) > ts_ns(st.st_ctim));
	/* stat by path agrees with fstat */
	st = stat_ok(fs, "f");
	CHECK(st.st_ino, st2.st_ino);
	CHECK(st.st_size, st2.st_size);
	CHECK(ts_ns(st.st_mtim), ts_ns(st2.st_mtim));

	/* chmod moves ctime only */
	nap();
	CHECK(umfs_chmod(fs, "f", 0600, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(st.st_mode, S_IFREG | 0600);
	CHECK(ts_ns(st.st_mtim), ts_ns(st2.st_mtim));
	assert_true(ts_ns(st.st_ctim) > ts_ns(st2.st_ctim));
	/* a read moves neither */
	nap();
	CHECK(umfs_pread(f, data, 100, 0), 100);
	st2 = stat_ok(fs, "f");
	CHECK(ts_ns(st2.st_mtim), ts_ns(st.st_mtim));
	CHECK(ts_ns(st2.st_ctim), ts_ns(st.st_ctim));
	CHECK(umfs_close(f), 0);

	/* timestamps persist */
	CHECK(test_pool_remount(pool_of(state)), 0);
	st = stat_ok(pool_fs(state), "f");
	CHECK(ts_ns(st.st_mtim), ts_ns(st2.st_mtim));
	CHECK(ts_ns(st.st_ctim), ts_ns(st2.st_ctim));
	CHECK(st.st_ino, st2.st_ino);

	/* unknown flags are refused */
	CHECK(umfs_stat(pool_fs(state), "f", &st, 0x40000000), -EINVAL);
}

static void test_utimens(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };
	struct stat st, st2;
	int64_t t0;

	put_str(fs, "f", "x");
	CHECK(umfs_utimens(fs, "f", ts, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(ts_ns(st.st_atim), ts_ns(ts[0]));
	CHECK(ts_ns(st.st_mtim), ts_ns(ts[1]));

	/* UTIME_OMIT leaves a time alone, UTIME_NOW takes the clock */
	t0 = now_ns();
	nap();
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	CHECK(umfs_utimens(fs, "f", ts, 0), 0);
	st2 = stat_ok(fs, "f");
	CHECK(ts_ns(st2.st_atim), ts_ns(st.st_atim));
	assert_true(ts_ns(st2.st_mtim) > t0 && ts_ns(st2.st_mtim) <= now_ns());
	assert_true(ts_ns(st2.st_ctim) > t0);

	ts[0] = (struct timespec){ 5, 0 };
	ts[1].tv_nsec = UTIME_OMIT;
	CHECK(umfs_utimens(fs, "f", ts, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(ts_ns(st.st_atim), 5000000000ll);
	CHECK(ts_ns(st.st_mtim), ts_ns(st2.st_mtim));

	/* NULL means both now */
	t0 = now_ns();
	nap();
	CHECK(umfs_utimens(fs, "f", NULL, 0), 0);
	st = stat_ok(fs, "f");
	assert_true(ts_ns(st.st_atim) > t0);
	assert_true(ts_ns(st.st_mtim) > t0);

	/* times before 1970 are kept */
	ts[0] = (struct timespec){ -1000, 500 };
	ts[1] = (struct timespec){ -2000, 0 };
	CHECK(umfs_utimens(fs, "f", ts, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(ts_ns(st.st_atim), ts_ns(ts[0]));
	CHECK(ts_ns(st.st_mtim), ts_ns(ts[1]));

	/* AT_SYMLINK_NOFOLLOW sets the link's own times */
	CHECK(umfs_symlink(fs, "f", "l"), 0);
	ts[0] = (struct timespec){ 7, 7 };
	ts[1] = (struct timespec){ 8, 8 };
	CHECK(umfs_utimens(fs, "l", ts, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(ts_ns(lstat_ok(fs, "l").st_mtim), 8000000008ll);
	CHECK(ts_ns(stat_ok(fs, "l").st_mtim), ts_ns(st.st_mtim));

	/* errors */
	ts[0] = (struct timespec){ 0, 1000000000 };
	CHECK(umfs_utimens(fs, "f", ts, 0), -EINVAL);
	ts[0] = (struct timespec){ 0, -5 };
	CHECK(umfs_utimens(fs, "f", ts, 0), -EINVAL);
	CHECK(umfs_utimens(fs, "missing", NULL, 0), -ENOENT);
	CHECK(umfs_utimens(fs, "f", NULL, 0x40000000), -EINVAL);

	CHECK(test_pool_remount(pool_of(state)), 0);
	CHECK(ts_ns(lstat_ok(pool_fs(state), "l").st_mtim), 8000000008ll);
	CHECK(ts_ns(stat_ok(pool_fs(state), "f").st_mtim), -2000000000000ll);
}

static void test_chmod_chown(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	struct stat st;

	if (geteuid() != 0)
		skip(); /* chown to other users is root's privilege */
	put_str(fs, "f", "x");
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_symlink(fs, "f", "l"), 0);

	CHECK(umfs_chmod(fs, "f", 04751, 0), 0);
	CHECK(stat_ok(fs, "f").st_mode, S_IFREG | 04751);
	CHECK(umfs_chmod(fs, "d", 01700, 0), 0);
	CHECK(stat_ok(fs, "d").st_mode, S_IFDIR | 01700);
	/* through a symlink: the target changes */
	CHECK(umfs_chmod(fs, "l", 0600, 0), 0);
	CHECK(stat_ok(fs, "f").st_mode, S_IFREG | 0600);
	CHECK(lstat_ok(fs, "l").st_mode, S_IFLNK | 0777);
	CHECK(umfs_chmod(fs, "missing", 0600, 0), -ENOENT);
	CHECK(umfs_chmod(fs, "f/x", 0600, 0), -ENOTDIR);

	CHECK(umfs_chown(fs, "f", 1000, 2000, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(st.st_uid, 1000);
	CHECK(st.st_gid, 2000);
	/* -1 keeps a value */
	CHECK(umfs_chown(fs, "f", (uid_t)-1, 3000, 0), 0);
	st = stat_ok(fs, "f");
	CHECK(st.st_uid, 1000);
	CHECK(st.st_gid, 3000);
	CHECK(umfs_chown(fs, "f", 4000, (gid_t)-1, 0), 0);
	CHECK(stat_ok(fs, "f").st_uid, 4000);
	CHECK(stat_ok(fs, "f").st_gid, 3000);
	/* AT_SYMLINK_NOFOLLOW changes the link, not the target */
	CHECK(umfs_chown(fs, "l", 55, 66, AT_SYMLINK_NOFOLLOW), 0);
	st = lstat_ok(fs, "l");
	CHECK(st.st_uid, 55);
	CHECK(st.st_gid, 66);
	CHECK(stat_ok(fs, "f").st_uid, 4000);
	CHECK(umfs_chown(fs, "missing", 0, 0, 0), -ENOENT);

	/* through an open file */
	f = open_ok(fs, "f", O_RDONLY, 0);
	CHECK(umfs_fchmod(f, 0444), 0);
	CHECK(umfs_fchown(f, 7, 8), 0);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_mode, S_IFREG | 0444);
	CHECK(st.st_uid, 7);
	CHECK(st.st_gid, 8);
	CHECK(umfs_close(f), 0);

	CHECK(test_pool_remount(pool_of(state)), 0);
	st = stat_ok(pool_fs(state), "f");
	CHECK(st.st_mode, S_IFREG | 0444);
	CHECK(st.st_uid, 7);
	CHECK(st.st_gid, 8);
	CHECK(stat_ok(pool_fs(state), "d").st_mode, S_IFDIR | 01700);
}

static void test_statfs(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct statvfs sv0 = statfs_ok(fs), sv1;
	uint64_t free0 = free_pages(fs);
	uint8_t *data = calloc(1, 1 * MiB);

	assert_non_null(data);
	CHECK(sv0.f_bsize, 4096);
	CHECK(sv0.f_frsize, 4096);
	CHECK(sv0.f_namemax, 255);
	/* a 64 MiB pool: most of it is data pages, all but a few free */
	assert_true(sv0.f_blocks * 4096 <= 64 * MiB);
	assert_true(sv0.f_blocks * 4096 >= 48 * MiB);
	assert_true(sv0.f_bfree <= sv0.f_blocks);
	assert_true(sv0.f_bfree + 64 >= sv0.f_blocks);
	assert_true(sv0.f_bavail <= sv0.f_bfree);
	assert_true(sv0.f_ffree < sv0.f_files);
	assert_true(sv0.f_ffree + 8 >= sv0.f_files);
	CHECK(sv0.f_favail, sv0.f_ffree);

	put_file(fs, "f", data, 1 * MiB, 0644);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree - 1);
	assert_true(sv0.f_bfree - sv1.f_bfree >= 256);
	assert_true(sv0.f_bfree - sv1.f_bfree <= 256 + 16);
	CHECK(sv1.f_blocks, sv0.f_blocks);
	CHECK(sv1.f_files, sv0.f_files);

	CHECK(umfs_unlink(fs, "f"), 0);
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_ffree, sv0.f_ffree);
	CHECK(free_pages(fs), free0);
	free(data);
}

static void test_mknod(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct stat st;

	CHECK(umfs_mknod(fs, "fifo", S_IFIFO | 0644, 0), 0);
	CHECK(umfs_mknod(fs, "reg", S_IFREG | 0600, 0), 0);
	CHECK(umfs_mknod(fs, "chr", S_IFCHR | 0600, makedev(1, 3)), 0);
	st = lstat_ok(fs, "fifo");
	CHECK(st.st_mode, S_IFIFO | 0644);
	st = lstat_ok(fs, "reg");
	CHECK(st.st_mode, S_IFREG | 0600);
	CHECK(st.st_size, 0);
	st = lstat_ok(fs, "chr");
	CHECK(st.st_mode, S_IFCHR | 0600);
	CHECK(st.st_rdev, makedev(1, 3));
	CHECK(umfs_mknod(fs, "fifo", S_IFIFO | 0644, 0), -EEXIST);
	/* not mknod's job: unspecified by POSIX, EPERM on Linux */
	CHECK_ONE_OF(umfs_mknod(fs, "d", S_IFDIR | 0755, 0), -EPERM, -EINVAL);
}

/* Special files: opened by front ends, named by O_PATH, never truncated;
 * umfs_stat_id names the inode as an open of it does. */
static void test_special_files(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	struct stat st;
	uint64_t ino;
	uint32_t gen, fgen;

	CHECK(umfs_mknod(fs, "sock", S_IFSOCK | 0755, 0), 0);
	CHECK(umfs_mknod(fs, "fifo", S_IFIFO | 0644, 0), 0);
	CHECK(umfs_open(fs, "sock", O_RDONLY, 0, &f), -ENXIO);
	CHECK(umfs_open(fs, "fifo", O_WRONLY, 0, &f), -ENXIO);
	CHECK(umfs_truncate(fs, "sock", 0), -EINVAL);
	CHECK(umfs_truncate(fs, "fifo", 0), -EINVAL);
	CHECK(umfs_stat_id(fs, "sock", &st, AT_SYMLINK_NOFOLLOW, &gen), 0);
	CHECK(st.st_mode, S_IFSOCK | 0755);
	CHECK(umfs_open(fs, "sock", O_PATH, 0, &f), 0);
	umfs_file_id(f, &ino, &fgen);
	CHECK(ino, (uint64_t)st.st_ino);
	CHECK(fgen, gen);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_mode, S_IFSOCK | 0755);
	CHECK(umfs_read(f, &st, 1), -EBADF);
	CHECK(umfs_close(f), 0);
	/* a new inode of the same number has another generation */
	CHECK(umfs_unlink(fs, "sock"), 0);
	CHECK(umfs_mknod(fs, "sock2", S_IFSOCK | 0755, 0), 0);
	CHECK(umfs_stat_id(fs, "sock2", &st, 0, &fgen), 0);
	if ((uint64_t)st.st_ino == ino)
		CHECK(fgen != gen, 1);
}

/* ------------------------------------------------------------------ */
/* Directories                                                           */
/* ------------------------------------------------------------------ */

static void test_readdir_listing(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	enum { N = 1500 };
	static const char *names[N];
	static char store[N][32];
	struct dlist dl = { 0 };
	size_t n;

	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	/* enough names of varied length to need many entry blocks and the hash index */
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			snprintf(store[i], sizeof(store[i]), "f%d", i);
		else
			snprintf(store[i], sizeof(store[i]), "name-%d-%.*s", i, i % 17,
				 "abcdefghijklmnopq");
		names[i] = store[i];
		if (i % 10 == 0) {
			char p[48];

			snprintf(p, sizeof(p), "d/%s", store[i]);
			CHECK(umfs_mkdir(fs, p, 0755), 0);
		} else {
			char p[48];

			snprintf(p, sizeof(p), "d/%s", store[i]);
			CHECK(open_err(fs, p, O_CREAT | O_EXCL | O_WRONLY), 0);
		}
	}
	list_dir(fs, "d", &dl);
	dl_expect(&dl, names, N);
	for (int i = 0; i < N; i++) {
		const struct umfs_dirent *e = dl_find(&dl, names[i]);
		char p[48];

		snprintf(p, sizeof(p), "d/%s", names[i]);
		CHECK(e->type, i % 10 == 0 ? DT_DIR : DT_REG);
		CHECK(e->ino, lstat_ok(fs, p).st_ino);
	}
	CHECK(dl_find(&dl, "..")->ino, stat_ok(fs, "/").st_ino);
	CHECK(dl_find(&dl, ".")->ino, stat_ok(fs, "d").st_ino);
	CHECK(stat_ok(fs, "d").st_nlink, 2 + N / 10);

	/* remove every other name; the listing follows exactly */
	n = 0;
	for (int i = 0; i < N; i++) {
		char p[48];

		snprintf(p, sizeof(p), "d/%s", names[i]);
		if (i % 2 == 0) {
			if (i % 10 == 0)
				CHECK(umfs_rmdir(fs, p), 0);
			else
				CHECK(umfs_unlink(fs, p), 0);
		} else {
			names[n++] = names[i];
		}
	}
	list_dir(fs, "d", &dl);
	dl_expect(&dl, names, n);

	CHECK(test_pool_remount(pool_of(state)), 0);
	fs = pool_fs(state);
	list_dir(fs, "d", &dl);
	dl_expect(&dl, names, n);
	for (size_t i = 0; i < n; i++) {
		char p[48];
		struct stat st;

		snprintf(p, sizeof(p), "d/%s", names[i]);
		CHECK(umfs_stat(fs, p, &st, 0), 0);
	}

	CHECK(umfs_opendir(fs, "missing", &(struct umfs_dir *){ NULL }), -ENOENT);
	put_str(fs, "file", "x");
	CHECK(umfs_opendir(fs, "file", &(struct umfs_dir *){ NULL }), -ENOTDIR);
	dl_free(&dl);
}

/* Cookies stay valid while entries come and go (umfs.h). */
static void test_readdir_cookies(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	enum { N = 600 };
	static bool seen[N], removed[N];
	struct umfs_dir *d;
	struct umfs_dirent ent, a[8], b[8];
	uint64_t cookie;
	int ret, count = 0;
	char p[64];

	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "d/e%04d", i);
		CHECK(open_err(fs, p, O_CREAT | O_EXCL | O_WRONLY), 0);
	}

	/* telldir/seekdir replay the same entries */
	CHECK(umfs_opendir(fs, "d", &d), 0);
	for (int i = 0; i < 50; i++)
		CHECK(umfs_readdir(d, &ent), 1);
	cookie = umfs_telldir(d);
	for (int i = 0; i < 8; i++)
		CHECK(umfs_readdir(d, &a[i]), 1);
	umfs_seekdir(d, cookie);
	for (int i = 0; i < 8; i++) {
		CHECK(umfs_readdir(d, &b[i]), 1);
		assert_string_equal(a[i].name, b[i].name);
		CHECK(a[i].ino, b[i].ino);
	}
	/* next_cookie points just after its entry */
	umfs_seekdir(d, a[2].next_cookie);
	CHECK(umfs_readdir(d, &ent), 1);
	assert_string_equal(ent.name, a[3].name);
	CHECK(umfs_closedir(d), 0);

	/* read part way, then remove unseen entries and add new ones */
	CHECK(umfs_opendir(fs, "d", &d), 0);
	while (count < 200 && (ret = umfs_readdir(d, &ent)) == 1) {
		int i;

		if (sscanf(ent.name, "e%d", &i) == 1) {
			assert_false(seen[i]);
			seen[i] = true;
		}
		count++;
	}
	for (int i = 0; i < N; i += 3) {
		if (seen[i])
			continue;
		snprintf(p, sizeof(p), "d/e%04d", i);
		CHECK(umfs_unlink(fs, p), 0);
		removed[i] = true;
	}
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "d/new%04d", i);
		CHECK(open_err(fs, p, O_CREAT | O_EXCL | O_WRONLY), 0);
	}
	while ((ret = umfs_readdir(d, &ent)) == 1) {
		int i;

		if (sscanf(ent.name, "e%d", &i) == 1 && ent.name[0] == 'e') {
			if (seen[i])
				fail_msg("%s returned twice", ent.name);
			seen[i] = true;
		}
	}
	CHECK(ret, 0);
	CHECK(umfs_closedir(d), 0);
	/* every entry that stayed was returned exactly once */
	for (int i = 0; i < N; i++)
		if (!removed[i] && !seen[i])
			fail_msg("e%04d was never returned", i);
}

/* ------------------------------------------------------------------ */
/* Persistence                                                            */
/* ------------------------------------------------------------------ */

struct snap {
	const char *path;
	struct stat st;
};

static void test_persistence(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_fs *fs = tp->fs;
	static const char *const paths[] = {
		"/", "a", "a/b", "a/b/c", "a/f1", "a/b/f2", "a/b/c/sparse", "hard1", "a/hard2",
		"sym", "a/b/symdir", "fifo", "empty",
	};
	struct snap snaps[UMFS_ARRAY_SIZE(paths)];
	struct timespec ts[2] = { { 1234567890, 111 }, { 1234567891, 222 } };
	uint8_t *big = malloc(5 * MiB);
	struct umfs_file *f;
	struct statvfs sv0, sv1;
	struct dlist dl = { 0 };
	char buf[64];

	assert_non_null(big);
	test_fill(big, 5 * MiB, 99);
	CHECK(umfs_mkdir(fs, "a", 0700), 0);
	CHECK(umfs_mkdir(fs, "a/b", 0711), 0);
	CHECK(umfs_mkdir(fs, "a/b/c", 0755), 0);
	put_file(fs, "a/f1", big, 5 * MiB, 0640);
	put_str(fs, "a/b/f2", "second file");
	f = open_ok(fs, "a/b/c/sparse", O_CREAT | O_WRONLY, 0600);
	CHECK(umfs_pwrite(f, "tail", 4, 3 * GiB), 4);
	CHECK(umfs_pwrite(f, "head", 4, 0), 4);
	CHECK(umfs_close(f), 0);
	put_str(fs, "hard1", "linked");
	CHECK(umfs_link(fs, "hard1", "a/hard2"), 0);
	CHECK(umfs_symlink(fs, "a/b/f2", "sym"), 0);
	CHECK(umfs_symlink(fs, "/a/b/c", "a/b/symdir"), 0);
	CHECK(umfs_mknod(fs, "fifo", S_IFIFO | 0600, 0), 0);
	put_str(fs, "empty", "");
	CHECK(umfs_chown(fs, "a/b/f2", 1234, 5678, 0), 0);
	CHECK(umfs_utimens(fs, "a/f1", ts, 0), 0);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(paths); i++) {
		snaps[i].path = paths[i];
		snaps[i].st = lstat_ok(fs, paths[i]);
	}
	sv0 = statfs_ok(fs);

	CHECK(test_pool_remount(tp), 0);
	fs = tp->fs;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(paths); i++) {
		struct stat st = lstat_ok(fs, paths[i]);
		const struct stat *o = &snaps[i].st;

		CHECK(st.st_ino, o->st_ino);
		CHECK(st.st_mode, o->st_mode);
		CHECK(st.st_nlink, o->st_nlink);
		CHECK(st.st_uid, o->st_uid);
		CHECK(st.st_gid, o->st_gid);
		CHECK(st.st_blocks, o->st_blocks);
		if (!S_ISDIR(st.st_mode))
			CHECK(st.st_size, o->st_size);
		CHECK(ts_ns(st.st_mtim), ts_ns(o->st_mtim));
		CHECK(ts_ns(st.st_ctim), ts_ns(o->st_ctim));
	}
	sv1 = statfs_ok(fs);
	CHECK(sv1.f_bfree, sv0.f_bfree);
	CHECK(sv1.f_ffree, sv0.f_ffree);

	expect_content(fs, "a/f1", big, 5 * MiB);
	expect_str(fs, "a/b/f2", "second file");
	expect_str(fs, "sym", "second file");
	expect_str(fs, "a/hard2", "linked");
	CHECK(stat_ok(fs, "a/hard2").st_nlink, 2);
	CHECK(stat_ok(fs, "a/b/symdir").st_ino, stat_ok(fs, "a/b/c").st_ino);
	CHECK(stat_ok(fs, "a/b/c/sparse").st_size, 3 * GiB + 4);
	f = open_ok(fs, "a/b/c/sparse", O_RDONLY, 0);
	CHECK(umfs_pread(f, buf, 8, 3 * GiB - 4), 8);
	assert_memory_equal(buf, "\0\0\0\0tail", 8);
	CHECK(umfs_pread(f, buf, 4, 0), 4);
	assert_memory_equal(buf, "head", 4);
	CHECK(umfs_pread(f, buf, 8, 1 * GiB), 8);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	CHECK(umfs_close(f), 0);
	CHECK(ts_ns(stat_ok(fs, "a/f1").st_atim), ts_ns(ts[0]));

	list_dir(fs, "/", &dl);
	dl_expect(&dl, (const char *const[]){ "a", "hard1", "sym", "fifo", "empty" }, 5);
	list_dir(fs, "a/b", &dl);
	dl_expect(&dl, (const char *const[]){ "c", "f2", "symdir" }, 3);
	CHECK(dl_find(&dl, "symdir")->type, DT_LNK);
	CHECK(dl_find(&dl, "c")->type, DT_DIR);
	CHECK(dl_find(&dl, "f2")->type, DT_REG);
	dl_free(&dl);

	/* and the pool keeps working after the remount */
	CHECK(umfs_rename(fs, "a/f1", "moved", 0), 0);
	CHECK(umfs_unlink(fs, "hard1"), 0);
	CHECK(test_pool_remount(tp), 0);
	expect_content(tp->fs, "moved", big, 5 * MiB);
	CHECK(stat_ok(tp->fs, "a/hard2").st_nlink, 1);
	free(big);
}

/* ------------------------------------------------------------------ */
/* Full pool                                                              */
/* ------------------------------------------------------------------ */

enum { FILL_FILES = 3, FILL_CHUNK = 64 * 1024 };

static void fill_chunk(uint8_t *buf, int file, uint64_t chunk)
{
	test_fill(buf, FILL_CHUNK, (uint64_t)file << 32 | chunk);
}

/* Asserts that file i holds size bytes of its fill pattern. */
static void expect_filled(struct umfs_fs *fs, int i, uint64_t size)
{
	uint8_t *want = malloc(FILL_CHUNK), *got = malloc(FILL_CHUNK);
	char path[32];
	struct umfs_file *f;

	assert_non_null(want);
	assert_non_null(got);
	snprintf(path, sizeof(path), "fill%d", i);
	f = open_ok(fs, path, O_RDONLY, 0);
	CHECK(stat_ok(fs, path).st_size, size);
	for (uint64_t off = 0; off < size; off += FILL_CHUNK) {
		size_t len = UMFS_MIN(size - off, FILL_CHUNK);

		fill_chunk(want, i, off / FILL_CHUNK);
		CHECK(umfs_pread(f, got, FILL_CHUNK, off), len);
		if (memcmp(want, got, len) != 0)
			fail_msg("fill%d: data lost at %llu", i, (unsigned long long)off);
	}
	CHECK(umfs_close(f), 0);
	free(want);
	free(got);
}

static void test_enospc_data(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_fs *fs = tp->fs;
	uint64_t size[FILL_FILES] = { 0 };
	uint8_t *buf = malloc(FILL_CHUNK);
	struct umfs_file *f[FILL_FILES];
	struct statvfs sv;
	bool full = false;
	char path[32];
	int err;

	assert_non_null(buf);
	for (int i = 0; i < FILL_FILES; i++) {
		snprintf(path, sizeof(path), "fill%d", i);
		f[i] = open_ok(fs, path, O_CREAT | O_RDWR, 0644);
	}
	/* interleaved appends in chunks until the pool refuses */
	for (uint64_t chunk = 0; !full; chunk++) {
		for (int i = 0; i < FILL_FILES; i++) {
			ssize_t n;

			fill_chunk(buf, i, chunk);
			n = umfs_pwrite(f[i], buf, FILL_CHUNK, (off_t)(chunk * FILL_CHUNK));
			if (n == -ENOSPC) {
				full = true;
				break;
			}
			/* a short write is fine; any other error is not */
			if (n <= 0)
				fail_msg("pwrite = %zd (%s)", n, err_name(n));
			size[i] += (uint64_t)n;
			if (n < FILL_CHUNK) {
				full = true;
				break;
			}
		}
		assert_true(chunk < 1024); /* a 16 MiB pool cannot take 64 MiB */
	}
	/* after a short write, the next one must say ENOSPC */
	CHECK(umfs_pwrite(f[0], buf, FILL_CHUNK, (off_t)size[0] + 10 * FILL_CHUNK), -ENOSPC);
	CHECK(umfs_fallocate(f[1], 0, (off_t)size[1], 1 * MiB), -ENOSPC);
	CHECK(stat_ok(fs, "fill1").st_size, size[1]);
	sv = statfs_ok(fs);
	assert_true(sv.f_bavail < 64); /* the pool really is (nearly) full */
	assert_true(size[0] + size[1] + size[2] >= 8 * MiB);

	/* metadata operations fail cleanly or succeed; nothing else */
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "dir%d", i);
		err = umfs_mkdir(fs, path, 0755);
		if (err != 0 && err != -ENOSPC)
			fail_msg("mkdir on a full pool = %d (%s)", err, err_name(err));
	}
	for (int i = 0; i < FILL_FILES; i++)
		CHECK(umfs_close(f[i]), 0);

	/* nothing already written is lost, also after a remount */
	for (int i = 0; i < FILL_FILES; i++)
		expect_filled(fs, i, size[i]);
	CHECK(test_pool_remount(tp), 0);
	fs = tp->fs;
	for (int i = 0; i < FILL_FILES; i++)
		expect_filled(fs, i, size[i]);

	/* freeing a file gives its space back */
	CHECK(umfs_unlink(fs, "fill0"), 0);
	assert_true(statfs_ok(fs).f_bfree * 4096 >= size[0]);
	f[0] = open_ok(fs, "after", O_CREAT | O_RDWR, 0644);
	test_fill(buf, FILL_CHUNK, 5);
	CHECK(umfs_pwrite(f[0], buf, FILL_CHUNK, 0), FILL_CHUNK);
	CHECK(umfs_close(f[0]), 0);
	expect_content(fs, "after", buf, FILL_CHUNK);
	free(buf);
}

/* A fallocate the pool cannot hold fails with ENOSPC and leaves the pool
 * and its files as it found them, as on tmpfs: every page free before is
 * free after, the sizes, the blocks and the bytes are what they were.
 * Past the free count it fails before it maps a page; with the data pages
 * free but not the page-table pages they need, it fails after mapping
 * and gives them back. */
static void test_enospc_fallocate(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_fs *fs = tp->fs;
	const off_t data_len = 64 * 1024, far = 8 * MiB;
	uint8_t *data = malloc(data_len);
	struct umfs_file *big, *sparse, *keep;
	struct stat st_sparse, st_keep;
	uint64_t free0;
	off_t room;

	assert_non_null(data);
	test_fill(data, data_len, 7);
	keep = open_ok(fs, "keep", O_CREAT | O_RDWR, 0644);
	CHECK(umfs_fallocate(keep, FALLOC_FL_KEEP_SIZE, 0, 256 * 1024), 0);
	sparse = open_ok(fs, "sparse", O_CREAT | O_RDWR, 0644);
	CHECK(umfs_pwrite(sparse, data, data_len, 0), data_len);
	CHECK(umfs_pwrite(sparse, data, data_len, far), data_len);
	big = open_ok(fs, "big", O_CREAT | O_RDWR, 0644);
	st_sparse = stat_ok(fs, "sparse");
	st_keep = stat_ok(fs, "keep");
	free0 = statfs_ok(fs).f_bfree;
	room = (off_t)free0 * 4096;

	struct {
		struct umfs_file *f;
		int mode;
		off_t off, len;
	} calls[] = {
		{ big, 0, 0, 2 * room },                     /* past the free count */
		{ big, 0, 0, room },                         /* the tables do not fit */
		{ big, FALLOC_FL_KEEP_SIZE, 0, room },
		{ big, FALLOC_FL_ZERO_RANGE, 0, room },
		{ sparse, 0, 0, far + room },                /* over data and holes */
		{ sparse, FALLOC_FL_ZERO_RANGE, data_len, far + room },
		{ keep, 0, 0, room + 256 * 1024 },           /* over its own pages */
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		CHECK(umfs_fallocate(calls[i].f, calls[i].mode, calls[i].off, calls[i].len),
		      -ENOSPC);
		if (statfs_ok(fs).f_bfree != free0)
			fail_msg("call %zu: %llu pages free after, %llu before", i,
				 (unsigned long long)statfs_ok(fs).f_bfree,
				 (unsigned long long)free0);
		CHECK(stat_ok(fs, "big").st_size, 0);
		CHECK(stat_ok(fs, "big").st_blocks, 0);
		CHECK(stat_ok(fs, "sparse").st_size, st_sparse.st_size);
		CHECK(stat_ok(fs, "sparse").st_blocks, st_sparse.st_blocks);
		CHECK(stat_ok(fs, "keep").st_size, 0);
		CHECK(stat_ok(fs, "keep").st_blocks, st_keep.st_blocks);
	}
	{
		uint8_t *got = malloc(data_len);

		assert_non_null(got);
		CHECK(umfs_pread(sparse, got, data_len, 0), data_len);
		assert_memory_equal(got, data, data_len);
		CHECK(umfs_pread(sparse, got, data_len, far), data_len);
		assert_memory_equal(got, data, data_len);
		free(got);
	}
	/* what fits still goes */
	CHECK(umfs_fallocate(big, 0, 0, room / 2), 0);
	CHECK(stat_ok(fs, "big").st_size, room / 2);
	CHECK(umfs_close(big), 0);
	CHECK(umfs_close(sparse), 0);
	CHECK(umfs_close(keep), 0);
	free(data);
}

static void test_enospc_inodes(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_fs *fs = tp->fs;
	struct statvfs sv = statfs_ok(fs);
	uint64_t avail = sv.f_ffree, made = 0;
	char path[32];
	int err;

	assert_true(avail > 4 && avail < 200);
	for (;;) {
		snprintf(path, sizeof(path), "f%llu", (unsigned long long)made);
		err = open_err(fs, path, O_CREAT | O_EXCL | O_WRONLY);
		if (err == -ENOSPC)
			break;
		CHECK(err, 0);
		made++;
		assert_true(made <= avail);
	}
	CHECK(made, avail);
	CHECK(statfs_ok(fs).f_ffree, 0);
	/* every kind of creation fails the same way, and leaves no name behind */
	CHECK(umfs_mkdir(fs, "d", 0755), -ENOSPC);
	CHECK(umfs_symlink(fs, "f0", "s"), -ENOSPC);
	CHECK(umfs_mknod(fs, "n", S_IFIFO | 0644, 0), -ENOSPC);
	CHECK(umfs_stat(fs, "d", &(struct stat){ 0 }, 0), -ENOENT);
	CHECK(umfs_stat(fs, "s", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW), -ENOENT);
	/* link needs no inode */
	CHECK(umfs_link(fs, "f0", "f0-link"), 0);

	CHECK(umfs_unlink(fs, "f1"), 0);
	CHECK(umfs_mkdir(fs, "d", 0755), 0);
	CHECK(umfs_mkdir(fs, "d2", 0755), -ENOSPC);
	CHECK(test_pool_remount(tp), 0);
	fs = tp->fs;
	CHECK(statfs_ok(fs).f_ffree, 0);
	for (uint64_t i = 0; i < made; i++) {
		snprintf(path, sizeof(path), "f%llu", (unsigned long long)i);
		CHECK(umfs_stat(fs, path, &(struct stat){ 0 }, 0), i == 1 ? -ENOENT : 0);
	}
}

/* ------------------------------------------------------------------ */
/* Large files                                                            */
/* ------------------------------------------------------------------ */

static void test_big_file(void **state)
{
	struct test_pool *tp = pool_of(state);
	struct umfs_fs *fs = tp->fs;
	const uint64_t size = 384 * MiB, chunk = 1 * MiB;
	const size_t rdlen = 3 * MiB + 123;
	uint8_t *buf = malloc(rdlen), *want = malloc(rdlen + chunk);
	struct statvfs sv0 = statfs_ok(fs), sv1;
	uint64_t free0 = free_pages(fs);
	struct umfs_file *f;
	struct stat st;

	assert_non_null(buf);
	assert_non_null(want);
	f = open_ok(fs, "big", O_CREAT | O_WRONLY, 0644);
	for (uint64_t off = 0; off < size; off += chunk) {
		test_fill(buf, chunk, off / chunk + 1);
		CHECK(umfs_write(f, buf, chunk), chunk);
	}
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_size, size);
	assert_true((uint64_t)st.st_blocks * 512 >= size);
	/* tables cost well under 1% on top of the data */
	assert_true((uint64_t)st.st_blocks * 512 <= size + size / 100);
	CHECK(umfs_close(f), 0);
	sv1 = statfs_ok(fs);
	assert_true((sv0.f_bfree - sv1.f_bfree) * 4096 >= size);

	CHECK(test_pool_remount(tp), 0);
	fs = tp->fs;
	f = open_ok(fs, "big", O_RDONLY, 0);
	CHECK(umfs_lseek(f, 0, SEEK_HOLE), size);
	CHECK(umfs_lseek(f, 0, SEEK_SET), 0); /* SEEK_HOLE moved the offset */
	/* read back with a length that is not a multiple of anything */
	for (uint64_t off = 0; off < size; off += rdlen) {
		size_t len = UMFS_MIN(rdlen, size - off);
		uint64_t first = off / chunk, pos = 0;

		for (uint64_t c = first; c * chunk < off + len; c++, pos += chunk)
			test_fill(want + pos, chunk, c + 1);
		CHECK(umfs_read(f, buf, rdlen), len);
		if (memcmp(buf, want + (off - first * chunk), len) != 0)
			fail_msg("big: data differs near %llu", (unsigned long long)off);
	}
	CHECK(umfs_read(f, buf, rdlen), 0);
	CHECK(umfs_close(f), 0);

	/* cut it down, check the new tail, then give everything back */
	CHECK(umfs_truncate(fs, "big", 100 * MiB + 5), 0);
	f = open_ok(fs, "big", O_RDONLY, 0);
	CHECK(umfs_pread(f, buf, 100, 100 * MiB), 5);
	test_fill(want, chunk, 101);
	assert_memory_equal(buf, want, 5);
	CHECK(umfs_close(f), 0);
	CHECK(umfs_unlink(fs, "big"), 0);
	CHECK(free_pages(fs), free0);
	free(buf);
	free(want);
}

/* ------------------------------------------------------------------ */
/* Permissions                                                            */
/* ------------------------------------------------------------------ */

static const gid_t user_groups[] = { 1000, 2000 };

static void become_user(bool in_group_2000)
{
	struct umfs_cred cred = {
		.uid = 1000,
		.gid = 1000,
		.ngroups = in_group_2000 ? 2 : 1,
		.groups = user_groups,
	};

	umfs_cred_set_thread(&cred);
}

static void test_permissions(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	struct umfs_file *f;
	struct stat st;
	char buf[8];

	if (geteuid() != 0)
		skip(); /* the set-up changes owners: root's privilege */
	/* set up as root */
	CHECK(umfs_mkdir(fs, "priv", 0700), 0);
	put_str(fs, "priv/f", "secret");
	CHECK(umfs_mkdir(fs, "pub", 0777), 0);
	CHECK(umfs_mkdir(fs, "tmp", 01777), 0);
	put_str(fs, "tmp/rootfile", "r");
	CHECK(umfs_chmod(fs, "tmp/rootfile", 0666, 0), 0);
	put_str(fs, "ro", "read only");
	CHECK(umfs_chmod(fs, "ro", 0644, 0), 0);
	put_str(fs, "grp", "group");
	CHECK(umfs_chown(fs, "grp", 0, 2000, 0), 0);
	CHECK(umfs_chmod(fs, "grp", 0640, 0), 0);
	CHECK(umfs_mkdir(fs, "nox", 0766), 0);
	put_str(fs, "nox/f", "x");

	become_user(false);
	/* a 0700 directory owned by root: no search, no listing, no create */
	CHECK(umfs_stat(fs, "priv/f", &st, 0), -EACCES);
	CHECK(open_err(fs, "priv/f", O_RDONLY), -EACCES);
	CHECK(open_err(fs, "priv/new", O_CREAT | O_WRONLY), -EACCES);
	CHECK(umfs_opendir(fs, "priv", &(struct umfs_dir *){ NULL }), -EACCES);
	CHECK(umfs_mkdir(fs, "priv/x", 0755), -EACCES);
	CHECK(umfs_unlink(fs, "priv/f"), -EACCES);
	CHECK(umfs_access(fs, "priv", R_OK), -EACCES);
	CHECK(umfs_access(fs, "priv", F_OK), 0);
	/* read but no search permission on a directory */
	CHECK(umfs_stat(fs, "nox/f", &st, 0), -EACCES);
	/* root-owned 0755 root directory: no create, no remove */
	CHECK(open_err(fs, "mine", O_CREAT | O_WRONLY), -EACCES);
	CHECK(umfs_unlink(fs, "ro"), -EACCES);
	CHECK(umfs_rename(fs, "ro", "pub/ro", 0), -EACCES);
	CHECK(umfs_symlink(fs, "ro", "sl"), -EACCES);
	/* a 0644 root file: read yes, write no, attributes no */
	CHECK(open_err(fs, "ro", O_RDONLY), 0);
	CHECK(open_err(fs, "ro", O_WRONLY), -EACCES);
	CHECK(open_err(fs, "ro", O_RDWR), -EACCES);
	CHECK(umfs_truncate(fs, "ro", 0), -EACCES);
	CHECK(umfs_access(fs, "ro", R_OK), 0);
	CHECK(umfs_access(fs, "ro", W_OK), -EACCES);
	CHECK(umfs_chmod(fs, "ro", 0666, 0), -EPERM);
	CHECK(umfs_chown(fs, "ro", 1000, 1000, 0), -EPERM);
	CHECK(umfs_utimens(fs, "ro", ts, 0), -EPERM);
	CHECK(umfs_utimens(fs, "ro", NULL, 0), -EACCES);
	/* group permission comes from the supplementary groups */
	CHECK(open_err(fs, "grp", O_RDONLY), -EACCES);
	become_user(true);
	CHECK(open_err(fs, "grp", O_RDONLY), 0);
	CHECK(open_err(fs, "grp", O_WRONLY), -EACCES);

	/* a world-writable directory: own files, owned by the caller */
	f = open_ok(fs, "pub/mine", O_CREAT | O_EXCL | O_RDWR, 0600);
	CHECK(umfs_write(f, "mine", 4), 4);
	CHECK(umfs_fstat(f, &st), 0);
	CHECK(st.st_uid, 1000);
	CHECK(st.st_gid, 1000);
	CHECK(umfs_close(f), 0);
	CHECK(umfs_mkdir(fs, "pub/sub", 0700), 0);
	CHECK(stat_ok(fs, "pub/sub").st_uid, 1000);
	CHECK(umfs_chmod(fs, "pub/mine", 0640, 0), 0);
	CHECK(umfs_utimens(fs, "pub/mine", ts, 0), 0);
	/* an owner may change the group only to one of its groups */
	CHECK(umfs_chown(fs, "pub/mine", (uid_t)-1, 2000, 0), 0);
	CHECK(umfs_chown(fs, "pub/mine", (uid_t)-1, 3000, 0), -EPERM);
	CHECK(umfs_chown(fs, "pub/mine", 0, (gid_t)-1, 0), -EPERM);
	CHECK(umfs_rename(fs, "pub/mine", "pub/mine2", 0), 0);

	/* sticky directory: only the owner removes or renames */
	CHECK(umfs_unlink(fs, "tmp/rootfile"), -EPERM);
	CHECK(umfs_rename(fs, "tmp/rootfile", "tmp/x", 0), -EPERM);
	f = open_ok(fs, "tmp/rootfile", O_WRONLY, 0); /* 0666: writing is allowed */
	CHECK(umfs_write(f, "w", 1), 1);
	CHECK(umfs_close(f), 0);
	CHECK(open_err(fs, "tmp/own", O_CREAT | O_WRONLY), 0);
	CHECK(umfs_unlink(fs, "tmp/own"), 0);

	/* back to root: everything is allowed except exec without x bits */
	umfs_cred_set_thread(NULL);
	expect_str(fs, "priv/f", "secret");
	CHECK(umfs_chmod(fs, "priv/f", 0, 0), 0);
	f = open_ok(fs, "priv/f", O_RDWR, 0);
	CHECK(umfs_read(f, buf, 6), 6);
	CHECK(umfs_close(f), 0);
	CHECK(umfs_access(fs, "priv/f", R_OK | W_OK), 0);
	CHECK(umfs_access(fs, "priv/f", X_OK), -EACCES);
	CHECK(umfs_chmod(fs, "priv", 0, 0), 0);
	CHECK(umfs_access(fs, "priv", X_OK), 0);
	CHECK(umfs_stat(fs, "priv/f", &st, 0), 0);
	CHECK(umfs_access(fs, "missing", F_OK), -ENOENT);
	CHECK(umfs_unlink(fs, "tmp/rootfile"), 0);
}

/* ------------------------------------------------------------------ */
/* Threads                                                               */
/* ------------------------------------------------------------------ */

struct worker {
	struct umfs_fs *fs;
	int id;
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[8192], got[8192];
	char path[64];

	for (int i = 0; i < 200 && !w->err; i++) {
		struct umfs_file *f;

		snprintf(path, sizeof(path), "shared/t%d-%d", w->id, i);
		test_fill(buf, sizeof(buf), (uint64_t)w->id << 16 | (uint64_t)i);
		if (umfs_open(w->fs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &f)) {
			w->err = 1;
			break;
		}
		if (umfs_write(f, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    umfs_pread(f, got, sizeof(got), 0) != (ssize_t)sizeof(got) ||
		    memcmp(buf, got, sizeof(buf)) != 0)
			w->err = 2;
		if (umfs_close(f))
			w->err = 3;
		if (i % 2 && umfs_unlink(w->fs, path))
			w->err = 4;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	enum { T = 4 };
	struct worker w[T];
	pthread_t th[T];
	struct dlist dl = { 0 };

	CHECK(umfs_mkdir(fs, "shared", 0777), 0);
	for (int i = 0; i < T; i++) {
		w[i] = (struct worker){ .fs = fs, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].err, 0);
	}
	list_dir(fs, "shared", &dl);
	CHECK(dl.n, 2 + T * 100);
	for (int t = 0; t < T; t++) {
		for (int i = 0; i < 200; i++) {
			char name[32];

			snprintf(name, sizeof(name), "t%d-%d", t, i);
			CHECK(dl_count(&dl, name), i % 2 ? 0 : 1);
		}
	}
	dl_free(&dl);
}

static void *stat_once_main(void *arg)
{
	struct stat st;

	return (void *)(intptr_t)umfs_stat(arg, "walked", &st, 0);
}

/* Each thread keeps a spare walk for its path calls: a thread that ends
 * frees it. 2,000 threads, one stat each: the heap in use, all arenas
 * counted, grows by less than 64 KiB (kept, a walk each: about 600 KiB). */
static void test_thread_walk_freed(void **state)
{
	struct umfs_fs *fs = pool_fs(state);
	struct umfs_file *f;
	size_t before;
	void *ret;

	CHECK(umfs_open(fs, "walked", O_CREAT | O_RDWR, 0644, &f), 0);
	CHECK(umfs_close(f), 0);
	before = mallinfo2().uordblks;
	for (int i = 0; i < 2000; i++) {
		pthread_t th;

		assert_int_equal(pthread_create(&th, NULL, stat_once_main, fs), 0);
		pthread_join(th, &ret);
		CHECK((int)(intptr_t)ret, 0);
	}
	assert_true(mallinfo2().uordblks < before + 64 * 1024);
}

/* ------------------------------------------------------------------ */

static int small_pool_setup(void **state)
{
	return pool_make_sized(state, "small", 16 * MiB, 0);
}

static int few_inodes_setup(void **state)
{
	return pool_make_sized(state, "inodes", 16 * MiB, 32);
}

static int big_pool_setup(void **state)
{
	return pool_make_sized(state, "big", 512 * MiB, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, pool_setup, pool_teardown)

/* An optional argument selects tests by name pattern (cmocka's filter). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_root),
		cmocka_unit_test(test_mount_errors),
		T(test_mount_rdonly),
		T(test_times_durable_at_fsync),
		T(test_create_write_read),
		T(test_open_errors),
		T(test_open_excl_trunc),
		T(test_o_append),
		T(test_o_directory_nofollow),
		T(test_ebadf),
		T(test_lseek),
		T(test_unaligned_io),
		T(test_holes_and_seek_data),
		T(test_truncate),
		T(test_efbig),
		T(test_fallocate),
		T(test_mkdir_rmdir),
		T(test_unlink),
		T(test_rename_basic),
		T(test_rename_over_file),
		T(test_rename_noreplace),
		T(test_rename_exchange),
		T(test_rename_dirs),
		T(test_link),
		T(test_unlink_open_file),
		T(test_symlink_readlink),
		T(test_symlink_loops),
		T(test_dot_and_dotdot),
		T(test_stat_fields),
		T(test_utimens),
		T(test_chmod_chown),
		T(test_statfs),
		T(test_mknod),
		T(test_special_files),
		T(test_readdir_listing),
		T(test_readdir_cookies),
		T(test_persistence),
		cmocka_unit_test_setup_teardown(test_enospc_data, small_pool_setup, pool_teardown),
		cmocka_unit_test_setup_teardown(test_enospc_fallocate, small_pool_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(test_enospc_inodes, few_inodes_setup,
						pool_teardown),
		cmocka_unit_test_setup_teardown(test_big_file, big_pool_setup, pool_teardown),
		T(test_permissions),
		T(test_threads),
		T(test_thread_walk_freed),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
