/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_users.h"
#include "proclocks.h"

static void comm_of(pid_t pid, char comm[17])
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	strcpy(comm, "?");
	f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return;
	if (fgets(comm, 17, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

static bool is_fuse_daemon(const char *comm)
{
	/* mount.fuse3 runs the same program as "umfs" */
	return strcmp(comm, "umfs-fuse") == 0 || strcmp(comm, "umfs") == 0;
}

static void user_add(struct umfs_pool_users *u, pid_t pid)
{
	for (unsigned i = 0; i < u->count; i++)
		if (u->pid[i] == pid)
			return;
	if (pid == getpid())
		return;
	if (u->count == UMFS_POOL_USERS_MAX) {
		u->more++;
		return;
	}
	u->pid[u->count] = pid;
	comm_of(pid, u->comm[u->count]);
	u->fuse_only = (u->count == 0 || u->fuse_only) && is_fuse_daemon(u->comm[u->count]);
	u->count++;
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

/* Whether the pid that took a flock on the pool still holds it. A lock
 * goes with its open file, so a daemon that took it and forked (umfs-fuse)
 * left a pid that is gone or, reused, names another program: those are
 * skipped, and the scan of descriptors finds the real holder. A process
 * this user may not look into is taken at its word. */
static bool lock_taker_holds(int pid, const char *real)
{
	char path[64], pidname[16];
	DIR *d;

	if (pid <= 0)
		return true; /* in another pid namespace */
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return errno != ENOENT;
	closedir(d);
	snprintf(pidname, sizeof(pidname), "%d", pid);
	return !real[0] || holds_pool(pidname, real);
}

static void lock_holders(const struct stat *st, const char *real, struct umfs_pool_users *u)
{
	char line[256];
	int pid;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (umfs_proclocks_flock(line, st->st_dev, st->st_ino, &pid) &&
		    lock_taker_holds(pid, real))
			user_add(u, (pid_t)pid);
	fclose(f);
}

static void descriptor_holders(const char *real, struct umfs_pool_users *u)
{
	struct dirent *e;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc)
		return;
	while ((e = readdir(proc)))
		if (isdigit((unsigned char)e->d_name[0]) && holds_pool(e->d_name, real))
			user_add(u, (pid_t)atoi(e->d_name));
	closedir(proc);
}

void umfs_pool_users_find(const char *path, const struct stat *st,
			  struct umfs_pool_users *users)
{
	char real[PATH_MAX];

	memset(users, 0, sizeof(*users));
	if (!realpath(path, real))
		real[0] = '\0'; /* no name to match: lock holders only */
	lock_holders(st, real, users);
	if (real[0])
		descriptor_holders(real, users);
}

void umfs_pool_users_print(FILE *out, const struct umfs_pool_users *u)
{
	if (!u->count && !u->more) {
		fprintf(out, "a process this user cannot see (another user's?)");
		return;
	}
	for (unsigned i = 0; i < u->count; i++)
		fprintf(out, "%spid %d (%s)", i ? ", " : "", (int)u->pid[i], u->comm[i]);
	if (u->more)
		fprintf(out, "%sand %u more", u->count ? " " : "", u->more);
}
