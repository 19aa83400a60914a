/* SPDX-License-Identifier: MIT */
/*
 * poolpages.c - which pages the kernel maps a pool file with. A pool on a
 * tmpfs with 4 KiB pages costs every new process one page fault per 4 KiB
 * it touches (about 262,000 per GiB); a tmpfs mounted huge=always (or
 * within_size) or hugetlbfs maps 2 MiB at a time, as device DAX does for
 * real persistent memory. mkfs.umfs and umfs-pool say which a pool gets,
 * judging its descriptor (the mount it lies on, from /proc/self/fdinfo).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "mountinfo.h"
#include "poolpages.h"

#define TMPFS_MAGIC_ 0x01021994
#define HUGETLBFS_MAGIC_ 0x958458f6

/* The mount id of the file at fd (/proc/self/fdinfo), or -1. */
static int mount_id_of(int fd)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (id < 0 && getline(&line, &cap, f) > 0)
		if (sscanf(line, "mnt_id: %d", &id) != 1)
			id = -1;
	free(line);
	fclose(f);
	return id;
}

/* The super options of mount id, or "" when it is not found. */
static void mount_options_of(int id, char *opts, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct umfs_mountinfo m;
	char *line = NULL;
	size_t cap = 0;
	int mid;

	opts[0] = '\0';
	if (!f)
		return;
	while (umfs_mountinfo_next(f, &line, &cap, &m))
		if (sscanf(line, "%d", &mid) == 1 && mid == id) {
			snprintf(opts, size, "%s", m.super_opts);
			break;
		}
	free(line);
	fclose(f);
}

enum umfs_pages umfs_pages_of(int fd)
{
	char opts[1024];
	struct statfs sf;
	int id;

	if (fstatfs(fd, &sf) != 0)
		return UMFS_PAGES_OTHER;
	if ((unsigned long)sf.f_type == HUGETLBFS_MAGIC_)
		return UMFS_PAGES_HUGE;
	if ((unsigned long)sf.f_type != TMPFS_MAGIC_ || (id = mount_id_of(fd)) < 0)
		return UMFS_PAGES_OTHER;
	mount_options_of(id, opts, sizeof(opts));
	return strstr(opts, "huge=always") || strstr(opts, "huge=within_size") ? UMFS_PAGES_HUGE
										 : UMFS_PAGES_SMALL;
}
