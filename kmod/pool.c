// SPDX-License-Identifier: GPL-2.0
/*
 * pool.c - MOUNT and UNMOUNT: find the pool's memory through the pmem block
 * device's dax_device (or a device DAX, devdax.c), check the superblock,
 * rebase the tables if the device moved, validate every in-use inode's tree
 * (inline tables and level-4 trees included, as the pool's features allow).
 */
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "umfs_km.h"

struct umfs_km_pool *umfs_km_pool;
DECLARE_RWSEM(umfs_km_pool_rwsem);

/* Fault injection for the tests: a rebase stops (as a crash would) once
 * this many entries were rewritten; 0 = never. */
static unsigned long rebase_stop;
module_param(rebase_stop, ulong, 0644);
MODULE_PARM_DESC(rebase_stop, "test only: interrupt a rebase after N entries");

/* Maps the whole device: the pool must be one run of direct-mapped memory
 * with struct pages (fsdax with --map=mem), since the fault path finds page
 * table locks in struct page. */
static int umfs_km_pool_map(struct umfs_km_pool *p, struct block_device *bdev)
{
	long npages, avail;
	u64 start = 0;
	void *kaddr;
	pfn_t pfn;
	int id;

	p->dax = fs_dax_get_by_bdev(bdev, &start, p, NULL);
	if (!p->dax)
		return -EOPNOTSUPP; /* not DAX-capable, or held by a DAX file system */
	p->size = bdev_nr_bytes(bdev);
	npages = p->size >> PAGE_SHIFT;
	id = dax_read_lock();
	avail = dax_direct_access(p->dax, start >> PAGE_SHIFT, npages, DAX_ACCESS, &kaddr, &pfn);
	dax_read_unlock(id);
	if (avail < 0)
		return (int)avail;
	if (avail < npages)
		return -ENXIO;
	if (!pfn_t_has_page(pfn) || kaddr != pfn_to_kaddr(pfn_t_to_pfn(pfn)))
		return -EOPNOTSUPP; /* no struct pages or not in the direct map */
	p->kaddr = kaddr;
	p->pfn = pfn_t_to_pfn(pfn);
	p->phys = PFN_PHYS(p->pfn);
	return 0;
}

/* The primary superblock, or the backup in the device's last page. */
static int umfs_km_pool_sb(struct umfs_km_pool *p, struct umfs_superblock *sb)
{
	int err;

	memcpy(sb, p->kaddr, sizeof(*sb));
	err = umfs_km_sb_check(sb, p->size);
	if (!err)
		return 0;
	memcpy(sb, umfs_km_off_ptr(p, p->size - UMFS_PAGE_SIZE), sizeof(*sb));
	if (umfs_km_sb_check(sb, p->size))
		return err;
	pr_warn(UMFS_KM_NAME ": primary superblock bad (%d), using the backup\n", err);
	return 0;
}

/* Backup first, then primary: a torn primary falls back to a backup that
 * already holds the new value. */
static void umfs_km_pool_sb_write(struct umfs_km_pool *p, struct umfs_superblock *sb, u64 base)
{
	void *backup = umfs_km_off_ptr(p, sb->backup_sb_off);

	sb->phys_base = base;
	sb->csum = umfs_sb_csum(sb);
	memcpy(backup, sb, sizeof(*sb));
	umfs_km_persist(backup, sizeof(*sb));
	memcpy(p->kaddr, sb, sizeof(*sb));
	umfs_km_persist(p->kaddr, sizeof(*sb));
}

/* Runs w over every in-use inode; counts them in *ninodes. */
static int umfs_km_pool_walk_all(struct umfs_km_pool *p, struct umfs_km_walk *w, u64 *ninodes)
{
	struct umfs_inode in;
	u64 ino;
	int err;

	for (ino = 1; ino < p->inode_count; ino++) {
		err = umfs_km_inode_get(p, ino, &in);
		if (err == -ENOENT)
			continue;
		if (!err)
			err = umfs_km_tree_walk(w, ino, &in);
		if (err == -EINTR) {
			pr_info(UMFS_KM_NAME ": rebase stopped by rebase_stop (test hook)\n");
			return err;
		}
		if (err) {
			pr_err(UMFS_KM_NAME ": inode %llu: bad page tree (%d)\n", ino, err);
			return err;
		}
		if (ninodes)
			(*ninodes)++;
	}
	return 0;
}

/* A rebase is only safe on a pool no transaction is open in: an undo record
 * would otherwise restore entries with the old base. */
static int umfs_km_pool_quiet(struct umfs_km_pool *p, const struct umfs_superblock *sb)
{
	const struct umfs_state *st = umfs_km_off_ptr(p, sb->state_off);
	u32 i;

	if (st->magic != UMFS_STATE_MAGIC || st->state != UMFS_STATE_CLEAN)
		return -EUCLEAN;
	for (i = 0; i < sb->journal_slots; i++) {
		const struct umfs_jslot_hdr *h =
			umfs_km_off_ptr(p, sb->journal_off + (u64)i * sb->journal_slot_size);

		if (h->active_seq)
			return -EUCLEAN;
	}
	return 0;
}

/*
 * Rebase in two passes, each ending with a superblock write, so that every
 * entry can be told apart after a crash at any point:
 *   1. entries below UMFS_KM_PARK are old-based: rewrite them parked
 *      (UMFS_KM_PARK + offset); then phys_base := UMFS_KM_PARK.
 *   2. parked entries become phys + offset; then phys_base := phys.
 * A mount that finds phys_base == UMFS_KM_PARK resumes at pass 2; one that
 * finds the old base repeats pass 1, which skips parked entries. Between the
 * passes the pool is also consistent for libumfs (entries = base + offset).
 */
static int umfs_km_pool_rebase(struct umfs_km_pool *p, struct umfs_superblock *sb, u64 *count)
{
	struct umfs_km_walk w = { .pool = p, .park_ok = true, .stop_after = rebase_stop };
	int err;

	if (p->phys + sb->pool_size > UMFS_KM_PARK || sb->phys_base > UMFS_KM_PARK ||
	    (sb->phys_base != UMFS_KM_PARK && sb->phys_base + sb->pool_size > UMFS_KM_PARK))
		return -ERANGE;
	err = umfs_km_pool_quiet(p, sb);
	if (err) {
		pr_err(UMFS_KM_NAME ": pool needs recovery before it can be rebased\n");
		return err;
	}
	if (sb->phys_base != UMFS_KM_PARK) {
		w.mode = UMFS_KM_WALK_PARK;
		w.lo_base = sb->phys_base;
		err = umfs_km_pool_walk_all(p, &w, NULL);
		if (err)
			return err;
		umfs_km_pool_sb_write(p, sb, UMFS_KM_PARK);
	}
	w.mode = UMFS_KM_WALK_UNPARK;
	w.lo_base = p->phys;
	w.new_base = p->phys;
	err = umfs_km_pool_walk_all(p, &w, NULL);
	if (err)
		return err;
	umfs_km_pool_sb_write(p, sb, p->phys);
	*count = w.rewritten;
	return 0;
}

/* Every page a tree reaches (seen) is marked in use in the page bitmap:
 * else the module would hand it to a second file, whatever the bitmap's
 * checksums say (a crafted pool can reseal them). In any state a crash
 * leaves this holds: a transaction marks a page before it links it and
 * unlinks it before the bit is cleared. */
static int umfs_km_pool_bits_check(struct umfs_km_pool *p, const unsigned long *seen)
{
	const u64 *bm = umfs_km_bitmap(p);
	u64 w;

	for (w = 0; w < p->pbitmap_words; w++) {
		u64 lost = ((const u64 *)seen)[w] & ~READ_ONCE(bm[w]);

		if (!lost)
			continue;
		pr_err(UMFS_KM_NAME ": data page %llu is in a file's tree but free in the page "
		       "bitmap (run fsck.umfs)\n", w * 64 + __ffs64(lost));
		umfs_km_errors_mark(p, UMFS_ERRORS_PBITMAP);
		return -EUCLEAN;
	}
	return 0;
}

/* The checking walk also finishes a pass 1 that a crash interrupted on a
 * device that came back at the old address (phys_base == phys, some entries
 * parked): parked entries are rewritten, all others must be phys-based. */
static int umfs_km_pool_validate(struct umfs_km_pool *p, struct umfs_kmod_mount *req)
{
	struct umfs_km_walk w = { .pool = p, .mode = UMFS_KM_WALK_UNPARK, .lo_base = p->phys,
				  .park_ok = true, .new_base = p->phys, .init_ptlocks = true };
	int err;

	w.seen = vzalloc(BITS_TO_LONGS(p->data_pages) * sizeof(long));
	if (!w.seen)
		return -ENOMEM;
	err = umfs_km_pool_walk_all(p, &w, &req->inodes_checked);
	if (!err)
		err = umfs_km_pool_bits_check(p, w.seen);
	vfree(w.seen);
	req->tables_checked = w.tables;
	req->rebased += w.rewritten;
	return err;
}

static void umfs_km_pool_geometry(struct umfs_km_pool *p, const struct umfs_superblock *sb)
{
	p->pool_size = sb->pool_size;
	p->data_off = sb->data_off;
	p->data_pages = sb->data_pages;
	p->inode_off = sb->inode_off;
	p->inode_count = sb->inode_count;
	p->ibitmap_off = sb->ibitmap_off;
	p->pbitmap_off = sb->pbitmap_off;
	p->state_off = sb->state_off;
	p->icursor = UMFS_ROOT_INO + 1;
	if (sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS)
		p->bsum_off = sb->bsum_off;
	p->pbitmap_words = umfs_pbitmap_words(sb->data_pages);
	/* the shared reading of what the pool's features allow of a tree:
	 * inline tables, level-4 tables (umfs_rules.h) */
	p->geom = umfs_ptgeom_make(sb->data_off, sb->data_pages, p->phys, sb->feature_incompat);
	umfs_km_tx_setup(p, sb);
	mutex_init(&p->alloc_lock);
}

/* Gives back what umfs_km_pool_bdev or umfs_km_devdax_map took. */
void umfs_km_pool_free(struct umfs_km_pool *p)
{
	if (p->dax)
		fs_put_dax(p->dax, p);
	umfs_km_devdax_put(p);
	kfree(p);
}

#define UMFS_KM_BDEV_MODE (FMODE_READ | FMODE_WRITE)

static void umfs_km_pool_bdev_put(struct block_device *bdev)
{
	if (!bdev)
		return;
	invalidate_bdev(bdev);
	blkdev_put(bdev, UMFS_KM_BDEV_MODE);
}

/* A pmem block device in fsdax mode: its dax_device gives the memory. The
 * device stays open (*bdevp) until the mount is over. */
static int umfs_km_pool_bdev(struct umfs_km_pool *p, const char *path,
			     struct block_device **bdevp)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, UMFS_KM_BDEV_MODE, NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	*bdevp = bdev;
	/* user space maps the device through its page cache: nobody may have it
	 * open while the module reads and rewrites the media behind it */
	if (atomic_read(&bdev->bd_openers) > 1)
		return -EBUSY;
	sync_blockdev(bdev);
	invalidate_bdev(bdev);
	return umfs_km_pool_map(p, bdev);
}

/* From here on the module changes the bitmaps behind the free counts a
 * clean software unmount kept: no later mount may take them as they are. */
static void umfs_km_pool_drop_counts(struct umfs_km_pool *p)
{
	struct umfs_state_counts *k = umfs_state_counts_of(umfs_km_off_ptr(p, p->state_off));

	if (!READ_ONCE(k->check))
		return;
	WRITE_ONCE(k->check, 0);
	umfs_km_persist(&k->check, sizeof(k->check));
}

int umfs_km_pool_mount(struct umfs_kmod_mount *req)
{
	struct block_device *bdev = NULL;
	struct umfs_superblock sb;
	struct umfs_km_pool *p;
	int err;

	if (req->flags || req->reserved0 || memchr_inv(req->reserved, 0, sizeof(req->reserved)))
		return -EINVAL;
	if (!memchr(req->path, 0, sizeof(req->path)))
		return -ENAMETOOLONG;
	down_write(&umfs_km_pool_rwsem);
	err = -EBUSY;
	if (umfs_km_pool)
		goto err_unlock;
	err = -ENOMEM;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		goto err_unlock;
	err = umfs_km_pool_bdev(p, req->path, &bdev);
	if (err == -ENOTBLK)
		err = umfs_km_devdax_map(p, req->path);
	if (err)
		goto err_free;
	err = umfs_km_pool_sb(p, &sb);
	if (err)
		goto err_free;
	umfs_km_pool_geometry(p, &sb);
	if (p->kslot) {
		/* an EXTEND a crash cut short: undone before anything is
		 * checked or rebased (its records hold old-based entries) */
		u64 restored;

		err = umfs_km_tx_recover(p, &restored);
		if (err == -EUCLEAN)
			p->kslot = 0; /* a damaged slot: no EXTEND until fsck */
		else if (restored)
			pr_info(UMFS_KM_NAME ": %s: rolled back an interrupted EXTEND (%llu records)\n",
				req->path, restored);
	}
	if (sb.phys_base != p->phys) {
		err = umfs_km_pool_rebase(p, &sb, &req->rebased);
		if (err)
			goto err_free;
		pr_info(UMFS_KM_NAME ": %s rebased to %#llx (%llu entries)\n", req->path,
			p->phys, req->rebased);
	}
	err = umfs_km_pool_validate(p, req);
	if (err)
		goto err_free;
	umfs_km_pool_drop_counts(p);
	umfs_km_pool_bdev_put(bdev); /* drops cached pages older than the rebase */
	req->phys_base = p->phys;
	req->pool_size = p->pool_size;
	umfs_km_pool = p;
	up_write(&umfs_km_pool_rwsem);
	pr_info(UMFS_KM_NAME ": mounted %s at %#llx: %llu inodes, %llu tables\n", req->path,
		p->phys, req->inodes_checked, req->tables_checked);
	return 0;

err_free:
	umfs_km_pool_free(p);
	umfs_km_pool_bdev_put(bdev);
err_unlock:
	up_write(&umfs_km_pool_rwsem);
	return err;
}

int umfs_km_pool_unmount(void)
{
	struct umfs_km_pool *p;
	int err = 0;

	down_write(&umfs_km_pool_rwsem);
	p = umfs_km_pool;
	if (!p)
		err = -EINVAL;
	else if (atomic64_read(&umfs_km_cnt.live) || atomic64_read(&umfs_km_cnt.poolmaps))
		err = -EBUSY;
	else
		umfs_km_pool = NULL;
	up_write(&umfs_km_pool_rwsem);
	if (!err)
		umfs_km_pool_free(p);
	return err;
}
