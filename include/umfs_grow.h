/* SPDX-License-Identifier: MIT */
/*
 * umfs_grow.h - what a grow changes on the media, compiled by the core
 * (which grows a pool and finishes an interrupted grow at mount), fsck.umfs
 * (which finishes one too) and the kernel module (which refuses a pool
 * whose grow is unfinished). docs/format.md, "Growing a pool", gives the
 * steps and why each state between two fences is sound.
 *
 * A grow from `from` to `to` data pages (from < to) writes a superblock
 * with INCOMPAT_GROWING and grow_from_pages = from into the new last page,
 * then over the primary: the commit point. The rest follows from that
 * superblock alone and is idempotent, since no one uses the pool while
 * the bit is set: the page bitmap's words holding pages [from, to) lose
 * those bits, the bits past `to` to the end of the last word are set, the
 * sums of the bitmap pages touched are recomputed; then the superblock is
 * rewritten without the bit, primary first, then backup, a cache line at
 * a time (umfs_grow_backup_stale).
 */
#ifndef UMFS_GROW_H
#define UMFS_GROW_H

#include "umfs_format.h"

/* The bitmap words [word, word_end) and sums [sum, sum_end) a grow from
 * `from` to `to` pages rewrites: what the caller makes durable. */
struct umfs_grow_span {
	umfs_u64 word, word_end, sum, sum_end;
};

static inline struct umfs_grow_span umfs_grow_span_of(umfs_u64 from, umfs_u64 to)
{
	struct umfs_grow_span s;

	s.word = from / 64;
	s.word_end = umfs_pbitmap_words(to);
	s.sum = s.word / UMFS_BSUM_WORDS;
	s.sum_end = umfs_bsum_count(to);
	return s;
}

/* Word j of the bitmap after the grow, from its value old: the bits of
 * pages below `from` kept (they may be in use), pages [from, to) free,
 * pages at and past `to` (past the zone) set. */
static inline umfs_u64 umfs_grow_word(umfs_u64 j, umfs_u64 old, umfs_u64 from, umfs_u64 to)
{
	umfs_u64 first = j * 64, keep = 0, past = 0;

	if (from > first)
		keep = from - first >= 64 ? ~0ull : (1ull << (from - first)) - 1;
	if (to < first + 64)
		past = to <= first ? ~0ull : ~((1ull << (to - first)) - 1);
	return (old & keep) | past;
}

/*
 * Step (d) on the page bitmap bm and its sums (NULL: the pool keeps none)
 * of a GROWING superblock sb: returns the span written, for the caller to
 * flush and fence. Running it again gives the same bytes.
 */
static inline struct umfs_grow_span umfs_grow_bitmap(const struct umfs_superblock *sb,
						     umfs_le64 *bm, umfs_le64 *sums)
{
	umfs_u64 from = umfs_le64_to_cpu(sb->grow_from_pages);
	umfs_u64 to = umfs_le64_to_cpu(sb->data_pages), j;
	struct umfs_grow_span s = umfs_grow_span_of(from, to);

	for (j = s.word; j < s.word_end; j++)
		bm[j] = umfs_cpu_to_le64(umfs_grow_word(j, umfs_le64_to_cpu(bm[j]), from, to));
	for (j = s.sum; sums && j < s.sum_end; j++)
		sums[j] = umfs_cpu_to_le64(umfs_bsum_of(bm, s.word_end, j));
	return s;
}

/* Steps (b) and (c): sb, a valid superblock, made the one of the pool at
 * size bytes (page-aligned, within umfs_sb_grow_limit), GROWING, sealed. */
static inline void umfs_grow_sb_begin(struct umfs_superblock *sb, umfs_u64 size)
{
	sb->grow_from_pages = sb->data_pages;
	sb->pool_size = umfs_cpu_to_le64(size);
	sb->backup_sb_off = umfs_cpu_to_le64(size - UMFS_PAGE_SIZE);
	sb->data_pages = umfs_cpu_to_le64(umfs_sb_pages_at(sb, size));
	sb->feature_incompat = umfs_cpu_to_le32(umfs_le32_to_cpu(sb->feature_incompat) |
						UMFS_FEATURE_INCOMPAT_GROWING);
	sb->csum = umfs_cpu_to_le32(umfs_sb_csum(sb));
}

/* Step (e): the GROWING superblock sb finished, sealed. */
static inline void umfs_grow_sb_end(struct umfs_superblock *sb)
{
	sb->grow_from_pages = 0;
	sb->feature_incompat = umfs_cpu_to_le32(umfs_le32_to_cpu(sb->feature_incompat) &
						~UMFS_FEATURE_INCOMPAT_GROWING);
	sb->csum = umfs_cpu_to_le32(umfs_sb_csum(sb));
}

static inline int umfs_sb_growing(const struct umfs_superblock *sb)
{
	return (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_GROWING) != 0;
}

/* The cache line of a superblock that step (e) writes first when it
 * rewrites the backup, line by line: the checksum's. The line holding
 * grow_from_pages goes last, so that a backup torn by (e) still names
 * the pages the grow started from. */
#define UMFS_GROW_SB_LINES (sizeof(struct umfs_superblock) / UMFS_CACHELINE)
#define UMFS_GROW_SB_FIRST_LINE (UMFS_GROW_SB_LINES - 1)

/*
 * Whether backup b is what step (e) leaves of it beside a finished primary
 * p: b differs from p, and each of its cache lines is p's or that of p
 * GROWING from b's grow_from_pages (the backup before (e) began), which
 * is still there (see UMFS_GROW_SB_FIRST_LINE). Every mount rewrites such
 * a backup, so that no fallback to it repeats step (d) on a pool in use.
 */
static inline int umfs_grow_backup_stale(const struct umfs_superblock *p,
					 const struct umfs_superblock *b)
{
	struct umfs_superblock g = *p;
	const umfs_u8 *pl = (const umfs_u8 *)p, *bl = (const umfs_u8 *)b, *gl = (const umfs_u8 *)&g;
	umfs_size i;

	if (umfs_sb_growing(p) || !b->grow_from_pages || !__builtin_memcmp(p, b, sizeof(*p)))
		return 0;
	g.grow_from_pages = b->grow_from_pages;
	g.feature_incompat = umfs_cpu_to_le32(umfs_le32_to_cpu(g.feature_incompat) |
					      UMFS_FEATURE_INCOMPAT_GROWING);
	g.csum = umfs_cpu_to_le32(umfs_sb_csum(&g));
	for (i = 0; i < sizeof(g); i += UMFS_CACHELINE)
		if (__builtin_memcmp(bl + i, pl + i, UMFS_CACHELINE) &&
		    __builtin_memcmp(bl + i, gl + i, UMFS_CACHELINE))
			return 0;
	return 1;
}

#endif /* UMFS_GROW_H */
