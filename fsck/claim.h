/* SPDX-License-Identifier: MIT */
/*
 * claim.h - taking a pool for fsck.umfs's run (claim.c); who uses it is
 * tools/pool_users.h's to say.
 */
#ifndef UMFS_FSCK_CLAIM_H
#define UMFS_FSCK_CLAIM_H

#include <stdbool.h>
#include <stdio.h>

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
