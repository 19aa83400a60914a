/* SPDX-License-Identifier: MIT */
/*
 * cow.c - copy-on-write overwrites (strict mode, overwrites too large for a
 * U-Log byte record) and the page-table exchange they and their rollback
 * share.
 *
 * The new pages are built in a shadow: an unnamed inode on the orphan list,
 * whose tree holds them at the file offsets they replace. A U-Log swap
 * record (ulog.c) then names the shadow, and journal transactions exchange
 * runs of table entries between the two trees, each advancing the record's
 * rec_done in the same transaction. Rolling back exchanges them back,
 * counting rec_done down. Once the record is retired the shadow holds the
 * old pages and goes like any orphan; a crash before that leaves an orphan
 * that recovery frees after the rollback. Exchanged entries are always
 * whole 2 MiB entries or runs of 4 KiB entries within one table, so the
 * trees stay valid after every transaction.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cow.h"
#include "alloc.h"
#include "backend.h"
#include "coldio.h"
#include "inode.h"
#include "journal.h"
#include "ptable.h"
#include "ulog.h"

#define COW_PAGE_MASK ((uint64_t)UMFS_PAGE_SIZE - 1)
#define COW_HUGE_MASK ((uint64_t)UMFS_PAGES_PER_HUGE - 1)
/* Journal bytes one exchange step may take: two runs of up to 512 entries. */
#define SWAP_STEP_ROOM (2 * (sizeof(struct umfs_jrec) + UMFS_PAGE_SIZE) + 256)
/* Journal bytes one region of copy-on-write preparation may take. */
#define COW_PREP_ROOM (3 * UMFS_PAGE_SIZE)

/* ------------------------------------------------------------------ */
/* Exchanging page-table entries with the shadow                        */
/* ------------------------------------------------------------------ */

/* Entries exchanged by one step: one 2 MiB entry, or a run of 4 KiB leaf
 * entries within one table. Steps never cross a 2 MiB region. */
struct swap_step {
	uint64_t first, n;
	unsigned level;
	uint64_t *fslot, *sslot; /* NULL (both) when there is nothing to exchange */
};

static bool pte_is_huge(uint64_t e)
{
	return (e & UMFS_PTE_PSE) != 0;
}

static bool run_is_zero(const uint64_t *t, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (t[i])
			return false;
	return true;
}

/* The step holding page p within [lo, hi]: from p up (forward) or down. */
static int swap_step_at(const struct umfs_fs *fs, const struct umfs_inode *in,
			const struct umfs_inode *sh, uint64_t p, uint64_t lo, uint64_t hi, bool fwd,
			struct swap_step *x)
{
	uint64_t r = p & ~COW_HUGE_MASK, rend = r + COW_HUGE_MASK;
	uint64_t *f2 = umfs_pt_slot_find(fs, in, p, 2), *s2 = umfs_pt_slot_find(fs, sh, p, 2);

	if ((f2 && pte_is_huge(*f2)) || (s2 && pte_is_huge(*s2))) {
		/* a 2 MiB leaf faces a hole, a leaf or a table (the module's
		 * shadows are 4 KiB leaves): the whole region moves */
		if (!f2 || !s2 || r < lo || rend > hi)
			return -EUCLEAN;
		*x = (struct swap_step){ .first = r, .n = UMFS_PAGES_PER_HUGE, .level = 2,
					 .fslot = f2, .sslot = s2 };
		return 0;
	}
	x->level = 1;
	x->first = fwd ? p : UMFS_MAX(lo, r);
	x->n = (fwd ? UMFS_MIN(hi, rend) : p) - x->first + 1;
	if (in->pt_height == UMFS_PT_INLINE || sh->pt_height == UMFS_PT_INLINE) {
		/* an inline table ends at entry 16: a step never crosses it */
		uint64_t end = x->first + x->n;

		if (x->first < UMFS_PT_INLINE_ENTRIES && end > UMFS_PT_INLINE_ENTRIES) {
			if (fwd)
				x->n = UMFS_PT_INLINE_ENTRIES - x->first;
			else
				x->first = UMFS_PT_INLINE_ENTRIES, x->n = end - x->first;
		}
	}
	x->fslot = umfs_pt_slot_find(fs, in, x->first, 1);
	x->sslot = umfs_pt_slot_find(fs, sh, x->first, 1);
	if (x->fslot && x->sslot)
		return 0;
	/* a side without a table can only face holes */
	if ((x->fslot && !run_is_zero(x->fslot, x->n)) ||
	    (x->sslot && !run_is_zero(x->sslot, x->n)))
		return -EUCLEAN;
	x->fslot = x->sslot = NULL;
	return 0;
}

/* Pool pages entry e of a step holds: one for a 4 KiB leaf; at level 2 a
 * 2 MiB leaf's, or a table's own page and its leaves. */
static int swap_entry_pages(const struct umfs_fs *fs, unsigned level, uint64_t e, uint64_t *n)
{
	const uint64_t *t;
	uint64_t off;

	*n = e ? 1 : 0;
	if (!e || level == 1)
		return 0;
	if (pte_is_huge(e)) {
		*n = UMFS_PAGES_PER_HUGE;
		return 0;
	}
	off = umfs_pte_off(fs, e);
	if (!umfs_off_is_page(fs, off))
		return -EUCLEAN;
	t = umfs_off_ptr(fs, off);
	for (unsigned i = 0; i < UMFS_PT_ENTRIES; i++)
		*n += t[i] != 0;
	return 0;
}

/* In tx (both inodes snapshotted): exchanges the step's entries. */
static int swap_step_apply(struct umfs_fs *fs, struct umfs_inode *in, struct umfs_inode *sh,
			   const struct swap_step *x)
{
	uint64_t n = x->level == 2 ? 1 : x->n, wa, wb;
	int64_t delta = 0;
	int err;

	if (!x->fslot)
		return 0;
	err = umfs_tx_add(fs, x->fslot, n * sizeof(uint64_t));
	if (!err)
		err = umfs_tx_add(fs, x->sslot, n * sizeof(uint64_t));
	for (uint64_t i = 0; !err && i < n; i++) {
		uint64_t a = x->fslot[i], b = x->sslot[i];

		err = swap_entry_pages(fs, x->level, a, &wa);
		if (!err)
			err = swap_entry_pages(fs, x->level, b, &wb);
		if (err)
			break;
		x->fslot[i] = b;
		x->sslot[i] = a;
		delta += (int64_t)(wb - wa);
	}
	in->blocks += (uint64_t)delta;
	sh->blocks -= (uint64_t)delta;
	return err;
}

int umfs_ulog_swap(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool fwd)
{
	return fs->be->swap_pages(fs, ino, u, fwd);
}

/* The software backend's swap_pages: the steps in the core's own
 * transactions. */
int umfs_ulog_swap_pages(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool fwd)
{
	struct umfs_inode *in = umfs_inode(fs, ino), *sh = umfs_inode(fs, u->rec_aux_ino);
	uint64_t lo = u->rec_off, hi = lo + u->rec_len - 1;
	int err = 0;

	while (!err && (fwd ? u->rec_done < u->rec_len : u->rec_done > 0)) {
		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (!err)
			err = umfs_tx_add(fs, in, sizeof(*in));
		if (!err)
			err = umfs_tx_add(fs, sh, sizeof(*sh));
		while (!err && (fwd ? u->rec_done < u->rec_len : u->rec_done > 0) &&
		       umfs_tx_room(fs) >= UMFS_TX_SLACK + SWAP_STEP_ROOM) {
			uint64_t p = fwd ? lo + u->rec_done : lo + u->rec_done - 1;
			struct swap_step x;

			err = swap_step_at(fs, in, sh, p, lo, hi, fwd, &x);
			if (!err)
				err = swap_step_apply(fs, in, sh, &x);
			if (!err)
				err = umfs_tx_set64(fs, &u->rec_done,
						    fwd ? x.first + x.n - lo : x.first - lo);
		}
		if (err && fs->tx.active)
			umfs_tx_abort(fs);
		else if (!err)
			err = umfs_tx_commit(fs);
		umfs_meta_unlock(fs);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Copy-on-write overwrites                                             */
/* ------------------------------------------------------------------ */

/* True when file page p of in holds data. */
static bool cow_present(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t p)
{
	uint64_t off;

	return !umfs_pt_lookup(fs, in, p, &off, NULL) && off;
}

/* Whether the shadow gets a fresh page for file page p. */
static bool cow_fresh(const struct umfs_fs *fs, const struct umfs_cow *c, uint64_t p)
{
	bool full = (p << UMFS_PAGE_SHIFT) >= c->a && ((p + 1) << UMFS_PAGE_SHIFT) <= c->b;

	if (!c->holes)
		return true;
	return !full && cow_present(fs, umfs_inode(fs, c->ino), p);
}

bool umfs_cow_page_fresh(const struct umfs_fs *fs, const struct umfs_cow *c, uint64_t p)
{
	return cow_fresh(fs, c, p);
}

/* In tx: gives the shadow fresh pages for pages [p, q] of one region where
 * cow_fresh() says so. */
static int cow_alloc_run(struct umfs_fs *fs, struct umfs_cow *c, uint64_t p, uint64_t q)
{
	struct umfs_inode *sh = umfs_inode(fs, c->shadow);
	uint64_t *slot;
	int err;

	/* q's slot first: one table then holds all of [p, q] (an inline
	 * table that cannot becomes a table page) */
	err = umfs_pt_slot_make(fs, sh, q, 1, &slot);
	if (!err)
		err = umfs_pt_slot_make(fs, sh, p, 1, &slot);
	if (err)
		return err;
	while (p <= q) {
		uint64_t want = 0, first, got;

		while (p + want <= q && cow_fresh(fs, c, p + want))
			want++;
		if (want == 0) {
			p++;
			slot++;
			continue;
		}
		err = umfs_page_alloc_run(fs, fs->page_cursor, want, &first, &got);
		if (!err)
			err = umfs_tx_add(fs, slot, got * sizeof(*slot));
		if (err)
			return err;
		for (uint64_t i = 0; i < got; i++)
			slot[i] = umfs_pte_make(fs, umfs_page_off(fs, first + i),
						UMFS_PTE_LEAF4K_FLAGS);
		sh->blocks += got;
		p += got;
		slot += got;
	}
	return 0;
}

/* In tx: prepares the part of the region holding page *pp. */
static int cow_prep_region(struct umfs_fs *fs, struct umfs_cow *c, uint64_t *pp)
{
	struct umfs_inode *in = umfs_inode(fs, c->ino), *sh = umfs_inode(fs, c->shadow);
	uint64_t p = *pp, r = p & ~COW_HUGE_MASK, q = UMFS_MIN(c->pb, r + COW_HUGE_MASK);
	uint64_t *f2 = umfs_pt_slot_find(fs, in, r, 2), *slot, first;
	bool inside = r >= c->pa && r + COW_HUGE_MASK <= c->pb;
	bool covered = (r << UMFS_PAGE_SHIFT) >= c->a &&
		       ((r + UMFS_PAGES_PER_HUGE) << UMFS_PAGE_SHIFT) <= c->b;
	int err;

	*pp = q + 1;
	if (inside && f2 && (!*f2 || pte_is_huge(*f2)) && (!c->holes || covered)) {
		if (c->holes && !*f2)
			return 0; /* a hole stays a hole */
		err = umfs_pt_slot_make(fs, sh, r, 2, &slot);
		if (err || c->holes)
			return err; /* punch: the leaf moves to an empty slot */
		err = umfs_page_alloc_huge(fs, &first);
		if (!err) {
			err = umfs_tx_add(fs, slot, sizeof(*slot));
			if (err)
				return err;
			*slot = umfs_pte_make(fs, umfs_page_off(fs, first), UMFS_PTE_LEAF2M_FLAGS);
			sh->blocks += UMFS_PAGES_PER_HUGE;
			return 0;
		}
		if (err != -ENOSPC)
			return err;
		/* no free 2 MiB run: 4 KiB pages, after a split */
	}
	if (c->holes) {
		bool any = false;

		for (uint64_t i = p; i <= q && !any; i++)
			any = cow_present(fs, in, i);
		if (!any)
			return 0; /* only holes: nothing moves */
	}
	/* the file's slots for [p, q] in one table too, as the shadow's */
	err = umfs_pt_slot_make(fs, in, q, 1, &slot);
	if (!err)
		err = umfs_pt_slot_make(fs, in, p, 1, &slot);
	if (!err)
		err = cow_alloc_run(fs, c, p, q);
	return err;
}

/* Creates the shadow: an unnamed orphan, so a crash frees it. In tx. */
int umfs_cow_shadow_create(struct umfs_fs *fs, struct umfs_cow *c)
{
	struct umfs_inode *sh;
	uint64_t ino;
	int err;

	err = umfs_inode_create(fs, S_IFREG | 0600, 0, 0, 0, 0, &ino);
	if (err)
		return err;
	sh = umfs_inode(fs, ino);
	sh->nlink = 0;
	sh->size = (c->pb + 1) << UMFS_PAGE_SHIFT;
	c->shadow = ino;
	return umfs_inode_orphan(fs, ino);
}

/* The software backend's cow_prepare: shadow and pages in the core's own
 * transactions. */
int umfs_cow_prepare(struct umfs_fs *fs, struct umfs_cow *c)
{
	uint64_t p = c->pa;
	int err = 0;

	while (!err && p <= c->pb) {
		uint64_t from = p;
		bool created = false;

		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (err) {
			umfs_meta_unlock(fs);
			break;
		}
		if (!c->shadow) {
			created = true;
			err = umfs_cow_shadow_create(fs, c);
		}
		while (!err && p <= c->pb && umfs_tx_room(fs) >= UMFS_TX_SLACK + COW_PREP_ROOM)
			err = cow_prep_region(fs, c, &p);
		/* Committed steps stay: a split or an empty table is harmless, and
		 * the shadow's pages go with the shadow. */
		if (err)
			umfs_tx_abort(fs);
		else
			err = umfs_tx_commit(fs);
		if (err && created)
			c->shadow = 0;
		umfs_meta_unlock(fs);
		if (!err && p == from)
			err = -ENOSPC;
	}
	return err;
}

/* Where the file's current byte a lies in the pool (0: in a hole; the
 * range was checked whole by umfs_cow_begin), and in *m how many of
 * [a, b) follow it in the same page. */
static uint64_t cow_old_at(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t a,
			   uint64_t b, uint64_t *m)
{
	uint64_t src = umfs_pt_offset(fs, in, UMFS_PG(a), NULL);

	*m = UMFS_MIN(b, (UMFS_PG(a) + 1) << UMFS_PAGE_SHIFT) - a;
	return src ? src + (a & COW_PAGE_MASK) : 0;
}

/* Copies the file's current bytes [a, b) (zeros for holes), whole pages,
 * to the shadow's pages at the pool offset dst. */
static void cow_copy_old(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t dst,
			 uint64_t a, uint64_t b)
{
	for (uint64_t m; a < b; a += m, dst += m) {
		uint64_t src = cow_old_at(fs, in, a, b, &m);

		umfs_media_write(fs, dst, src ? fs->base + src : NULL, m, true);
	}
}

/* Reads the file's current bytes [a, b) (zeros for holes) into buf. */
static void cow_read_old(struct umfs_fs *fs, const struct umfs_inode *in, uint8_t *buf,
			 uint64_t a, uint64_t b)
{
	for (uint64_t m; a < b; a += m, buf += m) {
		uint64_t src = cow_old_at(fs, in, a, b, &m);

		if (src)
			umfs_media_read(fs, buf, src, m, NULL);
		else
			memset(buf, 0, m);
	}
}

/* Writes the shadow's page at dst, which holds the file's bytes from pa:
 * the new ones of [ca, cb), the old ones around them, in one write (the
 * media layer maps a page once it is written a third time). */
static void cow_fill_page(struct umfs_fs *fs, const struct umfs_inode *in,
			  const struct umfs_cow *c, uint64_t dst, uint64_t pa, uint64_t ca,
			  uint64_t cb)
{
	uint8_t page[UMFS_PAGE_SIZE];
	uint64_t pb = pa + UMFS_PAGE_SIZE;

	ca = UMFS_MAX(ca, pa);
	cb = UMFS_MIN(cb, pb);
	cow_read_old(fs, in, page, pa, ca);
	if (c->buf)
		memcpy(page + (ca - pa), c->buf + (ca - c->a), cb - ca);
	else
		memset(page + (ca - pa), 0, cb - ca);
	cow_read_old(fs, in, page + (cb - pa), cb, pb);
	umfs_media_write(fs, dst, page, UMFS_PAGE_SIZE, true);
}

/* Writes the shadow's pages: the new bytes, the old ones around them. */
static void cow_fill(struct umfs_fs *fs, struct umfs_cow *c)
{
	const struct umfs_inode *in = umfs_inode(fs, c->ino), *sh = umfs_inode(fs, c->shadow);

	for (uint64_t p = c->pa; p <= c->pb;) {
		uint64_t run, off, end;
		uint64_t pa, pb, ca, cb, ha, hb, na, nb;

		if (umfs_pt_lookup(fs, sh, p, &off, &run))
			off = 0; /* the shadow is this call's own: never damaged */

		run = UMFS_MIN(run, c->pb + 1 - p);
		end = p + run;
		if (off) {
			pa = p << UMFS_PAGE_SHIFT;
			pb = end << UMFS_PAGE_SHIFT;
			/* clamped: in module mode the range is widened to whole
			 * 2 MiB regions, so a run may lie wholly outside [a, b) */
			ca = UMFS_MIN(UMFS_MAX(pa, c->a), pb);
			cb = UMFS_MAX(UMFS_MIN(pb, c->b), ca);
			/* pages of old bytes only [pa, ha) and [hb, pb), of new
			 * bytes only [na, nb), of both the one or two between */
			ha = UMFS_ALIGN_DOWN(ca, UMFS_PAGE_SIZE);
			hb = UMFS_ALIGN_UP(cb, UMFS_PAGE_SIZE);
			na = UMFS_ALIGN_UP(ca, UMFS_PAGE_SIZE);
			nb = UMFS_ALIGN_DOWN(cb, UMFS_PAGE_SIZE);
			cow_copy_old(fs, in, off, pa, ha);
			cow_copy_old(fs, in, off + (hb - pa), hb, pb);
			if (ha < na)
				cow_fill_page(fs, in, c, off + (ha - pa), ha, ca, cb);
			if (nb < hb && nb >= na) /* else the same page as ha's */
				cow_fill_page(fs, in, c, off + (nb - pa), nb, ca, cb);
			if (na < nb)
				umfs_media_write(fs, off + (na - pa), c->buf ? c->buf + (na - c->a) : NULL,
						 nb - na, true);
		}
		p = end;
	}
}

/* Frees the shadow (after success: the old pages; after a rollback: the
 * new ones). */
static void cow_shadow_drop(struct umfs_fs *fs, struct umfs_cow *c)
{
	/* the shadow has no name: nobody else reaches it */
	if (c->shadow && umfs_inode_live(fs, c->shadow))
		umfs_inode_reclaim(fs, c->shadow, umfs_inode(fs, c->shadow)->generation);
	c->shadow = 0;
}

int umfs_cow_begin(struct umfs_fs *fs, struct umfs_cow *c)
{
	int err;

	c->pa = UMFS_PG(c->a);
	c->pb = UMFS_PG(c->b - 1);
	c->shadow = 0;
	/* the file's tree over the range is read whole first: damage refuses
	 * the write before anything changes */
	err = umfs_pt_check_range(fs, umfs_inode(fs, c->ino), c->pa, c->pb);
	if (!err)
		err = umfs_ulog_get(fs, c->ino, 0, &c->u);
	if (!err)
		err = fs->be->cow_prepare(fs, c);
	if (err) {
		cow_shadow_drop(fs, c);
		return err;
	}
	cow_fill(fs, c);
	umfs_ulog_save_swap(fs, c->u, c->pa, c->pb - c->pa + 1, c->old_size, c->shadow);
	err = umfs_ulog_swap(fs, c->ino, c->u, true);
	if (err) {
		umfs_ulog_rollback(fs, c->ino);
		cow_shadow_drop(fs, c);
	}
	return err;
}

void umfs_cow_end(struct umfs_fs *fs, struct umfs_cow *c)
{
	cow_shadow_drop(fs, c);
}
