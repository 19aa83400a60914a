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
	/* The module's attachments and tree changes know tables only: a pool
	 * with inline tables is served in software (umfs_ptgeom's inline_ok
	 * stays 0 here, so such a tree would be damage to the module's walk). */
	if (!err && (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_INLINE_TABLE)) {
		pr_info(UMFS_KM_NAME ": pool uses inline tables (feature inline_table), which the "
			"module does not serve: use it without the module, or make it with "
			"mkfs.umfs -O noinline\n");
		return -EPROTONOSUPPORT;
	}
	/* Its attachments splice level-2 tables into at most 512 PUD slots,
	 * one level-3 table's worth: a level-4 tree would need a second
	 * level of slots. Such a pool is served in software too. */
	if (!err && (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_LEVEL4)) {
		pr_info(UMFS_KM_NAME ": pool allows level-4 tables (feature level4_table), which "
			"the module does not serve: use it without the module, or make it with "
			"mkfs.umfs -O nolevel4\n");
		return -EPROTONOSUPPORT;
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
