/* SPDX-License-Identifier: MIT */
/*
 * umfs_ptwalk.h - the one walk of a file's page tables: the descent to the
 * entry of a file page, and the scan for the next file page whose entry is
 * of a kind (the iterator over mapped pages, holes or damage). The core,
 * fsck.umfs and the kernel module compile this text, so it uses only what
 * umfs_format.h gives (no libc); each supplies only where the pool's bytes
 * are (struct umfs_ptwalk).
 *
 * Every entry is loaded once and decoded by umfs_pte_decode (umfs_rules.h)
 * before anything follows it: a damaged table, or one another thread is
 * changing, can name nothing outside the data zone. Tables are x86-64
 * hardware tables, read in the host's order (the CPU walks them too).
 */
#ifndef UMFS_PTWALK_H
#define UMFS_PTWALK_H

#include "umfs_format.h"

/* How a program reaches the pool: its first byte, and the geometry its
 * validated superblock gives. */
struct umfs_ptwalk {
	umfs_u8 *base;
	const struct umfs_ptgeom *g;
};

/* Where a walk stopped. Above the root (an empty tree, a page past the
 * tree's cover, a tree of height 0, a root outside the rules) table is 0
 * and level the top table's level + 1. An inline table is a level-1
 * table of UMFS_PT_INLINE_ENTRIES entries: its indices stay below that,
 * since every page past them is past the tree's cover. */
struct umfs_pt_pos {
	umfs_u64 *table;       /* the table holding the entry */
	unsigned int idx;      /* its index there */
	unsigned int level;    /* the table's level: 1 maps 4 KiB pages */
	enum umfs_pte_kind kind;
	umfs_u64 off;          /* a table's or leaf's pool offset (height 0:
				* the root, the data of file page 0) */
};

/* "No such page" from umfs_pt_next. */
#define UMFS_PT_NONE (~(umfs_u64)0)

/* The want mask of umfs_pt_next: which kinds end the scan. */
#define UMFS_PT_WANT(kind) (1u << (kind))

/* One load per entry: what is checked is what is used, even while a
 * writer changes the table (the kernel's READ_ONCE). */
static inline umfs_u64 umfs_pte_load(const umfs_u64 *slot)
{
	return *(const volatile umfs_u64 *)slot;
}

static inline umfs_u64 *umfs_pt_table(const struct umfs_ptwalk *w, umfs_u64 off)
{
	return (umfs_u64 *)(w->base + off);
}

static inline unsigned int umfs_pt_index(umfs_u64 pg, unsigned int level)
{
	return (unsigned int)(pg >> umfs_pt_level_shift(level)) & (UMFS_PT_ENTRIES - 1);
}

/*
 * The root of inode in's tree, which lies in the pool at w->base: its
 * pt_root, or for an inline table (UMFS_PT_INLINE) the pool offset of its
 * own pt_inline, computed from where the inode is. An inline table with a
 * pt_root gives 0, which umfs_pt_root_ok refuses at that height.
 */
static inline umfs_u64 umfs_pt_root_of(const struct umfs_ptwalk *w, const struct umfs_inode *in)
{
	if (in->pt_height != UMFS_PT_INLINE)
		return in->pt_root;
	return in->pt_root ? 0 : (umfs_u64)((const umfs_u8 *)in->pt_inline - w->base);
}

/* Entries of the top table of a tree of height h (h >= 1). */
static inline unsigned int umfs_pt_top_entries(unsigned int h)
{
	return h == UMFS_PT_INLINE ? UMFS_PT_INLINE_ENTRIES : UMFS_PT_ENTRIES;
}

/* The position above the root of tree (height, root) for file page pg. */
static inline enum umfs_pte_kind umfs_pt_top(const struct umfs_ptwalk *w, unsigned int height,
					     umfs_u64 root, umfs_u64 pg, struct umfs_pt_pos *pos)
{
	pos->table = 0;
	pos->idx = 0;
	pos->level = umfs_pt_top_level(height) + 1;
	pos->off = root;
	if (!umfs_pt_root_ok(w->g, height, root))
		pos->kind = UMFS_PTE_BAD;
	else if (!root || pg >= umfs_pt_cover(height))
		pos->kind = UMFS_PTE_HOLE;
	else
		pos->kind = height ? UMFS_PTE_TABLE : UMFS_PTE_LEAF;
	return pos->kind;
}

/*
 * From the root of tree (height, root) toward file page pg, down to the
 * entry of the level-`stop` table at most (stop >= 1): the walk stops at
 * the first entry that is not a table, and returns its kind. A 2 MiB leaf
 * is a LEAF at level 2; pos->off is then its first page.
 */
static inline enum umfs_pte_kind umfs_pt_descend(const struct umfs_ptwalk *w, unsigned int height,
						 umfs_u64 root, umfs_u64 pg, unsigned int stop,
						 struct umfs_pt_pos *pos)
{
	unsigned int level = umfs_pt_top_level(height);

	if (umfs_pt_top(w, height, root, pg, pos) != UMFS_PTE_TABLE || !height)
		return pos->kind;
	pos->table = umfs_pt_table(w, root);
	for (;;) {
		pos->level = level;
		pos->idx = umfs_pt_index(pg, level);
		pos->kind = umfs_pte_decode(w->g, level, umfs_pte_load(&pos->table[pos->idx]),
					    &pos->off);
		if (pos->kind != UMFS_PTE_TABLE || level <= stop)
			return pos->kind;
		pos->table = umfs_pt_table(w, pos->off);
		level--;
	}
}

/* umfs_pt_next below the table t of level and n entries, which maps
 * file pages from base: the first page >= pg whose entry's kind is
 * wanted, or UMFS_PT_NONE. The recursion is bounded by the level (at
 * most 4: UMFS_PT_MAX_HEIGHT). */
static inline umfs_u64 umfs_pt_scan_table(const struct umfs_ptwalk *w, umfs_u64 *t,
					  unsigned int level, unsigned int n, umfs_u64 base,
					  umfs_u64 pg, unsigned int want, struct umfs_pt_pos *pos)
{
	unsigned int shift = umfs_pt_level_shift(level), i;

	for (i = (unsigned int)((pg - base) >> shift); i < n; i++) {
		umfs_u64 cbase = base + ((umfs_u64)i << shift), off = 0, r;
		umfs_u64 from = pg > cbase ? pg : cbase;
		enum umfs_pte_kind k = umfs_pte_decode(w->g, level, umfs_pte_load(&t[i]), &off);

		if (k == UMFS_PTE_TABLE) {
			r = umfs_pt_scan_table(w, umfs_pt_table(w, off), level - 1,
					       UMFS_PT_ENTRIES, cbase, from, want, pos);
			if (r != UMFS_PT_NONE)
				return r;
		} else if (want & UMFS_PT_WANT(k)) {
			pos->table = t;
			pos->idx = i;
			pos->level = level;
			pos->kind = k;
			pos->off = off;
			return from;
		}
	}
	return UMFS_PT_NONE;
}

/*
 * The iterator: the first file page >= pg of tree (height, root) whose
 * entry's kind is in want (UMFS_PT_WANT of HOLE, LEAF or BAD; a table is
 * always entered), with *pos at that entry; UMFS_PT_NONE when there is
 * none. Past the tree's cover every page is a hole; a root outside the
 * rules is BAD at pg.
 */
static inline umfs_u64 umfs_pt_next(const struct umfs_ptwalk *w, unsigned int height,
				    umfs_u64 root, umfs_u64 pg, unsigned int want,
				    struct umfs_pt_pos *pos)
{
	enum umfs_pte_kind k = umfs_pt_top(w, height, root, pg, pos);
	umfs_u64 r, hole = pg;

	if (k == UMFS_PTE_TABLE) {
		r = umfs_pt_scan_table(w, umfs_pt_table(w, root), umfs_pt_top_level(height),
				       umfs_pt_top_entries(height), 0, pg, want, pos);
		if (r != UMFS_PT_NONE)
			return r;
	} else if (k != UMFS_PTE_HOLE && (want & UMFS_PT_WANT(k))) {
		return pg; /* a bad root, or the one page of a tree of height 0 */
	}
	if (k != UMFS_PTE_HOLE && k != UMFS_PTE_BAD)
		hole = umfs_pt_cover(height); /* nothing wanted inside the cover */
	umfs_pt_top(w, height, root, hole, pos);
	return k != UMFS_PTE_BAD && (want & UMFS_PT_WANT(UMFS_PTE_HOLE)) ? hole : UMFS_PT_NONE;
}

/* Pool offset of file page pg, which the leaf at pos maps. */
static inline umfs_u64 umfs_pt_leaf_page(const struct umfs_pt_pos *pos, umfs_u64 pg)
{
	if (pos->level == 2)
		return pos->off + ((pg & (UMFS_PAGES_PER_HUGE - 1)) << UMFS_PAGE_SHIFT);
	return pos->off;
}

/* File pages from pg to the end of the leaf at pos. */
static inline umfs_u64 umfs_pt_leaf_pages(const struct umfs_pt_pos *pos, umfs_u64 pg)
{
	return pos->level == 2 ? UMFS_PAGES_PER_HUGE - (pg & (UMFS_PAGES_PER_HUGE - 1)) : 1;
}

#endif /* UMFS_PTWALK_H */
