/* SPDX-License-Identifier: MIT */
/*
 * proclocks.h - a line of /proc/locks: whether it is a flock(2) lock held
 * on a given file, and by which process. The rule the core (a read-only
 * mount asking whether others use the pool) and the tools (which
 * processes use a pool) share.
 *
 * "1: FLOCK  ADVISORY  READ  4711 00:1b:5733 0 EOF": the device as the
 * kernel prints it, major and minor in hex. A waiter's line has "->"
 * after the number and holds nothing. The pid is that of the process that
 * took the lock (0 for one in another pid namespace).
 */
#ifndef UMFS_PROCLOCKS_H
#define UMFS_PROCLOCKS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

static inline bool umfs_proclocks_flock(const char *line, dev_t dev, ino_t ino, int *pid)
{
	char kind[16];
	unsigned maj, min;
	uint64_t i;

	return sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%" SCNu64, kind, pid, &maj, &min,
		      &i) == 5 &&
	       strcmp(kind, "FLOCK") == 0 && makedev(maj, min) == dev && i == (uint64_t)ino;
}

#endif /* UMFS_PROCLOCKS_H */
