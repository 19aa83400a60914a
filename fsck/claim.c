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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "mountinfo.h"

/* How long a daemon whose mount is gone gets to let go of the pool. */
#define CLAIM_WAIT_MS 10000
#define CLAIM_POLL_MS 10

static bool is_fuse_daemon(const char *comm)
{
	/* mount.fuse3 runs the same program as "umfs" */
	return strcmp(comm, "umfs-fuse") == 0 || strcmp(comm, "umfs") == 0;
}

static void read_comm(const char *pid, char *comm, size_t len)
{
	char path[300];
	FILE *f;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* Whether process pid maps the file named real: a mapping keeps the
 * pool's open file, and so its lock, after the descriptor is closed. */
static bool maps_pool(const char *pid, const char *real)
{
	char path[300], *line = NULL;
	size_t cap = 0, rl = strlen(real);
	bool found = false;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		found = (size_t)n > rl && strcmp(line + n - rl, real) == 0 && line[n - rl - 1] == ' ';
	}
	free(line);
	fclose(f);
	return found;
}

/* Whether process pid has a descriptor open on the file named real, or
 * maps it. Links are compared by name: a stat through them could block on
 * a hung FUSE mount that some descriptor points into. */
static bool holds_pool(const char *pid, const char *real)
{
	char path[300], link[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false; /* gone, or another user's */
	while (!found && (e = readdir(d))) {
		char fdpath[600];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, real) == 0;
	}
	closedir(d);
	return found || maps_pool(pid, real);
}

void fsck_pool_users(const char *name, struct fsck_users *u)
{
	char real[PATH_MAX], self[32];
	struct dirent *e;
	DIR *proc;

	memset(u, 0, sizeof(*u));
	if (!realpath(name, real))
		return;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((e = readdir(proc))) {
		struct fsck_user *h;

		if (!isdigit((unsigned char)e->d_name[0]) || strcmp(e->d_name, self) == 0 ||
		    !holds_pool(e->d_name, real))
			continue;
		if (u->count == FSCK_USERS_MAX) {
			u->more++;
			continue;
		}
		h = &u->user[u->count++];
		h->pid = atoi(e->d_name);
		read_comm(e->d_name, h->comm, sizeof(h->comm));
		u->fuse_only = u->count == 1 ? is_fuse_daemon(h->comm)
					     : u->fuse_only && is_fuse_daemon(h->comm);
	}
	closedir(proc);
}

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
	struct fsck_users u;
	int err = try_lock(arg);

	if (err != -EBUSY)
		return err;
	fsck_pool_users(name, &u);
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

void fsck_users_print(FILE *out, const struct fsck_users *u)
{
	if (!u->count) {
		fprintf(out, "a process fsck.umfs cannot see (another user's?)");
		return;
	}
	for (unsigned i = 0; i < u->count; i++)
		fprintf(out, "%spid %d (%s)", i ? ", " : "", u->user[i].pid, u->user[i].comm);
	if (u->more)
		fprintf(out, " and %u more", u->more);
}
