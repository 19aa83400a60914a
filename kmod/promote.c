// SPDX-License-Identifier: GPL-2.0
/*
 * promote.c - files of height 0 (one page) and 1 (up to 2 MiB) have no
 * 1 GiB table to splice. The module builds one for the attachment in DRAM
 * pages it owns: a level-2 table whose entry 0 points at the file's level-1
 * table (height 1), or at a DRAM level-1 table whose entry 0 is the file's
 * single data page (height 0). The pool is not changed, and the file's own
 * table stays shared, so data pages the file gains later in its first 2 MiB
 * appear in the attachment. Growing past 2 MiB makes user space build a new
 * root above the old one; the old root stays valid as its entry 0, so the
 * attachment keeps working for the first 2 MiB until it is re-attached.
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

/* Sets att->vals[0] to a table entry for a file of height 0 or 1. */
int umfs_km_promote(const struct umfs_km_pool *p, const struct umfs_inode *in,
		    struct umfs_km_att *att)
{
	u64 *l2, *l1, below;

	att->promo[0] = umfs_km_promote_page();
	if (!att->promo[0])
		return -ENOMEM;
	below = (p->phys + in->pt_root) | UMFS_PTE_TABLE_FLAGS;
	if (in->pt_height == 0) {
		att->promo[1] = umfs_km_promote_page();
		if (!att->promo[1]) {
			umfs_km_promote_free(att);
			return -ENOMEM;
		}
		l1 = page_address(att->promo[1]);
		l1[0] = (p->phys + in->pt_root) | UMFS_PTE_LEAF4K_FLAGS;
		below = page_to_phys(att->promo[1]) | UMFS_PTE_TABLE_FLAGS;
	}
	l2 = page_address(att->promo[0]);
	l2[0] = below;
	att->vals[0] = page_to_phys(att->promo[0]) | UMFS_PTE_TABLE_FLAGS;
	return 0;
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
