/* SPDX-License-Identifier: MIT */
/* test_alloc.c - page and inode bitmaps. */
#include <errno.h>

#include "testutil.h"

static void counts_match_bitmaps_after_remount(void **state)
{
	struct test_pool tp;
	uint64_t free0, first, got;

	assert_int_equal(test_pool_make(&tp, "acount", 32 << 20, 0), 0);
	free0 = tp.fs->free_pages;
	assert_int_equal(free0, tp.fs->data_pages);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc_run(tp.fs, 0, 100, &first, &got), 0);
	assert_int_equal(got, 100);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(tp.fs->free_pages, free0 - 100);
	assert_int_equal(test_pool_remount(&tp), 0);
	assert_int_equal(tp.fs->free_pages, free0 - 100);
	for (uint64_t i = 0; i < 100; i++)
		assert_true(umfs_page_is_used(tp.fs, first + i));
	test_pool_destroy(&tp);
}

static void goal_gives_contiguous_pages(void **state)
{
	struct test_pool tp;
	uint64_t a, b, c;

	assert_int_equal(test_pool_make(&tp, "agoal", 32 << 20, 0), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc(tp.fs, 1000, &a), 0);
	assert_int_equal(a, 1000);
	assert_int_equal(umfs_page_alloc(tp.fs, a + 1, &b), 0);
	assert_int_equal(b, 1001);
	/* an occupied goal falls back to some free page */
	assert_int_equal(umfs_page_alloc(tp.fs, 1000, &c), 0);
	assert_true(c != a && c != b);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	test_pool_destroy(&tp);
}

static void huge_runs_are_aligned_and_exclusive(void **state)
{
	struct test_pool tp;
	uint64_t single, h1, h2;

	assert_int_equal(test_pool_make(&tp, "ahuge", 64 << 20, 0), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc(tp.fs, 3, &single), 0);
	assert_int_equal(umfs_page_alloc_huge(tp.fs, &h1), 0);
	assert_int_equal(umfs_page_alloc_huge(tp.fs, &h2), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(h1 % UMFS_PAGES_PER_HUGE, 0);
	assert_int_equal(h2 % UMFS_PAGES_PER_HUGE, 0);
	assert_true(h1 != h2);
	/* the group holding the single page is not handed out whole */
	assert_true(single < h1 || single >= h1 + UMFS_PAGES_PER_HUGE);
	assert_true(single < h2 || single >= h2 + UMFS_PAGES_PER_HUGE);
	/* and the pool offset is 2 MiB aligned, as 2 MiB leaves require */
	assert_int_equal(umfs_page_off(tp.fs, h1) % UMFS_HUGE_SIZE, 0);
	test_pool_destroy(&tp);
}

/* Metadata pages come down from the top of the zone, away from data, and
 * every free page is reachable by both allocators. */
static void metadata_pages_come_from_the_top(void **state)
{
	struct test_pool tp;
	uint64_t data, m1, m2, m3, got, n = 0, page;
	int err = 0;

	assert_int_equal(test_pool_make(&tp, "ameta", 16 << 20, 0), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc(tp.fs, 0, &data), 0);
	assert_int_equal(umfs_page_alloc_meta(tp.fs, &m1), 0);
	assert_int_equal(umfs_page_alloc_meta(tp.fs, &m2), 0);
	assert_int_equal(m1, tp.fs->data_pages - 1);
	assert_int_equal(m2, m1 - 1);
	/* data keeps its place: the cursor did not follow the metadata */
	assert_int_equal(umfs_page_alloc(tp.fs, tp.fs->page_cursor, &page), 0);
	assert_int_equal(page, data + 1);
	/* a page freed above the cursor is the next one taken: this
	 * process has it mapped already */
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_free(tp.fs, m1, 1), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc_meta(tp.fs, &m3), 0);
	assert_int_equal(m3, m1);
	assert_int_equal(umfs_page_alloc_meta(tp.fs, &m3), 0);
	assert_int_equal(m3, m2 - 1);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	/* both kinds until the zone is full: every page handed out once */
	while (!err) {
		assert_int_equal(umfs_tx_begin(tp.fs), 0);
		err = n++ % 2 ? umfs_page_alloc_meta(tp.fs, &page) :
				umfs_page_alloc_run(tp.fs, 0, 7, &page, &got);
		assert_int_equal(umfs_tx_commit(tp.fs), 0);
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(tp.fs->free_pages, 0);
	assert_int_equal(test_pool_remount(&tp), 0);
	assert_int_equal(tp.fs->free_pages, 0);
	test_pool_destroy(&tp);
}

static void freed_pages_wait_for_commit(void **state)
{
	struct test_pool tp;
	uint64_t a, b;

	assert_int_equal(test_pool_make(&tp, "adefer", 16 << 20, 0), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc(tp.fs, 0, &a), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);

	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_free(tp.fs, a, 1), 0);
	assert_true(umfs_page_is_used(tp.fs, a)); /* not yet */
	assert_int_equal(umfs_page_alloc(tp.fs, a, &b), 0);
	assert_int_not_equal(a, b); /* never reused by the tx that freed it */
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_false(umfs_page_is_used(tp.fs, a));
	test_pool_destroy(&tp);
}

static void abort_restores_bitmaps_and_counts(void **state)
{
	struct test_pool tp;
	uint64_t free_p, free_i, first, got, ino;

	assert_int_equal(test_pool_make(&tp, "aabort", 16 << 20, 0), 0);
	free_p = tp.fs->free_pages;
	free_i = tp.fs->free_inodes;
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc_run(tp.fs, 10, 50, &first, &got), 0);
	assert_int_equal(umfs_ino_alloc(tp.fs, &ino), 0);
	umfs_tx_abort(tp.fs);
	assert_int_equal(tp.fs->free_pages, free_p);
	assert_int_equal(tp.fs->free_inodes, free_i);
	assert_false(umfs_page_is_used(tp.fs, first));
	assert_false(umfs_ino_is_used(tp.fs, ino));
	test_pool_destroy(&tp);
}

static void exhaustion_is_enospc(void **state)
{
	struct test_pool tp;
	uint64_t first, got, total = 0, ino;
	int err = 0;

	assert_int_equal(test_pool_make(&tp, "afull", 8 << 20, 16), 0);
	while (!err) {
		assert_int_equal(umfs_tx_begin(tp.fs), 0);
		err = umfs_page_alloc_run(tp.fs, 0, 1000, &first, &got);
		if (!err)
			total += got;
		assert_int_equal(umfs_tx_commit(tp.fs), 0);
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(total, tp.fs->data_pages);
	assert_int_equal(tp.fs->free_pages, 0);

	/* inodes: 16 asked for, the zone holds a page of them */
	uint64_t n = 0;
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	while ((err = umfs_ino_alloc(tp.fs, &ino)) == 0) {
		assert_true(ino > UMFS_ROOT_INO && ino < tp.fs->inode_count);
		n++;
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(n, tp.fs->inode_count - 2);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	test_pool_destroy(&tp);
}

static void double_free_is_detected(void **state)
{
	struct test_pool tp;

	assert_int_equal(test_pool_make(&tp, "adouble", 16 << 20, 0), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_free(tp.fs, 5, 1), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), -EUCLEAN);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_free(tp.fs, tp.fs->data_pages, 1), -EUCLEAN);
	assert_int_equal(umfs_ino_free(tp.fs, UMFS_ROOT_INO), -EUCLEAN);
	umfs_tx_abort(tp.fs);
	test_pool_destroy(&tp);
}

/* What a recount of the bitmaps of a mounted pool gives. */
static void recount(const struct umfs_fs *fs, uint64_t *pages, uint64_t *inodes)
{
	*pages = fs->data_pages - umfs_bitmap_count(fs->pbitmap, fs->data_pages);
	*inodes = fs->inode_count - umfs_bitmap_count(fs->ibitmap, fs->inode_count);
}

/* The state page of the (unmounted) pool at path, mapped: *pm to unmap. */
static struct umfs_state *state_of(const char *path, struct umfs_pmem *pm,
				   struct umfs_superblock **sb)
{
	assert_int_equal(umfs_pmem_map(path, 0, false, pm), 0);
	*sb = (struct umfs_superblock *)pm->base;
	return (struct umfs_state *)(pm->base + (*sb)->state_off);
}

/* Free counts kept at a clean unmount are the bitmaps' and the next mount
 * takes them; after a crash (a copy of the pool taken while it is
 * mounted), even with counts that look kept, the mount counts anew. */
static void kept_counts_match_a_recount(void **state)
{
	struct test_pool tp;
	struct umfs_pmem pm;
	struct umfs_superblock *sb;
	struct umfs_state *st;
	struct umfs_state_counts *k;
	uint64_t free0, first, got, ino, pages, inodes;
	char crash[300];
	FILE *in, *out;
	char buf[65536];
	size_t n;

	assert_int_equal(test_pool_make(&tp, "akept", 32 << 20, 0), 0);
	free0 = tp.fs->free_pages;
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc_run(tp.fs, 0, 100, &first, &got), 0);
	assert_int_equal(umfs_ino_alloc(tp.fs, &ino), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(umfs_unmount(tp.fs), 0);
	tp.fs = NULL;

	/* a clean exit kept them, and they are the bitmaps' */
	st = state_of(tp.path, &pm, &sb);
	k = umfs_state_counts_of(st);
	assert_true(umfs_state_counts_ok(sb, st, k));
	assert_int_equal(k->free_pages, free0 - 100);
	/* a mount takes them as they are: seen by changing them (check too) */
	k->free_pages -= 7;
	k->check = umfs_state_counts_check(sb, st, k);
	umfs_pmem_unmap(&pm);
	assert_int_equal(umfs_mount(tp.path, 0, &tp.fs), 0);
	assert_int_equal(tp.fs->free_pages, free0 - 107);
	tp.fs->free_pages += 7; /* what they were */
	recount(tp.fs, &pages, &inodes);
	assert_int_equal(tp.fs->free_pages, pages);
	assert_int_equal(tp.fs->free_inodes, inodes);

	/* a crash: the pool copied while mounted, after 50 more pages */
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_page_alloc_run(tp.fs, 0, 50, &first, &got), 0);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	snprintf(crash, sizeof(crash), "%s.crash", tp.path);
	in = fopen(tp.path, "rb");
	out = fopen(crash, "wb");
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	test_pool_destroy(&tp);

	/* counts that would pass every other test of the rule: the dirty
	 * state alone must refuse them */
	st = state_of(crash, &pm, &sb);
	assert_int_equal(st->state, UMFS_STATE_DIRTY);
	k = umfs_state_counts_of(st);
	k->free_pages = 1;
	k->free_inodes = 1;
	k->check = umfs_state_counts_check(sb, st, k);
	assert_false(umfs_state_counts_ok(sb, st, k));
	umfs_pmem_unmap(&pm);
	assert_int_equal(umfs_mount(crash, 0, &tp.fs), 0);
	recount(tp.fs, &pages, &inodes);
	assert_int_equal(pages, free0 - 150);
	assert_int_equal(tp.fs->free_pages, pages);
	assert_int_equal(tp.fs->free_inodes, inodes);
	assert_int_equal(umfs_unmount(tp.fs), 0);
	tp.fs = NULL;

	/* its clean exit keeps the recount */
	st = state_of(crash, &pm, &sb);
	k = umfs_state_counts_of(st);
	assert_true(umfs_state_counts_ok(sb, st, k));
	assert_int_equal(k->free_pages, free0 - 150);
	assert_int_equal(k->free_inodes, inodes);
	/* anything a mount or a repair changes makes them stale */
	st->mount_count++;
	assert_false(umfs_state_counts_ok(sb, st, k));
	st->mount_count--;
	st->last_check_ns++;
	assert_false(umfs_state_counts_ok(sb, st, k));
	st->last_check_ns--;
	assert_true(umfs_state_counts_ok(sb, st, k));
	umfs_pmem_unmap(&pm);
	unlink(crash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_match_bitmaps_after_remount),
		cmocka_unit_test(kept_counts_match_a_recount),
		cmocka_unit_test(goal_gives_contiguous_pages),
		cmocka_unit_test(huge_runs_are_aligned_and_exclusive),
		cmocka_unit_test(metadata_pages_come_from_the_top),
		cmocka_unit_test(freed_pages_wait_for_commit),
		cmocka_unit_test(abort_restores_bitmaps_and_counts),
		cmocka_unit_test(exhaustion_is_enospc),
		cmocka_unit_test(double_free_is_detected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
