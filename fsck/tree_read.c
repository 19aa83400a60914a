/* SPDX-License-Identifier: MIT */
/*
 * tree_read.c - reading the per-file page trees after the page-table step
 * has checked them: lookup and ordered iteration (the format's walk,
 * umfs_ptwalk.h, which decodes every entry before it follows it), release
 * of ownership.
 *
 * The trees have at most FSCK_PT_LEVELS levels, so the recursion here is
 * bounded by the format, not by the image; every entry is classified again
 * and every offset bounds-checked before it is followed, so a tree that
 * changed since (or was never checked) cannot lead outside the pool.
 */
#include "check.h"

/* Offset of the table or page an entry at level points to, 0 if unusable.
 * *huge is set for a 2 MiB leaf. */
static uint64_t entry_target(const struct fsck *c, uint64_t e, unsigned level, bool *huge)
{
	uint64_t off;

	switch (fsck_pte_decode(c, level, e, &off)) {
	case UMFS_PTE_TABLE:
		*huge = false;
		return off;
	case UMFS_PTE_LEAF:
		*huge = level == 2;
		return off;
	default:
		*huge = false;
		return 0;
	}
}

/* The format's walk over c's pool, with its geometry in *g. */
static struct umfs_ptwalk pt_walk(const struct fsck *c, struct umfs_ptgeom *g)
{
	*g = fsck_ptgeom(c);
	return (struct umfs_ptwalk){ .base = c->base, .g = g };
}

uint64_t fsck_pt_lookup(const struct fsck *c, const struct umfs_inode *in, uint64_t pg)
{
	struct umfs_ptgeom g;
	const struct umfs_ptwalk w = pt_walk(c, &g);
	struct umfs_pt_pos pos;

	if (umfs_pt_descend(&w, in->pt_height, umfs_pt_root_of(&w, in), pg, 1, &pos) !=
	    UMFS_PTE_LEAF)
		return 0;
	return umfs_pt_leaf_page(&pos, pg);
}

int fsck_pt_foreach(struct fsck *c, const struct umfs_inode *in, uint64_t first, uint64_t end,
		    fsck_pt_fn fn, void *arg)
{
	struct umfs_ptgeom g;
	const struct umfs_ptwalk w = pt_walk(c, &g);
	struct umfs_pt_pos pos;
	int ret = 0;

	/* damaged entries are skipped: the page-table step has reported them */
	for (uint64_t pg = first; pg < end && !ret;) {
		uint64_t n, off;

		pg = umfs_pt_next(&w, in->pt_height, umfs_pt_root_of(&w, in), pg,
				  UMFS_PT_WANT(UMFS_PTE_LEAF), &pos);
		if (pg >= end)
			break;
		off = umfs_pt_leaf_page(&pos, pg);
		n = umfs_pt_leaf_pages(&pos, pg);
		for (uint64_t k = 0; k < n && pg + k < end && !ret; k++)
			ret = fn(c, arg, pg + k, off + (k << UMFS_PAGE_SHIFT));
		pg += n;
	}
	return ret;
}

static void release_table(struct fsck *c, uint64_t toff, unsigned level);

/* Releases what the table at toff (n entries) maps, and the table page
 * itself when it has one. */
static void release_entries(struct fsck *c, uint64_t toff, unsigned level, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = fsck_pte_get(c, toff, i), off;
		bool huge;

		if (e == 0)
			continue;
		off = entry_target(c, e, level, &huge);
		if (off == 0)
			continue;
		if (level == 1)
			fsck_own_release(c, fsck_page_of(c, off), 1);
		else if (huge)
			fsck_own_release(c, fsck_page_of(c, off), UMFS_PAGES_PER_HUGE);
		else
			release_table(c, off, level - 1);
	}
}

static void release_table(struct fsck *c, uint64_t toff, unsigned level)
{
	fsck_own_release(c, fsck_page_of(c, toff), 1);
	release_entries(c, toff, level, UMFS_PT_ENTRIES);
}

void fsck_pt_release(struct fsck *c, const struct umfs_inode *in)
{
	uint64_t off = in->ulog;

	if (in->pt_height == UMFS_PT_INLINE)
		release_entries(c, (uint64_t)((const uint8_t *)in->pt_inline - c->base), 1,
				UMFS_PT_INLINE_ENTRIES);
	else if (in->pt_root && in->pt_height <= FSCK_PT_LEVELS && fsck_page_ok(c, in->pt_root)) {
		if (in->pt_height == 0)
			fsck_own_release(c, fsck_page_of(c, in->pt_root), 1);
		else
			release_table(c, in->pt_root, in->pt_height);
	}
	for (unsigned n = 0; off && n < FSCK_ULOG_CHAIN_MAX && fsck_page_ok(c, off); n++) {
		const struct umfs_ulog *u = fsck_ptr(c, off);

		if (n == 0 && u->spare && fsck_page_ok(c, u->spare))
			fsck_own_release(c, fsck_page_of(c, u->spare), 1);
		fsck_own_release(c, fsck_page_of(c, off), 1);
		off = u->next;
	}
}
