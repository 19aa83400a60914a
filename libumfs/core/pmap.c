/* SPDX-License-Identifier: MIT */
/*
 * pmap.c - a pool file or device DAX mapped shared for writing, as
 * persistent memory wants it: at an address aligned for the largest pages
 * the kernel may back it with, and with MAP_SYNC where the file system
 * offers DAX (stores are then durable once flushed). The core maps pools
 * itself, through its table (os.h): libpmem's pmem_map_file makes its own
 * open, fstat and mmap calls, which in libumfs.so reach the shim's
 * interposers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "persist.h"
#include "cpuflush.h"
#include "os.h"
#include "procfs.h"
#include "umfs_frontend.h"
#include "umfs_tools.h"

#define PMAP_2M (2ull << 20)
#define PMAP_1G (1ull << 30)

/* A device DAX maps only at its own alignment (sysfs "align"); others get
 * 1 GiB pages from 2 GiB up and 2 MiB pages from 4 MiB up, where the
 * mapping holds at least two of them. */
static uint64_t pmap_align(const struct stat *st, uint64_t size)
{
	char path[80], buf[32];
	unsigned long long a;

	if (S_ISCHR(st->st_mode)) {
		snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/align", major(st->st_rdev),
			 minor(st->st_rdev));
		if (umfs_proc_read(AT_FDCWD, path, buf, sizeof(buf)) > 0 &&
		    (a = strtoull(buf, NULL, 0)) >= UMFS_PAGE_SIZE && !(a & (a - 1)))
			return a;
		return PMAP_2M;
	}
	return size >= 2 * PMAP_1G ? PMAP_1G : size >= 2 * PMAP_2M ? PMAP_2M : UMFS_PAGE_SIZE;
}

/* Maps fd whole at an aligned address, with MAP_SYNC where the file
 * system offers it. */
static void *pmap_aligned(int fd, uint64_t size, uint64_t align, bool *sync)
{
	const int prot = PROT_READ | PROT_WRITE;
	void *addr;

	addr = umfs_os_mmap_aligned(size, align, prot, MAP_SHARED_VALIDATE | MAP_SYNC, fd);
	*sync = addr != MAP_FAILED;
	if (addr == MAP_FAILED && (errno == EOPNOTSUPP || errno == EINVAL))
		addr = umfs_os_mmap_aligned(size, align, prot, MAP_SHARED, fd);
	return addr;
}

int umfs_pmem_map_shared(int fd, const struct stat *st, struct umfs_pmem *pm, int *is_pmem)
{
	uint64_t size;
	bool sync;
	void *addr;
	int err;

	err = umfs_pmem_dev_size(st, &size);
	if (err)
		return err;
	if (umfs_pmem_on_memfs(pm)) {
		/* the kernel itself puts a tmpfs file's mapping on a huge page
		 * boundary wherever the mount gives huge pages: a reservation
		 * around it would cost two more calls for nothing */
		sync = false;
		addr = OS(mmap)(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		addr = pmap_aligned(fd, size, pmap_align(st, size), &sync);
	}
	if (addr == MAP_FAILED)
		return -errno;
	pm->base = addr;
	pm->len = size;
	/* a device DAX and a MAP_SYNC map are persistent memory;
	 * PMEM_IS_PMEM_FORCE decides the rest (cpuflush.h) */
	*is_pmem = sync || S_ISCHR(st->st_mode) || umfs_cpu_is_pmem(addr, size);
	return 0;
}
