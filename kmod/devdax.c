// SPDX-License-Identifier: GPL-2.0
/*
 * devdax.c - a pool on a device DAX (/dev/daxX.Y) instead of a pmem block
 * device. device_dax keeps its device's ranges private, so the module asks
 * the device itself: it maps it into the caller for a moment and looks up
 * the pages its fault handler gives for the first and the last offset.
 *
 * The pages' dev_pagemap (public) then says the rest:
 *  - one range, so the device is linear: offset o is range start + o
 *    (pmem-backed device DAX is always one range; dynamic ones may not be);
 *  - MEMORY_DEVICE_GENERIC: memremap_pages put it in the direct map;
 *  - vmemmap_shift 0: no compound pages. With an alignment above 4 KiB the
 *    device's struct pages are compound, and most tail pages share one
 *    struct page (vmemmap reuse), so the ptlocks of table pages would alias
 *    each other. Hence --align=4K.
 * The module holds a reference on the pagemap while the pool is mounted, so
 * the device cannot be torn down under the direct-map addresses it uses (a
 * namespace disable waits for UNMOUNT).
 */
#include <linux/fs.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include "umfs_km.h"

/* The page device offset off maps to, taken and released at once (the
 * pagemap reference kept is the caller's); NULL past the device's end. */
static struct page *umfs_km_devdax_page(struct file *f, u64 off, int *err)
{
	unsigned long addr;
	struct page *page = NULL;
	long got;

	/* a whole GiB of address space: every device alignment divides it */
	addr = vm_mmap(f, 0, PUD_SIZE, PROT_READ, MAP_SHARED, off & PUD_MASK);
	if (IS_ERR_VALUE(addr)) {
		*err = (int)addr;
		return NULL;
	}
	got = get_user_pages_unlocked(addr + (off & ~PUD_MASK), 1, &page, 0);
	vm_munmap(addr, PUD_SIZE);
	if (got != 1) {
		*err = got < 0 ? (int)got : -ENXIO;
		return NULL;
	}
	put_page(page);
	return page;
}

int umfs_km_devdax_map(struct umfs_km_pool *p, const char *path)
{
	struct dev_pagemap *pgmap;
	struct page *first, *last;
	struct file *f;
	u64 end;
	int err = 0;

	f = filp_open(path, O_RDWR | O_LARGEFILE, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	/* device_dax's open points the file at its dax inode, which has S_DAX */
	err = -ENOTBLK;
	if (!S_ISCHR(file_inode(f)->i_mode) || !IS_DAX(f->f_mapping->host))
		goto err_close;
	first = umfs_km_devdax_page(f, 0, &err);
	if (!first)
		goto err_close;
	err = -EOPNOTSUPP;
	pgmap = get_dev_pagemap(page_to_pfn(first), NULL);
	if (!pgmap)
		goto err_close;
	if (pgmap->type != MEMORY_DEVICE_GENERIC || pgmap->nr_range != 1) {
		pr_err(UMFS_KM_NAME ": %s: not a single-range device DAX\n", path);
		goto err_put;
	}
	if (pgmap->vmemmap_shift) {
		pr_err(UMFS_KM_NAME ": %s: alignment above 4 KiB (compound pages); "
		       "recreate the namespace with --align=4K\n", path);
		goto err_put;
	}
	end = pgmap->range.end + 1;
	p->phys = PFN_PHYS(page_to_pfn(first));
	err = -ENXIO;
	if (end <= p->phys || (end - p->phys) & (PAGE_SIZE - 1))
		goto err_put;
	p->size = end - p->phys;
	last = umfs_km_devdax_page(f, p->size - PAGE_SIZE, &err);
	if (!last)
		goto err_put;
	err = -ENXIO;
	if (page_to_pfn(last) != PHYS_PFN(end - PAGE_SIZE))
		goto err_put; /* not linear after all */
	p->pfn = PHYS_PFN(p->phys);
	p->kaddr = page_address(first);
	p->devdax = f;
	p->pgmap = pgmap;
	return 0;

err_put:
	put_dev_pagemap(pgmap);
err_close:
	filp_close(f, NULL);
	return err;
}

void umfs_km_devdax_put(struct umfs_km_pool *p)
{
	if (!p->devdax)
		return;
	put_dev_pagemap(p->pgmap);
	filp_close(p->devdax, NULL);
	p->devdax = NULL;
}
