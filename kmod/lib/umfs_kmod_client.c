/* SPDX-License-Identifier: MIT */
/* umfs_kmod_client.c - user-space wrapper of /dev/umfs (see the header). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "umfs_kmod_client.h"

#define UMFS_KMOD_ATTACH_TRIES 8

int umfs_kmod_call(int fd, unsigned long cmd, void *arg)
{
	int saved = errno, err = 0;

	if (umfs_kmod_sys.ioctl(fd, cmd, arg) < 0)
		err = -errno;
	errno = saved;
	return err;
}

int umfs_kmod_open(int *fd)
{
	int saved = errno, f;

	f = umfs_kmod_sys.open(UMFS_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
	if (f < 0) {
		f = -errno;
		errno = saved;
		return f;
	}
	*fd = f;
	return 0;
}

void umfs_kmod_close(int fd)
{
	int saved = errno;

	umfs_kmod_sys.close(fd);
	errno = saved;
}

int umfs_kmod_mount(int fd, const char *dev_path, struct umfs_kmod_mount *info)
{
	struct umfs_kmod_mount req;
	int err;

	memset(&req, 0, sizeof(req));
	if (strlen(dev_path) >= sizeof(req.path))
		return -ENAMETOOLONG;
	strcpy(req.path, dev_path);
	err = umfs_kmod_call(fd, UMFS_KMOD_IOC_MOUNT, &req);
	if (!err && info)
		*info = req;
	return err;
}

int umfs_kmod_unmount(int fd)
{
	return umfs_kmod_call(fd, UMFS_KMOD_IOC_UNMOUNT, NULL);
}

int umfs_kmod_attach(int fd, uint64_t ino, uint32_t gen, int open_flags, uint64_t reserve,
		     void **addr, size_t *len, uint64_t *size)
{
	struct umfs_kmod_attach req;
	int err, tries = 0;

	do {
		memset(&req, 0, sizeof(req));
		req.ino = ino;
		req.generation = gen;
		req.open_flags = (uint32_t)(open_flags & O_ACCMODE);
		req.reserve = reserve;
		err = umfs_kmod_call(fd, UMFS_KMOD_IOC_ATTACH, &req);
	} while (err == -EAGAIN && ++tries < UMFS_KMOD_ATTACH_TRIES);
	if (err)
		return err;
	*addr = (void *)(uintptr_t)req.addr;
	*len = (size_t)req.len;
	if (size)
		*size = req.size;
	return 0;
}

int umfs_kmod_detach(int fd, void *addr)
{
	struct umfs_kmod_detach req = { .addr = (uint64_t)(uintptr_t)addr };

	return umfs_kmod_call(fd, UMFS_KMOD_IOC_DETACH, &req);
}

int umfs_kmod_revoke(int fd, uint64_t ino, uint64_t *revoked)
{
	struct umfs_kmod_revoke req = { .ino = ino };
	int err;

	err = umfs_kmod_call(fd, UMFS_KMOD_IOC_REVOKE, &req);
	if (!err && revoked)
		*revoked = req.revoked;
	return err;
}

int umfs_kmod_extend(int fd, uint64_t ino, uint32_t gen, uint64_t first, uint64_t count,
		     struct umfs_kmod_extend *out)
{
	struct umfs_kmod_extend req = { .ino = ino, .generation = gen, .first = first,
					.count = count };
	int err;

	err = umfs_kmod_call(fd, UMFS_KMOD_IOC_EXTEND, &req);
	if (!err && out)
		*out = req;
	return err;
}

int umfs_kmod_setattr(int fd, struct umfs_kmod_setattr *req)
{
	return umfs_kmod_call(fd, UMFS_KMOD_IOC_SETATTR, req);
}

int umfs_kmod_free(int fd, uint64_t ino, uint32_t gen, uint64_t first, uint64_t count,
		   struct umfs_kmod_free *out)
{
	struct umfs_kmod_free req;
	uint64_t freed = 0, revoked = 0;
	int err;

	do {
		req = (struct umfs_kmod_free){ .ino = ino, .generation = gen, .first = first,
					       .count = count };
		err = umfs_kmod_call(fd, UMFS_KMOD_IOC_FREE, &req);
		freed += req.freed;
		revoked += req.revoked;
	} while (!err && req.more);
	req.freed = freed;
	req.revoked = revoked;
	if (!err && out)
		*out = req;
	return err;
}

int umfs_kmod_exchange(int fd, uint64_t ino, uint32_t gen, uint32_t flags,
		       struct umfs_kmod_exchange *out)
{
	struct umfs_kmod_exchange req;
	uint64_t pages = 0, tables = 0, revoked = 0;
	int err;

	do {
		req = (struct umfs_kmod_exchange){ .ino = ino, .generation = gen, .flags = flags };
		err = umfs_kmod_call(fd, UMFS_KMOD_IOC_EXCHANGE, &req);
		pages += req.pages;
		tables += req.tables;
		revoked += req.revoked;
	} while (!err && req.more);
	req.pages = pages;
	req.tables = tables;
	req.revoked = revoked;
	if (!err && out)
		*out = req;
	return err;
}

int umfs_kmod_stats(int fd, struct umfs_kmod_stats *st)
{
	return umfs_kmod_call(fd, UMFS_KMOD_IOC_STATS, st);
}
