/* SPDX-License-Identifier: MIT */
/*
 * file.c - file data: read, write, truncate, fallocate, SEEK_DATA/SEEK_HOLE.
 *
 * The caller holds the file's vnode lock; this module takes meta_lock only
 * around the transactions that allocate or free pages, and copies data
 * outside it where it can.
 *
 * Zeroing rule: bytes past EOF inside allocated pages are garbage, so that an
 * append costs no zeroing. Whoever moves EOF up from S to S' first zeroes the
 * allocated bytes of [S, S') that it does not write itself; a write zeroes the
 * parts of its fresh pages it does not cover, up to the old EOF only.
 *
 * Ordering: data is copied and made durable first, then the new size is
 * published with one 8-byte store, so an append is all or nothing. Pages
 * filling a hole below the old EOF become visible when their transaction
 * commits, so they get their data inside that transaction.
 *
 * Strict mode (the default) also makes overwrites all or nothing: before a
 * byte below the old EOF changes, a guard is set up (file_guard_begin):
 * a U-Log byte record for small ranges (ulog.c), copy-on-write under a
 * U-Log swap record for large ones (cow.c), or, when the pool has no page
 * for either, one journal transaction. The guard ends after the new size is durable
 * (file_guard_end). Relaxed mode overwrites in place. docs/consistency.md
 * has the protocols and where every fence is.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "backend.h"
#include "coldio.h"
#include "cow.h"
#include "inode.h"
#include "journal.h"
#include "persist.h"
#include "ptable.h"
#include "testhooks.h"
#include "ulog.h"

#define FILE_PAGE_MASK ((uint64_t)UMFS_PAGE_SIZE - 1)
#define FILE_FRESH_MAX 64 /* fresh extents per write transaction (merged when adjacent) */

static inline uint64_t pg_off(uint64_t pg)
{
	return pg << UMFS_PAGE_SHIFT;
}

/* Zeroes the allocated bytes of [a, b), skipping holes. Not drained. */
static int file_zero_present(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t a,
			     uint64_t b)
{
	while (a < b) {
		uint64_t run, off, pg = UMFS_PG(a), n;
		int err = umfs_pt_lookup_upto(fs, in, pg, UMFS_PG(b - 1) - pg + 1, &off, &run);

		if (err)
			return err;
		n = UMFS_MIN(b, pg_off(pg + run)) - a;
		if (off)
			umfs_media_zero(fs, off + (a & FILE_PAGE_MASK), n);
		a += n;
	}
	return 0;
}

/* Stores the modification times, one 8-byte store each (readers see each
 * whole), and leaves them in the cache: times are best effort across a
 * crash (consistency.md), and a flush here would take the inode's first
 * line (size, the table root) out of the cache on CPUs whose write-back
 * evicts, for the next call to miss. They reach the media with the line's
 * next flush (a new size), at fsync and at the close of a file written through
 * (umfs_file_times_persist), or when the cache lets the line go. */
static void file_times_store(struct umfs_inode *in, uint64_t now)
{
	__atomic_store_n(&in->mtime_ns, now, __ATOMIC_RELEASE);
	__atomic_store_n(&in->ctime_ns, now, __ATOMIC_RELEASE);
}

/* Writes back the inode's first line: size and the times. Not drained. */
static void file_size_line_flush(struct umfs_inode *in)
{
	umfs_flush(&in->size, offsetof(struct umfs_inode, ctime_ns) + sizeof(in->ctime_ns) -
				      offsetof(struct umfs_inode, size));
}

void umfs_file_times_persist(struct umfs_fs *fs, uint64_t ino)
{
	file_size_line_flush(umfs_inode(fs, ino));
	umfs_drain();
}

/* Publishes a new size (after a fence, so the data under it is durable
 * first) and the modification times; everything but the times is durable
 * on return. */
static void file_publish(struct umfs_inode *in, uint64_t size)
{
	uint64_t now = (uint64_t)umfs_now_ns();

	file_times_store(in, now);
	if (size != in->size) {
		if (!UMFS_FAULT(UMFS_FAULT_SIZE_FIRST))
			umfs_drain();
		__atomic_store_n(&in->size, size, __ATOMIC_RELEASE);
		file_size_line_flush(in); /* the times go with it */
	}
	umfs_drain();
}

/* Flags are a hot field: one aligned 4-byte store, flushed, not drained. */
static void file_flags_store(struct umfs_inode *in, uint32_t flags)
{
	__atomic_store_n(&in->flags, flags, __ATOMIC_RELEASE);
	umfs_flush(&in->flags, sizeof(in->flags));
}

/* The result of a read that stored [buf, stop) and then met a byte of a
 * program's buffer it could not store. */
static ssize_t file_read_stopped(const uint8_t *buf, const uint8_t *stop)
{
	return stop > buf ? (ssize_t)(stop - buf) : -EFAULT;
}

ssize_t umfs_file_read_runs(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len,
			    uint64_t off, umfs_read_copy_fn copy, void *arg,
			    const struct umfs_out *out)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t size = in->size, pos, end, span_src = 0;
	uint8_t *dst = buf, *span_dst = NULL;
	size_t span_n = 0, got; /* runs contiguous in the pool and in buf, copied as one */

	if (off >= size || len == 0)
		return 0;
	end = off + UMFS_MIN(UMFS_MIN(len, (size_t)SSIZE_MAX), size - off);
	for (pos = off; pos < end;) {
		uint64_t run, src, pg = UMFS_PG(pos), at = pos & FILE_PAGE_MASK;
		int err = umfs_pt_lookup_upto(fs, in, pg, UMFS_PG(end - 1) - pg + 1, &src, &run);
		size_t n = (size_t)(UMFS_MIN(end, pg_off(pg + run)) - pos);

		if (UMFS_UNLIKELY(err))
			return err; /* damage, or a racing writer's table: retried */
		if (src && !copy && span_n && span_src + span_n == src + at &&
		    span_dst + span_n == dst) {
			span_n += n;
			dst += n;
			pos += n;
			continue;
		}
		/* in buf's order: a short read keeps what lies before the stop */
		if (span_n && (got = umfs_media_read(fs, span_dst, span_src, span_n, out)) < span_n)
			return file_read_stopped(buf, span_dst + got);
		span_n = 0;
		if (!src) {
			got = n;
			if (out)
				got = out->copy(dst, NULL, n);
			else
				memset(dst, 0, n);
		} else if (copy) {
			got = out ? out->room(dst, n) : n;
			if (got)
				copy(arg, dst, src + at, pos, got);
		} else {
			span_dst = dst;
			span_src = src + at;
			span_n = got = n;
		}
		if (got < n)
			return file_read_stopped(buf, dst + got);
		dst += n;
		pos += n;
	}
	if (span_n && (got = umfs_media_read(fs, span_dst, span_src, span_n, out)) < span_n)
		return file_read_stopped(buf, span_dst + got);
	return (ssize_t)(end - off);
}

ssize_t umfs_file_read(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len, uint64_t off)
{
	return umfs_file_read_runs(fs, ino, buf, len, off, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Allocation                                                           */
/* ------------------------------------------------------------------ */

/* Freshly allocated file pages [pg, pg + n), contiguous in the pool at off. */
struct file_fresh {
	uint64_t pg, n, off;
	bool filled;
};

/* A request to map the holes of file pages [first, last]. */
struct file_map {
	uint64_t first, last;
	uint64_t size;            /* file size before the request */
	unsigned flags;           /* UMFS_PTMAP_ZERO or 0 */
	struct file_fresh *fresh; /* when non-NULL, receives the fresh extents */
	unsigned nfresh;
};

/* 2 MiB leaves, for a region still empty: where a request covers it
 * whole, or, in a file already that large, where a request fills it from
 * its first page on (an append, a copy, a fill of a file made sparse by
 * truncate). A request that begins inside the region is a write into a
 * sparse file's hole: it gets 4 KiB pages, or random writes over a large
 * sparse file would hold 2 MiB of the pool for each 4 KiB written. */
static bool file_want_huge(const struct umfs_fs *fs, const struct umfs_inode *in,
			   const struct file_map *m, uint64_t pg)
{
	uint64_t r = pg & ~((uint64_t)UMFS_PAGES_PER_HUGE - 1), run;
	uint64_t off;

	if (r < m->first)
		return false;
	if (m->size < UMFS_HUGE_SIZE && r + UMFS_PAGES_PER_HUGE - 1 > m->last)
		return false;
	return !umfs_pt_lookup(fs, in, r, &off, &run) && !off && run >= UMFS_PAGES_PER_HUGE;
}

/* The extent a successful umfs_pt_map() of a hole created. */
static struct file_fresh file_fresh_extent(const struct umfs_fs *fs, const struct umfs_inode *in,
					   uint64_t pg, uint64_t off, bool huge)
{
	uint64_t r = pg & ~((uint64_t)UMFS_PAGES_PER_HUGE - 1);
	struct file_fresh x = { .pg = pg, .n = 1, .off = off };
	uint64_t other = 0;

	/* The region was empty: another of its pages is present only if a 2 MiB
	 * leaf came (the allocator may have had no 2 MiB run left). */
	if (huge && !umfs_pt_lookup(fs, in, pg == r ? r + 1 : r, &other, NULL) && other) {
		x.pg = r;
		x.n = UMFS_PAGES_PER_HUGE;
		x.off = off - pg_off(pg - r);
	}
	return x;
}

static void file_fresh_add(struct file_map *m, const struct file_fresh *x)
{
	struct file_fresh *p = m->nfresh ? &m->fresh[m->nfresh - 1] : NULL;

	if (p && p->pg + p->n == x->pg && p->off + pg_off(p->n) == x->off)
		p->n += x->n; /* sequential pages usually land side by side */
	else
		m->fresh[m->nfresh++] = *x;
}

/*
 * In tx: maps the holes of pages [*pgp, m->last] until done, the journal slot
 * runs low or the fresh list is full. Advances *pgp past the pages that are
 * now present. Returns 0 or the -errno that stopped it (the pages mapped so
 * far stay valid and may be committed).
 */
static int file_map_holes(struct umfs_fs *fs, struct umfs_inode *in, struct file_map *m,
			  uint64_t *pgp)
{
	uint64_t pg = *pgp;
	int err = 0;

	while (pg <= m->last) {
		uint64_t run, off;
		struct file_fresh x;
		bool huge;
		int r;

		err = umfs_pt_lookup_upto(fs, in, pg, m->last - pg + 1, &off, &run);
		if (err)
			break;
		if (off) {
			pg += run;
			continue;
		}
		if (umfs_tx_room(fs) < UMFS_TX_SLACK ||
		    (m->fresh && m->nfresh == FILE_FRESH_MAX))
			break;
		huge = file_want_huge(fs, in, m, pg);
		r = umfs_pt_map(fs, in, pg, m->flags | (huge ? UMFS_PTMAP_HUGE : 0), &off);
		if (r < 0) {
			err = r;
			break;
		}
		if (r == 0)
			continue;
		x = file_fresh_extent(fs, in, pg, off, huge);
		if (m->fresh)
			file_fresh_add(m, &x);
		pg = x.pg + x.n;
	}
	*pgp = UMFS_MIN(pg, m->last + 1);
	return err;
}

/* Maps and zeroes every hole of pages [first, last]. */
static int file_alloc_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			     uint64_t last)
{
	return fs->be->alloc_zeroed(fs, in, first, last);
}

/* Pages one transaction of alloc_zeroed maps at most, in aligned blocks
 * (a power of two, whole 2 MiB regions): zeroing them holds the metadata
 * lock, which every other change of every process waits for, each small
 * fallocate or allocating write of another file once per step. One 2 MiB
 * region: with 16 MiB steps, two processes fallocating 64 MiB files in a
 * loop left a third's punches and small fallocates a few turns a second
 * (docs/sharing.md). */
#define FILE_ALLOC_STEP_PAGES UMFS_PAGES_PER_HUGE

/* The software backend's alloc_zeroed: in as many transactions as it
 * takes. */
int umfs_file_alloc_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			   uint64_t last)
{
	struct file_map m = {
		.first = first, .last = last, .size = in->size, .flags = UMFS_PTMAP_ZERO,
	};
	uint64_t pg = first;
	int err = 0, cerr;

	while (pg <= last && !err) {
		uint64_t from = pg;

		m.last = UMFS_MIN(last, pg | (FILE_ALLOC_STEP_PAGES - 1));
		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (err) {
			umfs_meta_unlock(fs);
			return err;
		}
		err = file_map_holes(fs, in, &m, &pg);
		cerr = umfs_tx_commit(fs);
		umfs_meta_unlock_step(fs);
		if (!err)
			err = cerr;
		if (!err && pg == from)
			err = -ENOSPC; /* a whole transaction could not map one page */
	}
	return err;
}

struct unmap_range {
	struct umfs_inode *in;
	uint64_t first, last;
};

static int file_unmap_step(struct umfs_fs *fs, void *arg)
{
	struct unmap_range *r = arg;

	if (r->last >= umfs_fs_max_pages(fs) - 1)
		return umfs_pt_truncate(fs, r->in, r->first);
	return umfs_pt_punch(fs, r->in, r->first, r->last);
}

/* Frees file pages [first, last] (the backend revokes its mappings first). */
static int file_unmap(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last)
{
	return fs->be->free_pages(fs, ino, first, last);
}

/* The software backend's free_pages: in as many transactions as it takes. */
int umfs_file_pages_free(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last)
{
	struct unmap_range r = { umfs_inode(fs, ino), first, last };

	return umfs_tx_loop(fs, file_unmap_step, &r);
}

/* ------------------------------------------------------------------ */
/* Write                                                                */
/* ------------------------------------------------------------------ */

/* How a strict-mode overwrite is made failure-atomic. */
enum file_guard_kind { GUARD_NONE, GUARD_BYTES, GUARD_SWAP, GUARD_JOURNAL };

struct file_guard {
	enum file_guard_kind kind;
	struct umfs_ulog *u;  /* BYTES */
	struct umfs_cow cow;  /* SWAP */
	uint64_t a, b;        /* JOURNAL: the bytes to overwrite in the final transaction */
};

struct file_write {
	struct umfs_fs *fs;
	uint64_t ino;
	struct umfs_inode *in;
	const uint8_t *buf;
	uint64_t off, end; /* the bytes being written */
	uint64_t old_size;
	struct file_map map;
	struct file_fresh fresh[FILE_FRESH_MAX];
	struct file_guard g;
};

/* Copies the caller's bytes for [a, b), all of it in present pages. */
static int file_copy(struct file_write *w, uint64_t a, uint64_t b)
{
	while (a < b) {
		uint64_t run, dst, pg = UMFS_PG(a), n;
		int err = umfs_pt_lookup_upto(w->fs, w->in, pg, UMFS_PG(b - 1) - pg + 1, &dst, &run);

		if (err)
			return err;
		n = UMFS_MIN(b, pg_off(pg + run)) - a;
		if (!dst)
			return -EIO; /* mapped by this write: cannot be a hole */
		/* Below w->old_size in strict mode, a guard (U-Log record) was set
		 * up for these bytes by file_guard_begin(). */
		umfs_media_write(w->fs, dst + (a & FILE_PAGE_MASK), w->buf + (a - w->off), n,
				 a >= w->old_size);
		a += n;
	}
	return 0;
}

/* Writes a fresh extent: the caller's bytes where the write covers it,
 * zeros before them and after them up to the old EOF. */
static void file_fill_fresh(struct file_write *w, struct file_fresh *x)
{
	uint64_t xa = pg_off(x->pg), xb = pg_off(x->pg + x->n);
	uint64_t ca = UMFS_MAX(xa, w->off), cb = UMFS_MIN(xb, w->end);
	uint64_t tail = UMFS_MIN(xb, w->old_size);

	if (ca > xa)
		umfs_media_write(w->fs, x->off, NULL, ca - xa, true);
	umfs_media_write(w->fs, x->off + (ca - xa), w->buf + (ca - w->off), cb - ca, true);
	if (tail > cb)
		umfs_media_write(w->fs, x->off + (cb - xa), NULL, tail - cb, true);
	x->filled = true;
}

struct file_alloc_tx {
	struct file_write *w;
	uint64_t first; /* the page the allocation starts at */
};

/* The software backend's step of a write's allocation: the holes of the
 * write from page first on, as far as one transaction goes, filling the
 * fresh extents the commit makes visible. *done: pages from first now
 * present. */
static int file_write_alloc_tx(void *arg, uint64_t *done)
{
	struct file_alloc_tx *t = arg;
	struct file_write *w = t->w;
	struct umfs_fs *fs = w->fs;
	uint64_t pg = t->first;
	int err, cerr;

	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (err) {
		umfs_meta_unlock(fs);
		return err;
	}
	umfs_pt_map_presave(fs, w->in, pg, w->map.last);
	err = file_map_holes(fs, w->in, &w->map, &pg);
	for (unsigned i = 0; i < w->map.nfresh; i++)
		if (pg_off(w->fresh[i].pg) < w->old_size)
			file_fill_fresh(w, &w->fresh[i]);
	cerr = umfs_tx_commit(fs); /* its fence also orders the fills above */
	umfs_meta_unlock(fs);
	if (cerr) {
		w->map.nfresh = 0;
		return cerr;
	}
	*done = pg - t->first;
	return err;
}

/* Allocates the holes of the write from pos on, as far as one step of the
 * backend goes. Returns the byte up to which the write's pages are now
 * present in *stop. */
static int file_write_alloc(struct file_write *w, uint64_t pos, uint64_t *stop)
{
	struct file_alloc_tx t = { .w = w, .first = UMFS_PG(pos) };
	uint64_t done = 0;
	int err;

	w->map.nfresh = 0;
	err = w->fs->be->write_alloc(w->fs, w->ino, t.first, w->map.last, &done,
				     file_write_alloc_tx, &t);
	*stop = UMFS_MAX(pos, UMFS_MIN(w->end, pg_off(t.first + done)));
	return err;
}

/* 1 when one of pages [pg, last] is a hole, 0 when none is, or -errno.
 * Bounded by the range, unlike umfs_pt_next_hole(), which may walk the
 * rest of a dense file. */
static int file_has_hole(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			 uint64_t last)
{
	while (pg <= last) {
		uint64_t run, off;
		int err = umfs_pt_lookup_upto(fs, in, pg, last - pg + 1, &off, &run);

		if (err || !off)
			return err ? err : 1;
		pg += run;
	}
	return 0;
}

/* Writes [pos, ...) as far as one allocation transaction goes; *next gets
 * the end of what was written. */
static int file_write_chunk(struct file_write *w, uint64_t pos, uint64_t *next)
{
	uint64_t stop = pos, a = pos;
	int err, cerr, hole = file_has_hole(w->fs, w->in, UMFS_PG(pos), w->map.last);

	if (hole < 0)
		return hole;
	if (!hole) {
		err = file_copy(w, pos, w->end); /* all present: nothing to allocate */
		*next = err ? pos : w->end;
		return err;
	}
	err = file_write_alloc(w, pos, &stop);
	if (stop == pos)
		return err;
	/* Existing pages between the fresh extents, and fresh extents past the
	 * old EOF, are written outside meta_lock. */
	for (unsigned i = 0; i < w->map.nfresh; i++) {
		struct file_fresh *x = &w->fresh[i];
		uint64_t xa = pg_off(x->pg);

		if (xa > a) {
			cerr = file_copy(w, a, UMFS_MIN(xa, stop));
			if (cerr)
				return cerr;
		}
		if (!x->filled)
			file_fill_fresh(w, x);
		a = UMFS_MAX(a, pg_off(x->pg + x->n));
	}
	if (a < stop) {
		cerr = file_copy(w, a, stop);
		if (cerr)
			return cerr;
	}
	*next = stop;
	return err;
}

/* ------------------------------------------------------------------ */
/* Guards: strict-mode overwrites                                       */
/* ------------------------------------------------------------------ */

/* Largest overwrite the journal fallback takes in one transaction. */
static uint64_t file_journal_max(const struct umfs_fs *fs)
{
	return fs->sb.journal_slot_size / 2;
}

/* Maps (zeroed) the holes of the bytes [a, b): the file reads the same. */
static int file_map_holes_of(struct umfs_fs *fs, struct umfs_inode *in, uint64_t a, uint64_t b)
{
	int hole = file_has_hole(fs, in, UMFS_PG(a), UMFS_PG(b - 1));

	if (hole <= 0)
		return hole;
	return file_alloc_zeroed(fs, in, UMFS_PG(a), UMFS_PG(b - 1));
}

/*
 * Protects the bytes [a, b) below the old EOF before they change. buf holds
 * their new content (from a), NULL for zeros. With a copy-on-write guard the
 * change is made here, for [a, cow_b) (cow_b >= b: the rest of the write in
 * the last page); holes says that pages replaced whole become holes. map
 * says that the range must end up allocated (write, zero range). *done gets
 * the end of what is already written.
 */
static int file_guard_begin(struct umfs_fs *fs, uint64_t ino, uint64_t a, uint64_t b,
			    uint64_t cow_b, const uint8_t *buf, bool holes, bool map,
			    struct file_guard *g, uint64_t *done)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t n = b - a;
	int err;

	g->kind = GUARD_NONE;
	*done = a;
	if (n <= UMFS_MIN(fs->ulog_max, (uint64_t)UMFS_ULOG_MAX_PAGES * UMFS_ULOG_DATA_SIZE)) {
		err = map ? file_map_holes_of(fs, in, a, b) : 0;
		if (!err)
			err = umfs_ulog_get(fs, ino, n, &g->u);
		if (!err)
			err = umfs_ulog_save_bytes(fs, g->u, ino, a, n, in->size);
		if (!err) {
			UMFS_TEST_COUNT(UMFS_TEST_UNDO_BYTES);
			g->kind = GUARD_BYTES;
			return 0;
		}
	} else {
		g->cow = (struct umfs_cow){
			.ino = ino, .a = a, .b = cow_b, .buf = buf, .holes = holes,
			.old_size = in->size,
		};
		err = umfs_cow_begin(fs, &g->cow);
		if (!err) {
			UMFS_TEST_COUNT(UMFS_TEST_COW);
			g->kind = GUARD_SWAP;
			*done = cow_b;
			return 0;
		}
	}
	if (err != -ENOSPC || n > file_journal_max(fs))
		return err;
	/* No page for a U-Log or a copy: the journal holds the old bytes. */
	err = map ? file_map_holes_of(fs, in, a, b) : 0;
	if (err)
		return err;
	g->kind = GUARD_JOURNAL;
	g->a = a;
	g->b = b;
	*done = b;
	return 0;
}

/* The journal fallback: the overwrite, the size and the times, in one
 * transaction. src holds the new bytes of [g->a, g->b), NULL for zeros. */
static int file_guard_journal(struct umfs_fs *fs, struct umfs_inode *in, struct file_guard *g,
			      const uint8_t *src, uint64_t size)
{
	uint64_t now = (uint64_t)umfs_now_ns();
	int err;

	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	for (uint64_t pos = g->a; !err && pos < g->b;) {
		uint64_t run, off, pg = UMFS_PG(pos), n;
		uint8_t *dst;

		err = umfs_pt_lookup_upto(fs, in, pg, UMFS_PG(g->b - 1) - pg + 1, &off, &run);
		if (err)
			break;
		n = UMFS_MIN(g->b, pg_off(pg + run)) - pos;
		dst = fs->base + off + (pos & FILE_PAGE_MASK);
		if (off) { /* a hole is left only by a punch, which zeroes */
			err = umfs_tx_add(fs, dst, n);
			if (!err && src)
				memcpy(dst, src + (pos - g->a), n);
			else if (!err)
				memset(dst, 0, n);
		}
		pos += n;
	}
	if (!err && size != in->size)
		err = umfs_tx_set64(fs, &in->size, size);
	if (!err)
		err = umfs_tx_set64(fs, &in->mtime_ns, now);
	if (!err)
		err = umfs_tx_set64(fs, &in->ctime_ns, now);
	if (err && fs->tx.active)
		umfs_tx_abort(fs);
	else if (!err)
		err = umfs_tx_commit(fs);
	umfs_meta_unlock(fs);
	return err;
}

/*
 * Ends a guarded change whose bytes are written (flushed): the new size is
 * made durable, then the record is retired with the times. After this the
 * change survives any crash. src is as for file_guard_journal().
 */
static int file_guard_end(struct umfs_fs *fs, struct umfs_inode *in, struct file_guard *g,
			  const uint8_t *src, uint64_t size)
{
	struct umfs_ulog *u = g->kind == GUARD_BYTES ? g->u : g->cow.u;

	if (g->kind == GUARD_JOURNAL)
		return file_guard_journal(fs, in, g, src, size);
	if (g->kind == GUARD_NONE) {
		file_publish(in, size);
		return 0;
	}
	if (UMFS_FAULT(UMFS_FAULT_RETIRE_EARLY))
		umfs_ulog_retire(u);
	umfs_drain(); /* fence 2: the new bytes */
	if (size != in->size) {
		umfs_store64_nodrain(&in->size, size);
		umfs_drain(); /* the size before the record goes */
	}
	umfs_ulog_retire(u);
	file_times_store(in, (uint64_t)umfs_now_ns());
	umfs_drain(); /* fence 3: retired; the change is durable */
	if (g->kind == GUARD_SWAP)
		umfs_cow_end(fs, &g->cow);
	return 0;
}

/* Undoes a guarded change that could not be finished. */
static void file_guard_cancel(struct umfs_fs *fs, uint64_t ino, struct file_guard *g)
{
	if (g->kind == GUARD_BYTES || g->kind == GUARD_SWAP)
		umfs_ulog_rollback(fs, ino);
	if (g->kind == GUARD_SWAP)
		umfs_cow_end(fs, &g->cow);
	g->kind = GUARD_NONE;
}

/* A U-Log outlives the write only while the file is open in this process
 * (its last close releases it); core callers without an open file, such as
 * tools and unit tests, get it released at once. */
static void file_ulog_settle(struct umfs_fs *fs, uint64_t ino)
{
	if (!umfs_inode(fs, ino)->ulog || umfs_vnode_opencount(fs, ino) > 0)
		return;
	umfs_meta_lock(fs);
	umfs_file_release(fs, ino);
	umfs_meta_unlock(fs);
}

/* The 4 KiB leaf slot of page pg when a 2 MiB leaf holds it: the leaf is
 * split into a table (one transaction, once per region; the data stays
 * where it is), as copy-on-write splits the leaves it covers in part. */
static int file_split_huge(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg,
			   uint64_t **slot)
{
	int err;

	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (!err) {
		err = umfs_pt_slot_make(fs, in, pg, 1, slot);
		if (err)
			umfs_tx_abort(fs);
		else
			err = umfs_tx_commit(fs);
	}
	umfs_meta_unlock(fs);
	return err;
}

/* True when the leaf entry e is a 4 KiB leaf of a data page. */
static bool file_leaf_ok(const struct umfs_fs *fs, uint64_t e)
{
	return (e & ~UMFS_PTE_ADDR_MASK) == UMFS_PTE_LEAF4K_FLAGS &&
	       umfs_off_is_page(fs, umfs_pte_off(fs, e));
}

/*
 * A strict overwrite of one whole page below EOF, held by a 4 KiB leaf (a
 * 2 MiB leaf is split first): the new bytes go to the U-Log's spare page,
 * which a PAGE record swaps in for the old one (ulog.c), with two fences
 * and no copy of the old bytes. -EAGAIN when the page does not qualify (a
 * hole, or the inode's own pointer in a file of one page) or the spare
 * cannot be had (a full pool): the caller takes the undo path, which has
 * its own fallbacks. Readers need nothing more than for any write: one
 * that found the old page started before this write ended and retries (or
 * waited for the vnode lock), and the old page stays the chain's, never
 * another file's, until the chain's release in a transaction.
 */
static ssize_t file_write_page(struct umfs_fs *fs, uint64_t ino, const void *buf, uint64_t off)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t pg = UMFS_PG(off), *slot = umfs_pt_slot_find(fs, in, pg, 1), *f2;
	struct umfs_ulog *u;

	if (slot) {
		if (!file_leaf_ok(fs, *slot))
			return -EAGAIN;
	} else {
		f2 = umfs_pt_slot_find(fs, in, pg, 2);
		if (!f2 || !(*f2 & UMFS_PTE_PSE))
			return -EAGAIN;
	}
	if (umfs_ulog_spare_get(fs, ino, &u))
		return -EAGAIN;
	if (!slot && (file_split_huge(fs, in, pg, &slot) || !file_leaf_ok(fs, *slot)))
		return -EAGAIN;
	file_times_store(in, (uint64_t)umfs_now_ns());
	umfs_ulog_page_swap(fs, u, slot, off, in->size, buf);
	umfs_drain(); /* fence 2: the leaf and the spare; the write is durable */
	umfs_ulog_retire_lazy(u);
	UMFS_TEST_COUNT(UMFS_TEST_PAGE_SWAP);
	file_ulog_settle(fs, ino);
	return UMFS_PAGE_SIZE;
}

ssize_t umfs_file_write(struct umfs_fs *fs, uint64_t ino, const void *buf, size_t len,
			uint64_t off)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct file_write ws, *w = &ws;
	uint64_t pos;
	int err = 0;

	if (len == 0)
		return 0;
	if (off >= umfs_fs_max_size(fs))
		return -EFBIG;
	len = UMFS_MIN(UMFS_MIN(len, (size_t)SSIZE_MAX), umfs_fs_max_size(fs) - off);
	w->fs = fs;
	w->ino = ino;
	w->in = in;
	w->buf = buf;
	w->off = off;
	w->end = off + len;
	w->old_size = in->size;
	w->map = (struct file_map){
		.first = UMFS_PG(off), .last = UMFS_PG(w->end - 1), .size = w->old_size,
		.fresh = w->fresh,
	};
	w->g.kind = GUARD_NONE;
	if (!fs->relaxed && fs->page_swap && len == UMFS_PAGE_SIZE && !(off & FILE_PAGE_MASK) &&
	    w->end <= w->old_size) {
		ssize_t r = file_write_page(fs, ino, buf, off);

		if (r != -EAGAIN)
			return r;
	}
	if (off > w->old_size)
		err = file_zero_present(fs, in, w->old_size, off); /* the gap becomes file */
	if (err)
		return err;

	pos = off;
	if (!fs->relaxed && off < w->old_size) {
		uint64_t ow = UMFS_MIN(w->end, w->old_size);

		err = file_guard_begin(fs, ino, off, ow,
				       UMFS_MIN(w->end, pg_off(UMFS_PG(ow - 1) + 1)), w->buf, false,
				       true, &w->g, &pos);
		if (err)
			return err;
	}
	while (pos < w->end && !err) {
		uint64_t next = pos;

		err = file_write_chunk(w, pos, &next);
		if (!err && next == pos)
			err = -ENOSPC;
		pos = next;
	}
	if (w->g.kind == GUARD_BYTES && pos < UMFS_MIN(w->end, w->old_size)) {
		file_guard_cancel(fs, ino, &w->g); /* the guarded part must be whole */
		pos = off;
	}
	if (pos == off && w->g.kind != GUARD_JOURNAL) {
		file_ulog_settle(fs, ino);
		return err;
	}
	err = file_guard_end(fs, in, &w->g,
			     w->g.kind == GUARD_JOURNAL ? w->buf + (w->g.a - off) : NULL,
			     UMFS_MAX(pos, in->size));
	file_ulog_settle(fs, ino);
	if (err)
		return err;
	return (ssize_t)(pos - off); /* short when the pool filled up */
}

/* ------------------------------------------------------------------ */
/* Truncate and fallocate                                               */
/* ------------------------------------------------------------------ */

int umfs_file_truncate(struct umfs_fs *fs, uint64_t ino, uint64_t size)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t old = in->size;
	int err;

	if (size > umfs_fs_max_size(fs))
		return -EFBIG;
	if (size == old) {
		file_publish(in, size); /* as Linux: the times move all the same */
		return 0;
	}
	if (size > old) {
		err = file_zero_present(fs, in, old, size);
		if (!err)
			file_publish(in, size);
		return err;
	}
	/*
	 * The size goes first: the pages past it are then garbage to free.
	 * UMFS_IF_TRUNC tells fsck to finish the job if a crash cuts it short
	 * (leftover pages past EOF would be valid, but wasted). A damaged tree
	 * is found before anything changes, not half way.
	 */
	err = umfs_pt_check_owned(fs, in, UMFS_DIV_ROUND_UP(size, UMFS_PAGE_SIZE),
				  umfs_fs_max_pages(fs) - 1);
	if (err)
		return err;
	file_flags_store(in, in->flags | UMFS_IF_TRUNC);
	file_publish(in, size);
	err = file_unmap(fs, ino, UMFS_DIV_ROUND_UP(size, UMFS_PAGE_SIZE), umfs_fs_max_pages(fs) - 1);
	if (err)
		return err;
	file_flags_store(in, in->flags & ~UMFS_IF_TRUNC);
	umfs_drain();
	return 0;
}

/*
 * Strict mode: zeroes the bytes [a, b) below EOF as one failure-atomic
 * change, publishing size with it. holes: pages zeroed whole may become
 * holes (punch); otherwise the range ends up allocated (zero range).
 */
static int file_zero_guarded(struct umfs_fs *fs, uint64_t ino, uint64_t a, uint64_t b,
			     bool holes, uint64_t size)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct file_guard g;
	uint64_t done;
	int err;

	err = file_guard_begin(fs, ino, a, b, b, NULL, holes, !holes, &g, &done);
	if (err)
		return err;
	if (g.kind == GUARD_BYTES)
		err = file_zero_present(fs, in, a, b);
	if (err) {
		file_guard_cancel(fs, ino, &g);
		return err;
	}
	return file_guard_end(fs, in, &g, NULL, size);
}

int umfs_file_trunc_finish(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	int err;

	if (in->size > umfs_fs_max_size(fs))
		return -EUCLEAN;
	err = file_unmap(fs, ino, UMFS_DIV_ROUND_UP(in->size, UMFS_PAGE_SIZE),
			 umfs_fs_max_pages(fs) - 1);
	if (err)
		return err;
	file_flags_store(in, in->flags & ~UMFS_IF_TRUNC);
	umfs_drain();
	return 0;
}

static int file_punch(struct umfs_fs *fs, uint64_t ino, uint64_t off, uint64_t end)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t first = UMFS_DIV_ROUND_UP(off, UMFS_PAGE_SIZE), stop = UMFS_PG(end);
	uint64_t vis = UMFS_MIN(end, in->size);
	int err = umfs_pt_check_owned(fs, in, UMFS_PG(off), UMFS_PG(end - 1));

	if (err)
		return err; /* damage stops the punch before it starts */
	if (!fs->relaxed && off < vis) {
		/* the bytes in the file change at once; what is past EOF is garbage */
		err = file_zero_guarded(fs, ino, off, vis, true, in->size);
		file_ulog_settle(fs, ino);
		if (err)
			return err;
	}
	if (first >= stop) {
		err = file_zero_present(fs, in, off, end);
	} else {
		err = file_zero_present(fs, in, off, pg_off(first));
		if (!err)
			err = file_zero_present(fs, in, pg_off(stop), end);
	}
	umfs_drain();
	if (err)
		return err;
	/* the pages left are zero (strict) or garbage past EOF: freeing them
	 * changes nothing a reader sees */
	if (first < stop)
		err = file_unmap(fs, ino, first, stop - 1);
	if (!err)
		file_publish(in, in->size);
	return err;
}

/* The holes a fallocate fills, kept so that one that fails (ENOSPC) gives
 * its pages back, as tmpfs does: a failed call would otherwise leave the
 * pool full for every other writer. Past FILE_HOLES_MAX extents (a range
 * of scattered holes) the pages it mapped stay, as ext4 keeps them, in
 * the file past its size or in its holes, freed by a truncate or unlink. */
#define FILE_HOLES_MAX 32

struct file_holes {
	unsigned n;
	bool all; /* every hole of the range is in ext */
	struct {
		uint64_t first, last;
	} ext[FILE_HOLES_MAX];
};

static void file_holes_find(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t first,
			    uint64_t last, struct file_holes *h)
{
	uint64_t pg = first;

	h->n = 0;
	h->all = false;
	while (pg <= last) {
		uint64_t off, run;

		if (umfs_pt_lookup_upto(fs, in, pg, last - pg + 1, &off, &run))
			return; /* damaged: nothing is given back */
		run = UMFS_MIN(run, last - pg + 1);
		if (!off) {
			if (h->n && h->ext[h->n - 1].last == pg - 1) {
				h->ext[h->n - 1].last += run;
			} else if (h->n == FILE_HOLES_MAX) {
				return;
			} else {
				h->ext[h->n].first = pg;
				h->ext[h->n].last = pg + run - 1;
				h->n++;
			}
		}
		pg += run;
	}
	h->all = true;
}

/* Allocates zeroed pages over the holes of [first, last]; out of space,
 * the pages it mapped are freed again (any other error, a damaged tree or
 * a failed pool, leaves them to fsck and the next truncate). More
 * holes than free pages fail at once, as on tmpfs, not after zeroing the
 * whole pool; the count is this process's as of its last turn at the
 * metadata lock, so it is asked for under the lock, and only where the
 * zeroing would take more than one transaction's step. */
static int file_alloc_or_back(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct file_holes h;
	uint64_t want = 0;
	int err;

	file_holes_find(fs, in, first, last, &h);
	for (unsigned i = 0; h.all && i < h.n; i++)
		want += h.ext[i].last - h.ext[i].first + 1;
	if (want > FILE_ALLOC_STEP_PAGES) {
		bool room;

		umfs_meta_lock(fs);
		room = want <= fs->free_pages;
		umfs_meta_unlock(fs);
		if (!room)
			return -ENOSPC;
	}
	err = file_alloc_zeroed(fs, in, first, last);
	if (err == -ENOSPC && h.all)
		for (unsigned i = 0; i < h.n; i++)
			if (file_unmap(fs, ino, h.ext[i].first, h.ext[i].last))
				break;
	return err;
}

/* Strict-mode zero range: what lies past EOF is prepared first (invisible),
 * then the bytes in the file are zeroed and the new size published as one
 * guarded change. */
static int file_zero_range(struct umfs_fs *fs, uint64_t ino, uint64_t off, uint64_t end,
			   bool grow)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t old = in->size, vis = UMFS_MIN(end, old);
	int err;

	if (end > old) {
		uint64_t from = UMFS_MAX(off, old);

		/* a growing call moves EOF over [old, off) too: what a truncate
		 * left in the old last page must read as zeros */
		err = file_zero_present(fs, in, grow ? old : from, end);
		if (!err)
			err = file_alloc_or_back(fs, ino, UMFS_PG(from), UMFS_PG(end - 1));
		if (err)
			return err;
	}
	if (off < vis) {
		err = file_zero_guarded(fs, ino, off, vis, false, grow ? end : old);
		file_ulog_settle(fs, ino);
		return err;
	}
	file_publish(in, grow ? end : old);
	return 0;
}

static int file_falloc_check(const struct umfs_fs *fs, int mode, uint64_t off, uint64_t len)
{
	if ((int64_t)off < 0 || (int64_t)len <= 0)
		return -EINVAL;
	switch (mode & ~FALLOC_FL_KEEP_SIZE) {
	case 0:
	case FALLOC_FL_ZERO_RANGE:
		break;
	case FALLOC_FL_PUNCH_HOLE:
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			return -EOPNOTSUPP; /* as Linux: a punch never changes the size */
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (off > umfs_fs_max_size(fs) || len > umfs_fs_max_size(fs) - off)
		return -EFBIG;
	return 0;
}

int umfs_file_fallocate(struct umfs_fs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t old = in->size, end;
	int err = file_falloc_check(fs, mode, off, len);
	bool grow;

	if (err)
		return err;
	end = off + len;
	grow = !(mode & FALLOC_FL_KEEP_SIZE) && end > old;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return file_punch(fs, ino, off, end);
	if ((mode & FALLOC_FL_ZERO_RANGE) && !fs->relaxed)
		return file_zero_range(fs, ino, off, end, grow);
	/* Zero what is already allocated first, so fresh pages are zeroed once. */
	if (mode & FALLOC_FL_ZERO_RANGE)
		err = file_zero_present(fs, in, grow ? UMFS_MIN(old, off) : off, end);
	else if (grow)
		err = file_zero_present(fs, in, old, end);
	if (!err)
		err = file_alloc_or_back(fs, ino, UMFS_PG(off), UMFS_PG(end - 1));
	if (err)
		return err;
	if (grow || (mode & FALLOC_FL_ZERO_RANGE))
		file_publish(in, grow ? end : old);
	return 0;
}

/* ------------------------------------------------------------------ */
/* SEEK_DATA / SEEK_HOLE                                                */
/* ------------------------------------------------------------------ */

int64_t umfs_file_seek(struct umfs_fs *fs, uint64_t ino, int64_t off, int whence)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t size = in->size, pg;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off < 0 || (uint64_t)off >= size)
		return -ENXIO;
	if (whence == SEEK_DATA) {
		pg = umfs_pt_next_data(fs, in, UMFS_PG(off));
		if (pg == UMFS_PT_DAMAGED)
			return -EUCLEAN;
		if (pg == UINT64_MAX || pg_off(pg) >= size)
			return -ENXIO; /* only pages past EOF remain */
		return (int64_t)UMFS_MAX((uint64_t)off, pg_off(pg));
	}
	pg = umfs_pt_next_hole(fs, in, UMFS_PG(off));
	if (pg == UMFS_PT_DAMAGED)
		return -EUCLEAN;
	return (int64_t)UMFS_MIN(size, UMFS_MAX((uint64_t)off, pg_off(pg))); /* EOF is a hole */
}
