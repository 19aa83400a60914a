/* SPDX-License-Identifier: MIT */
/*
 * pages.c - which pages the kernel maps a pool file with. A pool on a
 * tmpfs with 4 KiB pages costs every new process one page fault per 4 KiB
 * it touches (about 262,000 per GiB); a tmpfs mounted huge=always (or
 * within_size) or hugetlbfs maps 2 MiB at a time, as device DAX does for
 * real persistent memory. mkfs.umfs says which the pool got.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "mountinfo.h"
#include "pages.h"

#define TMPFS_MAGIC_ 0x01021994
#define HUGETLBFS_MAGIC_ 0x958458f6

/* The super options of the mount that holds abs (the longest mountpoint
 * that is a prefix of it), or "" when none is found. */
static void mount_options_of(const char *abs, char *opts, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct umfs_mountinfo m;
	char *line = NULL;
	size_t cap = 0, best = 0;

	opts[0] = '\0';
	if (!f)
		return;
	while (umfs_mountinfo_next(f, &line, &cap, &m)) {
		size_t n = strlen(m.mountpoint);

		if (strncmp(abs, m.mountpoint, n) != 0 ||
		    (abs[n] != '/' && abs[n] != '\0' && n > 1))
			continue;
		if (n >= best) {
			best = n;
			snprintf(opts, size, "%s", m.super_opts);
		}
	}
	free(line);
	fclose(f);
}

enum mkfs_pages mkfs_pages_of(const char *path)
{
	char *abs = realpath(path, NULL), opts[1024];
	struct statfs sf;
	enum mkfs_pages r = MKFS_PAGES_OTHER;

	if (!abs || statfs(abs, &sf) != 0) {
		free(abs);
		return r;
	}
	if ((unsigned long)sf.f_type == HUGETLBFS_MAGIC_) {
		r = MKFS_PAGES_HUGE;
	} else if ((unsigned long)sf.f_type == TMPFS_MAGIC_) {
		mount_options_of(abs, opts, sizeof(opts));
		r = strstr(opts, "huge=always") || strstr(opts, "huge=within_size") ?
			    MKFS_PAGES_HUGE : MKFS_PAGES_SMALL;
	}
	free(abs);
	return r;
}
