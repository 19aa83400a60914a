/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - what the core reads of /proc and /sys: a small file, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core.h"

ssize_t umfs_proc_read(int dfd, const char *path, char *buf, size_t size)
{
	int saved = errno;
	int fd = OS(openat)(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? OS(read)(fd, buf, size - 1) : -1;

	if (n < 0)
		n = -errno;
	if (fd >= 0)
		OS(close)(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = saved;
	return n;
}
