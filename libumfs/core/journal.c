/* SPDX-License-Identifier: MIT */
/*
 * journal.c - metadata transactions as an undo log of byte ranges.
 *
 * Protocol, per slot:
 *   add:    append a record (old bytes of the range, checksummed, tagged with
 *           the transaction's seq) and persist it; the first add also sets
 *           active_seq. Only then may the caller change the range in place.
 *           A call that knows several ranges before changing any saves them
 *           (records written and flushed; a record's last line with the
 *           next record or the seal) and seals them with one fence; none
 *           of those ranges changes before the seal.
 *   commit: persist every changed range, then clear active_seq (one 8-byte
 *           store): from that fence on the transaction is durable.
 *   crash:  recovery restores the valid records of an active slot in reverse
 *           order (the oldest snapshot of a range wins) and clears active_seq.
 * A torn record fails its checksum and ends the scan; neither its range nor
 * that of any record after it had been touched yet, because the caller
 * waits for the fence that covers them all.
 * Sequence numbers never repeat (a persisted reservation is bumped ahead of
 * use), so a stale record left from an older transaction never matches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "alloc.h"
#include "fs.h"
#include "persist.h"
#include "testhooks.h"
#include "umfs_journal.h"

#define SEQ_RESERVE (1ull << 20) /* sequence numbers reserved per persisted bump */
#define RANGE_DEDUP_WINDOW 16    /* recent ranges checked for a repeated add */

static struct umfs_jslot_hdr *slot_hdr(const struct umfs_fs *fs, uint32_t i)
{
	return (struct umfs_jslot_hdr *)(fs->base + umfs_jslot_off(&fs->sb, i));
}

int umfs_journal_open(struct umfs_fs *fs)
{
	struct umfs_tx *tx = &fs->tx;

	memset(tx, 0, sizeof(*tx));
	tx->hdr = slot_hdr(fs, 0);
	tx->slot = (uint8_t *)tx->hdr;
	tx->slot_size = fs->sb.journal_slot_size;
	tx->seq = tx->hdr->next_seq;
	tx->seq_limit = tx->seq; /* forces a persisted reservation at the first begin */
	return 0;
}

bool umfs_journal_idle(const struct umfs_fs *fs, bool all)
{
	for (uint32_t i = 0; i < (all ? fs->sb.journal_slots : 1); i++)
		if (slot_hdr(fs, i)->active_seq != 0)
			return false;
	return true;
}

void umfs_journal_close(struct umfs_fs *fs)
{
	free(fs->tx.ranges);
	free(fs->tx.frees);
	fs->tx.ranges = NULL;
	fs->tx.frees = NULL;
}

/* The journal's rules (umfs_journal.h) over this mount's mapping. */
static struct umfs_jenv jenv_of(const struct umfs_fs *fs)
{
	return (struct umfs_jenv){ .base = fs->base, .flush = umfs_flush, .fence = umfs_drain };
}

int umfs_journal_recover(struct umfs_fs *fs, unsigned *rolled_back, unsigned *bad_records)
{
	struct umfs_jgeom geom = umfs_jgeom_of(&fs->sb);
	struct umfs_jenv env = jenv_of(fs);
	uint32_t max = umfs_jslot_max_records(&geom);
	unsigned rolled = 0, bad = 0;
	uint32_t *pos;

	pos = malloc(max * sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	for (uint32_t i = 0; i < fs->sb.journal_slots; i++) {
		struct umfs_jslot_hdr *h = slot_hdr(fs, i);
		uint32_t n;
		int stopped_bad;

		if (!umfs_jslot_hdr_ok(h, i)) {
			bad++;
			if (fs->pm.rdonly)
				continue;
			/* A damaged header cannot name a transaction: reinitialise. */
			memset(h, 0, sizeof(*h));
			h->magic = UMFS_JSLOT_MAGIC;
			h->slot = i;
			h->next_seq = 1;
			umfs_persist(h, sizeof(*h));
			continue;
		}
		if (h->active_seq == 0)
			continue;
		if (fs->pm.rdonly) {
			free(pos);
			return -EROFS;
		}
		n = umfs_jslot_scan(&geom, h, h->active_seq, pos, max, &stopped_bad);
		bad += (unsigned)stopped_bad;
		umfs_jslot_restore(&env, &geom, h, pos, n);
		umfs_jslot_retire(&env, h);
		rolled++;
	}
	free(pos);
	if (rolled_back)
		*rolled_back = rolled;
	if (bad_records)
		*bad_records = bad;
	return 0;
}

static int ranges_push(struct umfs_tx *tx, void *addr, size_t len, size_t rec_pos)
{
	if (tx->nranges == tx->cap_ranges) {
		size_t cap = tx->cap_ranges ? tx->cap_ranges * 2 : 64;
		struct umfs_tx_range *r = realloc(tx->ranges, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		tx->ranges = r;
		tx->cap_ranges = cap;
	}
	tx->ranges[tx->nranges].addr = addr;
	tx->ranges[tx->nranges].len = len;
	tx->ranges[tx->nranges].rec_pos = rec_pos;
	tx->nranges++;
	return 0;
}

void umfs_tx_seq_renew(struct umfs_fs *fs)
{
	/* The next begin starts past what the slot's header has reserved by
	 * then and persists a fresh reservation. Nothing of the pool is read
	 * now: a fork child, which comes here first, has none of the pool's
	 * pages mapped yet, and most children exec before any transaction. */
	fs->tx.seq_limit = fs->tx.seq;
}

int umfs_tx_begin(struct umfs_fs *fs)
{
	struct umfs_tx *tx = &fs->tx;

	if (fs->pm.rdonly)
		return -EROFS;
	if (tx->active)
		return -EBUSY; /* nested transactions are a bug in the caller */
	if (tx->seq >= tx->seq_limit) {
		/* another process sharing the slot may have reserved a block
		 * since: start past it, so no two mounts issue the same seq */
		if (tx->hdr->next_seq > tx->seq)
			tx->seq = tx->hdr->next_seq;
		tx->seq_limit = tx->seq + SEQ_RESERVE;
		umfs_store64_nodrain(&tx->hdr->next_seq, tx->seq_limit);
		umfs_drain();
	}
	tx->seq++;
	tx->active = true;
	fs->share_changed = true; /* others must recount what we change */
	tx->used = sizeof(struct umfs_jslot_hdr);
	tx->flushed = tx->used;
	tx->unsealed = false;
	tx->nranges = 0;
	tx->nfrees = 0;
	tx->frees_cost = 0;
	tx->pages_delta = 0;
	tx->inodes_delta = 0;
	tx->undo = NULL;
	return 0;
}

/* True when [p, p+len) lies inside a range snapshotted recently, or
 * declared fresh (umfs_tx_dirty: what it held before the transaction
 * never matters, so neither does what a later change overwrites). */
static bool already_saved(const struct umfs_tx *tx, const uint8_t *p, size_t len)
{
	size_t n = tx->nranges, stop = n > RANGE_DEDUP_WINDOW ? n - RANGE_DEDUP_WINDOW : 0;

	while (n-- > stop) {
		const struct umfs_tx_range *r = &tx->ranges[n];
		const uint8_t *a = r->addr;

		if (p >= a && p + len <= a + r->len)
			return true;
	}
	return false;
}

/*
 * Flushes the records written since the last flush up to `end`, a line at
 * a time. Records lie back to back, so a record's last line is usually the
 * next one's first: a store to a line whose write-back is still in flight
 * waits for it (about 0.5 us on this VM, as long as a fence), so that line
 * is left for the next record's flush, or the seal's.
 */
static void records_flush(struct umfs_tx *tx, size_t end)
{
	size_t from = UMFS_ALIGN_DOWN(tx->flushed, UMFS_CACHELINE);

	if (end > from) {
		umfs_flush(tx->slot + from, end - from);
		tx->flushed = end;
	}
}

/* Writes and flushes the record of [addr, addr+len), without the fence
 * (its last, partly written line is flushed by the next record or the seal). */
int umfs_tx_save(struct umfs_fs *fs, const void *addr, size_t len)
{
	struct umfs_tx *tx = &fs->tx;
	struct umfs_jenv env;
	size_t need;
	int err;

	if (!tx->active)
		return -EINVAL;
	if (len == 0 || already_saved(tx, addr, len))
		return 0;
	need = umfs_jrec_span(len);
	if (need > tx->slot_size - tx->used)
		return -ENOSPC;
	err = ranges_push(tx, (void *)addr, len, tx->used);
	if (err)
		return err;

	umfs_jrec_fill((struct umfs_jrec *)(tx->slot + tx->used), tx->seq, umfs_ptr_off(fs, addr),
		       addr, (uint32_t)len);
	records_flush(tx, UMFS_ALIGN_DOWN(tx->used + sizeof(struct umfs_jrec) + len, UMFS_CACHELINE));
	env = jenv_of(fs);
	umfs_jslot_activate(&env, tx->hdr, tx->seq);
	tx->used += need;
	tx->unsealed = true;
	return 0;
}

void umfs_tx_seal(struct umfs_fs *fs)
{
	if (!fs->tx.unsealed)
		return;
	records_flush(&fs->tx, fs->tx.used);
	if (!UMFS_FAULT(UMFS_FAULT_TX_NO_SEAL))
		umfs_drain(); /* the records are durable before the caller changes a range */
	fs->tx.unsealed = false;
}

int umfs_tx_add(struct umfs_fs *fs, const void *addr, size_t len)
{
	int err = umfs_tx_save(fs, addr, len);

	/* also when the range was saved already: it may not be sealed yet */
	if (!err)
		umfs_tx_seal(fs);
	return err;
}

int umfs_tx_dirty(struct umfs_fs *fs, const void *addr, size_t len)
{
	if (!fs->tx.active)
		return -EINVAL;
	return len ? ranges_push(&fs->tx, (void *)addr, len, 0) : 0;
}

size_t umfs_tx_room(const struct umfs_fs *fs)
{
	size_t left = fs->tx.slot_size - fs->tx.used;

	return left > fs->tx.frees_cost ? left - fs->tx.frees_cost : 0;
}

int umfs_tx_commit(struct umfs_fs *fs)
{
	struct umfs_tx *tx = &fs->tx;
	struct umfs_jenv env = jenv_of(fs);
	int err;

	if (!tx->active)
		return -EINVAL;
	err = umfs_page_free_apply(fs);
	if (err) {
		umfs_tx_abort(fs);
		return err;
	}
	records_flush(tx, tx->used); /* records saved and never sealed */
	for (size_t i = 0; i < tx->nranges; i++)
		umfs_flush(tx->ranges[i].addr, tx->ranges[i].len);
	umfs_drain();
	if (tx->hdr->active_seq == tx->seq)
		umfs_jslot_close(&env, tx->hdr);
	tx->active = false;
	return 0;
}

void umfs_tx_abort(struct umfs_fs *fs)
{
	struct umfs_tx *tx = &fs->tx;
	struct umfs_jgeom geom = umfs_jgeom_of(&fs->sb);
	struct umfs_jenv env = jenv_of(fs);

	if (!tx->active)
		return;
	/* Newest snapshot first, so that the oldest copy of a range wins. */
	for (size_t i = tx->nranges; i-- > 0;)
		if (tx->ranges[i].rec_pos)
			umfs_jrec_restore(&env, &geom,
					  (const struct umfs_jrec *)(tx->slot + tx->ranges[i].rec_pos));
	umfs_drain();
	if (tx->hdr->active_seq == tx->seq)
		umfs_jslot_close(&env, tx->hdr);
	fs->free_pages -= (uint64_t)tx->pages_delta;
	fs->free_inodes -= (uint64_t)tx->inodes_delta;
	tx->nfrees = 0;
	tx->active = false;
	/* what the backend made outside the tx for it goes back too */
	if (tx->undo)
		tx->undo(fs, tx->undo_arg);
}

int umfs_tx_loop(struct umfs_fs *fs, int (*step)(struct umfs_fs *fs, void *arg), void *arg)
{
	int more, err;

	do {
		umfs_meta_lock(fs);
		err = umfs_tx_begin(fs);
		if (err) {
			umfs_meta_unlock(fs);
			return err;
		}
		more = step(fs, arg);
		if (more < 0) {
			umfs_tx_abort(fs);
			umfs_meta_unlock(fs);
			return more;
		}
		err = umfs_tx_commit(fs);
		umfs_meta_unlock_step(fs);
		if (err)
			return err;
	} while (more);
	return 0;
}

int umfs_tx_set64(struct umfs_fs *fs, uint64_t *field, uint64_t val)
{
	int err = umfs_tx_add(fs, field, sizeof(*field));

	if (!err)
		*field = val;
	return err;
}
