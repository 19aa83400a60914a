/* SPDX-License-Identifier: MIT */
/*
 * pool_users.h - which processes use a pool, for fsck.umfs and umfs-pool,
 * without taking or waiting for any lock. Two sources, joined by pid:
 * the holders of a flock on the pool file or device in /proc/locks (every
 * program, umfs-fuse daemon and repair holds one; any user may read it,
 * but it names only the process that took the lock, which is skipped
 * once it is gone or holds the pool no more), and the processes
 * with a descriptor or a mapping of it in /proc/PID (forked children that
 * share a holder's description included, as far as this user may look).
 */
#ifndef UMFS_POOL_USERS_H
#define UMFS_POOL_USERS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#define UMFS_POOL_USERS_MAX 16

struct umfs_pool_users {
	unsigned count; /* named in pid[] and comm[] */
	unsigned more;  /* users past UMFS_POOL_USERS_MAX */
	bool fuse_only; /* every one named is a umfs-fuse daemon */
	pid_t pid[UMFS_POOL_USERS_MAX];
	char comm[UMFS_POOL_USERS_MAX][17];
};

/* Fills users with the processes other than this one that use the pool
 * at path, which st describes (its device and inode). A lock holder in
 * another pid namespace counts with pid 0. */
void umfs_pool_users_find(const char *path, const struct stat *st,
			  struct umfs_pool_users *users);
/* "pid 12 (umfs-fuse), pid 40 (sleep)", or what could not be seen. */
void umfs_pool_users_print(FILE *out, const struct umfs_pool_users *users);

#endif
