// SPDX-License-Identifier: GPL-2.0
/*
 * superblock.c - the superblock rule of umfs_rules.h, which libumfs applies
 * too (the module checks again because the media can be changed while it
 * is not mounted), and persistence of what the module
 * writes to the media.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/math.h>

#include "umfs_km.h"
#include "umfs_grow.h"

int umfs_km_sb_check(const struct umfs_superblock *sb, u64 dev_size)
{
	const char *why;
	int err = umfs_sb_check(sb, dev_size, false, &why); /* umfs_rules.h */

	/* An unfinished grow leaves the page bitmap at the old size: user
	 * space finishes it (a mount without the module, or fsck.umfs). A
	 * device never grows, so only a damaged or copied pool has the bit. */
	if (!err && umfs_sb_growing(sb)) {
		pr_warn(UMFS_KM_NAME ": pool has an unfinished grow: run fsck.umfs on it\n");
		return -EUCLEAN;
	}
	return err;
}

/* Writes back the cache lines of [addr, addr + len) to the media and fences:
 * the module's stores to the pool are durable when this returns. */
void umfs_km_persist(void *addr, size_t len)
{
	arch_wb_cache_pmem(addr, len);
	wmb(); /* sfence: the write-backs complete before any later store */
}
