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
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#define FILE_PAGE_MASK ((uint64_t)UMFS_PAGE_SIZE - 1)
#define FILE_FRESH_MAX 64 /* fresh extents per write transaction (merged when adjacent) */

static inline uint64_t pg_off(uint64_t pg)
{
	return pg << UMFS_PAGE_SHIFT;
}

/* Zeroes the allocated bytes of [a, b), skipping holes. Not drained. */
static void file_zero_present(struct umfs_fs *fs, const struct umfs_inode *in, uint64_t a,
			      uint64_t b)
{
	while (a < b) {
		uint64_t run, pg = UMFS_PG(a), off = umfs_pt_lookup(fs, in, pg, &run);
		uint64_t n = UMFS_MIN(b, pg_off(pg + run)) - a;

		if (off)
			umfs_memset_nodrain((uint8_t *)umfs_off_ptr(fs, off) + (a & FILE_PAGE_MASK),
					    0, n);
		a += n;
	}
}

/* Publishes a new size (after a fence, so the data under it is durable
 * first) and the modification times; everything is durable on return. */
static void file_publish(struct umfs_inode *in, uint64_t size)
{
	uint64_t now = (uint64_t)umfs_now_ns();

	if (size != in->size) {
		umfs_drain();
		umfs_store64_nodrain(&in->size, size);
	}
	umfs_store64_nodrain(&in->mtime_ns, now);
	umfs_store64_nodrain(&in->ctime_ns, now);
	umfs_drain();
}

/* Flags are a hot field: one aligned 4-byte store, flushed, not drained. */
static void file_flags_store(struct umfs_inode *in, uint32_t flags)
{
	__atomic_store_n(&in->flags, flags, __ATOMIC_RELEASE);
	umfs_flush(&in->flags, sizeof(in->flags));
}

ssize_t umfs_file_read(struct umfs_fs *fs, uint64_t ino, void *buf, size_t len, uint64_t off)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t size = in->size, pos, end;
	uint8_t *dst = buf;

	if (off >= size || len == 0)
		return 0;
	end = off + UMFS_MIN(UMFS_MIN(len, (size_t)SSIZE_MAX), size - off);
	for (pos = off; pos < end;) {
		uint64_t run, pg = UMFS_PG(pos), src = umfs_pt_lookup(fs, in, pg, &run);
		size_t n = (size_t)(UMFS_MIN(end, pg_off(pg + run)) - pos);

		if (src)
			memcpy(dst, fs->base + src + (pos & FILE_PAGE_MASK), n);
		else
			memset(dst, 0, n);
		dst += n;
		pos += n;
	}
	return (ssize_t)(end - off);
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

/* 2 MiB leaves for files already that large and for requests covering a
 * whole region, when the region is still empty. */
static bool file_want_huge(const struct umfs_fs *fs, const struct umfs_inode *in,
			   const struct file_map *m, uint64_t pg)
{
	uint64_t r = pg & ~((uint64_t)UMFS_PAGES_PER_HUGE - 1), run;

	if (m->size < UMFS_HUGE_SIZE && (r < m->first || r + UMFS_PAGES_PER_HUGE - 1 > m->last))
		return false;
	return !umfs_pt_lookup(fs, in, r, &run) && run >= UMFS_PAGES_PER_HUGE;
}

/* The extent a successful umfs_pt_map() of a hole created. */
static struct file_fresh file_fresh_extent(const struct umfs_fs *fs, const struct umfs_inode *in,
					   uint64_t pg, uint64_t off, bool huge)
{
	uint64_t r = pg & ~((uint64_t)UMFS_PAGES_PER_HUGE - 1);
	struct file_fresh x = { .pg = pg, .n = 1, .off = off };

	/* The region was empty: another of its pages is present only if a 2 MiB
	 * leaf came (the allocator may have had no 2 MiB run left). */
	if (huge && umfs_pt_lookup(fs, in, pg == r ? r + 1 : r, NULL)) {
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
		uint64_t run, off = umfs_pt_lookup(fs, in, pg, &run);
		struct file_fresh x;
		bool huge;
		int r;

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

/* Maps and zeroes every hole of pages [first, last], in as many transactions
 * as it takes. */
static int file_alloc_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			     uint64_t last)
{
	struct file_map m = {
		.first = first, .last = last, .size = in->size, .flags = UMFS_PTMAP_ZERO,
	};
	uint64_t pg = first;
	int err = 0, cerr;

	while (pg <= last && !err) {
		uint64_t from = pg;

		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (err) {
			umfs_meta_unlock(fs);
			return err;
		}
		err = file_map_holes(fs, in, &m, &pg);
		cerr = umfs_tx_commit(fs);
		umfs_meta_unlock(fs);
		if (!err)
			err = cerr;
		if (!err && pg == from)
			err = -ENOSPC; /* a whole transaction could not map one page */
	}
	return err;
}

/* Frees file pages [first, last] in as many transactions as it takes. */
static int file_unmap(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last)
{
	int more, err;

	do {
		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (err) {
			umfs_meta_unlock(fs);
			return err;
		}
		if (last >= UMFS_MAX_FILE_PAGES - 1)
			more = umfs_pt_truncate(fs, in, first);
		else
			more = umfs_pt_punch(fs, in, first, last);
		if (more < 0) {
			umfs_tx_abort(fs);
			umfs_meta_unlock(fs);
			return more;
		}
		err = umfs_tx_commit(fs);
		umfs_meta_unlock(fs);
		if (err)
			return err;
	} while (more);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Write                                                                */
/* ------------------------------------------------------------------ */

struct file_write {
	struct umfs_fs *fs;
	struct umfs_inode *in;
	const uint8_t *buf;
	uint64_t off, end; /* the bytes being written */
	uint64_t old_size;
	struct file_map map;
	struct file_fresh fresh[FILE_FRESH_MAX];
};

/* Copies the caller's bytes for [a, b), all of it in present pages. */
static int file_copy(struct file_write *w, uint64_t a, uint64_t b)
{
	while (a < b) {
		uint64_t run, pg = UMFS_PG(a), dst = umfs_pt_lookup(w->fs, w->in, pg, &run);
		uint64_t n = UMFS_MIN(b, pg_off(pg + run)) - a;

		if (!dst)
			return -EIO; /* mapped by this write: cannot be a hole */
		/*
		 * Overwrites are in place for now. Issue 4 hooks here: below
		 * w->old_size, save the old bytes of [a, a + n) in the U-Log undo
		 * record (or swap in new pages and save the old entries when
		 * the write is larger than the log) before this copy.
		 */
		umfs_memcpy_nodrain(w->fs->base + dst + (a & FILE_PAGE_MASK), w->buf + (a - w->off),
				    n);
		a += n;
	}
	return 0;
}

/* Writes a fresh extent: the caller's bytes where the write covers it,
 * zeros before them and after them up to the old EOF. */
static void file_fill_fresh(struct file_write *w, struct file_fresh *x)
{
	uint8_t *p = umfs_off_ptr(w->fs, x->off);
	uint64_t xa = pg_off(x->pg), xb = pg_off(x->pg + x->n);
	uint64_t ca = UMFS_MAX(xa, w->off), cb = UMFS_MIN(xb, w->end);
	uint64_t tail = UMFS_MIN(xb, w->old_size);

	if (ca > xa)
		umfs_memset_nodrain(p, 0, ca - xa);
	umfs_memcpy_nodrain(p + (ca - xa), w->buf + (ca - w->off), cb - ca);
	if (tail > cb)
		umfs_memset_nodrain(p + (cb - xa), 0, tail - cb);
	x->filled = true;
}

/* Allocates the holes of the write from pos on, as far as one transaction
 * goes, filling the fresh extents the commit makes visible. Returns the byte
 * up to which the write's pages are now present in *stop. */
static int file_write_alloc(struct file_write *w, uint64_t pos, uint64_t *stop)
{
	struct umfs_fs *fs = w->fs;
	uint64_t pg = UMFS_PG(pos);
	int err, cerr;

	w->map.nfresh = 0;
	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (err) {
		umfs_meta_unlock(fs);
		return err;
	}
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
	*stop = UMFS_MAX(pos, UMFS_MIN(w->end, pg_off(pg)));
	return err;
}

/* True when one of pages [pg, last] is a hole. Bounded by the range, unlike
 * umfs_pt_next_hole(), which may walk the rest of a dense file. */
static bool file_has_hole(const struct umfs_fs *fs, const struct umfs_inode *in, uint64_t pg,
			  uint64_t last)
{
	while (pg <= last) {
		uint64_t run;

		if (!umfs_pt_lookup(fs, in, pg, &run))
			return true;
		pg += run;
	}
	return false;
}

/* Writes [pos, ...) as far as one allocation transaction goes; *next gets
 * the end of what was written. */
static int file_write_chunk(struct file_write *w, uint64_t pos, uint64_t *next)
{
	uint64_t stop = pos, a = pos;
	int err, cerr;

	if (!file_has_hole(w->fs, w->in, UMFS_PG(pos), w->map.last)) {
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

ssize_t umfs_file_write(struct umfs_fs *fs, uint64_t ino, const void *buf, size_t len,
			uint64_t off)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct file_write ws, *w = &ws;
	uint64_t pos;
	int err = 0;

	if (len == 0)
		return 0;
	if (off >= UMFS_MAX_FILE_SIZE)
		return -EFBIG;
	len = UMFS_MIN(UMFS_MIN(len, (size_t)SSIZE_MAX), UMFS_MAX_FILE_SIZE - off);
	w->fs = fs;
	w->in = in;
	w->buf = buf;
	w->off = off;
	w->end = off + len;
	w->old_size = in->size;
	w->map = (struct file_map){
		.first = UMFS_PG(off), .last = UMFS_PG(w->end - 1), .size = w->old_size,
		.fresh = w->fresh,
	};
	if (off > w->old_size)
		file_zero_present(fs, in, w->old_size, off); /* the gap becomes file */

	for (pos = off; pos < w->end && !err;) {
		uint64_t next = pos;

		err = file_write_chunk(w, pos, &next);
		if (!err && next == pos)
			err = -ENOSPC;
		pos = next;
	}
	if (pos == off)
		return err;
	file_publish(in, UMFS_MAX(pos, in->size));
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

	if (size > UMFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (size == old) {
		file_publish(in, size); /* as Linux: the times move all the same */
		return 0;
	}
	if (size > old) {
		file_zero_present(fs, in, old, size);
		file_publish(in, size);
		return 0;
	}
	/*
	 * The size goes first: the pages past it are then garbage to free.
	 * UMFS_IF_TRUNC tells fsck to finish the job if a crash cuts it short
	 * (leftover pages past EOF would be valid, but wasted).
	 */
	file_flags_store(in, in->flags | UMFS_IF_TRUNC);
	file_publish(in, size);
	err = file_unmap(fs, in, UMFS_DIV_ROUND_UP(size, UMFS_PAGE_SIZE), UMFS_MAX_FILE_PAGES - 1);
	if (err)
		return err;
	file_flags_store(in, in->flags & ~UMFS_IF_TRUNC);
	umfs_drain();
	return 0;
}

static int file_punch(struct umfs_fs *fs, struct umfs_inode *in, uint64_t off, uint64_t end)
{
	uint64_t first = UMFS_DIV_ROUND_UP(off, UMFS_PAGE_SIZE), stop = UMFS_PG(end);
	int err = 0;

	if (first >= stop) {
		file_zero_present(fs, in, off, end);
	} else {
		file_zero_present(fs, in, off, pg_off(first));
		file_zero_present(fs, in, pg_off(stop), end);
	}
	umfs_drain();
	if (first < stop)
		err = file_unmap(fs, in, first, stop - 1);
	if (!err)
		file_publish(in, in->size);
	return err;
}

static int file_falloc_check(int mode, uint64_t off, uint64_t len)
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
	if (off > UMFS_MAX_FILE_SIZE || len > UMFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	return 0;
}

int umfs_file_fallocate(struct umfs_fs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	uint64_t old = in->size, end;
	int err = file_falloc_check(mode, off, len);
	bool grow;

	if (err)
		return err;
	end = off + len;
	grow = !(mode & FALLOC_FL_KEEP_SIZE) && end > old;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return file_punch(fs, in, off, end);
	/* Zero what is already allocated first, so fresh pages are zeroed once. */
	if (mode & FALLOC_FL_ZERO_RANGE)
		file_zero_present(fs, in, grow ? UMFS_MIN(old, off) : off, end);
	else if (grow)
		file_zero_present(fs, in, old, end);
	err = file_alloc_zeroed(fs, in, UMFS_PG(off), UMFS_PG(end - 1));
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
		if (pg == UINT64_MAX || pg_off(pg) >= size)
			return -ENXIO; /* only pages past EOF remain */
		return (int64_t)UMFS_MAX((uint64_t)off, pg_off(pg));
	}
	pg = umfs_pt_next_hole(fs, in, UMFS_PG(off));
	return (int64_t)UMFS_MIN(size, UMFS_MAX((uint64_t)off, pg_off(pg))); /* EOF is a hole */
}
