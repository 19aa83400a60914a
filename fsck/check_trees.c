/* SPDX-License-Identifier: MIT */
/*
 * check_trees.c - step 5: every file's page tree and U-Log chain.
 *
 * Each entry must be exactly 0 or carry exactly the flag set of its kind
 * (a pointer to a lower table; a 4 KiB leaf at level 1; a 2 MiB leaf at
 * level 2, 2 MiB aligned) and point inside the data zone. Every page the
 * tree reaches is claimed in a DRAM ownership bitmap before the walk goes
 * further, so a page reached twice (by two files, or by one file through a
 * loop) is caught at its second owner, whose entry is cleared: the walk
 * never follows a page twice and always ends. A table page most of whose
 * entries are invalid is not a table at all (data pointed to by a damaged
 * entry): it is dropped whole rather than "repaired" entry by entry.
 * An inline table is walked as the level-1 root table it stands for, with
 * its 17 entries and no page of its own.
 * The blocks counter must equal the pages the tree owns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* More invalid entries than this in one table: the page is not a table. */
#define BAD_ENTRIES_MAX 8

enum pte_kind { PTE_BAD, PTE_TABLE, PTE_LEAF4K, PTE_LEAF2M };

struct ptwalk {
	uint64_t ino;
	struct umfs_inode *in;
	uint64_t pages;    /* pages owned: tables and data */
	uint64_t end_pg;   /* one past the highest mapped file page */
	uint64_t trunc_pg; /* first file page an interrupted truncate frees */
	uint64_t trunc_freed;
};

static enum pte_kind pte_classify(const struct fsck *c, uint64_t e, unsigned level,
				  uint64_t *off, const char **why)
{
	enum pte_kind kind;
	uint64_t form = umfs_pte_form(level, e); /* umfs_rules.h */

	if (form == UMFS_PTE_LEAF4K_FLAGS)
		kind = PTE_LEAF4K;
	else if (form == UMFS_PTE_LEAF2M_FLAGS)
		kind = PTE_LEAF2M;
	else if (form == UMFS_PTE_TABLE_FLAGS)
		kind = PTE_TABLE;
	else if (level == 2 && (e & UMFS_PTE_PSE))
		kind = PTE_BAD, *why = "is a 2 MiB leaf with wrong flag bits or alignment";
	else
		kind = PTE_BAD, *why = "has invalid flag bits";
	if (kind == PTE_BAD || fsck_pte_decode(c, level, e, off) != UMFS_PTE_BAD)
		return kind;
	*why = kind == PTE_LEAF2M && fsck_page_ok(c, fsck_pte_off(c, e)) ?
		       "is a 2 MiB leaf not aligned inside the data zone" :
		       "points outside the data zone";
	return PTE_BAD;
}

/*
 * Pages under an entry past the size of an interrupted truncate, which the
 * truncate frees: given up quietly, since they are crash state and no
 * leak. The count lets the blocks counter, which still holds them, be
 * told from a wrong one. Recursion is bounded by the level.
 */
static uint64_t trunc_drop(struct fsck *c, uint64_t off, enum pte_kind kind, unsigned level)
{
	const uint64_t *t = fsck_ptr(c, off);
	uint64_t n = 1, sub;
	const char *why;

	if (kind == PTE_LEAF2M) {
		fsck_own_drop(c, fsck_page_of(c, off), UMFS_PAGES_PER_HUGE);
		return UMFS_PAGES_PER_HUGE;
	}
	fsck_own_drop(c, fsck_page_of(c, off), 1);
	if (kind == PTE_LEAF4K)
		return 1;
	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++) {
		enum pte_kind k = t[i] ? pte_classify(c, t[i], level - 1, &sub, &why) : PTE_BAD;

		if (k != PTE_BAD)
			n += trunc_drop(c, sub, k, level - 1);
	}
	return n;
}

static void entry_clear(struct fsck *c, uint64_t *t, unsigned i)
{
	fsck_set64(c, &t[i], 0);
}

/*
 * Walks the table at toff (level >= 1, n entries) that maps file pages
 * from base. Returns 0, or the number of invalid entries when there are so
 * many that the page is no table: then nothing was claimed or changed.
 */
static unsigned walk_table(struct fsck *c, struct ptwalk *w, uint64_t toff, unsigned level,
			   unsigned n, uint64_t base)
{
	uint64_t *t = fsck_ptr(c, toff), span = fsck_pt_span(level), off = 0;
	unsigned bad = 0;
	const char *why;

	for (unsigned i = 0; i < n; i++)
		if (t[i] && pte_classify(c, t[i], level, &off, &why) == PTE_BAD)
			bad++;
	if (bad > BAD_ENTRIES_MAX)
		return bad;

	for (unsigned i = 0; i < n; i++) {
		uint64_t e = t[i], pg = base + i * span, page;
		enum pte_kind kind;
		unsigned sub;

		if (e == 0)
			continue;
		kind = pte_classify(c, e, level, &off, &why);
		if (kind == PTE_BAD) {
			if (fsck_problem(c, "cleared",
					 "inode %" PRIu64 ": page-table entry %u at level %u (file page %" PRIu64
					 ") %s (0x%016" PRIx64 ")",
					 w->ino, i, level, pg, why, e))
				entry_clear(c, t, i);
			continue;
		}
		if (pg >= w->trunc_pg) {
			/* An interrupted truncate: finish it quietly, report once. */
			w->trunc_freed += trunc_drop(c, off, kind, level);
			entry_clear(c, t, i);
			continue;
		}
		page = fsck_page_of(c, off);
		if (!fsck_own_claim(c, page, kind == PTE_LEAF2M ? UMFS_PAGES_PER_HUGE : 1)) {
			if (fsck_problem(c, "cleared",
					 "inode %" PRIu64 ": page-table entry %u at level %u (file page %" PRIu64
					 ") maps page %" PRIu64 "%s, already in use",
					 w->ino, i, level, pg, page,
					 kind == PTE_LEAF2M ? " (2 MiB)" : ""))
				entry_clear(c, t, i);
			continue;
		}
		if (kind == PTE_TABLE) {
			sub = walk_table(c, w, off, level - 1, UMFS_PT_ENTRIES, pg);
			if (sub) {
				fsck_own_release(c, page, 1);
				if (fsck_problem(c, "dropped",
						 "inode %" PRIu64 ": table page %" PRIu64
						 " at level %u (file pages %" PRIu64 "-%" PRIu64
						 ") holds %u invalid entries: it",
						 w->ino, page, level - 1, pg, pg + span - 1, sub))
					entry_clear(c, t, i);
				continue;
			}
			w->pages++;
		} else {
			uint64_t pages = kind == PTE_LEAF2M ? UMFS_PAGES_PER_HUGE : 1;

			w->pages += pages;
			w->end_pg = UMFS_MAX(w->end_pg, pg + pages);
		}
	}
	return 0;
}

static void tree_drop(struct fsck *c, struct umfs_inode *in)
{
	if (in->pt_height == UMFS_PT_INLINE)
		fsck_zero(c, in->pt_inline, sizeof(in->pt_inline));
	fsck_set64(c, &in->pt_root, 0);
	fsck_set8(c, &in->pt_height, 0);
	fsck_inode_seal(c, in);
}

/* An inline table: the inode's entries, no root page to claim. */
static void walk_inline(struct fsck *c, struct ptwalk *w)
{
	struct umfs_inode *in = w->in;
	uint64_t toff = (uint64_t)((uint8_t *)in->pt_inline - c->base);
	unsigned bad = walk_table(c, w, toff, 1, UMFS_PT_INLINE_ENTRIES, 0);

	if (bad && fsck_problem(c, "dropped",
				"inode %" PRIu64 ": inline page table holds %u invalid entries: tree",
				w->ino, bad))
		tree_drop(c, in);
}

static void walk_tree(struct fsck *c, struct ptwalk *w)
{
	struct umfs_inode *in = w->in;
	uint64_t page;
	unsigned bad;

	if (in->pt_height == UMFS_PT_INLINE) {
		walk_inline(c, w);
		return;
	}
	if (in->pt_root == 0)
		return;
	page = fsck_page_of(c, in->pt_root);
	if (in->pt_height == 0 && w->trunc_pg == 0) {
		w->trunc_freed++;
		fsck_own_drop(c, page, 1);
		tree_drop(c, in);
		return;
	}
	if (!fsck_own_claim(c, page, 1)) {
		if (fsck_problem(c, "dropped",
				 "inode %" PRIu64 ": page-table root (page %" PRIu64 ") already in use: tree",
				 w->ino, page))
			tree_drop(c, in);
		return;
	}
	w->pages = 1;
	if (in->pt_height == 0) {
		w->end_pg = 1;
		return;
	}
	bad = walk_table(c, w, in->pt_root, in->pt_height, UMFS_PT_ENTRIES, 0);
	if (bad) {
		fsck_own_release(c, page, 1);
		w->pages = 0;
		if (fsck_problem(c, "dropped",
				 "inode %" PRIu64 ": root table page %" PRIu64
				 " holds %u invalid entries: tree",
				 w->ino, page, bad))
			tree_drop(c, in);
	}
}

/* The spare page a chain's head names (1.4): a data page the chain owns. */
static void walk_ulog_spare(struct fsck *c, uint64_t ino, struct umfs_ulog *u)
{
	const char *why = NULL;

	if (!u->spare)
		return;
	if (!(c->sb.feature_ro_compat & UMFS_FEATURE_RO_COMPAT_ULOG_SPARE))
		why = "is set on a pool without spares";
	else if (!fsck_page_ok(c, u->spare))
		why = "is outside the data zone";
	else if (!fsck_own_claim(c, fsck_page_of(c, u->spare), 1))
		why = "is a page already in use";
	if (why && fsck_problem(c, "cleared", "inode %" PRIu64 ": U-Log spare page %s", ino, why))
		fsck_set64(c, &u->spare, 0);
}

/* The U-Log chain: each page claimed, and stamped with this inode. */
static void walk_ulog(struct fsck *c, uint64_t ino, struct umfs_inode *in)
{
	uint64_t off = in->ulog, *link = &in->ulog;

	for (unsigned n = 0; off; n++) {
		const struct umfs_ulog *u;
		const char *why = NULL;

		if (n == FSCK_ULOG_CHAIN_MAX)
			why = "is too long (a loop?)";
		else if (!fsck_page_ok(c, off))
			why = "links outside the data zone";
		else if (!fsck_own_claim(c, fsck_page_of(c, off), 1))
			why = "links to a page already in use";
		if (why == NULL) {
			u = fsck_ptr(c, off);
			if (!umfs_ulog_page_stamped(u, ino, in->generation)) {
				fsck_own_release(c, fsck_page_of(c, off), 1);
				why = "links to a page that is not this inode's U-Log";
			}
		}
		if (why) {
			if (fsck_problem(c, "cut", "inode %" PRIu64 ": U-Log chain (page %u) %s", ino, n,
					 why)) {
				fsck_set64(c, link, 0);
				if (link == &in->ulog)
					fsck_inode_seal(c, in);
			}
			return;
		}
		if (n == 0)
			walk_ulog_spare(c, ino, fsck_ptr(c, off));
		link = (uint64_t *)&((struct umfs_ulog *)fsck_ptr(c, off))->next;
		off = *link;
	}
}

/* Length of a symlink target stored in page 0, at most UMFS_SYMLINK_MAX. */
static uint64_t symlink_len(struct fsck *c, const struct umfs_inode *in)
{
	uint64_t off = fsck_pt_lookup(c, in, 0);

	return off ? strnlen(fsck_ptr(c, off), UMFS_SYMLINK_MAX) : 0;
}

static void check_file(struct fsck *c, uint64_t ino)
{
	struct umfs_inode *in = &c->inodes[ino];
	struct ptwalk w = { .ino = ino, .in = in, .trunc_pg = UINT64_MAX };

	if ((in->flags & UMFS_IF_TRUNC) && in->size <= fsck_max_file_size(c))
		w.trunc_pg = UMFS_DIV_ROUND_UP(in->size, UMFS_PAGE_SIZE);
	walk_tree(c, &w);
	walk_ulog(c, ino, in);

	if (in->flags & UMFS_IF_TRUNC) {
		/* The counter still holds what the truncate frees: part of it. */
		if (in->blocks == w.pages + w.trunc_freed && w.trunc_freed)
			fsck_set64(c, &in->blocks, w.pages);
		/* Mount recovery refuses an inode whose checksum fails. */
		fsck_crash(c, FSCK_CRASH_TRUNC, !(c->ino[ino].flags & FI_UNSEALED), 1, "finished",
			   "inode %" PRIu64 ": truncate was interrupted (%" PRIu64
			   " page(s) past the size)", ino, w.trunc_freed);
		fsck_set32(c, &in->flags, in->flags & ~UMFS_IF_TRUNC);
	}
	if (in->blocks != w.pages &&
	    fsck_problem(c, "fixed", "inode %" PRIu64 ": blocks counter %" PRIu64 ", but it owns %" PRIu64
			 " pages", ino, in->blocks, w.pages))
		fsck_set64(c, &in->blocks, w.pages);
	if (c->ino[ino].flags & FI_SIZEFIX) {
		uint64_t size = S_ISLNK(in->mode) ? symlink_len(c, in)
						  : w.end_pg << UMFS_PAGE_SHIFT;

		if (fsck_problem(c, "set to the mapped extent",
				 "inode %" PRIu64 ": size %" PRIu64 " is beyond what a %s can hold",
				 ino, in->size, fsck_type_name(in->mode)))
			fsck_set64(c, &in->size, size);
	}
}

int fsck_page_tables(struct fsck *c)
{
	c->owned = calloc(UMFS_DIV_ROUND_UP(c->data_pages, 64), sizeof(uint64_t));
	c->released = calloc(UMFS_DIV_ROUND_UP(c->data_pages, 64), sizeof(uint64_t));
	c->fresh = calloc(UMFS_DIV_ROUND_UP(c->data_pages, 64), sizeof(uint64_t));
	if (c->owned == NULL || c->released == NULL || c->fresh == NULL)
		return -ENOMEM;
	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count; ino++)
		if (c->ino[ino].flags & FI_LIVE)
			check_file(c, ino);
	return 0;
}
