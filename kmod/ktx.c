// SPDX-License-Identifier: GPL-2.0
/*
 * ktx.c - the module's own metadata transactions, in the pool's journal.
 *
 * The module uses the last journal slot (libumfs uses slot 0), with the
 * undo protocol and records of umfs_journal.h, which libumfs's journal.c
 * compiles too, so that either side rolls back what the other left behind:
 *   add:    append a record (old bytes, checksummed, tagged with seq) and
 *           persist it, with active_seq; only then change the range;
 *   commit: persist every range a record names, then clear active_seq.
 * New pages (zeroed tables and data) are persisted as they are made: no
 * record is needed for memory that was free, because rolling back the
 * bitmap frees it again. Sequence numbers are reserved in persisted blocks,
 * so a stale record of an abandoned transaction never matches a new one.
 * Callers hold umfs_km_pool_rwsem (read) and the pool's alloc mutex.
 */
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/string.h>

#include "umfs_km.h"
#include "../include/umfs_journal.h"

#define UMFS_KM_SEQ_RESERVE (1ull << 20)

/* Test hook (the crash tests of kmod-extend and kmod-meta): a transaction
 * stops before its Nth record, or before its commit when it has N - 1, as a
 * power cut would leave it, uncommitted; 0 = off. */
static unsigned long tx_stop;
module_param(tx_stop, ulong, 0644);
MODULE_PARM_DESC(tx_stop, "test hook: stop a transaction before its Nth record or its commit (0 = off)");

static bool umfs_km_tx_cut(const struct umfs_km_tx *tx)
{
	return tx_stop && tx->nrecs + 1 == READ_ONCE(tx_stop);
}

void umfs_km_tx_setup(struct umfs_km_pool *p, const struct umfs_superblock *sb)
{
	/* the last journal slot is the module's; libumfs uses slot 0 */
	if (sb->journal_slots >= 2) {
		p->kslot = sb->journal_slots - 1;
		p->kslot_size = sb->journal_slot_size;
		p->kslot_off = umfs_jslot_off(sb, p->kslot);
	}
	p->jgeom = umfs_jgeom_of(sb);
}

static struct umfs_jslot_hdr *umfs_km_tx_hdr(const struct umfs_km_pool *p)
{
	return umfs_km_off_ptr(p, p->kslot_off);
}

static void umfs_km_tx_flush(const void *addr, size_t len)
{
	arch_wb_cache_pmem((void *)addr, len);
}

static void umfs_km_tx_fence(void)
{
	wmb(); /* sfence: the write-backs complete before any later store */
}

/* The journal's rules (umfs_journal.h) over the pool's direct map. */
static struct umfs_jenv umfs_km_tx_env(const struct umfs_km_pool *p)
{
	return (struct umfs_jenv){ .base = p->kaddr, .flush = umfs_km_tx_flush,
				   .fence = umfs_km_tx_fence };
}

/* Restores the valid records of an active module slot, newest first, and
 * retires it. For MOUNT: the slot of a transaction a crash interrupted. A
 * record naming a range no transaction changes is left, with the whole
 * slot, to libumfs's recovery and fsck, which report it. */
int umfs_km_tx_recover(struct umfs_km_pool *p, u64 *restored)
{
	struct umfs_jslot_hdr *h = umfs_km_tx_hdr(p);
	struct umfs_jenv env = umfs_km_tx_env(p);
	u32 *pos, n, max = umfs_jslot_max_records(&p->jgeom);
	u64 seq = h->active_seq;
	int bad;

	*restored = 0;
	if (!umfs_jslot_hdr_ok(h, p->kslot))
		return -EUCLEAN; /* libumfs's recovery reinitialises a bad header */
	if (!seq)
		return 0;
	pos = kvmalloc_array(max, sizeof(*pos), GFP_KERNEL);
	if (!pos)
		return -ENOMEM;
	n = umfs_jslot_scan(&p->jgeom, h, seq, pos, max, &bad);
	if (!bad)
		umfs_jslot_restore(&env, &p->jgeom, h, pos, n);
	kvfree(pos);
	if (bad)
		return -EUCLEAN;
	*restored = n;
	umfs_jslot_retire(&env, h);
	p->kseq = p->kseq_limit = h->next_seq;
	return 0;
}

/* Rolls back what the transaction changed so far, as recovery would. */
void umfs_km_tx_abort(struct umfs_km_tx *tx)
{
	u64 restored;

	if (umfs_km_tx_recover(tx->p, &restored))
		pr_warn(UMFS_KM_NAME ": a transaction could not be rolled back; MOUNT will\n");
}

int umfs_km_tx_begin(struct umfs_km_tx *tx, struct umfs_km_pool *p)
{
	struct umfs_jslot_hdr *h = umfs_km_tx_hdr(p);

	if (!umfs_jslot_hdr_ok(h, p->kslot) || h->active_seq)
		return -EUCLEAN; /* a transaction nobody rolled back: recovery first */
	if (p->kseq >= p->kseq_limit) {
		/* another mount of the pool may have used seqs since */
		p->kseq = max(p->kseq, h->next_seq);
		p->kseq_limit = p->kseq + UMFS_KM_SEQ_RESERVE;
		WRITE_ONCE(h->next_seq, p->kseq_limit);
		umfs_km_persist(h, sizeof(*h));
	}
	memset(tx, 0, sizeof(*tx));
	tx->p = p;
	tx->hdr = h;
	tx->seq = ++p->kseq;
	tx->used = sizeof(*h);
	return 0;
}

u32 umfs_km_tx_room(const struct umfs_km_tx *tx)
{
	return tx->p->kslot_size - tx->used;
}

/* Saves [off, off + len) of the pool and makes the record durable. */
int umfs_km_tx_add(struct umfs_km_tx *tx, u64 off, u32 len)
{
	struct umfs_km_pool *p = tx->p;
	struct umfs_jenv env = umfs_km_tx_env(p);
	u32 need = (u32)umfs_jrec_span(len);
	struct umfs_jrec *r;

	if (need > umfs_km_tx_room(tx))
		return -ENOSPC;
	if (umfs_km_tx_cut(tx))
		return -EINTR;
	r = (struct umfs_jrec *)((u8 *)tx->hdr + tx->used);
	umfs_jrec_fill(r, tx->seq, off, umfs_km_off_ptr(p, off), len);
	arch_wb_cache_pmem(r, sizeof(*r) + len);
	umfs_jslot_activate(&env, tx->hdr, tx->seq);
	wmb(); /* the record is durable before the caller changes the range */
	tx->used += need;
	tx->nrecs++;
	return 0;
}

/* Persists every saved range (they hold the new bytes now), then retires
 * the transaction: from that fence on it is durable. -EINTR: the tx_stop
 * hook cut it first. */
int umfs_km_tx_commit(struct umfs_km_tx *tx)
{
	const u8 *slot = (const u8 *)tx->hdr;
	struct umfs_jenv env = umfs_km_tx_env(tx->p);
	u32 at = sizeof(struct umfs_jslot_hdr), i;

	if (!tx->nrecs)
		return 0;
	if (umfs_km_tx_cut(tx))
		return -EINTR;
	for (i = 0; i < tx->nrecs; i++) {
		const struct umfs_jrec *r = (const void *)(slot + at);

		arch_wb_cache_pmem(umfs_km_off_ptr(tx->p, r->off), r->len);
		at += (u32)umfs_jrec_span(r->len);
	}
	wmb();
	umfs_jslot_close(&env, tx->hdr);
	return 0;
}

int umfs_km_op_lock(struct umfs_km_op *op)
{
	memset(op, 0, sizeof(*op));
	down_read(&umfs_km_pool_rwsem);
	op->p = umfs_km_pool;
	if (op->p && op->p->kslot) {
		mutex_lock(&op->p->alloc_lock);
		return 0;
	}
	up_read(&umfs_km_pool_rwsem);
	/* a one-slot journal leaves none to the module */
	return op->p ? -EOPNOTSUPP : -ENODEV;
}

void umfs_km_op_set_inode(struct umfs_km_op *op, u64 ino)
{
	op->ino = ino;
	op->ino_off = op->p->inode_off + ino * sizeof(struct umfs_inode);
	op->in = umfs_km_off_ptr(op->p, op->ino_off);
}

int umfs_km_op_begin(struct umfs_km_op *op, u64 ino, u32 generation)
{
	int err = umfs_km_op_lock(op);

	if (err)
		return err;
	err = umfs_km_inode_get(op->p, ino, &op->snap);
	if (err == -ENOENT || (!err && op->snap.generation != generation))
		err = -ESTALE;
	if (err) {
		umfs_km_op_end(op);
		return err;
	}
	umfs_km_op_set_inode(op, ino);
	return 0;
}

void umfs_km_op_end(struct umfs_km_op *op)
{
	mutex_unlock(&op->p->alloc_lock);
	up_read(&umfs_km_pool_rwsem);
}

int umfs_km_inode_save(struct umfs_km_tx *tx, u64 off)
{
	const struct umfs_inode *in = umfs_km_off_ptr(tx->p, off);

	/* cache lines 0 and 1: mode to ctime, blocks, the tree root, csum;
	 * a regular file's lines 2 and 3 hold its inline entries, if any
	 * (a directory's hold libumfs's dir info, which the module leaves) */
	return umfs_km_tx_add(tx, off, S_ISREG(in->mode) ? sizeof(*in) : 128);
}

int umfs_km_op_save_inode(struct umfs_km_op *op)
{
	int err;

	if (op->inode_saved)
		return 0;
	err = umfs_km_inode_save(&op->tx, op->ino_off);
	op->inode_saved = !err;
	return err;
}

void umfs_km_op_set_root(struct umfs_km_op *op, u64 root, unsigned int height)
{
	umfs_km_inode_set_root(op->in, root, height);
}

int umfs_km_op_poolmap_check(void)
{
	if (atomic64_read(&umfs_km_cnt.poolmaps) && !capable(CAP_SYS_ADMIN))
		return -EBUSY;
	return 0;
}

int umfs_km_op_check_write(const struct umfs_inode *in, unsigned int also)
{
	int err;

	if (S_ISLNK(in->mode) && (also & UMFS_KM_CHECK_SYMLINK))
		/* a symlink's bits are always 0777: its target is its owner's */
		err = umfs_km_is_owner(in) || capable(CAP_FOWNER) ? 0 : -EPERM;
	else if (S_ISDIR(in->mode) && (also & UMFS_KM_CHECK_DIR))
		err = umfs_km_perm_dir_write(in);
	else if (!S_ISREG(in->mode))
		return S_ISDIR(in->mode) ? -EISDIR : -EINVAL;
	else
		err = umfs_km_perm_check(in, true);
	return err ? err : umfs_km_op_poolmap_check();
}
