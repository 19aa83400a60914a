/* SPDX-License-Identifier: MIT */
/*
 * pool_users.h - which processes use a pool: the holders of a flock on the
 * pool file or device (every program, umfs-fuse daemon and repair holds
 * one), read from /proc/locks without taking or waiting for any lock.
 */
#ifndef UMFS_POOL_USERS_H
#define UMFS_POOL_USERS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define UMFS_POOL_USERS_MAX 16

struct umfs_pool_users {
	unsigned count; /* named in pid[] and comm[] */
	unsigned more;  /* holders past UMFS_POOL_USERS_MAX */
	pid_t pid[UMFS_POOL_USERS_MAX];
	char comm[UMFS_POOL_USERS_MAX][17];
};

/* Fills users with the holders of a flock on the file st describes (its
 * device and inode). Holders this process cannot see (another pid
 * namespace) count with pid 0. */
void umfs_pool_users_find(const struct stat *st, struct umfs_pool_users *users);

#endif
