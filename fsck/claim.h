/* SPDX-License-Identifier: MIT */
/*
 * claim.h - who uses a pool, and taking it for fsck.umfs's run (claim.c).
 */
#ifndef UMFS_FSCK_CLAIM_H
#define UMFS_FSCK_CLAIM_H

#include <stdbool.h>
#include <stdio.h>

#define FSCK_USERS_MAX 8

struct fsck_user {
	int pid;
	char comm[32];
};

/* The processes with a descriptor open on the pool, as far as this user
 * may look into /proc. */
struct fsck_users {
	struct fsck_user user[FSCK_USERS_MAX];
	unsigned count, more;
	bool fuse_only; /* every one seen is a umfs-fuse daemon */
};

void fsck_pool_users(const char *name, struct fsck_users *u);
/* "pid 12 (umfs-fuse), pid 40 (sleep)" */
void fsck_users_print(FILE *out, const struct fsck_users *u);

/*
 * Takes the pool's exclusive lock with try_lock(arg) (0, -EBUSY when
 * another process holds the pool, or another -errno). When only umfs-fuse
 * daemons hold it and none of their mounts is left, waits a bounded time
 * for them to exit. Returns try_lock's last result.
 */
int fsck_pool_claim(const char *name, int (*try_lock)(void *), void *arg);
/* try_lock for a descriptor of the pool (int *). */
int fsck_flock_try(void *fdp);

#endif
