// SPDX-License-Identifier: GPL-2.0
/*
 * notifier.c - the mmu_notifier that unsplices before the kernel walks.
 *
 * munmap (unmap_vmas), mremap (move_page_tables), zaps and exit
 * (exit_mmap) call invalidate_range_start or release before they walk or
 * free page tables. Left spliced, the kernel would zap the file's shared
 * entries and free its table pages as the process's own. So both callbacks
 * clear the process's PUD entries that point at attached tables, then flush
 * every CPU's TLB, before returning. One notifier per mm, shared by every
 * open of /dev/umfs in it (mmu_notifier_get: the first registration in an
 * mm takes all its locks, so it is done at open, not per ATTACH).
 */
#include <linux/err.h>
#include <linux/mmu_notifier.h>
#include <linux/slab.h>

#include "umfs_km.h"

static struct mmu_notifier *umfs_km_mn_alloc(struct mm_struct *mm)
{
	struct umfs_km_mn *kmn = kzalloc(sizeof(*kmn), GFP_KERNEL);

	if (!kmn)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&kmn->atts);
	return &kmn->mn;
}

static void umfs_km_mn_free(struct mmu_notifier *mn)
{
	struct umfs_km_mn *kmn = container_of(mn, struct umfs_km_mn, mn);

	/* every vma of ours held the file, so every attachment is gone */
	WARN_ON_ONCE(!list_empty(&kmn->atts));
	kfree(kmn);
}

/* Unsplices kmn's attachments overlapping [start, end). Never sleeps: the
 * callers include non-blockable invalidations. */
static void umfs_km_mn_unsplice(struct umfs_km_mn *kmn, unsigned long start, unsigned long end)
{
	struct umfs_km_att *att;
	bool flush = false;

	spin_lock(&umfs_km_att_lock);
	list_for_each_entry(att, &kmn->atts, mm_link) {
		unsigned long a_end = att->addr + ((unsigned long)att->nslots << PUD_SHIFT);

		if (att->spliced && att->addr < end && start < a_end)
			flush |= umfs_km_unsplice_locked(att);
	}
	if (flush)
		umfs_km_tlb_flush_all(); /* before a close can free promoted tables */
	spin_unlock(&umfs_km_att_lock);
}

static int umfs_km_mn_invalidate_start(struct mmu_notifier *mn,
				       const struct mmu_notifier_range *range)
{
	umfs_km_mn_unsplice(container_of(mn, struct umfs_km_mn, mn), range->start, range->end);
	return 0;
}

static void umfs_km_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	umfs_km_mn_unsplice(container_of(mn, struct umfs_km_mn, mn), 0, ULONG_MAX);
}

static const struct mmu_notifier_ops umfs_km_mn_ops = {
	.release = umfs_km_mn_release,
	.invalidate_range_start = umfs_km_mn_invalidate_start,
	.alloc_notifier = umfs_km_mn_alloc,
	.free_notifier = umfs_km_mn_free,
};

struct umfs_km_mn *umfs_km_mn_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn = mmu_notifier_get(&umfs_km_mn_ops, mm);

	if (IS_ERR(mn))
		return ERR_CAST(mn);
	return container_of(mn, struct umfs_km_mn, mn);
}

void umfs_km_mn_put(struct umfs_km_mn *kmn)
{
	mmu_notifier_put(&kmn->mn);
}

/* Waits for notifiers put earlier to be freed (module unload). */
void umfs_km_mn_sync(void)
{
	mmu_notifier_synchronize();
}
