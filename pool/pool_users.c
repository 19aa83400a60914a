/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "pool_users.h"

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

static bool already(const struct umfs_pool_users *u, pid_t pid)
{
	for (unsigned i = 0; i < u->count; i++)
		if (u->pid[i] == pid)
			return true;
	return false;
}

void umfs_pool_users_find(const struct stat *st, struct umfs_pool_users *users)
{
	char line[256], kind[16];
	unsigned maj, min;
	uint64_t ino;
	int pid;
	FILE *f = fopen("/proc/locks", "re");

	memset(users, 0, sizeof(*users));
	if (!f)
		return;
	/* "1: FLOCK  ADVISORY  READ  4711 00:1b:5733 0 EOF"; a waiter's line
	 * has "->" after the number and holds nothing */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%" SCNu64, kind, &pid, &maj, &min,
			   &ino) != 5 || strcmp(kind, "FLOCK"))
			continue;
		if (makedev(maj, min) != st->st_dev || ino != (uint64_t)st->st_ino)
			continue;
		if (already(users, (pid_t)pid))
			continue;
		if (users->count == UMFS_POOL_USERS_MAX) {
			users->more++;
			continue;
		}
		users->pid[users->count] = (pid_t)pid;
		comm_of((pid_t)pid, users->comm[users->count]);
		users->count++;
	}
	fclose(f);
}
