// SPDX-License-Identifier: GPL-2.0
/*
 * free.c - FREE: the module gives back a file's pages (truncate, punch, the
 * reclaim of an unlinked file).
 *
 * Every attachment of the file is revoked first, under the alloc_lock that
 * ATTACH reads inodes under, so no process can reach a page once it is
 * free. Then, last page first: runs of 4 KiB leaves, 2 MiB leaves wholly in
 * the range, tables the range empties, and root tables the tree no longer
 * needs (a level-4 root left with entry 0 only, a level-1 root that fits
 * inline: the shapes libumfs's truncate leaves). A 2 MiB leaf the range
 * cuts is split: the leaf's page of the last dropped file page becomes the
 * level-1 table of the pages kept, so a free never allocates (a truncate
 * must work on a full pool).
 *
 * It is one transaction of the module's journal slot (ktx.c): each entry
 * range, bitmap range and the inode are saved before they change, so a
 * crash rolls the whole call back. A call stops between steps when its
 * slot runs low; every step leaves a valid tree and an exact block count,
 * so what it did is committed and the caller comes back for the rest.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "umfs_km.h"

/* Journal room a step may need: a split saves a page, an entry and a
 * bitmap range; a leaf run a table's entries and a bitmap range. */
#define UMFS_KM_FREE_STEP_ROOM (UMFS_PAGE_SIZE + 1024)
#define UMFS_KM_FREE_STOPPED 1

struct umfs_km_fr {
	struct umfs_km_op op;
	u64 freed;
};

static bool umfs_km_fr_room(const struct umfs_km_fr *f)
{
	return umfs_km_tx_room(&f->op.tx) >= UMFS_KM_FREE_STEP_ROOM;
}

static int umfs_km_fr_save(struct umfs_km_fr *f, const void *addr, u32 len)
{
	return umfs_km_tx_add(&f->op.tx, (const u8 *)addr - (const u8 *)f->op.p->kaddr, len);
}

/*
 * -EBUSY if one of data pages [first, first + n) holds a reference beyond
 * the one an idle fsdax page keeps: GUP-fast pins the pages of 2 MiB
 * leaves (O_DIRECT, vmsplice, io_uring buffers on an attachment), and a
 * page must not change owner while something can still write it.
 */
static int umfs_km_fr_pinned(const struct umfs_km_pool *p, u64 first, u64 n)
{
	unsigned long pfn = p->pfn + (p->data_off >> PAGE_SHIFT) + first;
	u64 i;

	for (i = 0; i < n; i++)
		if (page_ref_count(pfn_to_page(pfn + i)) > 1)
			return -EBUSY;
	return 0;
}

/* Clears the bitmap bits of data pages [first, first + n), which must all
 * be set (a page owned twice would be freed twice) and unpinned. */
static int umfs_km_fr_pages(struct umfs_km_fr *f, u64 first, u64 n)
{
	struct umfs_km_pool *p = f->op.p;
	unsigned long *bm = (unsigned long *)umfs_km_bitmap(p);
	u64 w0 = first / 64, w1 = (first + n - 1) / 64, i;
	int err;

	if (!n)
		return 0;
	if (first + n > p->data_pages)
		return -EUCLEAN;
	for (i = first; i < first + n; i++)
		if (!test_bit(i, bm))
			return -EUCLEAN;
	err = umfs_km_fr_pinned(p, first, n);
	if (err)
		return err;
	err = umfs_km_fr_save(f, umfs_km_bitmap(p) + w0, (u32)(w1 - w0 + 1) * 8);
	if (!err)
		err = umfs_km_bsum_save(&f->op.tx, w0, w1);
	if (err)
		return err;
	for (i = first; i < first + n; i++)
		umfs_km_bit_put(p, i, false);
	f->op.in->blocks -= n;
	f->freed += n;
	return 0;
}

/* Entries t[from..n) are all holes. */
static bool umfs_km_table_empty(const u64 *t, unsigned int from, unsigned int n)
{
	unsigned int i;

	for (i = from; i < n; i++)
		if (READ_ONCE(t[i]))
			return false;
	return true;
}

/* Frees the 4 KiB leaves t[i0..i1] of a level-1 table, last first, in runs
 * of pages contiguous in the pool. */
static int umfs_km_fr_leaves(struct umfs_km_fr *f, u64 *t, unsigned int i0, unsigned int i1)
{
	unsigned int i = i1 + 1, j;
	bool huge;
	u64 off, prev;
	int err;

	if (!umfs_km_fr_room(f))
		return UMFS_KM_FREE_STOPPED;
	err = umfs_km_fr_save(f, &t[i0], (i1 - i0 + 1) * sizeof(*t));
	if (err)
		return err;
	while (i-- > i0) {
		if (!t[i])
			continue;
		if (!umfs_km_fr_room(f))
			return UMFS_KM_FREE_STOPPED; /* what is cleared is freed */
		err = umfs_km_child(f->op.p, t[i], 1, &off, &huge);
		if (err)
			return err;
		for (j = i; j > i0 && t[j - 1]; j--) {
			if (umfs_km_child(f->op.p, t[j - 1], 1, &prev, &huge) ||
			    prev + UMFS_PAGE_SIZE != off)
				break;
			off = prev;
		}
		err = umfs_km_fr_pages(f, umfs_km_off_page(f->op.p, off), i - j + 1);
		if (err)
			return err;
		memset(&t[j], 0, (i - j + 1) * sizeof(*t));
		i = j;
	}
	return 0;
}

/*
 * Drops file pages [lo, hi] (relative) of the 2 MiB leaf in *slot, which
 * starts at data page lead, and keeps the others: the leaf's page hi,
 * dropped anyway, becomes their level-1 table. Its old bytes are saved: a
 * rolled-back punch must find them again.
 */
static int umfs_km_fr_split(struct umfs_km_fr *f, u64 *slot, u64 lead, unsigned int lo,
			    unsigned int hi)
{
	struct umfs_km_pool *p = f->op.p;
	u64 toff = p->data_off + ((lead + hi) << UMFS_PAGE_SHIFT);
	u64 *t = umfs_km_off_ptr(p, toff);
	unsigned int i;
	int err;

	err = umfs_km_fr_pinned(p, lead + hi, 1); /* it becomes a table */
	if (!err)
		err = umfs_km_fr_save(f, t, UMFS_PAGE_SIZE);
	if (!err)
		err = umfs_km_fr_save(f, slot, sizeof(*slot));
	if (!err)
		err = umfs_km_fr_pages(f, lead + lo, hi - lo); /* page hi lives on */
	if (err)
		return err;
	for (i = 0; i < UMFS_PT_ENTRIES; i++)
		t[i] = i < lo || i > hi ? umfs_km_page_entry(p, lead + i, UMFS_PTE_LEAF4K_FLAGS) : 0;
	arch_wb_cache_pmem(t, UMFS_PAGE_SIZE);
	umfs_km_ptlock_init(p, toff);
	wmb(); /* the table is durable before the entry points at it */
	WRITE_ONCE(*slot, (p->phys + toff) | UMFS_PTE_TABLE_FLAGS);
	return 0;
}

static int umfs_km_fr_range(struct umfs_km_fr *f, u64 *t, unsigned int level, u64 base,
			    u64 first, u64 last);

/* Frees file pages [first, last] under entry t[i] of a table at level >= 2,
 * which covers the pages from base. */
static int umfs_km_fr_entry(struct umfs_km_fr *f, u64 *t, unsigned int i, unsigned int level,
			    u64 base, u64 first, u64 last)
{
	u64 span = 1ull << umfs_pt_level_shift(level), off;
	bool whole = first == base && last == base + span - 1, huge;
	int err;

	err = umfs_km_child(f->op.p, t[i], level, &off, &huge);
	if (err)
		return err;
	if (!umfs_km_fr_room(f))
		return UMFS_KM_FREE_STOPPED;
	if (huge && !whole)
		return umfs_km_fr_split(f, &t[i], umfs_km_off_page(f->op.p, off),
					(unsigned int)(first - base), (unsigned int)(last - base));
	if (!huge) {
		err = umfs_km_fr_range(f, umfs_km_off_ptr(f->op.p, off), level - 1, base, first, last);
		if (err)
			return err;
		if (!umfs_km_table_empty(umfs_km_off_ptr(f->op.p, off), 0, UMFS_PT_ENTRIES))
			return 0;
		if (!umfs_km_fr_room(f))
			return UMFS_KM_FREE_STOPPED; /* an empty table is valid */
	}
	err = umfs_km_fr_save(f, &t[i], sizeof(*t));
	if (!err)
		err = umfs_km_fr_pages(f, umfs_km_off_page(f->op.p, off), huge ? UMFS_PAGES_PER_HUGE : 1);
	if (!err)
		WRITE_ONCE(t[i], 0);
	return err;
}

/* Frees file pages [first, last] of table t (level, covering the pages
 * from base), last first. */
static int umfs_km_fr_range(struct umfs_km_fr *f, u64 *t, unsigned int level, u64 base,
			    u64 first, u64 last)
{
	unsigned int shift = umfs_pt_level_shift(level);
	unsigned int i0 = (unsigned int)((first - base) >> shift);
	unsigned int i = (unsigned int)((last - base) >> shift) + 1;
	u64 span = 1ull << shift;
	int err;

	if (level == 1)
		return umfs_km_fr_leaves(f, t, i0, i - 1);
	while (i-- > i0) {
		u64 cbase = base + ((u64)i << shift);

		if (!READ_ONCE(t[i]))
			continue;
		err = umfs_km_fr_entry(f, t, i, level, cbase, max(first, cbase),
				       min(last, cbase + span - 1));
		if (err)
			return err;
	}
	return 0;
}

/* Frees the root table's page, whose entries the caller takes next. */
static int umfs_km_fr_root(struct umfs_km_fr *f)
{
	if (!umfs_km_fr_room(f))
		return UMFS_KM_FREE_STOPPED;
	return umfs_km_fr_pages(f, umfs_km_off_page(f->op.p, f->op.in->pt_root), 1);
}

/* A level-1 root table with nothing past entry 16 moves into the inode and
 * its page is freed, as libumfs's pt_shrink_inline does (the table holds
 * more than entry 0, or umfs_km_fr_shrink would have dropped it). */
static int umfs_km_fr_shrink_inline(struct umfs_km_fr *f)
{
	struct umfs_inode *in = f->op.in;
	u64 *t = umfs_km_off_ptr(f->op.p, in->pt_root);
	int err;

	if (!umfs_km_inline_ok(f->op.p, in) || in->pt_height != 1 ||
	    !umfs_km_table_empty(t, UMFS_PT_INLINE_ENTRIES, UMFS_PT_ENTRIES))
		return 0;
	err = umfs_km_fr_root(f); /* its bytes stay until the call ends */
	if (err)
		return err;
	memcpy(in->pt_inline, t, sizeof(in->pt_inline));
	umfs_km_op_set_root(&f->op, 0, UMFS_PT_INLINE);
	return 0;
}

/* Drops root tables that are empty or hold only entry 0 (not a 2 MiB
 * leaf, which a lower root could not hold), and an inline table that
 * holds only entry 0 (it becomes the root: no page to free) or nothing;
 * a level-1 root that fits inline moves there. The steps of libumfs's
 * pt_shrink (ptable.c), 4 levels to 3 included. */
static int umfs_km_fr_shrink(struct umfs_km_fr *f)
{
	struct umfs_inode *in = f->op.in;
	u64 *t, e, off = 0;
	unsigned int h;
	bool huge;
	int err;

	while (!umfs_km_tree_empty(in) && in->pt_height > 0) {
		h = in->pt_height;
		t = umfs_km_is_inline(in) ? in->pt_inline : umfs_km_off_ptr(f->op.p, in->pt_root);
		if (!umfs_km_table_empty(t, 1, umfs_pt_top_entries(h)))
			return umfs_km_is_inline(in) ? 0 : umfs_km_fr_shrink_inline(f);
		e = READ_ONCE(t[0]);
		if (e) {
			err = umfs_km_child(f->op.p, e, umfs_pt_top_level(h), &off, &huge);
			if (err)
				return err;
			if (huge)
				return 0;
		}
		if (umfs_km_is_inline(in)) {
			WRITE_ONCE(t[0], 0);
			umfs_km_op_set_root(&f->op, e ? off : 0, 0);
			return 0;
		}
		err = umfs_km_fr_root(f);
		if (err)
			return err;
		umfs_km_op_set_root(&f->op, e ? off : 0, e ? h - 1 : 0);
	}
	if (umfs_km_is_inline(in)) /* an empty inline table is the empty tree */
		umfs_km_op_set_root(&f->op, 0, 0);
	return 0;
}

/* Frees file pages [first, last] of the live inode's tree. */
static int umfs_km_fr_tree(struct umfs_km_fr *f, u64 first, u64 last)
{
	struct umfs_inode *in = f->op.in;
	unsigned int h = READ_ONCE(in->pt_height);
	u64 root = READ_ONCE(in->pt_root), cover;
	int err;

	/* the live inode: checked before it is followed */
	if (!umfs_inode_tree_ok(&f->op.p->geom, in->mode, h, root))
		return -EUCLEAN;
	if (umfs_km_tree_empty(in))
		return 0;
	cover = umfs_pt_cover(h);
	if (first >= cover)
		return 0;
	err = umfs_km_op_save_inode(&f->op);
	if (err)
		return err;
	if (h == 0) { /* first == 0: the one data page goes */
		err = umfs_km_fr_pages(f, umfs_km_off_page(f->op.p, root), 1);
		if (!err)
			umfs_km_op_set_root(&f->op, 0, 0);
		return err;
	}
	err = umfs_km_fr_range(f, umfs_km_is_inline(in) ? in->pt_inline : umfs_km_off_ptr(f->op.p, root),
			       umfs_pt_top_level(h), 0, first, min(last, cover - 1));
	return err ? err : umfs_km_fr_shrink(f);
}

int umfs_km_free(struct umfs_kmod_free *req)
{
	struct umfs_km_fr f = { 0 };
	u64 last, max_pages;
	int err;

	if (req->flags || req->reserved0 || req->reserved1)
		return -EINVAL;
	req->freed = req->revoked = 0;
	req->more = 0;
	if (!req->count)
		return 0;
	err = umfs_km_op_begin(&f.op, req->ino, req->generation);
	if (err)
		return err;
	max_pages = umfs_km_max_pages(f.op.p); /* 512 GiB, or 256 TiB with level 4 */
	if (req->first >= max_pages)
		goto out;
	last = req->first + min(req->count, max_pages - req->first) - 1;
	err = umfs_km_op_check_write(&f.op.snap, UMFS_KM_CHECK_SYMLINK | UMFS_KM_CHECK_DIR);
	/* a directory's pages hold names: they go only with its last name */
	if (!err && S_ISDIR(f.op.snap.mode) && f.op.snap.nlink)
		err = -EBUSY;
	if (!err)
		err = umfs_km_tx_begin(&f.op.tx, f.op.p);
	if (err)
		goto out;
	/* no process reaches a page once it is free; ATTACH waits for the lock */
	umfs_km_revoke(req->ino, &req->revoked);
	err = umfs_km_fr_tree(&f, req->first, last);
	if (err == UMFS_KM_FREE_STOPPED) {
		req->more = 1;
		err = 0;
	}
	if (err == -EINTR)
		goto out; /* the tx_stop hook: left as a power cut leaves it */
	if (err) {
		/* a bad tree: undo what this call changed, as recovery would */
		umfs_km_tx_abort(&f.op.tx);
		goto out;
	}
	err = umfs_km_tx_commit(&f.op.tx);
	if (err)
		goto out;
	req->freed = f.freed;
	atomic64_inc(&umfs_km_cnt.frees);
	atomic64_add(f.freed, &umfs_km_cnt.freed_pages);
out:
	umfs_km_op_end(&f.op);
	return err;
}
