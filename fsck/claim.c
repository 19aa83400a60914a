/* SPDX-License-Identifier: MIT */
/*
 * claim.c - fsck.umfs takes the pool to itself before it checks it.
 *
 * Every user of a pool holds a flock on it (shared by programs and
 * umfs-fuse, exclusive by repairs and mkfs). A check, even a check-only
 * one, needs the pool at rest: a live user's open U-Logs, its orphans and
 * a page bitmap in flux look like damage. So fsck takes the exclusive
 * lock for the length of its run, and refuses a pool that anyone holds,
 * naming the processes it can see.
 *
 * One holder is waited for: a umfs-fuse daemon whose mount is gone.
 * fusermount3 -u returns once the kernel has dropped the mount, while
 * the daemon is still letting go of the pool (the kernel sends a plain
 * FUSE mount no DESTROY request to wait for), so `fusermount3 -u M;
 * fsck.umfs -y POOL` would otherwise fail now and then.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "mountinfo.h"
#include "pool_users.h"

/* How long a daemon whose mount is gone gets to let go of the pool. */
#define CLAIM_WAIT_MS 10000
#define CLAIM_POLL_MS 10

/* Whether a umfs-fuse mount of the pool is still in this namespace: its
 * source is the pool's real path (umfs-fuse sets fsname so). */
static bool fuse_mount_left(const char *name)
{
	char real[PATH_MAX], *line = NULL;
	struct umfs_mountinfo m;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	if (!realpath(name, real))
		return true; /* cannot tell: do not wait */
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true;
	while (!found && umfs_mountinfo_next(f, &line, &cap, &m))
		found = strcmp(m.type, "fuse.umfs") == 0 && strcmp(m.source, real) == 0;
	free(line);
	fclose(f);
	return found;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int fsck_pool_claim(const char *name, int (*try_lock)(void *), void *arg)
{
	struct umfs_pool_users u;
	struct stat st;
	int err = try_lock(arg);

	if (err != -EBUSY || stat(name, &st) < 0)
		return err;
	umfs_pool_users_find(name, &st, &u);
	err = try_lock(arg); /* a holder may have gone while they were looked for */
	if (err != -EBUSY || !u.count || !u.fuse_only || u.more || fuse_mount_left(name))
		return err;
	for (long waited = 0; err == -EBUSY && waited < CLAIM_WAIT_MS; waited += CLAIM_POLL_MS) {
		sleep_ms(CLAIM_POLL_MS);
		err = try_lock(arg);
	}
	return err;
}

int fsck_flock_try(void *fdp)
{
	if (flock(*(int *)fdp, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? -EBUSY : -errno;
}
