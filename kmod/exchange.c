// SPDX-License-Identifier: GPL-2.0
/*
 * exchange.c - EXCHANGE: the module carries out (or rolls back) the
 * copy-on-write overwrite that a file's U-Log swap record describes.
 *
 * libumfs builds the new pages in a shadow (an unnamed orphan inode, its
 * pages from EXTEND), seals a SWAP record naming it in the file's U-Log,
 * and asks for the exchange. The module reads the record itself, revokes
 * both inodes' attachments, then moves table entries between the two trees
 * step by step, each step in the transaction that moves rec_done with it:
 * a crash leaves the record true, and libumfs's recovery rolls it back
 * (EXCHANGE_BACK here, or its own exchange in software mode; the steps are
 * the same). A step is one whole 2 MiB region at level 2 when either side
 * holds a 2 MiB leaf there, else a run of 4 KiB entries within one level-1
 * table. A side lacking the tables for a step gets them (alloc.c); nothing
 * else is allocated, and no page is freed: the shadow's reclaim (FREE)
 * frees the pages it ends up with.
 */
#include <linux/errno.h>
#include <linux/stat.h>
#include <linux/string.h>

#include "umfs_km.h"
#include "../include/umfs_ulog.h"

/* Journal room one step may need: two runs of 512 entries, the tables of
 * two paths with their bitmap words, rec_done. */
#define UMFS_KM_XC_STEP_ROOM (2 * UMFS_PAGE_SIZE + 2048)
/* Records a call may write: bounds the time one call holds the alloc_lock. */
#define UMFS_KM_XC_MAX_RECS 100

struct umfs_km_xc {
	struct umfs_km_op op;     /* the file */
	struct umfs_inode *sh;    /* the shadow, live */
	u64 sh_ino, sh_off;
	u64 rec_done_off;         /* pool offset of the record's rec_done */
	u64 lo, hi, len, done;    /* the record's pages [lo, hi], rec_done */
	bool back;
	u64 pages;
};

/* Checks the U-Log swap record of the file and the shadow it names,
 * reading the record once into a copy. */
static int umfs_km_xc_record(struct umfs_km_xc *x)
{
	struct umfs_km_pool *p = x->op.p;
	u64 uoff = x->op.snap.ulog;
	struct umfs_inode ssnap;
	/* the header lines only: identity and record (u->data is never read) */
	u64 head[2 * UMFS_CACHELINE / sizeof(u64)];
	const struct umfs_ulog *u = (const void *)head;
	int err;

	if (!umfs_km_ulog_page_ok(p, uoff, x->op.ino, x->op.snap.generation))
		return -EINVAL;
	/* the record is checked, and then used, in this copy alone */
	memcpy(head, umfs_km_off_ptr(p, uoff), sizeof(head));
	barrier();
	if (!u->rec_seq || u->rec_kind != UMFS_ULOG_REC_SWAP ||
	    u->rec_csum != umfs_ulog_rec_id_csum(u) || !umfs_ulog_rec_ok(u, x->op.ino, 1))
		return -EINVAL;
	err = umfs_km_inode_get(p, u->rec_aux_ino, &ssnap);
	if (err)
		return err == -ENOENT ? -EINVAL : err;
	if (!umfs_ulog_shadow_ok(&ssnap, u))
		return -EINVAL;
	/* pages go both ways: read and write (umfs_km_perm_check's write
	 * check asks for both) on both */
	err = umfs_km_perm_check(&ssnap, true);
	if (err)
		return err;
	x->sh_ino = u->rec_aux_ino;
	x->sh_off = p->inode_off + u->rec_aux_ino * sizeof(struct umfs_inode);
	x->sh = umfs_km_off_ptr(p, x->sh_off);
	x->rec_done_off = uoff + offsetof(struct umfs_ulog, rec_done);
	x->lo = u->rec_off;
	x->len = u->rec_len;
	x->hi = u->rec_off + u->rec_len - 1;
	x->done = u->rec_done;
	return 0;
}

/* Pool pages an entry at level 1 or 2 holds: a leaf's, or a table with its
 * leaves; every one checked. */
static int umfs_km_xc_weight(const struct umfs_km_pool *p, u64 e, unsigned int level, u64 *n)
{
	u64 off, *t, leaf;
	unsigned int i;
	bool huge;
	int err;

	*n = 0;
	if (!e)
		return 0;
	err = umfs_km_child(p, e, level, &off, &huge);
	if (err || level == 1 || huge) {
		*n = huge ? UMFS_PAGES_PER_HUGE : 1;
		return err;
	}
	t = umfs_km_off_ptr(p, off);
	*n = 1;
	for (i = 0; i < UMFS_PT_ENTRIES; i++) {
		e = READ_ONCE(t[i]);
		if (!e)
			continue;
		err = umfs_km_child(p, e, 1, &leaf, &huge);
		if (err)
			return err;
		(*n)++;
	}
	return 0;
}

/* Exchanges the n entries at f and s (level 1 or 2), moving their pages'
 * counts between the inodes. */
static int umfs_km_xc_swap(struct umfs_km_xc *x, u64 *f, u64 *s, unsigned int n,
			   unsigned int level)
{
	struct umfs_km_pool *p = x->op.p;
	u64 wf = 0, ws = 0, w, a;
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = umfs_km_xc_weight(p, f[i], level, &w);
		wf += w;
		if (!err)
			err = umfs_km_xc_weight(p, s[i], level, &w);
		ws += w;
		if (err)
			return err;
	}
	err = umfs_km_tx_add(&x->op.tx, (u8 *)f - (u8 *)p->kaddr, n * sizeof(*f));
	if (!err)
		err = umfs_km_tx_add(&x->op.tx, (u8 *)s - (u8 *)p->kaddr, n * sizeof(*s));
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		a = f[i];
		WRITE_ONCE(f[i], s[i]);
		WRITE_ONCE(s[i], a);
	}
	x->op.in->blocks += ws - wf;
	x->sh->blocks += wf - ws;
	return 0;
}

static bool umfs_km_xc_zero(const u64 *t, unsigned int n)
{
	unsigned int i;

	for (i = 0; t && i < n; i++)
		if (READ_ONCE(t[i]))
			return false;
	return true;
}

/* The entries of file pages [first, first + n) at `level` in `in`, tables
 * made (the tree grown) if missing. */
static int umfs_km_xc_make(struct umfs_km_xc *x, struct umfs_inode *in, u64 first, u64 n,
			   unsigned int level, u64 **slot)
{
	int err = umfs_km_tree_cover(&x->op.tx, in, first + n - 1, level);

	if (!err)
		err = umfs_km_slot_walk(&x->op.tx, in, first, level, true, slot);
	return err > 0 ? -EUCLEAN : err; /* a 2 MiB leaf where a table must be */
}

/* One step from rec_done on; *next gets rec_done after it. */
static int umfs_km_xc_step(struct umfs_km_xc *x, u64 *next)
{
	struct umfs_km_tx *tx = &x->op.tx;
	struct umfs_inode *in = x->op.in, *sh = x->sh;
	u64 pg = x->back ? x->lo + x->done - 1 : x->lo + x->done;
	u64 r = pg & ~(u64)(UMFS_PAGES_PER_HUGE - 1), rend = r + UMFS_PAGES_PER_HUGE - 1;
	u64 *f, *s, first, n;
	int hf, hs, err;

	/* a height-0 tree's root is a data page no table names yet */
	if (in->pt_root && !in->pt_height) {
		err = umfs_km_tree_cover(tx, in, 0, 1);
		if (err)
			return err;
	}
	if (sh->pt_root && !sh->pt_height) {
		err = umfs_km_tree_cover(tx, sh, 0, 1);
		if (err)
			return err;
	}
	hf = umfs_km_slot_walk(tx, in, pg, 2, false, &f);
	hs = umfs_km_slot_walk(tx, sh, pg, 2, false, &s);
	if (hf < 0 || hs < 0)
		return hf < 0 ? hf : hs;
	if ((f && (READ_ONCE(*f) & UMFS_PTE_PSE)) || (s && (READ_ONCE(*s) & UMFS_PTE_PSE))) {
		/* a 2 MiB leaf moves with its whole region */
		if (r < x->lo || rend > x->hi)
			return -EUCLEAN;
		err = f ? 0 : umfs_km_xc_make(x, in, r, UMFS_PAGES_PER_HUGE, 2, &f);
		if (!err && !s)
			err = umfs_km_xc_make(x, sh, r, UMFS_PAGES_PER_HUGE, 2, &s);
		if (!err)
			err = umfs_km_xc_swap(x, f, s, 1, 2);
		x->pages += UMFS_PAGES_PER_HUGE;
		*next = x->back ? r - x->lo : rend + 1 - x->lo;
		return err;
	}
	first = x->back ? max(x->lo, r) : pg;
	n = (x->back ? pg : min(x->hi, rend)) - first + 1;
	if ((umfs_km_is_inline(in) || umfs_km_is_inline(sh)) && first < UMFS_PT_INLINE_ENTRIES &&
	    first + n > UMFS_PT_INLINE_ENTRIES) {
		/* an inline table ends at entry 16: a step never crosses it
		 * (libumfs's cow.c cuts its steps there too) */
		if (x->back) {
			n = first + n - UMFS_PT_INLINE_ENTRIES;
			first = UMFS_PT_INLINE_ENTRIES;
		} else {
			n = UMFS_PT_INLINE_ENTRIES - first;
		}
	}
	*next = x->back ? first - x->lo : first + n - x->lo;
	hf = umfs_km_slot_walk(tx, in, first, 1, false, &f);
	hs = umfs_km_slot_walk(tx, sh, first, 1, false, &s);
	if (hf || hs)
		return hf < 0 ? hf : hs < 0 ? hs : -EUCLEAN;
	if (umfs_km_xc_zero(f, n) && umfs_km_xc_zero(s, n))
		return 0; /* holes facing holes */
	err = f ? 0 : umfs_km_xc_make(x, in, first, n, 1, &f);
	if (!err && !s)
		err = umfs_km_xc_make(x, sh, first, n, 1, &s);
	if (!err)
		err = umfs_km_xc_swap(x, f, s, (unsigned int)n, 1);
	x->pages += n;
	return err;
}

static int umfs_km_xc_run(struct umfs_km_xc *x)
{
	struct umfs_km_tx *tx = &x->op.tx;
	u64 *rec_done = umfs_km_off_ptr(x->op.p, x->rec_done_off), next;
	int err;

	err = umfs_km_op_save_inode(&x->op);
	if (!err)
		err = umfs_km_inode_save(tx, x->sh_off);
	if (!err)
		err = umfs_km_tx_add(tx, x->rec_done_off, sizeof(u64));
	while (!err && (x->back ? x->done > 0 : x->done < x->len)) {
		if (umfs_km_tx_room(tx) < UMFS_KM_XC_STEP_ROOM || tx->nrecs > UMFS_KM_XC_MAX_RECS)
			break; /* the caller comes back for the rest */
		err = umfs_km_xc_step(x, &next);
		if (!err) {
			x->done = next;
			WRITE_ONCE(*rec_done, next);
		}
	}
	return err;
}

int umfs_km_exchange(struct umfs_kmod_exchange *req)
{
	struct umfs_km_xc x = { 0 };
	u64 revoked;
	int err;

	if ((req->flags & ~UMFS_KMOD_EXCHANGE_BACK) || req->reserved0 || req->reserved1)
		return -EINVAL;
	req->done = req->pages = req->tables = req->revoked = 0;
	req->more = 0;
	x.back = req->flags & UMFS_KMOD_EXCHANGE_BACK;

	err = umfs_km_op_begin(&x.op, req->ino, req->generation);
	if (err)
		return err;
	err = umfs_km_op_check_write(&x.op.snap, 0); /* write implies read here */
	if (!err)
		err = umfs_km_xc_record(&x);
	if (!err)
		err = umfs_km_tx_begin(&x.op.tx, x.op.p);
	if (err)
		goto out;
	/* pages move under both inodes: no process may keep reaching them */
	umfs_km_revoke(req->ino, &req->revoked);
	umfs_km_revoke(x.sh_ino, &revoked);
	req->revoked += revoked;
	err = umfs_km_xc_run(&x);
	if (err == -EINTR)
		goto out; /* the tx_stop hook: left as a power cut leaves it */
	if (err) {
		/* a bad tree: undo what this call changed, as recovery would */
		umfs_km_tx_abort(&x.op.tx);
		goto out;
	}
	err = umfs_km_tx_commit(&x.op.tx);
	if (err)
		goto out;
	req->done = x.done;
	req->more = x.back ? x.done > 0 : x.done < x.len;
	req->pages = x.pages;
	req->tables = x.op.tx.allocated;
	atomic64_inc(&umfs_km_cnt.exchanges);
	atomic64_add(x.pages, &umfs_km_cnt.exchange_pages);
	atomic64_add(req->tables, &umfs_km_cnt.exchange_tables);
out:
	umfs_km_op_end(&x.op);
	return err;
}
