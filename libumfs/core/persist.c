/* SPDX-License-Identifier: MIT */
/*
 * persist.c - the persistence layer: the only code in UMFS that maps a pool
 * (with pmap.c), flushes CPU caches or fences. Built on the CPU routines
 * of cpuflush.h (libpmem's in the tools, the CPU's own instructions in
 * libumfs.so); its kernel calls go through the core's table (os.h).
 *
 * Media rule: umfs_cpu_is_pmem() decides first (PMEM_IS_PMEM_FORCE). A pool file on tmpfs
 * (/dev/shm) is DRAM standing in for persistent memory, so it gets the same
 * cache-line flushes and fences (as PMEM_IS_PMEM_FORCE=1 would). Any other
 * file also gets flushes and fences at every persistence point, and in
 * addition msync() when a program asks for durability (fsync, unmount):
 * correct, if slow, for a pool kept on a disk file system. In module mode
 * (UMFS_KMOD) a pmem block device is mapped through /dev/umfs
 * instead, as persistent memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "persist.h"
#include "cpuflush.h"
#include "os.h"
#include "prefault.h"
#include "procfs.h"
#include "testhooks.h"

void umfs_flush(const void *addr, size_t len)
{
	if (UMFS_UNLIKELY(UMFS_PERSIST_HOOK != NULL))
		UMFS_PERSIST_HOOK->flush(UMFS_PERSIST_HOOK->arg, addr, len);
	if (len)
		umfs_cpu_flush(addr, len);
}

void umfs_persist_written(const void *addr, size_t len)
{
	if (UMFS_UNLIKELY(UMFS_PERSIST_HOOK != NULL))
		UMFS_PERSIST_HOOK->flush(UMFS_PERSIST_HOOK->arg, addr, len);
}

void umfs_drain(void)
{
	if (UMFS_UNLIKELY(UMFS_PERSIST_HOOK != NULL))
		UMFS_PERSIST_HOOK->drain(UMFS_PERSIST_HOOK->arg);
	umfs_cpu_drain();
}

void umfs_persist(const void *addr, size_t len)
{
	umfs_flush(addr, len);
	umfs_drain();
}

void umfs_memcpy_nodrain(void *dst, const void *src, size_t len)
{
	if (UMFS_UNLIKELY(UMFS_PERSIST_HOOK != NULL)) {
		memcpy(dst, src, len);
		umfs_flush(dst, len);
		return;
	}
	umfs_cpu_memcpy_nodrain(dst, src, len);
}

void umfs_memset_nodrain(void *dst, int c, size_t len)
{
	if (UMFS_UNLIKELY(UMFS_PERSIST_HOOK != NULL)) {
		memset(dst, c, len);
		umfs_flush(dst, len);
		return;
	}
	umfs_cpu_memset_nodrain(dst, c, len);
}

void umfs_store64_nodrain(uint64_t *dst, uint64_t val)
{
	atomic_store_explicit((_Atomic uint64_t *)dst, val, memory_order_release);
	umfs_flush(dst, sizeof(*dst));
}

const char *umfs_media_name(enum umfs_media m)
{
	switch (m) {
	case UMFS_MEDIA_PMEM:
		return "persistent memory";
	case UMFS_MEDIA_SHM:
		return "tmpfs, treated as emulated persistent memory";
	case UMFS_MEDIA_FILE:
		return "ordinary file (flushes plus msync at fsync and unmount)";
	}
	return "unknown";
}

/* A regular file's file system, asked once (pm->fs_type). */
static void fs_type_get(int fd, const struct stat *st, struct umfs_pmem *pm)
{
	struct statfs sfs;

	if (S_ISREG(st->st_mode) && OS(fstatfs)(fd, &sfs) == 0)
		pm->fs_type = (long)sfs.f_type;
}

bool umfs_pmem_on_memfs(const struct umfs_pmem *pm)
{
	return pm->fs_type == TMPFS_MAGIC || pm->fs_type == HUGETLBFS_MAGIC ||
	       pm->fs_type == RAMFS_MAGIC;
}

/* pm->fs_type asked before the map: only a regular file on tmpfs is DRAM
 * standing in for pmem (device nodes live on devtmpfs too, but their data
 * is elsewhere, and fs_type_get asks regular files only). */
static enum umfs_media media_of(int is_pmem, const struct umfs_pmem *pm)
{
	if (is_pmem)
		return UMFS_MEDIA_PMEM;
	return pm->fs_type == TMPFS_MAGIC ? UMFS_MEDIA_SHM : UMFS_MEDIA_FILE;
}

/* A device's size from sysfs (block devices count 512-byte sectors, device
 * DAX bytes), without opening it: an open pmem block device makes the
 * module's MOUNT fail with EBUSY. Regular files: st_size. */
int umfs_pmem_dev_size(const struct stat *st, uint64_t *size)
{
	char path[64], buf[32], *end;
	unsigned long long n;
	bool blk = S_ISBLK(st->st_mode);
	ssize_t got;

	if (!blk && !S_ISCHR(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return *size ? 0 : -EINVAL;
	}
	snprintf(path, sizeof(path), "/sys/dev/%s/%u:%u/size", blk ? "block" : "char",
		 major(st->st_rdev), minor(st->st_rdev));
	got = umfs_proc_read(AT_FDCWD, path, buf, sizeof(buf));
	if (got < 0)
		return got == -ENOENT ? -ENODEV : (int)got; /* a char device without a size */
	n = strtoull(buf, &end, 10);
	if (end == buf || n == 0)
		return -EINVAL;
	*size = blk ? (uint64_t)n * 512 : (uint64_t)n;
	return 0;
}

/* len bytes (at most a page) at off (under 1 GiB) of a pool without
 * mounting it. A device DAX has no read(2): it is mapped from its start,
 * at the smallest length its alignment (4 KiB, 2 MiB or 1 GiB) allows that
 * covers them. */
int umfs_pmem_peek_fd(int fd, void *buf, size_t len, uint64_t off)
{
	struct stat st;
	size_t maplen;
	ssize_t n;
	void *addr = MAP_FAILED;

	if (len > UMFS_PAGE_SIZE || off + len > (1u << 30))
		return -EINVAL;
	if (OS(fstat)(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode)) {
		n = OS(pread)(fd, buf, len, (off_t)off);
		return n < 0 ? -errno : (size_t)n < len ? -EINVAL : 0;
	}
	for (maplen = UMFS_PAGE_SIZE; maplen <= (1u << 30); maplen <<= 9) {
		if (maplen < off + len)
			continue;
		addr = OS(mmap)(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
		if (addr != MAP_FAILED)
			break;
	}
	if (addr == MAP_FAILED)
		return -errno;
	memcpy(buf, (const char *)addr + off, len);
	OS(munmap)(addr, maplen);
	return 0;
}

int umfs_pmem_peek(const char *path, void *buf, size_t len)
{
	int fd = OS(open)(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = umfs_pmem_peek_fd(fd, buf, len, 0);
	OS(close)(fd);
	return err;
}

/* Block devices (/dev/pmemN), device DAX read-only and read-only maps:
 * plain shared mmap of the whole size (st: fd's fstat). */
static int map_with_mmap(int fd, const struct stat *st, bool rdonly, struct umfs_pmem *pm)
{
	uint64_t size;
	void *addr;
	int err;

	err = umfs_pmem_dev_size(st, &size);
	if (err)
		return err;
	addr = OS(mmap)(NULL, size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	pm->base = addr;
	pm->len = size;
	return 0;
}

/* Maps fd (st: its fstat) whole into pm, which then keeps fd: files and
 * device DAX shared and aligned for large pages (pmap.c), block devices
 * and read-only maps with a plain shared mmap. */
static int map_held(int fd, const struct stat *st, bool rdonly, struct umfs_pmem *pm)
{
	int is_pmem = 0, err;

	fs_type_get(fd, st, pm); /* before the map: MAP_SYNC is not tried in vain */
	if (rdonly || S_ISBLK(st->st_mode)) {
		err = map_with_mmap(fd, st, rdonly, pm);
		if (err)
			return err;
		is_pmem = umfs_cpu_is_pmem(pm->base, pm->len);
	} else {
		err = umfs_pmem_map_shared(fd, st, pm, &is_pmem);
		if (err)
			return err;
	}
	pm->media = media_of(is_pmem, pm);
	pm->fd = fd;
	pm->st = *st;
	return 0;
}

/* The software backend's pool map: the pool file or device itself. */
int umfs_pmem_map_path(const char *path, size_t create_size, bool rdonly, struct umfs_pmem *pm)
{
	struct stat st;
	int fd, err = 0;

	memset(pm, 0, sizeof(*pm));
	pm->rdonly = rdonly;
	pm->fd = -1;
	fd = OS(open)(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (create_size ? O_CREAT : 0),
		  0600);
	if (fd < 0)
		return -errno;
	if (OS(fstat)(fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (create_size && S_ISREG(st.st_mode) && (uint64_t)st.st_size < create_size) {
		/* posix_fallocate so that a full /dev/shm fails now, not with SIGBUS later */
		err = -OS(posix_fallocate)(fd, 0, (off_t)create_size);
		if (!err && OS(fstat)(fd, &st) < 0) /* the size the map takes */
			err = -errno;
		if (err)
			goto err_close;
	}
	err = map_held(fd, &st, rdonly, pm);
	if (err)
		goto err_close;
	return 0;

err_close:
	OS(close)(fd);
	return err;
}

int umfs_pmem_map_opened(int fd, struct umfs_pmem *pm)
{
	struct stat st;
	int own, err;

	memset(pm, 0, sizeof(*pm));
	pm->fd = -1;
	own = OS(fcntl)(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	if (OS(fstat)(own, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
		err = -EINVAL;
	else if ((OS(fcntl)(own, F_GETFL) & O_ACCMODE) != O_RDWR)
		err = -EACCES;
	else
		err = map_held(own, &st, false, pm);
	if (err)
		OS(close)(own);
	return err;
}

int umfs_pmem_map_fd(int fd, bool rdonly, struct umfs_pmem *pm)
{
	struct stat st;
	int err;

	memset(pm, 0, sizeof(*pm));
	pm->rdonly = rdonly;
	pm->fd = OS(fcntl)(fd, F_DUPFD_CLOEXEC, 0);
	if (pm->fd < 0)
		return -errno;
	if (OS(fstat)(pm->fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
		err = -EINVAL;
		goto err_close;
	}
	/* a descriptor opened read-only maps read-only, whatever is asked */
	if (!rdonly && (OS(fcntl)(pm->fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
		err = -EACCES;
		goto err_close;
	}
	fs_type_get(pm->fd, &st, pm);
	err = map_with_mmap(pm->fd, &st, rdonly, pm);
	if (err)
		goto err_close;
	pm->media = media_of(umfs_cpu_is_pmem(pm->base, pm->len), pm);
	pm->st = st;
	return 0;

err_close:
	OS(close)(pm->fd);
	pm->fd = -1;
	return err;
}

void umfs_pmem_unmap(struct umfs_pmem *pm)
{
	umfs_pmem_prefault_end(pm);
	if (pm->base)
		OS(munmap)(pm->base, pm->len);
	if (pm->fd >= 0)
		OS(close)(pm->fd);
	pm->base = NULL;
	pm->len = 0;
	pm->fd = -1;
}

int umfs_pmem_extend(struct umfs_pmem *pm, uint64_t size)
{
	struct stat st;
	int is_pmem = 0, err;

	if (pm->rdonly || pm->fd < 0 || !S_ISREG(pm->st.st_mode))
		return -EOPNOTSUPP;
	/* blocks allocated now, so that a full file system fails here and not
	 * with SIGBUS; the size synced before any superblock names it */
	if ((uint64_t)pm->st.st_size > size && OS(ftruncate)(pm->fd, (off_t)size) < 0)
		return -errno;
	err = -OS(posix_fallocate)(pm->fd, 0, (off_t)size);
	if (!err && OS(fsync)(pm->fd) < 0)
		err = -errno;
	if (!err && OS(fstat)(pm->fd, &st) < 0)
		err = -errno;
	if (err)
		return err;
	umfs_pmem_prefault_end(pm);
	OS(munmap)(pm->base, pm->len);
	pm->base = NULL;
	pm->len = 0;
	err = umfs_pmem_map_shared(pm->fd, &st, pm, &is_pmem);
	if (err)
		return err;
	pm->media = media_of(is_pmem, pm);
	pm->st = st;
	return 0;
}

int umfs_pmem_lock(struct umfs_pmem *pm, bool exclusive)
{
	if (pm->fd < 0)
		return 0; /* a private copy shares nothing */
	if (OS(flock)(pm->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

int umfs_pmem_sync(struct umfs_pmem *pm)
{
	if (pm->rdonly)
		return 0;
	if (pm->media == UMFS_MEDIA_FILE)
		return OS(msync)(pm->base, pm->len, MS_SYNC) < 0 ? -errno : 0;
	umfs_drain();
	return 0;
}

/* Device DAX refuses private mappings: a copy in anonymous memory instead.
 * Pages of zeros are left untouched, so a mostly empty pool costs little. */
static void *map_copy(int fd, uint64_t size)
{
	const uint8_t *src;
	uint8_t *dst;
	uint64_t off;
	int saved;

	src = OS(mmap)(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (src == MAP_FAILED)
		return MAP_FAILED;
	dst = OS(mmap)(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (dst != MAP_FAILED)
		for (off = 0; off < size; off += UMFS_PAGE_SIZE) {
			size_t n = size - off < UMFS_PAGE_SIZE ? size - off : UMFS_PAGE_SIZE;

			if (src[off] || memcmp(src + off, src + off + 1, n - 1))
				memcpy(dst + off, src + off, n);
		}
	saved = errno;
	OS(munmap)((void *)src, size);
	errno = saved; /* the anonymous map's failure, if it failed */
	return dst;
}

int umfs_pmem_map_private(const char *path, struct umfs_pmem *pm)
{
	struct stat st;
	uint64_t size;
	void *addr;
	int fd, err = 0;

	memset(pm, 0, sizeof(*pm));
	pm->fd = -1;
	fd = OS(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (OS(fstat)(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	err = umfs_pmem_dev_size(&st, &size);
	if (err)
		goto out;
	if (S_ISCHR(st.st_mode))
		addr = map_copy(fd, size);
	else
		addr = OS(mmap)(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (addr == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	pm->base = addr;
	pm->len = size;
	pm->media = UMFS_MEDIA_SHM; /* private memory: flushes are harmless */
out:
	OS(close)(fd);
	return err;
}
