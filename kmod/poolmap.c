// SPDX-License-Identifier: GPL-2.0
/*
 * poolmap.c - root's mapping of the whole pool through /dev/umfs.
 *
 * libumfs maps /dev/pmemN through the block device's page cache, which is
 * a copy of the media: stores through an attachment reach it only after the
 * cache is dropped, and its stores reach attachments only after msync. This
 * mapping is the media itself (remap_pfn_range of the pool's pfns, write-
 * back like the direct map), so it is coherent with every attachment. It is
 * root's, as /dev/pmemN is: the core still writes metadata and tables from
 * user space in this version. Each such vma counts in umfs_km_cnt.poolmaps,
 * and UNMOUNT waits for them to go.
 */
#include <linux/capability.h>
#include <linux/mm.h>

#include "umfs_km.h"

bool umfs_km_is_poolmap(unsigned long pgoff)
{
	return pgoff == (unsigned long)(UMFS_KMOD_POOL_OFFSET >> PAGE_SHIFT);
}

/* Copies (fork, split) count too: every vma is closed once. */
static void umfs_km_poolmap_open(struct vm_area_struct *vma)
{
	atomic64_inc(&umfs_km_cnt.poolmaps);
}

static void umfs_km_poolmap_close(struct vm_area_struct *vma)
{
	atomic64_dec(&umfs_km_cnt.poolmaps);
}

static const struct vm_operations_struct umfs_km_poolmap_ops = {
	.open = umfs_km_poolmap_open,
	.close = umfs_km_poolmap_close,
};

int umfs_km_poolmap(struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	struct umfs_km_pool *p;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	down_read(&umfs_km_pool_rwsem);
	p = umfs_km_pool;
	err = -ENODEV;
	if (!p)
		goto out_unlock;
	err = -EINVAL;
	if (len > p->pool_size)
		goto out_unlock;
	vma->vm_flags |= VM_DONTDUMP;
	vma->vm_ops = &umfs_km_poolmap_ops;
	err = remap_pfn_range(vma, vma->vm_start, p->pfn, len, vma->vm_page_prot);
	if (!err)
		atomic64_inc(&umfs_km_cnt.poolmaps); /* before UNMOUNT can look */
out_unlock:
	up_read(&umfs_km_pool_rwsem);
	return err;
}
