// SPDX-License-Identifier: GPL-2.0
/*
 * promote.c - files of height 0 (one page) and 1 (up to 2 MiB), and files
 * whose level-1 entries are inline in the inode (up to 17 pages), have no
 * 1 GiB table to splice. The module builds one for the attachment in DRAM
 * pages it owns: a level-2 table whose entry 0 points at the file's level-1
 * table (height 1), or at a DRAM level-1 table holding the file's single
 * data page (height 0) or a copy of its inline entries (an inline table is
 * 136 bytes inside an inode, not a page the MMU could walk). The pool is
 * not changed. A height-1 file's own table stays shared, so data pages the
 * file gains later in its first 2 MiB appear in the attachment; an inline
 * file's gains are copied in by EXTEND (umfs_km_promote_refresh). Growing
 * past 2 MiB (or past 17 pages) makes the tree taller, with the old root as
 * entry 0, or moves the inline entries to a table page, so the attachment
 * keeps working for the pages it had until it is re-attached.
 */
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "umfs_km.h"

static struct page *umfs_km_promote_page(void)
{
	struct page *pg = alloc_page(GFP_KERNEL | __GFP_ZERO);

	if (!pg)
		return NULL;
	spin_lock_init(ptlock_ptr(pg)); /* the fault path locks table pages */
	atomic64_inc(&umfs_km_cnt.promoted);
	return pg;
}

/* Copies the inline entries of in into the DRAM level-1 table l1 where it
 * has none: each one decoded by the format's rule and rebuilt from its
 * checked offset, never copied as found; -EUCLEAN for a bad one. */
static int umfs_km_promote_inline(const struct umfs_km_pool *p, const struct umfs_inode *in,
				  u64 *l1)
{
	unsigned int i;
	bool huge;
	u64 e, off;

	for (i = 0; i < UMFS_PT_INLINE_ENTRIES; i++) {
		e = READ_ONCE(in->pt_inline[i]);
		if (!e || READ_ONCE(l1[i]))
			continue;
		if (umfs_km_child(p, e, 1, &off, &huge))
			return -EUCLEAN;
		WRITE_ONCE(l1[i], (p->phys + off) | UMFS_PTE_LEAF4K_FLAGS);
	}
	return 0;
}

/* Sets att->vals[0] to a table entry for a file of height 0 or 1, or with
 * an inline table (a checked snapshot in). */
int umfs_km_promote(const struct umfs_km_pool *p, const struct umfs_inode *in,
		    struct umfs_km_att *att)
{
	u64 *l2, *l1, below;
	int err;

	att->promo[0] = umfs_km_promote_page();
	if (!att->promo[0])
		return -ENOMEM;
	below = (p->phys + in->pt_root) | UMFS_PTE_TABLE_FLAGS;
	if (in->pt_height != 1) { /* no level-1 table of its own in the pool */
		att->promo[1] = umfs_km_promote_page();
		if (!att->promo[1]) {
			umfs_km_promote_free(att);
			return -ENOMEM;
		}
		l1 = page_address(att->promo[1]);
		if (umfs_km_is_inline(in)) {
			err = umfs_km_promote_inline(p, in, l1);
			if (err) {
				umfs_km_promote_free(att);
				return err;
			}
		} else {
			l1[0] = (p->phys + in->pt_root) | UMFS_PTE_LEAF4K_FLAGS;
		}
		below = page_to_phys(att->promo[1]) | UMFS_PTE_TABLE_FLAGS;
	}
	l2 = page_address(att->promo[0]);
	l2[0] = below;
	att->vals[0] = page_to_phys(att->promo[0]) | UMFS_PTE_TABLE_FLAGS;
	return 0;
}

/*
 * An EXTEND filled holes of inode ino's inline table: the DRAM copies of
 * its spliced attachments get the new leaves, as a height-1 file's shared
 * table shows them. Only leaves where a copy has none: every call that
 * takes or moves a page (FREE, EXCHANGE) unspliced the copies first, so a
 * spliced copy holds a subset of the live entries. Writing a present
 * entry where there was none needs no TLB flush. An ATTACH that read the
 * inode before the EXTEND and splices after it misses them: SIGBUS there,
 * as at a new 1 GiB slot of any file, until it attaches again.
 */
void umfs_km_promote_refresh(const struct umfs_km_pool *p, u64 ino, const struct umfs_inode *in)
{
	struct umfs_km_att *att;

	spin_lock(&umfs_km_att_lock);
	list_for_each_entry(att, &umfs_km_all_atts, all_link)
		if (att->ino == ino && att->spliced && att->promo[1])
			umfs_km_promote_inline(p, in, page_address(att->promo[1]));
	spin_unlock(&umfs_km_att_lock);
}

/* Only after the attachment is unspliced and every TLB flushed. */
void umfs_km_promote_free(struct umfs_km_att *att)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (att->promo[i]) {
			__free_page(att->promo[i]);
			att->promo[i] = NULL;
			atomic64_dec(&umfs_km_cnt.promoted);
		}
	}
}
