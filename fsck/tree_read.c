/* SPDX-License-Identifier: MIT */
/*
 * tree_read.c - reading the per-file page trees after the page-table step
 * has checked them: lookup, ordered iteration, release of ownership.
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

uint64_t fsck_pt_lookup(const struct fsck *c, const struct umfs_inode *in, uint64_t pg)
{
	unsigned h = in->pt_height;
	uint64_t off = in->pt_root;

	if (off == 0 || h > FSCK_PT_LEVELS || !fsck_page_ok(c, off))
		return 0;
	if (h == 0)
		return pg == 0 ? off : 0;
	if (pg >= fsck_pt_span(h + 1))
		return 0;
	for (unsigned level = h; level >= 1; level--) {
		uint64_t e = fsck_pte_get(c, off, (unsigned)((pg / fsck_pt_span(level)) % UMFS_PT_ENTRIES));
		bool huge;

		if (e == 0)
			return 0;
		off = entry_target(c, e, level, &huge);
		if (off == 0)
			return 0;
		if (huge)
			return off + ((pg % UMFS_PAGES_PER_HUGE) << UMFS_PAGE_SHIFT);
	}
	return off;
}

struct foreach {
	uint64_t first, end;
	fsck_pt_fn fn;
	void *arg;
};

static int foreach_table(struct fsck *c, const struct foreach *f, uint64_t toff, unsigned level,
			 uint64_t base)
{
	uint64_t span = fsck_pt_span(level);

	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++) {
		uint64_t pg = base + i * span, e, off;
		bool huge;
		int ret = 0;

		if (pg + span <= f->first)
			continue;
		if (pg >= f->end)
			break;
		e = fsck_pte_get(c, toff, i);
		if (e == 0)
			continue;
		off = entry_target(c, e, level, &huge);
		if (off == 0)
			continue;
		if (level == 1) {
			ret = f->fn(c, f->arg, pg, off);
		} else if (huge) {
			for (uint64_t k = 0; k < UMFS_PAGES_PER_HUGE && !ret; k++)
				if (pg + k >= f->first && pg + k < f->end)
					ret = f->fn(c, f->arg, pg + k, off + (k << UMFS_PAGE_SHIFT));
		} else {
			ret = foreach_table(c, f, off, level - 1, pg);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int fsck_pt_foreach(struct fsck *c, const struct umfs_inode *in, uint64_t first, uint64_t end,
		    fsck_pt_fn fn, void *arg)
{
	struct foreach f = { .first = first, .end = end, .fn = fn, .arg = arg };
	unsigned h = in->pt_height;

	if (in->pt_root == 0 || h > FSCK_PT_LEVELS || !fsck_page_ok(c, in->pt_root) || first >= end)
		return 0;
	if (h == 0)
		return first == 0 ? fn(c, arg, 0, in->pt_root) : 0;
	return foreach_table(c, &f, in->pt_root, h, 0);
}

static void release_table(struct fsck *c, uint64_t toff, unsigned level)
{
	fsck_own_release(c, fsck_page_of(c, toff), 1);
	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++) {
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

void fsck_pt_release(struct fsck *c, const struct umfs_inode *in)
{
	uint64_t off = in->ulog;

	if (in->pt_root && in->pt_height <= FSCK_PT_LEVELS && fsck_page_ok(c, in->pt_root)) {
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
