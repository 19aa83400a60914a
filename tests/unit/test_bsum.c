/* SPDX-License-Identifier: MIT */
/*
 * test_bsum.c - damaged allocation bitmaps never give a page or an inode a
 * second owner.
 *
 * A word of the page bitmap is zeroed or has a bit flipped, in a mounted
 * pool (a stray store) or in a pool unmounted cleanly, all else in it
 * sound; the files written next must take none of the pages any file
 * holds (the reference: every live inode's tree walked with
 * umfs_pt_offset and umfs_pt_slot_find, its U-Log page, its root),
 * the damage must be logged once, and the state page's errors word must
 * say it, durably. The same for an inode the inode bitmap calls free. The
 * checksum rule itself (umfs_rules.h) is checked against a direct sum,
 * every allocator path (runs, metadata pages, 2 MiB groups, frees at
 * commit, aborts) against it, and a pool made without sums is served as
 * before.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>

#include "testutil.h"

#include "umfs.h"
#include "umfs_frontend.h"

/* Four bitmap pages of 32768 data pages each. */
#define BIG_POOL (512ull << 20)
#define SMALL_POOL (64ull << 20)
#define WORD_PAGES 64

static struct test_pool the_pool;
static unsigned log_lines, log_all; /* about the bitmaps; all */

static void log_count(int level, const char *msg)
{
	if (level > UMFS_LOG_WARN)
		return;
	log_all++;
	if (strstr(msg, "page bitmap:") || strstr(msg, "inode bitmap:"))
		log_lines++;
}

static int setup(void **state)
{
	(void)state;
	log_lines = log_all = 0;
	umfs_log_set(log_count, UMFS_LOG_WARN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_pool_reset(&the_pool);
	umfs_log_set(NULL, UMFS_LOG_WARN);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The reference: pages held by some file                               */
/* ------------------------------------------------------------------ */

static void held_mark(const struct umfs_fs *fs, uint8_t *held, uint64_t off)
{
	if (off && umfs_off_is_page(fs, off))
		held[umfs_off_page(fs, off)] = 1;
}

static void held_mark_ptr(const struct umfs_fs *fs, uint8_t *held, const void *p)
{
	if (p)
		held_mark(fs, held, UMFS_ALIGN_DOWN(umfs_ptr_off(fs, p), UMFS_PAGE_SIZE));
}

/* The pages of inode in's tree: its root, data pages and tables. */
static void tree_mark(const struct umfs_fs *fs, uint8_t *held, const struct umfs_inode *in)
{
	held_mark(fs, held, in->pt_root);
	for (uint64_t pg = umfs_pt_next_data(fs, in, 0); pg != UINT64_MAX;
	     pg = umfs_pt_next_data(fs, in, pg + 1)) {
		held_mark(fs, held, umfs_pt_offset(fs, in, pg, NULL));
		held_mark_ptr(fs, held, umfs_pt_slot_find(fs, in, pg, 1));
		held_mark_ptr(fs, held, umfs_pt_slot_find(fs, in, pg, 2));
	}
}

/* Every page of every live inode: data, tables, root, U-Log. */
static uint8_t *held_pages(const struct umfs_fs *fs)
{
	uint8_t *held = calloc(fs->data_pages, 1);

	assert_non_null(held);
	for (uint64_t ino = UMFS_ROOT_INO; ino < fs->inode_count; ino++) {
		if (!umfs_inode_live(fs, ino))
			continue;
		tree_mark(fs, held, umfs_inode(fs, ino));
		held_mark(fs, held, umfs_inode(fs, ino)->ulog);
		if (umfs_inode(fs, ino)->ulog) /* and the chain's spare */
			held_mark(fs, held, ((const struct umfs_ulog *)umfs_off_ptr(
						     fs, umfs_inode(fs, ino)->ulog))->spare);
	}
	return held;
}

/* The pages of the file at path: none of them is in held, and it has some. */
static void file_shares_nothing(struct umfs_fs *fs, const char *path, const uint8_t *held)
{
	uint8_t *own = calloc(fs->data_pages, 1);
	struct umfs_file *f;
	uint64_t ino, n = 0;
	uint32_t gen;

	assert_non_null(own);
	assert_int_equal(umfs_open(fs, path, O_RDONLY, 0, &f), 0);
	umfs_file_id(f, &ino, &gen);
	umfs_close(f);
	tree_mark(fs, own, umfs_inode(fs, ino));
	for (uint64_t p = 0; p < fs->data_pages; p++) {
		if (own[p] && held[p])
			fail_msg("%s took data page %" PRIu64 ", which another file holds", path, p);
		n += own[p];
	}
	assert_true(n > 0);
	free(own);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

static void file_write(struct umfs_fs *fs, const char *path, uint64_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len);
	struct umfs_file *f;

	assert_non_null(buf);
	test_fill(buf, len, seed);
	assert_int_equal(umfs_open(fs, path, O_RDWR | O_CREAT | O_TRUNC, 0644, &f), 0);
	assert_int_equal(umfs_write(f, buf, len), (ssize_t)len);
	assert_int_equal(umfs_close(f), 0);
	free(buf);
}

static void file_check(struct umfs_fs *fs, const char *path, uint64_t len, uint64_t seed)
{
	uint8_t *want = malloc(len), *got = malloc(len);
	struct umfs_file *f;

	assert_non_null(want);
	assert_non_null(got);
	test_fill(want, len, seed);
	assert_int_equal(umfs_open(fs, path, O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_read(f, got, len), (ssize_t)len);
	assert_memory_equal(got, want, len);
	umfs_close(f);
	free(want);
	free(got);
}

/* A pool whose first bitmap word is all /a's data pages: data pages
 * come up from page 0, tables and directories down from the top. */
static struct umfs_fs *pool_with_a(uint64_t size)
{
	struct umfs_fs *fs;

	assert_int_equal(test_pool_make(&the_pool, "bsum", size, 0), 0);
	fs = the_pool.fs;
	assert_non_null(fs->bsum);
	file_write(fs, "/a", WORD_PAGES * UMFS_PAGE_SIZE, 1);
	assert_int_equal(fs->pbitmap[0], ~0ull);
	assert_int_equal(fs->state->errors, 0);
	return fs;
}

/* The damage is refused: new files take none of the held pages, the
 * line is logged once, the errors word says so (and stays said). */
static void writes_avoid(struct umfs_fs *fs, uint64_t errors_bit)
{
	uint8_t *held = held_pages(fs);

	fs->page_cursor = 0; /* searches start low, as after a mount or a free */

	file_write(fs, "/b", WORD_PAGES * UMFS_PAGE_SIZE, 2);
	file_shares_nothing(fs, "/b", held);
	free(held);
	held = held_pages(fs);
	file_write(fs, "/c", 3 * WORD_PAGES * UMFS_PAGE_SIZE, 3);
	file_shares_nothing(fs, "/c", held);
	free(held);
	assert_int_equal(log_lines, 1);
	assert_int_equal(log_all, 1); /* no other damage said */
	assert_int_equal(fs->state->errors, errors_bit);
	file_check(fs, "/a", WORD_PAGES * UMFS_PAGE_SIZE, 1);
	file_check(fs, "/b", WORD_PAGES * UMFS_PAGE_SIZE, 2);
	file_check(fs, "/c", 3 * WORD_PAGES * UMFS_PAGE_SIZE, 3);
	assert_int_equal(test_pool_remount(&the_pool), 0);
	assert_true(the_pool.fs->state->errors & errors_bit); /* durable */
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

static void zeroed_word_in_a_mount(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);

	(void)state;
	fs->pbitmap[0] = 0; /* a stray store: the sum is not told */
	writes_avoid(fs, UMFS_ERRORS_PBITMAP);
}

static void flipped_bit_in_a_mount(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);

	(void)state;
	fs->pbitmap[0] ^= 1ull << 17;
	writes_avoid(fs, UMFS_ERRORS_PBITMAP);
}

/* The word this process took from last, damaged after it left it. */
static void damaged_last_word(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);

	(void)state;
	file_write(fs, "/a2", 10 * UMFS_PAGE_SIZE, 4); /* pages 64..73: word 1 */
	assert_int_equal(fs->pbitmap[1], 0x3ffull);
	fs->pbitmap[1] = 0;
	writes_avoid(fs, UMFS_ERRORS_PBITMAP);
	file_check(the_pool.fs, "/a2", 10 * UMFS_PAGE_SIZE, 4);
}

/* Damage in a pool unmounted cleanly, sound in all else: the next mount
 * refuses the bitmap page too. */
static void zeroed_word_in_a_clean_pool(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);
	struct umfs_pmem pm;

	(void)state;
	assert_int_equal(umfs_unmount(fs), 0);
	the_pool.fs = NULL;
	assert_int_equal(umfs_pmem_map(the_pool.path, 0, false, &pm), 0);
	assert_int_equal(((struct umfs_state *)(pm.base + UMFS_PAGE_SIZE))->state, UMFS_STATE_CLEAN);
	((uint64_t *)(pm.base + ((struct umfs_superblock *)pm.base)->pbitmap_off))[0] = 0;
	umfs_pmem_unmap(&pm);
	assert_int_equal(umfs_mount(the_pool.path, 0, &the_pool.fs), 0);
	writes_avoid(the_pool.fs, UMFS_ERRORS_PBITMAP);
}

/* With one bitmap page only, nothing is left to allocate from: the pool
 * is not full, its free space is in doubt (EUCLEAN, not ENOSPC). */
static void no_sound_page_left_is_euclean(void **state)
{
	struct umfs_fs *fs = pool_with_a(SMALL_POOL);
	uint8_t page[UMFS_PAGE_SIZE] = { 0 };
	struct umfs_file *f;

	(void)state;
	file_write(fs, "/b", 2 * UMFS_PAGE_SIZE, 2); /* pages in word 1 */
	assert_int_equal(test_pool_remount(&the_pool), 0); /* nothing taken lately */
	fs = the_pool.fs;
	fs->pbitmap[0] = 0;
	assert_int_equal(umfs_open(fs, "/b", O_WRONLY | O_APPEND, 0, &f), 0);
	assert_int_equal(umfs_write(f, page, sizeof(page)), -EUCLEAN);
	umfs_close(f);
	assert_int_equal(log_all, 1); /* /b's own tree is sound: not blamed */
	assert_int_equal(umfs_open(fs, "/a", O_WRONLY | O_APPEND, 0, &f), 0);
	assert_int_equal(umfs_write(f, page, sizeof(page)), -EUCLEAN);
	assert_int_equal(umfs_write(f, page, sizeof(page)), -EUCLEAN);
	umfs_close(f);
	assert_int_equal(log_lines, 1);
	/* and once the file: the bitmap calls its own pages free */
	assert_int_equal(log_all, 2);
	assert_int_equal(fs->state->errors, UMFS_ERRORS_PBITMAP | UMFS_ERRORS_INODE);
	assert_int_equal(fs->pbitmap[0], 0); /* nothing taken */
	file_check(fs, "/a", WORD_PAGES * UMFS_PAGE_SIZE, 1);
	file_check(fs, "/b", 2 * UMFS_PAGE_SIZE, 2);
}

/* Pages the bitmap calls free cannot be freed: a truncate or a punch over
 * them is refused before it changes the size or a byte. */
static void freeing_pages_marked_free_is_refused(void **state)
{
	struct umfs_fs *fs = pool_with_a(SMALL_POOL);
	const uint64_t len = WORD_PAGES * UMFS_PAGE_SIZE;
	struct umfs_file *f;
	struct stat st;

	(void)state;
	fs->pbitmap[0] &= ~(1ull << 40); /* /a's page 40 */
	assert_int_equal(umfs_open(fs, "/a", O_RDWR, 0, &f), 0);
	assert_int_equal(umfs_ftruncate(f, 5000), -EUCLEAN);
	assert_int_equal(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 (off_t)(32 * UMFS_PAGE_SIZE), (off_t)(16 * UMFS_PAGE_SIZE)),
			 -EUCLEAN);
	assert_int_equal(umfs_fstat(f, &st), 0);
	assert_int_equal(st.st_size, (off_t)len);
	assert_int_equal(st.st_blocks, (blkcnt_t)((WORD_PAGES + 1) * (UMFS_PAGE_SIZE / 512)));
	umfs_close(f);
	assert_true(fs->state->errors & UMFS_ERRORS_INODE);
	file_check(fs, "/a", len, 1);
	/* pages before the damage still free as asked */
	assert_int_equal(umfs_open(fs, "/a", O_RDWR, 0, &f), 0);
	assert_int_equal(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
					 (off_t)(8 * UMFS_PAGE_SIZE)), 0);
	umfs_close(f);
	assert_int_equal(fs->pbitmap[0] & 0xff, 0);
}

/* An inode in use whose bit is lost is not handed out again. */
static void lost_inode_bit_is_not_reused(void **state)
{
	struct umfs_fs *fs = pool_with_a(SMALL_POOL);
	struct umfs_file *f;
	uint64_t a, b;
	uint32_t gen;

	(void)state;
	assert_int_equal(umfs_open(fs, "/a", O_RDONLY, 0, &f), 0);
	umfs_file_id(f, &a, &gen);
	umfs_close(f);
	fs->ibitmap[a / 64] &= ~(1ull << (a % 64));
	fs->ino_cursor = a; /* the next create looks there first */
	file_write(fs, "/d", UMFS_PAGE_SIZE, 5);
	assert_int_equal(umfs_open(fs, "/d", O_RDONLY, 0, &f), 0);
	umfs_file_id(f, &b, &gen);
	umfs_close(f);
	assert_true(b != a);
	fs->ino_cursor = a;
	file_write(fs, "/e", UMFS_PAGE_SIZE, 6);
	assert_int_equal(log_lines, 1);
	assert_int_equal(log_all, 1);
	assert_int_equal(fs->state->errors, UMFS_ERRORS_IBITMAP);
	fs->ibitmap[a / 64] |= 1ull << (a % 64);
	file_check(fs, "/a", WORD_PAGES * UMFS_PAGE_SIZE, 1);
	file_check(fs, "/d", UMFS_PAGE_SIZE, 5);
}

/* A sound pool: allocation, frees and aborts keep every sum, nothing is
 * logged, the errors word stays 0. */
static void sums_follow_every_change(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);
	uint64_t first, got, h;

	(void)state;
	file_write(fs, "/big", 8ull << 20, 7); /* 2 MiB leaves */
	assert_int_equal(umfs_truncate(fs, "/a", 3 * UMFS_PAGE_SIZE + 1), 0);
	assert_int_equal(umfs_unlink(fs, "/big"), 0);
	test_tx_open(fs);
	assert_int_equal(umfs_page_alloc_run(fs, 40000, 70, &first, &got), 0);
	assert_int_equal(umfs_page_alloc_huge(fs, &h), 0);
	umfs_tx_abort(fs);
	umfs_meta_unlock(fs);
	for (uint64_t i = 0; i < umfs_bsum_count(fs->data_pages); i++)
		assert_true(umfs_bsum_of(fs->pbitmap, fs->pbitmap_words, i) == fs->bsum[i]);
	assert_int_equal(log_lines, 0);
	assert_int_equal(fs->state->errors, 0);
}

/* A pool made before the sums (no BITMAP_SUMS feature): served as before,
 * its sum zone neither read nor written. */
static void pool_without_sums_served_as_before(void **state)
{
	struct umfs_fs *fs = pool_with_a(BIG_POOL);
	struct umfs_superblock *sb;
	struct umfs_pmem pm;
	uint64_t bsum_off;

	(void)state;
	assert_int_equal(umfs_unmount(fs), 0);
	the_pool.fs = NULL;
	assert_int_equal(umfs_pmem_map(the_pool.path, 0, false, &pm), 0);
	sb = (struct umfs_superblock *)pm.base;
	bsum_off = sb->bsum_off;
	sb->feature_ro_compat &= ~UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS;
	sb->version_minor = 2;
	sb->bsum_off = 0;
	sb->csum = umfs_sb_csum(sb);
	memcpy(pm.base + sb->backup_sb_off, sb, sizeof(*sb));
	memset(pm.base + bsum_off, 0x5a, UMFS_PAGE_SIZE); /* nobody may look */
	umfs_pmem_unmap(&pm);

	assert_int_equal(umfs_mount(the_pool.path, 0, &the_pool.fs), 0);
	fs = the_pool.fs;
	assert_null(fs->bsum);
	file_write(fs, "/b", 3 * WORD_PAGES * UMFS_PAGE_SIZE, 2);
	assert_int_equal(umfs_unlink(fs, "/a"), 0);
	file_write(fs, "/c", WORD_PAGES * UMFS_PAGE_SIZE, 3);
	assert_int_equal(test_pool_remount(&the_pool), 0);
	file_check(the_pool.fs, "/b", 3 * WORD_PAGES * UMFS_PAGE_SIZE, 2);
	file_check(the_pool.fs, "/c", WORD_PAGES * UMFS_PAGE_SIZE, 3);
	assert_int_equal(log_all, 0);
	assert_int_equal(the_pool.fs->state->errors, 0);
	for (size_t i = 0; i < UMFS_PAGE_SIZE; i++)
		assert_int_equal(the_pool.fs->base[bsum_off + i], 0x5a);
}

/* The rule: the incremental update equals the sum made anew, and every
 * change of one word (zeroed, a bit flipped, rewritten) changes it. */
static void rule_catches_every_one_word_change(void **state)
{
	uint64_t bm[UMFS_BSUM_WORDS + 100], seed = 99;
	uint64_t words = UMFS_ARRAY_SIZE(bm);

	(void)state;
	for (size_t j = 0; j < words; j++)
		bm[j] = j % 3 ? ~0ull : test_rand_next(&seed);
	for (uint64_t i = 0; i < 2; i++) {
		uint64_t sum = umfs_bsum_of(bm, words, i), direct = (i + 1) * UMFS_BSUM_SEED;

		for (uint64_t j = i * UMFS_BSUM_WORDS; j < words && j < (i + 1) * UMFS_BSUM_WORDS; j++)
			direct += bm[j] * (2 * (j % UMFS_BSUM_WORDS) + 1);
		assert_true(sum == direct);
		for (uint64_t j = i * UMFS_BSUM_WORDS; j < words && j < (i + 1) * UMFS_BSUM_WORDS; j++) {
			uint64_t old = bm[j];
			const uint64_t news[] = { 0, old ^ (1ull << (j % 64)), ~old, test_rand_next(&seed) };

			for (size_t k = 0; k < UMFS_ARRAY_SIZE(news); k++) {
				if (news[k] == old)
					continue;
				bm[j] = news[k];
				assert_true(umfs_bsum_of(bm, words, i) != sum);
				assert_true(sum + umfs_bsum_delta(j, old, news[k]) ==
					    umfs_bsum_of(bm, words, i));
			}
			bm[j] = old;
		}
	}
	/* a zeroed bitmap page under a zeroed sum does not match */
	memset(bm, 0, sizeof(bm));
	assert_true(umfs_bsum_of(bm, words, 0) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_catches_every_one_word_change),
		cmocka_unit_test_setup_teardown(sums_follow_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(zeroed_word_in_a_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_bit_in_a_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_last_word, setup, teardown),
		cmocka_unit_test_setup_teardown(zeroed_word_in_a_clean_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(no_sound_page_left_is_euclean, setup, teardown),
		cmocka_unit_test_setup_teardown(freeing_pages_marked_free_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_inode_bit_is_not_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(pool_without_sums_served_as_before, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
