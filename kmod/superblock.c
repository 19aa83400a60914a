// SPDX-License-Identifier: GPL-2.0
/*
 * superblock.c - checks of the pool's superblock (the same rules as
 * libumfs's umfs_sb_validate(); the module re-checks because the media can
 * be changed while it is not mounted) and persistence of what the module
 * writes to the media.
 */
#include <linux/errno.h>
#include <linux/libnvdimm.h>
#include <linux/math.h>

#include "umfs_km.h"

#define UMFS_KM_MIN_POOL (8ull << 20)

int umfs_km_sb_check(const struct umfs_superblock *sb, u64 dev_size)
{
	u64 ibits, pbits, jlen;

	if (sb->magic != UMFS_SB_MAGIC)
		return -EINVAL;
	if (sb->version_major != UMFS_VERSION_MAJOR || sb->sb_size != sizeof(*sb))
		return -EPROTONOSUPPORT;
	if (sb->csum != umfs_sb_csum(sb))
		return -EUCLEAN;
	if ((sb->feature_incompat & ~UMFS_FEATURE_INCOMPAT_SUPP) ||
	    (sb->feature_ro_compat & ~UMFS_FEATURE_RO_COMPAT_SUPP))
		return -EPROTONOSUPPORT;
	if (sb->page_size != UMFS_PAGE_SIZE || sb->inode_size != sizeof(struct umfs_inode) ||
	    sb->pool_size > dev_size || sb->pool_size < UMFS_KM_MIN_POOL ||
	    (sb->pool_size & (UMFS_PAGE_SIZE - 1)) ||
	    sb->backup_sb_off != sb->pool_size - UMFS_PAGE_SIZE)
		return -EUCLEAN;
	if (sb->inode_count < 2 || sb->inode_count > (1ull << 33) || !sb->data_pages ||
	    sb->data_pages > sb->pool_size >> UMFS_PAGE_SHIFT || !sb->journal_slots ||
	    sb->journal_slots > 64 || sb->journal_slot_size < 2 * UMFS_PAGE_SIZE ||
	    sb->journal_slot_size % UMFS_PAGE_SIZE || sb->root_ino != UMFS_ROOT_INO)
		return -EUCLEAN;
	ibits = DIV_ROUND_UP_ULL(sb->inode_count, 64) * 8;
	pbits = DIV_ROUND_UP_ULL(sb->data_pages, 64) * 8;
	jlen = (u64)sb->journal_slots * sb->journal_slot_size;
	if (sb->state_off < UMFS_PAGE_SIZE ||
	    !umfs_zone_ok(sb->state_off, UMFS_PAGE_SIZE, sb->pool_size) ||
	    !umfs_zone_ok(sb->journal_off, jlen, sb->pool_size) ||
	    !umfs_zone_ok(sb->inode_off, sb->inode_count * sizeof(struct umfs_inode),
			  sb->pool_size) ||
	    !umfs_zone_ok(sb->ibitmap_off, ibits, sb->pool_size) ||
	    !umfs_zone_ok(sb->pbitmap_off, pbits, sb->pool_size) ||
	    sb->journal_off < sb->state_off + UMFS_PAGE_SIZE ||
	    sb->inode_off < sb->journal_off + jlen ||
	    sb->ibitmap_off < sb->inode_off + sb->inode_count * sizeof(struct umfs_inode) ||
	    sb->pbitmap_off < sb->ibitmap_off + ibits || sb->data_off < sb->pbitmap_off + pbits)
		return -EUCLEAN;
	if (sb->data_off % UMFS_HUGE_SIZE || sb->phys_base % UMFS_HUGE_SIZE ||
	    sb->data_off + (sb->data_pages << UMFS_PAGE_SHIFT) > sb->backup_sb_off)
		return -EUCLEAN;
	if (sb->phys_base + sb->pool_size > UMFS_PTE_ADDR_MASK)
		return -EUCLEAN;
	return 0;
}

/* Writes back the cache lines of [addr, addr + len) to the media and fences:
 * the module's stores to the pool are durable when this returns. */
void umfs_km_persist(void *addr, size_t len)
{
	arch_wb_cache_pmem(addr, len);
	wmb(); /* sfence: the write-backs complete before any later store */
}
