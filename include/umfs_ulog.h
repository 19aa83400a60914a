/* SPDX-License-Identifier: MIT */
/*
 * umfs_ulog.h - what makes a U-Log page, chain and record valid: the page's
 * stamp, the walk of a chain (each link checked before it is followed) and
 * the fields of a record of each kind. The core (ulog.c), fsck.umfs and the
 * kernel module (ulog.c, exchange.c) compile this text, so a chain or a
 * record one of them accepts is the one the others accept. Like
 * umfs_ptwalk.h it uses only what umfs_format.h gives (no libc); each
 * program supplies where the pool's bytes are (struct umfs_ulog_env).
 *
 * Rolling a record back stays the core's (the module never recovers a
 * record: it leaves a live one to the core and fsck).
 */
#ifndef UMFS_ULOG_H
#define UMFS_ULOG_H

#include "umfs_format.h"

/* Chain length recovery and fsck accept: more than UMFS_ULOG_MAX_PAGES,
 * so that a longer chain written by other code is still released. */
#define UMFS_ULOG_CHAIN_LIMIT 64

/* Where a program reaches the pool: its first byte, the data zone, and the
 * page bitmap (one bit per data page, in le64 words). */
struct umfs_ulog_env {
	const umfs_u8 *base;
	umfs_u64 data_off, data_pages;
	const umfs_le64 *pbitmap;
};

/* u carries the stamp of ino's chain: magic, inode, generation, csum. */
static inline int umfs_ulog_page_stamped(const struct umfs_ulog *u, umfs_u64 ino, umfs_u32 gen)
{
	return umfs_le64_to_cpu(u->magic) == UMFS_ULOG_MAGIC && umfs_le64_to_cpu(u->ino) == ino &&
	       umfs_le32_to_cpu(u->generation) == gen &&
	       umfs_le32_to_cpu(u->csum) == umfs_ulog_csum(u);
}

/* off is an allocated data page stamped for ino's chain. */
static inline int umfs_ulog_page_ok(const struct umfs_ulog_env *e, umfs_u64 off, umfs_u64 ino,
				    umfs_u32 gen)
{
	umfs_u64 page = (off - e->data_off) >> UMFS_PAGE_SHIFT;

	if (!umfs_off_is_data_page(e->data_off, e->data_pages, off) ||
	    !((umfs_le64_to_cpu(e->pbitmap[page / 64]) >> (page % 64)) & 1))
		return 0;
	return umfs_ulog_page_stamped((const struct umfs_ulog *)(e->base + off), ino, gen);
}

/*
 * The pool offsets of the valid pages of the chain whose head is at off,
 * in offs[0..n), n returned (at most max). The walk stops at a page that
 * is not ino's, at one seen before (a loop), or at max; *cut is set when
 * a link remains that it did not follow.
 */
static inline unsigned int umfs_ulog_chain_walk(const struct umfs_ulog_env *e, umfs_u64 off,
						umfs_u64 ino, umfs_u32 gen, umfs_u64 *offs,
						unsigned int max, int *cut)
{
	unsigned int n = 0, i;

	while (off && n < max) {
		for (i = 0; i < n; i++)
			if (offs[i] == off)
				break;
		if (i < n || !umfs_ulog_page_ok(e, off, ino, gen))
			break;
		offs[n++] = off;
		off = umfs_le64_to_cpu(
			*(const volatile umfs_le64 *)&((const struct umfs_ulog *)(e->base + off))->next);
	}
	*cut = off != 0;
	return n;
}

/*
 * The fields of the live record of ino's chain head u, before its checksum
 * (which the caller checks over the data it reads): a kind this format
 * knows, bounds that fit a file (and, for BYTES, the chain's chain_pages
 * pages), old_size a size a file may have; a SWAP record names a shadow
 * other than the file, and has exchanged no more pages than it covers.
 */
static inline int umfs_ulog_rec_ok(const struct umfs_ulog *u, umfs_u64 ino,
				   unsigned int chain_pages)
{
	const umfs_u64 max_pages = UMFS_MAX_FILE_SIZE >> UMFS_PAGE_SHIFT;
	umfs_u64 off = umfs_le64_to_cpu(u->rec_off), len = umfs_le64_to_cpu(u->rec_len);

	if (umfs_le64_to_cpu(u->rec_old_size) > UMFS_MAX_FILE_SIZE)
		return 0;
	switch (umfs_le32_to_cpu(u->rec_kind)) {
	case UMFS_ULOG_REC_BYTES:
		return len && len <= (umfs_u64)chain_pages * UMFS_ULOG_DATA_SIZE &&
		       off <= UMFS_MAX_FILE_SIZE && len <= UMFS_MAX_FILE_SIZE - off;
	case UMFS_ULOG_REC_PAGE:
		return len == sizeof(struct umfs_ulog_page) && umfs_off_is_aligned(off) &&
		       off < UMFS_MAX_FILE_SIZE;
	case UMFS_ULOG_REC_SWAP:
		return len && off < max_pages && len <= max_pages - off &&
		       umfs_le64_to_cpu(u->rec_done) <= len &&
		       umfs_le64_to_cpu(u->rec_aux_ino) != ino;
	default:
		return 0;
	}
}

/* sh, checked by the caller as an inode in use, is the shadow SWAP record
 * u names: the generation it recorded, a regular file, unlinked and an
 * orphan (the shadow is reclaimed like one). */
static inline int umfs_ulog_shadow_ok(const struct umfs_inode *sh, const struct umfs_ulog *u)
{
	return umfs_le32_to_cpu(sh->generation) == umfs_le32_to_cpu(u->rec_aux_gen) &&
	       (umfs_le32_to_cpu(sh->mode) & 0170000) == 0100000 /* S_IFREG */ &&
	       umfs_le32_to_cpu(sh->nlink) == 0 && (umfs_le32_to_cpu(sh->flags) & UMFS_IF_ORPHAN);
}

#endif /* UMFS_ULOG_H */
