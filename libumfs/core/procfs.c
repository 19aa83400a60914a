/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - what the core reads of /proc: a small file, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core.h"

ssize_t umfs_proc_read(int dfd, const char *path, char *buf, size_t size)
{
	int saved = errno;
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = saved;
	return n;
}
