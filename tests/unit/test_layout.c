/* SPDX-License-Identifier: MIT */
/* test_layout.c - geometry planning, formatting, superblock validation. */
#include <errno.h>
#include <sys/mman.h>

#include "crc_ref.h"
#include "testutil.h"

static void plan_rejects_small_and_crowded_pools(void **state)
{
	struct umfs_geometry g;
	const char *why = NULL;

	assert_int_equal(umfs_geometry_plan(4 << 20, 0, &g, &why), -EINVAL);
	assert_non_null(strstr(why, "minimum"));
	assert_int_equal(umfs_geometry_plan(8 << 20, 1 << 20, &g, &why), -EINVAL);
	assert_non_null(strstr(why, "inodes"));
}

static void plan_zones_are_ordered_and_aligned(void **state)
{
	const uint64_t sizes[] = { 8ull << 20, 9ull << 20, 64ull << 20, 1ull << 30, 100ull << 30,
				   (1ull << 40) + 12345 };

	for (size_t i = 0; i < UMFS_ARRAY_SIZE(sizes); i++) {
		struct umfs_geometry g;
		const char *why;

		assert_int_equal(umfs_geometry_plan(sizes[i], 0, &g, &why), 0);
		assert_true(g.pool_size <= sizes[i] && g.pool_size % UMFS_PAGE_SIZE == 0);
		assert_true(g.state_off < g.journal_off && g.journal_off < g.inode_off);
		assert_true(g.inode_off + g.inode_count * 256 <= g.ibitmap_off);
		assert_true(g.ibitmap_off + g.inode_count / 8 <= g.pbitmap_off);
		assert_true(g.pbitmap_off + g.data_pages / 8 <= g.data_off);
		assert_int_equal(g.data_off % UMFS_HUGE_SIZE, 0);
		assert_true(g.data_off + g.data_pages * UMFS_PAGE_SIZE <= g.backup_sb_off);
		assert_int_equal(g.backup_sb_off, g.pool_size - UMFS_PAGE_SIZE);
		/* the data zone is most of the pool: metadata under 3% plus 2 MiB alignment */
		assert_true(g.data_pages * UMFS_PAGE_SIZE + g.data_off + UMFS_PAGE_SIZE >= g.pool_size);
		assert_true(g.data_off <= g.pool_size / 32 + 2 * UMFS_HUGE_SIZE + (1 << 20));
	}
}

static void plan_honours_inode_count(void **state)
{
	struct umfs_geometry g;
	const char *why;

	assert_int_equal(umfs_geometry_plan(64 << 20, 1000, &g, &why), 0);
	assert_true(g.inode_count >= 1001 && g.inode_count < 1001 + 16);
}

/* Maps a fresh pool file of size bytes, formatted. */
static void format_fresh(struct test_pool *tp, struct umfs_pmem *pm, uint64_t size)
{
	struct umfs_format_opts opts = { .label = "layout" };

	test_pool_path(tp, "layout");
	unlink(tp->path);
	assert_int_equal(umfs_pmem_map(tp->path, size, false, pm), 0);
	assert_int_equal(umfs_format(pm, &opts, NULL), 0);
}

static void format_writes_valid_matching_superblocks(void **state)
{
	struct test_pool tp;
	struct umfs_pmem pm;
	const struct umfs_superblock *sb, *backup;
	const char *why;

	format_fresh(&tp, &pm, 16 << 20);
	sb = (const void *)pm.base;
	backup = (const void *)(pm.base + sb->backup_sb_off);
	assert_int_equal(umfs_sb_check(sb, pm.len, false, &why), 0);
	assert_memory_equal(sb, backup, sizeof(*sb));
	assert_string_equal(sb->label, "layout");
	assert_int_equal(sb->uuid[6] >> 4, 4); /* random UUID, version 4 */
	umfs_pmem_unmap(&pm);

	/* and it mounts, with an empty root directory */
	assert_int_equal(umfs_mount(tp.path, 0, &tp.fs), 0);
	struct stat st;
	assert_int_equal(umfs_stat(tp.fs, "/", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_nlink, 2);
	test_pool_destroy(&tp);
}

/* Every field of the superblock matters: corrupt each byte and the
 * checksum (or a range check) must reject it. */
static void validate_rejects_every_corrupted_byte(void **state)
{
	struct test_pool tp;
	struct umfs_pmem pm;
	struct umfs_superblock copy;
	const char *why;

	format_fresh(&tp, &pm, 16 << 20);
	for (size_t i = 0; i < sizeof(copy); i++) {
		memcpy(&copy, pm.base, sizeof(copy));
		((uint8_t *)&copy)[i] ^= 0x5a;
		assert_int_not_equal(umfs_sb_check(&copy, pm.len, false, &why), 0);
	}
	umfs_pmem_unmap(&pm);
	unlink(tp.path);
}

static void validate_explains_version_and_size_problems(void **state)
{
	struct test_pool tp;
	struct umfs_pmem pm;
	struct umfs_superblock copy;
	const char *why;

	format_fresh(&tp, &pm, 16 << 20);
	memcpy(&copy, pm.base, sizeof(copy));
	copy.version_major = UMFS_VERSION_MAJOR + 1;
	copy.csum = umfs_sb_csum(&copy);
	assert_int_equal(umfs_sb_check(&copy, pm.len, false, &why), -EPROTONOSUPPORT);

	memcpy(&copy, pm.base, sizeof(copy));
	copy.feature_incompat = 0x80000000u;
	copy.csum = umfs_sb_csum(&copy);
	assert_int_equal(umfs_sb_check(&copy, pm.len, false, &why), -EPROTONOSUPPORT);

	memcpy(&copy, pm.base, sizeof(copy));
	copy.feature_ro_compat = 0x80000000u;
	copy.csum = umfs_sb_csum(&copy);
	assert_int_equal(umfs_sb_check(&copy, pm.len, false, &why), -EROFS);
	assert_int_equal(umfs_sb_check(&copy, pm.len, true, &why), 0);

	/* a pool truncated after mkfs */
	memcpy(&copy, pm.base, sizeof(copy));
	assert_int_equal(umfs_sb_check(&copy, pm.len - UMFS_PAGE_SIZE, false, &why), -EUCLEAN);
	assert_non_null(strstr(why, "size"));

	memcpy(&copy, pm.base, sizeof(copy));
	copy.magic = 0;
	assert_int_equal(umfs_sb_check(&copy, pm.len, false, &why), -EINVAL);
	umfs_pmem_unmap(&pm);
	unlink(tp.path);
}

static void mount_refuses_non_pool_with_reason(void **state)
{
	struct test_pool tp;
	struct umfs_pmem pm;
	struct umfs_fs *fs;

	test_pool_path(&tp, "notpool");
	unlink(tp.path);
	assert_int_equal(umfs_pmem_map(tp.path, 16 << 20, false, &pm), 0);
	memset(pm.base, 0xab, 8192);
	umfs_pmem_unmap(&pm);
	assert_int_equal(umfs_mount(tp.path, 0, &fs), -EINVAL);
	assert_non_null(strstr(umfs_mount_error(), "not a UMFS pool"));
	unlink(tp.path);
	assert_int_equal(umfs_mount(tp.path, 0, &fs), -ENOENT);
}

/* CRC-32C against a bit-at-a-time reference: every length around the
 * three-lane blocks, several starting states, and chaining across splits. */
static void crc32c_matches_reference(void **state)
{
	static uint8_t buf[3 * 4096 + 64];
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	assert_int_equal(umfs_crc32c(0, "123456789", 9), 0xE3069283u); /* the check value */
	for (size_t len = 0; len <= sizeof(buf); len += len < 4200 && len > 4000 ? 1 : 61)
		for (uint32_t init = 0; init < 3; init++) {
			uint32_t c0 = init * 0x9E3779B9u;

			assert_int_equal(umfs_crc32c(c0, buf + (len & 7), len - (len & 7)),
					 crc_reference(c0, buf + (len & 7), len - (len & 7)));
		}
	for (size_t cut = 0; cut <= 8192; cut += 677)
		assert_int_equal(umfs_crc32c(umfs_crc32c(0, buf, cut), buf + cut, 9000 - cut),
				 crc_reference(0, buf, 9000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32c_matches_reference),
		cmocka_unit_test(plan_rejects_small_and_crowded_pools),
		cmocka_unit_test(plan_zones_are_ordered_and_aligned),
		cmocka_unit_test(plan_honours_inode_count),
		cmocka_unit_test(format_writes_valid_matching_superblocks),
		cmocka_unit_test(validate_rejects_every_corrupted_byte),
		cmocka_unit_test(validate_explains_version_and_size_problems),
		cmocka_unit_test(mount_refuses_non_pool_with_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
