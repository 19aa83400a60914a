/* SPDX-License-Identifier: MIT */
/*
 * ptable.c - per-file page tables in the x86-64 hardware format.
 *
 * A file's pages hang from in->pt_root, a tree of in->pt_height levels:
 *   height 0: the root is the data page of file page 0 (one-page files);
 *   height 1: a level-1 table of 512 4 KiB leaves (2 MiB);
 *   height 2: a level-2 table of level-1 tables or 2 MiB leaves (1 GiB);
 *   height 3: a level-3 table of level-2 tables (512 GiB);
 *   height 4: a level-4 table of level-3 tables (256 TiB), on a pool with
 *   INCOMPAT_LEVEL4 (without it, files stop at 512 GiB: EFBIG);
 *   UMFS_PT_INLINE: the level-1 entries of pages 0..16 in the inode itself
 *   (regular files on a pool with INCOMPAT_INLINE_TABLE): no table page.
 * The tree grows at the top (the old root becomes entry 0 of a new root; a
 * one-page file's page becomes inline entry 0; inline entries move to a
 * table page) and truncation shrinks it back when only entry 0 of the root
 * is left, or a table's entries fit inline again.
 *
 * Readers walk the tree without locks: the caller's vnode lock keeps writers
 * of the same file out. Changes run in transactions; every step (one grow,
 * one mapping, one run of freed leaves, one split) leaves a valid tree with
 * in->blocks exact, so a long truncate may stop between steps and continue
 * in the next transaction.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ptable.h"
#include "alloc.h"
#include "coldio.h"
#include "fs.h"
#include "journal.h"
#include "persist.h"

#define PT_IDX_MASK ((uint64_t)UMFS_PT_ENTRIES - 1)
#define PRESAVE_PAGES 64 /* umfs_pt_map_presave looks no further */
#define PT_HUGE_MASK ((uint64_t)UMFS_PAGES_PER_HUGE - 1)

/* Entries a lookup examines to measure a run: a small read must not pay for
 * scanning a whole table; a larger one simply takes a few more lookups. */
#define PT_RUN_SCAN 64
/* Leaves freed per step: bounds the step's snapshot to about 0.5 KiB. */
#define PT_FREE_RUN 64
/* Journal a step may use: leaf run or table free; a split also saves a page. */
#define PT_STEP_ROOM 1024
#define PT_SPLIT_ROOM (UMFS_PAGE_SIZE + PT_STEP_ROOM)

/* The one way this file reads an entry (umfs_rules.h): nothing a table
 * holds is followed or used before it is decoded here. */
static inline enum umfs_pte_kind pt_decode(const struct umfs_fs *fs, unsigned level, uint64_t e,
					   uint64_t *off)
{
	return umfs_pte_decode(&fs->geom, level, e, off);
}

/* The format's walk (umfs_ptwalk.h) over this mount's mapping. */
#define PT_WALK(fs) ((const struct umfs_ptwalk){ .base = (fs)->base, .g = &(fs)->geom })

/* The root the walk starts from: pt_root, or where the inline table is. */
#define PT_ROOT(fs, in) umfs_pt_root_of(&PT_WALK(fs), in)

static inline bool pt_inline(const struct umfs_inode *in)
{
	return in->pt_height == UMFS_PT_INLINE;
}

/* No pages and no inline table. */
static inline bool pt_empty(const struct umfs_inode *in)
{
	return !in->pt_root && !pt_inline(in);
}

/* Whether in's level-1 entries may live in the inode. */
static inline bool pt_inline_allowed(const struct umfs_fs *fs, const struct umfs_inode *in)
{
	return umfs_inline_allowed(&fs->geom, in->mode);
}

static inline unsigned pt_level(const struct umfs_inode *in)
{
	return umfs_pt_top_level(in->pt_height);
}

/* The top table of a tree of height >= 1. */
static inline uint64_t *pt_top(const struct umfs_fs *fs, struct umfs_inode *in)
{
	return pt_inline(in) ? in->pt_inline : umfs_off_ptr(fs, in->pt_root);
}

/* Entries of the level-1 table a walk of in stopped at. */
static inline unsigned pt_l1_entries(const struct umfs_inode *in)
{
	return umfs_pt_top_entries(pt_inline(in) ? UMFS_PT_INLINE : 1);
}

static inline bool pt_root_ok(const struct umfs_fs *fs, const struct umfs_inode *in)
{
	return umfs_pt_root_ok(&fs->geom, in->pt_height, PT_ROOT(fs, in));
}

static bool pt_table_empty_from(const uint64_t *t, unsigned from, unsigned n)
{
	for (unsigned i = from; i < n; i++)
		if (t[i])
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                               */
/* ------------------------------------------------------------------ */

/* Hole run of a level-1 table of n entries from index i, looked at for up
 * to limit entries. */
static uint64_t pt_hole_run(const uint64_t *t, unsigned n, unsigned i, uint64_t limit)
{
	unsigned j, end = (unsigned)UMFS_MIN(n, i + limit);

	for (j = i + 1; j < end && !t[j]; j++)
		;
	return j - i;
}

/* Leaves from index i (a leaf at pool offset off) whose pages follow each
 * other in the pool: equal entries but for the address, so each one is a
 * leaf too, and none past the data zone's end. */
static uint64_t pt_data_run(const struct umfs_fs *fs, const uint64_t *t, unsigned n, unsigned i,
			    uint64_t off, uint64_t limit)
{
	uint64_t want = t[i];
	unsigned j, end;

	limit = UMFS_MIN(limit, umfs_pages_to_zone_end(&fs->geom, off));
	end = (unsigned)UMFS_MIN(n, i + limit);

	for (j = i + 1; j < end && t[j] == (want += UMFS_PAGE_SIZE); j++)
		;
	return j - i;
}

int umfs_pt_lookup(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
		   uint64_t *offp, uint64_t *run)
{
	return umfs_pt_lookup_upto(fs, in, pg, run ? PT_RUN_SCAN : 1, offp, run);
}

int umfs_pt_lookup_upto(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			uint64_t want, uint64_t *offp, uint64_t *run)
{
	struct umfs_pt_pos pos;
	uint64_t r, limit = UMFS_MAX(UMFS_MIN(want, (uint64_t)PT_RUN_SCAN), (uint64_t)1);

	*offp = 0;
	run = run ? run : &r;
	switch (umfs_pt_descend(&PT_WALK(fs), in->pt_height, PT_ROOT(fs, in), pg, 1, &pos)) {
	case UMFS_PTE_HOLE:
		if (!pos.table)
			*run = pg < umfs_fs_max_pages(fs) ? umfs_fs_max_pages(fs) - pg : 1;
		else if (pos.level > 1)
			*run = umfs_pt_cover(pos.level - 1) - (pg & (umfs_pt_cover(pos.level - 1) - 1));
		else
			*run = pt_hole_run(pos.table, pt_l1_entries(in), pos.idx, limit);
		return 0;
	case UMFS_PTE_LEAF:
		*offp = umfs_pt_leaf_page(&pos, pg);
		if (!pos.table)
			*run = 1; /* a tree of height 0: its one page */
		else if (pos.level == 2)
			*run = umfs_pt_leaf_pages(&pos, pg);
		else
			*run = pt_data_run(fs, pos.table, pt_l1_entries(in), pos.idx, pos.off, limit);
		return 0;
	default:
		/* damage, or on a shared mount a table a writer is changing
		 * under a reader, who retries */
		return -EUCLEAN;
	}
}

int umfs_pt_check_range(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last)
{
	uint64_t off, run;

	for (uint64_t pg = first; pg <= last && pg < umfs_fs_max_pages(fs); pg += run) {
		int err = umfs_pt_lookup(fs, in, pg, &off, &run);

		if (err)
			return err;
	}
	return 0;
}

/* Pages [n] from page p are all marked used: a page a file holds that
 * the bitmap calls free would fail to free half way through a change. */
static bool pt_pages_used(const struct umfs_fs *fs, uint64_t p, uint64_t n)
{
	while (n--)
		if (!umfs_page_is_used(fs, p++))
			return false;
	return true;
}

/* Every table and leaf under table t (level, covering from base) that
 * holds pages of [first, last] decodes and is marked used. */
static int pt_owned(const struct umfs_fs *fs, const uint64_t *t, unsigned level, uint64_t base,
		    uint64_t first, uint64_t last)
{
	unsigned shift = umfs_pt_level_shift(level);
	unsigned i0 = (unsigned)((first - base) >> shift), i1 = (unsigned)((last - base) >> shift);

	for (unsigned i = i0; i <= i1; i++) {
		uint64_t cbase = base + ((uint64_t)i << shift), off;
		int err = 0;

		switch (pt_decode(fs, level, t[i], &off)) {
		case UMFS_PTE_HOLE:
			continue;
		case UMFS_PTE_LEAF:
			if (!pt_pages_used(fs, umfs_off_page(fs, off), 1ull << shift))
				return -EUCLEAN;
			continue;
		case UMFS_PTE_TABLE:
			if (!pt_pages_used(fs, umfs_off_page(fs, off), 1))
				return -EUCLEAN;
			err = pt_owned(fs, umfs_off_ptr(fs, off), level - 1, cbase,
				       UMFS_MAX(first, cbase),
				       UMFS_MIN(last, cbase + (1ull << shift) - 1));
			break;
		default:
			err = -EUCLEAN;
		}
		if (err)
			return err;
	}
	return 0;
}

int umfs_pt_check_owned(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			uint64_t last)
{
	uint64_t cover = umfs_pt_cover(in->pt_height);

	if (!pt_root_ok(fs, in))
		return -EUCLEAN;
	if (pt_empty(in) || first > last || first >= cover)
		return 0;
	if (!pt_inline(in) && !pt_pages_used(fs, umfs_off_page(fs, in->pt_root), 1))
		return -EUCLEAN;
	if (in->pt_height == 0)
		return 0;
	return pt_owned(fs, pt_top(fs, (struct umfs_inode *)in), pt_level(in), 0, first,
			UMFS_MIN(last, cover - 1));
}

/* ------------------------------------------------------------------ */
/* Mapping                                                              */
/* ------------------------------------------------------------------ */

/* Goal for a new data page: the pool page after the previous file page's,
 * so that sequential data stays contiguous. */
static uint64_t pt_goal(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg)
{
	uint64_t prev = 0, goal;

	if (pg && umfs_pt_lookup(fs, in, pg - 1, &prev, NULL))
		prev = 0;
	goal = prev ? umfs_off_page(fs, prev) + 1 : fs->page_cursor;

	return goal < fs->data_pages ? goal : 0;
}

/* Allocates a zeroed table page, persisted at commit. */
static int pt_table_alloc(struct umfs_fs *fs, uint64_t *page)
{
	void *t;
	int err;

	err = umfs_page_alloc_meta(fs, page);
	if (err)
		return err;
	t = umfs_page_ptr(fs, *page);
	memset(t, 0, UMFS_PAGE_SIZE);
	err = umfs_tx_dirty(fs, t, UMFS_PAGE_SIZE);
	if (err)
		umfs_page_free(fs, *page, 1);
	return err;
}

/*
 * One level more at the top, toward file page pg: a one-page file's page
 * becomes entry 0 of an inline table when pg fits there (no page is
 * allocated); inline entries move to a table page of their own; otherwise
 * the old root becomes entry 0 of a new root. The inode is in the
 * transaction.
 */
static int pt_grow(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg)
{
	uint64_t page, *t;
	int err;

	if (in->pt_height == 0 && pg < UMFS_PT_INLINE_ENTRIES && pt_inline_allowed(fs, in)) {
		in->pt_inline[0] = umfs_pte_make(fs, in->pt_root, UMFS_PTE_LEAF4K_FLAGS);
		in->pt_root = 0;
		in->pt_height = UMFS_PT_INLINE;
		umfs_inode_seal(in);
		return 0;
	}
	err = pt_table_alloc(fs, &page);
	if (err)
		return err;
	t = umfs_page_ptr(fs, page);
	if (pt_inline(in)) {
		memcpy(t, in->pt_inline, sizeof(in->pt_inline));
		memset(in->pt_inline, 0, sizeof(in->pt_inline));
		in->pt_height = 1;
	} else {
		t[0] = umfs_pte_make(fs, in->pt_root,
				     in->pt_height ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS);
		in->pt_height++;
	}
	in->pt_root = umfs_page_off(fs, page);
	in->blocks++;
	umfs_inode_seal(in);
	return 0;
}

/* Grows in's tree until it covers file page pg with a top table of at
 * least level `need`. */
static int pt_grow_to(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned need)
{
	while (pt_level(in) < need || (pt_inline(in) && pg >= UMFS_PT_INLINE_ENTRIES)) {
		int err = pt_grow(fs, in, pg);

		if (err)
			return err;
	}
	return 0;
}

/* An empty tree that is to map file page pg (whose tree height is need)
 * starts as an empty inline table when that is where pg goes. */
static bool pt_start_inline(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg,
			    unsigned need)
{
	if (!pt_empty(in) || need != 1 || pg >= UMFS_PT_INLINE_ENTRIES ||
	    !pt_inline_allowed(fs, in))
		return false;
	in->pt_height = UMFS_PT_INLINE;
	umfs_inode_seal(in);
	return true;
}

/* What a mapping has to create below an empty slot. */
struct pt_fill {
	uint64_t *slot;   /* empty entry to fill; NULL: the tree is empty */
	unsigned level;   /* level of the table holding slot (height + 1 if empty) */
	bool huge;        /* the leaf is a 2 MiB leaf in a level-2 table */
	uint64_t leaf;    /* first page of the leaf */
	unsigned ntables; /* tables to create, top first in tables[] */
	uint64_t tables[UMFS_PT_MAX_HEIGHT];
};

/* Finds the topmost empty entry on pg's path (the tree is non-empty, pg a
 * hole inside its cover). */
static int pt_find_slot(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			struct pt_fill *f)
{
	struct umfs_pt_pos pos;

	if (umfs_pt_descend(&PT_WALK(fs), in->pt_height, PT_ROOT(fs, in), pg, 1, &pos) !=
		    UMFS_PTE_HOLE || !pos.table)
		return -EUCLEAN;
	if (pos.level < 2)
		f->huge = false; /* a level-1 table already holds part of the region */
	f->slot = &pos.table[pos.idx];
	f->level = pos.level;
	return 0;
}

static void pt_fill_release(struct umfs_fs *fs, struct pt_fill *f, unsigned ntables)
{
	umfs_page_free(fs, f->leaf, f->huge ? UMFS_PAGES_PER_HUGE : 1);
	while (ntables--)
		umfs_page_free(fs, f->tables[ntables], 1);
}

/* Allocates the leaf, then the tables; on failure nothing stays allocated. */
static int pt_fill_alloc(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			 unsigned flags, struct pt_fill *f)
{
	unsigned k;
	int err;

	if (f->huge) {
		err = umfs_page_alloc_huge(fs, &f->leaf);
		if (err == -ENOSPC)
			f->huge = false; /* no free 2 MiB run: a 4 KiB page will do */
		else if (err)
			return err;
	}
	if (!f->huge) {
		err = flags & UMFS_PTMAP_META ? umfs_page_alloc_meta(fs, &f->leaf) :
						umfs_page_alloc(fs, pt_goal(fs, in, pg), &f->leaf);
		if (err)
			return err;
	}
	f->ntables = f->level - 1 - (f->huge ? 1 : 0);
	if (flags & UMFS_PTMAP_ZERO) {
		size_t len = f->huge ? UMFS_HUGE_SIZE : UMFS_PAGE_SIZE;
		void *p = umfs_page_ptr(fs, f->leaf);

		if (flags & UMFS_PTMAP_META) {
			/* the caller stores into it in this transaction */
			umfs_memset_nodrain(p, 0, len);
			err = umfs_tx_dirty(fs, p, len);
			if (err) {
				pt_fill_release(fs, f, 0);
				return err;
			}
		} else {
			/* data: durable at the commit's fence, with no
			 * write-back of its own (coldio.c) */
			umfs_media_zero(fs, umfs_page_off(fs, f->leaf), len);
		}
	}
	for (k = 0; k < f->ntables; k++) {
		err = pt_table_alloc(fs, &f->tables[k]);
		if (err) {
			pt_fill_release(fs, f, k);
			return err;
		}
	}
	return 0;
}

/* Links the new tables and the leaf, bottom up, then the slot. */
static void pt_fill_link(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg,
			 unsigned height, const struct pt_fill *f)
{
	uint64_t child = umfs_page_off(fs, f->leaf);
	uint64_t flags = f->huge ? UMFS_PTE_LEAF2M_FLAGS : UMFS_PTE_LEAF4K_FLAGS;
	unsigned level = f->huge ? 2 : 1;

	for (unsigned k = f->ntables; k-- > 0; level++) {
		uint64_t *t = umfs_page_ptr(fs, f->tables[k]);

		t[(pg >> umfs_pt_level_shift(level)) & PT_IDX_MASK] = umfs_pte_make(fs, child, flags);
		child = umfs_page_off(fs, f->tables[k]);
		flags = UMFS_PTE_TABLE_FLAGS;
	}
	if (f->slot) {
		*f->slot = umfs_pte_make(fs, child, flags);
	} else {
		in->pt_root = child; /* a table, or the data page itself at height 0 */
		in->pt_height = (uint8_t)height;
		umfs_inode_seal(in);
	}
	in->blocks += f->ntables + (f->huge ? UMFS_PAGES_PER_HUGE : 1);
}

/*
 * Failure rule: on any error the tree is as it was, except that it may have
 * grown taller (still valid, blocks exact), so a caller may commit the work
 * of earlier calls after an -ENOSPC.
 */
int umfs_pt_map(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned flags,
		uint64_t *offp)
{
	struct pt_fill f = { .huge = flags & UMFS_PTMAP_HUGE };
	unsigned need;
	uint64_t off;
	int err;

	err = umfs_pt_lookup(fs, in, pg, &off, NULL);
	if (err || off) {
		*offp = off;
		return err;
	}
	if (pg >= umfs_fs_max_pages(fs))
		return -EFBIG;
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	need = umfs_pt_height_for(pg);
	if (f.huge && pt_empty(in))
		need = UMFS_MAX(need, 2);
	else if (f.huge && pt_level(in) < 2 && pg < UMFS_PT_ENTRIES)
		f.huge = false; /* region 0 holds the pages of the small tree */

	if (pt_empty(in) && !pt_start_inline(fs, in, pg, need)) {
		f.slot = NULL;
		f.level = need + 1;
	} else {
		err = pt_grow_to(fs, in, pg, need);
		if (err)
			return err;
		need = in->pt_height;
		err = pt_find_slot(fs, in, pg, &f);
		if (!err)
			err = umfs_tx_add(fs, f.slot, sizeof(*f.slot));
		if (err)
			return err;
	}
	err = pt_fill_alloc(fs, in, pg, flags, &f);
	if (err)
		return err;
	pt_fill_link(fs, in, pg, need, &f);
	off = umfs_page_off(fs, f.leaf);
	*offp = f.huge ? off + ((pg & PT_HUGE_MASK) << UMFS_PAGE_SHIFT) : off;
	return 1;
}

void umfs_pt_map_presave(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			 uint64_t last)
{
	uint64_t n = UMFS_MIN(last - first + 1, PRESAVE_PAGES), *slot = NULL;
	bool tables = true;

	if (first > last || umfs_tx_save(fs, in, sizeof(*in)))
		return;
	if (pt_inline(in)) {
		/* the entries are in the inode, saved above */
		tables = first + n > UMFS_PT_INLINE_ENTRIES;
	} else if (in->pt_root && (slot = umfs_pt_slot_find(fs, in, first, 1)) != NULL) {
		/* the entries of [first, first + n) in the table that holds first */
		uint64_t k = UMFS_MIN(n, UMFS_PT_ENTRIES - (first & PT_IDX_MASK));

		umfs_tx_save(fs, slot, k * sizeof(*slot));
		tables = k < n;
	}
	umfs_page_alloc_presave(fs, pt_goal(fs, in, first), n, tables);
	umfs_tx_seal(fs);
}

/* ------------------------------------------------------------------ */
/* Slots (copy-on-write overwrites, recovery)                           */
/* ------------------------------------------------------------------ */

uint64_t *umfs_pt_slot_find(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			    unsigned level)
{
	struct umfs_pt_pos pos;

	if (pt_empty(in) || pt_level(in) < level || level < 1)
		return NULL;
	umfs_pt_descend(&PT_WALK(fs), in->pt_height, PT_ROOT(fs, in), pg, level, &pos);
	return pos.table && pos.level == level ? &pos.table[pos.idx] : NULL;
}

/* A level-1 table of 4 KiB leaves over the pages of the 2 MiB leaf at pool
 * offset leaf, which *slot holds, replacing it (the data stays where it
 * is). */
static int pt_split_keep(struct umfs_fs *fs, struct umfs_inode *in, uint64_t *slot, uint64_t leaf)
{
	uint64_t lead = umfs_off_page(fs, leaf), page, *t;
	int err;

	err = umfs_tx_add(fs, slot, sizeof(*slot));
	if (!err)
		err = pt_table_alloc(fs, &page);
	if (err)
		return err;
	t = umfs_page_ptr(fs, page);
	for (uint64_t i = 0; i < UMFS_PT_ENTRIES; i++)
		t[i] = umfs_pte_make(fs, umfs_page_off(fs, lead + i), UMFS_PTE_LEAF4K_FLAGS);
	*slot = umfs_pte_make(fs, umfs_page_off(fs, page), UMFS_PTE_TABLE_FLAGS);
	in->blocks++;
	return 0;
}

int umfs_pt_slot_make(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, unsigned level,
		      uint64_t **slotp)
{
	unsigned need = UMFS_MAX(umfs_pt_height_for(pg), level), h;
	uint64_t *t, page;
	int err;

	if (pg >= umfs_fs_max_pages(fs) || level < 1 || level > 2)
		return -EINVAL;
	if (!pt_root_ok(fs, in))
		return -EUCLEAN;
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	if (pt_empty(in) && !pt_start_inline(fs, in, pg, need)) {
		err = pt_table_alloc(fs, &page);
		if (err)
			return err;
		in->pt_root = umfs_page_off(fs, page);
		in->pt_height = (uint8_t)need;
		in->blocks++;
		umfs_inode_seal(in);
	}
	err = pt_grow_to(fs, in, pg, need);
	if (err)
		return err;
	t = pt_top(fs, in);
	for (h = pt_level(in); h > level; h--) {
		uint64_t *slot = &t[(pg >> umfs_pt_level_shift(h)) & PT_IDX_MASK], off;
		enum umfs_pte_kind k = pt_decode(fs, h, *slot, &off);

		if (k == UMFS_PTE_HOLE) {
			err = umfs_tx_add(fs, slot, sizeof(*slot));
			if (!err)
				err = pt_table_alloc(fs, &page);
			if (err)
				return err;
			*slot = umfs_pte_make(fs, umfs_page_off(fs, page), UMFS_PTE_TABLE_FLAGS);
			in->blocks++;
		} else if (k == UMFS_PTE_LEAF) {
			err = pt_split_keep(fs, in, slot, off);
			if (err)
				return err;
		} else if (k == UMFS_PTE_BAD) {
			return -EUCLEAN;
		}
		if (pt_decode(fs, h, *slot, &off) != UMFS_PTE_TABLE)
			return -EUCLEAN;
		t = umfs_off_ptr(fs, off);
	}
	*slotp = &t[(pg >> umfs_pt_level_shift(level)) & PT_IDX_MASK];
	return 0;
}

/* ------------------------------------------------------------------ */
/* Truncate and punch                                                   */
/* ------------------------------------------------------------------ */

struct pt_free {
	struct umfs_fs *fs;
	struct umfs_inode *in;
	size_t reserve; /* journal bytes commit will use to apply the queued frees */
};

/* Journal bytes commit uses to apply a deferred free (alloc.c). */
static size_t pt_free_cost(uint64_t first, uint64_t count)
{
	return umfs_page_free_cost(first, count);
}

static void pt_free_init(struct pt_free *f, struct umfs_fs *fs, struct umfs_inode *in)
{
	const struct umfs_tx *tx = &fs->tx;

	f->fs = fs;
	f->in = in;
	f->reserve = 0;
	for (size_t i = 0; i < tx->nfrees; i++)
		f->reserve += pt_free_cost(tx->frees[2 * i], tx->frees[2 * i + 1]);
}

/* True when a step using up to `step` journal bytes leaves the caller its
 * slack after commit has applied the frees. */
static bool pt_free_room(const struct pt_free *f, size_t step)
{
	return umfs_tx_room(f->fs) >= UMFS_TX_SLACK + f->reserve + step;
}

static int pt_free_pages(struct pt_free *f, uint64_t first, uint64_t count)
{
	int err = umfs_page_free(f->fs, first, count);

	if (!err)
		f->reserve += pt_free_cost(first, count);
	return err;
}

/* Clears entries t[i..i+n) whose pages (or tables) are freed by the caller. */
static int pt_clear(struct pt_free *f, uint64_t *t, unsigned i, unsigned n)
{
	int err = umfs_tx_add(f->fs, &t[i], n * sizeof(*t));

	if (!err)
		memset(&t[i], 0, n * sizeof(*t));
	return err;
}

/* Frees the leaves t[i0..i1] of a level-1 table, last first, in runs of
 * pages contiguous in the pool. */
static int pt_free_leaves(struct pt_free *f, uint64_t *t, unsigned i0, unsigned i1)
{
	unsigned i = i1 + 1;

	while (i-- > i0) {
		unsigned j = i, n;
		uint64_t off;
		int err;

		if (!t[i])
			continue;
		if (pt_decode(f->fs, 1, t[i], &off) != UMFS_PTE_LEAF)
			return -EUCLEAN; /* freeing it would free a page it does not own */
		if (!pt_free_room(f, PT_STEP_ROOM))
			return 1;
		while (j > i0 && i - j + 1 < PT_FREE_RUN && t[j - 1] == t[j] - UMFS_PAGE_SIZE &&
		       pt_decode(f->fs, 1, t[j - 1], &off) == UMFS_PTE_LEAF)
			j--;
		n = i - j + 1;
		if (j < i)
			pt_decode(f->fs, 1, t[j], &off);
		err = pt_free_pages(f, umfs_off_page(f->fs, off), n);
		if (!err)
			err = pt_clear(f, t, j, n);
		if (err)
			return err;
		f->in->blocks -= n;
		i = j;
	}
	return 0;
}

/*
 * Drops pages [first, last] of the 2 MiB leaf in *slot (region starting at
 * file page base), keeping the rest. The leaf's page of `last`, which is
 * dropped anyway, becomes the level-1 table for the pages kept, so a split
 * never allocates (a truncate must work on a full pool). Its old data is
 * snapshotted: a rolled-back punch must find it again.
 */
static int pt_split_huge(struct pt_free *f, uint64_t *slot, uint64_t leaf, uint64_t base,
			 uint64_t first, uint64_t last)
{
	struct umfs_fs *fs = f->fs;
	uint64_t lead = umfs_off_page(fs, leaf);
	uint64_t lo = first - base, hi = last - base;
	uint64_t *t = umfs_page_ptr(fs, lead + hi);
	int err;

	err = umfs_tx_add(fs, t, UMFS_PAGE_SIZE);
	if (!err)
		err = umfs_tx_add(fs, slot, sizeof(*slot));
	if (!err && hi > lo)
		err = pt_free_pages(f, lead + lo, hi - lo);
	if (err)
		return err;
	for (uint64_t i = 0; i < UMFS_PT_ENTRIES; i++)
		t[i] = (i < lo || i > hi) ?
			umfs_pte_make(fs, umfs_page_off(fs, lead + i), UMFS_PTE_LEAF4K_FLAGS) : 0;
	*slot = umfs_pte_make(fs, umfs_page_off(fs, lead + hi), UMFS_PTE_TABLE_FLAGS);
	f->in->blocks -= hi - lo; /* one dropped page lives on as the table */
	return 0;
}

static int pt_free_range(struct pt_free *f, uint64_t *t, unsigned level, uint64_t base,
			 uint64_t first, uint64_t last);

/* Frees pages [first, last] under entry t[i] of a level >= 2 table. */
static int pt_free_entry(struct pt_free *f, uint64_t *t, unsigned i, unsigned level,
			 uint64_t base, uint64_t first, uint64_t last)
{
	uint64_t span = 1ull << umfs_pt_level_shift(level);
	bool whole = first == base && last == base + span - 1;
	uint64_t off;
	enum umfs_pte_kind k = pt_decode(f->fs, level, t[i], &off);
	int err;

	if (k == UMFS_PTE_LEAF) { /* 2 MiB */
		if (!whole) {
			if (!pt_free_room(f, PT_SPLIT_ROOM))
				return 1;
			return pt_split_huge(f, &t[i], off, base, first, last);
		}
		if (!pt_free_room(f, PT_STEP_ROOM))
			return 1;
		err = pt_free_pages(f, umfs_off_page(f->fs, off), UMFS_PAGES_PER_HUGE);
		if (!err)
			err = pt_clear(f, t, i, 1);
		if (!err)
			f->in->blocks -= UMFS_PAGES_PER_HUGE;
		return err;
	}
	if (k != UMFS_PTE_TABLE)
		return -EUCLEAN;
	err = pt_free_range(f, umfs_off_ptr(f->fs, off), level - 1, base, first, last);
	if (err)
		return err;
	if (!whole && !pt_table_empty_from(umfs_off_ptr(f->fs, off), 0, UMFS_PT_ENTRIES))
		return 0;
	if (!pt_free_room(f, PT_STEP_ROOM))
		return 1; /* an empty table is valid: the next call frees it */
	err = pt_free_pages(f, umfs_off_page(f->fs, off), 1);
	if (!err)
		err = pt_clear(f, t, i, 1);
	if (!err)
		f->in->blocks--;
	return err;
}

/* Frees pages [first, last] of table t (level, covering pages from base),
 * last first. Returns 1 when it stopped for lack of journal room. */
static int pt_free_range(struct pt_free *f, uint64_t *t, unsigned level, uint64_t base,
			 uint64_t first, uint64_t last)
{
	unsigned shift = umfs_pt_level_shift(level);
	unsigned i0 = (unsigned)((first - base) >> shift), i = (unsigned)((last - base) >> shift);
	uint64_t span = 1ull << shift;

	if (level == 1)
		return pt_free_leaves(f, t, i0, i);
	for (i++; i-- > i0;) {
		uint64_t cbase = base + ((uint64_t)i << shift);
		int err;

		if (!t[i])
			continue;
		err = pt_free_entry(f, t, i, level, cbase, UMFS_MAX(first, cbase),
				    UMFS_MIN(last, cbase + span - 1));
		if (err)
			return err;
	}
	return 0;
}

/* Frees the root table's page (whose entries the caller has taken):
 * 1 when the journal has no room for it. */
static int pt_free_root(struct pt_free *f)
{
	int err;

	if (!pt_free_room(f, PT_STEP_ROOM))
		return 1;
	err = pt_free_pages(f, umfs_off_page(f->fs, f->in->pt_root), 1);
	if (!err)
		f->in->blocks--;
	return err;
}

/* A level-1 root table whose entries all fit inline moves into the inode
 * and its page is freed (the file has more than entry 0, or pt_shrink
 * would have dropped the table). */
static int pt_shrink_inline(struct pt_free *f)
{
	struct umfs_inode *in = f->in;
	uint64_t *t = umfs_off_ptr(f->fs, in->pt_root);
	int err;

	if (!pt_inline_allowed(f->fs, in) || in->pt_height != 1 ||
	    !pt_table_empty_from(t, UMFS_PT_INLINE_ENTRIES, UMFS_PT_ENTRIES))
		return 0;
	err = pt_free_root(f);
	if (err)
		return err;
	memcpy(in->pt_inline, t, sizeof(in->pt_inline));
	in->pt_root = 0;
	in->pt_height = UMFS_PT_INLINE;
	umfs_inode_seal(in);
	return 0;
}

/* Drops root tables that are empty or hold only entry 0, and an inline
 * table that holds only entry 0 (no page to free: entry 0 becomes the
 * root). */
static int pt_shrink(struct pt_free *f)
{
	struct umfs_inode *in = f->in;

	while (!pt_empty(in) && in->pt_height > 0) {
		uint64_t *t = pt_top(f->fs, in), off = 0;
		enum umfs_pte_kind k = pt_decode(f->fs, pt_level(in), t[0], &off);
		int err;

		if (k == UMFS_PTE_BAD)
			return -EUCLEAN;
		if (!pt_table_empty_from(t, 1, umfs_pt_top_entries(in->pt_height)))
			return pt_inline(in) ? 0 : pt_shrink_inline(f);
		if (k == UMFS_PTE_LEAF && in->pt_height == 2)
			return 0;
		if (pt_inline(in)) {
			t[0] = 0;
			in->pt_root = k != UMFS_PTE_HOLE ? off : 0;
			in->pt_height = 0;
			umfs_inode_seal(in);
			return 0;
		}
		err = pt_free_root(f);
		if (err)
			return err;
		if (k != UMFS_PTE_HOLE) {
			in->pt_root = off;
			in->pt_height--;
		} else {
			in->pt_root = 0;
			in->pt_height = 0;
		}
		umfs_inode_seal(in);
	}
	return 0;
}

static int pt_free_tree(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last)
{
	struct pt_free f;
	uint64_t cover;
	int err;

	if (pt_empty(in) || first > last)
		return 0;
	if (!pt_root_ok(fs, in))
		return -EUCLEAN;
	cover = umfs_pt_cover(in->pt_height);
	if (first >= cover)
		return 0;
	pt_free_init(&f, fs, in);
	if (!pt_free_room(&f, PT_STEP_ROOM))
		return 1;
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	if (in->pt_height == 0) { /* first == 0: the one data page goes */
		err = pt_free_pages(&f, umfs_off_page(fs, in->pt_root), 1);
		if (err)
			return err;
		in->pt_root = 0;
		in->blocks--;
		umfs_inode_seal(in);
		return 0;
	}
	err = pt_free_range(&f, pt_top(fs, in), pt_level(in), 0, first, UMFS_MIN(last, cover - 1));
	return err ? err : pt_shrink(&f);
}

int umfs_pt_truncate(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first_pg)
{
	return pt_free_tree(fs, in, first_pg, umfs_fs_max_pages(fs) - 1);
}

int umfs_pt_punch(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last)
{
	return pt_free_tree(fs, in, first, last);
}

/* ------------------------------------------------------------------ */
/* SEEK_DATA / SEEK_HOLE                                                */
/* ------------------------------------------------------------------ */

/* The first page >= pg whose entry is wanted, or UMFS_PT_DAMAGED when a
 * damaged entry comes first. */
static uint64_t pt_next(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			unsigned want)
{
	struct umfs_pt_pos pos;
	uint64_t r = umfs_pt_next(&PT_WALK(fs), in->pt_height, PT_ROOT(fs, in), pg,
				  want | UMFS_PT_WANT(UMFS_PTE_BAD), &pos);

	return r != UMFS_PT_NONE && pos.kind == UMFS_PTE_BAD ? UMFS_PT_DAMAGED : r;
}

uint64_t umfs_pt_next_data(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg)
{
	return pt_next(fs, in, pg, UMFS_PT_WANT(UMFS_PTE_LEAF));
}

uint64_t umfs_pt_next_hole(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg)
{
	if (pg >= umfs_fs_max_pages(fs))
		return umfs_fs_max_pages(fs);
	return pt_next(fs, in, pg, UMFS_PT_WANT(UMFS_PTE_HOLE));
}
