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

int umfs_km_sb_check(const struct umfs_superblock *sb, u64 dev_size)
{
	const char *why;

	return umfs_sb_check(sb, dev_size, false, &why); /* umfs_rules.h */
}

/* Writes back the cache lines of [addr, addr + len) to the media and fences:
 * the module's stores to the pool are durable when this returns. */
void umfs_km_persist(void *addr, size_t len)
{
	arch_wb_cache_pmem(addr, len);
	wmb(); /* sfence: the write-backs complete before any later store */
}
