/* SPDX-License-Identifier: MIT */
/*
 * sys.c - the shim's table of real functions. Every pass-through and every
 * kernel call the shim makes for itself goes through it (SYS(fn)), as the
 * core's go through its own (core/os.c, OS(fn)); each entry is resolved at
 * its first call with dlsym(RTLD_NEXT) by os.c, i.e. to the definition
 * libc (or whatever follows us in the lookup order) provides.
 */
#include <unistd.h>

#include "umfs_frontend.h"
#include "shim.h"

struct shim_sys sys;

int sys_open_cloexec(const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = SYS(open)(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* A stream over directory dfd from its start, on a description of its own
 * (a dup would share, and move, dfd's offset); NULL with errno set. */
DIR *sys_opendir_at(int dfd)
{
	int fd = SYS(openat)(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? SYS(fdopendir)(fd) : NULL;

	if (fd >= 0 && !d)
		sys_close_quiet(fd);
	return d;
}

/* pread of exactly len bytes unless the file ends; off < 0 reads at the
 * current offset. */
ssize_t sys_read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? SYS(read)(fd, (char *)buf + done, len - done)
				    : SYS(pread)(fd, (char *)buf + done, len - done,
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

ssize_t sys_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = SYS(write)(fd, (const char *)buf + done, len - done);

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
		SYS(close)(fd);
	errno = saved;
}
