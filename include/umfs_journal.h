/* SPDX-License-Identifier: MIT */
/*
 * umfs_journal.h - the journal's records in use: writing one, marking and
 * closing a slot's transaction, restoring records and retiring a slot
 * after a rollback. The core (journal.c) and the kernel module (ktx.c)
 * compile this text, so either rolls back what the other left, the same
 * way; fsck.umfs rolls back through the core. Like umfs_ptwalk.h it uses
 * only what umfs_format.h gives (no libc); each program supplies how it
 * reaches and persists the pool (struct umfs_jenv).
 *
 * Which records count is umfs_rules.h's (umfs_jrec_check, umfs_jslot_scan);
 * a restore checks its range against the same rule once more, so no
 * record, whoever wrote it, writes outside what a transaction may change.
 */
#ifndef UMFS_JOURNAL_H
#define UMFS_JOURNAL_H

#include "umfs_format.h"

/* How a program reaches the pool and makes its stores durable. */
struct umfs_jenv {
	umfs_u8 *base;                                  /* pool offset 0, mapped */
	void (*flush)(const void *addr, umfs_size len); /* write back, unordered */
	void (*fence)(void);                            /* earlier write-backs done */
};

/* One 8-byte store the compiler neither splits nor moves past another. */
static inline void umfs_jstore64(umfs_le64 *dst, umfs_u64 val)
{
	*(volatile umfs_le64 *)dst = umfs_cpu_to_le64(val);
}

/* Writes at r the record of the len bytes at src (pool offset off) for
 * transaction seq, checksum last; returns the bytes it takes in the slot.
 * Not written back: the caller flushes and fences it before the range
 * changes. */
static inline umfs_u64 umfs_jrec_fill(struct umfs_jrec *r, umfs_u64 seq, umfs_u64 off,
				      const void *src, umfs_u32 len)
{
	r->seq = umfs_cpu_to_le64(seq);
	r->off = umfs_cpu_to_le64(off);
	r->len = umfs_cpu_to_le32(len);
	__builtin_memcpy(r + 1, src, len);
	r->csum = umfs_cpu_to_le32(umfs_jrec_csum(r, r + 1));
	return umfs_jrec_span(len);
}

/* Makes seq the slot's active transaction with its first record: written
 * back, fenced by the caller with that record. */
static inline void umfs_jslot_activate(const struct umfs_jenv *env, struct umfs_jslot_hdr *h,
				       umfs_u64 seq)
{
	if (umfs_le64_to_cpu(h->active_seq) == seq)
		return;
	umfs_jstore64(&h->active_seq, seq);
	env->flush(&h->active_seq, sizeof(h->active_seq));
}

/* Clears active_seq, durably: the commit point of a transaction whose
 * ranges are durable already, or the end of a rollback. */
static inline void umfs_jslot_close(const struct umfs_jenv *env, struct umfs_jslot_hdr *h)
{
	umfs_jstore64(&h->active_seq, 0);
	env->flush(h, sizeof(*h));
	env->fence();
}

/* Copies record r's saved bytes back over its range and writes them back,
 * unfenced; -EUCLEAN, and nothing written, for a range no transaction
 * changes. */
static inline int umfs_jrec_restore(const struct umfs_jenv *env, const struct umfs_jgeom *g,
				    const struct umfs_jrec *r)
{
	umfs_u64 off = umfs_le64_to_cpu(r->off);
	umfs_u32 len = umfs_le32_to_cpu(r->len);

	if (!umfs_jrec_range_ok(g, off, len))
		return -EUCLEAN;
	__builtin_memcpy(env->base + off, r + 1, len);
	env->flush(env->base + off, len);
	return 0;
}

/* Restores the records of slot at positions pos[0..n) (umfs_jslot_scan's)
 * newest first, so that the oldest snapshot of a range wins, then fences. */
static inline void umfs_jslot_restore(const struct umfs_jenv *env, const struct umfs_jgeom *g,
				      const void *slot, const umfs_u32 *pos, umfs_u32 n)
{
	while (n--)
		umfs_jrec_restore(env, g, (const struct umfs_jrec *)((const umfs_u8 *)slot + pos[n]));
	env->fence();
}

/* Ends a rollback of slot h: next_seq moved past active_seq, so that no
 * record left in the slot matches a later transaction, then the slot is
 * closed. */
static inline void umfs_jslot_retire(const struct umfs_jenv *env, struct umfs_jslot_hdr *h)
{
	umfs_u64 seq = umfs_le64_to_cpu(h->active_seq);

	if (umfs_le64_to_cpu(h->next_seq) <= seq)
		umfs_jstore64(&h->next_seq, seq + 1);
	umfs_jslot_close(env, h);
}

#endif /* UMFS_JOURNAL_H */
