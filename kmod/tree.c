// SPDX-License-Identifier: GPL-2.0
/*
 * tree.c - walks of a file's page tree in the pool: validation, the two
 * rewrite passes of a rebase, and ptlock initialisation.
 *
 * Every entry is checked before it is followed: flags exactly one of the
 * three forms of docs/format.md for its level, address inside the data
 * zone, 2 MiB leaves 2 MiB-aligned and whole. Trees are as tall as the
 * pool allows (4 levels with level-4 tables); an inline table's entries
 * are those of a level-1 table, in the inode. With a `seen` bitmap, a page
 * reached twice (in this file or another) is refused, so no file can reach
 * another file's pages.
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "umfs_km.h"

int umfs_km_entry_off(const struct umfs_km_walk *w, u64 e, u64 *off)
{
	u64 addr = e & UMFS_PTE_ADDR_MASK;

	if (addr >= UMFS_KM_PARK) {
		if (!w->park_ok)
			return -EUCLEAN;
		*off = addr - UMFS_KM_PARK;
	} else {
		if (addr < w->lo_base)
			return -EUCLEAN;
		*off = addr - w->lo_base;
	}
	return umfs_km_off_is_data_page(w->pool, *off) ? 0 : -EUCLEAN;
}

/* Marks npages data pages from pool offset off as reached. */
static int umfs_km_walk_mark(struct umfs_km_walk *w, u64 off, u64 npages)
{
	u64 first = (off - w->pool->data_off) >> UMFS_PAGE_SHIFT, i;

	if (first + npages > w->pool->data_pages)
		return -EUCLEAN;
	if (!w->seen)
		return 0;
	for (i = 0; i < npages; i++)
		if (test_and_set_bit(first + i, w->seen))
			return -EUCLEAN;
	return 0;
}

void umfs_km_ptlock_init(const struct umfs_km_pool *p, u64 off)
{
	struct page *pg = pfn_to_page(p->pfn + (off >> UMFS_PAGE_SHIFT));

	/* Split page-table locks live in struct page (ALLOC_SPLIT_PTLOCKS is
	 * off in this configuration); the fault path takes them for our tables. */
	spin_lock_init(ptlock_ptr(pg));
}

u64 umfs_km_entry_form(unsigned int level, u64 e)
{
	return umfs_pte_form(level, e); /* umfs_rules.h */
}

int umfs_km_child(const struct umfs_km_pool *p, u64 e, unsigned int level, u64 *off, bool *huge)
{
	/* the format's one reading of an entry (umfs_rules.h), as the core's
	 * and fsck's walks read it */
	switch (umfs_pte_decode(&p->geom, level, e, off)) {
	case UMFS_PTE_TABLE:
		*huge = false;
		return 0;
	case UMFS_PTE_LEAF:
		*huge = level == 2;
		return 0;
	default:
		return -EUCLEAN; /* a hole is no child either */
	}
}

static int umfs_km_walk_table(struct umfs_km_walk *w, u64 toff, unsigned int level);

/* Entries t[0..n) of a table at level: a table page, or an inline table
 * (n = UMFS_PT_INLINE_ENTRIES, in its inode). */
static int umfs_km_walk_entries(struct umfs_km_walk *w, u64 *t, unsigned int n,
				unsigned int level)
{
	bool dirty = false;
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		u64 e = READ_ONCE(t[i]), form, off;

		if (!e)
			continue;
		form = umfs_km_entry_form(level, e);
		if (!form)
			return -EUCLEAN;
		err = umfs_km_entry_off(w, e, &off);
		if (err)
			return err;
		if (form == UMFS_PTE_LEAF2M_FLAGS &&
		    !umfs_off_is_huge_leaf(w->pool->data_off, w->pool->data_pages, off))
			return -EUCLEAN;
		err = umfs_km_walk_mark(w, off, form == UMFS_PTE_LEAF2M_FLAGS ?
					UMFS_PAGES_PER_HUGE : 1);
		if (err)
			return err;
		if (form == UMFS_PTE_TABLE_FLAGS) {
			err = umfs_km_walk_table(w, off, level - 1);
			if (err)
				return err;
		} else {
			w->leaves++;
		}
		if (w->mode != UMFS_KM_WALK_CHECK) {
			u64 base = w->mode == UMFS_KM_WALK_PARK ? UMFS_KM_PARK : w->new_base;
			u64 ne = (base + off) | form;

			if (ne != e) {
				if (w->stop_after && w->rewritten == w->stop_after) {
					umfs_km_persist(t, n * sizeof(*t));
					return -EINTR; /* a simulated crash */
				}
				/* one aligned 8-byte store: an entry is old or new, never torn */
				WRITE_ONCE(t[i], ne);
				w->rewritten++;
				dirty = true;
			}
		}
	}
	if (dirty)
		umfs_km_persist(t, n * sizeof(*t));
	return 0;
}

static int umfs_km_walk_table(struct umfs_km_walk *w, u64 toff, unsigned int level)
{
	int err;

	w->tables++;
	if (w->init_ptlocks)
		umfs_km_ptlock_init(w->pool, toff);
	err = umfs_km_walk_entries(w, umfs_km_off_ptr(w->pool, toff), UMFS_PT_ENTRIES, level);
	cond_resched();
	return err;
}

int umfs_km_tree_walk(struct umfs_km_walk *w, u64 ino, const struct umfs_inode *in)
{
	struct umfs_inode *live;
	int err;

	if (umfs_km_is_inline(in)) {
		/* in passed umfs_inode_tree_ok: a regular file of a pool with
		 * inline tables. Its entries are read, and rebased, in place. */
		live = umfs_km_off_ptr(w->pool, w->pool->inode_off + ino * sizeof(*live));
		return umfs_km_walk_entries(w, live->pt_inline, UMFS_PT_INLINE_ENTRIES, 1);
	}
	if (!in->pt_root)
		return 0;
	if (!umfs_pt_root_ok(&w->pool->geom, in->pt_height, in->pt_root))
		return -EUCLEAN;
	err = umfs_km_walk_mark(w, in->pt_root, 1);
	if (err)
		return err;
	if (in->pt_height == 0) {
		w->leaves++;
		return 0;
	}
	return umfs_km_walk_table(w, in->pt_root, in->pt_height);
}
