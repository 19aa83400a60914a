// SPDX-License-Identifier: GPL-2.0
/*
 * ulog.c - ULOG: the module allocates and gives back the pages of a file's
 * U-Log chain, so that the page bitmap and the inode's ulog field (covered
 * by its checksum; EXCHANGE reads its record from there) are module writes.
 * User space writes the records and cached attributes inside the pages.
 *
 * A new page is zeroed and stamped (magic, ino, generation, csum) and
 * persisted before anything links it; the link (the last page's next, or
 * the inode's ulog) and the bitmap words are saved in the transaction.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "umfs_km.h"
#include "../include/umfs_ulog.h"

/* The format's U-Log rules (umfs_ulog.h) over the pool's direct map. */
static struct umfs_ulog_env umfs_km_ulog_env(const struct umfs_km_pool *p)
{
	return (struct umfs_ulog_env){ .base = p->kaddr, .data_off = p->data_off,
				       .data_pages = p->data_pages,
				       .pbitmap = umfs_km_bitmap(p) };
}

bool umfs_km_ulog_page_ok(const struct umfs_km_pool *p, u64 off, u64 ino, u32 generation)
{
	struct umfs_ulog_env env = umfs_km_ulog_env(p);

	return umfs_ulog_page_ok(&env, off, ino, generation);
}

unsigned int umfs_km_ulog_chain(const struct umfs_km_pool *p, const struct umfs_inode *in,
				u64 ino, u64 *offs, bool *cut)
{
	struct umfs_ulog_env env = umfs_km_ulog_env(p);
	unsigned int n;
	int cut_link;

	n = umfs_ulog_chain_walk(&env, in->ulog, ino, in->generation, offs, UMFS_ULOG_MAX_PAGES,
				 &cut_link);
	*cut = cut_link;
	return n;
}

int umfs_km_ulog_drop(struct umfs_km_tx *tx, struct umfs_inode *in, const u64 *offs,
		      unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = umfs_km_bits_give(tx, umfs_km_off_page(tx->p, offs[i]));
		if (err)
			return err;
	}
	if (in->ulog) {
		in->ulog = 0;
		in->csum = umfs_inode_id_csum(in);
	}
	return 0;
}

/* A zeroed, stamped, persisted U-Log page for ino, not linked yet. */
static int umfs_km_ulog_page_new(struct umfs_km_op *op, u64 *off)
{
	struct umfs_km_pool *p = op->p;
	struct umfs_ulog *u;
	u64 page, got;
	int err = umfs_km_bits_take(&op->tx, p->kcursor, 1, &page, &got);

	if (err)
		return err;
	*off = p->data_off + (page << UMFS_PAGE_SHIFT);
	u = umfs_km_off_ptr(p, *off);
	memset(u, 0, UMFS_PAGE_SIZE);
	u->magic = UMFS_ULOG_MAGIC;
	u->ino = op->ino;
	u->generation = op->snap.generation;
	u->csum = umfs_ulog_csum(u);
	arch_wb_cache_pmem(u, UMFS_PAGE_SIZE);
	return 0;
}

/* Links new pages after offs[0..n) until the chain has `want`. */
static int umfs_km_ulog_grow(struct umfs_km_op *op, u64 *offs, unsigned int n,
			     unsigned int want, u64 *allocated)
{
	struct umfs_km_pool *p = op->p;
	u64 off;
	int err;

	for (; n < want; n++) {
		err = umfs_km_ulog_page_new(op, &off);
		if (err)
			return err;
		wmb(); /* the stamped page is durable before it is linked */
		if (n) {
			u64 link = offs[n - 1] + offsetof(struct umfs_ulog, next);

			err = umfs_km_tx_add(&op->tx, link, sizeof(u64));
			if (err)
				return err;
			WRITE_ONCE(*(u64 *)umfs_km_off_ptr(p, link), off);
		} else {
			err = umfs_km_op_save_inode(op);
			if (err)
				return err;
			op->in->ulog = off;
			op->in->csum = umfs_inode_id_csum(op->in);
		}
		offs[n] = off;
		(*allocated)++;
	}
	return 0;
}

int umfs_km_ulog(struct umfs_kmod_ulog *req)
{
	u64 offs[UMFS_ULOG_MAX_PAGES];
	struct umfs_km_op op;
	unsigned int n;
	bool cut;
	int err;

	if (req->pages > UMFS_ULOG_MAX_PAGES || req->reserved0 || req->reserved[0] ||
	    req->reserved[1])
		return -EINVAL;
	req->allocated = req->freed = 0;
	err = umfs_km_op_begin(&op, req->ino, req->generation);
	if (err)
		return err;
	err = umfs_km_perm_check(&op.snap, false);
	if (!err)
		err = umfs_km_op_poolmap_check();
	if (err)
		goto out;
	n = umfs_km_ulog_chain(op.p, &op.snap, op.ino, offs, &cut);
	if (req->pages && cut)
		err = -EUCLEAN; /* a damaged chain is not grown: fsck.umfs cuts it */
	else if (!req->pages && n &&
		 READ_ONCE(((struct umfs_ulog *)umfs_km_off_ptr(op.p, offs[0]))->rec_seq))
		err = -EBUSY; /* a live record: recovery must see it first */
	if (err || (req->pages ? n >= req->pages : !op.snap.ulog))
		goto done;
	err = umfs_km_tx_begin(&op.tx, op.p);
	if (!err) {
		if (req->pages) {
			err = umfs_km_ulog_grow(&op, offs, n, req->pages, &req->allocated);
		} else {
			err = umfs_km_op_save_inode(&op);
			if (!err)
				err = umfs_km_ulog_drop(&op.tx, op.in, offs, n);
		}
		if (err && err != -EINTR) /* EINTR: the tx_stop hook, left as a power cut leaves it */
			umfs_km_tx_abort(&op.tx);
		else if (!err)
			err = umfs_km_tx_commit(&op.tx);
	}
	if (err) {
		req->allocated = 0;
		goto out; /* -EINTR: the tx_stop hook left it as a power cut does */
	}
	if (req->pages) {
		n = max_t(unsigned int, n, req->pages);
		atomic64_add(req->allocated, &umfs_km_cnt.ulog_pages);
	} else {
		req->freed = n;
		n = 0;
	}
done:
	req->head = n ? offs[0] : 0;
	req->count = n;
out:
	umfs_km_op_end(&op);
	return err;
}
