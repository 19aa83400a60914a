/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - what the core reads of /proc and /sys: a small file, whole;
 * a task's state and start time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "os.h"

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

bool umfs_proc_stat(const char *stat_path, char *state, uint32_t *start)
{
	char buf[512], *p;

	if (umfs_proc_read(AT_FDCWD, stat_path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')'); /* the command name may hold anything */
	if (!p || p[1] != ' ' || !p[2])
		return false;
	*state = p[2];
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	*start = p ? (uint32_t)strtoull(p + 1, NULL, 10) : 0;
	return true;
}
