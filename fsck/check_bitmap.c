/* SPDX-License-Identifier: MIT */
/*
 * check_bitmap.c - step 9: the inode and page bitmaps against what the
 * earlier steps found in use.
 *
 * Expected: a bit for every live inode (and for the reserved inode 0), a bit
 * for every page a live inode owns; the bits past the end of each zone in
 * the last word are set, as the format writes them, so that the allocators
 * never look beyond. A mismatch is repaired by rewriting the word: a leak
 * is freed, a page or inode in use but marked free is marked used.
 *
 * The page bitmap's checksums (umfs_rules.h) are checked by a quick step,
 * on every run: a word zeroed or flipped since the pool was last written
 * makes the check full, and the bitmap step, having rebuilt the words from
 * the page tables, writes every checksum anew.
 */
#include <inttypes.h>

#include "check.h"

/* Problems listed one by one before the rest are summed up. */
#define LIST_MAX 8

struct diff {
	const char *what;     /* "inode", "page" */
	const char *zone;     /* "inode bitmap" */
	uint64_t nbits;
	uint64_t leaked, lost; /* marked used but free / in use but marked free */
	bool tail;
};

static void report_bit(struct fsck *c, struct diff *df, uint64_t i, bool used_now)
{
	uint64_t *n = used_now ? &df->leaked : &df->lost;

	if (i >= df->nbits) {
		if (!df->tail)
			fsck_problem(c, "set", "%s: bits past the last %s are not set", df->zone,
				     df->what);
		df->tail = true;
		return;
	}
	if ((*n)++ < LIST_MAX)
		fsck_problem(c, used_now ? "freed" : "marked used",
			     used_now ? "%s: %s %" PRIu64 " marked in use, but nothing uses it"
				      : "%s: %s %" PRIu64 " in use, but marked free",
			     df->zone, df->what, i);
}

static void report_rest(struct fsck *c, const struct diff *df)
{
	if (df->leaked > LIST_MAX)
		fsck_problem(c, "freed", "%s: %" PRIu64 " more %ss marked in use, but unused",
			     df->zone, df->leaked - LIST_MAX, df->what);
	if (df->lost > LIST_MAX)
		fsck_problem(c, "marked used", "%s: %" PRIu64 " more %ss in use, but marked free",
			     df->zone, df->lost - LIST_MAX, df->what);
}

/* Compares map with want() (the expected word w) over df->nbits and
 * rewrites the differing words. Bits in quiet() were freed or taken by a
 * repair already reported: they change without a report of their own. */
static void sync_bitmap(struct fsck *c, uint64_t *map, struct diff *df,
			uint64_t (*want)(const struct fsck *c, uint64_t w),
			uint64_t (*quiet)(const struct fsck *c, uint64_t w))
{
	uint64_t nbits = df->nbits, words = UMFS_DIV_ROUND_UP(nbits, 64);

	for (uint64_t w = 0; w < words; w++) {
		uint64_t expect = want(c, w), x;

		if ((w + 1) * 64 > nbits)
			expect |= ~0ull << (nbits % 64);
		x = map[w] ^ expect;
		if (x == 0)
			continue;
		for (uint64_t b = 0; b < 64; b++)
			if (((x & ~quiet(c, w)) >> b) & 1)
				report_bit(c, df, w * 64 + b, (map[w] >> b) & 1);
		fsck_set64(c, &map[w], expect);
	}
	report_rest(c, df);
}

static uint64_t inodes_wanted(const struct fsck *c, uint64_t w)
{
	uint64_t word = 0;

	for (uint64_t b = 0; b < 64 && w * 64 + b < c->inode_count; b++) {
		uint64_t ino = w * 64 + b;

		if (ino == 0 || (c->ino[ino].flags & FI_LIVE))
			word |= 1ull << b;
	}
	return word;
}

static uint64_t inodes_quiet(const struct fsck *c, uint64_t w)
{
	uint64_t word = 0;

	for (uint64_t b = 0; b < 64 && w * 64 + b < c->inode_count; b++)
		if (c->ino[w * 64 + b].flags & (FI_FREED | FI_NEW))
			word |= 1ull << b;
	return word;
}

static uint64_t pages_wanted(const struct fsck *c, uint64_t w)
{
	return c->owned[w];
}

static uint64_t pages_quiet(const struct fsck *c, uint64_t w)
{
	return (c->released[w] & ~c->owned[w]) | (c->fresh[w] & c->owned[w]);
}

/* Free counts the state page keeps for the next mount, when it says they
 * still hold, must be the bitmaps': a mount would take them unchecked. */
static void kept_counts_check(struct fsck *c)
{
	struct umfs_state_counts *k;
	uint64_t pages, inodes;

	if (c->state == NULL || c->pbitmap == NULL || c->ibitmap == NULL)
		return;
	k = umfs_state_counts_of(c->state);
	if (!umfs_state_counts_ok(&c->sb, c->state, k))
		return; /* none kept, or stale: the next mount counts */
	pages = c->data_pages - umfs_bitmap_count(c->pbitmap, c->data_pages);
	inodes = c->inode_count - umfs_bitmap_count(c->ibitmap, c->inode_count);
	if ((k->free_pages != pages || k->free_inodes != inodes) &&
	    fsck_problem(c, "dropped (the next mount counts)",
			 "state page: kept free counts (%" PRIu64 " pages, %" PRIu64
			 " inodes) differ from the bitmaps' (%" PRIu64 ", %" PRIu64 ")",
			 (uint64_t)k->free_pages, (uint64_t)k->free_inodes, pages, inodes))
		fsck_set64(c, &k->check, 0);
}

int fsck_bitmap_sums(struct fsck *c)
{
	uint64_t words = umfs_pbitmap_words(c->data_pages), bad = 0;

	for (uint64_t i = 0; c->bsum && i < umfs_bsum_count(c->data_pages); i++) {
		uint64_t first = i * UMFS_BSUM_WORDS * 64;

		if (umfs_bsum_of(c->pbitmap, words, i) == c->bsum[i] || bad++ >= LIST_MAX)
			continue;
		fsck_problem(c, "rebuilt from the page tables",
			     "page bitmap: its page %" PRIu64 " (data pages %" PRIu64 "-%" PRIu64
			     ") fails its checksum",
			     i, first, UMFS_MIN(first + UMFS_BSUM_WORDS * 64, c->data_pages) - 1);
	}
	if (bad > LIST_MAX)
		fsck_problem(c, "rebuilt from the page tables",
			     "page bitmap: %" PRIu64 " more of its pages fail their checksums",
			     bad - LIST_MAX);
	kept_counts_check(c);
	return 0;
}

/* Writes the checksum of every page of the (repaired) page bitmap: those
 * that change were reported, by the quick step or as the words they cover. */
static void sums_write(struct fsck *c)
{
	uint64_t words = umfs_pbitmap_words(c->data_pages);

	for (uint64_t i = 0; c->bsum && i < umfs_bsum_count(c->data_pages); i++) {
		uint64_t sum = umfs_bsum_of(c->pbitmap, words, i);

		if (c->bsum[i] != sum)
			fsck_set64(c, &c->bsum[i], sum);
	}
}

int fsck_bitmaps(struct fsck *c)
{
	struct diff idf = { .what = "inode", .zone = "inode bitmap", .nbits = c->inode_count };
	struct diff pdf = { .what = "page", .zone = "page bitmap", .nbits = c->data_pages };

	sync_bitmap(c, c->ibitmap, &idf, inodes_wanted, inodes_quiet);
	sync_bitmap(c, c->pbitmap, &pdf, pages_wanted, pages_quiet);
	sums_write(c);
	return 0;
}
