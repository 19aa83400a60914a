/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_grow.c - growing a pool in place (the core's grow.c, the rules
 * of include/umfs_grow.h) and what mount and fsck.umfs make of the pools
 * around it: a grown pool filled past its old size and read back, a 1.4
 * pool (no GROWABLE) that mounts, checks clean and grows within its
 * bitmap's slack, a GROWING pool that fsck -n reports and a mount
 * finishes, the grow fields out of place, and an unknown incompatible
 * feature still refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsck_testlib.h"
#include "umfs_grow.h"

#define OLD_SIZE (16ull << 20)
#define FILE_BYTES (1u << 20)

static void pool_new(char *path, size_t len, uint64_t max)
{
	struct umfs_format_opts opts = { .label = "grow", .max_size = max };
	struct umfs_pmem pm;

	ft_pool_path(path, len, "grow");
	unlink(path);
	assert_int_equal(umfs_pmem_map(path, OLD_SIZE, false, &pm), 0);
	assert_int_equal(umfs_format(&pm, &opts, NULL), 0);
	umfs_pmem_unmap(&pm);
}

/* fsck -n -f: no damage, and the crash state of kind `crash` n times. */
static void fsck_clean(const char *path, int crash, unsigned long n)
{
	struct fsck_summary sum;
	char *text = NULL;
	int code = ft_fsck(path, FSCK_MODE_CHECK, true, &text, &sum);

	if (code != FSCK_EXIT_OK || sum.problems || (crash >= 0 && sum.crash[crash] != n))
		fprintf(stderr, "%s", text);
	free(text);
	assert_int_equal(code, FSCK_EXIT_OK);
	assert_int_equal(sum.problems, 0);
	if (crash >= 0)
		assert_int_equal(sum.crash[crash], n);
}

static int grow_to(const char *path, uint64_t size)
{
	struct umfs_pmem pm;
	const char *why = "";
	int err;

	assert_int_equal(umfs_pmem_map(path, 0, false, &pm), 0);
	err = umfs_pmem_extend(&pm, size);
	if (!err)
		err = umfs_grow(&pm, size, &why);
	umfs_pmem_unmap(&pm);
	return err;
}

/* Writes n files of FILE_BYTES (pattern seed i) until the pool is full. */
static unsigned fill(const char *path, unsigned n)
{
	uint8_t *buf = malloc(FILE_BYTES);
	struct umfs_fs *fs;
	struct umfs_file *f;
	unsigned i;

	assert_int_equal(umfs_mount(path, 0, &fs), 0);
	for (i = 0; i < n; i++) {
		char name[32];
		ssize_t w;

		snprintf(name, sizeof(name), "/fill%u", i);
		for (size_t k = 0; k < FILE_BYTES; k++)
			buf[k] = (uint8_t)(k * 131 + i * 7 + (k >> 12));
		assert_int_equal(umfs_open(fs, name, O_CREAT | O_WRONLY, 0644, &f), 0);
		w = umfs_pwrite(f, buf, FILE_BYTES, 0);
		umfs_close(f);
		if (w != FILE_BYTES) {
			assert_int_equal(umfs_unlink(fs, name), 0);
			break;
		}
	}
	assert_int_equal(umfs_unmount(fs), 0);
	free(buf);
	return i;
}

/* The files fill() wrote, read back against their checksums. */
static void read_back(const char *path, unsigned n)
{
	uint8_t *buf = malloc(FILE_BYTES), *want = malloc(FILE_BYTES);
	struct umfs_fs *fs;
	struct umfs_file *f;

	assert_int_equal(umfs_mount(path, UMFS_MOUNT_RDONLY, &fs), 0);
	for (unsigned i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "/fill%u", i);
		for (size_t k = 0; k < FILE_BYTES; k++)
			want[k] = (uint8_t)(k * 131 + i * 7 + (k >> 12));
		assert_int_equal(umfs_open(fs, name, O_RDONLY, 0, &f), 0);
		assert_int_equal(umfs_pread(f, buf, FILE_BYTES, 0), FILE_BYTES);
		umfs_close(f);
		assert_int_equal(umfs_crc32c(0, buf, FILE_BYTES), umfs_crc32c(0, want, FILE_BYTES));
	}
	assert_int_equal(umfs_unmount(fs), 0);
	free(buf);
	free(want);
}

static struct umfs_superblock sb_of(const char *path)
{
	struct ft_map m;
	struct umfs_superblock sb;

	assert_int_equal(ft_map_open(path, &m), 0);
	sb = m.sb;
	ft_map_close(&m);
	return sb;
}

/* Changes both superblocks with fn, resealed. */
static void sb_edit(const char *path, void (*fn)(struct umfs_superblock *sb))
{
	struct ft_map m;

	assert_int_equal(ft_map_open(path, &m), 0);
	fn(&m.sb);
	m.sb.csum = umfs_sb_csum(&m.sb);
	memcpy(m.base, &m.sb, sizeof(m.sb));
	memcpy(m.base + m.sb.backup_sb_off, &m.sb, sizeof(m.sb));
	ft_map_close(&m);
}

/* The word rule against a page-by-page model. */
static void grow_word_matches_model(void **state)
{
	static const uint64_t from[] = { 1, 63, 64, 65, 100, 200 };
	static const uint64_t olds[] = { 0, ~0ull, 0x0123456789abcdefull };

	(void)state;
	for (size_t a = 0; a < UMFS_ARRAY_SIZE(from); a++)
		for (uint64_t to = from[a] + 1; to < from[a] + 200; to += 7)
			for (uint64_t j = 0; j < 6; j++)
				for (size_t o = 0; o < UMFS_ARRAY_SIZE(olds); o++) {
					uint64_t want = 0;

					for (uint64_t b = 0; b < 64; b++) {
						uint64_t page = j * 64 + b;
						uint64_t bit = page < from[a] ? olds[o] >> b & 1 :
							       page >= to;

						want |= bit << b;
					}
					assert_int_equal(umfs_grow_word(j, olds[o], from[a], to),
							 want);
				}
}

static void grown_pool_fills_past_old_size(void **state)
{
	char path[256];
	const char *what;
	struct umfs_superblock sb;
	unsigned before, after;
	uint64_t new_size = 3 * OLD_SIZE;

	(void)state;
	pool_new(path, sizeof(path), 0);
	assert_int_equal(ft_pool_populate(path, &what), 0);
	sb = sb_of(path);
	assert_true(sb.feature_compat & UMFS_FEATURE_COMPAT_GROWABLE);
	assert_int_equal(sb.max_pool_size, 8 * OLD_SIZE);
	assert_int_equal(umfs_sb_grow_limit(&sb), 8 * OLD_SIZE);
	assert_int_equal(grow_to(path, new_size), 0);
	sb = sb_of(path);
	assert_int_equal(sb.pool_size, new_size);
	assert_int_equal(sb.backup_sb_off, new_size - UMFS_PAGE_SIZE);
	assert_false(umfs_sb_growing(&sb));
	fsck_clean(path, -1, 0);
	/* more than the old pool could hold at all */
	after = fill(path, 64);
	before = (unsigned)(OLD_SIZE / FILE_BYTES);
	assert_true(after > before && after < 48);
	fsck_clean(path, -1, 0);
	read_back(path, after);
	/* no shrinking, no past the maximum, and the unchanged pool */
	assert_int_equal(grow_to(path, new_size), -EINVAL);
	assert_int_equal(grow_to(path, 8 * OLD_SIZE + UMFS_PAGE_SIZE), -EFBIG);
	fsck_clean(path, -1, 0);
	read_back(path, after);
	unlink(path);
}

static void make_1_4(struct umfs_superblock *sb)
{
	sb->version_minor = 4;
	sb->feature_compat = 0;
	sb->max_pool_size = 0;
}

/* A 1.4 pool: its page bitmap sized for its own pages, no GROWABLE. */
static void pool_1_4_mounts_checks_and_grows_in_slack(void **state)
{
	char path[256];
	struct umfs_superblock sb;
	uint64_t lim;
	unsigned n;

	(void)state;
	pool_new(path, sizeof(path), OLD_SIZE);
	sb_edit(path, make_1_4);
	n = fill(path, 3);
	assert_int_equal(n, 3);
	fsck_clean(path, -1, 0);
	sb = sb_of(path);
	lim = umfs_sb_grow_limit(&sb);
	/* one page of bitmap: 32768 pages past data_off, and the backup's page */
	assert_int_equal(lim, sb.data_off + (32768ull << UMFS_PAGE_SHIFT) + UMFS_PAGE_SIZE);
	assert_int_equal(grow_to(path, lim + UMFS_PAGE_SIZE), -EFBIG);
	assert_int_equal(grow_to(path, lim), 0);
	sb = sb_of(path);
	assert_int_equal(sb.pool_size, lim);
	assert_int_equal(sb.data_pages, 32768);
	assert_int_equal(sb.version_minor, 4);
	fsck_clean(path, -1, 0);
	n = fill(path, 200);
	assert_true(n > OLD_SIZE / FILE_BYTES);
	fsck_clean(path, -1, 0);
	read_back(path, n);
	unlink(path);
}

/* Steps (b) and (c) only: what a crash right after the commit leaves. */
static void grow_commit_only(const char *path, uint64_t size)
{
	struct umfs_pmem pm;
	struct umfs_superblock sb;

	assert_int_equal(umfs_pmem_map(path, 0, false, &pm), 0);
	assert_int_equal(umfs_pmem_extend(&pm, size), 0);
	memcpy(&sb, pm.base, sizeof(sb));
	umfs_grow_sb_begin(&sb, size);
	memcpy(pm.base + sb.backup_sb_off, &sb, sizeof(sb));
	memcpy(pm.base, &sb, sizeof(sb));
	umfs_persist(pm.base, pm.len);
	umfs_pmem_unmap(&pm);
}

static void growing_pool_reported_then_finished(void **state)
{
	char path[256];
	struct umfs_superblock sb;
	struct umfs_fs *fs;
	const char *why;

	(void)state;
	pool_new(path, sizeof(path), 0);
	assert_int_equal(fill(path, 2), 2);
	grow_commit_only(path, 2 * OLD_SIZE);
	/* fsck -n reports crash state only, and changes nothing */
	fsck_clean(path, FSCK_CRASH_GROW, 1);
	assert_true(umfs_sb_growing((sb = sb_of(path), &sb)));
	/* a read-only mount cannot finish it */
	assert_int_equal(umfs_mount(path, UMFS_MOUNT_RDONLY, &fs), -EUCLEAN);
	assert_non_null(strstr(umfs_mount_error(), "grow"));
	/* the mount finishes it */
	assert_int_equal(umfs_mount(path, 0, &fs), 0);
	assert_int_equal(umfs_unmount(fs), 0);
	sb = sb_of(path);
	assert_false(umfs_sb_growing(&sb));
	assert_int_equal(sb.pool_size, 2 * OLD_SIZE);
	assert_int_equal(umfs_sb_check(&sb, 2 * OLD_SIZE, 0, &why), 0);
	fsck_clean(path, -1, 0);
	read_back(path, 2);
	/* and fsck -y finishes one too */
	grow_commit_only(path, 3 * OLD_SIZE);
	assert_int_equal(ft_fsck(path, FSCK_MODE_REPAIR, true, NULL, NULL), FSCK_EXIT_CORRECTED);
	sb = sb_of(path);
	assert_false(umfs_sb_growing(&sb));
	assert_int_equal(sb.pool_size, 3 * OLD_SIZE);
	fsck_clean(path, -1, 0);
	assert_int_equal(fill(path, 40), 40); /* more than the 2x pool took */
	read_back(path, 40);
	unlink(path);
}

static void max_without_growable(struct umfs_superblock *sb)
{
	sb->feature_compat = 0;
}

static void from_without_growing(struct umfs_superblock *sb)
{
	sb->grow_from_pages = 5;
}

/* The grow fields without their feature bits are reserved: fsck zeroes. */
static void grow_fields_out_of_place_are_damage(void **state)
{
	void (*edits[])(struct umfs_superblock *) = { max_without_growable, from_without_growing };
	struct fsck_summary sum;
	char path[256];

	(void)state;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(edits); i++) {
		pool_new(path, sizeof(path), 0);
		sb_edit(path, edits[i]);
		assert_int_equal(ft_fsck(path, FSCK_MODE_CHECK, true, NULL, &sum),
				 FSCK_EXIT_UNCORRECTED);
		assert_int_equal(sum.problems, 1);
		assert_int_equal(ft_fsck(path, FSCK_MODE_REPAIR, true, NULL, NULL),
				 FSCK_EXIT_CORRECTED);
		fsck_clean(path, -1, 0);
		unlink(path);
	}
}

static void unknown_incompat(struct umfs_superblock *sb)
{
	sb->feature_incompat |= 0x80000000u; /* no feature of this format */
}

static void unknown_incompat_bit_still_refused(void **state)
{
	char path[256];
	struct umfs_superblock before, after;
	struct umfs_fs *fs;

	(void)state;
	pool_new(path, sizeof(path), 0);
	sb_edit(path, unknown_incompat);
	before = sb_of(path);
	assert_int_equal(umfs_mount(path, 0, &fs), -EPROTONOSUPPORT);
	assert_int_equal(umfs_mount(path, UMFS_MOUNT_RDONLY, &fs), -EPROTONOSUPPORT);
	assert_int_equal(grow_to(path, 2 * OLD_SIZE), -EPROTONOSUPPORT);
	/* fsck -y leaves a pool of features it does not know alone */
	ft_fsck(path, FSCK_MODE_REPAIR, true, NULL, NULL);
	after = sb_of(path);
	assert_memory_equal(&before, &after, sizeof(before));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grow_word_matches_model),
		cmocka_unit_test(grown_pool_fills_past_old_size),
		cmocka_unit_test(pool_1_4_mounts_checks_and_grows_in_slack),
		cmocka_unit_test(growing_pool_reported_then_finished),
		cmocka_unit_test(grow_fields_out_of_place_are_damage),
		cmocka_unit_test(unknown_incompat_bit_still_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
