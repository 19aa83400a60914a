// SPDX-License-Identifier: GPL-2.0
/*
 * alloc.c - pages and tables for an inode's tree, inside a module
 * transaction (EXTEND, EXCHANGE).
 *
 * The bitmap words of every run taken are saved before they change; new
 * pages are zeroed and persisted before anything points at them, so they
 * need no record (rolling back the bitmap frees them again). Every entry
 * followed on the way down is checked (form, data zone), as in tree.c, and
 * every entry written is made from a page taken here. The inode's first
 * 128 bytes must already be saved in the transaction: blocks, and the root
 * when the tree grows, change.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "umfs_km.h"

static bool umfs_km_page_free(const struct umfs_km_pool *p, u64 page)
{
	return page < p->data_pages && !test_bit(page, (unsigned long *)umfs_km_bitmap(p));
}

int umfs_km_bits_take(struct umfs_km_tx *tx, u64 goal, u64 want, u64 *first, u64 *got)
{
	struct umfs_km_pool *p = tx->p;
	u64 *bm = umfs_km_bitmap(p), start = U64_MAX, n = 0, w0, w1, i, k;
	int err;

	if (umfs_km_page_free(p, goal)) {
		start = goal;
	} else {
		for (k = 0; k < p->data_pages && start == U64_MAX; k++) {
			i = (p->kcursor + k) % p->data_pages;
			if (umfs_km_page_free(p, i))
				start = i;
			else if (!(i % 64) && bm[i / 64] == ~0ull)
				k += 63; /* a full word */
		}
		if (start == U64_MAX)
			return -ENOSPC;
	}
	while (n < want && umfs_km_page_free(p, start + n))
		n++;
	w0 = start / 64;
	w1 = (start + n - 1) / 64;
	err = umfs_km_tx_add(tx, p->pbitmap_off + w0 * 8, (u32)(w1 - w0 + 1) * 8);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		__set_bit(start + i, (unsigned long *)bm); /* LE u64 words */
	tx->allocated += n;
	p->kcursor = start + n;
	*first = start;
	*got = n;
	return 0;
}

int umfs_km_alloc_run(struct umfs_km_tx *tx, struct umfs_inode *in, u64 goal, u64 want,
		      u64 *first, u64 *got)
{
	int err = umfs_km_bits_take(tx, goal, want, first, got);

	if (!err)
		in->blocks += *got;
	return err;
}

int umfs_km_bits_give(struct umfs_km_tx *tx, u64 page)
{
	struct umfs_km_pool *p = tx->p;
	int err;

	if (page >= p->data_pages || !test_bit(page, (unsigned long *)umfs_km_bitmap(p)))
		return -EUCLEAN;
	err = umfs_km_tx_add(tx, p->pbitmap_off + page / 64 * 8, 8);
	if (!err)
		__clear_bit(page, (unsigned long *)umfs_km_bitmap(p));
	return err;
}

void umfs_km_zero_pages(struct umfs_km_pool *p, u64 first, u64 n)
{
	void *addr = umfs_km_off_ptr(p, p->data_off + (first << UMFS_PAGE_SHIFT));

	memset(addr, 0, n << UMFS_PAGE_SHIFT);
	arch_wb_cache_pmem(addr, n << UMFS_PAGE_SHIFT);
}

/* A new, zeroed table page (persisted by the caller's fence). */
static int umfs_km_table_new(struct umfs_km_tx *tx, struct umfs_inode *in, u64 *off)
{
	u64 page, got;
	int err = umfs_km_alloc_run(tx, in, tx->p->kcursor, 1, &page, &got);

	if (err)
		return err;
	umfs_km_zero_pages(tx->p, page, 1);
	*off = tx->p->data_off + (page << UMFS_PAGE_SHIFT);
	umfs_km_ptlock_init(tx->p, *off);
	return 0;
}

void umfs_km_inode_set_root(struct umfs_inode *in, u64 root, unsigned int height)
{
	wmb(); /* what the new root points at is persisted first */
	in->pt_root = root;
	in->pt_height = (u8)height;
	in->csum = umfs_inode_id_csum(in);
}

/* The live inode's root, checked before it is followed. */
static int umfs_km_root_check(const struct umfs_km_pool *p, const struct umfs_inode *in)
{
	if (in->pt_root && (in->pt_height > 3 || !umfs_km_off_is_data_page(p, in->pt_root)))
		return -EUCLEAN;
	return 0;
}

int umfs_km_tree_cover(struct umfs_km_tx *tx, struct umfs_inode *in, u64 last,
		       unsigned int min_height)
{
	unsigned int need = max(umfs_pt_height_for(last), min_height);
	u64 off, page, got, *t;
	int err = umfs_km_root_check(tx->p, in);

	if (err)
		return err;
	if (!in->pt_root) {
		if (need == 0) { /* a one-page file: the root is its data page */
			err = umfs_km_alloc_run(tx, in, tx->p->kcursor, 1, &page, &got);
			if (err)
				return err;
			umfs_km_zero_pages(tx->p, page, 1);
			umfs_km_inode_set_root(in, tx->p->data_off + (page << UMFS_PAGE_SHIFT), 0);
			return 0;
		}
		err = umfs_km_table_new(tx, in, &off);
		if (!err)
			umfs_km_inode_set_root(in, off, need);
		return err;
	}
	while (in->pt_height < need) {
		/* one level more on top: the old root becomes entry 0 */
		err = umfs_km_table_new(tx, in, &off);
		if (err)
			return err;
		t = umfs_km_off_ptr(tx->p, off);
		t[0] = (tx->p->phys + in->pt_root) |
		       (in->pt_height ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS);
		arch_wb_cache_pmem(t, sizeof(*t));
		umfs_km_inode_set_root(in, off, in->pt_height + 1);
	}
	return 0;
}

/*
 * The entry at `level` (1 or 2) for file page pg, walking down from the
 * root of a tree of height >= level. make: missing tables are created;
 * otherwise *slot is NULL where one is missing. Returns 1 when a 2 MiB
 * leaf covers pg above level 1 (*slot is then that leaf's entry).
 */
int umfs_km_slot_walk(struct umfs_km_tx *tx, struct umfs_inode *in, u64 pg, unsigned int level,
		      bool make, u64 **slot)
{
	struct umfs_km_pool *p = tx->p;
	unsigned int h = READ_ONCE(in->pt_height);
	u64 *t, off;
	bool huge;
	int err = umfs_km_root_check(p, in);

	*slot = NULL;
	if (err)
		return err;
	if (!in->pt_root || h < level || pg >= umfs_pt_cover(h))
		return make ? -EINVAL : 0; /* make: the caller covers the tree first */
	t = umfs_km_off_ptr(p, in->pt_root);
	for (; h > level; h--) {
		u64 *e = &t[(pg >> umfs_pt_level_shift(h)) & (UMFS_PT_ENTRIES - 1)];

		if (!*e) {
			if (!make)
				return 0;
			err = umfs_km_table_new(tx, in, &off);
			if (!err)
				err = umfs_km_tx_add(tx, (u8 *)e - (u8 *)p->kaddr, sizeof(*e));
			if (err)
				return err;
			wmb(); /* the zeroed table is durable before it is linked */
			WRITE_ONCE(*e, (p->phys + off) | UMFS_PTE_TABLE_FLAGS);
		} else {
			err = umfs_km_child(p, *e, h, &off, &huge);
			if (err)
				return err;
			if (huge) {
				*slot = e;
				return 1;
			}
		}
		t = umfs_km_off_ptr(p, off);
	}
	*slot = &t[(pg >> umfs_pt_level_shift(level)) & (UMFS_PT_ENTRIES - 1)];
	return 0;
}
