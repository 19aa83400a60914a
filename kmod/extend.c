// SPDX-License-Identifier: GPL-2.0
/*
 * extend.c - EXTEND: the module allocates pages for a file and links them
 * into the file's page tree, which it grows as needed.
 *
 * This is what an append or a write over a hole asks of the module: every
 * hole of file pages [first, first + count) gets a zeroed data page (no
 * file ever sees another's old bytes). All of it is one transaction in the
 * module's journal slot (ktx.c): the records save the bitmap words, the
 * table entries and the inode fields before they change; new tables and
 * data pages are zeroed and persisted before anything points at them. The
 * call stops early when its slot runs low; `done` says how far it got.
 *
 * Every entry followed on the way down is checked (form, data zone), as in
 * tree.c, and every entry written is made from a page this call allocated.
 * 4 KiB leaves only: 2 MiB leaves stay libumfs's (software mode) choice.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "umfs_km.h"

/* Records a call may write: bounds the time one call holds the alloc_lock. */
#define UMFS_KM_EXT_MAX_RECS 100
/* Journal room one step may need: a leaf run (512 entries), a bitmap run,
 * the tables of a path and the inode. */
#define UMFS_KM_EXT_STEP_ROOM (UMFS_PAGE_SIZE + 1024)

struct umfs_km_ext {
	struct umfs_km_op op;
	u64 allocated;           /* pages taken from the bitmap */
};

static bool umfs_km_page_free(const struct umfs_km_pool *p, u64 page)
{
	return page < p->data_pages && !test_bit(page, (unsigned long *)umfs_km_bitmap(p));
}

/*
 * Takes a run of up to `want` free pages, starting at `goal` if it is free,
 * else at the first free page from the cursor on (wrapping once). The
 * bitmap words of the run are saved in one record first.
 */
static int umfs_km_alloc_run(struct umfs_km_ext *x, u64 goal, u64 want, u64 *first, u64 *got)
{
	struct umfs_km_pool *p = x->op.p;
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
	err = umfs_km_tx_add(&x->op.tx, p->pbitmap_off + w0 * 8, (u32)(w1 - w0 + 1) * 8);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		__set_bit(start + i, (unsigned long *)bm); /* LE u64 words */
	x->allocated += n;
	x->op.in->blocks += n;
	p->kcursor = start + n;
	*first = start;
	*got = n;
	return 0;
}

/* Zeroes and persists `n` pool pages from data page `first`. */
static void umfs_km_zero_pages(struct umfs_km_pool *p, u64 first, u64 n)
{
	void *addr = umfs_km_off_ptr(p, p->data_off + (first << UMFS_PAGE_SHIFT));

	memset(addr, 0, n << UMFS_PAGE_SHIFT);
	arch_wb_cache_pmem(addr, n << UMFS_PAGE_SHIFT);
}

/* A new, zeroed table page (persisted by the caller's fence). */
static int umfs_km_table_new(struct umfs_km_ext *x, u64 *off)
{
	u64 page, got;
	int err = umfs_km_alloc_run(x, x->op.p->kcursor, 1, &page, &got);

	if (err)
		return err;
	umfs_km_zero_pages(x->op.p, page, 1);
	*off = x->op.p->data_off + (page << UMFS_PAGE_SHIFT);
	umfs_km_ptlock_init(x->op.p, *off);
	return 0;
}

/* One level more on top: the old root becomes entry 0 of a new root. */
static int umfs_km_grow(struct umfs_km_ext *x)
{
	struct umfs_inode *in = x->op.in;
	u64 off, *t;
	int err;

	err = umfs_km_table_new(x, &off);
	if (err)
		return err;
	t = umfs_km_off_ptr(x->op.p, off);
	t[0] = (x->op.p->phys + in->pt_root) |
	       (in->pt_height ? UMFS_PTE_TABLE_FLAGS : UMFS_PTE_LEAF4K_FLAGS);
	arch_wb_cache_pmem(t, sizeof(*t));
	umfs_km_op_set_root(&x->op, off, in->pt_height + 1);
	return 0;
}

/*
 * Fills the holes from file page pg on inside the level-1 table that covers
 * pg, up to page last; creates the tables on the way. Sets *next to the
 * first page it did not reach.
 */
static int umfs_km_ext_step(struct umfs_km_ext *x, u64 pg, u64 last, u64 *next)
{
	struct umfs_km_pool *p = x->op.p;
	struct umfs_inode *in = x->op.in;
	unsigned int level = READ_ONCE(in->pt_height), i, j, end;
	u64 root = READ_ONCE(in->pt_root), *t, off, first, got, goal;
	bool huge;
	int err;

	/* the live inode, as every entry below: checked before it is followed */
	if (level > 3 || !umfs_km_off_is_data_page(p, root))
		return -EUCLEAN;
	t = umfs_km_off_ptr(p, root);
	*next = pg;
	if (level == 0) {
		*next = pg + 1; /* need <= 0: pg is 0, the root data page */
		return 0;
	}
	while (level > 1) {
		u64 *slot = &t[(pg >> umfs_pt_level_shift(level)) & (UMFS_PT_ENTRIES - 1)];

		if (!*slot) {
			err = umfs_km_table_new(x, &off);
			if (!err)
				err = umfs_km_tx_add(&x->op.tx, (u8 *)slot - (u8 *)p->kaddr, sizeof(*slot));
			if (err)
				return err;
			wmb(); /* the zeroed table is durable before it is linked */
			WRITE_ONCE(*slot, (p->phys + off) | UMFS_PTE_TABLE_FLAGS);
		} else {
			err = umfs_km_child(p, *slot, level, &off, &huge);
			if (err)
				return err;
			if (huge) { /* a 2 MiB leaf: its region is all present */
				*next = (pg | (UMFS_PAGES_PER_HUGE - 1)) + 1;
				return 0;
			}
		}
		t = umfs_km_off_ptr(p, off);
		level--;
	}
	i = pg & (UMFS_PT_ENTRIES - 1);
	end = (unsigned int)min_t(u64, UMFS_PT_ENTRIES, i + (last - pg) + 1);
	for (j = i; j < end && !t[j]; j++)
		;
	if (j == i) {
		*next = pg + 1; /* present */
		return 0;
	}
	/* entries [i, j) are holes: save them once, then fill them in runs */
	err = umfs_km_tx_add(&x->op.tx, (u8 *)&t[i] - (u8 *)p->kaddr, (j - i) * sizeof(*t));
	if (err)
		return err;
	while (i < j) {
		goal = p->kcursor;
		if (i && t[i - 1] && !umfs_km_child(p, t[i - 1], 1, &off, &huge))
			goal = ((off - p->data_off) >> UMFS_PAGE_SHIFT) + 1;
		err = umfs_km_alloc_run(x, goal, j - i, &first, &got);
		if (err)
			break;
		umfs_km_zero_pages(p, first, got);
		wmb(); /* zeroed pages are durable before they are linked */
		for (; got; got--, first++, i++, pg++)
			WRITE_ONCE(t[i], umfs_km_page_entry(p, first, UMFS_PTE_LEAF4K_FLAGS));
	}
	*next = pg;
	return err;
}

/* Makes the tree cover page last, and not empty. */
static int umfs_km_ext_cover(struct umfs_km_ext *x, u64 last)
{
	unsigned int need = umfs_pt_height_for(last);
	u64 off, got, page;
	int err;

	if (x->op.in->pt_root && (x->op.in->pt_height > 3 ||
			       !umfs_km_off_is_data_page(x->op.p, x->op.in->pt_root)))
		return -EUCLEAN; /* the live inode: checked before it is used */
	if (!x->op.in->pt_root) {
		if (need == 0) { /* a one-page file: the root is its data page */
			err = umfs_km_alloc_run(x, x->op.p->kcursor, 1, &page, &got);
			if (err)
				return err;
			umfs_km_zero_pages(x->op.p, page, 1);
			umfs_km_op_set_root(&x->op, x->op.p->data_off + (page << UMFS_PAGE_SHIFT), 0);
			return 0;
		}
		err = umfs_km_table_new(x, &off);
		if (err)
			return err;
		umfs_km_op_set_root(&x->op, off, need);
		return 0;
	}
	while (x->op.in->pt_height < need) {
		err = umfs_km_grow(x);
		if (err)
			return err;
	}
	return 0;
}

static int umfs_km_ext_run(struct umfs_km_ext *x, u64 first, u64 last, u64 *done)
{
	u64 pg = first, next;
	int err;

	err = umfs_km_op_save_inode(&x->op);
	if (!err)
		err = umfs_km_ext_cover(x, last);
	while (!err && pg <= last) {
		if (umfs_km_tx_room(&x->op.tx) < UMFS_KM_EXT_STEP_ROOM ||
		    x->op.tx.nrecs > UMFS_KM_EXT_MAX_RECS)
			break; /* the caller comes back for the rest */
		err = umfs_km_ext_step(x, pg, last, &next);
		pg = next;
	}
	*done = pg - first;
	return err;
}

int umfs_km_extend(struct umfs_kmod_extend *req)
{
	struct umfs_km_ext x = { 0 };
	u64 last;
	int err;

	if (req->flags || req->reserved0 || req->reserved1)
		return -EINVAL;
	req->done = req->allocated = 0;
	req->stop_error = 0;
	if (!req->count)
		return 0;
	if (req->first >= UMFS_MAX_FILE_SIZE >> UMFS_PAGE_SHIFT ||
	    req->count > (UMFS_MAX_FILE_SIZE >> UMFS_PAGE_SHIFT) - req->first)
		return -EFBIG;
	last = req->first + req->count - 1;

	err = umfs_km_op_begin(&x.op, req->ino, req->generation);
	if (err)
		return err;
	err = umfs_km_op_check_write(&x.op.snap);
	if (!err)
		err = umfs_km_tx_begin(&x.op.tx, x.op.p);
	if (err)
		goto out;
	err = umfs_km_ext_run(&x, req->first, last, &req->done);
	/* what was linked before an error (ENOSPC) stays: it is whole */
	if (err == -EINTR || umfs_km_tx_commit(&x.op.tx)) {
		err = -EINTR; /* the tx_stop hook: left as a power cut leaves it */
		goto out;
	}
	req->allocated = x.allocated;
	atomic64_inc(&umfs_km_cnt.extends);
	atomic64_add(x.allocated, &umfs_km_cnt.extend_pages);
	if (req->done || x.allocated) { /* progress: report it, and why it stopped */
		req->stop_error = err;
		err = 0;
	}
out:
	umfs_km_op_end(&x.op);
	return err;
}
