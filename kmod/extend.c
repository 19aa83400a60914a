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
 * Pages and tables come from alloc.c, which checks every entry it follows
 * and grows the tree as libumfs does: a regular file of pages below 17 gets
 * an inline table, one that needs page 17 a table page, a file past 512 GiB
 * a fourth level (pools with those features). 4 KiB leaves only: 2 MiB
 * leaves stay libumfs's (software mode) choice.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/stat.h>
#include <linux/string.h>

#include "umfs_km.h"

/* Records a call may write: bounds the time one call holds the alloc_lock. */
#define UMFS_KM_EXT_MAX_RECS 100
/* Journal room one step may need: a leaf run (512 entries), a bitmap run,
 * the tables of a path and the inode. */
#define UMFS_KM_EXT_STEP_ROOM (UMFS_PAGE_SIZE + 1024)

/*
 * Fills the holes from file page pg on inside the level-1 table that covers
 * pg, up to page last; creates the tables on the way. Sets *next to the
 * first page it did not reach.
 */
static int umfs_km_ext_step(struct umfs_km_op *op, u64 pg, u64 last, u64 *next)
{
	struct umfs_km_pool *p = op->p;
	struct umfs_km_tx *tx = &op->tx;
	unsigned int i, j, end;
	u64 *t, off, first, got, goal;
	bool huge;
	int err;

	*next = pg + 1;
	if (READ_ONCE(op->in->pt_height) == 0)
		return 0; /* need <= 0: pg is 0, the root data page */
	err = umfs_km_slot_walk(tx, op->in, pg, 1, true, &t);
	if (err < 0)
		return err;
	if (err) { /* a 2 MiB leaf: its region is all present */
		*next = (pg | (UMFS_PAGES_PER_HUGE - 1)) + 1;
		return 0;
	}
	i = pg & (UMFS_PT_ENTRIES - 1);
	t -= i;
	end = (unsigned int)min_t(u64, UMFS_PT_ENTRIES, i + (last - pg) + 1);
	for (j = i; j < end && !t[j]; j++)
		;
	if (j == i)
		return 0; /* present */
	/* entries [i, j) are holes: save them once, then fill them in runs */
	err = umfs_km_tx_add(tx, (u8 *)&t[i] - (u8 *)p->kaddr, (j - i) * sizeof(*t));
	if (err)
		return err;
	while (i < j) {
		goal = p->kcursor;
		if (i && t[i - 1] && !umfs_km_child(p, t[i - 1], 1, &off, &huge))
			goal = ((off - p->data_off) >> UMFS_PAGE_SHIFT) + 1;
		err = umfs_km_alloc_run(tx, op->in, goal, j - i, &first, &got);
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

static int umfs_km_ext_run(struct umfs_km_op *op, u64 first, u64 last, u64 *done)
{
	u64 pg = first, next;
	int err;

	err = umfs_km_op_save_inode(op);
	if (!err)
		err = umfs_km_tree_cover(&op->tx, op->in, last, 0);
	while (!err && pg <= last) {
		if (umfs_km_tx_room(&op->tx) < UMFS_KM_EXT_STEP_ROOM ||
		    op->tx.nrecs > UMFS_KM_EXT_MAX_RECS)
			break; /* the caller comes back for the rest */
		err = umfs_km_ext_step(op, pg, last, &next);
		pg = next;
	}
	*done = pg - first;
	return err;
}

int umfs_km_extend(struct umfs_kmod_extend *req)
{
	struct umfs_km_op op;
	u64 last;
	int err;

	if (req->flags || req->reserved0 || req->reserved1)
		return -EINVAL;
	req->done = req->allocated = 0;
	req->stop_error = 0;
	if (!req->count)
		return 0;

	err = umfs_km_op_begin(&op, req->ino, req->generation);
	if (err)
		return err;
	/* the pool's limit: 512 GiB, or 256 TiB with level-4 tables */
	if (req->first >= umfs_km_max_pages(op.p) ||
	    req->count > umfs_km_max_pages(op.p) - req->first) {
		err = -EFBIG;
		goto out;
	}
	last = req->first + req->count - 1;
	err = umfs_km_op_check_write(&op.snap, UMFS_KM_CHECK_SYMLINK | UMFS_KM_CHECK_DIR);
	if (!err && S_ISLNK(op.snap.mode) && last > 0)
		err = -EFBIG; /* a symlink's target fits its first page */
	if (!err && S_ISDIR(op.snap.mode) && last >= UMFS_DIR_MAP_PAGE0 + UMFS_DIR_MAP_PAGES)
		err = -EFBIG; /* past the directory layout's last region */
	if (!err)
		err = umfs_km_tx_begin(&op.tx, op.p);
	if (err)
		goto out;
	err = umfs_km_ext_run(&op, req->first, last, &req->done);
	/* what was linked before an error (ENOSPC) stays: it is whole */
	if (err == -EINTR || umfs_km_tx_commit(&op.tx)) {
		err = -EINTR; /* the tx_stop hook: left as a power cut leaves it */
		goto out;
	}
	req->allocated = op.tx.allocated;
	if (req->allocated && umfs_km_is_inline(op.in))
		umfs_km_promote_refresh(op.p, op.ino, op.in); /* attachments see the new pages */
	atomic64_inc(&umfs_km_cnt.extends);
	atomic64_add(req->allocated, &umfs_km_cnt.extend_pages);
	if (req->done || req->allocated) { /* progress: report it, and why it stopped */
		req->stop_error = err;
		err = 0;
	}
out:
	umfs_km_op_end(&op);
	return err;
}
