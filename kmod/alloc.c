// SPDX-License-Identifier: GPL-2.0
/*
 * alloc.c - pages and tables for an inode's tree, inside a module
 * transaction (EXTEND, EXCHANGE).
 *
 * The bitmap words of every run taken are saved before they change, with
 * their checksums (umfs_rules.h), which change with them; new pages are
 * zeroed and persisted before anything points at them, so they need no
 * record (rolling back the bitmap frees them again). A bitmap page is
 * checked against its checksum before any of its pages is taken: one that
 * fails is passed over (a damaged word could call a page some file holds
 * free), said once and recorded in the state page. Every entry
 * followed on the way down is checked (form, data zone), as in tree.c, and
 * every entry written is made from a page taken here. The inode must
 * already be saved in the transaction (umfs_km_inode_save): blocks, and
 * the root, height and inline entries when the tree grows, change.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "umfs_km.h"

#define UMFS_KM_BSUM_PAGES ((u64)UMFS_BSUM_WORDS * 64) /* data pages a checksum covers */

static bool umfs_km_page_free(const struct umfs_km_pool *p, u64 page)
{
	return page < p->data_pages && !test_bit(page, (unsigned long *)umfs_km_bitmap(p));
}

static u64 *umfs_km_bsum(const struct umfs_km_pool *p, u64 w)
{
	return p->bsum_off ? (u64 *)umfs_km_off_ptr(p, p->bsum_off) + w / UMFS_BSUM_WORDS : NULL;
}

void umfs_km_errors_mark(struct umfs_km_pool *p, u64 what)
{
	u64 *errors = umfs_km_off_ptr(p, p->state_off + offsetof(struct umfs_state, errors));
	u64 old = READ_ONCE(*errors), seen;

	while ((old & what) != what) {
		seen = cmpxchg64(errors, old, old | what); /* libumfs adds its own bits */
		if (seen == old) {
			umfs_km_persist(errors, sizeof(*errors));
			return;
		}
		old = seen;
	}
}

/* Whether data page `page`'s bitmap page matches its checksum. */
static bool umfs_km_bsum_ok(struct umfs_km_pool *p, u64 page)
{
	u64 bp = page / UMFS_KM_BSUM_PAGES, *sum = umfs_km_bsum(p, page / 64);

	if (!sum || umfs_bsum_of(umfs_km_bitmap(p), p->pbitmap_words, bp) == *sum)
		return true;
	if (!p->bsum_warned)
		pr_err(UMFS_KM_NAME ": page bitmap: checksum of its page %llu (data pages %llu-%llu) "
		       "does not match: no page is allocated from it (run fsck.umfs)\n", bp,
		       bp * UMFS_KM_BSUM_PAGES,
		       min(bp * UMFS_KM_BSUM_PAGES + UMFS_KM_BSUM_PAGES, p->data_pages) - 1);
	p->bsum_warned = true;
	umfs_km_errors_mark(p, UMFS_ERRORS_PBITMAP);
	return false;
}

int umfs_km_bsum_save(struct umfs_km_tx *tx, u64 w0, u64 w1)
{
	struct umfs_km_pool *p = tx->p;
	u64 bp;
	int err = 0;

	for (bp = w0 / UMFS_BSUM_WORDS; p->bsum_off && !err && bp <= w1 / UMFS_BSUM_WORDS; bp++)
		err = umfs_km_tx_add(tx, p->bsum_off + bp * 8, 8);
	return err;
}

void umfs_km_bit_put(struct umfs_km_pool *p, u64 i, bool on)
{
	u64 *w = &umfs_km_bitmap(p)[i / 64], *sum = umfs_km_bsum(p, i / 64);
	u64 old = *w, val = on ? old | BIT_ULL(i % 64) : old & ~BIT_ULL(i % 64);

	if (sum)
		*sum += umfs_bsum_delta(i / 64, old, val);
	*w = val;
}

/* The first free page from the cursor on whose bitmap page is sound, or
 * U64_MAX; a bitmap page that fails is passed over whole (*refused). */
static u64 umfs_km_bits_find(struct umfs_km_pool *p, bool *refused)
{
	u64 *bm = umfs_km_bitmap(p), i, k;

	for (k = 0; k < p->data_pages; k++) {
		i = (p->kcursor + k) % p->data_pages;
		if (!umfs_km_page_free(p, i)) {
			if (!(i % 64) && bm[i / 64] == ~0ull)
				k += 63; /* a full word */
			continue;
		}
		if (umfs_km_bsum_ok(p, i))
			return i;
		*refused = true;
		/* to the end of its bitmap page (or of the zone) */
		k += min(UMFS_KM_BSUM_PAGES - i % UMFS_KM_BSUM_PAGES, p->data_pages - i) - 1;
	}
	return U64_MAX;
}

int umfs_km_bits_take(struct umfs_km_tx *tx, u64 goal, u64 want, u64 *first, u64 *got)
{
	struct umfs_km_pool *p = tx->p;
	u64 start = U64_MAX, n = 0, w0, w1, i;
	bool refused = false;
	int err;

	if (umfs_km_page_free(p, goal) && umfs_km_bsum_ok(p, goal))
		start = goal;
	else
		start = umfs_km_bits_find(p, &refused);
	/* free pages only in bitmap pages that failed: not full, damaged */
	if (start == U64_MAX)
		return refused ? -EUCLEAN : -ENOSPC;
	/* a run into the next bitmap page needs that page sound too */
	while (n < want && umfs_km_page_free(p, start + n) &&
	       ((start + n) % UMFS_KM_BSUM_PAGES || !n || umfs_km_bsum_ok(p, start + n)))
		n++;
	w0 = start / 64;
	w1 = (start + n - 1) / 64;
	err = umfs_km_tx_add(tx, p->pbitmap_off + w0 * 8, (u32)(w1 - w0 + 1) * 8);
	if (!err)
		err = umfs_km_bsum_save(tx, w0, w1);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		umfs_km_bit_put(p, start + i, true);
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
		err = umfs_km_bsum_save(tx, page / 64, page / 64);
	if (!err)
		umfs_km_bit_put(p, page, false);
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

/* The live inode's tree fields, checked before they are followed. */
static int umfs_km_root_check(const struct umfs_km_pool *p, const struct umfs_inode *in)
{
	return umfs_inode_tree_ok(&p->geom, in->mode, in->pt_height, in->pt_root) ? 0 : -EUCLEAN;
}

/*
 * One level more at the top, toward file page last, the steps of libumfs's
 * pt_grow (ptable.c): a one-page file's page becomes inline entry 0 when
 * last fits there (no page is taken); inline entries move to a table page
 * of their own; otherwise the old root becomes entry 0 of a new root (3 to
 * 4 levels too). The inode is saved whole in tx, so a crash rolls back to
 * the old tree, and the new table page, zeroed and filled, is written
 * back before the inode names it.
 */
static int umfs_km_tree_grow(struct umfs_km_tx *tx, struct umfs_inode *in, u64 last)
{
	struct umfs_km_pool *p = tx->p;
	u64 off, *t;
	int err;

	if (in->pt_height == 0 && last < UMFS_PT_INLINE_ENTRIES && umfs_km_inline_ok(p, in)) {
		memset(in->pt_inline, 0, sizeof(in->pt_inline));
		in->pt_inline[0] = (p->phys + in->pt_root) | UMFS_PTE_LEAF4K_FLAGS;
		umfs_km_inode_set_root(in, 0, UMFS_PT_INLINE);
		return 0;
	}
	err = umfs_km_table_new(tx, in, &off);
	if (err)
		return err;
	t = umfs_km_off_ptr(p, off);
	if (umfs_km_is_inline(in)) {
		memcpy(t, in->pt_inline, sizeof(in->pt_inline));
		arch_wb_cache_pmem(t, sizeof(in->pt_inline));
		umfs_km_inode_set_root(in, off, 1);
		memset(in->pt_inline, 0, sizeof(in->pt_inline));
		return 0;
	}
	t[0] = (p->phys + in->pt_root) |
	       (in->pt_height ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS);
	arch_wb_cache_pmem(t, sizeof(*t));
	umfs_km_inode_set_root(in, off, in->pt_height + 1);
	return 0;
}

/* An empty tree made to cover file page last with a top table of level
 * need: a data page at height 0, an empty inline table (ptable.c's
 * pt_start_inline), or a table of that level. */
static int umfs_km_tree_start(struct umfs_km_tx *tx, struct umfs_inode *in, u64 last,
			      unsigned int need)
{
	struct umfs_km_pool *p = tx->p;
	u64 off, page, got;
	int err;

	if (need == 0) { /* a one-page file: the root is its data page */
		err = umfs_km_alloc_run(tx, in, p->kcursor, 1, &page, &got);
		if (err)
			return err;
		umfs_km_zero_pages(p, page, 1);
		umfs_km_inode_set_root(in, p->data_off + (page << UMFS_PAGE_SHIFT), 0);
		return 0;
	}
	if (need == 1 && last < UMFS_PT_INLINE_ENTRIES && umfs_km_inline_ok(p, in)) {
		/* the bytes were reserved (zero): make sure of it */
		memset(in->pt_inline, 0, sizeof(in->pt_inline));
		umfs_km_inode_set_root(in, 0, UMFS_PT_INLINE);
		return 0;
	}
	err = umfs_km_table_new(tx, in, &off);
	if (!err)
		umfs_km_inode_set_root(in, off, need);
	return err;
}

int umfs_km_tree_cover(struct umfs_km_tx *tx, struct umfs_inode *in, u64 last,
		       unsigned int min_height)
{
	unsigned int need = max(umfs_pt_height_for(last), min_height);
	int err = umfs_km_root_check(tx->p, in);

	if (err)
		return err;
	if (need > tx->p->geom.max_height)
		return -EFBIG; /* past what the pool's tallest tree covers */
	if (umfs_km_tree_empty(in) && !umfs_km_is_inline(in))
		return umfs_km_tree_start(tx, in, last, need);
	while (umfs_pt_top_level(in->pt_height) < need ||
	       (umfs_km_is_inline(in) && last >= UMFS_PT_INLINE_ENTRIES)) {
		err = umfs_km_tree_grow(tx, in, last);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The entry at `level` (1 or 2) for file page pg, walking down from the
 * root of a tree whose top table is of level >= level (an inline table is
 * a level-1 table in the inode). make: missing tables are created;
 * otherwise *slot is NULL where one is missing. Returns 1 when a 2 MiB
 * leaf covers pg above level 1 (*slot is then that leaf's entry).
 */
int umfs_km_slot_walk(struct umfs_km_tx *tx, struct umfs_inode *in, u64 pg, unsigned int level,
		      bool make, u64 **slot)
{
	struct umfs_km_pool *p = tx->p;
	const struct umfs_ptwalk w = umfs_km_ptwalk(p);
	unsigned int h = READ_ONCE(in->pt_height);
	struct umfs_pt_pos pos;
	u64 off, *e;
	int err;

	*slot = NULL;
	/* the format's walk (umfs_ptwalk.h), from the root it computes for
	 * an inline table; a missing table is made, and the walk starts
	 * again from the root through it */
	for (;;) {
		enum umfs_pte_kind k = umfs_pt_descend(&w, h, umfs_pt_root_of(&w, in), pg, level,
						       &pos);

		if (k == UMFS_PTE_BAD && !pos.table)
			return -EUCLEAN;
		if (!pos.table || umfs_pt_top_level(h) < level)
			return make ? -EINVAL : 0; /* make: the caller covers the tree first */
		e = &pos.table[pos.idx];
		if (pos.level == level) {
			*slot = e;
			return 0;
		}
		if (k == UMFS_PTE_LEAF) { /* a 2 MiB leaf above level 1 */
			*slot = e;
			return 1;
		}
		if (k != UMFS_PTE_HOLE)
			return -EUCLEAN;
		if (!make)
			return 0;
		err = umfs_km_table_new(tx, in, &off);
		if (!err)
			err = umfs_km_tx_add(tx, (u8 *)e - (u8 *)p->kaddr, sizeof(*e));
		if (err)
			return err;
		wmb(); /* the zeroed table is durable before it is linked */
		WRITE_ONCE(*e, (p->phys + off) | UMFS_PTE_TABLE_FLAGS);
	}
}
