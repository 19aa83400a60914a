/* SPDX-License-Identifier: MIT */
/*
 * ulog.c - the per-file U-Log: undo records that make overwrites
 * failure-atomic in strict mode, and their recovery.
 *
 * A U-Log is a chain of pages named by inode->ulog, each stamped with the
 * file's inode number and generation. It is allocated at the first guarded
 * overwrite and released at the file's last close in this process. The head
 * page's second cache line is the record of the overwrite in flight:
 *
 *   BYTES  the old bytes of [rec_off, rec_off + rec_len), in the data areas
 *          of the chain. Protocol: copy the old bytes and fill the header,
 *          flush, fence (1); write in place, flush, fence (2); publish a new
 *          size and fence if it changed; retire (rec_seq = 0) with the
 *          times, fence (3).
 *   SWAP   the new pages of file pages [rec_off, rec_off + rec_len) were
 *          built in an orphan inode (the shadow, rec_aux_ino); journal
 *          transactions exchange the two trees' entries, each advancing
 *          rec_done with the exchange (cow.c). Retiring the record is the
 *          commit point; the shadow, now holding the old pages, is then
 *          reclaimed like any orphan.
 *   PAGE   one whole file page at byte rec_off was given the chain's spare
 *          page (head->spare, a data page the chain owns); data[] holds the
 *          leaf entry before and after. Protocol: write the new bytes into
 *          the spare and the record, flush, fence (1); store the leaf entry
 *          and make the old page the spare, flush, fence (2): the leaf's
 *          store is the commit point, so the record is retired after it
 *          without a fence of its own. Recovery settles: a leaf holding the
 *          new entry keeps it (the old page is the spare), one holding the
 *          old entry keeps that (the new page is the spare again); any other
 *          leaf means the record is stale (its write finished long ago), and
 *          nothing moves. No page is allocated or freed by the write.
 *
 * A record is valid when rec_seq is non-zero and rec_csum matches. The
 * checksum covers rec_seq, which never repeats (a counter seeded from the
 * clock at mount), so a header whose new fields did not all reach the media
 * cannot pass for the old record it partly overwrote, and one fence per
 * record suffices: a torn record never validates, and nothing was changed
 * in place before its fence.
 *
 * Recovery rolls back every valid record (bytes copied back, or exchanges
 * undone back to rec_done = 0, then the old size), retires it and frees the
 * chain. Every step is a single store or a journal transaction, so a crash
 * during recovery recovers again. Nothing read from the pool is trusted:
 * chain links, record fields, the shadow and every table pointer are
 * checked before use.
 */
#include <errno.h>
#include <string.h>

#include "ulog.h"
#include "alloc.h"
#include "backend.h"
#include "coldio.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "persist.h"
#include "ptable.h"
#include "testhooks.h"
#include "umfs_ulog.h"

#define ULOG_PAGE_MASK ((uint64_t)UMFS_PAGE_SIZE - 1)

/* ------------------------------------------------------------------ */
/* Chains                                                               */
/* ------------------------------------------------------------------ */

static void ulog_page_settle(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u);

/* Collects the valid pages of ino's chain, up to max (the format's walk,
 * umfs_ulog.h); *cut is set when a link was bad, looped or past max. */
static unsigned ulog_chain(const struct umfs_fs *fs, uint64_t ino, struct umfs_ulog **pages,
			   unsigned max, bool *cut)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ulog_env env = { .base = fs->base, .data_off = fs->data_off,
				     .data_pages = fs->data_pages, .pbitmap = fs->pbitmap };
	uint64_t offs[UMFS_ULOG_CHAIN_LIMIT];
	unsigned n;
	int cut_link;

	n = umfs_ulog_chain_walk(&env, in->ulog, ino, in->generation, offs,
				 UMFS_MIN(max, UMFS_ULOG_CHAIN_LIMIT), &cut_link);
	for (unsigned i = 0; i < n; i++)
		pages[i] = umfs_off_ptr(fs, offs[i]);
	*cut = cut_link;
	return n;
}

/* In tx: a fresh U-Log page for ino, linked after prev (or as the head). */
static int ulog_page_add(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *prev,
			 struct umfs_ulog **out)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ulog *u;
	uint64_t page;
	int err;

	err = umfs_page_alloc_meta(fs, &page);
	if (err)
		return err;
	u = umfs_page_ptr(fs, page);
	memset(u, 0, 2 * UMFS_CACHELINE);
	u->magic = UMFS_ULOG_MAGIC;
	u->ino = ino;
	u->generation = in->generation;
	u->csum = umfs_ulog_csum(u);
	err = umfs_tx_dirty(fs, u, 2 * UMFS_CACHELINE);
	if (err)
		return err;
	if (prev) {
		err = umfs_tx_set64(fs, &prev->next, umfs_page_off(fs, page));
	} else {
		err = umfs_tx_add(fs, in, sizeof(*in));
		if (!err) {
			in->ulog = umfs_page_off(fs, page);
			umfs_inode_seal(in);
		}
	}
	*out = u;
	return err;
}

int umfs_ulog_get(struct umfs_fs *fs, uint64_t ino, uint64_t len, struct umfs_ulog **ulog)
{
	struct umfs_ulog *pages[UMFS_ULOG_MAX_PAGES];
	unsigned need = (unsigned)UMFS_MAX(1, UMFS_DIV_ROUND_UP(len, UMFS_ULOG_DATA_SIZE));
	unsigned n;
	bool cut;
	int err;

	if (need > UMFS_ULOG_MAX_PAGES)
		return -EFBIG;
	n = ulog_chain(fs, ino, pages, need, &cut);
	if (n == 0 && umfs_inode(fs, ino)->ulog)
		return -EUCLEAN; /* a damaged link: fsck.umfs cuts it */
	if (n < need && cut)
		return -EUCLEAN;
	if (n >= need) {
		*ulog = pages[0];
		return 0;
	}
	umfs_meta_lock(fs);
	err = fs->be->ulog_grow(fs, ino, need, pages, n);
	umfs_meta_unlock(fs);
	if (!err)
		*ulog = pages[0];
	return err;
}

/* The software backend's ulog_grow: the pages from the core's bitmap, in
 * one transaction. */
int umfs_ulog_chain_grow(struct umfs_fs *fs, uint64_t ino, unsigned need,
			 struct umfs_ulog **pages, unsigned n)
{
	int err;

	err = umfs_tx_begin(fs);
	for (; !err && n < need; n++)
		err = ulog_page_add(fs, ino, n ? pages[n - 1] : NULL, &pages[n]);
	if (err && fs->tx.active)
		umfs_tx_abort(fs);
	else if (!err)
		err = umfs_tx_commit(fs);
	return err;
}

int umfs_ulog_spare_get(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog **ulog)
{
	struct umfs_ulog *u;
	uint64_t page;
	int err;

	err = umfs_ulog_get(fs, ino, 0, &u);
	if (err)
		return err;
	if (u->spare) {
		if (!umfs_off_is_page(fs, u->spare) ||
		    !umfs_page_is_used(fs, umfs_off_page(fs, u->spare)))
			return -EUCLEAN;
		*ulog = u;
		return 0;
	}
	/* once per chain: the spare then changes hands with every swap */
	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (!err) {
		err = umfs_page_alloc(fs, fs->page_cursor, &page);
		if (!err)
			err = umfs_tx_set64(fs, &u->spare, umfs_page_off(fs, page));
		if (err)
			umfs_tx_abort(fs);
		else
			err = umfs_tx_commit(fs);
	}
	umfs_meta_unlock(fs);
	if (!err)
		*ulog = u;
	return err;
}

int umfs_ulog_free(struct umfs_fs *fs, uint64_t ino, bool force)
{
	struct umfs_ulog *pages[UMFS_ULOG_CHAIN_LIMIT];
	struct umfs_inode *in = umfs_inode(fs, ino);
	unsigned n;
	bool cut;
	int err;

	if (!in->ulog)
		return 0;
	n = ulog_chain(fs, ino, pages, UMFS_ULOG_CHAIN_LIMIT, &cut);
	if (n && pages[0]->rec_seq && pages[0]->rec_kind == UMFS_ULOG_REC_PAGE)
		ulog_page_settle(fs, ino, pages[0]); /* finished or rolled back: never in flight */
	if (!force && n && pages[0]->rec_seq)
		return -EBUSY;
	if (n && pages[0]->spare) {
		uint64_t sp = pages[0]->spare;

		/* a spare that is not a used data page is damage: forgotten */
		if (umfs_off_is_page(fs, sp) && umfs_page_is_used(fs, umfs_off_page(fs, sp))) {
			err = umfs_page_free(fs, umfs_off_page(fs, sp), 1);
			if (err)
				return err;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		err = umfs_page_free(fs, umfs_off_page(fs, umfs_ptr_off(fs, pages[i])), 1);
		if (err)
			return err;
	}
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err)
		return err;
	in->ulog = 0;
	umfs_inode_seal(in);
	return 0;
}

void umfs_file_release(struct umfs_fs *fs, uint64_t ino)
{
	if (!umfs_inode(fs, ino)->ulog || fs->pm.rdonly || fs->tx.active)
		return;
	fs->be->ulog_release(fs, ino);
}

/* ------------------------------------------------------------------ */
/* Records                                                              */
/* ------------------------------------------------------------------ */

/* Checksum of the record of head u; BYTES data is read across pages[]
 * (the caller has checked that rec_len fits the chain). */
static uint32_t ulog_rec_csum(struct umfs_ulog *const *pages)
{
	const struct umfs_ulog *u = pages[0];
	uint32_t c = umfs_ulog_rec_id_csum(u); /* umfs_rules.h */

	if (u->rec_kind == UMFS_ULOG_REC_BYTES || u->rec_kind == UMFS_ULOG_REC_PAGE) {
		for (uint64_t left = u->rec_len, i = 0; left; i++) {
			uint64_t n = UMFS_MIN(left, UMFS_ULOG_DATA_SIZE);

			c = umfs_crc32c(c, pages[i]->data, n);
			left -= n;
		}
	}
	return c;
}

static uint64_t ulog_seq_next(struct umfs_fs *fs)
{
	return __atomic_add_fetch(&fs->ulog_seq, 1, __ATOMIC_RELAXED);
}

/* A new record's identity, numbered; its checksum starts from crc32c(id). */
static struct umfs_ulog_rec_id ulog_rec_id_new(struct umfs_fs *fs, uint32_t kind, uint64_t off,
					  uint64_t len, uint64_t old_size, uint64_t aux)
{
	return (struct umfs_ulog_rec_id){
		.seq = ulog_seq_next(fs), .kind = kind, .off = off, .len = len,
		.old_size = old_size, .aux_ino = aux,
		.aux_gen = aux ? umfs_inode(fs, aux)->generation : 0,
	};
}

/* Writes the record's header with its checksum csum (over the identity,
 * then the data: ulog_rec_csum), then flushes its line. */
static void ulog_rec_seal(struct umfs_ulog *u, const struct umfs_ulog_rec_id *id, uint32_t csum)
{
	u->rec_kind = id->kind;
	u->rec_off = id->off;
	u->rec_len = id->len;
	u->rec_old_size = id->old_size;
	u->rec_aux_ino = id->aux_ino;
	u->rec_aux_gen = id->aux_gen;
	u->rec_done = 0;
	u->reserved1 = 0;
	u->rec_seq = id->seq;
	u->rec_csum = csum;
	umfs_flush(&u->rec_seq, UMFS_CACHELINE);
}

/* Byte k of a record's data, spread over the chain's data areas; *room
 * gets the bytes from there to the end of that page's area. */
static uint8_t *ulog_data_at(struct umfs_ulog *const *pages, uint64_t k, uint64_t *room)
{
	*room = UMFS_ULOG_DATA_SIZE - k % UMFS_ULOG_DATA_SIZE;
	return pages[k / UMFS_ULOG_DATA_SIZE]->data + k % UMFS_ULOG_DATA_SIZE;
}

/* The chain's pages from head u, as umfs_ulog_get checked them just
 * before; each link is still bounded to the data zone as it is followed. */
static unsigned ulog_pages_of(const struct umfs_fs *fs, struct umfs_ulog *u,
			      struct umfs_ulog **pages, unsigned max)
{
	unsigned n = 0;

	while (u && n < max) {
		pages[n++] = u;
		u = umfs_off_is_page(fs, u->next) ? umfs_off_ptr(fs, u->next) : NULL;
	}
	return n;
}

int umfs_ulog_save_bytes(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t ino, uint64_t off,
			 uint64_t len, uint64_t old_size)
{
	static const uint8_t zeros[UMFS_ULOG_DATA_SIZE];
	const struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ulog *pages[UMFS_ULOG_MAX_PAGES];
	unsigned need = (unsigned)UMFS_MAX(1, UMFS_DIV_ROUND_UP(len, UMFS_ULOG_DATA_SIZE));
	uint64_t pos = off, end = off + len, k = 0;
	struct umfs_ulog_rec_id id;
	uint32_t csum;

	if (need > UMFS_ULOG_MAX_PAGES || ulog_pages_of(fs, u, pages, need) < need)
		return -EUCLEAN;
	id = ulog_rec_id_new(fs, UMFS_ULOG_REC_BYTES, off, len, old_size, 0);
	csum = umfs_crc32c(0, &id, sizeof(id));
	while (pos < end) {
		uint64_t run, src, pg = UMFS_PG(pos), n;
		int err = umfs_pt_lookup_upto(fs, in, pg, UMFS_PG(end - 1) - pg + 1, &src, &run);

		if (err)
			return err; /* nothing changed yet: the record is not sealed */
		n = UMFS_MIN(end, (pg + run) << UMFS_PAGE_SHIFT) - pos;

		/* n bytes from pos go to data offset k of the chain */
		for (uint64_t done = 0; done < n;) {
			uint64_t room, m, at = pos + done - (pg << UMFS_PAGE_SHIFT);
			uint8_t *dst = ulog_data_at(pages, k + done, &room);

			m = UMFS_MIN(n - done, room);
			/* the checksum reads the source, still in the cache,
			 * not the copy, which non-temporal stores sent away */
			if (src) {
				if (fs->be->prefaults)
					umfs_media_prefault(fs, src + at, m);
				csum = umfs_crc32c(csum, fs->base + src + at, m);
				umfs_memcpy_nodrain(dst, fs->base + src + at, m);
			} else {
				csum = umfs_crc32c(csum, zeros, m);
				umfs_memset_nodrain(dst, 0, m);
			}
			done += m;
		}
		k += n;
		pos += n;
	}
	ulog_rec_seal(u, &id, csum);
	if (!UMFS_FAULT(UMFS_FAULT_ULOG_NO_FENCE))
		umfs_drain(); /* fence 1: the record before any byte changes */
	return 0;
}

void umfs_ulog_save_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t pg, uint64_t n,
			 uint64_t old_size, uint64_t aux)
{
	struct umfs_ulog_rec_id id = ulog_rec_id_new(fs, UMFS_ULOG_REC_SWAP, pg, n, old_size, aux);

	ulog_rec_seal(u, &id, umfs_crc32c(0, &id, sizeof(id)));
	umfs_drain(); /* the record (and the shadow's data) before any exchange */
}

void umfs_ulog_page_swap(struct umfs_fs *fs, struct umfs_ulog *u, uint64_t *slot, uint64_t pos,
			 uint64_t size, const void *buf)
{
	struct umfs_ulog_page *r = (struct umfs_ulog_page *)u->data;
	uint64_t old = *slot, spare = u->spare, new = umfs_pte_make(fs, spare, UMFS_PTE_LEAF4K_FLAGS);
	struct umfs_ulog_rec_id id =
		ulog_rec_id_new(fs, UMFS_ULOG_REC_PAGE, pos, sizeof(*r), size, 0);
	uint32_t csum;

	umfs_media_write(fs, spare, buf, UMFS_PAGE_SIZE, false);
	r->old_pte = old;
	r->new_pte = new;
	/* Nothing flushed is loaded again: a flush may take the line out of
	 * the cache, and a load of it after costs a miss on every swap. */
	csum = umfs_crc32c(umfs_crc32c(0, &id, sizeof(id)), r, sizeof(*r));
	umfs_flush(r, sizeof(*r));
	ulog_rec_seal(u, &id, csum);
	if (!UMFS_FAULT(UMFS_FAULT_PAGE_NO_FENCE))
		umfs_drain(); /* fence 1: the record and the new bytes before the leaf */
	umfs_store64_nodrain(slot, new); /* the commit point */
	umfs_store64_nodrain(&u->spare, umfs_pte_off(fs, old));
}

void umfs_ulog_retire_lazy(struct umfs_ulog *u)
{
	/* Not flushed: a flush now would be waited for by the next locked
	 * instruction (the unlock), and the record, valid or not on the
	 * media, settles to the same state; the next record's flush, or the
	 * line's eviction, carries it. */
	__atomic_store_n(&u->rec_seq, 0, __ATOMIC_RELEASE);
}

void umfs_ulog_retire(struct umfs_ulog *u)
{
	umfs_store64_nodrain(&u->rec_seq, 0);
}

/* ------------------------------------------------------------------ */
/* Rollback and recovery                                                */
/* ------------------------------------------------------------------ */

/* Checks a record's fields against the pool; pages[] is the chain (n). */
static int ulog_rec_check(const struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *const *pages,
			  unsigned n)
{
	const struct umfs_ulog *u = pages[0];
	const struct umfs_inode *sh;

	if (umfs_inode_csum(umfs_inode(fs, ino)) != umfs_inode(fs, ino)->csum ||
	    !umfs_ulog_rec_ok(u, ino, n)) /* umfs_ulog.h */
		return -EUCLEAN;
	if (u->rec_kind == UMFS_ULOG_REC_SWAP) {
		if (!umfs_inode_live(fs, u->rec_aux_ino))
			return -EUCLEAN;
		sh = umfs_inode(fs, u->rec_aux_ino);
		if (!umfs_ulog_shadow_ok(sh, u) || umfs_inode_csum(sh) != sh->csum)
			return -EUCLEAN;
	}
	return ulog_rec_csum(pages) == u->rec_csum ? 0 : -EBADMSG;
}

/* The pool offset of the data page a 4 KiB leaf entry names, or 0. */
static uint64_t ulog_leaf_page(const struct umfs_fs *fs, uint64_t e)
{
	uint64_t off = umfs_pte_off(fs, e);

	if ((e & ~UMFS_PTE_ADDR_MASK) != UMFS_PTE_LEAF4K_FLAGS || !umfs_off_is_page(fs, off) ||
	    !umfs_page_is_used(fs, umfs_off_page(fs, off)))
		return 0;
	return off;
}

/*
 * Settles a PAGE record and retires it: whichever entry the leaf holds
 * stays, and the spare is made the other page. A leaf holding neither
 * means the write finished and later changes moved on: nothing to do.
 * A record that fails its checksum was torn before its fence and had
 * changed nothing.
 */
static void ulog_page_settle(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u)
{
	const struct umfs_ulog_page *r = (const struct umfs_ulog_page *)u->data;
	struct umfs_ulog *pages[1] = { u };
	uint64_t *slot, e, spare = 0;

	if (u->rec_len == sizeof(*r) && !(u->rec_off & ULOG_PAGE_MASK) &&
	    u->rec_off < UMFS_MAX_FILE_SIZE && ulog_rec_csum(pages) == u->rec_csum &&
	    r->old_pte != r->new_pte) {
		slot = umfs_pt_slot_find(fs, umfs_inode(fs, ino), UMFS_PG(u->rec_off), 1);
		e = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : 0;
		if (e && e == r->new_pte)
			spare = ulog_leaf_page(fs, r->old_pte);
		else if (e && e == r->old_pte)
			spare = ulog_leaf_page(fs, r->new_pte);
		if (spare && u->spare != spare) {
			umfs_store64_nodrain(&u->spare, spare);
			umfs_drain();
		}
	}
	umfs_ulog_retire(u);
	umfs_drain();
}

/* Copies the saved bytes back into the pages the file has there. */
static int ulog_restore_bytes(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *const *pages)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	const struct umfs_ulog *u = pages[0];
	uint64_t pos = u->rec_off, end = u->rec_off + u->rec_len, k = 0;
	/* restoring goes ahead only when the whole range's tree can be read */
	int err = umfs_pt_check_range(fs, in, UMFS_PG(pos), UMFS_PG(end - 1));

	while (!err && pos < end) {
		uint64_t dst, n = UMFS_MIN(end, (UMFS_PG(pos) + 1) << UMFS_PAGE_SHIFT) - pos;

		umfs_pt_lookup(fs, in, UMFS_PG(pos), &dst, NULL);

		for (uint64_t done = 0; dst && done < n;) {
			uint64_t room, m;
			const uint8_t *src = ulog_data_at(pages, k + done, &room);
			uint8_t *d = fs->base + dst + ((pos + done) & ULOG_PAGE_MASK);

			m = UMFS_MIN(n - done, room);
			memcpy(d, src, m);
			umfs_flush(d, m);
			done += m;
		}
		/* a hole read as zeros when the record was made, and still does */
		k += n;
		pos += n;
	}
	return err;
}

/* Rolls back the record of a chain already checked (pages[0..n)). */
static int ulog_undo(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *const *pages)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	struct umfs_ulog *u = pages[0];
	int err = 0;

	if (u->rec_kind == UMFS_ULOG_REC_PAGE) {
		/* the size never changes under a PAGE record, and a stale one
		 * must not bring back a size from before later writes */
		ulog_page_settle(fs, ino, u);
		return 0;
	}
	if (u->rec_kind == UMFS_ULOG_REC_BYTES)
		err = ulog_restore_bytes(fs, ino, pages);
	else
		err = umfs_ulog_swap(fs, ino, u, false);
	if (err)
		return err;
	umfs_drain();
	if (in->size != u->rec_old_size) {
		umfs_store64_nodrain(&in->size, u->rec_old_size);
		umfs_drain();
	}
	umfs_ulog_retire(u);
	umfs_drain();
	return 0;
}

int umfs_ulog_rollback(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_ulog *pages[UMFS_ULOG_CHAIN_LIMIT];
	unsigned n;
	bool cut;
	int err;

	n = ulog_chain(fs, ino, pages, UMFS_ULOG_CHAIN_LIMIT, &cut);
	if (n == 0 || !pages[0]->rec_seq)
		return 0;
	err = ulog_rec_check(fs, ino, pages, n);
	if (err)
		return -EUCLEAN;
	return ulog_undo(fs, ino, pages);
}

/* Recovers one inode's U-Log: rollback, then the chain goes. */
static int ulog_recover_one(struct umfs_fs *fs, uint64_t ino, struct umfs_recover_stats *st)
{
	struct umfs_ulog *pages[UMFS_ULOG_CHAIN_LIMIT];
	struct umfs_inode *in = umfs_inode(fs, ino);
	unsigned n;
	bool cut;
	int err;

	/* Resealing a damaged inode would launder its damage: leave it to fsck. */
	if (umfs_inode_csum(in) != in->csum) {
		st->ulog_bad++;
		return 0;
	}
	n = ulog_chain(fs, ino, pages, UMFS_ULOG_CHAIN_LIMIT, &cut);
	if (cut)
		st->ulog_bad++;
	if (n && pages[0]->rec_seq) {
		err = ulog_rec_check(fs, ino, pages, n);
		if (err == -EUCLEAN) {
			st->ulog_bad++;
		} else if (!err) {
			err = ulog_undo(fs, ino, pages);
			if (err == -EUCLEAN || err == -EBADMSG)
				st->ulog_bad++; /* a tree the record does not fit */
			else if (err)
				return err;
			else
				st->ulog_rolled_back++;
		}
		/* A record that fails its checksum was torn while being written:
		 * nothing was changed in place yet. */
		if (pages[0]->rec_seq) {
			umfs_ulog_retire(pages[0]);
			umfs_drain();
		}
	}
	umfs_meta_lock(fs);
	err = fs->be->ulog_drop(fs, ino, st);
	umfs_meta_unlock(fs);
	if (!err)
		st->ulogs_freed++;
	return err;
}

/* Rolls back ino's record if it is valid, keeping the chain. */
static int ulog_undo_one(struct umfs_fs *fs, uint64_t ino, struct umfs_recover_stats *st)
{
	struct umfs_ulog *pages[UMFS_ULOG_CHAIN_LIMIT];
	unsigned n;
	bool cut;
	int err;

	if (umfs_inode_csum(umfs_inode(fs, ino)) != umfs_inode(fs, ino)->csum)
		return 0;
	n = ulog_chain(fs, ino, pages, UMFS_ULOG_CHAIN_LIMIT, &cut);
	if (!n || !pages[0]->rec_seq || ulog_rec_check(fs, ino, pages, n))
		return 0;
	err = ulog_undo(fs, ino, pages);
	if (!err)
		st->ulog_rolled_back++;
	return err;
}

/* Calls fn for every live inode with a U-Log. */
static int ulog_each(struct umfs_fs *fs, struct umfs_recover_stats *st,
		     int (*fn)(struct umfs_fs *, uint64_t, struct umfs_recover_stats *))
{
	for (uint64_t w = 0; w < UMFS_DIV_ROUND_UP(fs->inode_count, 64); w++) {
		uint64_t bits = fs->ibitmap[w];

		while (bits) {
			uint64_t ino = w * 64 + (uint64_t)__builtin_ctzll(bits);
			int err;

			bits &= bits - 1;
			if (ino >= fs->inode_count || ino < UMFS_ROOT_INO ||
			    !umfs_inode(fs, ino)->ulog || !umfs_inode_live(fs, ino))
				continue;
			err = fn(fs, ino, st);
			if (err)
				return err;
		}
	}
	return 0;
}

int umfs_ulog_undo_all(struct umfs_fs *fs, struct umfs_recover_stats *st)
{
	struct umfs_recover_stats dummy = { 0 };

	if (fs->pm.rdonly)
		return -EROFS;
	return ulog_each(fs, st ? st : &dummy, ulog_undo_one);
}

int umfs_ulog_recover(struct umfs_fs *fs, struct umfs_recover_stats *st)
{
	struct umfs_recover_stats dummy = { 0 };

	if (fs->pm.rdonly)
		return -EROFS;
	return ulog_each(fs, st ? st : &dummy, ulog_recover_one);
}
