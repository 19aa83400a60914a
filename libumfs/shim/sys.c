/* SPDX-License-Identifier: MIT */
/*
 * sys.c - the shim's table of real functions. Every pass-through and every
 * kernel call the shim makes for itself goes through it (SYS(fn)); each
 * entry is resolved at its first call with dlsym(RTLD_NEXT) by os.c, i.e.
 * to the definition libc (or whatever follows us in the lookup order)
 * provides. The calls on the library's own files that the C library makes
 * cancellation points (open, read, write, close and their kin) go through
 * the core's table instead (OS(fn), core/os.h), as the kernel's: no
 * pthread_cancel() may unwind a thread from the middle of the library's
 * work. The helpers below are for those files.
 */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "umfs_frontend.h"
#include "shim.h"

struct shim_sys sys;

int sys_open_cloexec(const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = OS(open)(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* Calls fn for each name in directory dfd but "." and "..", until fn
 * returns nonzero, which is returned. The names are read on a description
 * of its own (dfd's offset stays) into a buffer on the stack: the scans at
 * mount and exit allocate nothing and cost an open, the reads and a close.
 * fn may remove the name it is given. */
int sys_dir_each(int dfd, int (*fn)(int dfd, const char *name, void *arg), void *arg)
{
	char buf[2048] __attribute__((aligned(8)));
	int fd = OS(openat)(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (!r && (n = SYS(getdents64)(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n && !r;) {
			const struct dirent64 *e = (const void *)(buf + off);

			off += e->d_reclen;
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				r = fn(dfd, e->d_name, arg);
		}
	}
	sys_close_quiet(fd);
	return r;
}

/* pread of exactly len bytes unless the file ends; off < 0 reads at the
 * current offset. */
ssize_t sys_read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? OS(read)(fd, (char *)buf + done, len - done)
				    : OS(pread)(fd, (char *)buf + done, len - done,
						 off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* write or pwrite of all len bytes, as sys_read_full: -errno when the
 * file takes fewer (ENOSPC on a full file system). */
ssize_t sys_write_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? OS(write)(fd, (const char *)buf + done, len - done)
				    : OS(pwrite)(fd, (const char *)buf + done, len - done,
						  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void sys_close_quiet(int fd)
{
	int saved = errno;

	if (fd >= 0)
		OS(close)(fd);
	errno = saved;
}
